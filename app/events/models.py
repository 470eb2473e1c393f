"""Exchange events: the table, its guest cities, and the API's shapes.

An event's schedule is stored three ways, on purpose:

* ``timezone``: the event's own IANA zone, copied from the host city when the
  event is created. Changing the city's zone later does not move the event.
* ``starts_at_local`` / ``ends_at_local``: the wall-clock times as planned
  (naive). They are what a coordinator agreed on, and what the UTC instants can
  be recomputed from if the tz database changes a country's rules.
* ``starts_at_utc`` / ``ends_at_utc``: the instants, indexed, for ordering,
  overlap queries and clash checks.

All-day events store local midnight of the first day and local midnight of the
day after the last (``ends_at_local`` is exclusive); the API shows the last day
inclusively as ``end_date``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, WithJsonSchema, model_validator
from pydantic import Field as PField
from sqlalchemy import CheckConstraint, Connection, DateTime, Index, String, inspect, select
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Mapper
from sqlmodel import Field, SQLModel

from app.cities.models import TimezoneName
from app.core.db import UTCDateTime, utcnow
from app.core.types import IsoText, RowId


class EventKind(StrEnum):
    delegation_visit = "delegation_visit"
    youth_exchange = "youth_exchange"
    school_exchange = "school_exchange"
    sports = "sports"
    exhibition = "exhibition"
    culture = "culture"
    seminar = "seminar"


class EventStatus(StrEnum):
    # Proposed by a twin, under negotiation (app.events.proposals); leaves only
    # through accept, decline or withdraw.
    proposed = "proposed"
    draft = "draft"
    planned = "planned"
    confirmed = "confirmed"
    completed = "completed"
    cancelled = "cancelled"


class Visibility(StrEnum):
    public = "public"
    partners = "partners"
    private = "private"


# Forward along draft → planned → confirmed → completed (skipping `planned` is
# fine). `cancelled` is reached only through POST /events/{id}/cancel.
ALLOWED_TRANSITIONS: dict[EventStatus, frozenset[EventStatus]] = {
    EventStatus.proposed: frozenset(),
    EventStatus.draft: frozenset({EventStatus.planned, EventStatus.confirmed}),
    EventStatus.planned: frozenset({EventStatus.confirmed}),
    EventStatus.confirmed: frozenset({EventStatus.completed}),
    EventStatus.completed: frozenset(),
    EventStatus.cancelled: frozenset(),
}
FINAL_STATUSES = frozenset({EventStatus.completed, EventStatus.cancelled})
CREATABLE_STATUSES = frozenset({EventStatus.draft, EventStatus.planned, EventStatus.confirmed})

DEFAULT_CHAPERONE_RATIO = 10

# The longest event we accept. Exchanges run for days or months (a school year
# abroad at most); the bound also lets the window query scan a bounded range of
# ``starts_at_utc`` instead of all history (see service.overlapping).
MAX_EVENT_DURATION = timedelta(days=366)


def _utc(**kw: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kw)


def _local(**kw: Any) -> Any:
    return Field(sa_type=DateTime(timezone=False), **kw)


class EventBase(SQLModel):
    """What an event is, as the API takes it and gives it back, and as it is stored."""

    kind: EventKind = Field(sa_type=String(30))
    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    venue: str | None = Field(default=None, max_length=300)
    capacity: int | None = Field(default=None, ge=0, le=1_000_000)
    chaperone_ratio: int = Field(
        default=DEFAULT_CHAPERONE_RATIO,
        ge=1,
        le=100,
        description="Minors per adult chaperone that school and youth exchanges need.",
    )
    status: EventStatus = Field(default=EventStatus.draft, sa_type=String(20))
    visibility: Visibility = Field(default=Visibility.public, sa_type=String(20))


class Event(EventBase, table=True):
    __table_args__ = (
        CheckConstraint("ends_at_utc > starts_at_utc", name="ends_after_start"),
        CheckConstraint("chaperone_ratio >= 1", name="chaperone_ratio_positive"),
        CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_not_negative"),
        CheckConstraint("places_held >= 0", name="places_held_not_negative"),
        # A host's events in time order: the city filter's host side. With the end
        # in the index, the window test needs no row until an event overlaps.
        Index(
            "ix_event_host_city_id_starts_at_utc", "host_city_id", "starts_at_utc", "ends_at_utc"
        ),
        Index("ix_event_starts_at_utc_id", "starts_at_utc", "id"),
        # A mirrored event is its source's UID (and occurrence) in one calendar.
        Index("uq_event_external_calendar_id_external_uid", "external_calendar_id",
              "external_uid", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    host_city_id: int = Field(foreign_key="city.id", ondelete="RESTRICT")
    registration_deadline: datetime | None = _utc(default=None)

    timezone: str = Field(max_length=64)
    all_day: bool = Field(default=False)
    starts_at_local: datetime = _local()
    ends_at_local: datetime = _local()
    starts_at_utc: datetime = _utc()
    ends_at_utc: datetime = _utc(index=True)

    # Bumped on every change a calendar subscriber would notice (RFC 5545 SEQUENCE).
    sequence: int = Field(default=0)
    # Bumped on every change at all; the ETag is made of it.
    version: int = Field(default=1)
    # How many of its registrations hold a place (app.participants keeps it, in the
    # transaction that moves one): capacity is checked against it, so registering
    # reads one row however many people the event already has. Not a change to
    # the event: no version, no audit entry, no feed notices it.
    places_held: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = _utc(default_factory=utcnow, nullable=False)
    updated_at: datetime = _utc(default_factory=utcnow, nullable=False)
    cancelled_at: datetime | None = _utc(default=None)
    cancel_reason: str | None = Field(default=None, max_length=1000)
    # Mirrored from a partner's public calendar (app.mirrors): read-only here, kept
    # in step by the worker, gone with the calendar.
    external_calendar_id: int | None = Field(
        default=None, foreign_key="external_calendar.id", ondelete="CASCADE"
    )
    external_uid: str | None = Field(default=None, max_length=600)

    @property
    def first_day(self) -> date:
        """The event's first day, in its own timezone (minors' age is judged on it)."""
        return self.starts_at_local.date()

    @property
    def last_day(self) -> date:
        """The last day, inclusive, in the event's timezone. An event that ends at
        midnight (as all-day events do) does not run on the day that begins then."""
        last = self.ends_at_local.date()
        if self.ends_at_local.time() == time() and last > self.first_day:
            last -= timedelta(days=1)
        return last

    @property
    def is_active(self) -> bool:
        """Neither cancelled nor completed: it can still change and take registrations."""
        return self.status not in FINAL_STATUSES


class EventGuest(SQLModel, table=True):
    """A guest city of an event. The host is on the event itself, never here.

    Each row carries a copy of its event's instants so that "events of city X in
    this window" is one range scan of an index, however many events the city
    has taken part in over the years. The copies fill themselves on insert and
    follow the event when it moves (the mapper events below); code that builds
    rows with ``EventGuest(event_id=..., city_id=...)`` need not know.
    """

    __tablename__ = "event_guest"
    __table_args__ = (
        # Covering: the window test runs on the index alone, rows are read only
        # for events that really overlap.
        Index(
            "ix_event_guest_city_id_starts_at_utc",
            "city_id", "starts_at_utc", "ends_at_utc", "event_id",
        ),
    )

    event_id: int = Field(foreign_key="event.id", primary_key=True, ondelete="CASCADE")
    city_id: int = Field(foreign_key="city.id", primary_key=True, ondelete="RESTRICT")
    starts_at_utc: datetime | None = _utc(default=None, nullable=False)
    ends_at_utc: datetime | None = _utc(default=None, nullable=False)


@sa_event.listens_for(EventGuest, "before_insert")
def _copy_event_times(_mapper: Mapper[Any], connection: Connection, guest: EventGuest) -> None:
    if guest.starts_at_utc is not None and guest.ends_at_utc is not None:
        return
    table = Event.__table__  # type: ignore[attr-defined]
    row = connection.execute(
        select(table.c.starts_at_utc, table.c.ends_at_utc).where(table.c.id == guest.event_id)
    ).one_or_none()
    if row is not None:
        guest.starts_at_utc, guest.ends_at_utc = row


@sa_event.listens_for(Event, "after_update")
def _move_guest_times(_mapper: Mapper[Any], connection: Connection, event: Event) -> None:
    state = inspect(event)
    if not (state.attrs.starts_at_utc.history.has_changes()
            or state.attrs.ends_at_utc.history.has_changes()):
        return
    table = EventGuest.__table__  # type: ignore[attr-defined]
    connection.execute(
        table.update()
        .where(table.c.event_id == event.id)
        .values(starts_at_utc=event.starts_at_utc, ends_at_utc=event.ends_at_utc)
    )


# API shapes -----------------------------------------------------------------

# Plans are for this era; outside it, arithmetic near datetime's limits (year 1,
# year 9999) would overflow instead of answering.
EARLIEST_YEAR, LATEST_YEAR = 1900, 2200
_D = TypeVar("_D", date, datetime)


def check_year(value: _D) -> _D:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"give a date between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    return value


PlanDatetime = Annotated[datetime, IsoText, AfterValidator(check_year)]
PlanDate = Annotated[date, IsoText, AfterValidator(check_year)]

# Row ids as the database stores them (32-bit); a larger number is a 422, not a
# driver error.
Title = Annotated[str, PField(min_length=1, max_length=200)]
Description = Annotated[str, PField(max_length=10_000)]
Venue = Annotated[str, PField(max_length=300)]
GuestIds = Annotated[list[RowId], PField(min_length=1, max_length=100)]

_STARTS_DOC = (
    "Wall-clock start in the event's timezone (`2027-05-20T10:00`), or with an offset "
    "(`2027-05-20T10:00+03:00`), which is converted. Not for all-day events."
)
_ENDS_DOC = "Wall-clock end, like `starts_at`; must be after it."
_START_DATE_DOC = "First day of an all-day event."
_END_DATE_DOC = "Last day of an all-day event, inclusive (default: `start_date`)."
_TZ_DOC = "IANA zone of the event. Default: the host city's zone at creation."
_DEADLINE_DOC = "Registrations close then. Naive means the event's local time."


def check_schedule_shape(dates: Any) -> None:
    """Times or whole days, not both, and complete: what an event's schedule (a new
    event, proposed dates) must give. ``dates`` has ``all_day``, ``starts_at``,
    ``ends_at``, ``start_date`` and ``end_date``."""
    if dates.all_day:
        if dates.starts_at is not None or dates.ends_at is not None:
            raise ValueError("an all-day event takes start_date/end_date, not starts_at/ends_at")
        if dates.start_date is None:
            raise ValueError("an all-day event needs start_date")
    else:
        if dates.start_date is not None or dates.end_date is not None:
            raise ValueError("start_date/end_date are for all-day events (all_day: true)")
        if dates.starts_at is None or dates.ends_at is None:
            raise ValueError("give starts_at and ends_at (or all_day with start_date)")


class EventCreate(EventBase):
    host_city_id: RowId
    guest_city_ids: GuestIds = PField(
        description="Guest cities; each needs a partnership with the host that is "
        "neither ended nor suspended."
    )
    registration_deadline: PlanDatetime | None = PField(default=None, description=_DEADLINE_DOC)
    status: Annotated[EventStatus, WithJsonSchema(
        {"type": "string", "enum": sorted(CREATABLE_STATUSES)})] = PField(
        default=EventStatus.draft, description="`draft` (default), `planned` or `confirmed`."
    )
    timezone: TimezoneName | None = PField(default=None, description=_TZ_DOC)
    all_day: bool = False
    starts_at: PlanDatetime | None = PField(default=None, description=_STARTS_DOC)
    ends_at: PlanDatetime | None = PField(default=None, description=_ENDS_DOC)
    start_date: PlanDate | None = PField(default=None, description=_START_DATE_DOC)
    end_date: PlanDate | None = PField(default=None, description=_END_DATE_DOC)

    @model_validator(mode="after")
    def _schedule_shape(self) -> EventCreate:
        if self.status not in CREATABLE_STATUSES:
            raise ValueError(
                f"an event cannot be created as {self.status}; use draft, planned or confirmed"
            )
        check_schedule_shape(self)
        return self


class EventUpdate(SQLModel):
    """Every field optional; only what is sent changes. The host cannot change."""

    kind: EventKind | None = None
    title: Title | None = None
    description: Description | None = None
    guest_city_ids: GuestIds | None = None
    venue: Venue | None = None
    capacity: int | None = PField(default=None, ge=0, le=1_000_000)
    registration_deadline: PlanDatetime | None = PField(default=None, description=_DEADLINE_DOC)
    chaperone_ratio: int | None = PField(default=None, ge=1, le=100)
    status: EventStatus | None = PField(
        default=None, description="Forward only: draft → planned → confirmed → completed."
    )
    visibility: Visibility | None = None
    timezone: TimezoneName | None = PField(
        default=None,
        description="A new zone keeps the wall-clock times and moves the instants.",
    )
    all_day: bool | None = None
    starts_at: PlanDatetime | None = PField(default=None, description=_STARTS_DOC)
    ends_at: PlanDatetime | None = PField(default=None, description=_ENDS_DOC)
    start_date: PlanDate | None = PField(default=None, description=_START_DATE_DOC)
    end_date: PlanDate | None = PField(default=None, description=_END_DATE_DOC)


class ExternalSource(SQLModel):
    """Where a mirrored event comes from. Such an event is read-only."""

    calendar_id: int
    uid: str = PField(description="The source's UID (with the occurrence, if recurring).")


class EventCancel(SQLModel):
    reason: str = PField(min_length=1, max_length=1000)


class EventPublic(EventBase):
    id: int
    host_city_id: int
    guest_city_ids: list[int]
    registration_deadline: datetime | None = PField(description="Local time, with offset.")
    timezone: str
    all_day: bool
    starts_at: datetime = PField(description="Local time in `timezone`, with its offset.")
    ends_at: datetime = PField(
        description="Local time with offset; for all-day events, midnight after the last day."
    )
    start_date: date | None = PField(description="All-day events: the first day.")
    end_date: date | None = PField(description="All-day events: the last day, inclusive.")
    starts_at_utc: datetime
    ends_at_utc: datetime
    sequence: int
    version: int
    created_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None
    cancel_reason: str | None
    external: ExternalSource | None = PField(
        default=None,
        description="Set on events mirrored from a city's public calendar: read-only.",
    )
