"""Every error is RFC 9457 problem+json, and a 500 tells nothing but a request id."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy.exc
from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import assert_problem


@pytest.fixture
def own_app():
    """An app of the test's own, for the tests that add a route to it: the shared one
    (``app``) must stay as it was built."""
    return create_app()


def test_unknown_path_is_problem_404(client):
    assert_problem(client.get("/api/v1/nowhere"), 404, contains="/api/v1/nowhere")


def test_unknown_id_is_problem_404(client):
    assert_problem(client.get("/api/v1/cities/987654"), 404, contains="987654")


def test_wrong_method_is_problem_405(client):
    assert_problem(client.put("/api/v1/cities"), 405, contains="PUT")


def test_malformed_json_is_problem_422(client, admin):
    r = client.post("/api/v1/cities", content=b"{not json",
                    headers=admin | {"Content-Type": "application/json"})
    problem = assert_problem(r, 422)
    assert problem["errors"]


def test_wrong_type_in_path_is_problem_422(client):
    problem = assert_problem(client.get("/api/v1/cities/abc"), 422)
    assert problem["errors"][0]["loc"] == ["path", "city_id"]


def test_missing_key_is_problem_401(client):
    r = client.post("/api/v1/cities", json={"name": "X", "country_code": "TM"})
    assert_problem(r, 401, contains="API key")


def test_unexpected_error_is_a_500_without_internals(own_app, caplog):
    @own_app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret connection string postgres://u:p@db")

    with TestClient(own_app, raise_server_exceptions=False) as c, caplog.at_level(logging.ERROR):
        r = c.get("/boom", headers={"X-Request-ID": "req-12345"})
    problem = assert_problem(r, 500)
    assert "secret" not in r.text and "Traceback" not in r.text
    assert problem["request_id"] == "req-12345" and "req-12345" in problem["detail"]
    assert r.headers["x-request-id"] == "req-12345"
    assert any("req-12345" in rec.getMessage() for rec in caplog.records)


def test_every_response_carries_a_request_id(client):
    assert len(client.get("/health").headers["x-request-id"]) == 32


def test_health(client):
    assert client.get("/health").json() == {"status": "ok", "database": "ok"}


def test_id_beyond_the_integer_range_is_422_not_500(client):
    for path in ("/api/v1/cities/1099511627776", "/api/v1/partnerships/1099511627776"):
        assert_problem(client.get(path), 422)


def test_pool_exhaustion_is_503_with_retry_after(own_app):
    import sqlalchemy.exc

    @own_app.get("/busy")
    def busy() -> None:
        raise sqlalchemy.exc.TimeoutError("QueuePool limit reached")

    with TestClient(own_app, raise_server_exceptions=False) as c:
        r = c.get("/busy")
    assert_problem(r, 503)
    assert r.headers["retry-after"] == "5"


def test_console_is_served(client):
    r = client.get("/", follow_redirects=True)
    assert r.status_code == 200 and "<title>Twinplan</title>" in r.text
    assert client.get("/console/js/app.js").status_code == 200


def _driver_error(message: str, sqlstate: str | None) -> Exception:
    """What a driver raises, with its SQLSTATE (psycopg's ``sqlstate``), or None."""

    class DriverError(Exception):
        sqlstate: str | None

    error = DriverError(message)
    error.sqlstate = sqlstate
    return error


@pytest.mark.parametrize(("sqlstate", "status"), [("40P01", 409), ("40001", 409), ("57P01", 500)])
def test_a_deadlock_is_a_409_to_retry_not_a_500(own_app, sqlstate, status):
    """PostgreSQL aborts one of two transactions waiting on each other (a move of an
    event against a registration of one of its people, say): nothing was stored, and
    the caller is told to send it again. Other database failures stay 500s."""

    orig = _driver_error("deadlock detected", sqlstate)

    @own_app.get("/deadlock")
    def deadlock() -> None:
        raise sqlalchemy.exc.OperationalError("UPDATE ...", {}, orig)

    with TestClient(own_app, raise_server_exceptions=False) as client:
        response = client.get("/deadlock")
    assert_problem(response, status)
    if status == 409:
        assert response.headers["retry-after"] == "1"
        assert "send the request again" in response.json()["detail"].lower()


def test_field_errors_carry_the_limit_so_clients_can_word_them(client):
    r = client.get("/api/v1/cities", params={"q": "x" * 101})
    assert r.status_code == 422
    (error,) = r.json()["errors"]
    assert error["loc"] == ["query", "q"]
    assert (error["type"], error["ctx"]) == ("string_too_long", {"max_length": 100})


def test_a_population_beyond_the_column_is_422_not_500(client, admin, make_city):
    city = make_city("Sharya")
    r = client.patch(f"/api/v1/cities/{city.id}", json={"population": 2**70}, headers=admin)
    assert r.status_code == 422, r.text
    r = client.post("/api/v1/cities", json={"name": "Manturovo", "country_code": "RU",
                                            "timezone": "Europe/Moscow",
                                            "population": 2**40}, headers=admin)
    assert r.status_code == 422, r.text


@pytest.mark.parametrize("sqlstate", [None, "53300", "57P03", "08006"])
def test_a_refused_connection_is_a_503_to_retry(own_app, sqlstate):
    """No connection could be opened (SQLAlchemy gives a failed connect no statement,
    and psycopg its refusal no SQLSTATE), or the server said it takes no more: 503
    with Retry-After, never 500. tests/core/test_database_refuses.py does it for real
    on PostgreSQL."""

    orig = _driver_error("connection failed: FATAL: too many connections for role", sqlstate)

    @own_app.get("/refused")
    def refused() -> None:
        raise sqlalchemy.exc.OperationalError(None if sqlstate is None else "SELECT 1", {}, orig)

    with TestClient(own_app, raise_server_exceptions=False) as client:
        response = client.get("/refused")
    assert_problem(response, 503, contains="try again")
    assert response.headers["retry-after"] == "5"
