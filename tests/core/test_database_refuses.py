"""When PostgreSQL refuses new connections (its or the role's limit is reached, it
is starting up), every path answers 503 with ``Retry-After``: the request can be
sent again in a moment, and nothing was stored. Never a 500, whose traceback
would page someone for a capacity problem.

A real server on a real database, as a role whose connections are then cut and
refused (``CONNECTION LIMIT 0``, ``pg_terminate_backend``): the server's pool
must open new ones, and PostgreSQL says "too many connections for role".
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from app.cities.models import CityCreate
from app.cities.service import create_city
from app.core.actors import SYSTEM, Role
from app.keys.service import create_api_key
from tests.conftest import IS_POSTGRES, TEST_DATABASE_URL
from tests.servers import running_server, scratch_database

pytestmark = pytest.mark.skipif(not IS_POSTGRES, reason="PostgreSQL's connection limits")


@pytest.fixture
def database(tmp_path) -> Iterator[tuple[str, int, str]]:
    """A migrated scratch database with one city and an admin key, and the URL of a
    role of its own: (url, city id, key)."""
    role = f"twinplan_refused_{uuid.uuid4().hex[:8]}"
    with scratch_database(tmp_path) as url:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
            conn.execute(text(f'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{role}"'))
            conn.execute(text(f'GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO "{role}"'))
        writer = create_engine(url)
        with Session(writer) as session:
            city = create_city(session, CityCreate(name="Kostroma", country_code="RU",
                                                   timezone="Europe/Moscow"), SYSTEM)
            _, secret = create_api_key(session, SYSTEM, name="admin", role=Role.admin)
            session.commit()
            assert city.id is not None
            city_id = city.id
        writer.dispose()
        try:
            yield (make_url(url).set(username=role).render_as_string(hide_password=False),
                   city_id, secret)
        finally:
            with engine.connect() as conn:
                conn.execute(text(f'DROP OWNED BY "{role}"'))
            engine.dispose()
    admin = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
    admin.dispose()


def refuse(role: str, *, refused: bool) -> None:
    """Let the role connect again, or cut its connections and refuse new ones."""
    owner = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    with owner.connect() as conn:
        conn.execute(text(f'ALTER ROLE "{role}" CONNECTION LIMIT {0 if refused else -1}'))
        if refused:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE usename = :role"), {"role": role})
    owner.dispose()


def test_every_path_answers_503_with_retry_after_when_connections_are_refused(database):
    url, city_id, key = database
    role = make_url(url).username
    assert role is not None
    admin = {"Authorization": f"Bearer {key}"}
    paths = [
        ("GET", f"/calendars/cities/{city_id}.ics", None, None),
        ("GET", "/api/v1/events", None, None),
        ("GET", f"/api/v1/cities/{city_id}", None, None),
        ("GET", "/api/v1/cities", admin, None),
        ("POST", "/api/v1/cities", admin,
         {"name": "Sharya", "country_code": "RU", "timezone": "Europe/Moscow"}),
    ]
    with running_server(url) as base, httpx.Client(base_url=base, timeout=30) as client:
        assert client.get(f"/calendars/cities/{city_id}.ics").status_code == 200

        refuse(role, refused=True)
        try:
            health = client.get("/health")
            assert health.status_code == 503
            assert health.json() == {"status": "error", "database": "unreachable"}
            for method, path, headers, body in paths:
                r = client.request(method, path, headers=headers, json=body)
                assert r.status_code == 503, (method, path, r.status_code, r.text)
                assert r.headers["content-type"].startswith("application/problem+json")
                assert int(r.headers["retry-after"]) > 0
                assert "try again" in r.json()["detail"].lower()
        finally:
            refuse(role, refused=False)

        # Once PostgreSQL takes connections again, so does the service: nothing was
        # stored by the refused write, and the feed is whole.
        assert client.get("/health").status_code == 200
        assert client.get(f"/calendars/cities/{city_id}.ics").status_code == 200
        names = [c["name"] for c in client.get("/api/v1/cities", headers=admin).json()["items"]]
        assert names == ["Kostroma"]
