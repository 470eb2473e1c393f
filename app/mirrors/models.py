"""Mirrored partner calendars: a city's public iCal URL, and how its last poll went.

The events themselves are ``Event`` rows of the city, marked with
``external_calendar_id`` and ``external_uid`` (``app.events.models``): that way
every list, filter and feed shows them with no read path of their own, and
the events' write paths refuse them in one place
(``app.events.service.get_event_for_update``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AnyUrl, UrlConstraints
from pydantic import Field as PField
from sqlalchemy import String
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, utcnow
from app.events.models import EventKind, Visibility

MAX_URL_LENGTH = 2048


class CalendarStatus(StrEnum):
    pending = "pending"  # registered, not polled yet
    ok = "ok"
    error = "error"


HttpUrl = Annotated[
    AnyUrl,
    UrlConstraints(max_length=MAX_URL_LENGTH, allowed_schemes=["http", "https"]),
]


class ExternalCalendarBase(SQLModel):
    name: str = Field(min_length=1, max_length=200,
                      description="What the city calls this calendar, e.g. \"Ferrara: events\".")
    kind: EventKind = Field(
        default=EventKind.culture, sa_type=String(30),
        description="The kind its mirrored events are filed under.",
    )
    visibility: Visibility = Field(
        default=Visibility.public, sa_type=String(20),
        description="Who sees its mirrored events (a public calendar: `public`).",
    )


class ExternalCalendar(ExternalCalendarBase, table=True):
    __tablename__ = "external_calendar"

    id: int | None = Field(default=None, primary_key=True)
    city_id: int = Field(foreign_key="city.id", ondelete="RESTRICT", index=True)
    url: str = Field(max_length=MAX_URL_LENGTH)
    status: CalendarStatus = Field(default=CalendarStatus.pending, sa_type=String(10))
    # Why the last poll failed; the mirrored events stay as the last good poll left them.
    error: str | None = Field(default=None, max_length=1000)
    # The validators of the last good answer, sent back as If-None-Match / If-Modified-Since.
    etag: str | None = Field(default=None, max_length=500)
    last_modified: str | None = Field(default=None, max_length=100)
    event_count: int = Field(default=0)
    # When the worker polls it next (now, after "poll now").
    next_poll_at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow, index=True)
    last_polled_at: datetime | None = Field(sa_type=UTCDateTime, default=None)
    # The last poll that changed a mirrored event (added, changed or dropped one).
    last_changed_at: datetime | None = Field(sa_type=UTCDateTime, default=None)
    created_at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)


class ExternalCalendarCreate(ExternalCalendarBase):
    url: HttpUrl = PField(description="The calendar's public iCal address (http or https).")


class ExternalCalendarPublic(ExternalCalendarBase):
    id: int
    city_id: int
    url: str
    status: CalendarStatus = PField(
        description="`pending` until first polled; `ok`; or `error`, with `error` saying why."
    )
    error: str | None
    event_count: int = PField(description="Mirrored events (occurrences) now in the city.")
    next_poll_at: datetime
    last_polled_at: datetime | None
    last_changed_at: datetime | None
    created_at: datetime
