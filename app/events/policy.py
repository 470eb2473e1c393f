"""Who may see and change exchange events: every rule about it, in one place.

Services call these; routers check nothing. ``readable_events`` is the SQL
form of ``can_read_event``, so a list never loads what its caller may not see.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import col, select

from app.core.actors import Actor
from app.events.models import Event, EventGuest, Visibility


def can_read_event(actor: Actor | None, event: Event, guest_ids: Sequence[int]) -> bool:
    """Public: anyone. Partners-only: the host's and the guests' keys. Private: the
    host's keys. Admins and the system: everything."""
    if event.visibility == Visibility.public:
        return True
    if actor is None:
        return False
    if actor.is_system or actor.is_admin:
        return True
    return actor.city_id is not None and can_city_read(actor.city_id, event, guest_ids)


def can_city_read(city_id: int, event: Event, guest_ids: Sequence[int]) -> bool:
    """What any key of this city may see, and what the city may be told (webhooks)."""
    if event.visibility == Visibility.public or city_id == event.host_city_id:
        return True
    return event.visibility == Visibility.partners and city_id in guest_ids


def readable_events(actor: Actor | None) -> ColumnElement[bool] | None:
    """The SQL form of ``can_read_event``; None means no restriction."""
    if actor is not None and (actor.is_system or actor.is_admin):
        return None
    if actor is None or actor.city_id is None:
        return col(Event.visibility) == Visibility.public
    return readable_by_city(actor.city_id)


def readable_by_city(city: int) -> ColumnElement[bool]:
    """What any key of this city may see (the SQL form of ``can_read_event``)."""
    public = col(Event.visibility) == Visibility.public
    # Correlated EXISTS, one primary-key probe per candidate row. (`id IN (all
    # events the city was ever a guest of)` grows with history and, inside
    # this OR, steers PostgreSQL into scanning the whole window.)
    is_guest = (
        select(EventGuest.event_id)
        .where(col(EventGuest.event_id) == col(Event.id), EventGuest.city_id == city)
        .exists()
    )
    return or_(
        public,
        col(Event.host_city_id) == city,
        and_(col(Event.visibility) == Visibility.partners, is_guest),
    )


def can_host_events(actor: Actor, city_id: int) -> bool:
    """Create events hosted by this city, and change or cancel them: its coordinator,
    an admin, or the system (demo data)."""
    return actor.is_system or actor.is_admin or actor.is_coordinator_of(city_id)


def can_edit_event(actor: Actor, event: Event) -> bool:
    return can_host_events(actor, event.host_city_id)


# Proposals (app.events.proposals) ----------------------------------------------


def can_negotiate_for(actor: Actor, city_id: int) -> bool:
    """Propose an exchange for this city, or answer for it in a negotiation: its
    coordinator, an admin, or the system. A partner system reads, never commits
    its city to a visit."""
    return actor.is_system or actor.is_admin or actor.is_coordinator_of(city_id)


def can_read_negotiation(actor: Actor, host_city_id: int, proposer_city_id: int) -> bool:
    """The negotiation is the two cities' business: any key of either (partner
    systems too), admins and the system; nobody else, even once the event is public."""
    if actor.is_system or actor.is_admin:
        return True
    return actor.city_id is not None and actor.city_id in (host_city_id, proposer_city_id)
