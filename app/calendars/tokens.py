"""Private feed tokens: issued, listed, read, revoked, and found by the secret in a
feed's URL. Who may do which is ``app.calendars.policy``'s; this raises."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from sqlmodel import Session, col, select

from app.calendars import policy
from app.calendars.models import FeedToken, FeedTokenCreate, FeedTokenKind
from app.cities.models import City
from app.core import clock
from app.core.actors import Actor
from app.core.errors import Forbidden, Gone, NotFound, Unprocessable
from app.participants.models import Participant

TOKEN_PREFIX = "tpf_"


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _authorise_token(session: Session, actor: Actor, token: FeedToken) -> None:
    """403 unless ``policy.can_manage_feed_token``."""
    if policy.can_manage_feed_token(session, actor, token):
        return
    if token.kind == FeedTokenKind.city:
        raise Forbidden(f"this key may not change city {token.city_id}'s data")
    raise Forbidden("only the participant's home city (or an admin) may manage their feed")


def create_feed_token(
    session: Session, data: FeedTokenCreate, actor: Actor
) -> tuple[FeedToken, str]:
    """Issue a private feed token; the secret is returned once and only its hash is kept."""
    if data.city_id is not None:
        if session.get(City, data.city_id) is None:
            raise Unprocessable(f"city {data.city_id} does not exist", field="city_id")
        kind = FeedTokenKind.city
    else:
        participant = session.get(Participant, data.participant_id)
        if participant is None:
            raise Unprocessable(
                f"participant {data.participant_id} does not exist", field="participant_id"
            )
        if participant.erased_at is not None:
            raise Unprocessable(
                f"participant {data.participant_id} was erased", field="participant_id"
            )
        kind = FeedTokenKind.participant
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)  # 256 bits
    token = FeedToken(
        kind=kind,
        city_id=data.city_id,
        participant_id=data.participant_id,
        label=data.label,
        token_hash=hash_token(secret),
        prefix=secret[:10],
    )
    _authorise_token(session, actor, token)
    session.add(token)
    session.flush()
    return token, secret


def feed_token_query(
    actor: Actor, city_id: int | None = None, participant_id: int | None = None
) -> Any:
    """Tokens the caller may see: all (admin), else its city's and its city's people's."""
    query = select(FeedToken)
    readable = policy.readable_feed_tokens(actor)
    if readable is not None:
        query = query.where(readable)
    if city_id is not None:
        query = query.where(FeedToken.city_id == city_id)
    if participant_id is not None:
        query = query.where(FeedToken.participant_id == participant_id)
    return query.order_by(col(FeedToken.id))


def get_feed_token(session: Session, token_id: int, actor: Actor) -> FeedToken:
    token = session.get(FeedToken, token_id)
    if token is None:
        raise NotFound(f"feed token {token_id} does not exist")
    try:
        _authorise_token(session, actor, token)
    except Forbidden:
        raise NotFound(f"feed token {token_id} does not exist") from None
    return token


def revoke_feed_token(session: Session, token: FeedToken) -> FeedToken:
    """Revoke at once: the URL answers 410 Gone from now on. Revoking twice keeps the first."""
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        session.add(token)
        session.flush()
    return token


def token_by_secret(session: Session, secret: str) -> FeedToken:
    """The token behind a private feed URL: 404 if unknown, 410 if revoked."""
    digest = hash_token(secret)
    token = session.exec(select(FeedToken).where(FeedToken.token_hash == digest)).first()
    if token is None:
        raise NotFound("no feed at this address")
    if token.revoked_at is not None:
        raise Gone("this feed was revoked; ask for a new link")
    return token
