"""HTTP endpoints for a city's mirrored (external) calendars."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Response, status

from app.core.db import SessionDep
from app.core.openapi import problems
from app.core.pagination import Page, PageDep, paginate
from app.core.routing import Router
from app.core.types import MAX_ID
from app.keys.auth import CurrentActor
from app.mirrors import service
from app.mirrors.models import ExternalCalendar, ExternalCalendarCreate, ExternalCalendarPublic

router = Router(prefix="/api/v1", tags=["external calendars"])

CityId = Annotated[int, Path(ge=1, le=MAX_ID)]
CalendarId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _public(calendar: ExternalCalendar) -> ExternalCalendarPublic:
    return ExternalCalendarPublic.model_validate(calendar, from_attributes=True)


@router.post("/cities/{city_id}/external-calendars", status_code=status.HTTP_201_CREATED,
             response_model=ExternalCalendarPublic, responses=problems(403))
def register_calendar(city_id: CityId, body: ExternalCalendarCreate, session: SessionDep,
                      actor: CurrentActor, response: Response) -> object:
    """Mirror a public iCal calendar into the city (its coordinators, or an admin).

    The worker polls it at once and then every `TWINPLAN_EXTERNAL_CALENDAR_POLL_MINUTES`;
    its events show in the city's lists and feeds marked `external`, read-only.
    Addresses that are not globally routable are refused (422).
    """
    calendar = service.register_calendar(session, city_id, body, actor)
    response.headers["Location"] = f"{router.prefix}/external-calendars/{calendar.id}"
    return _public(calendar)


@router.get("/cities/{city_id}/external-calendars",
            response_model=Page[ExternalCalendarPublic], responses=problems(403))
def list_calendars(city_id: CityId, session: SessionDep, actor: CurrentActor,
                   page: PageDep) -> object:
    """The city's calendars with how their last poll went (the city's keys, admins)."""
    items, total = paginate(session, service.calendar_query(session, city_id, actor), page)
    return Page(items=[_public(c) for c in items], total=total, limit=page.limit,
                offset=page.offset)


@router.get("/external-calendars/{calendar_id}", response_model=ExternalCalendarPublic)
def read_calendar(calendar_id: CalendarId, session: SessionDep,
                  actor: CurrentActor) -> object:
    """One calendar: `status` `ok`, `error` with the reason, or `pending`."""
    return _public(service.get_calendar(session, calendar_id, actor))


@router.post("/external-calendars/{calendar_id}/poll", status_code=status.HTTP_202_ACCEPTED,
             response_model=ExternalCalendarPublic, responses=problems(403))
def poll_calendar(calendar_id: CalendarId, session: SessionDep,
                  actor: CurrentActor) -> object:
    """Have the worker poll the calendar at its next round (within a minute)."""
    return _public(service.poll_soon(session, calendar_id, actor))


@router.delete("/external-calendars/{calendar_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=problems(403))
def delete_calendar(calendar_id: CalendarId, session: SessionDep,
                    actor: CurrentActor) -> None:
    """Stop mirroring the calendar; its mirrored events are deleted with it."""
    service.delete_calendar(session, calendar_id, actor)
