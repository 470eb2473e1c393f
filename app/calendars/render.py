"""Feeds as bytes: one VEVENT per event, and the VCALENDAR around them.

Everything here is a pure function of stored data (and the configured base
URL): no clock, no randomness, no dict-order accidents. That is what lets
each worker cache an event's bytes by (id, version) and lets every worker
return byte-identical feeds, and so identical ETags, for the same data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from app.calendars.contentlines import (
    date_stamp,
    duration,
    escape_text,
    fold,
    lines,
    local_stamp,
    utc_stamp,
)
from app.calendars.timezones import vtimezone

PRODID = "-//Twinplan//Twin city exchanges 1.0//EN"
REFRESH = timedelta(hours=1)
# Changing how feeds are written changes every feed: this goes into each feed's
# fingerprint, so a new release moves Last-Modified instead of serving new
# bytes under an old date.
RENDER_VERSION = "1"

STATUS = {
    "planned": "TENTATIVE",
    "confirmed": "CONFIRMED",
    "completed": "CONFIRMED",
    "cancelled": "CANCELLED",
}


class EventRow(Protocol):
    """The columns of ``event`` a VEVENT is made of (an ORM object or a Core row)."""

    id: int
    kind: str
    title: str
    description: str | None
    host_city_id: int
    venue: str | None
    status: str
    visibility: str
    timezone: str
    all_day: bool
    starts_at_local: datetime
    ends_at_local: datetime
    starts_at_utc: datetime
    ends_at_utc: datetime
    sequence: int
    created_at: datetime
    updated_at: datetime
    cancel_reason: str | None


@dataclass(frozen=True)
class CityLabel:
    name: str
    country_code: str

    def __str__(self) -> str:
        return f"{self.name} ({self.country_code})"


@dataclass(frozen=True)
class RenderedEvent:
    """An event's VEVENT bytes, and the zone (and years) its times need a VTIMEZONE for."""

    data: bytes
    tzid: str | None
    first_year: int
    last_year: int


def kind_label(kind: str) -> str:
    return kind.replace("_", " ").capitalize()


def uid_domain(base_url: str) -> str:
    return urlsplit(base_url).hostname or "twinplan"


def _zoned(local: datetime, utc: datetime, tzid: str) -> str:
    """``;TZID=zone:wall-clock`` or, where the wall clock cannot say it, ``:...Z``.

    A wall-clock time that occurs twice (clocks going back) means its first
    occurrence to every client (RFC 5545 3.3.5); an event at the second one is
    written in UTC so that it is not shown an hour early.
    """
    zone = ZoneInfo(tzid)
    first = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first == utc:
        return f";TZID={tzid}:{local_stamp(local)}"
    return f":{utc_stamp(utc)}"


def _exclusive_end_day(event: EventRow) -> date:
    end = event.ends_at_local
    return end.date() if end.time() == time() else end.date() + timedelta(days=1)


def _description(event: EventRow, host: CityLabel, guests: Sequence[CityLabel]) -> str:
    parts = []
    if event.status == "cancelled":
        reason = (event.cancel_reason or "").strip()
        parts.append(f"CANCELLED: {reason}" if reason else "CANCELLED")
    who = f"{kind_label(event.kind)} hosted by {host}"
    if guests:
        who += ", with " + ", ".join(str(g) for g in guests)
    parts.append(who + ".")
    if event.description:
        parts.append(event.description.strip())
    return "\n\n".join(parts)


def render_event(
    event: EventRow,
    host: CityLabel,
    guests: Sequence[CityLabel],
    *,
    base_url: str,
) -> RenderedEvent:
    """One VEVENT. No personal data: only the event, its cities and its venue."""
    stamp = utc_stamp(event.updated_at)
    content = [
        "BEGIN:VEVENT",
        f"UID:twinplan-event-{event.id}@{uid_domain(base_url)}",
        f"DTSTAMP:{stamp}",
        f"CREATED:{utc_stamp(event.created_at)}",
        f"LAST-MODIFIED:{stamp}",
        f"SEQUENCE:{event.sequence}",
        f"STATUS:{STATUS.get(event.status, 'CONFIRMED')}",
        f"SUMMARY:{escape_text(event.title)}",
    ]
    tzid: str | None
    if event.all_day:
        tzid = None
        content += [
            f"DTSTART;VALUE=DATE:{date_stamp(event.starts_at_local.date())}",
            f"DTEND;VALUE=DATE:{date_stamp(_exclusive_end_day(event))}",
        ]
    else:
        tzid = event.timezone
        content += [
            "DTSTART" + _zoned(event.starts_at_local, event.starts_at_utc, tzid),
            "DTEND" + _zoned(event.ends_at_local, event.ends_at_utc, tzid),
        ]
    place = ", ".join(p for p in (event.venue, host.name) if p)
    content += [
        f"LOCATION:{escape_text(place)}",
        f"DESCRIPTION:{escape_text(_description(event, host, guests))}",
        f"CATEGORIES:{escape_text(kind_label(event.kind))}",
        f"CLASS:{'PUBLIC' if event.visibility == 'public' else 'PRIVATE'}",
        f"URL;VALUE=URI:{base_url}/api/v1/events/{event.id}",
        "END:VEVENT",
    ]
    return RenderedEvent(
        data=lines(content),
        tzid=tzid,
        first_year=event.starts_at_local.year,
        last_year=event.ends_at_local.year,
    )


@dataclass(frozen=True)
class FeedHeader:
    name: str
    description: str
    timezone: str | None
    source_url: str | None = None


def calendar_head(header: FeedHeader) -> bytes:
    """VCALENDAR properties (RFC 5545, RFC 7986 and the X-WR- ones clients read).

    Written here, not by icalendar: icalendar 7 writes REFRESH-INTERVAL
    without the VALUE=DURATION that RFC 7986 requires and a timedelta
    X-PUBLISHED-TTL as ``1:00:00``, which no client understands.
    """
    content = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"NAME:{escape_text(header.name)}",
        f"X-WR-CALNAME:{escape_text(header.name)}",
        f"DESCRIPTION:{escape_text(header.description)}",
        f"X-WR-CALDESC:{escape_text(header.description)}",
    ]
    if header.timezone:
        content.append(f"X-WR-TIMEZONE:{header.timezone}")
    content += [
        f"REFRESH-INTERVAL;VALUE=DURATION:{duration(REFRESH)}",
        f"X-PUBLISHED-TTL:{duration(REFRESH)}",
    ]
    if header.source_url:
        content.append(f"SOURCE;VALUE=URI:{header.source_url}")
    return lines(content)


CALENDAR_END = fold("END:VCALENDAR")


def timezones_for(events: Iterable[RenderedEvent]) -> bytes:
    """One VTIMEZONE per zone used, covering the years its events span, by TZID."""
    spans: dict[str, tuple[int, int]] = {}
    for e in events:
        if e.tzid is None:
            continue
        lo, hi = spans.get(e.tzid, (e.first_year, e.last_year))
        spans[e.tzid] = (min(lo, e.first_year), max(hi, e.last_year))
    return b"".join(vtimezone(tzid, lo, hi) for tzid, (lo, hi) in sorted(spans.items()))


def assemble(header: FeedHeader, events: Sequence[RenderedEvent]) -> bytes:
    """The feed: header, VTIMEZONEs, the events' cached bytes, by concatenation."""
    return b"".join(
        [calendar_head(header), timezones_for(events), *(e.data for e in events), CALENDAR_END]
    )
