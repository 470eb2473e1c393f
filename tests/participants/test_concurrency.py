"""Registrations under real concurrency: real server processes, requests fired at once.

PostgreSQL: 4 uvicorn workers. SQLite: 1 process (its writes serialise).
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime

import httpx
import pytest
from sqlmodel import Session, col, select

from app.core.actors import Role
from app.core.db import make_engine
from app.participants.models import Registration, RegistrationStatus
from tests.conftest import IS_POSTGRES
from tests.factories import new_city, new_event, new_key, new_participant, new_partnership
from tests.servers import running_server, scratch_database

pytestmark = pytest.mark.slow

WORKERS = 4 if IS_POSTGRES else 1
PLACES, CROWD, DOUBLE_BOOKERS = 50, 300, 60


def _seed(url: str) -> dict:
    engine = make_engine(url)
    with Session(engine) as session:
        host = new_city(session, "Volgograd", timezone="Europe/Volgograd")
        guest = new_city(session, "Coventry", "GB")
        new_partnership(session, host, guest)

        def event(title: str, start: datetime, capacity: int | None = None) -> int:
            made = new_event(session, host, [guest], kind="sports", title=title, start=start,
                             days=2, capacity=capacity, timezone="Europe/Moscow")
            return made.id or 0

        tournament = event("Tournament", datetime(2027, 6, 1, 10), PLACES)
        left = event("Left", datetime(2027, 7, 1, 10))
        right = event("Right", datetime(2027, 7, 2, 10))
        people = [
            new_participant(session, guest, full_name=f"Athlete {i}",
                            birth_date=date(1990, 1, 1), email=f"a{i}@example.org")
            for i in range(CROWD + DOUBLE_BOOKERS)
        ]
        headers = new_key(session, Role.coordinator, guest, name="load")
        session.commit()
        ids = [p.id for p in people]
    engine.dispose()
    return {
        "tournament": tournament,
        "left": left,
        "right": right,
        "people": ids,
        "headers": headers,
    }


async def _fire(base: str, headers: dict, jobs: list[tuple[int, int]]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(jobs), max_keepalive_connections=0)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=120
    ) as client:
        start = asyncio.Event()

        async def one(event_id: int, person: int) -> httpx.Response:
            await start.wait()
            return await client.post(
                f"/api/v1/events/{event_id}/registrations",
                json={"participant_id": person, "role": "athlete"},
            )

        tasks = [asyncio.create_task(one(e, p)) for e, p in jobs]
        await asyncio.sleep(0.1)
        start.set()
        return await asyncio.gather(*tasks)


def test_concurrent_registrations_never_overbook_or_double_book(tmp_path):
    with scratch_database(tmp_path) as url:
        world = _seed(url)
        people = world["people"]
        # A loaded CI machine may queue requests for a connection a long while.
        with running_server(url, workers=WORKERS, TWINPLAN_DB_POOL_TIMEOUT="300") as base:
            crowd = asyncio.run(
                _fire(base, world["headers"], [(world["tournament"], p) for p in people[:CROWD]])
            )
            doubles = asyncio.run(
                _fire(
                    base,
                    world["headers"],
                    [(e, p) for p in people[CROWD:] for e in (world["left"], world["right"])],
                )
            )

        assert [r.status_code for r in crowd if r.status_code != 201] == []
        engine = make_engine(url)
        with Session(engine) as session:
            regs = session.exec(
                select(Registration)
                .where(Registration.event_id == world["tournament"])
                .order_by(col(Registration.id))
            ).all()
            by_person = session.exec(
                select(Registration).where(col(Registration.participant_id).in_(people[CROWD:]))
            ).all()
        engine.dispose()

        statuses = [r.status for r in regs]
        assert statuses.count(RegistrationStatus.confirmed) == PLACES
        assert statuses.count(RegistrationStatus.waitlisted) == CROWD - PLACES
        # First come, first served: every held place was taken before any waitlisting.
        assert statuses == [RegistrationStatus.confirmed] * PLACES + [
            RegistrationStatus.waitlisted
        ] * (CROWD - PLACES)
        assert [r.created_at for r in regs] == sorted(r.created_at for r in regs)
        positions = [
            r.json()["waitlist_position"] for r in crowd if r.json()["status"] == "waitlisted"
        ]
        assert sorted(positions) == list(range(1, CROWD - PLACES + 1))

        codes = sorted(r.status_code for r in doubles)
        assert codes == [201] * DOUBLE_BOOKERS + [409] * DOUBLE_BOOKERS, codes
        assert all(
            r.headers["content-type"].startswith("application/problem+json")
            for r in doubles
            if r.status_code == 409
        )
        counts: dict[int, int] = {}
        for r in by_person:
            counts[r.participant_id] = counts.get(r.participant_id, 0) + 1
        assert set(counts.values()) == {1} and len(counts) == DOUBLE_BOOKERS
