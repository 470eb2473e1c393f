"""World Twin Cities Day: the last Sunday of April, from 1962 on."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.clock import frozen_at
from app.twin_cities_day import (
    FIRST_YEAR,
    LAST_YEAR,
    BeforeTwinCitiesDay,
    last_sunday_of_april,
    next_twin_cities_day,
)
from tests.conftest import assert_problem

years = st.integers(min_value=FIRST_YEAR, max_value=LAST_YEAR)


@given(years)
def test_it_is_a_sunday_in_april(year):
    day = last_sunday_of_april(year)
    assert (day.year, day.month) == (year, 4)
    assert day.isoweekday() == 7


@given(years)
def test_it_is_the_last_sunday(year):
    day = last_sunday_of_april(year)
    assert (day + timedelta(days=7)).month == 5
    assert day.day >= 24  # the last 7 days of April hold exactly one Sunday


def test_every_year_from_1962_exhaustively():
    for year in range(FIRST_YEAR, LAST_YEAR + 1):
        day = last_sunday_of_april(year)
        sundays = [date(year, 4, d) for d in range(1, 31) if date(year, 4, d).isoweekday() == 7]
        assert day == sundays[-1]


@pytest.mark.parametrize(
    ("year", "expected"),
    [(1962, "1962-04-29"), (2024, "2024-04-28"), (2025, "2025-04-27"), (2026, "2026-04-26"),
     (2027, "2027-04-25"), (2028, "2028-04-30"), (2029, "2029-04-29")],
)
def test_known_dates(year, expected):
    assert last_sunday_of_april(year).isoformat() == expected


@given(st.integers(min_value=1, max_value=FIRST_YEAR - 1))
def test_before_1962_there_was_no_such_day(year):
    with pytest.raises(BeforeTwinCitiesDay, match="1962"):
        last_sunday_of_april(year)


def test_endpoint(client):
    response = client.get("/api/v1/twin-cities-day", params={"year": 2027})
    assert response.status_code == 200
    assert response.json() == {"year": 2027, "date": "2027-04-25", "weekday": "Sunday"}


def test_endpoint_defaults_to_this_year(client):
    with frozen_at(datetime(2030, 1, 5, tzinfo=UTC)):
        assert client.get("/api/v1/twin-cities-day").json()["date"] == "2030-04-28"


@pytest.mark.parametrize("year", [1961, 1957, 0])
def test_endpoint_refuses_years_before_1962(client, year):
    body = assert_problem(
        client.get("/api/v1/twin-cities-day", params={"year": year}), 422,
        contains="did not exist yet",
    )
    assert body["errors"][0]["loc"] == ["query", "year"]


def test_endpoint_refuses_nonsense(client):
    assert_problem(client.get("/api/v1/twin-cities-day", params={"year": "soon"}), 422)
    assert_problem(client.get("/api/v1/twin-cities-day", params={"year": 10_000}), 422)


def test_next_depends_on_the_timezone_near_midnight(client):
    # 2027-04-25 is the day. At 22:30 UTC on the 25th it is already the 26th in
    # Ashgabat (UTC+5): there the next one is 2028's; in UTC it is today.
    with frozen_at(datetime(2027, 4, 25, 22, 30, tzinfo=UTC)):
        utc = client.get("/api/v1/twin-cities-day/next").json()
        ashgabat = client.get("/api/v1/twin-cities-day/next",
                              params={"tz": "Asia/Ashgabat"}).json()
        denver = client.get("/api/v1/twin-cities-day/next",
                            params={"tz": "America/Denver"}).json()
    assert utc == {"year": 2027, "date": "2027-04-25", "weekday": "Sunday", "timezone": "UTC",
                   "today": "2027-04-25", "days_remaining": 0}
    assert ashgabat["date"] == "2028-04-30" and ashgabat["today"] == "2027-04-26"
    assert ashgabat["days_remaining"] == 370
    assert denver["date"] == "2027-04-25" and denver["days_remaining"] == 0


def test_next_counts_days(client):
    with frozen_at(datetime(2027, 1, 1, 12, tzinfo=UTC)):
        body = client.get("/api/v1/twin-cities-day/next", params={"tz": "Europe/Moscow"}).json()
    assert body["date"] == "2027-04-25" and body["days_remaining"] == 114


def test_next_refuses_unknown_zones(client):
    assert_problem(client.get("/api/v1/twin-cities-day/next", params={"tz": "Mars/Olympus"}), 422)


@given(st.datetimes(min_value=datetime(1962, 1, 1), max_value=datetime(9998, 12, 31)),
       st.sampled_from(["UTC", "Asia/Ashgabat", "America/Denver", "Pacific/Kiritimati"]))
def test_next_is_never_in_the_past_and_never_skips_one(naive, tz):
    found = next_twin_cities_day(naive.replace(tzinfo=UTC), tz)
    assert found.day >= found.today
    assert found.days_remaining < 372
    previous = last_sunday_of_april(found.day.year - 1) if found.day.year > FIRST_YEAR else None
    assert previous is None or previous < found.today
