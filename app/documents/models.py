"""The host city's letterhead (office data printed on its papers) and the API's shapes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import EmailStr
from pydantic import Field as PField
from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, utcnow

Line = Annotated[str, PField(min_length=1, max_length=200)]
MAX_ADDRESS_LINES = 6


class CityLetterhead(SQLModel, table=True):
    """One per city: who writes, from where, and who signs. Office data, not personal."""

    __tablename__ = "city_letterhead"

    city_id: int = Field(foreign_key="city.id", primary_key=True, ondelete="CASCADE")
    office_name: str = Field(max_length=200)
    address_lines: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=320)
    website: str | None = Field(default=None, max_length=300)
    signatory_name: str | None = Field(default=None, max_length=200)
    signatory_title: str | None = Field(default=None, max_length=200)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class LetterheadUpdate(SQLModel):
    """The whole letterhead (PUT replaces it)."""

    office_name: Line = PField(examples=["Kostroma City Administration, External Relations"])
    address_lines: list[Line] = PField(default_factory=list, max_length=MAX_ADDRESS_LINES,
                                       examples=[["ul. Sovetskaya 1", "156000 Kostroma, Russia"]])
    phone: str | None = PField(default=None, max_length=40,
                               pattern=r"^\+?[0-9][0-9 ()./-]{3,38}$")
    email: EmailStr | None = None
    website: str | None = PField(default=None, max_length=300, pattern=r"^https?://\S+$")
    signatory_name: Line | None = None
    signatory_title: Line | None = None


class LetterheadPublic(SQLModel):
    city_id: int
    office_name: str
    address_lines: list[str]
    phone: str | None
    email: str | None
    website: str | None
    signatory_name: str | None
    signatory_title: str | None
    is_set: bool = PField(description="False: nothing recorded yet; the papers print the "
                          "city's name and country only.")
    updated_at: datetime | None


class DocumentKind(StrEnum):
    """What was downloaded, as the audit records it."""

    invitation = "invitation"
    consent_form = "consent_form"
    delegation_list = "delegation_list"
