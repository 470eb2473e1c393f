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
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("twinplan.errors")

PROBLEM_TYPE_BASE = "https://twinplan.example/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details, as every error response carries them."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None
    request_id: str | None = None


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

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        loc: list[str] = ["body", field] if field else []
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


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        out.append(
            {
                "loc": [p for p in err.get("loc", ()) if isinstance(p, str | int)],
                "msg": str(err.get("msg", "invalid")).removeprefix("Value error, "),
                "type": str(err.get("type", "value_error")),
            }
        )
    return out


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
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
        if exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}."
        return problem_response(
            request, exc.status_code, detail=detail, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(sqlalchemy.exc.TimeoutError)
    async def _pool_exhausted(request: Request, exc: Exception) -> JSONResponse:
        log.warning(
            "no database connection free in time (request_id=%s)",
            getattr(request.state, "request_id", None),
        )
        return problem_response(
            request,
            503,
            slug="overloaded",
            title="Service busy",
            detail="All database connections are busy; try again in a few seconds.",
            headers={"Retry-After": "5"},
        )

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
