"""HTTP: a city's letterhead, and an exchange's papers as PDF (and the lists as CSV).

Every paper holds personal data: it is never cached (``private, no-store``) and
every download leaves an entry in the data audit (``GET /audit``, action
``downloaded``)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Query, Response

from app.core.db import SessionDep
from app.core.openapi import problems
from app.core.routing import Router
from app.core.types import MAX_ID, PathId
from app.documents import service
from app.documents.models import LetterheadPublic, LetterheadUpdate
from app.documents.render import LIST_COLUMNS
from app.documents.service import Download
from app.documents.texts import Lang
from app.keys.auth import CurrentActor

router = Router(prefix="/api/v1", tags=["documents"])

LangQuery = Annotated[Lang | None, Query(
    description="`en` or `ru`; left out, the language follows the city (see each paper).")]


def _file(content_type: str, what: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"content": {content_type: {"schema": {"type": "string",
                                                         "format": "binary"}}},
                  "description": what}}


PDF = "application/pdf"


def _send(download: Download) -> Response:
    """The file, as an attachment named for its person (RFC 6266, with the RFC 5987
    UTF-8 form for names in any script and a plain ASCII one for old clients)."""
    disposition = (f'attachment; filename="{download.ascii_filename}"; '
                   f"filename*=UTF-8''{quote(download.filename, safe='')}")
    return Response(content=download.body, media_type=download.media_type, headers={
        "Content-Disposition": disposition, "Cache-Control": "private, no-store"})


@router.get("/cities/{city_id}/letterhead", response_model=LetterheadPublic)
def get_letterhead(city_id: PathId, session: SessionDep) -> object:
    """The office data printed at the top of the city's papers (public: it is the
    office's, not a person's). Unset, the papers print the city's name and country."""
    return service.get_letterhead(session, city_id)


@router.put("/cities/{city_id}/letterhead", response_model=LetterheadPublic,
            responses=problems(403))
def put_letterhead(city_id: PathId, data: LetterheadUpdate, session: SessionDep,
                   actor: CurrentActor) -> object:
    """Write the whole letterhead: the city's coordinators (or an admin)."""
    return service.put_letterhead(session, city_id, data, actor)


@router.get("/events/{event_id}/documents/invitations/{participant_id}.pdf",
            response_class=Response, responses=_file(PDF, "The letter.") | problems(403))
def invitation(event_id: PathId, participant_id: PathId, session: SessionDep,
               actor: CurrentActor, lang: LangQuery = None) -> Response:
    """A visa invitation letter for one person holding a place, on the host city's
    letterhead: in English, and in the host's language when Twinplan has it (Russian
    for a Russian-speaking country; `lang=en` for English only).

    For the coordinators of the host and of the person's home city, admins, and the
    person or their guardian signed in with the email on record."""
    return _send(service.invitation(session, event_id, participant_id, actor, lang))


@router.get("/events/{event_id}/documents/consent-forms/{participant_id}.pdf",
            response_class=Response, responses=_file(PDF, "The form.") | problems(403, 409))
def consent_form(event_id: PathId, participant_id: PathId, session: SessionDep,
                 actor: CurrentActor, lang: LangQuery = None) -> Response:
    """A guardian's consent form for one minor, to sign and date: in the home city's
    language when Twinplan has it, else in English and Russian (`lang` for one).
    409 for an adult. Who may download it: as for the invitation letter."""
    return _send(service.consent_form(session, event_id, participant_id, actor, lang))


CityQuery = Annotated[int | None, Query(
    ge=1, le=MAX_ID, description="One delegation (a home city). Left out: every guest for "
    "the host's side; a guest city always gets its own.")]


@router.get("/events/{event_id}/documents/delegation-list.pdf", response_class=Response,
            responses=_file(PDF, "The list, landscape A4.") | problems(403))
def delegation_list_pdf(event_id: PathId, session: SessionDep, actor: CurrentActor,
                        city_id: CityQuery = None) -> Response:
    """The delegation list for border control and insurers: name, birth date, passport
    and its expiry, role, home city, guardian of a minor; headings in English and
    Russian. The host's coordinators (every guest, or `city_id`) and a guest city's
    coordinators (their own delegation)."""
    return _send(service.delegation_list(session, event_id, actor, city_id, "pdf"))


@router.get("/events/{event_id}/documents/delegation-list.csv", response_class=Response,
            responses=_file("text/csv", "UTF-8 with a byte order mark (for Excel); columns: "
                            + ", ".join(LIST_COLUMNS) + ".") | problems(403))
def delegation_list_csv(event_id: PathId, session: SessionDep, actor: CurrentActor,
                        city_id: CityQuery = None) -> Response:
    """The delegation list as CSV, for the same people as the PDF; a guest city's
    partner system may take its own delegation's."""
    return _send(service.delegation_list(session, event_id, actor, city_id, "csv"))
