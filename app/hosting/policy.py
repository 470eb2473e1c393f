"""Who may see and change host families, guests' needs and placements: every rule,
in one place.

Families and needs are personal data (addresses, health). A family is its
city's: only that city's coordinators (and admins) read and write it; partner
systems never do. A guest's needs are written by the guest's home city and read
by the coordinators of the two cities concerned (the guest's and the host's).
The host's coordinators place; a guest city's coordinators read where their own
guests stay (and with whom), nobody else's.
"""

from __future__ import annotations

from app.core.actors import Actor
from app.events.models import Event
from app.participants.models import Participant


def _trusted(actor: Actor) -> bool:
    return actor.is_system or actor.is_admin


def can_keep_families(actor: Actor, city_id: int) -> bool:
    """Read and write the host families of this city."""
    return _trusted(actor) or actor.is_coordinator_of(city_id)


def can_read_needs(actor: Actor, event: Event, participant: Participant) -> bool:
    """A guest's needs, medical notes included: the two cities' coordinators."""
    return (_trusted(actor) or actor.is_coordinator_of(event.host_city_id)
            or actor.is_coordinator_of(participant.home_city_id))


def can_write_needs(actor: Actor, participant: Participant) -> bool:
    """The guest's home city records what its people need."""
    return _trusted(actor) or actor.is_coordinator_of(participant.home_city_id)


def can_place(actor: Actor, event: Event) -> bool:
    """Propose, move, pin and confirm: the host's coordinators."""
    return _trusted(actor) or actor.is_coordinator_of(event.host_city_id)


def placement_city(actor: Actor, event: Event) -> int | None:
    """Whose guests of the placement this caller reads: None for all (the host's
    side), a city id for a guest city's coordinators; anyone else reads nothing
    (``can_read_placement``)."""
    return None if can_place(actor, event) else actor.city_id


def can_read_placement(actor: Actor, event: Event, guest_city_ids: set[int]) -> bool:
    return can_place(actor, event) or (
        actor.city_id in guest_city_ids and actor.is_coordinator_of(actor.city_id))
