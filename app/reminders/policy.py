"""Who may read and change a city's reminder rules: every rule about it, in one place.

The planning view around World Twin Cities Day is open to anyone; what it
counts follows the events' own policy (``app.events.policy``).
"""

from __future__ import annotations

from app.core.actors import Actor


def can_manage_rules(actor: Actor, city_id: int) -> bool:
    """Read and change a city's rules: its coordinator, admins, the system."""
    return actor.is_system or actor.is_admin or actor.is_coordinator_of(city_id)
