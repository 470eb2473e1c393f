"""The OpenAPI document tells the truth: every problem an operation can answer,
with its media type and schema, and whether a key is needed.

FastAPI documents the success response and a generic 422. The rest is written
here, once, for every operation, from what the route is made of:

- the dependencies it runs, each of which may answer problems of its own
  (``answers``: the key lookup every endpoint makes answers 401; the database
  session 503 when no connection is free);
- its parameters: a path parameter names something that may not exist (404),
  and any path or query parameter or body can be invalid (422);
- its body: it may be too large (413, before it is read) or not text at all (400);
- an ``If-Match`` header: the ETag may be stale (412);
- and what the route declares itself with ``problems(...)`` in its decorator,
  for what only its own rules can answer (403, 409, 410, 428). A route that
  answers 428 without ``If-Match`` documents the header as required.

Each of those responses is ``application/problem+json`` with the ``Problem``
schema (422: ``ValidationProblem``, which always lists the fields at fault).
An operation that works without a key lists ``{}`` beside the bearer scheme
in ``security``; one whose dependencies include a dependency named in
``auth_required`` lists the scheme alone.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic import WithJsonSchema

from app.core.db import get_session
from app.core.errors import PROBLEM_CONTENT_TYPE, Problem, ValidationProblem
from app.core.settings import get_settings

REF = "#/components/schemas/"

# What each problem status means, said once for every operation that may answer it.
DESCRIPTIONS: dict[int, str] = {
    400: "The body cannot be read: it is not UTF-8 text.",
    401: "The API key is missing where one is needed, or it is unknown or revoked "
    "(a key that is sent is judged on every endpoint).",
    403: "The key's role or city may not do this.",
    404: "Nothing with this id, or nothing the caller may see.",
    409: "The request conflicts with the current state of the resource.",
    410: "It existed and is gone for good.",
    412: "The `If-Match` ETag is not the current one: read the resource again.",
    413: "The request body is larger than the server accepts; refused before it is read.",
    422: "The input is invalid; `errors` lists the fields at fault.",
    428: "This change needs `If-Match` with the ETag of your last read.",
    429: "Too many requests: writes with this key or by this person, or failed "
    "authentications from this address, in the current window; retry after "
    "`Retry-After` seconds.",
    503: "Every database connection is busy; try again after `Retry-After` seconds.",
}

HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": "`Bearer`: how to authenticate.",
            "schema": {"type": "string"},
        }
    },
    429: {
        "Retry-After": {
            "description": "Seconds until the window ends and requests count afresh.",
            "schema": {"type": "string"},
        }
    },
    503: {
        "Retry-After": {
            "description": "Seconds to wait before trying again.",
            "schema": {"type": "string"},
        }
    },
}

# Problems a dependency may answer on any operation that runs it (``install_openapi``
# adds its caller's). The session can find every connection busy.
DEFAULT_ANSWERS: dict[Callable[..., Any], frozenset[int]] = {get_session: frozenset({503})}


# Schemas too large to repeat at every use (the IANA zone names), stated once as
# components: ``named_schema`` registers one, ``document`` adds them all.
_NAMED: dict[str, Callable[[], dict[str, Any]]] = {}


def named_schema(name: str, schema: Callable[[], dict[str, Any]]) -> WithJsonSchema:
    """An annotation that documents a type as ``#/components/schemas/<name>``:
    ``Annotated[str, ..., named_schema("TimezoneName", lambda: {"enum": [...]})]``.
    The schema is built when the document is, not at import."""
    _NAMED[name] = schema
    # (allOf: pydantic would look a bare $ref up among its own definitions.)
    return WithJsonSchema({"allOf": [{"$ref": REF + name}]})


def problem_response(status: int, description: str | None = None) -> dict[str, Any]:
    """The OpenAPI response object of one problem status."""
    schema = ValidationProblem if status == 422 else Problem
    if status == 413 and description is None:
        limit = get_settings().max_body_bytes
        description = f"{DESCRIPTIONS[413]} The limit is {limit:,} bytes (TWINPLAN_MAX_BODY_BYTES)."
    response: dict[str, Any] = {
        "description": description or DESCRIPTIONS.get(status, "A problem."),
        "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": REF + schema.__name__}}},
    }
    if status in HEADERS:
        response["headers"] = HEADERS[status]
    return response


def problems(*statuses: int | tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for the problems only a route's own rules can answer:
    ``problems(403, (409, "Events still refer to the city."))``."""
    out: dict[int | str, dict[str, Any]] = {}
    for item in statuses:
        status, description = item if isinstance(item, tuple) else (item, None)
        out[status] = problem_response(status, description)
    return out


def _nodes(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _nodes(sub)


def _call(node: Dependant) -> Any:
    return inspect.unwrap(node.call) if node.call is not None else None


def derived_problems(
    route: RouteContext, answers: Mapping[Callable[..., Any], Iterable[int]]
) -> set[int]:
    """The problem statuses a route can answer, by what it is made of."""
    statuses: set[int] = set()
    nodes = list(_nodes(route.dependant))
    for node in nodes:
        statuses.update(answers.get(_call(node), ()))
    if any(node.path_params for node in nodes):
        statuses.update({404, 422})
    if any(node.query_params for node in nodes):
        statuses.add(422)
    if route.body_field is not None:
        statuses.update({400, 413, 422})
    headers = {(f.alias or f.name).lower() for node in nodes for f in node.header_params}
    if "if-match" in headers:
        statuses.add(412)
    return statuses


def needs_auth(route: RouteContext, auth_required: Iterable[Callable[..., Any]]) -> bool:
    required = set(auth_required)
    return any(_call(node) in required for node in _nodes(route.dependant))


def _component_schemas() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for model in (Problem, ValidationProblem):
        schema = model.model_json_schema(ref_template=REF + "{model}")
        out.update(schema.pop("$defs", {}))
        out[model.__name__] = schema
    return out


def document(
    schema: dict[str, Any],
    routes: Iterable[Any],
    answers: Mapping[Callable[..., Any], Iterable[int]],
    auth_required: Iterable[Callable[..., Any]],
) -> None:
    """Write every operation's problem responses and security into ``schema``."""
    auth_required = list(auth_required)
    for route in iter_route_contexts(list(routes)):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        declared = {int(s) for s in route.responses if str(s).isdigit() and int(s) >= 400}
        statuses = derived_problems(route, answers) | declared
        for method in route.methods or ():
            operation = schema["paths"][route.path_format][method.lower()]
            responses = operation["responses"]
            if 422 not in statuses:  # FastAPI's guess, for headers that cannot be invalid
                responses.pop("422", None)
            for status in sorted(statuses):
                # What the route declares of the status itself (a description, another
                # media type it answers in) stays; FastAPI's own 422 does not.
                documented = responses.get(str(status), {}) if status in route.responses else {}
                response = problem_response(status, route.responses.get(status, {}).get(
                    "description"))
                response["content"] = {**documented.get("content", {}), **response["content"]}
                responses[str(status)] = response
            operation["responses"] = dict(sorted(responses.items()))
            if 428 in statuses:  # it is answered when the precondition is missing
                for parameter in operation.get("parameters", []):
                    if parameter["in"] == "header" and parameter["name"].lower() == "if-match":
                        parameter["required"] = True
            security = operation.get("security", [])
            if security and not needs_auth(route, auth_required) and {} not in security:
                operation["security"] = [*security, {}]
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    components.update(_component_schemas())
    components.update({name: build() for name, build in _NAMED.items()})
    schema["components"]["schemas"] = dict(sorted(components.items()))


def install_openapi(
    app: FastAPI,
    *,
    answers: Mapping[Callable[..., Any], Iterable[int]] | None = None,
    auth_required: Iterable[Callable[..., Any]] = (),
    amend: Iterable[Callable[[dict[str, Any]], None]] = (),
) -> None:
    """Make ``app.openapi()`` (and ``/openapi.json``) document every problem response.

    ``answers``: dependencies and the problem statuses any operation running them
    may answer. ``auth_required``: dependencies that refuse a caller without a key.
    ``amend``: what documents itself by method rather than by dependency (the
    ``Idempotency-Key`` of every POST), run on the document afterwards.
    """
    every_answer = {**DEFAULT_ANSWERS, **(answers or {})}
    required = list(auth_required)
    amendments = list(amend)
    generate = app.openapi
    documented: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        schema = generate()  # FastAPI's, cached until the routes change
        if not documented or documented[0] is not schema:
            document(schema, app.routes, every_answer, required)
            for amendment in amendments:
                amendment(schema)
            documented[:] = [schema]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


# JSON bodies: the types the document states --------------------------------------
#
# Pydantic reads a body in its lax Python mode: `true` becomes 1 for an integer,
# 0 a date (1970-01-01), "12" a number. The document says otherwise, so before
# pydantic judges the values, each JSON value must have the type the schema gives
# it (JSON Schema's reading: 12.0 is an integer, `true` is not). Only types are
# checked here; lengths, ranges and every other rule stay pydantic's.

_JSON_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and v.is_integer()),
}


def json_type_errors(
    value: Any, schema: dict[str, Any], components: dict[str, Any], loc: tuple[str | int, ...]
) -> list[dict[str, Any]]:
    """Where ``value`` has a JSON type ``schema`` does not allow (pydantic's error shape)."""
    if "$ref" in schema:
        return json_type_errors(value, components[schema["$ref"].removeprefix(REF)],
                                components, loc)
    errors: list[dict[str, Any]] = []
    for sub in schema.get("allOf", ()):
        errors += json_type_errors(value, sub, components, loc)
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        found: list[list[dict[str, Any]]] = [
            json_type_errors(value, sub, components, loc) for sub in branches]
        if all(found):
            closest: list[dict[str, Any]] = min(found, key=len)
            errors += closest
    types = schema.get("type")
    if types is not None:
        allowed = [types] if isinstance(types, str) else list(types)
        if not any(_JSON_TYPES[t](value) for t in allowed if t in _JSON_TYPES):
            expected = " or ".join(allowed)
            return [*errors, {"loc": loc, "msg": f"Input should be of JSON type {expected}",
                              "type": f"json_{allowed[0]}_type", "input": value}]
    if isinstance(value, dict):
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                errors += json_type_errors(value[name], sub, components, (*loc, name))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            errors += json_type_errors(item, schema["items"], components, (*loc, i))
    return errors


def _body_schemas(app: Any) -> dict[tuple[int, str], dict[str, Any]]:
    """Each operation's JSON body schema, by (id of its route, method); built once."""
    cached: dict[tuple[int, str], dict[str, Any]] | None = getattr(app.state, "body_schemas",
                                                                      None)
    if cached is None:
        document = app.openapi()
        cached = {}
        for route in iter_route_contexts(list(app.routes)):
            if not isinstance(route.original_route, APIRoute) or route.body_field is None:
                continue
            for method in route.methods or ():
                operation = document["paths"].get(route.path_format, {}).get(method.lower(), {})
                content = operation.get("requestBody", {}).get("content", {})
                if "application/json" in content:
                    cached[(id(route.original_route), method)] = content["application/json"][
                        "schema"]
        app.state.body_schemas = cached
    return cached


async def json_body_types(request: Request) -> None:
    """422 for a JSON body whose values have types other than the document states."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    route = request.scope.get("route")
    schema = _body_schemas(request.app).get((id(route), request.method))
    if schema is None or "json" not in request.headers.get("content-type", ""):
        return
    try:
        value = json.loads(await request.body())
    except ValueError:
        return  # not JSON: FastAPI answers it
    components = request.app.openapi()["components"]["schemas"]
    errors = json_type_errors(value, schema, components, ("body",))
    if errors:
        raise RequestValidationError(errors)
