"""Tables of the search for a twin, and the candidate model the worker builds."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, utcnow


def _utc(**kw: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kw)


class SearchStatus(StrEnum):
    open = "open"
    paused = "paused"
    found = "found"
    abandoned = "abandoned"


class CandidateState(StrEnum):
    shortlisted = "shortlisted"
    contacted = "contacted"
    declined = "declined"
    proposed = "proposed"  # turned into a proposed partnership


class TwinSearch(SQLModel, table=True):
    """A city's search for a new twin: where it looks, and how it goes."""

    __tablename__ = "twin_search"

    id: int | None = Field(default=None, primary_key=True)
    city_id: int = Field(foreign_key="city.id", index=True, ondelete="CASCADE")
    countries: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    notes: str | None = Field(default=None, max_length=4000)
    status: SearchStatus = Field(default=SearchStatus.open, sa_type=String(20))
    created_by: str = Field(max_length=200)
    created_at: datetime = _utc(default_factory=utcnow, nullable=False)
    updated_at: datetime = _utc(default_factory=utcnow, nullable=False)


class SearchCandidate(SQLModel, table=True):
    """A city the search has taken up: shortlisted, contacted, declined or proposed."""

    __tablename__ = "twin_search_candidate"
    __table_args__ = (UniqueConstraint("search_id", "city_id"),)

    id: int | None = Field(default=None, primary_key=True)
    search_id: int = Field(foreign_key="twin_search.id", index=True, ondelete="CASCADE")
    city_id: int = Field(foreign_key="city.id", index=True, ondelete="CASCADE")
    state: CandidateState = Field(default=CandidateState.shortlisted, sa_type=String(20))
    note: str | None = Field(default=None, max_length=1000)
    score: float | None = None
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    partnership_id: int | None = Field(
        default=None, foreign_key="partnership.id", ondelete="SET NULL")
    created_at: datetime = _utc(default_factory=utcnow, nullable=False)
    updated_at: datetime = _utc(default_factory=utcnow, nullable=False)


class SearchStep(SQLModel, table=True):
    """One step of a search's history: what changed, about which city, by whom."""

    __tablename__ = "twin_search_step"

    id: int | None = Field(default=None, primary_key=True)
    search_id: int = Field(foreign_key="twin_search.id", index=True, ondelete="CASCADE")
    city_id: int | None = Field(default=None, foreign_key="city.id", ondelete="SET NULL")
    what: str = Field(max_length=40)
    from_state: str | None = Field(default=None, max_length=20)
    to_state: str | None = Field(default=None, max_length=20)
    note: str | None = Field(default=None, max_length=1000)
    actor: str = Field(max_length=200)
    at: datetime = _utc(default_factory=utcnow, nullable=False)


class CandidateModel(SQLModel, table=True):
    """A built candidate model: what it learnt, from which state of the network.

    The worker builds a new one when the network's ``fingerprint`` (how many
    cities and partnerships, and when each last changed) differs from the newest
    model's; requests read the newest and never build."""

    __tablename__ = "twin_candidate_model"

    id: int | None = Field(default=None, primary_key=True)
    built_at: datetime = _utc(default_factory=utcnow, nullable=False)
    cities: int
    links: int
    fingerprint: str = Field(max_length=200)
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
