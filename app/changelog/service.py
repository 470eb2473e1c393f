"""Writing the change log (in the changing transaction) and reading it by cursor.

Every change fact of events, registrations and twinnings becomes one
``change_log`` row, with the cities that may see it. The outbox builds its
webhooks from the same entry (``entry_of``), so a webhook partner and a
polling partner are told the same facts by the same rule.

Reading in order without gaps: ids are handed out when a transaction inserts,
not when it commits, so "id > cursor" alone would skip a change whose
transaction started first and committed after a later one had been read. On
PostgreSQL each row carries its transaction's id (``txid``), and a page only
holds rows whose transaction is older than every transaction still running
(``pg_snapshot_xmin``): such rows are final, no more can appear among them,
and the cursor (txid, id) never passes a change that may still commit. A long
transaction elsewhere holds the stream back until it ends; it never loses a
change. On SQLite writers hold the database lock from their first write to
commit (BEGIN IMMEDIATE), so ids are already in commit order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, exists, insert, literal_column, or_, text, tuple_
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from app.changelog.models import ChangeAudience, ChangeEntry, ChangeKind, ChangePublic
from app.cities.changes import PartnershipChanged
from app.core import changes, clock
from app.core.actors import Actor
from app.core.changes import Change
from app.core.errors import Unprocessable
from app.events.changes import EventChanged
from app.events.models import Event, Visibility
from app.events.policy import can_city_read
from app.events.service import guest_ids_of
from app.participants.changes import RegistrationChanged
from app.participants.models import Participant

# Fields every change moves: bookkeeping, not news.
_BOOKKEEPING = frozenset({"version", "sequence", "updated_at"})
_CACHE = "changelog.entries"
MAX_LIMIT = 500


@dataclass
class Entry:
    """A change as it is logged: what, and who may see it."""

    kind: ChangeKind
    action: str
    subject_id: int
    before: dict[str, Any] | None
    after: dict[str, Any]
    public: bool
    audience: list[int]
    changed: list[str] = field(default_factory=list)
    id: int = 0
    recorded_at: Any = None

    def public_view(self) -> ChangePublic:
        return ChangePublic.model_validate(self, from_attributes=True)


def _changed(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    if before is None:
        return []
    return [k for k, v in after.items() if k in before and before[k] != v
            and k not in _BOOKKEEPING]


def _event_entry(change: EventChanged, session: Session) -> Entry:
    event = change.after
    # A private event is the host's business only; a public one is everyone's, and the
    # guests it lost may still see it.
    audience = [event.host_city_id]
    if event.visibility != Visibility.private:
        audience += event.guest_city_ids
    if event.visibility == Visibility.public:
        audience += change.guests_removed
    before = change.before.model_dump(mode="json") if change.before else None
    after = event.model_dump(mode="json")
    action = "created" if change.created else "cancelled" if change.cancelled else "updated"
    return Entry(ChangeKind.event, action, event.id, before, after,
                 public=event.visibility == Visibility.public,
                 audience=list(dict.fromkeys(audience)), changed=_changed(before, after))


def _registration_entry(change: RegistrationChanged, session: Session) -> Entry:
    """The host, and the participant's home city if it may see the event."""
    audience: list[int] = []
    event = session.get(Event, change.event_id)
    participant = session.get(Participant, change.participant_id)
    if event is not None:
        audience.append(event.host_city_id)
        guests = guest_ids_of(session, [change.event_id])[change.event_id]
        if participant is not None and can_city_read(participant.home_city_id, event, guests):
            audience.append(participant.home_city_id)
    after = {
        "id": change.registration_id,
        "event_id": change.event_id,
        "participant_id": change.participant_id,
        "home_city_id": participant.home_city_id if participant else None,
        "role": str(change.role),
        "status": str(change.status),
        "is_minor": change.is_minor,
        "updated_at": change.updated_at.isoformat(),
    }
    before = None if change.before is None else {"status": str(change.before)}
    return Entry(ChangeKind.registration, "created" if before is None else "updated",
                 change.registration_id, before, after, public=False,
                 audience=list(dict.fromkeys(audience)), changed=_changed(before, after))


def _partnership_entry(change: PartnershipChanged, session: Session) -> Entry:
    after = {
        "id": change.partnership_id,
        "city_a_id": change.city_a_id,
        "city_b_id": change.city_b_id,
        "status": str(change.status),
        "established_on": change.established_on,
    }
    before = None if change.before is None else {"status": str(change.before)}
    return Entry(ChangeKind.partnership, "created" if before is None else "updated",
                 change.partnership_id, before, after, public=False,
                 audience=[change.city_a_id, change.city_b_id], changed=_changed(before, after))


_BUILDERS: dict[type[Change], Any] = {
    EventChanged: _event_entry,
    RegistrationChanged: _registration_entry,
    PartnershipChanged: _partnership_entry,
}


def entry_of(session: Session, change: Change) -> Entry:
    """The logged entry of this fact, written on first call in this transaction.

    The change log's receiver and the outbox both ask; whichever runs first
    writes the row, the other gets the same entry (receivers run in no set order).
    """
    cache: dict[int, tuple[Change, Entry]] = session.info.setdefault(_CACHE, {})
    if id(change) in cache:
        return cache[id(change)][1]
    entry = _BUILDERS[type(change)](change, session)
    _write(session, entry)
    cache[id(change)] = (change, entry)  # the fact is kept, so its id() is not reused
    return entry


def _txid(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return literal_column("pg_current_xact_id()::text::bigint")
    return 0


def _write(session: Session, entry: Entry) -> None:
    entry.recorded_at = clock.now()
    conn = session.connection()
    table = ChangeEntry.__table__  # type: ignore[attr-defined]
    row = conn.execute(
        insert(table).values(
            txid=_txid(session), kind=entry.kind, action=entry.action,
            subject_id=entry.subject_id, public=entry.public, before=entry.before,
            after=entry.after, changed=entry.changed, recorded_at=entry.recorded_at,
        ).returning(table.c.id)
    ).one()
    entry.id = int(row[0])
    if entry.audience:
        conn.execute(insert(ChangeAudience.__table__),  # type: ignore[attr-defined]
                     [{"change_id": entry.id, "city_id": c} for c in entry.audience])


@event.listens_for(OrmSession, "after_transaction_end")
def _forget(session: OrmSession, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost transaction, not a savepoint
        session.info.pop(_CACHE, None)


@changes.receiver(EventChanged)
def log_event(change: EventChanged, session: Session) -> None:
    entry_of(session, change)


@changes.receiver(RegistrationChanged)
def log_registration(change: RegistrationChanged, session: Session) -> None:
    entry_of(session, change)


@changes.receiver(PartnershipChanged)
def log_partnership(change: PartnershipChanged, session: Session) -> None:
    entry_of(session, change)


# Reading ---------------------------------------------------------------------------

_CURSOR = re.compile(r"^(\d{1,19})\.(\d{1,19})$")


def parse_cursor(value: str | None) -> tuple[int, int] | None:
    """``None`` for "now"; (txid, id) otherwise; a clear 422 for anything else."""
    if value is None or value == "":
        return (0, 0)
    if value == "now":
        return None
    match = _CURSOR.match(value)
    if match is None:
        raise Unprocessable("since must be a cursor this endpoint returned, or 'now' to "
                            "start from the present.", field="since", where="query")
    return int(match[1]), int(match[2])


def _format(cursor: tuple[int, int]) -> str:
    return f"{cursor[0]}.{cursor[1]}"


def _horizon(session: Session) -> int | None:
    """PostgreSQL: the oldest transaction id still running (rows below it are final)."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    value = session.connection().execute(
        text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")).scalar_one()
    return int(value)


def read(session: Session, actor: Actor, since: str | None, limit: int
         ) -> tuple[list[ChangePublic], str, bool]:
    """The changes after ``since`` that the actor may see, oldest first; the next
    cursor; whether more are ready."""
    cursor = parse_cursor(since)
    horizon = _horizon(session)
    if cursor is None:  # "now": after everything final, before anything that is not
        if horizon is not None:
            return [], _format((horizon, 0)), False
        newest = session.exec(select(col(ChangeEntry.id)).order_by(
            col(ChangeEntry.id).desc()).limit(1)).first()
        return [], _format((0, newest or 0)), False
    query = select(ChangeEntry).where(
        tuple_(col(ChangeEntry.txid), col(ChangeEntry.id)) > tuple_(*cursor))
    if horizon is not None:
        # Same statement, same snapshot: the horizon is re-read in SQL, never older.
        query = query.where(col(ChangeEntry.txid) < literal_column(
            "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"))
    if not (actor.is_admin or actor.is_system):
        if actor.city_id is None:
            query = query.where(col(ChangeEntry.public))
        else:
            seen = exists().where(col(ChangeAudience.change_id) == col(ChangeEntry.id),
                                  col(ChangeAudience.city_id) == actor.city_id)
            query = query.where(or_(col(ChangeEntry.public), seen))
    rows = session.exec(query.order_by(col(ChangeEntry.txid), col(ChangeEntry.id))
                        .limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [ChangePublic.model_validate(r, from_attributes=True) for r in rows]
    if more:
        return items, _format((rows[-1].txid, rows[-1].id or 0)), True
    # Everything final that this caller may see is listed: continue after all of it.
    end = (rows[-1].txid, rows[-1].id or 0) if rows else cursor
    if horizon is not None:
        end = max(end, (horizon, 0))
    return items, _format(end), False
