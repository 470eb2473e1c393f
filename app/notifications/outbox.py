"""Writing to the outbox, inside the caller's transaction.

Nothing here talks to the network: a request that changes an event adds rows
to ``notification`` in its own transaction, and they exist exactly when the
change does (a rolled-back request leaves none). The worker sends them later.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import String, func, literal, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from app.accounts.changes import AccountMail
from app.accounts.models import Language
from app.accounts.service import coordinators_of
from app.changelog import service as changelog
from app.cities.models import City
from app.core import changes, clock
from app.core.settings import get_settings
from app.events.changes import EventChanged, ProposalMoved
from app.notifications.models import (
    OPEN_STATUSES,
    Channel,
    Notification,
    NotificationAttempt,
    NotificationStatus,
    Topic,
    WebhookEndpoint,
)
from app.participants.changes import ParticipantErased, RegistrationChanged

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
    participant_id: int | None = None,
) -> bool:
    """Add a notification unless one with this key exists; True if it was added.

    The unique key makes producers idempotent: a retried job, or two workers
    expanding the same reminder, cannot write a message twice. An email to a
    traveller or their guardian names the traveller (``participant_id``): their
    erasure withdraws it (``forget_erased_person``).
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
            participant_id=participant_id,
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


def webhook_envelope(
    topic: Topic, data: dict[str, Any], change: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The Standard Webhooks payload shape: ``type``, ``timestamp``, ``data``; and for a
    change, ``change``: the entry ``GET /changes`` lists (fields before and after)."""
    envelope = {"type": str(topic), "timestamp": clock.now().isoformat(), "data": data}
    if change is not None:
        envelope["change"] = change
    return envelope


def to_webhooks(
    session: Session,
    *,
    key: str,
    topic: Topic,
    city_ids: list[int],
    data: dict[str, Any],
    subject: str | None = None,
    change: dict[str, Any] | None = None,
) -> int:
    """One webhook notification per subscribed endpoint of these cities."""
    envelope = webhook_envelope(topic, data, change)
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


# What the outbox keeps of an erased person ---------------------------------------

ERASED_RECIPIENT = "(erased)"


@changes.receiver(ParticipantErased)
def forget_erased_person(change: ParticipantErased, session: Session) -> None:
    """An erased person's emails (and their guardian's about them): the unsent are
    withdrawn, a claimed one too (its worker's outcome no longer counts), and none
    keeps the address, the words or the key that named them. The row stays, so the
    coordinators' log still counts what was sent. Found by the person, never by
    the address: a sibling's guardian may share it."""
    now = clock.now()
    mine = _TABLE.c.participant_id == change.participant_id
    connection = session.connection()
    connection.execute(
        update(_TABLE)
        .where(mine)
        .values(recipient=ERASED_RECIPIENT, payload={}, last_error=None, updated_at=now,
                key=literal("erased:", String) + _TABLE.c.message_id))
    connection.execute(
        update(_TABLE)
        .where(mine, _TABLE.c.status.in_([s.value for s in OPEN_STATUSES]))
        .values(status=NotificationStatus.withdrawn, claim_token=None, claimed_by=None,
                last_error="its addressee was erased"))
    attempts = NotificationAttempt.__table__  # type: ignore[attr-defined]
    connection.execute(
        update(attempts)
        .where(attempts.c.notification_id.in_(select(_TABLE.c.id).where(mine)))
        .values(detail=None))


# Receivers of the domains' change facts, run in the changing transaction ----------


@changes.receiver(EventChanged)
def tell_event_cities(change: EventChanged, session: Session) -> None:
    """``event.created`` / ``event.updated`` / ``event.cancelled`` to the cities the
    change log says may see the change (``changelog.service``: the host; the guests
    unless private; for a public event also the guests this change took off it, the
    event without them being how they learn it).

    The key carries the event's version, so every real change is its own message.
    """
    event = change.after
    topic = (
        Topic.event_created if change.created
        else Topic.event_cancelled if change.cancelled
        else Topic.event_updated
    )
    entry = changelog.entry_of(session, change)
    to_webhooks(
        session,
        key=f"{topic}:{event.id}:v{event.version}",
        topic=topic,
        city_ids=entry.audience,
        data=event.model_dump(mode="json"),
        subject=f"event:{event.id}",
        change=entry.public_view().model_dump(mode="json"),
    )


@changes.receiver(RegistrationChanged)
def tell_registration_cities(change: RegistrationChanged, session: Session) -> None:
    """``registration.changed`` to the host city and the participant's home city, if
    that city may see the event (a private event is the host's business only): the
    change log's audience for it.

    No personal data travels: the home city's system already has it, the host
    reads it through the API.
    """
    entry = changelog.entry_of(session, change)
    if not entry.audience or entry.after["home_city_id"] is None:
        return
    stamp = change.updated_at.strftime("%Y%m%dT%H%M%S%f")
    to_webhooks(
        session,
        key=f"registration.changed:{change.registration_id}:{change.status}:{stamp}",
        topic=Topic.registration_changed,
        city_ids=entry.audience,
        data=entry.after,
        subject=f"event:{change.event_id}",
        change=entry.public_view().model_dump(mode="json"),
    )


# What a move in a proposal's negotiation says to the other side, by language.
_PROPOSAL_NEWS = {
    Language.en: {
        "proposed": "{by} proposes an exchange hosted by {to}: {title}, {when}.",
        "countered": "{by} proposes other dates for {title}: {when}.",
        "accepted": "{by} accepted {title}, {when}. The event is {status}, hosted by {host}.",
        "declined": "{by} declined the proposed exchange {title}.",
        "withdrawn": "{by} withdrew the proposed exchange {title}.",
        "turn": "It is your turn to answer: accept, counter-propose other dates, or "
                "decline.",
        "dear": "Dear coordinators of {city},",
        "message": "Their message:",
        "subject": "{title}: {action} by {by}",
    },
    Language.ru: {
        "proposed": "{by} предлагает обмен, принимающая сторона — {to}: {title}, {when}.",
        "countered": "{by} предлагает другие даты для события {title}: {when}.",
        "accepted": "{by} принимает предложение {title}, {when}. Событие: {status}, "
                    "принимающая сторона — {host}.",
        "declined": "{by} отклоняет предложенный обмен {title}.",
        "withdrawn": "{by} отзывает предложенный обмен {title}.",
        "turn": "Ваша очередь ответить: принять, предложить другие даты или отклонить.",
        "dear": "Уважаемые координаторы города {city}!",
        "message": "Их сообщение:",
        "subject": "{title}: {action}, {by}",
    },
}
_RU_ACTIONS = {"proposed": "предложение", "countered": "встречное предложение",
               "accepted": "принято", "declined": "отклонено", "withdrawn": "отозвано"}


def _proposal_mail(
    move: ProposalMoved, language: Language, names: dict[int, str]
) -> dict[str, str]:
    words = _PROPOSAL_NEWS[language]
    event = move.event
    when = (f"{event.start_date:%Y-%m-%d} – {event.end_date:%Y-%m-%d}" if event.all_day
            and event.start_date and event.end_date
            else f"{event.starts_at:%Y-%m-%d %H:%M} – {event.ends_at:%Y-%m-%d %H:%M} "
                 f"({event.timezone})")
    facts = {"by": names[move.from_city_id], "to": names[event.host_city_id],
             "host": names[event.host_city_id], "title": f"'{event.title}'", "when": when,
             "status": event.status, "city": names[move.to_city_id]}
    lines = [words["dear"].format(**facts), "", words[move.action].format(**facts)]
    if move.message:
        lines += ["", words["message"], move.message]
    if move.turn_city_id == move.to_city_id:
        lines += ["", words["turn"]]
    lines += ["", get_settings().public_base_url
              + f"/api/v1/events/{event.id}/negotiation", ""]
    action = _RU_ACTIONS[move.action] if language == Language.ru else move.action
    return {"subject": words["subject"].format(action=action, **facts),
            "text": "\n".join(lines)}


@changes.receiver(ProposalMoved)
def tell_the_other_side(move: ProposalMoved, session: Session) -> None:
    """A move in a proposal's negotiation, to the side that did not make it: an
    ``event.proposal`` webhook to its subscribed endpoints, and an email to each of
    its coordinators, in their language. (The event's own change goes out as
    ``event.*`` to both cities, like any edit.)"""
    event = move.event
    key = f"event.proposal:{event.id}:step:{move.step_id}"
    data = {"event": event.model_dump(mode="json"), "step_id": move.step_id,
            "action": move.action, "from_city_id": move.from_city_id,
            "proposer_city_id": move.proposer_city_id, "turn_city_id": move.turn_city_id,
            "message": move.message}
    to_webhooks(session, key=key, topic=Topic.event_proposal, city_ids=[move.to_city_id],
                data=data, subject=f"event:{event.id}")
    names = {
        c.id: c.name for c in session.exec(select(City).where(col(City.id).in_(
            [move.from_city_id, move.to_city_id, event.host_city_id]))).all()
        if c.id is not None
    }
    written: dict[Language, dict[str, str]] = {}
    for user in coordinators_of(session, move.to_city_id):
        try:
            language = Language(user.language)
        except ValueError:
            language = Language.en
        if language not in written:
            written[language] = _proposal_mail(move, language, names)
        enqueue(
            session,
            key=f"{key}:email:{user.email_key}",
            channel=Channel.email,
            topic=Topic.event_proposal,
            recipient=user.email,
            payload={"to": user.email, **written[language]},
            city_id=move.to_city_id,
            subject=f"event:{event.id}",
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
