"""The outbox, each delivery attempt, and the webhook endpoints cities register.

A ``Notification`` is one message to one recipient over one channel, written in
the same transaction as the change that caused it and delivered later by the
worker. Its ``key`` is unique (``wtcd:2027:city:42:30d``,
``event.updated:17:v4:webhook:3``): writing the same notification twice is a
no-op, so producers may be re-run safely. Its ``message_id`` is derived from
the key and never changes; webhooks carry it as ``webhook-id`` and emails as
``Message-ID``, so a receiver that sees it twice (after a worker crash) can drop
the copy.

Channels:

* ``reminder``: a reminder due at a moment (World Twin Cities Day, an upcoming
  event, an anniversary). At that moment the worker expands it into the
  ``email`` and ``webhook`` notifications of its recipients, in one
  transaction, so what they say (readiness, partnerships without a plan) is
  as of the day they are sent.
* ``email``: ``recipient`` is an address.
* ``webhook``: ``recipient`` is a ``webhook_endpoint`` id.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field as PField
from pydantic import computed_field
from sqlalchemy import JSON, Column, Index, String
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, utcnow


class Channel(StrEnum):
    reminder = "reminder"
    email = "email"
    webhook = "webhook"


class NotificationStatus(StrEnum):
    pending = "pending"  # waiting for available_at
    sending = "sending"  # claimed by a worker until its lease (available_at) expires
    delivered = "delivered"
    dead = "dead"  # failed worker_max_attempts times, or refused for good
    missed = "missed"  # a reminder whose moment passed by more than a day unsent
    withdrawn = "withdrawn"  # its event moved or was cancelled, or its endpoint went away


OPEN_STATUSES = frozenset({NotificationStatus.pending, NotificationStatus.sending})


class Topic(StrEnum):
    """What a notification is about; webhook endpoints subscribe to these."""

    event_created = "event.created"
    event_updated = "event.updated"
    event_cancelled = "event.cancelled"
    event_proposal = "event.proposal"  # a move in a proposed exchange's negotiation
    registration_changed = "registration.changed"
    reminder_due = "reminder.due"
    account_mail = "account.mail"  # invitations and password resets (email only)


def _utc(**kw: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kw)


class Notification(SQLModel, table=True):
    __table_args__ = (
        # The worker's claim: open rows in the order they become available.
        Index("ix_notification_status_available_at", "status", "available_at"),
        Index("ix_notification_city_id_status", "city_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=400, unique=True)
    message_id: str = Field(max_length=40, unique=True)
    channel: Channel = Field(sa_type=String(20))
    topic: Topic = Field(sa_type=String(40))
    recipient: str = Field(max_length=320)
    # The city whose coordinators may see this row (GET /notifications).
    city_id: int | None = Field(default=None, foreign_key="city.id", ondelete="CASCADE")
    # What it is about, e.g. "event:17", so an event's reminders can be found again.
    subject: str | None = Field(default=None, max_length=100, index=True)
    # The traveller an email is written to (or to whose guardian), so that their
    # erasure finds it: an address may be shared (siblings' guardian), a person not.
    participant_id: int | None = Field(
        default=None, foreign_key="participant.id", ondelete="SET NULL", index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: NotificationStatus = Field(default=NotificationStatus.pending, sa_type=String(20))
    # The moment it is meant for; a reminder more than a day late is missed.
    due_at: datetime = _utc()
    # When a worker may (re)try it: due_at, then the backoff, or the lease's end.
    available_at: datetime = _utc()
    attempts: int = Field(default=0)
    # Set by each claim; a worker records its outcome only while the token is still
    # its own (a worker that overran its lease must not overwrite its successor).
    claim_token: str | None = Field(default=None, max_length=40)
    claimed_by: str | None = Field(default=None, max_length=100)
    last_error: str | None = Field(default=None, max_length=1000)
    delivered_at: datetime | None = _utc(default=None)
    parent_id: int | None = Field(
        default=None, foreign_key="notification.id", ondelete="SET NULL", index=True
    )
    created_at: datetime = _utc(default_factory=utcnow, nullable=False)
    updated_at: datetime = _utc(default_factory=utcnow, nullable=False)


class AttemptOutcome(StrEnum):
    delivered = "delivered"
    failed = "failed"  # will be retried, unless it was the last attempt
    refused = "refused"  # permanent: 410 Gone, or every mail recipient refused
    abandoned = "abandoned"  # the worker died or overran its lease mid-attempt
    missed = "missed"
    withdrawn = "withdrawn"


class NotificationAttempt(SQLModel, table=True):
    __tablename__ = "notification_attempt"

    id: int | None = Field(default=None, primary_key=True)
    notification_id: int = Field(foreign_key="notification.id", ondelete="CASCADE", index=True)
    number: int
    worker: str = Field(max_length=100)
    started_at: datetime = _utc()
    finished_at: datetime | None = _utc(default=None)
    outcome: AttemptOutcome = Field(sa_type=String(20))
    response_status: int | None = None
    detail: str | None = Field(default=None, max_length=1000)


class WebhookEndpoint(SQLModel, table=True):
    __tablename__ = "webhook_endpoint"

    id: int | None = Field(default=None, primary_key=True)
    city_id: int = Field(foreign_key="city.id", ondelete="CASCADE", index=True)
    url: str = Field(max_length=2000)
    description: str | None = Field(default=None, max_length=500)
    event_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    enabled: bool = Field(default=True)
    disabled_at: datetime | None = _utc(default=None)
    disabled_reason: str | None = Field(default=None, max_length=500)
    # Signing needs the secret itself (HMAC), so it is stored, not hashed.
    secret: str = Field(max_length=100)
    # After a rotation the old secret signs too, until it expires, so receivers
    # can switch over without dropping deliveries.
    previous_secret: str | None = Field(default=None, max_length=100)
    previous_secret_expires_at: datetime | None = _utc(default=None)
    created_at: datetime = _utc(default_factory=utcnow, nullable=False)
    updated_at: datetime = _utc(default_factory=utcnow, nullable=False)


# API shapes -------------------------------------------------------------------


class AttemptPublic(SQLModel):
    number: int
    worker: str
    started_at: datetime
    finished_at: datetime | None
    outcome: AttemptOutcome
    response_status: int | None
    detail: str | None

    @computed_field(description="How long the attempt took (for a webhook, the receiver's "
                    "response time), in milliseconds.")
    def duration_ms(self) -> int | None:
        if self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at).total_seconds() * 1000)


class NotificationPublic(SQLModel):
    id: int
    message_id: str
    key: str
    channel: Channel
    topic: Topic
    recipient: str
    city_id: int | None
    subject: str | None
    status: NotificationStatus
    due_at: datetime
    available_at: datetime
    attempts: int
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    updated_at: datetime
    attempt_log: list[AttemptPublic] = PField(
        default_factory=list, description="Every attempt, oldest first, with its outcome."
    )


class WebhookTopic(StrEnum):
    """The topics a partner's endpoint may subscribe to (account mail is email only)."""

    event_created = Topic.event_created.value
    event_updated = Topic.event_updated.value
    event_cancelled = Topic.event_cancelled.value
    event_proposal = Topic.event_proposal.value
    registration_changed = Topic.registration_changed.value
    reminder_due = Topic.reminder_due.value


EventTypes = list[WebhookTopic]


class WebhookEndpointCreate(SQLModel):
    city_id: int = PField(ge=1, le=2_147_483_647)
    url: str = PField(max_length=2000, examples=["https://partner.example/twinplan/hooks"])
    event_types: EventTypes = PField(
        min_length=1,
        max_length=len(WebhookTopic),
        description="Topics to receive: " + ", ".join(f"`{t}`" for t in WebhookTopic) + ".",
    )
    description: str | None = PField(default=None, max_length=500)


class WebhookEndpointUpdate(SQLModel):
    url: str | None = PField(default=None, max_length=2000)
    event_types: EventTypes | None = PField(
        default=None, min_length=1, max_length=len(WebhookTopic)
    )
    description: str | None = PField(default=None, max_length=500)
    enabled: bool | None = PField(
        default=None, description="`true` re-enables an endpoint disabled by a 410."
    )


class WebhookEndpointPublic(SQLModel):
    id: int
    city_id: int
    url: str
    description: str | None
    event_types: list[str]
    enabled: bool
    disabled_at: datetime | None
    disabled_reason: str | None
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


class WebhookEndpointWithSecret(WebhookEndpointPublic):
    secret: str = PField(
        description="The signing secret (`whsec_...`). Shown on creation and rotation only."
    )
