"""Engine, sessions and column types shared by every domain.

One request, one transaction: ``get_session`` commits when the endpoint
returns and rolls back when it raises. Services ``flush()``; they never commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
import weakref
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import anyio
import anyio.to_thread
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy import DateTime, Engine, create_engine, event
from sqlalchemy.engine import Connection, Dialect, make_url
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel

from app.core.settings import get_settings

# Constraint names that SQLite batch migrations can find again (Alembic's naming.rst).
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_MS = 30_000


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite has no zone support)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any]:
        """Aware UTC from what the driver gives (naive UTC from SQLite), after its own
        conversion, in one call per value: TypeDecorator's ``process_result_value``
        makes two, on every time of every row read."""
        convert = self.impl_instance.result_processor(dialect, coltype)

        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            if convert is not None:
                value = convert(value)
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

        return process


def utcnow() -> datetime:
    return datetime.now(UTC)


def _configure_sqlite(engine: Engine) -> None:
    """Let SQLAlchemy, not pysqlite, decide where transactions begin.

    pysqlite's own transaction handling breaks SAVEPOINT and defers BEGIN; the
    recipe from SQLAlchemy's SQLite dialect docs hands control back. Writes
    take the database lock up front (BEGIN IMMEDIATE), so two writers queue on
    ``busy_timeout`` instead of failing later with "database is locked".
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("sqlite_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               **_pool())
        _configure_sqlite(engine)
        return engine
    return create_engine(
        url,
        # PostgreSQL's default, stated: feeds write their state in the transaction
        # that read it, and a stricter server default would fail those writes.
        isolation_level="READ COMMITTED",
        pool_pre_ping=True,
        **_pool(),
    )


def _pool() -> dict[str, Any]:
    """The connection pool of either database, from the settings."""
    settings = get_settings()
    return {"pool_size": settings.db_pool_size, "max_overflow": settings.db_max_overflow,
            "pool_timeout": settings.db_pool_timeout}


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def open_session(*, write: bool = False, engine: Engine | None = None) -> Session:
    """A session; ``write=True`` makes its SQLite transactions take the write lock first."""
    engine = engine or get_engine()
    if write and engine.dialect.name == "sqlite":
        engine = engine.execution_options(sqlite_write=True)
    return Session(engine, expire_on_commit=False)


# One writer at a time per process on SQLite, queued in the event loop. Waiting
# for SQLite's lock inside worker threads would let 40 waiters take every
# thread while the writer that holds the lock waits for one to finish.
_sqlite_write_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def _sqlite_write_gate() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    gate = _sqlite_write_gates.get(loop)
    if gate is None:
        gate = _sqlite_write_gates[loop] = asyncio.Lock()
    return gate


def write_gate(session: Session) -> contextlib.AbstractAsyncContextManager[Any]:
    """The queue a write outside a request's own transaction joins: this process's
    SQLite writers (see above), or nothing to wait for on PostgreSQL."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    return _sqlite_write_gate() if sqlite else contextlib.nullcontext()


Check = Callable[[Session], None]
# Checks a dependency left to the endpoint's transaction (``confirm_in_endpoint``).
_confirmations: contextvars.ContextVar[tuple[tuple[Session, Check], ...]] = \
    contextvars.ContextVar("twinplan_confirmations", default=())


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's session: committed when the endpoint returns, rolled back if it raises.

    Creating a session opens no connection, so it happens here in the event
    loop. Endpoints on a ``TransactionalRoute`` have ended their transaction
    by the time this resumes; only a transaction still open costs a trip to a
    worker thread (one not counted against the pool, see above).
    """
    write = request.method in WRITE_METHODS
    sqlite = get_engine().dialect.name == "sqlite"
    gate: contextlib.AbstractAsyncContextManager[Any] = (
        _sqlite_write_gate() if write and sqlite else contextlib.nullcontext()
    )

    async def finish(step: Callable[[], None]) -> None:
        if session.in_transaction():
            await anyio.to_thread.run_sync(step, limiter=anyio.CapacityLimiter(1))

    # A request starts with nothing to confirm (``confirm_in_endpoint``), whatever the
    # context it runs in held: an ASGI server gives each request a task of its own,
    # a client calling the app in process may run them all in one task.
    _confirmations.set(())
    async with gate:
        session = open_session(write=write)
        try:
            yield session
            await finish(session.commit)
        except BaseException:
            await finish(session.rollback)
            raise
        finally:
            session.close()  # nothing left to end: the connection went back in ``finish``


SessionDep = Annotated[Session, Depends(get_session)]


def confirm_in_endpoint(request: Request, session: Session, check: Check) -> bool:
    """Leave ``check`` to the endpoint's own thread and transaction: it runs first,
    on ``session``, before the endpoint, and what it raises is the answer (the
    transaction rolled back). A dependency that would otherwise need a trip to a
    thread and a transaction of its own before the endpoint's (the API key lookup,
    ``app.keys.auth``) costs neither. False, and nothing left, where the endpoint
    cannot run it (only a sync endpoint on a ``TransactionalRoute`` can)."""
    endpoint = getattr(request.scope.get("route"), "endpoint", None)
    if getattr(endpoint, "runs_confirmations", False) is not True:
        return False
    _confirmations.set((*_confirmations.get(), (session, check)))
    return True


def _ending_transaction_in_thread(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    def run(kwargs: dict[str, Any], confirmations: tuple[tuple[Session, Check], ...]) -> Any:
        sessions = [v for v in kwargs.values() if isinstance(v, Session)]
        sessions += [s for s, _ in confirmations if not any(s is t for t in sessions)]
        try:
            for session, check in confirmations:
                check(session)
            result = endpoint(**kwargs)
            for session in sessions:
                session.commit()
        except BaseException:
            for session in sessions:
                session.rollback()
            raise
        return result

    @functools.wraps(endpoint)
    async def in_thread(**kwargs: Any) -> Any:
        # The dependencies ran in this task, so their confirmations are in its context;
        # taken from it, as ``get_session`` clears it: never run for another request.
        confirmations = _confirmations.get()
        _confirmations.set(())
        return await run_in_threadpool(run, kwargs, confirmations)

    in_thread.runs_confirmations = True  # type: ignore[attr-defined]
    return in_thread


class TransactionalRoute(APIRoute):
    """Runs a sync endpoint in a worker thread and ends its transaction there; the
    response is validated and serialized in the event loop.

    FastAPI validates a sync endpoint's response in *another* pool thread: a
    second trip to the pool for every request (bench.throughput: a good part
    of a cheap read's time). Wrapped as a coroutine, the endpoint makes one,
    and its transaction ends before it returns, so no row lock outlives it:
    requests queued on those locks could otherwise occupy every pool thread
    while the lock holder waits for one. The session dependency still commits
    (a no-op by then) and closes. What the validation reads was loaded by the
    endpoint (sessions keep their objects' values at commit). Checks that
    dependencies left to it (``confirm_in_endpoint``) run first, in the same
    thread and transaction.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _ending_transaction_in_thread(endpoint)
        super().__init__(path, endpoint, **kwargs)


def loaded(row: SQLModel, names: Iterable[str]) -> dict[str, Any]:
    """``{name: getattr(row, name)}``, at a dict lookup for each value already loaded.

    Reading an ORM attribute is a Python call (SQLAlchemy's descriptor), and
    building the API's view of a list page reads every field of every row: on a
    page of 50 events, 1,500 of its 6,000 Python calls. The descriptor returns
    the instance's own dict entry for a loaded column; whatever is not loaded
    (expired, deferred) goes through it, and loads."""
    values = row.__dict__
    return {name: values[name] if name in values else getattr(row, name) for name in names}


@functools.cache
def _shared_fields(model: type[BaseModel], table: type[SQLModel]) -> tuple[str, ...]:
    return tuple(name for name in model.model_fields if hasattr(table, name))


def view_of(row: SQLModel, model: type[BaseModel]) -> dict[str, Any]:
    """What ``model.model_validate(row)`` reads from ``row`` (the fields of the model
    that the row has), as a dict read at a dict lookup per value (``loaded``): the
    values to validate a list's models from, or to hand the response model."""
    return loaded(row, _shared_fields(model, type(row)))
