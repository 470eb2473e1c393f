"""Journeys of an event: the rules every write keeps, and what a caller reads.

The rules, whatever changed last:

1. every traveller of a journey is of the journey's home city and, when put on
   it, holds a registration at the event that is not cancelled;
2. a person has at most one arrival and one departure per event (a second one
   is a 409 naming the journey that has them; ``PATCH traveller_ids`` moves
   people between journeys), kept by a unique index too;
3. a person's arrival comes before their departure;
4. the time is one real instant at its place (``app.events.wallclock``: a time
   in a daylight-saving gap, or an ambiguous one, is a 422 saying which).

A registration cancelled later leaves the traveller row where it is: the person
is left out of the board (and shown ``going: false`` on the journey), and a
journey with nobody left going is listed apart on the board, for a coordinator
to delete or reuse. Writing locks the travellers' participant rows (id order),
so two requests putting one person on two journeys queue, and the second sees
the first's journey.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from app.core import clock
from app.core.actors import Actor
from app.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.events import service as events_service
from app.events.models import Event
from app.events.wallclock import Moment, in_zone, resolve
from app.participants import policy as participants_policy
from app.participants import service as participants_service
from app.participants.models import ACTIVE, Participant, Registration
from app.travel import policy
from app.travel.models import (
    Direction,
    Journey,
    JourneyCreate,
    JourneyPublic,
    JourneyTraveller,
    JourneyUpdate,
    TravellerPublic,
    as_public_kwargs,
)

# Reading ---------------------------------------------------------------------


def followed_event(session: Session, event_id: int, actor: Actor) -> Event:
    """The event, if the caller sees it (404) and its city takes part (403)."""
    return participants_service.followed_event(session, event_id, actor)


def get_journey(session: Session, journey_id: int, actor: Actor) -> tuple[Journey, Event]:
    """A journey the caller may read, with its event; 404 otherwise (not leaked)."""
    journey = session.get(Journey, journey_id)
    if journey is not None:
        event = session.get(Event, journey.event_id)
        assert event is not None
        if events_service.can_see(session, actor, event) and policy.can_read_journey(
            actor, event, journey.city_id
        ):
            return journey, event
    raise NotFound(f"journey {journey_id} does not exist")


def journey_query(event: Event, actor: Actor, direction: Direction | None = None) -> Any:
    """The event's journeys this caller reads, in time order."""
    query = select(Journey).where(Journey.event_id == event.id)
    city = policy.visible_city(actor, event)
    if city is not None:
        query = query.where(Journey.city_id == city)
    if direction is not None:
        query = query.where(Journey.direction == direction)
    return query.order_by(col(Journey.at_utc), col(Journey.id))


@dataclass(frozen=True)
class Traveller:
    """A person on a journey, as the caller may see them."""

    journey_id: int
    participant: Participant
    going: bool


def travellers_of(session: Session, event: Event, journey_ids: Iterable[int]
                  ) -> dict[int, list[Traveller]]:
    """Each journey's travellers, by name, with whether they are still going."""
    ids = list(journey_ids)
    out: dict[int, list[Traveller]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = session.exec(
        select(JourneyTraveller.journey_id, Participant)
        .join(Participant, col(Participant.id) == JourneyTraveller.participant_id)
        .where(col(JourneyTraveller.journey_id).in_(ids))
        .order_by(col(Participant.full_name), col(Participant.id))
    ).all()
    going = _going(session, event, {p.id or 0 for _, p in rows})
    for journey_id, participant in rows:
        out[journey_id].append(Traveller(journey_id, participant, participant.id in going))
    return out


def _going(session: Session, event: Event, participant_ids: set[int]) -> set[int]:
    """Those of these people with a registration at the event that is not cancelled."""
    if not participant_ids:
        return set()
    return set(session.exec(
        select(Registration.participant_id).where(
            Registration.event_id == event.id,
            col(Registration.participant_id).in_(sorted(participant_ids)),
            col(Registration.status).in_(list(ACTIVE)),
        )
    ).all())


def traveller_public(actor: Actor, event: Event, traveller: Traveller) -> TravellerPublic:
    person = traveller.participant
    return TravellerPublic(
        participant_id=person.id or 0,
        full_name=person.full_name if policy.can_read_name(actor, event, person) else None,
        home_city_id=person.home_city_id,
        going=traveller.going,
    )


def to_public(session: Session, actor: Actor, event: Event,
              journeys: Sequence[Journey]) -> list[JourneyPublic]:
    travellers = travellers_of(session, event, [j.id or 0 for j in journeys])
    return [
        JourneyPublic(
            **as_public_kwargs(journey),
            at=in_zone(journey.at_utc, ZoneInfo(journey.timezone)),
            travellers=[traveller_public(actor, event, t) for t in travellers[journey.id or 0]],
        )
        for journey in journeys
    ]


# Writing ---------------------------------------------------------------------


def _check_writable(event: Event) -> None:
    if not event.is_active:
        raise Conflict(f"event {event.id} is {event.status}; its travel no longer changes")


def _require_writer(actor: Actor, event: Event, city_id: int) -> None:
    if not policy.can_write_journey(actor, event, city_id):
        raise Forbidden("a city records its own people's travel; the host's coordinators "
                        "may change any journey of their event")


def _locked_people(session: Session, actor: Actor, event: Event,
                   participant_ids: Sequence[int]) -> list[Participant]:
    """The travellers, their rows locked in id order; each one the caller may see,
    going to the event, and all of one home city. 422 naming the first at fault."""
    ids = sorted(set(participant_ids))
    found = {
        p.id: p for p in session.exec(
            select(Participant).where(col(Participant.id).in_(ids))
            .order_by(col(Participant.id)).with_for_update()
            .execution_options(populate_existing=True)
        ).all()
    }
    going = _going(session, event, set(ids))
    people = []
    for pid in ids:
        person = found.get(pid)
        if person is None or not participants_policy.can_read_participant(
            session, actor, person
        ):
            raise Unprocessable(f"participant {pid} does not exist", field="traveller_ids")
        if pid not in going:
            raise Unprocessable(
                f"participant {pid} holds no registration at event {event.id} (or it was "
                "cancelled); register them first", field="traveller_ids", participant_id=pid)
        people.append(person)
    cities = sorted({p.home_city_id for p in people})
    if len(cities) > 1:
        raise Unprocessable(
            f"a journey carries people of one home city; these come from cities "
            f"{', '.join(map(str, cities))}: record a journey for each",
            field="traveller_ids", city_ids=cities)
    return people


def _check_once_each_way(session: Session, event: Event, direction: Direction,
                         participant_ids: Sequence[int], journey_id: int | None) -> None:
    """Nobody has another journey this way to this event (409 naming it)."""
    taken = session.exec(
        select(JourneyTraveller).where(
            JourneyTraveller.event_id == event.id,
            JourneyTraveller.direction == direction,
            col(JourneyTraveller.participant_id).in_(list(participant_ids)),
            JourneyTraveller.journey_id != (journey_id or 0),
        ).order_by(col(JourneyTraveller.participant_id))
    ).first()
    if taken is not None:
        one = "an arrival" if direction == Direction.arrival else "a departure"
        raise Conflict(
            f"participant {taken.participant_id} already has {one} for event "
            f"{event.id}: journey {taken.journey_id}. Change that one, or take them off it "
            "first (PATCH its traveller_ids)",
            journey_id=taken.journey_id, participant_id=taken.participant_id)


def _check_arrives_first(session: Session, event: Event, direction: Direction,
                         at: Moment, participant_ids: Sequence[int]) -> None:
    """Each person's arrival comes before their departure (422 naming the other one)."""
    other_way = Direction.departure if direction == Direction.arrival else Direction.arrival
    others = session.exec(
        select(Journey, JourneyTraveller.participant_id)
        .join(JourneyTraveller, col(JourneyTraveller.journey_id) == Journey.id)
        .where(
            JourneyTraveller.event_id == event.id,
            JourneyTraveller.direction == other_way,
            col(JourneyTraveller.participant_id).in_(list(participant_ids)),
        ).order_by(col(Journey.at_utc))
    ).all()
    for other, participant_id in others:
        arrival, departure = ((at.utc, other.at_utc) if direction == Direction.arrival
                              else (other.at_utc, at.utc))
        if arrival >= departure:
            shown = in_zone(other.at_utc, ZoneInfo(other.timezone)).isoformat()
            raise Unprocessable(
                f"participant {participant_id}'s arrival must come before their departure; "
                f"their {other_way} is journey {other.id}, at {shown}",
                field="at", journey_id=other.id, participant_id=participant_id)


def _check_rules(session: Session, event: Event, journey: Journey, moment: Moment,
                 participant_ids: Sequence[int]) -> None:
    direction = Direction(journey.direction)
    _check_once_each_way(session, event, direction, participant_ids, journey.id)
    _check_arrives_first(session, event, direction, moment, participant_ids)


def _set_travellers(session: Session, journey: Journey, participant_ids: Sequence[int]
                    ) -> None:
    """Make the journey's travellers exactly these people (through the ORM, so the
    data audit records each row that goes or comes)."""
    assert journey.id is not None
    wanted = set(participant_ids)
    current = session.exec(
        select(JourneyTraveller).where(JourneyTraveller.journey_id == journey.id)).all()
    for row in current:
        if row.participant_id not in wanted:
            session.delete(row)
    for pid in sorted(wanted - {row.participant_id for row in current}):
        session.add(JourneyTraveller(journey_id=journey.id, participant_id=pid,
                                     event_id=journey.event_id, direction=journey.direction))
    session.flush()


def _upper(code: str | None) -> str | None:
    return code.upper() if code else None


def create_journey(session: Session, event_id: int, data: JourneyCreate, actor: Actor
                   ) -> tuple[Journey, Event]:
    event = followed_event(session, event_id, actor)
    _check_writable(event)
    people = _locked_people(session, actor, event, data.traveller_ids)
    city = people[0].home_city_id
    _require_writer(actor, event, city)
    timezone = data.timezone or event.timezone
    moment = resolve(data.at, ZoneInfo(timezone), "at")
    journey = Journey(
        event_id=event.id or 0, city_id=city, direction=data.direction, mode=data.mode,
        carrier=data.carrier, number=data.number,
        from_place=data.from_place, from_code=_upper(data.from_code),
        to_place=data.to_place, to_code=_upper(data.to_code),
        timezone=timezone, at_local=moment.local, at_utc=moment.utc,
        met_by=data.met_by, notes=data.notes,
    )
    ids = [p.id or 0 for p in people]
    _check_rules(session, event, journey, moment, ids)
    session.add(journey)
    session.flush()
    _set_travellers(session, journey, ids)
    return journey, event


def _moment_after(journey: Journey, changes: dict[str, Any]) -> Moment:
    """The time after a PATCH: a new ``at`` is read in the (new) zone; a new zone
    alone keeps the wall-clock time and moves the instant, as for events."""
    zone = ZoneInfo(changes.get("timezone") or journey.timezone)
    if changes.get("at") is not None:
        return resolve(changes["at"], zone, "at")
    if zone.key != journey.timezone:
        return resolve(journey.at_local, zone, "at")
    return Moment(journey.at_local, journey.at_utc)


_REQUIRED = ("mode", "from_place", "to_place", "at", "timezone", "traveller_ids")


def update_journey(session: Session, journey_id: int, data: JourneyUpdate, actor: Actor
                   ) -> tuple[Journey, Event]:
    journey, event = get_journey(session, journey_id, actor)
    _require_writer(actor, event, journey.city_id)
    _check_writable(event)
    changes = data.model_dump(exclude_unset=True)
    for name in _REQUIRED:
        if name in changes and changes[name] is None:
            raise Unprocessable(f"{name} cannot be removed", field=name)
    if "traveller_ids" in changes:
        people = _locked_people(session, actor, event, changes.pop("traveller_ids"))
        if people[0].home_city_id != journey.city_id:
            raise Unprocessable(
                f"journey {journey.id} carries people of city {journey.city_id}; record "
                f"another journey for city {people[0].home_city_id}'s", field="traveller_ids")
        ids = [p.id or 0 for p in people]
    else:
        ids = list(session.exec(select(JourneyTraveller.participant_id)
                                .where(JourneyTraveller.journey_id == journey.id)).all())
    moment = _moment_after(journey, changes)
    _check_rules(session, event, journey, moment, ids)
    for code in ("from_code", "to_code"):
        if code in changes:
            changes[code] = _upper(changes[code])
    changes.pop("at", None)
    journey.sqlmodel_update(changes)
    journey.at_local, journey.at_utc = moment.local, moment.utc
    journey.updated_at = clock.now()
    session.add(journey)
    session.flush()
    _set_travellers(session, journey, ids)
    return journey, event


def delete_journey(session: Session, journey_id: int, actor: Actor) -> None:
    journey, event = get_journey(session, journey_id, actor)
    _require_writer(actor, event, journey.city_id)
    _check_writable(event)
    _set_travellers(session, journey, [])
    session.delete(journey)
    session.flush()
