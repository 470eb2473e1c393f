"""Issuing, checking and revoking API keys."""

from __future__ import annotations

import hashlib
import secrets

from sqlmodel import Session, select

from app.cities.models import City
from app.core.db import utcnow
from app.core.errors import NotFound, Unprocessable
from app.keys.models import ApiKey, Role

KEY_PREFIX = "tp_"


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_api_key(
    session: Session, *, name: str, role: Role, city_id: int | None = None
) -> tuple[ApiKey, str]:
    """Store a new key and return it with its secret, which is never stored."""
    role = Role(role)
    if role is not Role.admin:
        if city_id is None:
            raise Unprocessable(f"a {role} key needs a city")
        if session.get(City, city_id) is None:
            raise Unprocessable(f"city {city_id} does not exist")
    elif city_id is not None:
        raise Unprocessable("an admin key is not scoped to a city")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name, role=role, city_id=city_id, key_hash=hash_key(secret), prefix=secret[:10]
    )
    session.add(key)
    session.flush()
    return key, secret


def find_active_key(session: Session, secret: str) -> ApiKey | None:
    key = session.exec(select(ApiKey).where(ApiKey.key_hash == hash_key(secret))).first()
    return key if key is not None and key.revoked_at is None else None


def get_api_key(session: Session, key_id: int) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"API key {key_id} does not exist")
    return key


def revoke_api_key(session: Session, key_id: int) -> ApiKey:
    """Revoke a key; revoking twice keeps the first revocation time."""
    key = get_api_key(session, key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.add(key)
        session.flush()
    return key


def list_api_keys(session: Session) -> list[ApiKey]:
    return list(session.exec(select(ApiKey).order_by(ApiKey.id)).all())  # type: ignore[arg-type]
