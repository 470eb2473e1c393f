"""HTTP endpoints for exchanges proposed between twins (``app.events.proposals``)."""

from __future__ import annotations

from fastapi import Response, status

from app.core.db import SessionDep
from app.core.openapi import problems
from app.core.routing import Router
from app.events import proposals, service
from app.events.models import Event, EventPublic
from app.events.proposal_models import (
    EventProposalCreate,
    NegotiationPublic,
    ProposalAccept,
    ProposalCounter,
    ProposalEnd,
)
from app.events.router import EventId, IfMatch
from app.keys.auth import CurrentActor

router = Router(prefix="/api/v1", tags=["proposals"])

_NOT_YOUR_TURN = (409, "The negotiation is over, or it is the other city's turn.")


def _answer(session: SessionDep, response: Response, event: Event) -> EventPublic:
    assert event.id is not None
    response.headers["ETag"] = service.etag(event)
    response.headers["Vary"] = "Authorization"
    return service.to_public(event, service.guest_ids_of(session, [event.id])[event.id])


# Not /events/proposals: that path is also /events/{event_id}, whose GET and PATCH
# would answer it (a 422 for the id, and an Allow header naming them).
@router.post("/event-proposals", status_code=status.HTTP_201_CREATED, response_model=EventPublic,
             responses=problems(403))
def propose_event(
    body: EventProposalCreate, session: SessionDep, actor: CurrentActor, response: Response
) -> object:
    """Propose an exchange hosted by a twin (the proposing city's coordinator, or an admin
    naming `proposer_city_id`).

    The event is created `proposed`, hosted by `host_city_id`, with the proposing city
    as its guest, and visible to the two cities only until accepted. The two must be
    twinned, actively or by a proposed (or negotiating) twinning for a first visit;
    otherwise 422. The host's coordinators are told (email; `event.proposal` webhooks).
    """
    event = proposals.propose(session, body, actor)
    response.headers["Location"] = f"{router.prefix}/events/{event.id}"
    return _answer(session, response, event)


@router.get("/events/{event_id}/negotiation", response_model=NegotiationPublic,
            responses=problems(403))
def read_negotiation(event_id: EventId, session: SessionDep, actor: CurrentActor) -> object:
    """Every move of a proposed event's negotiation, oldest first, and whose turn it is.

    For the two cities' keys (and admins) only, never public: 403 for other keys that
    can see the event, 404 for those that cannot, and for events that were not proposed.
    """
    return proposals.negotiation(session, event_id, actor)


@router.post("/events/{event_id}/accept", response_model=EventPublic,
             responses=problems(403, _NOT_YOUR_TURN))
def accept_proposal(
    event_id: EventId, body: ProposalAccept, session: SessionDep, actor: CurrentActor,
    response: Response, if_match: IfMatch = None,
) -> object:
    """Accept the dates on the table, on your city's turn: the host accepting the
    proposal, or the proposer accepting the host's counter.

    The event becomes the host's `draft` (or `confirmed`, when the host accepts and
    says so) with the visibility proposed. `If-Match` is optional and checked when sent.
    """
    return _answer(session, response, proposals.accept(session, event_id, body, actor,
                                                       if_match=if_match))


@router.post("/events/{event_id}/counter", response_model=EventPublic,
             responses=problems(403, _NOT_YOUR_TURN))
def counter_proposal(
    event_id: EventId, body: ProposalCounter, session: SessionDep, actor: CurrentActor,
    response: Response, if_match: IfMatch = None,
) -> object:
    """Propose other dates, on your city's turn; the event takes them, and the turn
    passes to the other city. `If-Match` is optional and checked when sent."""
    return _answer(session, response, proposals.counter(session, event_id, body, actor,
                                                        if_match=if_match))


@router.post("/events/{event_id}/decline", response_model=EventPublic,
             responses=problems(403, (409, "The negotiation is over.")))
def decline_proposal(
    event_id: EventId, body: ProposalEnd, session: SessionDep, actor: CurrentActor,
    response: Response,
) -> object:
    """The host declines, with a reason, at any point of the negotiation: the event is
    cancelled with it, and stays visible to the two cities only."""
    return _answer(session, response, proposals.decline(session, event_id, body.reason, actor))


@router.post("/events/{event_id}/withdraw", response_model=EventPublic,
             responses=problems(403, (409, "The negotiation is over.")))
def withdraw_proposal(
    event_id: EventId, body: ProposalEnd, session: SessionDep, actor: CurrentActor,
    response: Response,
) -> object:
    """The proposing city withdraws, with a reason, at any point of the negotiation:
    the event is cancelled with it, and stays visible to the two cities only."""
    return _answer(session, response, proposals.withdraw(session, event_id, body.reason, actor))
