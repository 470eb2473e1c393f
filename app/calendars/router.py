"""HTTP endpoints: the .ics feeds, and the private feed tokens that unlock some of them."""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Query, Request, Response, status

from app.calendars import assembly, membership
from app.calendars import tokens as feed_tokens
from app.calendars.assembly import FeedResult
from app.calendars.membership import FeedSpec
from app.calendars.models import FeedTokenCreate, FeedTokenCreated, FeedTokenPublic
from app.calendars.render import etag_of
from app.calendars.state import Conditions
from app.calendars.twin_cities_day import REVISED, twin_cities_day_feed
from app.core.db import SessionDep
from app.core.openapi import problems
from app.core.pagination import Page, PageDep, paginate
from app.core.routing import Router
from app.core.settings import get_settings
from app.core.types import MAX_ID, PathId
from app.core.urls import feed_url, private_feed_path, webcal_url
from app.events.models import EventKind
from app.keys.auth import CurrentActor

feeds = Router(prefix="/calendars", tags=["calendar feeds"])
tokens = Router(prefix="/api/v1/feed-tokens", tags=["feed tokens"])

CONTENT_TYPE = "text/calendar; charset=utf-8"

Kinds = Annotated[
    list[EventKind] | None,
    Query(description="Only these kinds; repeatable: `?kind=sports&kind=exhibition`."),
]
IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match")]
IfModifiedSince = Annotated[str | None, Header(alias="If-Modified-Since")]


async def _conditions(
    if_none_match: IfNoneMatch = None, if_modified_since: IfModifiedSince = None
) -> Conditions:
    # async: nothing to wait for, so no trip to the thread pool on the 304 path
    return Conditions(if_none_match, if_modified_since)


Validators = Annotated[Conditions, Depends(_conditions)]
_FEED_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/calendar": {"schema": {"type": "string"}}},
        "description": "The iCalendar feed (RFC 5545).",
        "headers": {
            "ETag": {"description": "Strong; send it back in `If-None-Match`.",
                     "schema": {"type": "string"}, "required": True},
            "Last-Modified": {"description": "Send it back in `If-Modified-Since`.",
                              "schema": {"type": "string"}},
        },
    },
    304: {"description": "Not modified since the ETag or date the client holds."},
}


def _http_date(value: datetime) -> str:
    return format_datetime(value, usegmt=True)


def _respond(result: FeedResult, request: Request, *, private: bool) -> Response:
    headers = {
        "ETag": result.etag,
        # Store, but ask every time: the answer is a cheap 304 when nothing changed.
        "Cache-Control": "private, no-cache" if private else "no-cache",
    }
    if result.last_modified is not None:
        headers["Last-Modified"] = _http_date(result.last_modified)
    if result.not_modified:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    if request.method == "HEAD" or result.body is None:
        headers["Content-Length"] = str(result.length)
        return Response(content=b"", media_type=CONTENT_TYPE, headers=headers)
    return Response(content=result.body, media_type=CONTENT_TYPE, headers=headers)


def _serve(
    session: SessionDep, spec: FeedSpec, request: Request, conditions: Conditions
) -> Response:
    result = assembly.serve(session, spec, conditions, want_body=request.method != "HEAD")
    return _respond(result, request, private=spec.private)


@feeds.get("/twin-cities-day.ics", responses=_FEED_RESPONSES,
            response_class=Response)
@feeds.head("/twin-cities-day.ics", include_in_schema=False)
def twin_cities_day(request: Request, conditions: Validators) -> Response:
    """World Twin Cities Day: one all-day event on the last Sunday of April, every year
    since 1962, with reminders 30 and 7 days before."""
    settings = get_settings()
    body = twin_cities_day_feed(settings.public_base_url, settings.calendar_uid_domain)
    etag = etag_of(body)
    not_modified = conditions.not_modified(etag, REVISED)
    result = FeedResult(etag, REVISED, len(body), not_modified=not_modified, body=body)
    return _respond(result, request, private=False)


@feeds.get("/cities/{city_id}.ics", responses=_FEED_RESPONSES,
            response_class=Response)
@feeds.head("/cities/{city_id}.ics", include_in_schema=False)
def city_feed(
    city_id: PathId,
    session: SessionDep,
    request: Request,
    conditions: Validators,
    kind: Kinds = None,
) -> Response:
    """Public events a city hosts or takes part in. Drafts never appear; a cancelled
    event stays 90 days as `STATUS:CANCELLED` so subscribed calendars remove it."""
    spec = membership.city_feed(session, city_id, kind or ())
    return _serve(session, spec, request, conditions)


@feeds.get("/partnerships/{partnership_id}.ics",
            responses=_FEED_RESPONSES, response_class=Response)
@feeds.head("/partnerships/{partnership_id}.ics", include_in_schema=False)
def partnership_feed(
    partnership_id: PathId,
    session: SessionDep,
    request: Request,
    conditions: Validators,
    kind: Kinds = None,
) -> Response:
    """Public events that both cities of a twinning take part in."""
    spec = membership.partnership_feed(session, partnership_id, kind or ())
    return _serve(session, spec, request, conditions)


@feeds.get("/private/{token}.ics", response_class=Response, responses={
    **_FEED_RESPONSES, **problems((410, "The link was revoked, or its person erased."))})
@feeds.head("/private/{token}.ics", include_in_schema=False)
def private_feed(
    token: Annotated[str, Path(max_length=100)],
    session: SessionDep,
    request: Request,
    conditions: Validators,
    kind: Kinds = None,
) -> Response:
    """A private feed: a city's every event, or one person's agenda.
    404 for an unknown token, 410 Gone for a revoked one (calendar apps then stop asking)."""
    feed_token = feed_tokens.token_by_secret(session, token)
    spec = membership.token_feed(session, feed_token, kind or ())
    return _serve(session, spec, request, conditions)


# Tokens -------------------------------------------------------------------------------


@tokens.post("", status_code=status.HTTP_201_CREATED,
             response_model=FeedTokenCreated, responses=problems(403))
def create_feed_token(
    body: FeedTokenCreate, session: SessionDep, actor: CurrentActor, response: Response
) -> object:
    """Issue a private feed link: for a city (admin, or its coordinator) or for a
    person's own agenda (admin, or a key of their home city). The token and its URLs
    are in this response only; store them now."""
    # Only its hash is kept, here too: no cache, and no Idempotency-Key replay, holds it.
    response.headers["Cache-Control"] = "no-store"
    token, secret = feed_tokens.create_feed_token(session, body, actor)
    path = private_feed_path(secret)
    return FeedTokenCreated.model_validate(
        token, update={"token": secret, "feed_url": feed_url(path), "webcal_url": webcal_url(path)}
    )


@tokens.get("", response_model=Page[FeedTokenPublic])
def list_feed_tokens(
    session: SessionDep,
    actor: CurrentActor,
    page: PageDep,
    city_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    participant_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> object:
    """Tokens the caller manages, revoked ones included. Secrets are never shown again."""
    items, total = paginate(
        session, feed_tokens.feed_token_query(actor, city_id, participant_id), page
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@tokens.get("/{token_id}", response_model=FeedTokenPublic)
def read_feed_token(
    token_id: PathId,
    session: SessionDep,
    actor: CurrentActor,
) -> object:
    return feed_tokens.get_feed_token(session, token_id, actor)


@tokens.post("/{token_id}/revoke", response_model=FeedTokenPublic)
def revoke_feed_token(
    token_id: PathId,
    session: SessionDep,
    actor: CurrentActor,
) -> object:
    """Revoke a link at once: it answers 410 Gone from now on."""
    token = feed_tokens.get_feed_token(session, token_id, actor)
    return feed_tokens.revoke_feed_token(session, token)


router = Router()
router.include_router(feeds)
router.include_router(tokens)
