"""Reading the outbox: who may see which notifications, and their attempts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col, select

from app.core import clock
from app.core.actors import Actor
from app.core.errors import Conflict, Forbidden, NotFound
from app.notifications import policy
from app.notifications.models import (
    OPEN_STATUSES,
    AttemptPublic,
    Channel,
    Notification,
    NotificationAttempt,
    NotificationPublic,
    NotificationStatus,
    Topic,
)
from app.notifications.outbox import enqueue
from app.notifications.webhooks import get_endpoint


def _require_reader(actor: Actor) -> None:
    """Admins see every notification; a coordinator sees its city's."""
    if not policy.can_read_outbox(actor):
        raise Forbidden("partner keys cannot read the outbox; use webhooks")


def notification_query(
    actor: Actor,
    *,
    statuses: Sequence[NotificationStatus] = (),
    channels: Sequence[Channel] = (),
    topics: Sequence[Topic] = (),
    city_id: int | None = None,
) -> Any:
    _require_reader(actor)
    query = select(Notification)
    readable = policy.readable_notifications(actor)
    if readable is not None:
        query = query.where(readable)
    if city_id is not None:
        query = query.where(Notification.city_id == city_id)
    if statuses:
        query = query.where(col(Notification.status).in_(list(statuses)))
    if channels:
        query = query.where(col(Notification.channel).in_(list(channels)))
    if topics:
        query = query.where(col(Notification.topic).in_(list(topics)))
    return query.order_by(col(Notification.id).desc())


def get_notification(session: Session, notification_id: int, actor: Actor
                     ) -> Notification:
    _require_reader(actor)
    row = session.get(Notification, notification_id)
    if row is None or not policy.can_read_notification(actor, row):
        raise NotFound(f"notification {notification_id} does not exist")
    return row


def with_attempts(session: Session, rows: Sequence[Notification]) -> list[NotificationPublic]:
    ids = [r.id for r in rows if r.id is not None]
    log: dict[int, list[AttemptPublic]] = {i: [] for i in ids}
    if ids:
        for attempt in session.exec(
            select(NotificationAttempt)
            .where(col(NotificationAttempt.notification_id).in_(ids))
            .order_by(col(NotificationAttempt.id))
        ):
            log[attempt.notification_id].append(AttemptPublic.model_validate(attempt))
    return [
        NotificationPublic.model_validate(r, update={"attempt_log": log.get(r.id or 0, [])})
        for r in rows
    ]


def retry(session: Session, notification_id: int, actor: Actor) -> Notification:
    """Send a dead notification again, with a fresh count of attempts."""
    row = get_notification(session, notification_id, actor)
    if row.status != NotificationStatus.dead:
        raise Conflict(f"notification {row.id} is {row.status}; only dead ones are retried")
    now = clock.now()
    row.status = NotificationStatus.pending
    row.attempts = 0
    row.available_at = row.updated_at = now
    session.add(row)
    session.flush()
    return row


# A webhook endpoint's own delivery log: what its city's systems may read and redeliver
# (partner keys included, who may not read the rest of the outbox).


def deliveries_query(
    session: Session, endpoint_id: int, actor: Actor,
    statuses: Sequence[NotificationStatus] = (),
) -> Any:
    """Notifications to this endpoint, newest first (404 unless the caller may manage it)."""
    endpoint = get_endpoint(session, endpoint_id, actor)
    query = select(Notification).where(
        Notification.channel == Channel.webhook, Notification.recipient == str(endpoint.id))
    if statuses:
        query = query.where(col(Notification.status).in_(list(statuses)))
    return query.order_by(col(Notification.id).desc())


def redeliver(session: Session, endpoint_id: int, notification_id: int, actor: Actor
              ) -> Notification:
    """Send a delivered or dead webhook again: a new notification with the same payload
    (the change's id in it names what it repeats), a new ``webhook-id``, and the first
    one as its parent. One redelivery of a message at a time."""
    endpoint = get_endpoint(session, endpoint_id, actor)
    row = session.get(Notification, notification_id)
    if row is None or row.channel != Channel.webhook or row.recipient != str(endpoint.id):
        raise NotFound(f"endpoint {endpoint_id} has no delivery {notification_id}")
    if not endpoint.enabled:
        raise Conflict(f"endpoint {endpoint_id} is disabled; enable it first")
    if row.status in OPEN_STATUSES:
        raise Conflict(f"delivery {row.id} is still {row.status}")
    earlier = session.exec(select(Notification.status).where(
        Notification.parent_id == row.id)).all()
    if any(status in OPEN_STATUSES for status in earlier):
        raise Conflict(f"a redelivery of {row.id} is already under way")
    key = f"{row.key}:redelivery:{len(earlier) + 1}"
    enqueue(session, key=key, channel=Channel.webhook, topic=row.topic,
            recipient=row.recipient, payload=row.payload, city_id=row.city_id,
            subject=row.subject, parent_id=row.id)
    return session.exec(select(Notification).where(Notification.key == key)).one()

