"""Safe retries: ``Idempotency-Key`` on every POST (``app.core.idempotency``).

Through the app, on the test's rolled-back transaction: a retry gets the first
answer and the work is done once; another request under the key is 422; keys
belong to their caller and expire; a 5xx releases the key; a malformed header is
400; anonymous requests and answers holding a secret are never stored. The same
under real concurrency, with real server processes: ``test_idempotency_servers.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, func, select

from app.accounts.service import add_membership, create_user
from app.cities.models import City
from app.core import clock, idempotency
from app.core.actors import Role
from app.core.idempotency import IdempotencyKey, KeyState
from app.core.settings import get_settings
from app.events.models import Event
from app.worker import Worker
from tests.conftest import assert_problem
from tests.factories import event_body

CITY = {"name": "Mary", "country_code": "TM", "timezone": "Asia/Ashgabat"}


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def count(session: Session, model: Any, *where: Any) -> int:
    return int(session.exec(select(func.count()).select_from(model).where(*where)).one())


def stored(session: Session) -> list[IdempotencyKey]:
    session.expire_all()  # the app writes these rows with Core statements
    return list(session.exec(select(IdempotencyKey).order_by(col(IdempotencyKey.id))).all())


@pytest.fixture
def kassel(make_city):
    return make_city("Kassel", "DE")


@pytest.fixture
def mary(make_city, make_partnership, kassel):
    city = make_city("Mary", "TM")
    make_partnership(kassel, city)
    return city


@pytest.fixture
def kassel_key(make_key, kassel):
    return make_key(Role.coordinator, kassel)


# Replays ------------------------------------------------------------------------------


def test_a_retry_gets_the_first_answer_and_the_work_is_done_once(
    client, session, kassel, mary, kassel_key
):
    headers = kassel_key | key()
    body = event_body(kassel, [mary])
    first = client.post("/api/v1/events", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers

    for _ in range(2):
        again = client.post("/api/v1/events", json=body, headers=headers)
        assert again.status_code == 201
        assert again.headers["idempotent-replayed"] == "true"
        assert again.content == first.content
        for header in ("content-type", "location", "etag"):
            assert again.headers[header] == first.headers[header], header
        # Each answer has its own request id.
        assert again.headers["x-request-id"] != first.headers["x-request-id"]

    assert count(session, Event, col(Event.host_city_id) == kassel.id) == 1
    (row,) = stored(session)
    assert row.state == KeyState.done and row.status_code == 201
    assert row.caller.startswith("key:") and row.path == "/api/v1/events"
    assert row.work_committed_at is not None  # stamped by the event's own commit
    assert row.expires_at - row.created_at == timedelta(hours=24)


def test_without_the_header_every_post_does_the_work(client, session, admin):
    for _ in range(2):
        assert client.post("/api/v1/cities", json=CITY, headers=admin).status_code == 201
    assert count(session, City, col(City.name) == "Mary") == 2
    assert stored(session) == []


def test_a_refusal_is_the_answer_too(client, session, kassel, kassel_key):
    """The first answer is the answer, a 4xx included: retrying it replays it (it did
    nothing, and its transaction was rolled back: no work stamp)."""
    headers = kassel_key | key()
    first = client.post("/api/v1/cities", json=CITY, headers=headers)
    assert_problem(first, 403)
    again = client.post("/api/v1/cities", json=CITY, headers=headers)
    assert_problem(again, 403)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    (row,) = stored(session)
    assert row.status_code == 403 and row.work_committed_at is None


def test_a_quoted_key_is_the_key_it_quotes(client, session, admin):
    """The draft writes the key as a Structured Field string: "abc" is abc."""
    value = uuid.uuid4().hex
    first = client.post("/api/v1/cities", json=CITY, headers=admin | {"Idempotency-Key": value})
    again = client.post("/api/v1/cities", json=CITY,
                        headers=admin | {"Idempotency-Key": f'"{value}"'})
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert count(session, City, col(City.name) == "Mary") == 1
    assert [r.key for r in stored(session)] == [value]


# Another request under the same key ---------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/cities", CITY | {"name": "Ashgabat"}),  # another body
        ("/api/v1/cities?note=1", CITY),  # another query
        ("/api/v1/partnerships", {"city_a_id": 1, "city_b_id": 2}),  # another path
    ],
)
def test_the_same_key_with_another_request_is_422(client, session, admin, path, body):
    headers = admin | key()
    assert client.post("/api/v1/cities", json=CITY, headers=headers).status_code == 201
    problem = assert_problem(client.post(path, json=body, headers=headers), 422,
                             contains="Idempotency-Key was used for another request")
    assert problem["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert problem["type"].endswith("/idempotency-key-reused")
    assert count(session, City) == 1 and count(session, City, col(City.name) == "Ashgabat") == 0
    # The first request's answer is still there for its own retries.
    again = client.post("/api/v1/cities", json=CITY, headers=headers)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"


def test_a_retry_while_the_first_is_running_is_409_with_retry_after(client, session, admin):
    headers = admin | key()
    caller = f"key:{client.get('/api/v1/api-keys/me', headers=admin).json()['id']}"
    _running(session, caller, headers["Idempotency-Key"], "/api/v1/cities", CITY)
    response = client.post("/api/v1/cities", json=CITY, headers=headers)
    assert_problem(response, 409, contains="still in progress")
    assert response.headers["retry-after"] == "1"
    assert count(session, City) == 0


def test_a_claim_whose_worker_died_before_doing_anything_is_taken_over(
    client, session, admin
):
    headers = admin | key()
    caller = f"key:{client.get('/api/v1/api-keys/me', headers=admin).json()['id']}"
    _running(session, caller, headers["Idempotency-Key"], "/api/v1/cities", CITY,
             age=idempotency.ABANDONED_AFTER + timedelta(seconds=1))
    response = client.post("/api/v1/cities", json=CITY, headers=headers)
    assert response.status_code == 201 and "idempotent-replayed" not in response.headers
    assert count(session, City) == 1
    assert [r.state for r in stored(session)] == [KeyState.done]


def test_a_claim_whose_work_was_committed_but_answer_lost_is_never_redone(
    client, session, admin
):
    headers = admin | key()
    caller = f"key:{client.get('/api/v1/api-keys/me', headers=admin).json()['id']}"
    _running(session, caller, headers["Idempotency-Key"], "/api/v1/cities", CITY,
             age=timedelta(hours=1), work_committed=True)
    response = client.post("/api/v1/cities", json=CITY, headers=headers)
    assert_problem(response, 409, contains="carried out")
    assert "retry-after" not in response.headers
    assert count(session, City) == 0


def _running(session: Session, caller: str, value: str, path: str, body: dict[str, Any], *,
             age: timedelta = timedelta(0), work_committed: bool = False) -> None:
    """A claim another request holds (or held, ``age`` ago), for this request."""
    import json

    started = clock.now() - age
    # The same bytes the client sends: httpx writes compact JSON.
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    session.add(IdempotencyKey(
        caller=caller, key=value, method="POST", path=path, state=KeyState.running,
        fingerprint=idempotency.fingerprint("POST", path, b"", raw),
        created_at=started, expires_at=started + timedelta(hours=24),
        work_committed_at=started if work_committed else None,
    ))
    session.commit()


# Scope and expiry ---------------------------------------------------------------------


def test_another_caller_with_the_same_key_is_independent(client, session, make_key):
    first, second = make_key(Role.admin), make_key(Role.admin)
    value = {"Idempotency-Key": "order-1"}
    one = client.post("/api/v1/cities", json=CITY, headers=first | value)
    two = client.post("/api/v1/cities", json=CITY, headers=second | value)
    assert one.status_code == two.status_code == 201
    assert "idempotent-replayed" not in two.headers
    assert one.json()["id"] != two.json()["id"]
    assert count(session, City, col(City.name) == "Mary") == 2
    assert len({r.caller for r in stored(session)}) == 2


def test_a_signed_in_person_s_keys_are_theirs(client, session, kassel, kassel_key):
    """The cookie's person is the caller (``user:<id>``), apart from any API key."""
    user = create_user(session, email="anna@kassel.example", display_name="Anna",
                       password="correct horse battery")
    add_membership(session, user, Role.coordinator, kassel.id)
    session.commit()
    signed_in = client.post("/api/v1/session", json={"email": "anna@kassel.example",
                                                     "password": "correct horse battery"})
    assert signed_in.status_code == 200
    cookie = {"Cookie": f"twinplan_session={signed_in.cookies['twinplan_session']}",
              "X-CSRF-Token": signed_in.json()["csrf_token"],
              "Origin": "https://twinplan.test"}
    value = key()
    body = {"full_name": "Jonas", "home_city_id": kassel.id, "birth_date": "1990-01-01"}
    first = client.post("/api/v1/participants", json=body, headers=cookie | value)
    again = client.post("/api/v1/participants", json=body, headers=cookie | value)
    by_key = client.post("/api/v1/participants", json=body, headers=kassel_key | value)
    assert first.status_code == again.status_code == by_key.status_code == 201, first.text
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    assert "idempotent-replayed" not in by_key.headers
    assert {r.caller for r in stored(session)} == {f"user:{user.id}", _key_caller(
        client, kassel_key)}


def _key_caller(client: Any, headers: dict[str, str]) -> str:
    return f"key:{client.get('/api/v1/api-keys/me', headers=headers).json()['id']}"


def test_a_key_expires_after_24_hours(client, session, admin):
    headers = admin | key()
    start = datetime(2027, 4, 1, 9, 0, tzinfo=UTC)
    with clock.frozen_at(start):
        assert client.post("/api/v1/cities", json=CITY, headers=headers).status_code == 201
    with clock.frozen_at(start + timedelta(hours=23, minutes=59)):
        again = client.post("/api/v1/cities", json=CITY, headers=headers)
        assert again.headers["idempotent-replayed"] == "true"
        # Another request is still refused while the key is remembered.
        assert_problem(client.post("/api/v1/cities", json=CITY | {"name": "Ashgabat"},
                                   headers=headers), 422)
    with clock.frozen_at(start + timedelta(hours=24)):
        fresh = client.post("/api/v1/cities", json=CITY | {"name": "Ashgabat"},
                            headers=headers)
        assert fresh.status_code == 201 and "idempotent-replayed" not in fresh.headers
    assert count(session, City) == 2
    (row,) = stored(session)  # the expired claim made way for the new one
    assert row.created_at == start + timedelta(hours=24)


def test_the_worker_forgets_expired_keys(session):
    now = clock.now()
    for name, expires in (("old", now - timedelta(seconds=1)), ("new", now + timedelta(hours=1))):
        session.add(IdempotencyKey(
            caller="key:1", key=name, method="POST", path="/api/v1/cities", fingerprint="0" * 64,
            state=KeyState.done, status_code=201, created_at=expires - timedelta(hours=24),
            expires_at=expires))
    session.commit()

    @contextmanager
    def shared() -> Iterator[Session]:
        yield session

    worker = Worker(name="test-worker", sessions=shared, settings=get_settings())
    try:
        assert worker.forget_idempotency_keys() == 1
    finally:
        worker.close()
    assert [r.key for r in stored(session)] == ["new"]


# What is not kept ---------------------------------------------------------------------


def test_a_server_error_releases_the_key_and_the_retry_does_the_work(
    client, session, admin, monkeypatch
):
    from app.cities import service

    real = service.create_city
    calls: list[int] = []

    def failing_once(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "create_city", failing_once)
    headers = admin | key()
    assert_problem(client.post("/api/v1/cities", json=CITY, headers=headers), 500)
    assert stored(session) == []
    retry = client.post("/api/v1/cities", json=CITY, headers=headers)
    assert retry.status_code == 201 and "idempotent-replayed" not in retry.headers
    again = client.post("/api/v1/cities", json=CITY, headers=headers)
    assert again.headers["idempotent-replayed"] == "true"
    assert len(calls) == 2 and count(session, City) == 1


@pytest.mark.parametrize(
    ("status", "headers", "kept"),
    [
        (201, [("content-type", "application/json")], True),
        (409, [("content-type", "application/problem+json")], True),
        (500, [], False),
        (503, [("retry-after", "5")], False),
        (429, [("retry-after", "60")], False),
        (409, [("retry-after", "1")], False),  # a transient conflict: nothing was stored
        (200, [("set-cookie", "twinplan_session=secret")], False),
        (201, [("cache-control", "no-store")], False),
    ],
)
def test_which_answers_are_kept(status, headers, kept):
    assert idempotency._storable(status, headers) is kept


def test_a_secret_shown_once_is_not_stored(client, session, admin):
    """A new API key's secret is kept only as a hash, here too: a retry issues another."""
    headers = admin | key()
    body = {"name": "Ferrara city hall", "role": "admin"}
    first = client.post("/api/v1/api-keys", json=body, headers=headers)
    again = client.post("/api/v1/api-keys", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.headers["cache-control"] == "no-store"
    assert "idempotent-replayed" not in again.headers
    assert first.json()["key"] != again.json()["key"]
    assert stored(session) == []


def test_anonymous_requests_are_not_recorded(client, session, kassel):
    """Signing in has no caller to scope a key to, and its answer is a session
    cookie: never replayed, to anyone."""
    user = create_user(session, email="anna@kassel.example", display_name="Anna",
                       password="correct horse battery")
    add_membership(session, user, Role.coordinator, kassel.id)
    session.commit()
    headers = key()
    body = {"email": "anna@kassel.example", "password": "correct horse battery"}
    first = client.post("/api/v1/session", json=body, headers=headers)
    second = client.post("/api/v1/session", json=body, headers=headers)
    assert first.status_code == second.status_code == 200
    assert "idempotent-replayed" not in second.headers
    assert first.cookies["twinplan_session"] != second.cookies["twinplan_session"]
    reset = client.post("/api/v1/password-reset", json={"email": "anna@kassel.example"},
                        headers=headers)
    assert reset.status_code == 202
    assert stored(session) == []


# The header ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [b"", b"a b", b"x" * 256, "ключ".encode(), b"tab\there", b"del\x7f"],
    ids=["empty", "space", "too long", "not ascii", "control", "del"],
)
def test_a_malformed_key_is_400(client, session, admin, value):
    for headers in (admin, {}):  # anonymous callers too: the header is judged everywhere
        response = client.post("/api/v1/cities", json=CITY,
                               headers=[*headers.items(), ("Idempotency-Key", value)])
        problem = assert_problem(response, 400, contains="Idempotency-Key")
        assert problem["type"].endswith("/idempotency-key-invalid")
    assert count(session, City) == 0 and stored(session) == []


def test_two_keys_in_one_request_are_400(client, session, admin):
    headers = [*admin.items(), ("Idempotency-Key", "a"), ("Idempotency-Key", "b")]
    assert_problem(client.post("/api/v1/cities", json=CITY, headers=headers), 400,
                   contains="one Idempotency-Key")
    assert count(session, City) == 0


def test_the_longest_key_is_255_characters(client, admin):
    headers = admin | {"Idempotency-Key": "k" * 255}
    assert client.post("/api/v1/cities", json=CITY, headers=headers).status_code == 201
    assert client.post("/api/v1/cities", json=CITY, headers=headers).headers[
        "idempotent-replayed"] == "true"


def test_a_body_too_large_is_refused_before_any_key_is_claimed(client, session, admin):
    limit = get_settings().max_body_bytes
    body = {**CITY, "notes": "x" * limit}
    response = client.post("/api/v1/cities", json=body, headers=admin | key())
    assert_problem(response, 413)
    assert stored(session) == []


def test_other_methods_ignore_the_header(client, admin):
    """The draft's key makes POST retries safe; the other methods are idempotent or
    (PATCH) guarded by If-Match."""
    headers = admin | {"Idempotency-Key": "a b"}  # malformed, and unread
    assert client.get("/api/v1/cities", headers=headers).status_code == 200


# The document -------------------------------------------------------------------------


def test_every_post_documents_the_header_and_its_answers(app):
    document = app.openapi()
    posts = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            names = [p["name"] for p in operation.get("parameters", [])]
            if method != "post":
                assert "Idempotency-Key" not in names, (method, path)
                continue
            posts += 1
            parameter = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
            assert parameter["in"] == "header" and parameter["required"] is False
            assert parameter["schema"]["maxLength"] == 255
            responses = operation["responses"]
            assert {"400", "409", "422"} <= responses.keys(), path
            assert "Idempotency-Key" in responses["409"]["description"]
            assert "Retry-After" in responses["409"]["headers"]
            success = [s for s in responses if s.startswith("2")]
            assert all("Idempotent-Replayed" in responses[s]["headers"] for s in success), path
    assert posts > 25


def test_the_header_pattern_is_what_the_server_accepts(client, admin):
    """Schemathesis sends what the schema allows and expects it accepted."""
    import re

    pattern = re.compile(idempotency._PARAMETER["schema"]["pattern"])
    for value in ("!", "~" * 255, '"quoted"', "a\\b", str(uuid.uuid4())):
        assert pattern.match(value)
        response = client.post("/api/v1/cities", json=CITY,
                               headers=admin | {"Idempotency-Key": value})
        assert response.status_code in (201, 422), (value, response.text)

