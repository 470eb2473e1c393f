"""Who is calling: bearer API keys resolved to a ``Principal``, and role checks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.core.db import SessionDep
from app.core.errors import Forbidden, Unauthorized
from app.keys.models import Role
from app.keys.service import find_active_key

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer tp_...`")


@dataclass(frozen=True)
class Principal:
    key_id: int
    role: Role
    city_id: int | None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.admin

    def require_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden("this action needs an admin key")

    def can_manage_city(self, city_id: int) -> bool:
        return self.is_admin or (self.role is Role.coordinator and self.city_id == city_id)

    def require_city(self, city_id: int) -> None:
        """Admin, or the coordinator of this very city."""
        if not self.can_manage_city(city_id):
            raise Forbidden(f"this key may not change city {city_id}'s data")

    def require_any_city(self, city_ids: Iterable[int]) -> None:
        """Admin, or a coordinator of one of these cities."""
        ids = list(city_ids)
        if not any(self.can_manage_city(c) for c in ids):
            raise Forbidden(
                "this key may only change data of its own city "
                f"(this involves cities {', '.join(map(str, ids))})"
            )


def optional_principal(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    if credentials is None:
        return None
    if credentials.scheme.lower() != "bearer":
        raise Unauthorized("use `Authorization: Bearer <api key>`")
    key = find_active_key(session, credentials.credentials)
    # End this read now: FastAPI runs the endpoint in another worker thread, and a
    # request must not hold a pooled connection while it waits for one, or 40
    # waiting requests can starve the few that hold connections.
    session.commit()
    if key is None or key.id is None:
        raise Unauthorized("the API key is unknown or has been revoked")
    return Principal(key_id=key.id, role=Role(key.role), city_id=key.city_id)


def require_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    if principal is None:
        raise Unauthorized("this action needs an API key: `Authorization: Bearer <api key>`")
    return principal


MaybePrincipal = Annotated[Principal | None, Depends(optional_principal)]
CurrentPrincipal = Annotated[Principal, Depends(require_principal)]
