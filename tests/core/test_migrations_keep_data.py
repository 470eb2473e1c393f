"""Upgrading a database that holds data keeps every row.

On SQLite a batch migration recreates a table (new table, copy, DROP, rename);
with foreign keys enforced that DROP cascades into the child tables. The
external-calendars revision recreates ``event``, whose guests and registrations
must survive it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Connection, DateTime, bindparam, create_engine, text

from app.core import migrations
from tests.servers import scratch_database

# The revision just before d509ba5e965e (external calendars), which recreates ``event``.
BEFORE = "1f40eac408c5"

AT = datetime(2027, 5, 1, 10, 0)
UNTIL = datetime(2027, 5, 1, 18, 0)


@pytest.fixture
def scratch_url(tmp_path) -> Iterator[str]:
    """An empty database of the same kind as the suite's."""
    with scratch_database(tmp_path, migrate=False) as url:
        yield url


def _insert(conn: Connection, table: str, **values: Any) -> None:
    """A plain INSERT fitting the schema at ``BEFORE``; datetimes bound as such."""
    columns = ", ".join(values)
    params = ", ".join(f":{name}" for name in values)
    statement = text(f"INSERT INTO {table} ({columns}) VALUES ({params})").bindparams(
        *(bindparam(name, type_=DateTime()) for name, v in values.items()
          if isinstance(v, datetime))
    )
    conn.execute(statement, values)


def _city(conn: Connection, id: int, name: str, country_code: str) -> None:
    _insert(conn, "city", id=id, name=name, country_code=country_code,
            timezone="Europe/Berlin", alternate_names="[]", search_key=name.lower(),
            seeking_twin_in="[]", created_at=AT, updated_at=AT, require_totp=False)


def _seed(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            _city(conn, 1, "Hostville", "DE")
            _city(conn, 2, "Guestville", "FR")
            _insert(conn, "participant", id=1, full_name="Ada Guest", home_city_id=2,
                    created_at=AT, updated_at=AT)
            _insert(conn, "event", id=1, kind="exchange", title="Twinning day",
                    host_city_id=1, chaperone_ratio=10, status="scheduled",
                    visibility="public", timezone="Europe/Berlin", all_day=False,
                    starts_at_local=AT, ends_at_local=UNTIL, starts_at_utc=AT,
                    ends_at_utc=UNTIL, sequence=0, version=1, created_at=AT, updated_at=AT)
            _insert(conn, "event_guest", event_id=1, city_id=2, starts_at_utc=AT,
                    ends_at_utc=UNTIL)
            _insert(conn, "registration", id=1, event_id=1, participant_id=1,
                    role="participant", status="confirmed", is_minor=False,
                    created_at=AT, updated_at=AT, is_leader=False)
    finally:
        engine.dispose()


def _rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    queries = {
        "city": "SELECT id, name FROM city ORDER BY id",
        "participant": "SELECT id, home_city_id FROM participant ORDER BY id",
        "event": "SELECT id, host_city_id, title FROM event ORDER BY id",
        "event_guest": "SELECT event_id, city_id FROM event_guest ORDER BY event_id, city_id",
        "registration": "SELECT id, event_id, participant_id FROM registration ORDER BY id",
    }
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {table: [tuple(r) for r in conn.execute(text(q))]
                    for table, q in queries.items()}
    finally:
        engine.dispose()


def test_upgrading_past_the_event_rebuild_keeps_guests_and_registrations(scratch_url):
    migrations.upgrade(scratch_url, revision=BEFORE)
    _seed(scratch_url)
    before = _rows(scratch_url)
    assert before == {
        "city": [(1, "Hostville"), (2, "Guestville")],
        "participant": [(1, 2)],
        "event": [(1, 1, "Twinning day")],
        "event_guest": [(1, 2)],
        "registration": [(1, 1, 1)],
    }

    migrations.upgrade(scratch_url)

    assert _rows(scratch_url) == before


def test_the_places_held_are_counted_from_the_registrations_kept(scratch_url):
    """The places_held migration fills each event's counter from its registrations
    as they stand: one confirmed registration, one place held."""
    migrations.upgrade(scratch_url, revision=BEFORE)
    _seed(scratch_url)
    migrations.upgrade(scratch_url)
    engine = create_engine(scratch_url)
    try:
        with engine.connect() as conn:
            held = conn.execute(text("SELECT id, places_held FROM event ORDER BY id")).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in held] == [(1, 1)]
