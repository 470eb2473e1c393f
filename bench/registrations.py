"""Registrations per second over real HTTP, with 1 and 2 uvicorn workers.

    .venv/bin/python -m bench.registrations [--seconds 5] [--connections 32] [--rounds 3]
    TWINPLAN_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python -m bench.registrations

Needs wrk (Debian's ``wrk``): a load generator in C, so that the client takes
little of the CPU the servers are measured on (an asyncio client in Python took
a quarter of a core and capped ``/health`` at its own speed).

For each configuration a fresh database is built by the migrations (a
temporary SQLite file; on PostgreSQL a database ``twinplan_bench_reg`` created
next to the one named, and dropped afterwards), seeded with 100 events of 25
places and more participants than the run can register, and served by
``twinplan serve``. wrk runs one thread with ``--connections`` open for
``--seconds``; its Lua script registers each participant once, the events in
turn, so the registrations are spread over many events and most land on the
waitlist. Every answer must be a 201, and the database must hold as many
registrations as wrk counted.

The baseline, measured against the same server in the same run, is ``GET
/health`` (one trivial query): the ratio says what a registration costs beyond
HTTP and a connection, on this machine, today. SQLite runs one worker only: its
writes serialise. The configurations alternate for ``--rounds`` rounds and the
table gives medians; on PostgreSQL it ends with what two workers do against one
(issue 16 asks for 1.7x or more).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, text
from sqlmodel import Session

from bench.processes import free_port, scratch_postgres, stop, wait_until_up, wrk

EVENTS, PLACES = 100, 25
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
    with scratch_postgres(base_url, "twinplan_bench_reg") as url:
        migrations.upgrade(url)
        yield url


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
        wait_until_up(f"{base}/health", proc, seconds=60, workers=workers)
        yield base
    finally:
        stop(proc)


_SCRIPT = """
local events = {%(events)s}
local first, last = %(first)d, %(last)d
local path = {}
for i, e in ipairs(events) do path[i] = "/api/v1/events/" .. e .. "/registrations" end
local n = 0
request = function()
  local person = first + n
  n = n + 1
  if person > last then error("out of participants: seed more") end
  return wrk.format("POST", path[(n %% #events) + 1], nil,
                    '{"participant_id":' .. person .. ',"role":"athlete"}')
end
"""


def measure(base_url: str | None, workers: int, args: argparse.Namespace) -> dict[str, float]:
    people = int(args.seconds * 600)  # more than a run registers on this machine
    with fresh_database(base_url) as url, tempfile.TemporaryDirectory() as tmp:
        events, ids, secret = seed(url, people)
        assert ids == list(range(ids[0], ids[0] + len(ids))), "participant ids not contiguous"
        script = Path(tmp) / "register.lua"
        script.write_text(_SCRIPT % {"events": ",".join(map(str, events)),
                                     "first": ids[0], "last": ids[-1]})
        headers = {"Authorization": f"Bearer {secret}"}
        with server(url, workers) as base:
            wrk(f"{base}/health", headers, 1, args.connections)  # warm up
            health, _, _ = wrk(f"{base}/health", headers, args.seconds, args.connections)
            registered, p50, p99 = wrk(base, headers | {"Content-Type": "application/json"},
                                       args.seconds, args.connections, str(script))
        engine = create_engine(url)
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM registration")).scalar_one()
        engine.dispose()
    if stored < registered * args.seconds * 0.99:
        raise SystemExit(f"wrk counted {registered * args.seconds:.0f} registrations, "
                         f"the database holds {stored}")
    return {"registrations_per_s": registered, "p50": p50, "p99": p99, "health_per_s": health}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    pg = os.environ.get("TWINPLAN_BENCH_DATABASE_URL")
    configs: list[tuple[str, str | None, int]] = [("sqlite", None, 1)]
    if pg:
        configs += [("postgresql", pg, 1), ("postgresql", pg, 2)]
    runs: dict[tuple[str, int], list[dict[str, float]]] = {}
    for round_ in range(1, args.rounds + 1):
        for backend, url, workers in configs:
            print(f"round {round_}/{args.rounds}: {backend} with {workers} worker(s)...",
                  file=sys.stderr, flush=True)
            runs.setdefault((backend, workers), []).append(
                measure(url, workers, args))
    rows = {config: {k: statistics.median(m[k] for m in ms) for k in ms[0]}
            for config, ms in runs.items()}
    print(
        f"\nwrk, {args.connections} connections, {args.seconds:g} s runs "
        f"({EVENTS} events of {PLACES} places: most land on the waitlist), "
        f"medians of {args.rounds} rounds\n"
    )
    print("| backend | workers | registrations/s | p50 / p99, ms | GET /health/s (baseline) "
          "| ratio |")
    print("|---|---|---|---|---|---|")
    for (backend, workers), m in rows.items():
        print(
            f"| {backend} | {workers} | {m['registrations_per_s']:.0f} | "
            f"{m['p50']:.0f} / {m['p99']:.0f} | {m['health_per_s']:.0f} | "
            f"{m['registrations_per_s'] / m['health_per_s']:.2f} |"
        )
    if ("postgresql", 2) in rows:
        one, two = rows[("postgresql", 1)], rows[("postgresql", 2)]
        print(
            f"\nPostgreSQL, 2 workers vs 1: "
            f"{two['registrations_per_s'] / one['registrations_per_s']:.2f}x registrations/s, "
            f"{two['health_per_s'] / one['health_per_s']:.2f}x GET /health/s "
            f"(on {os.cpu_count()} CPUs)"
        )


if __name__ == "__main__":
    main()
