"""Demo exchanges between the demo cities, so that a new installation has feeds to
subscribe to, an agenda in the console and reminders to plan.

They are illustrative (the brief names twinnings, not events) and dated from
the next World Twin Cities Day, so that they lie ahead whenever the demo is
loaded. Between them they show what the feeds must get right: six time zones,
one of them across a change of clocks, an all-day event, an event of five
cities, a partners-only one. Loaded through the events service, with its
checks; an event whose host already has one of the same title is left alone,
so a second run adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlmodel import Session, select

from app.core.actors import SYSTEM
from app.events import service
from app.events.models import Event, EventCreate, EventKind, EventStatus, Visibility
from app.twin_cities_day import last_sunday_of_april


@dataclass(frozen=True)
class DemoEvent:
    """An event between demo cities (by name), ``after`` days after the next World
    Twin Cities Day; all-day when ``at`` is None."""

    host: str
    guests: tuple[str, ...]
    kind: EventKind
    title: str
    description: str
    venue: str
    after: int
    at: time | None = None
    days: int = 1
    hours: int = 0
    status: EventStatus = EventStatus.confirmed
    visibility: Visibility = Visibility.public
    capacity: int | None = None


DEMO_EVENTS: tuple[DemoEvent, ...] = (
    DemoEvent(
        "Volgograd", ("Coventry", "Dijon", "Turin", "Ostrava"), EventKind.culture,
        "World Twin Cities Day in Volgograd",
        "Open day with Coventry, Dijon, Turin and Ostrava: letters from 1944 read aloud, "
        "a concert on the embankment, the twins' flags on the Alley of Heroes.",
        "Alley of Heroes", after=0,
    ),
    DemoEvent(
        "Coventry", ("Volgograd",), EventKind.exhibition,
        "Coventry and Stalingrad: the letters of 1944",
        "The embroidered tablecloth and the letters that began the first Anglo-Soviet "
        "twinning, lent by the Volgograd panorama museum.",
        "Herbert Art Gallery", after=6, days=21,
    ),
    DemoEvent(
        "Tashkent", ("Ashgabat",), EventKind.sports,
        "Friendship football cup Tashkent – Ashgabat",
        "Under-17 teams of both capitals; the final is on the second day.",
        "Bunyodkor stadium", after=20, at=time(16, 0), hours=28, capacity=60,
    ),
    DemoEvent(
        "Kostroma", ("Ferrara",), EventKind.delegation_visit,
        "Delegation from Ferrara",
        "Talks on a twinning agreement; the Ipatiev monastery, the Volga embankment "
        "and the cheese makers of Kostroma.",
        "Kostroma city hall, Sovetskaya ulitsa 1", after=33, at=time(10, 0), days=3,
        hours=8, status=EventStatus.planned,
    ),
    DemoEvent(
        "Ashgabat", ("Albuquerque",), EventKind.youth_exchange,
        "Youth exchange: Albuquerque in Ashgabat",
        "Twelve students from Albuquerque stay with Ashgabat families for a week: "
        "carpet museum, Nisa fortress, a joint music workshop.",
        "Ashgabat, Palace of Knowledge", after=60, at=time(9, 0), days=7, hours=9,
        capacity=30,
    ),
    DemoEvent(
        "Athens", ("Ashgabat",), EventKind.seminar,
        "Seminar on twin city archives",
        "For the archivists of both cities: what to keep of a twinning, and how.",
        "Athens city hall", after=95, at=time(11, 0), hours=5,
        visibility=Visibility.partners,
    ),
    DemoEvent(
        "Albuquerque", ("Ashgabat",), EventKind.culture,
        "Turkmen carpet days in Albuquerque",
        "Nine days of carpets, weaving and music, across the end of daylight saving "
        "time in New Mexico.",
        "Albuquerque Museum", after=188, at=time(10, 0), days=9, hours=7,
    ),
    DemoEvent(
        "Mary", ("Oryol",), EventKind.delegation_visit,
        "Oryol delegation: anniversary of the agreement",
        "The agreement between Mary and Oryol was signed on 3 November 2017.",
        "Mary city hall", after=190, at=time(10, 0), days=2, hours=6,
    ),
)


@dataclass
class EventSeedReport:
    added: list[str] = field(default_factory=list)
    unchanged: int = 0

    def lines(self) -> list[str]:
        names = f" ({', '.join(self.added)})" if self.added else ""
        return [f"events: {len(self.added)} added{names}, {self.unchanged} unchanged"]


def next_twin_cities_day(today: date) -> date:
    day = last_sunday_of_april(today.year)
    return day if day >= today else last_sunday_of_april(today.year + 1)


def _create(demo: DemoEvent, cities: dict[str, int], day: date) -> EventCreate:
    first = day + timedelta(days=demo.after)
    schedule: dict[str, object]
    if demo.at is None:
        schedule = {"all_day": True, "start_date": first,
                    "end_date": first + timedelta(days=demo.days - 1)}
    else:
        starts = datetime.combine(first, demo.at)
        ends = starts + timedelta(days=demo.days - 1, hours=demo.hours)
        schedule = {"starts_at": starts, "ends_at": ends}
    return EventCreate.model_validate({
        "kind": demo.kind, "title": demo.title, "description": demo.description,
        "host_city_id": cities[demo.host], "guest_city_ids": [cities[g] for g in demo.guests],
        "venue": demo.venue, "capacity": demo.capacity, "status": demo.status,
        "visibility": demo.visibility, **schedule,
    })


def seed_demo_events(session: Session, cities: dict[str, int], today: date) -> EventSeedReport:
    """The demo events, between ``cities`` (demo name -> id), dated from ``today``."""
    report = EventSeedReport()
    day = next_twin_cities_day(today)
    for demo in DEMO_EVENTS:
        host_id = cities[demo.host]
        existing = session.exec(
            select(Event.id).where(Event.host_city_id == host_id, Event.title == demo.title)
        ).first()
        if existing is not None:
            report.unchanged += 1
            continue
        service.create_event(session, _create(demo, cities, day), SYSTEM)
        report.added.append(demo.title)
    return report

