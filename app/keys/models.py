"""API keys: who may write, and for which city."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field as PField
from pydantic import model_validator
from sqlalchemy import String
from sqlmodel import Field, SQLModel

from app.core.actors import Role
from app.core.db import UTCDateTime, utcnow
from app.core.types import RowId


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    role: Role = Field(sa_type=String(20))
    city_id: int | None = Field(
        default=None, foreign_key="city.id", index=True, ondelete="RESTRICT"
    )
    # A personal key: made by a signed-in person, within their own role and city,
    # and revoked with their membership.
    user_id: int | None = Field(
        default=None, foreign_key="app_user.id", index=True, ondelete="CASCADE"
    )
    # SHA-256 of the key; keys carry 256 random bits, so a slow hash adds nothing.
    key_hash: str = Field(max_length=64, unique=True, index=True)
    prefix: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ApiKeyCreate(SQLModel):
    name: str = PField(min_length=1, max_length=200)
    role: Role
    city_id: RowId | None = None

    @model_validator(mode="after")
    def _scope(self) -> ApiKeyCreate:
        if self.role is Role.admin and self.city_id is not None:
            raise ValueError("an admin key is not scoped to a city; omit city_id")
        if self.role is not Role.admin and self.city_id is None:
            raise ValueError(f"a {self.role} key needs city_id")
        return self


class ApiKeyPublic(SQLModel):
    id: int
    name: str
    role: Role
    city_id: int | None
    user_id: int | None
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = PField(description="The secret. Shown this once; only its hash is stored.")
