"""Who may see and change journeys: every rule about travel, in one place.

A journey belongs to its travellers' home city. That city (its coordinator or
partner system: partner systems upload travel) writes it; the host city's
coordinators write every journey of their event too (who meets whom). The host
city's keys read every journey of the event; another city taking part reads
its own people's only. Admins and the system do everything. A traveller's name
is shown to those who may read the person (``app.participants.policy``): a
host's partner system sees the journeys and counts, not the guests' names.
"""

from __future__ import annotations

from app.core.actors import Actor
from app.events.models import Event
from app.participants import policy as participants_policy
from app.participants.models import Participant


def _trusted(actor: Actor) -> bool:
    return actor.is_system or actor.is_admin


def reads_every_journey(actor: Actor, event: Event) -> bool:
    """The host city's keys (coordinators and partner systems), admins, the system."""
    return _trusted(actor) or actor.speaks_for(event.host_city_id)


def visible_city(actor: Actor, event: Event) -> int | None:
    """Whose journeys of the event the caller reads: None for all (the host's side),
    else its own city's (a city taking part sees only its own people)."""
    return None if reads_every_journey(actor, event) else actor.city_id


def can_read_journey(actor: Actor, event: Event, journey_city_id: int) -> bool:
    return reads_every_journey(actor, event) or actor.city_id == journey_city_id


def can_write_journey(actor: Actor, event: Event, journey_city_id: int) -> bool:
    """The travellers' home city (coordinator or partner system), the host's
    coordinators, admins, the system."""
    return (_trusted(actor) or actor.speaks_for(journey_city_id)
            or actor.is_coordinator_of(event.host_city_id))


def can_read_name(actor: Actor, event: Event, participant: Participant) -> bool:
    """Whether the board may name this traveller to the caller: the person's home
    city, the host's coordinators, admins, the system."""
    return participants_policy.can_manage_registration(actor, event, participant)
