"""The health of twinnings: a city's view (GET /cities/{id}/partnerships/health) and
the network's dormant twinnings (GET /dormant-partnerships), at a fixed instant."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event as sa_event
from sqlmodel import Session

from app.cities.models import City
from app.core.actors import Role
from app.core.clock import frozen_at
from app.core.db import get_engine
from app.core.settings import Settings, get_settings
from app.twins.health import (
    Anniversary,
    is_round_anniversary,
    next_round_anniversary,
)
from tests.conftest import assert_problem

# Monday 1 March 2027; the next World Twin Cities Day is Sunday 25 April 2027.
NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
TWIN_CITIES_DAY = "2027-04-25"


@pytest.fixture(autouse=True)
def _clock() -> Iterator[None]:
    with frozen_at(NOW):
        yield


def health(client: TestClient, city: City, headers: dict[str, str] | None = None
           ) -> dict[str, Any]:
    response = client.get(f"/api/v1/cities/{city.id}/partnerships/health", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def by_twin(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["twin"]["name"]: row for row in body["twinnings"]}


def codes(row: dict[str, Any]) -> list[str]:
    return [action["code"] for action in row["actions"]]


@pytest.fixture
def kostroma_world(
    make_city: Callable[..., City], make_partnership: Callable[..., Any],
    make_event: Callable[..., Any],
) -> dict[str, Any]:
    """Kostroma and its twins, each in another state of health on 1 March 2027."""
    kostroma = make_city("Kostroma", "RU")
    mary = make_city("Mary", "TM")
    gabrovo = make_city("Gabrovo", "BG")
    poti = make_city("Poti", "GE")
    cesis = make_city("Cēsis", "LV")
    durham = make_city("Durham", "US", timezone="America/New_York")
    kalisz = make_city("Kalisz", "PL")
    # Mary: alive; 25 years on 2027-05-20.
    make_partnership(kostroma, mary, established_on="2002-05-20")
    make_event(kostroma, [mary], title="Youth week 2019", starts_at="2019-05-10T10:00",
               ends_at="2019-05-14T18:00", status="completed")
    make_event(kostroma, [mary], title="Choir 2023", starts_at="2023-06-01T10:00",
               ends_at="2023-06-04T18:00", status="completed")
    make_event(mary, [kostroma], title="Carpets 2024", starts_at="2024-09-10T10:00",
               ends_at="2024-09-12T18:00", status="completed")
    make_event(mary, [kostroma], title="Called off 2025", starts_at="2025-05-10T10:00",
               ends_at="2025-05-12T18:00", status="cancelled")
    make_event(kostroma, [mary], title="Twin Cities Day 2027", starts_at="2027-04-24T10:00",
               ends_at="2027-04-26T18:00", status="planned")
    # Gabrovo: last met in 2019; a private visit in 2026 only Kostroma's keys see.
    make_partnership(kostroma, gabrovo, established_on="1999")
    make_event(gabrovo, [kostroma], title="Humour festival", starts_at="2019-05-17T10:00",
               ends_at="2019-05-19T18:00", status="completed")
    make_event(kostroma, [gabrovo], title="Mayors (private)", starts_at="2026-02-02T10:00",
               ends_at="2026-02-03T18:00", status="completed", visibility="private")
    # Poti: never met, date unknown. Cēsis: never met since 2015.
    make_partnership(kostroma, poti)
    make_partnership(kostroma, cesis, established_on="2015-07")
    make_partnership(kostroma, durham, status="proposed")
    make_partnership(kostroma, kalisz, status="ended", established_on="1970")
    return {"kostroma": kostroma, "mary": mary, "gabrovo": gabrovo, "poti": poti,
            "cesis": cesis, "durham": durham, "kalisz": kalisz}


def test_last_and_next_exchange_and_host_counts(
    client: TestClient, kostroma_world: dict[str, Any]
) -> None:
    body = health(client, kostroma_world["kostroma"])
    assert body["as_of"].startswith("2027-03-01T09:00")
    assert body["dormant_years"] == 3
    assert body["twin_cities_day"] == TWIN_CITIES_DAY
    mary = by_twin(body)["Mary"]
    assert mary["status"] == "active" and mary["established_on"] == "2002-05-20"
    assert mary["twin"] == {"id": kostroma_world["mary"].id, "name": "Mary",
                            "country_code": "TM"}
    last, upcoming = mary["last_exchange"], mary["next_exchange"]
    assert last["title"] == "Carpets 2024"  # not the cancelled one of 2025
    assert last["host_city_id"] == kostroma_world["mary"].id
    assert last["starts_at"] == "2024-09-10T10:00:00+05:00"  # Mary's wall clock
    assert upcoming["title"] == "Twin Cities Day 2027" and upcoming["status"] == "planned"
    # Since 2022-03-01: the choir (Kostroma) and the carpets (Mary); 2019 is too old.
    assert mary["exchanges_last_five_years"] == 2
    assert sorted(mary["hosted_last_five_years"], key=lambda c: c["city_id"]) == [
        {"city_id": kostroma_world["kostroma"].id, "hosted": 1},
        {"city_id": kostroma_world["mary"].id, "hosted": 1},
    ]
    assert mary["never_met"] is False and mary["dormant"] is False
    assert mary["dormant_since"] is None and mary["years_without_exchange"] == 2


def test_dormant_since_and_never_met(client: TestClient, kostroma_world: dict[str, Any]) -> None:
    rows = by_twin(health(client, kostroma_world["kostroma"]))
    gabrovo = rows["Gabrovo"]
    assert gabrovo["dormant"] is True and gabrovo["dormant_since"] == 2019
    assert gabrovo["years_without_exchange"] == 7 and gabrovo["never_met"] is False
    assert gabrovo["next_exchange"] is None
    poti = rows["Poti"]
    assert poti["never_met"] is True and poti["dormant"] is True
    assert poti["dormant_since"] is None and poti["years_without_exchange"] is None
    assert poti["last_exchange"] is None and poti["next_anniversary"] is None
    cesis = rows["Cēsis"]
    assert cesis["never_met"] is True and cesis["dormant_since"] == 2015
    assert cesis["years_without_exchange"] == 11
    # Proposed and ended twinnings are never dormant.
    assert rows["Durham"]["dormant"] is False and rows["Kalisz"]["dormant"] is False


def test_order_and_statuses(client: TestClient, kostroma_world: dict[str, Any]) -> None:
    names = [(r["twin"]["name"], r["status"])
             for r in health(client, kostroma_world["kostroma"])["twinnings"]]
    assert names == [("Cēsis", "active"), ("Gabrovo", "active"), ("Mary", "active"),
                     ("Poti", "active"), ("Durham", "proposed"), ("Kalisz", "ended")]


def test_round_anniversaries(client: TestClient, kostroma_world: dict[str, Any]) -> None:
    rows = by_twin(health(client, kostroma_world["kostroma"]))
    assert rows["Mary"]["next_anniversary"] == {"years": 25, "year": 2027, "on": "2027-05-20"}
    assert rows["Gabrovo"]["next_anniversary"] == {"years": 30, "year": 2029, "on": "2029"}
    assert rows["Cēsis"]["next_anniversary"] == {"years": 15, "year": 2030, "on": "2030-07"}
    assert rows["Kalisz"]["next_anniversary"] is None  # ended


def test_round_anniversary_rule() -> None:
    rounds = [n for n in range(1, 131) if is_round_anniversary(n)]
    assert rounds == [5, 10, 15, 20, 25, 30, 40, 50, 60, 70, 75, 80, 90, 100, 110, 120, 125,
                      130]
    today = date(2027, 3, 1)
    # Today counts; a year-only date counts all year; 29 February falls on the 28th.
    assert next_round_anniversary("2017-03-01", today) == Anniversary(
        years=10, year=2027, on="2027-03-01")
    assert next_round_anniversary("2017-02-28", today) == Anniversary(
        years=15, year=2032, on="2032-02-28")
    assert next_round_anniversary("2002", today) == Anniversary(years=25, year=2027, on="2027")
    assert next_round_anniversary("1992-02-29", today) == Anniversary(
        years=40, year=2032, on="2032-02-29")
    assert next_round_anniversary("2000-02-29", today) == Anniversary(
        years=30, year=2030, on="2030-02-28")
    assert next_round_anniversary(None, today) is None


def test_actions(client: TestClient, kostroma_world: dict[str, Any]) -> None:
    rows = by_twin(health(client, kostroma_world["kostroma"]))
    # Mary: something planned on World Twin Cities Day, 25 years in May.
    assert codes(rows["Mary"]) == ["celebrate_anniversary"]
    assert rows["Mary"]["actions"][0]["text"] == (
        "25 years of twinning on 2027-05-20: prepare the celebration.")
    assert codes(rows["Gabrovo"]) == ["propose_exchange", "plan_twin_cities_day"]
    assert rows["Gabrovo"]["actions"][0]["text"] == "No exchange since 2019: propose one."
    assert rows["Gabrovo"]["actions"][1]["text"] == (
        f"Nothing planned together for World Twin Cities Day ({TWIN_CITIES_DAY}): "
        "plan something.")
    assert codes(rows["Poti"]) == ["propose_exchange", "plan_twin_cities_day"]
    assert rows["Poti"]["actions"][0]["text"] == "No exchange recorded yet: propose a first one."
    assert rows["Cēsis"]["actions"][0]["text"] == (
        "No exchange since the twinning (2015): propose a first one.")
    assert codes(rows["Durham"]) == ["reply_to_proposal"]
    assert codes(rows["Kalisz"]) == []


def test_twin_cities_day_counts_the_day_in_the_citys_zone(
    client: TestClient, make_city: Callable[..., City], make_partnership: Callable[..., Any],
    make_event: Callable[..., Any],
) -> None:
    kostroma, mary = make_city("Kostroma", "RU"), make_city("Mary", "TM")
    make_partnership(kostroma, mary)
    # Ends at 01:00 on the day in Mary, 23:00 the day before in Kostroma: not on the day.
    make_event(mary, [kostroma], starts_at="2027-04-24T20:00", ends_at="2027-04-25T01:00")
    assert "plan_twin_cities_day" in codes(by_twin(health(client, kostroma))["Mary"])
    # Ends at 03:00 in Mary, 01:00 in Kostroma: it is on Kostroma's day.
    make_event(mary, [kostroma], starts_at="2027-04-24T20:00", ends_at="2027-04-25T03:00")
    assert "plan_twin_cities_day" not in codes(by_twin(health(client, kostroma))["Mary"])


def test_a_third_citys_event_is_an_exchange_of_its_guests(
    client: TestClient, make_city: Callable[..., City], make_partnership: Callable[..., Any],
    make_event: Callable[..., Any],
) -> None:
    kostroma, mary, poti = (make_city("Kostroma", "RU"), make_city("Mary", "TM"),
                            make_city("Poti", "GE"))
    make_partnership(kostroma, poti)
    make_event(mary, [kostroma, poti], title="Silk road forum", starts_at="2026-05-10T10:00",
               ends_at="2026-05-12T18:00", status="completed")
    row = by_twin(health(client, kostroma))["Poti"]
    assert row["last_exchange"]["title"] == "Silk road forum"
    assert row["exchanges_last_five_years"] == 1
    assert {c["hosted"] for c in row["hosted_last_five_years"]} == {0}
    assert row["never_met"] is False and row["dormant"] is False


def test_private_events_of_others_are_not_counted(
    client: TestClient, kostroma_world: dict[str, Any], make_key: Callable[..., Any],
) -> None:
    kostroma, mary = kostroma_world["kostroma"], kostroma_world["mary"]
    anonymous = by_twin(health(client, kostroma))["Gabrovo"]
    other_city = by_twin(health(client, kostroma, make_key(Role.coordinator, mary)))["Gabrovo"]
    for row in (anonymous, other_city):
        assert row["last_exchange"]["title"] == "Humour festival"
        assert row["dormant_since"] == 2019 and row["exchanges_last_five_years"] == 0
    own = by_twin(health(client, kostroma, make_key(Role.coordinator, kostroma)))["Gabrovo"]
    assert own["last_exchange"]["title"] == "Mayors (private)"
    assert own["dormant"] is False and own["exchanges_last_five_years"] == 1
    admin = by_twin(health(client, kostroma, make_key(Role.admin)))["Gabrovo"]
    assert admin["last_exchange"]["title"] == "Mayors (private)"


def test_dormant_years_is_a_setting(
    client: TestClient, kostroma_world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWINPLAN_DORMANT_YEARS", "10")
    get_settings.cache_clear()
    try:
        body = health(client, kostroma_world["kostroma"])
    finally:
        monkeypatch.delenv("TWINPLAN_DORMANT_YEARS")
        get_settings.cache_clear()
    rows = by_twin(body)
    assert body["dormant_years"] == 10
    assert rows["Gabrovo"]["dormant"] is False  # 2019 is less than ten years ago
    assert rows["Cēsis"]["dormant"] is True and rows["Cēsis"]["dormant_since"] == 2015
    for bad in (0, 101):
        with pytest.raises(ValueError, match="dormant_years"):
            Settings(dormant_years=bad)


def test_unknown_city(client: TestClient) -> None:
    assert_problem(client.get("/api/v1/cities/999999/partnerships/health"), 404)
    assert_problem(client.get("/api/v1/cities/0/partnerships/health"), 422)


def test_a_handful_of_queries_whatever_the_number_of_twins(
    client: TestClient, session: Session, make_city: Callable[..., City],
    make_partnership: Callable[..., Any], make_event: Callable[..., Any],
) -> None:
    kostroma = make_city("Kostroma", "RU")
    for n in range(12):
        twin = make_city(f"Twin {n}", "DE")
        make_partnership(kostroma, twin)
        make_event(kostroma, [twin], starts_at=f"2026-0{1 + n % 9}-10T10:00",
                   ends_at=f"2026-0{1 + n % 9}-11T10:00")
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    engine = get_engine()
    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        body = health(client, kostroma)
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)
    assert len(body["twinnings"]) == 12
    selects = [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]
    assert len(selects) <= 6, selects


# The network's dormant twinnings ------------------------------------------------


@pytest.fixture
def network(
    make_city: Callable[..., City], make_partnership: Callable[..., Any],
    make_event: Callable[..., Any],
) -> dict[str, Any]:
    names = ["Aachen", "Besancon", "Celle", "Dijon", "Emden", "Foix", "Goslar", "Hyeres",
             "Ingolstadt", "Jarnac", "Kiel", "Laval", "Minden", "Nevers"]
    c = {name: make_city(name, "FR" if i % 2 else "DE") for i, name in enumerate(names)}
    pairs = {
        "met_2018": make_partnership(c["Aachen"], c["Besancon"], established_on="1960"),
        "never_since_2010": make_partnership(c["Celle"], c["Dijon"], established_on="2010-06"),
        "met_2021": make_partnership(c["Emden"], c["Foix"]),
        "met_2026": make_partnership(c["Goslar"], c["Hyeres"], established_on="1990"),
        "never_unknown": make_partnership(c["Ingolstadt"], c["Jarnac"]),
        "proposed": make_partnership(c["Kiel"], c["Laval"], status="proposed"),
        "ended": make_partnership(c["Minden"], c["Nevers"], status="ended"),
    }
    make_event(c["Aachen"], [c["Besancon"]], starts_at="2018-06-01T10:00",
               ends_at="2018-06-03T10:00", status="completed")
    make_event(c["Foix"], [c["Emden"]], starts_at="2021-06-01T10:00",
               ends_at="2021-06-03T10:00", status="completed")
    make_event(c["Goslar"], [c["Hyeres"]], starts_at="2026-06-01T10:00",
               ends_at="2026-06-03T10:00", status="completed")
    # A cancelled exchange wakes nothing; a private one counts (admins see it).
    make_event(c["Celle"], [c["Dijon"]], starts_at="2026-06-01T10:00",
               ends_at="2026-06-03T10:00", status="cancelled")
    make_event(c["Besancon"], [c["Aachen"]], starts_at="2020-01-10T10:00",
               ends_at="2020-01-11T10:00", status="completed", visibility="private")
    return pairs


def test_dormant_list_for_admins_dormant_longest_first(
    client: TestClient, admin: dict[str, str], network: dict[str, Any]
) -> None:
    response = client.get("/api/v1/dormant-partnerships", headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    ids = [row["partnership_id"] for row in body["items"]]
    assert ids == [network[k].id for k in
                   ("never_since_2010", "met_2018", "met_2021", "never_unknown")]
    assert body["total"] == 4
    first, second = body["items"][0], body["items"][1]
    assert first["never_met"] is True and first["dormant_since"] == 2010
    assert {first["city_a"]["name"], first["city_b"]["name"]} == {"Celle", "Dijon"}
    assert second["dormant_since"] == 2020  # the private visit of 2020, not 2018
    assert second["last_exchange"]["starts_at"].startswith("2020-01-10T10:00")
    assert "propose_exchange" in codes(second)
    assert body["items"][3]["dormant_since"] is None


def test_dormant_list_years_and_paging(
    client: TestClient, admin: dict[str, str], network: dict[str, Any]
) -> None:
    def ids(**params: Any) -> list[int]:
        response = client.get("/api/v1/dormant-partnerships", headers=admin, params=params)
        assert response.status_code == 200, response.text
        return [row["partnership_id"] for row in response.json()["items"]]

    # Six years back is 1 March 2021: the exchange of June 2021 is recent enough.
    assert ids(years=6) == [network[k].id for k in
                            ("never_since_2010", "met_2018", "never_unknown")]
    assert ids(years=1) == [network[k].id for k in
                            ("never_since_2010", "met_2018", "met_2021", "never_unknown")]
    assert ids(years=2, limit=2, offset=1) == [network[k].id for k in ("met_2018", "met_2021")]
    for bad in (0, 101, "x"):
        assert_problem(client.get("/api/v1/dormant-partnerships", headers=admin,
                                  params={"years": bad}), 422)


def test_dormant_list_is_for_admins(
    client: TestClient, make_city: Callable[..., City], make_key: Callable[..., Any]
) -> None:
    kostroma = make_city("Kostroma", "RU")
    assert_problem(client.get("/api/v1/dormant-partnerships"), 401)
    for role in (Role.coordinator, Role.partner):
        assert_problem(client.get("/api/v1/dormant-partnerships",
                                  headers=make_key(role, kostroma)), 403)
