"""Every write endpoint against every kind of caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import Session

from app.keys.models import Role
from app.keys.service import find_active_key, revoke_api_key

CALLERS = ["anonymous", "revoked", "admin", "coordinator", "coordinator_elsewhere", "partner"]


@dataclass
class World:
    own: Any
    elsewhere: Any
    spare: Any
    own_partnership: Any
    foreign_partnership: Any
    revoked_key_id: int
    headers: dict[str, dict[str, str]]


@pytest.fixture
def world(session: Session, make_city, make_partnership, make_key) -> World:
    own = make_city("Kostroma")
    elsewhere = make_city("Mary", "TM")
    third = make_city("Turkmenabat", "TM")
    spare = make_city("Lanzhou", "CN", timezone="Asia/Shanghai")
    revoked = make_key(Role.admin)
    revoked_key = revoke_api_key(session, find_active_key(session, revoked["Authorization"][7:]).id)
    session.commit()
    return World(
        own=own,
        elsewhere=elsewhere,
        spare=spare,
        own_partnership=make_partnership(own, elsewhere),
        foreign_partnership=make_partnership(elsewhere, third),
        revoked_key_id=revoked_key.id,
        headers={
            "anonymous": {},
            "revoked": revoked,
            "admin": make_key(Role.admin),
            "coordinator": make_key(Role.coordinator, own),
            "coordinator_elsewhere": make_key(Role.coordinator, third),
            "partner": make_key(Role.partner, own),
        },
    )


# (name, method, path template, json body, expected status per caller)
WRITES: list[tuple[str, str, str, dict[str, Any] | None, dict[str, int]]] = [
    ("create city", "POST", "/api/v1/cities",
     {"name": "Dijon", "country_code": "FR"},
     {"admin": 201, "coordinator": 403, "coordinator_elsewhere": 403, "partner": 403}),
    ("update own city", "PATCH", "/api/v1/cities/{own}", {"population": 270_000},
     {"admin": 200, "coordinator": 200, "coordinator_elsewhere": 403, "partner": 403}),
    ("delete a city", "DELETE", "/api/v1/cities/{spare}", None,
     {"admin": 204, "coordinator": 403, "coordinator_elsewhere": 403, "partner": 403}),
    ("create partnership of own city", "POST", "/api/v1/partnerships",
     {"city_a_id": "{own}", "city_b_id": "{spare}"},
     {"admin": 201, "coordinator": 201, "coordinator_elsewhere": 403, "partner": 403}),
    ("update partnership of own city", "PATCH", "/api/v1/partnerships/{own_partnership}",
     {"notes": "renewed"},
     {"admin": 200, "coordinator": 200, "coordinator_elsewhere": 403, "partner": 403}),
    ("update another city's partnership", "PATCH",
     "/api/v1/partnerships/{foreign_partnership}", {"notes": "hijacked"},
     {"admin": 200, "coordinator": 403, "coordinator_elsewhere": 200, "partner": 403}),
    ("create API key", "POST", "/api/v1/api-keys", {"name": "x", "role": "admin"},
     {"admin": 201, "coordinator": 403, "coordinator_elsewhere": 403, "partner": 403}),
    ("list API keys", "GET", "/api/v1/api-keys", None,
     {"admin": 200, "coordinator": 403, "coordinator_elsewhere": 403, "partner": 403}),
    ("revoke API key", "POST", "/api/v1/api-keys/{revoked_key_id}/revoke", None,
     {"admin": 200, "coordinator": 403, "coordinator_elsewhere": 403, "partner": 403}),
]


def _fill(value: Any, w: World) -> Any:
    ids = {"own": w.own.id, "spare": w.spare.id, "own_partnership": w.own_partnership.id,
           "foreign_partnership": w.foreign_partnership.id, "revoked_key_id": w.revoked_key_id}
    if isinstance(value, str):
        for k, v in ids.items():
            if value == "{" + k + "}":
                return v
            value = value.replace("{" + k + "}", str(v))
        return value
    if isinstance(value, dict):
        return {k: _fill(v, w) for k, v in value.items()}
    return value


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("name", "method", "path", "body", "expected"), WRITES,
                         ids=[w[0] for w in WRITES])
def test_write_endpoint_roles(client, world, caller, name, method, path, body, expected):
    want = expected.get(caller, 401)  # anonymous and revoked keys: 401
    r = client.request(method, _fill(path, world), json=_fill(body, world),
                       headers=world.headers[caller])
    assert r.status_code == want, f"{name} as {caller}: {r.status_code} {r.text}"
    if want >= 400:
        assert r.headers["content-type"].startswith("application/problem+json")
    if want == 401:
        assert r.headers.get("www-authenticate") == "Bearer"


def test_refused_write_changes_nothing(client, world):
    before = client.get(f"/api/v1/cities/{world.own.id}").json()
    r = client.patch(f"/api/v1/cities/{world.own.id}", json={"name": "Hacked"},
                     headers=world.headers["coordinator_elsewhere"])
    assert r.status_code == 403
    assert client.get(f"/api/v1/cities/{world.own.id}").json() == before


def test_reading_public_data_needs_no_key(client, world):
    assert client.get("/api/v1/cities").status_code == 200
    assert client.get(f"/api/v1/partnerships/{world.own_partnership.id}").status_code == 200


def test_malformed_authorization_header_is_401(client, world):
    r = client.post("/api/v1/cities", json={"name": "X", "country_code": "TM"},
                    headers={"Authorization": "Bearer not-a-key"})
    assert r.status_code == 401
    assert "revoked" in r.json()["detail"]


def test_a_key_can_read_itself(client, world):
    r = client.get("/api/v1/api-keys/me", headers=world.headers["coordinator"])
    assert r.status_code == 200
    assert r.json()["role"] == "coordinator" and r.json()["city_id"] == world.own.id
    assert "key" not in r.json() and "key_hash" not in r.json()
    assert client.get("/api/v1/api-keys/me").status_code == 401
