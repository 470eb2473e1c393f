"""One error hierarchy, rendered as RFC 9457 ``application/problem+json``.

Every error leaves the service through ``problem_response``: our own
``AppError``s, Pydantic's validation errors, Starlette's 404/405 and anything
unexpected (logged with the request id, never shown to the caller).
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("twinplan.errors")

PROBLEM_TYPE_BASE = "https://twinplan.example/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"
# PostgreSQL's deadlock_detected and serialization_failure: retrying succeeds.
TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})
# The server takes no more connections (too_many_connections, its configuration
# limit) or none yet (cannot_connect_now, while it starts).
REFUSING_SQLSTATES = frozenset({"53300", "53400", "57P03"})


def _refused_connection(exc: sqlalchemy.exc.OperationalError) -> bool:
    """Whether the error is a connection that could not be opened, not a statement
    that failed: SQLAlchemy gives a failed connect no statement (psycopg gives the
    server's refusal at connect no SQLSTATE either), and a refusal may come as
    one of ``REFUSING_SQLSTATES`` or a connection exception (class 08)."""
    sqlstate = getattr(exc.orig, "sqlstate", None) or ""
    return (exc.statement is None or sqlstate in REFUSING_SQLSTATES
            or sqlstate.startswith("08"))


class FieldError(BaseModel):
    loc: list[str | int] = Field(
        description="Where: `body`, `query`, `path` or `header`, then the field's path."
    )
    msg: str
    type: str
    ctx: dict[str, str | int | float] | None = Field(
        default=None,
        description="The limit that was broken, where there is one (`max_length`, `ge`, ...): "
        "for clients that word the message themselves.",
    )


class Problem(BaseModel):
    """RFC 9457 problem details, as every error response carries them."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(json_schema_extra={"format": "uri"},
                      examples=[PROBLEM_TYPE_BASE + "not-found"])
    title: str
    status: int = Field(ge=400, le=599)
    detail: str | None = None
    instance: str | None = Field(default=None, description="The request's path.")
    errors: list[FieldError] | None = None
    request_id: str | None = Field(
        default=None, description="Quote it when you report a problem; it is in the logs."
    )


class ValidationProblem(Problem):
    """A 422: the problem, with the fields at fault."""

    errors: list[FieldError]


class AppError(Exception):
    status_code = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(AppError):
    status_code, slug, title = 404, "not-found", "Not found"


class Conflict(AppError):
    status_code, slug, title = 409, "conflict", "Conflict"


class Unprocessable(AppError):
    status_code, slug, title = 422, "validation-error", "Invalid input"

    def __init__(self, detail: str, *, field: str | None = None, where: str = "body",
                 **extra: Any) -> None:
        # ``where`` the field is, as FastAPI's own 422s say it: body, query, path.
        loc: list[str] = [where, field] if field else []
        super().__init__(
            detail, errors=[{"loc": loc, "msg": detail, "type": "value_error"}], **extra
        )


class Unauthorized(AppError):
    status_code, slug, title = 401, "unauthorized", "Authentication required"


class Forbidden(AppError):
    status_code, slug, title = 403, "forbidden", "Forbidden"


class PreconditionFailed(AppError):
    status_code, slug, title = 412, "precondition-failed", "Precondition failed"


class PreconditionRequired(AppError):
    status_code, slug, title = 428, "precondition-required", "Precondition required"


class TooManyRequests(AppError):
    """429; ``retry_after`` (seconds) becomes the ``Retry-After`` header."""

    status_code, slug, title = 429, "too-many-requests", "Too many requests"


class UnsupportedMediaType(AppError):
    status_code, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class Gone(AppError):
    status_code, slug, title = 410, "gone", "Gone"


def problem_response(
    request: Request,
    status: int,
    *,
    slug: str | None = None,
    title: str | None = None,
    detail: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + (slug or phrase.lower().replace(" ", "-")),
        "title": title or phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "request_id": getattr(request.state, "request_id", None),
    }
    if errors is not None:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_CONTENT_TYPE, headers=headers)


# The order methods are listed in, in an ``Allow`` header.
_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> str:
    """Every method the request's path has, for the ``Allow`` of a 405.

    Routes are one per path and method here, and the route that refuses a method
    knows only its own: gather those of every route on the path.
    """
    path = request.scope["path"]
    root = request.scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root):]
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.router.routes):
        regex, route_methods = getattr(route, "path_regex", None), route.methods
        if regex is not None and route_methods and regex.match(path):
            methods.update(route_methods)
    order = {m: i for i, m in enumerate(_METHOD_ORDER)}
    return ", ".join(sorted(methods, key=lambda m: (order.get(m, len(order)), m)))


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        item: dict[str, Any] = {
            "loc": [p for p in err.get("loc", ()) if isinstance(p, str | int)],
            "msg": str(err.get("msg", "invalid")).removeprefix("Value error, "),
            "type": str(err.get("type", "value_error")),
        }
        ctx = {
            name: value for name, value in (err.get("ctx") or {}).items()
            if isinstance(value, str | int | float) and not isinstance(value, bool)
        }
        if ctx:
            item["ctx"] = ctx
        out.append(item)
    return out


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        if "retry_after" in exc.extra:
            headers = {"Retry-After": str(exc.extra["retry_after"])}
        return problem_response(
            request,
            exc.status_code,
            slug=exc.slug,
            title=exc.title,
            detail=exc.detail,
            headers=headers,
            extra=exc.extra or None,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(exc)
        where = ", ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:5])
        return problem_response(
            request,
            422,
            slug="validation-error",
            title="Invalid input",
            detail=where or "The request is not valid.",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else None
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"No resource at {request.url.path}."
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            allow = allowed_methods(request)
            detail = f"{request.method} is not allowed on {request.url.path}; use {allow}."
            headers = {**(headers or {}), "Allow": allow}
        return problem_response(request, exc.status_code, detail=detail, headers=headers)

    def _unavailable(request: Request, why: str, detail: str) -> JSONResponse:
        log.warning("%s (request_id=%s)", why, getattr(request.state, "request_id", None))
        return problem_response(request, 503, slug="overloaded", title="Service busy",
                                detail=detail, headers={"Retry-After": "5"})

    @app.exception_handler(sqlalchemy.exc.TimeoutError)
    async def _pool_exhausted(request: Request, exc: Exception) -> JSONResponse:
        return _unavailable(request, "no database connection free in time",
                            "All database connections are busy; try again in a few seconds.")

    @app.exception_handler(sqlalchemy.exc.DataError)
    async def _data_error(request: Request, exc: Exception) -> JSONResponse:
        # The database refused a value the schema let through (an id beyond
        # the integer range, say). The request's transaction is rolled back.
        return problem_response(
            request,
            422,
            slug="validation-error",
            title="Invalid input",
            detail="A value is out of the range the database can store.",
            errors=[],
        )

    @app.exception_handler(sqlalchemy.exc.OperationalError)
    async def _operational(request: Request, exc: sqlalchemy.exc.OperationalError
                           ) -> JSONResponse:
        # Two transactions waited on each other's row locks (PostgreSQL broke the
        # cycle by aborting this one), or a serializable read lost its race: nothing
        # was written, and the same request again will go through.
        if getattr(exc.orig, "sqlstate", None) in TRANSIENT_SQLSTATES:
            return problem_response(
                request, 409, slug="concurrent-change", title="Concurrent change",
                detail="Another request changed the same data at the same moment; "
                "nothing was stored. Send the request again.",
                headers={"Retry-After": "1"},
            )
        # No connection to be had: the server refuses more (its or the role's limit),
        # is starting or shutting down, or cannot be reached. Nothing was run; the
        # same request in a moment may go through.
        if _refused_connection(exc):
            return _unavailable(request, f"the database refused a connection: {exc.orig}",
                                "The database takes no more connections just now; "
                                "try again in a few seconds.")
        return await _unexpected(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        request_id = getattr(request.state, "request_id", None)
        log.exception(
            "unhandled error (request_id=%s) on %s %s", request_id, request.method, request.url.path
        )
        return problem_response(
            request,
            500,
            slug="internal-error",
            title="Internal server error",
            detail=f"Something went wrong on our side. Quote request id {request_id} "
            "when you report it.",
            # Starlette answers 500s outside every middleware, so add the id here.
            headers={"X-Request-ID": request_id} if request_id else None,
        )
