"""Shared fixtures: a database built from the migrations, a rolled-back transaction
per test, and the app wired to it. The factories for the domain's objects
(``make_city``, ``make_event``...) are in ``tests/factories.py``, registered below.

``TWINPLAN_TEST_DATABASE_URL`` selects the database (PostgreSQL in CI); without it
the suite runs on a fresh SQLite file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlmodel import Session

_tmp = Path(tempfile.mkdtemp(prefix="twinplan-tests-"))


def _database_of_this_worker(url: str) -> str:
    """Under pytest-xdist (``-n 2``) each worker process gets a PostgreSQL database of
    its own beside the one named (``test_gw0``, ``test_gw1``...), made afresh: the
    workers would otherwise reset and migrate one schema under each other. SQLite
    files are per process already (``_tmp``)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker or not url.startswith("postgresql"):
        return url
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    _worker_databases.append((url, name))
    return base.set(database=name).render_as_string(hide_password=False)


_worker_databases: list[tuple[str, str]] = []
TEST_DATABASE_URL = _database_of_this_worker(
    os.environ.get("TWINPLAN_TEST_DATABASE_URL") or f"sqlite:///{_tmp}/test.db")
os.environ["TWINPLAN_DATABASE_URL"] = TEST_DATABASE_URL
os.environ.setdefault("TWINPLAN_PUBLIC_BASE_URL", "https://twinplan.test")
os.environ.setdefault("TWINPLAN_LOG_LEVEL", "WARNING")

from app.core import migrations  # noqa: E402
from app.core.actors import unbind  # noqa: E402
from app.core.db import get_engine, get_session  # noqa: E402
from app.main import create_app  # noqa: E402

# Loaded after the environment above is set, like the app's imports.
pytest_plugins = ["tests.factories"]

IS_POSTGRES = TEST_DATABASE_URL.startswith("postgresql")


def reset_postgres_schema(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    engine = get_engine()
    if IS_POSTGRES:
        reset_postgres_schema(engine)
    migrations.upgrade(TEST_DATABASE_URL)
    yield engine
    engine.dispose()
    _drop_worker_databases()


def _drop_worker_databases() -> None:
    from sqlalchemy import create_engine

    for url, name in _worker_databases:
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test.

    The app's own commits become savepoint releases, so endpoints behave as in
    production while the test leaves nothing behind.
    """
    connection = engine.connect()
    outer = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture(scope="session")
def application() -> Any:
    """One app per test process, as a server worker has one. Its startup builds the
    OpenAPI document, about a second of CPU: made per test, that was a third of the
    suite's time. Tests share its routes and middleware, never its state: each test's
    own database session is swapped in by ``app``, and taken out after."""
    return create_app()


@pytest.fixture
def app(application: Any, session: Session) -> Iterator[Any]:
    def _session() -> Iterator[Session]:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            # In production each request has its own session; this one outlives the
            # request, so what the test writes next is not the caller's (data audit).
            unbind(session)

    application.dependency_overrides[get_session] = _session
    yield application
    application.dependency_overrides.clear()


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def assert_problem(response: Any, status: int, *, contains: str | None = None) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status (and mentions ``contains``)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://") and body["title"]
    if contains is not None:
        assert contains.lower() in (body.get("detail") or "").lower(), body
    return dict(body)
