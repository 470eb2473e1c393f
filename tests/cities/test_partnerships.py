from __future__ import annotations

import pytest

from tests.conftest import assert_problem


@pytest.fixture
def pair(make_city):
    return make_city("Coventry", "GB"), make_city("Volgograd", timezone="Europe/Volgograd")


def test_create_with_year_only_date(client, admin, pair):
    a, b = pair
    r = client.post(
        "/api/v1/partnerships",
        json={"city_a_id": b.id, "city_b_id": a.id, "status": "active", "established_on": "1944"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["established_on"] == "1944" and body["established_year"] == 1944
    assert {body["city_a_id"], body["city_b_id"]} == {a.id, b.id}
    assert body["history"][0]["to_status"] == "active"
    assert body["history"][0]["changed_on"] == "1944"


def test_pair_is_unordered(client, admin, pair):
    a, b = pair
    client.post("/api/v1/partnerships", json={"city_a_id": a.id, "city_b_id": b.id},
                headers=admin)
    r = client.post("/api/v1/partnerships", json={"city_a_id": b.id, "city_b_id": a.id},
                    headers=admin)
    assert_problem(r, 409, contains="already")


def test_city_with_itself_is_422(client, admin, pair):
    a, _ = pair
    r = client.post("/api/v1/partnerships", json={"city_a_id": a.id, "city_b_id": a.id},
                    headers=admin)
    assert_problem(r, 422, contains="itself")


def test_unknown_city_is_422(client, admin, pair):
    a, _ = pair
    r = client.post("/api/v1/partnerships", json={"city_a_id": a.id, "city_b_id": 99999},
                    headers=admin)
    assert_problem(r, 422, contains="99999")


@pytest.mark.parametrize("bad", ["17", "2017-13", "2017-02-30", "May 2017", "20170520"])
def test_bad_partial_dates(client, admin, pair, bad):
    a, b = pair
    r = client.post("/api/v1/partnerships",
                    json={"city_a_id": a.id, "city_b_id": b.id, "established_on": bad},
                    headers=admin)
    problem = assert_problem(r, 422)
    assert problem["errors"][0]["loc"][-1] == "established_on"


def test_lifecycle_records_each_change_with_its_date(client, admin, pair):
    a, b = pair
    pid = client.post("/api/v1/partnerships",
                      json={"city_a_id": a.id, "city_b_id": b.id, "status_changed_on": "2014-04"},
                      headers=admin).json()["id"]
    for status, on in [("negotiating", "2015"), ("active", "2016-05-01"),
                       ("suspended", "2022-03-02"), ("active", "2024")]:
        r = client.patch(f"/api/v1/partnerships/{pid}",
                         json={"status": status, "status_changed_on": on}, headers=admin)
        assert r.status_code == 200, r.text
    history = client.get(f"/api/v1/partnerships/{pid}").json()["history"]
    assert [(h["from_status"], h["to_status"], h["changed_on"]) for h in history] == [
        (None, "proposed", "2014-04"),
        ("proposed", "negotiating", "2015"),
        ("negotiating", "active", "2016-05-01"),
        ("active", "suspended", "2022-03-02"),
        ("suspended", "active", "2024"),
    ]


def test_ended_is_final(client, admin, make_partnership, pair):
    p = make_partnership(*pair, status="ended")
    r = client.patch(f"/api/v1/partnerships/{p.id}", json={"status": "active"}, headers=admin)
    assert_problem(r, 409, contains="ended to active")


def test_status_update_to_same_status_records_nothing(client, admin, make_partnership, pair):
    p = make_partnership(*pair)
    client.patch(f"/api/v1/partnerships/{p.id}", json={"status": "active", "notes": "x"},
                 headers=admin)
    assert len(client.get(f"/api/v1/partnerships/{p.id}").json()["history"]) == 1


def test_list_filters(client, make_city, make_partnership):
    ashgabat = make_city("Ashgabat", "TM")
    others = [make_city(n, "TM") for n in ("Mary", "Dashoguz", "Turkmenabat")]
    make_partnership(ashgabat, others[0])
    make_partnership(ashgabat, others[1], status="proposed")
    make_partnership(others[1], others[2])
    r = client.get("/api/v1/partnerships", params={"city_id": ashgabat.id}).json()
    assert r["total"] == 2
    r = client.get("/api/v1/partnerships",
                   params={"city_id": ashgabat.id, "status": "proposed"}).json()
    assert r["total"] == 1 and r["items"][0]["status"] == "proposed"
    assert_problem(client.get("/api/v1/partnerships", params={"status": "married"}), 422)


def test_partners_of_a_city(client, make_city, make_partnership):
    ashgabat = make_city("Ashgabat", "TM")
    bamako = make_city("Bamako", "ML")
    tokyo = make_city("Tokyo", "JP")
    make_partnership(ashgabat, bamako, established_on="1974")
    make_partnership(ashgabat, tokyo, status="proposed", status_changed_on="2014-04")
    body = client.get(f"/api/v1/cities/{ashgabat.id}/partners").json()
    assert [(i["city"]["name"], i["status"], i["established_on"], i["status_changed_on"])
            for i in body["items"]] == [
        ("Bamako", "active", "1974", "1974"),
        ("Tokyo", "proposed", None, "2014-04"),
    ]
    assert_problem(client.get("/api/v1/cities/424242/partners"), 404)
