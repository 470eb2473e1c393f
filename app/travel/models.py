"""Journeys: how a person, or a group, arrives at an event and leaves it.

A ``journey`` is one arrival or one departure: a flight, a train, a bus; its
travellers are rows of ``journey_traveller``, so one journey carries one person
or a whole delegation. A journey belongs to one home city (``city_id``): every
traveller on it is that city's, so a guest city reads and writes exactly its
own people's journeys. Two cities on the same flight record a journey each; the
travel board puts them together (same place, same time).

The time is the wall-clock time at the place where it happens: the arrival at
``to`` for an arrival, the departure from ``from`` for a departure, in
``timezone`` (the event's zone unless said). It is stored as planned (naive,
local) and as the instant, like an event's times (``app.events.models``).

``journey_traveller`` repeats the journey's event and direction so that the
database itself keeps "at most one arrival and one departure per person and
event" (a unique index), whatever two requests do at the same moment.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field as PField
from sqlalchemy import DateTime, Index, String
from sqlmodel import Field, SQLModel

from app.cities.models import TimezoneName
from app.core.db import UTCDateTime, utcnow
from app.core.types import RowId
from app.events.models import PlanDatetime


class Direction(StrEnum):
    arrival = "arrival"
    departure = "departure"


class Mode(StrEnum):
    plane = "plane"
    train = "train"
    bus = "bus"
    car = "car"
    ship = "ship"
    other = "other"


class Journey(SQLModel, table=True):
    __table_args__ = (
        # The board and the list: an event's journeys in time order.
        Index("ix_journey_event_id_at_utc", "event_id", "at_utc"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", ondelete="CASCADE")
    # The travellers' home city: it writes the journey, and reads it with the host.
    city_id: int = Field(foreign_key="city.id", ondelete="RESTRICT")
    direction: Direction = Field(sa_type=String(20))
    mode: Mode = Field(sa_type=String(20))
    carrier: str | None = Field(default=None, max_length=100)
    number: str | None = Field(default=None, max_length=20)
    from_place: str = Field(max_length=200)
    from_code: str | None = Field(default=None, max_length=3)
    to_place: str = Field(max_length=200)
    to_code: str | None = Field(default=None, max_length=3)
    timezone: str = Field(max_length=64)
    at_local: datetime = Field(sa_type=DateTime(timezone=False))
    at_utc: datetime = Field(sa_type=UTCDateTime)
    met_by: str | None = Field(default=None, max_length=300)
    notes: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)

    @property
    def place(self) -> str:
        """Where the time is: the arrival's destination, the departure's origin."""
        return self.to_place if self.direction == Direction.arrival else self.from_place

    @property
    def code(self) -> str | None:
        return self.to_code if self.direction == Direction.arrival else self.from_code


class JourneyTraveller(SQLModel, table=True):
    """One person on a journey. ``event_id`` and ``direction`` are the journey's."""

    __tablename__ = "journey_traveller"
    __table_args__ = (
        Index("uq_journey_traveller_event_id_direction_participant_id",
              "event_id", "direction", "participant_id", unique=True),
    )

    journey_id: int = Field(foreign_key="journey.id", primary_key=True, ondelete="CASCADE")
    participant_id: int = Field(foreign_key="participant.id", primary_key=True,
                                ondelete="RESTRICT")
    event_id: int = Field(foreign_key="event.id", ondelete="CASCADE")
    direction: Direction = Field(sa_type=String(20))


# API shapes -----------------------------------------------------------------

# An IATA airport or station code: three letters (upper case is stored).
IataCode = Annotated[str, PField(pattern=r"^[A-Za-z]{3}$", examples=["ASB"],
                                 description="IATA code: three letters.")]
Place = Annotated[str, PField(min_length=1, max_length=200)]
Carrier = Annotated[str, PField(min_length=1, max_length=100)]
Number = Annotated[str, PField(min_length=1, max_length=20)]
MetBy = Annotated[str, PField(min_length=1, max_length=300)]
Notes = Annotated[str, PField(max_length=2000)]
TravellerIds = Annotated[list[RowId], PField(min_length=1, max_length=500)]

_AT_DOC = ("Local time where it happens: the arrival at `to` (arrival), the departure from "
           "`from` (departure), in `timezone`; or with an offset, which is converted.")
_TZ_DOC = "IANA zone of the place of `at`. Default: the event's."
_MET_BY_DOC = ("Who meets them (arrival) or sees them off (departure): "
               "\"Maral Orazova's family\", \"Bus from the city hall\".")


class JourneyCreate(SQLModel):
    direction: Direction
    mode: Mode
    carrier: Carrier | None = PField(default=None, examples=["Turkmenistan Airlines"])
    number: Number | None = PField(default=None, examples=["T5 102"])
    from_place: Place = PField(examples=["Istanbul Airport"])
    from_code: IataCode | None = None
    to_place: Place = PField(examples=["Ashgabat International Airport"])
    to_code: IataCode | None = None
    at: PlanDatetime = PField(description=_AT_DOC)
    timezone: TimezoneName | None = PField(default=None, description=_TZ_DOC)
    met_by: MetBy | None = PField(default=None, description=_MET_BY_DOC)
    notes: Notes | None = None
    traveller_ids: TravellerIds = PField(
        description="Participant ids, all of one home city, each with a registration at "
        "the event that is not cancelled.")


class JourneyUpdate(SQLModel):
    """Every field optional; only what is sent changes. The direction does not change
    (delete the journey and record the other one). ``traveller_ids`` replaces the
    list: to move people to another journey, take them off this one first."""

    mode: Mode | None = None
    carrier: Carrier | None = None
    number: Number | None = None
    from_place: Place | None = None
    from_code: IataCode | None = None
    to_place: Place | None = None
    to_code: IataCode | None = None
    at: PlanDatetime | None = PField(default=None, description=_AT_DOC)
    timezone: TimezoneName | None = PField(
        default=None, description="A new zone keeps the wall-clock time and moves the instant.")
    met_by: MetBy | None = None
    notes: Notes | None = None
    traveller_ids: TravellerIds | None = None


class TravellerPublic(SQLModel):
    participant_id: int
    full_name: str | None = PField(
        description="Null for callers who may not read the person (a host's partner system).")
    home_city_id: int
    going: bool = PField(description="False once the registration is cancelled: the person "
                         "is left out of the board.")


class JourneyPublic(SQLModel):
    id: int
    event_id: int
    city_id: int = PField(description="The travellers' home city.")
    direction: Direction
    mode: Mode
    carrier: str | None
    number: str | None
    from_place: str
    from_code: str | None
    to_place: str
    to_code: str | None
    at: datetime = PField(description="Local time in `timezone`, with its offset.")
    timezone: str
    at_utc: datetime
    met_by: str | None
    notes: str | None
    travellers: list[TravellerPublic]
    created_at: datetime
    updated_at: datetime


# The travel board -------------------------------------------------------------


class BoardJourney(SQLModel):
    id: int
    city_id: int
    mode: Mode
    carrier: str | None
    number: str | None
    from_place: str
    to_place: str
    met_by: str | None
    travellers: list[TravellerPublic]


class Timing(StrEnum):
    """A group's time against the event's, as it is now (an event moved since its
    journeys were recorded shows here): the travellers are there for all of it, miss
    part of it (arrive after the start, leave before the end), or all of it (arrive
    after the end, leave before the start)."""

    in_time = "in_time"
    misses_part = "misses_part"
    misses_all = "misses_all"


class BoardGroup(SQLModel):
    """Everyone arriving at (or leaving from) one place at one time."""

    at: datetime = PField(description="Local time at the place, with its offset.")
    timezone: str
    place: str
    code: str | None
    count: int = PField(description="Travellers in the group (cancelled ones left out).")
    met_by: list[str] = PField(description="Everyone named to meet them (or see them off).")
    nobody_meets: bool = PField(description="No journey of the group names anyone.")
    timing: Timing = PField(description="Against the event's times now: `misses_part` "
                           "arrives after its start (leaves before its end), `misses_all` "
                           "arrives after its end (leaves before its start).")
    journeys: list[BoardJourney]


class MissingTravel(SQLModel):
    participant_id: int
    full_name: str | None
    home_city_id: int
    role: str
    missing: list[Direction]
    late: bool = PField(description="The event starts within `days` days (or has started).")


class TravelBoard(SQLModel):
    event_id: int
    timezone: str
    starts_at: datetime = PField(description="The event's start, local.")
    days: int = PField(description="Missing travel is late this many days before the start.")
    arrivals: list[BoardGroup]
    departures: list[BoardGroup]
    missing: list[MissingTravel] = PField(
        description="People holding a place, from cities other than the host, with no "
        "arrival or no departure recorded.")
    journeys_without_travellers: list[int] = PField(
        description="Journeys whose every traveller cancelled: kept, left off the board, "
        "for a coordinator to delete or reuse.")


def as_public_kwargs(journey: Journey) -> dict[str, Any]:
    """The stored fields the public shape shows as they are."""
    return {name: getattr(journey, name) for name in _SHOWN_AS_STORED}


_SHOWN_AS_STORED = tuple(
    name for name in JourneyPublic.model_fields
    if name in Journey.model_fields and name not in ("at",)
)
