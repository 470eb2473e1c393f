"""What accounts tell the outside world: emails with a link in them (invitations,
password resets), handed to the outbox through the change seam."""

from __future__ import annotations

from dataclasses import dataclass

from app.core.changes import Change


@dataclass(frozen=True)
class AccountMail(Change):
    """An email to one address, sent by the worker (``app.notifications.outbox``).

    ``key`` makes it idempotent; the text holds a single-use link, so the outbox
    row is the only other place the link's secret lives until it is sent.
    """

    key: str
    to: str
    subject: str
    text: str
    city_id: int | None = None
