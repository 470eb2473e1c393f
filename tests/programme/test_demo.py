"""The demo's youth exchange gets a believable programme, once."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from app.cities.demo import seed_demo
from app.events.demo import seed_demo_events
from app.participants.demo import seed_demo_people
from app.programme.demo import DEMO_PROGRAMME, seed_demo_programme
from app.programme.models import Audience, ProgrammeItem


def test_the_youth_exchange_gets_a_day_by_day_programme_once(session):
    today = date(2027, 1, 10)
    cities = seed_demo(session).city_ids
    seed_demo_events(session, cities, today)
    seed_demo_people(session, cities, today)
    assert seed_demo_programme(session, cities, today) == len(DEMO_PROGRAMME)
    session.commit()
    assert seed_demo_programme(session, cities, today) == 0

    items = session.exec(select(ProgrammeItem).order_by(ProgrammeItem.starts_at_utc)).all()
    assert [i.title for i in items] == [d.title for d in DEMO_PROGRAMME]
    assert {i.audience for i in items} == set(Audience)
    assert [i.title for i in items if i.public] == [
        "Welcome at the city hall", "Turkmen carpet museum", "Farewell concert and dinner"]
    assert items[0].starts_at_local.date() < items[-1].starts_at_local.date()
