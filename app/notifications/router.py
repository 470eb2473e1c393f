"""HTTP endpoints: the outbox (read, retry) and webhook endpoints (register, rotate)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response, status

from app.core.db import SessionDep
from app.core.openapi import problems
from app.core.pagination import Page, PageDep, paginate
from app.core.routing import Router
from app.core.types import MAX_ID, PathId
from app.keys.auth import CurrentActor
from app.notifications import service, webhooks
from app.notifications.models import (
    Channel,
    NotificationPublic,
    NotificationStatus,
    Topic,
    WebhookEndpointCreate,
    WebhookEndpointPublic,
    WebhookEndpointUpdate,
    WebhookEndpointWithSecret,
)

router = Router(prefix="/api/v1", tags=["notifications"])


@router.get("/notifications", response_model=Page[NotificationPublic], responses=problems(403))
def list_notifications(
    session: SessionDep,
    actor: CurrentActor,
    page: PageDep,
    notification_status: Annotated[
        list[NotificationStatus] | None,
        Query(alias="status", description="Repeatable; `dead` lists what gave up."),
    ] = None,
    channel: Annotated[list[Channel] | None, Query(description="Repeatable.")] = None,
    topic: Annotated[list[Topic] | None, Query(description="Repeatable.")] = None,
    city_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> object:
    """The outbox, newest first, each with every delivery attempt and its outcome.

    Admins see all notifications; a coordinator sees its own city's.
    """
    query = service.notification_query(
        actor,
        statuses=notification_status or (),
        channels=channel or (),
        topics=topic or (),
        city_id=city_id,
    )
    items, total = paginate(session, query, page)
    return Page(items=service.with_attempts(session, items), total=total, limit=page.limit,
                offset=page.offset)


@router.get("/notifications/{notification_id}", response_model=NotificationPublic,
            responses=problems(403))
def read_notification(
    notification_id: PathId, session: SessionDep, actor: CurrentActor
) -> object:
    """One notification with its attempts."""
    row = service.get_notification(session, notification_id, actor)
    return service.with_attempts(session, [row])[0]


@router.post("/notifications/{notification_id}/retry", response_model=NotificationPublic,
             responses=problems(403, (409, "Only a dead notification is retried.")))
def retry_notification(
    notification_id: PathId, session: SessionDep, actor: CurrentActor
) -> object:
    """Queue a dead notification again (its attempts start from zero)."""
    return service.with_attempts(session, [service.retry(session, notification_id, actor)])[0]


# Webhook endpoints -------------------------------------------------------------------


@router.post(
    "/webhook-endpoints",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookEndpointWithSecret,
    tags=["webhooks"],
    responses=problems(403),
)
def create_webhook_endpoint(
    body: WebhookEndpointCreate, session: SessionDep, actor: CurrentActor
) -> object:
    """Register an endpoint for a city (admin, or that city's coordinator or partner key).

    The response carries the signing secret, once. Deliveries are signed per
    Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`);
    `webhook-id` is stable across retries, so drop ids you have seen. An answer
    of 410 Gone disables the endpoint.
    """
    return webhooks.create_endpoint(session, body, actor)


@router.get("/webhook-endpoints", response_model=Page[WebhookEndpointPublic], tags=["webhooks"])
def list_webhook_endpoints(
    session: SessionDep,
    actor: CurrentActor,
    page: PageDep,
    city_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> object:
    """Endpoints of the caller's city (admins: all, or those of `city_id`)."""
    items, total = paginate(session, webhooks.endpoint_query(actor, city_id), page)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get(
    "/webhook-endpoints/{endpoint_id}", response_model=WebhookEndpointPublic, tags=["webhooks"]
)
def read_webhook_endpoint(
    endpoint_id: PathId, session: SessionDep, actor: CurrentActor
) -> object:
    return webhooks.get_endpoint(session, endpoint_id, actor)


@router.patch(
    "/webhook-endpoints/{endpoint_id}", response_model=WebhookEndpointPublic, tags=["webhooks"]
)
def update_webhook_endpoint(
    endpoint_id: PathId,
    body: WebhookEndpointUpdate,
    session: SessionDep,
    actor: CurrentActor,
) -> object:
    """Change the URL, topics or description; `enabled: true` re-enables after a 410."""
    return webhooks.update_endpoint(session, endpoint_id, body, actor)


@router.delete(
    "/webhook-endpoints/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT,
    tags=["webhooks"],
)
def delete_webhook_endpoint(
    endpoint_id: PathId, session: SessionDep, actor: CurrentActor
) -> Response:
    """Remove an endpoint; what was queued for it is withdrawn."""
    webhooks.delete_endpoint(session, endpoint_id, actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/webhook-endpoints/{endpoint_id}/rotate-secret",
    response_model=WebhookEndpointWithSecret,
    tags=["webhooks"],
)
def rotate_webhook_secret(
    endpoint_id: PathId, session: SessionDep, actor: CurrentActor
) -> object:
    """Issue a new signing secret. For 24 hours deliveries carry two signatures,
    one per secret, so the receiver can switch over without losing any."""
    return webhooks.rotate_secret(session, endpoint_id, actor)


@router.get(
    "/webhook-endpoints/{endpoint_id}/deliveries",
    response_model=Page[NotificationPublic],
    tags=["webhooks"],
    responses=problems(404),
)
def list_deliveries(
    endpoint_id: PathId,
    session: SessionDep,
    actor: CurrentActor,
    page: PageDep,
    delivery_status: Annotated[
        list[NotificationStatus] | None, Query(alias="status", description="Repeatable.")
    ] = None,
) -> object:
    """The endpoint's delivery log, newest first: each message with every attempt, its
    outcome, the receiver's HTTP status and response time. Its city's coordinator or
    partner system, and admins."""
    query = service.deliveries_query(session, endpoint_id, actor, delivery_status or ())
    items, total = paginate(session, query, page)
    return Page(items=service.with_attempts(session, items), total=total, limit=page.limit,
                offset=page.offset)


@router.post(
    "/webhook-endpoints/{endpoint_id}/deliveries/{notification_id}/redeliver",
    status_code=status.HTTP_201_CREATED,
    response_model=NotificationPublic,
    tags=["webhooks"],
    responses=problems(404, (409, "Still being delivered, already redelivering, or the "
                             "endpoint is disabled.")),
)
def redeliver(
    endpoint_id: PathId, notification_id: PathId, session: SessionDep, actor: CurrentActor
) -> object:
    """Send a delivered or dead message again: the same payload under a new
    `webhook-id` (the `change` in it says what it repeats), queued now."""
    row = service.redeliver(session, endpoint_id, notification_id, actor)
    return service.with_attempts(session, [row])[0]
