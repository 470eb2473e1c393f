"""Demo travel: the Albuquerque group's flights to and from the youth exchange in
Ashgabat, so that the travel board has something to show.

The group (the chaperone and the students) lands the evening before the first
day, met by the host families and the city hall's bus; one student comes on his
own via Frankfurt the next morning and nobody is named to meet him (the board
flags it); everyone flies home together the night after the last day. Chloe
Anderson has no travel recorded: the board lists her as missing (late, once
the exchange is a week away). The chaperone who withdrew is on no journey.

Loaded through the travel service, with its rules, acting as the system. A
person who already has a journey that way (from an earlier run, or entered by a
coordinator since) is left alone, so a second run adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from sqlmodel import Session, col, select

from app.core.actors import SYSTEM
from app.events.models import Event
from app.participants.demo import ABQ, YOUTH, YOUTH_EXCHANGE
from app.participants.models import ACTIVE, Participant, Registration
from app.travel import service
from app.travel.models import Direction, JourneyCreate, JourneyTraveller, Mode

ASHGABAT_AIRPORT = ("Ashgabat International Airport", "ASB")
ISTANBUL_AIRPORT = ("Istanbul Airport", "IST")
FRANKFURT_AIRPORT = ("Frankfurt Airport", "FRA")
SOLO_TRAVELLER = "Noah Trujillo"
NO_TRAVEL_YET = "Chloe Anderson"


@dataclass(frozen=True)
class DemoJourney:
    """A journey of Albuquerque people, ``day`` days from the exchange's first day."""

    direction: Direction
    carrier: str
    number: str
    origin: tuple[str, str]
    destination: tuple[str, str]
    day: int
    at: time
    met_by: str | None
    notes: str | None
    # Who: the group (everyone but the solo traveller), the solo traveller, or all.
    who: Literal["group", "solo", "all"] = "group"


DEMO_JOURNEYS: tuple[DemoJourney, ...] = (
    DemoJourney(Direction.arrival, "Turkish Airlines", "TK 2800", ISTANBUL_AIRPORT,
                ASHGABAT_AIRPORT, -1, time(22, 35),
                "Host families and the Ashgabat city hall bus",
                "From Albuquerque via Dallas and Istanbul; Karen Whitfield carries the "
                "group's consent forms."),
    DemoJourney(Direction.arrival, "Turkmenistan Airlines", "T5 722", FRANKFURT_AIRPORT,
                ASHGABAT_AIRPORT, 0, time(6, 10), None,
                "Joins from his grandparents' home in Germany.", who="solo"),
    DemoJourney(Direction.departure, "Turkish Airlines", "TK 2801", ASHGABAT_AIRPORT,
                ISTANBUL_AIRPORT, 7, time(3, 5),
                "City hall bus from the Palace of Knowledge at 00:30",
                "Everyone flies home together.", who="all"),
)


def _youth_exchange(session: Session, city_ids: dict[str, int]) -> Event | None:
    return session.exec(
        select(Event).where(Event.host_city_id == city_ids["Ashgabat"],
                            Event.title == YOUTH_EXCHANGE).order_by(col(Event.id))
    ).first()


def _going_by_name(session: Session, event: Event, city_id: int) -> dict[str, int]:
    """The Albuquerque people going to the exchange (registration not cancelled)."""
    names = [p.name for p in YOUTH if p.city == ABQ]
    rows = session.exec(
        select(Participant.full_name, Participant.id)
        .join(Registration, col(Registration.participant_id) == Participant.id)
        .where(Registration.event_id == event.id, Participant.home_city_id == city_id,
               col(Participant.full_name).in_(names),
               col(Registration.status).in_(list(ACTIVE)))
        .order_by(col(Participant.id))
    ).all()
    return {name: pid for name, pid in rows if pid is not None}


def _without_journey(session: Session, event: Event, direction: Direction,
                     ids: list[int]) -> list[int]:
    taken = set(session.exec(select(JourneyTraveller.participant_id).where(
        JourneyTraveller.event_id == event.id, JourneyTraveller.direction == direction,
        col(JourneyTraveller.participant_id).in_(ids))).all())
    return [i for i in ids if i not in taken]


def seed_demo_travel(session: Session, city_ids: dict[str, int], today: date) -> int:
    """Record the demo journeys (``city_ids``: demo name -> id); how many were added.
    ``today`` is not needed (the journeys follow the exchange's dates) but keeps the
    signature of the other demo seeds."""
    del today
    event = _youth_exchange(session, city_ids)
    if event is None or event.id is None:
        return 0
    going = _going_by_name(session, event, city_ids[ABQ])
    solo = [pid for name, pid in going.items() if name == SOLO_TRAVELLER]
    group = [pid for name, pid in going.items() if name not in (SOLO_TRAVELLER, NO_TRAVEL_YET)]
    travellers = {"group": group, "solo": solo, "all": group + solo}
    added = 0
    for demo in DEMO_JOURNEYS:
        ids = _without_journey(session, event, demo.direction, travellers[demo.who])
        if not ids:
            continue
        at = datetime.combine(event.first_day + timedelta(days=demo.day), demo.at)
        service.create_journey(session, event.id, JourneyCreate(
            direction=demo.direction, mode=Mode.plane, carrier=demo.carrier,
            number=demo.number, from_place=demo.origin[0], from_code=demo.origin[1],
            to_place=demo.destination[0], to_code=demo.destination[1], at=at,
            met_by=demo.met_by, notes=demo.notes, traveller_ids=ids), SYSTEM)
        added += 1
    session.flush()
    return added
