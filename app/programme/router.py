"""HTTP endpoints for an event's programme (``app.programme.service``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Response, status

from app.core.db import SessionDep
from app.core.openapi import problems
from app.core.pagination import Page, PageDep, paginate
from app.core.routing import Router
from app.core.types import PathId
from app.events.router import EventId
from app.keys.auth import CurrentActor, MaybeActor
from app.programme import service
from app.programme.models import (
    ProgrammeItem,
    ProgrammeItemCreate,
    ProgrammeItemPublic,
    ProgrammeItemUpdate,
)

router = Router(prefix="/api/v1", tags=["programme"])

IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description="The ETag from your last read of the item.",
           pattern=r"\S"),
]
_CLOSED = (409, "The event is cancelled, completed, or mirrored from another calendar.")


def _answer(
    session: SessionDep, response: Response, item_id: int, actor: MaybeActor
) -> ProgrammeItemPublic:
    """The item as this caller sees it, with its ETag."""
    item, event = service.get_item(session, item_id, actor)
    response.headers["ETag"] = service.etag(item)
    response.headers["Vary"] = "Authorization"
    return service.to_public(session, event, [item], actor)[0]


def _located(item: ProgrammeItem, response: Response) -> None:
    response.headers["Location"] = f"{router.prefix}/programme-items/{item.id}"


@router.get("/events/{event_id}/programme", response_model=Page[ProgrammeItemPublic])
def list_programme(
    event_id: EventId, session: SessionDep, actor: MaybeActor, page: PageDep
) -> object:
    """The event's programme, in time order, for whoever may see the event.

    The event's cities (any of their keys) and admins see every item; others see
    the items marked `public`. Named people are shown only to the coordinators of
    their cities and of the host.
    """
    event, query = service.programme_query(session, event_id, actor)
    items, total = paginate(session, query, page)
    return Page(items=service.to_public(session, event, items, actor), total=total,
                limit=page.limit, offset=page.offset)


@router.post("/events/{event_id}/programme", status_code=status.HTTP_201_CREATED,
             response_model=ProgrammeItemPublic, responses=problems(403, _CLOSED))
def create_programme_item(
    event_id: EventId, body: ProgrammeItemCreate, session: SessionDep, actor: CurrentActor,
    response: Response,
) -> object:
    """Add an item to the programme (admin, or the host city's coordinator).

    Times without an offset are wall-clock in the event's zone and must lie within
    the event (an all-day event: within its days). Named people must hold a
    registration at the event. Calendar feeds show the item at once.
    """
    item = service.create_item(session, event_id, body, actor)
    _located(item, response)
    assert item.id is not None
    return _answer(session, response, item.id, actor)


@router.get("/programme-items/{item_id}", response_model=ProgrammeItemPublic)
def read_programme_item(
    item_id: PathId, session: SessionDep, actor: MaybeActor, response: Response
) -> object:
    """One item, with its `ETag` for a later `PATCH`. Items hidden from the caller are 404."""
    return _answer(session, response, item_id, actor)


@router.patch("/programme-items/{item_id}", response_model=ProgrammeItemPublic,
              responses=problems(403, _CLOSED, 428))
def update_programme_item(
    item_id: PathId, body: ProgrammeItemUpdate, session: SessionDep, actor: CurrentActor,
    response: Response, if_match: IfMatch = None,
) -> object:
    """Change an item (admin, or the host's coordinator). Needs `If-Match`; every change
    raises its `sequence`. A new `audience` takes its `role` or `participant_ids`."""
    service.update_item(session, item_id, body, actor, if_match=if_match)
    return _answer(session, response, item_id, actor)


@router.delete("/programme-items/{item_id}", status_code=status.HTTP_204_NO_CONTENT,
               response_class=Response, responses=problems(403, _CLOSED))
def delete_programme_item(
    item_id: PathId, session: SessionDep, actor: CurrentActor, if_match: IfMatch = None
) -> Response:
    """Remove an item (admin, or the host's coordinator); `If-Match` is checked when sent."""
    service.delete_item(session, item_id, actor, if_match=if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
