"""The instances the issue found, as examples of the rules the state machine
(test_invariants.py) checks in every state: an event's registrations follow
the event, consent comes from the child's own city, readiness says what is wrong
and with whom."""

from __future__ import annotations

from datetime import datetime

from tests.conftest import assert_problem
from tests.participants.test_registrations import consent, reg


def patch(client, key, event, **fields):
    return client.patch(f"/api/v1/events/{event.id}", json=fields,
                        headers=key | {"If-Match": "*"})


def status_of(client, key, registration):
    return client.get(f"/api/v1/registrations/{registration['id']}", headers=key).json()


def test_raising_capacity_moves_the_waitlist_before_anyone_new(
    client, host_key, guest_key, host, guest, make_event, make_participant
):
    event = make_event(host, [guest], capacity=1)
    regs = [reg(client, guest_key, event, make_participant(guest)).json() for _ in range(3)]
    assert patch(client, host_key, event, capacity=2).status_code == 200
    assert status_of(client, guest_key, regs[1])["status"] == "confirmed"
    assert status_of(client, guest_key, regs[2])["waitlist_position"] == 1
    late = reg(client, guest_key, event, make_participant(guest)).json()
    assert late["status"] == "waitlisted" and late["waitlist_position"] == 2
    # Unlimited: everyone waiting has a place.
    assert patch(client, host_key, event, capacity=None).status_code == 200
    assert {status_of(client, guest_key, r)["status"] for r in (regs[2], late)} == {"confirmed"}


def test_capacity_cannot_go_below_the_places_held(
    client, host_key, guest_key, host, guest, make_event, make_participant
):
    event = make_event(host, [guest], capacity=3)
    for _ in range(3):
        reg(client, guest_key, event, make_participant(guest))
    problem = assert_problem(patch(client, host_key, event, capacity=2), 409,
                             contains="3 places held")
    assert problem["places_held"] == 3
    assert client.get(f"/api/v1/events/{event.id}").json()["capacity"] == 3


def test_a_cancelled_event_frees_its_people_for_a_replacement(
    client, host_key, guest_key, host, guest, make_event, make_participant
):
    start = datetime(2027, 5, 20, 10, 0)
    event = make_event(host, [guest], start=start)
    person = make_participant(guest)
    first = reg(client, guest_key, event, person).json()
    client.post(f"/api/v1/events/{event.id}/cancel", json={"reason": "flood"}, headers=host_key)
    after = status_of(client, guest_key, first)
    assert after["status"] == "cancelled" and "flood" in after["cancel_reason"]
    replacement = make_event(host, [guest], start=start, title="Delegation visit, again")
    assert reg(client, guest_key, replacement, person).status_code == 201


def test_a_move_that_would_double_book_someone_is_refused(
    client, host_key, guest_key, host, guest, make_event, make_participant
):
    a = make_event(host, [guest], start=datetime(2027, 5, 20, 10, 0), days=2)
    b = make_event(host, [guest], start=datetime(2027, 6, 20, 10, 0), days=2)
    person = make_participant(guest)
    reg(client, guest_key, a, person)
    reg(client, guest_key, b, person)
    problem = assert_problem(
        patch(client, host_key, b, starts_at="2027-05-21T10:00", ends_at="2027-05-22T10:00"),
        409, contains="overlapping")
    assert problem["participant_ids"] == [person.id]


def test_a_move_judges_again_who_is_a_minor(
    client, host_key, guest_key, host, guest, make_event, make_participant
):
    # 18 on 2027-06-01: an adult at an event that day, a minor a week earlier.
    event = make_event(host, [guest], start=datetime(2027, 6, 3, 10, 0))
    person = make_participant(guest, age=18, on=datetime(2027, 6, 1).date())
    r = reg(client, guest_key, event, person).json()
    assert r["status"] == "confirmed" and not r["is_minor"]
    moved = patch(client, host_key, event, starts_at="2027-05-20T10:00",
                  ends_at="2027-05-22T10:00")
    assert moved.status_code == 200, moved.text
    now = status_of(client, guest_key, r)
    assert now["is_minor"] and now["status"] == "pending_consent"


def test_consent_comes_from_the_childs_city_naming_the_guardian(
    client, host_key, guest_key, host, guest, make_event, make_participant
):
    event = make_event(host, [guest])
    kid = make_participant(guest, age=12, guardian_name="Aman Atayev")
    r = reg(client, guest_key, event, kid, "student").json()
    assert_problem(consent(client, host_key, r, "Aman Atayev"), 403, contains="home city")
    assert_problem(client.post(f"/api/v1/registrations/{r['id']}/consent", json={},
                               headers=guest_key), 422)
    assert_problem(consent(client, guest_key, r, "Someone Else"), 422, contains="Aman Atayev")
    same = consent(client, guest_key, r, "  aman  ATAYEV ")
    assert same.status_code == 200 and same.json()["consent_by"] == "  aman  ATAYEV "


def test_a_new_guardian_is_confirmed_as_a_change(
    client, guest_key, host, guest, make_event, make_participant
):
    event = make_event(host, [guest])
    kid = make_participant(guest, age=12, guardian_name="Aman Atayev")
    r = reg(client, guest_key, event, kid, "student").json()
    answer = consent(client, guest_key, r, "Jeren Atayeva", guardian_changed=True)
    assert answer.status_code == 200, answer.text
    person = client.get(f"/api/v1/participants/{kid.id}", headers=guest_key).json()
    assert person["guardian_name"] == "Jeren Atayeva"


def test_readiness_names_each_problem_and_its_person(
    client, host_key, guest_key, host, guest, make_event, make_participant
):
    event = make_event(host, [guest], kind="school_exchange", chaperone_ratio=1)
    reachable_kid = make_participant(guest, age=12, email=None, full_name="Merdan",
                                     guardian_name="Aman", guardian_email="aman@example.tm")
    lost_kid = make_participant(guest, age=13, email=None, full_name="Jeren")
    for kid in (reachable_kid, lost_kid):
        reg(client, guest_key, event, kid, "student")
    body = client.get(f"/api/v1/events/{event.id}/readiness", headers=host_key).json()
    assert body["minors"] == 2 and body["pending_consent"] == 2
    assert body["chaperones_missing"] == 2 and body["overbooked"] == 0
    assert body["without_contact"] == [lost_kid.id]
    problems = {(p["kind"], p["name"]) for p in body["problems"]}
    assert problems == {("consent_missing", "Merdan"), ("consent_missing", "Jeren"),
                        ("unreachable", "Jeren"), ("chaperone_missing", None)}
    assert not body["ready"]


def test_nothing_is_ready_for_a_draft_or_a_cancelled_event(
    client, host_key, host, guest, make_event
):
    for status in ("draft", "cancelled"):
        event = make_event(host, [guest], status=status)
        body = client.get(f"/api/v1/events/{event.id}/readiness", headers=host_key).json()
        assert not body["ready"]
        assert body["problems"][0]["kind"] == "event_not_going_ahead", body
    planned = make_event(host, [guest])
    assert client.get(f"/api/v1/events/{planned.id}/readiness", headers=host_key).json()["ready"]


def test_registrations_filter_by_status_and_role(
    client, host_key, guest_key, host, guest, make_event, make_participant
):
    event = make_event(host, [guest], capacity=2)
    reg(client, guest_key, event, make_participant(guest), "athlete")
    reg(client, guest_key, event, make_participant(guest), "coach")
    reg(client, guest_key, event, make_participant(guest), "athlete")
    url = f"/api/v1/events/{event.id}/registrations"

    def pick(query):
        body = client.get(f"{url}?{query}", headers=host_key).json()
        return body["total"], [(r["role"], r["status"]) for r in body["items"]]

    assert pick("status=waitlisted") == (1, [("athlete", "waitlisted")])
    assert pick("role=athlete") == (2, [("athlete", "confirmed"), ("athlete", "waitlisted")])
    assert pick("role=coach&role=athlete&status=confirmed")[0] == 2
    assert_problem(client.get(f"{url}?status=maybe", headers=host_key), 422)
