"""Registration throughput over real HTTP, with 1 and 4 uvicorn workers.

    .venv/bin/python -m bench.registrations [--requests 800] [--concurrency 32]
    TWINPLAN_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python -m bench.registrations

For each configuration a fresh database is built by the migrations (a
temporary SQLite file; on PostgreSQL a database ``twinplan_bench_reg`` created
next to the one named, and dropped afterwards), seeded with 20 events of 25
places and one participant per request, and served by ``twinplan serve``.
Each participant registers once, ``--concurrency`` requests in flight.

The baseline, measured against the same server in the same run, is ``GET
/health`` (one trivial query) at the same concurrency: the ratio says what a
registration costs beyond the HTTP and connection overhead, on this machine,
today. SQLite runs one worker only: its writes serialise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from bench.processes import free_port, stop, wait_until_up

EVENTS, PLACES = 20, 25
Request = tuple[str, str, dict[str, object] | None]


@contextmanager
def fresh_database(base_url: str | None) -> Iterator[str]:
    from app.core import migrations

    if base_url is None:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/bench.db"
            migrations.upgrade(url)
            yield url
        return
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    name = "twinplan_bench_reg"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base_url).set(database=name).render_as_string(hide_password=False)
    try:
        migrations.upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def seed(url: str, people: int) -> tuple[list[int], list[int], str]:
    from app.cities.models import CityCreate, PartnershipCreate, PartnershipStatus
    from app.cities.service import create_city, create_partnership
    from app.core.actors import SYSTEM, Role
    from app.core.db import make_engine
    from app.events.models import Event, EventGuest, EventKind, EventStatus
    from app.keys.service import create_api_key
    from app.participants.models import Participant

    engine = make_engine(url)
    tz = ZoneInfo("Europe/Volgograd")
    with Session(engine) as session:
        host = create_city(
            session,
            CityCreate(name="Volgograd", country_code="RU", timezone="Europe/Volgograd"),
            SYSTEM,
        )
        guest = create_city(session, CityCreate(name="Coventry", country_code="GB"), SYSTEM)
        create_partnership(
            session,
            PartnershipCreate(
                city_a_id=host.id or 0, city_b_id=guest.id or 0, status=PartnershipStatus.active
            ), SYSTEM,
        )
        events = []
        for i in range(EVENTS):
            start = datetime(2027, 1, 1, 10) + timedelta(days=3 * i)
            end = start + timedelta(days=2)
            event = Event(
                kind=EventKind.sports,
                title=f"Match {i}",
                host_city_id=host.id or 0,
                capacity=PLACES,
                status=EventStatus.planned,
                timezone=tz.key,
                starts_at_local=start,
                ends_at_local=end,
                starts_at_utc=start.replace(tzinfo=tz).astimezone(UTC),
                ends_at_utc=end.replace(tzinfo=tz).astimezone(UTC),
            )
            session.add(event)
            session.flush()
            session.add(EventGuest(event_id=event.id or 0, city_id=guest.id or 0))
            events.append(event.id or 0)
        persons = [
            Participant(
                full_name=f"Athlete {i}",
                home_city_id=guest.id or 0,
                birth_date=date(1990, 1, 1),
                email=f"a{i}@example.org",
            )
            for i in range(people)
        ]
        session.add_all(persons)
        _, secret = create_api_key(
            session, SYSTEM, name="bench", role=Role.coordinator, city_id=guest.id
        )
        session.commit()
        ids = [p.id or 0 for p in persons]
    engine.dispose()
    return events, ids, secret


@contextmanager
def server(url: str, workers: int) -> Iterator[str]:
    port = free_port()
    twinplan = str(Path(sys.executable).with_name("twinplan"))
    env = os.environ | {
        "TWINPLAN_DATABASE_URL": url,
        "TWINPLAN_LOG_LEVEL": "WARNING",
        "TWINPLAN_DB_POOL_TIMEOUT": "300",
        # Thousands of writes a minute with one key: what is measured is the writes.
        "TWINPLAN_RATE_LIMIT_KEY_WRITES": "0",
        "TWINPLAN_RATE_LIMIT_USER_WRITES": "0",
    }
    proc = subprocess.Popen(
        [twinplan, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/health", proc, seconds=60)
        yield base
    finally:
        stop(proc)


async def hammer(
    base: str, concurrency: int, requests: Sequence[Request], headers: dict[str, str]
) -> tuple[float, dict[int, int]]:
    """Send the requests with ``concurrency`` in flight; seconds taken and status counts."""
    queue: asyncio.Queue[Request] = asyncio.Queue()
    for r in requests:
        queue.put_nowait(r)
    codes: dict[int, int] = {}
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=300
    ) as client:

        async def worker() -> None:
            while not queue.empty():
                method, path, body = queue.get_nowait()
                response = await client.request(method, path, json=body)
                codes[response.status_code] = codes.get(response.status_code, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, codes


def measure(base_url: str | None, workers: int, n: int, concurrency: int) -> dict[str, float]:
    with fresh_database(base_url) as url:
        events, people, secret = seed(url, n)
        headers = {"Authorization": f"Bearer {secret}"}
        registrations: list[Request] = [
            (
                "POST",
                f"/api/v1/events/{events[i % EVENTS]}/registrations",
                {"participant_id": p, "role": "athlete"},
            )
            for i, p in enumerate(people)
        ]
        with server(url, workers) as base:
            asyncio.run(hammer(base, concurrency, [("GET", "/health", None)] * 100, headers))
            health_s, _ = asyncio.run(
                hammer(base, concurrency, [("GET", "/health", None)] * n, headers)
            )
            reg_s, codes = asyncio.run(hammer(base, concurrency, registrations, headers))
    if set(codes) != {201}:
        raise SystemExit(f"unexpected statuses: {codes}")
    return {"registrations_per_s": n / reg_s, "health_per_s": n / health_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=800)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    pg = os.environ.get("TWINPLAN_BENCH_DATABASE_URL")
    configs: list[tuple[str, str | None, int]] = [("sqlite", None, 1)]
    if pg:
        configs += [("postgresql", pg, 1), ("postgresql", pg, 4)]
    rows = []
    for backend, url, workers in configs:
        print(f"measuring {backend} with {workers} worker(s)...", file=sys.stderr)
        rows.append((backend, workers, measure(url, workers, args.requests, args.concurrency)))
    print(
        f"\n{args.requests} registrations, {args.concurrency} in flight "
        f"({EVENTS} events of {PLACES} places: most land on the waitlist)\n"
    )
    print("| backend | workers | registrations/s | GET /health/s (baseline) | ratio |")
    print("|---|---|---|---|---|")
    for backend, workers, m in rows:
        print(
            f"| {backend} | {workers} | {m['registrations_per_s']:.0f} | "
            f"{m['health_per_s']:.0f} | {m['registrations_per_s'] / m['health_per_s']:.2f} |"
        )
    pg_rows = {w: m for b, w, m in rows if b == "postgresql"}
    if len(pg_rows) == 2:
        speedup = pg_rows[4]["registrations_per_s"] / pg_rows[1]["registrations_per_s"]
        print(
            f"\nPostgreSQL, 4 workers vs 1: {speedup:.2f}x registrations/s "
            f"(on {os.cpu_count()} CPUs)"
        )


if __name__ == "__main__":
    main()
