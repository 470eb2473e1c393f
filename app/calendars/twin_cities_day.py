"""The World Twin Cities Day feed: one all-day event that recurs on the last Sunday of April.

Its content depends on no row of the database, only on this module, the
public base URL and the UID domain, so it is built once per process and every worker serves the
same bytes. DTSTAMP and Last-Modified are the date its text last changed:
bump ``REVISED`` when you edit it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

from app.calendars.contentlines import date_stamp, duration, escape_text, lines, utc_stamp
from app.calendars.render import CALENDAR_END, FeedHeader, calendar_head
from app.core.urls import TWIN_CITIES_DAY_PATH
from app.twin_cities_day import FIRST_YEAR, last_sunday_of_april

REVISED = datetime(2026, 11, 28, tzinfo=UTC)
RRULE = "FREQ=YEARLY;BYMONTH=4;BYDAY=-1SU"
ALARMS_BEFORE = (timedelta(days=30), timedelta(days=7))

NAME = "World Twin Cities Day"
ORIGIN = (
    "World Twin Cities Day is celebrated on the last Sunday of April. The World "
    "Federation of Twin Cities, founded in Aix-les-Bains on 28 April 1957, decided in "
    "1962 that twinned towns everywhere should mark this day every year: with "
    "exchanges, open days, letters and visits between partner cities. Plan an event "
    "with each of your twins for it."
)


@lru_cache(maxsize=4)
def twin_cities_day_feed(base_url: str, uid_domain: str) -> bytes:
    """The whole feed, for this base URL and UID domain."""
    first = last_sunday_of_april(FIRST_YEAR)
    header = FeedHeader(
        name=NAME,
        description="The last Sunday of April every year since 1962.",
        # All-day dates are floating: naming a zone would pin the day (and its
        # alarms) to that zone in some clients instead of the subscriber's own.
        timezone=None,
        source_url=base_url + TWIN_CITIES_DAY_PATH,
    )
    event = [
        "BEGIN:VEVENT",
        f"UID:world-twin-cities-day@{uid_domain}",
        f"DTSTAMP:{utc_stamp(REVISED)}",
        f"LAST-MODIFIED:{utc_stamp(REVISED)}",
        "SEQUENCE:0",
        "STATUS:CONFIRMED",
        f"SUMMARY:{escape_text(NAME)}",
        f"DTSTART;VALUE=DATE:{date_stamp(first)}",
        f"DTEND;VALUE=DATE:{date_stamp(first + timedelta(days=1))}",
        f"RRULE:{RRULE}",
        f"DESCRIPTION:{escape_text(ORIGIN)}",
        "CATEGORIES:Twin cities",
        "CLASS:PUBLIC",
        "TRANSP:TRANSPARENT",
        f"URL;VALUE=URI:{base_url}/api/v1/twin-cities-day/next",
    ]
    for before in ALARMS_BEFORE:
        event += [
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            f"DESCRIPTION:{escape_text(f'{NAME} in {before.days} days')}",
            f"TRIGGER:{duration(-before)}",
            "END:VALARM",
        ]
    event.append("END:VEVENT")
    return calendar_head(header) + lines(event) + CALENDAR_END
