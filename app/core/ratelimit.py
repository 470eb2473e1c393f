"""Rate limits: writes per API key and per person, failed authentication per address.

What is limited, and why only that:

- **Writes** (POST, PUT, PATCH, DELETE) per API key (``rate_limit_key_writes``)
  and per person (``rate_limit_user_writes``: signed in, or holding personal
  keys; a person's keys and sessions share one count). A runaway batch job or a
  script in a loop is what they stop; a coordinator at the console or a
  partner's nightly sync never comes near the defaults. Reads are not limited:
  they are cached (ETags, feeds) and cost what a page view costs.
- **Failed authentication** per client address (``rate_limit_failed_auth``): a
  bearer key that is unknown or revoked. Past the limit such a request gets 429
  instead of 401, and nothing more is said about the key. A *valid* key from the
  same address still works: an address is often a whole city hall behind one
  NAT or proxy, and one colleague's misconfigured script must not lock everyone
  else out. Guessing gains nothing either way (a key is 256 random bits); the
  limit keeps scanners slow and their noise small. A session cookie that no
  longer names a live session is not a failure: the request is read as
  anonymous (the console asks to sign in), as it always was. Password sign-in
  keeps its own, stricter throttle (``app.accounts.service``: per account and
  per address, over 15 minutes, counted in the access audit); failed sign-ins
  are not counted here, nor failed keys there, so neither can trip the other.
- Anonymous writes (signing in, accepting an invitation, resetting a password)
  have no key or person to count against; the first has its own throttle.

How: **fixed windows** of ``rate_limit_window_seconds`` (60) aligned on the
clock, one row per (bucket, window) in ``rate_limit_counter``, charged with one
atomic ``INSERT ... ON CONFLICT DO UPDATE SET hits = hits + 1 RETURNING hits``
in its own short transaction. Every worker process on PostgreSQL shares the
count (the row lock orders concurrent charges; exactly ``limit`` of them see a
count within it); SQLite is one process, its writers queued anyway. A fixed
window rather than a sliding one or a token bucket: one statement, no
read-modify-write, an exact ``Retry-After`` (the window's end, when the count
starts again), and the same SQL on both databases. Its known cost, up to twice
the limit across a window boundary, does not matter for limits meant to stop
runaways rather than to meter. Requests over the limit are counted too; they
change nothing, as the window ends when it ends.

Every charged answer says where the caller stands, in the fields of the IETF
draft (draft-ietf-httpapi-ratelimit-headers): ``RateLimit-Policy:
"key-writes";q=300;w=60`` and ``RateLimit: "key-writes";r=212;t=37`` (quota,
window, remaining, seconds until the window ends); a 429 also carries
``Retry-After``.

With ``Idempotency-Key`` (``app.core.idempotency``): a write is charged after
its key is claimed, so a replayed answer (and a 409 for a request still
running) is not charged again; a 429 asks to retry later and is never stored
as the key's answer: the key is released and the retry runs.

Finished windows are deleted by the worker, hourly (``forget_finished``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Integer, PrimaryKeyConstraint, String, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core import clock
from app.core.actors import Actor
from app.core.db import WRITE_METHODS, UTCDateTime
from app.core.errors import TooManyRequests
from app.core.settings import get_settings

_STATE_KEY = "rate_limits"


class RateLimitCounter(SQLModel, table=True):
    """How many requests one bucket (``key:12``, ``user:7``, ``address:203.0.113.9``)
    made in the window that starts at ``window_start``."""

    __tablename__ = "rate_limit_counter"
    __table_args__ = (PrimaryKeyConstraint("bucket", "window_start"),)

    bucket: str = Field(sa_type=String(80))
    window_start: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    hits: int = Field(sa_type=Integer, nullable=False)


_TABLE = RateLimitCounter.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Charge:
    """Where one bucket stands after a request was counted in it."""

    policy: str
    limit: int
    window_seconds: int
    hits: int
    reset_seconds: int

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.hits)

    @property
    def exceeded(self) -> bool:
        return self.hits > self.limit


def _window(now: datetime, seconds: int) -> tuple[datetime, int]:
    """The start of the window ``now`` falls in, and whole seconds until it ends
    (at least 1: a client told to wait 0 s would come straight back)."""
    epoch = now.timestamp()
    start = math.floor(epoch / seconds) * seconds
    return datetime.fromtimestamp(start, UTC), max(1, math.ceil(start + seconds - epoch))


def _count(session: Session, bucket: str, window_start: datetime) -> int:
    """One more hit for ``bucket`` in the window; the count including it."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(_TABLE).values(bucket=bucket[:80], window_start=window_start, hits=1)
    upsert = statement.on_conflict_do_update(
        index_elements=[_TABLE.c.bucket, _TABLE.c.window_start],
        set_={"hits": _TABLE.c.hits + 1},
    ).returning(_TABLE.c.hits)
    return int(session.connection().execute(upsert).scalar_one())


def charge(session: Session, buckets: Sequence[tuple[str, str, int]]) -> list[Charge]:
    """Count one request in each ``(policy, bucket, limit)`` (a limit of 0: not
    limited, not counted) and commit at once, so the count is shared before the
    request goes on and no lock on a counter outlives this statement."""
    window_seconds = get_settings().rate_limit_window_seconds
    window_start, reset = _window(clock.now(), window_seconds)
    charges = [
        Charge(policy, limit, window_seconds, _count(session, bucket, window_start), reset)
        for policy, bucket, limit in buckets if limit > 0
    ]
    if charges:
        session.commit()
    return charges


def _refuse(charges: Sequence[Charge], detail: str) -> None:
    over = [c for c in charges if c.exceeded]
    if over:
        wait = max(c.reset_seconds for c in over)
        raise TooManyRequests(f"{detail}; try again in {wait} s", retry_after=wait)


def _remember(request: Request, charges: list[Charge]) -> None:
    """For ``RateLimitHeaders``, which writes them on the answer."""
    if charges:
        request.scope.setdefault("state", {})[_STATE_KEY] = charges


def write_buckets(actor: Actor | None) -> list[tuple[str, str, int]]:
    """The buckets a write by ``actor`` counts in: its API key's, its person's."""
    if actor is None or actor.is_system:
        return []
    settings = get_settings()
    buckets = []
    # Key before person, always: concurrent charges lock the rows in one order.
    if actor.key_id is not None:
        buckets.append(("key-writes", f"key:{actor.key_id}", settings.rate_limit_key_writes))
    if actor.user_id is not None:
        buckets.append(("user-writes", f"user:{actor.user_id}",
                        settings.rate_limit_user_writes))
    return buckets


def admit_write(request: Request, session: Session, actor: Actor | None) -> None:
    """Count a write against its caller's buckets; 429 when one is over its limit.

    Reads, anonymous requests and the system are not counted. ``session`` is the
    request's; the count is committed before the endpoint starts.
    """
    if request.method not in WRITE_METHODS:
        return
    charges = charge(session, write_buckets(actor))
    _remember(request, charges)
    _refuse(charges, "too many writes with this key or by this person")


def charge_failed_auth(request: Request, session: Session) -> None:
    """Count a failed authentication from the request's address; 429 (instead of
    the caller's 401) when the address is over its limit."""
    address = request.client.host if request.client else None
    if address is None:
        return
    charges = charge(session, [("failed-auth", f"address:{address}",
                                get_settings().rate_limit_failed_auth)])
    _remember(request, charges)
    _refuse(charges, "too many failed authentications from this address")


def forget_finished(session: Session) -> int:
    """Delete the counters of windows that have ended (the worker, hourly); how many."""
    seconds = get_settings().rate_limit_window_seconds
    window_start, _ = _window(clock.now(), seconds)
    result = session.connection().execute(
        delete(_TABLE).where(_TABLE.c.window_start < window_start))
    return int(getattr(result, "rowcount", 0) or 0)


def _structured(charges: Sequence[Charge]) -> tuple[str, str]:
    policy = ", ".join(f'"{c.policy}";q={c.limit};w={c.window_seconds}' for c in charges)
    state = ", ".join(f'"{c.policy}";r={c.remaining};t={c.reset_seconds}' for c in charges)
    return policy, state


class RateLimitHeaders:
    """Writes ``RateLimit-Policy`` and ``RateLimit`` on answers to counted requests.

    Outside ``IdempotencyMiddleware``: a stored answer keeps none of them (they
    belong to the moment), and a replay, which is not counted, carries none.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            charges = scope.get("state", {}).get(_STATE_KEY)
            if message["type"] == "http.response.start" and charges:
                policy, state = _structured(charges)
                message["headers"] = [
                    *message.get("headers", []),
                    (b"ratelimit-policy", policy.encode("latin-1")),
                    (b"ratelimit", state.encode("latin-1")),
                ]
            await send(message)

        await self.app(scope, receive, with_headers)
