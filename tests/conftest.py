"""Shared fixtures: a database built from the migrations, a rolled-back transaction
per test, the app wired to it, and factories for the domain's objects.

``TWINPLAN_TEST_DATABASE_URL`` selects the database (PostgreSQL in CI); without it
the suite runs on a fresh SQLite file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlmodel import Session

_tmp = Path(tempfile.mkdtemp(prefix="twinplan-tests-"))
TEST_DATABASE_URL = os.environ.get("TWINPLAN_TEST_DATABASE_URL") or f"sqlite:///{_tmp}/test.db"
os.environ["TWINPLAN_DATABASE_URL"] = TEST_DATABASE_URL
os.environ.setdefault("TWINPLAN_PUBLIC_BASE_URL", "https://twinplan.test")
os.environ.setdefault("TWINPLAN_LOG_LEVEL", "WARNING")

from app.cities.models import (  # noqa: E402
    City,
    CityCreate,
    Partnership,
    PartnershipCreate,
    PartnershipStatus,
)
from app.cities.service import create_city, create_partnership  # noqa: E402
from app.core import migrations  # noqa: E402
from app.core.db import get_engine, get_session  # noqa: E402
from app.keys.models import Role  # noqa: E402
from app.keys.service import create_api_key  # noqa: E402
from app.main import create_app  # noqa: E402

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


@pytest.fixture
def app(session: Session) -> Any:
    application = create_app()

    def _session() -> Iterator[Session]:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise

    application.dependency_overrides[get_session] = _session
    return application


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


MakeCity = Callable[..., City]


@pytest.fixture
def make_city(session: Session) -> MakeCity:
    def make(name: str = "Kostroma", country_code: str = "RU", **fields: Any) -> City:
        fields.setdefault("timezone", "Europe/Moscow" if country_code == "RU" else None)
        city = create_city(session, CityCreate(name=name, country_code=country_code, **fields))
        session.commit()
        return city

    return make


@pytest.fixture
def make_partnership(session: Session) -> Callable[..., Partnership]:
    def make(
        a: City, b: City, status: PartnershipStatus = PartnershipStatus.active, **fields: Any
    ) -> Partnership:
        assert a.id is not None and b.id is not None
        p = create_partnership(
            session, PartnershipCreate(city_a_id=a.id, city_b_id=b.id, status=status, **fields)
        )
        session.commit()
        return p

    return make


@pytest.fixture
def make_key(session: Session) -> Callable[..., dict[str, str]]:
    """Issue a key and return the ``Authorization`` header that carries it."""

    def make(role: Role | str = Role.admin, city: City | None = None) -> dict[str, str]:
        _, secret = create_api_key(
            session, name=f"test {role}", role=Role(role), city_id=city.id if city else None
        )
        session.commit()
        return {"Authorization": f"Bearer {secret}"}

    return make


@pytest.fixture
def admin(make_key: Callable[..., dict[str, str]]) -> dict[str, str]:
    return make_key(Role.admin)


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


@pytest.fixture
def make_event(session: Session) -> Callable[..., Any]:
    """Plan an event through the service, as the API would.

    ``make_event(host=kostroma, guests=[mary], starts_at="2027-05-20T10:00")``;
    guests without a partnership with the host are twinned (active) first,
    unless ``twin_guests=False``. Times are wall-clock in the host's zone unless
    they carry an offset or ``timezone`` is given.
    """
    from app.cities.service import find_partnership
    from app.events.models import Event, EventCreate
    from app.events.service import create_event

    def make(
        host: City,
        guests: list[City],
        *,
        title: str = "Delegation visit",
        kind: str = "delegation_visit",
        starts_at: str | None = "2027-05-20T10:00",
        ends_at: str | None = "2027-05-22T18:00",
        status: str = "planned",
        twin_guests: bool = True,
        **fields: Any,
    ) -> Event:
        assert host.id is not None
        if twin_guests:
            for guest in guests:
                assert guest.id is not None
                if find_partnership(session, host.id, guest.id) is None:
                    create_partnership(
                        session,
                        PartnershipCreate(city_a_id=host.id, city_b_id=guest.id,
                                          status=PartnershipStatus.active),
                    )
        if fields.get("all_day"):
            starts_at = ends_at = None
        event = create_event(
            session,
            EventCreate.model_validate(
                {
                    "kind": kind,
                    "title": title,
                    "host_city_id": host.id,
                    "guest_city_ids": [g.id for g in guests],
                    "starts_at": starts_at,
                    "ends_at": ends_at,
                    "status": status,
                    **fields,
                }
            ),
        )
        session.commit()
        return event

    return make
