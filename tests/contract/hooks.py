"""Schemathesis hooks for ``tests/contract/run.py`` (loaded through ``SCHEMATHESIS_HOOKS``).

- The keys the runs authenticate with must survive them: an admin run that
  revoked its own key (or the next run's) would test nothing but 401s from then
  on. Any request to revoke one of them revokes the decoy key instead, which
  exists to be revoked. The runner names both in the environment.
- ``map_case`` takes a valid (positive) request past the rules no schema can
  state, so that creates succeed and the stateful phase has something to follow:
  an event's end after its start, its guests twinned with its host, a key's city
  where the role needs one. Invalid (negative) requests are left as generated.
- A valid request that carries an ``Idempotency-Key`` gets a key of its own:
  generated keys repeat ("0" on many operations), and a key used again is
  answered 422 (another request) or with the first answer replayed, which a
  stateful sequence that deleted the resource meanwhile would take for a lie.
  ``tests/core/test_idempotency.py`` tests the replays; invalid keys stay as
  generated (400).
- ``schema_states_every_limit``, a check of our own: schema-valid input is never
  refused for a limit JSON Schema can state. ``schemathesis.toml`` lets a valid
  request be answered 422, because some rules cannot be stated in a schema (an
  end after its start, a city that exists, 30 February); this check keeps that
  allowance from hiding a length, range, pattern or enum the document forgot.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

import schemathesis


def _ids(name: str) -> list[int]:
    return [int(i) for i in os.environ.get(name, "").split(",") if i]


# The caller's city (none for admin and anonymous), the demo host its events use
# (Ashgabat), that host's active twins, and every demo city.
OWN_CITY = next(iter(_ids("TWINPLAN_CONTRACT_OWN_CITY")), None)
HOST = next(iter(_ids("TWINPLAN_CONTRACT_HOST")), 1)
TWINS = _ids("TWINPLAN_CONTRACT_TWINS") or [HOST]
CITIES = _ids("TWINPLAN_CONTRACT_CITIES") or [HOST]
PROTECTED = {int(i) for i in os.environ.get("TWINPLAN_CONTRACT_KEEP_KEYS", "").split(",") if i}
DECOY = int(os.environ.get("TWINPLAN_CONTRACT_DECOY_KEY", "0") or 0)


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    params = case.path_parameters
    if (
        case.method.upper() == "POST"
        and case.path == "/api/v1/api-keys/{key_id}/revoke"
        and params
        and _as_int(params.get("key_id")) in PROTECTED
    ):
        params["key_id"] = DECOY
    meta, headers = case.meta, case.headers
    if (headers and "Idempotency-Key" in headers and meta is not None
            and meta.generation.mode.is_positive):
        headers["Idempotency-Key"] = str(uuid.uuid4())


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    meta, body = case.meta, case.body
    if meta is None or not meta.generation.mode.is_positive or not isinstance(body, dict):
        return case
    fix = _FIXES.get((case.method.upper(), case.path))
    if fix is not None:
        fix(body, random.Random(repr(sorted(body.items(), key=str))))
    return case


def _coordinates(body: dict[str, Any], rnd: random.Random) -> None:
    if ("latitude" in body) != ("longitude" in body) or (
        (body.get("latitude") is None) != (body.get("longitude") is None)
    ):
        body.pop("latitude", None)
        body.pop("longitude", None)


def _city(body: dict[str, Any], rnd: random.Random) -> None:
    _coordinates(body, rnd)
    if not body.get("timezone"):
        body["timezone"] = "Europe/Rome"  # not derivable from every country
    for required in ("name", "country_code"):
        if required in body and body[required] is None:
            del body[required]


def _partnership(body: dict[str, Any], rnd: random.Random) -> None:
    body["city_a_id"] = OWN_CITY or rnd.choice(CITIES)
    body["city_b_id"] = rnd.choice([c for c in CITIES if c != body["city_a_id"]])


def _event(body: dict[str, Any], rnd: random.Random) -> None:
    body["host_city_id"] = OWN_CITY or HOST
    body["guest_city_ids"] = rnd.sample(TWINS, k=min(len(TWINS), rnd.randint(1, 2)))
    _schedule(body, rnd)


def _event_update(body: dict[str, Any], rnd: random.Random) -> None:
    for field in [f for f, v in body.items() if v is None]:
        del body[field]  # nothing is removed by a PATCH
    if "guest_city_ids" in body:
        body["guest_city_ids"] = [rnd.choice(TWINS)]
    body.pop("status", None)  # forward only: a state machine of its own
    if _SCHEDULE & body.keys():
        _schedule(body, rnd)


_SCHEDULE = {"all_day", "starts_at", "ends_at", "start_date", "end_date",
             "registration_deadline"}


def _schedule(body: dict[str, Any], rnd: random.Random) -> None:
    """A schedule that holds together: some day of 2027 or 2028, ends after it starts."""
    for field in _SCHEDULE:
        body.pop(field, None)
    day = date(2027, 1, 1) + timedelta(days=rnd.randrange(700))
    if rnd.random() < 0.3:
        body |= {"all_day": True, "start_date": day.isoformat(),
                 "end_date": (day + timedelta(days=rnd.randrange(3))).isoformat()}
    else:
        start = datetime.combine(day, time(rnd.randrange(9, 15)))
        body |= {"all_day": False, "starts_at": start.isoformat(),
                 "ends_at": (start + timedelta(hours=rnd.randrange(1, 30))).isoformat(),
                 "registration_deadline": (start - timedelta(days=7)).isoformat()}


def _own_city(field: str) -> Callable[[dict[str, Any], random.Random], None]:
    def fix(body: dict[str, Any], rnd: random.Random) -> None:
        body[field] = OWN_CITY or HOST
    return fix


def _feed_token(body: dict[str, Any], rnd: random.Random) -> None:
    if (body.get("city_id") is None) == (body.get("participant_id") is None):
        body.pop("participant_id", None)
        body["city_id"] = OWN_CITY or HOST


def _api_key(body: dict[str, Any], rnd: random.Random) -> None:
    if body.get("role") == "admin":
        body.pop("city_id", None)
    else:
        body["city_id"] = rnd.choice(CITIES)


_FIXES: dict[tuple[str, str], Callable[[dict[str, Any], random.Random], None]] = {
    ("POST", "/api/v1/cities"): _city,
    ("PATCH", "/api/v1/cities/{city_id}"): _city,
    ("POST", "/api/v1/partnerships"): _partnership,
    ("POST", "/api/v1/events"): _event,
    ("PATCH", "/api/v1/events/{event_id}"): _event_update,
    ("POST", "/api/v1/participants"): _own_city("home_city_id"),
    ("POST", "/api/v1/feed-tokens"): _feed_token,
    ("POST", "/api/v1/webhook-endpoints"): _own_city("city_id"),
    ("POST", "/api/v1/api-keys"): _api_key,
}


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# Pydantic's error types for limits a JSON Schema states (lengths, ranges,
# patterns, enums, types, required fields). A ``value_error`` is a rule of our own.
SCHEMA_LIMITS = frozenset({
    "missing", "extra_forbidden", "string_type", "string_too_short", "string_too_long",
    "string_pattern_mismatch", "too_short", "too_long", "greater_than",
    "greater_than_equal", "less_than", "less_than_equal", "multiple_of", "enum",
    "literal_error", "int_type", "int_parsing", "int_from_float", "float_type",
    "float_parsing", "bool_type", "bool_parsing", "list_type", "dict_type", "model_type",
    "model_attributes_type", "date_type", "date_parsing", "date_from_datetime_parsing",
    "datetime_type", "datetime_parsing", "url_parsing", "url_type", "json_invalid",
})


@schemathesis.check
def schema_states_every_limit(ctx: Any, response: Any, case: Any) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    try:
        errors = response.json().get("errors") or []
    except ValueError:
        return None
    broken = sorted({
        f"{'.'.join(map(str, e.get('loc', [])))}: {e.get('type')}"
        for e in errors
        if e.get("type") in SCHEMA_LIMITS or str(e.get("type")).startswith("json_")
    })
    if broken:
        raise AssertionError(
            "Schema-valid input refused for a limit the schema does not state: "
            + "; ".join(broken)
        )
    return None
