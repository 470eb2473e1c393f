"""A partner city's two bulk paths over real HTTP: a delegation of 500 uploaded in one
request, and catching up on changes with ``GET /api/v1/changes``.

    .venv/bin/python -m bench.partners [--people 500] [--runs 3]
    TWINPLAN_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python -m bench.partners

A fresh database per backend (see ``bench.registrations``), one server worker, a
guest city with ``--people`` participants and one event per run (on different
days, so nobody clashes). Each baseline runs against the same server in the same
run:

* delegation upload: the same people registered one ``POST /registrations`` at a
  time (one connection, the way a partner system without bulk upload must), into
  an event of its own; the ratio is upload time over that. Median of ``--runs``.
* change sync: every change in the log read by the partner, 500 a page, against
  reading the same number of registrations from ``GET /events/{id}/registrations``
  at the largest page the server allows.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlmodel import Session

from bench.registrations import fresh_database, server


def seed(url: str, people: int, events: int) -> tuple[list[int], list[str], int, str]:
    from app.cities.models import CityCreate, PartnershipCreate, PartnershipStatus
    from app.cities.service import create_city, create_partnership
    from app.core.actors import SYSTEM, Role
    from app.core.db import make_engine
    from app.events.models import Event, EventGuest, EventKind, EventStatus
    from app.keys.service import create_api_key
    from app.participants.models import Participant

    engine = make_engine(url)
    tz = ZoneInfo("Europe/Rome")
    with Session(engine) as session:
        host = create_city(session, CityCreate(name="Ferrara", country_code="IT"), SYSTEM)
        guest = create_city(session, CityCreate(name="Kostroma", country_code="RU",
                                                timezone="Europe/Moscow"), SYSTEM)
        create_partnership(session, PartnershipCreate(
            city_a_id=host.id or 0, city_b_id=guest.id or 0,
            status=PartnershipStatus.active), SYSTEM)
        ids = []
        for i in range(events):
            start = datetime(2027, 3, 1, 10) + timedelta(days=4 * i)
            end = start + timedelta(days=2)
            event = Event(kind=EventKind.culture, title=f"Festival {i}",
                          host_city_id=host.id or 0, status=EventStatus.planned,
                          timezone=tz.key, starts_at_local=start, ends_at_local=end,
                          starts_at_utc=start.replace(tzinfo=tz).astimezone(UTC),
                          ends_at_utc=end.replace(tzinfo=tz).astimezone(UTC))
            session.add(event)
            session.flush()
            session.add(EventGuest(event_id=event.id or 0, city_id=guest.id or 0))
            ids.append(event.id or 0)
        persons = [Participant(full_name=f"Singer {i}", home_city_id=guest.id or 0,
                               birth_date=date(1990, 1, 1), email=f"s{i}@example.org")
                   for i in range(people)]
        session.add_all(persons)
        _, secret = create_api_key(session, SYSTEM, name="bench", role=Role.partner,
                                   city_id=guest.id)
        session.commit()
        emails = [p.email or "" for p in persons]
        person_ids = [p.id or 0 for p in persons]
    engine.dispose()
    return ids, emails, person_ids[0], secret


def measure(base_url: str | None, people: int, runs: int) -> dict[str, float]:
    with fresh_database(base_url) as url:
        events, emails, first_person, secret = seed(url, people, 2 * runs)
        headers = {"Authorization": f"Bearer {secret}"}
        rows = [{"full_name": f"Singer {i}", "email": e, "role": "artist"}
                for i, e in enumerate(emails)]
        uploads, singles = [], []
        with server(url, 1) as base, httpx.Client(base_url=base, headers=headers,
                                                  timeout=600) as client:
            client.get("/health")
            for run in range(runs):
                started = time.perf_counter()
                r = client.post(f"/api/v1/events/{events[2 * run]}/delegations",
                                json={"people": rows})
                uploads.append(time.perf_counter() - started)
                if r.status_code != 201 or r.json()["counts"] != {"confirmed": people}:
                    raise SystemExit(f"upload: {r.status_code} {r.text[:500]}")
                event = events[2 * run + 1]
                started = time.perf_counter()
                for i in range(people):
                    r = client.post(f"/api/v1/events/{event}/registrations",
                                    json={"participant_id": first_person + i, "role": "artist"})
                    if r.status_code != 201:
                        raise SystemExit(f"registration: {r.status_code} {r.text[:500]}")
                singles.append(time.perf_counter() - started)

            read, cursor, started = 0, None, time.perf_counter()
            while True:
                params: dict[str, str | int] = {"limit": 500}
                if cursor:
                    params["since"] = cursor
                body = client.get("/api/v1/changes", params=params).json()
                read += len(body["changes"])
                cursor = body["cursor"]
                if not body["has_more"]:
                    break
            sync_s = time.perf_counter() - started
            listed, started = 0, time.perf_counter()
            for event in events:
                offset = 0
                while listed < read:
                    page = client.get(f"/api/v1/events/{event}/registrations",
                                      params={"limit": 500, "offset": offset}).json()
                    listed += len(page["items"])
                    offset += len(page["items"])
                    if offset >= page["total"]:
                        break
            list_s = time.perf_counter() - started
    return {"upload_s": statistics.median(uploads), "singles_s": statistics.median(singles),
            "changes": read, "changes_per_s": read / sync_s, "listed_per_s": listed / list_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    configs: list[tuple[str, str | None]] = [("sqlite", None)]
    if pg := os.environ.get("TWINPLAN_BENCH_DATABASE_URL"):
        configs.append(("postgresql", pg))
    results = []
    for backend, url in configs:
        print(f"measuring {backend}...", file=sys.stderr)
        results.append((backend, measure(url, args.people, args.runs)))
    print(f"\nA delegation of {args.people} (median of {args.runs}), one worker\n")
    print("| backend | one upload, s | one by one (baseline), s | ratio |")
    print("|---|---|---|---|")
    for backend, m in results:
        print(f"| {backend} | {m['upload_s']:.2f} | {m['singles_s']:.2f} | "
              f"{m['upload_s'] / m['singles_s']:.2f} |")
    print("\nChange sync: the whole log read by a partner, 500 a page\n")
    print("| backend | changes | changes/s | registrations listed/s (baseline) | ratio |")
    print("|---|---|---|---|---|")
    for backend, m in results:
        print(f"| {backend} | {m['changes']:.0f} | {m['changes_per_s']:.0f} | "
              f"{m['listed_per_s']:.0f} | {m['changes_per_s'] / m['listed_per_s']:.2f} |")


if __name__ == "__main__":
    main()
