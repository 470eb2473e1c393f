"""Private feeds: a city's whole calendar for its coordinator, a person's own agenda,
tokens that are secret, listed, and revoked for good (410)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlmodel import select

from app.calendars.models import FeedToken
from app.core.actors import Role
from app.participants.models import Participant
from tests.calendars.conftest import city_path, get_feed
from tests.calendars.parsers import read_with_icaljs, read_with_vobject
from tests.conftest import assert_problem


def uids(body: bytes) -> set[str]:
    return {e["uid"] for e in read_with_icaljs(body)["events"]}


def uid(event: Any) -> str:
    return f"twinplan-event-{event.id}@twinplan.test"


def private_path(created: dict[str, Any]) -> str:
    return created["feed_url"].removeprefix("https://twinplan.test")


@pytest.fixture
def kostroma_events(world, make_event) -> dict[str, Any]:
    """Kostroma's events of every visibility, and others' it may or may not see."""
    return {
        "public": make_event(world.kostroma, [world.mary], title="Open day"),
        "partners": make_event(world.kostroma, [world.mary], title="Partners only",
                               visibility="partners"),
        "private": make_event(world.kostroma, [world.mary], title="Private",
                              visibility="private"),
        "draft": make_event(world.kostroma, [world.mary], title="Draft", status="draft"),
        "guest_partners": make_event(world.mary, [world.kostroma], title="Mary's, partners",
                                     visibility="partners"),
        "guest_private": make_event(world.mary, [world.kostroma], title="Mary's, private",
                                    visibility="private"),
        "elsewhere": make_event(world.mary, [world.coventry], title="Not Kostroma's"),
    }


@pytest.fixture
def person(make_participant, world) -> Participant:
    return make_participant(world.mary, full_name="Aýna Berdiýewa", email="ayna@example.tm",
                            birth_date=date(1995, 3, 1))


def issue(client: Any, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/feed-tokens", json=body, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_a_coordinators_city_feed_adds_partners_and_private_events(
    client, world, kostroma_key, kostroma_events
):
    created = issue(client, kostroma_key, city_id=world.kostroma.id, label="city hall")
    assert created["kind"] == "city" and created["label"] == "city hall"
    token = created["token"]
    assert created["feed_url"] == f"https://twinplan.test/calendars/private/{token}.ics"
    assert created["webcal_url"] == f"webcal://twinplan.test/calendars/private/{token}.ics"

    body = get_feed(client, private_path(created)).content
    e = kostroma_events
    expected = {uid(e[k]) for k in ("public", "partners", "private", "guest_partners")}
    assert uids(body) == expected  # never drafts, never another host's private events
    read_with_vobject(body)
    public = uids(get_feed(client, city_path(world.kostroma)).content)
    assert public == {uid(e["public"])}

    response = client.get(private_path(created))
    assert response.headers["cache-control"] == "private, no-cache"
    assert "SOURCE" not in response.text  # the secret URL is not written into the body


def test_a_persons_agenda_holds_the_events_they_have_a_place_at(
    client, world, make_event, make_key, person, admin
):
    mary_key = make_key(Role.coordinator, world.mary)
    # Partners-only: the person's city may see it. (A private event of another city
    # stays out of the agenda its city hands out: tests/events/test_visibility.py.)
    confirmed = make_event(world.kostroma, [world.mary], title="Confirmed", capacity=5,
                           visibility="partners", starts_at="2027-06-01T10:00",
                           ends_at="2027-06-02T10:00")
    waitlisted = make_event(world.kostroma, [world.mary], title="Full", capacity=0,
                            starts_at="2027-07-01T10:00", ends_at="2027-07-02T10:00")
    left = make_event(world.kostroma, [world.mary], title="Cancelled my place",
                      starts_at="2027-08-01T10:00", ends_at="2027-08-02T10:00")
    other = make_event(world.kostroma, [world.mary], title="Not mine",
                       starts_at="2027-09-01T10:00", ends_at="2027-09-02T10:00")
    registrations = {}
    for event in (confirmed, waitlisted, left):
        response = client.post(f"/api/v1/events/{event.id}/registrations", headers=admin,
                               json={"participant_id": person.id, "role": "delegate"})
        assert response.status_code == 201, response.text
        registrations[event.id] = response.json()
    assert registrations[waitlisted.id]["status"] == "waitlisted"
    cancelled = client.post(f"/api/v1/registrations/{registrations[left.id]['id']}/cancel",
                            headers=admin, json={})
    assert cancelled.status_code == 200, cancelled.text

    created = issue(client, mary_key, participant_id=person.id)
    assert created["kind"] == "participant"
    body = get_feed(client, private_path(created)).content
    assert uids(body) == {uid(confirmed)}
    assert uid(other) not in uids(body)
    text = body.replace(b"\r\n ", b"").decode()
    assert "Aýna" not in text and "ayna@example.tm" not in text
    assert "X-WR-TIMEZONE:Asia/Ashgabat" in text


def test_revoked_is_410_unknown_is_404(client, world, kostroma_key, kostroma_events):
    created = issue(client, kostroma_key, city_id=world.kostroma.id)
    get_feed(client, private_path(created))
    revoked = client.post(f"/api/v1/feed-tokens/{created['id']}/revoke", headers=kostroma_key)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert_problem(client.get(private_path(created)), 410)
    assert client.head(private_path(created)).status_code == 410
    again = client.post(f"/api/v1/feed-tokens/{created['id']}/revoke", headers=kostroma_key)
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]
    assert_problem(client.get("/calendars/private/tpf_no-such-token.ics"), 404)


def test_tokens_are_random_and_stored_only_as_hashes(client, session, world, kostroma_key):
    secrets = {issue(client, kostroma_key, city_id=world.kostroma.id)["token"] for _ in range(3)}
    assert len(secrets) == 3
    for secret in secrets:
        random_part = secret.removeprefix("tpf_")
        assert len(random_part) * 6 >= 128  # base64url characters carry 6 bits each
    stored = session.exec(select(FeedToken)).all()
    for token in stored:
        assert token.token_hash not in secrets and len(token.token_hash) == 64
        for secret in secrets:
            assert secret not in (token.token_hash, token.prefix, token.label or "")


def test_listing_shows_a_callers_own_tokens_without_secrets(
    client, world, make_key, kostroma_key, person, admin
):
    mary_key = make_key(Role.coordinator, world.mary)
    mine = issue(client, kostroma_key, city_id=world.kostroma.id)
    theirs = issue(client, mary_key, city_id=world.mary.id)
    agenda = issue(client, mary_key, participant_id=person.id)

    listed = client.get("/api/v1/feed-tokens", headers=kostroma_key).json()
    assert [t["id"] for t in listed["items"]] == [mine["id"]]
    assert "token" not in listed["items"][0] and "token_hash" not in listed["items"][0]
    assert listed["items"][0]["prefix"] == mine["token"][:10]
    by_mary = client.get("/api/v1/feed-tokens", headers=mary_key).json()
    assert {t["id"] for t in by_mary["items"]} == {theirs["id"], agenda["id"]}
    everything = client.get("/api/v1/feed-tokens", headers=admin).json()
    assert everything["total"] == 3
    only_person = client.get("/api/v1/feed-tokens", headers=admin,
                             params={"participant_id": person.id}).json()
    assert [t["id"] for t in only_person["items"]] == [agenda["id"]]
    assert client.get(f"/api/v1/feed-tokens/{mine['id']}", headers=kostroma_key).json()[
        "city_id"] == world.kostroma.id


def test_who_may_issue_and_revoke(client, world, make_key, kostroma_key, person):
    mary_key = make_key(Role.coordinator, world.mary)
    mary_partner = make_key(Role.partner, world.mary)
    assert_problem(client.post("/api/v1/feed-tokens", json={"city_id": world.kostroma.id}), 401)
    assert_problem(client.post("/api/v1/feed-tokens", json={"city_id": world.kostroma.id},
                               headers=mary_key), 403)
    # A partner system speaks for its city's people, but a city's full feed is the
    # coordinator's to give out.
    assert_problem(client.post("/api/v1/feed-tokens", json={"city_id": world.mary.id},
                               headers=mary_partner), 403)
    issue(client, mary_partner, participant_id=person.id)
    assert_problem(client.post("/api/v1/feed-tokens", json={"participant_id": person.id},
                               headers=kostroma_key), 403)
    created = issue(client, kostroma_key, city_id=world.kostroma.id)
    # Another city cannot even see that the token exists.
    assert_problem(client.post(f"/api/v1/feed-tokens/{created['id']}/revoke",
                               headers=mary_key), 404)
    assert_problem(client.get(f"/api/v1/feed-tokens/{created['id']}", headers=mary_key), 404)
    assert_problem(client.post("/api/v1/feed-tokens", headers=kostroma_key,
                               json={"city_id": world.kostroma.id,
                                     "participant_id": person.id}), 422)
    assert_problem(client.post("/api/v1/feed-tokens", headers=kostroma_key, json={}), 422)
    assert_problem(client.post("/api/v1/feed-tokens", headers=kostroma_key,
                               json={"city_id": 999_999}), 422)


def test_an_erased_persons_agenda_is_gone(client, world, make_key, person):
    mary_key = make_key(Role.coordinator, world.mary)
    created = issue(client, mary_key, participant_id=person.id)
    get_feed(client, private_path(created))
    erased = client.delete(f"/api/v1/participants/{person.id}", headers=mary_key)
    assert erased.status_code in (200, 204), erased.text
    assert_problem(client.get(private_path(created)), 410)
