"""Who may issue, see and revoke API keys: every rule about it, in one place."""

from __future__ import annotations

from app.core.actors import Actor
from app.keys.models import ApiKey


def can_manage_keys(actor: Actor) -> bool:
    """Issue, list and revoke keys: admins, and the system (the command line)."""
    return actor.is_system or actor.is_admin


def can_read_key(actor: Actor, key: ApiKey) -> bool:
    """A key's own holder may read it; so may whoever manages keys."""
    return can_manage_keys(actor) or (actor.key_id is not None and actor.key_id == key.id)
