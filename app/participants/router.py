"""HTTP endpoints for participants, registrations, consent, check-in and readiness.

Personal data: every endpoint here needs a key, and a participant is visible
only to admins, to its home city, and to coordinators of cities hosting an
event it is registered for.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlmodel import Session

from app.core.db import SessionDep, TransactionalRoute
from app.core.openapi import problems
from app.core.pagination import Page, PageDep, paginate
from app.core.types import IdFilter, PathId
from app.keys.auth import CurrentActor
from app.participants import service
from app.participants.models import (
    CancelRegistration,
    CheckIn,
    ConsentCreate,
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

router = APIRouter(prefix="/api/v1", tags=["participants"], route_class=TransactionalRoute)


def _public(session: Session, registrations: list[Registration]) -> list[RegistrationPublic]:
    positions: dict[int, dict[int, int]] = {}
    out = []
    for r in registrations:
        position = None
        if r.status == RegistrationStatus.waitlisted:
            if r.event_id not in positions:
                positions[r.event_id] = service.waitlist_positions(session, r.event_id)
            position = positions[r.event_id].get(r.id or 0)
        out.append(RegistrationPublic.model_validate(r, update={"waitlist_position": position}))
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
        registrations=_public(
            session, service.registrations_of(session, participant_id, actor)
        ),
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
def readiness(event_id: PathId, session: SessionDep, actor: CurrentActor) -> object:
    """Confirmed, pending consent, waitlisted, chaperone shortfall, missing contacts."""
    return service.readiness(session, event_id, actor)


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
