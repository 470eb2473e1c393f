from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.core.clock import frozen_at
from tests.conftest import assert_problem


def consent(client, key, registration, guardian="Guardian", **extra):
    return client.post(
        f"/api/v1/registrations/{registration['id']}/consent",
        json={"guardian_name": guardian, **extra},
        headers=key,
    )


def reg(client, key, event, person, role="delegate"):
    return client.post(
        f"/api/v1/events/{event.id}/registrations",
        json={"participant_id": person.id, "role": role},
        headers=key,
    )


def test_adult_is_confirmed(client, guest_key, host, guest, make_event, make_participant):
    r = reg(client, guest_key, make_event(host, [guest]), make_participant(guest))
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "confirmed" and not r.json()["is_minor"]


def test_capacity_then_waitlist_in_order_and_promotion(
    client, guest_key, host, guest, make_event, make_participant
):
    event = make_event(host, [guest], capacity=2)
    ids = [reg(client, guest_key, event, make_participant(guest)).json() for _ in range(4)]
    assert [r["status"] for r in ids] == ["confirmed", "confirmed", "waitlisted", "waitlisted"]
    assert [r["waitlist_position"] for r in ids] == [None, None, 1, 2]
    r = client.post(
        f"/api/v1/registrations/{ids[0]['id']}/cancel", json={"reason": "ill"}, headers=guest_key
    )
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    promoted = client.get(f"/api/v1/registrations/{ids[2]['id']}", headers=guest_key).json()
    assert promoted["status"] == "confirmed"
    still = client.get(f"/api/v1/registrations/{ids[3]['id']}", headers=guest_key).json()
    assert still["status"] == "waitlisted" and still["waitlist_position"] == 1


def test_cancelling_a_waitlisted_place_promotes_nobody(
    client, guest_key, host, guest, make_event, make_participant
):
    event = make_event(host, [guest], capacity=1)
    regs = [reg(client, guest_key, event, make_participant(guest)).json() for _ in range(3)]
    client.post(f"/api/v1/registrations/{regs[1]['id']}/cancel", headers=guest_key)
    last = client.get(f"/api/v1/registrations/{regs[2]['id']}", headers=guest_key).json()
    assert last["status"] == "waitlisted" and last["waitlist_position"] == 1


def test_minor_pending_until_consent_and_counts_against_capacity(
    client, guest_key, host, guest, make_event, make_participant
):
    event = make_event(host, [guest], capacity=1)
    kid = make_participant(
        guest, age=15, guardian_name="Ann Parent", guardian_email="ann@example.org"
    )
    r = reg(client, guest_key, event, kid, role="student").json()
    assert r["status"] == "pending_consent" and r["is_minor"]
    second = reg(client, guest_key, event, make_participant(guest)).json()
    assert second["status"] == "waitlisted"
    c = consent(client, guest_key, r, "Ann Parent")
    assert c.status_code == 200, c.text
    assert c.json()["status"] == "confirmed" and c.json()["consent_by"] == "Ann Parent"
    assert c.json()["consent_recorded_by"].startswith("coordinator key ")
    assert_problem(consent(client, guest_key, r, "Ann Parent"), 409, contains="not pending_consent")


def test_age_is_judged_on_the_first_day_in_the_event_timezone(
    client, guest_key, host, guest, make_event, make_participant
):
    # 18th birthday on the first day: an adult; the day before: a minor.
    event = make_event(host, [guest], start=datetime(2027, 6, 1, 0, 30))
    turning = make_participant(guest, age=None, birth_date=date(2009, 6, 1))
    assert reg(client, guest_key, event, turning).json()["is_minor"] is False
    other = make_event(host, [guest], start=datetime(2027, 8, 1, 9, 0))
    tomorrow = make_participant(guest, age=None, birth_date=date(2009, 8, 2))
    assert reg(client, guest_key, other, tomorrow).json()["is_minor"] is True


def test_school_exchange_needs_chaperones(
    client, guest_key, host, guest, make_event, make_participant
):
    event = make_event(host, [guest], kind="school_exchange", chaperone_ratio=2)
    kids = [
        reg(client, guest_key, event, make_participant(guest, age=14), "student").json()
        for _ in range(3)
    ]
    # Consent is recorded at once; the minors wait for a chaperone, in arrival order.
    for k in kids:
        answer = consent(client, guest_key, k)
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "awaiting_chaperone"
        assert answer.json()["consent_at"] is not None
    adult = make_participant(guest, age=40)
    chaperone = reg(client, guest_key, event, adult, "chaperone").json()
    assert chaperone["status"] == "confirmed"

    def statuses():
        return [client.get(f"/api/v1/registrations/{k['id']}", headers=guest_key).json()["status"]
                for k in kids]

    assert statuses() == ["confirmed", "confirmed", "awaiting_chaperone"]
    # The chaperone drops out: the minors go back to waiting, the latest first.
    client.post(f"/api/v1/registrations/{chaperone['id']}/cancel", headers=guest_key)
    assert statuses() == ["awaiting_chaperone"] * 3


def test_minor_cannot_be_a_chaperone(
    client, guest_key, host, guest, make_event, make_participant
):
    event = make_event(host, [guest], kind="youth_exchange")
    assert_problem(
        reg(client, guest_key, event, make_participant(guest, age=16), "chaperone"),
        422,
        contains="adult",
    )


def test_school_exchange_needs_birth_dates(
    client, guest_key, host, guest, make_event, make_participant
):
    event = make_event(host, [guest], kind="school_exchange")
    assert_problem(
        reg(client, guest_key, event, make_participant(guest, age=None), "student"),
        422,
        contains="birth date",
    )


def test_no_double_booking(client, guest_key, host, guest, make_event, make_participant):
    first = make_event(host, [guest], title="Sports week", start=datetime(2027, 6, 1, 9))
    clash = make_event(host, [guest], title="Seminar", start=datetime(2027, 6, 3, 9))
    later = make_event(host, [guest], title="Later", start=datetime(2027, 6, 4, 9, 0), days=1)
    person = make_participant(guest)
    assert reg(client, guest_key, first, person).status_code == 201
    assert_problem(reg(client, guest_key, first, person), 409, contains="already registered")
    assert_problem(reg(client, guest_key, clash, person), 409, contains="'Sports week'")
    # Touching end and start is not an overlap.
    assert reg(client, guest_key, later, person).status_code == 201


def test_cancelled_registration_frees_the_person(
    client, guest_key, host, guest, make_event, make_participant
):
    event = make_event(host, [guest])
    person = make_participant(guest)
    r = reg(client, guest_key, event, person).json()
    client.post(f"/api/v1/registrations/{r['id']}/cancel", headers=guest_key)
    assert reg(client, guest_key, event, person).status_code == 201


def test_deadline_and_closed_events(
    client, guest_key, host, guest, make_event, make_participant
):
    deadline = datetime(2027, 5, 1, tzinfo=UTC)
    event = make_event(host, [guest], registration_deadline=deadline)
    with frozen_at(datetime(2027, 5, 2, tzinfo=UTC)):
        late = reg(client, guest_key, event, make_participant(guest))
        assert_problem(late, 409, contains="closed")
    with frozen_at(datetime(2027, 4, 30, tzinfo=UTC)):
        assert reg(client, guest_key, event, make_participant(guest)).status_code == 201
    for status in ("cancelled", "completed"):
        closed = make_event(host, [guest], status=status, start=datetime(2028, 1, 1))
        refused = reg(client, guest_key, closed, make_participant(guest))
        assert_problem(refused, 409, contains=status)


def test_check_in(client, host_key, guest_key, host, guest, make_event, make_participant):
    event = make_event(host, [guest], start=datetime(2027, 6, 1, 9))
    r = reg(client, guest_key, event, make_participant(guest)).json()
    with frozen_at(datetime(2027, 5, 1, tzinfo=UTC)):
        assert_problem(
            client.post(
                f"/api/v1/registrations/{r['id']}/check-in",
                json={"outcome": "attended"},
                headers=host_key,
            ),
            409,
            contains="not started",
        )
    with frozen_at(datetime(2027, 6, 2, tzinfo=UTC)):
        assert_problem(
            client.post(
                f"/api/v1/registrations/{r['id']}/check-in",
                json={"outcome": "attended"},
                headers=guest_key,
            ),
            403,
        )
        ok = client.post(
            f"/api/v1/registrations/{r['id']}/check-in",
            json={"outcome": "attended"},
            headers=host_key,
        )
        assert ok.status_code == 200 and ok.json()["status"] == "attended"
        assert_problem(
            client.post(
                f"/api/v1/registrations/{r['id']}/check-in",
                json={"outcome": "maybe"},
                headers=host_key,
            ),
            422,
        )


def test_readiness(client, host_key, guest_key, host, guest, make_event, make_participant):
    event = make_event(host, [guest], kind="school_exchange", capacity=3)
    reg(client, guest_key, event, make_participant(guest, age=40), "chaperone")
    reg(client, guest_key, event, make_participant(guest, age=15, email=None), "student")
    reg(client, guest_key, event, make_participant(guest, age=15), "student")
    reg(client, guest_key, event, make_participant(guest, age=15), "student")
    body = client.get(f"/api/v1/events/{event.id}/readiness", headers=host_key).json()
    assert body["confirmed"] == 1 and body["pending_consent"] == 2 and body["waitlisted"] == 1
    assert body["chaperones_missing"] == 0 and not body["ready"]
    assert len(body["without_contact"]) == 1
    assert body["city_id"] is None


def test_a_guest_city_reads_its_own_delegation_readiness(
    client, host_key, guest_key, host, guest, make_city, make_partnership, make_key,
    make_event, make_participant,
):
    """Each delegation is judged on its own people: the guest's minors need the
    guest's chaperones; another guest's shortfall is not theirs to see."""
    other = make_city("Gabrovo", "BG")
    make_partnership(host, other)
    other_key = make_key("coordinator", other)
    event = make_event(host, [guest, other], kind="school_exchange", capacity=10)
    reg(client, guest_key, event, make_participant(guest, age=40), "chaperone")
    reg(client, guest_key, event, make_participant(guest, age=15), "student")
    lonely = make_participant(other, age=15, full_name="Ivan Petrov")
    reg(client, other_key, event, lonely, "student")
    url = f"/api/v1/events/{event.id}/readiness"

    mine = client.get(url, headers=guest_key).json()
    assert mine["city_id"] == guest.id
    assert mine["pending_consent"] == 1 and mine["confirmed"] == 1
    assert mine["chaperones_missing"] == 0
    assert all(p["name"] != "Ivan Petrov" for p in mine["problems"])
    partner = client.get(url, headers=make_key("partner", guest)).json()
    assert partner == mine

    theirs = client.get(url, headers=other_key).json()
    assert theirs["city_id"] == other.id and theirs["chaperones_missing"] == 1
    # The host sees all, or one delegation on asking.
    assert client.get(url, headers=host_key).json()["pending_consent"] == 2
    assert client.get(url, params={"city_id": other.id}, headers=host_key).json() == theirs
    # A guest asking for another delegation is refused, not silently answered.
    assert_problem(client.get(url, params={"city_id": other.id}, headers=guest_key), 403)
    assert client.get(url, params={"city_id": guest.id}, headers=guest_key).json() == mine


@pytest.mark.parametrize("caller", ["anonymous", "other_city", "partner_of_guest"])
def test_who_may_register(
    client, make_city, make_key, make_event, make_participant, host, guest, caller
):
    event = make_event(host, [guest])
    person = make_participant(guest)
    headers = {
        "anonymous": {},
        "other_city": make_key("coordinator", make_city("Dijon", "FR")),
        "partner_of_guest": make_key("partner", guest),
    }[caller]
    # Another city cannot see the guest's person: to it, they do not exist (422).
    want = {"anonymous": 401, "other_city": 422, "partner_of_guest": 201}[caller]
    assert reg(client, headers, event, person).status_code == want
