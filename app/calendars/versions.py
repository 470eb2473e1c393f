"""Feed versions: one counter per city, moved in the transaction of every change a
feed shows, so that a feed learns that it changed the moment the change commits.

A feed shows events that its cities take part in (as host or guest), and the
names, countries and time zones of the cities in them. So a change to an event
moves the counter of each city that takes part in it before the change or after
it (an event that gains, loses or changes a guest or a host is a change to the
feeds on both sides), and a change to what feeds show of a city moves row 0
(``ALL_CITIES``). ``app.calendars.state`` makes a feed's validators of its
cities' counters and row 0: a change elsewhere leaves them alone; a change it
shows is seen by the first request after the commit, on every worker.

One mechanism for every writer, as the data audit has (``app.audit.service``):
session listeners see each event, guest and city the ORM writes, so no service
calls anything. Before and after each flush, the cities taking part in the
events it writes are read (two small queries, only for flushes that write
events); at commit the counters of all of them move in one statement, in city
order. Late and in order, because a counter is a row lock held until commit:
taken mid-transaction, in the order of flushes, two transactions could each
hold the counter the other waits for.

Writes that bypass the ORM (Core statements, hand edits) must say which cities
they touched with ``touch``; a change that says nothing still shows within the
feeds' recheck interval (``app.calendars.state.RECHECK``).
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain
from typing import Any

from sqlalchemy import event, inspect, union
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import col, select

from app.calendars.models import FeedVersion
from app.cities.models import City
from app.events.models import Event, EventGuest

ALL_CITIES = 0
# What every feed shows of a city: in its header (its own), and in its events'
# descriptions (host and guests).
SHOWN_OF_A_CITY = ("name", "country_code", "timezone")

_PENDING = "twinplan.feed_versions.pending"
_MOVED = "twinplan.feed_versions.moved"
_TABLE = FeedVersion.__table__  # type: ignore[attr-defined]
_IN_CHUNK = 900


def touch(session: OrmSession, city_ids: Iterable[int]) -> None:
    """Move these cities' feed versions with the session's transaction: for writes
    the listeners below cannot see (Core statements). Once the counters have moved
    (a write made at commit, after them), at once."""
    if session.info.get(_MOVED):
        _move(session, set(city_ids))
    else:
        session.info.setdefault(_PENDING, set()).update(city_ids)


def _taking_part(session: OrmSession, event_ids: set[int]) -> set[int]:
    """The hosts and guests of these events, as the session's transaction sees them."""
    found: set[int] = set()
    ordered = sorted(event_ids)
    for start in range(0, len(ordered), _IN_CHUNK):
        chunk = ordered[start:start + _IN_CHUNK]
        hosts = select(Event.host_city_id).where(col(Event.id).in_(chunk))
        guests = select(EventGuest.city_id).where(col(EventGuest.event_id).in_(chunk))
        found.update(session.connection().execute(union(hosts, guests)).scalars())
    return found


def _changed_events(session: OrmSession) -> set[int]:
    """The events this flush writes, and the events whose guests it writes."""
    ids: set[int] = set()
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, Event):
            if obj.id is not None and (obj in session.deleted or obj in session.new
                                       or session.is_modified(obj)):
                ids.add(obj.id)
        elif isinstance(obj, EventGuest) and (obj in session.new or obj in session.deleted):
            ids.add(obj.event_id)
    return ids


def _cities_shown_changed(session: OrmSession) -> bool:
    for obj in chain(session.dirty, session.deleted):
        if isinstance(obj, City):
            if obj in session.deleted:
                return True
            attrs = inspect(obj).attrs
            if any(attrs[name].history.has_changes() for name in SHOWN_OF_A_CITY):
                return True
    return False


@event.listens_for(OrmSession, "before_flush")
def _before_flush(session: OrmSession, _context: Any, _instances: Any) -> None:
    """The cities taking part in the events about to change, as they stand before
    (a deleted guest row, or a deleted event's, is gone after)."""
    pending: set[int] = set()
    ids = _changed_events(session)
    if ids:
        pending |= _taking_part(session, ids)
    if _cities_shown_changed(session):
        pending.add(ALL_CITIES)
    if pending:
        touch(session, pending)


@event.listens_for(OrmSession, "after_flush")
def _after_flush(session: OrmSession, _context: Any) -> None:
    """And as they stand after: new events and new guests included."""
    ids = _changed_events(session)
    if ids:
        touch(session, _taking_part(session, ids))


def _move(session: OrmSession, cities: set[int]) -> None:
    if not cities:
        return
    connection = session.connection()
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = insert(_TABLE).values([{"city_id": c, "version": 1} for c in sorted(cities)])
    connection.execute(statement.on_conflict_do_update(
        index_elements=["city_id"], set_={"version": _TABLE.c.version + 1}))


@event.listens_for(OrmSession, "before_commit")
def _before_commit(session: OrmSession) -> None:
    """Move the counters of every city this transaction touched, last thing before it
    commits (a savepoint's release waits for its transaction)."""
    if session.in_nested_transaction():
        return
    if session.new or session.dirty or session.deleted:
        session.flush()
    _move(session, session.info.pop(_PENDING, set()))
    session.info[_MOVED] = True


@event.listens_for(OrmSession, "after_transaction_end")
def _forget(session: OrmSession, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost transaction, not a savepoint
        session.info.pop(_PENDING, None)
        session.info.pop(_MOVED, None)
