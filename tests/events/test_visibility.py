"""Private stays private: one visibility rule on every path that takes an event.

For each visibility (public, partners, private), each caller (anonymous, an
admin, the host's and the guest's coordinator and partner system, a twin of
the host that does not take part, an unrelated city) and each path that reaches
an event (directly, through a registration, a list, a feed or an error
message), the table below says what the caller gets when it may see the event.
When it may not, it gets what it would get for an event that does not exist:
404, or nothing in a list, a feed or a message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from app.calendars.models import FeedTokenCreate
from app.calendars.tokens import create_feed_token
from app.cities.models import City
from app.core.actors import Actor, Role
from app.events.models import Event
from app.notifications.models import Notification, Topic, WebhookEndpointCreate
from app.notifications.webhooks import create_endpoint
from app.participants.models import Participant, Registration
from tests.factories import (
    new_city,
    new_event,
    new_key,
    new_participant,
    new_partnership,
    new_registration,
)

VISIBILITIES = ["public", "partners", "private"]
CALLERS = ["anonymous", "admin", "host_coordinator", "host_partner", "guest_coordinator",
           "guest_partner", "twin_coordinator", "unrelated_coordinator"]
HOST_SIDE = {"admin", "host_coordinator", "host_partner"}
GUEST_SIDE = {"guest_coordinator", "guest_partner"}


def can_see(caller: str, visibility: str) -> bool:
    if visibility == "public" or caller in HOST_SIDE:
        return True
    return visibility == "partners" and caller in GUEST_SIDE


@dataclass
class World:
    event: Event
    other: Event  # public, overlapping ``event``
    people: dict[str, Participant]  # one of each city, by caller
    minor_registration: Registration  # the guest's minor, awaiting consent at ``event``
    registration: Registration  # the guest's adult at ``event``
    agenda_token: str  # the guest adult's agenda feed
    headers: dict[str, dict[str, str]]


def build(session: Session, visibility: str, n: int = 0) -> World:
    """The world of one case; ``n`` tells the cities of several worlds apart."""
    host, guest = new_city(session, f"Kostroma {n}"), new_city(session, f"Mary {n}", "TM")
    twin, unrelated = new_city(session, f"Oryol {n}"), new_city(session, f"Dijon {n}", "FR")
    new_partnership(session, host, guest)
    new_partnership(session, host, twin)
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    # Under way (so that check-in is open), overlapping a public event of the host.
    event = new_event(session, host, [guest], title="Secret summit", start=now - timedelta(days=1),
                      days=5, visibility=visibility, venue="Bunker 7")
    other = new_event(session, host, [guest], title="Open day", start=now, days=1)
    people = {
        "admin": new_participant(session, guest),
        "host_coordinator": new_participant(session, host),
        "host_partner": new_participant(session, host),
        "guest_coordinator": new_participant(session, guest),
        "guest_partner": new_participant(session, guest),
        "twin_coordinator": new_participant(session, twin),
        "unrelated_coordinator": new_participant(session, unrelated),
        "anonymous": new_participant(session, guest),
    }
    adult = new_participant(session, guest)
    minor = new_participant(session, guest, age=12, on=now.date(), guardian_name="Aman")
    registration = new_registration(session, event, adult)
    minor_registration = new_registration(session, event, minor, "student")
    _, secret = create_feed_token(
        session, FeedTokenCreate(participant_id=adult.id), Actor(Role.admin))
    headers = {
        "anonymous": {},
        "admin": new_key(session, Role.admin),
        "host_coordinator": new_key(session, Role.coordinator, host),
        "host_partner": new_key(session, Role.partner, host),
        "guest_coordinator": new_key(session, Role.coordinator, guest),
        "guest_partner": new_key(session, Role.partner, guest),
        "twin_coordinator": new_key(session, Role.coordinator, twin),
        "unrelated_coordinator": new_key(session, Role.coordinator, unrelated),
    }
    session.commit()
    return World(event, other, people, minor_registration, registration, secret, headers)


def listed(found: bool) -> int:
    """A list, feed or message: 200 when the event shows in it, 404 when it does not."""
    return 200 if found else 404


# What each path does, and who may use it on an event they can see (the rest: 403,
# or 401 for anonymous callers on paths that need a key).
Path = Callable[[Any, World, dict[str, str], str], int]


def read(c: Any, w: World, h: dict[str, str], _: str) -> int:
    return c.get(f"/api/v1/events/{w.event.id}", headers=h).status_code


def in_list(c: Any, w: World, h: dict[str, str], _: str) -> int:
    r = c.get(f"/api/v1/events?city_id={w.event.host_city_id}&limit=100", headers=h)
    return listed(w.event.id in [e["id"] for e in r.json()["items"]])


def patch(c: Any, w: World, h: dict[str, str], _: str) -> int:
    return c.patch(f"/api/v1/events/{w.event.id}", json={"title": "Secret summit"},
                   headers=h | {"If-Match": "*"}).status_code


def cancel(c: Any, w: World, h: dict[str, str], _: str) -> int:
    return c.post(f"/api/v1/events/{w.event.id}/cancel", json={"reason": "rain"},
                  headers=h).status_code


def register(c: Any, w: World, h: dict[str, str], caller: str) -> int:
    return c.post(f"/api/v1/events/{w.event.id}/registrations", headers=h,
                  json={"participant_id": w.people[caller].id, "role": "delegate"}).status_code


def registrations(c: Any, w: World, h: dict[str, str], _: str) -> int:
    return c.get(f"/api/v1/events/{w.event.id}/registrations", headers=h).status_code


def readiness(c: Any, w: World, h: dict[str, str], _: str) -> int:
    return c.get(f"/api/v1/events/{w.event.id}/readiness", headers=h).status_code


def read_registration(c: Any, w: World, h: dict[str, str], _: str) -> int:
    return c.get(f"/api/v1/registrations/{w.registration.id}", headers=h).status_code


def consent(c: Any, w: World, h: dict[str, str], _: str) -> int:
    return c.post(f"/api/v1/registrations/{w.minor_registration.id}/consent", headers=h,
                  json={"guardian_name": "Aman"}).status_code


def cancel_registration(c: Any, w: World, h: dict[str, str], _: str) -> int:
    return c.post(f"/api/v1/registrations/{w.registration.id}/cancel", headers=h).status_code


def check_in(c: Any, w: World, h: dict[str, str], _: str) -> int:
    return c.post(f"/api/v1/registrations/{w.registration.id}/check-in", headers=h,
                  json={"outcome": "attended"}).status_code


def in_export(c: Any, w: World, h: dict[str, str], _: str) -> int:
    r = c.get(f"/api/v1/participants/{w.registration.participant_id}/export", headers=h)
    if r.status_code != 200:
        return r.status_code
    return listed(w.event.id in [x["event_id"] for x in r.json()["registrations"]])


def in_agenda_feed(c: Any, w: World, _h: dict[str, str], _: str) -> int:
    """The guest adult's own agenda, handed out by the guest city."""
    body = c.get(f"/calendars/private/{w.agenda_token}.ics").text
    return listed("Secret summit" in body)


def in_public_city_feed(c: Any, w: World, _h: dict[str, str], _: str) -> int:
    body = c.get(f"/calendars/cities/{w.event.host_city_id}.ics").text
    return listed("Secret summit" in body or "Bunker 7" in body)


def named_in_a_clash(c: Any, w: World, h: dict[str, str], _: str) -> int:
    """The guest's adult holds ``event``; registering them for an overlapping public
    event is a 409 that names ``event`` only to those who may see it."""
    r = c.post(f"/api/v1/events/{w.other.id}/registrations", headers=h,
               json={"participant_id": w.registration.participant_id, "role": "delegate"})
    assert r.status_code == 409, r.text
    detail = r.json()["detail"]
    return listed("Secret summit" in detail or r.json().get("event_id") == w.event.id)


# (path, who may use it on a visible event and what they get, callers it applies to)
EVERYONE = set(CALLERS)
WITH_KEY = EVERYONE - {"anonymous"}
TABLE: list[tuple[Path, dict[str, int], set[str]]] = [
    (read, dict.fromkeys(EVERYONE, 200), EVERYONE),
    (in_list, dict.fromkeys(EVERYONE, 200), EVERYONE),
    (patch, {"admin": 200, "host_coordinator": 200}, EVERYONE),
    (cancel, {"admin": 200, "host_coordinator": 200}, EVERYONE),
    (register, dict.fromkeys(HOST_SIDE | GUEST_SIDE, 201), EVERYONE),
    (registrations, dict.fromkeys(HOST_SIDE | GUEST_SIDE, 200), EVERYONE),
    # The host's side sees the event's readiness; a partner system of the host or a
    # guest city sees its own delegation's.
    (readiness, dict.fromkeys(HOST_SIDE | GUEST_SIDE, 200), EVERYONE),
    # A registration is the host's side's and the home city's business; for anyone
    # else it does not exist (404), whatever the event's visibility.
    (read_registration, {"admin": 200, "host_coordinator": 200, "guest_coordinator": 200,
                         "guest_partner": 200}, EVERYONE),
    (consent, {"admin": 200, "guest_coordinator": 200, "guest_partner": 200,
               "host_coordinator": 403}, EVERYONE),
    (cancel_registration, {"admin": 200, "host_coordinator": 200, "guest_coordinator": 200,
                           "guest_partner": 200}, EVERYONE),
    (check_in, {"admin": 200, "host_coordinator": 200, "guest_coordinator": 403,
                "guest_partner": 403}, EVERYONE),
    (in_export, {"admin": 200, "host_coordinator": 200, "guest_coordinator": 200,
                 "guest_partner": 200}, EVERYONE),
    (named_in_a_clash, {"admin": 200, "guest_coordinator": 200, "guest_partner": 200},
     {"admin", "guest_coordinator", "guest_partner"}),
    # Feeds are judged for the city that hands the link out: the guest's agenda
    # link, and the host's public feed (anyone's).
    (in_agenda_feed, {"guest_coordinator": 200}, {"guest_coordinator"}),
    (in_public_city_feed, {"anonymous": 200}, {"anonymous"}),
]
REGISTRATION_PATHS = {read_registration, consent, cancel_registration, check_in, in_export}


def expected(path: Path, allowed: dict[str, int], caller: str, visibility: str) -> int:
    if path is in_agenda_feed:
        return listed(can_see("guest_coordinator", visibility))
    if path is in_public_city_feed:
        return listed(visibility == "public")
    if caller == "anonymous" and path not in (read, in_list):
        return 401
    if not can_see(caller, visibility):
        return 404
    if path in REGISTRATION_PATHS and caller not in allowed:
        return 404
    return allowed.get(caller, 403)


CASES = [
    pytest.param(path, allowed, callers, visibility, id=f"{path.__name__}-{visibility}")
    for path, allowed, callers in TABLE
    for visibility in VISIBILITIES
]


@pytest.mark.parametrize(("path", "allowed", "callers", "visibility"), CASES)
def test_one_visibility_rule_on_every_path(
    client: Any, session: Session, path: Path, allowed: dict[str, int], callers: set[str],
    visibility: str,
) -> None:
    """Every caller of the path, each in a world of its own (a path may change it)."""
    wrong = {}
    for n, caller in enumerate(c for c in CALLERS if c in callers):
        world = build(session, visibility, n)
        got = path(client, world, world.headers[caller], caller)
        want = expected(path, allowed, caller, visibility)
        if got != want:
            wrong[caller] = f"got {got}, want {want}"
    assert not wrong, wrong


def test_a_hidden_event_is_the_same_404_as_a_missing_one(client: Any, session: Session) -> None:
    world = build(session, "private")
    guest = world.headers["guest_coordinator"]
    hidden = client.get(f"/api/v1/events/{world.event.id}/registrations", headers=guest)
    missing = client.get("/api/v1/events/999999/registrations", headers=guest)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"].replace(str(world.event.id), "N") == \
        missing.json()["detail"].replace("999999", "N")


@pytest.mark.parametrize("visibility", VISIBILITIES)
def test_a_city_is_told_only_of_registrations_at_events_it_may_see(
    session: Session, visibility: str
) -> None:
    world = build(session, visibility)
    guest = session.get(City, world.people["guest_coordinator"].home_city_id)
    assert guest is not None
    create_endpoint(session, WebhookEndpointCreate(
        city_id=guest.id, url="https://hooks.example.tm/twinplan",
        event_types=[Topic.registration_changed]), Actor(Role.admin))
    new_registration(session, world.event, new_participant(session, guest))
    told = session.exec(select(Notification).where(Notification.city_id == guest.id)).all()
    assert bool(told) == can_see("guest_coordinator", visibility)
