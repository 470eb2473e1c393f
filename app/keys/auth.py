"""Who is calling: a bearer API key resolved to an ``Actor``, as a FastAPI dependency.

Routers only ask for the actor (``CurrentActor``, or ``MaybeActor`` where
reading needs no key); what the actor may do is each domain's policy.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.core.actors import Actor, Role
from app.core.db import SessionDep
from app.core.errors import Unauthorized
from app.keys.service import find_active_key

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer tp_...`")


def optional_actor(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor | None:
    # HTTPBearer(auto_error=False) gives None for no header and for other schemes
    # (Basic, say): those callers read as anonymous.
    if credentials is None:
        return None
    key = find_active_key(session, credentials.credentials)
    # End this read now: FastAPI runs the endpoint in another worker thread, and a
    # request must not hold a pooled connection while it waits for one, or 40
    # waiting requests can starve the few that hold connections.
    session.commit()
    if key is None or key.id is None:
        raise Unauthorized("the API key is unknown or has been revoked")
    return Actor(role=Role(key.role), city_id=key.city_id, key_id=key.id)


def require_actor(actor: Annotated[Actor | None, Depends(optional_actor)]) -> Actor:
    if actor is None:
        raise Unauthorized("this action needs an API key: `Authorization: Bearer <api key>`")
    return actor


MaybeActor = Annotated[Actor | None, Depends(optional_actor)]
CurrentActor = Annotated[Actor, Depends(require_actor)]
