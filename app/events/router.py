"""HTTP endpoints for exchange events."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Header, Path, Query, Response, status
from pydantic import PlainValidator, WithJsonSchema

from app.cities.models import TimezoneName
from app.core.db import SessionDep
from app.core.openapi import problems
from app.core.pagination import Page, PageDep, paginate
from app.core.routing import Router
from app.core.types import MAX_ID
from app.events import service
from app.events.models import (
    Event,
    EventCancel,
    EventCreate,
    EventKind,
    EventPublic,
    EventStatus,
    EventUpdate,
    check_year,
)
from app.keys.auth import CurrentActor, MaybeActor

router = Router(prefix="/api/v1/events", tags=["events"])


# What `from` and `to` accept, stated in the schema and checked before parsing: a
# date, or a date and time to the minute, second or fraction, with an optional offset;
# years 1900 to 2200 (`check_year`).
WINDOW_EDGE = (
    r"^(19[0-9]{2}|2[01][0-9]{2}|2200)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
    r"(Z|[+-]([01][0-9]|2[0-3]):?[0-5][0-9])?)?$"
)
_WINDOW_EDGE = re.compile(WINDOW_EDGE)


def _window_edge(value: Any) -> date | datetime:
    if isinstance(value, date):
        return check_year(value)
    text = str(value)
    try:
        if not _WINDOW_EDGE.match(text):
            raise ValueError
        parsed = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            "use a date (2027-05-01) or a date and time (2027-05-01T10:00, "
            "optionally with an offset such as +03:00 or Z)"
        ) from None
    return check_year(parsed)


WindowEdge = Annotated[
    date | datetime,
    PlainValidator(_window_edge, json_schema_input_type=str),
    WithJsonSchema({"type": "string", "pattern": WINDOW_EDGE,
                    "examples": ["2027-05-01", "2027-05-01T10:00", "2027-05-01T10:00+03:00"]}),
]
EventId = Annotated[int, Path(ge=1, le=MAX_ID)]
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="The ETag from your last read of the event.",
        pattern=r"\S",  # a blank one names no version
    ),
]


def _with_etag(response: Response, event: Event) -> None:
    response.headers["ETag"] = service.etag(event)
    # What a caller sees depends on its key; shared caches must not mix callers.
    response.headers["Vary"] = "Authorization"


def _public(session: SessionDep, event: Event) -> EventPublic:
    assert event.id is not None
    return service.to_public(event, service.guest_ids_of(session, [event.id])[event.id])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=EventPublic,
             responses=problems(403))
def create_event(
    body: EventCreate, session: SessionDep, actor: CurrentActor, response: Response
) -> object:
    """Plan an event (admin, or the host city's coordinator).

    Times without an offset are wall-clock times in `timezone` (the host city's
    by default); a time that falls into a daylight-saving gap, or one that is
    ambiguous because the clocks go back, is refused with a 422 that says which.
    """
    event = service.create_event(session, body, actor)
    _with_etag(response, event)
    response.headers["Location"] = f"{router.prefix}/{event.id}"
    return _public(session, event)


@router.get("", response_model=Page[EventPublic])
def list_events(
    session: SessionDep,
    page: PageDep,
    actor: MaybeActor,
    city_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Host or guest.")] = None,
    partnership_id: Annotated[
        int | None,
        Query(
            ge=1, le=MAX_ID, description="Events that both cities of the partnership take part in."
        ),
    ] = None,
    kind: Annotated[list[EventKind] | None, Query(description="Repeatable.")] = None,
    event_status: Annotated[
        list[EventStatus] | None, Query(alias="status", description="Repeatable.")
    ] = None,
    window_from: Annotated[
        WindowEdge | None,
        Query(alias="from", description="Events still running at or after this date/time."),
    ] = None,
    window_to: Annotated[
        WindowEdge | None,
        Query(
            alias="to",
            description="Events starting before this time; a date includes the whole day.",
        ),
    ] = None,
    timezone: Annotated[
        TimezoneName | None,
        Query(
            description="Zone for dates and naive times in `from`/`to` "
            "(default: the zone of `city_id`, else UTC)."
        ),
    ] = None,
) -> object:
    """Events the caller may see, by start time, overlapping the window if given."""
    filters = service.EventFilters(
        city_id=city_id,
        partnership_id=partnership_id,
        kinds=kind or (),
        statuses=event_status or (),
        window_from=window_from,
        window_to=window_to,
        timezone=timezone,
    )
    items, total = paginate(session, service.event_query(session, filters, actor), page)
    return Page(
        items=service.public_page(session, items),
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/{event_id}", response_model=EventPublic)
def read_event(
    event_id: EventId, session: SessionDep, actor: MaybeActor, response: Response
) -> object:
    """One event, with its `ETag` for a later `PATCH`. Events hidden from the caller are 404."""
    event = service.get_event(session, event_id, actor)
    _with_etag(response, event)
    return _public(session, event)


@router.patch("/{event_id}", response_model=EventPublic, responses=problems(
    403, (409, "The event is cancelled or completed, or the new status cannot follow the "
          "current one."), 428))
def update_event(
    event_id: EventId,
    body: EventUpdate,
    session: SessionDep,
    actor: CurrentActor,
    response: Response,
    if_match: IfMatch = None,
) -> object:
    """Change an event (admin, or the host's coordinator). Needs `If-Match`.

    428 without `If-Match`, 412 if the event changed since that ETag was issued.
    Changes that calendar subscribers see (time, place, title, description,
    status) increase `sequence`.
    """
    event = service.update_event(session, event_id, body, actor, if_match=if_match)
    _with_etag(response, event)
    return _public(session, event)


@router.post("/{event_id}/cancel", response_model=EventPublic,
             responses=problems(403, (409, "A completed event cannot be cancelled.")))
def cancel_event(
    event_id: EventId,
    body: EventCancel,
    session: SessionDep,
    actor: CurrentActor,
    response: Response,
    if_match: IfMatch = None,
) -> object:
    """Cancel an event with a reason, keeping the record (admin, or the host's coordinator).

    Any status but `completed` may be cancelled; cancelling again changes nothing.
    `If-Match` is optional here and checked when sent.
    """
    event = service.cancel_event(session, event_id, body.reason, actor, if_match=if_match)
    _with_etag(response, event)
    return _public(session, event)
