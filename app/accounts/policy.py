"""Who may invite whom, manage memberships and read the audit: every rule, in one place."""

from __future__ import annotations

from app.accounts.models import Membership
from app.core.actors import Actor, Role


def _trusted(actor: Actor) -> bool:
    return actor.is_system or actor.is_admin


def can_invite(actor: Actor, role: Role, city_id: int | None) -> bool:
    """Admins invite anyone; a city's coordinator invites coordinators and partners
    of its own city."""
    if _trusted(actor):
        return True
    return Role(role) is not Role.admin and city_id is not None and actor.is_coordinator_of(city_id)


def can_see_members(actor: Actor, city_id: int) -> bool:
    """A city's people and its invitations: admins; the city's coordinators."""
    return _trusted(actor) or actor.is_coordinator_of(city_id)


def can_manage_membership(actor: Actor, membership: Membership) -> bool:
    """Revoke a membership: admins; a city's coordinator, for its city's memberships."""
    if _trusted(actor):
        return True
    return membership.city_id is not None and actor.is_coordinator_of(membership.city_id)


def audit_city_scope(actor: Actor) -> int | None:
    """Whose access audit the caller reads: all (None) for admins, its own city's
    for a coordinator. Anyone else may not read it (``can_read_audit``)."""
    return None if _trusted(actor) else actor.city_id


def can_read_audit(actor: Actor) -> bool:
    return _trusted(actor) or (actor.role is Role.coordinator and actor.city_id is not None)


def can_manage_users(actor: Actor) -> bool:
    """Disable a person altogether: admins, and the system (the command line)."""
    return _trusted(actor)
