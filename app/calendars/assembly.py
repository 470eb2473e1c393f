"""A feed's bytes: assembled from VEVENTs cached by (event id, version), kept by
this worker, and served.

``serve`` answers a request: from the state (``app.calendars.state``, whose
docstring explains the stamp and the fingerprint) when nothing changed,
else by reading the members (merged into this worker's last reading when it
can) and assembling the feed, rendering only the events no cache holds.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, String, type_coerce
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, col, select

from app.calendars import programme, render, timezones
from app.calendars.cache import ByteBudgetLRU, KeyedLocks
from app.calendars.membership import FeedSpec, fetch_rows
from app.calendars.programme import ItemScope
from app.calendars.render import CityLabel, EventRecord, RenderedEvent
from app.calendars.state import (
    Conditions,
    Snapshot,
    Stamp,
    feed_fingerprint,
    full_snapshot,
    mark_checked,
    merged_snapshot,
    published_as,
    read_stamp_and_state,
    record_state,
    still_current,
)
from app.cities.models import City
from app.core import clock
from app.events.models import Event, EventGuest

log = logging.getLogger("twinplan.calendars")

_IN_CHUNK = 900


def _size_of_items(items: tuple[RenderedEvent, ...]) -> int:
    return sum(len(item.data) for item in items) + 100


@dataclass
class _Generation:
    """VEVENT bytes by (event id, version), and city labels by id, for one state of
    what else they show: city names (the cities' stamp), the base URL and the UID
    domain. A new state replaces the whole generation; a build still running for
    the old one fills the old one, which no later request reads."""

    key: tuple[str, str, str]
    events: ByteBudgetLRU[tuple[int, int], RenderedEvent] = field(
        default_factory=lambda: ByteBudgetLRU(64 * 1024 * 1024, lambda r: len(r.data) + 200))
    labels: dict[int, CityLabel] = field(default_factory=dict)
    # Programme items' VEVENTs by (which items, event id, event version): an item's
    # change is a new version of its event.
    items: ByteBudgetLRU[tuple[ItemScope, int, int], tuple[RenderedEvent, ...]] = field(
        default_factory=lambda: ByteBudgetLRU(16 * 1024 * 1024, _size_of_items))


_generation: list[_Generation] = [_Generation(("", "", ""))]
_feed_bytes: ByteBudgetLRU[str, _Assembled] = ByteBudgetLRU(
    128 * 1024 * 1024, lambda a: len(a.body) + 200
)
_building = KeyedLocks()


def clear_caches() -> None:
    """Forget every cached byte, as a freshly started worker would (tests, benchmarks)."""
    _generation[0] = _Generation(("", "", ""))
    _feed_bytes.clear()
    timezones.clear_cache()


# Building -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Assembled:
    snapshot: Snapshot
    body: bytes
    etag: str

    @property
    def fingerprint(self) -> str:
        return self.snapshot.fingerprint


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), _IN_CHUNK):
        yield ids[start : start + _IN_CHUNK]


# What a VEVENT is made of, as stored. Times are read as the driver gives them and
# parsed here: a feed built from nothing reads 20,000 of them, and SQLite's strings
# parse three times faster with datetime.fromisoformat than through the column
# types (the values are the same: naive wall clock, aware UTC). The two stamps
# that are only ever written out come written, by the database.
_RENDERED_COLUMNS = (
    "id", "kind", "title", "description", "host_city_id", "venue", "status", "visibility",
    "timezone", "all_day", "sequence", "version", "cancel_reason",
)
_LOCAL_COLUMNS = ("starts_at_local", "ends_at_local")
_UTC_COLUMNS = ("starts_at_utc", "ends_at_utc")
_STAMP_COLUMNS = ("created_at", "updated_at")


class ical_utc_stamp(FunctionElement[str]):  # noqa: N801 (an SQL function's name)
    """A UTC timestamp column as an iCalendar DATE-TIME, ``20270520T073000Z``, written
    by the database: what ``contentlines.utc_stamp`` writes, in a third of the time."""

    type = String()
    inherit_cache = True
    name = "ical_utc_stamp"


@compiles(ical_utc_stamp, "sqlite")
def _ical_utc_stamp_sqlite(element: ical_utc_stamp, compiler: Any, **kw: Any) -> str:
    # Stored as naive UTC text ("2027-05-20 07:30:00.000000"); %S drops the fraction.
    return f"strftime('%Y%m%dT%H%M%SZ', {compiler.process(element.clauses, **kw)})"


@compiles(ical_utc_stamp, "postgresql")
def _ical_utc_stamp_postgresql(element: ical_utc_stamp, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISS"Z"')"""


def _as_local(value: Any) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _as_utc(value: Any) -> datetime:
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _event_records(session: Session, which: ColumnElement[bool]) -> list[EventRecord]:
    table = Event.__table__  # type: ignore[attr-defined]
    columns = [
        *(table.c[name] for name in _RENDERED_COLUMNS),
        *(type_coerce(table.c[name], String) for name in (*_LOCAL_COLUMNS, *_UTC_COLUMNS)),
        *(ical_utc_stamp(table.c[name]) for name in _STAMP_COLUMNS),
        table.c.external_uid,
    ]
    out = []
    for (event_id, kind, title, description, host, venue, status, visibility, timezone,
         all_day, sequence, version, cancel_reason, l1, l2, u1, u2, created, updated,
         external_uid) in fetch_rows(session, select(*columns).where(which)):
        out.append(EventRecord(
            event_id, kind, title, description, host, venue, status, visibility, timezone,
            bool(all_day), sequence, version, cancel_reason, _as_local(l1), _as_local(l2),
            _as_utc(u1), _as_utc(u2), created, updated, external_uid))
    return out


def _generation_of(cities: str, publisher: tuple[str, str]) -> _Generation:
    key = (cities, *publisher)
    with _building("events"):
        current = _generation[0]
        if current.key != key:
            current = _generation[0] = _Generation(key)
        return current


def _render_missing(
    session: Session, spec: FeedSpec, missing: list[int], every: bool, generation: _Generation
) -> dict[int, tuple[int, RenderedEvent]]:
    """Render the events no cache holds, reading their rows, guests and cities in bulk:
    by the feed's own query when ``every`` member is missing (a feed built from
    nothing), else by id. Cities already known to this generation are not read."""
    if every:
        members = spec.make_members().with_only_columns(col(Event.id)).order_by(None)
        selections = [(col(Event.id).in_(members), col(EventGuest.event_id).in_(members))]
    else:
        selections = [(col(Event.id).in_(chunk), col(EventGuest.event_id).in_(chunk))
                      for chunk in _chunks(missing)]
    rows: list[EventRecord] = []
    guests: dict[int, list[int]] = {i: [] for i in missing}
    for events, guest_rows in selections:
        rows += _event_records(session, events)
        for event_id, city_id in fetch_rows(
            session,
            select(EventGuest.event_id, EventGuest.city_id)
            .where(guest_rows)
            .order_by(col(EventGuest.event_id), col(EventGuest.city_id)),
        ):
            if event_id in guests:
                guests[event_id].append(city_id)
    labels = generation.labels
    unknown = sorted(({r.host_city_id for r in rows}
                      | {c for g in guests.values() for c in g}) - labels.keys())
    for chunk in _chunks(unknown):
        for city_id, name, country in fetch_rows(
            session, select(City.id, City.name, City.country_code).where(col(City.id).in_(chunk))
        ):
            labels[city_id] = CityLabel(name, country)
    _, base_url, uid_domain = generation.key
    out = {}
    for row in rows:
        if row.id not in guests:
            continue  # joined the feed after its members were read: next time
        rendered = render.render_event(
            row, labels[row.host_city_id], [labels[c] for c in guests[row.id]],
            base_url=base_url, uid_domain=uid_domain,
        )
        out[row.id] = (row.version, rendered)
        generation.events.put((row.id, row.version), rendered)
    return out


def assemble(session: Session, spec: FeedSpec, snap: Snapshot) -> _Assembled:
    """The feed's bytes: cached VEVENTs where the (id, version) is known, fresh ones else."""
    generation = _generation_of(snap.cities, published_as())
    events = generation.events.get_many(snap.members)
    missing_at = [i for i, hit in enumerate(events) if hit is None]
    if missing_at:
        every = len(missing_at) == len(events) and len(events) > _IN_CHUNK
        fresh = _render_missing(
            session, spec, [snap.members[i][0] for i in missing_at], every, generation)
        # On PostgreSQL each statement sees the latest commits: a missing event may
        # have changed, or left the feed, since the members were read. The bytes must
        # match the fingerprint they are stored under, so the members are what was
        # rendered.
        members = list(snap.members)
        gone = []
        for i in missing_at:
            event_id, version = members[i]
            found = fresh.get(event_id)
            if found is None:
                gone.append(i)
            else:
                events[i] = found[1]
                if found[0] != version:
                    members[i] = (event_id, found[0])
        for i in reversed(gone):
            del members[i], events[i]
        if gone or members != list(snap.members):
            snap = replace(snap, members=tuple(members),
                           fingerprint=feed_fingerprint(spec, snap.cities, members))
    parts = _with_programme(session, spec, snap.members, cast(list[RenderedEvent], events),
                            generation)
    feed = render.assemble(spec.make_header(), parts)
    return _Assembled(snap, feed.body, feed.etag)


def _with_programme(
    session: Session, spec: FeedSpec, members: Sequence[tuple[int, int]],
    events: list[RenderedEvent], generation: _Generation,
) -> list[RenderedEvent]:
    """The feed's events, each followed by the programme items the feed shows of it.

    Cached by event version, as VEVENTs are, except a person's agenda: which items
    concern the person depends on their roles too (the feed's variant), and an
    agenda is small."""
    _, base_url, uid_domain = generation.key
    scope = spec.items
    keys = [(scope, event_id, version) for event_id, version in members]
    cacheable = scope.participant_id is None
    cached = generation.items.get_many(keys) if cacheable else [None] * len(keys)
    missing = [key[1] for key, hit in zip(keys, cached, strict=True) if hit is None]
    fresh: dict[int, list[RenderedEvent]] = {}
    for chunk in _chunks(missing):
        for record in programme.item_records(session, scope, chunk):
            fresh.setdefault(record.event_id, []).append(
                render.render_item(record, base_url=base_url, uid_domain=uid_domain))
    out: list[RenderedEvent] = []
    for key, event, hit in zip(keys, events, cached, strict=True):
        out.append(event)
        if hit is None:
            hit = tuple(fresh.get(key[1], ()))
            if cacheable:
                generation.items.put(key, hit)
        out += hit
    return out


def _cached(spec: FeedSpec, fingerprint: str) -> _Assembled | None:
    hit = _feed_bytes.get(spec.key)
    return hit if hit is not None and hit.fingerprint == fingerprint else None


def _cached_or_assembled(session: Session, spec: FeedSpec, snap: Snapshot) -> _Assembled:
    hit = _cached(spec, snap.fingerprint)
    if hit is None:
        with _building(spec.key):  # one thread builds, the others wait for its bytes
            hit = _cached(spec, snap.fingerprint)
            if hit is None:
                built = assemble(session, spec, snap)
                _feed_bytes.put(spec.key, built)
                return built
    # Keep the newest reading of the members, even for bytes that did not change.
    hit = _Assembled(snap, hit.body, hit.etag)
    _feed_bytes.put(spec.key, hit)
    return hit


# Serving ------------------------------------------------------------------------------


def snapshot(session: Session, spec: FeedSpec, stamp: Stamp, now: datetime) -> Snapshot:
    """The feed's members now: merged into the last full reading this worker has of
    them when it can, read in full otherwise."""
    cached = _feed_bytes.get(spec.key)
    if cached is not None and spec.stamped:
        merged = merged_snapshot(session, spec, stamp, now, cached.snapshot)
        if merged is not None:
            return merged
    return full_snapshot(session, spec, stamp, now)


@dataclass
class FeedResult:
    etag: str
    last_modified: datetime | None
    length: int
    not_modified: bool = False
    body: bytes | None = field(default=None, repr=False)


def serve(
    session: Session, spec: FeedSpec, conditions: Conditions, *, want_body: bool = True
) -> FeedResult:
    """The feed's response: 304, headers only (HEAD), or the bytes.

    The common case, nothing changed, reads the stamp and the feed's state and
    answers from them (and from this worker's cache of bytes); see
    ``app.calendars.state``'s docstring.
    """
    now = clock.now()
    stamp, state = read_stamp_and_state(session, spec)
    snap: Snapshot | None = None
    if not still_current(spec, state, stamp, now):
        snap = snapshot(session, spec, stamp, now)
        if state is not None and state.fingerprint == snap.fingerprint:
            mark_checked(session, spec, state, snap, stamp, now)
        else:
            built = _cached_or_assembled(session, spec, snap)
            state = record_state(session, spec, built.snapshot, stamp, built, state, now)
            # Another worker may have stored other bytes meanwhile; a date that belongs
            # to them would make If-Modified-Since lie, so send none then.
            last_modified = state.last_modified if state and state.etag == built.etag else None
            if conditions.not_modified(built.etag, last_modified):
                return FeedResult(built.etag, last_modified, len(built.body), not_modified=True)
            return FeedResult(built.etag, last_modified, len(built.body), body=built.body)

    if conditions.not_modified(state.etag, state.last_modified):
        return FeedResult(state.etag, state.last_modified, state.length, not_modified=True)
    if not want_body:
        return FeedResult(state.etag, state.last_modified, state.length)
    found = _cached(spec, state.fingerprint)
    if found is None:
        found = _cached_or_assembled(session, spec, snap or snapshot(session, spec, stamp, now))
        if found.fingerprint != state.fingerprint or found.etag != state.etag:
            # Changed since the state was read, or written by another release: the
            # bytes sent win, and their own validators go with them.
            log.info("feed %s: state %s, built %s", spec.key, state.etag, found.etag)
            return FeedResult(found.etag, None, len(found.body), body=found.body)
    return FeedResult(state.etag, state.last_modified, state.length, body=found.body)
