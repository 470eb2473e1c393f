"""A city's candidates (GET /cities/{id}/candidates): the model built from the network,
kept fresh by the worker, served from memory, never built by a request."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from app.cities.models import City, PartnershipStatus
from app.core.clock import frozen_at
from app.core.settings import get_settings
from app.twins import service
from app.twins.models import CandidateModel
from app.worker import Worker
from tests.conftest import assert_problem

BUILT = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
REBUILT = datetime(2027, 3, 1, 9, 5, tzinfo=UTC)

# name: (country, latitude, longitude, population)
CITIES: dict[str, tuple[str, float, float, int | None]] = {
    "Kostroma": ("RU", 57.77, 40.93, 270_000),
    "Volgograd": ("RU", 48.71, 44.51, 1_000_000),
    "Oryol": ("RU", 52.97, 36.07, 300_000),
    "Yaroslavl": ("RU", 57.63, 39.87, 570_000),
    "Ashgabat": ("TM", 37.95, 58.38, 1_000_000),
    "Mary": ("TM", 37.60, 61.83, 130_000),
    "Turkmenabat": ("TM", 39.07, 63.57, 250_000),
    "Baku": ("AZ", 40.41, 49.87, 2_300_000),
    "Ganja": ("AZ", 40.68, 46.36, 330_000),
    "Samarkand": ("UZ", 39.65, 66.96, 550_000),
    "Bukhara": ("UZ", 39.77, 64.42, 280_000),
    "Gabrovo": ("BG", 42.87, 25.32, 50_000),
    "Poti": ("GE", 42.15, 41.67, 41_000),
    "Kassel": ("DE", 51.31, 9.48, 200_000),
    "Bergamo": ("IT", 45.69, 9.67, 120_000),
    "Dijon": ("FR", 47.32, 5.04, 160_000),
}
# Kostroma's partnerships in every status: none of these is ever its candidate.
KOSTROMA_PARTNERS = {
    "Gabrovo": PartnershipStatus.active,
    "Poti": PartnershipStatus.suspended,
    "Kassel": PartnershipStatus.ended,
    "Bergamo": PartnershipStatus.proposed,
    "Dijon": PartnershipStatus.negotiating,
}
TWINNINGS = [
    ("Volgograd", "Ashgabat"), ("Volgograd", "Baku"), ("Oryol", "Turkmenabat"),
    ("Yaroslavl", "Samarkand"), ("Gabrovo", "Mary"), ("Poti", "Mary"), ("Gabrovo", "Ganja"),
    ("Oryol", "Bukhara"), ("Yaroslavl", "Kassel"), ("Volgograd", "Kassel"),
    ("Poti", "Baku"), ("Kassel", "Dijon"), ("Bergamo", "Dijon"), ("Ashgabat", "Baku"),
]


def build_world(make_city: Callable[..., City], make_partnership: Callable[..., Any]
                ) -> dict[str, City]:
    """Kostroma, its partners in every status, and cities of Turkmenistan, Azerbaijan
    and Uzbekistan twinned with Russian and other cities."""
    cities = {
        name: make_city(name, country, latitude=lat, longitude=lon, population=population)
        for name, (country, lat, lon, population) in CITIES.items()
    }
    for name, status in KOSTROMA_PARTNERS.items():
        make_partnership(cities["Kostroma"], cities[name], status=status)
    for a, b in TWINNINGS:
        make_partnership(cities[a], cities[b])
    return cities


@pytest.fixture(autouse=True)
def _fresh_process() -> Iterator[None]:
    """Each test starts as a new process would: no model in memory."""
    service.forget_loaded_model()
    yield
    service.forget_loaded_model()


@pytest.fixture
def world(make_city: Callable[..., City], make_partnership: Callable[..., Any]
          ) -> dict[str, City]:
    return build_world(make_city, make_partnership)


@pytest.fixture
def built(session: Session, world: dict[str, City]) -> dict[str, City]:
    """The world, with a model built from it."""
    with frozen_at(BUILT):
        service.build_model(session)
    session.commit()
    return world


@pytest.fixture
def worker(session: Session) -> Iterator[Worker]:
    """A worker whose transactions are the test's."""

    @contextmanager
    def shared() -> Iterator[Session]:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise

    runner = Worker(name="test-worker", sessions=shared, settings=get_settings(),
                    rng=random.Random(7))
    yield runner
    runner.close()


def candidates(client: TestClient, city: City, **params: Any) -> dict[str, Any]:
    response = client.get(f"/api/v1/cities/{city.id}/candidates", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def names(body: dict[str, Any]) -> list[str]:
    return [item["city"]["name"] for item in body["items"]]


def models_stored(session: Session) -> int:
    return session.exec(select(func.count()).select_from(CandidateModel)).one()


def test_shape_scores_and_reasons(client: TestClient, built: dict[str, City]) -> None:
    kostroma = built["Kostroma"]
    body = candidates(client, kostroma, limit=5)
    assert body["city_id"] == kostroma.id
    assert datetime.fromisoformat(body["model_built_at"]) == BUILT
    assert len(body["items"]) == 5
    scores = [item["score"] for item in body["items"]]
    assert scores == sorted(scores, reverse=True)
    for item in body["items"]:
        assert set(item) == {"city", "score", "reasons"}
        assert set(item["city"]) == {"id", "name", "country_code"}
        assert item["reasons"], item
        for reason in item["reasons"]:
            assert set(reason) == {"code", "weight", "text", "params"}
            assert isinstance(reason["text"], str) and reason["text"]
        # Every score decomposes into the reasons shown.
        assert item["score"] == pytest.approx(sum(r["weight"] for r in item["reasons"]),
                                              abs=1e-5)
    # Mary is twinned with two of Kostroma's twins (Gabrovo, Poti), and says so.
    mary = next(i for i in candidates(client, kostroma, limit=50)["items"]
                if i["city"]["name"] == "Mary")
    shared = next(r for r in mary["reasons"] if r["code"] == "shared_twins")
    assert shared["params"]["count"] == 2
    assert "2 of Kostroma's twins" in shared["text"]


def test_excludes_itself_and_partnerships_in_every_status(
    client: TestClient, built: dict[str, City]
) -> None:
    listed = names(candidates(client, built["Kostroma"], limit=50))
    assert "Kostroma" not in listed
    assert not set(KOSTROMA_PARTNERS) & set(listed)
    assert set(listed) == set(CITIES) - set(KOSTROMA_PARTNERS) - {"Kostroma"}


def test_country_filter(client: TestClient, built: dict[str, City]) -> None:
    kostroma = built["Kostroma"]
    body = candidates(client, kostroma, country=["TM", "az"], limit=50)
    assert {item["city"]["country_code"] for item in body["items"]} == {"TM", "AZ"}
    assert set(names(body)) == {"Ashgabat", "Mary", "Turkmenabat", "Baku", "Ganja"}
    only = candidates(client, kostroma, country="UZ", limit=1)
    assert len(only["items"]) == 1 and only["items"][0]["city"]["country_code"] == "UZ"
    # A country with no city in the network: nothing, not an error.
    assert candidates(client, kostroma, country="NZ")["items"] == []


def test_unknown_city_and_invalid_parameters(client: TestClient, built: dict[str, City]
                                             ) -> None:
    assert_problem(client.get("/api/v1/cities/999999/candidates"), 404, contains="999999")
    kostroma = built["Kostroma"]
    url = f"/api/v1/cities/{kostroma.id}/candidates"
    for params in ({"country": "XX"}, {"country": "TMM"}, {"country": ["TM", "1"]},
                   {"limit": 0}, {"limit": 51}):
        assert_problem(client.get(url, params=params), 422)


def test_no_model_yet_is_503_with_retry_after(
    client: TestClient, session: Session, world: dict[str, City]
) -> None:
    response = client.get(f"/api/v1/cities/{world['Kostroma'].id}/candidates")
    body = assert_problem(response, 503, contains="twinplan build-candidates")
    assert response.headers["Retry-After"] == str(service.MODEL_RETRY_AFTER)
    assert "being built" in body["detail"]
    assert models_stored(session) == 0  # the request did not build one


def test_a_city_newer_than_the_model_gets_candidates_from_what_is_known_of_it(
    client: TestClient, built: dict[str, City], make_city: Callable[..., City]
) -> None:
    newcomer = make_city("Sharya", "RU", latitude=58.37, longitude=45.5)
    response = client.get(f"/api/v1/cities/{newcomer.id}/candidates", params={"limit": 50})
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert items and "Sharya" not in [i["city"]["name"] for i in items]
    for item in items:  # from its country and place alone: no shared twins to speak of
        assert {r["code"] for r in item["reasons"]}.isdisjoint({"shared_twins"})
        assert abs(sum(r["weight"] for r in item["reasons"]) - item["score"]) < 1e-6
    # It can be a candidate of others only once the model knows it.
    assert "Sharya" not in names(candidates(client, built["Kostroma"], limit=50))


def test_worker_rebuilds_after_a_partnership_and_requests_never_build(
    client: TestClient, session: Session, built: dict[str, City], worker: Worker,
    admin: dict[str, str],
) -> None:
    kostroma, mary = built["Kostroma"], built["Mary"]
    with frozen_at(REBUILT):
        assert worker.refresh_candidates() is False  # nothing changed
    before = service.network_fingerprint(session)
    first = candidates(client, kostroma, limit=50)
    assert "Mary" in names(first)

    created = client.post("/api/v1/partnerships", headers=admin, json={
        "city_a_id": kostroma.id, "city_b_id": mary.id, "status": "active"})
    assert created.status_code == 201, created.text
    assert service.network_fingerprint(session) != before
    assert service.is_stale(session)

    # The request serves the model it has, and reads the new partnership at once.
    second = candidates(client, kostroma, limit=50)
    assert second["model_built_at"] == first["model_built_at"]
    assert "Mary" not in names(second)
    assert models_stored(session) == 1

    with frozen_at(REBUILT):
        assert worker.refresh_candidates() is True
        assert worker.refresh_candidates() is False
    assert models_stored(session) == 1  # the older model was deleted
    third = candidates(client, kostroma, limit=50)
    assert datetime.fromisoformat(third["model_built_at"]) == REBUILT
    assert "Mary" not in names(third)
    # The new link counts: Mary is now one of Kostroma's twins, so Poti's and
    # Gabrovo's other twins are seen through it.
    stored = session.exec(select(CandidateModel)).one()
    assert stored.links == len(TWINNINGS) + 2 + 1  # + Gabrovo, Poti (living), + Mary
    assert stored.fingerprint == service.network_fingerprint(session)


def test_links_are_the_living_twinnings(session: Session, world: dict[str, City]) -> None:
    network = service.read_network(session)
    assert len(network.nodes) == len(CITIES)
    ids = {c.id: name for name, c in world.items()}
    linked = {frozenset((ids[a], ids[b])) for a, b in network.links}
    assert frozenset(("Kostroma", "Gabrovo")) in linked  # active
    assert frozenset(("Kostroma", "Poti")) in linked  # suspended
    for name in ("Kassel", "Bergamo", "Dijon"):  # ended, proposed, negotiating
        assert frozenset(("Kostroma", name)) not in linked
    kostroma = next(n for n in network.nodes if n.name == "Kostroma")
    assert (kostroma.country, kostroma.population) == ("RU", 270_000)


def test_rebuild_if_stale(session: Session, world: dict[str, City],
                          make_city: Callable[..., City]) -> None:
    assert service.rebuild_if_stale(session) is True
    assert service.rebuild_if_stale(session) is False
    make_city("Sharya", "RU", latitude=58.37, longitude=45.5)
    assert service.rebuild_if_stale(session) is True
    newest = session.exec(select(CandidateModel).order_by(col(CandidateModel.id).desc())).first()
    assert newest is not None and newest.cities == len(CITIES) + 1


def test_a_city_deleted_since_the_build_is_left_out(
    client: TestClient, session: Session, world: dict[str, City],
    make_city: Callable[..., City], admin: dict[str, str],
) -> None:
    # Right by Kostroma and as large: among its first candidates, until deleted.
    make_city("Sharya", "RU", latitude=57.8, longitude=40.9, population=270_000)
    with frozen_at(BUILT):
        service.build_model(session)
    session.commit()
    kostroma = world["Kostroma"]
    everyone = names(candidates(client, kostroma, limit=50))
    first = everyone.index("Sharya") + 1
    sharya = session.exec(select(City).where(City.name == "Sharya")).one()
    client.delete(f"/api/v1/cities/{sharya.id}", headers=admin).raise_for_status()
    after = candidates(client, kostroma, limit=first)
    assert "Sharya" not in names(after)
    assert names(after) == [n for n in everyone if n != "Sharya"][:first]


def test_a_model_of_an_older_format_is_rebuilt_not_served(
    client: TestClient, session: Session, built: dict[str, City]
) -> None:
    import json
    import zlib

    stored = session.exec(select(CandidateModel)).one()
    payload = json.loads(zlib.decompress(stored.payload))
    payload["format"] -= 1
    stored.payload = zlib.compress(json.dumps(payload).encode())
    stored.fingerprint = stored.fingerprint.replace(
        f"model {payload['format'] + 1};", f"model {payload['format']};")
    session.add(stored)
    session.commit()
    response = client.get(f"/api/v1/cities/{built['Kostroma'].id}/candidates")
    assert_problem(response, 503)
    assert response.headers["Retry-After"] == str(service.MODEL_RETRY_AFTER)
    assert service.is_stale(session)  # the worker's next look rebuilds it
    assert service.rebuild_if_stale(session)
    session.commit()
    assert candidates(client, built["Kostroma"])["items"]
