"""Signed-in browsers: server-side session rows behind an HttpOnly cookie.

The cookie holds a random secret; the row holds its SHA-256 hash, the person,
the membership they act in, and the times that end it: idle (no request for
``session_idle_minutes``) and absolute (``session_max_hours`` after sign-in).
Signing out ends one row; "everywhere", revoking a membership or disabling the
person ends them all at once, because every request reads the row.

Writes made with the cookie must prove they come from the console itself: the
``X-CSRF-Token`` header with the session's token (a cross-site page cannot read
it), an ``Origin`` that is the service's own when the browser sends one, and
no ``Sec-Fetch-Site: cross-site``. Requests with a Bearer key carry no cookie
and are not affected.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from fastapi import Request
from sqlmodel import Session, col, select, update

from app.accounts.models import Membership, User, UserSession
from app.core import clock
from app.core.actors import Actor, Role
from app.core.errors import Forbidden
from app.core.settings import get_settings
from app.keys.auth import also_authenticate
from app.keys.service import hash_key

COOKIE = "twinplan_session"
#: Readable by scripts, holds no secret: "someone may be signed in here".
HINT_COOKIE = "twinplan_signed_in"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# last_seen_at is written at most this often: a page that makes ten requests
# costs one write, not ten.
TOUCH_EVERY = timedelta(minutes=1)



def lifetimes() -> tuple[timedelta, timedelta]:
    settings = get_settings()
    return (timedelta(minutes=settings.session_idle_minutes),
            timedelta(hours=settings.session_max_hours))


def start(
    session: Session, user: User, *, membership_id: int | None, client: str | None,
    user_agent: str | None,
) -> tuple[UserSession, str]:
    """A new session for ``user``; returns the row and the cookie's secret."""
    assert user.id is not None
    secret = "tps_" + secrets.token_urlsafe(32)
    now = clock.now()
    row = UserSession(
        token_hash=hash_key(secret), csrf_token=secrets.token_urlsafe(24), user_id=user.id,
        membership_id=membership_id, client_address=client, user_agent=(user_agent or "")[:300],
        created_at=now, last_seen_at=now, expires_at=now + lifetimes()[1],
    )
    session.add(row)
    session.flush()
    return row, secret


def active(session: Session, secret: str) -> UserSession | None:
    """The live session this cookie names, or None (unknown, ended, idle too long,
    past its absolute end, or its person disabled)."""
    by_hash = UserSession.token_hash == hash_key(secret)
    row = session.exec(select(UserSession).where(by_hash)).first()
    if row is None or row.ended_at is not None:
        return None
    now = clock.now()
    idle, _ = lifetimes()
    if now >= row.expires_at or now - row.last_seen_at >= idle:
        return None
    user = session.get(User, row.user_id)
    if user is None or user.disabled_at is not None:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        session.add(row)
        session.flush()
    return row


def end(session: Session, row: UserSession) -> None:
    if row.ended_at is None:
        row.ended_at = clock.now()
        session.add(row)
        session.flush()


def end_all(session: Session, user_id: int, *, membership_id: int | None = None) -> int:
    """End every live session of the person (or only those acting in one membership)."""
    statement = update(UserSession).where(
        col(UserSession.user_id) == user_id, col(UserSession.ended_at).is_(None))
    if membership_id is not None:
        statement = statement.where(col(UserSession.membership_id) == membership_id)
    result = session.connection().execute(statement.values(ended_at=clock.now()))
    return int(result.rowcount or 0)


def acting_membership(session: Session, row: UserSession) -> Membership | None:
    if row.membership_id is None:
        return None
    membership = session.get(Membership, row.membership_id)
    return membership if membership is not None and membership.revoked_at is None else None


def actor_of(session: Session, row: UserSession) -> Actor:
    """The person as an actor: the role and city of the membership they act in,
    exactly as a key of that role and city (no membership: no rights)."""
    membership = acting_membership(session, row)
    if membership is None:
        return Actor(role=None, user_id=row.user_id, session_id=row.id)
    return Actor(role=Role(membership.role), city_id=membership.city_id,
                 user_id=row.user_id, session_id=row.id)


def _own_origins(request: Request) -> set[str]:
    base = urlsplit(get_settings().public_base_url)
    return {f"{base.scheme}://{base.netloc}", str(request.base_url).rstrip("/")}


def check_csrf(request: Request, row: UserSession) -> None:
    """A write with the cookie comes from the console, or it is refused (403)."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise Forbidden("a cross-site request cannot write with a session cookie")
    origin = request.headers.get("origin")
    if origin is not None and origin.rstrip("/") not in _own_origins(request):
        raise Forbidden(f"requests from {origin} cannot write with a session cookie")
    token = request.headers.get(CSRF_HEADER)
    if not token or not hmac.compare_digest(token, row.csrf_token):
        raise Forbidden(
            f"a write with a session cookie needs the {CSRF_HEADER} header "
            "(GET /api/v1/session gives it)"
        )


@also_authenticate(lambda request: COOKIE in request.cookies)
def session_cookie(request: Request, session: Session) -> Actor | None:
    """The signed-in person, if the request carries a live session cookie."""
    secret = request.cookies.get(COOKIE)
    if not secret:
        return None
    row = active(session, secret)
    if row is None:
        return None  # ended or expired: anonymous, and the console asks to sign in
    if request.method not in SAFE_METHODS:
        check_csrf(request, row)
    return actor_of(session, row)
