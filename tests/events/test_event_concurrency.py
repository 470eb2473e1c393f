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

from app.cities.models import City, Partnership
from app.core.actors import Actor, Role
from app.core.db import open_session
from app.core.errors import PreconditionFailed
from app.events import service
from app.events.models import Event, EventUpdate
from tests.factories import new_city, new_event, new_partnership


@pytest.fixture
def committed_event(engine) -> Iterator[int]:
    with open_session(write=True, engine=engine) as s:
        host = new_city(s, "Coventry", "GB")
        guest = new_city(s, "Volgograd", timezone="Europe/Volgograd")
        assert host.id is not None and guest.id is not None
        new_partnership(s, host, guest)
        event = new_event(s, host, [guest], kind="culture", title="Choir", status="draft",
                          starts_at="2027-05-20T10:00", ends_at="2027-05-20T12:00")
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
    admin = Actor(role=Role.admin)
    first_holds_lock = threading.Event()
    outcomes: dict[str, Any] = {}

    def save(name: str, title: str, hold: bool) -> None:
        with open_session(write=True, engine=engine) as s:
            try:
                if hold:
                    service.get_event_for_update(s, committed_event, admin)
                    first_holds_lock.set()
                    threading.Event().wait(0.5)  # the other request arrives meanwhile
                service.update_event(s, committed_event, EventUpdate(title=title), admin,
                                     if_match=f'"{committed_event}-1"')
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
