"""Who may see and change an event's programme: every rule about it, in one place.

Reading follows the event (``app.events.policy``): whoever may see the event
sees its programme, but only the items marked public unless they belong to one
of the event's cities. Writing is the host's: its coordinator, admins, the system.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.core.actors import Actor, Role
from app.events.models import Event
from app.events.policy import can_host_events


def can_write_programme(actor: Actor, event: Event) -> bool:
    return can_host_events(actor, event.host_city_id)


def sees_every_item(actor: Actor | None, event: Event, guest_ids: Sequence[int]) -> bool:
    """The event's own cities (any key of the host or a guest), admins and the system
    see every item; others who may see the event see its public items only."""
    if actor is None:
        return False
    if actor.is_system or actor.is_admin:
        return True
    return actor.city_id is not None and (
        actor.city_id == event.host_city_id or actor.city_id in guest_ids
    )


def shows_named_people(actor: Actor | None) -> bool:
    """Whether the item shows its named people at all: to coordinators, admins and
    the system; partner systems and anonymous callers see only that there are some."""
    return actor is not None and (
        actor.is_system or actor.is_admin or actor.role is Role.coordinator
    )


def may_see_named_person(actor: Actor, event: Event, home_city_id: int) -> bool:
    """Of the named people, a coordinator sees those of the cities concerned: the
    host's sees everyone named, another city's its own people."""
    if actor.is_system or actor.is_admin or actor.is_coordinator_of(event.host_city_id):
        return True
    return actor.role is Role.coordinator and actor.city_id == home_city_id
