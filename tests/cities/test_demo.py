"""`twinplan seed-demo`: the facts of the product brief, loaded idempotently."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, select
from typer.testing import CliRunner

from app.cities.demo import DEMO_CITIES, DEMO_TWINNINGS, seed_demo
from app.cities.importer import import_twinnings
from app.cities.models import City, Partnership, PartnershipStatusChange
from app.cli import cli

MODELS = (City, Partnership, PartnershipStatusChange)


def counts(session: Session) -> list[int]:
    return [session.exec(select(func.count()).select_from(m)).one() for m in MODELS]


def by_name(session: Session, name: str, country: str) -> City:
    return session.exec(
        select(City).where(City.name == name, City.country_code == country)
    ).one()


def partners(client, city: City) -> dict[str, dict]:
    r = client.get(f"/api/v1/cities/{city.id}/partners", params={"limit": 100})
    assert r.status_code == 200, r.text
    return {item["city"]["name"]: item for item in r.json()["items"]}


def test_seed_adds_every_city_and_twinning(session):
    before = counts(session)
    report = seed_demo(session)
    assert len(report.cities_added) == len(DEMO_CITIES) == 22
    assert len(report.partnerships_added) == len(DEMO_TWINNINGS) == 19
    assert counts(session) == [before[0] + 22, before[1] + 19, before[2] + 19]


@pytest.mark.parametrize(
    ("name", "country", "zone"),
    [
        ("Kostroma", "RU", "Europe/Moscow"),
        ("Ashgabat", "TM", "Asia/Ashgabat"),
        ("Albuquerque", "US", "America/Denver"),
        ("Aktau", "KZ", "Asia/Aqtau"),
        ("Volgograd", "RU", "Europe/Volgograd"),
        ("Oryol", "RU", "Europe/Moscow"),
        ("Kyiv", "UA", "Europe/Kyiv"),
    ],
)
def test_timezones_come_from_coordinates(session, name, country, zone):
    seed_demo(session)
    assert by_name(session, name, country).timezone == zone


def test_kostroma_seeks_a_twin_in_turkmenistan(session, client):
    seed_demo(session)
    kostroma = by_name(session, "Kostroma", "RU")
    assert kostroma.seeking_twin_in == ["TM", "AZ", "UZ"]
    assert "Volga" in (kostroma.notes or "") and "19" in (kostroma.notes or "")
    assert "Turkmenistan" in (kostroma.notes or "")
    [italian] = partners(client, kostroma).values()
    assert italian["status"] == "proposed" and italian["city"]["country_code"] == "IT"
    p = client.get(f"/api/v1/partnerships/{italian['partnership_id']}").json()
    assert "illustrative" in p["notes"]


def test_ashgabat_partners_and_dates(session, client):
    seed_demo(session)
    ashgabat = by_name(session, "Ashgabat", "TM")
    assert ashgabat.wikidata_id == "Q23438"
    got = {
        name: (p["city"]["country_code"], p["status"], p["established_on"])
        for name, p in partners(client, ashgabat).items()
    }
    assert got == {
        "Bamako": ("ML", "active", "1974"),
        "Albuquerque": ("US", "active", "1990"),
        "Tashkent": ("UZ", "active", "2017-05-20"),
        "Dushanbe": ("TJ", "active", "2017"),
        "Bishkek": ("KG", "active", "2018-08-23"),
        "Athens": ("GR", "active", None),
        "Ankara": ("TR", "active", None),
        "Lanzhou": ("CN", "active", None),
        "Aktau": ("KZ", "active", None),
        "Kyiv": ("UA", "active", None),
        "Yerevan": ("AM", "active", None),
        "Tokyo": ("JP", "proposed", None),
    }
    assert partners(client, ashgabat)["Tokyo"]["status_changed_on"] == "2014-04"
    assert partners(client, ashgabat)["Tashkent"]["status_changed_on"] == "2017-05-20"


def test_mary_oryol_and_coventry_volgograd(session, client):
    seed_demo(session)
    oryol = by_name(session, "Oryol", "RU")
    assert oryol.alternate_names == ["Orël", "Orel", "Орёл"]
    assert partners(client, by_name(session, "Mary", "TM"))["Oryol"]["established_on"] == (
        "2017-11-03"
    )
    r = client.get("/api/v1/cities", params={"q": "stalingrad"})
    assert [c["name"] for c in r.json()["items"]] == ["Volgograd"]

    volgograd = partners(client, by_name(session, "Volgograd", "RU"))
    assert volgograd["Coventry"]["established_on"] == "1944"
    coventry_volgograd = client.get(
        f"/api/v1/partnerships/{volgograd['Coventry']['partnership_id']}"
    ).json()
    assert "first Anglo-Soviet twinning" in coventry_volgograd["notes"]
    assert {"Dijon", "Turin", "Ostrava"} <= volgograd.keys()
    assert all(volgograd[n]["status"] == "active" for n in ("Dijon", "Turin", "Ostrava"))
    assert "Ostrava" in partners(client, by_name(session, "Coventry", "GB"))


def test_second_run_changes_nothing(session):
    seed_demo(session)
    before = counts(session)
    again = seed_demo(session)
    assert not again.changed
    assert (again.cities_unchanged, again.partnerships_unchanged) == (22, 19)
    assert counts(session) == before


def test_seed_after_import_fills_in_without_duplicates(session, client, tmp_path):
    cities, links = tmp_path / "cities.csv", tmp_path / "links.csv"
    cities.write_text(
        "id,name,lng,lat,country,countrycd,continent\n"
        "Q23438,Ashgabat,58.383333333,37.95,Turkmenistan,TM,Asia\n"
        "Q3703,Bamako,-7.992222222,12.645833333,Mali,ML,Africa\n"
        "Q914,Volgograd,44.514722222,48.708611111,Russia,RU,Europe\n"
        "Q6225,Coventry,-1.516666666,52.416666666,United Kingdom,GB,Europe\n"
    )
    links.write_text("source,target\nQ3703,Q23438\nQ914,Q6225\n")
    import_twinnings(session, cities, links)
    before = counts(session)

    report = seed_demo(session)

    assert sorted(report.cities_updated) == ["Ashgabat", "Volgograd"]
    assert "Ashgabat–Bamako" in report.partnerships_updated
    assert counts(session)[:2] == [before[0] + 22 - 4, before[1] + 19 - 2]
    ashgabat = by_name(session, "Ashgabat", "TM")
    assert partners(client, ashgabat)["Bamako"]["established_on"] == "1974"
    assert by_name(session, "Volgograd", "RU").alternate_names == ["Stalingrad"]
    assert not seed_demo(session).changed


def test_city_matched_by_name_and_country_is_filled_in(session, make_city):
    mine = make_city("Kostroma", "RU", notes="our own words")
    seed_demo(session)
    kostroma = by_name(session, "Kostroma", "RU")
    assert kostroma.id == mine.id
    assert kostroma.notes == "our own words"  # never overwritten
    assert kostroma.seeking_twin_in == ["TM", "AZ", "UZ"]
    assert kostroma.latitude is not None


def test_seed_demo_command(session, monkeypatch):
    @contextmanager
    def use_test_session(**_: object) -> Iterator[Session]:
        yield session

    monkeypatch.setattr("app.core.db.open_session", use_test_session)
    first = CliRunner().invoke(cli, ["seed-demo"])
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("cities: 22 added")
    assert "events: 8 added (World Twin Cities Day in Volgograd, " in first.stdout
    second = CliRunner().invoke(cli, ["seed-demo"])
    assert "cities: 0 added, 0 filled in, 22 unchanged" in second.stdout
    assert "partnerships: 0 added, 0 filled in, 19 unchanged" in second.stdout
    assert "events: 0 added, 8 unchanged" in second.stdout


def test_demo_ids_match_the_snapshot():
    """Where the Wikidata snapshot has a demo city, the demo uses its id and name."""
    snapshot = Path("/work/shared/data/twinnings/cities.csv")
    if not snapshot.exists():
        pytest.skip("no snapshot")
    rows = {r["id"]: r for r in csv.DictReader(snapshot.open(encoding="utf-8"))}
    for demo in DEMO_CITIES:
        if demo.wikidata_id in rows:
            row = rows[demo.wikidata_id]
            assert (row["name"], row["countrycd"]) == (demo.name, demo.country_code)
            assert abs(float(row["lat"]) - demo.latitude) < 1e-6
            assert abs(float(row["lng"]) - demo.longitude) < 1e-6
