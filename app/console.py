"""The coordinator console: static files under ``/console``, served as one page.

The console is plain files in ``static/`` that talk to the public API; the server's
part is small and is all here:

- Every view has an address (``/console/events/42``): a path that is not a file
  answers the page itself, and the page's script routes on the path.
- Its pages carry a Content-Security-Policy that allows scripts, styles, images
  and requests from this origin only, refuse to be framed, and send no referrer
  (a private feed's address must not leak to another site).
- Text is compressed, and files are revalidated by ETag on every load, so a new
  release is seen at once and an unchanged one costs a 304.
- ``languages.json`` lists the translations in ``static/i18n``: adding a language
  to the console is adding one file there.
"""

from __future__ import annotations

import json
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    # Revalidate every time: a 304 when unchanged, the new file after a release.
    (b"cache-control", b"no-cache"),
]


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every answer of the wrapped app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (name, value) for name, value in SECURITY_HEADERS if name not in names
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ConsoleFiles(StaticFiles):
    """Static files, where a path that names no file and has no extension is a
    view of the one-page console and answers ``index.html``."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            return await super().get_response(path, scope)
        except HTTPException as exc:
            last = path.rsplit("/", 1)[-1]
            if exc.status_code != 404 or "." in last:
                raise
            return await super().get_response("index.html", scope)


def console_app(static_dir: Path) -> Starlette:
    """The ``/console`` application over the files in ``static_dir``."""

    def languages(request: Request) -> Response:
        codes = sorted(p.stem for p in (static_dir / "i18n").glob("*.json"))
        return Response(json.dumps(codes), media_type="application/json")

    return Starlette(
        routes=[
            Route("/languages.json", languages),
            Mount("/", ConsoleFiles(directory=static_dir, html=True)),
        ],
        middleware=[Middleware(SecurityHeaders), Middleware(GZipMiddleware, minimum_size=500)],
    )
