"""World Twin Cities Day: the last Sunday of April, every year since 1962.

The World Federation of Twin Cities, founded on 1957-04-28 in Aix-les-Bains,
decided in 1962 that the day is kept on the last Sunday of April. Before that
year there was no such day, and asking for one is an error, not a guess.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

FIRST_YEAR = 1962
LAST_YEAR = 9999  # datetime.date's limit
SUNDAY = calendar.SUNDAY  # 6

ORIGIN = (
    "World Twin Cities Day is kept on the last Sunday of April. The World Federation "
    "of Twin Cities, founded on 28 April 1957 in Aix-les-Bains, set the day in 1962 "
    "to celebrate the friendships between twinned towns and cities."
)


class BeforeTwinCitiesDay(ValueError):
    """The year is before 1962, when the day was instituted."""


def last_sunday_of_april(year: int) -> date:
    """World Twin Cities Day of ``year`` (1962 or later)."""
    if year < FIRST_YEAR:
        raise BeforeTwinCitiesDay(
            f"World Twin Cities Day did not exist in {year}: the World Federation of "
            f"Twin Cities instituted it in {FIRST_YEAR}"
        )
    if year > LAST_YEAR:
        raise ValueError(f"years after {LAST_YEAR} are not supported")
    april_30 = date(year, 4, 30)
    # weekday(): Monday 0 ... Sunday 6; step back to the nearest Sunday.
    return april_30 - timedelta(days=(april_30.weekday() - SUNDAY) % 7)


@dataclass(frozen=True)
class NextDay:
    day: date
    today: date
    timezone: str

    @property
    def days_remaining(self) -> int:
        return (self.day - self.today).days


def next_twin_cities_day(now: datetime, timezone: str) -> NextDay:
    """The next World Twin Cities Day on or after today, as it is today in ``timezone``.

    Near midnight "today" differs between Ashgabat and Albuquerque, and so can
    the answer on the day itself.
    """
    today = now.astimezone(ZoneInfo(timezone)).date()
    day = last_sunday_of_april(max(today.year, FIRST_YEAR))
    if day < today:
        day = last_sunday_of_april(today.year + 1)
    return NextDay(day=day, today=today, timezone=timezone)
