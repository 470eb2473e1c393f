"""The travel board on a realistic exchange: groups by place and time, who meets
them, who has no travel yet (late a week before), cancellations, the CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from app.core import clock
from tests.conftest import assert_problem
from tests.travel.conftest import EVENT_START, departure_body, journey_body, record


def _board(client, w, key=None, **params):
    r = client.get(f"/api/v1/events/{w.event.id}/travel-board", params=params,
                   headers=w.key("ashgabat") if key is None else key)
    assert r.status_code == 200, r.text
    return r.json()


def _cancel(client, w, name):
    regs = client.get(f"/api/v1/events/{w.event.id}/registrations",
                      headers=w.key("ashgabat")).json()["items"]
    reg = next(x for x in regs if x["participant_id"] == w.pid(name))
    assert client.post(f"/api/v1/registrations/{reg['id']}/cancel",
                       headers=w.key("ashgabat")).status_code == 200


def _story(client, w):
    """Albuquerque and Tashkent land on the same flight; Jasur is met, Albuquerque's
    group is not (yet); Mateo leaves early by train; Karen has no departure yet."""
    abq = record(client, w, journey_body(w, "karen", "mateo", carrier="Turkmenistan Airlines",
                                         number="T5 722"))
    tash = record(client, w, journey_body(w, "jasur", carrier="Turkmenistan Airlines",
                                          number="T5 722", to_code=None,
                                          to_place=" ashgabat  INTERNATIONAL airport",
                                          met_by="Serdar Atayev's family",
                                          from_place="Frankfurt Airport", from_code="FRA"),
                  key=w.key("tashkent", "partner"))
    early = record(client, w, departure_body(w, "mateo", mode="train", carrier=None,
                                             number=None, from_place="Ashgabat railway station",
                                             from_code=None, to_place="Turkmenbashi",
                                             to_code=None, at="2027-05-25T21:40",
                                             met_by="Bus from the city hall"))
    jasur_out = record(client, w, departure_body(w, "jasur"), key=w.key("tashkent"))
    return abq, tash, early, jasur_out


def test_the_board_groups_by_place_and_time_and_flags_who_is_missing(client, world):
    w = world
    abq, tash, early, jasur_out = _story(client, w)
    with clock.frozen_at(datetime(2027, 5, 1, tzinfo=UTC)):
        board = _board(client, w)
    assert board["starts_at"] == "2027-05-20T09:00:00+05:00"
    # Two cities' people on T5 722 from different places written differently: one group.
    [landing] = board["arrivals"]
    assert landing["at"] == "2027-05-19T22:35:00+05:00"
    assert landing["place"] == "Ashgabat International Airport" and landing["count"] == 3
    assert [j["id"] for j in landing["journeys"]] == [abq["id"], tash["id"]]
    assert landing["met_by"] == ["Serdar Atayev's family"] and not landing["nobody_meets"]
    assert [(g["place"], g["count"]) for g in board["departures"]] == [
        ("Ashgabat railway station", 1), ("Ashgabat International Airport", 1)]
    assert board["departures"][1]["nobody_meets"]
    # Maral is Ashgabat's own and travels nowhere; Karen has no departure; not late yet.
    assert board["missing"] == [{
        "participant_id": w.pid("karen"), "full_name": "Karen Whitfield",
        "home_city_id": w.cities["albuquerque"].id, "role": "delegate",
        "missing": ["departure"], "late": False}]
    assert board["journeys_without_travellers"] == []
    with clock.frozen_at(datetime(2027, 5, 14, tzinfo=UTC)):
        assert _board(client, w)["missing"][0]["late"]
        assert not _board(client, w, days=3)["missing"][0]["late"]


def test_a_group_with_nobody_to_meet_it_is_flagged(client, world):
    w = world
    record(client, w, journey_body(w, "karen", "mateo"))
    [group] = _board(client, w)["arrivals"]
    assert group["nobody_meets"] and group["met_by"] == []


def test_a_guest_city_sees_its_own_people_on_the_board(client, world):
    w = world
    _story(client, w)
    board = _board(client, w, key=w.key("tashkent"))
    assert [g["count"] for g in board["arrivals"]] == [1]
    assert [t["full_name"] for g in board["arrivals"] for j in g["journeys"]
            for t in j["travellers"]] == ["Jasur Karimov"]
    assert board["missing"] == []
    albuquerque = _board(client, w, key=w.key("albuquerque", "partner"))
    assert [m["full_name"] for m in albuquerque["missing"]] == ["Karen Whitfield"]
    assert [g["place"] for g in albuquerque["departures"]] == ["Ashgabat railway station"]


def test_a_cancellation_takes_the_person_off_the_board(client, world):
    w = world
    abq, _, early, _ = _story(client, w)
    _cancel(client, w, "mateo")
    board = _board(client, w)
    [landing] = board["arrivals"]
    assert landing["count"] == 2
    assert [t["full_name"] for j in landing["journeys"] for t in j["travellers"]] == [
        "Karen Whitfield", "Jasur Karimov"]
    # His train journey has nobody left: listed apart, not on the board.
    assert [g["place"] for g in board["departures"]] == ["Ashgabat International Airport"]
    assert board["journeys_without_travellers"] == [early["id"]]
    journey = client.get(f"/api/v1/journeys/{abq['id']}", headers=w.key("albuquerque")).json()
    assert {t["full_name"]: t["going"] for t in journey["travellers"]} == {
        "Karen Whitfield": True, "Mateo Baca": False}
    # Nor is he missing travel any more; Karen still is.
    assert [m["full_name"] for m in board["missing"]] == ["Karen Whitfield"]


def _move_event(client, w, starts_at, ends_at):
    etag = client.get(f"/api/v1/events/{w.event.id}", headers=w.key("ashgabat")).headers["ETag"]
    r = client.patch(f"/api/v1/events/{w.event.id}", json={
        "starts_at": starts_at, "ends_at": ends_at},
        headers=w.key("ashgabat") | {"If-Match": etag})
    assert r.status_code == 200, r.text


def _timings(board):
    return ([(g["place"], g["timing"]) for g in board["arrivals"]],
            [(g["place"], g["timing"]) for g in board["departures"]])


def test_the_board_says_who_misses_part_or_all_of_the_event_as_it_is_now(client, world):
    """A group's timing is read against the event's times now, so a moved event shows
    at once which journeys recorded for the old dates no longer fit; so does an
    edited journey."""
    w = world
    _, _, early, _ = _story(client, w)
    airport, station = "Ashgabat International Airport", "Ashgabat railway station"
    assert _timings(_board(client, w)) == (
        [(airport, "in_time")], [(station, "misses_part"), (airport, "in_time")])

    _move_event(client, w, "2027-05-30T09:00", "2027-06-05T18:00")  # ten days later
    assert _timings(_board(client, w)) == (
        [(airport, "in_time")], [(station, "misses_all"), (airport, "misses_all")])
    _move_event(client, w, "2027-05-10T09:00", "2027-05-16T18:00")  # earlier instead
    board = _board(client, w)
    assert _timings(board) == (
        [(airport, "misses_all")], [(station, "in_time"), (airport, "in_time")])
    rows = list(csv.DictReader(io.StringIO(client.get(
        f"/api/v1/events/{w.event.id}/travel-board.csv", headers=w.key("ashgabat")).text)))
    assert {x["flag"] for x in rows if x["section"] == "arrival"} == {"arrives after the end"}

    # Back to its dates, and Mateo's train moved to after the end: in time again.
    _move_event(client, w, EVENT_START, "2027-05-26T18:00")
    r = client.patch(f"/api/v1/journeys/{early['id']}", json={"at": "2027-05-26T21:40"},
                     headers=w.key("albuquerque"))
    assert r.status_code == 200, r.text
    assert _timings(_board(client, w))[1] == [(station, "in_time"), (airport, "in_time")]


def test_the_board_prints_as_csv(client, world):
    w = world
    _story(client, w)
    with clock.frozen_at(datetime(2027, 5, 14, tzinfo=UTC)):
        r = client.get(f"/api/v1/events/{w.event.id}/travel-board.csv",
                       headers=w.key("ashgabat"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(x["section"], x["local_time"], x["travellers"], x["flag"]) for x in rows] == [
        ("arrival", "2027-05-19 22:35", "Karen Whitfield; Mateo Baca", ""),
        ("arrival", "2027-05-19 22:35", "Jasur Karimov", ""),
        ("departure", "2027-05-25 21:40", "Mateo Baca", "leaves before the end"),
        ("departure", "2027-05-27 03:05", "Jasur Karimov", "nobody meets them"),
        ("missing departure", "", "Karen Whitfield", "late"),
    ]
    with clock.frozen_at(datetime(2027, 5, 14, tzinfo=UTC)):
        same = client.get(f"/api/v1/events/{w.event.id}/travel-board",
                          params={"format": "csv"}, headers=w.key("ashgabat"))
    assert same.text == r.text
    assert_problem(client.get(f"/api/v1/events/{w.event.id}/travel-board",
                              params={"format": "pdf"}, headers=w.key("ashgabat")), 422)
