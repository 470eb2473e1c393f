"""Safe retries: ``Idempotency-Key`` on every POST.

Follows the IETF draft "The Idempotency-Key HTTP Header Field"
(draft-ietf-httpapi-idempotency-key-header). A client that may send a POST twice
(a timeout, a lost connection) sends a key of its choosing with it; the first
request with the key does the work, and its answer is what every retry gets:

- **Same key, same request** (method, path, query and body: the fingerprint):
  the stored status, body and headers that matter (``Content-Type``,
  ``Location``, ``ETag``...), with ``Idempotent-Replayed: true``. The work is
  not done again.
- **Same key, another request**: 422 (the draft's answer).
- **Same key while the first is still running**: 409 with ``Retry-After``.
- **Scope**: keys belong to the caller (the API key, or the signed-in person),
  so two callers never see each other's answers. Anonymous requests (signing
  in, accepting an invitation, resetting a password) have nobody to scope a key
  to: the header is checked but nothing is recorded, so a cookie or a session
  token is never handed to anyone else.
- **Expiry**: a key is remembered ``idempotency_key_hours`` (24) after its first
  request; then it is as if never used. The worker deletes expired rows.
- **Not stored**: a 5xx, or an answer that asks to try again later
  (``Retry-After``: a 429, a 409 for a transient conflict), none of which did
  anything; and an answer that sets a cookie or is marked ``Cache-Control:
  no-store`` (a new API key's or feed link's secret, which the database keeps
  only as a hash). The key is released and a retry runs again.

How, in two parts that share the request's session (so tests that roll back
see it all):

1. ``claim`` (a dependency of every route, wired in ``app.main`` after the key
   lookup, so it knows the caller) claims the key in its own short transaction:
   an insert, which the unique (caller, key) refuses when another request holds
   it; then that row decides between replay, 409 and 422.
2. ``IdempotencyMiddleware`` holds back the claimed request's answer until the
   endpoint's transaction has ended, records it (or releases the key), and only
   then sends it: a client that has the answer can retry and get it replayed.

A worker killed mid-request leaves its claim ``running``. The endpoint's commit
stamps the claim (``work_committed_at``) in the same transaction, so after
``ABANDONED_AFTER`` a claim without the stamp is known to have done nothing and
the next retry takes it over; one with the stamp did its work but lost its
answer, and a retry is told so (409) rather than doing the work twice.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import anyio
import anyio.to_thread
from fastapi import FastAPI, Request
from sqlalchemy import (
    JSON,
    Column,
    LargeBinary,
    String,
    UniqueConstraint,
    delete,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core import clock
from app.core import openapi as documentation
from app.core.actors import Actor
from app.core.db import UTCDateTime, write_gate
from app.core.errors import AppError
from app.core.settings import get_settings

log = logging.getLogger("twinplan.idempotency")

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# A claim still running this long after it was made belongs to a worker that died
# (requests take seconds; a queue for a connection or SQLite's lock, at most a few
# minutes).
ABANDONED_AFTER = timedelta(minutes=10)
# Seconds a retry that met a running request is asked to wait.
RETRY_AFTER_SECONDS = 1
# Response headers a replay carries again; the rest (the request id, the date,
# the length) belong to each answer.
REPLAYED_HEADERS = frozenset({
    "content-type", "content-language", "content-location", "location", "etag",
    "last-modified", "link",
})

# Visible ASCII, 1 to 255 characters. The draft's form is a Structured Field
# string ("..."), so a quoted value is read as the string it quotes: `"abc"` and
# `abc` are one key. (A quoted key may not contain spaces here.)
_VALUE = re.compile(rf"[!-~]{{1,{MAX_KEY_LENGTH}}}")
_SF_STRING = re.compile(r'"((?:[!#-\[\]-~]|\\["\\])+)"')
_SF_ESCAPE = re.compile(r"\\(.)")


class KeyState(StrEnum):
    running = "running"
    done = "done"


class IdempotencyKey(SQLModel, table=True):
    """A POST's key, claimed by its first request, and the answer it got."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("caller", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    # Whose key: `key:12` (an API key) or `user:7` (a signed-in person).
    caller: str = Field(max_length=40)
    key: str = Field(max_length=MAX_KEY_LENGTH)
    method: str = Field(max_length=10)
    path: str = Field(max_length=2048)
    # SHA-256 of the method, path, query and body of the first request.
    fingerprint: str = Field(max_length=64)
    state: KeyState = Field(sa_type=String(10))
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    # Stamped by the commit of the request's own work (see the module's docstring).
    work_committed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status_code: int | None = None
    response_headers: list[list[str]] | None = Field(default=None, sa_column=Column(JSON))
    response_body: bytes | None = Field(default=None, sa_column=Column(LargeBinary))


_TABLE = IdempotencyKey.__table__  # type: ignore[attr-defined]


# Problems ---------------------------------------------------------------------------


class IdempotencyKeyInvalid(AppError):
    status_code, slug, title = 400, "idempotency-key-invalid", "Invalid Idempotency-Key"


class IdempotencyKeyInUse(AppError):
    status_code, slug, title = 409, "idempotency-key-in-use", "Request in progress"


class IdempotencyKeyOutcomeLost(AppError):
    status_code, slug, title = 409, "idempotency-key-outcome-lost", "Answer lost"


class IdempotencyKeyReused(AppError):
    status_code, slug, title = 422, "idempotency-key-reused", "Idempotency-Key reused"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, errors=[{
            "loc": ["header", HEADER], "msg": detail, "type": "idempotency_key_reused"}])


class StoredAnswer(Exception):
    """Raised by ``claim`` to answer with what the key's first request got."""

    def __init__(self, status_code: int, headers: list[list[str]], body: bytes) -> None:
        super().__init__(status_code)
        self.status_code, self.headers, self.body = status_code, headers, body


# The header, the caller, the fingerprint ----------------------------------------------


def read_key(request: Request) -> str | None:
    """The request's idempotency key (None: it sent none); 400 if malformed."""
    values = request.headers.getlist(HEADER)
    if not values:
        return None
    if len(values) > 1:
        raise IdempotencyKeyInvalid(f"send one {HEADER} header, not {len(values)}")
    value = values[0]
    if not _VALUE.fullmatch(value):
        raise IdempotencyKeyInvalid(
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} visible ASCII characters "
            "(no spaces), e.g. a UUID"
        )
    quoted = _SF_STRING.fullmatch(value)
    return _SF_ESCAPE.sub(r"\1", quoted[1]) if quoted else value


def caller_scope(actor: Actor | None) -> str | None:
    """Whose keys these are: the API key that authenticated the request, else the
    signed-in person. None for anonymous callers, whose keys are not recorded."""
    if actor is None or actor.is_system:
        return None
    if actor.key_id is not None:
        return f"key:{actor.key_id}"
    if actor.user_id is not None:
        return f"user:{actor.user_id}"
    return None


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, body):
        digest.update(len(part).to_bytes(8, "big"))  # lengths: no two splits hash alike
        digest.update(part)
    return digest.hexdigest()


# Claiming ---------------------------------------------------------------------------


@dataclass
class _Claim:
    id: int
    session: Session
    on_commit: Callable[[Session], None]


@dataclass
class _RequestState:
    """What ``claim`` leaves for the middleware, in the request's scope."""

    claim: _Claim | None = None


_STATE_KEY = "idempotency"


def _claim_in_own_transaction(
    session: Session, caller: str, key: str, method: str, path: str, request_fingerprint: str
) -> int:
    """Claim ``key`` for ``caller`` and return the claim's id, or raise what a
    request that finds it taken gets (a replay, 409 or 422)."""
    for _ in range(5):
        now = clock.now()
        try:
            with session.begin_nested():
                claim_id: int = session.connection().execute(insert(_TABLE).values(
                    caller=caller, key=key, method=method, path=path[:2048],
                    fingerprint=request_fingerprint, state=KeyState.running, created_at=now,
                    expires_at=now + timedelta(hours=get_settings().idempotency_key_hours),
                ).returning(_TABLE.c.id)).scalar_one()
            session.commit()
            return claim_id
        except IntegrityError:
            pass  # taken: the savepoint is gone, the transaction goes on
        row = session.connection().execute(
            select(_TABLE).where(_TABLE.c.caller == caller, _TABLE.c.key == key)
        ).first()
        if row is None:  # released meanwhile (its request failed): try again
            session.commit()
            continue
        abandoned = (row.state == KeyState.running and row.work_committed_at is None
                     and row.created_at <= now - ABANDONED_AFTER)
        if row.expires_at <= now or abandoned:
            # As if never used: forget it and claim it afresh.
            session.connection().execute(delete(_TABLE).where(_TABLE.c.id == row.id))
            session.commit()
            continue
        session.commit()
        if row.fingerprint != request_fingerprint:
            same_target = (row.method, row.path) == (method, path[:2048])
            other = "another query or body" if same_target else f"{row.method} {row.path}"
            raise IdempotencyKeyReused(
                f"this {HEADER} was used for another request ({other}) in the last "
                f"{get_settings().idempotency_key_hours} hours; use a new key for a new request"
            )
        if row.state == KeyState.running:
            if (row.work_committed_at is not None
                    and row.work_committed_at <= now - ABANDONED_AFTER):
                raise IdempotencyKeyOutcomeLost(
                    f"the request with this {HEADER} was carried out, but the server stopped "
                    "before it could record the answer; read the resource to see the result "
                    "rather than sending it again under a new key"
                )
            raise IdempotencyKeyInUse(
                f"a request with this {HEADER} is still in progress; retry after "
                f"{RETRY_AFTER_SECONDS} s to get its answer",
                retry_after=RETRY_AFTER_SECONDS,
            )
        raise StoredAnswer(int(row.status_code), list(row.response_headers or []),
                           bytes(row.response_body or b""))
    raise IdempotencyKeyInUse(f"this {HEADER} is contended; retry after "
                              f"{RETRY_AFTER_SECONDS} s", retry_after=RETRY_AFTER_SECONDS)


async def claim(request: Request, session: Session, actor: Actor | None) -> None:
    """The ``Idempotency-Key`` of a POST: claim it for the caller, or answer from it.

    A dependency of every route (``app.main`` gives it the caller); it does
    nothing for other methods, or without the header. ``session`` is the
    request's: the claim is committed before the endpoint starts.
    """
    if request.method != "POST":
        return
    key = read_key(request)
    state = request.scope.get("state", {}).get(_STATE_KEY)
    caller = caller_scope(actor)
    if key is None or caller is None or not isinstance(state, _RequestState):
        return
    path = request.url.path
    query: bytes = request.scope.get("query_string", b"")
    request_fingerprint = fingerprint(request.method, path, query, await request.body())
    claim_id = await run_in_threadpool(_claim_in_own_transaction, session, caller, key,
                                       request.method, path, request_fingerprint)

    def stamp_work_committed(committing: Session) -> None:
        committing.connection().execute(update(_TABLE).where(
            _TABLE.c.id == claim_id, _TABLE.c.work_committed_at.is_(None),
        ).values(work_committed_at=clock.now()))

    # The endpoint's commit is the next one on this session.
    event.listen(session, "before_commit", stamp_work_committed)
    state.claim = _Claim(claim_id, session, stamp_work_committed)


@contextmanager
def outside_the_work(request: Request, session: Session) -> Iterator[None]:
    """Commits on ``session`` inside the block are not the endpoint's work (a rate
    limit's count, ``app.core.ratelimit``): they must not stamp the claim as done."""
    state = request.scope.get("state", {}).get(_STATE_KEY)
    claimed = state.claim if isinstance(state, _RequestState) else None
    watching = claimed is not None and event.contains(session, "before_commit",
                                                      claimed.on_commit)
    if watching:
        assert claimed is not None
        event.remove(session, "before_commit", claimed.on_commit)
    try:
        yield
    finally:
        if watching:
            assert claimed is not None
            event.listen(session, "before_commit", claimed.on_commit)


# Recording the answer -----------------------------------------------------------------


def _storable(status: int, headers: Iterable[tuple[str, str]]) -> bool:
    """Whether an answer is kept for retries. Not a 5xx, nor one that asks to try
    again later (``Retry-After``: 429, a 409 for a transient conflict), which did
    nothing; nor one that sets a cookie or says ``no-store`` (a secret shown once)."""
    if status >= 500 or status == 429:
        return False
    for name, value in headers:
        if name in ("set-cookie", "retry-after"):
            return False
        if name == "cache-control" and "no-store" in value.lower():
            return False
    return True


def _settle(claim: _Claim, answer: tuple[int, list[tuple[str, str]], bytes] | None) -> None:
    """Record the claimed request's answer, or release its key (``answer`` None:
    it ended without one; or one that is not kept)."""
    session = claim.session
    if event.contains(session, "before_commit", claim.on_commit):
        event.remove(session, "before_commit", claim.on_commit)
    try:
        if answer is not None and _storable(answer[0], answer[1]):
            status, headers, body = answer
            session.connection().execute(update(_TABLE).where(
                _TABLE.c.id == claim.id, _TABLE.c.state == KeyState.running,
            ).values(
                state=KeyState.done, status_code=status, response_body=body,
                response_headers=[[n, v] for n, v in headers if n in REPLAYED_HEADERS],
            ))
        else:
            session.connection().execute(delete(_TABLE).where(_TABLE.c.id == claim.id))
        session.commit()
    except Exception:
        session.rollback()
        # The answer still goes out; the key stays claimed until ABANDONED_AFTER.
        log.exception("could not record the answer to idempotency claim %s", claim.id)


class IdempotencyMiddleware:
    """Holds back a claimed request's answer until it is recorded (see the module)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        state = _RequestState()
        scope.setdefault("state", {})[_STATE_KEY] = state
        held: list[Message] = []

        async def hold(message: Message) -> None:
            if state.claim is None:
                await send(message)
            else:
                held.append(message)

        try:
            await self.app(scope, receive, hold)
        except BaseException:
            if state.claim is not None:
                with anyio.CancelScope(shield=True):
                    await self._settle(state.claim, None)
            raise
        if state.claim is None:
            return
        await self._settle(state.claim, _answer(held))
        for message in held:
            await send(message)

    @staticmethod
    async def _settle(claim: _Claim, answer: tuple[int, list[tuple[str, str]], bytes] | None
                      ) -> None:
        async with write_gate(claim.session):
            # A thread of its own, as the session's last commit (app.core.db).
            await anyio.to_thread.run_sync(_settle, claim, answer,
                                           limiter=anyio.CapacityLimiter(1))


def _answer(held: list[Message]) -> tuple[int, list[tuple[str, str]], bytes] | None:
    start = next((m for m in held if m["type"] == "http.response.start"), None)
    if start is None:
        return None
    headers = [(bytes(n).decode("latin-1").lower(), bytes(v).decode("latin-1"))
               for n, v in start.get("headers", [])]
    body = b"".join(m.get("body", b"") for m in held if m["type"] == "http.response.body")
    return int(start["status"]), headers, body


async def _replay(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StoredAnswer)
    response = Response(exc.body, status_code=exc.status_code)
    response.raw_headers.extend(
        (name.encode("latin-1"), value.encode("latin-1")) for name, value in exc.headers)
    response.headers[REPLAYED_HEADER] = "true"
    return response


def forget_expired(session: Session) -> int:
    """Delete keys past their expiry (the worker, hourly); how many."""
    result = session.connection().execute(
        delete(_TABLE).where(_TABLE.c.expires_at <= clock.now()))
    return int(getattr(result, "rowcount", 0) or 0)


def install_idempotency(app: FastAPI) -> None:
    """The middleware and the replay; ``claim`` is wired as a dependency by the app.
    Add it before ``BodySizeLimit``: it runs inside it, on bodies of allowed size."""
    app.add_middleware(IdempotencyMiddleware)
    app.add_exception_handler(StoredAnswer, _replay)


# The OpenAPI document -------------------------------------------------------------------

_PARAMETER: dict[str, Any] = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": (
        "Makes a retry safe (draft-ietf-httpapi-idempotency-key-header): a unique value "
        "of yours, e.g. a UUID, the same on every retry of this request. A retry with "
        "the same key and the same request gets the first answer again (status, body, "
        f"`Location`...), marked `{REPLAYED_HEADER}: true`, without the work being done "
        "twice; the same key with another request is 422; while the first is still "
        "running, 409. Keys belong to the caller (API key or signed-in person) and are "
        "remembered 24 hours (`TWINPLAN_IDEMPOTENCY_KEY_HOURS`). Not recorded for "
        "anonymous requests, nor for answers that did nothing (5xx, or `Retry-After`: "
        "try again later) or that set a cookie or carry a secret shown once "
        "(`Cache-Control: no-store`): a retry of those runs again. A quoted value "
        "(`\"...\"`, the draft's form) is the key it quotes."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH,
               "pattern": "^[!-~]+$"},
    "example": "8e03978e-40d5-43e8-bc93-6894a57f9324",
}

_NOTES: dict[int, str] = {
    400: f"the `{HEADER}` header is not 1 to {MAX_KEY_LENGTH} visible ASCII characters, "
         "or it is sent more than once.",
    409: f"a request with the same `{HEADER}` is still in progress: retry after "
         "`Retry-After` seconds (or it was carried out but its answer was lost).",
    422: f"the `{HEADER}` was used with another request (method, path, query or body).",
}


def document(schema: dict[str, Any]) -> None:
    """The header, and what it may answer, on every POST operation of ``schema``."""
    for item in schema.get("paths", {}).values():
        operation = item.get("post")
        if operation is None:
            continue
        parameters = operation.setdefault("parameters", [])
        if any(p.get("name") == HEADER for p in parameters):
            continue
        parameters.append(dict(_PARAMETER))
        responses = operation["responses"]
        for status, note in _NOTES.items():
            existing = responses.get(str(status))
            if existing is None:
                response = documentation.problem_response(status, note[0].upper() + note[1:])
            else:
                response = {**existing,
                            "description": f"{existing['description']} Or: {note}"}
            if status == 409:
                response["headers"] = {**response.get("headers", {}),
                                       **documentation.HEADERS[503]}
            responses[str(status)] = response
        for status, response in list(responses.items()):
            if status.startswith("2"):
                responses[status] = {**response, "headers": {
                    **response.get("headers", {}),
                    REPLAYED_HEADER: {
                        "description": "`true` when this is the stored answer to an earlier "
                                       f"request with the same `{HEADER}`.",
                        "schema": {"type": "string", "enum": ["true"]},
                    }}}
        operation["responses"] = dict(sorted(responses.items()))

