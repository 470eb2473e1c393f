"""An exchange's programme items, who they are for, and the API's shapes.

Times are kept as events keep them (``app.events.models``): wall-clock times in
the event's zone, as agreed, and the instants they stand for, for ordering and
for checking that an item lies within its event. The zone is the event's: an
item has none of its own.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field as PField
from pydantic import model_validator
from sqlalchemy import CheckConstraint, DateTime, Index, String
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, utcnow
from app.core.types import RowId
from app.events.models import PlanDatetime, Title, Venue
from app.participants.models import RegistrationRole


class Audience(StrEnum):
    """Who takes part in an item: everyone at the exchange, one role, or named people."""

    everyone = "everyone"
    role = "role"
    people = "people"


class ProgrammeItem(SQLModel, table=True):
    __tablename__ = "programme_item"
    __table_args__ = (
        CheckConstraint("ends_at_utc > starts_at_utc", name="ends_after_start"),
        CheckConstraint("(audience = 'role') = (role IS NOT NULL)", name="role_iff_audience"),
        # An event's programme in time order: the programme endpoint and the feeds.
        Index("ix_programme_item_event_id_starts_at_utc", "event_id", "starts_at_utc"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", ondelete="CASCADE")
    title: str = Field(max_length=200)
    notes: str | None = Field(default=None, max_length=4000)
    place: str | None = Field(default=None, max_length=300)
    starts_at_local: datetime = Field(sa_type=DateTime(timezone=False))
    ends_at_local: datetime = Field(sa_type=DateTime(timezone=False))
    starts_at_utc: datetime = Field(sa_type=UTCDateTime)
    ends_at_utc: datetime = Field(sa_type=UTCDateTime)
    audience: Audience = Field(default=Audience.everyone, sa_type=String(20))
    role: RegistrationRole | None = Field(default=None, sa_type=String(20))
    public: bool = Field(default=False)
    # Bumped on every change (RFC 5545 SEQUENCE); the item's ETag is made of it.
    sequence: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class ProgrammeItemPerson(SQLModel, table=True):
    """A person named for an item whose audience is ``people``."""

    __tablename__ = "programme_item_person"

    item_id: int = Field(foreign_key="programme_item.id", primary_key=True, ondelete="CASCADE")
    participant_id: int = Field(
        foreign_key="participant.id", primary_key=True, index=True, ondelete="CASCADE"
    )


# API shapes -----------------------------------------------------------------

_STARTS_DOC = (
    "Wall-clock start in the event's timezone (`2027-05-20T10:00`), or with an offset, "
    "which is converted. Must lie within the event."
)
_ENDS_DOC = "Wall-clock end, like `starts_at`; after it, and within the event."
_AUDIENCE_DOC = (
    "`everyone` at the exchange, one `role` (give `role`), or named `people` (give "
    "`participant_ids`, each registered at the event)."
)


class ProgrammeItemCreate(SQLModel):
    title: Title
    notes: str | None = PField(default=None, max_length=4000)
    place: Venue | None = None
    starts_at: PlanDatetime = PField(description=_STARTS_DOC)
    ends_at: PlanDatetime = PField(description=_ENDS_DOC)
    audience: Audience = PField(default=Audience.everyone, description=_AUDIENCE_DOC)
    role: RegistrationRole | None = None
    participant_ids: list[RowId] = PField(default_factory=list, max_length=500)
    public: bool = PField(
        default=False,
        description="Shown beyond the event's cities: in public feeds (if the event is "
        "public) and to callers of other cities.",
    )

    @model_validator(mode="after")
    def _audience_shape(self) -> ProgrammeItemCreate:
        check_audience(self.audience, self.role, self.participant_ids)
        return self


def check_audience(
    audience: Audience, role: RegistrationRole | None, participant_ids: list[int]
) -> None:
    """A role goes with ``role`` only, named people with ``people`` only, and a
    named list is not empty."""
    if (audience == Audience.role) != (role is not None):
        raise ValueError("give role exactly when audience is role")
    if audience == Audience.people and not participant_ids:
        raise ValueError("audience people needs participant_ids")
    if audience != Audience.people and participant_ids:
        raise ValueError("participant_ids go with audience people")


class ProgrammeItemUpdate(SQLModel):
    """Every field optional; only what is sent changes. Changing ``audience`` takes
    its ``role`` or ``participant_ids`` with it."""

    title: Title | None = None
    notes: str | None = PField(default=None, max_length=4000)
    place: Venue | None = None
    starts_at: PlanDatetime | None = PField(default=None, description=_STARTS_DOC)
    ends_at: PlanDatetime | None = PField(default=None, description=_ENDS_DOC)
    audience: Audience | None = PField(default=None, description=_AUDIENCE_DOC)
    role: RegistrationRole | None = None
    participant_ids: list[RowId] | None = PField(default=None, max_length=500)
    public: bool | None = None


class NamedPerson(SQLModel):
    id: int
    full_name: str


class ProgrammeItemPublic(SQLModel):
    id: int
    event_id: int
    title: str
    notes: str | None
    place: str | None
    timezone: str = PField(description="The event's zone, in which the times are given.")
    starts_at: datetime = PField(description="Local time in `timezone`, with its offset.")
    ends_at: datetime = PField(description="Local time in `timezone`, with its offset.")
    audience: Audience
    role: RegistrationRole | None
    people: list[NamedPerson] | None = PField(
        description="Named people (audience `people`): shown only to the coordinators of "
        "their cities and of the host (each sees the people they may); null for others."
    )
    public: bool
    sequence: int
    created_at: datetime
    updated_at: datetime
