from __future__ import annotations

from datetime import UTC, datetime

from app.core.clock import frozen_at
from tests.conftest import assert_problem


def new_person(client, key, city, **fields):
    body = {
        "full_name": "Aýna Berdiýewa",
        "home_city_id": city.id,
        "email": "ayna@example.tm",
        "phone": "+993 12 34 56 78",
        "birth_date": "2011-03-04",
        "guardian_name": "Merjen Berdiýewa",
        "guardian_email": "merjen@example.tm",
    } | fields
    return client.post("/api/v1/participants", json=body, headers=key)


def test_home_city_creates_and_reads(client, guest, guest_key):
    r = new_person(client, guest_key, guest)
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    assert client.get(f"/api/v1/participants/{pid}", headers=guest_key).json()["full_name"] == (
        "Aýna Berdiýewa"
    )
    assert client.get("/api/v1/participants", headers=guest_key).json()["total"] == 1


def test_invalid_contact_details(client, guest, guest_key):
    for field, value in [
        ("email", "not-an-email"),
        ("phone", "call me"),
        ("guardian_email", "x@"),
        ("birth_date", "2011-02-30"),
        ("birth_date", 1296000000),
        ("birth_date", "0"),
    ]:
        problem = assert_problem(new_person(client, guest_key, guest, **{field: value}), 422)
        assert problem["errors"][0]["loc"][-1] == field


def test_never_visible_to_anonymous_or_other_cities(client, guest, guest_key, make_key, make_city):
    pid = new_person(client, guest_key, guest).json()["id"]
    assert_problem(client.get(f"/api/v1/participants/{pid}"), 401)
    other = make_key("coordinator", make_city("Dijon", "FR"))
    assert_problem(client.get(f"/api/v1/participants/{pid}", headers=other), 404)
    assert client.get("/api/v1/participants", headers=other).json()["total"] == 0
    assert_problem(new_person(client, other, guest), 403)


def test_host_coordinator_sees_registered_people(
    client, host, guest, guest_key, host_key, make_event
):
    pid = new_person(client, guest_key, guest, birth_date="1990-01-01").json()["id"]
    assert_problem(client.get(f"/api/v1/participants/{pid}", headers=host_key), 404)
    event = make_event(host, [guest])
    client.post(
        f"/api/v1/events/{event.id}/registrations",
        json={"participant_id": pid, "role": "delegate"},
        headers=guest_key,
    )
    assert client.get(f"/api/v1/participants/{pid}", headers=host_key).status_code == 200
    assert client.get("/api/v1/participants", headers=host_key).json()["total"] == 1


def test_export_and_erase(client, host, guest, guest_key, admin, make_event):
    pid = new_person(client, guest_key, guest, birth_date="1990-01-01").json()["id"]
    past = make_event(host, [guest], start=datetime(2026, 6, 1, 9))
    future = make_event(host, [guest], start=datetime(2027, 6, 1, 9), capacity=1)
    for e in (past, future):
        client.post(
            f"/api/v1/events/{e.id}/registrations",
            json={"participant_id": pid, "role": "delegate"},
            headers=guest_key,
        )
    waiting = new_person(
        client, guest_key, guest, birth_date="1980-01-01", full_name="Next In Line"
    ).json()["id"]
    client.post(
        f"/api/v1/events/{future.id}/registrations",
        json={"participant_id": waiting, "role": "delegate"},
        headers=guest_key,
    )

    export = client.get(f"/api/v1/participants/{pid}/export", headers=guest_key).json()
    assert export["participant"]["guardian_email"] == "merjen@example.tm"
    assert len(export["registrations"]) == 2

    with frozen_at(datetime(2026, 12, 1, tzinfo=UTC)):
        assert client.delete(f"/api/v1/participants/{pid}", headers=guest_key).status_code == 204
        assert client.delete(f"/api/v1/participants/{pid}", headers=guest_key).status_code == 204
    after = client.get(f"/api/v1/participants/{pid}/export", headers=admin).json()
    person = after["participant"]
    assert person["full_name"] == "(erased)" and person["erased_at"]
    assert all(
        person[f] is None
        for f in ("email", "phone", "birth_date", "guardian_name", "guardian_email")
    )
    statuses = sorted(r["status"] for r in after["registrations"])
    assert statuses == ["cancelled", "confirmed"]  # the past place still counts
    readiness = client.get(f"/api/v1/events/{future.id}/readiness", headers=admin).json()
    assert readiness["confirmed"] == 1 and readiness["waitlisted"] == 0  # waitlist moved up
    assert "Aýna" not in str(after)
