"""Registrations under real concurrency: real server processes, requests fired at once.

PostgreSQL: 4 uvicorn workers. SQLite: 1 process (its writes serialise).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlmodel import Session, col, select

from app.cities.models import CityCreate, PartnershipCreate
from app.cities.service import create_city, create_partnership
from app.core.db import make_engine
from app.events.models import Event, EventGuest
from app.keys.models import Role
from app.keys.service import create_api_key
from app.participants.models import Participant, Registration, RegistrationStatus
from tests.conftest import IS_POSTGRES
from tests.servers import running_server, scratch_database

pytestmark = pytest.mark.slow

WORKERS = 4 if IS_POSTGRES else 1
PLACES, CROWD, DOUBLE_BOOKERS = 50, 300, 60


def _event(
    session: Session, host_id: int, guest_id: int, title: str, start: datetime, capacity: int | None
) -> int:
    tz = ZoneInfo("Europe/Moscow")
    end = start + timedelta(days=2)
    event = Event(
        kind="sports",
        title=title,
        host_city_id=host_id,
        capacity=capacity,
        status="planned",
        timezone="Europe/Moscow",
        starts_at_local=start,
        ends_at_local=end,
        starts_at_utc=start.replace(tzinfo=tz).astimezone(UTC),
        ends_at_utc=end.replace(tzinfo=tz).astimezone(UTC),
    )
    session.add(event)
    session.flush()
    session.add(EventGuest(event_id=event.id, city_id=guest_id))
    return event.id or 0


def _seed(url: str) -> dict:
    engine = make_engine(url)
    with Session(engine) as session:
        host = create_city(
            session, CityCreate(name="Volgograd", country_code="RU", timezone="Europe/Volgograd")
        )
        guest = create_city(session, CityCreate(name="Coventry", country_code="GB"))
        create_partnership(
            session, PartnershipCreate(city_a_id=host.id, city_b_id=guest.id, status="active")
        )
        tournament = _event(
            session, host.id, guest.id, "Tournament", datetime(2027, 6, 1, 10), PLACES
        )
        left = _event(session, host.id, guest.id, "Left", datetime(2027, 7, 1, 10), None)
        right = _event(session, host.id, guest.id, "Right", datetime(2027, 7, 2, 10), None)
        people = [
            Participant(
                full_name=f"Athlete {i}",
                home_city_id=guest.id,
                birth_date=date(1990, 1, 1),
                email=f"a{i}@example.org",
            )
            for i in range(CROWD + DOUBLE_BOOKERS)
        ]
        session.add_all(people)
        _, secret = create_api_key(session, name="load", role=Role.coordinator, city_id=guest.id)
        session.commit()
        ids = [p.id for p in people]
    engine.dispose()
    return {
        "tournament": tournament,
        "left": left,
        "right": right,
        "people": ids,
        "headers": {"Authorization": f"Bearer {secret}"},
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
