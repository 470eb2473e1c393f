"""Registering a city's external calendars, and keeping their mirrored events in step.

A poll is three steps, so that a slow partner holds no transaction open:
read what the calendar row says (address, validators), fetch outside any
transaction, then apply everything in one transaction: the mirrored events
added, changed and dropped, and the calendar's status. A feed that cannot be
fetched or read changes no event and only sets its own calendar's status.

Mirrored events change no signals: they are the partner's plans, already
published; their webhooks, change log and reminders are the partner's own.
They show in lists and feeds at once: the ORM writes them, so the city's
feed version moves with them (``app.calendars.versions``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlmodel import Session, col, delete, func, select

from app.calendars import versions as feed_versions
from app.cities.models import City
from app.core import clock
from app.core.actors import Actor
from app.core.errors import Forbidden, NotFound, Unprocessable
from app.core.settings import get_settings
from app.events.models import Event, EventStatus
from app.mirrors import fetch, parse, policy
from app.mirrors.models import CalendarStatus, ExternalCalendar, ExternalCalendarCreate

log = logging.getLogger("twinplan.mirrors")

Sessions = Callable[[], AbstractContextManager[Session]]

CANCELLED_IN_SOURCE = "cancelled in the source calendar"
_MIRRORED_FIELDS = ("title", "description", "venue", "status", "timezone", "all_day",
                    "starts_at_local", "ends_at_local", "starts_at_utc", "ends_at_utc")


# Registration -----------------------------------------------------------------


def _city_or_404(session: Session, city_id: int) -> City:
    city = session.get(City, city_id)
    if city is None:
        raise NotFound(f"city {city_id} does not exist")
    return city


def register_calendar(session: Session, city_id: int, data: ExternalCalendarCreate,
                      actor: Actor) -> ExternalCalendar:
    """Add a calendar to mirror into the city; the worker polls it at once.

    The address is checked here as it will be at every poll: http(s), no
    credentials, a host that resolves to public addresses only. (A name that
    does not resolve now is accepted: the poll says so in the status.)
    """
    _city_or_404(session, city_id)
    if not policy.can_manage_calendars(actor, city_id):
        raise Forbidden(f"only city {city_id}'s coordinators (or an admin) may add its "
                        "calendars")
    url = str(data.url)
    try:
        host, port = fetch.check_scheme(url)
        try:
            fetch.resolve_routable(host, port)
        except fetch.FetchError as exc:
            if "cannot resolve" not in str(exc):
                raise
    except fetch.FetchError as exc:
        raise Unprocessable(str(exc), field="url") from None
    calendar = ExternalCalendar(city_id=city_id, url=url, name=data.name, kind=data.kind,
                                visibility=data.visibility, next_poll_at=clock.now())
    session.add(calendar)
    session.flush()
    return calendar


def get_calendar(session: Session, calendar_id: int, actor: Actor) -> ExternalCalendar:
    """The calendar, if the caller may read its city's calendars (404 otherwise)."""
    calendar = session.get(ExternalCalendar, calendar_id)
    if calendar is None or not policy.can_read_calendars(actor, calendar.city_id):
        raise NotFound(f"external calendar {calendar_id} does not exist")
    return calendar


def calendar_query(session: Session, city_id: int, actor: Actor) -> Any:
    _city_or_404(session, city_id)
    if not policy.can_read_calendars(actor, city_id):
        raise Forbidden(f"only city {city_id}'s own keys (or an admin) see its calendars")
    return (select(ExternalCalendar).where(ExternalCalendar.city_id == city_id)
            .order_by(col(ExternalCalendar.id)))


def _managed(session: Session, calendar_id: int, actor: Actor) -> ExternalCalendar:
    calendar = get_calendar(session, calendar_id, actor)
    if not policy.can_manage_calendars(actor, calendar.city_id):
        raise Forbidden(f"only city {calendar.city_id}'s coordinators (or an admin) may "
                        "change its calendars")
    return calendar


def delete_calendar(session: Session, calendar_id: int, actor: Actor) -> None:
    """Stop mirroring: the calendar and every event mirrored from it go."""
    calendar = _managed(session, calendar_id, actor)
    # The foreign key cascades too; deleting here keeps the session's view right.
    session.exec(delete(Event).where(col(Event.external_calendar_id) == calendar.id))
    feed_versions.touch(session, [calendar.city_id])  # a Core delete: no listener saw it
    session.delete(calendar)
    session.flush()


def poll_soon(session: Session, calendar_id: int, actor: Actor) -> ExternalCalendar:
    """Ask the worker to poll the calendar at its next round (it does not wait
    for a slow partner inside the request)."""
    calendar = _managed(session, calendar_id, actor)
    calendar.next_poll_at = clock.now()
    session.add(calendar)
    session.flush()
    return calendar


# Polling --------------------------------------------------------------------


def due_calendars(session: Session, now: datetime, limit: int = 100) -> list[int]:
    return list(session.exec(
        select(ExternalCalendar.id).where(col(ExternalCalendar.next_poll_at) <= now)
        .order_by(col(ExternalCalendar.next_poll_at)).limit(limit)
    ).all())  # type: ignore[arg-type]


def poll_calendar(sessions: Sessions, calendar_id: int, http: httpx.Client, *,
                  only_if_due: bool = False) -> CalendarStatus | None:
    """Fetch one calendar and mirror it; its new status (None if it was deleted, or,
    ``only_if_due``, if another worker has just taken it)."""
    settings = get_settings()
    with sessions() as session:
        calendar = _locked(session, calendar_id)
        if calendar is None or (only_if_due and calendar.next_poll_at > clock.now()):
            return None
        city = session.get(City, calendar.city_id)
        assert city is not None
        url, etag, last_modified = calendar.url, calendar.etag, calendar.last_modified
        city_zone = city.timezone
        # Pushed ahead before fetching, so a crash mid-poll waits a round, not a loop.
        calendar.next_poll_at = clock.now() + timedelta(
            minutes=settings.external_calendar_poll_minutes)
        session.add(calendar)
        session.commit()
    try:
        fetched = fetch.fetch(http, url, etag=etag, last_modified=last_modified,
                              timeout=settings.external_calendar_timeout,
                              max_bytes=settings.external_calendar_max_bytes)
        found = (None if fetched.body is None
                 else parse.occurrences(fetched.body, city_zone, clock.now()))
    except (fetch.FetchError, parse.ParseError) as exc:
        return _record_failure(sessions, calendar_id, str(exc))
    try:
        with sessions() as session:
            calendar = _locked(session, calendar_id)
            if calendar is None:
                return None
            now = clock.now()
            if found is not None:
                if _mirror(session, calendar, found, now):
                    calendar.last_changed_at = now
                calendar.etag, calendar.last_modified = fetched.etag, fetched.last_modified
            calendar.event_count = _count(session, calendar_id)
            calendar.status, calendar.error = CalendarStatus.ok, None
            calendar.last_polled_at = now
            session.add(calendar)
            session.commit()
            return CalendarStatus.ok
    except Exception as exc:
        log.exception("mirroring external calendar %s failed", calendar_id)
        return _record_failure(sessions, calendar_id, f"internal error: {type(exc).__name__}")


def _locked(session: Session, calendar_id: int) -> ExternalCalendar | None:
    return session.exec(
        select(ExternalCalendar).where(ExternalCalendar.id == calendar_id)
        .with_for_update().execution_options(populate_existing=True)
    ).first()


def _count(session: Session, calendar_id: int) -> int:
    return int(session.exec(
        select(func.count()).select_from(Event)
        .where(col(Event.external_calendar_id) == calendar_id)
    ).one())


def _record_failure(sessions: Sessions, calendar_id: int,
                    reason: str) -> CalendarStatus | None:
    log.warning("external calendar %s: %s", calendar_id, reason)
    with sessions() as session:
        calendar = _locked(session, calendar_id)
        if calendar is None:
            return None
        calendar.status, calendar.error = CalendarStatus.error, reason[:1000]
        calendar.last_polled_at = clock.now()
        session.add(calendar)
        session.commit()
    return CalendarStatus.error


def _mirror(session: Session, calendar: ExternalCalendar,
            found: list[parse.Occurrence], now: datetime) -> bool:
    """Make the calendar's events what the source says; whether anything changed."""
    existing = {e.external_uid: e for e in session.exec(
        select(Event).where(col(Event.external_calendar_id) == calendar.id))}
    changed = False
    for occurrence in found:
        values = {name: getattr(occurrence, name) for name in _MIRRORED_FIELDS}
        event = existing.pop(occurrence.uid, None)
        if event is None:
            event = Event(host_city_id=calendar.city_id, kind=calendar.kind,
                          visibility=calendar.visibility, external_calendar_id=calendar.id,
                          external_uid=occurrence.uid, created_at=now, updated_at=now,
                          **values)
        elif any(getattr(event, k) != v for k, v in values.items()):
            event.sqlmodel_update(values)
            event.version += 1
            event.sequence += 1
            event.updated_at = now
        else:
            continue
        if event.status == EventStatus.cancelled:
            event.cancelled_at = event.cancelled_at or now
            event.cancel_reason = CANCELLED_IN_SOURCE
        else:
            event.cancelled_at = event.cancel_reason = None
        session.add(event)
        changed = True
    for gone in existing.values():
        session.delete(gone)
        changed = True
    session.flush()
    return changed
