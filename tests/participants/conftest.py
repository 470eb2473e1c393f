"""Events and people for the registration tests, built straight on the tables."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from app.events.models import Event, EventGuest, EventStatus
from app.keys.models import Role
from app.participants.models import Participant


@pytest.fixture
def host(make_city):
    return make_city("Kostroma")


@pytest.fixture
def guest(make_city, make_partnership, host):
    city = make_city("Mary", "TM")
    make_partnership(host, city)
    return city


@pytest.fixture
def host_key(make_key, host):
    return make_key(Role.coordinator, host)


@pytest.fixture
def guest_key(make_key, guest):
    return make_key(Role.coordinator, guest)


@pytest.fixture
def event_factory(session: Session, host, guest):
    def make(
        *,
        kind: str = "delegation_visit",
        start: datetime | None = None,
        days: int = 3,
        capacity: int | None = None,
        status: EventStatus = EventStatus.planned,
        **fields: Any,
    ) -> Event:
        tz = ZoneInfo("Europe/Moscow")
        start = start or datetime(2027, 6, 1, 9, 0)
        end = start + timedelta(days=days)
        event = Event(
            kind=kind,
            title=fields.pop("title", f"{kind} at {start:%Y-%m-%d}"),
            host_city_id=host.id,
            capacity=capacity,
            status=status,
            timezone="Europe/Moscow",
            starts_at_local=start,
            ends_at_local=end,
            starts_at_utc=start.replace(tzinfo=tz).astimezone(UTC),
            ends_at_utc=end.replace(tzinfo=tz).astimezone(UTC),
            **fields,
        )
        session.add(event)
        session.flush()
        session.add(EventGuest(event_id=event.id, city_id=guest.id))
        session.commit()
        return event

    return make


@pytest.fixture
def person_factory(session: Session, guest):
    count = 0

    def make(
        *, age: int | None = 30, on: date = date(2027, 6, 1), city=None, **fields: Any
    ) -> Participant:
        nonlocal count
        count += 1
        birth = None if age is None else on.replace(year=on.year - age) - timedelta(days=1)
        birth = fields.pop("birth_date", birth)
        fields.setdefault("email", f"person{count}@example.org")
        p = Participant(
            full_name=fields.pop("full_name", f"Person {count}"),
            home_city_id=(city or guest).id,
            birth_date=birth,
            **fields,
        )
        session.add(p)
        session.commit()
        return p

    return make
