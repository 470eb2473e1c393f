"""Rate limits (``app.core.ratelimit``): writes per API key and per person, failed
authentication per client address.

Through the app, on the test's rolled-back transaction and a clock the test
moves: over the limit a write is 429 with ``Retry-After`` and changes nothing;
reads pass; other keys, roles and cities have buckets of their own; a person's
keys and session share theirs; the window frees when ``Retry-After`` said;
failed keys from an address are limited while valid ones work, and password
sign-in keeps its own throttle; with ``Idempotency-Key``, replays are not
counted and a 429 is never stored. Across worker processes:
``test_rate_limits_servers.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session, col, func, select

from app.accounts import sessions
from app.accounts.service import add_membership, create_user
from app.core.actors import Actor, Role
from app.core.idempotency import IdempotencyKey
from app.core.ratelimit import RateLimitCounter
from app.core.settings import get_settings
from app.keys.service import create_api_key
from app.participants.models import Participant
from app.worker import Worker
from tests.conftest import assert_problem
from tests.notifications.conftest import Clock

PASSWORD = "correct horse battery staple"
# Ten seconds into a minute: the window ends 50 s later.
START = datetime(2027, 4, 1, 8, 0, 10, tzinfo=UTC)


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """``limits(key_writes=3)``: set rate limit settings for this test."""

    def set_limits(**values: int) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"TWINPLAN_RATE_LIMIT_{name.upper()}", str(value))
        get_settings.cache_clear()

    yield set_limits
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def clock() -> Iterator[Clock]:
    c = Clock(START)
    yield c
    c.close()


@pytest.fixture
def kostroma(make_city):
    return make_city("Kostroma")


@pytest.fixture
def mary(make_city, make_partnership, kostroma):
    city = make_city("Mary", "TM")
    make_partnership(kostroma, city)
    return city


@pytest.fixture
def lanzhou(make_city):
    """Twinned with neither."""
    return make_city("Lanzhou", "CN", timezone="Asia/Shanghai")


def participants(session: Session) -> int:
    session.expire_all()
    return int(session.exec(select(func.count()).select_from(Participant)).one())


def add_person(client: Any, city: Any, headers: dict[str, str]) -> Any:
    return client.post("/api/v1/participants", headers=headers,
                       json={"full_name": f"Person {uuid.uuid4().hex[:6]}",
                             "home_city_id": city.id})


def ratelimit_fields(response: Any) -> tuple[str, str]:
    return response.headers["ratelimit-policy"], response.headers["ratelimit"]


# Writes per key -------------------------------------------------------------------------


def test_writes_over_the_key_limit_are_429_and_change_nothing(
    client, session, make_key, kostroma, limits, clock
):
    limits(key_writes=3)
    coordinator = make_key(Role.coordinator, kostroma)
    for remaining in (2, 1, 0):
        ok = add_person(client, kostroma, coordinator)
        assert ok.status_code == 201, ok.text
        assert ratelimit_fields(ok) == ('"key-writes";q=3;w=60',
                                        f'"key-writes";r={remaining};t=50')
    before = participants(session)

    refused = add_person(client, kostroma, coordinator)
    body = assert_problem(refused, 429, contains="too many writes")
    assert body["type"].endswith("/too-many-requests")
    assert refused.headers["retry-after"] == "50"  # until the window ends
    assert ratelimit_fields(refused)[1] == '"key-writes";r=0;t=50'
    assert participants(session) == before
    # Every write method counts, whatever it would have done.
    person = session.exec(select(Participant)).first()
    assert person is not None
    assert_problem(client.patch(f"/api/v1/participants/{person.id}", headers=coordinator,
                                json={"phone": "+7 4942 31"}), 429)
    assert_problem(client.delete(f"/api/v1/participants/{person.id}", headers=coordinator),
                   429)
    assert participants(session) == before

    # Reads are not limited, and carry no RateLimit fields.
    read = client.get("/api/v1/participants", headers=coordinator)
    assert read.status_code == 200
    assert "ratelimit" not in read.headers
    # Another key of the same city has a bucket of its own.
    assert add_person(client, kostroma, make_key(Role.coordinator, kostroma)).status_code == 201


def test_the_window_frees_when_retry_after_says(client, make_key, kostroma, limits, clock):
    limits(key_writes=2)
    key = make_key(Role.coordinator, kostroma)
    for _ in range(2):
        assert add_person(client, kostroma, key).status_code == 201
    wait = int(add_person(client, kostroma, key).headers["retry-after"])
    assert wait == 50
    clock.advance(seconds=wait - 1)
    assert add_person(client, kostroma, key).status_code == 429
    clock.advance(seconds=1)
    freed = add_person(client, kostroma, key)
    assert freed.status_code == 201, freed.text
    assert ratelimit_fields(freed)[1] == '"key-writes";r=1;t=60'


def test_every_caller_has_its_own_bucket_and_anonymous_writes_are_not_counted(
    client, session, make_key, kostroma, mary, lanzhou, limits, clock
):
    """The limit is the same for every role and city: an admin, the coordinators and
    partner systems of two twinned cities and of an unrelated one each get one write,
    then 429, whatever their write was answered."""
    limits(key_writes=1)
    callers = {"admin": make_key(Role.admin)}
    for city in (kostroma, mary, lanzhou):
        for role in (Role.coordinator, Role.partner):
            callers[f"{role} of {city.name}"] = make_key(role, city)
    first = {name: add_person(client, kostroma, headers).status_code
             for name, headers in callers.items()}
    # What each role may do is its policy's business (403 elsewhere); none was limited.
    assert first == {"admin": 201, "coordinator of Kostroma": 201, "partner of Kostroma": 201,
                     "coordinator of Mary": 403, "partner of Mary": 403,
                     "coordinator of Lanzhou": 403, "partner of Lanzhou": 403}
    second = {name: add_person(client, kostroma, headers).status_code
              for name, headers in callers.items()}
    assert set(second.values()) == {429}, second
    # Anonymous writes have no key to count against: 401 every time, never 429.
    for _ in range(3):
        assert_problem(add_person(client, kostroma, {}), 401)
    rows = session.exec(select(RateLimitCounter.bucket)).all()
    assert len(rows) == len(callers) and all(b.startswith("key:") for b in rows)


def test_zero_turns_a_limit_off(client, session, make_key, kostroma, limits, clock):
    limits(key_writes=0, user_writes=0)
    key = make_key(Role.coordinator, kostroma)
    for _ in range(5):
        response = add_person(client, kostroma, key)
        assert response.status_code == 201
        assert "ratelimit" not in response.headers
    assert session.exec(select(func.count()).select_from(RateLimitCounter)).one() == 0


# Writes per person ----------------------------------------------------------------------


def _person_with_two_keys(session: Session, city: Any) -> tuple[dict[str, str], ...]:
    """A coordinator who made two personal keys, and their signed-in browser."""
    user = create_user(session, email="olga@kostroma.example", display_name="Olga",
                       password=None)
    membership = add_membership(session, user, Role.coordinator, city.id)
    acting = Actor(role=Role.coordinator, city_id=city.id, user_id=user.id)
    headers = []
    for name in ("laptop", "script"):
        key, secret = create_api_key(session, acting, name=name, role=Role.coordinator,
                                     city_id=city.id)
        assert key.user_id == user.id  # personal
        headers.append({"Authorization": f"Bearer {secret}"})
    row, cookie = sessions.start(session, user, membership_id=membership.id, client=None,
                                 user_agent=None)
    session.commit()
    browser = {"Cookie": f"{sessions.COOKIE}={cookie}", sessions.CSRF_HEADER: row.csrf_token,
               "Origin": "https://twinplan.test"}
    return headers[0], headers[1], browser


def test_a_persons_keys_and_session_share_one_bucket(
    client, session, make_key, kostroma, limits, clock
):
    limits(key_writes=100, user_writes=3)
    laptop, script, browser = _person_with_two_keys(session, kostroma)
    assert add_person(client, kostroma, laptop).status_code == 201
    assert add_person(client, kostroma, script).status_code == 201
    third = add_person(client, kostroma, browser)
    assert third.status_code == 201, third.text
    assert ratelimit_fields(third)[1] == '"user-writes";r=0;t=50'
    # A personal key reports both of its buckets.
    fourth = add_person(client, kostroma, script)
    assert_problem(fourth, 429)
    assert ratelimit_fields(fourth) == (
        '"key-writes";q=100;w=60, "user-writes";q=3;w=60',
        '"key-writes";r=98;t=50, "user-writes";r=0;t=50')
    assert_problem(add_person(client, kostroma, laptop), 429)
    assert_problem(add_person(client, kostroma, browser), 429)
    # Someone else's key is not that person.
    assert add_person(client, kostroma, make_key(Role.coordinator, kostroma)).status_code == 201


# Failed authentication -------------------------------------------------------------------


def test_failed_keys_are_limited_per_address_and_valid_keys_still_work(
    client, session, make_key, kostroma, limits, clock
):
    limits(failed_auth=3)
    valid = make_key(Role.coordinator, kostroma)
    bogus = {"Authorization": "Bearer tp_not-a-key"}
    for _ in range(3):
        assert_problem(client.get("/api/v1/cities", headers=bogus), 401)
    refused = client.get("/api/v1/cities", headers=bogus)
    assert_problem(refused, 429, contains="failed authentications")
    assert refused.headers["retry-after"] == "50"
    assert ratelimit_fields(refused)[1] == '"failed-auth";r=0;t=50'
    # Writes too: refused before anything is done.
    assert_problem(add_person(client, kostroma, bogus), 429)
    assert participants(session) == 0
    # The same address with a valid key: served, reads and writes.
    assert client.get("/api/v1/cities", headers=valid).status_code == 200
    assert add_person(client, kostroma, valid).status_code == 201
    # No key at all is not a failure: public reads go on.
    assert client.get("/api/v1/cities").status_code == 200
    clock.advance(seconds=50)
    assert_problem(client.get("/api/v1/cities", headers=bogus), 401)


def test_password_sign_in_keeps_its_own_throttle(client, session, kostroma, limits, clock):
    """Failed sign-ins are counted by sign-in's throttle (per account and address, over
    15 minutes), not here; failed keys are counted here, not there."""
    limits(failed_auth=2)
    user = create_user(session, email="anna@kostroma.example", display_name="Anna",
                       password=PASSWORD)
    add_membership(session, user, Role.coordinator, kostroma.id)
    session.commit()
    for _ in range(3):
        wrong = client.post("/api/v1/session",
                            json={"email": user.email, "password": "nope"})
        assert_problem(wrong, 401)
    bogus = {"Authorization": "Bearer tp_not-a-key"}
    assert_problem(client.get("/api/v1/cities", headers=bogus), 401)  # not yet limited
    assert_problem(client.get("/api/v1/cities", headers=bogus), 401)
    assert_problem(client.get("/api/v1/cities", headers=bogus), 429)
    # Over the failed-key limit, the right password still signs in.
    signed_in = client.post("/api/v1/session", json={"email": user.email, "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text


# With Idempotency-Key --------------------------------------------------------------------


def test_a_replay_is_not_counted_and_a_429_is_not_stored(
    client, session, make_key, kostroma, limits, clock
):
    limits(key_writes=2)
    key = make_key(Role.coordinator, kostroma)
    first = {"Idempotency-Key": "first"}
    body = {"full_name": "Anna", "home_city_id": kostroma.id}
    original = client.post("/api/v1/participants", json=body, headers=key | first)
    assert original.status_code == 201
    for _ in range(3):
        replay = client.post("/api/v1/participants", json=body, headers=key | first)
        assert replay.headers["idempotent-replayed"] == "true"
        assert replay.content == original.content
        assert "ratelimit" not in replay.headers  # neither counted nor stored
    # One write left in the window, though four answers went out.
    assert add_person(client, kostroma, key).status_code == 201

    later = {"Idempotency-Key": "later"}
    refused = client.post("/api/v1/participants", json=body, headers=key | later)
    assert_problem(refused, 429)
    session.expire_all()
    assert session.exec(select(IdempotencyKey).where(
        col(IdempotencyKey.key) == "later")).first() is None  # released, not stored
    clock.advance(seconds=int(refused.headers["retry-after"]))
    retried = client.post("/api/v1/participants", json=body, headers=key | later)
    assert retried.status_code == 201, retried.text
    assert "idempotent-replayed" not in retried.headers
    # Its count was committed before the work, and the key still records the work.
    row = session.exec(select(IdempotencyKey).where(col(IdempotencyKey.key) == "later")).one()
    assert row.status_code == 201 and row.work_committed_at is not None
    assert participants(session) == 3


# The worker ---------------------------------------------------------------------------


def test_the_worker_forgets_finished_windows(
    client, session, make_key, kostroma, limits, clock
):
    limits(key_writes=10)
    key = make_key(Role.coordinator, kostroma)
    add_person(client, kostroma, key)
    clock.advance(minutes=1)
    add_person(client, kostroma, key)

    @contextmanager
    def shared() -> Iterator[Session]:
        yield session

    worker = Worker(name="test-worker", sessions=shared, settings=get_settings())
    try:
        assert worker.forget_rate_limit_windows() == 1
    finally:
        worker.close()
    session.expire_all()
    left = session.exec(select(RateLimitCounter)).all()
    assert [(r.window_start.minute, r.hits) for r in left] == [(1, 1)]
