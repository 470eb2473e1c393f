"""A city's reminder rules: who hears, when, and how long before."""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from typing import Annotated, Any

from pydantic import EmailStr
from pydantic import Field as PField
from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, utcnow

DEFAULT_WTCD_DAYS = [60, 30, 7]
DEFAULT_EVENT_DAYS = [14, 2]
DEFAULT_ANNIVERSARY_DAYS = [30]


class ReminderOptOut(SQLModel, table=True):
    """A person who stopped one kind of reminder for themselves (``kind``: event,
    twin_cities_day, anniversary)."""

    __tablename__ = "reminder_opt_out"

    user_id: int = Field(foreign_key="app_user.id", primary_key=True, ondelete="CASCADE")
    kind: str = Field(max_length=40, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class ReminderRule(SQLModel, table=True):
    """One row per city that changed the defaults or named its coordinators.

    A city without a row gets the defaults; its reminders go to its coordinators'
    accounts (``app.reminders.recipients``), and ``coordinator_emails`` adds
    addresses that have no account (its webhooks receive ``reminder.due`` too).
    """

    __tablename__ = "reminder_rule"

    city_id: int = Field(foreign_key="city.id", primary_key=True, ondelete="CASCADE")
    coordinator_emails: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    # None: the server's TWINPLAN_REMINDER_HOUR.
    hour: int | None = Field(default=None)
    wtcd_days_before: list[int] = Field(
        default_factory=lambda: list(DEFAULT_WTCD_DAYS), sa_column=Column(JSON, nullable=False)
    )
    event_days_before: list[int] = Field(
        default_factory=lambda: list(DEFAULT_EVENT_DAYS), sa_column=Column(JSON, nullable=False)
    )
    anniversary_days_before: list[int] = Field(
        default_factory=lambda: list(DEFAULT_ANNIVERSARY_DAYS),
        sa_column=Column(JSON, nullable=False),
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


LeadDays = Annotated[list[Annotated[int, PField(ge=0, le=366)]], PField(max_length=10)]


class ReminderRulesUpdate(SQLModel):
    """Only what is sent changes; an empty list turns that reminder off."""

    coordinator_emails: list[EmailStr] | None = PField(default=None, max_length=20)
    hour: int | None = PField(
        default=None, ge=0, le=23, description="Local hour in the city's timezone."
    )
    wtcd_days_before: LeadDays | None = None
    event_days_before: LeadDays | None = None
    anniversary_days_before: LeadDays | None = None


class ReminderRulesPublic(SQLModel):
    city_id: int
    coordinator_emails: list[str]
    hour: int
    timezone: str
    wtcd_days_before: list[int]
    event_days_before: list[int]
    anniversary_days_before: list[int]


class TwinCitiesDayPublic(SQLModel):
    year: int
    date: dt.date
    weekday: str


class NextTwinCitiesDayPublic(TwinCitiesDayPublic):
    timezone: str
    today: dt.date
    days_remaining: int


class PlannedEventPublic(SQLModel):
    id: int
    title: str
    kind: str
    status: str
    host_city_id: int
    starts_at: datetime
    ends_at: datetime


class PartnerPlanPublic(SQLModel):
    partnership_id: int
    partner_city_id: int
    partner_name: str
    partner_country_code: str
    established_on: str | None
    events: list[PlannedEventPublic]

    @property
    def planned(self) -> bool:
        return bool(self.events)


class TwinCitiesDayPlan(SQLModel):
    """A city's active twinnings around World Twin Cities Day, planned or not."""

    city_id: int
    year: int
    date: dt.date
    window_from: dt.date
    window_to: dt.date
    with_event: list[PartnerPlanPublic]
    without_event: list[PartnerPlanPublic]


def as_payload(model: SQLModel) -> dict[str, Any]:
    return model.model_dump(mode="json")
