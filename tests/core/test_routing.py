"""Routers turn away paths none of their routes can match without trying each
(``app.core.routing``): every route is still found, and what no route matches is
404 (405 for a known path with another method), as before."""

from __future__ import annotations

import re
from typing import Any

from fastapi.routing import APIRoute
from starlette.routing import Match

from tests.conftest import assert_problem


def _api_routes(routes: list[Any], prefix: str = "") -> list[tuple[str, APIRoute]]:
    out: list[tuple[str, APIRoute]] = []
    for route in routes:
        child = getattr(route, "original_router", None)
        if child is not None:
            out += _api_routes(child.routes, prefix + route.include_context.prefix)
        elif isinstance(route, APIRoute):
            out.append((prefix + route.path_format, route))
    return out


def test_every_route_is_found_by_its_own_path(app):
    routes = _api_routes(app.router.routes)
    assert len(routes) > 100
    for path_format, route in routes:
        path = re.sub(r"\{[^}]+\}", "1", path_format)
        method = sorted(route.methods)[0]
        scope = {"type": "http", "path": path, "root_path": "", "method": method,
                 "headers": [], "query_string": b""}
        found = None
        for candidate in app.router.routes:
            match, child = candidate.matches(dict(scope))
            if match is Match.FULL:
                found = child.get("endpoint") or candidate
                break
        assert found is not None, f"{method} {path} matches no route"


def test_what_no_route_matches_is_404_and_a_wrong_method_405(client):
    assert_problem(client.get("/api/v1/no-such-thing"), 404)
    assert_problem(client.get("/nowhere"), 404)
    assert_problem(client.delete("/health"), 405)
    assert client.get("/health").status_code == 200
