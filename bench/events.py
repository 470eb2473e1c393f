"""GET /api/v1/events at 1,000 and 100,000 events: the larger may be at most 3x slower.

    .venv/bin/python -m bench.events [--runs 200] [--sizes 1000,100000]
    TWINPLAN_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/DB \\
        .venv/bin/python -m bench.events

Every size gets its own database built by the migrations: a temporary SQLite
file, and, when TWINPLAN_BENCH_DATABASE_URL is set, a schema
``twinplan_bench_<size>`` in that PostgreSQL database (created, and dropped at
the end; nothing else in the database is touched). Events are bulk-loaded
straight into the tables (executemany on SQLite, COPY on PostgreSQL).

The request is timed in process through FastAPI's TestClient (routing,
validation, the queries, serialisation; no network). The sizes are timed in
turns, request by request, so a busy machine slows both alike; the table shows
the median and 90th percentile of --runs after a warm-up.

The seeded world: 500 cities in eight zones; events spread over ten years
(2020-2029), each with a host and one to three guests, lasting two hours to
ten days, 85% public. A hub city ("Kostroma") takes part in 5% of them, and in
a busy spring programme of 60 events in April-June 2027 at every size, so the
timed request -- the hub's events in that quarter, page of 50 -- fills its
page at 1,000 events as at 100,000 and the comparison isolates the table's
size. It runs once anonymously (public events only) and once with the hub's
coordinator key (its partners and private events too).

SQLite is measured without ANALYZE, as a laptop database is; PostgreSQL after
ANALYZE, as autovacuum would leave it.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Request
from sqlalchemy import Engine, text

LIMIT_RATIO = 3.0
N_CITIES = 500
HUB_SHARE = 0.05
HUB_PROGRAMME = 60
SPAN_START = datetime(2020, 1, 1)
SPAN_DAYS = 3650
WINDOW = ("2027-04-01", "2027-06-30")
ZONES = ["Europe/Moscow", "Europe/Berlin", "Asia/Ashgabat", "Europe/London",
         "America/Denver", "Asia/Tashkent", "Europe/Rome", "Asia/Tokyo"]
KINDS = ["delegation_visit", "youth_exchange", "school_exchange", "sports", "exhibition",
         "culture", "seminar"]
STATUSES = ["draft", "planned", "confirmed", "completed", "cancelled"]
HOURS = [2, 4, 8, 30, 50, 74, 122, 240]
CALLERS = ("anonymous", "hub key")
EVENT_COLUMNS = (
    "id", "kind", "title", "description", "host_city_id", "venue", "capacity",
    "registration_deadline", "chaperone_ratio", "status", "visibility", "timezone", "all_day",
    "starts_at_local", "ends_at_local", "starts_at_utc", "ends_at_utc", "sequence", "version",
    "created_at", "updated_at", "cancelled_at", "cancel_reason",
)
GUEST_COLUMNS = ("event_id", "city_id", "starts_at_utc", "ends_at_utc")


@dataclass
class World:
    label: str
    size: int
    url: str
    engine: Engine
    hub_id: int = 0
    hub_key: dict[str, str] = field(default_factory=dict)
    city_zones: dict[int, str] = field(default_factory=dict)
    seed_seconds: float = 0.0
    samples: dict[str, list[float]] = field(default_factory=dict)
    matched: dict[str, int] = field(default_factory=dict)


# Seeding ----------------------------------------------------------------------------


def _seed_cities(world: World) -> None:
    from sqlmodel import Session

    from app.cities.models import City
    from app.core.actors import SYSTEM, Role
    from app.keys.service import create_api_key

    now = datetime.now(UTC)
    rows = [
        {"name": "Kostroma" if i == 0 else f"Town {i:04d}", "country_code": "RU",
         "timezone": ZONES[i % len(ZONES)], "alternate_names": [], "search_key": f" town {i}",
         "seeking_twin_in": [], "created_at": now, "updated_at": now}
        for i in range(N_CITIES)
    ]
    with world.engine.begin() as conn:
        conn.execute(City.__table__.insert(), rows)  # type: ignore[attr-defined]
        found = conn.execute(text("SELECT id, name, timezone FROM city")).all()
    world.hub_id = next(r.id for r in found if r.name == "Kostroma")
    world.city_zones = {r.id: r.timezone for r in found}
    with Session(world.engine) as session:
        _, secret = create_api_key(session, SYSTEM, name="bench", role=Role.coordinator,
                                   city_id=world.hub_id)
        session.commit()
    world.hub_key = {"Authorization": f"Bearer {secret}"}


def _events(world: World) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]:
    """(event row, guest rows) in EVENT_COLUMNS / GUEST_COLUMNS order."""
    rng = random.Random(1957)
    others = [c for c in world.city_zones if c != world.hub_id]
    zones = {c: ZoneInfo(z) for c, z in world.city_zones.items()}
    programme_start = datetime.fromisoformat(WINDOW[0])
    now = datetime.now(UTC)
    for event_id in range(1, world.size + 1):
        cities = rng.sample(others, rng.randint(2, 4))
        in_programme = event_id <= HUB_PROGRAMME
        if in_programme or rng.random() < HUB_SHARE:
            cities[rng.randrange(len(cities))] = world.hub_id
        if in_programme:
            start_local = programme_start + timedelta(minutes=15 * rng.randrange(88 * 96))
        else:
            start_local = SPAN_START + timedelta(minutes=15 * rng.randrange(SPAN_DAYS * 96))
        host, guests = cities[0], cities[1:]
        zone = zones[host]
        end_local = start_local + timedelta(hours=rng.choice(HOURS))
        start_utc = start_local.replace(tzinfo=zone).astimezone(UTC)
        end_utc = end_local.replace(tzinfo=zone).astimezone(UTC)
        status = rng.choice(STATUSES)
        cancelled = status == "cancelled"
        visibility = rng.choices(["public", "partners", "private"], [85, 10, 5])[0]
        yield (
            (event_id, rng.choice(KINDS), f"Event {event_id}", None, host, "Town hall",
             rng.choice([None, 20, 50, 200]), None, 10, status, visibility, zone.key, False,
             start_local, end_local, start_utc, end_utc, 0, 1, now, now,
             now if cancelled else None, "bench" if cancelled else None),
            [(event_id, g, start_utc, end_utc) for g in guests],
        )


def sqlite_value(value: Any) -> Any:
    # SQLAlchemy's SQLite DateTime format; UTC columns are stored without offset.
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds") \
            if value.tzinfo else value.isoformat(" ", "microseconds")
    return value


def load_sqlite(engine: Engine, events: list[tuple[Any, ...]],
                 guests: list[tuple[Any, ...]]) -> None:
    with engine.begin() as conn:
        for table, columns, rows in (("event", EVENT_COLUMNS, events),
                                     ("event_guest", GUEST_COLUMNS, guests)):
            sql = f"INSERT INTO {table} ({', '.join(columns)}) " \
                  f"VALUES ({', '.join('?' * len(columns))})"
            conn.exec_driver_sql(sql, [tuple(sqlite_value(v) for v in r) for r in rows])


def load_postgres(engine: Engine, events: list[tuple[Any, ...]],
                   guests: list[tuple[Any, ...]]) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for table, columns, rows in (("event", EVENT_COLUMNS, events),
                                     ("event_guest", GUEST_COLUMNS, guests)):
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        cursor.execute("SELECT setval(pg_get_serial_sequence('event', 'id'), %s)",
                       (len(events),))
        cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


def seed(world: World) -> None:
    from app.core import migrations

    started = time.perf_counter()
    migrations.upgrade(world.url)
    _seed_cities(world)
    events, guests = [], []
    for event, guest_rows in _events(world):
        events.append(event)
        guests.extend(guest_rows)
    load = load_postgres if world.engine.dialect.name == "postgresql" else load_sqlite
    load(world.engine, events, guests)
    world.seed_seconds = time.perf_counter() - started


# Timing -------------------------------------------------------------------------------


def _client_for(world: World) -> Any:
    """The app, its sessions bound to this world's database."""
    from fastapi.testclient import TestClient

    from app.core.db import WRITE_METHODS, get_session, open_session
    from app.main import create_app

    def session(request: Request) -> Iterator[Any]:
        with open_session(write=request.method in WRITE_METHODS, engine=world.engine) as s:
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    app = create_app()
    app.dependency_overrides[get_session] = session
    return TestClient(app)


def _request(world: World, client: Any, caller: str) -> Callable[[], Any]:
    params = {"city_id": world.hub_id, "from": WINDOW[0], "to": WINDOW[1], "limit": 50}
    headers = world.hub_key if caller == "hub key" else {}
    return lambda: client.get("/api/v1/events", params=params, headers=headers)


def time_in_turns(worlds: list[World], runs: int) -> None:
    clients = {w.size: _client_for(w) for w in worlds}
    warmup = max(5, runs // 10)
    for caller in CALLERS:
        calls = [(w, _request(w, clients[w.size], caller)) for w in worlds]
        for w, _ in calls:
            w.samples[caller] = []
        for i in range(warmup + runs):
            for w, call in calls:
                t0 = time.perf_counter()
                r = call()
                elapsed = (time.perf_counter() - t0) * 1000
                assert r.status_code == 200, r.text
                if i >= warmup:
                    w.samples[caller].append(elapsed)
                w.matched[caller] = r.json()["total"]
    for client in clients.values():
        client.close()


# Backends -----------------------------------------------------------------------------


def edit_event(engine: Engine, event_id: int, title: str) -> None:
    """What PATCH does to an event: a new title, version, sequence and updated_at,
    through the ORM in a transaction of its own, so that its cities' feed versions
    move as they do for the API (``app.calendars.versions``)."""
    from sqlmodel import Session

    import app.models  # noqa: F401  (every table: the ORM resolves foreign keys)
    from app.calendars import versions  # noqa: F401  (its listeners move the versions)
    from app.events.models import Event

    with Session(engine) as session:
        event = session.get(Event, event_id)
        assert event is not None
        event.title = title
        event.version += 1
        event.sequence += 1
        event.updated_at = datetime.now(UTC)
        session.commit()


def with_search_path(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}"


def run_sqlite(sizes: list[int], runs: int) -> list[World]:
    from app.core.db import make_engine

    scratch = Path(tempfile.mkdtemp(prefix="twinplan-bench-"))
    worlds = []
    for size in sizes:
        url = f"sqlite:///{scratch}/events_{size}.db"
        worlds.append(World("sqlite", size, url, make_engine(url)))
    for w in worlds:
        seed(w)
    time_in_turns(worlds, runs)
    for w in worlds:
        w.engine.dispose()
    return worlds


def run_postgres(base_url: str, sizes: list[int], runs: int) -> list[World]:
    from app.core.db import make_engine

    admin = make_engine(base_url)
    schemas = [f"twinplan_bench_{size}" for size in sizes]
    worlds = []
    try:
        with admin.begin() as conn:
            for schema in schemas:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        for size, schema in zip(sizes, schemas, strict=True):
            url = with_search_path(base_url, schema)
            worlds.append(World("postgresql", size, url, make_engine(url)))
        for w in worlds:
            seed(w)
        time_in_turns(worlds, runs)
    finally:
        for w in worlds:
            w.engine.dispose()
        with admin.begin() as conn:
            for schema in schemas:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
    return worlds


def report(worlds: list[World], runs: int) -> float:
    """Print the table; return the worst ratio of largest to smallest size."""
    print(f"\nGET /api/v1/events?city_id=<hub>&from={WINDOW[0]}&to={WINDOW[1]}&limit=50"
          f"  (in process, median and p90 of {runs} runs)\n")
    header = (f"{'backend':<12}{'caller':<11}{'events':>9}{'matched':>9}{'median ms':>11}"
              f"{'p90 ms':>9}{'seeded in s':>13}")
    print(header)
    print("-" * len(header))
    cells: dict[tuple[str, str], dict[int, float]] = {}
    for caller in CALLERS:
        for w in worlds:
            samples = sorted(w.samples[caller])
            median = statistics.median(samples)
            p90 = samples[int(0.9 * (len(samples) - 1))]
            cells.setdefault((w.label, caller), {})[w.size] = median
            print(f"{w.label:<12}{caller:<11}{w.size:>9,}{w.matched[caller]:>9}{median:>11.2f}"
                  f"{p90:>9.2f}{w.seed_seconds:>13.1f}")
    print()
    worst = 0.0
    for (label, caller), by_size in cells.items():
        small, large = min(by_size), max(by_size)
        ratio = by_size[large] / by_size[small]
        worst = max(worst, ratio)
        verdict = "ok" if ratio <= LIMIT_RATIO else "TOO SLOW"
        print(f"{label:<12}{caller:<11}{large:,} / {small:,} events: {ratio:.2f}x "
              f"(limit {LIMIT_RATIO:g}x) {verdict}")
    return worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Time GET /api/v1/events at several table sizes.",
        epilog="PostgreSQL too when TWINPLAN_BENCH_DATABASE_URL is set.",
    )
    parser.add_argument("--runs", type=int, default=200, help="timed requests per cell")
    parser.add_argument("--sizes", default="1000,100000", help="event counts")
    args = parser.parse_args(argv)
    sizes = sorted({int(s) for s in args.sizes.split(",")})
    if sizes[0] < HUB_PROGRAMME:
        parser.error(f"sizes must be at least {HUB_PROGRAMME}")

    os.environ.setdefault("TWINPLAN_LOG_LEVEL", "WARNING")
    worlds = run_sqlite(sizes, args.runs)
    pg_url = os.environ.get("TWINPLAN_BENCH_DATABASE_URL")
    if pg_url:
        worlds += run_postgres(pg_url, sizes, args.runs)
    worst = report(worlds, args.runs)
    return 0 if worst <= LIMIT_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
