"""Who reads and writes which journeys: the host's side all of them, a guest city its
own people's, nobody else any; a host's partner system sees no guest's name."""

from __future__ import annotations

import pytest

from tests.conftest import assert_problem
from tests.travel.conftest import journey_body, post_journey, record

# Who may record Albuquerque's people's travel: Albuquerque's keys, the host's
# coordinator, an admin. For the others the people do not exist (422: a partner
# system reads its own city's people only, as in app.participants), the event does
# not (404, partners-only) or the caller is unknown (401).
WRITE = [
    ("albuquerque coordinator", 201), ("albuquerque partner", 201),
    ("ashgabat coordinator", 201), ("admin", 201),
    ("ashgabat partner", 422), ("tashkent coordinator", 422), ("tashkent partner", 422),
    ("kostroma coordinator", 404), ("anonymous", 401),
]


@pytest.mark.parametrize(("who", "status"), WRITE)
def test_who_records_a_guest_city_journey(client, world, who, status):
    w = world
    r = post_journey(client, w, journey_body(w, "karen"), key=w.keys[who])
    assert r.status_code == status, r.text
    if status != 201:
        assert_problem(r, status)


# (journeys seen of Albuquerque's + Tashkent's, names shown, GET one of Albuquerque's)
READ = [
    ("admin", 2, True, 200),
    ("ashgabat coordinator", 2, True, 200),
    ("ashgabat partner", 2, False, 200),
    ("albuquerque coordinator", 1, True, 200),
    ("albuquerque partner", 1, True, 200),
    ("tashkent coordinator", 1, True, 404),
    ("tashkent partner", 1, True, 404),
]


@pytest.mark.parametrize(("who", "seen", "names", "one"), READ)
def test_who_reads_which_journeys(client, world, who, seen, names, one):
    w = world
    abq = record(client, w, journey_body(w, "karen", "mateo"))
    record(client, w, journey_body(w, "jasur", from_place="Tashkent", from_code="TAS",
                                   number="T5 718"), key=w.key("tashkent"))
    key = w.keys[who]
    r = client.get(f"/api/v1/events/{w.event.id}/journeys", headers=key)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) == seen == r.json()["total"]
    if seen == 1:  # a guest city: its own people only
        own = w.cities[who.split()[0]].id
        assert {i["city_id"] for i in items} == {own}
    shown = [t["full_name"] for i in items for t in i["travellers"]]
    assert all(shown) if names else not any(shown)
    assert client.get(f"/api/v1/journeys/{abq['id']}", headers=key).status_code == one
    board = client.get(f"/api/v1/events/{w.event.id}/travel-board", headers=key)
    assert board.status_code == 200, board.text
    assert sum(g["count"] for g in board.json()["arrivals"]) == (3 if seen == 2 else
                                                                 len(items[0]["travellers"]))


@pytest.mark.parametrize(("who", "status"), [
    ("anonymous", 401), ("kostroma coordinator", 404), ("kostroma partner", 404)])
def test_outsiders_see_no_travel_of_a_partners_only_event(client, world, who, status):
    w = world
    journey = record(client, w, journey_body(w, "karen"))
    key = w.keys[who]
    for path in (f"/api/v1/events/{w.event.id}/journeys",
                 f"/api/v1/events/{w.event.id}/travel-board",
                 f"/api/v1/events/{w.event.id}/travel-board.csv",
                 f"/api/v1/journeys/{journey['id']}"):
        assert_problem(client.get(path, headers=key), status)


def test_an_unrelated_city_sees_a_public_event_but_not_its_travel(client, world):
    w = world
    r = client.patch(f"/api/v1/events/{w.event.id}", headers={
        **w.key("ashgabat"), "If-Match": client.get(
            f"/api/v1/events/{w.event.id}", headers=w.key("ashgabat")).headers["ETag"]},
        json={"visibility": "public"})
    assert r.status_code == 200, r.text
    journey = record(client, w, journey_body(w, "karen"))
    key = w.key("kostroma")
    assert_problem(client.get(f"/api/v1/events/{w.event.id}/travel-board", headers=key), 403)
    assert_problem(client.get(f"/api/v1/events/{w.event.id}/journeys", headers=key), 403)
    assert_problem(client.get(f"/api/v1/journeys/{journey['id']}", headers=key), 404)


@pytest.mark.parametrize(("who", "status"), [
    ("albuquerque partner", 200), ("ashgabat coordinator", 200), ("admin", 200),
    ("ashgabat partner", 403), ("tashkent coordinator", 404), ("kostroma coordinator", 404)])
def test_who_changes_and_deletes_a_journey(client, world, who, status):
    w = world
    journey = record(client, w, journey_body(w, "karen"))
    key = w.keys[who]
    r = client.patch(f"/api/v1/journeys/{journey['id']}", headers=key,
                     json={"met_by": "Bus from the city hall"})
    assert r.status_code == status, r.text
    r = client.delete(f"/api/v1/journeys/{journey['id']}", headers=key)
    assert r.status_code == (204 if status == 200 else status), r.text
