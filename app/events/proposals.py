"""Exchanges proposed between twins: proposing, answering, and the negotiation log.

The rules of the turns are in ``app.events.proposal_models``' docstring; who may
act for which side is ``app.events.policy``'s to say. Each move writes a step,
changes the event as the move says (through ``service.change_event``, so
webhooks, change sync and ETags follow as for any edit), and records a
``ProposalMoved`` fact, from which the outbox tells the other side's
coordinators (email) and systems (``event.proposal`` webhooks).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from app.cities.models import City, PartnershipStatus
from app.cities.service import find_partnership
from app.core import changes, clock
from app.core.actors import Actor
from app.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.events import policy, service
from app.events.changes import ProposalMoved
from app.events.models import Event, EventCreate, EventStatus, Visibility
from app.events.proposal_models import (
    EventProposal,
    EventProposalCreate,
    EventProposalStep,
    NegotiationPublic,
    ProposalAccept,
    ProposalAction,
    ProposalCounter,
    ProposalState,
    ProposalStepPublic,
    ProposedDates,
)
from app.events.wallclock import in_zone

# Twinnings that allow a proposal: active ones, and those not yet active
# (proposed, under negotiation), whose first visit this may be.
OPEN_TO_PROPOSALS = frozenset(
    {PartnershipStatus.active, PartnershipStatus.proposed, PartnershipStatus.negotiating}
)


def _proposer_of(actor: Actor, data: EventProposalCreate) -> int:
    """The proposing city: named in the body, or the caller's own."""
    proposer = data.proposer_city_id or actor.city_id
    if proposer is None:
        raise Unprocessable(
            "say which city proposes (proposer_city_id)", field="proposer_city_id"
        )
    if not policy.can_negotiate_for(actor, proposer):
        raise Forbidden(f"this key may not propose exchanges for city {proposer}")
    return proposer


def _check_twins(session: Session, host: City, proposer: City) -> None:
    assert host.id is not None and proposer.id is not None
    if host.id == proposer.id:
        raise Unprocessable(
            "a city proposes exchanges to its twins; to plan its own, POST /api/v1/events",
            field="host_city_id",
        )
    pair = f"{proposer.name} ({proposer.id}) and {host.name} ({host.id})"
    partnership = find_partnership(session, host.id, proposer.id)
    if partnership is None:
        raise Unprocessable(
            f"{pair} are not twinned; exchanges are proposed to twins only",
            field="host_city_id",
            city_ids=[proposer.id, host.id],
        )
    if partnership.status not in OPEN_TO_PROPOSALS:
        raise Unprocessable(
            f"the partnership of {pair} (id {partnership.id}) is {partnership.status}; "
            "a proposal needs an active twinning, or a proposed one for a first visit",
            field="host_city_id",
            city_ids=[proposer.id, host.id],
            partnership_id=partnership.id,
        )


def _dates(data: ProposedDates) -> dict[str, Any]:
    """The dates as the fields of a PATCH's schedule."""
    if data.all_day:
        return {"all_day": True, "start_date": data.start_date,
                "end_date": data.end_date or data.start_date}
    return {"all_day": False, "starts_at": data.starts_at, "ends_at": data.ends_at}


def _step(
    session: Session,
    event: Event,
    actor: Actor,
    city_id: int,
    action: ProposalAction,
    message: str | None,
    *,
    with_dates: bool,
) -> EventProposalStep:
    assert event.id is not None
    step = EventProposalStep(
        event_id=event.id, at=clock.now(), city_id=city_id, actor=actor.label[:200],
        action=action, message=message,
    )
    if with_dates:
        step.timezone = event.timezone
        step.all_day = event.all_day
        step.starts_at_local, step.ends_at_local = event.starts_at_local, event.ends_at_local
        step.starts_at_utc, step.ends_at_utc = event.starts_at_utc, event.ends_at_utc
    session.add(step)
    session.flush()
    return step


def _tell(
    session: Session,
    event: Event,
    proposal: EventProposal,
    step: EventProposalStep,
    to_city_id: int,
) -> None:
    assert event.id is not None and step.id is not None
    public = service.to_public(event, service.guest_ids_of(session, [event.id])[event.id])
    changes.record(session, ProposalMoved(
        event=public, step_id=step.id, action=step.action, from_city_id=step.city_id,
        to_city_id=to_city_id, proposer_city_id=proposal.proposer_city_id,
        turn_city_id=proposal.turn_city_id, message=step.message,
    ))


# Proposing ---------------------------------------------------------------------


def propose(session: Session, data: EventProposalCreate, actor: Actor) -> Event:
    """Create the event as ``proposed``, hosted by the twin, the proposer its guest;
    open the negotiation with the host to move."""
    proposer_id = _proposer_of(actor, data)
    host = session.get(City, data.host_city_id)
    if host is None:
        raise Unprocessable(f"city {data.host_city_id} does not exist", field="host_city_id")
    proposer = session.get(City, proposer_id)
    if proposer is None:
        raise Unprocessable(f"city {proposer_id} does not exist", field="proposer_city_id")
    _check_twins(session, host, proposer)
    assert host.id is not None
    body = EventCreate(
        **data.model_dump(exclude={"proposer_city_id", "message", "visibility"}),
        guest_city_ids=[proposer_id],
        status=EventStatus.draft,
        # Until accepted, the two cities' business only.
        visibility=Visibility.partners,
    )
    event = service.insert_event(session, body, host, [proposer_id], status=EventStatus.proposed)
    assert event.id is not None
    proposal = EventProposal(
        event_id=event.id, proposer_city_id=proposer_id, turn_city_id=host.id,
        visibility=data.visibility, created_at=clock.now(),
    )
    session.add(proposal)
    step = _step(session, event, actor, proposer_id, ProposalAction.proposed, data.message,
                 with_dates=True)
    _tell(session, event, proposal, step, to_city_id=host.id)
    return event


# Answering ---------------------------------------------------------------------


def _open_proposal(
    session: Session, event_id: int, actor: Actor
) -> tuple[Event, EventProposal]:
    """The event, locked, and its open negotiation; 404 if the caller cannot see the
    event, 403 if it may act for neither side, 409 if the negotiation is over."""
    event = service.get_event_for_update(session, event_id, actor)
    proposal = session.get(EventProposal, event_id)
    if proposal is None:
        raise NotFound(f"event {event_id} was not proposed by a twin; it has no negotiation")
    if not (policy.can_negotiate_for(actor, event.host_city_id)
            or policy.can_negotiate_for(actor, proposal.proposer_city_id)):
        raise Forbidden(f"this key may not answer for either city of event {event_id}")
    if proposal.state != ProposalState.open:
        raise Conflict(f"the negotiation of event {event_id} is over: {proposal.state}")
    return event, proposal


def _other(event: Event, proposal: EventProposal, city_id: int) -> int:
    return proposal.proposer_city_id if city_id == event.host_city_id else event.host_city_id


def _on_turn(event: Event, proposal: EventProposal, actor: Actor, move: str) -> int:
    """The city whose turn it is, if the caller may act for it; else 409 (the other
    side's key, not its turn) or 403."""
    turn = proposal.turn_city_id
    assert turn is not None
    if policy.can_negotiate_for(actor, turn):
        return turn
    if policy.can_negotiate_for(actor, _other(event, proposal, turn)):
        raise Conflict(
            f"it is city {turn}'s turn to answer event {event.id}; you may {move} "
            "once it has answered",
            turn_city_id=turn,
        )
    raise Forbidden(f"this key may not answer for city {turn}")


def _close(proposal: EventProposal, state: ProposalState) -> None:
    proposal.state = state
    proposal.turn_city_id = None
    proposal.closed_at = clock.now()


def counter(
    session: Session, event_id: int, data: ProposalCounter, actor: Actor,
    *, if_match: str | None = None,
) -> Event:
    """Put other dates on the table; the turn passes to the other side."""
    event, proposal = _open_proposal(session, event_id, actor)
    service.check_if_match(event, if_match, required=False)
    city_id = _on_turn(event, proposal, actor, "counter")
    other = _other(event, proposal, city_id)
    service.change_event(session, event, lambda e: service.reschedule(e, _dates(data)))
    proposal.turn_city_id = other
    session.add(proposal)
    step = _step(session, event, actor, city_id, ProposalAction.countered, data.message,
                 with_dates=True)
    _tell(session, event, proposal, step, to_city_id=other)
    return event


def accept(
    session: Session, event_id: int, data: ProposalAccept, actor: Actor,
    *, if_match: str | None = None,
) -> Event:
    """Agree to the terms on the table: the event becomes the host's draft (or, when
    the host accepts and asks for it, confirmed), with the visibility proposed."""
    event, proposal = _open_proposal(session, event_id, actor)
    service.check_if_match(event, if_match, required=False)
    city_id = _on_turn(event, proposal, actor, "accept")
    status = data.status
    if city_id != event.host_city_id and status != EventStatus.draft:
        raise Unprocessable(
            "the proposer's acceptance makes the event the host's draft; the host "
            "confirms it", field="status",
        )

    def agreed(e: Event) -> None:
        e.status = status
        e.visibility = proposal.visibility

    service.change_event(session, event, agreed)
    _close(proposal, ProposalState.accepted)
    session.add(proposal)
    step = _step(session, event, actor, city_id, ProposalAction.accepted, data.message,
                 with_dates=True)
    _tell(session, event, proposal, step, to_city_id=_other(event, proposal, city_id))
    return event


def _end(
    session: Session, event_id: int, reason: str, actor: Actor, action: ProposalAction,
) -> Event:
    """Decline (the host) or withdraw (the proposer), on either's turn: the event is
    cancelled with the reason and stays the two cities' business."""
    event, proposal = _open_proposal(session, event_id, actor)
    declining = action == ProposalAction.declined
    city_id = event.host_city_id if declining else proposal.proposer_city_id
    if not policy.can_negotiate_for(actor, city_id):
        side = "host" if declining else "proposing city"
        raise Forbidden(
            f"only the {side} ({city_id}) may {'decline' if declining else 'withdraw'} "
            f"the proposal of event {event_id}"
        )
    words = "Declined by the host" if declining else "Withdrawn by the proposer"

    def ended(e: Event) -> None:
        e.status = EventStatus.cancelled
        e.cancelled_at = clock.now()
        e.cancel_reason = f"{words}: {reason}"[:1000]

    service.change_event(session, event, ended)
    _close(proposal, ProposalState.declined if declining else ProposalState.withdrawn)
    session.add(proposal)
    step = _step(session, event, actor, city_id, action, reason, with_dates=False)
    _tell(session, event, proposal, step, to_city_id=_other(event, proposal, city_id))
    return event


def decline(session: Session, event_id: int, reason: str, actor: Actor) -> Event:
    return _end(session, event_id, reason, actor, ProposalAction.declined)


def withdraw(session: Session, event_id: int, reason: str, actor: Actor) -> Event:
    return _end(session, event_id, reason, actor, ProposalAction.withdrawn)


# Reading -----------------------------------------------------------------------


def negotiation(session: Session, event_id: int, actor: Actor) -> NegotiationPublic:
    """The negotiation, every move in order; for the two cities only (404 for those
    who cannot see the event, 403 for those who can but are neither side)."""
    event = service.get_event(session, event_id, actor)
    proposal = session.get(EventProposal, event_id)
    if proposal is None:
        raise NotFound(f"event {event_id} was not proposed by a twin; it has no negotiation")
    if not policy.can_read_negotiation(actor, event.host_city_id, proposal.proposer_city_id):
        raise Forbidden(f"the negotiation of event {event_id} is for its two cities only")
    steps = session.exec(
        select(EventProposalStep)
        .where(EventProposalStep.event_id == event_id)
        .order_by(col(EventProposalStep.id))
    ).all()
    assert event.id is not None
    return NegotiationPublic(
        event_id=event.id,
        host_city_id=event.host_city_id,
        proposer_city_id=proposal.proposer_city_id,
        state=proposal.state,
        turn_city_id=proposal.turn_city_id,
        visibility=proposal.visibility,
        created_at=proposal.created_at,
        closed_at=proposal.closed_at,
        steps=[step_public(s) for s in steps],
    )


def step_public(step: EventProposalStep) -> ProposalStepPublic:
    """A move as the API shows it: times local to the event's zone, with offsets;
    all-day dates as first and last day (inclusive)."""
    assert step.id is not None
    starts = ends = None
    start_date = end_date = None
    if step.timezone and step.starts_at_utc and step.ends_at_utc and step.ends_at_local:
        zone = ZoneInfo(step.timezone)
        starts, ends = in_zone(step.starts_at_utc, zone), in_zone(step.ends_at_utc, zone)
        if step.all_day and step.starts_at_local:
            start_date = step.starts_at_local.date()
            end_date = max(start_date, (step.ends_at_local - timedelta(days=1)).date())
    return ProposalStepPublic(
        id=step.id, at=step.at, city_id=step.city_id, actor=step.actor, action=step.action,
        all_day=step.all_day, starts_at=starts, ends_at=ends, start_date=start_date,
        end_date=end_date, message=step.message,
    )

