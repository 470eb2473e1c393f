"""A city's reminder rules, with the defaults filled in: who hears what, and when."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.cities.models import City
from app.core.settings import get_settings
from app.reminders.models import (
    DEFAULT_ANNIVERSARY_DAYS,
    DEFAULT_EVENT_DAYS,
    DEFAULT_WTCD_DAYS,
    ReminderRule,
)


@dataclass(frozen=True)
class Rules:
    city_id: int
    timezone: str
    hour: int
    coordinator_emails: tuple[str, ...]
    wtcd_days: tuple[int, ...]
    event_days: tuple[int, ...]
    anniversary_days: tuple[int, ...]


def _rules(city: City, row: ReminderRule | None) -> Rules:
    assert city.id is not None
    hour = row.hour if row is not None and row.hour is not None else get_settings().reminder_hour
    return Rules(
        city_id=city.id,
        timezone=city.timezone,
        hour=hour,
        coordinator_emails=tuple(row.coordinator_emails) if row else (),
        wtcd_days=tuple(row.wtcd_days_before if row else DEFAULT_WTCD_DAYS),
        event_days=tuple(row.event_days_before if row else DEFAULT_EVENT_DAYS),
        anniversary_days=tuple(row.anniversary_days_before if row else DEFAULT_ANNIVERSARY_DAYS),
    )


def rules_for(session: Session, city_ids: Iterable[int]) -> dict[int, Rules]:
    ids = list(dict.fromkeys(city_ids))
    if not ids:
        return {}
    cities = session.exec(select(City).where(col(City.id).in_(ids))).all()
    rows = {
        r.city_id: r
        for r in session.exec(select(ReminderRule).where(col(ReminderRule.city_id).in_(ids)))
    }
    return {c.id: _rules(c, rows.get(c.id)) for c in cities if c.id is not None}
