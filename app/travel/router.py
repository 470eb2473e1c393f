"""HTTP endpoints for journeys and the travel board (``app.travel``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response, status

from app.core.db import SessionDep
from app.core.openapi import problems
from app.core.pagination import Page, PageDep, paginate
from app.core.routing import Router
from app.core.types import PathId
from app.keys.auth import CurrentActor
from app.travel import board, service
from app.travel.models import (
    Direction,
    JourneyCreate,
    JourneyPublic,
    JourneyUpdate,
    TravelBoard,
)

router = Router(prefix="/api/v1", tags=["travel"])

LateDays = Annotated[int, Query(
    ge=0, le=366, description="Missing travel is flagged late when the event starts within "
    "this many days.")]

_WRITE_PROBLEMS = problems(403, (409, "The person already has a journey this way to the "
                                      "event (the problem names it), or the event is over."))


@router.post("/events/{event_id}/journeys", status_code=status.HTTP_201_CREATED,
             response_model=JourneyPublic, responses=_WRITE_PROBLEMS)
def create_journey(event_id: PathId, body: JourneyCreate, session: SessionDep,
                   actor: CurrentActor, response: Response) -> object:
    """Record an arrival or a departure of one person or a group of one home city
    (that city's coordinator or partner system, or the host's coordinator).

    Every traveller needs a registration at the event that is not cancelled, and at
    most one arrival and one departure per event; an arrival comes before the
    departure. `at` is the local time where it happens, in `timezone` (the event's by
    default); a time in a daylight-saving gap, or an ambiguous one, is a 422."""
    journey, event = service.create_journey(session, event_id, body, actor)
    response.headers["Location"] = f"{router.prefix}/journeys/{journey.id}"
    return service.to_public(session, actor, event, [journey])[0]


@router.get("/events/{event_id}/journeys", response_model=Page[JourneyPublic],
            responses=problems(403))
def list_journeys(event_id: PathId, session: SessionDep, actor: CurrentActor, page: PageDep,
                  direction: Direction | None = None) -> object:
    """The event's journeys in time order: all for the host city's keys, a guest
    city's own people's for its keys."""
    event = service.followed_event(session, event_id, actor)
    items, total = paginate(session, service.journey_query(event, actor, direction), page)
    return Page(items=service.to_public(session, actor, event, items), total=total,
                limit=page.limit, offset=page.offset)


@router.get("/journeys/{journey_id}", response_model=JourneyPublic)
def read_journey(journey_id: PathId, session: SessionDep, actor: CurrentActor) -> object:
    journey, event = service.get_journey(session, journey_id, actor)
    return service.to_public(session, actor, event, [journey])[0]


@router.patch("/journeys/{journey_id}", response_model=JourneyPublic,
              responses=_WRITE_PROBLEMS)
def update_journey(journey_id: PathId, body: JourneyUpdate, session: SessionDep,
                   actor: CurrentActor) -> object:
    """Change what is sent. `traveller_ids` replaces the list (to move people to
    another journey, take them off this one first); a new `timezone` alone keeps the
    wall-clock time."""
    journey, event = service.update_journey(session, journey_id, body, actor)
    return service.to_public(session, actor, event, [journey])[0]


@router.delete("/journeys/{journey_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=_WRITE_PROBLEMS)
def delete_journey(journey_id: PathId, session: SessionDep, actor: CurrentActor) -> Response:
    service.delete_journey(session, journey_id, actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/events/{event_id}/travel-board", response_model=TravelBoard,
            responses={**problems(403), 200: {"content": {"text/csv": {}}}})
def travel_board(event_id: PathId, session: SessionDep, actor: CurrentActor,
                 days: LateDays = board.DEFAULT_LATE_DAYS,
                 format: Annotated[str, Query(pattern="^(json|csv)$")] = "json") -> object:
    """Arrivals and departures grouped by place and time (how many, who meets them,
    flagged when nobody does), journeys whose every traveller cancelled, and the
    people holding a place with no arrival or departure recorded (late when the
    event starts within `days` days). Filtered to what the caller may read.
    `format=csv` gives the same as `travel-board.csv`."""
    result = board.travel_board(session, event_id, actor, days)
    return _csv(result) if format == "csv" else result


@router.get("/events/{event_id}/travel-board.csv", response_class=Response,
            responses={**problems(403), 200: {"content": {"text/csv": {}}}})
def travel_board_csv(event_id: PathId, session: SessionDep, actor: CurrentActor,
                     days: LateDays = board.DEFAULT_LATE_DAYS) -> Response:
    """The travel board for printing: one line per journey, then the people with
    travel missing."""
    return _csv(board.travel_board(session, event_id, actor, days))


def _csv(result: TravelBoard) -> Response:
    return Response(board.board_csv(result), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="travel-board-'
                             f'{result.event_id}.csv"'})
