"""Writing to the outbox, inside the caller's transaction.

Nothing here talks to the network: a request that changes an event adds rows
to ``notification`` in its own transaction, and they exist exactly when the
change does (a rolled-back request leaves none). The worker sends them later.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from app.accounts.changes import AccountMail
from app.core import changes, clock
from app.events.changes import EventChanged
from app.events.models import Event, Visibility
from app.events.policy import can_city_read
from app.events.service import guest_ids_of
from app.notifications.models import (
    OPEN_STATUSES,
    Channel,
    Notification,
    NotificationStatus,
    Topic,
    WebhookEndpoint,
)
from app.participants.changes import RegistrationChanged
from app.participants.models import (
    HOLDING,
    Participant,
    Registration,
    RegistrationStatus,
)

_TABLE = Notification.__table__  # type: ignore[attr-defined]


def message_id_for(key: str) -> str:
    """The notification's stable public id: the same key always gives the same id."""
    return "msg_" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _insert(session: Session) -> Any:  # the dialect's INSERT, with ON CONFLICT
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(_TABLE)


def enqueue(
    session: Session,
    *,
    key: str,
    channel: Channel,
    topic: Topic,
    recipient: str,
    payload: dict[str, Any],
    due_at: datetime | None = None,
    city_id: int | None = None,
    subject: str | None = None,
    parent_id: int | None = None,
) -> bool:
    """Add a notification unless one with this key exists; True if it was added.

    The unique key makes producers idempotent: a retried job, or two workers
    expanding the same reminder, cannot write a message twice.
    """
    now = clock.now()
    due = due_at or now
    stmt = (
        _insert(session)
        .values(
            key=key,
            message_id=message_id_for(key),
            channel=channel,
            topic=topic,
            recipient=recipient,
            city_id=city_id,
            subject=subject,
            payload=payload,
            status=NotificationStatus.pending,
            due_at=due,
            available_at=due,
            attempts=0,
            parent_id=parent_id,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["key"])
    )
    result = session.connection().execute(stmt)
    return bool(result.rowcount)


def endpoints_for(
    session: Session, city_ids: list[int], topic: Topic
) -> list[WebhookEndpoint]:
    """Enabled endpoints of these cities that subscribe to ``topic``."""
    if not city_ids:
        return []
    rows = session.exec(
        select(WebhookEndpoint)
        .where(col(WebhookEndpoint.city_id).in_(city_ids), col(WebhookEndpoint.enabled))
        .order_by(col(WebhookEndpoint.id))
    ).all()
    # The subscription list is JSON; filtering it in Python keeps one query for both
    # databases, and a city has a handful of endpoints.
    return [e for e in rows if topic in e.event_types]


def webhook_envelope(topic: Topic, data: dict[str, Any]) -> dict[str, Any]:
    """The Standard Webhooks payload shape: ``type``, ``timestamp``, ``data``."""
    return {"type": str(topic), "timestamp": clock.now().isoformat(), "data": data}


def to_webhooks(
    session: Session,
    *,
    key: str,
    topic: Topic,
    city_ids: list[int],
    data: dict[str, Any],
    subject: str | None = None,
) -> int:
    """One webhook notification per subscribed endpoint of these cities."""
    envelope = webhook_envelope(topic, data)
    added = 0
    for endpoint in endpoints_for(session, list(dict.fromkeys(city_ids)), topic):
        added += enqueue(
            session,
            key=f"{key}:webhook:{endpoint.id}",
            channel=Channel.webhook,
            topic=topic,
            recipient=str(endpoint.id),
            payload=envelope,
            city_id=endpoint.city_id,
            subject=subject,
        )
    return added


def withdraw_for_endpoint(session: Session, endpoint_id: int, reason: str) -> None:
    """Withdraw an endpoint's unsent notifications (it was deleted or disabled)."""
    session.connection().execute(
        update(_TABLE)
        .where(
            _TABLE.c.channel == Channel.webhook,
            _TABLE.c.recipient == str(endpoint_id),
            _TABLE.c.status == NotificationStatus.pending,
        )
        .values(status=NotificationStatus.withdrawn, last_error=reason, updated_at=clock.now())
    )


# Receivers of the domains' change facts, run in the changing transaction ----------


@changes.receiver(EventChanged)
def tell_event_cities(change: EventChanged, session: Session) -> None:
    """``event.created`` / ``event.updated`` / ``event.cancelled`` to the event's cities,
    and to the guests this change took off it, if they may still see it (a public
    event): the event without them among its guests is how they learn it.

    The key carries the event's version, so every real change is its own message.
    """
    event = change.after
    topic = (
        Topic.event_created if change.created
        else Topic.event_cancelled if change.cancelled
        else Topic.event_updated
    )
    # A private event is the host's business only.
    cities = [event.host_city_id]
    if event.visibility != Visibility.private:
        cities += event.guest_city_ids
    if event.visibility == Visibility.public:  # the only kind still theirs to see
        cities += change.guests_removed
    to_webhooks(
        session,
        key=f"{topic}:{event.id}:v{event.version}",
        topic=topic,
        city_ids=cities,
        data=event.model_dump(mode="json"),
        subject=f"event:{event.id}",
    )


@changes.receiver(RegistrationChanged)
def tell_registration_cities(change: RegistrationChanged, session: Session) -> None:
    """``registration.changed`` to the host city and the participant's home city, if
    that city may see the event (a private event is the host's business only).

    No personal data travels: the home city's system already has it, the host
    reads it through the API.
    """
    event = session.get(Event, change.event_id)
    participant = session.get(Participant, change.participant_id)
    if event is None or participant is None:
        return
    guests = guest_ids_of(session, [change.event_id])[change.event_id]
    cities = [event.host_city_id]
    if can_city_read(participant.home_city_id, event, guests):
        cities.append(participant.home_city_id)
    stamp = change.updated_at.strftime("%Y%m%dT%H%M%S%f")
    to_webhooks(
        session,
        key=f"registration.changed:{change.registration_id}:{change.status}:{stamp}",
        topic=Topic.registration_changed,
        city_ids=cities,
        data={
            "id": change.registration_id,
            "event_id": change.event_id,
            "participant_id": change.participant_id,
            "home_city_id": participant.home_city_id,
            "role": str(change.role),
            "status": str(change.status),
            "is_minor": change.is_minor,
            "updated_at": change.updated_at.isoformat(),
        },
        subject=f"event:{change.event_id}",
    )


# What a person is told when their place changes without them asking: in words,
# by the new status (and for a move up, by the old one).
_PLACE_NEWS = {
    RegistrationStatus.cancelled: "Your registration for {title} was cancelled{reason}.",
    RegistrationStatus.pending_consent: "{name} has a place at {title}, which is held "
    "until a guardian's consent is recorded by the coordinators of your city.",
    RegistrationStatus.awaiting_chaperone: "{name}'s place at {title} is held, with the "
    "guardian's consent on record, until enough adult chaperones are confirmed.",
    RegistrationStatus.confirmed: "{name}'s place at {title} is confirmed.",
}


def _tells_the_person(change: RegistrationChanged) -> bool:
    """A change to a place they already had or waited for (not the registration itself,
    nor a check-in): moved up, confirmed, sent back to waiting, or cancelled."""
    if change.before is None or change.status not in _PLACE_NEWS:
        return False
    return change.before in HOLDING or change.before == RegistrationStatus.waitlisted


@changes.receiver(RegistrationChanged)
def tell_the_person(change: RegistrationChanged, session: Session) -> None:
    """An email to the person (and, for a minor, their guardian) whose place changed."""
    if not _tells_the_person(change):
        return
    participant = session.get(Participant, change.participant_id)
    event = session.get(Event, change.event_id)
    registration = session.get(Registration, change.registration_id)
    if participant is None or event is None or registration is None:
        return
    addresses = [participant.email]
    if change.is_minor:
        addresses.append(participant.guardian_email)
    reason = f" ({registration.cancel_reason})" if registration.cancel_reason else ""
    news = _PLACE_NEWS[change.status].format(
        title=f"'{event.title}'", name=participant.full_name, reason=reason
    )
    if change.before == RegistrationStatus.waitlisted and change.status in HOLDING:
        news = "A place came free and you moved up from the waitlist. " + news
    when = f"{event.first_day:%d %B %Y}"
    stamp = change.updated_at.strftime("%Y%m%dT%H%M%S%f")
    for address in dict.fromkeys(a for a in addresses if a):
        dear = (participant.full_name if address == participant.email
                else f"guardian of {participant.full_name}")
        enqueue(
            session,
            key=f"registration.changed:{change.registration_id}:{change.status}:{stamp}"
            f":email:{address}",
            channel=Channel.email,
            topic=Topic.registration_changed,
            recipient=address,
            payload={
                "to": address,
                "subject": f"{event.title} ({when}): your place",
                "text": f"Dear {dear},\n\n{news}\n\n"
                "Your city's exchange coordinators can tell you more.\n",
            },
            city_id=participant.home_city_id,
            subject=f"event:{change.event_id}",
        )


@changes.receiver(AccountMail)
def send_account_mail(mail: AccountMail, session: Session) -> None:
    """Invitations and password resets: one email each, sent by the worker."""
    enqueue(
        session,
        key=f"account:{mail.key}",
        channel=Channel.email,
        topic=Topic.account_mail,
        recipient=mail.to,
        payload={"to": mail.to, "subject": mail.subject, "text": mail.text},
        city_id=mail.city_id,
    )


def open_count(session: Session) -> int:
    """Notifications not yet settled (tests and the bench wait on this)."""
    return session.exec(
        select(func.count())
        .select_from(Notification)
        .where(col(Notification.status).in_(list(OPEN_STATUSES)))
    ).one()
