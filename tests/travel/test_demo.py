"""The demo travel: the Albuquerque group's flights to the youth exchange in
Ashgabat, one student coming alone and unmet, one with no travel; loaded once."""

from __future__ import annotations

from datetime import UTC, date, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from app.core import clock
from app.core.actors import SYSTEM
from app.participants.demo import YOUTH_EXCHANGE, seed_demo_people
from app.travel.board import travel_board
from app.travel.demo import seed_demo_travel
from app.travel.models import Journey, JourneyTraveller
from tests.participants.test_demo_people import TODAY, event, seeded


def _count(session: Session) -> list[int]:
    return [session.exec(select(func.count()).select_from(m)).one()
            for m in (Journey, JourneyTraveller)]


def test_the_demo_board_shows_the_group_the_lone_student_and_the_missing_one(session):
    cities = seeded(session)
    seed_demo_people(session, cities, TODAY)
    assert seed_demo_travel(session, cities, TODAY) == 3
    youth = event(session, YOUTH_EXCHANGE)
    with clock.frozen_at(youth.starts_at_utc.astimezone(UTC) - timedelta(days=5)):
        board = travel_board(session, youth.id or 0, SYSTEM)
    landing, lone = board.arrivals
    assert (landing.code, landing.count, landing.nobody_meets) == ("ASB", 8, False)
    assert landing.at.date() == youth.first_day - timedelta(days=1)
    assert landing.at.utcoffset() == timedelta(hours=5)
    assert [t.full_name for j in lone.journeys for t in j.travellers] == ["Noah Trujillo"]
    assert lone.nobody_meets
    [home] = board.departures
    assert home.count == 9 and home.met_by
    # Michael Archuleta withdrew: on no journey, not missing; Chloe has nothing yet.
    assert [(m.full_name, m.missing, m.late) for m in board.missing] == [
        ("Chloe Anderson", ["arrival", "departure"], True)]
    names = {t.full_name for g in board.arrivals for j in g.journeys for t in j.travellers}
    assert "Michael Archuleta" not in names


def test_the_demo_travel_is_loaded_once(session):
    cities = seeded(session)
    seed_demo_people(session, cities, TODAY)
    seed_demo_travel(session, cities, TODAY)
    before = _count(session)
    assert seed_demo_travel(session, cities, date(2027, 1, 1)) == 0
    assert _count(session) == before


def test_without_the_exchange_there_is_nothing_to_record(session):
    assert seed_demo_travel(session, seeded(session), TODAY) == 0
