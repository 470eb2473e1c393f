"""Who may read the outbox and manage webhook endpoints: every rule, in one place."""

from __future__ import annotations

from sqlalchemy import ColumnElement
from sqlmodel import col

from app.core.actors import Actor, Role
from app.notifications.models import Notification, WebhookEndpoint


def can_read_outbox(actor: Actor) -> bool:
    """Admins and coordinators (their city's rows); partner systems use webhooks."""
    return actor.role is not Role.partner


def readable_notifications(actor: Actor) -> ColumnElement[bool] | None:
    """The SQL form of who sees which notification; None means all."""
    if actor.is_system or actor.is_admin:
        return None
    return col(Notification.city_id) == actor.city_id


def can_read_notification(actor: Actor, row: Notification) -> bool:
    return can_read_outbox(actor) and (
        actor.is_system or actor.is_admin or row.city_id == actor.city_id
    )


def can_manage_webhooks(actor: Actor, city_id: int) -> bool:
    """A city's endpoints: its coordinator or partner system, admins, the system."""
    return actor.is_system or actor.is_admin or actor.speaks_for(city_id)


def readable_endpoints(actor: Actor) -> ColumnElement[bool] | None:
    """The SQL form of ``can_manage_webhooks``; None means all."""
    if actor.is_system or actor.is_admin:
        return None
    return col(WebhookEndpoint.city_id) == actor.city_id
