"""Recording every write as it is flushed, and reading the records.

One mechanism for every domain: a session listener (``after_flush``) sees each
row the ORM inserted, updated or deleted, with its attribute history, and
writes an ``audit_entry`` for it in the same transaction, on the same
connection. So an entry exists exactly when the write does: a rolled-back
request, or a rolled-back savepoint, leaves none. No service calls anything.

Who wrote is the actor bound to the session (``app.core.actors.bind``: the key
lookup does it for every request), else the system (the worker, the command
line).

What the listener cannot see, because it bypasses the ORM's unit of work:
Core statements (``insert(table)``, ``update(table)``) and the database's own
``ON DELETE CASCADE``. In the application these touch only bookkeeping tables,
with three exceptions: the Wikidata importer's bulk inserts of cities,
twinnings and their status history (``twinplan import-twinnings``, the
system, thousands of rows), the event guests' copied times (``event_guest``
follows its event, whose own update is recorded), and the rows the database
deletes with a deleted city (its reminder rules, feed tokens, webhook
endpoints, twin searches, letterhead; only a city nothing else refers to can
be deleted).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import event, exists, insert, inspect
from sqlalchemy import select as select_columns
from sqlalchemy.engine import Connection
from sqlalchemy.orm import InstanceState, Mapper
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, SQLModel, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.audit import policy, scope
from app.audit.models import AuditAction, AuditEntry, AuditEntryCity
from app.core import clock
from app.core.actors import Actor, acting
from app.core.errors import Forbidden, Unprocessable

_ENTRY = AuditEntry.__table__  # type: ignore[attr-defined]
_CITY = AuditEntryCity.__table__  # type: ignore[attr-defined]


# Recording -------------------------------------------------------------------------


def _value(table: str, column: str, value: Any) -> Any:
    if value is None:
        return None
    if scope.is_withheld(table, column):
        return scope.REDACTED
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"
    return to_jsonable_python(value, fallback=str)


def _columns(mapper: Mapper[Any]) -> list[tuple[str, str]]:
    """(attribute key, column name) of each mapped column."""
    return [(prop.key, prop.columns[0].name) for prop in mapper.column_attrs]


def _loaded(state: InstanceState[Any], table: str) -> dict[str, Any]:
    """The row's values the session holds (never loads any: the row may be gone)."""
    return {name: _value(table, name, state.dict[key])
            for key, name in _columns(state.mapper) if key in state.dict}


def _raw(state: InstanceState[Any]) -> dict[str, Any]:
    return {name: state.dict[key] for key, name in _columns(state.mapper) if key in state.dict}


def _changes(state: InstanceState[Any], table: str
             ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Before and after of the columns whose values changed, and the raw old values."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    old: dict[str, Any] = {}
    for key, name in _columns(state.mapper):
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        was = history.deleted[0] if history.deleted else None
        now = history.added[0] if history.added else None
        if history.deleted and was == now:
            continue
        old[name] = was
        before[name] = _value(table, name, was)
        after[name] = _value(table, name, now)
    return before, after, old


def _entity_id(state: InstanceState[Any]) -> str:
    mapper = state.mapper
    parts = [state.dict.get(mapper.get_property_by_column(c).key) for c in mapper.primary_key]
    if any(p is None for p in parts) and state.key is not None:
        parts = list(state.key[1])
    return ":".join(str(p) for p in parts)


class _Cities:
    """The cities a row belongs to, parents looked up once per flush."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.parents: dict[tuple[str, Any], tuple[Any, ...]] = {}

    def of(self, table: str, *values: dict[str, Any]) -> set[int]:
        cities: set[Any] = set()
        for row in values:
            cities.update(row.get(c) for c in scope.OWN_CITIES.get(table, ()))
            for column, parent, city_columns in scope.PARENT_CITIES.get(table, ()):
                if row.get(column) is not None:
                    cities.update(self._parent(parent, row[column], city_columns))
        return {int(c) for c in cities if c is not None}

    def _parent(self, table: str, row_id: Any, columns: tuple[str, ...]) -> tuple[Any, ...]:
        if (table, row_id) not in self.parents:
            t = SQLModel.metadata.tables[table]
            found = self.connection.execute(
                select_columns(*(t.c[c] for c in columns)).where(t.c.id == row_id)).first()
            self.parents[(table, row_id)] = tuple(found) if found is not None else ()
        return self.parents[(table, row_id)]


def _audited(state: InstanceState[Any]) -> str | None:
    table = getattr(state.mapper.local_table, "name", None)
    return None if table is None or table in scope.NOT_AUDITED else table


@event.listens_for(OrmSession, "after_flush")
def _record_flush(session: OrmSession, _flush_context: Any) -> None:
    """An entry for each audited row this flush wrote, in the flush's transaction."""
    written: list[tuple[AuditAction, InstanceState[Any]]] = []
    kinds: tuple[tuple[AuditAction, Any], ...] = ((AuditAction.created, session.new),
                                                 (AuditAction.updated, session.dirty),
                                                 (AuditAction.deleted, session.deleted))
    for action, objects in kinds:
        for obj in objects:
            state = inspect(obj)
            if _audited(state) is not None:
                written.append((action, state))
    if not written:
        return
    connection = session.connection()
    cities = _Cities(connection)
    actor = acting(session)
    at = clock.now()
    entries: list[dict[str, Any]] = []
    audiences: list[set[int]] = []
    for action, state in written:
        table = _audited(state)
        assert table is not None
        if action is AuditAction.updated:
            before, after, old = _changes(state, table)
            if not after:
                continue  # touched, not changed
            entry_before: dict[str, Any] | None = before
            entry_after: dict[str, Any] | None = after
            audience = cities.of(table, _raw(state), old)
        elif action is AuditAction.created:
            entry_before, entry_after = None, _loaded(state, table)
            audience = cities.of(table, _raw(state))
        else:
            entry_before, entry_after = _loaded(state, table), None
            audience = cities.of(table, _raw(state))
        entries.append({
            "at": at, "actor": actor.label[:200], "actor_key_id": actor.key_id,
            "actor_user_id": actor.user_id, "client_address": actor.address,
            "entity_type": table, "entity_id": _entity_id(state)[:60],
            "action": str(action), "before": entry_before, "after": entry_after,
        })
        audiences.append(audience)
    if not entries:
        return
    ids = connection.execute(insert(_ENTRY).returning(_ENTRY.c.id, sort_by_parameter_order=True),
                             entries).scalars().all()
    rows = [{"entry_id": i, "city_id": c} for i, audience in zip(ids, audiences, strict=True)
            for c in sorted(audience)]
    if rows:
        connection.execute(insert(_CITY), rows)


def record_download(session: Session, entity_type: str, entity_id: object,
                    document: dict[str, Any], city_ids: set[int]) -> None:
    """An entry saying who downloaded which document of this row (a person, an
    event's list) and when: personal data leaving the service is recorded like a
    write, in the request's transaction, readable by these cities' coordinators.
    ``document`` names the paper, never its contents."""
    actor = acting(session)
    connection = session.connection()
    entry_id = connection.execute(insert(_ENTRY).returning(_ENTRY.c.id), {
        "at": clock.now(), "actor": actor.label[:200], "actor_key_id": actor.key_id,
        "actor_user_id": actor.user_id, "client_address": actor.address,
        "entity_type": entity_type, "entity_id": str(entity_id)[:60],
        "action": str(AuditAction.downloaded), "before": None, "after": document,
    }).scalar_one()
    if city_ids:
        connection.execute(insert(_CITY), [{"entry_id": entry_id, "city_id": c}
                                           for c in sorted(city_ids)])


# Reading ---------------------------------------------------------------------------

_ENTITY = re.compile(r"^([a-z_]{1,40})(?::(\d{1,19}(?::\d{1,19})?))?$")
_ACTOR = re.compile(r"^(?:(key|user):(\d{1,19})|(system|anonymous))$")


def audited_types() -> list[str]:
    return sorted(t for t in SQLModel.metadata.tables if t not in scope.NOT_AUDITED)


def _entity(value: str) -> tuple[str, str | None]:
    match = _ENTITY.match(value)
    if match is None or match[1] not in audited_types():
        raise Unprocessable(
            "entity must be a type, or a type and an id: `event`, `event:42` (types: "
            + ", ".join(audited_types()) + ").", field="entity", where="query")
    return match[1], match[2]


def _by(value: str) -> Any:
    match = _ACTOR.match(value)
    if match is None:
        raise Unprocessable("actor must be `key:<id>`, `user:<id>`, `system` or `anonymous`.",
                            field="actor", where="query")
    if match[1] == "key":
        return col(AuditEntry.actor_key_id) == int(match[2])
    if match[1] == "user":
        return col(AuditEntry.actor_user_id) == int(match[2])
    return col(AuditEntry.actor) == match[3]


def entries_query(actor: Actor, *, entity: str | None = None, by: str | None = None,
                  since: datetime | None = None, until: datetime | None = None,
                  ) -> SelectOfScalar[AuditEntry]:
    """The entries the actor may read, filtered, newest first.

    ``since`` is inclusive and ``until`` exclusive, so consecutive windows
    neither overlap nor leave a gap.
    """
    if not policy.can_read_audit(actor):
        raise Forbidden("the data audit is for admins and the city's coordinators")
    query = select(AuditEntry)
    city = policy.audit_city_scope(actor)
    if city is not None:
        query = query.where(exists().where(col(AuditEntryCity.entry_id) == col(AuditEntry.id),
                                           col(AuditEntryCity.city_id) == city))
    if entity is not None:
        kind, entity_id = _entity(entity)
        query = query.where(col(AuditEntry.entity_type) == kind)
        if entity_id is not None:
            query = query.where(col(AuditEntry.entity_id) == entity_id)
    if by is not None:
        query = query.where(_by(by))
    if since is not None:
        query = query.where(col(AuditEntry.at) >= since)
    if until is not None:
        query = query.where(col(AuditEntry.at) < until)
    return query.order_by(col(AuditEntry.id).desc())


def entries_of(session: Session, entity_type: str, entity_id: object) -> list[AuditEntry]:
    """Every entry of one row, oldest first (tests, the command line)."""
    return list(session.exec(select(AuditEntry).where(
        col(AuditEntry.entity_type) == entity_type,
        col(AuditEntry.entity_id) == str(entity_id)).order_by(col(AuditEntry.id))).all())
