"""Every write endpoint against every kind of caller: the policies decide, the
status says so. (The rows below this file's first nine were checked against the
code from before the policies moved out of the routers: same statuses.)

Each caller comes twice: as an API key of its role and city, and as a signed-in
person acting in a membership of that role and city (a session cookie with its
CSRF token). One actor model: the table is the same for both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlmodel import Session

from app.accounts import sessions
from app.accounts.models import InvitationCreate
from app.accounts.service import (
    add_membership,
    create_invitation,
    create_user,
    revoke_membership,
)
from app.calendars.models import FeedTokenCreate
from app.calendars.tokens import create_feed_token
from app.core.actors import SYSTEM, Actor, Role
from app.events.proposal_models import EventProposalCreate
from app.events.proposals import propose
from app.hosting.models import HostFamilyCreate
from app.hosting.service import create_family
from app.keys.service import find_active_key, revoke_api_key
from app.mirrors.models import ExternalCalendarCreate
from app.mirrors.service import register_calendar
from app.notifications.models import (
    Channel,
    Notification,
    NotificationStatus,
    Topic,
    WebhookEndpointCreate,
)
from app.notifications.webhooks import create_endpoint
from app.programme.models import ProgrammeItemCreate
from app.programme.service import create_item
from app.travel.models import JourneyCreate
from app.travel.service import create_journey
from app.twins.models import Shortlisting, TwinSearchCreate
from app.twins.service import create_search, shortlist
from tests.factories import (
    new_city,
    new_event,
    new_key,
    new_participant,
    new_partnership,
    new_registration,
)

CALLERS = ["anonymous", "revoked", "admin", "coordinator", "coordinator_elsewhere", "partner"]
VIA = ["key", "person"]


@dataclass
class World:
    ids: dict[str, int]
    headers: dict[str, dict[str, str]]
    people: dict[str, dict[str, str]]


def _person(session: Session, name: str, role: Role, city: Any = None,
            revoked: bool = False) -> dict[str, str]:
    """A signed-in person acting in one membership: their cookie and CSRF header."""
    user = create_user(session, email=f"{name}@example.org", display_name=name, password=None)
    membership = add_membership(session, user, role, city.id if city else None)
    row, secret = sessions.start(session, user, membership_id=membership.id, client=None,
                                 user_agent=None)
    if revoked:
        revoke_membership(session, membership.id or 0, SYSTEM)
    return {"Cookie": f"{sessions.COOKIE}={secret}", sessions.CSRF_HEADER: row.csrf_token}


@pytest.fixture
def world(session: Session) -> World:
    """Cities, twinnings, keys of every kind, an event under way with people registered,
    a feed token, a webhook endpoint and a dead notification; committed once."""
    own, elsewhere, third = (new_city(session, "Kostroma"), new_city(session, "Mary", "TM"),
                             new_city(session, "Turkmenabat", "TM"))
    spare = new_city(session, "Lanzhou", "CN", timezone="Asia/Shanghai")
    own_partnership = new_partnership(session, own, elsewhere)
    foreign_partnership = new_partnership(session, elsewhere, third)
    revoked = new_key(session, Role.admin)
    key = find_active_key(session, revoked["Authorization"].removeprefix("Bearer "))
    assert key is not None and key.id is not None
    revoke_api_key(session, key.id, SYSTEM)
    # Begun in the past, so that check-in is possible.
    event = new_event(session, own, [elsewhere], starts_at="2020-05-20T10:00",
                      ends_at="2021-05-01T18:00")
    people = {name: new_participant(session, own, age=age, on=date(2020, 5, 20))
              for name, age in (("person", 40), ("spare", 39), ("minor", 5), ("regular", 38))}
    registrations = {name: new_registration(session, event, people[name]).id
                     for name in ("minor", "regular")}
    # A guest of the twin, for what concerns guests (needs, placement).
    guest = new_participant(session, elsewhere, age=35, on=date(2020, 5, 20))
    new_registration(session, event, guest)
    # The exchange itself: a programme item, a journey and a host family of the own city.
    item = create_item(session, event.id or 0, ProgrammeItemCreate(
        title="Welcome", starts_at=datetime(2020, 5, 20, 11), ends_at=datetime(2020, 5, 20, 12)),
        SYSTEM)
    journey, _ = create_journey(session, event.id or 0, JourneyCreate(
        direction="arrival", mode="train", from_place="Yaroslavl", to_place="Kostroma",
        at=datetime(2020, 5, 20, 8), traveller_ids=[people["regular"].id or 0]), SYSTEM)
    family = create_family(session, own.id or 0, HostFamilyCreate(
        household_name="Ivanov family", places=2), SYSTEM)
    token, _ = create_feed_token(session, FeedTokenCreate(city_id=own.id), Actor(Role.admin))
    endpoint = create_endpoint(session, WebhookEndpointCreate(
        city_id=own.id, url="https://hooks.example.org/twinplan",
        event_types=[Topic.event_created]), SYSTEM)
    now = datetime.now(UTC)
    dead = Notification(key="dead:1", message_id="msg_dead1", channel=Channel.webhook,
                        topic=Topic.event_created, recipient=str(endpoint.id), city_id=own.id,
                        status=NotificationStatus.dead, due_at=now, available_at=now,
                        attempts=8)
    session.add(dead)
    headers = {
        "anonymous": {},
        "revoked": revoked,
        "admin": new_key(session, Role.admin),
        "coordinator": new_key(session, Role.coordinator, own),
        "coordinator_elsewhere": new_key(session, Role.coordinator, third),
        "partner": new_key(session, Role.partner, own),
    }
    signed_in = {
        "anonymous": {},
        "revoked": _person(session, "revoked", Role.admin, revoked=True),
        "admin": _person(session, "admin", Role.admin),
        "coordinator": _person(session, "coordinator", Role.coordinator, own),
        "coordinator_elsewhere": _person(session, "elsewhere", Role.coordinator, third),
        "partner": _person(session, "partner", Role.partner, own),
    }
    member = create_user(session, email="member@example.org", display_name="Member",
                         password=None)
    membership = add_membership(session, member, Role.partner, own.id)
    to_disable = create_user(session, email="leaver@example.org", display_name="Leaver",
                             password=None)
    invitation, _ = create_invitation(session, InvitationCreate(
        email="invitee@example.org", role=Role.coordinator, city_id=own.id), SYSTEM)
    # Proposals between the twins: one the own city is asked to host, one it made.
    proposals = {
        name: propose(session, EventProposalCreate(
            kind="culture", title="Film week", host_city_id=host.id or 0,
            proposer_city_id=proposer.id, starts_at=datetime(2027, 5, 20, 10),
            ends_at=datetime(2027, 5, 22, 18)), SYSTEM).id
        for name, host, proposer in (("proposal_to_own", own, elsewhere),
                                     ("proposal_by_own", elsewhere, own))
    }
    search = create_search(session, own.id or 0, TwinSearchCreate(countries=["TM", "CN"]), SYSTEM)
    shortlist(session, search.id, Shortlisting(city_id=spare.id or 0), SYSTEM)
    calendar = register_calendar(session, own.id or 0, ExternalCalendarCreate(
        name="Kostroma", url="https://93.184.215.14/kostroma.ics"), SYSTEM)
    session.commit()
    return World(
        people=signed_in,
        ids={"own": own.id, "elsewhere": elsewhere.id, "spare": spare.id,
             "invitation": invitation.id, "membership": membership.id,
             "user": to_disable.id,
             "own_partnership": own_partnership.id,
             "foreign_partnership": foreign_partnership.id, "revoked_key_id": key.id,
             "event": event.id,
             "person": people["person"].id, "spare_person": people["spare"].id,
             "regular_person": people["regular"].id,
             "minor_registration": registrations["minor"],
             "registration": registrations["regular"], "token": token.id,
             "endpoint": endpoint.id, "dead": dead.id, "search": search.id,
             "third": third.id, "calendar": calendar.id, "guest": guest.id,
             "item": item.id, "journey": journey.id, "family": family.id, **proposals},
        headers=headers,
    )


def _expect(admin: int, coordinator: int, elsewhere: int, partner: int) -> dict[str, int]:
    return {"admin": admin, "coordinator": coordinator, "coordinator_elsewhere": elsewhere,
            "partner": partner}


# (name, method, path template, json body, expected status per caller; 401 for the rest)
WRITES: list[tuple[str, str, str, dict[str, Any] | None, dict[str, int]]] = [
    ("create city", "POST", "/api/v1/cities",
     {"name": "Dijon", "country_code": "FR"},
     {"admin": 201, "coordinator": 403, "coordinator_elsewhere": 403, "partner": 403}),
    ("update own city", "PATCH", "/api/v1/cities/{own}", {"population": 270_000},
     {"admin": 200, "coordinator": 200, "coordinator_elsewhere": 403, "partner": 403}),
    ("delete a city", "DELETE", "/api/v1/cities/{spare}", None,
     {"admin": 204, "coordinator": 403, "coordinator_elsewhere": 403, "partner": 403}),
    ("create partnership of own city", "POST", "/api/v1/partnerships",
     {"city_a_id": "{own}", "city_b_id": "{spare}"},
     {"admin": 201, "coordinator": 201, "coordinator_elsewhere": 403, "partner": 403}),
    ("update partnership of own city", "PATCH", "/api/v1/partnerships/{own_partnership}",
     {"notes": "renewed"},
     {"admin": 200, "coordinator": 200, "coordinator_elsewhere": 403, "partner": 403}),
    ("update another city's partnership", "PATCH",
     "/api/v1/partnerships/{foreign_partnership}", {"notes": "hijacked"},
     {"admin": 200, "coordinator": 403, "coordinator_elsewhere": 200, "partner": 403}),
    ("create API key", "POST", "/api/v1/api-keys", {"name": "x", "role": "admin"},
     {"admin": 201, "coordinator": 403, "coordinator_elsewhere": 403, "partner": 403}),
    # A signed-in person lists the keys they made themselves (none here).
    # A read, but of every write: the data audit (its own matrix: tests/audit).
    ("read the data audit", "GET", "/api/v1/audit", None, _expect(200, 200, 200, 403)),
    ("list API keys", "GET", "/api/v1/api-keys", None,
     {"admin": 200, "coordinator": 403, "coordinator_elsewhere": 403, "partner": 403,
      "person:coordinator": 200, "person:coordinator_elsewhere": 200, "person:partner": 200}),
    # Someone else's key: it does not exist for them.
    ("revoke API key", "POST", "/api/v1/api-keys/{revoked_key_id}/revoke", None,
     {"admin": 200, "coordinator": 404, "coordinator_elsewhere": 404, "partner": 404}),
    ("invite a coordinator of own city", "POST", "/api/v1/invitations",
     {"email": "new@example.org", "role": "coordinator", "city_id": "{own}"},
     _expect(201, 201, 403, 403)),
    ("invite an admin", "POST", "/api/v1/invitations",
     {"email": "boss@example.org", "role": "admin"}, _expect(201, 403, 403, 403)),
    ("revoke invitation", "POST", "/api/v1/invitations/{invitation}/revoke", None,
     _expect(200, 200, 404, 404)),
    ("revoke membership", "POST", "/api/v1/memberships/{membership}/revoke", None,
     _expect(200, 200, 404, 404)),
    ("disable user", "POST", "/api/v1/users/{user}/disable", None,
     _expect(200, 403, 403, 403)),
    # About oneself: a person (any role) may; a machine's key has nobody to speak for.
    ("stop a kind of reminder for oneself", "PUT", "/api/v1/me/reminders/twin_cities_day",
     {"enabled": False},
     {**_expect(403, 403, 403, 403), "person:admin": 200, "person:coordinator": 200,
      "person:coordinator_elsewhere": 200, "person:partner": 200}),
    ("create event", "POST", "/api/v1/events",
     {"kind": "culture", "title": "Film week", "host_city_id": "{own}",
      "guest_city_ids": ["{elsewhere}"], "starts_at": "2027-05-20T10:00",
      "ends_at": "2027-05-22T18:00"},
     _expect(201, 201, 403, 403)),
    ("update event", "PATCH", "/api/v1/events/{event}", {"title": "Renamed"},
     _expect(200, 200, 403, 403)),
    ("cancel event", "POST", "/api/v1/events/{event}/cancel", {"reason": "rain"},
     _expect(200, 200, 403, 403)),
    # Proposals between twins (tests/events/test_proposals.py has the whole matrix): the
    # proposing city's coordinator proposes and withdraws, the host's answers. A city
    # that is neither side cannot see the proposal (404); a partner system only reads.
    ("propose an exchange to a twin", "POST", "/api/v1/event-proposals",
     {"kind": "culture", "title": "Choir tour", "host_city_id": "{elsewhere}",
      "proposer_city_id": "{own}", "starts_at": "2027-06-20T10:00",
      "ends_at": "2027-06-22T18:00"}, _expect(201, 201, 403, 403)),
    ("accept a proposal", "POST", "/api/v1/events/{proposal_to_own}/accept", {},
     _expect(200, 200, 404, 403)),
    ("counter a proposal", "POST", "/api/v1/events/{proposal_to_own}/counter",
     {"starts_at": "2027-06-01T10:00", "ends_at": "2027-06-02T10:00"},
     _expect(200, 200, 404, 403)),
    ("decline a proposal", "POST", "/api/v1/events/{proposal_to_own}/decline",
     {"reason": "full"}, _expect(200, 200, 404, 403)),
    ("withdraw a proposal", "POST", "/api/v1/events/{proposal_by_own}/withdraw",
     {"reason": "ill"}, _expect(200, 200, 404, 403)),
    ("create participant", "POST", "/api/v1/participants",
     {"full_name": "Anna", "home_city_id": "{own}"}, _expect(201, 201, 403, 201)),
    ("update participant", "PATCH", "/api/v1/participants/{person}", {"phone": "+7 4942 31"},
     _expect(200, 200, 404, 200)),
    ("erase participant", "DELETE", "/api/v1/participants/{person}", None,
     _expect(204, 204, 404, 204)),
    ("register", "POST", "/api/v1/events/{event}/registrations",
     # Elsewhere cannot see the person, who therefore does not exist for it (422).
     {"participant_id": "{spare_person}", "role": "delegate"}, _expect(201, 201, 422, 201)),
    ("record consent", "POST", "/api/v1/registrations/{minor_registration}/consent",
     {"guardian_name": "Parent"}, _expect(200, 200, 404, 200)),
    ("cancel registration", "POST", "/api/v1/registrations/{registration}/cancel",
     {"reason": "ill"}, _expect(200, 200, 404, 200)),
    ("check in", "POST", "/api/v1/registrations/{registration}/check-in",
     {"outcome": "attended"}, _expect(200, 200, 404, 403)),
    ("issue city feed token", "POST", "/api/v1/feed-tokens", {"city_id": "{own}"},
     _expect(201, 201, 403, 403)),
    ("revoke feed token", "POST", "/api/v1/feed-tokens/{token}/revoke", None,
     _expect(200, 200, 404, 404)),
    ("change reminder rules", "PATCH", "/api/v1/cities/{own}/reminder-rules", {"hour": 10},
     _expect(200, 200, 403, 403)),
    ("retry notification", "POST", "/api/v1/notifications/{dead}/retry", None,
     _expect(200, 200, 404, 403)),
    ("create webhook endpoint", "POST", "/api/v1/webhook-endpoints",
     {"city_id": "{own}", "url": "https://hooks.example.org/other",
      "event_types": ["event.updated"]}, _expect(201, 201, 403, 201)),
    ("update webhook endpoint", "PATCH", "/api/v1/webhook-endpoints/{endpoint}",
     {"description": "city hall registry"}, _expect(200, 200, 404, 200)),
    ("delete webhook endpoint", "DELETE", "/api/v1/webhook-endpoints/{endpoint}", None,
     _expect(204, 204, 404, 204)),
    ("rotate webhook secret", "POST", "/api/v1/webhook-endpoints/{endpoint}/rotate-secret",
     None, _expect(200, 200, 404, 200)),
    # An admin must say whose delegation (422 without city_id); a CSV route sent JSON is
    # 415 once past the gate. tests/participants/test_delegations.py does the rest.
    ("upload a delegation", "POST", "/api/v1/events/{event}/delegations",
     {"people": [{"full_name": "A", "role": "delegate"}]}, _expect(422, 201, 403, 201)),
    ("upload a delegation as CSV", "POST", "/api/v1/events/{event}/delegations/csv", None,
     _expect(415, 415, 415, 415)),
    ("redeliver a webhook", "POST",
     "/api/v1/webhook-endpoints/{endpoint}/deliveries/{dead}/redeliver", None,
     _expect(201, 201, 404, 201)),
    # A city's search for a twin: its coordinators work it; its partner systems read it.
    ("open a twin search", "POST", "/api/v1/cities/{own}/twin-searches", {"countries": ["TM"]},
     _expect(201, 201, 403, 403)),
    ("change a twin search", "PATCH", "/api/v1/twin-searches/{search}", {"notes": "Mary?"},
     _expect(200, 200, 403, 403)),
    ("shortlist a candidate", "POST", "/api/v1/twin-searches/{search}/candidates",
     {"city_id": "{third}"}, _expect(201, 201, 403, 403)),
    ("answer for a candidate", "PATCH", "/api/v1/twin-searches/{search}/candidates/{spare}",
     {"state": "contacted"}, _expect(200, 200, 403, 403)),
    ("propose to a candidate", "POST",
     "/api/v1/twin-searches/{search}/candidates/{spare}/propose", None,
     _expect(201, 201, 403, 403)),
    # A city's mirrored calendars: its coordinators manage them (tests/mirrors).
    ("register an external calendar", "POST", "/api/v1/cities/{own}/external-calendars",
     {"name": "Mary", "url": "https://93.184.215.14/mary.ics"}, _expect(201, 201, 403, 403)),
    ("poll an external calendar now", "POST", "/api/v1/external-calendars/{calendar}/poll",
     None, _expect(202, 202, 404, 403)),
    ("delete an external calendar", "DELETE", "/api/v1/external-calendars/{calendar}", None,
     _expect(204, 204, 404, 403)),
    # The exchange itself (tests/programme, tests/travel, tests/hosting, tests/documents
    # have each part's whole matrix). The programme is the host's.
    ("add a programme item", "POST", "/api/v1/events/{event}/programme",
     {"title": "Concert", "starts_at": "2020-05-21T18:00", "ends_at": "2020-05-21T20:00"},
     _expect(201, 201, 403, 403)),
    ("change a programme item", "PATCH", "/api/v1/programme-items/{item}", {"title": "Hello"},
     _expect(200, 200, 404, 403)),
    ("remove a programme item", "DELETE", "/api/v1/programme-items/{item}", None,
     _expect(204, 204, 404, 403)),
    # Travel: the travellers' home city, its partner system included (here the host's).
    ("record a journey", "POST", "/api/v1/events/{event}/journeys",
     {"direction": "departure", "mode": "train", "from_place": "Kostroma",
      "to_place": "Yaroslavl", "at": "2021-05-01T20:00", "traveller_ids": ["{regular_person}"]},
     _expect(201, 201, 403, 201)),
    ("change a journey", "PATCH", "/api/v1/journeys/{journey}", {"notes": "late"},
     _expect(200, 200, 404, 200)),
    ("delete a journey", "DELETE", "/api/v1/journeys/{journey}", None,
     _expect(204, 204, 404, 204)),
    # Host families are the host city's coordinators' (personal data).
    ("add a host family", "POST", "/api/v1/cities/{own}/host-families",
     {"household_name": "Petrov family", "places": 1}, _expect(201, 201, 403, 403)),
    ("change a host family", "PATCH", "/api/v1/host-families/{family}", {"places": 3},
     _expect(200, 200, 404, 404)),
    ("delete a host family", "DELETE", "/api/v1/host-families/{family}", None,
     _expect(204, 204, 404, 404)),
    # A guest's needs are written by the guest's home city (Mary here: none of the callers).
    ("record a guest's needs", "PUT", "/api/v1/events/{event}/guests/{guest}/needs",
     {"diets": ["vegetarian"]}, _expect(200, 403, 404, 404)),
    # Placement is the host's, at youth and school exchanges only (this one is not: 409).
    ("propose a placement", "POST", "/api/v1/events/{event}/placement", {},
     _expect(409, 409, 403, 403)),
    ("confirm a placement", "PATCH", "/api/v1/events/{event}/placement",
     {"status": "confirmed"}, _expect(409, 409, 403, 403)),
    ("move a guest", "PUT", "/api/v1/events/{event}/placement/{guest}", {"family_id": "{family}"},
     _expect(409, 409, 403, 403)),
    ("set the letterhead", "PUT", "/api/v1/cities/{own}/letterhead",
     {"office_name": "Kostroma City Administration"}, _expect(200, 200, 403, 403)),
]


def _fill(value: Any, w: World) -> Any:
    if isinstance(value, str):
        for k, v in w.ids.items():
            if value == "{" + k + "}":
                return v
            value = value.replace("{" + k + "}", str(v))
        return value
    if isinstance(value, dict):
        return {k: _fill(v, w) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, w) for v in value]
    return value


@pytest.mark.parametrize("via", VIA)
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("name", "method", "path", "body", "expected"), WRITES,
                         ids=[w[0] for w in WRITES])
def test_write_endpoint_roles(client, world, via, caller, name, method, path, body, expected):
    # Anonymous callers, revoked keys and memberships: 401. "person:<caller>" is where a
    # signed-in person differs from a key.
    want = expected.get(f"{via}:{caller}", expected.get(caller, 401))
    credentials = world.headers if via == "key" else world.people
    headers = {**credentials[caller], "If-Match": "*"}
    r = client.request(method, _fill(path, world), json=_fill(body, world), headers=headers)
    assert r.status_code == want, f"{name} as {caller}: {r.status_code} {r.text}"
    if want >= 400:
        assert r.headers["content-type"].startswith("application/problem+json")


# Writes about the caller's own sign-in (tests/accounts), and those made before
# anyone is signed in (sign in, accept an invitation, reset a password).
SELF_SERVICE = {
    ("POST", "/api/v1/session"), ("DELETE", "/api/v1/session"),
    ("PUT", "/api/v1/session/acting"), ("POST", "/api/v1/session/sign-out-everywhere"),
    ("POST", "/api/v1/session/totp"), ("POST", "/api/v1/session/totp/confirm"),
    ("POST", "/api/v1/invitations/accept"), ("POST", "/api/v1/password-reset"),
    ("POST", "/api/v1/password-reset/confirm"),
    # One's own reminders: the row "stop a kind of reminder for oneself" tries one kind.
    ("PUT", "/api/v1/me/reminders/{}"), ("PATCH", "/api/v1/me"),
}


def test_the_table_covers_every_write(client):
    def shape(path: str) -> str:
        return re.sub(r"\{[^}]+\}", "{}", path)

    covered = {(method, shape(path)) for _, method, path, _, _ in WRITES} | SELF_SERVICE
    spec = client.get("/openapi.json").json()["paths"]
    writes = {
        (method.upper(), shape(path))
        for path, operations in spec.items()
        for method in operations
        if method in {"post", "put", "patch", "delete"} and path.startswith("/api/")
    }
    assert writes <= covered, sorted(writes - covered)


def test_refused_write_changes_nothing(client, world):
    before = client.get(f"/api/v1/cities/{world.ids['own']}").json()
    r = client.patch(f"/api/v1/cities/{world.ids['own']}", json={"name": "Hacked"},
                     headers=world.headers["coordinator_elsewhere"])
    assert r.status_code == 403
    assert client.get(f"/api/v1/cities/{world.ids['own']}").json() == before


def test_reading_public_data_needs_no_key(client, world):
    assert client.get("/api/v1/cities").status_code == 200
    assert client.get(f"/api/v1/partnerships/{world.ids['own_partnership']}").status_code == 200


def test_malformed_authorization_header_is_401(client, world):
    r = client.post("/api/v1/cities", json={"name": "X", "country_code": "TM"},
                    headers={"Authorization": "Bearer not-a-key"})
    assert r.status_code == 401
    assert "revoked" in r.json()["detail"]


def test_a_key_can_read_itself(client, world):
    r = client.get("/api/v1/api-keys/me", headers=world.headers["coordinator"])
    assert r.status_code == 200
    assert r.json()["role"] == "coordinator" and r.json()["city_id"] == world.ids['own']
    assert "key" not in r.json() and "key_hash" not in r.json()
    assert client.get("/api/v1/api-keys/me").status_code == 401
