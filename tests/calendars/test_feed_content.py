"""What subscribers see: every feed read by ical.js, vobject and icalendar, checked
against the events as planned (RFC 5545 / RFC 7986)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.calendars import assembly
from app.core.clock import frozen_at
from app.core.settings import get_settings
from tests.calendars.conftest import city_path, get_feed
from tests.calendars.parsers import (
    read_with_icalendar,
    read_with_icaljs,
    read_with_vobject,
    unfolded_lines,
)


def uid(event: Any) -> str:
    return f"twinplan-event-{event.id}@twinplan.test"


def by_uid(js: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["uid"]: e for e in js["events"]}


def utc_text(local: str, zone: str) -> str:
    """A naive local time in ``zone`` as ical.js writes UTC: ``2027-03-27T10:00:00Z``."""
    instant = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


# The four zones, each with its DST change inside the event (Ashgabat has none).
ACROSS_DST = [
    # host,        zone,              starts,             ends
    ("coventry", "Europe/London", "2027-03-27T10:00:00", "2027-03-28T18:00:00"),
    ("albuquerque", "America/Denver", "2027-11-06T18:00:00", "2027-11-07T12:00:00"),
    ("kassel", "Europe/Berlin", "2027-10-30T20:00:00", "2027-10-31T10:00:00"),
    ("mary", "Asia/Ashgabat", "2027-03-27T10:00:00", "2027-03-28T12:00:00"),
]


@pytest.fixture
def across_dst(world, make_event) -> dict[str, Any]:
    """One event hosted in each zone, with Kostroma as a guest, spanning the DST change."""
    return {
        host: make_event(getattr(world, host), [world.kostroma], title=f"Exchange in {zone}",
                         starts_at=starts, ends_at=ends, status="confirmed")
        for host, zone, starts, ends in ACROSS_DST
    }


def test_local_times_in_four_zones_across_dst_agree_in_every_parser(client, world, across_dst):
    body = get_feed(client, city_path(world.kostroma)).content

    js = by_uid(read_with_icaljs(body))
    vevents = {str(v.uid.value): v for v in read_with_vobject(body).vevent_list}
    ical = {str(v["UID"]): v for v in read_with_icalendar(body).walk("VEVENT")}
    for host, zone, starts, ends in ACROSS_DST:
        event = across_dst[host]
        seen = js[uid(event)]
        # ical.js places the times with the feed's own VTIMEZONE (nothing else).
        assert seen["start"] == {"local": starts, "isDate": False, "tzid": zone,
                                 "utc": utc_text(starts, zone)}
        assert seen["end"] == {"local": ends, "isDate": False, "tzid": zone,
                               "utc": utc_text(ends, zone)}
        assert seen["start"]["utc"] == event.starts_at_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
        # vobject and icalendar agree on the instants.
        for reading in (vevents[uid(event)].dtstart.value, ical[uid(event)]["DTSTART"].dt):
            assert reading.astimezone(UTC) == event.starts_at_utc
        for reading in (vevents[uid(event)].dtend.value, ical[uid(event)]["DTEND"].dt):
            assert reading.astimezone(UTC) == event.ends_at_utc
    # The change really is inside the London, Denver and Berlin events.
    for host in ("coventry", "albuquerque", "kassel"):
        start, end = js[uid(across_dst[host])]["start"], js[uid(across_dst[host])]["end"]
        offset_start = datetime.fromisoformat(start["local"]) - datetime.fromisoformat(
            start["utc"].rstrip("Z"))
        offset_end = datetime.fromisoformat(end["local"]) - datetime.fromisoformat(
            end["utc"].rstrip("Z"))
        assert offset_start != offset_end


def test_every_zone_used_has_a_vtimezone(client, world, across_dst, make_event):
    make_event(world.kostroma, [world.mary], title="At home")
    body = get_feed(client, city_path(world.kostroma)).content
    lines = unfolded_lines(body)
    used = {
        line.split("TZID=", 1)[1].split(":", 1)[0].split(";")[0]
        for line in lines
        if line.startswith(("DTSTART;", "DTEND;")) and "TZID=" in line
    }
    defined = {line.removeprefix("TZID:") for line in lines if line.startswith("TZID:")}
    assert used == defined == {
        "Europe/London", "America/Denver", "Europe/Berlin", "Asia/Ashgabat", "Europe/Moscow"
    }
    assert sorted(read_with_icaljs(body)["timezones"]) == sorted(defined)


def test_an_ambiguous_wall_clock_time_at_its_second_occurrence_is_written_in_utc(
    client, world, make_event
):
    # 02:30 happens twice in Kassel on 2027-10-31; this event is at the second one.
    event = make_event(world.kassel, [world.kostroma], title="Night run",
                       starts_at="2027-10-31T02:30+01:00", ends_at="2027-10-31T04:00+01:00")
    body = get_feed(client, city_path(world.kostroma)).content
    assert "DTSTART:20271031T013000Z" in unfolded_lines(body)
    seen = by_uid(read_with_icaljs(body))[uid(event)]
    assert seen["start"]["utc"] == "2027-10-31T01:30:00Z"
    assert read_with_vobject(body).vevent.dtstart.value == event.starts_at_utc


def test_all_day_event_has_dates_with_an_exclusive_end(client, world, make_event):
    event = make_event(world.kostroma, [world.mary], title="Festival", all_day=True,
                       start_date="2027-04-24", end_date="2027-04-26")
    body = get_feed(client, city_path(world.kostroma)).content
    lines = unfolded_lines(body)
    assert "DTSTART;VALUE=DATE:20270424" in lines
    assert "DTEND;VALUE=DATE:20270427" in lines
    seen = by_uid(read_with_icaljs(body))[uid(event)]
    assert seen["start"] == {"local": "2027-04-24", "isDate": True, "tzid": None, "utc": None}
    assert seen["end"]["local"] == "2027-04-27"
    vevent = read_with_vobject(body).vevent
    assert vevent.dtstart.value == date(2027, 4, 24)
    assert vevent.dtend.value == date(2027, 4, 27)


def test_a_three_city_event_names_host_and_both_guests(client, world, make_event):
    event = make_event(world.kostroma, [world.mary, world.coventry], title="Volga Cup",
                       kind="sports", venue="Spartak stadium", status="confirmed")
    for city in (world.kostroma, world.mary, world.coventry):
        body = get_feed(client, city_path(city)).content
        seen = by_uid(read_with_icaljs(body))[uid(event)]
        assert seen["summary"] == "Volga Cup"
        assert seen["description"] == (
            "Sports hosted by Kostroma (RU), with Mary (TM), Coventry (GB)."
        )
        assert seen["location"] == "Spartak stadium, Kostroma"
        assert seen["categories"] == ["Sports"]
        assert seen["status"] == "CONFIRMED"
    assert uid(event) not in by_uid(read_with_icaljs(
        get_feed(client, city_path(world.kassel)).content))


def test_statuses_map_to_rfc_5545(client, world, make_event, admin):
    planned = make_event(world.kostroma, [world.mary], title="Planned", status="planned")
    confirmed = make_event(world.kostroma, [world.mary], title="Confirmed", status="confirmed")
    draft = make_event(world.kostroma, [world.mary], title="Draft", status="draft")
    body = get_feed(client, city_path(world.kostroma)).content
    js = by_uid(read_with_icaljs(body))
    assert js[uid(planned)]["status"] == "TENTATIVE"
    assert js[uid(confirmed)]["status"] == "CONFIRMED"
    assert uid(draft) not in js  # drafts never appear


def test_a_cancelled_event_stays_90_days_as_cancelled_then_drops_out(
    client, world, make_event, admin
):
    event = make_event(world.kostroma, [world.mary], title="Regatta", status="confirmed")
    cancelled = client.post(f"/api/v1/events/{event.id}/cancel", headers=admin,
                            json={"reason": "The Volga froze early"})
    assert cancelled.status_code == 200, cancelled.text
    cancelled_at = datetime.fromisoformat(cancelled.json()["cancelled_at"])

    first = get_feed(client, city_path(world.kostroma))
    seen = by_uid(read_with_icaljs(first.content))[uid(event)]
    assert seen["status"] == "CANCELLED"
    assert seen["sequence"] == 1
    assert seen["description"].startswith("CANCELLED: The Volga froze early")
    assert read_with_vobject(first.content).vevent.status.value == "CANCELLED"

    with frozen_at(cancelled_at + timedelta(days=89)):
        still = get_feed(client, city_path(world.kostroma))
    assert uid(event) in by_uid(read_with_icaljs(still.content))
    assert still.headers["etag"] == first.headers["etag"]

    with frozen_at(cancelled_at + timedelta(days=91)):
        gone = get_feed(client, city_path(world.kostroma))
    assert uid(event) not in by_uid(read_with_icaljs(gone.content))
    assert gone.headers["etag"] != first.headers["etag"]
    # Nothing in the feed is newer than before, and still its date moves on.
    assert _http_date(gone) > _http_date(first)


def _http_date(response: Any) -> datetime:
    from email.utils import parsedate_to_datetime

    return parsedate_to_datetime(response.headers["last-modified"])


def test_an_edit_raises_sequence_and_last_modified(client, world, make_event, admin):
    event = make_event(world.kostroma, [world.mary], title="Choir", status="confirmed")
    before = by_uid(read_with_icaljs(get_feed(client, city_path(world.kostroma)).content))
    assert before[uid(event)]["sequence"] == 0

    etag = client.get(f"/api/v1/events/{event.id}").headers["etag"]
    later = datetime.now(UTC) + timedelta(minutes=5)
    with frozen_at(later):
        patched = client.patch(f"/api/v1/events/{event.id}", headers={**admin, "If-Match": etag},
                               json={"starts_at": "2027-05-20T11:00", "venue": "Philharmonia"})
    assert patched.status_code == 200, patched.text

    after = by_uid(read_with_icaljs(get_feed(client, city_path(world.kostroma)).content))
    seen = after[uid(event)]
    assert seen["sequence"] == 1
    assert seen["uid"] == uid(event)  # same UID for the life of the event
    assert seen["start"]["local"] == "2027-05-20T11:00:00"
    assert seen["location"] == "Philharmonia, Kostroma"
    stamp = later.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert seen["properties"]["last-modified"]["value"] == stamp
    assert seen["properties"]["dtstamp"]["value"] == stamp


def test_calendar_properties(client, world, make_event):
    make_event(world.kostroma, [world.mary])
    body = get_feed(client, city_path(world.kostroma)).content
    lines = unfolded_lines(body)
    head = lines[: lines.index("BEGIN:VTIMEZONE")]
    for expected in (
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "NAME:Kostroma: twin city exchanges",
        "X-WR-CALNAME:Kostroma: twin city exchanges",
        "X-WR-TIMEZONE:Europe/Moscow",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
        "X-PUBLISHED-TTL:PT1H",
        f"SOURCE;VALUE=URI:https://twinplan.test/calendars/cities/{world.kostroma.id}.ics",
    ):
        assert expected in head
    assert any(line.startswith("PRODID:-//Twinplan//") for line in head)
    assert lines[-1] == "END:VCALENDAR"
    calendar = read_with_icaljs(body)["calendar"]
    assert calendar["refresh-interval"]["type"] == "duration"
    assert calendar["refresh-interval"]["value"] == "PT1H"
    parsed = read_with_icalendar(body)
    assert parsed["REFRESH-INTERVAL"].dt == timedelta(hours=1)
    assert str(parsed["X-PUBLISHED-TTL"]) == "PT1H"


def test_each_event_carries_the_properties_clients_need(client, world, make_event):
    event = make_event(world.kostroma, [world.mary], title="Choir", status="confirmed",
                       description="Songs of the Volga")
    body = get_feed(client, city_path(world.kostroma)).content
    vevent = read_with_icalendar(body).walk("VEVENT")[0]
    assert str(vevent["UID"]) == uid(event)
    assert vevent["DTSTAMP"].dt == event.updated_at.replace(microsecond=0)
    assert vevent["LAST-MODIFIED"].dt == event.updated_at.replace(microsecond=0)
    assert vevent["SEQUENCE"] == 0
    assert str(vevent["URL"]) == f"https://twinplan.test/api/v1/events/{event.id}"
    assert str(vevent["DESCRIPTION"]) == (
        "Delegation visit hosted by Kostroma (RU), with Mary (TM).\n\nSongs of the Volga"
    )
    assert str(vevent["CLASS"]) == "PUBLIC"


def test_same_data_gives_the_same_bytes_whenever_it_is_built(client, world, across_dst):
    path = city_path(world.kostroma)
    with frozen_at(datetime(2027, 1, 1, tzinfo=UTC)):
        first = get_feed(client, path).content
    assembly.clear_caches()
    with frozen_at(datetime(2027, 2, 1, tzinfo=UTC)):
        second = get_feed(client, path).content
    assert first == second


def test_kind_filter(client, world, make_event):
    sports = make_event(world.kostroma, [world.mary], title="Cup", kind="sports")
    show = make_event(world.kostroma, [world.mary], title="Show", kind="exhibition")
    film = make_event(world.kostroma, [world.mary], title="Film", kind="culture")
    body = get_feed(client, city_path(world.kostroma),
                    params=[("kind", "sports"), ("kind", "exhibition")]).content
    uids = set(by_uid(read_with_icaljs(body)))
    assert uids == {uid(sports), uid(show)}
    assert uid(film) not in uids
    lines = unfolded_lines(body)
    assert "NAME:Kostroma: twin city exchanges (exhibition / sports)" in lines
    bad = client.get(city_path(world.kostroma), params={"kind": "picnic"})
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")


def test_partnership_feed_holds_the_events_both_cities_take_part_in(
    client, world, make_event, session
):
    from app.cities.service import find_partnership

    both = make_event(world.kostroma, [world.mary], title="Both")
    three = make_event(world.mary, [world.kostroma, world.coventry], title="Three")
    only_kostroma = make_event(world.kostroma, [world.coventry], title="Not Mary")
    hidden = make_event(world.kostroma, [world.mary], title="Hidden", visibility="partners")
    partnership = find_partnership(session, world.kostroma.id, world.mary.id)
    body = get_feed(client, f"/calendars/partnerships/{partnership.id}.ics").content
    js = read_with_icaljs(body)
    assert set(by_uid(js)) == {uid(both), uid(three)}
    assert uid(only_kostroma) not in by_uid(js) and uid(hidden) not in by_uid(js)
    assert js["calendar"]["x-wr-calname"]["value"] == "Kostroma – Mary: twin city exchanges"
    read_with_vobject(body)
    missing = client.get("/calendars/partnerships/999999.ics")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


def test_public_feeds_carry_no_personal_data(client, world, make_event, make_participant,
                                             make_registration):
    event = make_event(world.kostroma, [world.mary], title="Youth camp", kind="youth_exchange",
                       capacity=10)
    person = make_participant(world.mary, full_name="Ogulgerek Annaýewa",
                              email="ogul@example.tm", phone="+993 12 345678",
                              birth_date=date(1990, 5, 1), notes="vegetarian")
    assert make_registration(event, person, "athlete").status == "confirmed"
    for path in (city_path(world.kostroma), city_path(world.mary)):
        text = get_feed(client, path).content.replace(b"\r\n ", b"").decode()
        for secret in ("Ogulgerek", "Annaýewa", "ogul@example.tm", "345678", "vegetarian",
                       "1990"):
            assert secret not in text


def test_hidden_events_stay_out_of_public_feeds(client, world, make_event):
    public = make_event(world.kostroma, [world.mary], title="Open day")
    partners = make_event(world.kostroma, [world.mary], title="Partners", visibility="partners")
    private = make_event(world.kostroma, [world.mary], title="Private", visibility="private")
    for city in (world.kostroma, world.mary):
        uids = set(by_uid(read_with_icaljs(get_feed(client, city_path(city)).content)))
        assert uid(public) in uids
        assert uid(partners) not in uids and uid(private) not in uids


def test_unknown_city_is_a_404_problem(client):
    response = client.get("/calendars/cities/424242.ics")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert client.get("/calendars/cities/0.ics").status_code == 422


def test_api_hands_out_feed_urls(client, world, session):
    from app.cities.service import find_partnership

    city = client.get(f"/api/v1/cities/{world.kostroma.id}").json()
    assert city["feed_url"] == f"https://twinplan.test/calendars/cities/{world.kostroma.id}.ics"
    assert city["webcal_url"] == f"webcal://twinplan.test/calendars/cities/{world.kostroma.id}.ics"
    partnership = find_partnership(session, world.kostroma.id, world.mary.id)
    body = client.get(f"/api/v1/partnerships/{partnership.id}").json()
    assert body["feed_url"].endswith(f"/calendars/partnerships/{partnership.id}.ics")
    assert body["webcal_url"].startswith("webcal://twinplan.test/")
    assert get_feed(client, body["feed_url"].removeprefix("https://twinplan.test"))


def test_uids_keep_their_domain_when_the_service_moves(client, world, make_event, monkeypatch):
    """TWINPLAN_UID_DOMAIN pins the UIDs: links follow the new address, events do not
    become new events in calendars that already hold them."""
    event = make_event(world.kostroma, [world.mary], title="Choir")
    first = get_feed(client, city_path(world.kostroma))
    monkeypatch.setenv("TWINPLAN_PUBLIC_BASE_URL", "https://exchanges.kostroma.example")
    monkeypatch.setenv("TWINPLAN_UID_DOMAIN", "twinplan.test")
    get_settings.cache_clear()
    try:
        moved = get_feed(client, city_path(world.kostroma))
        twin_cities_day = get_feed(client, "/calendars/twin-cities-day.ics").content
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    (old,) = read_with_icalendar(first.content).walk("VEVENT")
    (new,) = read_with_icalendar(moved.content).walk("VEVENT")
    assert str(new["UID"]) == str(old["UID"]) == uid(event)
    assert str(new["URL"]) == f"https://exchanges.kostroma.example/api/v1/events/{event.id}"
    assert moved.headers["etag"] != first.headers["etag"]  # the bytes changed: new links
    assert b"UID:world-twin-cities-day@twinplan.test\r\n" in twin_cities_day
