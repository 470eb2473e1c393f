"""`twinplan import-twinnings`: the Wikidata snapshot into cities and partnerships."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from app.cities.importer import ImportFileError, import_twinnings
from app.cities.models import City, Partnership, PartnershipStatusChange
from app.cli import cli

SNAPSHOT = Path(os.environ.get("TWINPLAN_TWINNINGS_DIR", "/work/shared/data/twinnings"))

CITIES = """\
id,name,lng,lat,country,countrycd,continent
Q23438,Ashgabat,58.383333333,37.95,Turkmenistan,TM,Asia
Q3703,Bamako,-7.992222222,12.645833333,Mali,ML,Africa
Q1867,Taipei,121.5625,25.0375,Taiwan,CN-TW,Asia
Q64,Berlin,13.383333,52.516666,Germany,DE,Europe
Q1055,Hamburg,10.0,53.55,Germany,,Europe
Q99001,Nowhere,10.0,50.0,,,Europe
Q25270,Pristina,21.166666666,42.666666666,Kosovo,XK,Europe
Q34804,Albuquerque,-106.650277777,35.084444444,United States of America,US,North America
Q506599,"Munster, Lower Saxony",10.091111111,52.988611,Germany,DE,Europe
"""

LINKS = """\
source,target
Q23438,Q3703
Q3703,Q23438
Q1867,Q64
Q64,Q64
Q64,Q777
Q25270,Q1055
Q1055,Q34804
Q506599,Q64
"""


def write(tmp_path: Path, cities: str = CITIES, links: str = LINKS) -> tuple[Path, Path]:
    cities_path, links_path = tmp_path / "cities.csv", tmp_path / "links.csv"
    cities_path.write_text(cities, encoding="utf-8")
    links_path.write_text(links, encoding="utf-8")
    return cities_path, links_path


def count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def city(session: Session, wikidata_id: str) -> City:
    return session.exec(select(City).where(City.wikidata_id == wikidata_id)).one()


def partner_ids(session: Session, c: City) -> set[str | None]:
    rows = session.exec(
        select(Partnership).where(
            (col(Partnership.city_a_id) == c.id) | (col(Partnership.city_b_id) == c.id)
        )
    ).all()
    other = [p.city_b_id if p.city_a_id == c.id else p.city_a_id for p in rows]
    return {session.get(City, i).wikidata_id for i in other}


def test_import_small_files(session, tmp_path):
    report = import_twinnings(session, *write(tmp_path))

    assert report.cities.added == 7
    assert report.cities.rejected == {
        "no country code": 1,
        "country code XK (Kosovo) is not ISO 3166-1": 1,
    }
    assert report.links.added == 4
    assert report.links.skipped == {"repeated in the file": 1}
    assert report.links.rejected == {
        "self-link": 1,
        "unknown city id Q777": 1,
        "city not imported: country code XK (Kosovo) is not ISO 3166-1": 1,
    }

    taipei = city(session, "Q1867")
    assert (taipei.country_code, taipei.timezone) == ("TW", "Asia/Taipei")
    # No code, but the file says which code Germany has.
    hamburg = city(session, "Q1055")
    assert (hamburg.country_code, hamburg.timezone) == ("DE", "Europe/Berlin")
    assert city(session, "Q34804").timezone == "America/Denver"
    munster = city(session, "Q506599")
    assert munster.name == "Munster, Lower Saxony"
    assert munster.search_key == " munster, lower saxony"
    assert partner_ids(session, city(session, "Q64")) == {"Q1867", "Q506599"}
    assert partner_ids(session, city(session, "Q23438")) == {"Q3703"}


def test_imported_partnerships_are_active_with_one_status_change(session, tmp_path):
    import_twinnings(session, *write(tmp_path))
    ashgabat, bamako = city(session, "Q23438"), city(session, "Q3703")
    p = session.exec(
        select(Partnership).where(
            Partnership.city_a_id == min(ashgabat.id, bamako.id),
            Partnership.city_b_id == max(ashgabat.id, bamako.id),
        )
    ).one()
    assert p.status == "active" and p.established_on is None
    history = session.exec(
        select(PartnershipStatusChange).where(PartnershipStatusChange.partnership_id == p.id)
    ).all()
    assert [(h.from_status, h.to_status, h.changed_on) for h in history] == [
        (None, "active", date.today().isoformat())
    ]


def test_second_run_adds_nothing(session, tmp_path):
    files = write(tmp_path)
    import_twinnings(session, *files)
    before = [count(session, m) for m in (City, Partnership, PartnershipStatusChange)]

    again = import_twinnings(session, *files)

    assert again.cities.added == 0 and again.links.added == 0
    assert again.cities.skipped == {"already present": 7}
    assert again.links.skipped == {"already present": 5}  # both orders of one pair
    assert [count(session, m) for m in (City, Partnership, PartnershipStatusChange)] == before


def test_existing_cities_and_partnerships_are_kept(session, tmp_path, make_city,
                                                   make_partnership):
    ashgabat = make_city("Ashgabat", "TM", wikidata_id="Q23438", notes="ours")
    bamako = make_city("Bamako", "ML", wikidata_id="Q3703")
    make_partnership(ashgabat, bamako, established_on="1974")

    report = import_twinnings(session, *write(tmp_path))

    assert report.cities.skipped == {"already present": 2}
    assert report.links.skipped == {"already present": 2}
    session.refresh(ashgabat)
    assert ashgabat.notes == "ours"
    assert session.exec(select(Partnership.established_on).where(
        Partnership.city_a_id == min(ashgabat.id, bamako.id)
    )).all() == ["1974"]


def test_repeated_city_and_bad_rows_are_counted(session, tmp_path):
    cities = CITIES + "Q64,Berlin again,13.4,52.5,Germany,DE,Europe\n"
    cities += "Q5,Far away,13.4,95.0,Germany,DE,Europe\n"
    cities += "Q6,Short row,13.4\n"
    cities += "banana,Fruit,13.4,52.5,Germany,DE,Europe\n"
    report = import_twinnings(session, *write(tmp_path, cities=cities))
    assert report.cities.skipped == {"repeated in the file": 1}
    assert report.cities.rejected["malformed row (wrong number of fields)"] == 1
    assert any(r.startswith("invalid latitude") for r in report.cities.rejected)
    assert any(r.startswith("invalid wikidata_id") for r in report.cities.rejected)
    assert city(session, "Q64").name == "Berlin"


@pytest.mark.parametrize(
    ("cities", "links", "message"),
    [
        ("missing.csv", "links.csv", "no such file"),
        ("links.csv", "links.csv", "missing column(s) id, name"),
        ("cities.csv", "cities.csv", "missing column(s) source, target"),
        ("binary.csv", "links.csv", "not a UTF-8 CSV file"),
        ("empty.csv", "links.csv", "empty"),
        (".", "links.csv", "is a directory"),
    ],
)
def test_bad_files_write_nothing(session, tmp_path, cities, links, message):
    write(tmp_path)
    (tmp_path / "binary.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    (tmp_path / "empty.csv").write_text("")
    before = count(session, City)
    with pytest.raises(ImportFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        import_twinnings(session, tmp_path / cities, tmp_path / links)
    assert count(session, City) == before


@pytest.mark.slow
def test_full_snapshot(session):
    if not (SNAPSHOT / "cities.csv").exists():
        pytest.skip(f"no snapshot in {SNAPSHOT}")
    cities_before, links_before = count(session, City), count(session, Partnership)

    report = import_twinnings(session, SNAPSHOT / "cities.csv", SNAPSHOT / "links.csv")

    assert report.cities.added == 5457
    assert report.cities.rejected_total == 13  # Kosovo, Northern Cyprus, Somaliland
    assert report.links.added == 9480
    assert report.links.rejected_total == 57 and report.links.skipped_total == 0
    assert count(session, City) == cities_before + 5457
    assert count(session, Partnership) == links_before + 9480
    assert count(session, PartnershipStatusChange) >= 9480
    zones = {
        "Q34804": "America/Denver",  # Albuquerque, not Phoenix
        "Q198989": "Asia/Aqtau",  # Aktau
        "Q914": "Europe/Volgograd",
        "Q23438": "Asia/Ashgabat",
        "Q1867": "Asia/Taipei",  # CN-TW in the file
    }
    for wikidata_id, zone in zones.items():
        assert city(session, wikidata_id).timezone == zone

    again = import_twinnings(session, SNAPSHOT / "cities.csv", SNAPSHOT / "links.csv")
    assert (again.cities.added, again.links.added) == (0, 0)
    assert count(session, Partnership) == links_before + 9480


# The command ------------------------------------------------------------------


@pytest.fixture
def cli_session(session, monkeypatch):
    """Run the command inside the test's transaction (its commit is a savepoint)."""

    @contextmanager
    def use_test_session(**_: object) -> Iterator[Session]:
        yield session

    monkeypatch.setattr("app.core.db.open_session", use_test_session)
    return session


def test_command_imports_and_reports(cli_session, tmp_path):
    result = CliRunner().invoke(cli, ["import-twinnings", *map(str, write(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "cities: 7 added, 0 skipped, 2 rejected" in result.stdout
    assert "rejected, no country code: 1" in result.stdout
    assert "links: 4 added, 1 skipped, 3 rejected" in result.stdout
    assert "rejected, unknown city id Q777: 1" in result.stdout
    assert "done in" in result.stderr
    assert city(cli_session, "Q1867").timezone == "Asia/Taipei"


def test_command_bad_file_is_one_line_and_exit_1(cli_session, tmp_path):
    _, links = write(tmp_path)
    result = CliRunner().invoke(cli, ["import-twinnings", str(links), str(links)])
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0
    assert "missing column(s)" in result.stderr and "Traceback" not in result.output
    assert result.stdout == ""


def test_command_in_a_process_exits_1_without_traceback(tmp_path):
    _, links = write(tmp_path)
    env = os.environ | {"TWINPLAN_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db"}
    done = subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", "import-twinnings",
         str(tmp_path / "nope.csv"), str(links)],
        capture_output=True, text=True, env=env, timeout=60, cwd=Path(__file__).parents[2],
    )
    assert done.returncode == 1
    assert done.stderr.strip() == f"twinplan: {tmp_path / 'nope.csv'}: no such file"
