"""The change seam: services record typed facts of what changed; consumers subscribe.

A domain service that changes the world says so with a fact, a frozen
dataclass deriving from ``Change`` (``EventChanged(before, after)``,
``RegistrationChanged``, ``PartnershipChanged``...), defined in the domain
that owns the data:

    changes.record(session, EventChanged(before=None, after=created))

Consumers above it (the outbox and webhooks, reminder planning; later the
audit log and change sync) subscribe to the fact types they care about:

    @changes.receiver(EventChanged)
    def _plan_reminders(change: EventChanged, session: Session) -> None: ...

Receivers run synchronously, inside the caller's transaction and before it
commits (in no set order: they must not depend on each other). So an outbox
row commits with the change that caused it, or not at all: a receiver that
raises aborts the service call, and the request's transaction rolls back.

The mechanism is a blinker signal (as in Flask and Indico) with the fact's
type as the sender: blinker keeps the subscriptions, and tests isolate them
with ``signal.connected_to(...)`` and ``signal.muted()``. Which consumers
exist is decided by the modules that connect them (``app.receivers``), not
here: this module knows no domain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from blinker import Signal
from sqlmodel import Session

change_recorded = Signal(
    "A service recorded a change fact; sender: the fact's type; kwargs: change, session."
)


@dataclass(frozen=True)
class Change:
    """Base of every change fact."""


C = TypeVar("C", bound=Change)


def record(session: Session, change: Change) -> None:
    """Tell every receiver of this fact's type, inside the caller's transaction."""
    change_recorded.send(type(change), change=change, session=session)


def receiver(
    fact: type[C],
) -> Callable[[Callable[[C, Session], None]], Callable[[C, Session], None]]:
    """Connect ``handler(change, session)`` to facts of type ``fact``.

    The handler stays connected for the life of the process (a strong
    reference): consumers are module-level functions, connected on import.
    """

    def connect(handler: Callable[[C, Session], None]) -> Callable[[C, Session], None]:
        def on_change(sender: Any, *, change: C, session: Session) -> None:
            handler(change, session)

        on_change.__name__ = on_change.__qualname__ = f"on_{handler.__name__}"
        on_change.handler = handler  # type: ignore[attr-defined]
        change_recorded.connect(on_change, sender=fact, weak=False)
        return handler

    return connect


def receivers_of(fact: type[Change]) -> list[Callable[..., None]]:
    """The handlers connected to ``fact``, in order (tests check the wiring)."""
    return [
        getattr(r, "handler", r)
        for r in change_recorded.receivers_for(fact)
    ]
