"""One row per written row: who, when, what, the fields before and after, and the
cities whose coordinators may read it.

``entity_id`` is text: most rows have one integer key, a few have two
(``event_guest``: ``"42:7"``, the event and the guest city), and the entry
must outlive the row it describes, so it refers to nothing.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from pydantic import Field as PField
from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, utcnow


class AuditAction(StrEnum):
    created = "created"
    updated = "updated"
    deleted = "deleted"
    # Personal data that left the service as a document (app.documents): a read, recorded.
    downloaded = "downloaded"


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_entity_type_entity_id_id", "entity_type", "entity_id", "id"),
        Index("ix_audit_entry_at", "at"),
        Index("ix_audit_entry_actor_key_id", "actor_key_id"),
        Index("ix_audit_entry_actor_user_id", "actor_user_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow, nullable=False)
    # Who, as ``Actor.label`` words it, and the key or person behind it (no foreign
    # keys: the record outlives them).
    actor: str = Field(max_length=200)
    actor_key_id: int | None = None
    actor_user_id: int | None = None
    client_address: str | None = Field(default=None, max_length=100)
    entity_type: str = Field(max_length=40)
    entity_id: str = Field(max_length=60)
    action: str = Field(max_length=20)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class AuditEntryCity(SQLModel, table=True):
    """A city whose coordinators may read an entry (admins read every entry)."""

    __tablename__ = "audit_entry_city"
    __table_args__ = (Index("ix_audit_entry_city_city_id_entry_id", "city_id", "entry_id"),)

    entry_id: int = Field(foreign_key="audit_entry.id", ondelete="CASCADE", primary_key=True)
    city_id: int = Field(primary_key=True)


class AuditEntryPublic(BaseModel):
    """One write, as ``GET /audit`` lists it."""

    id: int
    at: datetime
    actor: str = PField(description="Who wrote: e.g. `coordinator key 7 of city 3`, "
                        "`admin user 2`, `system` (the worker, the command line), `anonymous`.")
    actor_key_id: int | None = PField(description="The API key the writer used, if any.")
    actor_user_id: int | None = PField(description="The person who wrote, if any.")
    client_address: str | None
    entity_type: str = PField(description="The table written, e.g. `event`, `registration`.")
    entity_id: str = PField(description="The row's id (`42`; `42:7` for two-part keys).")
    action: AuditAction = PField(description="`created`, `updated`, `deleted`; or "
                                 "`downloaded`: a document with the row's personal data was "
                                 "downloaded (`after` says which document).")
    before: dict[str, Any] | None = PField(
        description="The fields before: every field of a deleted row, the changed fields "
        "of an updated one, null for a created one. Secrets and personal data read `***`.")
    after: dict[str, Any] | None = PField(
        description="The fields after: every field of a created row, the changed fields "
        "of an updated one, null for a deleted one.")
