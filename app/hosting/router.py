"""HTTP endpoints for host families, guests' needs and the placement of guests.

Personal data throughout: every endpoint needs a coordinator's (or an admin's)
key; who sees what is ``app.hosting.policy``'s.
"""

from __future__ import annotations

from fastapi import Response, status

from app.core.db import SessionDep
from app.core.openapi import problems
from app.core.pagination import Page, PageDep, paginate
from app.core.routing import Router
from app.core.types import PathId
from app.hosting import service
from app.hosting.models import (
    GuestMove,
    GuestNeedsPublic,
    GuestNeedsWrite,
    HostFamilyCreate,
    HostFamilyPublic,
    HostFamilyUpdate,
    PlacementPublic,
    PlacementRequest,
    PlacementStatusChange,
)
from app.keys.auth import CurrentActor

router = Router(prefix="/api/v1", tags=["hosting"])

_NOT_HOSTED = "The event is not a youth or school exchange"


# Families ---------------------------------------------------------------------------


@router.post("/cities/{city_id}/host-families", status_code=status.HTTP_201_CREATED,
             response_model=HostFamilyPublic, responses=problems(403))
def create_family(city_id: PathId, body: HostFamilyCreate, session: SessionDep,
                  actor: CurrentActor, response: Response) -> object:
    """Record a host family of the city (its coordinators, or an admin)."""
    family = service.create_family(session, city_id, body, actor)
    response.headers["Location"] = f"{router.prefix}/host-families/{family.id}"
    return family


@router.get("/cities/{city_id}/host-families", response_model=Page[HostFamilyPublic],
            responses=problems(403))
def list_families(city_id: PathId, session: SessionDep, actor: CurrentActor,
                  page: PageDep) -> object:
    """The city's host families, oldest first (its coordinators, or an admin)."""
    items, total = paginate(session, service.families_query(session, city_id, actor), page)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/host-families/{family_id}", response_model=HostFamilyPublic)
def read_family(family_id: PathId, session: SessionDep, actor: CurrentActor) -> object:
    return service.get_family(session, family_id, actor)


@router.patch("/host-families/{family_id}", response_model=HostFamilyPublic)
def update_family(family_id: PathId, body: HostFamilyUpdate, session: SessionDep,
                  actor: CurrentActor) -> object:
    return service.update_family(session, family_id, body, actor)


@router.delete("/host-families/{family_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=problems((409, "The family hosts guests in a placement.")))
def delete_family(family_id: PathId, session: SessionDep, actor: CurrentActor) -> Response:
    service.delete_family(session, family_id, actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# Needs -------------------------------------------------------------------------------


@router.get("/events/{event_id}/guests/{participant_id}/needs",
            response_model=GuestNeedsPublic, responses=problems(403))
def read_needs(event_id: PathId, participant_id: PathId, session: SessionDep,
               actor: CurrentActor) -> object:
    """A guest's needs at this event, medical notes included: for the coordinators of
    the guest's and the host's cities (empty lists until recorded)."""
    return service.read_needs(session, event_id, participant_id, actor)


@router.put("/events/{event_id}/guests/{participant_id}/needs",
            response_model=GuestNeedsPublic, responses=problems(403))
def write_needs(event_id: PathId, participant_id: PathId, body: GuestNeedsWrite,
                session: SessionDep, actor: CurrentActor) -> object:
    """Record a guest's needs (replacing them): the guest's home city coordinators."""
    return service.write_needs(session, event_id, participant_id, body, actor)


# Placement ---------------------------------------------------------------------------


@router.post("/events/{event_id}/placement", response_model=PlacementPublic,
             responses=problems(403, (409, f"{_NOT_HOSTED}, the placement is confirmed, "
                                           "or no placement keeps every rule: `unplaced` "
                                           "lists who cannot be placed and why.")))
def propose_placement(event_id: PathId, body: PlacementRequest, session: SessionDep,
                      actor: CurrentActor) -> object:
    """Propose where each guest stays (the host's coordinators), replacing the last
    proposal; pinned guests keep their family. Every hard rule holds (capacity,
    allergies, diets, siblings together, `min_minors_per_family`); then shared
    languages, wishes to stay together and fewest families are maximised."""
    return service.propose(session, event_id, body, actor)


@router.get("/events/{event_id}/placement", response_model=PlacementPublic,
            responses=problems(403))
def read_placement(event_id: PathId, session: SessionDep, actor: CurrentActor) -> object:
    """The placement per family and per guest, each with why it is there. A guest
    city's coordinators see their own guests (and their families) only."""
    return service.read(session, event_id, actor)


@router.put("/events/{event_id}/placement/{participant_id}", response_model=PlacementPublic,
            responses=problems(403, (409, f"{_NOT_HOSTED}, or the move breaks a rule: "
                                          "`reasons` says which.")))
def move_guest(event_id: PathId, participant_id: PathId, body: GuestMove,
               session: SessionDep, actor: CurrentActor) -> object:
    """Put a guest with a family (pinned unless `pinned` is false); the guest's
    siblings move too. Refused if it breaks a hard rule."""
    return service.move(session, event_id, participant_id, body, actor)


@router.patch("/events/{event_id}/placement", response_model=PlacementPublic,
              responses=problems(403, (409, f"{_NOT_HOSTED}, or, to confirm, a guest has no "
                                            "family or breaks a rule.")))
def set_placement_status(event_id: PathId, body: PlacementStatusChange, session: SessionDep,
                         actor: CurrentActor) -> object:
    """`confirmed`: the placement is final (every guest placed, no rule broken); it is
    then changed one guest at a time. `proposed`: open it again, to propose afresh."""
    return service.set_status(session, event_id, body.status, actor)
