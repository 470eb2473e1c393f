"""Mirrored partner calendars: registration, polling real feeds served over HTTP,
what a broken feed may and may not change, and where the mirrored events show."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar
import pytest
from sqlmodel import Session, col, select

from app.core import clock
from app.core.actors import Role
from app.core.settings import get_settings
from app.events.models import Event
from app.mirrors.models import ExternalCalendar
from app.mirrors.parse import HORIZON
from app.worker import Worker
from tests.calendars.parsers import read_with_icaljs
from tests.conftest import assert_problem
from tests.mirrors.conftest import Published, Route
from tests.mirrors.exports import (
    COURSE_UID,
    GOOGLE_UID,
    NOW,
    OUTLOOK_UID,
    google,
    outlook,
    thunderbird,
)


@pytest.fixture
def ferrara(make_city):
    return make_city("Ferrara", "IT", timezone="Europe/Rome")


@pytest.fixture
def coordinator(make_key, ferrara) -> dict[str, str]:
    return make_key(Role.coordinator, ferrara)


def register(client, city, headers, url: str, **fields: Any) -> dict[str, Any]:
    r = client.post(f"/api/v1/cities/{city.id}/external-calendars",
                    json={"name": "Public calendar", "url": url, **fields}, headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


def mirrored(session: Session, calendar_id: int) -> dict[str, Event]:
    session.expire_all()
    rows = session.exec(select(Event).where(col(Event.external_calendar_id) == calendar_id))
    return {e.external_uid or "": e for e in rows}


def status_of(client, calendar_id: int, headers) -> dict[str, Any]:
    r = client.get(f"/api/v1/external-calendars/{calendar_id}", headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


def listed(client, city, headers=None) -> list[dict[str, Any]]:
    r = client.get("/api/v1/events", params={"city_id": city.id, "from": "2027-01-01",
                                             "to": "2029-12-31", "limit": 200},
                   headers=headers or {})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


# The three exports ---------------------------------------------------------------


def test_google_export_is_mirrored_with_its_recurrences_a_year_ahead(
        client, session, ferrara, coordinator, published: Published, poll):
    published.routes["/ferrara.ics"] = Route(google(), etag='"v1"')
    calendar = register(client, ferrara, coordinator, published.url("/ferrara.ics"))
    assert calendar["status"] == "pending"

    assert poll(calendar["id"]) == "ok"

    events = mirrored(session, calendar["id"])
    meetings = sorted(e.starts_at_utc for uid, e in events.items()
                      if uid.startswith(GOOGLE_UID + "#"))
    # First Mondays from March 2027, April's skipped (EXDATE), up to a year after NOW.
    assert [d.date().isoformat() for d in meetings] == [
        "2027-03-01", "2027-05-03", "2027-06-07", "2027-07-05", "2027-08-02", "2027-09-06",
        "2027-10-04", "2027-11-01", "2027-12-06", "2028-01-03"]
    assert all(d < NOW + HORIZON for d in meetings)
    # 18:00 in Rome: CET in March, CEST in June.
    assert meetings[0] == datetime(2027, 3, 1, 17, 0, tzinfo=UTC)
    assert meetings[2] == datetime(2027, 6, 7, 16, 0, tzinfo=UTC)
    assert "past@google.com" not in events and "far-ahead@google.com" not in events
    palio = events["palio-2027@google.com"]
    assert palio.all_day and palio.timezone == "Europe/Rome"
    concert = events["concert-2027@google.com"]
    assert concert.venue == "Teatro Comunale, Corso Martiri della Libertà 5, Ferrara"
    assert concert.starts_at_utc == datetime(2027, 6, 12, 19, 0, tzinfo=UTC)

    shown = status_of(client, calendar["id"], coordinator)
    assert shown["status"] == "ok" and shown["error"] is None
    assert shown["event_count"] == 12 and shown["last_changed_at"] is not None

    by_title: dict[str, dict[str, Any]] = {}
    for shown_event in listed(client, ferrara):  # in time order: the first of each title
        by_title.setdefault(shown_event["title"], shown_event)
    assert by_title["Palio di Ferrara"]["start_date"] == "2027-05-23"
    assert by_title["Palio di Ferrara"]["end_date"] == "2027-05-25"
    assert by_title["Palio di Ferrara"]["external"] == {
        "calendar_id": calendar["id"], "uid": "palio-2027@google.com"}
    assert by_title["Comitato gemellaggi"]["starts_at"] == "2027-03-01T18:00:00+01:00"
    assert by_title["Comitato gemellaggi"]["external"]["uid"] == \
        f"{GOOGLE_UID}#20270301T170000Z"
    assert by_title["Comitato gemellaggi"]["host_city_id"] == ferrara.id


def test_outlook_export_with_windows_zone_names(client, session, make_city, make_key,
                                                  published: Published, poll):
    kassel = make_city("Kassel", "DE")
    key = make_key(Role.coordinator, kassel)
    published.routes["/owa/calendar.ics"] = Route(outlook())
    calendar = register(client, kassel, key, published.url("/owa/calendar.ics"))

    assert poll(calendar["id"]) == "ok"

    events = mirrored(session, calendar["id"])
    day = events[OUTLOOK_UID]
    assert day.title == "Städtepartnerschaftstag" and day.venue == "Rathaus Kassel"
    # "W. Europe Standard Time" is Europe/Berlin: 10:00 CEST.
    assert day.timezone == "Europe/Berlin"
    assert day.starts_at_utc == datetime(2027, 4, 24, 8, 0, tzinfo=UTC)
    assert day.starts_at_local == datetime(2027, 4, 24, 10, 0)
    week = next(e for e in events.values() if e.title == "Kulturwoche")
    assert week.all_day and (week.first_day.isoformat(), week.last_day.isoformat()) == (
        "2027-06-12", "2027-06-18")


def test_thunderbird_export_with_a_moved_occurrence(client, session, make_city, make_key,
                                                   published: Published, poll):
    kassel = make_city("Kassel", "DE")
    key = make_key(Role.coordinator, kassel)
    published.routes["/home.ics"] = Route(thunderbird())
    calendar = register(client, kassel, key, published.url("/home.ics"))

    assert poll(calendar["id"]) == "ok"

    events = mirrored(session, calendar["id"])
    course = {uid: e for uid, e in events.items() if uid.startswith(COURSE_UID)}
    assert len(course) == 4
    # Identified by the original start (08 March, 17:00 UTC), shown on the day it moved to.
    moved = course[f"{COURSE_UID}#20270308T170000Z"]
    assert moved.title == "Sprachkurs (verschoben)"
    assert moved.starts_at_local == datetime(2027, 3, 9, 18, 0)
    assert events["8f0b3c2e-5a1d-4e6b-9c7a-2d4f6e8a0b1c"].venue == "Jugendzentrum"


# Polling again ---------------------------------------------------------------------


def test_unchanged_feed_answers_304_and_changes_nothing(client, session, ferrara, coordinator,
                                                         published: Published, poll):
    published.routes["/ferrara.ics"] = Route(google(), etag='"v1"')
    calendar = register(client, ferrara, coordinator, published.url("/ferrara.ics"))
    poll(calendar["id"])
    before = {uid: (e.id, e.version, e.updated_at) for uid, e in
              mirrored(session, calendar["id"]).items()}
    first = status_of(client, calendar["id"], coordinator)

    assert poll(calendar["id"], NOW + timedelta(hours=1)) == "ok"

    assert published.answers("/ferrara.ics") == [200, 304]
    assert published.requests[-1][1]["if-none-match"] == '"v1"'
    after = {uid: (e.id, e.version, e.updated_at) for uid, e in
             mirrored(session, calendar["id"]).items()}
    assert after == before
    second = status_of(client, calendar["id"], coordinator)
    assert second["last_changed_at"] == first["last_changed_at"]
    assert second["last_polled_at"] > first["last_polled_at"]


def test_changed_event_is_updated_and_removed_event_dropped(
        client, session, ferrara, coordinator, published: Published, poll):
    published.routes["/ferrara.ics"] = Route(google(), etag='"v1"')
    calendar = register(client, ferrara, coordinator, published.url("/ferrara.ics"))
    poll(calendar["id"])
    palio = mirrored(session, calendar["id"])["palio-2027@google.com"]
    palio_id, palio_version = palio.id, palio.version

    published.routes["/ferrara.ics"] = Route(
        google(palio_title="Palio di Ferrara 2027", with_concert=False), etag='"v2"')
    assert poll(calendar["id"], NOW + timedelta(hours=1)) == "ok"

    events = mirrored(session, calendar["id"])
    assert "concert-2027@google.com" not in events
    palio = events["palio-2027@google.com"]
    assert (palio.id, palio.title) == (palio_id, "Palio di Ferrara 2027")
    assert palio.version == palio_version + 1
    assert status_of(client, calendar["id"], coordinator)["event_count"] == 11


def test_recurrences_follow_the_clock(client, session, ferrara, coordinator,
                                      published: Published, poll):
    """A year later the window has moved on: past meetings leave, new ones come."""
    published.routes["/ferrara.ics"] = Route(google())
    calendar = register(client, ferrara, coordinator, published.url("/ferrara.ics"))
    poll(calendar["id"])
    later = NOW + timedelta(days=200)
    poll(calendar["id"], later)
    starts = [e.starts_at_utc for uid, e in mirrored(session, calendar["id"]).items()
              if uid.startswith(GOOGLE_UID)]
    assert min(starts) > later - timedelta(days=1) and max(starts) < later + HORIZON
    assert max(starts) > NOW + HORIZON


# Broken feeds harm nothing else ----------------------------------------------------------


def _break(published: Published, kind: str) -> str:
    path = "/ferrara.ics"
    match kind:
        case "malformed":
            published.routes[path] = Route(b"<html><body>Moved to our new site</body></html>",
                                           etag='"v2"', content_type="text/html")
        case "too big":
            published.routes[path] = Route(google() + b"X" * 200_000, etag='"v2"')
        case "too big, undeclared":
            published.routes[path] = Route(google() + b"X" * 200_000, undeclared=True)
        case "too slow":
            published.routes[path] = Route(google(), etag='"v2"', delay=3)
        case "server error":
            published.routes[path] = Route(b"oops", status=500)
        case "unreachable":
            return "http://127.0.0.1:9/ferrara.ics"
    return published.url(path)


@pytest.mark.parametrize(("kind", "reason"), [
    ("malformed", "not an icalendar file"),
    ("too big", "over the limit of 100000 bytes"),
    ("too big, undeclared", "over the limit of 100000 bytes"),
    ("too slow", "within 1 s"),
    ("server error", "answered 500"),
    ("unreachable", "cannot fetch"),
])
def test_a_broken_feed_marks_its_status_and_harms_nothing_else(
        client, session, ferrara, coordinator, published: Published, poll, kind, reason):
    published.routes["/ferrara.ics"] = Route(google(), etag='"v1"')
    published.routes["/other.ics"] = Route(thunderbird(), etag='"t1"')
    broken = register(client, ferrara, coordinator, published.url("/ferrara.ics"))
    other = register(client, ferrara, coordinator, published.url("/other.ics"))
    poll(broken["id"])
    poll(other["id"])
    kept = {uid: (e.id, e.version) for uid, e in mirrored(session, broken["id"]).items()}
    others = {uid: (e.id, e.version) for uid, e in mirrored(session, other["id"]).items()}

    url = _break(published, kind)
    if url != broken["url"]:
        row = session.get(ExternalCalendar, broken["id"])
        assert row is not None
        row.url = url
        session.add(row)
        session.commit()
    assert poll(broken["id"], NOW + timedelta(hours=1)) == "error"

    shown = status_of(client, broken["id"], coordinator)
    assert shown["status"] == "error" and reason in shown["error"].lower(), shown["error"]
    assert shown["event_count"] == 12
    assert {uid: (e.id, e.version) for uid, e in
            mirrored(session, broken["id"]).items()} == kept
    assert status_of(client, other["id"], coordinator)["status"] == "ok"
    assert {uid: (e.id, e.version) for uid, e in
            mirrored(session, other["id"]).items()} == others

    # Mended, the next poll is fine again.
    published.routes["/ferrara.ics"] = Route(google(), etag='"v3"')
    row = session.get(ExternalCalendar, broken["id"])
    assert row is not None
    row.url = published.url("/ferrara.ics")
    session.add(row)
    session.commit()
    assert poll(broken["id"], NOW + timedelta(hours=2)) == "ok"
    assert status_of(client, broken["id"], coordinator)["error"] is None


def test_redirects_are_followed_and_checked(client, session, ferrara, coordinator,
                                            published: Published, poll):
    published.routes["/old.ics"] = Route(status=301, location="/ferrara.ics")
    published.routes["/ferrara.ics"] = Route(google())
    calendar = register(client, ferrara, coordinator, published.url("/old.ics"))
    assert poll(calendar["id"]) == "ok"
    assert len(mirrored(session, calendar["id"])) == 12

    published.routes["/old.ics"] = Route(status=302, location="file:///etc/passwd")
    assert poll(calendar["id"]) == "error"
    assert "not an http" in status_of(client, calendar["id"], coordinator)["error"]


def test_addresses_that_are_not_public_are_refused(
        client, session, ferrara, coordinator, published: Published, poll, monkeypatch):
    published.routes["/ferrara.ics"] = Route(google())
    calendar = register(client, ferrara, coordinator, published.url("/ferrara.ics"))
    monkeypatch.setenv("TWINPLAN_EXTERNAL_CALENDARS_ALLOW_PRIVATE", "false")
    get_settings.cache_clear()

    for url in (published.url("/ferrara.ics"), "http://10.1.2.3/cal.ics",
                "http://[::ffff:192.168.0.1]/cal.ics", "http://localhost/cal.ics",
                "ftp://93.184.215.14/cal.ics", "http://user:pw@93.184.215.14/cal.ics"):
        r = client.post(f"/api/v1/cities/{ferrara.id}/external-calendars",
                        json={"name": "x", "url": url}, headers=coordinator)
        assert_problem(r, 422)

    # Registered while allowed, polled when not (or the name now points inside): refused.
    assert poll(calendar["id"]) == "error"
    assert "not a public address" in status_of(client, calendar["id"], coordinator)["error"]
    assert published.requests == []
    assert mirrored(session, calendar["id"]) == {}


# Where mirrored events show, and what they refuse -----------------------------------------


def test_mirrored_events_are_in_the_city_feed_with_their_source_uid(
        client, session, ferrara, coordinator, published: Published, poll):
    published.routes["/ferrara.ics"] = Route(google())
    calendar = register(client, ferrara, coordinator, published.url("/ferrara.ics"))
    poll(calendar["id"])
    r = client.get(f"/calendars/cities/{ferrara.id}.ics")
    assert r.status_code == 200
    feed = icalendar.Calendar.from_ical(r.content)
    by_summary = {str(e["SUMMARY"]): e for e in feed.walk("VEVENT")}
    assert "Palio di Ferrara" in by_summary and "Concerto per i gemellaggi" in by_summary
    assert str(by_summary["Palio di Ferrara"]["UID"]) == "palio-2027@google.com"
    meetings = [e for e in feed.walk("VEVENT") if str(e["SUMMARY"]) == "Comitato gemellaggi"]
    assert len(meetings) == 10
    assert {str(e["UID"]) for e in meetings} == {GOOGLE_UID}
    assert {e["RECURRENCE-ID"].dt for e in meetings} >= {
        datetime(2027, 3, 1, 17, 0, tzinfo=UTC)}
    # Thunderbird's parser places them where the source has them.
    seen = read_with_icaljs(r.content)["events"]
    june = next(e for e in seen if e["uid"] == GOOGLE_UID
                and e["properties"]["recurrence-id"]["value"] == "2027-06-07T16:00:00Z")
    assert june["start"]["utc"] == "2027-06-07T16:00:00Z"
    assert june["start"]["tzid"] == "Europe/Rome"


def test_mirrored_events_refuse_every_write(client, session, make_city, make_partnership,
                                            make_participant, ferrara, coordinator,
                                            published: Published, poll, admin):
    kostroma = make_city("Kostroma")
    make_partnership(ferrara, kostroma)
    person = make_participant(ferrara)
    published.routes["/ferrara.ics"] = Route(google())
    calendar = register(client, ferrara, coordinator, published.url("/ferrara.ics"))
    poll(calendar["id"])
    event = mirrored(session, calendar["id"])["palio-2027@google.com"]
    path = f"/api/v1/events/{event.id}"
    for who in (coordinator, admin):
        writes = [
            client.patch(path, json={"title": "Mine now"}, headers={**who, "If-Match": "*"}),
            client.patch(path, json={"guest_city_ids": [kostroma.id]},
                         headers={**who, "If-Match": "*"}),
            client.post(f"{path}/cancel", json={"reason": "rain"},
                        headers={**who, "If-Match": "*"}),
            client.post(f"{path}/registrations", json={"participant_id": person.id,
                                                       "role": "delegate"}, headers=who),
            client.post(f"{path}/delegations", json={
                "city_id": ferrara.id, "people": [{"full_name": "A", "role": "delegate"}]},
                headers=who),
        ]
        for r in writes:
            assert_problem(r, 409, contains="mirrored from external calendar")
    session.expire_all()
    assert session.get(Event, event.id).title == "Palio di Ferrara"
    # Reads work as for any event.
    r = client.get(path)
    assert r.status_code == 200 and r.json()["external"]["uid"] == "palio-2027@google.com"


def test_deleting_the_calendar_drops_its_events(client, session, ferrara, coordinator,
                                                 published: Published, poll):
    published.routes["/ferrara.ics"] = Route(google())
    calendar = register(client, ferrara, coordinator, published.url("/ferrara.ics"))
    poll(calendar["id"])
    assert listed(client, ferrara)
    r = client.delete(f"/api/v1/external-calendars/{calendar['id']}", headers=coordinator)
    assert r.status_code == 204
    assert listed(client, ferrara) == []
    assert mirrored(session, calendar["id"]) == {}
    assert client.get(f"/api/v1/external-calendars/{calendar['id']}",
                      headers=coordinator).status_code == 404


def test_poll_now_makes_the_calendar_due(client, session, ferrara, coordinator,
                                         published: Published, poll):
    published.routes["/ferrara.ics"] = Route(google())
    calendar = register(client, ferrara, coordinator, published.url("/ferrara.ics"))
    poll(calendar["id"])
    assert status_of(client, calendar["id"], coordinator)["next_poll_at"] > \
        datetime.now(UTC).isoformat()
    r = client.post(f"/api/v1/external-calendars/{calendar['id']}/poll", headers=coordinator)
    assert r.status_code == 202
    assert r.json()["next_poll_at"] <= datetime.now(UTC).isoformat()


# The worker ----------------------------------------------------------------------


def test_the_worker_polls_the_calendars_that_are_due(client, session, ferrara, coordinator,
                                                     published: Published):
    published.routes["/ferrara.ics"] = Route(google(), etag='"v1"')
    published.routes["/later.ics"] = Route(thunderbird())
    due = register(client, ferrara, coordinator, published.url("/ferrara.ics"))
    later = register(client, ferrara, coordinator, published.url("/later.ics"))
    row = session.get(ExternalCalendar, later["id"])
    assert row is not None
    row.next_poll_at = NOW + timedelta(minutes=30)
    session.add(row)
    session.commit()

    @contextmanager
    def shared() -> Iterator[Session]:
        try:
            yield session
        finally:
            session.expire_all()

    worker = Worker(name="test-worker", sessions=shared, settings=get_settings())
    try:
        with clock.frozen_at(NOW):
            assert worker.mirror_calendars() == 1
            assert worker.mirror_calendars() == 0  # polled: not due again for an hour
        with clock.frozen_at(NOW + timedelta(minutes=31)):
            assert worker.mirror_calendars() == 1
    finally:
        worker.close()
    assert status_of(client, due["id"], coordinator)["event_count"] == 12
    assert status_of(client, later["id"], coordinator)["status"] == "ok"
    assert published.answers("/ferrara.ics") == [200]
    assert status_of(client, due["id"], coordinator)["next_poll_at"].startswith(
        "2027-01-10T13:00")
