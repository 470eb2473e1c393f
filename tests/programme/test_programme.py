"""The programme API: items within the event, who may write and read them, named
people shown only to the coordinators concerned, the change facts, and what an
item does when its event moves."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import select

from app.core.actors import SYSTEM
from app.core.changes import change_recorded
from app.events.models import Event, EventKind, EventStatus
from app.mirrors.models import ExternalCalendarCreate
from app.mirrors.service import register_calendar
from app.programme.changes import ProgrammeChanged
from app.programme.models import ProgrammeItem
from tests.conftest import assert_problem
from tests.programme.conftest import Exchange, add_item, item_body


def item_url(item: dict[str, Any]) -> str:
    return f"/api/v1/programme-items/{item['id']}"


def etag_of(client, x: Exchange, item: dict[str, Any], who: str = "ac") -> str:
    r = client.get(item_url(item), headers=x.keys[who])
    assert r.status_code == 200, r.text
    return str(r.headers["ETag"])


def event_etag(client, x: Exchange) -> str:
    r = client.get(f"/api/v1/events/{x.event.id}", headers=x.keys["ac"])
    return str(r.headers["ETag"])


@pytest.fixture
def facts() -> list[ProgrammeChanged]:
    heard: list[ProgrammeChanged] = []
    with change_recorded.connected_to(lambda _s, *, change, **_: heard.append(change),
                                      sender=ProgrammeChanged):
        yield heard


# Writing ---------------------------------------------------------------------------


def test_an_item_is_added_in_the_events_zone_and_tells_its_followers(client, exchange, facts):
    x = exchange
    before = event_etag(client, x)
    r = client.post(x.programme, json=item_body(public=True), headers=x.keys["ac"])
    assert r.status_code == 201, r.text
    item = r.json()
    assert r.headers["Location"] == item_url(item)
    assert r.headers["ETag"] == f'"item-{item["id"]}-0"'
    assert item["starts_at"] == "2027-05-20T17:00:00+05:00"
    assert item["timezone"] == "Asia/Ashgabat"
    assert (item["audience"], item["role"], item["people"], item["public"]) == (
        "everyone", None, None, True)
    # The event's version moved (the feeds watch it), not its sequence.
    assert event_etag(client, x) != before
    [fact] = facts
    assert (fact.action, fact.item_id, fact.event_id, fact.public) == (
        "added", item["id"], x.event.id, True)
    assert str(fact.starts_at) == "2027-05-20 17:00:00"
    assert set(fact.participant_ids) == {x.person(p) for p in ("isabella", "diego", "karen",
                                                               "aylar")}


def test_an_offset_is_converted_to_the_events_zone(client, exchange):
    item = add_item(client, exchange, starts_at="2027-05-20T12:00Z",
                    ends_at="2027-05-20T13:00Z")
    assert item["starts_at"] == "2027-05-20T17:00:00+05:00"


@pytest.mark.parametrize(("fields", "field", "says"), [
    ({"starts_at": "2027-05-20T08:00"}, "starts_at", "within its event"),
    ({"ends_at": "2027-05-26T18:30", "starts_at": "2027-05-26T17:00"}, "ends_at", "within"),
    ({"ends_at": "2027-05-20T16:00"}, "ends_at", "after starts_at"),
    ({"audience": "role"}, None, "role"),
    ({"audience": "people"}, None, "participant_ids"),
    ({"role": "student"}, None, "role"),
    ({"title": ""}, "title", None),
    ({"place": "x" * 301}, "place", None),
    ({"starts_at": "2027-02-30T10:00"}, "starts_at", None),
])
def test_bad_items_are_refused_with_the_field_at_fault(client, exchange, fields, field, says):
    r = client.post(exchange.programme, json=item_body(**fields), headers=exchange.keys["ac"])
    problem = assert_problem(r, 422, contains=says)
    if field is not None:
        assert field in {e["loc"][-1] for e in problem["errors"]}, problem


def test_named_people_must_hold_a_registration_at_the_event(client, exchange):
    x = exchange
    r = client.post(x.programme, headers=x.keys["ac"], json=item_body(
        audience="people", participant_ids=[x.person("karen"), x.person("stranger")]))
    problem = assert_problem(r, 422, contains="no registration")
    assert problem["participant_ids"] == [x.person("stranger")]


def test_an_all_day_events_items_lie_within_its_days(client, exchange, make_event):
    x = exchange
    fair = make_event(x.cities["ashgabat"], [x.cities["albuquerque"]], all_day=True,
                      start_date="2027-06-01", end_date="2027-06-02", status="confirmed")
    url = f"/api/v1/events/{fair.id}/programme"
    ok = client.post(url, headers=x.keys["ac"], json=item_body(
        starts_at="2027-06-02T22:00", ends_at="2027-06-03T00:00"))
    assert ok.status_code == 201, ok.text
    late = client.post(url, headers=x.keys["ac"], json=item_body(
        starts_at="2027-06-02T23:00", ends_at="2027-06-03T00:30"))
    assert_problem(late, 422, contains="2027-06-01 to 2027-06-02 (Asia/Ashgabat)")


def test_cancelled_and_completed_events_refuse_programme_changes(
        client, exchange, make_event, session):
    x = exchange
    item = add_item(client, x)
    tag = etag_of(client, x, item)
    cancelled = client.post(f"/api/v1/events/{x.event.id}/cancel", headers=x.keys["ac"],
                            json={"reason": "Flights cancelled"})
    assert cancelled.status_code == 200, cancelled.text
    assert_problem(client.post(x.programme, json=item_body(), headers=x.keys["ac"]), 409,
                   contains="cancelled")
    assert_problem(client.patch(item_url(item), json={"title": "x"},
                                headers=x.keys["ac"] | {"If-Match": tag}), 409)
    assert_problem(client.delete(item_url(item), headers=x.keys["ac"]), 409)
    done = make_event(x.cities["ashgabat"], [x.cities["albuquerque"]], status="completed")
    assert_problem(client.post(f"/api/v1/events/{done.id}/programme", json=item_body(
        starts_at="2027-05-20T11:00", ends_at="2027-05-20T12:00"), headers=x.keys["ac"]),
        409, contains="completed")


def test_a_mirrored_event_refuses_programme_changes(client, exchange, session):
    x = exchange
    calendar = register_calendar(session, x.cities["ashgabat"].id, ExternalCalendarCreate(
        name="Ashgabat: events", url="https://calendar.example.tm/events.ics"), SYSTEM)
    mirrored = Event(
        host_city_id=x.cities["ashgabat"].id, kind=EventKind.culture, title="Mirrored",
        status=EventStatus.confirmed, timezone="Asia/Ashgabat",
        starts_at_local=datetime(2027, 5, 1, 10), ends_at_local=datetime(2027, 5, 1, 12),
        starts_at_utc=datetime(2027, 5, 1, 5, tzinfo=UTC),
        ends_at_utc=datetime(2027, 5, 1, 7, tzinfo=UTC),
        external_calendar_id=calendar.id, external_uid="mirrored@example.tm")
    session.add(mirrored)
    session.commit()
    r = client.post(f"/api/v1/events/{mirrored.id}/programme", headers=x.keys["ac"],
                    json=item_body(starts_at="2027-05-01T10:30", ends_at="2027-05-01T11:00"))
    assert_problem(r, 409, contains="mirrored")


def test_patch_needs_if_match_and_raises_the_sequence(client, exchange, facts):
    x = exchange
    item = add_item(client, x, audience="role", role="student")
    url = item_url(item)
    assert_problem(client.patch(url, json={"title": "New"}, headers=x.keys["ac"]), 428)
    stale = x.keys["ac"] | {"If-Match": '"item-0-0"'}
    assert_problem(client.patch(url, json={"title": "New"}, headers=stale), 412)
    tag = etag_of(client, x, item)
    r = client.patch(url, headers=x.keys["ac"] | {"If-Match": tag}, json={
        "title": "Radio interview", "audience": "people",
        "participant_ids": [x.person("karen"), x.person("karen")]})
    assert r.status_code == 200, r.text
    changed = r.json()
    assert (changed["sequence"], changed["audience"], changed["role"]) == (1, "people", None)
    assert changed["people"] == [{"id": x.person("karen"), "full_name": "Karen Whitfield"}]
    assert r.headers["ETag"] == f'"item-{item["id"]}-1"'
    # Those the item was for before the change are told too.
    assert facts[-1].action == "changed"
    assert set(facts[-1].participant_ids) == {x.person(p) for p in ("isabella", "diego",
                                                                    "aylar", "karen")}
    # Sending what is already there changes nothing.
    same = client.patch(url, headers=x.keys["ac"] | {"If-Match": r.headers["ETag"]},
                        json={"title": "Radio interview"})
    assert same.json()["sequence"] == 1
    for body in ({"title": None}, {"audience": "role"}, {"role": "student"},
                 {"participant_ids": [x.person("stranger")]},
                 {"ends_at": "2027-05-27T10:00"}):
        assert_problem(client.patch(url, json=body, headers=x.keys["ac"] | {
            "If-Match": r.headers["ETag"]}), 422)


def test_delete_removes_the_item_and_tells_whom_it_concerned(client, exchange, facts, session):
    x = exchange
    item = add_item(client, x, audience="role", role="chaperone")
    assert_problem(client.delete(item_url(item), headers=x.keys["ac"] | {
        "If-Match": '"item-0-9"'}), 412)
    r = client.delete(item_url(item), headers=x.keys["ac"])
    assert r.status_code == 204, r.text
    assert_problem(client.get(item_url(item), headers=x.keys["ac"]), 404)
    assert (facts[-1].action, facts[-1].participant_ids) == ("removed", (x.person("karen"),))
    assert session.exec(select(ProgrammeItem)).all() == []


# Who may do what ---------------------------------------------------------------------

WRITE = {"anonymous": 401, "admin": 201, "ac": 201, "ap": 403, "bc": 403, "bp": 403,
         "kc": 403, "kp": 403}


@pytest.mark.parametrize(("who", "expected"), WRITE.items())
def test_only_the_hosts_coordinator_and_admins_write(client, exchange, who, expected):
    x = exchange
    r = client.post(x.programme, json=item_body(), headers=x.keys[who])
    assert r.status_code == expected, r.text
    # Public, so that every key sees it: a caller who cannot see an item gets a 404.
    item = add_item(client, x, public=True)
    tag = etag_of(client, x, item)
    patched = client.patch(item_url(item), json={"title": "Changed"},
                           headers=x.keys[who] | {"If-Match": tag})
    assert patched.status_code == (200 if expected == 201 else expected), patched.text
    deleted = client.delete(item_url(item), headers=x.keys[who])
    assert deleted.status_code == (204 if expected == 201 else expected), deleted.text


# Callers who see the event: every item for its cities, public ones for the others.
READ_ALL = {"admin": True, "ac": True, "ap": True, "bc": True, "bp": True,
            "kc": False, "kp": False, "anonymous": False}


@pytest.mark.parametrize(("who", "sees_all"), READ_ALL.items())
def test_the_events_cities_read_every_item_others_the_public_ones(
        client, exchange, who, sees_all):
    x = exchange
    public = add_item(client, x, public=True)
    private = add_item(client, x, title="Chaperones' meeting", audience="role",
                       role="chaperone", starts_at="2027-05-21T15:00",
                       ends_at="2027-05-21T16:30")
    r = client.get(x.programme, headers=x.keys[who])
    assert r.status_code == 200, r.text
    listed = [i["id"] for i in r.json()["items"]]
    assert listed == ([public["id"], private["id"]] if sees_all else [public["id"]])
    assert client.get(item_url(private), headers=x.keys[who]).status_code == (
        200 if sees_all else 404)
    assert client.get(item_url(public), headers=x.keys[who]).status_code == 200


def test_a_hidden_events_programme_is_404_like_the_event(client, exchange, session):
    x = exchange
    item = add_item(client, x, public=True)
    event = session.get(Event, x.event.id)
    event.visibility = "partners"
    session.add(event)
    session.commit()
    for who in ("kc", "anonymous"):
        assert_problem(client.get(x.programme, headers=x.keys[who]), 404)
        assert_problem(client.get(item_url(item), headers=x.keys[who]), 404)
        if who == "kc":
            assert_problem(client.post(x.programme, json=item_body(), headers=x.keys[who]), 404)
    assert client.get(x.programme, headers=x.keys["bp"]).status_code == 200


# Each sees the named people of the cities it coordinates: the host all of them.
NAMED = {"admin": {"karen", "aylar"}, "ac": {"karen", "aylar"}, "bc": {"karen"},
         "ap": None, "bp": None}


@pytest.mark.parametrize(("who", "names"), NAMED.items())
def test_named_people_are_shown_only_to_the_coordinators_concerned(
        client, exchange, who, names):
    x = exchange
    item = add_item(client, x, audience="people",
                    participant_ids=[x.person("karen"), x.person("aylar")])
    for seen in (client.get(item_url(item), headers=x.keys[who]).json(),
                 client.get(x.programme, headers=x.keys[who]).json()["items"][0]):
        shown = seen["people"]
        if names is None:
            assert shown is None
        else:
            assert {p["id"] for p in shown} == {x.person(n) for n in names}


# The event moves ------------------------------------------------------------------------


def move_event(client, x: Exchange, **dates: str) -> Any:
    return client.patch(f"/api/v1/events/{x.event.id}", json=dates,
                        headers=x.keys["ac"] | {"If-Match": event_etag(client, x)})


def test_an_event_moved_as_a_whole_takes_its_programme_along(client, exchange):
    x = exchange
    item = add_item(client, x)
    r = move_event(client, x, starts_at="2027-06-03T09:00", ends_at="2027-06-09T18:00")
    assert r.status_code == 200, r.text
    moved = client.get(item_url(item), headers=x.keys["ac"]).json()
    assert (moved["starts_at"], moved["ends_at"], moved["sequence"]) == (
        "2027-06-03T17:00:00+05:00", "2027-06-03T18:30:00+05:00", 1)


def test_a_shortened_event_that_would_cut_items_off_is_refused(client, exchange, session):
    x = exchange
    first = add_item(client, x)
    farewell = add_item(client, x, title="Farewell", starts_at="2027-05-26T12:00",
                        ends_at="2027-05-26T15:00")
    r = move_event(client, x, ends_at="2027-05-25T18:00")
    problem = assert_problem(r, 409, contains="Farewell")
    assert problem["item_ids"] == [farewell["id"]]
    # Shortened without cutting anything: the items stay as they are.
    r = move_event(client, x, ends_at="2027-05-26T16:00")
    assert r.status_code == 200, r.text
    kept = client.get(item_url(first), headers=x.keys["ac"]).json()
    assert (kept["starts_at"], kept["sequence"]) == ("2027-05-20T17:00:00+05:00", 0)


def test_a_new_zone_keeps_the_items_wall_clock_times(client, exchange):
    x = exchange
    item = add_item(client, x)
    r = move_event(client, x, timezone="Europe/Istanbul")
    assert r.status_code == 200, r.text
    kept = client.get(item_url(item), headers=x.keys["ac"]).json()
    assert (kept["timezone"], kept["starts_at"]) == ("Europe/Istanbul", "2027-05-20T17:00:00+03:00")
