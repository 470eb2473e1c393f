"""Who may read the data audit: every rule, in one place.

Admins (and the system) read every entry; a city's coordinator reads the
entries of its city's data (``app.audit.scope`` says which city's an entry
is); partner systems, people without a role and other cities read nothing.
"""

from __future__ import annotations

from app.core.actors import Actor, Role


def can_read_audit(actor: Actor) -> bool:
    return actor.is_admin or actor.is_system or (
        actor.role is Role.coordinator and actor.city_id is not None)


def audit_city_scope(actor: Actor) -> int | None:
    """The city whose entries the caller reads; None for all (admins, the system)."""
    return None if actor.is_admin or actor.is_system else actor.city_id
