"""HTTP endpoints for participants, registrations, consent, check-in and readiness.

Personal data: every endpoint here needs a key, and a participant is visible
only to admins, to its home city, and to coordinators of cities hosting an
event it is registered for.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response, status
from sqlmodel import Session

from app.core.actors import Actor
from app.core.db import SessionDep, view_of
from app.core.errors import UnsupportedMediaType
from app.core.openapi import problems
from app.core.pagination import Page, PageDep, paginate
from app.core.routing import Router
from app.core.types import MAX_ID, IdFilter, PathId
from app.keys.auth import CurrentActor
from app.participants import delegations, service
from app.participants.delegations import DelegationRefused
from app.participants.models import (
    DELEGATION_COLUMNS,
    CancelRegistration,
    CheckIn,
    ConsentCreate,
    DelegateRow,
    DelegationResult,
    DelegationUpload,
    ParticipantCreate,
    ParticipantExport,
    ParticipantPublic,
    ParticipantUpdate,
    Readiness,
    Registration,
    RegistrationCreate,
    RegistrationPublic,
    RegistrationRole,
    RegistrationStatus,
)

router = Router(prefix="/api/v1", tags=["participants"])


def _public(session: Session, registrations: list[Registration]) -> list[dict[str, Any]]:
    """What the API shows of each registration: the row's values (``view_of``), which
    the response model validates once (building each model here first doubled that
    work on every list), with a waitlisted one's place in line."""
    positions: dict[int, dict[int, int]] = {}
    out: list[dict[str, Any]] = []
    for r in registrations:
        values = view_of(r, RegistrationPublic)
        if values["status"] == RegistrationStatus.waitlisted:
            event_id = values["event_id"]
            if event_id not in positions:
                positions[event_id] = service.waitlist_positions(session, event_id)
            values["waitlist_position"] = positions[event_id].get(values["id"])
        out.append(values)
    return out


@router.post("/participants", status_code=status.HTTP_201_CREATED, response_model=ParticipantPublic,
             responses=problems(403))
def create_participant(
    body: ParticipantCreate, session: SessionDep, actor: CurrentActor
) -> object:
    """Add a person of your own city (admin: any city)."""
    return service.create_participant(session, body, actor)


@router.get("/participants", response_model=Page[ParticipantPublic])
def list_participants(
    session: SessionDep,
    actor: CurrentActor,
    page: PageDep,
    home_city_id: IdFilter = None,
) -> object:
    """The people the caller may see."""
    items, total = paginate(session, service.participant_query(actor, home_city_id), page)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/participants/{participant_id}", response_model=ParticipantPublic)
def read_participant(
    participant_id: PathId, session: SessionDep, actor: CurrentActor
) -> object:
    return service.get_participant(session, participant_id, actor)


@router.patch("/participants/{participant_id}", response_model=ParticipantPublic,
              responses=problems(403, (409, "The participant was erased.")))
def update_participant(
    participant_id: PathId,
    body: ParticipantUpdate,
    session: SessionDep,
    actor: CurrentActor,
) -> object:
    return service.update_participant(session, participant_id, body, actor)


@router.get("/participants/{participant_id}/export", response_model=ParticipantExport)
def export_participant(
    participant_id: PathId, session: SessionDep, actor: CurrentActor
) -> object:
    """Everything stored about a person (a subject access request)."""
    participant = service.get_participant(session, participant_id, actor)
    return ParticipantExport(
        participant=ParticipantPublic.model_validate(participant),
        registrations=[RegistrationPublic.model_validate(r) for r in _public(
            session, service.registrations_of(session, participant_id, actor))],
    )


@router.delete("/participants/{participant_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=problems(403))
def erase_participant(
    participant_id: PathId, session: SessionDep, actor: CurrentActor
) -> Response:
    """Erase a person's personal data; anonymous counts stay. Idempotent."""
    service.erase_participant(session, participant_id, actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/events/{event_id}/registrations",
    status_code=status.HTTP_201_CREATED,
    response_model=RegistrationPublic,
    responses=problems(403, (409, "The event takes no registrations, or the participant "
                                  "is erased or booked into an overlapping event.")),
)
def register(
    event_id: PathId, body: RegistrationCreate, session: SessionDep, actor: CurrentActor
) -> object:
    """Register a participant. Beyond capacity the registration is `waitlisted`;
    a minor is `pending_consent` until a guardian consents."""
    return _public(session, [service.register(session, event_id, body, actor)])[0]


@router.get("/events/{event_id}/registrations", response_model=Page[RegistrationPublic],
            responses=problems(403))
def list_registrations(
    event_id: PathId,
    session: SessionDep,
    actor: CurrentActor,
    page: PageDep,
    status: Annotated[
        list[RegistrationStatus], Query(description="Only these statuses (repeatable).")
    ] = [],  # noqa: B006 (FastAPI copies query defaults)
    role: Annotated[
        list[RegistrationRole], Query(description="Only these roles (repeatable).")
    ] = [],  # noqa: B006
) -> object:
    """The event's registrations in arrival order (guest cities see their own people)."""
    query = service.registration_query(session, event_id, actor, status, role)
    items, total = paginate(session, query, page)
    return Page(items=_public(session, items), total=total, limit=page.limit, offset=page.offset)


@router.get("/events/{event_id}/readiness", response_model=Readiness, responses=problems(403))
def readiness(
    event_id: PathId,
    session: SessionDep,
    actor: CurrentActor,
    city_id: Annotated[int | None, Query(
        ge=1, le=MAX_ID, description="One delegation: the participants of this home city. "
        "A guest city's keys always get their own.")] = None,
) -> object:
    """Confirmed, pending consent, waitlisted, chaperone shortfall, missing contacts.

    The host's coordinator sees the whole event (or one delegation, `city_id`); a
    guest city's coordinator or partner system sees its own delegation."""
    return service.readiness(session, event_id, actor, city_id)


@router.get("/registrations/{registration_id}", response_model=RegistrationPublic)
def read_registration(
    registration_id: PathId, session: SessionDep, actor: CurrentActor
) -> object:
    return _public(session, [service.get_registration(session, registration_id, actor)])[0]


@router.post("/registrations/{registration_id}/consent", response_model=RegistrationPublic,
             responses=problems(403, 409))
def consent(
    registration_id: PathId, body: ConsentCreate, session: SessionDep, actor: CurrentActor
) -> object:
    """Record the guardian's consent (the participant's home city, or an admin). The
    minor is `confirmed`, or `awaiting_chaperone` at a school or youth exchange that
    needs more adult chaperones first."""
    return _public(session, [service.record_consent(session, registration_id, body, actor)])[0]


@router.post("/registrations/{registration_id}/cancel", response_model=RegistrationPublic,
             responses=problems(403, 409))
def cancel(
    registration_id: PathId,
    session: SessionDep,
    actor: CurrentActor,
    body: CancelRegistration | None = None,
) -> object:
    """Cancel; a freed place goes to the first on the waitlist at once."""
    reason = body.reason if body else None
    registration = service.cancel_registration(session, registration_id, reason, actor)
    return _public(session, [registration])[0]


@router.post("/registrations/{registration_id}/check-in", response_model=RegistrationPublic,
             responses=problems(403, 409))
def check_in(
    registration_id: PathId, body: CheckIn, session: SessionDep, actor: CurrentActor
) -> object:
    """Mark `attended` or `no_show` (host's coordinator, once the event has begun)."""
    return _public(session, [service.check_in(session, registration_id, body.outcome, actor)])[0]


# Delegations ----------------------------------------------------------------------

_DELEGATION_DOC = """Register a city's delegation at once (up to 500 people), in the order sent.

Each person is found among the city's participants by `external_id`, then by
email, or created; then registered as `POST /registrations` would: a place, the
consent queue, or the waitlist (in the order sent). The answer has one result per
row. If any row is refused, nothing is kept: the answer is a 422 problem whose
`results` say which rows and why. `dry_run=true` answers the same without
keeping anything (200). `city_id`: whose delegation (default: the caller's city).
"""


_DRY_RUN: dict[int | str, dict[str, Any]] = {
    200: {"model": DelegationResult, "description": "A dry run: what would be stored."}}
DryRun = Annotated[bool, Query(description="Check and report; store nothing.")]
DelegationCity = Annotated[int | None, Query(
    ge=1, le=MAX_ID, description="The delegation's home city (default: the caller's).")]


def _delegation(session: Session, event_id: int, city_id: int | None, rows: list[DelegateRow],
                actor: Actor, dry_run: bool, response: Response) -> object:
    result = delegations.upload(session, event_id, city_id, rows, actor, dry_run=dry_run)
    if not result.stored and not dry_run:
        refused = [r for r in result.results if r.outcome == "refused"]
        raise DelegationRefused(
            f"{len(refused)} of {len(result.results)} rows refused; nothing was stored",
            results=[r.model_dump(mode="json") for r in result.results],
            errors=[{"loc": ["body", "people", r.row - 1], "msg": r.reason or "",
                     "type": "value_error"} for r in refused])
    response.status_code = status.HTTP_200_OK if dry_run else status.HTTP_201_CREATED
    return result


@router.post("/events/{event_id}/delegations", status_code=status.HTTP_201_CREATED,
             response_model=DelegationResult, responses={**_DRY_RUN, **problems(403, 422)},
             description=_DELEGATION_DOC)
def upload_delegation(event_id: PathId, body: DelegationUpload, session: SessionDep,
                      actor: CurrentActor, response: Response, dry_run: DryRun = False,
                      city_id: DelegationCity = None) -> object:
    return _delegation(session, event_id, city_id, body.people, actor, dry_run, response)


async def _csv_rows(request: Request, _: CurrentActor) -> list[DelegateRow]:
    """The CSV body's rows (the caller is known first: a stranger gets 401, not 415)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("text/csv", "application/csv"):
        raise UnsupportedMediaType("send the delegation as text/csv (UTF-8, with a header)")
    return delegations.rows_from_csv(await request.body())


@router.post(
    "/events/{event_id}/delegations/csv", status_code=status.HTTP_201_CREATED,
    response_model=DelegationResult, responses={**_DRY_RUN, **problems(403, 413, 415, 422)},
    description=_DELEGATION_DOC + "\nThe CSV is UTF-8 with a header row naming columns "
    "among: `" + ",".join(DELEGATION_COLUMNS) + "` (`full_name` and `role` required; "
    "`birth_date` as YYYY-MM-DD; `leader` yes or no). Row 1 is the line after the header.",
    openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {
        "schema": {"type": "string"},
        "example": ",".join(DELEGATION_COLUMNS) + "\nK-17,Anna Smirnova,anna@example.org,,"
        "1986-03-02,chaperone,,,yes\nK-18,Ivan Petrov,,,2011-05-09,student,Olga Petrova,"
        "olga@example.org,no\n"}}}},
)
def upload_delegation_csv(event_id: PathId, rows: Annotated[list[DelegateRow],
                          Depends(_csv_rows)], session: SessionDep, actor: CurrentActor,
                          response: Response, dry_run: DryRun = False,
                          city_id: DelegationCity = None) -> object:
    return _delegation(session, event_id, city_id, rows, actor, dry_run, response)
