"""Participants and registrations: capacity, waitlist, consent, chaperones, clashes.

Concurrency. Registering locks the participant row, then the event row
(always in that order, so two requests cannot deadlock), and only then counts
places and looks for clashes. On PostgreSQL the locks are ``SELECT ... FOR
UPDATE``; on SQLite every write transaction already holds the database lock
(``BEGIN IMMEDIATE``, see app.core.db). Registration ids are drawn after the
event lock is held, so id order is arrival order and is the waitlist order.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, func, update
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from app.cities.models import City
from app.core import changes, clock
from app.core.actors import Actor
from app.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.events import policy as events_policy
from app.events import service as events_service
from app.events.changes import EventChanged
from app.events.models import Event, EventGuest, EventKind, EventStatus
from app.participants import policy
from app.participants.changes import ParticipantErased, RegistrationChanged
from app.participants.models import (
    ACTIVE,
    ADULT_AGE,
    CHECKED_IN,
    ERASED_NAME,
    GOING,
    HOLDING,
    ConsentCreate,
    Participant,
    ParticipantCreate,
    ParticipantUpdate,
    ProblemKind,
    Readiness,
    ReadinessProblem,
    Registration,
    RegistrationCreate,
    RegistrationRole,
    RegistrationStatus,
    default_language,
)

CHAPERONE_RULE_KINDS = frozenset({EventKind.school_exchange, EventKind.youth_exchange})
# How the registrations of a cancelled event are cancelled (their reason begins so).
EVENT_CANCELLED = "event cancelled:"


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
    """The event, if the caller can see it (404 otherwise, as if missing) and its city
    takes part in it or it is an admin (403 otherwise)."""
    event = events_service.get_event(session, event_id, actor)
    if not policy.can_follow_event(actor, event_city_ids(session, event)):
        raise Forbidden("only the cities taking part in an event see its registrations")
    return event


# Participants ------------------------------------------------------------------


def create_participant(
    session: Session, data: ParticipantCreate, actor: Actor
) -> Participant:
    city = session.get(City, data.home_city_id)
    if city is None:
        raise Unprocessable(f"city {data.home_city_id} does not exist", field="home_city_id")
    participant = Participant.model_validate(
        data, update={"language": data.language or default_language(city.country_code)})
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
    for field in ("full_name", "language"):
        if field in changes and changes[field] is None:
            raise Unprocessable(f"{field} cannot be removed", field=field)
    born = participant.birth_date
    participant.sqlmodel_update(changes)
    participant.updated_at = clock.now()
    session.add(participant)
    session.flush()
    if participant.birth_date != born:
        # Who is a minor where follows the birth date, at every event still in play
        # (neither completed nor cancelled: a correction fixes the record too).
        for registration in _registrations_in_play(session, participant):
            event = _locked_event_of(session, registration)
            _reassess(session, event, [registration])
            settle(session, event)
    return participant


def _still_open(session: Session, participant: Participant, event_rule: Any
                ) -> list[Registration]:
    """The person's active registrations not yet checked in, at events that match."""
    return list(
        session.exec(
            select(Registration)
            .join(Event, col(Event.id) == Registration.event_id)
            .where(
                Registration.participant_id == participant.id,
                col(Registration.status).in_(list(ACTIVE - CHECKED_IN)),
                event_rule,
            )
            .order_by(col(Registration.id))
        ).all()
    )


def _registrations_in_play(session: Session, participant: Participant) -> list[Registration]:
    """At events neither completed nor cancelled."""
    return _still_open(session, participant,
                       col(Event.status).not_in([EventStatus.completed, EventStatus.cancelled]))


def _upcoming(session: Session, participant: Participant) -> list[Registration]:
    """At events that have not ended."""
    return _still_open(session, participant, col(Event.ends_at_utc) > clock.now())


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
    # Erased before the places are given up: whoever hears of those sees the person
    # gone (the messages to participants write to nobody erased).
    for field in ("email", "phone", "birth_date", "guardian_name", "guardian_email", "notes",
                  "passport_number", "passport_expiry", "nationality"):
        setattr(participant, field, None)
    participant.full_name = ERASED_NAME
    participant.erased_at = participant.updated_at = clock.now()
    session.add(participant)
    session.flush()
    for registration in _upcoming(session, participant):
        _cancel(session, registration, reason="participant erased")
    changes.record(session, ParticipantErased(participant_id=participant_id))


def registrations_of(session: Session, participant_id: int, actor: Actor) -> list[Registration]:
    """The person's registrations at events the caller can see."""
    query = (
        select(Registration)
        .join(Event, col(Event.id) == Registration.event_id)
        .where(Registration.participant_id == participant_id)
        .order_by(col(Registration.id))
    )
    visible = events_policy.readable_events(actor)
    if visible is not None:
        query = query.where(visible)
    return list(session.exec(query).all())


# Registrations -------------------------------------------------------------------
#
# The rules every registration of an event keeps, whatever changed last:
#
# 1. held places (every status but waitlisted and cancelled) never exceed capacity,
#    and while a place is free nobody waits: the waitlist moves, first come first
#    served, in the same transaction as whatever freed the place;
# 2. nobody holds two active registrations (waitlist included) in overlapping
#    events; a cancelled event holds none and so blocks nothing;
# 3. a minor is confirmed only with a guardian's consent on record and, at school
#    and youth exchanges, enough confirmed adult chaperones (one per
#    ``chaperone_ratio`` minors); a minor with consent waits as
#    ``awaiting_chaperone`` until there are, and goes back to it when a chaperone
#    drops out (latest confirmed first).
#
# ``settle`` restores 1 and 3 after any change; changes that cannot be settled
# without taking a place away (a capacity cut below the places held, a move that
# makes someone's registrations overlap, a chaperone who would become a minor)
# are refused with 409. Every registration that moves records a
# ``RegistrationChanged`` fact, which the outbox sends to the host and the
# person's home city.


def _lock(session: Session, model: Any, row_id: int) -> Any:
    """Load a row with a write lock (PostgreSQL); SQLite's write lock is already held."""
    return session.exec(
        select(model)
        .where(model.id == row_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def _held_places(session: Session, event_id: int) -> int:
    """The places the event's registrations hold: its counter, one row."""
    return session.exec(select(Event.places_held).where(Event.id == event_id)).one()


def _count_place(session: Session, event_id: int, before: RegistrationStatus | None,
                 after: RegistrationStatus) -> None:
    """Keep ``event.places_held`` true as a registration moves from ``before`` to
    ``after``. Every move of a registration passes here (``register``, ``_move``),
    in its transaction, with the event's row locked. A Core statement: the
    counter is bookkeeping, not an edit of the event (no version, no audit)."""
    delta = (after in HOLDING) - (before in HOLDING)
    if delta:
        session.execute(update(Event).where(col(Event.id) == event_id)
                        .values(places_held=col(Event.places_held) + delta))


def _check_open(event: Event) -> None:
    if event.status == EventStatus.proposed:
        raise Conflict(
            f"event {event.id} is a proposal under negotiation and takes no registrations "
            "until its host accepts it"
        )
    if not event.is_active:
        raise Conflict(f"event {event.id} is {event.status} and takes no registrations")
    deadline = event.registration_deadline
    if deadline is not None and clock.now() > deadline:
        raise Conflict(f"registrations for event {event.id} closed at {deadline.isoformat()}")


def _clashes(
    session: Session, participant_ids: list[int], starts: datetime, ends: datetime
) -> list[tuple[Registration, Event]]:
    """The active registrations of these people in events overlapping [starts, ends)."""
    return list(
        session.exec(
            select(Registration, Event)
            .join(Event, col(Event.id) == Registration.event_id)
            .where(
                col(Registration.participant_id).in_(participant_ids),
                col(Registration.status).in_(list(ACTIVE)),
                # What is left of a cancelled event (check-ins) blocks nothing.
                col(Event.status) != EventStatus.cancelled,
                col(Event.starts_at_utc) < ends,
                col(Event.ends_at_utc) > starts,
            )
            .order_by(col(Registration.id))
        ).all()
    )


def _check_no_clash(
    session: Session, participant: Participant, event: Event, actor: Actor
) -> None:
    assert participant.id is not None
    for registration, other in _clashes(
        session, [participant.id], event.starts_at_utc, event.ends_at_utc
    ):
        if other.id == event.id:
            raise Conflict(
                f"participant {participant.id} is already registered for this event "
                f"(registration {registration.id})",
                registration_id=registration.id,
            )
        if events_service.can_see(session, actor, other):
            raise Conflict(
                f"participant {participant.id} already holds a registration for "
                f"'{other.title}' (event {other.id}), which overlaps this one",
                event_id=other.id,
            )
        # An event the caller may not see is not named, not even by id.
        raise Conflict(
            f"participant {participant.id} already holds a registration for another "
            "event that overlaps this one"
        )


def _is_minor(participant: Participant, event: Event) -> bool:
    age = participant.age_on(event.first_day)
    return age is not None and age < ADULT_AGE


def _move(
    session: Session,
    registration: Registration,
    status: RegistrationStatus,
    **fields: Any,
) -> None:
    """Move a registration to ``status`` and tell those who follow it."""
    before = RegistrationStatus(registration.status)
    registration.status = status
    registration.sqlmodel_update(fields)
    registration.updated_at = clock.now()
    session.add(registration)
    session.flush()
    _count_place(session, registration.event_id, before, status)
    changes.record(session, RegistrationChanged.of(registration, before=before))


def _of_event(session: Session, event: Event, statuses: Any) -> list[Registration]:
    return list(
        session.exec(
            select(Registration)
            .where(Registration.event_id == event.id, col(Registration.status).in_(list(statuses)))
            .order_by(col(Registration.id))
        ).all()
    )


def _chaperone_counts(session: Session, event: Event) -> tuple[int, int]:
    """(confirmed minors, confirmed adult chaperones)."""
    rows = session.exec(
        select(Registration.is_minor, Registration.role, func.count())
        .where(Registration.event_id == event.id, col(Registration.status).in_(list(GOING)))
        .group_by(col(Registration.is_minor), col(Registration.role))
    ).all()
    minors = sum(n for minor, _role, n in rows if minor)
    chaperones = sum(
        n for minor, role, n in rows if not minor and role == RegistrationRole.chaperone
    )
    return minors, chaperones


def chaperone_shortfall(session: Session, event: Event, extra_minors: int = 0) -> int:
    """How many more adult chaperones the event needs for its confirmed minors."""
    if event.kind not in CHAPERONE_RULE_KINDS:
        return 0
    minors, chaperones = _chaperone_counts(session, event)
    needed = -(-(minors + extra_minors) // event.chaperone_ratio)  # ceiling division
    return max(0, needed - chaperones)


def _promote_waitlist(session: Session, event: Event) -> None:
    """Give every free place to the waitlist, first come first served."""
    query = select(Registration).where(
        Registration.event_id == event.id,
        Registration.status == RegistrationStatus.waitlisted,
    ).order_by(col(Registration.id))
    if event.capacity is not None:
        free = event.capacity - _held_places(session, event.id or 0)
        if free <= 0:
            return
        query = query.limit(free)
    for registration in session.exec(query).all():
        minor = registration.is_minor
        # A minor moving up waits for consent, or for chaperones if consent is on record.
        status = (
            RegistrationStatus.confirmed if not minor
            else RegistrationStatus.awaiting_chaperone if registration.consent_at
            else RegistrationStatus.pending_consent
        )
        _move(session, registration, status)


def _balance_chaperones(session: Session, event: Event) -> None:
    """Confirm minors awaiting chaperones while there are enough; send the latest
    confirmed back to waiting when there are too few."""
    awaiting = RegistrationStatus.awaiting_chaperone
    if event.kind not in CHAPERONE_RULE_KINDS:
        for registration in _of_event(session, event, {awaiting}):
            _move(session, registration, RegistrationStatus.confirmed)
        return
    minors, chaperones = _chaperone_counts(session, event)
    room = chaperones * event.chaperone_ratio - minors
    if room > 0:
        for registration in _of_event(session, event, {awaiting})[:room]:
            _move(session, registration, RegistrationStatus.confirmed)
    elif room < 0:
        confirmed_minors = [
            r for r in _of_event(session, event, {RegistrationStatus.confirmed}) if r.is_minor
        ]
        # Those who checked in stay checked in: only confirmed minors go back.
        for registration in confirmed_minors[::-1][: -room]:
            _move(session, registration, awaiting)


def settle(session: Session, event: Event) -> None:
    """Bring the event's registrations back to the rules above, after anything that
    changed them or the event. The caller holds the event's lock."""
    if event.status == EventStatus.cancelled:
        for registration in _of_event(session, event, ACTIVE - CHECKED_IN):
            _move(
                session,
                registration,
                RegistrationStatus.cancelled,
                cancelled_at=clock.now(),
                cancel_reason=f"{EVENT_CANCELLED} {event.cancel_reason}"[:1000],
            )
        return
    if not event.is_active:
        return
    _promote_waitlist(session, event)
    _balance_chaperones(session, event)


def _reassess(session: Session, event: Event, registrations: list[Registration]) -> None:
    """Who of these is a minor on the event's (new) first day, and what follows:
    a minor confirmed without consent waits for it; an adult waiting for consent
    or chaperones is confirmed. A chaperone cannot become a minor, and school and
    youth exchanges need everyone's birth date: both are refused."""
    for registration in registrations:
        participant = session.get(Participant, registration.participant_id)
        assert participant is not None
        if event.kind in CHAPERONE_RULE_KINDS and participant.birth_date is None:
            raise Conflict(
                f"a {event.kind} needs every participant's birth date; participant "
                f"{participant.id} (registration {registration.id}) has none",
                participant_id=participant.id,
            )
        minor = _is_minor(participant, event)
        if minor and registration.role == RegistrationRole.chaperone:
            raise Conflict(
                f"participant {participant.id} would be a minor on the event's first day "
                f"and cannot be its chaperone (registration {registration.id})",
                participant_id=participant.id,
            )
        if minor == registration.is_minor:
            continue
        registration.is_minor = minor
        status = RegistrationStatus(registration.status)
        if minor and status == RegistrationStatus.confirmed and registration.consent_at is None:
            _move(session, registration, RegistrationStatus.pending_consent)
        elif not minor and status in (
            RegistrationStatus.pending_consent, RegistrationStatus.awaiting_chaperone
        ):
            _move(session, registration, RegistrationStatus.confirmed)
        else:
            session.add(registration)
            session.flush()


@changes.receiver(EventChanged)
def keep_registrations_within_rules(change: EventChanged, session: Session) -> None:
    """An event changed: its registrations follow, in the same transaction.

    Cancelled: every active registration is cancelled (the people are told, their
    time is free). Capacity raised: the waitlist moves up. Capacity cut below the
    places held: refused (409), so nobody loses a place they were given. Moved:
    refused if someone would hold two overlapping registrations; who is a minor is
    judged again on the new first day. Chaperone ratio or kind changed: minors are
    confirmed or sent back to waiting for chaperones.
    """
    before, after = change.before, change.after
    if before is None:
        return
    event = _lock(session, Event, after.id)
    assert event is not None
    if event.status != EventStatus.cancelled and event.capacity is not None:
        held = _held_places(session, after.id)
        if held > event.capacity and (before.capacity is None or event.capacity < before.capacity):
            raise Conflict(
                f"event {after.id} has {held} places held; capacity cannot go below that "
                f"(cancel registrations first)",
                places_held=held,
            )
    moved = (before.starts_at, before.ends_at) != (after.starts_at, after.ends_at)
    if event.is_active and (moved or before.kind != after.kind):
        if moved:
            _check_move(session, event, _of_event(session, event, ACTIVE))
        _reassess(session, event, _of_event(session, event, ACTIVE - CHECKED_IN))
    settle(session, event)


def _check_move(session: Session, event: Event, active: list[Registration]) -> None:
    people = sorted({r.participant_id for r in active})
    if not people:
        return
    # Lock the people too: a registration of one of them elsewhere, running now,
    # must see the new times or wait for them (participant, then event order is
    # the registration path's; PostgreSQL breaks the rare cycle, answered 409).
    for participant_id in people:
        _lock(session, Participant, participant_id)
    clashing = sorted({
        registration.participant_id
        for registration, other in _clashes(
            session, people, event.starts_at_utc, event.ends_at_utc
        )
        if other.id != event.id
    })
    if clashing:
        raise Conflict(
            f"moving event {event.id} would give {len(clashing)} participant(s) two "
            f"overlapping registrations: {', '.join(map(str, clashing))}",
            participant_ids=clashing,
        )


def register(
    session: Session, event_id: int, data: RegistrationCreate, actor: Actor
) -> Registration:
    """Register a participant: a place, the consent queue, or the waitlist."""
    participant = _lock(session, Participant, data.participant_id)
    event = events_service.get_event_for_update(session, event_id, actor)
    if participant is None or not policy.can_read_participant(session, actor, participant):
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
    _check_no_clash(session, participant, event, actor)
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
    _count_place(session, event_id, None, status)
    changes.record(session, RegistrationChanged.of(registration, before=None))
    if status == RegistrationStatus.confirmed and data.role is RegistrationRole.chaperone:
        _balance_chaperones(session, event)  # minors awaiting a chaperone may go now
    return registration


def get_registration(session: Session, registration_id: int, actor: Actor) -> Registration:
    """A registration the caller may see: of an event it can see, and either the
    host's side or the person's home city. 404 otherwise."""
    registration = session.get(Registration, registration_id)
    if registration is not None:
        event = session.get(Event, registration.event_id)
        participant = session.get(Participant, registration.participant_id)
        assert event is not None and participant is not None
        if events_service.can_see(session, actor, event) and policy.can_manage_registration(
            actor, event, participant
        ):
            return registration
    raise NotFound(f"registration {registration_id} does not exist")


def _locked_event_of(session: Session, registration: Registration) -> Event:
    event = _lock(session, Event, registration.event_id)
    assert event is not None
    # Re-read the registration under the event lock: another request may have moved it.
    session.refresh(registration)
    return event


def _same_name(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def record_consent(
    session: Session, registration_id: int, consent: ConsentCreate, actor: Actor
) -> Registration:
    """Record a guardian's consent: only the participant's home city (or an admin)
    may, naming the guardian on record (or confirming a new one).

    The minor is confirmed, or, at a school or youth exchange without enough adult
    chaperones, ``awaiting_chaperone`` until there are.
    """
    registration = get_registration(session, registration_id, actor)
    participant = session.get(Participant, registration.participant_id)
    assert participant is not None
    if not policy.can_record_consent(actor, participant):
        raise Forbidden(
            "only the participant's home city (or an admin) records a guardian's consent"
        )
    event = _locked_event_of(session, registration)
    if registration.status != RegistrationStatus.pending_consent:
        raise Conflict(
            f"registration {registration.id} is {registration.status}, not pending_consent"
        )
    on_record = participant.guardian_name
    renamed = bool(on_record) and not _same_name(on_record or "", consent.guardian_name)
    if renamed and not consent.guardian_changed:
        raise Unprocessable(
            f"the guardian on record is '{on_record}'; send guardian_changed: true "
            f"to record '{consent.guardian_name}' as the new guardian",
            field="guardian_name",
        )
    if not on_record or consent.guardian_changed:
        participant.guardian_name = consent.guardian_name
        participant.updated_at = clock.now()
        session.add(participant)
    waits = chaperone_shortfall(session, event, extra_minors=1) > 0
    _move(
        session,
        registration,
        RegistrationStatus.awaiting_chaperone if waits else RegistrationStatus.confirmed,
        consent_by=consent.guardian_name,
        consent_at=clock.now(),
        consent_recorded_by=actor.label,
    )
    return registration


def cancel_registration(
    session: Session, registration_id: int, reason: str | None, actor: Actor
) -> Registration:
    """Cancel; a held place goes to the first on the waitlist in the same transaction."""
    return _cancel(session, get_registration(session, registration_id, actor), reason=reason)


def _cancel(session: Session, registration: Registration, *, reason: str | None) -> Registration:
    event = _locked_event_of(session, registration)
    if registration.status == RegistrationStatus.cancelled:
        return registration
    if registration.status in CHECKED_IN:
        raise Conflict(f"registration {registration.id} is {registration.status}")
    _move(
        session,
        registration,
        RegistrationStatus.cancelled,
        cancel_reason=reason,
        cancelled_at=clock.now(),
    )
    settle(session, event)
    return registration


def check_in(session: Session, registration_id: int, outcome: str, actor: Actor) -> Registration:
    """Mark a confirmed registration attended or no_show, once the event has begun."""
    registration = get_registration(session, registration_id, actor)
    event = _locked_event_of(session, registration)
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
    _move(session, registration, RegistrationStatus(outcome), checked_in_at=clock.now())
    # A chaperone who did not come no longer counts.
    _balance_chaperones(session, event)
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


def waitlist_position(session: Session, registration: Registration) -> int:
    """One waiting registration's place in the queue: those waiting before it, plus one
    (a count, so telling each of a 500-person upload costs no more than the first)."""
    ahead = session.exec(select(func.count()).select_from(Registration).where(
        Registration.event_id == registration.event_id,
        Registration.status == RegistrationStatus.waitlisted,
        col(Registration.id) < registration.id,
    )).one()
    return int(ahead) + 1


def registration_query(
    session: Session,
    event_id: int,
    actor: Actor,
    statuses: Sequence[RegistrationStatus] = (),
    roles: Sequence[RegistrationRole] = (),
) -> Any:
    """An event's registrations this caller may see, in arrival order."""
    event = followed_event(session, event_id, actor)
    query = select(Registration).where(Registration.event_id == event.id)
    own_people = policy.readable_registrations(actor, event)
    if own_people is not None:
        query = query.join(
            Participant, col(Participant.id) == Registration.participant_id
        ).where(own_people)
    if statuses:
        query = query.where(col(Registration.status).in_([str(s) for s in statuses]))
    if roles:
        query = query.where(col(Registration.role).in_([str(r) for r in roles]))
    return query.order_by(col(Registration.id))


# What readiness reads of a registration and its person, one row of named columns:
# registration_id, status, is_minor, role, participant_id, full_name, email, phone,
# guardian_email, birth_date, passport_expiry, home_city_id.
ReadinessRow = Row[Any]


def _reachable(entry: ReadinessRow) -> bool:
    """An email or phone of theirs, or, for a minor, their guardian's email."""
    return bool(entry.email or entry.phone or (entry.is_minor and entry.guardian_email))


# A guest's passport must stay valid this long after the return.
PASSPORT_MARGIN_MONTHS = 6


def months_after(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day if it has fewer days."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


def _passport_problem(expiry: date, return_day: date) -> str | None:
    """A guest's passport that expires within six months of the return (most visa
    rules ask that much validity)."""
    if expiry >= months_after(return_day, PASSPORT_MARGIN_MONTHS):
        return None
    return (f"the passport expires on {expiry.isoformat()}, within {PASSPORT_MARGIN_MONTHS} "
            f"months of the return ({return_day.isoformat()})")


def readiness(session: Session, event_id: int, actor: Actor,
              city_id: int | None = None) -> Readiness:
    """What still stands between an event and departure: the counts, and every
    problem with the person it concerns.

    The host's side (its coordinator, admins) sees the whole event, or one city's
    delegation with ``city_id``. Any other city taking part (its coordinator or
    partner system) sees its own delegation: the people whose home city it is,
    their chaperone ratio counted among themselves."""
    event = followed_event(session, event_id, actor)
    if not policy.can_run_event(actor, event):
        if city_id not in (None, actor.city_id):
            raise Forbidden("a city taking part sees its own delegation's readiness only")
        city_id = actor.city_id
    # What it reads of each registration and its person, as one row of columns:
    # an event of 200 people made 400 objects, half the time of the answer.
    which = [col(Registration.event_id) == event.id]
    if city_id is not None:
        which.append(col(Participant.home_city_id) == city_id)
    rows: list[ReadinessRow] = list(session.connection().execute(
        select_columns(
            col(Registration.id).label("registration_id"), col(Registration.status),
            col(Registration.is_minor), col(Registration.role),
            col(Participant.id).label("participant_id"), col(Participant.full_name),
            col(Participant.email), col(Participant.phone), col(Participant.guardian_email),
            col(Participant.birth_date), col(Participant.passport_expiry),
            col(Participant.home_city_id))
        .join(Participant, col(Participant.id) == Registration.participant_id)
        .where(*which)
        .order_by(col(Registration.id))
    ))
    counts = dict.fromkeys(RegistrationStatus, 0)
    for row in rows:
        counts[RegistrationStatus(row.status)] += 1
    holding = [row for row in rows if row.status in HOLDING]
    held = len(holding)
    problems: list[ReadinessProblem] = []

    def problem(kind: ProblemKind, detail: str, e: ReadinessRow | None = None) -> None:
        problems.append(ReadinessProblem(
            kind=kind, detail=detail,
            participant_id=e.participant_id if e else None,
            registration_id=e.registration_id if e else None,
            name=e.full_name if e else None,
        ))

    if event.status not in (EventStatus.planned, EventStatus.confirmed):
        problem(ProblemKind.event_not_going_ahead, f"the event is {event.status}")
    overbooked = max(0, held - event.capacity) if event.capacity is not None else 0
    if overbooked and city_id is None:  # the event's places, not one delegation's
        problem(ProblemKind.overbooked, f"{held} places are held for a capacity of "
                f"{event.capacity}: {overbooked} too many")
    minors = sum(1 for e in holding if e.is_minor)
    chaperones = sum(
        1 for e in holding
        if e.role == RegistrationRole.chaperone and not e.is_minor and e.status in GOING
    )
    missing = 0
    if event.kind in CHAPERONE_RULE_KINDS:
        missing = max(0, -(-minors // event.chaperone_ratio) - chaperones)
    if missing:
        problem(ProblemKind.chaperone_missing,
                f"{missing} more adult chaperone{'s' if missing > 1 else ''} needed for "
                f"{minors} minors (one per {event.chaperone_ratio})")
    without_contact: set[int] = set()
    without_birth: set[int] = set()
    for e in holding:
        if e.status in CHECKED_IN:
            continue
        if e.status == RegistrationStatus.pending_consent:
            problem(ProblemKind.consent_missing, "no guardian's consent yet", e)
        elif e.status == RegistrationStatus.awaiting_chaperone:
            problem(ProblemKind.chaperone_missing,
                    "consent given; waits for enough adult chaperones", e)
        if not _reachable(e):
            without_contact.add(e.participant_id)
            problem(ProblemKind.unreachable, "no email or phone"
                    + (" (nor a guardian's email)" if e.is_minor else ""), e)
        if e.birth_date is None:
            without_birth.add(e.participant_id)
            if event.kind in CHAPERONE_RULE_KINDS:
                problem(ProblemKind.birth_date_missing,
                        f"no birth date (a {event.kind} needs it)", e)
        # The host's own people cross no border.
        if e.passport_expiry is not None and e.home_city_id != event.host_city_id:
            expiring = _passport_problem(e.passport_expiry, event.last_day)
            if expiring is not None:
                problem(ProblemKind.passport_expiring, expiring, e)
    return Readiness(
        event_id=event.id or 0,
        city_id=city_id,
        event_status=event.status,
        capacity=event.capacity,
        held=held,
        overbooked=overbooked,
        confirmed=counts[RegistrationStatus.confirmed] + counts[RegistrationStatus.attended],
        pending_consent=counts[RegistrationStatus.pending_consent],
        awaiting_chaperone=counts[RegistrationStatus.awaiting_chaperone],
        waitlisted=counts[RegistrationStatus.waitlisted],
        cancelled=counts[RegistrationStatus.cancelled],
        minors=minors,
        adult_chaperones=chaperones,
        chaperone_ratio=event.chaperone_ratio,
        chaperones_missing=missing,
        without_contact=sorted(without_contact),
        without_birth_date=sorted(without_birth),
        problems=problems,
        ready=not problems,
    )
