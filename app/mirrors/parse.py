"""A partner's iCalendar file, read into the occurrences Twinplan mirrors.

Calendars come as Google, Outlook, Thunderbird and many smaller programs
write them: zones as VTIMEZONE components named by IANA (``Europe/Rome``) or
Windows (``W. Europe Standard Time``), UTC times, floating times, all-day
DATEs, recurrences with RRULE, RDATE, EXDATE and moved instances
(RECURRENCE-ID). ``recurring_ical_events`` expands all of that into the
occurrences of a window; each becomes one mirrored event whose identity is the
source's UID, plus, for a recurring event, the occurrence's original start, so
a moved or edited occurrence updates its row instead of making a new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import recurring_ical_events
from icalendar import Calendar, Component
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from app.events.models import MAX_EVENT_DURATION, EventStatus
from app.events.wallclock import lenient_instant, start_of_day

# How far ahead recurring events are expanded (and one-off events mirrored).
HORIZON = timedelta(days=365)
# More occurrences than this in a year is not a city's calendar of exchanges.
MAX_OCCURRENCES = 5000
# An event with no length (DTEND = DTSTART, or none) still needs one to be stored.
POINT_IN_TIME = timedelta(minutes=1)
UNTITLED = "(untitled)"


class ParseError(Exception):
    """Not a calendar we can read; the message says why, for the calendar's status."""


@dataclass(frozen=True)
class Occurrence:
    """One mirrored event as the source describes it, in Event's terms."""

    uid: str
    title: str
    description: str | None
    venue: str | None
    status: EventStatus
    timezone: str
    all_day: bool
    starts_at_local: datetime
    ends_at_local: datetime
    starts_at_utc: datetime
    ends_at_utc: datetime


def zone_name(value: date | datetime, tzid: str | None, fallback: str) -> str:
    """The IANA zone an occurrence is shown in: its TZID if it names one (directly,
    or as a Windows name), else the city's (UTC, floating and all-day times)."""
    for name in (tzid, WINDOWS_TO_OLSON.get(tzid or "")):
        if name:
            try:
                ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
            return name
    if isinstance(value, datetime) and isinstance(value.tzinfo, ZoneInfo):
        return value.tzinfo.key
    return fallback


def _text(component: Component, name: str, limit: int) -> str | None:
    value = component.get(name)
    if value is None:
        return None
    text = str(value).strip()
    return text[:limit] or None


def _occurrence_key(component: Component) -> str:
    """The occurrence's original start, as RFC 5545 writes it (UTC if it has a zone)."""
    recurrence = component.get("RECURRENCE-ID") or component.get("DTSTART")
    value = recurrence.dt
    if isinstance(value, datetime):
        if value.tzinfo is not None and value.utcoffset() is not None:
            return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        return value.strftime("%Y%m%dT%H%M%S")
    return value.strftime("%Y%m%d")


def _status(component: Component) -> EventStatus:
    match str(component.get("STATUS", "")).upper():
        case "CANCELLED":
            return EventStatus.cancelled
        case "TENTATIVE":
            return EventStatus.planned
        case _:
            return EventStatus.confirmed


def _occurrence(component: Component, uid: str, city_zone: str) -> Occurrence | None:
    start_prop = component.get("DTSTART")
    if start_prop is None:
        return None
    start: date | datetime = start_prop.dt
    end_prop = component.get("DTEND")
    end: Any = end_prop.dt if end_prop is not None else None
    if end is None and component.get("DURATION") is not None:
        end = start + component.get("DURATION").dt
    all_day = not isinstance(start, datetime)
    zone_key = zone_name(start, start_prop.params.get("TZID"), city_zone)
    zone = ZoneInfo(zone_key)
    if all_day:
        last = end if isinstance(end, date) and not isinstance(end, datetime) else None
        first_moment = start_of_day(start, zone)
        end_moment = start_of_day(last if last and last > start else start + timedelta(days=1),
                                  zone)
        starts_local, starts_utc = first_moment.local, first_moment.utc
        ends_local, ends_utc = end_moment.local, end_moment.utc
    else:
        assert isinstance(start, datetime)
        starts_utc = lenient_instant(start, zone)
        ends_utc = lenient_instant(end, zone) if isinstance(end, datetime) else starts_utc
        if ends_utc <= starts_utc:
            ends_utc = starts_utc + POINT_IN_TIME
        starts_local = starts_utc.astimezone(zone).replace(tzinfo=None)
        ends_local = ends_utc.astimezone(zone).replace(tzinfo=None)
    if ends_utc - starts_utc > MAX_EVENT_DURATION:
        return None
    return Occurrence(
        uid=uid,
        title=_text(component, "SUMMARY", 200) or UNTITLED,
        description=_text(component, "DESCRIPTION", 10_000),
        venue=_text(component, "LOCATION", 300),
        status=_status(component),
        timezone=zone_key,
        all_day=all_day,
        starts_at_local=starts_local,
        ends_at_local=ends_local,
        starts_at_utc=starts_utc,
        ends_at_utc=ends_utc,
    )


def occurrences(body: bytes, city_zone: str, now: datetime) -> list[Occurrence]:
    """The occurrences under way or starting within ``HORIZON`` of ``now``, one per
    identity (the first wins if a broken calendar repeats one)."""
    try:
        calendar = Calendar.from_ical(body)
    except Exception as exc:  # icalendar raises ValueError, KeyError, and others
        raise ParseError(f"not an iCalendar file: {str(exc)[:200] or type(exc).__name__}") \
            from exc
    if not isinstance(calendar, Calendar) or calendar.name != "VCALENDAR":
        raise ParseError("not an iCalendar file: no VCALENDAR")
    events = calendar.walk("VEVENT")
    # A UID with a rule, extra dates or moved instances is recurring: its
    # occurrences are told apart by their original start.
    recurring = {str(e.get("UID")) for e in events
                 if e.get("RRULE") or e.get("RDATE") or e.get("RECURRENCE-ID")}
    try:
        expanded = recurring_ical_events.of(calendar).between(now, now + HORIZON)
    except Exception as exc:
        raise ParseError(f"its events cannot be expanded: {str(exc)[:200]}") from exc
    found: dict[str, Occurrence] = {}
    for component in expanded:
        if len(found) >= MAX_OCCURRENCES:
            raise ParseError(f"more than {MAX_OCCURRENCES} events in the coming year")
        source_uid = str(component.get("UID") or "").strip()
        if not source_uid:
            continue
        uid = (f"{source_uid}#{_occurrence_key(component)}" if source_uid in recurring
               else source_uid)
        if uid in found or len(uid) > 600:
            continue
        try:
            occurrence = _occurrence(component, uid, city_zone)
        except (ValueError, TypeError, OverflowError, AttributeError):
            continue  # one unreadable event does not spoil the calendar
        if occurrence is not None:
            found[uid] = occurrence
    return list(found.values())
