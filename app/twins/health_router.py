"""HTTP endpoints: the health of a city's twinnings, and the network's dormant ones."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response

from app.core.db import SessionDep
from app.core.openapi import problems
from app.core.pagination import Page, PageDep
from app.core.routing import Router
from app.core.types import PathId
from app.keys.auth import CurrentActor, MaybeActor
from app.twins import health
from app.twins.health import CityPartnershipsHealth, DormantTwinning

router = Router(prefix="/api/v1", tags=["twins"])


@router.get("/cities/{city_id}/partnerships/health", response_model=CityPartnershipsHealth)
def city_partnerships_health(
    city_id: PathId, session: SessionDep, actor: MaybeActor, response: Response
) -> object:
    """How each of the city's twinnings is doing, in every status (ended ones last).

    For each twin: the last and the next exchange (an event both cities take part
    in, as host or guest, not cancelled), how many exchanges each side hosted in
    the last five years, whether the twinning is dormant (no exchange in
    `TWINPLAN_DORMANT_YEARS` years, 3 by default) and since when, the next round
    anniversary of its establishment, and what to do about it.

    Built from the events the caller may see: without a key, public events only;
    a city's keys also see that city's private events and the partners-only
    events it takes part in; admins see everything.
    """
    # What a caller sees depends on its key; shared caches must not mix callers.
    response.headers["Vary"] = "Authorization"
    return health.city_partnerships_health(session, city_id, actor)


# Not /partnerships/dormant: GET and PATCH /partnerships/{partnership_id} would take
# that path too (a 422 for "dormant", or the wrong `Allow` on a 405).
@router.get("/dormant-partnerships", response_model=Page[DormantTwinning],
            responses=problems(403))
def dormant_twinnings(
    session: SessionDep,
    actor: CurrentActor,
    page: PageDep,
    years: Annotated[
        int | None,
        Query(ge=1, le=100, description="Years without an exchange (default: "
                                        "`TWINPLAN_DORMANT_YEARS`, 3)."),
    ] = None,
) -> object:
    """Every dormant twinning of the network (admins): active or suspended, and no
    exchange in `years` years, or never any (established that long ago, or on an
    unknown date). Dormant longest first: by the year of the last exchange (or of
    the establishment, for twins that never met), those of unknown date last.
    """
    return health.dormant_twinnings(session, actor, years, page)
