"""The OpenAPI document tells the truth: problem responses, security, 405s, JSON types.

Schemathesis checks the document against a running server (tests/contract/run.py,
in CI); these tests pin the rules that make the document what it is.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from app.core.errors import PROBLEM_CONTENT_TYPE
from app.main import create_app
from tests.conftest import assert_problem

PROBLEM = {"$ref": "#/components/schemas/Problem"}
VALIDATION_PROBLEM = {"$ref": "#/components/schemas/ValidationProblem"}
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app().openapi()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def test_every_problem_response_is_problem_json_with_the_problem_schema(document):
    seen = 0
    for method, path, op in operations(document):
        for status, response in op["responses"].items():
            if int(status) < 400:
                continue
            seen += 1
            content = response.get("content", {})
            schema = VALIDATION_PROBLEM if status == "422" else PROBLEM
            assert content.get(PROBLEM_CONTENT_TYPE) == {"schema": schema}, (method, path, status)
            if path != "/health":  # whose 503 is also its own JSON
                assert list(content) == [PROBLEM_CONTENT_TYPE], (method, path, status)
            assert response["description"], (method, path, status)
    assert seen > 200
    schemas = document["components"]["schemas"]
    assert {"Problem", "ValidationProblem", "FieldError"} <= schemas.keys()
    assert "HTTPValidationError" not in schemas
    assert "errors" in schemas["ValidationProblem"]["required"]


# Made before anyone is signed in: anonymous, and still refused for reasons of their own.
BEFORE_SIGNING_IN = {("POST", "/api/v1/session"), ("POST", "/api/v1/invitations/accept")}


def test_every_operation_documents_the_problems_its_parts_can_answer(document):
    for method, path, op in operations(document):
        statuses = {int(s) for s in op["responses"]}
        # The key lookup runs on every endpoint: a key that is sent is judged, and an
        # address that sends too many unknown keys is told to wait (app.core.ratelimit).
        assert {401, 429, 503} <= statuses, (method, path)
        assert "Retry-After" in op["responses"]["429"]["headers"], (method, path)
        params = {p["in"] for p in op.get("parameters", [])}
        if "path" in params:
            assert {404, 422} <= statuses, (method, path)
        if "query" in params or "requestBody" in op:
            assert 422 in statuses, (method, path)
        if "requestBody" in op:
            assert {400, 413} <= statuses, (method, path)
        if {403} & statuses and (method, path) not in BEFORE_SIGNING_IN:
            assert op["security"] == [{"HTTPBearer": []}], (method, path)


def test_problems_an_operation_never_gives_are_not_documented(document):
    ops = {(m, p): {int(s) for s in op["responses"]} for m, p, op in operations(document)}
    # No parameter but a header that cannot be invalid: no 422, no 404.
    assert ops[("GET", "/calendars/twin-cities-day.ics")] == {200, 304, 401, 429, 503}
    # Any valid key may read itself: no 403.
    assert ops[("GET", "/api/v1/api-keys/me")] == {200, 401, 429, 503}
    assert 412 not in ops[("GET", "/api/v1/events/{event_id}")]
    assert 413 not in ops[("GET", "/api/v1/events")]
    # Every operation may be rate limited (failed keys per address; writes per key and
    # person); only signing in has a throttle of its own, and says so.
    sign_in = document["paths"]["/api/v1/session"]["post"]["responses"]["429"]
    assert "failed sign-ins" in sign_in["description"]
    assert all(429 in statuses for statuses in ops.values())


def test_route_rules_are_documented(document):
    paths = document["paths"]
    patch_event = paths["/api/v1/events/{event_id}"]["patch"]
    assert {"403", "409", "412", "428"} <= patch_event["responses"].keys()
    if_match = next(p for p in patch_event["parameters"] if p["name"] == "If-Match")
    assert if_match["required"] is True  # 428 without it
    cancel = paths["/api/v1/events/{event_id}/cancel"]["post"]
    assert "412" in cancel["responses"] and "428" not in cancel["responses"]
    assert not next(p for p in cancel["parameters"] if p["name"] == "If-Match")["required"]
    assert "410" in paths["/calendars/private/{token}.ics"]["get"]["responses"]
    assert "409" in paths["/api/v1/cities/{city_id}"]["delete"]["responses"]
    assert "WWW-Authenticate" in paths["/api/v1/cities"]["post"]["responses"]["401"]["headers"]


def test_feeds_are_text_calendar(document):
    for path, item in document["paths"].items():
        if path.startswith("/calendars/"):
            ok = item["get"]["responses"]["200"]
            assert list(ok["content"]) == ["text/calendar"], path
            assert "304" in item["get"]["responses"]


def test_optional_authentication_is_marked_optional(document):
    anonymous_reads = {
        ("GET", "/api/v1/cities"), ("GET", "/api/v1/cities/{city_id}"),
        ("GET", "/api/v1/events"), ("GET", "/api/v1/events/{event_id}"),
        ("GET", "/calendars/cities/{city_id}.ics"), ("GET", "/health"),
        ("GET", "/api/v1/twin-cities-day"),
    }
    key_needed = {
        ("POST", "/api/v1/cities"), ("PATCH", "/api/v1/events/{event_id}"),
        ("GET", "/api/v1/participants"), ("GET", "/api/v1/api-keys/me"),
        ("POST", "/api/v1/feed-tokens"), ("GET", "/api/v1/notifications"),
    }
    for method, path, op in operations(document):
        if (method, path) in anonymous_reads:
            assert op["security"] == [{"HTTPBearer": []}, {}], (method, path)
        if (method, path) in key_needed:
            assert op["security"] == [{"HTTPBearer": []}], (method, path)
    scheme = document["components"]["securitySchemes"]["HTTPBearer"]
    assert scheme == {"type": "http", "scheme": "bearer", "description": scheme["description"]}


def test_the_security_marking_matches_what_the_server_does(client, document):
    """Without a key: an optional-auth operation answers; a required one is 401."""
    assert client.get("/api/v1/cities").status_code == 200
    assert document["paths"]["/api/v1/cities"]["get"]["security"][-1] == {}
    assert_problem(client.get("/api/v1/participants"), 401)
    assert {} not in document["paths"]["/api/v1/participants"]["get"]["security"]


def test_limits_the_server_enforces_are_in_the_schema(document):
    schemas = document["components"]["schemas"]
    assert "Europe/Volgograd" in schemas["TimezoneName"]["enum"]
    assert "localtime" not in schemas["TimezoneName"]["enum"]
    assert "TM" in schemas["CountryCode"]["enum"] and len(schemas["CountryCode"]["enum"]) > 240
    assert schemas["EventCreate"]["properties"]["status"]["enum"] == [
        "confirmed", "draft", "planned"]
    year = next(p for p in document["paths"]["/api/v1/twin-cities-day"]["get"]["parameters"]
                if p["name"] == "year")
    assert {"minimum": 1962}.items() <= year["schema"]["anyOf"][0].items()
    window = next(p for p in document["paths"]["/api/v1/events"]["get"]["parameters"]
                  if p["name"] == "from")
    assert "pattern" in window["schema"]["anyOf"][0]
    established = schemas["PartnershipCreate"]["properties"]["established_on"]["anyOf"][0]
    assert established["pattern"].startswith("^[0-9]{4}")
    too_large = document["paths"]["/api/v1/events"]["post"]["responses"]["413"]
    assert "1,048,576 bytes" in too_large["description"]


# 405 --------------------------------------------------------------------------------


def _methods_by_path() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for route in iter_route_contexts(create_app().routes):
        if isinstance(route.original_route, APIRoute) and route.path_format:
            out.setdefault(route.path_format, set()).update(route.methods or ())
    return out


@pytest.mark.parametrize(
    ("path", "method", "allowed"),
    [
        ("/api/v1/cities/1", "PUT", {"GET", "PATCH", "DELETE"}),
        ("/api/v1/cities", "DELETE", {"GET", "POST"}),
        ("/api/v1/events/1", "POST", {"GET", "PATCH"}),
        ("/api/v1/api-keys/me", "DELETE", {"GET"}),
        ("/calendars/cities/1.ics", "POST", {"GET", "HEAD"}),
        ("/api/v1/webhook-endpoints/1", "OPTIONS", {"GET", "PATCH", "DELETE"}),
    ],
)
def test_405_allow_lists_every_method_of_the_path(client, path, method, allowed):
    response = client.request(method, path)
    assert_problem(response, 405, contains=method)
    listed = [m.strip() for m in response.headers["allow"].split(",")]
    assert set(listed) == allowed and len(listed) == len(allowed)


def test_405_allow_matches_the_routes_for_every_path(client):
    for path_format, methods in _methods_by_path().items():
        path = path_format.replace("{token}", "x").replace("{", "").replace("}", "")
        path = "/".join("1" if part.endswith("_id") else part for part in path.split("/"))
        unused = next(m for m in ("PUT", "DELETE", "PATCH", "POST") if m not in methods)
        response = client.request(unused, path)
        assert response.status_code == 405, (unused, path)
        assert set(response.headers["allow"].split(", ")) == methods, path


# JSON types ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("population", True), ("latitude", False), ("population", "12"), ("name", 5),
     ("alternate_names", [1])],
)
def test_a_json_value_of_another_type_than_the_schema_says_is_422(client, field, value):
    body = {"name": "Mary", "country_code": "TM", "timezone": "Asia/Ashgabat", field: value}
    if field == "latitude":
        body["longitude"] = 0.0
    problem = assert_problem(client.post("/api/v1/cities", json=body), 422)
    assert problem["errors"][0]["loc"][:2] == ["body", field]
    assert problem["errors"][0]["type"].startswith("json_")


def test_an_integral_number_is_an_integer(client, admin):
    response = client.post(
        "/api/v1/cities",
        json={"name": "Mary", "country_code": "TM", "timezone": "Asia/Ashgabat",
              "population": 126000.0},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    assert response.json()["population"] == 126000
