"""The demo hosting: Ashgabat's families, the Albuquerque students' needs and a
placement in which every rule holds, loaded once."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func
from sqlmodel import Session, select

from app.cities.demo import seed_demo
from app.core.actors import SYSTEM
from app.events.demo import seed_demo_events
from app.events.models import Event
from app.hosting import service
from app.hosting.demo import HOSTS_OLIVIA, seed_demo_hosting
from app.hosting.models import GuestNeeds, HostFamily, PlacementAssignment
from app.participants.demo import YOUTH_EXCHANGE, seed_demo_people

TODAY = date(2026, 11, 28)


def _counts(session: Session) -> list[int]:
    return [session.exec(select(func.count()).select_from(m)).one()
            for m in (HostFamily, GuestNeeds, PlacementAssignment)]


def test_the_demo_exchange_is_placed_around_olivias_host_family(session):
    cities = seed_demo(session).city_ids
    seed_demo_events(session, cities, TODAY)
    seed_demo_people(session, cities, TODAY)
    placed = seed_demo_hosting(session, cities, TODAY)
    assert placed == 9  # the Albuquerque students holding a place (one awaits consent)
    event = session.exec(select(Event).where(Event.title == YOUTH_EXCHANGE)).one()
    placement = service.read(session, event.id or 0, SYSTEM)
    guests = {g.name: g for g in placement.guests}
    assert guests["Olivia Sandoval"].household_name == HOSTS_OLIVIA
    assert guests["Olivia Sandoval"].pinned
    assert "Maral Orazova" not in guests  # a host's own student stays at home
    ava = [e.en for e in guests["Ava Begay"].explanations]
    assert "the family cooks nut-free" in ava
    ethan = [e.en for e in guests["Ethan Walker"].explanations]
    assert "no pets (allergy)" in ethan
    assert all(not g.problems for g in placement.guests) and placement.unplaced == []

    before = _counts(session)
    assert seed_demo_hosting(session, cities, TODAY) == 0
    assert _counts(session) == before
