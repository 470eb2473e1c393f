"""A feed's state: when it last changed, and how a request learns that cheaply.

What a feed's bytes depend on is hashed into its **fingerprint**: the (id,
version) of every member, the version of the cities' names (feeds show them),
the feed's key, the base URL and the renderer's version. ``feed_state``,
shared by every worker, keeps per feed the fingerprint last served, with its
ETag, length and Last-Modified.

A request that finds nothing changed costs one query: the feed's **stamp**
(the feed versions of its cities, and of all cities' names:
``app.calendars.versions``, moved in the transaction of each change a feed
shows), the feed's state row, and whether its city or twinning exists. When
the stamp equals the one stored with the state, no cancelled member is due to
drop out, and the last full check is younger than RECHECK, the state answers:
304, HEAD, or the body from this worker's cache. Nothing is read or built.
A write to other cities' events moves other counters: it costs this feed
nothing. A write it shows moves its own, and the first request after the
commit sees it, on every worker.

Otherwise the members are read, in full, or, by a worker that read them
before, as its last reading merged with the events changed since (probed one
by one). Same fingerprint: the state is marked checked. Another one: the feed
is assembled from VEVENT bytes cached by (event id, version), so an edit
renders one event, and the new state is recorded with a Last-Modified that
moves forward, including when the change is an event leaving the feed.

Workers share nothing but the database and agree because the bytes are a pure
function of the data: no clock, no randomness in them.

This module holds the stamp, the fingerprint, the readings of the members, the
``feed_state`` rows and the request's validators; ``app.calendars.assembly``
holds this worker's caches, builds the bytes and, in ``serve``, runs the steps
above.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import cache
from itertools import chain
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, bindparam, func, literal, or_, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from app.calendars import render
from app.calendars.membership import CANCELLED_KEPT_FOR, FeedSpec, fetch_rows, member_state
from app.calendars.models import FeedState, FeedVersion
from app.calendars.versions import ALL_CITIES
from app.cities.models import City, Partnership
from app.core.errors import NotFound
from app.core.etags import entity_tags
from app.core.settings import get_settings
from app.events.models import Event

if TYPE_CHECKING:
    from app.calendars.assembly import _Assembled

# Fingerprint and state ----------------------------------------------------------------

# A feed is checked (its members read) when its stamp moved, when a cancelled member
# is due to drop out, and at least every RECHECK, so that even a change no counter
# saw (a row deleted by hand) shows within minutes.
RECHECK = timedelta(minutes=10)
# A worker that read all members of a feed then reads only the events changed since
# (by ix_event_updated_at), from this long before that reading: a transaction may
# stamp an event's updated_at and commit a little later, behind the reading.
MERGE_SLACK = timedelta(seconds=60)
# Past this many changed events it reads them all again.
MAX_INCREMENTAL = 1000


@dataclass(frozen=True)
class Stamp:
    """The feed versions of a feed's cities (summed: each only grows, so the sum moves
    when any of them does) and of all cities' names, and what the bytes show of the
    configuration, as one string."""

    text: str
    cities: str


@dataclass(frozen=True)
class Snapshot:
    """What a feed is made of right now, and the hash of it.

    ``base_read_at`` and ``base_events`` say when all members were last read
    (this worker's clock, and the newest event's ``updated_at`` then): the changes
    to merge in since are the events stamped after the earlier of the two, less
    MERGE_SLACK.
    """

    members: tuple[tuple[int, int], ...]
    fingerprint: str
    expires_at: datetime | None
    cities: str
    base_read_at: datetime
    base_events: datetime | None


_VERSION = FeedVersion.__table__  # type: ignore[attr-defined]


def _versions_of(subject: str | None) -> Any:
    """The sum of the feed versions of the subject's cities (a city; a twinning's
    two), for ``subject_id``."""
    if subject is None:
        return literal(0)
    which: Any = _VERSION.c.city_id == bindparam("subject_id")
    if subject == "partnership":
        pair = [select(column).where(col(Partnership.id) == bindparam("subject_id"))
                for column in (col(Partnership.city_a_id), col(Partnership.city_b_id))]
        which = or_(*(_VERSION.c.city_id.in_(p) for p in pair))
    return select(func.coalesce(func.sum(_VERSION.c.version), 0)).where(which)\
        .scalar_subquery()


def _names_version() -> Any:
    return select(func.coalesce(func.max(_VERSION.c.version), 0))\
        .where(_VERSION.c.city_id == ALL_CITIES).scalar_subquery()


def _stamp_of(shown: int, names: int) -> Stamp:
    return Stamp(f"{shown}:{names}:{_publisher_tag(*published_as())}", str(names))


@cache
def _publisher_tag(base_url: str, uid_domain: str) -> str:
    """What the bytes show of this release and its configuration, in a few characters:
    a new renderer, base URL or UID domain is a change to every feed."""
    published = f"{render.RENDER_VERSION}|{base_url}|{uid_domain}".encode()
    return hashlib.sha256(published).hexdigest()[:12]


@cache
def _stamp_and_state_query(subject: str | None) -> Select[Any]:
    """Built once per kind of subject; executed with ``key`` and ``subject_id``."""
    table = FeedState.__table__  # type: ignore[attr-defined]
    ids: dict[str, Any] = {"city": col(City.id), "partnership": col(Partnership.id)}
    found: Any = literal(True)
    if subject is not None:
        found = select(ids[subject]).where(ids[subject] == bindparam("subject_id")).exists()
    one = select(literal(1).label("one")).subquery()
    columns: list[Any] = [_versions_of(subject).label("shown"), _names_version().label("names"),
                          found.label("found"), *table.c]
    return select(*columns).select_from(
        one.outerjoin(table, table.c.key == bindparam("key")))


def read_stamp_and_state(session: Session, spec: FeedSpec) -> tuple[Stamp, Any]:
    """The stamp, and the feed's row of ``feed_state`` (None if it has none), in one
    query that also checks that the feed's subject exists (404 if not)."""
    kind, subject_id = spec.subject or (None, 0)
    params = {"key": spec.key} | ({"subject_id": subject_id} if kind else {})
    row = session.connection().execute(_stamp_and_state_query(kind), params).one()
    if not row.found:
        raise NotFound(spec.missing)
    state = None if row.key is None else row
    return _stamp_of(row.shown, row.names), state


def _newest_event(session: Session) -> datetime | None:
    value: datetime | None = fetch_rows(session, select(func.max(Event.updated_at)))[0][0]
    return value


def published_as() -> tuple[str, str]:
    """What every feed's bytes show of the configuration: base URL, UID domain."""
    settings = get_settings()
    return settings.public_base_url, settings.calendar_uid_domain


def feed_fingerprint(spec: FeedSpec, cities: str, members: Iterable[tuple[int, int]]) -> str:
    """The hash of everything a feed's bytes depend on: the renderer's version, the base
    URL and UID domain, the feed's key, the cities, the (id, version) of each member
    (an event's version moves with its programme too), and the feed's variant."""
    base_url, uid_domain = published_as()
    digest = hashlib.sha256(
        f"{render.RENDER_VERSION}|{base_url}|{uid_domain}|{spec.key}|{cities}|".encode()
    )
    digest.update(array("q", chain.from_iterable(members)).tobytes())
    if spec.make_variant is not None:
        digest.update(b"|" + spec.make_variant().encode())
    return digest.hexdigest()


def _expiry(cancelled: Iterable[datetime | None]) -> datetime | None:
    dates = [c for c in cancelled if c is not None]
    return min(dates) + CANCELLED_KEPT_FOR if dates else None


def full_snapshot(session: Session, spec: FeedSpec, stamp: Stamp, now: datetime) -> Snapshot:
    newest = _newest_event(session) if spec.make_member_rule is not None else None
    rows = fetch_rows(session, spec.make_members())
    members = tuple((event_id, version) for event_id, version, _ in rows)
    return Snapshot(members, feed_fingerprint(spec, stamp.cities, members),
                    _expiry(c for _, _, c in rows), stamp.cities, now, newest)


def merged_snapshot(
    session: Session, spec: FeedSpec, stamp: Stamp, now: datetime, base: Snapshot
) -> Snapshot | None:
    """``base`` with the events changed since merged in, read and judged by one query;
    None when that is not safe or not cheaper (cities changed, too old, a cancelled
    member due, many changes)."""
    rule = spec.make_member_rule
    if (rule is None or base.cities != stamp.cities or now - base.base_read_at >= RECHECK
            or (base.expires_at is not None and now >= base.expires_at)):
        return None
    since = min(base.base_read_at, base.base_events or base.base_read_at) - MERGE_SLACK
    columns = [*member_state(), rule().label("member")]
    changed = fetch_rows(session, select(*columns)
                    .where(col(Event.updated_at) > since).limit(MAX_INCREMENTAL + 1))
    if len(changed) > MAX_INCREMENTAL:
        return None
    members = dict(base.members)
    cancelled: list[datetime | None] = [base.expires_at - CANCELLED_KEPT_FOR] \
        if base.expires_at else []
    joined = False
    for event_id, version, cancelled_at, member in changed:
        if member:
            joined = joined or event_id not in members
            members[event_id] = version  # in place: the dict stays in id order
            cancelled.append(cancelled_at)
        else:
            members.pop(event_id, None)
    merged = tuple(sorted(members.items()) if joined else members.items())
    return Snapshot(merged, feed_fingerprint(spec, stamp.cities, merged), _expiry(cancelled),
                    stamp.cities, base.base_read_at, base.base_events)


def still_current(spec: FeedSpec, state: Any, stamp: Stamp, now: datetime) -> bool:
    """Whether the stored state may answer without reading the feed's members."""
    return (
        spec.stamped
        and state is not None
        and state.stamp == stamp.text
        and (state.expires_at is None or now < state.expires_at)
        and now - state.checked_at < RECHECK
    )


def _whole_seconds(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(microsecond=0)


def _load_state(session: Session, key: str) -> Any:
    table = FeedState.__table__  # type: ignore[attr-defined]
    found = fetch_rows(session, table.select().where(table.c.key == key))
    return found[0] if found else None


def _write(session: Session, statement: Any) -> Any:
    """One write from a GET, committed at once; the row it returns, if any.

    On SQLite the read transaction is ended first: a transaction that has
    read cannot always be promoted to a writer, a fresh one waits its turn.
    On PostgreSQL the commit does not wait for the disk (``synchronous_commit``
    off, for this transaction only): ``feed_state`` is derived, and a crash
    that loses its last writes costs a rebuild and a newer Last-Modified,
    never a wrong answer.
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # Read committed: the reading transaction may write as well.
        connection.execute(text("SET LOCAL synchronous_commit TO OFF"))
    else:
        session.commit()
        connection = session.connection()
    result = connection.execute(statement)
    row = result.first() if result.returns_rows else None
    session.commit()
    return row


def _vouched_stamp(spec: FeedSpec, stamp: Stamp) -> str:
    """The stamp to store: one that may later stand in for a check (not a person's
    agenda's, which has none)."""
    return stamp.text if spec.stamped else ""


def mark_checked(
    session: Session, spec: FeedSpec, state: Any, snap: Snapshot, stamp: Stamp, now: datetime
) -> None:
    """Same members as last time: remember the stamp that vouches for them."""
    vouched = _vouched_stamp(spec, stamp)
    if not vouched or (vouched == state.stamp and now - state.checked_at < RECHECK / 2):
        return
    table = FeedState.__table__  # type: ignore[attr-defined]
    _write(session, update(table)
           .where(table.c.key == spec.key, table.c.fingerprint == state.fingerprint)
           .values(stamp=vouched, expires_at=snap.expires_at, checked_at=now))


def _newest_shown(session: Session, spec: FeedSpec) -> datetime | None:
    """When what this feed shows last changed: its members and the cities (it names
    them). Not the newest change of all events, which moves with events the feed
    does not show: a public feed's Last-Modified would tell when a private event
    was last edited."""
    members = spec.make_members().with_only_columns(col(Event.id)).order_by(None)
    newest_member = select(func.max(Event.updated_at)).where(col(Event.id).in_(members))
    newest_city = select(func.max(City.updated_at))
    row = fetch_rows(session, select(newest_member.scalar_subquery(),
                                     newest_city.scalar_subquery()))[0]
    return max((v for v in row if v is not None), default=None)


def record_state(
    session: Session, spec: FeedSpec, snap: Snapshot, stamp: Stamp, built: _Assembled,
    previous: Any, now: datetime,
) -> Any:
    """Store the feed's new fingerprint, moving Last-Modified forward if the bytes changed.

    Several workers may notice one change at once: the update is conditional
    on the fingerprint they all read, so one wins (and gets its row back) and
    the others read the winner's row.
    """
    table = FeedState.__table__  # type: ignore[attr-defined]
    values = {"fingerprint": snap.fingerprint, "etag": built.etag, "length": len(built.body),
              "stamp": _vouched_stamp(spec, stamp), "expires_at": snap.expires_at,
              "checked_at": now}
    if previous is None:
        # A feed nobody asked for before: dated by the newest change it shows.
        first = _whole_seconds(_newest_shown(session, spec) or now)
        dialect = session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        row = _write(session, insert(table)
                     .values(key=spec.key, last_modified=first, **values)
                     .on_conflict_do_nothing(index_elements=["key"])
                     .returning(*table.c))
    else:
        if built.etag == previous.etag:
            last_modified = previous.last_modified  # same bytes: nothing to fetch again
        else:
            last_modified = max(_whole_seconds(now),
                                previous.last_modified + timedelta(seconds=1))
        row = _write(session, update(table)
                     .where(table.c.key == spec.key,
                            table.c.fingerprint == previous.fingerprint)
                     .values(last_modified=last_modified, **values)
                     .returning(*table.c))
    return row if row is not None else _load_state(session, spec.key)


# Validators ---------------------------------------------------------------------------


@dataclass
class Conditions:
    """The request's validators."""

    if_none_match: str | None = None
    if_modified_since: str | None = None

    def not_modified(self, etag: str, last_modified: datetime | None) -> bool:
        """RFC 9110 13.2.2: If-None-Match decides when present (weak comparison);
        If-Modified-Since is considered only without it."""
        if self.if_none_match is not None:
            tags = entity_tags(self.if_none_match)
            return "*" in tags or etag in tags
        if self.if_modified_since is None or last_modified is None:
            return False
        since = parse_http_date(self.if_modified_since)
        return since is not None and last_modified <= since


def parse_http_date(value: str) -> datetime | None:
    """An HTTP date as a UTC instant; None for anything else, which the caller ignores
    (RFC 9110: an invalid If-Modified-Since is ignored), years beyond 9999 included."""
    try:
        parsed = parsedate_to_datetime(value)
        if parsed is None:
            return None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
