"""HTTP: ``GET /changes``, what changed since a cursor."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from app.changelog import service
from app.changelog.models import ChangePage
from app.core.db import SessionDep
from app.core.openapi import problems
from app.core.routing import Router
from app.keys.auth import CurrentActor

router = Router(prefix="/api/v1", tags=["changes"])


@router.get("/changes", response_model=ChangePage, responses=problems(401, 422))
def list_changes(
    session: SessionDep,
    actor: CurrentActor,
    since: Annotated[str | None, Query(
        max_length=40, description="A cursor from an earlier page; none for the whole log, "
        "`now` to start from the present.")] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIMIT)] = 100,
) -> ChangePage:
    """What changed, in order, that the caller may see: events (created, updated,
    cancelled), registrations and twinnings, each with the fields before and after.

    Keep the returned `cursor` and pass it as `since` next time: no change is skipped
    or repeated, whichever worker answers. `has_more` means ask again at once.
    Webhook payloads carry the same change objects under `change`.
    """
    items, cursor, more = service.read(session, actor, since, limit)
    return ChangePage(changes=items, cursor=cursor, has_more=more)
