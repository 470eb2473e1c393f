"""Two coordinators save the same version at the same moment: one wins, one gets 412.

This needs committed data and two real transactions, so it works outside the
rolled-back test session and cleans up after itself.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import delete
from sqlmodel import col

from app.cities.models import City, CityCreate, Partnership, PartnershipCreate
from app.cities.service import create_city, create_partnership
from app.core.db import open_session
from app.core.errors import PreconditionFailed
from app.events import service
from app.events.models import Event, EventCreate, EventUpdate
from app.keys.models import Role


@pytest.fixture
def committed_event(engine) -> Iterator[int]:
    with open_session(write=True, engine=engine) as s:
        host = create_city(s, CityCreate(name="Coventry", country_code="GB"))
        guest = create_city(s, CityCreate(name="Volgograd", country_code="RU",
                                          timezone="Europe/Volgograd"))
        assert host.id is not None and guest.id is not None
        create_partnership(s, PartnershipCreate(city_a_id=host.id, city_b_id=guest.id,
                                                status="active"))
        event = service.create_event(s, EventCreate(
            kind="culture", title="Choir", host_city_id=host.id, guest_city_ids=[guest.id],
            starts_at="2027-05-20T10:00", ends_at="2027-05-20T12:00"))
        s.commit()
        event_id, city_ids = event.id, [host.id, guest.id]
    assert event_id is not None
    yield event_id
    with open_session(write=True, engine=engine) as s:
        s.execute(delete(Event).where(Event.id == event_id))
        s.execute(delete(Partnership).where(col(Partnership.city_a_id).in_(city_ids)))
        s.execute(delete(City).where(col(City.id).in_(city_ids)))
        s.commit()


def test_concurrent_patches_with_the_same_etag_lose_nothing(engine, committed_event):
    from app.core.security import Principal

    admin = Principal(key_id=0, role=Role.admin, city_id=None)
    first_holds_lock = threading.Event()
    outcomes: dict[str, Any] = {}

    def save(name: str, title: str, hold: bool) -> None:
        with open_session(write=True, engine=engine) as s:
            try:
                event = service.get_event_for_update(s, committed_event, admin)
                if hold:
                    first_holds_lock.set()
                    threading.Event().wait(0.5)  # the other request arrives meanwhile
                service.check_if_match(event, f'"{committed_event}-1"', required=True)
                service.update_event(s, event, EventUpdate(title=title))
                s.commit()
                outcomes[name] = "saved"
            except PreconditionFailed:
                s.rollback()
                outcomes[name] = 412

    a = threading.Thread(target=save, args=("a", "Choir of Coventry", True))
    b = threading.Thread(target=save, args=("b", "Choir of Volgograd", False))
    a.start()
    assert first_holds_lock.wait(10)
    b.start()
    a.join(30)
    b.join(30)

    assert outcomes == {"a": "saved", "b": 412}
    with open_session(engine=engine) as s:
        event = s.get(Event, committed_event)
        assert event is not None
        assert (event.title, event.version) == ("Choir of Coventry", 2)
