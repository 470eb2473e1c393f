"""Who is calling, as a FastAPI dependency: a bearer API key, or another credential
that a higher layer plugs in (``also_authenticate``: the session cookie of a
signed-in person, ``app.accounts.sessions``), resolved to an ``Actor``.

A key found active once is remembered (who it is never changes): the next
request with it reaches a sync endpoint without a lookup, a trip to a thread
and a transaction of its own; the endpoint's transaction confirms the key is
still active before the endpoint runs (``app.core.db.confirm_in_endpoint``).

Routers only ask for the actor (``CurrentActor``, or ``MaybeActor`` where
reading needs no key); what the actor may do is each domain's policy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from app.core import ratelimit
from app.core.actors import ANONYMOUS, Actor, Role, bind
from app.core.db import SessionDep, confirm_in_endpoint
from app.core.errors import Unauthorized
from app.keys.service import find_active_key, hash_key, key_is_active

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer tp_...`")

Authenticator = Callable[[Request, Session], Actor | None]
Carries = Callable[[Request], bool]
_others: list[tuple[Carries, Authenticator]] = []
# Keys found active before, by their hash: who each one is (keys never change who
# they are, only whether they are revoked). A request with one of them reaches a
# sync endpoint without a lookup of its own: the endpoint's transaction confirms
# the key first (``_still_active``), so a revocation counts at once, on every worker.
_known: dict[str, Actor] = {}
KNOWN_KEYS = 4096
UNAUTHORIZED = "the API key is unknown or has been revoked"
_ACTOR = "twinplan.actor"  # where ``identify`` leaves the caller, in the request's scope


def also_authenticate(carries: Carries) -> Callable[[Authenticator], Authenticator]:
    """Register a credential tried, in order, when a request carries no Bearer key;
    ``carries`` says, without the database, whether the request holds one at all
    (a cookie by its name), so that an anonymous request is served without a
    trip to a worker thread."""
    def register(authenticator: Authenticator) -> Authenticator:
        _others.append((carries, authenticator))
        return authenticator
    return register


async def identify(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor | None:
    """The caller, or None for an anonymous one; a dependency of the whole app
    (``app.main``), run once per request, before any other, and kept in the request
    for ``optional_actor``. An anonymous caller costs no database and no worker
    thread (each hop to a thread is a good part of a cheap request's time:
    bench.throughput, /health)."""
    actor = await _identify(request, session, credentials)
    request.scope[_ACTOR] = actor
    return actor


async def optional_actor(request: Request) -> Actor | None:
    """The caller ``identify`` found for this request, or None for an anonymous one.

    A dependency with no dependencies of its own, on purpose: FastAPI solves a
    dependency's own dependencies again wherever it is named, cached or not, and
    the caller is named by most endpoints and by ``require_actor``."""
    try:
        actor: Actor | None = request.scope[_ACTOR]
    except KeyError:
        raise RuntimeError("keys.auth.identify is not a dependency of this app") from None
    return actor


async def _identify(request: Request, session: Session,
                    credentials: HTTPAuthorizationCredentials | None) -> Actor | None:
    # HTTPBearer(auto_error=False) gives None for no header and for other schemes
    # (Basic, say): those callers go on to the other credentials, or are anonymous.
    if credentials is None and not any(carries(request) for carries, _ in _others):
        # Anonymous, but still someone: what it writes (a sign-in) is theirs, not the
        # system's, and the session may have been bound by an earlier caller.
        bind(session, replace(ANONYMOUS, address=_address(request)))
        return None
    if credentials is not None:
        digest = hash_key(credentials.credentials)
        known = _known.get(digest)
        if known is not None and confirm_in_endpoint(
                request, session, _still_active(digest, known.key_id or 0)):
            actor = replace(known, address=_address(request))
            bind(session, actor)
            return actor
    return await run_in_threadpool(_look_up, request, session, credentials)


def _still_active(digest: str, key_id: int) -> Callable[[Session], None]:
    def check(session: Session) -> None:
        if not key_is_active(session, key_id):
            _known.pop(digest, None)
            raise Unauthorized(UNAUTHORIZED)
    return check


def _look_up(request: Request, session: Session,
             credentials: HTTPAuthorizationCredentials | None) -> Actor | None:
    if credentials is None:
        for carries, authenticate in _others:
            if not carries(request):
                continue
            actor = authenticate(request, session)
            if actor is not None:
                session.commit()  # as below: hold no connection while waiting
                actor = replace(actor, address=_address(request))
                bind(session, actor)
                return actor
        # Anonymous, but still someone: what it writes (a sign-in) is theirs, not the
        # system's, and the session may have been bound by an earlier caller.
        bind(session, replace(ANONYMOUS, address=_address(request)))
        return None
    key = find_active_key(session, credentials.credentials)
    # End this read now: FastAPI runs the endpoint in another worker thread, and a
    # request must not hold a pooled connection while it waits for one, or 40
    # waiting requests can starve the few that hold connections.
    session.commit()
    if key is None or key.id is None:
        # Past its address's limit of failures, 429 rather than 401 (app.core.ratelimit).
        ratelimit.charge_failed_auth(request, session)
        raise Unauthorized(UNAUTHORIZED)
    actor = Actor(role=Role(key.role), city_id=key.city_id, key_id=key.id,
                  user_id=key.user_id, address=_address(request))
    if len(_known) >= KNOWN_KEYS:
        _known.clear()
    _known[key.key_hash] = replace(actor, address=None)
    bind(session, actor)  # who the data audit records for this request's writes
    return actor


def _address(request: Request) -> str | None:
    """Where the request came from, for the records of who did what."""
    return request.client.host if request.client else None


async def require_actor(actor: Annotated[Actor | None, Depends(optional_actor)]) -> Actor:
    """The caller, who must be someone. A coroutine, as every dependency that does no
    I/O: FastAPI runs a plain function in a worker thread, a trip per request."""
    if actor is None:
        raise Unauthorized(
            "this action needs an API key (`Authorization: Bearer <api key>`) or signing in"
        )
    return actor


MaybeActor = Annotated[Actor | None, Depends(optional_actor)]
CurrentActor = Annotated[Actor, Depends(require_actor)]
