"""The demo data set: the cities and twinnings of the product brief.

Facts are kept as data below and loaded through the cities service, so the same
validation applies as to the API. ``seed_demo`` is idempotent and coexists with
the Wikidata import: a demo city is matched by its Wikidata id or by its name
and country; an existing city or partnership only has its empty fields filled
in, never its own data overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from app.cities import service
from app.cities.models import (
    City,
    CityCreate,
    CityUpdate,
    PartnershipCreate,
    PartnershipStatus,
    PartnershipUpdate,
)
from app.core.actors import SYSTEM

ACTIVE = PartnershipStatus.active
PROPOSED = PartnershipStatus.proposed


@dataclass(frozen=True)
class DemoCity:
    name: str
    country_code: str
    latitude: float
    longitude: float
    wikidata_id: str | None = None
    alternate_names: tuple[str, ...] = ()
    seeking_twin_in: tuple[str, ...] = ()
    notes: str | None = None


@dataclass(frozen=True)
class DemoTwinning:
    """A partnership between two demo cities, named as in ``DEMO_CITIES``."""

    a: str
    b: str
    status: PartnershipStatus = ACTIVE
    established_on: str | None = None
    status_changed_on: str | None = None
    notes: str | None = None


# Coordinates and Wikidata ids as in the Wikidata snapshot (data/twinnings/cities.csv);
# Kostroma, Oryol and Kyiv are not in it and carry their coordinates from Wikipedia.
# Timezones are derived from the coordinates (Albuquerque: America/Denver, Aktau:
# Asia/Aqtau, Volgograd: Europe/Volgograd).
DEMO_CITIES: tuple[DemoCity, ...] = (
    DemoCity(
        "Kostroma", "RU", 57.7667, 40.9333,
        seeking_twin_in=("TM", "AZ", "UZ"),
        notes="On the Volga. Twinned with 19 towns and looking for a twin in Turkmenistan; "
        "priority countries: Turkmenistan, Azerbaijan, Uzbekistan.",
    ),
    DemoCity("Ferrara", "IT", 44.835297, 11.619865, "Q13362"),
    DemoCity(
        "Ashgabat", "TM", 37.95, 58.383333333, "Q23438",
        alternate_names=("Aşgabat", "Ashkhabad"),
        notes="Capital of Turkmenistan.",
    ),
    DemoCity("Bamako", "ML", 12.645833333, -7.992222222, "Q3703"),
    DemoCity("Albuquerque", "US", 35.084444444, -106.650277777, "Q34804"),
    DemoCity("Tashkent", "UZ", 41.311111111, 69.279722222, "Q269"),
    DemoCity("Dushanbe", "TJ", 38.573055555, 68.786388888, "Q9365"),
    DemoCity("Bishkek", "KG", 42.866666666, 74.566666666, "Q9361"),
    DemoCity("Athens", "GR", 37.984166666, 23.728055555, "Q1524"),
    DemoCity("Ankara", "TR", 39.93576, 32.83869, "Q3640"),
    DemoCity("Lanzhou", "CN", 36.06171, 103.83177, "Q183584"),
    DemoCity("Aktau", "KZ", 43.6525, 51.1575, "Q198989"),
    DemoCity("Kyiv", "UA", 50.45, 30.5236, "Q1899", alternate_names=("Kiev",)),
    DemoCity("Yerevan", "AM", 40.181388888, 44.514444444, "Q1953"),
    DemoCity("Tokyo", "JP", 35.689444444, 139.691666666, "Q1490"),
    DemoCity("Mary", "TM", 37.6, 61.833333333, "Q5713"),
    DemoCity("Oryol", "RU", 52.9667, 36.0833, alternate_names=("Orël", "Orel", "Орёл")),
    DemoCity("Coventry", "GB", 52.416666666, -1.516666666, "Q6225"),
    DemoCity(
        "Volgograd", "RU", 48.708611111, 44.514722222, "Q914", alternate_names=("Stalingrad",)
    ),
    DemoCity("Dijon", "FR", 47.323055555, 5.041944444, "Q7003"),
    DemoCity("Turin", "IT", 45.079166666, 7.676111111, "Q495"),
    DemoCity("Ostrava", "CZ", 49.835555555, 18.2925, "Q8385"),
)

_JOINED = "One of the towns that joined the Coventry–Stalingrad friendship."

DEMO_TWINNINGS: tuple[DemoTwinning, ...] = (
    DemoTwinning(
        "Kostroma", "Ferrara", PROPOSED,
        notes="Kostroma seeks a twin in Turkmenistan and a city in Italy has been proposed; "
        "the choice of Ferrara is illustrative.",
    ),
    DemoTwinning("Ashgabat", "Bamako", established_on="1974"),
    DemoTwinning("Ashgabat", "Albuquerque", established_on="1990"),
    DemoTwinning("Ashgabat", "Tashkent", established_on="2017-05-20",
                 notes="Agreement signed 2017-05-20."),
    DemoTwinning("Ashgabat", "Dushanbe", established_on="2017"),
    DemoTwinning("Ashgabat", "Bishkek", established_on="2018-08-23",
                 notes="Agreement signed 2018-08-23."),
    DemoTwinning("Ashgabat", "Athens"),
    DemoTwinning("Ashgabat", "Ankara"),
    DemoTwinning("Ashgabat", "Lanzhou"),
    DemoTwinning("Ashgabat", "Aktau"),
    DemoTwinning("Ashgabat", "Kyiv"),
    DemoTwinning("Ashgabat", "Yerevan"),
    DemoTwinning("Ashgabat", "Tokyo", PROPOSED, status_changed_on="2014-04",
                 notes="Proposed in April 2014."),
    DemoTwinning("Mary", "Oryol", established_on="2017-11-03",
                 notes="Agreement signed 2017-11-03."),
    DemoTwinning("Coventry", "Volgograd", established_on="1944",
                 notes="Coventry and Stalingrad (now Volgograd): the first Anglo-Soviet "
                 "twinning."),
    DemoTwinning("Volgograd", "Dijon", notes=_JOINED),
    DemoTwinning("Volgograd", "Turin", notes=_JOINED),
    DemoTwinning("Volgograd", "Ostrava", notes=_JOINED),
    # Only Ostrava is twinned with Coventry too; Dijon and Turin are not, so the
    # demo does not invent those links.
    DemoTwinning("Coventry", "Ostrava",
                 notes=_JOINED + " Twinned with both Coventry and Volgograd."),
)


@dataclass
class SeedReport:
    cities_added: list[str] = field(default_factory=list)
    cities_updated: list[str] = field(default_factory=list)
    cities_unchanged: int = 0
    partnerships_added: list[str] = field(default_factory=list)
    partnerships_updated: list[str] = field(default_factory=list)
    partnerships_unchanged: int = 0
    # Every demo city's id, by its name in the demo, for what is seeded next.
    city_ids: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(
            self.cities_added
            or self.cities_updated
            or self.partnerships_added
            or self.partnerships_updated
        )

    def lines(self) -> list[str]:
        def names(items: list[str]) -> str:
            return f" ({', '.join(items)})" if items else ""

        return [
            f"cities: {len(self.cities_added)} added{names(self.cities_added)}, "
            f"{len(self.cities_updated)} filled in{names(self.cities_updated)}, "
            f"{self.cities_unchanged} unchanged",
            f"partnerships: {len(self.partnerships_added)} added"
            f"{names(self.partnerships_added)}, {len(self.partnerships_updated)} filled in"
            f"{names(self.partnerships_updated)}, {self.partnerships_unchanged} unchanged",
        ]


def _find_city(session: Session, demo: DemoCity) -> City | None:
    if demo.wikidata_id:
        city = session.exec(select(City).where(City.wikidata_id == demo.wikidata_id)).first()
        if city is not None:
            return city
    return session.exec(
        select(City)
        .where(City.name == demo.name, City.country_code == demo.country_code)
        .order_by(col(City.id))
    ).first()


def _missing_city_facts(city: City, demo: DemoCity) -> dict[str, Any]:
    """The demo's facts that the existing city lacks (its own values win)."""
    changes: dict[str, Any] = {}
    if demo.wikidata_id and not city.wikidata_id:
        changes["wikidata_id"] = demo.wikidata_id
    if city.latitude is None and city.longitude is None:
        changes |= {"latitude": demo.latitude, "longitude": demo.longitude}
    extra_names = [n for n in demo.alternate_names if n not in city.alternate_names]
    if extra_names:
        changes["alternate_names"] = [*city.alternate_names, *extra_names]
    if demo.seeking_twin_in and not city.seeking_twin_in:
        changes["seeking_twin_in"] = list(demo.seeking_twin_in)
    if demo.notes and not city.notes:
        changes["notes"] = demo.notes
    return changes


def _seed_city(session: Session, demo: DemoCity, report: SeedReport) -> City:
    city = _find_city(session, demo)
    if city is None:
        report.cities_added.append(demo.name)
        return service.create_city(
            session,
            CityCreate(
                name=demo.name,
                country_code=demo.country_code,
                latitude=demo.latitude,
                longitude=demo.longitude,
                wikidata_id=demo.wikidata_id,
                alternate_names=list(demo.alternate_names),
                seeking_twin_in=list(demo.seeking_twin_in),
                notes=demo.notes,
            ),
            SYSTEM,
        )
    changes = _missing_city_facts(city, demo)
    if not changes:
        report.cities_unchanged += 1
        return city
    report.cities_updated.append(demo.name)
    return service.update_city(session, city.id or 0, CityUpdate(**changes), SYSTEM)


def _seed_twinning(
    session: Session, twinning: DemoTwinning, cities: dict[str, City], report: SeedReport
) -> None:
    a, b = cities[twinning.a].id, cities[twinning.b].id
    assert a is not None and b is not None
    label = f"{twinning.a}–{twinning.b}"
    existing = service.find_partnership(session, a, b)
    if existing is None:
        service.create_partnership(
            session,
            PartnershipCreate(
                city_a_id=a,
                city_b_id=b,
                status=twinning.status,
                established_on=twinning.established_on,
                status_changed_on=twinning.status_changed_on,
                notes=twinning.notes,
            ),
            SYSTEM,
        )
        report.partnerships_added.append(label)
        return
    # Already there (entered by hand, or imported from Wikidata without a date):
    # add what the demo knows, but leave its status and history alone.
    changes: dict[str, Any] = {}
    if twinning.established_on and not existing.established_on:
        changes["established_on"] = twinning.established_on
    if twinning.notes and not existing.notes:
        changes["notes"] = twinning.notes
    if not changes:
        report.partnerships_unchanged += 1
        return
    service.update_partnership(session, existing.id or 0, PartnershipUpdate(**changes), SYSTEM)
    report.partnerships_updated.append(label)


def seed_demo(session: Session) -> SeedReport:
    """Load the demo cities and twinnings; a second run changes nothing."""
    report = SeedReport()
    cities = {demo.name: _seed_city(session, demo, report) for demo in DEMO_CITIES}
    for twinning in DEMO_TWINNINGS:
        _seed_twinning(session, twinning, cities, report)
    session.flush()
    report.city_ids = {name: city.id for name, city in cities.items() if city.id is not None}
    return report
