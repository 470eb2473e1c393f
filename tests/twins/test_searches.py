"""A city's search for a twin, worked: shortlisted, contacted, declined, proposed, with
its history; who may read and change it; the transitions that make no sense."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.cities.models import City
from app.core.actors import Role
from app.core.clock import frozen_at
from app.twins import service
from tests.conftest import assert_problem
from tests.twins.test_candidates import build_world

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _clock() -> Iterator[None]:
    service.forget_loaded_model()
    with frozen_at(NOW):
        yield
    service.forget_loaded_model()


@pytest.fixture
def world(session: Session, make_city: Callable[..., City],
          make_partnership: Callable[..., Any]) -> dict[str, City]:
    cities = build_world(make_city, make_partnership)
    service.build_model(session)
    session.commit()
    return cities


@pytest.fixture
def kostroma_key(make_key: Callable[..., dict[str, str]], world: dict[str, City]
                 ) -> dict[str, str]:
    return make_key(Role.coordinator, world["Kostroma"])


def open_search(client: TestClient, city: City, headers: dict[str, str], **body: Any
                ) -> dict[str, Any]:
    response = client.post(f"/api/v1/cities/{city.id}/twin-searches", headers=headers,
                           json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def shortlist(client: TestClient, search: dict[str, Any], city: City,
              headers: dict[str, str], note: str | None = None) -> Any:
    return client.post(f"/api/v1/twin-searches/{search['id']}/candidates", headers=headers,
                       json={"city_id": city.id, "note": note})


def answer(client: TestClient, search: dict[str, Any], city: City, state: str,
           headers: dict[str, str], note: str | None = None) -> Any:
    return client.patch(f"/api/v1/twin-searches/{search['id']}/candidates/{city.id}",
                        headers=headers, json={"state": state, "note": note})


def propose(client: TestClient, search: dict[str, Any], city: City,
            headers: dict[str, str], **body: Any) -> Any:
    return client.post(f"/api/v1/twin-searches/{search['id']}/candidates/{city.id}/propose",
                       headers=headers, json=body or None)


def detail(client: TestClient, search: dict[str, Any], headers: dict[str, str]
           ) -> dict[str, Any]:
    response = client.get(f"/api/v1/twin-searches/{search['id']}", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_create_defaults_to_seeking_twin_in_and_lists(
    client: TestClient, world: dict[str, City], kostroma_key: dict[str, str],
    admin: dict[str, str],
) -> None:
    kostroma = world["Kostroma"]
    client.patch(f"/api/v1/cities/{kostroma.id}", headers=admin,
                 json={"seeking_twin_in": ["TM", "AZ", "UZ"]}).raise_for_status()
    first = open_search(client, kostroma, kostroma_key)
    assert first["countries"] == ["TM", "AZ", "UZ"]
    assert first["status"] == "open" and first["city_id"] == kostroma.id
    assert first["created_by"].startswith("coordinator key ")
    assert first["created_by"].endswith(f" of city {kostroma.id}")
    second = open_search(client, kostroma, kostroma_key, countries=["tm", "TM", "IT"],
                         notes="An Italian city was proposed along the way.")
    assert second["countries"] == ["TM", "IT"]
    listed = client.get(f"/api/v1/cities/{kostroma.id}/twin-searches", headers=kostroma_key,
                        params={"limit": 1})
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert page["total"] == 2 and page["limit"] == 1
    assert [s["id"] for s in page["items"]] == [second["id"]]  # newest first
    history = detail(client, first, kostroma_key)["history"]
    assert [(h["what"], h["to_state"], h["note"]) for h in history] == [
        ("opened", "open", "TM, AZ, UZ")]
    assert_problem(client.post(f"/api/v1/cities/{kostroma.id}/twin-searches",
                               headers=kostroma_key, json={"countries": ["XX"]}), 422)
    assert_problem(client.post("/api/v1/cities/999999/twin-searches", headers=admin,
                               json={}), 404)


def test_a_search_worked_from_shortlist_to_proposal(
    client: TestClient, session: Session, world: dict[str, City],
    kostroma_key: dict[str, str], admin: dict[str, str],
) -> None:
    kostroma, mary, ashgabat = world["Kostroma"], world["Mary"], world["Ashgabat"]
    baku = world["Baku"]
    search = open_search(client, kostroma, kostroma_key, countries=["TM", "AZ", "UZ"])

    # Shortlisted with the model's score and reasons of this moment.
    listed = shortlist(client, search, mary, kostroma_key, note="Twinned with Gabrovo too")
    assert listed.status_code == 201, listed.text
    body = listed.json()
    assert body["state"] == "shortlisted" and body["city"]["name"] == "Mary"
    assert body["score"] is not None and body["partnership_id"] is None
    assert "twinned with 2 of Kostroma's twins" in body["reasons"]
    offered = client.get(f"/api/v1/cities/{kostroma.id}/candidates",
                         params={"country": "TM", "limit": 50}).json()
    mary_now = next(i for i in offered["items"] if i["city"]["id"] == mary.id)
    assert body["score"] == pytest.approx(mary_now["score"])
    assert body["reasons"] == [r["text"] for r in mary_now["reasons"]]

    assert shortlist(client, search, ashgabat, kostroma_key).status_code == 201
    assert shortlist(client, search, baku, kostroma_key).status_code == 201

    # Suggestions: the search's countries, without what it already took up.
    suggested = client.get(f"/api/v1/twin-searches/{search['id']}/suggestions",
                           headers=kostroma_key, params={"limit": 50})
    assert suggested.status_code == 200, suggested.text
    names = {i["city"]["name"] for i in suggested.json()["items"]}
    assert names == {"Turkmenabat", "Ganja", "Samarkand", "Bukhara"}
    assert suggested.json()["search_id"] == search["id"]

    contacted = answer(client, search, mary, "contacted", kostroma_key, note="Letter sent")
    assert contacted.status_code == 200, contacted.text
    assert contacted.json()["state"] == "contacted"
    assert contacted.json()["note"] == "Letter sent"
    declined = answer(client, search, ashgabat, "declined", kostroma_key,
                      note="Not this year")
    assert declined.json()["state"] == "declined"

    proposed = propose(client, search, mary, kostroma_key, note="Proposed by the council")
    assert proposed.status_code == 201, proposed.text
    assert proposed.json()["state"] == "proposed"
    partnership_id = proposed.json()["partnership_id"]
    partnership = client.get(f"/api/v1/partnerships/{partnership_id}").json()
    assert partnership["status"] == "proposed"
    assert {partnership["city_a_id"], partnership["city_b_id"]} == {kostroma.id, mary.id}
    assert partnership["notes"] == "Proposed by the council"
    assert [h["to_status"] for h in partnership["history"]] == ["proposed"]
    # Mary is now a partnership record of Kostroma: no longer its candidate.
    after = client.get(f"/api/v1/cities/{kostroma.id}/candidates",
                       params={"country": "TM", "limit": 50}).json()
    assert mary.id not in {i["city"]["id"] for i in after["items"]}

    # Proposing without a body works too.
    assert propose(client, search, baku, admin).status_code == 201

    seen = detail(client, search, kostroma_key)
    assert [(c["city"]["name"], c["state"]) for c in seen["candidates"]] == [
        ("Mary", "proposed"), ("Ashgabat", "declined"), ("Baku", "proposed")]
    assert [(h["what"], h["city"]["name"] if h["city"] else None, h["from_state"],
             h["to_state"], h["note"]) for h in seen["history"]] == [
        ("opened", None, None, "open", "TM, AZ, UZ"),
        ("shortlisted", "Mary", None, "shortlisted", "Twinned with Gabrovo too"),
        ("shortlisted", "Ashgabat", None, "shortlisted", None),
        ("shortlisted", "Baku", None, "shortlisted", None),
        ("contacted", "Mary", "shortlisted", "contacted", "Letter sent"),
        ("declined", "Ashgabat", "shortlisted", "declined", "Not this year"),
        ("proposed", "Mary", "contacted", "proposed", "Proposed by the council"),
        ("proposed", "Baku", "shortlisted", "proposed",
         f"partnership {seen['candidates'][2]['partnership_id']} proposed"),
    ]
    assert seen["history"][-1]["actor"].startswith("admin key ")
    assert all(h["actor"].startswith("coordinator key ") for h in seen["history"][:-1])


def test_search_changes_are_steps(client: TestClient, world: dict[str, City],
                                  kostroma_key: dict[str, str]) -> None:
    search = open_search(client, world["Kostroma"], kostroma_key, countries=["TM"])
    url = f"/api/v1/twin-searches/{search['id']}"
    changed = client.patch(url, headers=kostroma_key, json={
        "countries": ["TM", "AZ", "UZ"], "notes": "Then Azerbaijan or Uzbekistan"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["countries"] == ["TM", "AZ", "UZ"]
    # Nothing changed: no step.
    client.patch(url, headers=kostroma_key, json={"countries": ["TM", "AZ", "UZ"],
                                                  "status": "open"}).raise_for_status()
    paused = client.patch(url, headers=kostroma_key, json={"status": "paused"}).json()
    assert paused["status"] == "paused"
    found = client.patch(url, headers=kostroma_key, json={"status": "found"}).json()
    assert [(h["what"], h["from_state"], h["to_state"], h["note"])
            for h in found["history"]] == [
        ("opened", None, "open", "TM"),
        ("countries_changed", None, None, "TM, AZ, UZ"),
        ("notes_changed", None, None, None),
        ("status_changed", "open", "paused", None),
        ("status_changed", "paused", "found", None),
    ]
    # found -> paused makes no sense; found -> open (reopened) does.
    assert_problem(client.patch(url, headers=kostroma_key, json={"status": "paused"}), 409,
                   contains="allowed next: open")
    assert_problem(client.patch(url, headers=kostroma_key, json={"status": "lost"}), 422)


def test_transitions_that_make_no_sense_are_409(
    client: TestClient, world: dict[str, City], kostroma_key: dict[str, str]
) -> None:
    kostroma, mary, baku = world["Kostroma"], world["Mary"], world["Baku"]
    search = open_search(client, kostroma, kostroma_key)
    assert shortlist(client, search, mary, kostroma_key).status_code == 201
    # Twice, or a city Kostroma has a partnership with (any status).
    assert_problem(shortlist(client, search, mary, kostroma_key), 409,
                   contains="already shortlisted")
    for partner in ("Gabrovo", "Kassel", "Bergamo"):
        assert_problem(shortlist(client, search, world[partner], kostroma_key), 409,
                       contains="already have partnership")
    assert_problem(shortlist(client, search, kostroma, kostroma_key), 422)
    missing = client.post(f"/api/v1/twin-searches/{search['id']}/candidates",
                          headers=kostroma_key, json={"city_id": 999999})
    assert_problem(missing, 422, contains="999999")

    # Declined is final: no proposal, no contact.
    assert answer(client, search, mary, "declined", kostroma_key).status_code == 200
    assert_problem(propose(client, search, mary, kostroma_key), 409, contains="declined")
    assert_problem(answer(client, search, mary, "contacted", kostroma_key), 409)
    assert_problem(answer(client, search, mary, "declined", kostroma_key), 409)
    # Only contacted or declined through PATCH; and only cities taken up.
    assert_problem(answer(client, search, mary, "proposed", kostroma_key), 422)
    assert_problem(answer(client, search, baku, "contacted", kostroma_key), 404,
                   contains="shortlist it first")
    assert_problem(propose(client, search, baku, kostroma_key), 404)

    # Proposed is final too.
    assert shortlist(client, search, baku, kostroma_key).status_code == 201
    assert propose(client, search, baku, kostroma_key).status_code == 201
    assert_problem(propose(client, search, baku, kostroma_key), 409, contains="proposed")
    assert_problem(answer(client, search, baku, "declined", kostroma_key), 409)

    # A search that was abandoned is not worked until reopened.
    url = f"/api/v1/twin-searches/{search['id']}"
    client.patch(url, headers=kostroma_key, json={"status": "abandoned"}).raise_for_status()
    assert_problem(shortlist(client, search, world["Ganja"], kostroma_key), 409,
                   contains="reopen it")
    client.patch(url, headers=kostroma_key, json={"status": "open"}).raise_for_status()
    assert shortlist(client, search, world["Ganja"], kostroma_key).status_code == 201


def test_proposing_when_a_partnership_appeared_meanwhile_is_409(
    client: TestClient, world: dict[str, City], kostroma_key: dict[str, str],
    admin: dict[str, str],
) -> None:
    kostroma, mary = world["Kostroma"], world["Mary"]
    search = open_search(client, kostroma, kostroma_key)
    assert shortlist(client, search, mary, kostroma_key).status_code == 201
    client.post("/api/v1/partnerships", headers=admin, json={
        "city_a_id": kostroma.id, "city_b_id": mary.id}).raise_for_status()
    assert_problem(propose(client, search, mary, kostroma_key), 409,
                   contains="already have partnership")
    assert detail(client, search, kostroma_key)["candidates"][0]["state"] == "shortlisted"


def test_who_may_read_and_work_a_search(
    client: TestClient, world: dict[str, City], kostroma_key: dict[str, str],
    make_key: Callable[..., dict[str, str]], admin: dict[str, str],
) -> None:
    kostroma, volgograd, mary = world["Kostroma"], world["Volgograd"], world["Mary"]
    search = open_search(client, kostroma, kostroma_key)
    assert shortlist(client, search, mary, kostroma_key).status_code == 201
    sid = search["id"]
    other = make_key(Role.coordinator, volgograd)
    partner = make_key(Role.partner, kostroma)
    reads = [f"/api/v1/twin-searches/{sid}", f"/api/v1/twin-searches/{sid}/suggestions",
             f"/api/v1/cities/{kostroma.id}/twin-searches"]
    writes: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", f"/api/v1/cities/{kostroma.id}/twin-searches", {}),
        ("PATCH", f"/api/v1/twin-searches/{sid}", {"notes": "x"}),
        ("POST", f"/api/v1/twin-searches/{sid}/candidates", {"city_id": world["Baku"].id}),
        ("PATCH", f"/api/v1/twin-searches/{sid}/candidates/{mary.id}", {"state": "contacted"}),
        ("POST", f"/api/v1/twin-searches/{sid}/candidates/{mary.id}/propose", None),
    ]
    for url in reads:
        assert client.get(url, headers=kostroma_key).status_code == 200, url
        assert client.get(url, headers=partner).status_code == 200, url
        assert client.get(url, headers=admin).status_code == 200, url
        assert_problem(client.get(url, headers=other), 403)
        assert_problem(client.get(url), 401)
    for method, url, body in writes:
        assert_problem(client.request(method, url, json=body), 401)
        assert_problem(client.request(method, url, headers=other, json=body), 403)
        assert_problem(client.request(method, url, headers=partner, json=body), 403)
    # Nothing was changed by the refused writes.
    seen = detail(client, search, admin)
    assert [h["what"] for h in seen["history"]] == ["opened", "shortlisted"]
    assert_problem(client.get("/api/v1/twin-searches/999999", headers=admin), 404)
    # The city's coordinator (and admins) may.
    for method, url, body in writes:
        response = client.request(method, url, headers=kostroma_key, json=body)
        assert response.status_code in (200, 201), (url, response.text)


def test_suggestions_without_a_model_are_503(
    client: TestClient, session: Session, make_city: Callable[..., City],
    make_key: Callable[..., dict[str, str]],
) -> None:
    kostroma = make_city("Kostroma", "RU")
    mary = make_city("Mary", "TM")
    key = make_key(Role.coordinator, kostroma)
    search = open_search(client, kostroma, key, countries=["TM"])
    response = client.get(f"/api/v1/twin-searches/{search['id']}/suggestions", headers=key)
    assert_problem(response, 503, contains="twinplan build-candidates")
    # Shortlisting does not wait for the model: it keeps no score then.
    listed = shortlist(client, search, mary, key)
    assert listed.status_code == 201, listed.text
    assert listed.json()["score"] is None and listed.json()["reasons"] == []


def test_the_demo_opens_kostromas_search_once(session: Session) -> None:
    from sqlmodel import select

    from app.cities.demo import seed_demo
    from app.twins.demo import seed_demo_search
    from app.twins.models import TwinSearch

    ids = seed_demo(session).city_ids
    assert seed_demo_search(session, ids) == 1
    assert seed_demo_search(session, ids) == 0
    (search,) = session.exec(select(TwinSearch)).all()
    assert (search.city_id, search.countries) == (ids["Kostroma"], ["TM", "AZ", "UZ"])
    assert "Ferrara" in (search.notes or "")
