"""Exchanges proposed between twins: the negotiation's tables and the API's shapes.

A city's coordinators propose an exchange hosted by a twin (Kostroma's school
group visiting Ferrara). The proposal *is* an event, hosted by the twin, with
the proposing city as its guest and the status ``proposed``; beside it, one
``event_proposal`` row says where the negotiation stands and whose move it is,
and ``event_proposal_step`` keeps every move, so the whole negotiation stays
on the event after it ends.

Turns:

* The proposer moves first (``proposed``); then it is the host's turn.
* On its turn, a side may ``accept`` the terms on the table or ``counter`` with
  other dates; a counter passes the turn to the other side.
* Accepting ends the negotiation with the event the host's: ``draft``, or
  ``confirmed`` if the host accepts and says so. The proposer accepting the
  host's counter makes it the host's ``draft`` (the host's own dates; the host
  plans on from there as with any event).
* Ending without agreement needs no turn: the host may ``decline`` and the
  proposer may ``withdraw`` whenever the negotiation is open, each with a
  reason. The event is then ``cancelled`` with that reason, and stays visible
  to the two cities only.

While the negotiation is open the event is visible to both cities' keys only
(``partners``), whatever visibility the proposal asks for; that one is kept
here and given to the event when it is accepted.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field as PField
from pydantic import model_validator
from sqlalchemy import DateTime, Index, String
from sqlmodel import Field, SQLModel

from app.cities.models import TimezoneName
from app.core.db import UTCDateTime, utcnow
from app.core.types import RowId
from app.events.models import (
    DEFAULT_CHAPERONE_RATIO,
    EventKind,
    EventStatus,
    PlanDate,
    PlanDatetime,
    Visibility,
    check_schedule_shape,
)


class ProposalState(StrEnum):
    open = "open"
    accepted = "accepted"
    declined = "declined"
    withdrawn = "withdrawn"


class ProposalAction(StrEnum):
    proposed = "proposed"
    countered = "countered"
    accepted = "accepted"
    declined = "declined"
    withdrawn = "withdrawn"


def _utc(**kw: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kw)


def _local(**kw: Any) -> Any:
    return Field(sa_type=DateTime(timezone=False), **kw)


class EventProposal(SQLModel, table=True):
    """Where the negotiation of a proposed event stands. One per proposed event;
    events planned by their host directly have none."""

    __tablename__ = "event_proposal"

    event_id: int = Field(foreign_key="event.id", primary_key=True, ondelete="CASCADE")
    proposer_city_id: int = Field(foreign_key="city.id", ondelete="RESTRICT")
    state: ProposalState = Field(default=ProposalState.open, sa_type=String(20))
    # The city whose move it is while open (accept or counter); None once closed.
    turn_city_id: int | None = Field(default=None, foreign_key="city.id", ondelete="RESTRICT")
    # The visibility the proposal asks for, given to the event when it is accepted.
    visibility: Visibility = Field(default=Visibility.public, sa_type=String(20))
    created_at: datetime = _utc(default_factory=utcnow, nullable=False)
    closed_at: datetime | None = _utc(default=None)


class EventProposalStep(SQLModel, table=True):
    """One move of the negotiation, never changed afterwards.

    Proposals and counters carry the dates they put on the table (wall clock in
    the event's zone, and the instants); acceptances the dates agreed.
    """

    __tablename__ = "event_proposal_step"
    __table_args__ = (Index("ix_event_proposal_step_event_id_id", "event_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", ondelete="CASCADE")
    at: datetime = _utc(default_factory=utcnow, nullable=False)
    city_id: int = Field(foreign_key="city.id", ondelete="RESTRICT")
    actor: str = Field(max_length=200)
    action: ProposalAction = Field(sa_type=String(20))
    timezone: str | None = Field(default=None, max_length=64)
    all_day: bool | None = Field(default=None)
    starts_at_local: datetime | None = _local(default=None)
    ends_at_local: datetime | None = _local(default=None)
    starts_at_utc: datetime | None = _utc(default=None)
    ends_at_utc: datetime | None = _utc(default=None)
    message: str | None = Field(default=None, max_length=2000)


# API shapes -----------------------------------------------------------------

Message = Annotated[str, PField(min_length=1, max_length=2000)]
Reason = Annotated[str, PField(min_length=1, max_length=1000)]


class ProposedDates(SQLModel):
    """Dates put on the table: ``starts_at``/``ends_at``, or whole days."""

    all_day: bool = False
    starts_at: PlanDatetime | None = PField(
        default=None, description="Wall-clock start in the event's timezone, or with an offset."
    )
    ends_at: PlanDatetime | None = PField(default=None, description="Wall-clock end.")
    start_date: PlanDate | None = PField(default=None, description="First day (all-day).")
    end_date: PlanDate | None = PField(
        default=None, description="Last day, inclusive (all-day; default: `start_date`)."
    )

    @model_validator(mode="after")
    def _dates_shape(self) -> Any:
        check_schedule_shape(self)
        return self


class EventProposalCreate(ProposedDates):
    """An exchange a city proposes to one of its twins, hosted by the twin."""

    host_city_id: RowId = PField(description="The twin asked to host.")
    proposer_city_id: RowId | None = PField(
        default=None,
        description="The proposing city, which comes as the guest. Default: the caller's "
        "city; an admin must name it.",
    )
    kind: EventKind
    title: str = PField(min_length=1, max_length=200)
    description: str | None = PField(default=None, max_length=10_000)
    venue: str | None = PField(default=None, max_length=300)
    capacity: int | None = PField(default=None, ge=0, le=1_000_000)
    chaperone_ratio: int = PField(default=DEFAULT_CHAPERONE_RATIO, ge=1, le=100)
    visibility: Visibility = PField(
        default=Visibility.public,
        description="What the event is to be once accepted; until then only the two "
        "cities see it.",
    )
    timezone: TimezoneName | None = PField(
        default=None, description="IANA zone of the event. Default: the host city's."
    )
    message: Message | None = PField(default=None, description="A word to the host.")


class ProposalCounter(ProposedDates):
    message: Message | None = None


class ProposalAccept(SQLModel):
    status: Literal[EventStatus.draft, EventStatus.confirmed] = PField(
        default=EventStatus.draft,
        description="What the event becomes: `draft` (default) or `confirmed`. Only the "
        "host may confirm at once; the proposer's acceptance makes it the host's draft.",
    )
    message: Message | None = None


class ProposalEnd(SQLModel):
    reason: Reason


class ProposalStepPublic(SQLModel):
    id: int
    at: datetime
    city_id: int
    actor: str
    action: ProposalAction
    all_day: bool | None
    starts_at: datetime | None = PField(description="Local time in the event's zone.")
    ends_at: datetime | None
    start_date: date | None
    end_date: date | None
    message: str | None


class NegotiationPublic(SQLModel):
    event_id: int
    host_city_id: int
    proposer_city_id: int
    state: ProposalState
    turn_city_id: int | None = PField(
        description="Whose move it is (accept or counter) while open; null once closed."
    )
    visibility: Visibility = PField(description="What the event is to be once accepted.")
    created_at: datetime
    closed_at: datetime | None
    steps: list[ProposalStepPublic]
