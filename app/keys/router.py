"""HTTP endpoints for API keys (admin only)."""

from __future__ import annotations

from fastapi import Response, status

from app.core.db import SessionDep
from app.core.openapi import problems
from app.core.routing import Router
from app.core.types import PathId
from app.keys import service
from app.keys.auth import CurrentActor
from app.keys.models import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic

router = Router(prefix="/api/v1/api-keys", tags=["api keys"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated,
             responses=problems(403))
def create_api_key(body: ApiKeyCreate, session: SessionDep, actor: CurrentActor,
                   response: Response) -> object:
    """Issue a key. The secret is in this response only; store it now."""
    # Only its hash is kept, here too: no cache, and no Idempotency-Key replay, holds it.
    response.headers["Cache-Control"] = "no-store"
    key, secret = service.create_api_key(
        session, actor, name=body.name, role=body.role, city_id=body.city_id
    )
    return ApiKeyCreated.model_validate(key, update={"key": secret})


@router.get("", response_model=list[ApiKeyPublic], responses=problems(403))
def list_api_keys(session: SessionDep, actor: CurrentActor) -> object:
    return service.list_api_keys(session, actor)


@router.get("/me", response_model=ApiKeyPublic)
def read_own_key(session: SessionDep, actor: CurrentActor) -> object:
    """The key making this request: its role and city (any valid key may ask)."""
    return service.own_key(session, actor)


@router.post("/{key_id}/revoke", response_model=ApiKeyPublic, responses=problems(403))
def revoke_api_key(key_id: PathId, session: SessionDep, actor: CurrentActor) -> object:
    """Revoke a key at once; requests with it answer 401 from now on."""
    return service.revoke_api_key(session, key_id, actor)
