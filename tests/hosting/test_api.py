"""Host families, guests' needs and placements through the API: the rules, the
explanations, the refusals with their reasons, the audit, and who may do what."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import select

from app.hosting.models import GuestNeeds
from tests.conftest import assert_problem
from tests.hosting.conftest import World, add_family, put_needs


def _placement(client: Any, w: World, who: str = "hc", **body: Any) -> Any:
    return client.post(f"/api/v1/events/{w.event.id}/placement", json=body,
                       headers=w.keys[who])


def _move(client: Any, w: World, name: str, family_id: int, who: str = "hc",
          **body: Any) -> Any:
    return client.put(f"/api/v1/events/{w.event.id}/placement/{w.id(name)}",
                      json={"family_id": family_id} | body, headers=w.keys[who])


def _status(client: Any, w: World, status: str, who: str = "hc") -> Any:
    return client.patch(f"/api/v1/events/{w.event.id}/placement", json={"status": status},
                        headers=w.keys[who])


def _by_name(placement: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {g["name"]: g for g in placement["guests"]}


# Families -----------------------------------------------------------------------------


def test_a_city_keeps_its_host_families(client, world):
    w = world
    family = add_family(client, w, email="orazov@example.tm", phone="+993 12 345678",
                        address="Magtymguly 12", pets=True, diets=["halal", "vegetarian"],
                        languages=["tk", "ru", "tk"])
    assert family["languages"] == ["ru", "tk"] and family["diets"] == ["halal", "vegetarian"]
    url = f"/api/v1/host-families/{family['id']}"
    r = client.patch(url, json={"places": 3, "pets": False}, headers=w.keys["hc"])
    assert r.status_code == 200 and (r.json()["places"], r.json()["pets"]) == (3, False)
    listed = client.get(f"/api/v1/cities/{w.cities['ashgabat'].id}/host-families",
                        headers=w.keys["hc"]).json()
    assert [f["id"] for f in listed["items"]] == [family["id"]] and listed["total"] == 1
    assert_problem(client.patch(url, json={"places": None}, headers=w.keys["hc"]), 422)
    assert client.delete(url, headers=w.keys["hc"]).status_code == 204
    assert_problem(client.get(url, headers=w.keys["hc"]), 404)


@pytest.mark.parametrize("body", [
    {"household_name": "X", "places": 0},
    {"household_name": "X", "languages": ["russian"]},
    {"household_name": "X", "diets": ["paleo"]},
    {"household_name": "", "places": 1},
    {"household_name": "X", "email": "not an email"},
])
def test_a_bad_family_is_a_422(client, world, body):
    r = client.post(f"/api/v1/cities/{world.cities['ashgabat'].id}/host-families", json=body,
                    headers=world.keys["hc"])
    assert_problem(r, 422)


def test_a_family_hosting_guests_is_not_deleted(client, world):
    w = world
    family = add_family(client, w, places=5)
    assert _placement(client, w).status_code == 200
    r = client.delete(f"/api/v1/host-families/{family['id']}", headers=w.keys["hc"])
    assert_problem(r, 409, contains="placement")


# Needs --------------------------------------------------------------------------------


def test_needs_are_written_by_the_home_city_and_read_by_both(client, world):
    w = world
    empty = client.get(f"/api/v1/events/{w.event.id}/guests/{w.id('Ava Begay')}/needs",
                       headers=w.keys["hc"])
    assert empty.status_code == 200 and empty.json()["allergies"] == []
    r = put_needs(client, w, "Ava Begay", allergies=["nuts", "pets"], languages=["en"],
                  medical_notes="Carries an EpiPen.", prefers_with_id=w.id("Olivia Sandoval"))
    assert r.status_code == 200, r.text
    for who in ("hc", "gc", "admin"):
        read = client.get(f"/api/v1/events/{w.event.id}/guests/{w.id('Ava Begay')}/needs",
                          headers=w.keys[who])
        assert read.status_code == 200 and read.json()["medical_notes"] == "Carries an EpiPen."
        assert read.json()["allergies"] == ["nuts", "pets"]
    assert_problem(put_needs(client, w, "Ava Begay", who="hc"), 403)


@pytest.mark.parametrize(("field", "other"), [
    ("prefers_with_id", "Ava Begay"),       # herself
    ("sibling_of_id", "Maral Orazova"),     # the host's own student, no guest
])
def test_a_wish_or_sibling_must_be_another_guest(client, world, field, other):
    r = put_needs(client, world, "Ava Begay", **{field: world.id(other)})
    problem = assert_problem(r, 422)
    assert problem["errors"][0]["loc"] == ["body", field]


def test_erasing_a_guest_erases_their_needs_and_medical_notes(client, session, world):
    w = world
    put_needs(client, w, "Ava Begay", allergies=["nuts"], medical_notes="Carries an EpiPen.")
    put_needs(client, w, "Olivia Sandoval", diets=["vegetarian"])
    r = client.delete(f"/api/v1/participants/{w.id('Ava Begay')}", headers=w.keys["gc"])
    assert r.status_code == 204, r.text
    session.expire_all()
    kept = session.exec(select(GuestNeeds.participant_id)).all()
    assert kept == [w.id("Olivia Sandoval")]


def test_the_host_citys_own_student_has_no_needs_here(client, world):
    r = client.get(f"/api/v1/events/{world.event.id}/guests/{world.id('Maral Orazova')}/needs",
                   headers=world.keys["hc"])
    assert_problem(r, 404)


def test_the_audit_records_medical_notes_as_changed_never_as_values(client, world):
    w = world
    put_needs(client, w, "Ava Begay", allergies=["nuts"], medical_notes="Carries an EpiPen.")
    add_family(client, w, household_name="Atayev family", address="Bitarap 7")
    r = client.get("/api/v1/audit", headers=w.keys["gc"], params={"entity": "guest_needs"})
    assert r.status_code == 200, r.text
    [entry] = r.json()["items"]
    assert entry["after"]["medical_notes"] == "***" and entry["after"]["allergies"] == "***"
    families = client.get("/api/v1/audit", headers=w.keys["hc"],
                          params={"entity": "host_family"}).json()["items"]
    assert len(families) == 1
    text = json.dumps(r.json()) + json.dumps(families)
    for secret in ("EpiPen", "nuts", "Atayev", "Bitarap"):
        assert secret not in text


# Placement ----------------------------------------------------------------------------


def _exchange(client: Any, w: World) -> dict[str, dict[str, Any]]:
    """Families and needs: Ava is allergic to pets and nuts, Olivia vegetarian, the
    Bacas siblings, Aibek speaks Russian."""
    families = {
        "cats": add_family(client, w, household_name="Orazov family", places=2, pets=True,
                           languages=["ru", "tk"], diets=["vegetarian"]),
        "clean": add_family(client, w, household_name="Atayev family", places=2,
                            languages=["en", "tk"], diets=["nut_free", "vegetarian"]),
        "big": add_family(client, w, household_name="Charyyev family", places=3,
                          languages=["ru"]),
    }
    put_needs(client, w, "Ava Begay", allergies=["pets", "nuts"], languages=["en"])
    put_needs(client, w, "Olivia Sandoval", diets=["vegetarian"], languages=["en"])
    put_needs(client, w, "Lucia Baca", sibling_of_id=w.id("Mateo Baca"))
    put_needs(client, w, "Aibek Osmonov", who="bc", languages=["ru", "ky"])
    return families


def test_a_proposed_placement_keeps_every_rule_and_says_why(client, world):
    w = world
    families = _exchange(client, w)
    r = _placement(client, w)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "proposed" and body["solver"] == "optimal"
    guests = _by_name(body)
    assert set(guests) == {"Ava Begay", "Olivia Sandoval", "Mateo Baca", "Lucia Baca",
                           "Aibek Osmonov"}  # minors of the guest cities only
    assert guests["Ava Begay"]["family_id"] == families["clean"]["id"]
    assert guests["Mateo Baca"]["family_id"] == guests["Lucia Baca"]["family_id"]
    assert guests["Olivia Sandoval"]["family_id"] in (families["cats"]["id"],
                                                      families["clean"]["id"])
    ava = {e["code"]: e for e in guests["Ava Begay"]["explanations"]}
    assert ava["no_pets"]["en"] == "no pets (allergy)"
    assert ava["shared_language"]["en"] == "speaks English with the family"
    assert ava["diet"]["en"] == "the family cooks nut-free"
    assert ava["diet"]["ru"] == "питание в семье: без орехов"
    lucia = [e["en"] for e in guests["Lucia Baca"]["explanations"]]
    assert "with sibling Mateo Baca" in lucia
    aibek = [e["ru"] for e in guests["Aibek Osmonov"]["explanations"]]
    assert "говорит с семьёй на языке: русский" in aibek
    per_family = {f["family_id"]: f["guest_ids"] for f in body["families"]}
    assert sum(len(v) for v in per_family.values()) == 5
    assert all(not g["problems"] for g in body["guests"]) and body["unplaced"] == []
    # The same read afterwards, without the solver's word.
    again = client.get(f"/api/v1/events/{w.event.id}/placement", headers=w.keys["hc"]).json()
    assert again["guests"] == body["guests"] and again["solver"] is None


def test_adults_are_placed_only_when_asked(client, world):
    w = world
    add_family(client, w, places=6)
    body = _placement(client, w, include_adults=True).json()
    assert "Karen Whitfield" in _by_name(body)


def test_an_impossible_placement_is_a_409_naming_each_guest_and_why(client, world):
    w = world
    add_family(client, w, household_name="Cats", places=10, pets=True)
    put_needs(client, w, "Ava Begay", allergies=["pets"])
    put_needs(client, w, "Olivia Sandoval", diets=["vegan"])
    problem = assert_problem(_placement(client, w), 409, contains="2 of 5 guests")
    reasons = {u["name"]: u["reasons"] for u in problem["unplaced"]}
    assert reasons == {"Ava Begay": ["no family without pets (allergy to pets)"],
                       "Olivia Sandoval": ["no family caters vegan"]}
    assert_problem(client.get(f"/api/v1/events/{w.event.id}/placement",
                              headers=w.keys["hc"]), 404)


def test_a_minor_alone_breaks_the_rule_of_two(client, world):
    w = world
    add_family(client, w, household_name="Two", places=2)
    add_family(client, w, household_name="Three", places=3)
    assert _placement(client, w, min_minors_per_family=2).status_code == 200
    add_family(client, w, household_name="Spare", places=4)
    solo = add_family(client, w, household_name="Solo", places=1)
    r = _move(client, w, "Aibek Osmonov", solo["id"])
    problem = assert_problem(r, 409, contains="a minor is not placed alone")
    assert any(x["name"] == "Aibek Osmonov" for x in problem["reasons"])


def test_a_coordinator_moves_and_pins_a_guest_within_the_rules(client, world):
    w = world
    families = _exchange(client, w)
    assert _placement(client, w).status_code == 200
    # Ava to the family with a cat: refused, with the reason.
    problem = assert_problem(_move(client, w, "Ava Begay", families["cats"]["id"]), 409)
    assert problem["reasons"][0]["reasons"] == [
        "Orazov family: the family cannot cater nut-free",
        "Orazov family: the family has pets (allergy)"]
    # Lucia moves, and her brother with her (pinned both).
    r = _move(client, w, "Lucia Baca", families["big"]["id"])
    assert r.status_code == 200, r.text
    guests = _by_name(r.json())
    assert guests["Mateo Baca"]["family_id"] == families["big"]["id"]
    assert guests["Lucia Baca"]["pinned"] and guests["Mateo Baca"]["pinned"]
    assert "pinned by a coordinator" in [e["en"] for e in guests["Lucia Baca"]["explanations"]]
    # Proposed again, pinned guests stay.
    again = _by_name(_placement(client, w).json())
    assert again["Lucia Baca"]["family_id"] == families["big"]["id"]
    # Confirmed, it is no longer proposed afresh.
    confirmed = _status(client, w, "confirmed")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    assert confirmed.json()["confirmed_at"] is not None
    assert_problem(_placement(client, w), 409, contains="confirmed")
    # Opened again, it is proposed afresh.
    assert _status(client, w, "proposed").json()["confirmed_at"] is None
    assert _placement(client, w).status_code == 200


def test_a_late_guest_is_unplaced_until_moved_and_blocks_confirmation(
    client, world, make_participant, make_registration,
):
    w = world
    family = add_family(client, w, places=10)
    assert _placement(client, w).status_code == 200
    late = make_participant(w.cities["albuquerque"], age=15, full_name="Late Comer")
    make_registration(w.event, late, "student")
    body = client.get(f"/api/v1/events/{w.event.id}/placement", headers=w.keys["hc"]).json()
    assert body["unplaced"] == [late.id]
    assert_problem(_status(client, w, "confirmed"), 409, contains="Late Comer")
    w.people["Late Comer"] = late
    assert _move(client, w, "Late Comer", family["id"], pinned=False).status_code == 200


def test_a_guest_city_reads_only_its_own_guests(client, world):
    w = world
    _exchange(client, w)
    assert _placement(client, w).status_code == 200
    url = f"/api/v1/events/{w.event.id}/placement"
    mine = client.get(url, headers=w.keys["bc"]).json()
    assert [g["name"] for g in mine["guests"]] == ["Aibek Osmonov"]
    assert [f["guest_ids"] for f in mine["families"]] == [[w.id("Aibek Osmonov")]]
    theirs = client.get(url, headers=w.keys["gc"]).json()
    assert "Aibek Osmonov" not in _by_name(theirs) and len(theirs["guests"]) == 4


def test_only_youth_and_school_exchanges_are_placed(client, world, make_event):
    w = world
    visit = make_event(w.cities["ashgabat"], [w.cities["albuquerque"]], title="Mayors",
                       starts_at="2027-09-01T10:00", ends_at="2027-09-02T10:00")
    r = client.post(f"/api/v1/events/{visit.id}/placement", json={}, headers=w.keys["hc"])
    assert_problem(r, 409, contains="youth and school exchanges")


def test_a_family_of_another_city_is_not_offered(client, world):
    w = world
    r = client.post(f"/api/v1/cities/{w.cities['tashkent'].id}/host-families",
                    json={"household_name": "Elsewhere"}, headers=w.keys["oc"])
    assert r.status_code == 201
    assert_problem(_placement(client, w, family_ids=[r.json()["id"]]), 422)


# The scope matrix ------------------------------------------------------------------------

CALLERS = ["anonymous", "admin", "hc", "hp", "gc", "gp", "oc"]


def _row(*codes: int) -> dict[str, int]:
    return dict(zip(CALLERS, codes, strict=True))


# (name, method, path with {event}, {family}, {ava}, {city}; body; expected)
MATRIX: list[tuple[str, str, str, dict[str, Any] | None, dict[str, int]]] = [
    ("list families", "GET", "/cities/{city}/host-families", None,
     _row(401, 200, 200, 403, 403, 403, 403)),
    ("add a family", "POST", "/cities/{city}/host-families", {"household_name": "New"},
     _row(401, 201, 201, 403, 403, 403, 403)),
    ("read a family", "GET", "/host-families/{family}", None,
     _row(401, 200, 200, 404, 404, 404, 404)),
    ("change a family", "PATCH", "/host-families/{family}", {"places": 4},
     _row(401, 200, 200, 404, 404, 404, 404)),
    # The host's partner system does not see the guests at all (as for participants).
    ("read needs", "GET", "/events/{event}/guests/{ava}/needs", None,
     _row(401, 200, 200, 404, 200, 403, 404)),
    ("write needs", "PUT", "/events/{event}/guests/{ava}/needs", {"languages": ["en"]},
     _row(401, 200, 403, 404, 200, 403, 404)),
    ("propose", "POST", "/events/{event}/placement", {},
     _row(401, 200, 200, 403, 403, 403, 403)),
    ("read the placement", "GET", "/events/{event}/placement", None,
     _row(401, 200, 200, 403, 200, 403, 403)),
    ("move a guest", "PUT", "/events/{event}/placement/{ava}", {"family_id": "{family}"},
     _row(401, 200, 200, 403, 403, 403, 403)),
    ("confirm", "PATCH", "/events/{event}/placement", {"status": "confirmed"},
     _row(401, 200, 200, 403, 403, 403, 403)),
]


@pytest.mark.parametrize(("name", "method", "path", "body", "expected"), MATRIX,
                         ids=[m[0] for m in MATRIX])
def test_scope_matrix(client, world, name, method, path, body, expected):
    """Each caller in turn on one world: the calls that succeed change nothing the
    next caller's answer depends on (a family more, the same move, confirmed again)."""
    w = world
    family = add_family(client, w, places=10)
    if name != "propose":
        assert _placement(client, w).status_code == 200
    values = {"event": w.event.id, "family": family["id"], "ava": w.id("Ava Begay"),
              "city": w.cities["ashgabat"].id}
    filled = None if body is None else {
        k: (int(v.format(**values)) if isinstance(v, str) and v.startswith("{") else v)
        for k, v in body.items()}
    got = {}
    for caller in CALLERS:
        r = client.request(method, "/api/v1" + path.format(**values), json=filled,
                           headers=w.keys[caller])
        got[caller] = r.status_code
        if r.status_code >= 400:
            assert r.headers["content-type"].startswith("application/problem+json")
    assert got == expected, name
