"""Import the world's twinning network from a Wikidata snapshot (two CSV files).

``cities.csv`` has ``id,name,lng,lat,country,countrycd,continent``; ``links.csv``
has ``source,target``, unordered pairs of Wikidata ids. The import is idempotent:
cities are keyed on ``City.wikidata_id`` and twinnings on their ordered pair of
city ids, so a second run adds nothing.

It works in bulk (a handful of queries, inserts in batches) so the ~5,500 cities
and ~9,500 links load in seconds on SQLite and PostgreSQL alike. Like every
service it flushes and never commits: the caller ends the transaction.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError
from sqlalchemy import insert
from sqlmodel import Session, col, select

from app.cities import geo
from app.cities.models import (
    City,
    CityCreate,
    Partnership,
    PartnershipStatus,
    PartnershipStatusChange,
)
from app.cities.service import fold, ordered_pair, search_key
from app.core.db import utcnow

CITY_COLUMNS = ("id", "name", "lng", "lat", "countrycd")
LINK_COLUMNS = ("source", "target")
BATCH_SIZE = 1000

# Wikidata's republished data writes Taiwan as a subdivision of China; Twinplan
# keys countries on ISO 3166-1 alpha-2, where Taiwan is TW.
COUNTRY_CODE_ALIASES = {"CN-TW": "TW"}

ALREADY_PRESENT = "already present"
REPEATED = "repeated in the file"


class ImportFileError(ValueError):
    """A file that cannot be imported at all (missing, unreadable, wrong columns)."""


class ImportProgress(Protocol):
    """Where the importer reports how far it got (a progress bar, or nothing)."""

    def stage(self, description: str, total: int) -> None: ...

    def advance(self, steps: int) -> None: ...


@dataclass
class Tally:
    added: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def lines(self, label: str) -> list[str]:
        out = [
            f"{label}: {self.added} added, {self.skipped_total} skipped, "
            f"{self.rejected_total} rejected"
        ]
        for kind, reasons in (("skipped", self.skipped), ("rejected", self.rejected)):
            for reason, count in sorted(reasons.items(), key=lambda rc: (-rc[1], rc[0])):
                out.append(f"  {kind}, {reason}: {count}")
        return out


@dataclass
class ImportReport:
    cities: Tally = field(default_factory=Tally)
    links: Tally = field(default_factory=Tally)

    def lines(self) -> list[str]:
        return [*self.cities.lines("cities"), *self.links.lines("links")]


# Reading ----------------------------------------------------------------------


def _read_csv(path: Path, kind: str, required: Sequence[str]) -> list[dict[str, Any]]:
    """All rows of a CSV file; ``ImportFileError`` with one clear sentence if it is unusable."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames
            if not header:
                raise ImportFileError(f"{path}: the file is empty")
            missing = [c for c in required if c not in {h.strip() for h in header}]
            if missing:
                raise ImportFileError(
                    f"{path}: missing column(s) {', '.join(missing)}; a {kind} file has "
                    f"the columns {','.join(required)}"
                )
            return [
                {(k.strip() if isinstance(k, str) else k): v for k, v in row.items()}
                for row in reader
            ]
    except FileNotFoundError:
        raise ImportFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImportFileError(f"{path}: is a directory, not a CSV file") from None
    except UnicodeDecodeError:
        raise ImportFileError(f"{path}: not a UTF-8 CSV file") from None
    except csv.Error as exc:
        raise ImportFileError(f"{path}: not a readable CSV file ({exc})") from None
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot read it ({exc.strerror})") from None


def _malformed(row: dict[str, Any], columns: Sequence[str]) -> bool:
    """A row with more fields than the header (key None) or fewer (value None)."""
    return None in row or any(row.get(c) is None for c in columns)


# Cities -----------------------------------------------------------------------


@dataclass(frozen=True)
class _CityRow:
    wikidata_id: str
    values: dict[str, Any]


def _country_names(rows: Sequence[dict[str, Any]]) -> dict[str, str]:
    """Folded country name to code: from the tz database, then as this file spells it."""
    names = {fold(name): code for code, name in geo.countries().items()}
    for row in rows:
        code = COUNTRY_CODE_ALIASES.get(str(row.get("countrycd") or "").strip().upper())
        code = code or str(row.get("countrycd") or "").strip().upper()
        name = fold(str(row.get("country") or ""))
        if name and geo.is_country_code(code):
            names.setdefault(name, code)
    return names


def _country_code(row: dict[str, Any], by_name: dict[str, str]) -> tuple[str | None, str]:
    """The row's ISO code, or None and why not."""
    raw = str(row.get("countrycd") or "").strip().upper()
    country = str(row.get("country") or "").strip()
    if not raw:
        derived = by_name.get(fold(country)) if country else None
        if derived:
            return derived, ""
        return None, "no country code"
    code = COUNTRY_CODE_ALIASES.get(raw, raw)
    if geo.is_country_code(code):
        return code, ""
    named = f" ({country})" if country else ""
    return None, f"country code {raw}{named} is not ISO 3166-1"


def _parse_coordinate(text: Any) -> float | None:
    text = str(text or "").strip()
    return float(text) if text else None


def _city_row(row: dict[str, Any], by_name: dict[str, str]) -> _CityRow | str:
    """A row ready to insert, or the reason it is rejected."""
    if _malformed(row, CITY_COLUMNS):
        return "malformed row (wrong number of fields)"
    code, why = _country_code(row, by_name)
    if code is None:
        return why
    try:
        lat, lng = _parse_coordinate(row["lat"]), _parse_coordinate(row["lng"])
    except ValueError:
        return "coordinates are not numbers"
    try:
        data = CityCreate(
            name=str(row["name"]).strip(),
            country_code=code,
            latitude=lat,
            longitude=lng,
            wikidata_id=str(row["id"]).strip(),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "row"
        return f"invalid {where}: {str(first['msg']).removeprefix('Value error, ')}"
    try:
        timezone = geo.derive_timezone(code, lat, lng)
    except geo.TimezoneNotDerivable as exc:
        return f"timezone not derivable: {exc}"
    assert data.wikidata_id is not None
    now = utcnow()
    return _CityRow(
        data.wikidata_id,
        {
            "name": data.name,
            "country_code": data.country_code,
            "region": None,
            "population": None,
            "latitude": data.latitude,
            "longitude": data.longitude,
            "wikidata_id": data.wikidata_id,
            "timezone": timezone,
            "alternate_names": [],
            "search_key": search_key([data.name]),
            "seeking_twin_in": [],
            "notes": None,
            "created_at": now,
            "updated_at": now,
        },
    )


def _existing_cities(session: Session) -> dict[str, int]:
    rows = session.exec(
        select(City.wikidata_id, City.id).where(col(City.wikidata_id).is_not(None))
    ).all()
    return {wid: cid for wid, cid in rows if wid is not None and cid is not None}


def _insert_batches(
    session: Session, table: Any, rows: Sequence[dict[str, Any]], progress: ImportProgress
) -> None:
    for start in range(0, len(rows), BATCH_SIZE):
        batch = rows[start : start + BATCH_SIZE]
        session.exec(insert(table), params=batch)
        progress.advance(len(batch))


def _import_cities(
    session: Session,
    rows: Sequence[dict[str, Any]],
    tally: Tally,
    progress: ImportProgress,
) -> tuple[dict[str, int], dict[str, str]]:
    """Insert the new cities; return every known wikidata id's city id, and the
    reason each rejected id of the file was rejected."""
    existing = _existing_cities(session)
    by_name = _country_names(rows)
    seen: set[str] = set()
    rejected_ids: dict[str, str] = {}
    to_insert: list[dict[str, Any]] = []
    progress.stage("checking cities", len(rows))
    for row in rows:
        progress.advance(1)
        wikidata_id = str(row.get("id") or "").strip()
        if wikidata_id in existing:
            tally.skipped[ALREADY_PRESENT] += 1
            continue
        if wikidata_id and wikidata_id in seen:
            tally.skipped[REPEATED] += 1
            continue
        city = _city_row(row, by_name)
        if isinstance(city, str):
            tally.rejected[city] += 1
            if wikidata_id:
                rejected_ids.setdefault(wikidata_id, city)
            continue
        seen.add(city.wikidata_id)
        rejected_ids.pop(city.wikidata_id, None)
        to_insert.append(city.values)
    progress.stage("writing cities", len(to_insert))
    _insert_batches(session, City, to_insert, progress)
    tally.added = len(to_insert)
    ids = _existing_cities(session) if to_insert else existing
    return ids, rejected_ids


# Links ------------------------------------------------------------------------


def _existing_pairs(session: Session) -> dict[tuple[int, int], int]:
    rows = session.exec(select(Partnership.city_a_id, Partnership.city_b_id, Partnership.id))
    return {(a, b): pid for a, b, pid in rows if pid is not None}


def _import_links(
    session: Session,
    rows: Sequence[dict[str, Any]],
    city_ids: dict[str, int],
    rejected_ids: dict[str, str],
    tally: Tally,
    progress: ImportProgress,
) -> None:
    existing = _existing_pairs(session)
    new_pairs: list[tuple[int, int]] = []
    seen: set[tuple[int, int]] = set()
    progress.stage("checking links", len(rows))
    for row in rows:
        progress.advance(1)
        if _malformed(row, LINK_COLUMNS):
            tally.rejected["malformed row (wrong number of fields)"] += 1
            continue
        source, target = str(row["source"]).strip(), str(row["target"]).strip()
        if not source or not target:
            tally.rejected["missing city id"] += 1
            continue
        if source == target:
            tally.rejected["self-link"] += 1
            continue
        reason = next(
            (
                f"city not imported: {rejected_ids[q]}"
                if q in rejected_ids
                else f"unknown city id {q}"
                for q in (source, target)
                if q not in city_ids
            ),
            None,
        )
        if reason:
            tally.rejected[reason] += 1
            continue
        pair = ordered_pair(city_ids[source], city_ids[target])
        if pair in existing:
            tally.skipped[ALREADY_PRESENT] += 1
        elif pair in seen:
            tally.skipped[REPEATED] += 1
        else:
            seen.add(pair)
            new_pairs.append(pair)

    now = utcnow()
    progress.stage("writing links", 2 * len(new_pairs))
    _insert_batches(
        session,
        Partnership,
        [
            {
                "city_a_id": a,
                "city_b_id": b,
                "status": PartnershipStatus.active.value,
                "established_on": None,
                "notes": None,
                "created_at": now,
                "updated_at": now,
            }
            for a, b in new_pairs
        ],
        progress,
    )
    # The status history needs the new partnerships' ids: read them back in one
    # query (RETURNING from a batched insert differs between backends).
    ids = _existing_pairs(session) if new_pairs else {}
    today = date.today().isoformat()
    _insert_batches(
        session,
        PartnershipStatusChange,
        [
            {
                "partnership_id": ids[pair],
                "from_status": None,
                "to_status": PartnershipStatus.active.value,
                "changed_on": today,
                "note": None,
                "recorded_at": now,
            }
            for pair in new_pairs
        ],
        progress,
    )
    tally.added = len(new_pairs)


class _Silent:
    def stage(self, description: str, total: int) -> None:
        pass

    def advance(self, steps: int) -> None:
        pass


def import_twinnings(
    session: Session,
    cities_path: Path | str,
    links_path: Path | str,
    progress: ImportProgress | None = None,
) -> ImportReport:
    """Add the snapshot's cities and twinnings that are not in the database yet.

    Both files are read and checked before anything is written, so a bad file
    raises ``ImportFileError`` and leaves the database as it was. Rows that
    cannot be imported are counted in the report with the reason; imported
    twinnings are ``active`` with no known start date.
    """
    city_rows = _read_csv(Path(cities_path), "cities", CITY_COLUMNS)
    link_rows = _read_csv(Path(links_path), "links", LINK_COLUMNS)
    progress = progress or _Silent()
    report = ImportReport()
    city_ids, rejected_ids = _import_cities(session, city_rows, report.cities, progress)
    _import_links(session, link_rows, city_ids, rejected_ids, report.links, progress)
    session.flush()
    return report


class RichProgress:
    """``ImportProgress`` as a rich progress bar on stderr, so reports stay pipeable.

    The bar appears with the first stage: a file rejected before that leaves
    stderr to its one-line error.
    """

    def __init__(self) -> None:
        self._bar: Any = None
        self._task: Any = None

    def stage(self, description: str, total: int) -> None:
        if self._bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._bar = Progress(
                TextColumn("{task.description:<16}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=Console(stderr=True),
            )
            self._bar.start()
        self._task = self._bar.add_task(description, total=total)

    def advance(self, steps: int) -> None:
        self._bar.advance(self._task, steps)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


@contextmanager
def rich_progress() -> Iterator[RichProgress]:
    progress = RichProgress()
    try:
        yield progress
    finally:
        progress.close()
