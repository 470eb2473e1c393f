"""The demo exchanges: dated ahead of today, valid, visible where they should be, once."""

from __future__ import annotations

from datetime import date, datetime

import icalendar

from app.cities.demo import seed_demo
from app.events.demo import DEMO_EVENTS, next_twin_cities_day, seed_demo_events

TODAY = date(2026, 11, 28)


def seeded(session) -> dict[str, int]:
    cities = seed_demo(session).city_ids
    report = seed_demo_events(session, cities, TODAY)
    assert len(report.added) == len(DEMO_EVENTS) == 8
    session.commit()
    return cities


def feed(client, city_id: int) -> list[icalendar.Event]:
    response = client.get(f"/calendars/cities/{city_id}.ics")
    assert response.status_code == 200
    return icalendar.Calendar.from_ical(response.content).walk("VEVENT")


def test_next_twin_cities_day_is_never_behind():
    assert next_twin_cities_day(date(2026, 11, 28)) == date(2027, 4, 25)
    assert next_twin_cities_day(date(2027, 4, 25)) == date(2027, 4, 25)
    assert next_twin_cities_day(date(2027, 4, 26)) == date(2028, 4, 30)


def test_demo_events_lie_ahead_and_show_in_their_cities_feeds(client, session):
    cities = seeded(session)
    events = client.get("/api/v1/events", params={"limit": 50}).json()["items"]
    assert len(events) == 7  # the partners-only seminar is not public
    assert all(e["starts_at"] >= "2027-04-25" for e in events)

    (day,) = [e for e in feed(client, cities["Volgograd"]) if "Twin Cities Day" in e["SUMMARY"]]
    assert day["DTSTART"].dt == date(2027, 4, 25)  # all day
    assert "Coventry, Dijon, Turin and Ostrava" in str(day["DESCRIPTION"])
    assert len(feed(client, cities["Coventry"])) == 2  # its exhibition, Volgograd's day
    assert feed(client, cities["Athens"]) == []

    (carpets,) = [e for e in feed(client, cities["Albuquerque"]) if "carpet" in e["SUMMARY"]]
    start, end = carpets["DTSTART"].dt, carpets["DTEND"].dt
    assert isinstance(start, datetime) and str(start.tzinfo) == "America/Denver"
    assert start.utcoffset() != end.utcoffset()  # across the end of daylight saving time


def test_seed_demo_twice_adds_the_events_once(session):
    cities = seeded(session)
    again = seed_demo_events(session, cities, TODAY)
    assert again.added == [] and again.unchanged == 8
    assert again.lines() == ["events: 0 added, 8 unchanged"]
