"""Wall-clock times, zones, daylight saving and all-day events."""

from __future__ import annotations

import pytest

from tests.conftest import assert_problem
from tests.factories import event_body


def create(client, key, body):
    return client.post("/api/v1/events", json=body, headers=key)


def test_naive_times_are_wall_clock_in_the_host_zone(client, kassel_key, kassel, mary):
    r = create(client, kassel_key, event_body(kassel, [mary]))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["timezone"] == "Europe/Berlin"
    assert body["starts_at"] == "2027-05-20T10:00:00+02:00"
    assert body["ends_at"] == "2027-05-22T18:00:00+02:00"
    assert body["starts_at_utc"].startswith("2027-05-20T08:00:00")
    assert body["all_day"] is False and body["start_date"] is None


def test_explicit_timezone_wins_over_the_host_zone(client, kassel_key, kassel, mary):
    r = create(client, kassel_key, event_body(kassel, [mary], timezone="Asia/Ashgabat"))
    assert r.status_code == 201, r.text
    assert r.json()["timezone"] == "Asia/Ashgabat"
    assert r.json()["starts_at"] == "2027-05-20T10:00:00+05:00"


def test_input_with_offset_is_converted_to_the_event_zone(client, kassel_key, kassel, mary):
    body = event_body(kassel, [mary], starts_at="2027-05-20T13:00+05:00",
                      ends_at="2027-05-20T16:00Z")
    r = create(client, kassel_key, body)
    assert r.status_code == 201, r.text
    assert r.json()["starts_at"] == "2027-05-20T10:00:00+02:00"
    assert r.json()["ends_at"] == "2027-05-20T18:00:00+02:00"


def test_time_in_spring_forward_gap_is_422_that_says_it_does_not_exist(
    client, kassel_key, kassel, mary
):
    body = event_body(kassel, [mary], starts_at="2027-03-28T02:30", ends_at="2027-03-28T05:00")
    problem = assert_problem(create(client, kassel_key, body), 422, contains="does not exist")
    assert "Europe/Berlin" in problem["detail"] and "starts_at" in problem["detail"]
    assert problem["errors"][0]["loc"] == ["body", "starts_at"]


def test_ambiguous_fall_back_time_is_422_asking_for_an_offset(client, kassel_key, kassel, mary):
    body = event_body(kassel, [mary], starts_at="2027-10-31T01:00", ends_at="2027-10-31T02:30")
    problem = assert_problem(create(client, kassel_key, body), 422, contains="ambiguous")
    assert "2027-10-31T02:30+02:00" in problem["detail"]
    assert "2027-10-31T02:30+01:00" in problem["detail"]
    assert problem["errors"][0]["loc"] == ["body", "ends_at"]


@pytest.mark.parametrize(
    ("given", "shown", "utc"),
    [
        ("2027-10-31T02:30+02:00", "2027-10-31T02:30:00+02:00", "2027-10-31T00:30:00"),
        ("2027-10-31T02:30+01:00", "2027-10-31T02:30:00+01:00", "2027-10-31T01:30:00"),
    ],
)
def test_ambiguous_time_with_offset_picks_that_occurrence(
    client, kassel_key, kassel, mary, given, shown, utc
):
    body = event_body(kassel, [mary], starts_at=given, ends_at="2027-10-31T05:00")
    r = create(client, kassel_key, body)
    assert r.status_code == 201, r.text
    assert r.json()["starts_at"] == shown
    assert r.json()["starts_at_utc"].startswith(utc)


def test_times_around_the_transitions_are_fine(client, kassel_key, kassel, mary):
    body = event_body(kassel, [mary], starts_at="2027-03-28T01:59", ends_at="2027-03-28T03:00")
    r = create(client, kassel_key, body)
    assert r.status_code == 201, r.text
    # One wall-clock hour and one minute, but one real minute.
    assert r.json()["starts_at"] == "2027-03-28T01:59:00+01:00"
    assert r.json()["ends_at"] == "2027-03-28T03:00:00+02:00"


@pytest.mark.parametrize(
    ("starts", "ends"),
    [("2027-05-20T10:00", "2027-05-20T10:00"), ("2027-05-20T10:00", "2027-05-19T10:00"),
     # One instant written with two offsets: 08:00Z both.
     ("2027-05-20T10:00+02:00", "2027-05-20T09:00+01:00")],
)
def test_end_must_be_after_start(client, kassel_key, kassel, mary, starts, ends):
    body = event_body(kassel, [mary], starts_at=starts, ends_at=ends)
    problem = assert_problem(create(client, kassel_key, body), 422, contains="after")
    assert problem["errors"][0]["loc"] == ["body", "ends_at"]


def test_events_longer_than_a_year_are_refused(client, kassel_key, kassel, mary):
    body = event_body(kassel, [mary], starts_at="2027-01-01T10:00", ends_at="2028-02-01T10:00")
    assert_problem(create(client, kassel_key, body), 422, contains="at most 366 days")


def test_all_day_event_takes_dates_with_inclusive_end(client, kassel_key, kassel, mary):
    body = event_body(kassel, [mary], starts_at=None, ends_at=None, all_day=True,
                      start_date="2027-03-27", end_date="2027-03-28")
    r = create(client, kassel_key, body)
    assert r.status_code == 201, r.text
    e = r.json()
    assert (e["all_day"], e["start_date"], e["end_date"]) == (True, "2027-03-27", "2027-03-28")
    # Midnight to midnight in Berlin, across the spring-forward night: 47 hours.
    assert e["starts_at"] == "2027-03-27T00:00:00+01:00"
    assert e["ends_at"] == "2027-03-29T00:00:00+02:00"


def test_one_day_all_day_event_needs_only_start_date(client, kassel_key, kassel, mary):
    body = event_body(kassel, [mary], starts_at=None, ends_at=None, all_day=True,
                      start_date="2027-04-25")
    r = create(client, kassel_key, body)
    assert r.status_code == 201, r.text
    assert r.json()["end_date"] == "2027-04-25"


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"all_day": True, "start_date": "2027-04-25"}, "not starts_at"),
        ({"all_day": True, "starts_at": None, "ends_at": None}, "needs start_date"),
        ({"start_date": "2027-04-25"}, "all-day"),
        ({"ends_at": None}, "give starts_at and ends_at"),
        ({"all_day": True, "starts_at": None, "ends_at": None, "start_date": "2027-04-25",
          "end_date": "2027-04-24"}, "before start_date"),
    ],
)
def test_schedule_shape_errors_say_what_to_send(client, kassel_key, kassel, mary, fields, says):
    assert_problem(create(client, kassel_key, event_body(kassel, [mary], **fields)), 422,
                   contains=says)


def test_changing_the_city_zone_does_not_shift_planned_events(
    client, admin, kassel_key, kassel, mary
):
    event = create(client, kassel_key, event_body(kassel, [mary])).json()
    r = client.patch(f"/api/v1/cities/{kassel.id}", json={"timezone": "Europe/London"},
                     headers=admin)
    assert r.status_code == 200, r.text
    again = client.get(f"/api/v1/events/{event['id']}").json()
    assert again["timezone"] == "Europe/Berlin"
    assert again["starts_at"] == event["starts_at"] == "2027-05-20T10:00:00+02:00"
    assert again["starts_at_utc"] == event["starts_at_utc"]
    # New events take the city's new zone.
    later = create(client, kassel_key, event_body(kassel, [mary])).json()
    assert later["starts_at"] == "2027-05-20T10:00:00+01:00"


def test_registration_deadline_is_local_unless_it_has_an_offset(client, kassel_key, kassel, mary):
    body = event_body(kassel, [mary], registration_deadline="2027-05-01T12:00")
    r = create(client, kassel_key, body)
    assert r.status_code == 201, r.text
    assert r.json()["registration_deadline"] == "2027-05-01T12:00:00+02:00"
    body = event_body(kassel, [mary], registration_deadline="2027-03-28T02:15")
    assert_problem(create(client, kassel_key, body), 422, contains="registration_deadline")


def test_stored_three_ways(session, make_event, kassel, mary):
    event = make_event(kassel, [mary], starts_at="2027-10-31T02:30+01:00",
                       ends_at="2027-10-31T04:00")
    assert event.timezone == "Europe/Berlin"
    assert event.starts_at_local.isoformat() == "2027-10-31T02:30:00"
    assert event.starts_at_utc.isoformat() == "2027-10-31T01:30:00+00:00"
    assert event.first_day.isoformat() == "2027-10-31"


@pytest.mark.parametrize(
    ("starts_at", "ends_at", "first", "last"),
    [
        ("2027-05-20T10:00", "2027-05-22T18:00", "2027-05-20", "2027-05-22"),
        ("2027-05-20T10:00", "2027-05-22T00:00", "2027-05-20", "2027-05-21"),
        ("2027-05-20T22:00", "2027-05-21T00:00", "2027-05-20", "2027-05-20"),
        ("2027-05-20T00:00", "2027-05-20T00:30", "2027-05-20", "2027-05-20"),
    ],
)
def test_first_and_last_day_in_the_event_zone(make_event, kassel, mary, starts_at, ends_at,
                                              first, last):
    event = make_event(kassel, [mary], starts_at=starts_at, ends_at=ends_at)
    assert (event.first_day.isoformat(), event.last_day.isoformat()) == (first, last)
