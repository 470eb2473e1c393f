"""Rules for an event's programme: items within the event, for everyone, a role or
named people, written by the host.

Every change to an item also bumps its event's ``version`` and ``updated_at``, as
an edit of the event would: that is what the calendar feeds (``app.calendars``)
watch, so an item's change reaches every feed that shows it, validators included.
When the event moves, its items follow (``follow_event``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.core import changes, clock
from app.core.actors import Actor
from app.core.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    Unprocessable,
)
from app.core.etags import entity_tags
from app.events.changes import EventChanged
from app.events.models import Event
from app.events.service import get_event, get_event_for_update, guest_ids_of
from app.events.wallclock import Moment, in_zone, resolve
from app.participants.models import ACTIVE, HOLDING, Participant, Registration
from app.programme import policy
from app.programme.changes import ProgrammeChanged
from app.programme.models import (
    Audience,
    NamedPerson,
    ProgrammeItem,
    ProgrammeItemCreate,
    ProgrammeItemPerson,
    ProgrammeItemPublic,
    ProgrammeItemUpdate,
    check_audience,
)

# Fields whose change is a change of the item (its SEQUENCE, its ETag).
_TRACKED = ("title", "notes", "place", "starts_at_local", "ends_at_local", "starts_at_utc",
            "ends_at_utc", "audience", "role", "public")


# Reading ----------------------------------------------------------------------


def _visible_items(session: Session, actor: Actor | None, event: Event) -> Any:
    """The condition on items this caller sees of a visible event (None: all)."""
    assert event.id is not None
    if policy.sees_every_item(actor, event, guest_ids_of(session, [event.id])[event.id]):
        return None
    return col(ProgrammeItem.public).is_(True)


def programme_query(session: Session, event_id: int, actor: Actor | None
                    ) -> tuple[Event, SelectOfScalar[ProgrammeItem]]:
    """The event, and the query for its items this caller may see, in time order;
    404 if the event is hidden."""
    event = get_event(session, event_id, actor)
    query = select(ProgrammeItem).where(ProgrammeItem.event_id == event_id)
    visible = _visible_items(session, actor, event)
    if visible is not None:
        query = query.where(visible)
    return event, query.order_by(col(ProgrammeItem.starts_at_utc), col(ProgrammeItem.id))


def _item_or_404(session: Session, item_id: int, actor: Actor | None, *, lock: bool) -> tuple[
        ProgrammeItem, Event]:
    """The item and its event, if this caller may see both; a hidden one is 404."""
    item = session.get(ProgrammeItem, item_id)
    missing = NotFound(f"programme item {item_id} does not exist")
    if item is None:
        raise missing
    try:
        event = (get_event_for_update if lock else get_event)(session, item.event_id, actor)
    except NotFound:
        raise missing from None
    if lock:
        # Read again behind the event's lock, which every writer of its programme
        # takes: what If-Match is checked against is then the latest commit.
        item = session.exec(select(ProgrammeItem).where(ProgrammeItem.id == item_id)
                            .execution_options(populate_existing=True)).first()
    if item is None or (not item.public and _visible_items(session, actor, event) is not None):
        raise missing
    return item, event


def get_item(session: Session, item_id: int, actor: Actor | None) -> tuple[ProgrammeItem, Event]:
    return _item_or_404(session, item_id, actor, lock=False)


# Writing ----------------------------------------------------------------------


def _require_writable(actor: Actor, event: Event) -> None:
    """The host writes, while the event can still change (mirrored events are refused
    on the way in, by ``get_event_for_update``)."""
    if not policy.can_write_programme(actor, event):
        raise Forbidden(f"this key may not change the programme of event {event.id}")
    if not event.is_active:
        raise Conflict(f"event {event.id} is {event.status}; its programme can no longer change")


def _within(event: Event, starts: Moment, ends: Moment) -> None:
    if ends.utc <= starts.utc:
        raise Unprocessable("ends_at must be after starts_at", field="ends_at")
    if starts.utc < event.starts_at_utc or ends.utc > event.ends_at_utc:
        raise Unprocessable(
            f"a programme item must lie within its event: {_span(event)}",
            field="starts_at" if starts.utc < event.starts_at_utc else "ends_at",
        )


def _span(event: Event) -> str:
    if event.all_day:
        return f"{event.first_day} to {event.last_day} ({event.timezone})"
    zone = ZoneInfo(event.timezone)
    return (f"{in_zone(event.starts_at_utc, zone).isoformat(timespec='minutes')} to "
            f"{in_zone(event.ends_at_utc, zone).isoformat(timespec='minutes')} "
            f"({event.timezone})")


def _check_people(session: Session, event: Event, ids: Sequence[int]) -> list[int]:
    """Named people, once each; every one holds a registration at the event
    (any active status, the waitlist included)."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return wanted
    registered = set(session.exec(
        select(Registration.participant_id).where(
            Registration.event_id == event.id,
            col(Registration.participant_id).in_(wanted),
            col(Registration.status).in_([str(s) for s in ACTIVE]),
        )
    ).all())
    strangers = [i for i in wanted if i not in registered]
    if strangers:
        raise Unprocessable(
            f"participants {strangers} hold no registration at event {event.id}; "
            "name only people registered for it",
            field="participant_ids",
            participant_ids=strangers,
        )
    return wanted


def _people_of(session: Session, item_id: int) -> list[int]:
    return list(session.exec(
        select(ProgrammeItemPerson.participant_id)
        .where(ProgrammeItemPerson.item_id == item_id)
        .order_by(col(ProgrammeItemPerson.participant_id))
    ).all())


def _set_people(session: Session, item: ProgrammeItem, wanted: Sequence[int]) -> None:
    assert item.id is not None
    current = _people_of(session, item.id)
    for participant_id in current:
        if participant_id not in wanted:
            found = session.get(ProgrammeItemPerson, (item.id, participant_id))
            session.delete(found)
    for participant_id in wanted:
        if participant_id not in current:
            session.add(ProgrammeItemPerson(item_id=item.id, participant_id=participant_id))


def _bump_event(session: Session, event: Event) -> None:
    """The event's programme changed: so did the event, for the feeds that show it
    (its version is in their fingerprints, its ``updated_at`` in their stamp)."""
    event.version += 1
    event.updated_at = clock.now()
    session.add(event)


def _editable_event(session: Session, event_id: int, actor: Actor) -> Event:
    event = get_event_for_update(session, event_id, actor)
    _require_writable(actor, event)
    return event


def _moment(event: Event, sent: dict[str, Any], field: str, kept: Moment | None = None
            ) -> Moment:
    """The sent time in the event's zone, or the kept one (whose instant stands, even
    for a time that was ambiguous and given with an offset)."""
    if field not in sent and kept is not None:
        return kept
    return resolve(sent[field], ZoneInfo(event.timezone), field)


def _place_times(item: ProgrammeItem, starts: Moment, ends: Moment) -> None:
    item.starts_at_local, item.starts_at_utc = starts.local, starts.utc
    item.ends_at_local, item.ends_at_utc = ends.local, ends.utc


def create_item(
    session: Session, event_id: int, data: ProgrammeItemCreate, actor: Actor
) -> ProgrammeItem:
    event = _editable_event(session, event_id, actor)
    times = data.model_dump(include={"starts_at", "ends_at"})
    starts, ends = _moment(event, times, "starts_at"), _moment(event, times, "ends_at")
    _within(event, starts, ends)
    people = _check_people(session, event, data.participant_ids)
    item = ProgrammeItem(
        event_id=event_id, title=data.title, notes=data.notes, place=data.place,
        audience=data.audience, role=data.role, public=data.public,
        starts_at_local=starts.local, ends_at_local=ends.local,
        starts_at_utc=starts.utc, ends_at_utc=ends.utc,
    )
    session.add(item)
    session.flush()
    _set_people(session, item, people)
    _bump_event(session, event)
    session.flush()
    _record(session, "added", item, _concerned(session, item))
    return item


def update_item(
    session: Session, item_id: int, data: ProgrammeItemUpdate, actor: Actor, *,
    if_match: str | None,
) -> ProgrammeItem:
    """Apply a PATCH sent with ``If-Match``; times and people are checked again."""
    item, event = _item_or_404(session, item_id, actor, lock=True)
    _require_writable(actor, event)
    check_if_match(item, if_match, required=True)
    sent: dict[str, Any] = data.model_dump(exclude_unset=True)
    for field in ("title", "starts_at", "ends_at", "audience", "public"):
        if field in sent and sent[field] is None:
            raise Unprocessable(f"{field} cannot be removed", field=field)
    assert item.id is not None
    before_people = _people_of(session, item.id)
    before_concerned = _concerned(session, item)
    before = {f: getattr(item, f) for f in _TRACKED}

    if "starts_at" in sent or "ends_at" in sent:
        starts = _moment(event, sent, "starts_at",
                         Moment(item.starts_at_local, item.starts_at_utc))
        ends = _moment(event, sent, "ends_at", Moment(item.ends_at_local, item.ends_at_utc))
        _within(event, starts, ends)
        _place_times(item, starts, ends)
    # Only newly named people are checked: a registration cancelled since must not
    # block fixing a typo in the title.
    people = list(dict.fromkeys(_new_audience(item, sent, before_people)))
    _check_people(session, event, [p for p in people if p not in before_people])
    for field in ("title", "notes", "place", "public"):
        if field in sent:
            setattr(item, field, sent[field])

    if {f: getattr(item, f) for f in _TRACKED} == before and sorted(people) == before_people:
        return item
    _set_people(session, item, people)
    item.sequence += 1
    item.updated_at = clock.now()
    session.add(item)
    _bump_event(session, event)
    session.flush()
    _record(session, "changed", item, before_concerned | _concerned(session, item))
    return item


def _new_audience(item: ProgrammeItem, sent: dict[str, Any], people: list[int]) -> list[int]:
    """Set the item's audience and role from a PATCH; the named people it will have.

    A new audience takes its role or people from the same PATCH; without one, a
    role or list is a change within the current audience."""
    audience = sent.get("audience", item.audience)
    if "audience" in sent:
        role, named = sent.get("role"), sent.get("participant_ids") or []
    else:
        role = sent.get("role", item.role)
        named = sent["participant_ids"] if sent.get("participant_ids") is not None else people
    try:
        check_audience(audience, role, named)
    except ValueError as error:
        raise Unprocessable(str(error), field="audience") from None
    item.audience, item.role = audience, role
    return list(named)


def delete_item(session: Session, item_id: int, actor: Actor, *, if_match: str | None) -> None:
    """Remove an item; ``If-Match`` is checked when sent."""
    item, event = _item_or_404(session, item_id, actor, lock=True)
    _require_writable(actor, event)
    check_if_match(item, if_match, required=False)
    concerned = _concerned(session, item)
    session.delete(item)
    _bump_event(session, event)
    session.flush()
    _record(session, "removed", item, concerned)


# Whom an item concerns -------------------------------------------------------------


def _concerned(session: Session, item: ProgrammeItem) -> set[int]:
    """The people an item is for: named people, or those holding a place at the event
    (in the item's role, if it has one)."""
    if item.audience == Audience.people:
        assert item.id is not None
        return set(_people_of(session, item.id))
    query = select(Registration.participant_id).where(
        Registration.event_id == item.event_id,
        col(Registration.status).in_([str(s) for s in HOLDING]),
    )
    if item.audience == Audience.role:
        query = query.where(Registration.role == item.role)
    return set(session.exec(query).all())


def _record(
    session: Session, action: Literal["added", "changed", "removed"], item: ProgrammeItem,
    concerned: Iterable[int],
) -> None:
    assert item.id is not None
    changes.record(session, ProgrammeChanged(
        event_id=item.event_id, item_id=item.id, action=action, title=item.title,
        starts_at=item.starts_at_local, ends_at=item.ends_at_local, place=item.place,
        public=item.public, participant_ids=tuple(sorted(concerned)),
    ))


# ETags ---------------------------------------------------------------------------------


def etag(item: ProgrammeItem) -> str:
    return f'"item-{item.id}-{item.sequence}"'


def check_if_match(item: ProgrammeItem, if_match: str | None, *, required: bool) -> None:
    """428 without ``If-Match`` (when required), 412 when it names another version."""
    if if_match is None or not if_match.strip():
        if required:
            raise PreconditionRequired(
                "send If-Match with the ETag from your last GET of this programme item"
            )
        return
    current = etag(item)
    if if_match.strip() != "*" and current not in entity_tags(if_match):
        raise PreconditionFailed(
            f"programme item {item.id} has changed since you read it (ETag now {current}); "
            "GET it again and reapply your change",
            current_etag=current,
        )


# The event moves ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Move:
    """How an event's wall-clock schedule changed: moved as a whole by ``shift``
    (zero when only resized), perhaps into another zone."""

    zone: ZoneInfo
    zone_changed: bool
    shift: timedelta

    @classmethod
    def of(cls, change: EventChanged) -> _Move | None:
        before, after = change.before, change.after
        if before is None or (before.timezone, before.starts_at, before.ends_at) == (
                after.timezone, after.starts_at, after.ends_at):
            return None
        old_start, old_end = (t.replace(tzinfo=None) for t in (before.starts_at, before.ends_at))
        new_start, new_end = (t.replace(tzinfo=None) for t in (after.starts_at, after.ends_at))
        whole = new_end - new_start == old_end - old_start
        return cls(ZoneInfo(after.timezone), after.timezone != before.timezone,
                   new_start - old_start if whole else timedelta())

    def moments(self, item: ProgrammeItem) -> tuple[Moment, Moment]:
        """The item's times after the move; 422 if one does not name one instant."""
        if not self.shift and not self.zone_changed:
            return (Moment(item.starts_at_local, item.starts_at_utc),
                    Moment(item.ends_at_local, item.ends_at_utc))
        return (resolve(item.starts_at_local + self.shift, self.zone, "starts_at"),
                resolve(item.ends_at_local + self.shift, self.zone, "ends_at"))


@changes.receiver(EventChanged)
def follow_event(change: EventChanged, session: Session) -> None:
    """The event moved or changed length: its programme stays right, or the change is
    refused.

    Moved as a whole (same length in wall-clock time): every item moves by the same
    offset, and its SEQUENCE goes up. Resized: items keep their wall-clock times
    (in a new zone, too, as the event's own times do), and if one would fall
    outside the event, the change is refused with 409 naming the items. No
    ProgrammeChanged is recorded for the shift: the event's own change tells it.
    """
    move = _Move.of(change)
    if move is None:
        return
    event = session.get(Event, change.after.id)
    assert event is not None
    items = session.exec(select(ProgrammeItem).where(
        ProgrammeItem.event_id == event.id).order_by(col(ProgrammeItem.starts_at_utc))).all()
    outside = []
    now = clock.now()
    for item in items:
        try:
            starts, ends = move.moments(item)
            _within(event, starts, ends)
        except Unprocessable:
            outside.append(item)
            continue
        if (starts.utc, starts.local, ends.utc, ends.local) != (
                item.starts_at_utc, item.starts_at_local, item.ends_at_utc, item.ends_at_local):
            _place_times(item, starts, ends)
            item.sequence += 1
            item.updated_at = now
            session.add(item)
    if outside:
        names = "; ".join(f"{i.id} {i.title!r} ({i.starts_at_local:%Y-%m-%d %H:%M})"
                          for i in outside)
        raise Conflict(
            f"event {event.id}'s programme would lie outside the new schedule: {names}. "
            "Move or remove these items first, or move the event as a whole (same length), "
            "which takes its programme along",
            item_ids=[i.id for i in outside],
        )


# Responses -----------------------------------------------------------------------------


def to_public(
    session: Session, event: Event, items: Sequence[ProgrammeItem], actor: Actor | None
) -> list[ProgrammeItemPublic]:
    """The API view, with the named people the caller may see."""
    named = _named_people(session, event, [i.id for i in items
                                           if i.audience == Audience.people and i.id], actor)
    zone = ZoneInfo(event.timezone)
    return [
        ProgrammeItemPublic(
            id=item.id or 0, event_id=item.event_id, title=item.title, notes=item.notes,
            place=item.place, timezone=event.timezone,
            starts_at=in_zone(item.starts_at_utc, zone), ends_at=in_zone(item.ends_at_utc, zone),
            audience=item.audience, role=item.role,
            people=named.get(item.id or 0) if item.audience == Audience.people else None,
            public=item.public, sequence=item.sequence,
            created_at=item.created_at, updated_at=item.updated_at,
        )
        for item in items
    ]


def _named_people(
    session: Session, event: Event, item_ids: list[int], actor: Actor | None
) -> dict[int, list[NamedPerson]]:
    if not item_ids or actor is None or not policy.shows_named_people(actor):
        return {}
    out: dict[int, list[NamedPerson]] = {i: [] for i in item_ids}
    rows = session.exec(
        select(ProgrammeItemPerson.item_id, Participant.id, Participant.full_name,
               Participant.home_city_id)
        .join(Participant, col(Participant.id) == ProgrammeItemPerson.participant_id)
        .where(col(ProgrammeItemPerson.item_id).in_(item_ids))
        .order_by(col(ProgrammeItemPerson.item_id), col(Participant.id))
    ).all()
    for item_id, person_id, name, home in rows:
        if policy.may_see_named_person(actor, event, home):
            out[item_id].append(NamedPerson(id=person_id or 0, full_name=name))
    return out
