"""Who may issue, see and revoke API keys: every rule about it, in one place."""

from __future__ import annotations

from app.core.actors import Actor, Role
from app.keys.models import ApiKey


def can_manage_keys(actor: Actor) -> bool:
    """Issue, list and revoke keys: admins, and the system (the command line)."""
    return actor.is_system or actor.is_admin


def can_issue_key(actor: Actor, role: Role, city_id: int | None) -> bool:
    """Admins issue any key; a signed-in person, a personal key of their own role and
    city (the membership they act in)."""
    if can_manage_keys(actor):
        return True
    return (actor.user_id is not None and actor.role is not None and role is actor.role
            and city_id == actor.city_id)


def owns(actor: Actor, key: ApiKey) -> bool:
    return actor.user_id is not None and key.user_id == actor.user_id


def can_read_key(actor: Actor, key: ApiKey) -> bool:
    """A key's own holder may read it, its owner, and whoever manages keys."""
    return (can_manage_keys(actor) or owns(actor, key)
            or (actor.key_id is not None and actor.key_id == key.id))


def can_revoke_key(actor: Actor, key: ApiKey) -> bool:
    return can_manage_keys(actor) or owns(actor, key)
