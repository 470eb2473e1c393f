"""GET /api/v1/events: filters, the overlap window, order and pages."""

from __future__ import annotations

import pytest

from app.core.actors import Role
from tests.conftest import assert_problem


def ids(client, key=None, **params):
    r = client.get("/api/v1/events", params=params, headers=key or {})
    assert r.status_code == 200, r.text
    return [e["id"] for e in r.json()["items"]]


@pytest.fixture
def ashgabat(make_city, make_partnership, kassel, mary):
    city = make_city("Ashgabat", "TM")
    make_partnership(kassel, city)
    make_partnership(mary, city)
    return city


def test_sorted_by_start_then_id(client, make_event, kassel, mary):
    late = make_event(kassel, [mary], starts_at="2027-06-01T10:00", ends_at="2027-06-01T12:00")
    early = make_event(kassel, [mary], starts_at="2027-05-01T10:00", ends_at="2027-05-01T12:00")
    # Same instant written in two zones: tie broken by id.
    same_a = make_event(kassel, [mary], starts_at="2027-05-10T10:00", ends_at="2027-05-10T12:00")
    same_b = make_event(kassel, [mary], starts_at="2027-05-10T13:00", ends_at="2027-05-10T15:00",
                        timezone="Asia/Ashgabat")
    assert ids(client) == [early.id, same_a.id, same_b.id, late.id]


def test_city_filter_matches_host_or_guest(client, make_event, kassel, mary, oryol, ashgabat):
    hosted = make_event(kassel, [oryol])
    guest_of_kassel = make_event(kassel, [mary])
    hosted_by_mary = make_event(mary, [ashgabat], starts_at="2027-06-01T10:00",
                                ends_at="2027-06-02T10:00")
    assert ids(client, city_id=kassel.id) == [hosted.id, guest_of_kassel.id]
    assert ids(client, city_id=mary.id) == [guest_of_kassel.id, hosted_by_mary.id]
    assert ids(client, city_id=oryol.id) == [hosted.id]
    assert ids(client, city_id=987654) == []


def test_partnership_filter_needs_both_cities(client, make_event, kassel, mary, oryol, ashgabat):
    kassel_mary = client.get("/api/v1/partnerships", params={"city_id": mary.id}).json()
    pair = next(p for p in kassel_mary["items"] if kassel.id in (p["city_a_id"], p["city_b_id"]))
    a = make_event(kassel, [mary])  # host and guest
    b = make_event(ashgabat, [kassel, mary], starts_at="2027-06-01T10:00",
                   ends_at="2027-06-02T10:00")  # both guests of a third city
    make_event(kassel, [oryol])  # only Kassel
    make_event(mary, [ashgabat])  # only Mary
    assert ids(client, partnership_id=pair["id"]) == [a.id, b.id]
    assert_problem(client.get("/api/v1/events", params={"partnership_id": 987654}), 422,
                   contains="does not exist")


def test_kind_and_status_filters_are_repeatable(client, make_event, kassel, mary):
    sports = make_event(kassel, [mary], kind="sports")
    culture = make_event(kassel, [mary], kind="culture", status="confirmed")
    seminar = make_event(kassel, [mary], kind="seminar", status="draft")
    assert ids(client, kind="sports") == [sports.id]
    assert ids(client, kind=["sports", "seminar"]) == [sports.id, seminar.id]
    assert ids(client, status="confirmed") == [culture.id]
    assert ids(client, status=["draft", "planned"]) == [sports.id, seminar.id]
    assert_problem(client.get("/api/v1/events", params={"kind": "picnic"}), 422)


@pytest.fixture
def may_events(make_event, kassel, mary):
    """Three events in Kassel (Europe/Berlin, +02:00 in May)."""
    return {
        "before": make_event(kassel, [mary], starts_at="2027-05-01T10:00",
                             ends_at="2027-05-01T12:00"),
        "across": make_event(kassel, [mary], starts_at="2027-05-09T22:00",
                             ends_at="2027-05-10T02:00"),
        "day": make_event(kassel, [mary], all_day=True, start_date="2027-05-10",
                          end_date="2027-05-12"),
        "after": make_event(kassel, [mary], starts_at="2027-05-13T00:00",
                            ends_at="2027-05-13T01:00"),
    }


def test_window_returns_events_overlapping_it(client, may_events, kassel):
    e = may_events
    # Dates are whole days in the city's zone; `to` includes its day.
    assert ids(client, city_id=kassel.id, **{"from": "2027-05-10", "to": "2027-05-12"}) == [
        e["across"].id, e["day"].id]
    assert ids(client, city_id=kassel.id, **{"from": "2027-05-13", "to": "2027-05-13"}) == [
        e["after"].id]
    # Datetimes with offsets are instants; touching ends do not overlap.
    assert ids(client, **{"from": "2027-05-01T09:59:00Z", "to": "2027-05-09T20:00:00Z"}) == [
        e["before"].id]
    assert ids(client, **{"from": "2027-05-01T10:00:00Z", "to": "2027-05-09T20:00:00Z"}) == []
    assert ids(client, **{"from": "2027-05-01T10:00:00Z", "to": "2027-05-09T20:01:00Z"}) == [
        e["across"].id]
    assert ids(client, **{"from": "2027-05-09T23:00:00Z", "to": "2027-05-09T23:01:00Z"}) == [
        e["across"].id, e["day"].id]
    # Only one side of the window.
    assert ids(client, **{"from": "2027-05-12T12:00+02:00"}) == [e["day"].id, e["after"].id]
    assert ids(client, **{"to": "2027-05-01T11:00+02:00"}) == [e["before"].id]


def test_window_dates_follow_the_timezone_parameter(client, may_events):
    e = may_events
    # Without city_id, dates are UTC days: the UTC 12 May ends at 02:00 Berlin time on
    # the 13th, after "after" has begun.
    assert ids(client, **{"from": "2027-05-12", "to": "2027-05-12"}) == [
        e["day"].id, e["after"].id]
    assert ids(client, **{"from": "2027-05-12", "to": "2027-05-12",
                          "timezone": "Europe/Berlin"}) == [e["day"].id]
    # Tokyo's 13 May starts at 17:00 Berlin time on the 12th: the all-day event still runs.
    assert ids(client, **{"from": "2027-05-13", "to": "2027-05-13",
                          "timezone": "Asia/Tokyo"}) == [e["day"].id, e["after"].id]


def test_window_finds_long_events_that_started_long_before(client, make_event, kassel, mary):
    long = make_event(kassel, [mary], starts_at="2026-09-01T08:00", ends_at="2027-06-30T18:00",
                      kind="school_exchange")
    assert ids(client, **{"from": "2027-06-01", "to": "2027-06-02"}) == [long.id]


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"from": "2027-05-10", "to": "2027-05-09"}, "must be after"),
        ({"from": "2027-05-10T10:00Z", "to": "2027-05-10T10:00Z"}, "must be after"),
        ({"from": "next week"}, "use a date"),
        ({"to": "2027-13-01"}, "use a date"),
        ({"from": "2027-05-10", "timezone": "Mars/Olympus"}, "IANA"),
    ],
)
def test_bad_window_is_422(client, params, says):
    assert_problem(client.get("/api/v1/events", params=params), 422, contains=says)


def test_pagination(client, make_event, kassel, mary):
    made = [
        make_event(kassel, [mary], starts_at=f"2027-07-{day:02d}T10:00",
                   ends_at=f"2027-07-{day:02d}T12:00").id
        for day in range(1, 8)
    ]
    r = client.get("/api/v1/events", params={"limit": 3, "offset": 2}).json()
    assert (r["total"], r["limit"], r["offset"]) == (7, 3, 2)
    assert [e["id"] for e in r["items"]] == made[2:5]
    last = client.get("/api/v1/events", params={"limit": 3, "offset": 6}).json()
    assert [e["id"] for e in last["items"]] == made[6:]
    assert client.get("/api/v1/events", params={"limit": 100_000}).json()["limit"] == 200
    assert_problem(client.get("/api/v1/events", params={"limit": 0}), 422)


def test_list_items_carry_guests_and_local_times(client, make_event, kassel, mary, oryol):
    made = make_event(kassel, [oryol, mary], timezone="Asia/Ashgabat")
    [item] = client.get("/api/v1/events").json()["items"]
    assert item["id"] == made.id
    assert item["guest_city_ids"] == sorted([mary.id, oryol.id])
    assert item["starts_at"] == "2027-05-20T10:00:00+05:00"


def test_filters_combine_with_visibility(client, make_event, make_key, kassel, mary, oryol):
    public = make_event(kassel, [mary])
    partners = make_event(kassel, [mary], visibility="partners")
    private = make_event(kassel, [oryol], visibility="private")
    mary_key = make_key(Role.partner, mary)
    assert ids(client, city_id=kassel.id) == [public.id]
    assert ids(client, mary_key, city_id=kassel.id) == [public.id, partners.id]
    assert ids(client, make_key(Role.coordinator, kassel), city_id=kassel.id) == [
        public.id, partners.id, private.id]
    r = client.get("/api/v1/events", params={"city_id": kassel.id}, headers=mary_key).json()
    assert r["total"] == 2


def test_guest_side_of_the_window_follows_a_rescheduled_event(
    client, make_event, kassel_key, kassel, mary
):
    event = make_event(kassel, [mary])  # 20-22 May 2027
    may = {"city_id": mary.id, "from": "2027-05-21", "to": "2027-05-21"}
    june = {"city_id": mary.id, "from": "2027-06-10", "to": "2027-06-10"}
    assert (ids(client, **may), ids(client, **june)) == ([event.id], [])
    r = client.patch(f"/api/v1/events/{event.id}",
                     json={"starts_at": "2027-06-09T10:00", "ends_at": "2027-06-11T12:00"},
                     headers={**kassel_key, "If-Match": f'"{event.id}-1"'})
    assert r.status_code == 200, r.text
    assert (ids(client, **may), ids(client, **june)) == ([], [event.id])


def test_guest_rows_added_directly_copy_their_event_times(session, client, make_event, kassel,
                                                          mary, oryol):
    from app.events.models import EventGuest

    event = make_event(kassel, [mary])
    session.add(EventGuest(event_id=event.id, city_id=oryol.id))
    session.commit()
    row = session.get(EventGuest, (event.id, oryol.id))
    assert (row.starts_at_utc, row.ends_at_utc) == (event.starts_at_utc, event.ends_at_utc)
    assert ids(client, city_id=oryol.id, **{"from": "2027-05-21", "to": "2027-05-21"}) == [
        event.id]
