"""HTTP endpoints: a city's candidates, and its searches for a twin."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Query, status

from app.cities.models import CountryCode
from app.core.db import SessionDep
from app.core.openapi import problems
from app.core.pagination import Page, PageDep
from app.core.routing import Router
from app.core.types import PathId
from app.keys.auth import CurrentActor, MaybeActor
from app.twins import service
from app.twins.service import (
    MAX_CANDIDATES,
    CandidateList,
    CandidateUpdate,
    Proposal,
    SearchCandidatePublic,
    Shortlisting,
    SuggestionList,
    TwinSearchCreate,
    TwinSearchDetail,
    TwinSearchPublic,
    TwinSearchUpdate,
)

router = Router(prefix="/api/v1", tags=["twins"])

NOT_READY = (503, "No candidate model yet (the worker builds it; `twinplan "
                  "build-candidates` builds it now), or none that knows this city yet: try "
                  "again after `Retry-After` seconds. (Or every database connection is busy.)")
Limit = Annotated[int, Query(ge=1, le=MAX_CANDIDATES, description="How many candidates.")]


@router.get("/cities/{city_id}/candidates", response_model=CandidateList,
            responses=problems(NOT_READY))
def city_candidates(
    city_id: PathId,
    session: SessionDep,
    actor: MaybeActor,
    country: Annotated[
        list[CountryCode] | None,
        Query(max_length=50, description="Only cities of these countries (repeat: "
                                         "`?country=TM&country=AZ`); default: anywhere."),
    ] = None,
    limit: Limit = 10,
) -> object:
    """Cities this city could twin with, best first, each with its score and the reasons
    that add up to it ("twinned with 3 of Kostroma's twins", "Russian and Turkmen
    cities have 14 twinnings", "1,900 km away"...).

    Never the city itself, nor a city it has a partnership with in any status
    (proposed, negotiating, active, suspended or ended). Public, like twinnings.
    The model is rebuilt by the worker after the network changes (`model_built_at`
    says when it was built); a new partnership leaves the candidates at once.
    """
    return service.city_candidates(session, city_id, actor, countries=country, limit=limit)


@router.post("/cities/{city_id}/twin-searches", status_code=status.HTTP_201_CREATED,
             response_model=TwinSearchPublic, responses=problems(403))
def create_search(
    city_id: PathId, body: TwinSearchCreate, session: SessionDep, actor: CurrentActor
) -> object:
    """Open a search for a twin (the city's coordinators, admins). Its countries
    default to the city's `seeking_twin_in`."""
    return service.create_search(session, city_id, body, actor)


@router.get("/cities/{city_id}/twin-searches", response_model=Page[TwinSearchPublic],
            responses=problems(403))
def list_searches(
    city_id: PathId, session: SessionDep, actor: CurrentActor, page: PageDep
) -> object:
    """A city's searches for a twin, newest first (its coordinators and partner
    systems, admins)."""
    return service.list_searches(session, city_id, actor, page)


@router.get("/twin-searches/{search_id}", response_model=TwinSearchDetail,
            responses=problems(403))
def read_search(search_id: PathId, session: SessionDep, actor: CurrentActor) -> object:
    """A search with the cities it took up and its whole history, oldest step first."""
    return service.search_detail(session, search_id, actor)


@router.patch("/twin-searches/{search_id}", response_model=TwinSearchDetail,
              responses=problems(403, (409, "The new status cannot follow the current one.")))
def update_search(
    search_id: PathId, body: TwinSearchUpdate, session: SessionDep, actor: CurrentActor
) -> object:
    """Change where the search looks, its notes, or its status (open, paused, found,
    abandoned); every change is a step of its history."""
    return service.update_search(session, search_id, body, actor)


@router.get("/twin-searches/{search_id}/suggestions", response_model=SuggestionList,
            responses=problems(403, NOT_READY))
def search_suggestions(
    search_id: PathId, session: SessionDep, actor: CurrentActor, limit: Limit = 10
) -> object:
    """The model's candidates in the search's countries (anywhere if it names none),
    without the cities the search already took up, in any state."""
    return service.search_suggestions(session, search_id, actor, limit)


@router.post("/twin-searches/{search_id}/candidates", status_code=status.HTTP_201_CREATED,
             response_model=SearchCandidatePublic, responses=problems(
                 403, (409, "The city is already in the search, or already has a "
                            "partnership with the searching city; or the search is found "
                            "or abandoned.")))
def shortlist(
    search_id: PathId, body: Shortlisting, session: SessionDep, actor: CurrentActor
) -> object:
    """Shortlist a city, keeping the model's score and reasons as they are now."""
    return service.shortlist(session, search_id, body, actor)


@router.patch("/twin-searches/{search_id}/candidates/{city_id}",
              response_model=SearchCandidatePublic, responses=problems(
                  403, (409, "The candidate cannot go to that state from its own (a "
                             "declined or proposed one is final); or the search is found "
                             "or abandoned.")))
def update_candidate(
    search_id: PathId, city_id: PathId, body: CandidateUpdate, session: SessionDep,
    actor: CurrentActor,
) -> object:
    """Record that a shortlisted city was contacted, or that it declined."""
    return service.update_candidate(session, search_id, city_id, body, actor)


@router.post("/twin-searches/{search_id}/candidates/{city_id}/propose",
             status_code=status.HTTP_201_CREATED, response_model=SearchCandidatePublic,
             responses=problems(403, (409, "The candidate declined or was proposed already, "
                                           "the two cities have a partnership, or the "
                                           "search is found or abandoned.")))
def propose(
    search_id: PathId, city_id: PathId, session: SessionDep, actor: CurrentActor,
    body: Annotated[Proposal | None, Body()] = None,
) -> object:
    """Propose a twinning to a shortlisted or contacted city: creates a `proposed`
    partnership (`partnership_id`), as `POST /api/v1/partnerships` would."""
    return service.propose(session, search_id, city_id, body, actor)
