"""The travel board of an event: who arrives when and where, who meets them, and
who has no travel recorded yet.

Journeys to one place at one instant (by IATA code where both journeys have
one, else by the place's name, ignoring case and spacing) make one group: two
cities' delegations on the same flight are met together. Groups are in time
order (by instant: within one zone that is local time order). People whose
registration was cancelled are left out; a journey with nobody left is listed
apart. The board shows what the caller may read: the host's side everything,
another city its own people.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from app.core import clock
from app.core.actors import Actor
from app.events.models import Event
from app.events.wallclock import in_zone
from app.participants.models import HOLDING, Participant, Registration
from app.travel import policy, service
from app.travel.models import (
    BoardGroup,
    BoardJourney,
    Direction,
    Journey,
    JourneyTraveller,
    MissingTravel,
    Timing,
    TravelBoard,
)

DEFAULT_LATE_DAYS = 7


def _name(place: str) -> str:
    return " ".join(place.split()).casefold()


def _same_place(a: Journey, b: Journey) -> bool:
    """By IATA code where both have one, else by name (ignoring case and spacing)."""
    if a.code and b.code:
        return a.code == b.code
    return _name(a.place) == _name(b.place)


def _group_of(groups: list[tuple[list[Journey], BoardGroup]], journey: Journey
              ) -> BoardGroup | None:
    for members, group in groups:
        if members[0].at_utc == journey.at_utc and any(_same_place(m, journey)
                                                       for m in members):
            members.append(journey)
            return group
    return None


def timing(event: Event, direction: Direction, at: datetime) -> Timing:
    """Whether travellers arriving (leaving) at ``at`` are there for the whole event."""
    start, end = event.starts_at_utc, event.ends_at_utc
    if direction == Direction.arrival:
        misses_all, misses_part = at >= end, at > start
    else:
        misses_all, misses_part = at <= start, at < end
    if misses_all:
        return Timing.misses_all
    return Timing.misses_part if misses_part else Timing.in_time


def _groups(actor: Actor, event: Event, journeys: Iterable[Journey],
            travellers: dict[int, list[service.Traveller]]) -> list[BoardGroup]:
    groups: list[tuple[list[Journey], BoardGroup]] = []
    for journey in journeys:
        going = [t for t in travellers[journey.id or 0] if t.going]
        group = _group_of(groups, journey)
        if group is None:
            group = BoardGroup(
                at=in_zone(journey.at_utc, ZoneInfo(journey.timezone)),
                timezone=journey.timezone, place=journey.place, code=journey.code,
                count=0, met_by=[], nobody_meets=True, journeys=[],
                timing=timing(event, Direction(journey.direction), journey.at_utc))
            groups.append(([journey], group))
        group.code = group.code or journey.code
        group.count += len(going)
        if journey.met_by and journey.met_by not in group.met_by:
            group.met_by.append(journey.met_by)
        group.nobody_meets = not group.met_by
        group.journeys.append(BoardJourney(
            id=journey.id or 0, city_id=journey.city_id, mode=journey.mode,
            carrier=journey.carrier, number=journey.number, from_place=journey.from_place,
            to_place=journey.to_place, met_by=journey.met_by,
            travellers=[service.traveller_public(actor, event, t) for t in going]))
    return [group for _, group in groups]


def _missing(session: Session, actor: Actor, event: Event, city: int | None,
             late: bool) -> list[MissingTravel]:
    """People holding a place, from a city other than the host, short of a journey."""
    query = (
        select(Registration, Participant)
        .join(Participant, col(Participant.id) == Registration.participant_id)
        .where(Registration.event_id == event.id,
               col(Registration.status).in_(list(HOLDING)),
               Participant.home_city_id != event.host_city_id)
        .order_by(col(Participant.full_name), col(Participant.id))
    )
    if city is not None:
        query = query.where(Participant.home_city_id == city)
    recorded = {
        (pid, Direction(direction)) for pid, direction in session.exec(
            select(JourneyTraveller.participant_id, JourneyTraveller.direction)
            .where(JourneyTraveller.event_id == event.id)).all()
    }
    out = []
    for registration, person in session.exec(query).all():
        missing = [d for d in Direction if (person.id, d) not in recorded]
        if missing:
            out.append(MissingTravel(
                participant_id=person.id or 0,
                full_name=person.full_name if policy.can_read_name(actor, event, person)
                else None,
                home_city_id=person.home_city_id, role=registration.role,
                missing=missing, late=late))
    return out


def travel_board(session: Session, event_id: int, actor: Actor,
                 days: int = DEFAULT_LATE_DAYS) -> TravelBoard:
    event = service.followed_event(session, event_id, actor)
    journeys = list(session.exec(service.journey_query(event, actor)).all())
    travellers = service.travellers_of(session, event, [j.id or 0 for j in journeys])
    empty = [j for j in journeys if not any(t.going for t in travellers[j.id or 0])]
    shown = [j for j in journeys if j not in empty]
    late = event.starts_at_utc - clock.now() <= timedelta(days=days)
    return TravelBoard(
        event_id=event.id or 0, timezone=event.timezone,
        starts_at=in_zone(event.starts_at_utc, ZoneInfo(event.timezone)), days=days,
        arrivals=_groups(actor, event, (j for j in shown if j.direction == Direction.arrival),
                         travellers),
        departures=_groups(actor, event,
                           (j for j in shown if j.direction == Direction.departure), travellers),
        missing=_missing(session, actor, event, policy.visible_city(actor, event), late),
        journeys_without_travellers=[j.id or 0 for j in empty],
    )


# CSV, for printing ---------------------------------------------------------------

CSV_COLUMNS = ("section", "local_time", "timezone", "place", "code", "count", "journey",
               "mode", "carrier", "number", "from", "to", "travellers", "met_by", "flag")


def _cell(value: object) -> str:
    """A cell as text; one that a spreadsheet would run as a formula is quoted."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _names(journey: BoardJourney) -> str:
    return "; ".join(t.full_name or f"participant {t.participant_id}"
                     for t in journey.travellers)


# The CSV's words for a group's timing, by direction.
TIMING_FLAGS = {
    ("arrival", Timing.misses_part): "arrives after the start",
    ("arrival", Timing.misses_all): "arrives after the end",
    ("departure", Timing.misses_part): "leaves before the end",
    ("departure", Timing.misses_all): "leaves before the start",
}


def _flags(section: str, group: BoardGroup) -> str:
    flags = ["nobody meets them"] if group.nobody_meets else []
    if group.timing != Timing.in_time:
        flags.append(TIMING_FLAGS[section, group.timing])
    return "; ".join(flags)


def board_csv(board: TravelBoard) -> str:
    """One line per journey of each group (arrivals, then departures), then one per
    person with travel missing; ``flag`` says "nobody meets them", when the group
    misses part or all of the event ("arrives after the start"...), or "late"."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for section, groups in (("arrival", board.arrivals), ("departure", board.departures)):
        for group in groups:
            for journey in group.journeys:
                writer.writerow([_cell(v) for v in (
                    section, group.at.strftime("%Y-%m-%d %H:%M"), group.timezone,
                    group.place, group.code, group.count, journey.id, journey.mode,
                    journey.carrier, journey.number, journey.from_place, journey.to_place,
                    _names(journey), journey.met_by, _flags(section, group))])
    for person in board.missing:
        writer.writerow([_cell(v) for v in (
            "missing " + " and ".join(person.missing), "", "", "", "", "", "", "", "", "",
            "", "", person.full_name or f"participant {person.participant_id}", "",
            "late" if person.late else "")])
    return out.getvalue()
