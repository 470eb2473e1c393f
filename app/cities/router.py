"""HTTP endpoints for cities and partnerships."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response, status
from sqlmodel import Session

from app.cities import service
from app.cities.models import (
    CityCreate,
    CityPublic,
    CityUpdate,
    PartnerPublic,
    Partnership,
    PartnershipCreate,
    PartnershipPublic,
    PartnershipStatus,
    PartnershipUpdate,
    StatusChangePublic,
)
from app.core.db import SessionDep, view_of
from app.core.openapi import problems
from app.core.pagination import Page, PageDep, paginate
from app.core.routing import Router
from app.core.types import IdFilter, PathId
from app.keys.auth import CurrentActor

router = Router(prefix="/api/v1", tags=["cities"])


@router.post("/cities", status_code=status.HTTP_201_CREATED, response_model=CityPublic,
             responses=problems(403, (409, "Another city has this `wikidata_id`.")))
def create_city(body: CityCreate, session: SessionDep, actor: CurrentActor) -> object:
    """Add a city (admin). The timezone is derived when omitted."""
    return service.create_city(session, body, actor)


@router.get("/cities", response_model=Page[CityPublic])
def list_cities(
    session: SessionDep,
    page: PageDep,
    q: Annotated[
        str | None,
        Query(max_length=100, description="Name prefix; ignores case and accents (`orë`)."),
    ] = None,
    country_code: Annotated[str | None, Query(min_length=2, max_length=2)] = None,
) -> object:
    """Cities, sorted by name."""
    rows, total = paginate(session, service.city_query(q, country_code), page)
    items = [view_of(city, CityPublic) for city in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/cities/{city_id}", response_model=CityPublic)
def read_city(city_id: PathId, session: SessionDep) -> object:
    return service.get_city(session, city_id)


@router.patch("/cities/{city_id}", response_model=CityPublic,
              responses=problems(403, (409, "Another city has this `wikidata_id`.")))
def update_city(
    city_id: PathId, body: CityUpdate, session: SessionDep, actor: CurrentActor
) -> object:
    """Change a city (admin, or that city's coordinator)."""
    return service.update_city(session, city_id, body, actor)


@router.delete("/cities/{city_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(
    403, (409, "Partnerships, API keys or events still refer to the city.")))
def delete_city(city_id: PathId, session: SessionDep, actor: CurrentActor) -> Response:
    """Delete a city (admin); 409 while anything refers to it."""
    service.delete_city(session, city_id, actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/cities/{city_id}/partners", response_model=Page[PartnerPublic])
def list_partners(
    city_id: PathId,
    session: SessionDep,
    page: PageDep,
    status: PartnershipStatus | None = None,
) -> object:
    """A city's twins, with each partnership's status and the date it took effect."""
    service.get_city(session, city_id)
    window, total = service.partner_page(session, city_id, status, page.offset, page.limit)
    # Rows, not models: the response model reads them once, in one pass.
    items = [
        {"partnership_id": p.id, "city": view_of(other, CityPublic), "status": p.status,
         "established_on": p.established_on, "status_changed_on": changed_on}
        for p, other, changed_on in window
    ]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


def _public(session: Session, partnerships: list[Partnership]) -> list[PartnershipPublic]:
    history = service.status_history(session, [p.id for p in partnerships if p.id is not None])
    return [
        PartnershipPublic.model_validate(
            p,
            update={
                "history": [
                    StatusChangePublic.model_validate(h) for h in history.get(p.id or 0, [])
                ]
            },
        )
        for p in partnerships
    ]


@router.post("/partnerships", status_code=status.HTTP_201_CREATED, response_model=PartnershipPublic,
             responses=problems(403, (409, "The two cities already have a partnership.")))
def create_partnership(
    body: PartnershipCreate, session: SessionDep, actor: CurrentActor
) -> object:
    """Twin two cities (admin, or a coordinator of one of them). A–B equals B–A."""
    return _public(session, [service.create_partnership(session, body, actor)])[0]


@router.get("/partnerships", response_model=Page[PartnershipPublic])
def list_partnerships(
    session: SessionDep,
    page: PageDep,
    city_id: IdFilter = None,
    status: PartnershipStatus | None = None,
) -> object:
    items, total = paginate(session, service.partnership_query(city_id, status), page)
    return Page(items=_public(session, items), total=total, limit=page.limit, offset=page.offset)


@router.get("/partnerships/{partnership_id}", response_model=PartnershipPublic)
def read_partnership(partnership_id: PathId, session: SessionDep) -> object:
    return _public(session, [service.get_partnership(session, partnership_id)])[0]


@router.patch("/partnerships/{partnership_id}", response_model=PartnershipPublic,
              responses=problems(403, (409, "The new status cannot follow the current one.")))
def update_partnership(
    partnership_id: PathId,
    body: PartnershipUpdate,
    session: SessionDep,
    actor: CurrentActor,
) -> object:
    """Change status (recorded with its date), date established or notes."""
    return _public(session, [service.update_partnership(session, partnership_id, body, actor)])[0]
