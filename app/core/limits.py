"""How much a request may send: 413 before a body too large is read.

A body announced larger than the limit (``Content-Length``) is refused before
any of it is read, before authentication and parsing; one that comes without
a length (chunked) is refused as soon as what arrived passes the limit.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import problem_response


def _too_large(limit: int) -> str:
    return f"the request body is larger than this endpoint accepts ({limit:,} bytes)"


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                length = -1
            if length < 0 or length > limit:
                detail = (_too_large(limit) if length > limit
                          else "Content-Length is not a number of bytes")
                status = 413 if length > limit else 400
                response = problem_response(Request(scope), status, detail=detail,
                                            headers={"Connection": "close"})
                await response(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return

        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # An HTTPException passes FastAPI's body parsing as it is (any
                    # other error there becomes a 400).
                    raise HTTPException(413, _too_large(limit))
            return message

        await self.app(scope, counted, send)
