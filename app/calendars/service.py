"""Feeds: which events each one holds, when it last changed, and its bytes, built rarely.

A request for a feed costs two small queries when nothing changed:

1. the feed's members, ``(id, version, updated_at)`` of each event in it,
   hashed with the cities' stamp into the feed's **fingerprint**;
2. the feed's row in ``feed_state``: the fingerprint, ETag, length and
   Last-Modified it was last served with.

Same fingerprint: the stored ETag and Last-Modified answer a conditional
request (304) or a HEAD without building anything, and the body comes from
this worker's cache of assembled feeds. Another fingerprint: the feed is
assembled from per-event VEVENT bytes (cached by event id and version, so
one edited event costs one rendering), and the new state is recorded, with a
Last-Modified that moves forward. Workers share nothing but the database;
they agree because bytes are a pure function of the data.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from app.calendars import render, timezones
from app.calendars.cache import ByteBudgetLRU, KeyedLocks
from app.calendars.models import (
    FeedState,
    FeedToken,
    FeedTokenCreate,
    FeedTokenKind,
)
from app.calendars.render import CityLabel, FeedHeader, RenderedEvent
from app.calendars.urls import city_feed_path, feed_url, partnership_feed_path
from app.cities.models import City, Partnership
from app.core import clock
from app.core.errors import Forbidden, Gone, NotFound, Unprocessable
from app.core.security import Principal
from app.core.settings import get_settings
from app.events.models import Event, EventGuest, EventKind, EventStatus
from app.events.service import EventFilters, event_query
from app.keys.models import Role
from app.participants.models import HOLDING, Participant, Registration

log = logging.getLogger("twinplan.calendars")

# A cancelled event stays in feeds this long, as STATUS:CANCELLED, so that
# subscribed clients learn of it and remove it; then it drops out.
CANCELLED_KEPT_FOR = timedelta(days=90)
TOKEN_PREFIX = "tpf_"
_IN_CHUNK = 900

_event_bytes: ByteBudgetLRU[tuple[Any, ...], RenderedEvent] = ByteBudgetLRU(
    64 * 1024 * 1024, lambda r: len(r.data) + 200
)
_feed_bytes: ByteBudgetLRU[str, _Assembled] = ByteBudgetLRU(
    128 * 1024 * 1024, lambda a: len(a.body) + 200
)
_building = KeyedLocks()


def clear_caches() -> None:
    """Forget every cached byte, as a freshly started worker would (tests, benchmarks)."""
    _event_bytes.clear()
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
    """One feed: its key in ``feed_state``, its header and the query for its members."""

    key: str
    header: FeedHeader
    members: Select[Any]
    private: bool = False


def _listed(query: Select[Any]) -> Select[Any]:
    """Members only: never drafts; cancelled events for 90 days after cancellation."""
    cutoff = clock.now() - CANCELLED_KEPT_FOR
    return query.where(
        col(Event.status) != EventStatus.draft,
        or_(
            col(Event.status) != EventStatus.cancelled,
            and_(col(Event.cancelled_at).is_not(None), col(Event.cancelled_at) > cutoff),
        ),
    )


def _member_columns(query: Any) -> Select[Any]:
    return _listed(query.with_only_columns(Event.id, Event.version, Event.updated_at))


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


def city_feed(
    session: Session, city_id: int, kinds: Sequence[EventKind] = (), *,
    token: FeedToken | None = None,
) -> FeedSpec:
    """A city's events, as host or guest. Public ones; with a coordinator's token, also
    the partners-only events it takes part in and the private ones it hosts."""
    city = session.get(City, city_id)
    if city is None:
        raise NotFound(f"city {city_id} does not exist")
    key_suffix, query_string = _kinds_key(kinds)
    filters = EventFilters(city_id=city_id, kinds=tuple(kinds))
    if token is None:
        query = event_query(session, filters, None)
        return FeedSpec(
            key=f"city:{city_id}{key_suffix}",
            header=FeedHeader(
                name=f"{city.name}: twin city exchanges{_kinds_title(kinds)}",
                description=f"Public exchange events that {city.name} ({city.country_code}) "
                "hosts or takes part in (Twinplan).",
                timezone=city.timezone,
                source_url=feed_url(city_feed_path(city_id)) + query_string,
            ),
            members=_member_columns(query),
        )
    coordinator = Principal(key_id=0, role=Role.coordinator, city_id=city_id)
    query = event_query(session, filters, coordinator)
    return FeedSpec(
        key=f"token:{token.id}{key_suffix}",
        header=FeedHeader(
            name=f"{city.name}: all exchanges{_kinds_title(kinds)}",
            description=f"Every exchange event of {city.name} ({city.country_code}) "
            "including partners-only and private ones. Do not share this link.",
            timezone=city.timezone,
        ),
        members=_member_columns(query),
        private=True,
    )


def partnership_feed(
    session: Session, partnership_id: int, kinds: Sequence[EventKind] = ()
) -> FeedSpec:
    """Public events that both cities of a twinning take part in."""
    partnership = session.get(Partnership, partnership_id)
    if partnership is None:
        raise NotFound(f"partnership {partnership_id} does not exist")
    a = session.get(City, partnership.city_a_id)
    b = session.get(City, partnership.city_b_id)
    assert a is not None and b is not None
    key_suffix, query_string = _kinds_key(kinds)
    query = event_query(
        session, EventFilters(partnership_id=partnership_id, kinds=tuple(kinds)), None
    )
    return FeedSpec(
        key=f"partnership:{partnership_id}{key_suffix}",
        header=FeedHeader(
            name=f"{a.name} – {b.name}: twin city exchanges{_kinds_title(kinds)}",
            description=f"Public exchange events of the twinning of {a.name} "
            f"({a.country_code}) and {b.name} ({b.country_code}) (Twinplan).",
            timezone=a.timezone,
            source_url=feed_url(partnership_feed_path(partnership_id)) + query_string,
        ),
        members=_member_columns(query),
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
    query = query.order_by(col(Event.starts_at_utc), col(Event.id))
    return FeedSpec(
        key=f"token:{token.id}{key_suffix}",
        header=FeedHeader(
            name=f"My exchange agenda{_kinds_title(kinds)}",
            description="The exchange events you hold a place at (Twinplan). "
            "Do not share this link.",
            timezone=home.timezone if home else None,
        ),
        members=_member_columns(query),
        private=True,
    )


def token_feed(session: Session, token: FeedToken, kinds: Sequence[EventKind] = ()) -> FeedSpec:
    if token.kind == FeedTokenKind.city:
        assert token.city_id is not None
        return city_feed(session, token.city_id, kinds, token=token)
    return participant_feed(session, token, kinds)


# Fingerprint and state ----------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    id: int
    version: int
    updated_at: datetime


@dataclass(frozen=True)
class Snapshot:
    """What a feed is made of right now, and the hash of it."""

    members: list[Member]
    cities_stamp: str
    newest: datetime | None
    fingerprint: str


def _rows(session: Session, query: Any) -> list[Any]:
    return list(session.connection().execute(query).all())


def _cities_stamp(session: Session) -> tuple[str, datetime | None]:
    """Every feed shows city names, so any change to any city changes every feed's
    fingerprint (cities change rarely; the bytes, and so the ETag, change only when a
    name a feed shows did)."""
    count, newest = _rows(session, select(func.count(col(City.id)), func.max(City.updated_at)))[0]
    return f"{count}:{newest.isoformat() if newest else '-'}", newest


def snapshot(session: Session, spec: FeedSpec) -> Snapshot:
    members = [Member(i, v, u) for i, v, u in _rows(session, spec.members)]
    stamp, cities_newest = _cities_stamp(session)
    digest = hashlib.sha256()
    settings = get_settings()
    digest.update(
        f"{render.RENDER_VERSION}|{settings.public_base_url}|{spec.key}|{stamp}|".encode()
    )
    digest.update(",".join(f"{m.id}:{m.version}" for m in members).encode())
    stamps = [m.updated_at for m in members]
    if cities_newest is not None:
        stamps.append(cities_newest)
    return Snapshot(members, stamp, max(stamps, default=None), digest.hexdigest())


def _whole_seconds(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(microsecond=0)


def _load_state(session: Session, key: str) -> Any:
    table = FeedState.__table__  # type: ignore[attr-defined]
    found = _rows(session, table.select().where(table.c.key == key))
    return found[0] if found else None


def _record_state(
    session: Session, spec: FeedSpec, snap: Snapshot, etag: str, length: int, previous: Any
) -> Any:
    """Store the feed's new fingerprint, moving Last-Modified forward if the bytes changed.

    Several workers may notice one change at once: the update is conditional
    on the fingerprint they all read, so one wins and the others read its row.
    The read transaction is ended first: on SQLite a transaction that has read
    cannot always be promoted to a writer, a fresh one can wait for its turn.
    """
    table = FeedState.__table__  # type: ignore[attr-defined]
    now = _whole_seconds(clock.now())
    session.commit()
    if previous is None:
        first = _whole_seconds(snap.newest) if snap.newest is not None else now
        values = {"key": spec.key, "fingerprint": snap.fingerprint, "etag": etag,
                  "length": length, "last_modified": first, "changed_at": now}
        dialect = session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        session.connection().execute(
            insert(table).values(**values).on_conflict_do_nothing(index_elements=["key"])
        )
    else:
        if etag == previous.etag:
            last_modified = previous.last_modified  # same bytes: nothing a client must fetch
        else:
            last_modified = max(now, previous.last_modified + timedelta(seconds=1))
        session.connection().execute(
            update(table)
            .where(table.c.key == spec.key, table.c.fingerprint == previous.fingerprint)
            .values(fingerprint=snap.fingerprint, etag=etag, length=length,
                    last_modified=last_modified, changed_at=now)
        )
    session.commit()
    return _load_state(session, spec.key)


# Building -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Assembled:
    fingerprint: str
    body: bytes
    etag: str


def strong_etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest() + '"'


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), _IN_CHUNK):
        yield ids[start : start + _IN_CHUNK]


def _render_missing(
    session: Session, missing: list[int], cities_stamp: str, base_url: str
) -> dict[int, RenderedEvent]:
    """Render the events no cache holds, reading their rows, guests and cities in bulk."""
    table = Event.__table__  # type: ignore[attr-defined]
    rows: list[Any] = []
    guests: dict[int, list[int]] = {i: [] for i in missing}
    for chunk in _chunks(missing):
        rows += _rows(session, table.select().where(table.c.id.in_(chunk)))
        for event_id, city_id in _rows(
            session,
            select(EventGuest.event_id, EventGuest.city_id)
            .where(col(EventGuest.event_id).in_(chunk))
            .order_by(col(EventGuest.event_id), col(EventGuest.city_id)),
        ):
            guests[event_id].append(city_id)
    city_ids = sorted({r.host_city_id for r in rows} | {c for g in guests.values() for c in g})
    labels: dict[int, CityLabel] = {}
    for chunk in _chunks(city_ids):
        for city_id, name, country in _rows(
            session, select(City.id, City.name, City.country_code).where(col(City.id).in_(chunk))
        ):
            labels[city_id] = CityLabel(name, country)
    out = {}
    for row in rows:
        rendered = render.render_event(
            row, labels[row.host_city_id], [labels[c] for c in guests[row.id]], base_url=base_url
        )
        out[row.id] = rendered
        _event_bytes.put((row.id, row.version, cities_stamp, base_url), rendered)
    return out


def assemble(session: Session, spec: FeedSpec, snap: Snapshot) -> _Assembled:
    """The feed's bytes: cached VEVENTs where the (id, version) is known, fresh ones else."""
    base_url = get_settings().public_base_url
    keys = [(m.id, m.version, snap.cities_stamp, base_url) for m in snap.members]
    cached = _event_bytes.get_many(keys)
    missing = [m.id for m, hit in zip(snap.members, cached, strict=True) if hit is None]
    fresh = _render_missing(session, missing, snap.cities_stamp, base_url) if missing else {}
    events = [
        hit if hit is not None else fresh[m.id]
        for m, hit in zip(snap.members, cached, strict=True)
    ]
    body = render.assemble(spec.header, events)
    return _Assembled(snap.fingerprint, body, strong_etag(body))


def _cached_or_assembled(session: Session, spec: FeedSpec, snap: Snapshot) -> _Assembled:
    hit = _feed_bytes.get(spec.key)
    if hit is not None and hit.fingerprint == snap.fingerprint:
        return hit
    with _building(spec.key):
        hit = _feed_bytes.get(spec.key)
        if hit is not None and hit.fingerprint == snap.fingerprint:
            return hit
        built = assemble(session, spec, snap)
        _feed_bytes.put(spec.key, built)
        return built


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
    """The feed's response: 304, headers only (HEAD), or the bytes."""
    snap = snapshot(session, spec)
    state = _load_state(session, spec.key)
    if state is not None and state.fingerprint == snap.fingerprint:
        if conditions.not_modified(state.etag, state.last_modified):
            return FeedResult(state.etag, state.last_modified, state.length, not_modified=True)
        if not want_body:
            return FeedResult(state.etag, state.last_modified, state.length)
        built = _cached_or_assembled(session, spec, snap)
        if built.etag != state.etag:
            # Another release (or tz database) wrote this state; the bytes we send win.
            log.warning("feed %s: built ETag %s, stored %s", spec.key, built.etag, state.etag)
        return FeedResult(built.etag, state.last_modified, len(built.body), body=built.body)

    built = _cached_or_assembled(session, spec, snap)
    state = _record_state(session, spec, snap, built.etag, len(built.body), state)
    # Another worker may have stored a newer (or older) state meanwhile; a date that
    # belongs to other bytes would make If-Modified-Since lie, so send none then.
    last_modified = state.last_modified if state and state.etag == built.etag else None
    if conditions.not_modified(built.etag, last_modified):
        return FeedResult(built.etag, last_modified, len(built.body), not_modified=True)
    return FeedResult(built.etag, last_modified, len(built.body), body=built.body)
