"""Rules for exchange events: plain functions over a session.

Who may see and change an event is ``app.events.policy``'s to say, so the
list, the single read, the feeds and the registrations all agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any, overload
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, union_all
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.cities.models import City, PartnershipStatus
from app.cities.service import find_partnership, get_partnership
from app.core import changes, clock
from app.core.actors import Actor
from app.core.db import loaded
from app.core.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    Unprocessable,
)
from app.core.etags import entity_tags
from app.events import policy
from app.events.changes import EventChanged
from app.events.models import (
    ALLOWED_TRANSITIONS,
    FINAL_STATUSES,
    MAX_EVENT_DURATION,
    Event,
    EventCreate,
    EventGuest,
    EventKind,
    EventPublic,
    EventStatus,
    EventUpdate,
    ExternalSource,
)
from app.events.wallclock import Moment, in_zone, lenient_instant, resolve, start_of_day

# Partnerships that no longer allow visits between the two cities.
CLOSED_PARTNERSHIPS = frozenset({PartnershipStatus.ended, PartnershipStatus.suspended})

# A change to any of these is one a calendar subscriber would notice.
SEQUENCED_FIELDS = (
    "title",
    "description",
    "venue",
    "status",
    "timezone",
    "all_day",
    "starts_at_local",
    "ends_at_local",
    "starts_at_utc",
    "ends_at_utc",
)


# Schedule -------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    timezone: str
    all_day: bool
    starts: Moment
    ends: Moment


def _check_span(starts: Moment, ends: Moment, end_field: str) -> None:
    if ends.utc <= starts.utc:
        raise Unprocessable(f"{end_field} must be after the start", field=end_field)
    if ends.utc - starts.utc > MAX_EVENT_DURATION:
        raise Unprocessable(
            f"an event lasts at most {MAX_EVENT_DURATION.days} days; split longer programmes",
            field=end_field,
        )


def timed_schedule(timezone: str, starts: Moment, ends: Moment) -> Schedule:
    _check_span(starts, ends, "ends_at")
    return Schedule(timezone=timezone, all_day=False, starts=starts, ends=ends)


def all_day_schedule(timezone: str, first_day: date, last_day: date) -> Schedule:
    """Whole days, ``last_day`` inclusive; stored as [first midnight, midnight after last)."""
    if last_day < first_day:
        raise Unprocessable("end_date must not be before start_date", field="end_date")
    zone = ZoneInfo(timezone)
    starts = start_of_day(first_day, zone)
    ends = start_of_day(last_day + timedelta(days=1), zone)
    _check_span(starts, ends, "end_date")
    return Schedule(timezone=timezone, all_day=True, starts=starts, ends=ends)


def _apply_schedule(event: Event, schedule: Schedule) -> None:
    event.timezone = schedule.timezone
    event.all_day = schedule.all_day
    event.starts_at_local = schedule.starts.local
    event.ends_at_local = schedule.ends.local
    event.starts_at_utc = schedule.starts.utc
    event.ends_at_utc = schedule.ends.utc


def _rescheduled(event: Event, changes: dict[str, Any]) -> Schedule:
    """The schedule after a PATCH: sent fields replace, the rest is kept.

    A new timezone keeps the wall-clock times (the coordinator corrects the zone,
    not the agenda), so kept times are resolved again in it and may fall into a
    gap there. Without a new zone, kept times keep their instants: re-reading an
    ambiguous local time that was given with an offset must not fail.
    """
    timezone = changes.get("timezone") or event.timezone
    zone = ZoneInfo(timezone)
    zone_changed = timezone != event.timezone
    all_day = changes.get("all_day", event.all_day)

    if all_day:
        for field in ("starts_at", "ends_at"):
            if field in changes:
                raise Unprocessable(
                    "an all-day event takes start_date/end_date, not starts_at/ends_at",
                    field=field,
                )
        if changes.get("start_date") is not None:
            first_day = changes["start_date"]
        elif event.all_day:
            first_day = event.first_day
        else:
            raise Unprocessable("an all-day event needs start_date", field="start_date")
        if changes.get("end_date") is not None:
            last_day = changes["end_date"]
        elif event.all_day and "end_date" not in changes:
            last_day = event.last_day
        else:
            last_day = first_day
        return all_day_schedule(timezone, first_day, last_day)

    for field in ("start_date", "end_date"):
        if field in changes:
            raise Unprocessable(
                f"{field} is for all-day events (all_day: true)", field=field
            )

    def moment(field: str, local: datetime, utc: datetime) -> Moment:
        if changes.get(field) is not None:
            return resolve(changes[field], zone, field)
        if event.all_day:
            raise Unprocessable(
                "an event that is no longer all-day needs starts_at and ends_at", field=field
            )
        return resolve(local, zone, field) if zone_changed else Moment(local, utc)

    starts = moment("starts_at", event.starts_at_local, event.starts_at_utc)
    ends = moment("ends_at", event.ends_at_local, event.ends_at_utc)
    return timed_schedule(timezone, starts, ends)


# Reading --------------------------------------------------------------------


def guest_ids_of(session: Session, event_ids: Iterable[int]) -> dict[int, list[int]]:
    """Guest city ids per event, ascending, in one query."""
    ids = list(event_ids)
    out: dict[int, list[int]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = session.exec(
        select(EventGuest.event_id, EventGuest.city_id)
        .where(col(EventGuest.event_id).in_(ids))
        .order_by(col(EventGuest.event_id), col(EventGuest.city_id))
    ).all()
    for event_id, city_id in rows:
        out[event_id].append(city_id)
    return out


def _in_window(
    query: SelectOfScalar[Any], table: Any, lo: datetime | None, hi: datetime | None
) -> SelectOfScalar[Any]:
    """Rows of ``table`` (events, or guest rows with their copied times) overlapping
    [lo, hi).

    Overlap is `starts < hi and ends > lo`. No event lasts longer than
    MAX_EVENT_DURATION, so `starts >= lo - MAX` holds too: a redundant bound that
    makes the scan of a (city, starts) index a bounded range instead of all of
    the city's history.
    """
    if hi is not None:
        query = query.where(col(table.starts_at_utc) < hi)
    if lo is not None:
        query = query.where(
            col(table.ends_at_utc) > lo, col(table.starts_at_utc) >= lo - MAX_EVENT_DURATION
        )
    return query


def _as_guest(
    city_id: int, lo: datetime | None = None, hi: datetime | None = None
) -> SelectOfScalar[int]:
    """Ids of the events the city is a guest of, within the window if given."""
    query = select(EventGuest.event_id).where(EventGuest.city_id == city_id)
    return _in_window(query, EventGuest, lo, hi)


def _involves(
    city_id: int, lo: datetime | None = None, hi: datetime | None = None
) -> ColumnElement[bool]:
    """The city hosts the event or is one of its guests.

    Written as one id set from two index range scans, (host, starts) on events
    and (city, starts) on guests, rather than `host = X OR id IN (guests)`:
    PostgreSQL cannot drive an OR with a subquery from an index and would scan
    every event in the window instead.
    """
    hosted = _in_window(select(Event.id).where(Event.host_city_id == city_id), Event, lo, hi)
    return col(Event.id).in_(union_all(hosted, _as_guest(city_id, lo, hi)))


def _visible_or_404(
    session: Session, event: Event | None, event_id: int, actor: Actor | None
) -> Event:
    if event is None or not can_see(session, actor, event):
        raise NotFound(f"event {event_id} does not exist")
    return event


class _GuestsOf(Sequence[int]):
    """An event's guest city ids, read when first asked for: the visibility rule
    needs them only for an event that is not public (a query saved on every read
    of a public one)."""

    def __init__(self, session: Session, event_id: int) -> None:
        self._session, self._event_id = session, event_id

    @cached_property
    def _ids(self) -> list[int]:
        return guest_ids_of(self._session, [self._event_id])[self._event_id]

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[int]: ...
    def __getitem__(self, index: int | slice) -> int | Sequence[int]:
        return self._ids[index]

    def __len__(self) -> int:
        return len(self._ids)


def can_see(session: Session, actor: Actor | None, event: Event) -> bool:
    """Whether the caller may know this event exists: the one visibility rule."""
    assert event.id is not None
    return policy.can_read_event(actor, event, _GuestsOf(session, event.id))


def get_event(session: Session, event_id: int, actor: Actor | None) -> Event:
    """The event if this caller may see it. A hidden event is 404, like a missing one."""
    return _visible_or_404(session, session.get(Event, event_id), event_id, actor)


def get_event_for_update(session: Session, event_id: int, actor: Actor | None) -> Event:
    """``get_event`` with the row locked until the transaction ends.

    The lock makes the If-Match check and the version bump one step: two PATCHes
    carrying the same ETag queue here, and the second sees the first's version.
    (SQLite has no row locks; there, write transactions begin IMMEDIATE and
    queue on the database lock instead.)
    """
    event = session.exec(
        select(Event)
        .where(Event.id == event_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    return refuse_external(_visible_or_404(session, event, event_id, actor))


def refuse_external(event: Event) -> Event:
    """An event mirrored from a partner's calendar changes only at its source.

    Every write on an event (edit, cancel, registrations, delegations) takes the
    event through here, so one check covers them all; the next poll would undo
    a local change anyway.
    """
    if event.external_calendar_id is not None:
        raise Conflict(
            f"event {event.id} is mirrored from external calendar "
            f"{event.external_calendar_id}; change it in its source calendar"
        )
    return event


@dataclass(frozen=True)
class EventFilters:
    city_id: int | None = None
    partnership_id: int | None = None
    kinds: Sequence[EventKind] = ()
    statuses: Sequence[EventStatus] = ()
    window_from: datetime | date | None = None
    window_to: datetime | date | None = None
    timezone: str | None = None


def window_bounds(
    session: Session, filters: EventFilters
) -> tuple[datetime | None, datetime | None]:
    """The window as UTC instants: dates and naive times are read in ``timezone``
    (default: the zone of ``city_id``, else UTC); a ``to`` date includes that day."""
    if filters.window_from is None and filters.window_to is None:
        return None, None
    name = filters.timezone
    if name is None and filters.city_id is not None:
        city = session.get(City, filters.city_id)
        name = city.timezone if city else None
    zone = ZoneInfo(name or "UTC")
    lo = hi = None
    if filters.window_from is not None:
        lo = lenient_instant(filters.window_from, zone)
    if filters.window_to is not None:
        to = filters.window_to
        if not isinstance(to, datetime):
            to = to + timedelta(days=1)
        hi = lenient_instant(to, zone)
    if lo is not None and hi is not None and hi <= lo:
        raise Unprocessable("`to` must be after `from`")
    return lo, hi


def event_query(
    session: Session, filters: EventFilters, actor: Actor | None
) -> SelectOfScalar[Event]:
    """Events this caller may see that match the filters, by start then id."""
    lo, hi = window_bounds(session, filters)
    query = _in_window(select(Event), Event, lo, hi)
    visible = policy.readable_events(actor)
    if visible is not None:
        query = query.where(visible)
    if filters.city_id is not None:
        query = query.where(_involves(filters.city_id, lo, hi))
    if filters.partnership_id is not None:
        try:
            partnership = get_partnership(session, filters.partnership_id)
        except NotFound:
            raise Unprocessable(
                f"partnership {filters.partnership_id} does not exist"
            ) from None
        query = query.where(
            _involves(partnership.city_a_id, lo, hi), _involves(partnership.city_b_id, lo, hi)
        )
    if filters.kinds:
        query = query.where(col(Event.kind).in_(list(filters.kinds)))
    if filters.statuses:
        query = query.where(col(Event.status).in_(list(filters.statuses)))
    return query.order_by(col(Event.starts_at_utc), col(Event.id))


# Writing --------------------------------------------------------------------


def _check_guests(session: Session, host: City, guest_ids: Iterable[int]) -> None:
    """Each guest exists, is not the host, and is twinned with the host by a
    partnership that is neither ended nor suspended."""
    for guest_id in guest_ids:
        if guest_id == host.id:
            raise Unprocessable(
                f"the host city {host.name} ({host.id}) cannot also be a guest",
                field="guest_city_ids",
            )
        guest = session.get(City, guest_id)
        if guest is None:
            raise Unprocessable(f"guest city {guest_id} does not exist", field="guest_city_ids")
        assert host.id is not None
        pair = f"{host.name} ({host.id}) and {guest.name} ({guest_id})"
        partnership = find_partnership(session, host.id, guest_id)
        if partnership is None:
            raise Unprocessable(
                f"{pair} have no partnership; a guest must be twinned with the host",
                field="guest_city_ids",
                city_ids=[host.id, guest_id],
            )
        if partnership.status in CLOSED_PARTNERSHIPS:
            raise Unprocessable(
                f"the partnership of {pair} (id {partnership.id}) is {partnership.status}; "
                "guests need a partnership that is neither ended nor suspended",
                field="guest_city_ids",
                city_ids=[host.id, guest_id],
                partnership_id=partnership.id,
            )


def _dedupe(ids: Iterable[int]) -> list[int]:
    return list(dict.fromkeys(ids))


def _deadline(value: datetime | None, zone: ZoneInfo) -> datetime | None:
    return None if value is None else resolve(value, zone, "registration_deadline").utc


def _require_host_rights(actor: Actor, city_id: int) -> None:
    if not policy.can_host_events(actor, city_id):
        raise Forbidden(f"this key may not change city {city_id}'s data")


def editable_event(session: Session, event_id: int, actor: Actor) -> Event:
    """The event, locked, if this caller may change it; 404 if it may not even see it."""
    event = get_event_for_update(session, event_id, actor)
    _require_host_rights(actor, event.host_city_id)
    return event


def create_event(session: Session, data: EventCreate, actor: Actor) -> Event:
    """Create an event; the host city must exist and every guest be twinned with it."""
    _require_host_rights(actor, data.host_city_id)
    host = session.get(City, data.host_city_id)
    if host is None:
        raise Unprocessable(f"host city {data.host_city_id} does not exist", field="host_city_id")
    guest_ids = _dedupe(data.guest_city_ids)
    _check_guests(session, host, guest_ids)
    return insert_event(session, data, host, guest_ids)


def insert_event(
    session: Session,
    data: EventCreate,
    host: City,
    guest_ids: list[int],
    status: EventStatus | None = None,
) -> Event:
    """Store a checked event and tell its followers. ``status`` overrides the
    body's (a proposal is created ``proposed``, which no body may ask for)."""

    timezone = data.timezone or host.timezone
    zone = ZoneInfo(timezone)
    if data.all_day:
        assert data.start_date is not None
        schedule = all_day_schedule(timezone, data.start_date, data.end_date or data.start_date)
    else:
        assert data.starts_at is not None and data.ends_at is not None
        schedule = timed_schedule(
            timezone,
            resolve(data.starts_at, zone, "starts_at"),
            resolve(data.ends_at, zone, "ends_at"),
        )
    event = Event.model_validate(
        data,
        update={
            "registration_deadline": _deadline(data.registration_deadline, zone),
            "timezone": timezone,
            "all_day": schedule.all_day,
            "starts_at_local": schedule.starts.local,
            "ends_at_local": schedule.ends.local,
            "starts_at_utc": schedule.starts.utc,
            "ends_at_utc": schedule.ends.utc,
            "status": status or data.status,
        },
    )
    session.add(event)
    session.flush()
    assert event.id is not None
    for guest_id in guest_ids:
        session.add(EventGuest(event_id=event.id, city_id=guest_id))
    session.flush()
    changes.record(session, EventChanged(before=None, after=to_public(event, guest_ids)))
    return event


# ETags ------------------------------------------------------------------------


def etag(event: Event) -> str:
    """A strong validator that changes with every change to the event."""
    return f'"{event.id}-{event.version}"'


def check_if_match(event: Event, if_match: str | None, *, required: bool) -> None:
    """428 without ``If-Match`` (when required), 412 when it names another version.

    Weak tags (``W/"..."``) are compared by their opaque part (``entity_tags``).
    """
    if if_match is None or not if_match.strip():
        if required:
            raise PreconditionRequired(
                "send If-Match with the ETag from your last GET of this event, so that "
                "changes made meanwhile by someone else are not overwritten"
            )
        return
    if if_match.strip() == "*":
        return
    current = etag(event)
    if current not in entity_tags(if_match):
        raise PreconditionFailed(
            f"event {event.id} has changed since you read it (it is now version "
            f"{event.version}, ETag {current}); GET it again and reapply your change",
            current_etag=current,
        )


def _snapshot(event: Event) -> dict[str, Any]:
    return {f: getattr(event, f) for f in SEQUENCED_FIELDS}


def _touch(event: Event, before_sequenced: dict[str, Any], changed: bool) -> None:
    if _snapshot(event) != before_sequenced:
        event.sequence += 1
        changed = True
    if changed:
        event.version += 1
        event.updated_at = clock.now()


_NOT_REMOVABLE = ("kind", "title", "status", "visibility", "chaperone_ratio", "all_day",
                  "timezone", "starts_at", "ends_at", "start_date", "guest_city_ids")


def update_event(
    session: Session, event_id: int, data: EventUpdate, actor: Actor, *, if_match: str | None
) -> Event:
    """Apply a PATCH sent with ``If-Match``: status moves forward only; schedule and
    guests are re-checked."""
    event = editable_event(session, event_id, actor)
    check_if_match(event, if_match, required=True)
    _refuse_if_proposed(event)
    if event.status in FINAL_STATUSES:
        raise Conflict(f"event {event.id} is {event.status}; it can no longer change")
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    for field in _NOT_REMOVABLE:
        if field in changes and changes[field] is None:
            raise Unprocessable(f"{field} cannot be removed", field=field)

    assert event.id is not None
    before_public = to_public(event, guest_ids_of(session, [event.id])[event.id])
    before = _snapshot(event)
    changed = False

    new_status = changes.pop("status", None)
    if new_status is not None and new_status != event.status:
        if new_status == EventStatus.cancelled:
            raise Unprocessable(
                "cancel an event with POST /api/v1/events/{id}/cancel and a reason",
                field="status",
            )
        allowed = ALLOWED_TRANSITIONS[event.status]
        if new_status not in allowed:
            nexts = ", ".join(sorted(allowed)) or "none"
            raise Conflict(
                f"an event cannot go from {event.status} to {new_status}; allowed next: "
                f"{nexts} (or cancel it)"
            )
        event.status = new_status

    schedule_fields = {"timezone", "all_day", "starts_at", "ends_at", "start_date", "end_date"}
    if schedule_fields & changes.keys():
        _apply_schedule(event, _rescheduled(event, changes))
    zone = ZoneInfo(event.timezone)

    guest_ids = changes.pop("guest_city_ids", None)
    if guest_ids is not None:
        assert event.id is not None
        wanted = _dedupe(guest_ids)
        current = before_public.guest_city_ids
        added = [g for g in wanted if g not in current]
        removed = [g for g in current if g not in wanted]
        host = session.get(City, event.host_city_id)
        assert host is not None
        # Only new guests are checked: a partnership suspended after the event was
        # planned must not block fixing a typo in the title.
        _check_guests(session, host, added)
        for city_id in removed:
            guest = session.get(EventGuest, (event.id, city_id))
            if guest is not None:
                session.delete(guest)
        for city_id in added:
            session.add(EventGuest(event_id=event.id, city_id=city_id))
        changed = changed or bool(added or removed)

    if "registration_deadline" in changes:
        deadline = _deadline(changes["registration_deadline"], zone)
        changed = changed or deadline != event.registration_deadline
        event.registration_deadline = deadline

    for field in ("kind", "title", "description", "venue", "capacity", "chaperone_ratio",
                  "visibility"):
        if field in changes and getattr(event, field) != changes[field]:
            setattr(event, field, changes[field])
            changed = True

    _touch(event, before, changed)
    session.add(event)
    session.flush()
    _record_change(session, event, before_public)
    return event


def cancel_event(
    session: Session, event_id: int, reason: str, actor: Actor, *, if_match: str | None = None
) -> Event:
    """Cancel, keeping the record. Cancelling a cancelled event changes nothing.
    ``If-Match`` is checked when sent."""
    event = editable_event(session, event_id, actor)
    check_if_match(event, if_match, required=False)
    if event.status == EventStatus.cancelled:
        return event
    _refuse_if_proposed(event)
    if event.status == EventStatus.completed:
        raise Conflict(f"event {event.id} is completed; a completed event cannot be cancelled")
    assert event.id is not None
    before_public = to_public(event, guest_ids_of(session, [event.id])[event.id])
    before = _snapshot(event)
    event.status = EventStatus.cancelled
    event.cancelled_at = clock.now()
    event.cancel_reason = reason
    _touch(event, before, True)
    session.add(event)
    session.flush()
    _record_change(session, event, before_public)
    return event


def change_event(session: Session, event: Event, change: Callable[[Event], None]) -> Event:
    """Apply ``change`` to an event the caller has locked and checked, as a PATCH
    would: bump its version (and its sequence if subscribers would notice), and
    tell its followers. For moves that are not PATCHes (a proposal's answers)."""
    assert event.id is not None
    before_public = to_public(event, guest_ids_of(session, [event.id])[event.id])
    before = _snapshot(event)
    change(event)
    _touch(event, before, True)
    session.add(event)
    session.flush()
    _record_change(session, event, before_public)
    return event


def reschedule(event: Event, dates: dict[str, Any]) -> None:
    """Move the event to these dates (the fields of a PATCH's schedule), checked
    as a PATCH checks them, in the event's own zone."""
    _apply_schedule(event, _rescheduled(event, dates))


def _refuse_if_proposed(event: Event) -> None:
    """A proposal's terms change only through its negotiation, so that the log
    both cities read is the whole story (app.events.proposals)."""
    if event.status == EventStatus.proposed:
        raise Conflict(
            f"event {event.id} is a proposal under negotiation; answer it with "
            f"POST /api/v1/events/{event.id}/accept, /counter, /decline or /withdraw"
        )


def _record_change(session: Session, event: Event, before: EventPublic) -> None:
    """Tell the event's followers, if anything changed (a new version)."""
    assert event.id is not None
    if event.version != before.version:
        after = to_public(event, guest_ids_of(session, [event.id])[event.id])
        changes.record(session, EventChanged(before=before, after=after))


# Responses --------------------------------------------------------------------


# What the API view takes from the row as it is; the rest is derived below.
_STORED_AS_SHOWN = tuple(
    name for name in EventPublic.model_fields
    if name in Event.model_fields and name != "registration_deadline"
)
_DERIVED_FROM = ("timezone", "registration_deadline", "starts_at_utc", "ends_at_utc",
                 "all_day", "external_calendar_id", "external_uid")
_READ = tuple(dict.fromkeys(_STORED_AS_SHOWN + _DERIVED_FROM))


def to_public(event: Event, guest_ids: Sequence[int]) -> EventPublic:
    """The API view: times local to the event's zone, with their offsets.

    Built by the constructor from the fields both models share, read from the row
    in one go (``loaded``): SQLModel's ``model_validate`` from a row costs 2.5
    times as much, on every event of every list page."""
    row = loaded(event, _READ)
    zone = ZoneInfo(row["timezone"])
    deadline = row["registration_deadline"]
    all_day = row["all_day"]
    calendar_id = row["external_calendar_id"]
    return EventPublic(
        **{name: row[name] for name in _STORED_AS_SHOWN},
        guest_city_ids=list(guest_ids),
        registration_deadline=in_zone(deadline, zone) if deadline else None,
        starts_at=in_zone(row["starts_at_utc"], zone),
        ends_at=in_zone(row["ends_at_utc"], zone),
        start_date=event.first_day if all_day else None,
        end_date=event.last_day if all_day else None,
        external=None if calendar_id is None else ExternalSource(
            calendar_id=calendar_id, uid=row["external_uid"] or ""),
    )


def public_page(session: Session, events: Sequence[Event]) -> list[EventPublic]:
    guests = guest_ids_of(session, [e.id for e in events if e.id is not None])
    return [to_public(e, guests[e.id or 0]) for e in events]

