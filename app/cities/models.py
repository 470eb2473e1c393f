"""Cities and the partnerships (twinnings) between them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, computed_field, model_validator
from pydantic import Field as PField
from sqlalchemy import JSON, CheckConstraint, Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.cities import geo
from app.core.db import UTCDateTime, utcnow
from app.core.openapi import named_schema
from app.core.types import MAX_ID, PartialDate, RowId, partial_date_year
from app.core.urls import city_feed_path, feed_url, partnership_feed_path, webcal_url


def _check_country(value: str) -> str:
    code = value.upper()
    if not geo.is_country_code(code):
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return code


def _check_timezone(value: str) -> str:
    if not geo.is_timezone(value):
        raise ValueError(f"{value!r} is not an IANA timezone name (e.g. Europe/Volgograd)")
    return value


# The whole lists are in the OpenAPI document, once each (components), so that
# what the server accepts is what the schema says.
CountryCode = Annotated[
    str, PField(min_length=2, max_length=2, examples=["TM"]), AfterValidator(_check_country),
    named_schema("CountryCode", lambda: {
        "type": "string", "enum": sorted(geo.countries()),
        "description": "ISO 3166-1 alpha-2 (lower case is read as upper case).",
    }),
]
TimezoneName = Annotated[
    str, PField(max_length=64, examples=["Asia/Ashgabat"]), AfterValidator(_check_timezone),
    named_schema("TimezoneName", lambda: {
        "type": "string", "enum": sorted(geo.timezone_names()),
        "description": "An IANA time zone name.",
    }),
]
Name = Annotated[str, PField(min_length=1, max_length=200)]
WikidataId = Annotated[str, PField(max_length=20, pattern=r"^Q[1-9]\d*$", examples=["Q23438"])]


# The folded names a city is found by (app.cities.service.search_key).
SEARCH_KEY_LENGTH = 4000


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class CityBase(SQLModel):
    name: Name = Field(max_length=200)
    country_code: CountryCode = Field(max_length=2, index=True)
    region: str | None = Field(default=None, max_length=200)
    # The column is a 32-bit INTEGER on PostgreSQL; SQLite refuses beyond 64 bits.
    population: int | None = Field(default=None, ge=0, le=MAX_ID)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    wikidata_id: WikidataId | None = Field(default=None, max_length=20, unique=True, index=True)


class City(CityBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    timezone: str = Field(max_length=64)
    alternate_names: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Folded (lower-case ASCII) forms of every name, space-separated, for prefix search.
    search_key: str = Field(default="", max_length=SEARCH_KEY_LENGTH)
    seeking_twin_in: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    notes: str | None = Field(default=None, max_length=4000)
    # Its coordinators sign in with a second factor (an authenticator app).
    require_totp: bool = Field(default=False)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class CityCreate(CityBase):
    timezone: TimezoneName | None = PField(
        default=None,
        description="IANA zone. When omitted it is derived: from the coordinates, or "
        "the country's only zone.",
    )
    alternate_names: list[Name] = PField(default_factory=list, max_length=20)
    seeking_twin_in: list[CountryCode] = PField(
        default_factory=list,
        max_length=50,
        description="Countries, in order of priority, where the city is looking for a twin.",
    )
    notes: str | None = PField(default=None, max_length=4000)

    @model_validator(mode="after")
    def _both_coordinates(self) -> CityCreate:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give both latitude and longitude, or neither")
        return self


class CityUpdate(SQLModel):
    name: Name | None = None
    country_code: CountryCode | None = None
    region: str | None = PField(default=None, max_length=200)
    population: int | None = PField(default=None, ge=0, le=MAX_ID)
    latitude: float | None = PField(default=None, ge=-90, le=90)
    longitude: float | None = PField(default=None, ge=-180, le=180)
    timezone: TimezoneName | None = None
    wikidata_id: WikidataId | None = None
    alternate_names: list[Name] | None = PField(default=None, max_length=20)
    seeking_twin_in: list[CountryCode] | None = PField(default=None, max_length=50)
    notes: str | None = PField(default=None, max_length=4000)
    require_totp: bool | None = PField(
        default=None, description="Whether the city's coordinators must sign in with a "
        "second factor (an authenticator app).")


class CityPublic(CityBase):
    id: int
    timezone: str
    alternate_names: list[str]
    seeking_twin_in: list[str]
    notes: str | None
    require_totp: bool = False
    created_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def feed_url(self) -> str:
        """The city's public iCalendar feed."""
        return feed_url(city_feed_path(self.id))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def webcal_url(self) -> str:
        """The same feed as a `webcal://` link, which calendar apps subscribe to."""
        return webcal_url(city_feed_path(self.id))


class PartnershipStatus(StrEnum):
    proposed = "proposed"
    negotiating = "negotiating"
    active = "active"
    suspended = "suspended"
    ended = "ended"


# Which status may follow which. Creating a partnership may start at any status
# (historical twinnings are entered as they stand today).
ALLOWED_TRANSITIONS: dict[PartnershipStatus, frozenset[PartnershipStatus]] = {
    PartnershipStatus.proposed: frozenset(
        {PartnershipStatus.negotiating, PartnershipStatus.active, PartnershipStatus.ended}
    ),
    PartnershipStatus.negotiating: frozenset(
        {PartnershipStatus.proposed, PartnershipStatus.active, PartnershipStatus.ended}
    ),
    PartnershipStatus.active: frozenset({PartnershipStatus.suspended, PartnershipStatus.ended}),
    PartnershipStatus.suspended: frozenset({PartnershipStatus.active, PartnershipStatus.ended}),
    PartnershipStatus.ended: frozenset(),
}


class Partnership(SQLModel, table=True):
    """A twinning: an unordered pair, stored with the smaller city id first."""

    __table_args__ = (
        UniqueConstraint("city_a_id", "city_b_id", name="uq_partnership_pair"),
        CheckConstraint("city_a_id < city_b_id", name="ordered_pair"),
    )

    id: int | None = Field(default=None, primary_key=True)
    city_a_id: int = Field(foreign_key="city.id", index=True, ondelete="RESTRICT")
    city_b_id: int = Field(foreign_key="city.id", index=True, ondelete="RESTRICT")
    status: PartnershipStatus = Field(sa_type=String(20), index=True)
    established_on: str | None = Field(default=None, max_length=10)
    notes: str | None = Field(default=None, max_length=4000)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class PartnershipStatusChange(SQLModel, table=True):
    __tablename__ = "partnership_status_change"

    id: int | None = Field(default=None, primary_key=True)
    partnership_id: int = Field(foreign_key="partnership.id", index=True, ondelete="CASCADE")
    from_status: PartnershipStatus | None = Field(default=None, sa_type=String(20))
    to_status: PartnershipStatus = Field(sa_type=String(20))
    changed_on: str = Field(max_length=10)
    note: str | None = Field(default=None, max_length=1000)
    recorded_at: datetime = _created()


class PartnershipCreate(SQLModel):
    city_a_id: RowId
    city_b_id: RowId
    status: PartnershipStatus = PartnershipStatus.proposed
    established_on: PartialDate | None = None
    status_changed_on: PartialDate | None = PField(
        default=None, description="When the current status took effect (default: today)."
    )
    notes: str | None = PField(default=None, max_length=4000)

    @model_validator(mode="after")
    def _two_cities(self) -> PartnershipCreate:
        if self.city_a_id == self.city_b_id:
            raise ValueError("a city cannot be twinned with itself")
        return self


class PartnershipUpdate(SQLModel):
    status: PartnershipStatus | None = None
    status_changed_on: PartialDate | None = PField(
        default=None, description="When the new status took effect (default: today)."
    )
    status_note: str | None = PField(default=None, max_length=1000)
    established_on: PartialDate | None = None
    notes: str | None = PField(default=None, max_length=4000)


class StatusChangePublic(SQLModel):
    from_status: PartnershipStatus | None
    to_status: PartnershipStatus
    changed_on: str
    note: str | None
    recorded_at: datetime


class PartnershipPublic(SQLModel):
    id: int
    city_a_id: int
    city_b_id: int
    status: PartnershipStatus
    established_on: str | None
    notes: str | None
    created_at: datetime
    updated_at: datetime
    history: list[StatusChangePublic] = []

    @computed_field  # type: ignore[prop-decorator]
    @property
    def established_year(self) -> int | None:
        return partial_date_year(self.established_on)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def feed_url(self) -> str:
        """The twinning's public iCalendar feed."""
        return feed_url(partnership_feed_path(self.id))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def webcal_url(self) -> str:
        """The same feed as a `webcal://` link, which calendar apps subscribe to."""
        return webcal_url(partnership_feed_path(self.id))


class PartnerPublic(SQLModel):
    """One twin of a city, as `GET /cities/{id}/partners` lists it."""

    partnership_id: int
    city: CityPublic
    status: PartnershipStatus
    established_on: str | None
    status_changed_on: str | None
