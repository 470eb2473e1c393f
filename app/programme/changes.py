"""What a change to an event's programme looks like to those who follow it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from app.core.changes import Change


@dataclass(frozen=True)
class ProgrammeChanged(Change):
    """A programme item was added, changed or removed (``app.programme.service``).

    ``participant_ids`` are the people the item concerns after the change (and, for
    a removal or a change of audience, before it): named people, or everyone with
    a role, or everyone registered. ``public`` says whether the item is shown
    beyond the cities of the event. Times are wall-clock in the event's zone.
    """

    event_id: int
    item_id: int
    action: Literal["added", "changed", "removed"]
    title: str
    starts_at: datetime
    ends_at: datetime
    place: str | None
    public: bool
    participant_ids: tuple[int, ...]
