from __future__ import annotations

import pytest

from tests.conftest import assert_problem


def test_create_city_derives_timezone_from_coordinates(client, admin):
    r = client.post(
        "/api/v1/cities",
        json={"name": "Albuquerque", "country_code": "us", "latitude": 35.0844,
              "longitude": -106.6504},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["timezone"] == "America/Denver"
    assert body["country_code"] == "US"


@pytest.mark.parametrize(
    ("country", "coords", "zone"),
    [
        ("TM", None, "Asia/Ashgabat"),  # the country's only zone
        ("KZ", (43.65, 51.15), "Asia/Aqtau"),
        ("RU", (48.708, 44.513), "Europe/Volgograd"),
        ("DE", None, "Europe/Berlin"),  # Büsingen borrows Zurich's zone; Berlin is Germany's own
    ],
)
def test_timezone_derivation(client, admin, country, coords, zone):
    body = {"name": "Somewhere", "country_code": country}
    if coords:
        body |= {"latitude": coords[0], "longitude": coords[1]}
    r = client.post("/api/v1/cities", json=body, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["timezone"] == zone


def test_timezone_not_derivable_is_422_that_says_why(client, admin):
    r = client.post("/api/v1/cities", json={"name": "Springfield", "country_code": "US"},
                    headers=admin)
    assert_problem(r, 422, contains="several timezones")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "country_code": "XX", "timezone": "UTC"}, "country_code"),
        ({"name": "X", "country_code": "RUS", "timezone": "UTC"}, "country_code"),
        ({"name": "X", "country_code": "RU", "timezone": "Mars/Olympus"}, "timezone"),
        ({"name": "", "country_code": "RU", "timezone": "UTC"}, "name"),
        ({"name": "X", "country_code": "RU", "latitude": 95, "longitude": 0}, "latitude"),
        ({"name": "X", "country_code": "RU", "wikidata_id": "banana"}, "wikidata_id"),
    ],
)
def test_invalid_city_fields_are_named(client, admin, body, field):
    problem = assert_problem(client.post("/api/v1/cities", json=body, headers=admin), 422)
    assert any(field in e["loc"] for e in problem["errors"]), problem


def test_search_ignores_case_and_accents(client, make_city):
    make_city("Oryol", alternate_names=["Orël", "Орёл"])
    make_city("Ostrava", "CZ")
    make_city("Kostroma")
    for q in ("ory", "ORY", "orë", "orel", "Орёл"):
        names = [c["name"] for c in client.get("/api/v1/cities", params={"q": q}).json()["items"]]
        assert names == ["Oryol"], q
    names = [c["name"] for c in client.get("/api/v1/cities", params={"q": "o"}).json()["items"]]
    assert names == ["Oryol", "Ostrava"]  # prefix, not substring: Kostroma is not here


def test_search_treats_like_wildcards_literally(client, make_city):
    make_city("Oryol")
    assert client.get("/api/v1/cities", params={"q": "%"}).json()["total"] in (0, 1)
    assert client.get("/api/v1/cities", params={"q": "_ry"}).json()["total"] == 0


def test_filter_by_country_and_paginate(client, make_city):
    for i in range(5):
        make_city(f"Town {i}", "TM")
    make_city("Kostroma")
    r = client.get("/api/v1/cities", params={"country_code": "tm", "limit": 2, "offset": 2})
    body = r.json()
    assert body["total"] == 5 and body["limit"] == 2 and body["offset"] == 2
    assert [c["name"] for c in body["items"]] == ["Town 2", "Town 3"]


def test_limit_is_capped(client):
    assert client.get("/api/v1/cities", params={"limit": 100000}).json()["limit"] == 200
    assert_problem(client.get("/api/v1/cities", params={"limit": 0}), 422)


def test_read_update_delete(client, admin, make_city):
    city = make_city("Mary", "TM")
    r = client.patch(f"/api/v1/cities/{city.id}", json={"population": 167_000}, headers=admin)
    assert r.status_code == 200 and r.json()["population"] == 167_000
    assert client.get(f"/api/v1/cities/{city.id}").json()["population"] == 167_000
    assert client.delete(f"/api/v1/cities/{city.id}", headers=admin).status_code == 204
    assert_problem(client.get(f"/api/v1/cities/{city.id}"), 404)


def test_moving_a_city_rederives_its_timezone(client, admin, make_city):
    city = make_city("Mangystau", "KZ", timezone="Asia/Almaty")
    r = client.patch(f"/api/v1/cities/{city.id}", json={"latitude": 43.65, "longitude": 51.15},
                     headers=admin)
    assert r.json()["timezone"] == "Asia/Aqtau"


def test_delete_is_409_while_referenced(client, admin, make_city, make_partnership):
    a, b = make_city("Coventry", "GB"), make_city("Volgograd", timezone="Europe/Volgograd")
    make_partnership(a, b)
    assert_problem(client.delete(f"/api/v1/cities/{a.id}", headers=admin), 409,
                   contains="referenced")
    assert client.get(f"/api/v1/cities/{a.id}").status_code == 200


def test_duplicate_wikidata_id_is_409(client, admin, make_city):
    make_city("Ashgabat", "TM", wikidata_id="Q23438")
    r = client.post("/api/v1/cities", json={"name": "Aşgabat", "country_code": "TM",
                                            "wikidata_id": "Q23438"}, headers=admin)
    assert_problem(r, 409, contains="Q23438")


def test_partners_come_in_name_order_page_by_page(client, make_city, make_partnership):
    """The order is the names' (accents and case folded), on either side of the
    twinning; pages split it without losing or repeating anyone, and a status
    filter counts only what it keeps."""
    hub = make_city("Kostroma")
    names = ["Zlín", "évian-les-Bains", "Ávila", "bath", "Eger", "Ávila"]
    for i, name in enumerate(names):
        other = make_city(name, "FR")
        if i % 2:
            make_partnership(other, hub)  # the hub on the other side
        else:
            make_partnership(hub, other, status="suspended" if name == "Eger" else "active")
    url = f"/api/v1/cities/{hub.id}/partners"
    whole = client.get(url, params={"limit": 100}).json()
    assert [p["city"]["name"] for p in whole["items"]] == [
        "Ávila", "Ávila", "bath", "Eger", "évian-les-Bains", "Zlín"]
    assert whole["total"] == 6
    pages = [client.get(url, params={"limit": 2, "offset": o}).json() for o in (0, 2, 4, 6)]
    assert [p["partnership_id"] for page in pages for p in page["items"]] == [
        p["partnership_id"] for p in whole["items"]]
    assert {page["total"] for page in pages} == {6} and pages[-1]["items"] == []
    active = client.get(url, params={"status": "active"}).json()
    assert active["total"] == 5 and "Eger" not in [p["city"]["name"] for p in active["items"]]
