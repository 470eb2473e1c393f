"""Private feed tokens, the version of what each city's feeds show, the state each
feed was last served in, and the API's shapes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field as PField
from pydantic import model_validator
from sqlalchemy import CheckConstraint, Index, String
from sqlmodel import Field, SQLModel

from app.cities.models import City
from app.core.db import UTCDateTime, utcnow
from app.events.models import Event

# A worker that read a feed's members before reads only the events changed since
# (``app.calendars.state.merged_snapshot``), and a feed nobody asked for before is
# dated by the newest change it shows: range scans and max() of updated_at.
Index("ix_event_updated_at", Event.__table__.c.updated_at)  # type: ignore[attr-defined]
Index("ix_city_updated_at", City.__table__.c.updated_at)  # type: ignore[attr-defined]


class FeedTokenKind(StrEnum):
    city = "city"
    participant = "participant"


class FeedToken(SQLModel, table=True):
    """A secret feed URL: a city's full calendar, or one person's own agenda."""

    __tablename__ = "feed_token"
    __table_args__ = (
        CheckConstraint(
            "(city_id IS NULL) <> (participant_id IS NULL)", name="city_or_participant"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: FeedTokenKind = Field(sa_type=String(20))
    city_id: int | None = Field(
        default=None, foreign_key="city.id", index=True, ondelete="CASCADE"
    )
    participant_id: int | None = Field(
        default=None, foreign_key="participant.id", index=True, ondelete="CASCADE"
    )
    label: str | None = Field(default=None, max_length=200)
    # SHA-256 of the token: tokens carry 256 random bits, so a slow hash adds nothing.
    token_hash: str = Field(max_length=64, unique=True, index=True)
    prefix: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class FeedVersion(SQLModel, table=True):
    """How many times what a city's feeds show has changed.

    ``app.calendars.versions`` adds one, in the transaction of the change, for each
    city that takes part in an event that changed (as host or guest, before or
    after the change); row 0 counts the changes to what every feed shows of every
    city (names, countries, time zones). A feed's validators are made of its
    cities' rows, so a reader can trust them the moment they commit, and a
    change elsewhere leaves them alone. No foreign key: row 0 is no city, and a
    deleted city's row harms no one.
    """

    __tablename__ = "feed_version"

    city_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    version: int = Field(default=0)


class FeedState(SQLModel, table=True):
    """What a feed looked like when it was last checked, shared by every worker.

    ``fingerprint`` hashes what the feed is made of (its events' ids and
    versions, the cities' stamp, the renderer's version). When a check finds
    another fingerprint, the feed has changed, and ``last_modified`` moves
    forward, even when the change is an event leaving it (hidden, un-guested,
    or past its 90 days as cancelled), which no remaining row could date.
    ``etag`` and ``length`` let any worker answer a conditional request or a
    HEAD without building the feed.

    A check reads every member of the feed. ``stamp`` (the feed's cities'
    versions when it was read, ``FeedVersion``), ``expires_at`` (when the next
    cancelled member drops out) and ``checked_at`` let most requests skip it:
    see ``app.calendars.state.still_current``.
    """

    __tablename__ = "feed_state"

    key: str = Field(primary_key=True, max_length=200)
    fingerprint: str = Field(max_length=64)
    etag: str = Field(max_length=80)
    length: int
    last_modified: datetime = Field(sa_type=UTCDateTime, nullable=False)
    stamp: str = Field(default="", max_length=100)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    checked_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class FeedTokenCreate(SQLModel):
    city_id: int | None = PField(
        default=None,
        ge=1,
        description="A city's full feed, with its partners-only and private events "
        "(admin, or the city's coordinator).",
    )
    participant_id: int | None = PField(
        default=None,
        ge=1,
        description="One person's own agenda: the events they hold a place at "
        "(admin, or a key of the person's home city).",
    )
    label: str | None = PField(
        default=None, max_length=200, description="Who the link is for, e.g. 'school office'."
    )

    @model_validator(mode="after")
    def _one_target(self) -> FeedTokenCreate:
        if (self.city_id is None) == (self.participant_id is None):
            raise ValueError("give either city_id or participant_id")
        return self


class FeedTokenPublic(SQLModel):
    id: int
    kind: FeedTokenKind
    city_id: int | None
    participant_id: int | None
    label: str | None
    prefix: str = PField(description="The token's first characters, to tell tokens apart.")
    created_at: datetime
    revoked_at: datetime | None


class FeedTokenCreated(FeedTokenPublic):
    token: str = PField(description="The secret. Shown this once; only its hash is stored.")
    feed_url: str
    webcal_url: str
