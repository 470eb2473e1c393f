"""Feeds as bytes: one VEVENT per event and per programme item, and the VCALENDAR
around them.

Everything here is a pure function of stored data (and the configured base
URL): no clock, no randomness, no dict-order accidents. That is what lets
each worker cache an event's bytes by (id, version) and lets every worker
return byte-identical feeds, and so identical ETags, for the same data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from hashlib import sha256
from operator import itemgetter
from typing import TYPE_CHECKING, NamedTuple
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

if TYPE_CHECKING:
    from app.events.models import Event

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


@dataclass(slots=True)
class EventRecord:
    """What ``render_event`` reads: an event's columns, with its creation and last
    change already written as iCalendar UTC DATE-TIMEs (``20270520T073000Z``).

    A feed built from nothing reads thousands at once, and has the database
    write those two stamps (``service.ical_utc_stamp``); ``of`` makes one from
    any object with the event's attributes.
    """

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
    sequence: int
    version: int
    cancel_reason: str | None
    starts_at_local: datetime
    ends_at_local: datetime
    starts_at_utc: datetime
    ends_at_utc: datetime
    created: str
    updated: str
    # A mirrored event's source UID (``app.mirrors``), "#" and the occurrence if recurring.
    external_uid: str | None = None

    @classmethod
    def of(cls, event: Event) -> EventRecord:
        assert event.id is not None
        return cls(
            event.id, event.kind, event.title, event.description, event.host_city_id,
            event.venue, event.status, event.visibility, event.timezone, event.all_day,
            event.sequence, event.version, event.cancel_reason, event.starts_at_local,
            event.ends_at_local, event.starts_at_utc, event.ends_at_utc,
            utc_stamp(event.created_at), utc_stamp(event.updated_at), event.external_uid,
        )


@dataclass(frozen=True)
class CityLabel:
    name: str
    country_code: str

    def __str__(self) -> str:
        return f"{self.name} ({self.country_code})"


class RenderedEvent(NamedTuple):
    """An event's VEVENT bytes, their SHA-256, and the zone (and years) its times need
    a VTIMEZONE for. (A tuple: thousands are made at a time, and it is made fastest.)"""

    data: bytes
    digest: bytes
    tzid: str | None
    first_year: int
    last_year: int


@lru_cache(maxsize=64)
def kind_label(kind: str) -> str:
    return kind.replace("_", " ").capitalize()


@lru_cache(maxsize=64)
def _category(kind: str) -> str:
    return escape_text(kind_label(kind))


# ZoneInfo keeps only 8 zones strongly cached: a feed with more reloads them from disk.
_zone = lru_cache(maxsize=1024)(ZoneInfo)


def _zoned(local: datetime, utc: datetime, tzid: str) -> str:
    """``;TZID=zone:wall-clock`` or, where the wall clock cannot say it, ``:...Z``.

    A wall-clock time that occurs twice (clocks going back) means its first
    occurrence to every client (RFC 5545 3.3.5); an event at the second one is
    written in UTC so that it is not shown an hour early.
    """
    if _zone(tzid).utcoffset(local) == local - utc.replace(tzinfo=None):
        return f";TZID={tzid}:{local_stamp(local)}"
    return f":{utc_stamp(utc)}"


def _exclusive_end_day(event: EventRecord) -> date:
    end = event.ends_at_local
    return end.date() if end.time() == time() else end.date() + timedelta(days=1)


def _description(event: EventRecord, host: CityLabel, guests: Sequence[CityLabel]) -> str:
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


# The occurrence part of a mirrored recurring event's identity (app.mirrors.parse).
_OCCURRENCE = re.compile(r"#([0-9]{8})(T[0-9]{6}Z?)?$")


def event_uid(event_id: int, uid_domain: str) -> str:
    """The UID of one of Twinplan's own events, the same in every feed and email."""
    return f"twinplan-event-{event_id}@{uid_domain}"


def _identity(event: EventRecord, uid_domain: str) -> bytes:
    """The UID, and RECURRENCE-ID for an occurrence of a mirrored recurring event.

    A mirrored event keeps its source's UID (and an occurrence its source's
    RECURRENCE-ID), so a subscriber who also subscribes to the partner's own
    calendar sees one event, not two.
    """
    if event.external_uid is None:
        return fold(f"UID:{event_uid(event.id, uid_domain)}")
    found = _OCCURRENCE.search(event.external_uid)
    if found is None:
        return fold(f"UID:{event.external_uid}")
    day, time_part = found.groups()
    recurrence = (f"RECURRENCE-ID:{day}{time_part}" if time_part
                  else f"RECURRENCE-ID;VALUE=DATE:{day}")
    return fold(f"UID:{event.external_uid[:found.start()]}") + fold(recurrence)


def render_event(
    event: EventRecord,
    host: CityLabel,
    guests: Sequence[CityLabel],
    *,
    base_url: str,
    uid_domain: str,
) -> RenderedEvent:
    """One VEVENT. No personal data: only the event, its cities and its venue.

    Lines that hold text, or a URL, are folded one by one; the rest are short by
    construction and written as one string. A feed built from nothing renders
    thousands of these, and every list, split and join per line shows.
    """
    stamp = event.updated
    tzid: str | None
    if event.all_day:
        tzid = None
        when = (f"DTSTART;VALUE=DATE:{date_stamp(event.starts_at_local.date())}\r\n"
                f"DTEND;VALUE=DATE:{date_stamp(_exclusive_end_day(event))}\r\n")
    else:
        tzid = event.timezone
        when = (f"DTSTART{_zoned(event.starts_at_local, event.starts_at_utc, tzid)}\r\n"
                f"DTEND{_zoned(event.ends_at_local, event.ends_at_utc, tzid)}\r\n")
    place = f"{event.venue}, {host.name}" if event.venue else host.name
    data = b"".join((
        b"BEGIN:VEVENT\r\n",
        _identity(event, uid_domain),
        (f"DTSTAMP:{stamp}\r\n"
         f"CREATED:{event.created}\r\n"
         f"LAST-MODIFIED:{stamp}\r\n"
         f"SEQUENCE:{event.sequence}\r\n"
         f"STATUS:{STATUS.get(event.status, 'CONFIRMED')}\r\n").encode(),
        fold(f"SUMMARY:{escape_text(event.title)}"),
        when.encode(),
        fold(f"LOCATION:{escape_text(place)}"),
        fold(f"DESCRIPTION:{escape_text(_description(event, host, guests))}"),
        fold(f"CATEGORIES:{_category(event.kind)}"),
        b"CLASS:PUBLIC\r\n" if event.visibility == "public" else b"CLASS:PRIVATE\r\n",
        fold(f"URL;VALUE=URI:{base_url}/api/v1/events/{event.id}"),
        b"END:VEVENT\r\n",
    ))
    return RenderedEvent(data, sha256(data).digest(), tzid,
                         event.starts_at_local.year, event.ends_at_local.year)


@dataclass(frozen=True, slots=True)
class ItemRecord:
    """What ``render_item`` reads: a programme item (``app.programme``) and what it
    shows of its exchange."""

    id: int
    event_id: int
    title: str
    notes: str | None
    place: str | None
    timezone: str
    starts_at_local: datetime
    ends_at_local: datetime
    starts_at_utc: datetime
    ends_at_utc: datetime
    public: bool
    sequence: int
    created_at: datetime
    updated_at: datetime
    event_title: str
    event_status: str
    event_public: bool


def render_item(item: ItemRecord, *, base_url: str, uid_domain: str) -> RenderedEvent:
    """One programme item as its own VEVENT, in its event's zone (all-day events'
    items too: they are timed), related to the exchange's UID (RFC 5545 RELATED-TO,
    a PARENT by default). No named people: the feed may travel."""
    stamp = utc_stamp(item.updated_at)
    tzid = item.timezone
    description = f"Programme of {item.event_title}."
    if item.notes:
        description += "\n\n" + item.notes.strip()
    data = b"".join((
        b"BEGIN:VEVENT\r\n",
        fold(f"UID:twinplan-programme-{item.id}@{uid_domain}"),
        (f"DTSTAMP:{stamp}\r\n"
         f"CREATED:{utc_stamp(item.created_at)}\r\n"
         f"LAST-MODIFIED:{stamp}\r\n"
         f"SEQUENCE:{item.sequence}\r\n"
         f"STATUS:{STATUS.get(item.event_status, 'CONFIRMED')}\r\n").encode(),
        fold(f"SUMMARY:{escape_text(item.title)}"),
        (f"DTSTART{_zoned(item.starts_at_local, item.starts_at_utc, tzid)}\r\n"
         f"DTEND{_zoned(item.ends_at_local, item.ends_at_utc, tzid)}\r\n").encode(),
        fold(f"LOCATION:{escape_text(item.place)}") if item.place else b"",
        fold(f"DESCRIPTION:{escape_text(description)}"),
        fold(f"RELATED-TO;RELTYPE=PARENT:twinplan-event-{item.event_id}@{uid_domain}"),
        b"CATEGORIES:Programme\r\n",
        b"CLASS:PUBLIC\r\n" if item.public and item.event_public else b"CLASS:PRIVATE\r\n",
        fold(f"URL;VALUE=URI:{base_url}/api/v1/programme-items/{item.id}"),
        b"END:VEVENT\r\n",
    ))
    return RenderedEvent(data, sha256(data).digest(), tzid,
                         item.starts_at_local.year, item.ends_at_local.year)


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
    spans: dict[str, list[int]] = {}
    for e in events:
        tzid = e.tzid
        if tzid is None:
            continue
        span = spans.get(tzid)
        if span is None:
            spans[tzid] = [e.first_year, e.last_year]
            continue
        if e.first_year < span[0]:
            span[0] = e.first_year
        if e.last_year > span[1]:
            span[1] = e.last_year
    return b"".join(vtimezone(tzid, lo, hi) for tzid, (lo, hi) in sorted(spans.items()))


@dataclass(frozen=True)
class Feed:
    body: bytes
    etag: str


def assemble(header: FeedHeader, events: Sequence[RenderedEvent]) -> Feed:
    """The feed: header, VTIMEZONEs, the events' cached bytes, by concatenation.

    Its ETag is strong: the SHA-256 of the SHA-256s of the body's parts (the
    lines before the first VEVENT, each VEVENT, the end), so that one edited
    event costs one event's hashing, not the whole body's. ``etag_of`` computes
    it from the bytes alone.
    """
    prefix = calendar_head(header) + timezones_for(events)
    body = b"".join([prefix, *map(_DATA, events), CALENDAR_END])
    return Feed(body, _etag([sha256(prefix).digest(), *map(_DIGEST, events),
                             sha256(CALENDAR_END).digest()]))


_DATA, _DIGEST = itemgetter(0), itemgetter(1)


def _etag(digests: Iterable[bytes]) -> str:
    return '"' + sha256(b"".join(digests)).hexdigest() + '"'


_VEVENT = b"\r\nBEGIN:VEVENT\r\n"


def etag_of(body: bytes) -> str:
    """The ETag of any feed body: split before each VEVENT and before END:VCALENDAR.

    (A line that begins a VEVENT cannot come from user text: text is escaped,
    and a folded line begins with a space.)
    """
    end = len(body) - len(CALENDAR_END)
    head, *events = body[:end].split(_VEVENT)
    parts = [head + b"\r\n"] if events else [head]
    for i, event in enumerate(events):
        parts.append(b"BEGIN:VEVENT\r\n" + event + (b"\r\n" if i < len(events) - 1 else b""))
    parts.append(body[end:])
    return _etag(sha256(p).digest() for p in parts)
