"""What issuing a key tells the rest of the service (the access audit hears it)."""

from __future__ import annotations

from dataclasses import dataclass

from app.core.changes import Change


@dataclass(frozen=True)
class ApiKeyIssued(Change):
    key_id: int
    role: str
    city_id: int | None
    user_id: int | None
    by: str  # Actor.label of who issued it
    address: str | None
