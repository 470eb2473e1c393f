"""The change log: one row per change fact, and the cities that may see it.

A row is written in the transaction that made the change (a receiver of the
change seam), so it exists exactly when the change does. ``txid`` is the
writing transaction's id on PostgreSQL (0 on SQLite, whose writers take the
database lock one at a time, so there ``id`` alone is commit order).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from pydantic import Field as PField
from sqlalchemy import JSON, BigInteger, Column, Index, String
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, utcnow


class ChangeKind(StrEnum):
    event = "event"
    registration = "registration"
    partnership = "partnership"


class ChangeEntry(SQLModel, table=True):
    __tablename__ = "change_log"
    __table_args__ = (Index("ix_change_log_txid_id", "txid", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    txid: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    kind: ChangeKind = Field(sa_type=String(20))
    action: str = Field(max_length=20)
    subject_id: int
    # Anyone may see it (a public event's change); else only the audience's cities.
    public: bool = False
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    changed: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    recorded_at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow, nullable=False)


class ChangeAudience(SQLModel, table=True):
    """A city that may see a change (besides everyone, for a public one)."""

    __tablename__ = "change_audience"
    __table_args__ = (Index("ix_change_audience_city_id_change_id", "city_id", "change_id"),)

    change_id: int = Field(foreign_key="change_log.id", ondelete="CASCADE", primary_key=True)
    city_id: int = Field(primary_key=True)


class ChangePublic(BaseModel):
    """One change, as ``GET /changes`` lists it and webhook payloads carry it."""

    id: int = PField(description="The change's number; unique, not a cursor.")
    kind: ChangeKind
    action: str = PField(description="`created`, `updated`, `cancelled` (events); "
                         "`created`, `updated` (registrations and partnerships).")
    subject_id: int = PField(description="The event's, registration's or partnership's id.")
    changed: list[str] = PField(description="The fields whose values differ, before to after.")
    before: dict[str, Any] | None = PField(
        description="The subject before the change (null when created); for registrations "
        "and partnerships, the fields that changed.")
    after: dict[str, Any]
    recorded_at: datetime


class ChangePage(BaseModel):
    changes: list[ChangePublic]
    cursor: str = PField(description="Pass as `since` to continue after the last change "
                         "listed (the same cursor again when there was none).")
    has_more: bool = PField(description="More changes are ready now: ask again at once.")
