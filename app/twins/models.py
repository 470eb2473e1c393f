"""Tables of the search for a twin, and the candidate model the worker builds."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field as PField
from sqlalchemy import JSON, Column, LargeBinary, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.cities.models import CountryCode
from app.core.db import UTCDateTime, utcnow
from app.core.types import RowId


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


# API shapes -----------------------------------------------------------------------


class CityRef(SQLModel):
    id: int
    name: str
    country_code: str


class CandidateReason(SQLModel):
    code: str = PField(description=(
        "`shared_twins`, `twins_of_twins`, `country_pair`, `twins_countries`, "
        "`same_country`, `popular`, `twins_in_country`, `nearby_twins`, "
        "`near_your_twins`, `distance`, `population`."))
    weight: float = PField(description="This reason's part of the score (may be negative).")
    text: str = PField(description="The reason in words: \"twinned with 3 of Kostroma's "
                                  "twins\", \"1,900 km away\".")
    params: dict[str, str | int | float] = PField(
        description="The numbers and names in `text`, for other wordings.")


class CandidateItem(SQLModel):
    city: CityRef
    score: float = PField(description="The sum of the reasons' weights; higher is likelier.")
    reasons: list[CandidateReason] = PField(description="Largest weight first.")


class CandidateList(SQLModel):
    city_id: int
    model_built_at: datetime = PField(description="When the model was built (UTC); the "
                                                 "worker rebuilds it after changes.")
    items: list[CandidateItem] = PField(description="Best first.")


class SuggestionList(CandidateList):
    search_id: int


class TwinSearchCreate(SQLModel):
    countries: list[CountryCode] | None = PField(
        default=None, max_length=50,
        description="Where to look, in order of priority; default: the city's "
        "`seeking_twin_in`. Empty: anywhere.")
    notes: str | None = PField(default=None, max_length=4000)


class TwinSearchUpdate(SQLModel):
    countries: list[CountryCode] | None = PField(default=None, max_length=50)
    notes: str | None = PField(default=None, max_length=4000)
    status: SearchStatus | None = PField(default=None, description=(
        "open -> paused, found, abandoned; paused -> open, found, abandoned; "
        "found or abandoned -> open (reopened)."))


class TwinSearchPublic(SQLModel):
    id: int
    city_id: int
    countries: list[str]
    notes: str | None
    status: SearchStatus
    created_by: str
    created_at: datetime
    updated_at: datetime


class SearchCandidatePublic(SQLModel):
    city: CityRef
    state: CandidateState
    note: str | None
    score: float | None = PField(description="The model's score when it was shortlisted "
                                            "(null: the model had none for it).")
    reasons: list[str] = PField(description="The reasons' texts when it was shortlisted.")
    partnership_id: int | None = PField(description="The partnership proposed to it, if any.")
    created_at: datetime
    updated_at: datetime


class SearchStepPublic(SQLModel):
    what: str = PField(description=(
        "`opened`, `countries_changed`, `notes_changed`, `status_changed` (the search's "
        "status, `from_state` -> `to_state`); `shortlisted`, `contacted`, `declined`, "
        "`proposed` (a candidate's state, with `city`). For `opened` and "
        "`countries_changed` the note lists the countries."))
    city: CityRef | None
    from_state: str | None
    to_state: str | None
    note: str | None
    actor: str = PField(description="Who did it: the key or person, and their city.")
    at: datetime


class TwinSearchDetail(TwinSearchPublic):
    candidates: list[SearchCandidatePublic] = PField(description="In the order taken up.")
    history: list[SearchStepPublic] = PField(description="Every change, oldest first.")


class Shortlisting(SQLModel):
    city_id: RowId
    note: str | None = PField(default=None, max_length=1000)


class Answer(StrEnum):
    """What became of a candidate that was approached."""

    contacted = "contacted"
    declined = "declined"


class CandidateUpdate(SQLModel):
    state: Answer
    note: str | None = PField(default=None, max_length=1000)


class Proposal(SQLModel):
    note: str | None = PField(default=None, max_length=1000,
                             description="Kept in the search's history and as the new "
                             "partnership's notes.")


class StepKind(StrEnum):
    opened = "opened"
    countries_changed = "countries_changed"
    notes_changed = "notes_changed"
    status_changed = "status_changed"
    shortlisted = "shortlisted"
    contacted = "contacted"
    declined = "declined"
    proposed = "proposed"


SEARCH_TRANSITIONS: dict[SearchStatus, frozenset[SearchStatus]] = {
    SearchStatus.open: frozenset({SearchStatus.paused, SearchStatus.found,
                                  SearchStatus.abandoned}),
    SearchStatus.paused: frozenset({SearchStatus.open, SearchStatus.found,
                                    SearchStatus.abandoned}),
    SearchStatus.found: frozenset({SearchStatus.open}),
    SearchStatus.abandoned: frozenset({SearchStatus.open}),
}
# A search is worked (candidates taken up and moved on) while open or paused.
WORKABLE = frozenset({SearchStatus.open, SearchStatus.paused})
CANDIDATE_TRANSITIONS: dict[CandidateState, frozenset[CandidateState]] = {
    CandidateState.shortlisted: frozenset({CandidateState.contacted, CandidateState.declined,
                                           CandidateState.proposed}),
    CandidateState.contacted: frozenset({CandidateState.declined, CandidateState.proposed}),
    CandidateState.declined: frozenset(),
    CandidateState.proposed: frozenset(),  # the partnership carries on in its own record
}
