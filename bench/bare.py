"""The stack's limit, for ``bench.throughput``: a bare FastAPI app that, for each path
Twinplan serves, runs the same SQL and answers the same bytes, and nothing else.

    TWINPLAN_BARE_SPEC=replay.pickle TWINPLAN_DATABASE_URL=... \\
        uvicorn bench.bare:app --workers 2

``bench.throughput`` records, in process, the statements Twinplan sends to the
database for one warm request of each path (with their parameters, as the driver
got them) and the response it gives (status, content type, validators, body). This
app replays them: the same statements, one after the other on one pooled
connection of an engine made as Twinplan makes its own (``make_engine``: the same
pool, the same SQLite pragmas), in as many threads (``TWINPLAN_THREADS``), each
result fetched in full, then committed; and it
answers the recorded body, JSON re-encoded from its parsed value per request (as
FastAPI's JSONResponse encodes) and a feed's bytes as they are.

What it leaves out is what Twinplan does in Python between the statements: reading
rows into objects, the visibility rules, building and validating the response
models, the middleware and the dependencies. The ratio Twinplan / bare is the cost
of those over the unavoidable part: HTTP, the driver, the database, the encoding.
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request, Response
from sqlalchemy import text

from app.core.db import make_engine
from app.core.settings import get_settings

# Where a transaction ended, in a recording: the connection's commit or rollback.
COMMIT, ROLLBACK = "-- commit", "-- rollback"


@dataclass
class Replay:
    """One recorded request: what Twinplan sent to the database and what it answered."""

    statements: list[tuple[str, Any]]
    status: int
    content_type: str
    headers: dict[str, str]
    body: bytes

    @property
    def statement_count(self) -> int:
        return sum(1 for statement, _ in self.statements
                   if statement not in (COMMIT, ROLLBACK, "BEGIN"))

    def payload(self) -> Any:
        """The parsed JSON body, or None for another kind."""
        return json.loads(self.body) if self.content_type.startswith("application") \
            and "json" in self.content_type else None


def load(path: Path) -> dict[str, Replay]:
    """The recordings, by path with its query string ("/api/v1/events?limit=50")."""
    with path.open("rb") as f:
        replays: dict[str, Replay] = pickle.load(f)  # noqa: S301 (our own file)
    return replays


def create_app(spec: Path, database_url: str) -> FastAPI:
    replays = load(spec)
    payloads = {key: r.payload() for key, r in replays.items()}
    engine = make_engine(database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # The same pool of threads as Twinplan's (TWINPLAN_THREADS): a setting of
        # the stack, not of Twinplan's own code.
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = get_settings().threads
        yield

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, lifespan=lifespan)

    def run(statements: list[tuple[str, Any]]) -> None:
        with engine.connect() as conn:
            driver = conn.connection.driver_connection
            assert driver is not None
            cursor = driver.cursor()
            try:
                for statement, parameters in statements:
                    if statement == COMMIT:
                        driver.commit()
                    elif statement == ROLLBACK:
                        driver.rollback()
                    else:
                        cursor.execute(statement, parameters)
                        if cursor.description is not None:
                            cursor.fetchall()
            finally:
                cursor.close()
            driver.commit()

    @app.get("/health")
    def health() -> Response:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return Response(b'{"status":"ok","database":"ok"}', media_type="application/json")

    @app.get("/{path:path}")
    def replay(path: str, request: Request) -> Response:
        key = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.headers.get("if-none-match"):
            key += " (if-none-match)"
        recorded = replays[key]
        run(recorded.statements)
        payload = payloads[key]
        body = recorded.body if payload is None else json.dumps(
            payload, ensure_ascii=False, allow_nan=False, indent=None,
            separators=(",", ":")).encode("utf-8")
        return Response(body, status_code=recorded.status, headers=recorded.headers,
                        media_type=recorded.content_type or None)

    return app


def _from_environment() -> FastAPI | None:
    spec = os.environ.get("TWINPLAN_BARE_SPEC")
    url = os.environ.get("TWINPLAN_DATABASE_URL")
    return create_app(Path(spec), url) if spec and url else None


app = _from_environment()
