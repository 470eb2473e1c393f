"""People who travel, and their registrations at events."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import EmailStr
from pydantic import Field as PField
from sqlalchemy import Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.accounts.models import Language
from app.core.db import UTCDateTime, utcnow
from app.core.types import BirthDate, IsoText, RowId

Phone = Annotated[str, PField(max_length=40, pattern=r"^\+?[0-9][0-9 ()./-]{3,38}$")]
PersonName = Annotated[str, PField(min_length=1, max_length=200)]
PassportNumber = Annotated[str, PField(min_length=3, max_length=40,
                                       pattern=r"^[0-9A-Za-z][0-9A-Za-z -]*$")]
Nationality = Annotated[str, PField(pattern="^[A-Z]{2}$", description="ISO 3166-1 alpha-2.")]
IsoDate = Annotated[date, IsoText]
ERASED_NAME = "(erased)"
ADULT_AGE = 18
# Where Russian is the language people of a city most likely read (official, or the
# common second language): their default for the messages Twinplan sends them.
RUSSIAN_READING_COUNTRIES = frozenset({"RU", "BY", "KZ", "KG", "TJ", "TM", "UZ", "AZ", "AM"})


def default_language(country_code: str) -> Language:
    """A new participant's language, unless given: by their home city's country."""
    return Language.ru if country_code.upper() in RUSSIAN_READING_COUNTRIES else Language.en


LANGUAGE_DOC = ("The language of the messages sent to the person (and a minor's guardian); "
                "unless given: `ru` for home cities in RU, BY, KZ, KG, TJ, TM, UZ, AZ, AM, "
                "else `en`.")


class Participant(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("home_city_id", "external_id", name="uq_participant_city_external_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    full_name: str = Field(max_length=200)
    # The home city's own id for the person (its registry's, a school's): a delegation
    # upload finds the person again by it. Unique within the home city.
    external_id: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    home_city_id: int = Field(foreign_key="city.id", index=True, ondelete="RESTRICT")
    birth_date: date | None = None
    guardian_name: str | None = Field(default=None, max_length=200)
    guardian_email: str | None = Field(default=None, max_length=320)
    # Travel papers (visa invitations, the delegation list for the border).
    passport_number: str | None = Field(default=None, max_length=40)
    passport_expiry: date | None = None
    nationality: str | None = Field(default=None, max_length=2)
    notes: str | None = Field(default=None, max_length=4000)
    language: Language = Field(default=Language.en, sa_type=String(8),
                               sa_column_kwargs={"server_default": "en"})
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
    birth_date: BirthDate | None = PField(
        default=None, description="Needed for school and youth exchanges (minors need consent)."
    )
    guardian_name: PersonName | None = None
    guardian_email: EmailStr | None = None
    passport_number: PassportNumber | None = None
    passport_expiry: IsoDate | None = None
    nationality: Nationality | None = None
    notes: str | None = PField(default=None, max_length=4000)
    language: Language | None = PField(default=None, description=LANGUAGE_DOC)


class ParticipantUpdate(SQLModel):
    full_name: PersonName | None = None
    email: EmailStr | None = None
    phone: Phone | None = None
    birth_date: BirthDate | None = None
    guardian_name: PersonName | None = None
    guardian_email: EmailStr | None = None
    passport_number: PassportNumber | None = None
    passport_expiry: IsoDate | None = None
    nationality: Nationality | None = None
    notes: str | None = PField(default=None, max_length=4000)
    language: Language | None = None


class ParticipantPublic(SQLModel):
    id: int
    full_name: str
    external_id: str | None = None
    email: str | None
    phone: str | None
    home_city_id: int
    birth_date: date | None
    guardian_name: str | None
    guardian_email: str | None
    passport_number: str | None = None
    passport_expiry: date | None = None
    nationality: str | None = None
    notes: str | None
    language: Language = Language.en
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
    # Leads the home city's delegation to this event (a delegation upload names one).
    is_leader: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
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
    is_leader: bool = False
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
    passport_expiring = "passport_expiring"


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
    city_id: int | None = PField(
        default=None, description="The delegation (home city) this covers; null: the event.")
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


# Delegation uploads ----------------------------------------------------------------

DELEGATION_MAX = 500
# The CSV header, in this order (full_name and role required; the rest may be absent).
DELEGATION_COLUMNS = ("external_id", "full_name", "email", "phone", "birth_date", "role",
                      "guardian_name", "guardian_email", "leader", "language")


class DelegateRow(SQLModel):
    """One person of a delegation, as sent (a JSON object or a CSV row)."""

    external_id: str | None = PField(default=None, min_length=1, max_length=100,
                                     description="The home city's own id for the person.")
    full_name: PersonName
    email: EmailStr | None = None
    phone: Phone | None = None
    birth_date: BirthDate | None = None
    role: RegistrationRole
    guardian_name: PersonName | None = None
    guardian_email: EmailStr | None = None
    leader: bool = PField(default=False, description="Leads the delegation; at most one.")
    language: Language | None = PField(default=None, description=LANGUAGE_DOC)


class DelegationUpload(SQLModel):
    people: list[DelegateRow] = PField(
        min_length=1, max_length=DELEGATION_MAX,
        description="In arrival order: the waitlist, if any, takes them in this order.")


class DelegateOutcome(StrEnum):
    confirmed = "confirmed"
    pending_consent = "pending_consent"
    awaiting_chaperone = "awaiting_chaperone"
    waitlisted = "waitlisted"
    refused = "refused"


class DelegateResult(SQLModel):
    row: int = PField(description="1 for the first person (the first line after a CSV's "
                      "header).")
    full_name: str
    outcome: DelegateOutcome
    matched_by: str | None = PField(
        default=None, description="`external_id` or `email` (an existing participant of the "
        "city), `created` (new), null when refused.")
    participant_id: int | None = PField(default=None, description="Null unless stored.")
    registration_id: int | None = PField(default=None, description="Null unless stored.")
    waitlist_position: int | None = None
    reason: str | None = PField(default=None, description="Why the row was refused.")


class DelegationResult(SQLModel):
    event_id: int
    city_id: int
    dry_run: bool
    stored: bool = PField(description="True when every row was registered and kept; a "
                          "refused row, or a dry run, stores nothing.")
    counts: dict[str, int]
    results: list[DelegateResult]
