"""The data audit (GET /api/v1/audit): every write leaves an entry with who, when,
which row and its fields before and after; secrets and personal data are never
copied; a rolled-back write leaves none; and who may read which entries."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from app.accounts import sessions
from app.accounts.service import add_membership, create_user
from app.audit.models import AuditEntry
from app.audit.service import entries_of
from app.cities.models import City
from app.core import clock
from app.core.actors import SYSTEM, Role
from app.events.models import EventUpdate
from app.events.service import update_event
from app.keys.service import find_active_key
from tests.conftest import assert_problem
from tests.factories import (
    event_body,
    new_city,
    new_event,
    new_key,
    new_participant,
    new_partnership,
    new_registration,
)


@dataclass
class World:
    ids: dict[str, int]
    headers: dict[str, dict[str, str]]
    key_ids: dict[str, int]


def _key(session: Session, role: Role, city: Any = None) -> tuple[dict[str, str], int]:
    header = new_key(session, role, city)
    key = find_active_key(session, header["Authorization"].removeprefix("Bearer "))
    assert key is not None and key.id is not None
    return header, key.id


def _person(session: Session, name: str, role: Role, city: Any) -> tuple[dict[str, str], int]:
    """A signed-in person acting in one membership: their cookie and CSRF header."""
    user = create_user(session, email=f"{name}@example.org", display_name=name, password=None)
    membership = add_membership(session, user, role, city.id)
    row, secret = sessions.start(session, user, membership_id=membership.id, client=None,
                                 user_agent=None)
    assert user.id is not None
    return {"Cookie": f"{sessions.COOKIE}={secret}", sessions.CSRF_HEADER: row.csrf_token}, user.id


@pytest.fixture
def world(session: Session) -> World:
    """Kostroma twinned with Ferrara; Gabrovo twinned with neither. Each has a
    coordinator key and a partner key; Kostroma's coordinator also signs in."""
    kostroma, ferrara = new_city(session, "Kostroma"), new_city(session, "Ferrara", "IT")
    gabrovo = new_city(session, "Gabrovo", "BG")
    partnership = new_partnership(session, kostroma, ferrara)
    # Gabrovo's own twin, the guest of Gabrovo's events.
    sevlievo = new_city(session, "Sevlievo", "BG")
    new_partnership(session, gabrovo, sevlievo)
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    key_ids: dict[str, int] = {}
    headers["admin"], key_ids["admin"] = _key(session, Role.admin)
    for name, city in (("kostroma", kostroma), ("ferrara", ferrara), ("gabrovo", gabrovo)):
        for role in (Role.coordinator, Role.partner):
            headers[f"{name}_{role}"], key_ids[f"{name}_{role}"] = _key(session, role, city)
    headers["kostroma_person"], user_id = _person(session, "anna", Role.coordinator, kostroma)
    session.commit()
    assert kostroma.id and ferrara.id and gabrovo.id and partnership.id
    return World(ids={"kostroma": kostroma.id, "ferrara": ferrara.id, "gabrovo": gabrovo.id,
                      "sevlievo": sevlievo.id or 0,
                      "partnership": partnership.id, "user": user_id},
                 headers=headers, key_ids=key_ids)


def _city(session: Session, world: World, name: str) -> City:
    city = session.get(City, world.ids[name])
    assert city is not None
    return city


def _audit(client: Any, world: World, who: str = "admin", **params: Any) -> dict[str, Any]:
    r = client.get("/api/v1/audit", headers=world.headers[who], params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _create_event(client: Any, session: Session, world: World, who: str = "kostroma_coordinator",
                  host: str = "kostroma", guests: tuple[str, ...] = ("ferrara",),
                  **fields: Any) -> dict[str, Any]:
    r = client.post("/api/v1/events", headers=world.headers[who], json=event_body(
        _city(session, world, host), [_city(session, world, g) for g in guests], **fields))
    assert r.status_code == 201, r.text
    return dict(r.json()) | {"etag": r.headers["etag"]}


# What is recorded ---------------------------------------------------------------------


def test_creating_an_event_records_its_fields_and_the_key(client, session, world):
    event = _create_event(client, session, world, title="Film week")
    [entry] = _audit(client, world, entity=f"event:{event['id']}")["items"]
    assert entry["action"] == "created"
    assert entry["entity_type"] == "event" and entry["entity_id"] == str(event["id"])
    assert entry["before"] is None
    assert entry["after"]["title"] == "Film week"
    assert entry["after"]["host_city_id"] == world.ids["kostroma"]
    assert entry["actor_key_id"] == world.key_ids["kostroma_coordinator"]
    assert entry["actor_user_id"] is None
    assert entry["actor"] == (f"coordinator key {world.key_ids['kostroma_coordinator']} "
                              f"of city {world.ids['kostroma']}")
    assert entry["client_address"] == "testclient"
    # The guest list is its own rows, the host's to read.
    guests = _audit(client, world, entity=f"event_guest:{event['id']}:{world.ids['ferrara']}")
    assert [g["action"] for g in guests["items"]] == ["created"]


def test_patching_an_event_records_only_the_changed_fields_and_the_signed_in_person(
    client, session, world,
):
    event = _create_event(client, session, world, title="Film week", venue="Town hall")
    r = client.patch(f"/api/v1/events/{event['id']}", json={"title": "Film fortnight"},
                     headers=world.headers["kostroma_person"] | {"If-Match": event["etag"]})
    assert r.status_code == 200, r.text
    newest, created = _audit(client, world, entity=f"event:{event['id']}")["items"]
    assert created["action"] == "created"
    assert newest["action"] == "updated"
    assert newest["before"]["title"] == "Film week"
    assert newest["after"]["title"] == "Film fortnight"
    # Only what changed: the title and the bookkeeping that follows it, nothing else.
    assert set(newest["before"]) == set(newest["after"])
    assert set(newest["after"]) <= {"title", "version", "sequence", "updated_at"}
    assert "venue" not in newest["after"]
    assert newest["actor_user_id"] == world.ids["user"]
    assert newest["actor_key_id"] is None
    assert newest["actor"].startswith(f"coordinator user {world.ids['user']}")


def test_cancelling_an_event_records_the_status_and_reason(client, session, world):
    event = _create_event(client, session, world)
    r = client.post(f"/api/v1/events/{event['id']}/cancel", json={"reason": "rain"},
                    headers=world.headers["admin"] | {"If-Match": event["etag"]})
    assert r.status_code == 200, r.text
    newest = _audit(client, world, entity=f"event:{event['id']}")["items"][0]
    assert newest["action"] == "updated"
    assert newest["before"]["status"] != "cancelled"
    assert newest["after"]["status"] == "cancelled"
    assert newest["after"]["cancel_reason"] == "rain"
    assert newest["actor_key_id"] == world.key_ids["admin"]


def test_registering_a_participant_is_seen_by_the_host_and_the_home_city(
    client, session, world, make_participant,
):
    event = _create_event(client, session, world)
    person = make_participant(_city(session, world, "ferrara"), full_name="Giulia Rossi")
    r = client.post(f"/api/v1/events/{event['id']}/registrations",
                    headers=world.headers["ferrara_partner"],
                    json={"participant_id": person.id, "role": "delegate"})
    assert r.status_code == 201, r.text
    registration_id = r.json()["id"]
    entity = f"registration:{registration_id}"
    [entry] = _audit(client, world, entity=entity)["items"]
    assert entry["action"] == "created"
    assert entry["after"]["participant_id"] == person.id
    assert entry["actor_key_id"] == world.key_ids["ferrara_partner"]
    assert len(_audit(client, world, "kostroma_coordinator", entity=entity)["items"]) == 1
    assert len(_audit(client, world, "ferrara_coordinator", entity=entity)["items"]) == 1
    assert _audit(client, world, "gabrovo_coordinator", entity=entity)["items"] == []


def test_a_delegation_upload_records_each_person_and_registration_without_personal_data(
    client, session, world,
):
    event = _create_event(client, session, world, kind="school_exchange")
    r = client.post(f"/api/v1/events/{event['id']}/delegations",
                    headers=world.headers["ferrara_coordinator"], json={"people": [
                        {"full_name": "Marco Bianchi", "role": "chaperone",
                         "birth_date": "1980-01-01", "email": "marco@example.it",
                         "phone": "+39 0532 123456"}]})
    assert r.status_code == 201, r.text
    by_key = _audit(client, world, actor=f"key:{world.key_ids['ferrara_coordinator']}")["items"]
    kinds = sorted(e["entity_type"] for e in by_key)
    assert kinds == ["participant", "registration"]
    participant = next(e for e in by_key if e["entity_type"] == "participant")
    assert participant["after"]["home_city_id"] == world.ids["ferrara"]
    for name in ("full_name", "email", "birth_date", "phone"):
        assert participant["after"][name] == "***"
    text = json.dumps(by_key)
    for secret in ("Marco", "marco@example.it", "0532", "1980-01-01"):
        assert secret not in text


def test_a_consent_records_when_and_by_whom_but_not_the_guardian_name(
    client, session, world,
):
    kostroma = _city(session, world, "kostroma")
    ferrara = _city(session, world, "ferrara")
    event = new_event(session, kostroma, [ferrara], kind="school_exchange")
    minor = new_participant(session, ferrara, age=14, guardian_name="Lucia Verdi")
    registration = new_registration(session, event, minor, "student")
    session.commit()
    r = client.post(f"/api/v1/registrations/{registration.id}/consent",
                    headers=world.headers["ferrara_coordinator"],
                    json={"guardian_name": "Lucia Verdi"})
    assert r.status_code == 200, r.text
    newest = _audit(client, world, entity=f"registration:{registration.id}")["items"][0]
    assert newest["action"] == "updated"
    assert newest["before"]["consent_at"] is None and newest["after"]["consent_at"]
    assert newest["after"]["consent_by"] == "***"
    assert newest["actor_key_id"] == world.key_ids["ferrara_coordinator"]
    assert "Lucia" not in json.dumps(_audit(client, world)["items"])


def test_a_partnership_change_is_seen_by_both_twins_only(client, session, world):
    partnership = world.ids["partnership"]
    r = client.patch(f"/api/v1/partnerships/{partnership}", json={"notes": "renewed"},
                     headers=world.headers["ferrara_coordinator"])
    assert r.status_code == 200, r.text
    entity = f"partnership:{partnership}"
    newest = _audit(client, world, entity=entity)["items"][0]
    assert newest["before"] == {"notes": None, "updated_at": newest["before"]["updated_at"]}
    assert newest["after"]["notes"] == "renewed"
    for who, seen in (("kostroma_coordinator", True), ("ferrara_coordinator", True),
                      ("gabrovo_coordinator", False)):
        items = _audit(client, world, who, entity=entity)["items"]
        assert (newest["id"] in [i["id"] for i in items]) is seen, who


def test_a_webhook_endpoint_is_recorded_without_its_secret(client, session, world):
    r = client.post("/api/v1/webhook-endpoints", headers=world.headers["kostroma_partner"],
                    json={"city_id": world.ids["kostroma"], "url": "https://hooks.example.org/x",
                          "event_types": ["event.created"]})
    assert r.status_code == 201, r.text
    secret = r.json()["secret"]
    [entry] = _audit(client, world, entity=f"webhook_endpoint:{r.json()['id']}")["items"]
    assert entry["after"]["url"] == "https://hooks.example.org/x"
    assert entry["after"]["secret"] == "***"
    assert secret not in json.dumps(entry)
    r = client.post(f"/api/v1/webhook-endpoints/{r.json()['id']}/rotate-secret",
                    headers=world.headers["kostroma_partner"])
    assert r.status_code == 200, r.text
    assert r.json()["secret"] not in json.dumps(_audit(client, world)["items"])


def test_an_issued_key_is_recorded_without_its_hash(client, session, world):
    r = client.post("/api/v1/api-keys", headers=world.headers["admin"],
                    json={"name": "ferrara sync", "role": "partner",
                          "city_id": world.ids["ferrara"]})
    assert r.status_code == 201, r.text
    body = r.json()
    [entry] = _audit(client, world, entity=f"api_key:{body['id']}")["items"]
    assert entry["after"]["key_hash"] == "***"
    assert entry["after"]["role"] == "partner"
    from app.keys.models import ApiKey
    row = session.get(ApiKey, body["id"])
    assert row is not None
    text = json.dumps(_audit(client, world, limit=500)["items"])
    assert row.key_hash not in text
    assert body["key"] not in text
    # The key's city's coordinator sees it was issued; the other twin does not.
    assert len(_audit(client, world, "ferrara_coordinator", entity=f"api_key:{body['id']}")[
        "items"]) == 1
    assert _audit(client, world, "kostroma_coordinator", entity=f"api_key:{body['id']}")[
        "items"] == []


def test_erasing_a_participant_leaves_no_personal_data_in_the_audit(
    client, session, world,
):
    person = new_participant(session, _city(session, world, "kostroma"),
                             full_name="Ivan Petrov", email="ivan@example.ru",
                             phone="+7 4942 000")
    session.commit()
    r = client.patch(f"/api/v1/participants/{person.id}", json={"phone": "+7 4942 111"},
                     headers=world.headers["kostroma_coordinator"])
    assert r.status_code == 200, r.text
    r = client.delete(f"/api/v1/participants/{person.id}",
                      headers=world.headers["kostroma_coordinator"])
    assert r.status_code == 204, r.text
    entries = _audit(client, world, entity=f"participant:{person.id}")["items"]
    assert [e["action"] for e in entries] == ["updated", "updated", "created"]
    assert entries[1]["after"] == {"phone": "***", "updated_at": entries[1]["after"]["updated_at"]}
    assert entries[0]["after"]["erased_at"] is not None
    text = json.dumps(entries)
    for value in ("Ivan", "ivan@example.ru", "4942"):
        assert value not in text


def test_a_write_made_by_the_system_is_the_systems(session, world):
    event = new_event(session, _city(session, world, "kostroma"),
                      [_city(session, world, "ferrara")])
    session.commit()
    update_event(session, event.id or 0, EventUpdate(title="Renamed"), SYSTEM, if_match="*")
    session.commit()
    created, updated = entries_of(session, "event", event.id)
    assert (created.actor, updated.actor) == ("system", "system")
    assert updated.actor_key_id is None and updated.actor_user_id is None


# What is not recorded ------------------------------------------------------------------


def _count(session: Session) -> int:
    return len(session.exec(select(AuditEntry.id)).all())


def test_a_refused_delegation_leaves_no_entry(client, session, world):
    event = _create_event(client, session, world, kind="school_exchange")
    before = _count(session)
    r = client.post(f"/api/v1/events/{event['id']}/delegations",
                    headers=world.headers["ferrara_coordinator"], json={"people": [
                        {"full_name": "Fine Adult", "role": "chaperone",
                         "birth_date": "1980-01-01"},
                        {"full_name": "No Birthday", "role": "student"}]})
    assert_problem(r, 422, contains="1 of 2 rows refused")
    assert _count(session) == before


def test_a_rolled_back_write_leaves_no_entry(session, world):
    before = _count(session)
    nested = session.begin_nested()
    new_event(session, _city(session, world, "kostroma"),
              [_city(session, world, "ferrara")], title="Never")
    session.flush()
    assert _count(session) > before  # written with the event...
    nested.rollback()
    assert _count(session) == before  # ...and gone with it


def test_bookkeeping_is_not_audited(client, session, world):
    _create_event(client, session, world)
    types = {e["entity_type"] for e in _audit(client, world, limit=500)["items"]}
    assert types.isdisjoint({"change_log", "change_audience", "notification",
                             "idempotency_key", "user_session", "access_event",
                             "audit_entry"})
    assert "event" in types


# Filtering and paging ------------------------------------------------------------------


def test_filters_by_actor_entity_type_and_time_and_pages_newest_first(
    client, session, world,
):
    t0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    with clock.frozen_at(t0):
        first = _create_event(client, session, world, title="One")
    with clock.frozen_at(t0 + timedelta(hours=1)):
        second = _create_event(client, session, world, who="admin", title="Two")
    with clock.frozen_at(t0 + timedelta(hours=2)):
        third = _create_event(client, session, world, who="kostroma_person", title="Three")

    def ids(**params: Any) -> list[str]:
        return [e["entity_id"] for e in _audit(client, world, entity="event", **params)["items"]]

    assert ids() == [str(third["id"]), str(second["id"]), str(first["id"])]
    assert ids(actor=f"key:{world.key_ids['admin']}") == [str(second["id"])]
    assert ids(actor=f"user:{world.ids['user']}") == [str(third["id"])]
    assert ids(actor="system") == []
    assert ids(since="2026-11-02T10:00:00Z") == [str(third["id"]), str(second["id"])]
    assert ids(until="2026-11-02T10:00:00Z") == [str(first["id"])]
    assert ids(since="2026-11-02T10:00:00+00:00", until="2026-11-02T11:00:00Z") == [
        str(second["id"])]
    page = _audit(client, world, entity="event", limit=2, offset=1)
    assert page["total"] == 3 and page["limit"] == 2 and page["offset"] == 1
    assert [e["entity_id"] for e in page["items"]] == [str(second["id"]), str(first["id"])]


@pytest.mark.parametrize("params", [
    {"entity": "event:"}, {"entity": "event:abc"}, {"entity": "Event:1"},
    {"entity": "no_such_table:1"}, {"entity": "change_log:1"}, {"entity": "event 1"},
    {"entity": "rate_limit_counter"},
    {"actor": "key"}, {"actor": "key:x"}, {"actor": "root"},
    {"since": "2026-11-02T10:00:00"}, {"until": "yesterday"}, {"until": "0.5"},
    {"since": "1700000000"}, {"until": "2026-13-02T10:00:00Z"},
])
def test_malformed_filters_are_422_problems(client, world, params):
    r = client.get("/api/v1/audit", headers=world.headers["admin"], params=params)
    problem = assert_problem(r, 422)
    (name,) = params
    assert [e["loc"] for e in problem["errors"]] == [["query", name]]


# Who may read what ---------------------------------------------------------------------

READERS = {
    "anonymous": 401, "admin": 200,
    "kostroma_coordinator": 200, "ferrara_coordinator": 200, "gabrovo_coordinator": 200,
    "kostroma_partner": 403, "ferrara_partner": 403, "gabrovo_partner": 403,
    "kostroma_person": 200,
}


def test_scope_matrix(client, session, world):
    """Kostroma hosts an event (Ferrara its guest); Gabrovo hosts its own; the
    twinning changes. Admins read all; a coordinator reads its city's data only."""
    kostroma_event = _create_event(client, session, world)
    gabrovo_event = _create_event(client, session, world, who="gabrovo_coordinator",
                                  host="gabrovo", guests=("sevlievo",))
    r = client.patch(f"/api/v1/partnerships/{world.ids['partnership']}",
                     json={"notes": "renewed"}, headers=world.headers["admin"])
    assert r.status_code == 200, r.text
    k, g = f"event:{kostroma_event['id']}", f"event:{gabrovo_event['id']}"
    p = f"partnership:{world.ids['partnership']}"
    visible = {
        "admin": {k, g, p},
        "kostroma_coordinator": {k, p},
        "kostroma_person": {k, p},
        # A guest reads the event itself, as the event's rules allow; its writes are
        # the host's business.
        "ferrara_coordinator": {p},
        "gabrovo_coordinator": {g},
    }
    for who, status in READERS.items():
        r = client.get("/api/v1/audit", headers=world.headers[who], params={"limit": 500})
        if status != 200:
            assert_problem(r, status)
            continue
        assert r.status_code == 200, (who, r.text)
        seen = {f"{e['entity_type']}:{e['entity_id']}" for e in r.json()["items"]}
        assert seen & {k, g, p} == visible[who], who
        if who != "admin":  # people's accounts are no city's
            assert all(e["entity_type"] != "app_user" for e in r.json()["items"]), who


def test_a_revoked_key_is_401_and_a_person_without_a_role_403(client, session, world):
    header, key_id = _key(session, Role.coordinator, _city(session, world, "gabrovo"))
    from app.keys.service import revoke_api_key
    revoke_api_key(session, key_id, SYSTEM)
    user = create_user(session, email="nobody@example.org", display_name="Nobody",
                       password=None)
    row, secret = sessions.start(session, user, membership_id=None, client=None,
                                 user_agent=None)
    session.commit()
    assert_problem(client.get("/api/v1/audit", headers=header), 401)
    r = client.get("/api/v1/audit", headers={"Cookie": f"{sessions.COOKIE}={secret}"})
    assert_problem(r, 403)


def test_dates_stay_json(session, world):
    """Dates and times in a row become ISO strings (the JSON column takes them)."""
    person = new_participant(session, _city(session, world, "kostroma"),
                             birth_date=date(2001, 2, 3))
    session.commit()
    [entry] = entries_of(session, "participant", person.id)
    assert isinstance(entry.after, dict)
    assert isinstance(entry.after["created_at"], str)
    assert entry.after["birth_date"] == "***"
