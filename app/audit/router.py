"""HTTP: ``GET /audit``, who wrote what and when."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from app.audit import service
from app.audit.models import AuditEntryPublic
from app.core.db import SessionDep
from app.core.openapi import problems
from app.core.pagination import Page, PageDep, paginate
from app.core.routing import Router
from app.core.types import Instant
from app.keys.auth import CurrentActor

router = Router(prefix="/api/v1", tags=["audit"])


@router.get("/audit", response_model=Page[AuditEntryPublic], responses=problems(403, 422))
def list_audit(
    session: SessionDep,
    actor: CurrentActor,
    page: PageDep,
    entity: Annotated[str | None, Query(
        max_length=80, description="A type (`event`) or one row (`event:42`; "
        "`event_guest:42:7`).")] = None,
    by: Annotated[str | None, Query(
        alias="actor", max_length=40,
        description="Who wrote: `key:<id>`, `user:<id>`, `system` or `anonymous`.")] = None,
    since: Annotated[Instant | None, Query(
        description="From this instant (inclusive; with a UTC offset).")] = None,
    until: Annotated[Instant | None, Query(
        description="Before this instant (exclusive; with a UTC offset).")] = None,
) -> object:
    """Every write to the data, newest first: who (key or person), when, from where,
    which row, and its fields before and after (the changed ones for an update).
    Secrets and travellers' personal data read `***`. Downloads of documents holding
    personal data (invitation letters, consent forms, delegation lists) are entries too,
    with the action `downloaded` on the person (`participant:<id>`) or the event.

    Admins read everything; a city's coordinators read the entries of their city's
    data (its events, participants, registrations at its events or of its people,
    twinnings, keys, webhooks...). Partner systems may not read the audit.
    """
    query = service.entries_query(actor, entity=entity, by=by, since=since, until=until)
    items, total = paginate(session, query, page)
    return Page(items=[AuditEntryPublic.model_validate(i, from_attributes=True) for i in items],
                total=total, limit=page.limit, offset=page.offset)
