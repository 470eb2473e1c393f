"""Who may see and change people and their registrations: every rule, in one place.

Personal data is seen by its home city (coordinator or partner system), by
coordinators of the cities hosting an event the person is registered for,
by admins and by the system (reminders write to travellers). Services call
these; routers check nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, or_
from sqlmodel import Session, col, select

from app.core.actors import Actor, Role
from app.events.models import Event
from app.participants.models import Participant, Registration


def _trusted(actor: Actor) -> bool:
    return actor.is_system or actor.is_admin


def speaks_for_home_city(actor: Actor, participant: Participant) -> bool:
    """Admin, the system, or the coordinator or partner system of the person's home city."""
    return _trusted(actor) or actor.speaks_for(participant.home_city_id)


def can_run_event(actor: Actor, event: Event) -> bool:
    """The host's side of an event (readiness, check-in, every registration): the host
    city's coordinator, admins, the system."""
    return _trusted(actor) or actor.is_coordinator_of(event.host_city_id)


def can_follow_event(actor: Actor, event_city_ids: Collection[int]) -> bool:
    """See an event's registrations at all: a city taking part, admins, the system."""
    return _trusted(actor) or actor.city_id in event_city_ids


def coordinates_host_of(session: Session, actor: Actor, participant_id: int) -> bool:
    """A coordinator of a city hosting an event this person is registered for."""
    if actor.role is not Role.coordinator or actor.city_id is None:
        return False
    hit = session.exec(
        select(Registration.id)
        .join(Event, col(Event.id) == Registration.event_id)
        .where(
            Registration.participant_id == participant_id,
            Event.host_city_id == actor.city_id,
        )
        .limit(1)
    ).first()
    return hit is not None


def can_read_participant(session: Session, actor: Actor, participant: Participant) -> bool:
    return speaks_for_home_city(actor, participant) or coordinates_host_of(
        session, actor, participant.id or 0
    )


def readable_participants(actor: Actor) -> ColumnElement[bool] | None:
    """The SQL form of ``can_read_participant``; None means no restriction."""
    if _trusted(actor):
        return None
    own = actor.city_id
    visible: list[ColumnElement[bool]] = [col(Participant.home_city_id) == own]
    if actor.role is Role.coordinator:
        hosted = (
            select(Registration.participant_id)
            .join(Event, col(Event.id) == Registration.event_id)
            .where(Event.host_city_id == own)
        )
        visible.append(col(Participant.id).in_(hosted))
    return or_(*visible)


def can_register(
    session: Session,
    actor: Actor,
    participant: Participant,
    event: Event,
    event_city_ids: Collection[int],
) -> bool:
    if _trusted(actor):
        return True
    if speaks_for_home_city(actor, participant):
        # A city registers its own people for events it hosts or joins.
        return participant.home_city_id in event_city_ids
    # The host's coordinator registers people it can already see.
    return can_run_event(actor, event) and coordinates_host_of(
        session, actor, participant.id or 0
    )


def can_record_consent(actor: Actor, participant: Participant) -> bool:
    """A guardian's consent is recorded by the child's own city, never by the host."""
    return speaks_for_home_city(actor, participant)


def can_manage_registration(actor: Actor, event: Event, participant: Participant) -> bool:
    """Consent, cancel, read one registration: the host's side, or the person's home city."""
    return can_run_event(actor, event) or speaks_for_home_city(actor, participant)


def readable_registrations(actor: Actor, event: Event) -> Any:
    """Of one event's registrations, those this caller sees: all for the host's side,
    a guest city's own people otherwise (a condition on a join with Participant),
    or None for all."""
    if can_run_event(actor, event):
        return None
    return Participant.home_city_id == actor.city_id
