"""Who may change cities and twinnings: every rule about it, in one place.

Reading cities and partnerships needs no key. Services call these; routers
check nothing.
"""

from __future__ import annotations

from app.core.actors import Actor, Role


def can_manage_cities(actor: Actor) -> bool:
    """Add and delete cities: admins, and the system (imports, demo data)."""
    return actor.is_system or actor.is_admin


def can_edit_city(actor: Actor, city_id: int) -> bool:
    """Change a city: its coordinator, admins, the system."""
    return can_manage_cities(actor) or actor.is_coordinator_of(city_id)


def can_change_partnership(actor: Actor, city_a_id: int, city_b_id: int) -> bool:
    """Create or change a twinning: a coordinator of either city, admins, the system.
    Partner systems never: a twinning is the city hall's decision."""
    if actor.role is Role.partner:
        return False
    return can_edit_city(actor, city_a_id) or can_edit_city(actor, city_b_id)
