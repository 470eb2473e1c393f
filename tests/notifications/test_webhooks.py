"""Webhook endpoints and signed deliveries, against a real receiver on loopback."""

from __future__ import annotations

import os
import socket

import pytest
from standardwebhooks.webhooks import WebhookVerificationError

from app.core.actors import Role
from app.notifications.models import Channel, NotificationStatus
from tests.conftest import assert_problem
from tests.factories import event_body, new_event
from tests.notifications.conftest import outbox, statuses
from tests.notifications.fakes import always, fail_first, verify


@pytest.fixture
def kostroma(make_city):
    return make_city("Kostroma")


@pytest.fixture
def mary(make_city, make_partnership, kostroma):
    city = make_city("Mary", "TM")
    make_partnership(kostroma, city)
    return city


@pytest.fixture
def kostroma_key(make_key, kostroma):
    return make_key(Role.coordinator, kostroma)


def register(client, headers, city, url, types=("event.created", "event.updated",
                                                 "event.cancelled")):
    response = client.post("/api/v1/webhook-endpoints", headers=headers,
                           json={"city_id": city.id, "url": url, "event_types": list(types)})
    assert response.status_code == 201, response.text
    return response.json()


def plan_event(client, headers, host, guests, **fields):
    body = event_body(host, guests, **({"status": "planned"} | fields))
    response = client.post("/api/v1/events", headers=headers, json=body)
    assert response.status_code == 201, response.text
    return response


# Registering endpoints --------------------------------------------------------------


def test_a_city_registers_an_endpoint_and_sees_its_secret_once(client, kostroma, kostroma_key,
                                                                receiver):
    created = register(client, kostroma_key, kostroma, receiver.url)
    assert created["secret"].startswith("whsec_")
    assert created["enabled"] is True
    assert created["event_types"] == ["event.cancelled", "event.created", "event.updated"]
    read = client.get(f"/api/v1/webhook-endpoints/{created['id']}", headers=kostroma_key)
    assert read.status_code == 200 and "secret" not in read.json()
    listed = client.get("/api/v1/webhook-endpoints", headers=kostroma_key).json()
    assert [e["id"] for e in listed["items"]] == [created["id"]]


@pytest.mark.parametrize("role", [Role.coordinator, Role.partner])
def test_coordinator_and_partner_keys_of_the_city_may_register(client, make_key, kostroma,
                                                               receiver, role):
    register(client, make_key(role, kostroma), kostroma, receiver.url)


def test_another_city_may_not_register_or_see(client, make_key, kostroma, mary, kostroma_key,
                                              receiver):
    mary_key = make_key(Role.partner, mary)
    response = client.post("/api/v1/webhook-endpoints", headers=mary_key,
                           json={"city_id": kostroma.id, "url": receiver.url,
                                 "event_types": ["event.created"]})
    assert_problem(response, 403)
    created = register(client, kostroma_key, kostroma, receiver.url)
    assert_problem(client.get(f"/api/v1/webhook-endpoints/{created['id']}", headers=mary_key),
                   404)
    assert client.get("/api/v1/webhook-endpoints", headers=mary_key).json()["total"] == 0
    assert_problem(client.post("/api/v1/webhook-endpoints",
                               json={"city_id": kostroma.id, "url": receiver.url,
                                     "event_types": ["event.created"]}), 401)


@pytest.mark.parametrize(
    ("url", "types", "says"),
    [("ftp://example.org/x", ["event.created"], "http"),
     ("https://user:pw@example.org/x", ["event.created"], "credentials"),
     ("https://example.org/x", ["event.exploded"], "event_types"),
     ("https://example.org/x", [], "event_types")],
)
def test_bad_endpoints_are_422(client, kostroma, kostroma_key, url, types, says):
    body = assert_problem(
        client.post("/api/v1/webhook-endpoints", headers=kostroma_key,
                    json={"city_id": kostroma.id, "url": url, "event_types": types}), 422)
    assert says in str(body)


def test_private_addresses_are_refused_unless_allowed(client, kostroma, kostroma_key,
                                                      monkeypatch):
    from app.core.settings import get_settings

    monkeypatch.setenv("TWINPLAN_WEBHOOK_ALLOW_PRIVATE_URLS", "false")
    get_settings.cache_clear()
    for url in ("http://127.0.0.1:9/x", "http://localhost/x", "http://10.1.2.3/x",
                "http://[::1]/x", "http://169.254.169.254/latest"):
        assert_problem(
            client.post("/api/v1/webhook-endpoints", headers=kostroma_key,
                        json={"city_id": kostroma.id, "url": url,
                              "event_types": ["event.created"]}),
            422, contains="private")


PARTNER_HOST = "hooks.partner.example"


@pytest.fixture
def no_proxy(monkeypatch) -> None:
    for name in list(os.environ):
        if name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)


@pytest.fixture
def partner_host_is_loopback(monkeypatch, no_proxy) -> str:
    """A name, not an address, that resolves to 127.0.0.1: what a partner's DNS (or an
    attacker's) can make any name do. Every other name resolves as usual."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        return real("127.0.0.1" if host == PARTNER_HOST else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return PARTNER_HOST


def test_a_name_that_resolves_to_a_private_address_is_refused_when_delivering(
    client, session, kostroma, mary, kostroma_key, receiver, make_worker, clock,
    partner_host_is_loopback,
):
    """Registration cannot know where a name will point; each connection checks."""
    url = receiver.url.replace("127.0.0.1", partner_host_is_loopback)
    register(client, kostroma_key, kostroma, url)
    plan_event(client, kostroma_key, kostroma, [mary])

    make_worker(webhook_allow_private_urls=False).run_once()
    assert receiver.all() == []
    (row,) = outbox(session, channel=Channel.webhook)
    assert row.status == NotificationStatus.pending and row.attempts == 1
    body = client.get(f"/api/v1/notifications/{row.id}", headers=kostroma_key).json()
    (attempt,) = body["attempt_log"]
    assert f"{PARTNER_HOST} resolves to 127.0.0.1" in attempt["detail"]
    assert "public addresses only" in attempt["detail"]

    # Where private targets are allowed (an intranet, these tests), the same name works.
    clock.advance(seconds=66)
    make_worker(webhook_allow_private_urls=True).run_once()
    assert [d.status for d in receiver.all()] == [200]


def test_behind_an_http_proxy_the_proxy_connects(monkeypatch, caplog, no_proxy):
    from app.notifications.webhooks import public_transport

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.city-hall.example:3128")
    assert public_transport() is None  # httpx then uses the proxy of the environment
    assert "proxy" in caplog.text
    monkeypatch.delenv("HTTPS_PROXY")
    assert public_transport() is not None


# Deliveries ---------------------------------------------------------------------------


def test_event_changes_are_queued_in_the_request_and_sent_by_the_worker(
    client, session, kostroma, mary, kostroma_key, make_key, receiver, make_worker
):
    own = register(client, kostroma_key, kostroma, receiver.url)
    guest = register(client, make_key(Role.partner, mary), mary, receiver.url,
                     types=["event.created"])
    response = plan_event(client, kostroma_key, kostroma, [mary])
    event_id = response.json()["id"]

    # Nothing is sent from inside the request: the rows wait in the outbox.
    assert receiver.all() == []
    rows = outbox(session, channel=Channel.webhook)
    assert {r.recipient for r in rows} == {str(own["id"]), str(guest["id"])}
    assert {r.key for r in rows} == {f"event.created:{event_id}:v1:webhook:{own['id']}",
                                     f"event.created:{event_id}:v1:webhook:{guest['id']}"}

    assert make_worker().run_once() == 2
    got = receiver.accepted()
    assert len(got) == 2
    by_id = {d.webhook_id: d for d in got}
    assert set(by_id) == {r.message_id for r in rows}
    for row in rows:
        secret = own["secret"] if row.recipient == str(own["id"]) else guest["secret"]
        payload = verify(secret, by_id[row.message_id])
        assert payload["type"] == "event.created"
        assert payload["data"]["id"] == event_id
        assert payload["data"]["starts_at"] == "2027-05-20T10:00:00+03:00"
    assert statuses(outbox(session, channel=Channel.webhook)) == [NotificationStatus.delivered] * 2


def test_updates_and_cancellations_follow_subscriptions(client, session, kostroma, mary,
                                                       kostroma_key, make_key, receiver,
                                                       make_worker):
    register(client, kostroma_key, kostroma, receiver.url)
    register(client, make_key(Role.partner, mary), mary, receiver.url, types=["event.created"])
    created = plan_event(client, kostroma_key, kostroma, [mary])
    event_id, etag = created.json()["id"], created.headers["ETag"]
    patched = client.patch(f"/api/v1/events/{event_id}", headers=kostroma_key | {"If-Match": etag},
                           json={"venue": "Kostroma Kremlin"})
    assert patched.status_code == 200
    # The same PATCH again changes nothing: no new version, no new message.
    again = client.patch(f"/api/v1/events/{event_id}",
                         headers=kostroma_key | {"If-Match": patched.headers["ETag"]},
                         json={"venue": "Kostroma Kremlin"})
    assert again.status_code == 200
    client.post(f"/api/v1/events/{event_id}/cancel", headers=kostroma_key,
                json={"reason": "floods"})
    make_worker().run_once()
    types = sorted(d.payload["type"] for d in receiver.accepted())
    # Mary's endpoint subscribed to event.created only.
    assert types == ["event.cancelled", "event.created", "event.created", "event.updated"]


def test_a_guest_taken_off_an_event_is_told(client, session, kostroma, mary, make_city,
                                            make_partnership, kostroma_key, make_key,
                                            receiver, make_worker):
    kassel = make_city("Kassel", "DE")
    make_partnership(kostroma, kassel)
    mary_hook = register(client, make_key(Role.partner, mary), mary, receiver.url)
    created = plan_event(client, kostroma_key, kostroma, [mary, kassel])
    event_id = created.json()["id"]
    make_worker().run_once()
    patched = client.patch(f"/api/v1/events/{event_id}",
                           headers=kostroma_key | {"If-Match": created.headers["ETag"]},
                           json={"guest_city_ids": [kassel.id]})
    assert patched.status_code == 200
    make_worker().run_once()
    payloads = [verify(mary_hook["secret"], d) for d in receiver.accepted()]
    assert [p["type"] for p in payloads] == ["event.created", "event.updated"]
    assert payloads[1]["data"]["guest_city_ids"] == [kassel.id]  # Mary is off it

    # Once off it, Mary hears no more of it.
    client.patch(f"/api/v1/events/{event_id}",
                 headers=kostroma_key | {"If-Match": patched.headers["ETag"]},
                 json={"title": "Delegation from Kassel"})
    make_worker().run_once()
    assert len(receiver.accepted()) == 2


def test_a_guest_taken_off_an_event_it_can_no_longer_see_is_not_told_of_it(
    client, kostroma, mary, make_city, make_partnership, kostroma_key, make_key, receiver,
    make_worker,
):
    kassel = make_city("Kassel", "DE")
    make_partnership(kostroma, kassel)
    mary_hook = register(client, make_key(Role.partner, mary), mary, receiver.url)
    created = plan_event(client, kostroma_key, kostroma, [mary, kassel], visibility="partners")
    make_worker().run_once()
    client.patch(f"/api/v1/events/{created.json()['id']}",
                 headers=kostroma_key | {"If-Match": created.headers["ETag"]},
                 json={"guest_city_ids": [kassel.id], "description": "For Kassel's eyes"})
    make_worker().run_once()
    payloads = [verify(mary_hook["secret"], d) for d in receiver.accepted()]
    assert [p["type"] for p in payloads] == ["event.created"]


def test_a_private_event_is_not_sent_to_guests(client, kostroma, mary, kostroma_key, make_key,
                                               receiver, make_worker):
    register(client, make_key(Role.partner, mary), mary, receiver.url, types=["event.created"])
    plan_event(client, kostroma_key, kostroma, [mary], visibility="private")
    make_worker().run_once()
    assert receiver.all() == []


def test_a_rolled_back_change_leaves_no_message(client, session, kostroma, mary, kostroma_key,
                                                receiver):
    register(client, kostroma_key, kostroma, receiver.url)
    savepoint = session.begin_nested()
    new_event(session, kostroma, [mary], kind="seminar", title="Urban management",
              starts_at="2027-05-20T10:00", ends_at="2027-05-20T18:00")
    assert len(outbox(session, channel=Channel.webhook)) == 1
    savepoint.rollback()
    assert outbox(session) == []


def test_failures_are_retried_with_backoff_under_the_same_id(
    client, session, kostroma, mary, kostroma_key, receiver, make_worker, clock
):
    receiver.policy = fail_first(2)
    endpoint = register(client, kostroma_key, kostroma, receiver.url)
    plan_event(client, kostroma_key, kostroma, [mary])
    worker = make_worker(worker_backoff_seconds=60)

    assert worker.run_once() == 1
    (row,) = outbox(session, channel=Channel.webhook)
    assert row.status == NotificationStatus.pending and row.attempts == 1
    assert 60 <= (row.available_at - clock.now).total_seconds() <= 66
    assert worker.run_once() == 0  # not due yet

    clock.advance(seconds=66)
    worker.run_once()
    (row,) = outbox(session, channel=Channel.webhook)
    assert row.attempts == 2
    assert 120 <= (row.available_at - clock.now).total_seconds() <= 132  # doubled

    clock.advance(seconds=132)
    worker.run_once()
    deliveries = receiver.all()
    assert [d.status for d in deliveries] == [500, 500, 200]
    assert len({d.webhook_id for d in deliveries}) == 1
    for d in deliveries:
        verify(endpoint["secret"], d)

    body = client.get(f"/api/v1/notifications/{row.id}", headers=kostroma_key).json()
    assert body["status"] == "delivered" and body["attempts"] == 3
    assert [(a["number"], a["outcome"], a["response_status"]) for a in body["attempt_log"]] == [
        (1, "failed", 500), (2, "failed", 500), (3, "delivered", 200)]


def test_after_max_attempts_it_is_dead_and_listed(client, session, make_key, kostroma, mary,
                                                 kostroma_key, admin, receiver, make_worker,
                                                 clock):
    receiver.policy = always(503)
    register(client, kostroma_key, kostroma, receiver.url)
    plan_event(client, kostroma_key, kostroma, [mary])
    worker = make_worker(worker_max_attempts=3, worker_backoff_seconds=10)
    for _ in range(3):
        worker.run_once()
        clock.advance(hours=1)
    (row,) = outbox(session, channel=Channel.webhook)
    assert row.status == NotificationStatus.dead
    assert "gave up after 3 attempts" in (row.last_error or "")
    assert worker.run_once() == 0

    for headers in (admin, kostroma_key):
        dead = client.get("/api/v1/notifications", params={"status": "dead"},
                          headers=headers).json()
        assert [n["id"] for n in dead["items"]] == [row.id]
        assert [a["outcome"] for a in dead["items"][0]["attempt_log"]] == ["failed"] * 3
    other = make_key(Role.coordinator, mary)
    assert client.get("/api/v1/notifications", params={"status": "dead"},
                      headers=other).json()["total"] == 0
    assert_problem(client.get("/api/v1/notifications", headers=make_key(Role.partner, kostroma)),
                   403)
    assert_problem(client.get("/api/v1/notifications"), 401)

    # An operator fixes the receiver and retries it.
    receiver.policy = always(200)
    retried = client.post(f"/api/v1/notifications/{row.id}/retry", headers=kostroma_key)
    assert retried.status_code == 200 and retried.json()["status"] == "pending"
    worker.run_once()
    assert outbox(session, channel=Channel.webhook)[0].status == NotificationStatus.delivered
    assert_problem(client.post(f"/api/v1/notifications/{row.id}/retry", headers=kostroma_key),
                   409)


def test_410_disables_the_endpoint(client, session, kostroma, mary, kostroma_key, receiver,
                                   make_worker):
    receiver.policy = always(410)
    endpoint = register(client, kostroma_key, kostroma, receiver.url)
    plan_event(client, kostroma_key, kostroma, [mary], title="First")
    plan_event(client, kostroma_key, kostroma, [mary], title="Second",
               starts_at="2027-06-20T10:00", ends_at="2027-06-21T10:00")
    make_worker(worker_batch_size=1).run_once()
    assert len(receiver.all()) == 1  # the second was withdrawn, never sent
    first, second = outbox(session, channel=Channel.webhook)
    assert first.status == NotificationStatus.dead and "410" in (first.last_error or "")
    assert second.status == NotificationStatus.withdrawn
    read = client.get(f"/api/v1/webhook-endpoints/{endpoint['id']}", headers=kostroma_key).json()
    assert read["enabled"] is False and "410" in read["disabled_reason"]

    # No new messages while disabled; re-enabling brings them back.
    plan_event(client, kostroma_key, kostroma, [mary], title="Third",
               starts_at="2027-07-20T10:00", ends_at="2027-07-21T10:00")
    assert len(outbox(session, channel=Channel.webhook)) == 2
    enabled = client.patch(f"/api/v1/webhook-endpoints/{endpoint['id']}", headers=kostroma_key,
                           json={"enabled": True})
    assert enabled.json()["enabled"] is True and enabled.json()["disabled_reason"] is None


def test_a_slow_receiver_times_out_and_is_retried(client, session, kostroma, mary, kostroma_key,
                                                 receiver, make_worker):
    receiver.delay = 1.5
    register(client, kostroma_key, kostroma, receiver.url)
    plan_event(client, kostroma_key, kostroma, [mary])
    make_worker(webhook_timeout=0.3).run_once()
    (row,) = outbox(session, channel=Channel.webhook)
    assert row.status == NotificationStatus.pending
    assert "no answer within 0.3 s" in (row.last_error or "")


def test_secret_rotation_signs_with_both_secrets_for_a_day(client, session, kostroma, mary,
                                                          kostroma_key, receiver, make_worker,
                                                          clock):
    endpoint = register(client, kostroma_key, kostroma, receiver.url)
    rotated = client.post(f"/api/v1/webhook-endpoints/{endpoint['id']}/rotate-secret",
                          headers=kostroma_key)
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret != endpoint["secret"]
    plan_event(client, kostroma_key, kostroma, [mary])
    make_worker().run_once()
    (during,) = receiver.accepted()
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    verify(new_secret, during)
    verify(endpoint["secret"], during)  # receivers not yet switched still accept it

    clock.advance(hours=25)
    plan_event(client, kostroma_key, kostroma, [mary], starts_at="2027-06-20T10:00",
               ends_at="2027-06-21T10:00")
    make_worker().run_once()
    after = receiver.accepted()[-1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    verify(new_secret, after)
    with pytest.raises(WebhookVerificationError):
        verify(endpoint["secret"], after)


def test_deleting_an_endpoint_withdraws_its_queue(client, session, kostroma, mary, kostroma_key,
                                                 receiver, make_worker):
    endpoint = register(client, kostroma_key, kostroma, receiver.url)
    plan_event(client, kostroma_key, kostroma, [mary])
    deleted = client.delete(f"/api/v1/webhook-endpoints/{endpoint['id']}", headers=kostroma_key)
    assert deleted.status_code == 204
    make_worker().run_once()
    assert receiver.all() == []
    assert statuses(outbox(session, channel=Channel.webhook)) == [NotificationStatus.withdrawn]


def test_registration_changes_reach_host_and_home_city(client, session, kostroma, mary,
                                                      kostroma_key, make_key, receiver,
                                                      make_worker):
    mary_key = make_key(Role.coordinator, mary)
    register(client, kostroma_key, kostroma, receiver.url, types=["registration.changed"])
    mary_hook = register(client, mary_key, mary, receiver.url, types=["registration.changed"])
    event_id = plan_event(client, kostroma_key, kostroma, [mary], capacity=1).json()["id"]
    people = [
        client.post("/api/v1/participants", headers=mary_key,
                    json={"full_name": f"Delegate {i}", "home_city_id": mary.id,
                          "email": f"d{i}@example.org"}).json()["id"]
        for i in range(2)
    ]
    first, second = (
        client.post(f"/api/v1/events/{event_id}/registrations", headers=mary_key,
                    json={"participant_id": p, "role": "delegate"}).json()
        for p in people
    )
    assert (first["status"], second["status"]) == ("confirmed", "waitlisted")
    client.post(f"/api/v1/registrations/{first['id']}/cancel", headers=mary_key, json={})
    make_worker().run_once()
    seen = [verify(mary_hook["secret"], d)["data"] for d in receiver.accepted()
            if d.headers["webhook-id"] in {r.message_id for r in outbox(
                session, recipient=str(mary_hook["id"]))}]
    assert [(s["id"], s["status"]) for s in seen] == [
        (first["id"], "confirmed"), (second["id"], "waitlisted"),
        (first["id"], "cancelled"), (second["id"], "confirmed")]
    assert all("full_name" not in s and "email" not in s for s in seen)
    assert len(receiver.accepted()) == 8  # four changes, two cities


# A partner's own delivery log ---------------------------------------------------------


def test_a_partner_reads_its_endpoints_deliveries_and_redelivers_one(
    client, session, make_key, make_city, kostroma, mary, kostroma_key, receiver, make_worker,
    clock,
):
    partner = make_key(Role.partner, mary)
    endpoint = register(client, partner, mary, receiver.url, types=["event.created"])
    receiver.policy = fail_first(1, 503)
    made = plan_event(client, kostroma_key, kostroma, [mary]).json()
    worker = make_worker(worker_backoff_seconds=10)
    worker.run_once()
    clock.advance(minutes=5)
    worker.run_once()

    url = f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries"
    log = client.get(url, headers=partner)
    assert log.status_code == 200, log.text
    (delivery,) = log.json()["items"]
    assert delivery["status"] == "delivered" and delivery["topic"] == "event.created"
    attempts = delivery["attempt_log"]
    assert [(a["outcome"], a["response_status"]) for a in attempts] == [
        ("failed", 503), ("delivered", 200)]
    assert all(isinstance(a["duration_ms"], int) and a["duration_ms"] >= 0 for a in attempts)
    assert client.get(url, params={"status": "dead"}, headers=partner).json()["total"] == 0

    # Redelivered: the same payload, a new webhook-id, once at a time.
    again = client.post(f"{url}/{delivery['id']}/redeliver", headers=partner)
    assert again.status_code == 201, again.text
    assert again.json()["status"] == "pending" and again.json()["id"] != delivery["id"]
    assert_problem(client.post(f"{url}/{delivery['id']}/redeliver", headers=partner), 409)
    receiver.policy = always(200)
    assert worker.run_once() == 1
    first, second = receiver.accepted()[-2:]
    assert second.webhook_id != first.webhook_id
    assert verify(endpoint["secret"], second) == verify(endpoint["secret"], first)
    assert verify(endpoint["secret"], second)["data"]["id"] == made["id"]
    assert client.get(url, headers=partner).json()["total"] == 2

    # Nobody else's: another city's keys get 404, as if the endpoint did not exist.
    stranger = make_key(Role.partner, kostroma)
    assert_problem(client.get(url, headers=stranger), 404)
    assert_problem(client.post(f"{url}/{delivery['id']}/redeliver", headers=stranger), 404)
    own = register(client, stranger, kostroma, receiver.url, types=["event.created"])
    other_url = f"/api/v1/webhook-endpoints/{own['id']}/deliveries"
    assert_problem(client.post(f"{other_url}/{delivery['id']}/redeliver", headers=stranger), 404)
    assert client.get(url, headers=make_key(Role.admin)).json()["total"] == 2
