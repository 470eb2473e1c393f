"""What a change to an exchange event looks like to those who follow it."""

from __future__ import annotations

from dataclasses import dataclass

from app.core.changes import Change
from app.events.models import EventPublic, EventStatus


@dataclass(frozen=True)
class EventChanged(Change):
    """An event was created (``before`` is None), changed or cancelled.

    Both sides are the API's view of the event, guests included, so a consumer
    can say what changed without reading the database again.
    """

    before: EventPublic | None
    after: EventPublic

    @property
    def created(self) -> bool:
        return self.before is None

    @property
    def cancelled(self) -> bool:
        """This change is the cancellation."""
        return self.after.status == EventStatus.cancelled and (
            self.before is None or self.before.status != EventStatus.cancelled
        )

    @property
    def guests_removed(self) -> list[int]:
        """Guest cities this change took off the event."""
        if self.before is None:
            return []
        return [g for g in self.before.guest_city_ids if g not in self.after.guest_city_ids]


@dataclass(frozen=True)
class ProposalMoved(Change):
    """A side moved in the negotiation of a proposed event (app.events.proposals).

    ``to_city_id`` is the other side, the one to be told; ``event`` is the event
    after the move. The move's effect on the event itself (created, new dates,
    accepted, cancelled) is an ``EventChanged`` of its own.
    """

    event: EventPublic
    step_id: int
    action: str
    from_city_id: int
    to_city_id: int
    proposer_city_id: int
    turn_city_id: int | None
    message: str | None
