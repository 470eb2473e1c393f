"""A guard for endpoints added later: every write in the API refuses anonymous callers."""

from __future__ import annotations

import re

import pytest

from app.main import create_app

# Made before anyone is signed in; each answers for itself (tests/accounts).
BEFORE_SIGNING_IN = {
    ("POST", "/api/v1/session"), ("POST", "/api/v1/invitations/accept"),
    ("POST", "/api/v1/password-reset"), ("POST", "/api/v1/password-reset/confirm"),
}
WRITES = sorted(
    (method.upper(), path)
    for path, operations in create_app().openapi()["paths"].items()
    for method in operations
    if method in {"post", "put", "patch", "delete"} and path.startswith("/api/")
    and (method.upper(), path) not in BEFORE_SIGNING_IN
)


def test_the_api_has_writes():
    assert len(WRITES) >= 15


@pytest.mark.parametrize(("method", "path"), WRITES, ids=[f"{m} {p}" for m, p in WRITES])
def test_anonymous_write_is_401(client, method, path):
    concrete = re.sub(r"\{[^}]+\}", "1", path)
    r = client.request(method, concrete, json={})
    assert r.status_code == 401, f"{method} {path}: {r.status_code} {r.text}"
    assert r.headers["content-type"].startswith("application/problem+json")
