"""The routers every domain declares its endpoints on.

FastAPI asks each included router, in turn, whether a request's path is one of
its routes, by matching every route's pattern in Python: some 150 routes in 20
routers, so the last ones cost a third of a millisecond to find, and some are
asked twice (bench.throughput, py-spy: a quarter of ``GET /health``'s time).
``Router`` answers "not mine" at once for a path that starts with none of its
routes' fixed beginnings (the part of each pattern before its first ``{``),
one ``str.startswith`` of a tuple.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette._utils import get_route_path
from starlette.routing import Match
from starlette.types import Scope

from app.core.db import TransactionalRoute


def _fixed_beginnings(router: APIRouter, prefix: str = "") -> list[str]:
    out: list[str] = []
    for route in router.routes:
        child = getattr(route, "original_router", None)
        if child is not None:  # a router included in this one
            context = getattr(route, "include_context", None)
            out += _fixed_beginnings(child, prefix + getattr(context, "prefix", ""))
            continue
        path = getattr(route, "path_format", None) or getattr(route, "path", None)
        if path is None:
            return [""]  # a route of unknown shape: ask it, always
        out.append(prefix + path.split("{", 1)[0])
    return out


class Router(APIRouter):
    """An ``APIRouter`` whose endpoints end their transaction in their own thread
    (``TransactionalRoute``) and that turns away paths none of its routes can
    match without trying each. Include it without a prefix of its own: the
    beginnings are read from its routes' paths."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("route_class", TransactionalRoute)
        super().__init__(**kwargs)
        self._beginnings: tuple[tuple[str, ...], int] = ((), -1)

    def _fixed(self) -> tuple[str, ...]:
        beginnings, counted = self._beginnings
        if counted != len(self.routes):
            beginnings = tuple(sorted(set(_fixed_beginnings(self))))
            self._beginnings = (beginnings, len(self.routes))
        return beginnings

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope.get("type") == "http" and not get_route_path(scope).startswith(self._fixed()):
            return Match.NONE, {}
        return super().matches(scope)
