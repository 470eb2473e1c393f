"""A delegation uploaded at once (JSON or CSV): matched, registered in order,
reported row by row; all or nothing; a dry run stores nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import func, select

from app.core.actors import Role
from app.participants.models import Participant, Registration
from tests.conftest import assert_problem


def _counts(session: Any) -> tuple[int, int]:
    return (session.exec(select(func.count()).select_from(Participant)).one(),
            session.exec(select(func.count()).select_from(Registration)).one())


def _post(client, key, event, people, **params):
    return client.post(f"/api/v1/events/{event.id}/delegations", headers=key,
                       json={"people": people}, params=params)


def _csv(client, key, event, text, content_type="text/csv; charset=utf-8", **params):
    return client.post(f"/api/v1/events/{event.id}/delegations/csv", params=params,
                       headers={**key, "Content-Type": content_type}, content=text.encode())


def test_a_delegation_is_matched_registered_in_order_and_reported(
    client, session, guest_key, host, guest, make_event, make_participant,
):
    event = make_event(host, [guest], kind="youth_exchange", capacity=3)
    known = make_participant(guest, email="olga@example.org", full_name="Olga Ivanova")
    people = [
        {"full_name": "Anna Smirnova", "role": "chaperone", "birth_date": "1980-01-02",
         "external_id": "M-1", "leader": True},
        {"full_name": "Olga I.", "email": "olga@example.org", "role": "chaperone",
         "birth_date": "1979-02-03", "external_id": "M-2"},
        {"full_name": "Ivan Petrov", "role": "student", "birth_date": "2012-05-09",
         "guardian_name": "Pyotr Petrov", "guardian_email": "pyotr@example.org"},
        {"full_name": "Late Comer", "role": "student", "birth_date": "2012-06-01"},
    ]
    r = _post(client, guest_key, event, people)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["stored"] and body["city_id"] == guest.id
    assert [(x["row"], x["outcome"], x["matched_by"]) for x in body["results"]] == [
        (1, "confirmed", "created"), (2, "confirmed", "email"),
        (3, "pending_consent", "created"), (4, "waitlisted", "created")]
    assert body["results"][3]["waitlist_position"] == 1
    assert body["results"][1]["participant_id"] == known.id
    assert body["counts"] == {"confirmed": 2, "pending_consent": 1, "waitlisted": 1}
    regs = client.get(f"/api/v1/events/{event.id}/registrations", headers=guest_key).json()
    leaders = [x["participant_id"] for x in regs["items"] if x["is_leader"]]
    assert leaders == [body["results"][0]["participant_id"]]
    # The email match learnt the city's own id: next time it is found by it.
    again = _post(client, guest_key, make_event(host, [guest], title="Second visit",
                                                 starts_at="2027-09-01T10:00",
                                                 ends_at="2027-09-03T10:00"),
                  [{"full_name": "Olga Ivanova", "external_id": "M-2", "role": "delegate"}])
    assert again.json()["results"][0]["matched_by"] == "external_id"
    assert again.json()["results"][0]["participant_id"] == known.id


def test_a_dry_run_reports_the_same_and_stores_nothing(
    client, session, guest_key, host, guest, make_event,
):
    event = make_event(host, [guest], capacity=1)
    people = [{"full_name": f"Person {i}", "role": "delegate"} for i in range(3)]
    before = _counts(session)
    r = _post(client, guest_key, event, people, dry_run="true")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["dry_run"] and not body["stored"]
    assert [x["outcome"] for x in body["results"]] == ["confirmed", "waitlisted", "waitlisted"]
    assert [x["waitlist_position"] for x in body["results"]] == [None, 1, 2]
    assert all(x["participant_id"] is None and x["registration_id"] is None
               for x in body["results"])
    assert _counts(session) == before


def test_one_bad_row_refuses_the_whole_delegation_and_says_why(
    client, session, guest_key, host, guest, make_event, make_participant,
):
    event = make_event(host, [guest], kind="school_exchange")
    clash = make_event(host, [guest], title="Same days")
    busy = make_participant(guest, email="busy@example.org")
    assert client.post(f"/api/v1/events/{clash.id}/registrations", headers=guest_key,
                       json={"participant_id": busy.id, "role": "delegate"}).status_code == 201
    before = _counts(session)
    r = _post(client, guest_key, event, [
        {"full_name": "Fine Adult", "role": "chaperone", "birth_date": "1980-01-01"},
        {"full_name": "No Birthday", "role": "student"},
        {"full_name": "Busy Person", "email": "busy@example.org", "role": "chaperone",
         "birth_date": "1981-01-01"},
    ])
    problem = assert_problem(r, 422, contains="2 of 3 rows refused")
    outcomes = [(x["row"], x["outcome"]) for x in problem["results"]]
    assert outcomes == [(1, "confirmed"), (2, "refused"), (3, "refused")]
    assert "birth date" in problem["results"][1]["reason"]
    assert "Same days" in problem["results"][2]["reason"]
    assert [e["loc"] for e in problem["errors"]] == [["body", "people", 1],
                                                      ["body", "people", 2]]
    assert _counts(session) == before


def test_the_csv_upload_takes_the_documented_header(
    client, session, guest_key, host, guest, make_event,
):
    event = make_event(host, [guest], kind="youth_exchange")
    text = ("external_id,full_name,email,phone,birth_date,role,guardian_name,guardian_email,"
            "leader\n"
            "M-7,Anna Smirnova,anna@example.org,,1980-01-02,chaperone,,,yes\n"
            "M-8,\"Petrov, Ivan\",,,2012-05-09,student,Pyotr Petrov,pyotr@example.org,no\n")
    r = _csv(client, guest_key, event, "\ufeff" + text)
    assert r.status_code == 201, r.text
    results = r.json()["results"]
    assert [(x["full_name"], x["outcome"]) for x in results] == [
        ("Anna Smirnova", "confirmed"), ("Petrov, Ivan", "pending_consent")]
    # Columns in another order, some left out.
    r = _csv(client, guest_key, event, "role,birth_date,full_name\ndelegate,1970-01-01,Boris\n")
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(("text", "says"), [
    ("full_name,role,shoe_size\nA,delegate,42\n", "unknown: shoe_size"),
    ("full_name\nA\n", "missing: role"),
    ("full_name,role\n", "holds nobody"),
    ("full_name,role\nA,astronaut\n", "people.0.role"),
    ("full_name,role,birth_date\nA,delegate,31.12.1990\n", "people.0.birth_date"),
    ("full_name,role\nA,delegate\nB,delegate,extra\n", "people.1"),
    ("full_name,role,leader\nA,delegate,perhaps\n", "leader"),
    ("full_name,role,leader\nA,delegate,yes\nB,delegate,yes\n", "at most one leader"),
])
def test_bad_csv_is_a_clear_422(client, guest_key, host, guest, make_event, text, says):
    event = make_event(host, [guest])
    assert_problem(_csv(client, guest_key, event, text), 422, contains=says)


def test_not_csv_is_415_and_not_utf8_is_422(client, guest_key, host, guest, make_event):
    event = make_event(host, [guest])
    assert_problem(_csv(client, guest_key, event, "{}", content_type="application/json"), 415)
    r = client.post(f"/api/v1/events/{event.id}/delegations/csv", content=b"\xff\xfe\x00",
                    headers={**guest_key, "Content-Type": "text/csv"})
    assert_problem(r, 422, contains="UTF-8")


def test_only_a_city_taking_part_uploads_and_only_its_own(
    client, make_key, make_city, host, guest, guest_key, host_key, make_event,
):
    event = make_event(host, [guest])
    one = [{"full_name": "A", "role": "delegate"}]
    stranger = make_key(Role.coordinator, make_city("Dijon", "FR"))
    assert_problem(_post(client, stranger, event, one), 403)
    assert_problem(_post(client, guest_key, event, one, city_id=host.id), 403)
    assert_problem(_post(client, make_key(Role.admin), event, one), 422, contains="city_id")
    partner = make_key(Role.partner, guest)
    assert _post(client, partner, event, one).status_code == 201
    assert _post(client, make_key(Role.admin), event, one, city_id=guest.id).status_code == 201
    assert_problem(client.post(f"/api/v1/events/{event.id}/delegations", headers=guest_key,
                               json={"people": []}), 422)


def test_a_delegation_of_500_in_one_request(client, session, guest_key, host, guest,
                                            make_event):
    event = make_event(host, [guest], kind="sports", capacity=450)
    people = [{"full_name": f"Athlete {i}", "external_id": f"A-{i}", "role": "athlete",
               "email": f"athlete{i}@example.org"} for i in range(500)]
    r = _post(client, guest_key, event, people)
    assert r.status_code == 201, r.text
    assert r.json()["counts"] == {"confirmed": 450, "waitlisted": 50}
    waiting = [x for x in r.json()["results"] if x["outcome"] == "waitlisted"]
    assert [x["row"] for x in waiting] == list(range(451, 501))
    assert [x["waitlist_position"] for x in waiting] == list(range(1, 51))
    too_many = people + [{"full_name": "One more", "role": "athlete"}]
    assert_problem(_post(client, guest_key, event, too_many), 422)
