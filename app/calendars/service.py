"""Feeds: which events each one holds, when it last changed, and its bytes, built rarely.

What a feed's bytes depend on is hashed into its **fingerprint**: the (id,
version) of every member, the cities' stamp (feeds show city names), the
feed's key, the base URL and the renderer's version. ``feed_state``, shared by
every worker, keeps per feed the fingerprint last served, with its ETag,
length and Last-Modified.

A request that finds nothing changed costs one query: the newest
``updated_at`` of all events and of all cities (two index lookups), the
feed's state row, and whether its city or twinning exists. When that stamp
equals the one stored with the state, is older than SETTLE, no cancelled
member is due to drop out, and the last full check is younger than RECHECK,
the state answers: 304, HEAD, or the body from this worker's cache. Nothing
is read or built.

Otherwise the members are read, in full, or, by a worker that read them
before, as its last reading merged with the events changed since (probed one
by one). Same fingerprint: the state is marked checked. Another one: the feed
is assembled from VEVENT bytes cached by (event id, version), so an edit
renders one event, and the new state is recorded with a Last-Modified that
moves forward, including when the change is an event leaving the feed.

Workers share nothing but the database and agree because the bytes are a pure
function of the data: no clock, no randomness in them.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import chain
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    bindparam,
    case,
    func,
    literal,
    or_,
    text,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, col, select

from app.calendars import render, timezones
from app.calendars.cache import ByteBudgetLRU, KeyedLocks
from app.calendars.models import (
    FeedState,
    FeedToken,
    FeedTokenCreate,
    FeedTokenKind,
)
from app.calendars.render import CityLabel, EventRecord, FeedHeader, RenderedEvent
from app.calendars.urls import city_feed_path, feed_url, partnership_feed_path
from app.cities.models import City, Partnership
from app.core import clock
from app.core.errors import Forbidden, Gone, NotFound, Unprocessable
from app.core.security import Principal
from app.core.settings import get_settings
from app.events.models import Event, EventGuest, EventKind, EventStatus
from app.events.service import EventFilters, event_query, visible_to
from app.keys.models import Role
from app.participants.models import HOLDING, Participant, Registration

log = logging.getLogger("twinplan.calendars")

# A cancelled event stays in feeds this long, as STATUS:CANCELLED, so that
# subscribed clients learn of it and remove it; then it drops out.
CANCELLED_KEPT_FOR = timedelta(days=90)
TOKEN_PREFIX = "tpf_"
_IN_CHUNK = 900



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


# Tokens -------------------------------------------------------------------------------


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _speaks_for(principal: Principal, city_id: int) -> bool:
    """Admin, or the coordinator or partner system of this city."""
    return principal.is_admin or (
        principal.role in (Role.coordinator, Role.partner) and principal.city_id == city_id
    )


def _authorise_token(session: Session, principal: Principal, token: FeedToken) -> None:
    """Who may issue, see and revoke a token: the city's coordinator (city feeds),
    the person's home city (a person's agenda), or an admin."""
    if token.kind == FeedTokenKind.city:
        assert token.city_id is not None
        principal.require_city(token.city_id)
        return
    participant = session.get(Participant, token.participant_id)
    if participant is None or not _speaks_for(principal, participant.home_city_id):
        raise Forbidden("only the participant's home city (or an admin) may manage their feed")


def create_feed_token(
    session: Session, data: FeedTokenCreate, principal: Principal
) -> tuple[FeedToken, str]:
    """Issue a private feed token; the secret is returned once and only its hash is kept."""
    if data.city_id is not None:
        if session.get(City, data.city_id) is None:
            raise Unprocessable(f"city {data.city_id} does not exist", field="city_id")
        kind = FeedTokenKind.city
    else:
        participant = session.get(Participant, data.participant_id)
        if participant is None:
            raise Unprocessable(
                f"participant {data.participant_id} does not exist", field="participant_id"
            )
        if participant.erased_at is not None:
            raise Unprocessable(
                f"participant {data.participant_id} was erased", field="participant_id"
            )
        kind = FeedTokenKind.participant
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)  # 256 bits
    token = FeedToken(
        kind=kind,
        city_id=data.city_id,
        participant_id=data.participant_id,
        label=data.label,
        token_hash=hash_token(secret),
        prefix=secret[:10],
    )
    _authorise_token(session, principal, token)
    session.add(token)
    session.flush()
    return token, secret


def feed_token_query(
    principal: Principal, city_id: int | None = None, participant_id: int | None = None
) -> Any:
    """Tokens the caller may see: all (admin), else its city's and its city's people's."""
    query = select(FeedToken)
    if not principal.is_admin:
        own = principal.city_id
        people = select(Participant.id).where(Participant.home_city_id == own)
        mine: list[ColumnElement[bool]] = [col(FeedToken.participant_id).in_(people)]
        if principal.role is Role.coordinator:
            mine.append(col(FeedToken.city_id) == own)
        query = query.where(or_(*mine))
    if city_id is not None:
        query = query.where(FeedToken.city_id == city_id)
    if participant_id is not None:
        query = query.where(FeedToken.participant_id == participant_id)
    return query.order_by(col(FeedToken.id))


def get_feed_token(session: Session, token_id: int, principal: Principal) -> FeedToken:
    token = session.get(FeedToken, token_id)
    if token is None:
        raise NotFound(f"feed token {token_id} does not exist")
    try:
        _authorise_token(session, principal, token)
    except Forbidden:
        raise NotFound(f"feed token {token_id} does not exist") from None
    return token


def revoke_feed_token(session: Session, token: FeedToken) -> FeedToken:
    """Revoke at once: the URL answers 410 Gone from now on. Revoking twice keeps the first."""
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        session.add(token)
        session.flush()
    return token


def token_by_secret(session: Session, secret: str) -> FeedToken:
    """The token behind a private feed URL: 404 if unknown, 410 if revoked."""
    digest = hash_token(secret)
    token = session.exec(select(FeedToken).where(FeedToken.token_hash == digest)).first()
    if token is None:
        raise NotFound("no feed at this address")
    if token.revoked_at is not None:
        raise Gone("this feed was revoked; ask for a new link")
    return token


# Which events a feed holds ------------------------------------------------------------


@dataclass(frozen=True)
class FeedSpec:
    """One feed: its key in ``feed_state``, and how to make its header and the query
    for its members (made only when needed: most requests need neither)."""

    key: str
    make_header: Callable[[], FeedHeader]
    make_members: Callable[[], Select[Any]]
    # The same rule for one ``event`` row, as a condition: merging the events changed
    # since the last reading asks it of those alone, not of all members.
    make_member_rule: Callable[[], ColumnElement[bool]] | None = None
    # The feed's subject, ("city", id) or ("partnership", id), whose existence is
    # asked in the same query as the stamp and the state; ``missing`` is the 404's detail.
    subject: tuple[str, int] | None = None
    missing: str = ""
    private: bool = False
    # Whether the stamp of all events and cities can vouch for this feed between
    # checks (not for a person's agenda: registrations have no such stamp, and an
    # agenda is small enough to check every time).
    stamped: bool = True


def _listed() -> ColumnElement[bool]:
    """Members only: never drafts; cancelled events for 90 days after cancellation."""
    cutoff = clock.now() - CANCELLED_KEPT_FOR
    return and_(
        col(Event.status) != EventStatus.draft,
        or_(
            col(Event.status) != EventStatus.cancelled,
            and_(col(Event.cancelled_at).is_not(None), col(Event.cancelled_at) > cutoff),
        ),
    )


def _member_state() -> list[Any]:
    """(id, version, cancelled_at if cancelled): what a feed's fingerprint and expiry
    are made of; integers, mostly, so that reading 5,000 of them costs little."""
    cancelled = case((col(Event.status) == EventStatus.cancelled, col(Event.cancelled_at)))
    return [col(Event.id), col(Event.version), cancelled]


def _member_columns(query: Any) -> Select[Any]:
    """The members' state, by id."""
    return (query.with_only_columns(*_member_state()).order_by(None)
            .where(_listed()).order_by(col(Event.id)))


def _takes_part(city_id: int) -> ColumnElement[bool]:
    """The city hosts the event or is a guest: ``EventFilters(city_id=...)`` for one row."""
    as_guest = (
        select(EventGuest.event_id)
        .where(col(EventGuest.event_id) == col(Event.id), EventGuest.city_id == city_id)
        .exists()
    )
    return or_(col(Event.host_city_id) == city_id, as_guest)


def _member_rule(
    kinds: Sequence[EventKind], principal: Principal | None, *cities: int
) -> ColumnElement[bool]:
    """Whether one event belongs to the feed of these cities (all of them take part),
    this viewer and these kinds: the feed's query, as a condition on one row."""
    rule = [*map(_takes_part, cities), _listed()]
    visible = visible_to(principal)
    if visible is not None:
        rule.append(visible)
    if kinds:
        rule.append(col(Event.kind).in_([str(k) for k in kinds]))
    return and_(*rule)


def _kinds_key(kinds: Sequence[EventKind]) -> tuple[str, str]:
    """The kinds filter as part of the feed key, and as the query string of its URL."""
    unique = sorted({str(k) for k in kinds})
    if not unique:
        return "", ""
    return ":kinds=" + ",".join(unique), "?" + "&".join(f"kind={k}" for k in unique)


def _kinds_title(kinds: Sequence[EventKind]) -> str:
    # No commas in calendar names: clients read X-WR-CALNAME without unescaping "\,".
    unique = sorted({str(k) for k in kinds})
    return " (" + " / ".join(render.kind_label(k).lower() for k in unique) + ")" if unique else ""


def _city(session: Session, city_id: int) -> Any:
    found = _rows(session, select(City.id, City.name, City.country_code, City.timezone)
                  .where(City.id == city_id))
    if not found:
        raise NotFound(f"city {city_id} does not exist")
    return found[0]


def city_feed(
    session: Session, city_id: int, kinds: Sequence[EventKind] = (), *,
    token: FeedToken | None = None,
) -> FeedSpec:
    """A city's events, as host or guest. Public ones; with a coordinator's token, also
    the partners-only events it takes part in and the private ones it hosts."""
    key_suffix, query_string = _kinds_key(kinds)
    filters = EventFilters(city_id=city_id, kinds=tuple(kinds))
    if token is None:

        def public_header() -> FeedHeader:
            city = _city(session, city_id)
            return FeedHeader(
                name=f"{city.name}: twin city exchanges{_kinds_title(kinds)}",
                description=f"Public exchange events that {city.name} ({city.country_code}) "
                "hosts or takes part in (Twinplan).",
                timezone=city.timezone,
                source_url=feed_url(city_feed_path(city_id)) + query_string,
            )

        return FeedSpec(
            key=f"city:{city_id}{key_suffix}",
            make_header=public_header,
            make_members=lambda: _member_columns(event_query(session, filters, None)),
            make_member_rule=lambda: _member_rule(kinds, None, city_id),
            subject=("city", city_id),
            missing=f"city {city_id} does not exist",
        )

    def private_header() -> FeedHeader:
        city = _city(session, city_id)
        return FeedHeader(
            name=f"{city.name}: all exchanges{_kinds_title(kinds)}",
            description=f"Every exchange event of {city.name} ({city.country_code}) "
            "including partners-only and private ones. Do not share this link.",
            timezone=city.timezone,
        )

    coordinator = Principal(key_id=0, role=Role.coordinator, city_id=city_id)
    return FeedSpec(
        key=f"token:{token.id}{key_suffix}",
        make_header=private_header,
        make_members=lambda: _member_columns(event_query(session, filters, coordinator)),
        make_member_rule=lambda: _member_rule(kinds, coordinator, city_id),
        private=True,
    )


def partnership_feed(
    session: Session, partnership_id: int, kinds: Sequence[EventKind] = ()
) -> FeedSpec:
    """Public events that both cities of a twinning take part in."""
    key_suffix, query_string = _kinds_key(kinds)
    filters = EventFilters(partnership_id=partnership_id, kinds=tuple(kinds))

    @cache
    def pair() -> tuple[int, int]:
        found = _rows(session, select(Partnership.city_a_id, Partnership.city_b_id)
                      .where(Partnership.id == partnership_id))
        if not found:
            raise NotFound(f"partnership {partnership_id} does not exist")
        return found[0].city_a_id, found[0].city_b_id

    def header() -> FeedHeader:
        a, b = (_city(session, c) for c in pair())
        return FeedHeader(
            name=f"{a.name} – {b.name}: twin city exchanges{_kinds_title(kinds)}",
            description=f"Public exchange events of the twinning of {a.name} "
            f"({a.country_code}) and {b.name} ({b.country_code}) (Twinplan).",
            timezone=a.timezone,
            source_url=feed_url(partnership_feed_path(partnership_id)) + query_string,
        )

    return FeedSpec(
        key=f"partnership:{partnership_id}{key_suffix}",
        make_header=header,
        make_members=lambda: _member_columns(event_query(session, filters, None)),
        make_member_rule=lambda: _member_rule(kinds, None, *pair()),
        subject=("partnership", partnership_id),
        missing=f"partnership {partnership_id} does not exist",
    )


def participant_feed(
    session: Session, token: FeedToken, kinds: Sequence[EventKind] = ()
) -> FeedSpec:
    """One person's agenda: the events they hold a place at (confirmed, awaiting
    consent, attended), whatever their visibility. No name in it: the link may travel."""
    participant = session.get(Participant, token.participant_id)
    if participant is None or participant.erased_at is not None:
        raise Gone("this feed's participant was erased")
    home = session.get(City, participant.home_city_id)
    key_suffix, _ = _kinds_key(kinds)
    holding = (
        select(Registration.event_id)
        .where(
            Registration.participant_id == participant.id,
            col(Registration.status).in_([str(s) for s in HOLDING]),
        )
    )
    query = select(Event).where(col(Event.id).in_(holding))
    if kinds:
        query = query.where(col(Event.kind).in_([str(k) for k in kinds]))
    header = FeedHeader(
        name=f"My exchange agenda{_kinds_title(kinds)}",
        description="The exchange events you hold a place at (Twinplan). "
        "Do not share this link.",
        timezone=home.timezone if home else None,
    )
    return FeedSpec(
        key=f"token:{token.id}{key_suffix}",
        make_header=lambda: header,
        make_members=lambda: _member_columns(query),
        private=True,
        stamped=False,
    )


def token_feed(session: Session, token: FeedToken, kinds: Sequence[EventKind] = ()) -> FeedSpec:
    if token.kind == FeedTokenKind.city:
        assert token.city_id is not None
        return city_feed(session, token.city_id, kinds, token=token)
    return participant_feed(session, token, kinds)


# Fingerprint and state ----------------------------------------------------------------

# A feed is checked (its members read) when the stamp of events and cities moved,
# when a cancelled member is due to drop out, when the newest change is younger than
# SETTLE (a transaction may stamp a row, and commit it a little later, behind a newer
# stamp that committed first), and at least every RECHECK (so that even a change
# that bypassed updated_at, like a row deleted by hand, shows within minutes).
SETTLE = timedelta(seconds=60)
RECHECK = timedelta(minutes=10)
# A worker that read all members of a feed then reads only the events changed
# since (by ix_event_updated_at); past this many it reads them all again.
MAX_INCREMENTAL = 1000


@dataclass(frozen=True)
class Stamp:
    """The newest ``updated_at`` of all events and of all cities, as one string."""

    text: str
    newest: datetime | None
    events: datetime | None
    cities: str


@dataclass(frozen=True)
class Snapshot:
    """What a feed is made of right now, and the hash of it.

    ``base_read_at`` and ``base_events`` say when all members were last read
    (this worker's clock, and the events' stamp then): the changes to merge
    in since are the events stamped after the earlier of the two, less SETTLE.
    """

    members: tuple[tuple[int, int], ...]
    fingerprint: str
    expires_at: datetime | None
    cities: str
    base_read_at: datetime
    base_events: datetime | None


def _rows(session: Session, query: Any) -> list[Any]:
    return list(session.connection().execute(query).all())


def _stamp_of(newest_event: datetime | None, newest_city: datetime | None) -> Stamp:
    texts = [v.isoformat() if v else "-" for v in (newest_event, newest_city)]
    newest = max((v for v in (newest_event, newest_city) if v is not None), default=None)
    return Stamp("|".join(texts), newest, newest_event, texts[1])


def _stamp_columns() -> list[Any]:
    """max(updated_at) of events and of cities: two index lookups (ix_*_updated_at)."""
    return [select(func.max(Event.updated_at)).scalar_subquery(),
            select(func.max(City.updated_at)).scalar_subquery()]


def read_stamp(session: Session) -> Stamp:
    return _stamp_of(*_rows(session, select(*_stamp_columns()))[0])


@cache
def _stamp_and_state_query(subject: str | None) -> Select[Any]:
    """Built once per kind of subject; executed with ``key`` and ``subject_id``."""
    table = FeedState.__table__  # type: ignore[attr-defined]
    ids: dict[str, Any] = {"city": col(City.id), "partnership": col(Partnership.id)}
    found: Any = literal(True)
    if subject is not None:
        found = select(ids[subject]).where(ids[subject] == bindparam("subject_id")).exists()
    one = select(literal(1).label("one")).subquery()
    columns: list[Any] = [*_stamp_columns(), found.label("found"), *table.c]
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
    return _stamp_of(row[0], row[1]), state


def _publisher() -> tuple[str, str]:
    """What every feed's bytes show of the configuration: base URL, UID domain."""
    settings = get_settings()
    return settings.public_base_url, settings.calendar_uid_domain


def _fingerprint(spec: FeedSpec, cities: str, members: Iterable[tuple[int, int]]) -> str:
    """The hash of everything a feed's bytes depend on: the renderer's version, the base
    URL and UID domain, the feed's key, the cities, and the (id, version) of each member."""
    base_url, uid_domain = _publisher()
    digest = hashlib.sha256(
        f"{render.RENDER_VERSION}|{base_url}|{uid_domain}|{spec.key}|{cities}|".encode()
    )
    digest.update(array("q", chain.from_iterable(members)).tobytes())
    return digest.hexdigest()


def _expiry(cancelled: Iterable[datetime | None]) -> datetime | None:
    dates = [c for c in cancelled if c is not None]
    return min(dates) + CANCELLED_KEPT_FOR if dates else None


def _full_snapshot(session: Session, spec: FeedSpec, stamp: Stamp, now: datetime) -> Snapshot:
    rows = _rows(session, spec.make_members())
    members = tuple((event_id, version) for event_id, version, _ in rows)
    return Snapshot(members, _fingerprint(spec, stamp.cities, members),
                    _expiry(c for _, _, c in rows), stamp.cities, now, stamp.events)


def _merged_snapshot(
    session: Session, spec: FeedSpec, stamp: Stamp, now: datetime, base: Snapshot
) -> Snapshot | None:
    """``base`` with the events changed since merged in, read and judged by one query;
    None when that is not safe or not cheaper (cities changed, too old, a cancelled
    member due, many changes)."""
    rule = spec.make_member_rule
    if (rule is None or base.cities != stamp.cities or now - base.base_read_at >= RECHECK
            or (base.expires_at is not None and now >= base.expires_at)):
        return None
    since = min(base.base_read_at, base.base_events or base.base_read_at) - SETTLE
    columns = [*_member_state(), rule().label("member")]
    changed = _rows(session, select(*columns)
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
    return Snapshot(merged, _fingerprint(spec, stamp.cities, merged), _expiry(cancelled),
                    stamp.cities, base.base_read_at, base.base_events)


def snapshot(session: Session, spec: FeedSpec, stamp: Stamp, now: datetime) -> Snapshot:
    """The feed's members now: merged into the last full reading this worker has of
    them when it can, read in full otherwise."""
    cached = _feed_bytes.get(spec.key)
    if cached is not None and spec.stamped:
        merged = _merged_snapshot(session, spec, stamp, now, cached.snapshot)
        if merged is not None:
            return merged
    return _full_snapshot(session, spec, stamp, now)


def still_current(spec: FeedSpec, state: Any, stamp: Stamp, now: datetime) -> bool:
    """Whether the stored state may answer without reading the feed's members."""
    return (
        spec.stamped
        and state is not None
        and state.stamp == stamp.text
        and (stamp.newest is None or stamp.newest <= now - SETTLE)
        and (state.expires_at is None or now < state.expires_at)
        and now - state.checked_at < RECHECK
    )


def _whole_seconds(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(microsecond=0)


def _load_state(session: Session, key: str) -> Any:
    table = FeedState.__table__  # type: ignore[attr-defined]
    found = _rows(session, table.select().where(table.c.key == key))
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


def _vouched_stamp(spec: FeedSpec, stamp: Stamp, now: datetime) -> str:
    """The stamp to store: only a settled one may later stand in for a check."""
    settled = stamp.newest is None or stamp.newest <= now - SETTLE
    return stamp.text if spec.stamped and settled else ""


def _mark_checked(
    session: Session, spec: FeedSpec, state: Any, snap: Snapshot, stamp: Stamp, now: datetime
) -> None:
    """Same members as last time: remember the stamp that vouches for them."""
    vouched = _vouched_stamp(spec, stamp, now)
    if not vouched or (vouched == state.stamp and now - state.checked_at < RECHECK / 2):
        return
    table = FeedState.__table__  # type: ignore[attr-defined]
    _write(session, update(table)
           .where(table.c.key == spec.key, table.c.fingerprint == state.fingerprint)
           .values(stamp=vouched, expires_at=snap.expires_at, checked_at=now))


def _record_state(
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
              "stamp": _vouched_stamp(spec, stamp, now), "expires_at": snap.expires_at,
              "checked_at": now}
    if previous is None:
        # A feed nobody asked for before: dated by the newest change it can show.
        first = _whole_seconds(stamp.newest or now)
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
    ]
    out = []
    for (event_id, kind, title, description, host, venue, status, visibility, timezone,
         all_day, sequence, version, cancel_reason, l1, l2, u1, u2, created, updated) in _rows(
            session, select(*columns).where(which)):
        out.append(EventRecord(
            event_id, kind, title, description, host, venue, status, visibility, timezone,
            bool(all_day), sequence, version, cancel_reason, _as_local(l1), _as_local(l2),
            _as_utc(u1), _as_utc(u2), created, updated))
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
        for event_id, city_id in _rows(
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
        for city_id, name, country in _rows(
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
    generation = _generation_of(snap.cities, _publisher())
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
                           fingerprint=_fingerprint(spec, snap.cities, members))
    feed = render.assemble(spec.make_header(), cast(list[RenderedEvent], events))
    return _Assembled(snap, feed.body, feed.etag)


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


@dataclass
class Conditions:
    """The request's validators."""

    if_none_match: str | None = None
    if_modified_since: str | None = None

    def not_modified(self, etag: str, last_modified: datetime | None) -> bool:
        """RFC 9110 13.2.2: If-None-Match decides when present (weak comparison);
        If-Modified-Since is considered only without it."""
        if self.if_none_match is not None:
            tags = {t.strip().removeprefix("W/") for t in self.if_none_match.split(",")}
            return "*" in tags or etag in tags
        if self.if_modified_since is None or last_modified is None:
            return False
        since = parse_http_date(self.if_modified_since)
        return since is not None and last_modified <= since


def parse_http_date(value: str) -> datetime | None:
    from email.utils import parsedate_to_datetime

    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


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
    answers from them (and from this worker's cache of bytes); see the
    module's docstring.
    """
    now = clock.now()
    stamp, state = read_stamp_and_state(session, spec)
    snap: Snapshot | None = None
    if not still_current(spec, state, stamp, now):
        snap = snapshot(session, spec, stamp, now)
        if state is not None and state.fingerprint == snap.fingerprint:
            _mark_checked(session, spec, state, snap, stamp, now)
        else:
            built = _cached_or_assembled(session, spec, snap)
            state = _record_state(session, spec, built.snapshot, stamp, built, state, now)
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
