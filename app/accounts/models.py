"""People who sign in: users, their memberships in cities, sessions, invitations.

A membership is what a key is for a machine: a role (``admin``, or
``coordinator`` / ``partner`` of one city). A signed-in person acts in one of
their memberships at a time, as an ``Actor`` exactly like a key of that role and
city, so every policy applies to both alike.

Secrets (session cookies, invitation and reset links) are random and stored as
SHA-256 hashes only, like API keys; passwords are Argon2id hashes
(``app.accounts.passwords``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import EmailStr, model_validator
from pydantic import Field as PField
from sqlalchemy import Index, String
from sqlmodel import Field, SQLModel

from app.cities.models import TimezoneName
from app.core.actors import Role
from app.core.db import UTCDateTime, utcnow
from app.core.types import RowId


def _utc(**kw: object) -> object:
    return Field(sa_type=UTCDateTime, **kw)  # type: ignore[call-overload]


class Language(StrEnum):
    en = "en"
    ru = "ru"


Password = Annotated[str, PField(min_length=10, max_length=200, description=(
    "At least 10 characters. Stored as an Argon2id hash only."))]
DisplayName = Annotated[str, PField(min_length=1, max_length=200)]


def normalized_email(email: str) -> str:
    """Emails are unique ignoring case (and surrounding spaces)."""
    return email.strip().lower()


class User(SQLModel, table=True):
    __tablename__ = "app_user"  # "user" is reserved in PostgreSQL
    __table_args__ = (
        Index("ix_app_user_sso", "sso_issuer", "sso_subject", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320)
    email_key: str = Field(max_length=320, unique=True, index=True)
    display_name: str = Field(max_length=200)
    language: Language = Field(default=Language.en, sa_type=String(8))
    timezone: str = Field(default="UTC", max_length=64)
    # None: signs in through single sign-on only, or has not set one yet.
    password_hash: str | None = Field(default=None, max_length=300)
    totp_secret: str | None = Field(default=None, max_length=64)
    # Who the person is at the city hall's identity provider (single sign-on).
    sso_issuer: str | None = Field(default=None, max_length=300)
    sso_subject: str | None = Field(default=None, max_length=255)
    totp_enabled_at: datetime | None = _utc(default=None)  # type: ignore[assignment]
    disabled_at: datetime | None = _utc(default=None)  # type: ignore[assignment]
    created_at: datetime = _utc(default_factory=utcnow, nullable=False)  # type: ignore[assignment]
    updated_at: datetime = _utc(default_factory=utcnow, nullable=False)  # type: ignore[assignment]


class Membership(SQLModel, table=True):
    __table_args__ = (Index("ix_membership_user_id_revoked_at", "user_id", "revoked_at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE")
    role: Role = Field(sa_type=String(20))
    city_id: int | None = Field(
        default=None, foreign_key="city.id", index=True, ondelete="CASCADE"
    )
    # Granted by the identity provider's claims at sign-in (and taken back when the
    # claims no longer grant it), rather than by an invitation or the command line.
    from_sso: bool = Field(default=False)
    created_at: datetime = _utc(default_factory=utcnow, nullable=False)  # type: ignore[assignment]
    revoked_at: datetime | None = _utc(default=None)  # type: ignore[assignment]


class UserSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds the secret; the row holds its hash."""

    __tablename__ = "user_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    csrf_token: str = Field(max_length=64)
    user_id: int = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    # The membership the person acts in; None until they pick one (or have none).
    membership_id: int | None = Field(
        default=None, foreign_key="membership.id", ondelete="SET NULL"
    )
    client_address: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=300)
    created_at: datetime = _utc(default_factory=utcnow, nullable=False)  # type: ignore[assignment]
    last_seen_at: datetime = _utc(default_factory=utcnow, nullable=False)  # type: ignore[assignment]
    expires_at: datetime = _utc(nullable=False)  # type: ignore[assignment]
    ended_at: datetime | None = _utc(default=None)  # type: ignore[assignment]


class Invitation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320)
    role: Role = Field(sa_type=String(20))
    city_id: int | None = Field(
        default=None, foreign_key="city.id", index=True, ondelete="CASCADE"
    )
    token_hash: str = Field(max_length=64, unique=True, index=True)
    invited_by: str = Field(max_length=200)
    expires_at: datetime = _utc(nullable=False)  # type: ignore[assignment]
    accepted_at: datetime | None = _utc(default=None)  # type: ignore[assignment]
    accepted_by_user_id: int | None = Field(
        default=None, foreign_key="app_user.id", ondelete="SET NULL"
    )
    revoked_at: datetime | None = _utc(default=None)  # type: ignore[assignment]
    created_at: datetime = _utc(default_factory=utcnow, nullable=False)  # type: ignore[assignment]


class AccessKind(StrEnum):
    signed_in = "signed_in"
    sign_in_failed = "sign_in_failed"
    signed_out = "signed_out"
    signed_out_everywhere = "signed_out_everywhere"
    invited = "invited"
    invitation_revoked = "invitation_revoked"
    invitation_accepted = "invitation_accepted"
    membership_granted = "membership_granted"
    membership_revoked = "membership_revoked"
    user_disabled = "user_disabled"
    password_reset_requested = "password_reset_requested"
    password_changed = "password_changed"
    totp_enabled = "totp_enabled"
    api_key_created = "api_key_created"


class AccessEvent(SQLModel, table=True):
    """The audit of access: who did what to whose account, when, from where.

    Failed sign-ins are rows here too, and what sign-in throttling counts.
    """

    __tablename__ = "access_event"
    __table_args__ = (
        Index("ix_access_event_email_key_at", "email_key", "at"),
        Index("ix_access_event_client_address_at", "client_address", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _utc(default_factory=utcnow, nullable=False)  # type: ignore[assignment]
    kind: AccessKind = Field(sa_type=String(40))
    user_id: int | None = Field(
        default=None, foreign_key="app_user.id", index=True, ondelete="SET NULL"
    )
    email_key: str | None = Field(default=None, max_length=320)
    city_id: int | None = Field(
        default=None, foreign_key="city.id", index=True, ondelete="SET NULL"
    )
    actor: str = Field(max_length=200)
    client_address: str | None = Field(default=None, max_length=64)
    detail: str | None = Field(default=None, max_length=500)


class PasswordReset(SQLModel, table=True):
    __tablename__ = "password_reset"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True, index=True)
    expires_at: datetime = _utc(nullable=False)  # type: ignore[assignment]
    used_at: datetime | None = _utc(default=None)  # type: ignore[assignment]
    created_at: datetime = _utc(default_factory=utcnow, nullable=False)  # type: ignore[assignment]


# API shapes ---------------------------------------------------------------------


class MembershipPublic(SQLModel):
    id: int
    role: Role
    city_id: int | None
    created_at: datetime


class MemberPublic(SQLModel):
    """One person of a city: a live membership and who holds it."""

    id: int = PField(description="The membership's id (`POST /memberships/{id}/revoke`).")
    user_id: int
    display_name: str
    email: str
    role: Role
    city_id: int
    created_at: datetime
    from_sso: bool = PField(description="Given by the city's single sign-on, not an invitation.")


class UserPublic(SQLModel):
    id: int
    email: str
    display_name: str
    language: Language
    timezone: str
    totp_enabled: bool
    created_at: datetime


class SessionPublic(SQLModel):
    """Who is signed in, and as what."""

    user: UserPublic
    memberships: list[MembershipPublic]
    acting_as: MembershipPublic | None = PField(
        description="The membership this session acts in (switch with PUT /session/acting)."
    )
    csrf_token: str = PField(
        description="Send it as `X-CSRF-Token` with every write made with the cookie."
    )
    expires_at: datetime


class ProfileUpdate(SQLModel):
    """Only what is sent changes."""

    display_name: DisplayName | None = None
    language: Language | None = PField(
        default=None, description="The console's language and that of the emails you get."
    )
    timezone: TimezoneName | None = None


class SignIn(SQLModel):
    email: EmailStr
    password: str = PField(min_length=1, max_length=200)
    totp_code: str | None = PField(default=None, pattern=r"^[0-9]{6}$")


class ActingAs(SQLModel):
    membership_id: RowId


class InvitationCreate(SQLModel):
    email: EmailStr
    role: Role
    city_id: RowId | None = None

    @model_validator(mode="after")
    def _scope(self) -> InvitationCreate:
        if self.role is Role.admin and self.city_id is not None:
            raise ValueError("an admin is not a member of a city; omit city_id")
        if self.role is not Role.admin and self.city_id is None:
            raise ValueError(f"a {self.role} needs city_id")
        return self


class InvitationPublic(SQLModel):
    id: int
    email: str
    role: Role
    city_id: int | None
    invited_by: str
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


class InvitationAccept(SQLModel):
    token: str = PField(min_length=20, max_length=100)
    display_name: DisplayName | None = PField(
        default=None, description="Needed when the invitation creates the account."
    )
    password: Password | None = PField(
        default=None, description="Needed when the invitation creates the account."
    )
    language: Language = Language.en
    timezone: TimezoneName = "UTC"


class AccessEventPublic(SQLModel):
    id: int
    at: datetime
    kind: AccessKind
    user_id: int | None
    email_key: str | None
    city_id: int | None
    actor: str
    client_address: str | None
    detail: str | None


class PasswordResetRequest(SQLModel):
    email: EmailStr


class PasswordResetConfirm(SQLModel):
    token: str = PField(min_length=20, max_length=100)
    password: Password


class TotpSetup(SQLModel):
    secret: str
    otpauth_uri: str = PField(description="Show it as a QR code to an authenticator app.")


class TotpConfirm(SQLModel):
    code: str = PField(pattern=r"^[0-9]{6}$")
