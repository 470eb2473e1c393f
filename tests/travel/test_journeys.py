"""Recording journeys: what is stored and shown, and every rule's refusal."""

from __future__ import annotations

import pytest

from tests.conftest import assert_problem
from tests.travel.conftest import departure_body, journey_body, post_journey, record


def test_a_group_arrival_is_stored_in_local_time_with_its_travellers(client, world):
    w = world
    r = post_journey(client, w, journey_body(w, "karen", "mateo", to_code="asb",
                                             met_by="Host families"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert r.headers["Location"] == f"/api/v1/journeys/{body['id']}"
    assert body["city_id"] == w.cities["albuquerque"].id
    assert body["timezone"] == "Asia/Ashgabat"  # the event's, by default
    assert body["at"] == "2027-05-19T22:35:00+05:00"
    assert body["at_utc"].startswith("2027-05-19T17:35:00")
    assert body["to_code"] == "ASB"
    assert [(t["full_name"], t["going"]) for t in body["travellers"]] == [
        ("Karen Whitfield", True), ("Mateo Baca", True)]
    read = client.get(f"/api/v1/journeys/{body['id']}", headers=w.key("albuquerque"))
    assert read.status_code == 200 and read.json() == body


def test_the_time_is_local_to_the_zone_given(client, world):
    """Mateo flies to Mashhad and crosses the border by car: his arrival is in Iran's time."""
    w = world
    body = record(client, w, journey_body(
        w, "mateo", to_place="Mashhad International Airport", to_code="MHD",
        at="2027-05-19T14:00", timezone="Asia/Tehran", met_by="Driver from the city hall"))
    assert body["at"] == "2027-05-19T14:00:00+03:30"
    assert body["at_utc"].startswith("2027-05-19T10:30:00")


@pytest.mark.parametrize(("fields", "says"), [
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"to_code": "AS"}, "to_code"),
    ({"from_code": "I5T"}, "from_code"),
    ({"at": "1850-05-19T22:35"}, "between the years"),
    ({"at": "2300-01-01T10:00"}, "between the years"),
    ({"at": "1800000000"}, "ISO 8601"),
    ({"mode": "rocket"}, "mode"),
    ({"direction": "sideways"}, "direction"),
    ({"traveller_ids": []}, "traveller_ids"),
    ({"from_place": ""}, "from_place"),
])
def test_bad_input_is_a_422_naming_the_field(client, world, fields, says):
    w = world
    assert_problem(post_journey(client, w, journey_body(w, "karen", **fields)), 422,
                   contains=says)


def test_a_time_in_the_spring_gap_or_the_autumn_overlap_is_refused(client, world):
    w = world
    gap = post_journey(client, w, journey_body(w, "karen", at="2027-03-14T02:30",
                                               timezone="America/Denver"))
    assert_problem(gap, 422, contains="does not exist in America/Denver")
    overlap = post_journey(client, w, journey_body(w, "karen", at="2027-11-07T01:30",
                                                   timezone="America/Denver"))
    problem = assert_problem(overlap, 422, contains="ambiguous")
    assert problem["errors"][0]["loc"] == ["body", "at"]
    # With the offset it names one instant.
    record(client, w, journey_body(w, "karen", at="2027-11-07T01:30-07:00",
                                   timezone="America/Denver"))


def test_a_traveller_must_be_registered_and_not_cancelled(
        client, world, make_participant, session):
    w = world
    stranger = make_participant(w.cities["albuquerque"], full_name="Not Registered")
    r = post_journey(client, w, journey_body(w, "karen") | {"traveller_ids": [stranger.id]})
    assert_problem(r, 422, contains="holds no registration")
    reg = client.get(f"/api/v1/events/{w.event.id}/registrations",
                     headers=w.key("albuquerque")).json()["items"]
    mateo = next(x for x in reg if x["participant_id"] == w.pid("mateo"))
    assert client.post(f"/api/v1/registrations/{mateo['id']}/cancel",
                       headers=w.key("albuquerque")).status_code == 200
    assert_problem(post_journey(client, w, journey_body(w, "mateo")), 422,
                   contains="holds no registration")
    # Someone else's person does not exist for this caller; nor does a made-up id.
    assert_problem(post_journey(client, w, journey_body(w, "jasur")), 422,
                   contains="does not exist")
    assert_problem(post_journey(client, w, journey_body(w) | {"traveller_ids": [999999]}),
                   422, contains="participant 999999 does not exist")


def test_a_journey_carries_people_of_one_home_city(client, world):
    w = world
    r = post_journey(client, w, journey_body(w, "karen", "jasur"), key=w.keys["admin"])
    assert_problem(r, 422, contains="one home city")


def test_a_second_arrival_is_a_409_naming_the_first(client, world):
    w = world
    first = record(client, w, journey_body(w, "karen", "mateo"))
    r = post_journey(client, w, journey_body(w, "mateo", number="T5 722"))
    problem = assert_problem(r, 409, contains=f"journey {first['id']}")
    assert problem["journey_id"] == first["id"]
    assert problem["participant_id"] == w.pid("mateo")
    # A departure is another matter.
    record(client, w, departure_body(w, "mateo"))


def test_moving_a_person_between_journeys_takes_them_off_first(client, world):
    w = world
    group = record(client, w, journey_body(w, "karen", "mateo"))
    r = client.patch(f"/api/v1/journeys/{group['id']}", headers=w.key("albuquerque"),
                     json={"traveller_ids": [w.pid("karen")]})
    assert r.status_code == 200, r.text
    assert [t["participant_id"] for t in r.json()["travellers"]] == [w.pid("karen")]
    later = record(client, w, journey_body(w, "mateo", number="T5 722",
                                           at="2027-05-20T06:10"))
    assert [t["participant_id"] for t in later["travellers"]] == [w.pid("mateo")]


def test_the_arrival_comes_before_the_departure(client, world):
    w = world
    arrival = record(client, w, journey_body(w, "karen"))
    r = post_journey(client, w, departure_body(w, "karen", at="2027-05-19T20:00"))
    problem = assert_problem(r, 422, contains="arrival must come before their departure")
    assert problem["journey_id"] == arrival["id"]
    departure = record(client, w, departure_body(w, "karen"))
    r = client.patch(f"/api/v1/journeys/{arrival['id']}", headers=w.key("albuquerque"),
                     json={"at": "2027-05-28T10:00"})
    assert_problem(r, 422, contains=f"journey {departure['id']}")


def test_patch_changes_what_is_sent_and_a_new_zone_keeps_the_wall_clock(client, world):
    w = world
    journey = record(client, w, journey_body(w, "karen"))
    r = client.patch(f"/api/v1/journeys/{journey['id']}", headers=w.key("ashgabat"),
                     json={"met_by": "Maral Orazova's family", "timezone": "Asia/Tashkent"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["met_by"] == "Maral Orazova's family" and body["number"] == "TK 2800"
    assert body["at"] == "2027-05-19T22:35:00+05:00" and body["timezone"] == "Asia/Tashkent"
    assert_problem(client.patch(f"/api/v1/journeys/{journey['id']}",
                                headers=w.key("albuquerque"), json={"mode": None}),
                   422, contains="mode cannot be removed")
    assert_problem(client.patch(f"/api/v1/journeys/{journey['id']}",
                                headers=w.key("albuquerque"),
                                json={"traveller_ids": [w.pid("jasur")]}), 422)


def test_delete_removes_the_journey_and_frees_its_travellers(client, world):
    w = world
    journey = record(client, w, journey_body(w, "karen"))
    r = client.delete(f"/api/v1/journeys/{journey['id']}", headers=w.key("albuquerque"))
    assert r.status_code == 204
    assert_problem(client.get(f"/api/v1/journeys/{journey['id']}", headers=w.keys["admin"]),
                   404)
    record(client, w, journey_body(w, "karen"))


def test_a_cancelled_event_takes_no_more_travel(client, world):
    w = world
    journey = record(client, w, journey_body(w, "karen"))
    assert client.post(f"/api/v1/events/{w.event.id}/cancel", headers=w.key("ashgabat"),
                       json={"reason": "Flights cancelled"}).status_code == 200
    assert_problem(client.patch(f"/api/v1/journeys/{journey['id']}",
                                headers=w.key("albuquerque"), json={"notes": "x"}),
                   409, contains="cancelled")
