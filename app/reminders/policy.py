"""Who may read and change a city's reminder rules: every rule about it, in one place.

The planning view around World Twin Cities Day is open to anyone; what it
counts follows the events' own policy (``app.events.policy``).
"""

from __future__ import annotations

from app.core.actors import Actor


def can_manage_rules(actor: Actor, city_id: int) -> bool:
    """Read and change a city's rules: its coordinator, admins, the system."""
    return actor.is_system or actor.is_admin or actor.is_coordinator_of(city_id)


def can_choose_own_reminders(actor: Actor) -> bool:
    """Stop or resume kinds of reminder: a person, for themselves (signed in, or with a
    personal key), whatever their role. A machine's key is nobody's to choose for."""
    return actor.user_id is not None and not actor.is_system
