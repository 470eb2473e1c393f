"""The ASGI application: ``create_app()`` wires routers, errors and the console."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

import anyio.to_thread
from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel
from sqlalchemy import text

from app import receivers  # noqa: F401  (connects the consumers of change facts)
from app.accounts.router import current_session
from app.accounts.router import router as accounts_router
from app.accounts.sso_router import router as sso_router
from app.audit.router import router as audit_router
from app.calendars.router import router as calendars_router
from app.changelog.router import router as changelog_router
from app.cities.router import router as cities_router
from app.console import console_app
from app.core import idempotency, ratelimit
from app.core.actors import Actor
from app.core.db import WRITE_METHODS, SessionDep, get_engine
from app.core.errors import install_error_handlers
from app.core.limits import BodySizeLimit
from app.core.logging import RequestIdMiddleware, configure_logging
from app.core.openapi import install_openapi, json_body_types
from app.core.settings import get_settings
from app.documents.router import router as documents_router
from app.events.proposals_router import router as proposals_router
from app.events.router import router as events_router
from app.hosting.router import router as hosting_router
from app.keys.auth import identify, require_actor
from app.keys.router import router as keys_router
from app.mirrors.router import router as mirrors_router
from app.notifications.router import router as notifications_router
from app.participants.router import router as participants_router
from app.programme.router import router as programme_router
from app.reminders.router import router as reminders_router
from app.travel.router import router as travel_router
from app.twins.health_router import router as health_router
from app.twins.router import router as twins_router

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

DESCRIPTION = """
Twinplan schedules exchanges between twinned cities: partnerships, events,
participants, calendar feeds and reminders.

Reading public data needs no key. Writes need `Authorization: Bearer <api key>`.
Errors are RFC 9457 `application/problem+json`. Every POST accepts
`Idempotency-Key`: a retry with the same key gets the first answer again.
Writes are rate limited per key and per person, unknown keys per address: `429`
with `Retry-After`, and `RateLimit` fields on every write's answer.
"""


@cache
def freeze_startup_heap() -> None:
    """Move what the worker loaded at startup out of the cyclic collector's sight.

    Modules, SQLAlchemy's and pydantic's metadata, routes: some 150,000 objects
    that live as long as the process. Every full collection would walk them
    again, and a feed built from nothing allocates enough to set off several:
    a fifth of its time went there (bench.feeds, cold: 222 -> 183 ms). Once per process
    (``cache``): tests start many apps, and only garbage-free startup state
    belongs in the permanent generation (``gc.freeze``).
    """
    gc.collect()
    gc.freeze()


class Health(BaseModel):
    status: Literal["ok", "error"]
    database: Literal["ok", "unreachable"]


async def admit(
    request: Request, session: SessionDep, actor: Annotated[Actor | None, Depends(identify)]
) -> None:
    """What every request passes before its endpoint, in this order, as the app's
    one dependency. Every endpoint judges a key that is sent, public reads
    included: an unknown or revoked key is 401 everywhere, never silently read as
    anonymous (``identify``). A JSON body's values must have the JSON types the
    document gives them (``json_body_types``). A POST's Idempotency-Key is claimed
    for that caller, or answered from (``app.core.idempotency``). A write counts
    against its caller's limits (``app.core.ratelimit``); over one, 429: after the
    claim, so a replayed answer is not counted and the count's commit is not the
    endpoint's work. A read is not counted, and costs no trip to a worker thread.

    One dependency rather than four: FastAPI solves each dependency's own
    dependencies (the session, the caller) again wherever it is named, 19 solves
    for one event read where 8 now do (bench.calls counts the calls this saved).
    """
    await json_body_types(request)
    await idempotency.claim(request, session, actor)
    if request.method not in WRITE_METHODS:
        return

    def admit_write() -> None:
        with idempotency.outside_the_work(request, session):
            ratelimit.admit_write(request, session, actor)

    await run_in_threadpool(admit_write)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Built now, not by the first request: the document and, from it, the JSON
    # types of every body (`json_body_types`).
    app.openapi()
    freeze_startup_heap()
    # Per event loop: the pool that runs sync endpoints and other blocking calls.
    anyio.to_thread.current_default_thread_limiter().total_tokens = get_settings().threads
    yield


def create_app() -> FastAPI:
    settings = get_settings()
    configure_logging(settings.log_level)
    # Every request passes `admit` first: who calls, body types, Idempotency-Key,
    # rate limits. (Routes that ask for the caller get what it found.)
    # FastAPIOffline serves Swagger UI from the package's own copy: FastAPI's page
    # loads it from a CDN, which a city hall intranet cannot reach. (No ReDoc: its
    # page fetches a logo from its vendor's CDN.)
    app = FastAPIOffline(title="Twinplan", version="1.0.0", description=DESCRIPTION,
                         lifespan=lifespan,
                         dependencies=[Depends(admit)],
                         redoc_url=None)
    # Added last, so it runs first: the request id exists before the size is judged,
    # and the idempotency middleware sees only bodies of an allowed size.
    idempotency.install_idempotency(app)
    # Outside the idempotency middleware: a stored answer keeps no RateLimit fields.
    app.add_middleware(ratelimit.RateLimitHeaders)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestIdMiddleware)
    install_error_handlers(app)
    # Every problem each operation can answer, in the OpenAPI document: the key
    # lookup above runs on every endpoint, so each may answer 401; the routes that
    # need a key list the bearer scheme alone in `security`.
    install_openapi(app, answers={identify: {401, 429}, current_session: {401},
                             admit: {429}},
                    auth_required=[require_actor, current_session],
                    amend=[idempotency.document])
    app.include_router(cities_router)
    app.include_router(keys_router)
    app.include_router(accounts_router)
    app.include_router(sso_router)
    app.include_router(events_router)
    app.include_router(proposals_router)
    app.include_router(participants_router)
    app.include_router(travel_router)
    app.include_router(documents_router)
    app.include_router(programme_router)
    app.include_router(hosting_router)
    app.include_router(calendars_router)
    app.include_router(mirrors_router)
    app.include_router(reminders_router)
    app.include_router(notifications_router)
    app.include_router(changelog_router)
    app.include_router(audit_router)
    app.include_router(twins_router)
    app.include_router(health_router)

    @app.get("/health", tags=["health"], response_model=Health, responses={
        503: {"model": Health, "description": "The database does not answer."}})
    def health() -> JSONResponse:
        """Liveness and a database round trip."""
        try:
            with get_engine().connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    if STATIC_DIR.is_dir():
        app.mount("/console", console_app(STATIC_DIR), name="console")

        @app.get("/", include_in_schema=False)
        def home() -> RedirectResponse:
            return RedirectResponse("/console/")

        @app.get("/favicon.ico", include_in_schema=False)
        def favicon() -> RedirectResponse:
            return RedirectResponse("/console/favicon.svg", status_code=301)
    return app
