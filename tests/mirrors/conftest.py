"""A real HTTP server that publishes calendars, and the settings the tests poll with.

The server runs in a thread on loopback, so the tests allow private
addresses (``TWINPLAN_EXTERNAL_CALENDARS_ALLOW_PRIVATE``) unless a test
shows the refusal. Each route answers as a calendar host would: with an
ETag, 304 to a matching If-None-Match, or slowly, or with a redirect.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlmodel import Session

from app.core import clock
from app.core.settings import get_settings
from app.mirrors import fetch
from app.mirrors.service import poll_calendar
from tests.mirrors.exports import NOW


@dataclass
class Route:
    body: bytes = b""
    etag: str | None = None
    status: int = 200
    delay: float = 0.0
    location: str | None = None
    content_type: str = "text/calendar; charset=utf-8"
    # Send no Content-Length: the body ends when the connection closes (HTTP/1.0).
    undeclared: bool = False


@dataclass
class Published:
    """What the server publishes (path → Route), and what it was asked."""

    port: int
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str], int]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answers(self, path: str) -> list[int]:
        return [status for p, _, status in self.requests if p == path]


class _Handler(BaseHTTPRequestHandler):
    published: Published

    def log_message(self, *_: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        route = self.published.routes.get(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        if route is None:
            status, body = 404, b"not found"
        elif route.etag is not None and headers.get("if-none-match") == route.etag:
            status, body = 304, b""
        else:
            status, body = route.status, route.body
        self.published.requests.append((self.path, headers, status))
        if route is not None and route.delay:
            time.sleep(route.delay)
        self.send_response(status)
        if route is not None:
            if route.etag:
                self.send_header("ETag", route.etag)
            if route.location:
                self.send_header("Location", route.location)
            self.send_header("Content-Type", route.content_type)
        if status != 304 and not (route is not None and route.undeclared):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304:
            with suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)


@pytest.fixture
def published() -> Iterator[Published]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    state = Published(port=server.server_address[1])
    _Handler.published = state
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def mirror_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TWINPLAN_EXTERNAL_CALENDARS_ALLOW_PRIVATE", "true")
    monkeypatch.setenv("TWINPLAN_EXTERNAL_CALENDAR_TIMEOUT", "1")
    monkeypatch.setenv("TWINPLAN_EXTERNAL_CALENDAR_MAX_BYTES", "100000")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def poll(session: Session) -> Iterator[Any]:
    """Poll one calendar as the worker does, in the test's transaction, at ``NOW``."""

    @contextmanager
    def shared() -> Iterator[Session]:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        finally:
            session.expire_all()

    http = fetch.client(get_settings().external_calendar_timeout)

    def run(calendar_id: int, at: Any = NOW) -> Any:
        with clock.frozen_at(at):
            return poll_calendar(shared, calendar_id, http)

    yield run
    http.close()
