"""People who travel, and their registrations at events."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import EmailStr
from pydantic import Field as PField
from sqlalchemy import Index, String
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, utcnow
from app.core.types import RowId

Phone = Annotated[str, PField(max_length=40, pattern=r"^\+?[0-9][0-9 ()./-]{3,38}$")]
PersonName = Annotated[str, PField(min_length=1, max_length=200)]
ERASED_NAME = "(erased)"
ADULT_AGE = 18


class Participant(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    full_name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    home_city_id: int = Field(foreign_key="city.id", index=True, ondelete="RESTRICT")
    birth_date: date | None = None
    guardian_name: str | None = Field(default=None, max_length=200)
    guardian_email: str | None = Field(default=None, max_length=320)
    notes: str | None = Field(default=None, max_length=4000)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    def age_on(self, day: date) -> int | None:
        if self.birth_date is None:
            return None
        b = self.birth_date
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))


class ParticipantCreate(SQLModel):
    full_name: PersonName
    email: EmailStr | None = None
    phone: Phone | None = None
    home_city_id: RowId
    birth_date: date | None = PField(
        default=None, description="Needed for school and youth exchanges (minors need consent)."
    )
    guardian_name: PersonName | None = None
    guardian_email: EmailStr | None = None
    notes: str | None = PField(default=None, max_length=4000)


class ParticipantUpdate(SQLModel):
    full_name: PersonName | None = None
    email: EmailStr | None = None
    phone: Phone | None = None
    birth_date: date | None = None
    guardian_name: PersonName | None = None
    guardian_email: EmailStr | None = None
    notes: str | None = PField(default=None, max_length=4000)


class ParticipantPublic(SQLModel):
    id: int
    full_name: str
    email: str | None
    phone: str | None
    home_city_id: int
    birth_date: date | None
    guardian_name: str | None
    guardian_email: str | None
    notes: str | None
    created_at: datetime
    updated_at: datetime
    erased_at: datetime | None


class RegistrationRole(StrEnum):
    delegate = "delegate"
    student = "student"
    chaperone = "chaperone"
    athlete = "athlete"
    coach = "coach"
    artist = "artist"
    official = "official"
    interpreter = "interpreter"
    coordinator = "coordinator"


class RegistrationStatus(StrEnum):
    """Where a registration stands. Every status but ``waitlisted`` and ``cancelled``
    holds one of the event's places.

    - ``confirmed``: going (a minor: with a guardian's consent and enough chaperones);
    - ``pending_consent``: a minor whose guardian has not consented yet;
    - ``awaiting_chaperone``: a minor with consent, waiting for enough adult
      chaperones at a school or youth exchange (confirmed as soon as there are);
    - ``waitlisted``: no place free; moves up, first come first served;
    - ``cancelled``; ``attended`` / ``no_show``: checked in.
    """

    confirmed = "confirmed"
    pending_consent = "pending_consent"
    awaiting_chaperone = "awaiting_chaperone"
    waitlisted = "waitlisted"
    cancelled = "cancelled"
    attended = "attended"
    no_show = "no_show"


# Statuses that take one of the event's places.
HOLDING = frozenset(
    {
        RegistrationStatus.confirmed,
        RegistrationStatus.pending_consent,
        RegistrationStatus.awaiting_chaperone,
        RegistrationStatus.attended,
        RegistrationStatus.no_show,
    }
)
# Statuses that commit the person's time (for clash checks), waitlist included.
ACTIVE = HOLDING | {RegistrationStatus.waitlisted}
# Statuses that count as going (and, for adults with the role, as a chaperone).
GOING = frozenset({RegistrationStatus.confirmed, RegistrationStatus.attended})
# Checked in: the event happened; nothing changes these any more.
CHECKED_IN = frozenset({RegistrationStatus.attended, RegistrationStatus.no_show})


class Registration(SQLModel, table=True):
    __table_args__ = (
        Index("ix_registration_event_id_status", "event_id", "status"),
        Index("ix_registration_participant_id_status", "participant_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", ondelete="CASCADE")
    participant_id: int = Field(foreign_key="participant.id", ondelete="RESTRICT")
    role: RegistrationRole = Field(sa_type=String(20))
    status: RegistrationStatus = Field(sa_type=String(20))
    # Whether the person was a minor on the event's first day, fixed at registration.
    is_minor: bool = Field(default=False)
    consent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    consent_by: str | None = Field(default=None, max_length=200)
    # Who recorded the consent in Twinplan (``Actor.label``), beside when (consent_at).
    consent_recorded_by: str | None = Field(default=None, max_length=200)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancel_reason: str | None = Field(default=None, max_length=1000)
    checked_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class RegistrationCreate(SQLModel):
    participant_id: RowId
    role: RegistrationRole


class ConsentCreate(SQLModel):
    guardian_name: PersonName = PField(
        description="The guardian who consented. Where the participant has a guardian on "
        "record, it must be that name (compared ignoring case and spacing), unless "
        "`guardian_changed` is true."
    )
    guardian_changed: bool = PField(
        default=False,
        description="The consenting guardian replaces the one on record, which is updated.",
    )


class CancelRegistration(SQLModel):
    reason: str | None = PField(default=None, max_length=1000)


class CheckIn(SQLModel):
    outcome: Annotated[str, PField(pattern="^(attended|no_show)$")]


class RegistrationPublic(SQLModel):
    id: int
    event_id: int
    participant_id: int
    role: RegistrationRole
    status: RegistrationStatus
    is_minor: bool
    waitlist_position: int | None = None
    consent_at: datetime | None
    consent_by: str | None
    consent_recorded_by: str | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    checked_in_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ProblemKind(StrEnum):
    event_not_going_ahead = "event_not_going_ahead"
    overbooked = "overbooked"
    consent_missing = "consent_missing"
    chaperone_missing = "chaperone_missing"
    unreachable = "unreachable"
    birth_date_missing = "birth_date_missing"


class ReadinessProblem(SQLModel):
    """One thing to fix before departure; people's problems name the person."""

    kind: ProblemKind
    detail: str
    participant_id: int | None = None
    registration_id: int | None = None
    name: str | None = None


class Readiness(SQLModel):
    """What a coordinator checks the week before departure."""

    event_id: int
    event_status: str
    capacity: int | None
    held: int = PField(description="Places held: confirmed, awaiting consent or chaperones, "
                       "checked in.")
    overbooked: int = PField(description="Places held beyond capacity. Cutting capacity "
                             "below the places held is refused (409), so this flags data "
                             "stored before that rule.")
    confirmed: int
    pending_consent: int
    awaiting_chaperone: int
    waitlisted: int
    cancelled: int
    minors: int
    adult_chaperones: int
    chaperone_ratio: int
    chaperones_missing: int
    without_contact: list[int] = PField(
        description="Participant ids with no way to reach them: neither email nor phone "
        "(for a minor, nor a guardian's email)."
    )
    without_birth_date: list[int]
    problems: list[ReadinessProblem]
    ready: bool = PField(description="Going ahead (planned or confirmed) with no problem left.")


class ParticipantExport(SQLModel):
    participant: ParticipantPublic
    registrations: list[RegistrationPublic]
