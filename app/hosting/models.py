"""Host families, guests' needs and the placement of guests with families.

A host city keeps its families (``host_family``) from one exchange to the next.
For an event, each guest's home city records the guest's needs (``guest_needs``,
one row per participant at the event: a child's diet or allergy may change from
one visit to the next). The host's coordinators ask for a placement
(``placement``, one per event, with its rules) whose assignments
(``placement_assignment``) say which family hosts which guest; a coordinator
may move and pin a guest. Explanations are not stored: they are worked out on
each read from the needs and the families as they are then.

The vocabularies are closed so that the solver can compare them: an allergy to
pets or smoke excludes families with pets or smokers; an allergy to nuts,
gluten or lactose needs a family that caters for the matching diet.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import EmailStr
from pydantic import Field as PField
from sqlalchemy import JSON, CheckConstraint, Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, utcnow
from app.core.types import RowId
from app.participants.models import Phone


class Diet(StrEnum):
    vegetarian = "vegetarian"
    vegan = "vegan"
    halal = "halal"
    kosher = "kosher"
    gluten_free = "gluten_free"
    lactose_free = "lactose_free"
    nut_free = "nut_free"


class Allergy(StrEnum):
    pets = "pets"
    smoke = "smoke"
    nuts = "nuts"
    gluten = "gluten"
    lactose = "lactose"


# Allergies a family meets through its kitchen: the diet it must cater for.
ALLERGY_DIETS: dict[Allergy, Diet] = {
    Allergy.nuts: Diet.nut_free,
    Allergy.gluten: Diet.gluten_free,
    Allergy.lactose: Diet.lactose_free,
}

Language = Annotated[str, PField(pattern=r"^[a-z]{2}$", description="ISO 639-1 code.")]
Languages = Annotated[list[Language], PField(default_factory=list, max_length=20)]
Text200 = Annotated[str, PField(min_length=1, max_length=200)]
Notes = Annotated[str | None, PField(default=None, max_length=4000)]


def _json_list() -> Column[list[str]]:
    return Column(JSON, nullable=False)


def _created() -> datetime:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


# Families ------------------------------------------------------------------------


class HostFamily(SQLModel, table=True):
    __tablename__ = "host_family"
    __table_args__ = (CheckConstraint("places >= 1", name="places_positive"),)

    id: int | None = Field(default=None, primary_key=True)
    city_id: int = Field(foreign_key="city.id", index=True, ondelete="RESTRICT")
    household_name: str = Field(max_length=200)
    address: str | None = Field(default=None, max_length=500)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    languages: list[str] = Field(default_factory=list, sa_column=_json_list())
    places: int = Field(default=1)
    pets: bool = Field(default=False)
    smoking: bool = Field(default=False)
    diets: list[str] = Field(default_factory=list, sa_column=_json_list())
    notes: str | None = Field(default=None, max_length=4000)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class HostFamilyCreate(SQLModel):
    household_name: Text200
    address: str | None = PField(default=None, max_length=500)
    email: EmailStr | None = None
    phone: Phone | None = None
    languages: Languages
    places: int = PField(default=1, ge=1, le=20, description="Beds for guests.")
    pets: bool = False
    smoking: bool = PField(default=False, description="Someone smokes at home.")
    diets: list[Diet] = PField(default_factory=list, max_length=len(Diet),
                               description="Diets the family can cater for.")
    notes: Notes


class HostFamilyUpdate(SQLModel):
    household_name: Text200 | None = None
    address: str | None = PField(default=None, max_length=500)
    email: EmailStr | None = None
    phone: Phone | None = None
    languages: list[Language] | None = PField(default=None, max_length=20)
    places: int | None = PField(default=None, ge=1, le=20)
    pets: bool | None = None
    smoking: bool | None = None
    diets: list[Diet] | None = PField(default=None, max_length=len(Diet))
    notes: Notes


class HostFamilyPublic(SQLModel):
    id: int
    city_id: int
    household_name: str
    address: str | None
    email: str | None
    phone: str | None
    languages: list[str]
    places: int
    pets: bool
    smoking: bool
    diets: list[str]
    notes: str | None
    created_at: datetime
    updated_at: datetime


# Guests' needs -------------------------------------------------------------------


class GuestNeeds(SQLModel, table=True):
    __tablename__ = "guest_needs"
    __table_args__ = (
        UniqueConstraint("event_id", "participant_id", name="uq_guest_needs_event_participant"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", ondelete="CASCADE")
    participant_id: int = Field(foreign_key="participant.id", index=True, ondelete="CASCADE")
    allergies: list[str] = Field(default_factory=list, sa_column=_json_list())
    diets: list[str] = Field(default_factory=list, sa_column=_json_list())
    languages: list[str] = Field(default_factory=list, sa_column=_json_list())
    prefers_with_id: int | None = Field(default=None, foreign_key="participant.id",
                                        ondelete="SET NULL")
    sibling_of_id: int | None = Field(default=None, foreign_key="participant.id",
                                      ondelete="SET NULL")
    medical_notes: str | None = Field(default=None, max_length=4000)
    updated_at: datetime = _created()


class GuestNeedsWrite(SQLModel):
    allergies: list[Allergy] = PField(default_factory=list, max_length=len(Allergy))
    diets: list[Diet] = PField(default_factory=list, max_length=len(Diet))
    languages: Languages
    prefers_with_id: RowId | None = PField(
        default=None, description="Another guest of the event this one wishes to stay with "
        "(a wish, honoured where possible).")
    sibling_of_id: RowId | None = PField(
        default=None, description="A brother or sister among the event's guests: siblings "
        "always stay with the same family.")
    medical_notes: Notes = PField(
        default=None, max_length=4000,
        description="Read only by the coordinators of the guest's and the host's cities.")


class GuestNeedsPublic(SQLModel):
    event_id: int
    participant_id: int
    allergies: list[str]
    diets: list[str]
    languages: list[str]
    prefers_with_id: int | None
    sibling_of_id: int | None
    medical_notes: str | None
    updated_at: datetime | None


# Placement -----------------------------------------------------------------------


class PlacementStatus(StrEnum):
    proposed = "proposed"
    confirmed = "confirmed"


class Placement(SQLModel, table=True):
    """An event's placement and the rules it was made with (one per event)."""

    __tablename__ = "placement"
    __table_args__ = (
        CheckConstraint("min_minors_per_family IN (1, 2)", name="min_minors_one_or_two"),
    )

    event_id: int = Field(foreign_key="event.id", primary_key=True, ondelete="CASCADE")
    status: PlacementStatus = Field(default=PlacementStatus.proposed, sa_type=String(20))
    min_minors_per_family: int = Field(default=1)
    include_adults: bool = Field(default=False)
    created_at: datetime = _created()
    updated_at: datetime = _created()
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    confirmed_by: str | None = Field(default=None, max_length=200)


class PlacementAssignment(SQLModel, table=True):
    """One guest with one family; pinned guests keep their family when the
    placement is proposed again."""

    __tablename__ = "placement_assignment"

    event_id: int = Field(foreign_key="placement.event_id", primary_key=True,
                          ondelete="CASCADE")
    participant_id: int = Field(foreign_key="participant.id", primary_key=True,
                                ondelete="CASCADE")
    family_id: int = Field(foreign_key="host_family.id", index=True, ondelete="RESTRICT")
    pinned: bool = Field(default=False)
    updated_at: datetime = _created()


class PlacementRequest(SQLModel):
    min_minors_per_family: int = PField(
        default=1, ge=1, le=2,
        description="2: a minor is never the only minor guest of a family.")
    include_adults: bool = PField(
        default=False, description="Place the adult guests (chaperones...) with families "
        "too; by default only the minors are placed.")
    family_ids: list[RowId] | None = PField(
        default=None, max_length=500,
        description="Only these families of the host city (default: all of them).")
    keep_pinned: bool = PField(
        default=True, description="Guests a coordinator pinned keep their family.")
    time_limit_seconds: float = PField(default=5.0, gt=0, le=30,
                                       description="The solver's time limit.")


class PlacementStatusChange(SQLModel):
    status: PlacementStatus


class GuestMove(SQLModel):
    family_id: RowId
    pinned: bool = PField(default=True, description="Keep the guest there when the "
                          "placement is proposed again.")


class Explanation(SQLModel):
    """Why a guest is where they are: a code for programs, the words for people."""

    code: str = PField(description="`pinned`, `sibling`, `shared_language`, `prefers_with`, "
                       "`no_pets`, `no_smoking`, `diet`.")
    en: str
    ru: str


class GuestPlacement(SQLModel):
    participant_id: int
    name: str
    home_city_id: int
    is_minor: bool
    family_id: int | None
    household_name: str | None
    pinned: bool
    explanations: list[Explanation]
    problems: list[str] = PField(
        default_factory=list, description="Hard rules this assignment breaks now (needs or "
        "families changed since it was made).")


class FamilyPlacement(SQLModel):
    family_id: int
    household_name: str
    address: str | None
    email: str | None
    phone: str | None
    places: int
    guest_ids: list[int]


class PlacementPublic(SQLModel):
    event_id: int
    status: PlacementStatus
    min_minors_per_family: int
    include_adults: bool
    created_at: datetime
    updated_at: datetime
    confirmed_at: datetime | None
    families: list[FamilyPlacement]
    guests: list[GuestPlacement]
    unplaced: list[int] = PField(description="Guests with no family yet (registered since).")
    solver: str | None = PField(default=None, description="How the last proposal was "
                                "found: `optimal` or `feasible` (time limit reached).")


class UnplacedGuest(SQLModel):
    participant_id: int
    name: str
    reasons: list[str]
