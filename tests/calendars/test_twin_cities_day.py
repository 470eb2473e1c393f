"""/calendars/twin-cities-day.ics: the last Sunday of April, every year since 1962."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import recurring_ical_events
from dateutil.rrule import rrulestr

from tests.calendars.conftest import get_feed
from tests.calendars.parsers import (
    etag_from_body,
    read_with_icalendar,
    read_with_icaljs,
    read_with_vobject,
    unfolded_lines,
)

PATH = "/calendars/twin-cities-day.ics"
EXPECTED = ["2025-04-27", "2026-04-26", "2027-04-25", "2028-04-30"]


def test_one_all_day_event_that_recurs_on_the_last_sunday_of_april(client):
    body = get_feed(client, PATH).content
    lines = unfolded_lines(body)
    assert lines.count("BEGIN:VEVENT") == 1
    assert "RRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=-1SU" in lines
    assert "DTSTART;VALUE=DATE:19620429" in lines  # the first one, in 1962
    assert "DTEND;VALUE=DATE:19620430" in lines

    js = read_with_icaljs(body, occurrences=70)
    event = js["events"][0]
    assert event["summary"] == "World Twin Cities Day"
    assert event["start"]["isDate"] and event["recurring"]
    assert "1962" in event["description"] and "World Federation of Twin Cities" in event[
        "description"]
    occurrences = event["occurrences"]
    assert occurrences[0] == "1962-04-29"
    for day in EXPECTED:
        assert day in occurrences
    for text in occurrences:
        day = date.fromisoformat(text)
        assert day.month == 4 and day.weekday() == 6 and (day + timedelta(days=7)).month == 5


def test_second_parsers_expand_it_to_the_same_days(client):
    body = get_feed(client, PATH).content
    calendar = read_with_icalendar(body)
    days = [
        occurrence["DTSTART"].dt.isoformat()
        for occurrence in recurring_ical_events.of(calendar).between(
            date(2025, 1, 1), date(2029, 1, 1))
    ]
    assert days == EXPECTED

    vevent = read_with_vobject(body).vevent
    rule = rrulestr(vevent.rrule.value, dtstart=datetime(1962, 4, 29))
    assert [d.date().isoformat()
            for d in rule.between(datetime(2025, 1, 1), datetime(2029, 1, 1))] == EXPECTED


def test_reminders_30_and_7_days_before(client):
    body = get_feed(client, PATH).content
    alarms = read_with_icaljs(body)["events"][0]["alarms"]
    assert [(a["action"], a["trigger"]) for a in alarms] == [
        ("DISPLAY", "-P30D"), ("DISPLAY", "-P7D")]
    assert all(a["description"] for a in alarms)
    valarms = read_with_vobject(body).vevent.valarm_list
    assert sorted(v.trigger.value for v in valarms) == [-timedelta(days=30), -timedelta(days=7)]


def test_it_is_served_like_every_feed(client):
    first = get_feed(client, PATH)
    assert first.headers["etag"] == etag_from_body(first.content)
    assert first.headers["last-modified"]
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in unfolded_lines(first.content)
    assert client.get(PATH, headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    assert client.get(PATH, headers={
        "If-Modified-Since": first.headers["last-modified"]}).status_code == 304
    head = client.head(PATH)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(first.content))
