"""Issuing, checking and revoking API keys."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.core import changes
from app.core.actors import Actor, Role
from app.core.db import utcnow
from app.core.errors import Forbidden, NotFound, Unprocessable
from app.keys import policy
from app.keys.changes import ApiKeyIssued
from app.keys.models import ApiKey

KEY_PREFIX = "tp_"


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_api_key(
    session: Session, actor: Actor, *, name: str, role: Role, city_id: int | None = None
) -> tuple[ApiKey, str]:
    """Store a new key and return it with its secret, which is never stored. A key a
    signed-in person makes for their own role and city is theirs (personal): it is
    listed for them and revoked with their membership."""
    role = Role(role)
    if not policy.can_issue_key(actor, role, city_id):
        raise Forbidden("an admin issues any key; a signed-in person, keys of their own "
                        "role and city")
    if role is not Role.admin and city_id is None:
        raise Unprocessable(f"a {role} key needs a city")
    if role is Role.admin and city_id is not None:
        raise Unprocessable("an admin key is not scoped to a city")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    personal = actor.user_id if not policy.can_manage_keys(actor) else None
    key = ApiKey(
        name=name, role=role, city_id=city_id, key_hash=hash_key(secret), prefix=secret[:10],
        user_id=personal,
    )
    # Keys sit below cities, so the city is checked by its foreign key: inside a
    # savepoint, a refused insert leaves the caller's transaction usable.
    try:
        with session.begin_nested():
            session.add(key)
            session.flush()
    except IntegrityError:
        raise Unprocessable(f"city {city_id} does not exist", field="city_id") from None
    assert key.id is not None
    changes.record(session, ApiKeyIssued(key_id=key.id, role=str(role), city_id=city_id,
                                         user_id=personal, by=actor.label,
                                         address=actor.address))
    return key, secret


def find_active_key(session: Session, secret: str) -> ApiKey | None:
    key = session.exec(select(ApiKey).where(ApiKey.key_hash == hash_key(secret))).first()
    return key if key is not None and key.revoked_at is None else None


def key_is_active(session: Session, key_id: int) -> bool:
    """Whether the key still exists and is not revoked (its id, role and city never change)."""
    found = session.execute(
        select(ApiKey.id).where(ApiKey.id == key_id, col(ApiKey.revoked_at).is_(None))
    ).first()
    return found is not None


def get_api_key(session: Session, key_id: int, actor: Actor) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None or not policy.can_read_key(actor, key):
        raise NotFound(f"API key {key_id} does not exist")
    return key


def own_key(session: Session, actor: Actor) -> ApiKey:
    """The key the caller authenticated with."""
    if actor.key_id is None:
        raise NotFound("this caller holds no API key")
    return get_api_key(session, actor.key_id, actor)


def revoke_api_key(session: Session, key_id: int, actor: Actor) -> ApiKey:
    """Revoke a key; revoking twice keeps the first revocation time."""
    key = get_api_key(session, key_id, actor)
    if not policy.can_revoke_key(actor, key):
        raise Forbidden("this action needs an admin key (or the key's owner)")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.add(key)
        session.flush()
    return key


def list_api_keys(session: Session, actor: Actor) -> list[ApiKey]:
    """Every key, for admins; a signed-in person's own keys, for them."""
    query = select(ApiKey).order_by(ApiKey.id)  # type: ignore[arg-type]
    if not policy.can_manage_keys(actor):
        if actor.user_id is None:
            raise Forbidden("this action needs an admin key")
        query = query.where(ApiKey.user_id == actor.user_id)
    return list(session.exec(query).all())
