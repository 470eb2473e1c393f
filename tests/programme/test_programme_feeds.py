"""Programme items in the feeds, as subscribers' calendars read them (ical.js, vobject):
every item in a city's private feed, a person's own items in their agenda, public
items of public events in public feeds; each linked to its exchange, and each
change seen by the feeds' validators."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import select

from app.cities.service import find_partnership
from app.participants.models import Registration
from tests.calendars.conftest import get_feed
from tests.calendars.parsers import read_with_icaljs, read_with_vobject
from tests.programme.conftest import Exchange, add_item

UID_DOMAIN = "twinplan.test"


def event_uid(x: Exchange) -> str:
    return f"twinplan-event-{x.event.id}@{UID_DOMAIN}"


def item_uid(item: dict[str, Any]) -> str:
    return f"twinplan-programme-{item['id']}@{UID_DOMAIN}"


@pytest.fixture
def programme(client, exchange) -> dict[str, dict[str, Any]]:
    """One item of each audience: public and private for everyone, one per role, named."""
    x = exchange
    return {
        "welcome": add_item(client, x, public=True),
        "arrival": add_item(client, x, title="Arrival", starts_at="2027-05-20T09:00",
                            ends_at="2027-05-20T11:00", place=None),
        "school": add_item(client, x, title="School visit", audience="role", role="student",
                           starts_at="2027-05-21T09:00", ends_at="2027-05-21T13:00",
                           notes="Bring your timetable; lunch at the school."),
        "chaperones": add_item(client, x, title="Chaperones' meeting", audience="role",
                               role="chaperone", starts_at="2027-05-21T15:00",
                               ends_at="2027-05-21T16:30"),
        "radio": add_item(client, x, title="Radio interview", audience="people",
                          participant_ids=[x.person("karen"), x.person("isabella")],
                          starts_at="2027-05-24T11:00", ends_at="2027-05-24T12:00"),
    }


def issue(client: Any, headers: dict[str, str], **body: Any) -> str:
    r = client.post("/api/v1/feed-tokens", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["feed_url"]).removeprefix(f"https://{UID_DOMAIN}")


def city_feed(x: Exchange, city: str) -> str:
    return f"/calendars/cities/{x.cities[city].id}.ics"


def read(client: Any, path: str) -> tuple[dict[str, dict[str, Any]], Any]:
    """The feed by UID as ical.js reads it, and vobject's reading (which validates)."""
    body = get_feed(client, path).content
    return {e["uid"]: e for e in read_with_icaljs(body)["events"]}, read_with_vobject(body)


def items_in(events: dict[str, dict[str, Any]], programme: dict[str, dict[str, Any]]
             ) -> set[str]:
    uids = {item_uid(item): name for name, item in programme.items()}
    return {uids[u] for u in events if u in uids}


def test_a_citys_private_feed_shows_every_item_linked_to_the_exchange(
        client, exchange, programme):
    x = exchange
    for city, key in (("ashgabat", "ac"), ("albuquerque", "bc")):
        events, vcal = read(client, issue(client, x.keys[key], city_id=x.cities[city].id))
        assert items_in(events, programme) == set(programme)
        school = events[item_uid(programme["school"])]
        assert school["summary"] == "School visit"
        assert school["properties"]["related-to"]["value"] == event_uid(x)
        assert school["properties"]["related-to"]["params"] == {"reltype": "PARENT"}
        assert school["sequence"] == 0
        assert school["start"] == {"local": "2027-05-21T09:00:00", "isDate": False,
                                   "tzid": "Asia/Ashgabat", "utc": "2027-05-21T04:00:00Z"}
        assert "Bring your timetable" in school["description"]
        assert school["properties"]["class"]["value"] == "PRIVATE"
        assert events[item_uid(programme["welcome"])]["location"] == "Ashgabat city hall"
        # vobject agrees on the instants and the link.
        by_uid = {str(v.uid.value): v for v in vcal.vevent_list}
        vschool = by_uid[item_uid(programme["school"])]
        assert vschool.dtstart.value.astimezone(UTC) == datetime(2027, 5, 21, 4, 0, tzinfo=UTC)
        assert vschool.contents["related-to"][0].value == event_uid(x)
        # No named person appears anywhere in the feed.
        body = get_feed(client, issue(client, x.keys[key], city_id=x.cities[city].id)).content
        assert b"Karen" not in body and b"Isabella" not in body


@pytest.mark.parametrize(("person", "expected"), [
    ("isabella", {"welcome", "arrival", "school", "radio"}),
    ("diego", {"welcome", "arrival", "school"}),
    ("karen", {"welcome", "arrival", "chaperones", "radio"}),
])
def test_a_persons_agenda_shows_the_items_that_concern_them(
        client, exchange, programme, person, expected):
    x = exchange
    path = issue(client, x.keys["bc"], participant_id=x.person(person))
    events, _ = read(client, path)
    assert event_uid(x) in events
    assert items_in(events, programme) == expected
    for name in expected:
        assert events[item_uid(programme[name])]["properties"]["related-to"]["value"] == (
            event_uid(x))


def test_public_feeds_show_only_public_items_of_public_events(
        client, exchange, programme, session):
    x = exchange
    twinning = find_partnership(session, x.cities["ashgabat"].id, x.cities["albuquerque"].id)
    for path in (city_feed(x, "ashgabat"), city_feed(x, "albuquerque"),
                 f"/calendars/partnerships/{twinning.id}.ics"):
        events, _ = read(client, path)
        assert items_in(events, programme) == {"welcome"}, path
        assert events[item_uid(programme["welcome"])]["properties"]["class"]["value"] == (
            "PUBLIC")
    # A partners-only event leaves public feeds with all its items, public or not.
    tag = client.get(f"/api/v1/events/{x.event.id}", headers=x.keys["ac"]).headers["ETag"]
    assert client.patch(f"/api/v1/events/{x.event.id}", json={"visibility": "partners"},
                        headers=x.keys["ac"] | {"If-Match": tag}).status_code == 200
    events, _ = read(client, city_feed(x, "ashgabat"))
    assert events == {}
    private, _ = read(client, issue(client, x.keys["bc"], city_id=x.cities["albuquerque"].id))
    assert items_in(private, programme) == set(programme)


def test_an_item_edit_changes_the_feeds_etag(client, exchange, programme):
    x = exchange
    paths = {
        "public": city_feed(x, "ashgabat"),
        "private": issue(client, x.keys["ac"], city_id=x.cities["ashgabat"].id),
        "agenda": issue(client, x.keys["bc"], participant_id=x.person("isabella")),
    }
    tags = {name: get_feed(client, path).headers["ETag"] for name, path in paths.items()}
    for name, path in paths.items():
        again = client.get(path, headers={"If-None-Match": tags[name]})
        assert again.status_code == 304, (name, again.text)

    item = programme["welcome"]
    url = f"/api/v1/programme-items/{item['id']}"
    tag = client.get(url, headers=x.keys["ac"]).headers["ETag"]
    r = client.patch(url, json={"title": "Welcome by the mayor"},
                     headers=x.keys["ac"] | {"If-Match": tag})
    assert r.status_code == 200, r.text

    for name, path in paths.items():
        after = client.get(path, headers={"If-None-Match": tags[name]})
        assert after.status_code == 200, name
        assert after.headers["ETag"] != tags[name]
        seen = {e["uid"]: e for e in read_with_icaljs(after.content)["events"]}
        assert seen[item_uid(item)]["summary"] == "Welcome by the mayor"
        assert seen[item_uid(item)]["sequence"] == 1


def test_adding_and_removing_an_item_changes_the_feed(client, exchange, programme):
    x = exchange
    path = issue(client, x.keys["ac"], city_id=x.cities["ashgabat"].id)
    first = get_feed(client, path).headers["ETag"]
    added = add_item(client, x, title="Carpet museum", starts_at="2027-05-25T10:00",
                     ends_at="2027-05-25T12:30")
    second = client.get(path, headers={"If-None-Match": first})
    assert second.status_code == 200
    assert item_uid(added) in {e["uid"] for e in read_with_icaljs(second.content)["events"]}
    assert client.delete(f"/api/v1/programme-items/{added['id']}",
                         headers=x.keys["ac"]).status_code == 204
    third = client.get(path, headers={"If-None-Match": second.headers["ETag"]})
    assert third.status_code == 200
    assert item_uid(added) not in {e["uid"] for e in read_with_icaljs(third.content)["events"]}


def test_a_role_change_changes_the_agenda(client, exchange, programme, session):
    """The agenda's items follow the person's role, which is no event's version."""
    x = exchange
    path = issue(client, x.keys["bc"], participant_id=x.person("diego"))
    first = get_feed(client, path)
    registration = session.exec(select(Registration).where(
        Registration.participant_id == x.person("diego"))).one()
    registration.role = "chaperone"
    session.add(registration)
    session.commit()
    second = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200
    events = {e["uid"]: e for e in read_with_icaljs(second.content)["events"]}
    assert items_in(events, programme) == {"welcome", "arrival", "chaperones"}
