"""Participants and registrations: capacity, waitlist, consent, chaperones, clashes.

Concurrency. Registering locks the participant row, then the event row
(always in that order, so two requests cannot deadlock), and only then counts
places and looks for clashes. On PostgreSQL the locks are ``SELECT ... FOR
UPDATE``; on SQLite every write transaction already holds the database lock
(``BEGIN IMMEDIATE``, see app.core.db). Registration ids are drawn after the
event lock is held, so id order is arrival order and is the waitlist order.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.cities.models import City
from app.core import changes, clock
from app.core.actors import Actor
from app.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.events.models import Event, EventGuest, EventKind
from app.participants import policy
from app.participants.changes import RegistrationChanged
from app.participants.models import (
    ACTIVE,
    ADULT_AGE,
    ERASED_NAME,
    HOLDING,
    Participant,
    ParticipantCreate,
    ParticipantUpdate,
    Readiness,
    Registration,
    RegistrationCreate,
    RegistrationRole,
    RegistrationStatus,
)

CHAPERONE_RULE_KINDS = frozenset({EventKind.school_exchange, EventKind.youth_exchange})


# Who may see and change what ----------------------------------------------------


def event_city_ids(session: Session, event: Event) -> set[int]:
    guests = session.exec(select(EventGuest.city_id).where(EventGuest.event_id == event.id)).all()
    return {event.host_city_id, *guests}


def get_participant(session: Session, participant_id: int, actor: Actor) -> Participant:
    """A participant the caller may see; 404 otherwise (existence is not leaked)."""
    participant = session.get(Participant, participant_id)
    if participant is None or not policy.can_read_participant(session, actor, participant):
        raise NotFound(f"participant {participant_id} does not exist")
    return participant


def _require_home_city(actor: Actor, participant: Participant) -> None:
    if not policy.speaks_for_home_city(actor, participant):
        raise Forbidden("only the participant's home city (or an admin) may do this")


def _require_host(actor: Actor, event: Event) -> None:
    if not policy.can_run_event(actor, event):
        raise Forbidden("only the host city's coordinator (or an admin) may do this")


def followed_event(session: Session, event_id: int, actor: Actor) -> Event:
    """The event, if the caller's city takes part in it (or the caller is an admin)."""
    event = session.get(Event, event_id)
    if event is None or not policy.can_follow_event(actor, event_city_ids(session, event)):
        raise NotFound(f"event {event_id} does not exist")
    return event


# Participants ------------------------------------------------------------------


def create_participant(
    session: Session, data: ParticipantCreate, actor: Actor
) -> Participant:
    if session.get(City, data.home_city_id) is None:
        raise Unprocessable(f"city {data.home_city_id} does not exist", field="home_city_id")
    participant = Participant.model_validate(data)
    _require_home_city(actor, participant)
    session.add(participant)
    session.flush()
    return participant


def update_participant(
    session: Session, participant_id: int, data: ParticipantUpdate, actor: Actor
) -> Participant:
    participant = get_participant(session, participant_id, actor)
    _require_home_city(actor, participant)
    if participant.erased_at is not None:
        raise Conflict(f"participant {participant.id} was erased")
    changes = data.model_dump(exclude_unset=True)
    if "full_name" in changes and changes["full_name"] is None:
        raise Unprocessable("full_name cannot be removed", field="full_name")
    participant.sqlmodel_update(changes)
    participant.updated_at = clock.now()
    session.add(participant)
    session.flush()
    return participant


def participant_query(actor: Actor, home_city_id: int | None) -> Any:
    """The people this caller may see, by name."""
    query = select(Participant)
    visible = policy.readable_participants(actor)
    if visible is not None:
        query = query.where(visible)
    if home_city_id is not None:
        query = query.where(Participant.home_city_id == home_city_id)
    return query.order_by(col(Participant.full_name), col(Participant.id))


def erase_participant(session: Session, participant_id: int, actor: Actor) -> None:
    """Erase personal fields, keep the row and its registrations as anonymous counts.

    Idempotent: erasing twice leaves the first erasure as it was. Future places
    are given up (and the waitlist moves), past ones stay in the counts.
    """
    participant = get_participant(session, participant_id, actor)
    _require_home_city(actor, participant)
    if participant.erased_at is not None:
        return
    now = clock.now()
    upcoming = session.exec(
        select(Registration)
        .join(Event, col(Event.id) == Registration.event_id)
        .where(
            Registration.participant_id == participant.id,
            col(Registration.status).in_(list(ACTIVE)),
            col(Event.ends_at_utc) > now,
        )
    ).all()
    for registration in upcoming:
        _cancel(session, registration, reason="participant erased")
    for field in ("email", "phone", "birth_date", "guardian_name", "guardian_email", "notes"):
        setattr(participant, field, None)
    participant.full_name = ERASED_NAME
    participant.erased_at = participant.updated_at = now
    session.add(participant)
    session.flush()


def registrations_of(session: Session, participant_id: int) -> list[Registration]:
    return list(
        session.exec(
            select(Registration)
            .where(Registration.participant_id == participant_id)
            .order_by(col(Registration.id))
        ).all()
    )


# Registrations -------------------------------------------------------------------


def _lock(session: Session, model: Any, row_id: int) -> Any:
    """Load a row with a write lock (PostgreSQL); SQLite's write lock is already held."""
    return session.exec(select(model).where(model.id == row_id).with_for_update()).first()


def _held_places(session: Session, event_id: int) -> int:
    return session.exec(
        select(func.count())
        .select_from(Registration)
        .where(Registration.event_id == event_id, col(Registration.status).in_(list(HOLDING)))
    ).one()


def _check_open(event: Event) -> None:
    if not event.is_active:
        raise Conflict(f"event {event.id} is {event.status} and takes no registrations")
    deadline = event.registration_deadline
    if deadline is not None and clock.now() > deadline:
        raise Conflict(f"registrations for event {event.id} closed at {deadline.isoformat()}")


def _check_no_clash(session: Session, participant: Participant, event: Event) -> None:
    rows = session.exec(
        select(Registration, Event)
        .join(Event, col(Event.id) == Registration.event_id)
        .where(
            Registration.participant_id == participant.id,
            col(Registration.status).in_(list(ACTIVE)),
            col(Event.starts_at_utc) < event.ends_at_utc,
            col(Event.ends_at_utc) > event.starts_at_utc,
        )
    ).all()
    for registration, other in rows:
        if other.id == event.id:
            raise Conflict(
                f"participant {participant.id} is already registered for this event "
                f"(registration {registration.id})",
                registration_id=registration.id,
            )
        raise Conflict(
            f"participant {participant.id} already holds a registration for "
            f"'{other.title}' (event {other.id}), which overlaps this one",
            event_id=other.id,
        )


def _is_minor(participant: Participant, event: Event) -> bool:
    age = participant.age_on(event.first_day)
    return age is not None and age < ADULT_AGE


def chaperone_shortfall(session: Session, event: Event, extra_minors: int = 0) -> int:
    """How many more adult chaperones the event needs for its confirmed minors."""
    if event.kind not in CHAPERONE_RULE_KINDS:
        return 0
    rows = session.exec(
        select(Registration.is_minor, Registration.role, func.count())
        .where(
            Registration.event_id == event.id,
            col(Registration.status).in_(
                [RegistrationStatus.confirmed, RegistrationStatus.attended]
            ),
        )
        .group_by(col(Registration.is_minor), col(Registration.role))
    ).all()
    minors = extra_minors + sum(n for minor, _role, n in rows if minor)
    chaperones = sum(
        n for minor, role, n in rows if not minor and role == RegistrationRole.chaperone
    )
    needed = -(-minors // event.chaperone_ratio)  # ceiling division
    return max(0, needed - chaperones)


def register(
    session: Session, event_id: int, data: RegistrationCreate, actor: Actor
) -> Registration:
    """Register a participant: a place, the consent queue, or the waitlist."""
    participant = _lock(session, Participant, data.participant_id)
    event = _lock(session, Event, event_id)
    if event is None:
        raise NotFound(f"event {event_id} does not exist")
    if participant is None:
        raise Unprocessable(
            f"participant {data.participant_id} does not exist", field="participant_id"
        )
    if not policy.can_register(
        session, actor, participant, event, event_city_ids(session, event)
    ):
        raise Forbidden("a city registers its own participants for events it hosts or joins")
    if participant.erased_at is not None:
        raise Conflict(f"participant {participant.id} was erased")
    _check_open(event)
    _check_no_clash(session, participant, event)
    if event.kind in CHAPERONE_RULE_KINDS and participant.birth_date is None:
        raise Unprocessable(
            f"a {event.kind} needs the participant's birth date (minors need consent)",
            field="participant_id",
        )
    minor = _is_minor(participant, event)
    if minor and data.role is RegistrationRole.chaperone:
        raise Unprocessable("a chaperone must be an adult", field="role")
    if event.capacity is not None and _held_places(session, event_id) >= event.capacity:
        status = RegistrationStatus.waitlisted
    else:
        status = RegistrationStatus.pending_consent if minor else RegistrationStatus.confirmed
    registration = Registration(
        event_id=event_id,
        participant_id=data.participant_id,
        role=data.role,
        status=status,
        is_minor=minor,
    )
    session.add(registration)
    session.flush()
    changes.record(session, RegistrationChanged.of(registration, before=None))
    return registration


def get_registration(session: Session, registration_id: int, actor: Actor) -> Registration:
    registration = session.get(Registration, registration_id)
    if registration is not None:
        event = session.get(Event, registration.event_id)
        participant = session.get(Participant, registration.participant_id)
        assert event is not None and participant is not None
        if policy.can_manage_registration(actor, event, participant):
            return registration
    raise NotFound(f"registration {registration_id} does not exist")


def _locked_event_of(session: Session, registration: Registration) -> Event:
    event = _lock(session, Event, registration.event_id)
    assert event is not None
    # Re-read the registration under the event lock: another request may have moved it.
    session.refresh(registration)
    return event


def record_consent(
    session: Session, registration_id: int, guardian_name: str | None, actor: Actor
) -> Registration:
    """Record a guardian's consent and confirm the minor's place.

    At school and youth exchanges the minor is confirmed only while there are
    enough adult chaperones; otherwise nothing is recorded and the error says
    how many are missing.
    """
    registration = get_registration(session, registration_id, actor)
    event = _locked_event_of(session, registration)
    if registration.status != RegistrationStatus.pending_consent:
        raise Conflict(
            f"registration {registration.id} is {registration.status}, not pending_consent"
        )
    missing = chaperone_shortfall(session, event, extra_minors=1)
    if missing:
        raise Conflict(
            f"cannot confirm another minor: {missing} more adult chaperone"
            f"{'s' if missing > 1 else ''} needed (one per {event.chaperone_ratio} minors)",
            chaperones_missing=missing,
        )
    participant = session.get(Participant, registration.participant_id)
    registration.consent_by = guardian_name or (participant.guardian_name if participant else None)
    registration.consent_at = registration.updated_at = clock.now()
    registration.status = RegistrationStatus.confirmed
    session.add(registration)
    session.flush()
    changes.record(
        session, RegistrationChanged.of(registration, before=RegistrationStatus.pending_consent)
    )
    return registration


def promote_waitlist(session: Session, event: Event) -> Registration | None:
    """Give a free place to the first waitlisted person (caller holds the event lock)."""
    if event.capacity is not None and _held_places(session, event.id or 0) >= event.capacity:
        return None
    first = session.exec(
        select(Registration)
        .where(
            Registration.event_id == event.id,
            Registration.status == RegistrationStatus.waitlisted,
        )
        .order_by(col(Registration.id))
        .limit(1)
    ).first()
    if first is None:
        return None
    first.status = (
        RegistrationStatus.pending_consent if first.is_minor else RegistrationStatus.confirmed
    )
    first.updated_at = clock.now()
    session.add(first)
    session.flush()
    changes.record(session, RegistrationChanged.of(first, before=RegistrationStatus.waitlisted))
    return first


def cancel_registration(
    session: Session, registration_id: int, reason: str | None, actor: Actor
) -> Registration:
    """Cancel; a held place goes to the first on the waitlist in the same transaction."""
    return _cancel(session, get_registration(session, registration_id, actor), reason=reason)


def _cancel(session: Session, registration: Registration, *, reason: str | None) -> Registration:
    event = _locked_event_of(session, registration)
    if registration.status == RegistrationStatus.cancelled:
        return registration
    if registration.status not in ACTIVE - {
        RegistrationStatus.attended,
        RegistrationStatus.no_show,
    }:
        raise Conflict(f"registration {registration.id} is {registration.status}")
    before = RegistrationStatus(registration.status)
    held = before in HOLDING
    registration.status = RegistrationStatus.cancelled
    registration.cancel_reason = reason
    registration.cancelled_at = registration.updated_at = clock.now()
    session.add(registration)
    session.flush()
    changes.record(session, RegistrationChanged.of(registration, before=before))
    if held and event.is_active:
        promote_waitlist(session, event)
    return registration


def check_in(session: Session, registration_id: int, outcome: str, actor: Actor) -> Registration:
    """Mark a confirmed registration attended or no_show, once the event has begun."""
    registration = get_registration(session, registration_id, actor)
    event = session.get(Event, registration.event_id)
    assert event is not None
    _require_host(actor, event)
    if registration.status not in (
        RegistrationStatus.confirmed,
        RegistrationStatus.attended,
        RegistrationStatus.no_show,
    ):
        raise Conflict(
            f"only confirmed registrations can be checked in; this one is {registration.status}"
        )
    if clock.now() < event.starts_at_utc:
        raise Conflict(f"event {event.id} has not started yet")
    before = RegistrationStatus(registration.status)
    registration.status = RegistrationStatus(outcome)
    registration.checked_in_at = registration.updated_at = clock.now()
    session.add(registration)
    session.flush()
    changes.record(session, RegistrationChanged.of(registration, before=before))
    return registration


def waitlist_positions(session: Session, event_id: int) -> dict[int, int]:
    ids = session.exec(
        select(Registration.id)
        .where(
            Registration.event_id == event_id,
            Registration.status == RegistrationStatus.waitlisted,
        )
        .order_by(col(Registration.id))
    ).all()
    return {rid: pos for pos, rid in enumerate(ids, start=1) if rid is not None}


def registration_query(session: Session, event_id: int, actor: Actor) -> Any:
    """An event's registrations this caller may see, in arrival order."""
    event = followed_event(session, event_id, actor)
    query = select(Registration).where(Registration.event_id == event.id)
    own_people = policy.readable_registrations(actor, event)
    if own_people is not None:
        query = query.join(
            Participant, col(Participant.id) == Registration.participant_id
        ).where(own_people)
    return query.order_by(col(Registration.id))


def readiness(session: Session, event_id: int, actor: Actor) -> Readiness:
    """What still stands between an event and departure (the host's side only)."""
    event = followed_event(session, event_id, actor)
    _require_host(actor, event)
    rows = session.exec(
        select(Registration, Participant)
        .join(Participant, col(Participant.id) == Registration.participant_id)
        .where(Registration.event_id == event.id)
        .order_by(col(Registration.id))
    ).all()
    counts = dict.fromkeys(RegistrationStatus, 0)
    for registration, _ in rows:
        counts[RegistrationStatus(registration.status)] += 1
    going = [
        (r, p) for r, p in rows if r.status in HOLDING or r.status == RegistrationStatus.waitlisted
    ]
    confirmed_like = (RegistrationStatus.confirmed, RegistrationStatus.attended)
    minors = sum(1 for r, _ in going if r.is_minor and r.status in confirmed_like)
    chaperones = sum(
        1
        for r, _ in going
        if r.role == RegistrationRole.chaperone and not r.is_minor and r.status in confirmed_like
    )
    missing = chaperone_shortfall(session, event)
    without_contact = sorted(
        {p.id or 0 for r, p in going if not p.email and not p.phone and r.status in HOLDING}
    )
    without_birth = sorted({p.id or 0 for r, p in going if p.birth_date is None})
    pending = counts[RegistrationStatus.pending_consent]
    return Readiness(
        event_id=event.id or 0,
        capacity=event.capacity,
        confirmed=counts[RegistrationStatus.confirmed] + counts[RegistrationStatus.attended],
        pending_consent=pending,
        waitlisted=counts[RegistrationStatus.waitlisted],
        cancelled=counts[RegistrationStatus.cancelled],
        minors=minors,
        adult_chaperones=chaperones,
        chaperone_ratio=event.chaperone_ratio,
        chaperones_missing=missing,
        without_contact=without_contact,
        without_birth_date=without_birth,
        ready=not (pending or missing or without_contact),
    )
