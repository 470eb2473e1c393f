"""A key seen before reaches a sync endpoint without a lookup of its own: the
endpoint's transaction confirms it first, so a revocation counts at once.

"Another worker" revokes with a plain UPDATE, unseen by this process's memory
of keys; its deletion is the cascade a person's erasure makes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, event, update
from sqlmodel import Session, col

from app.core.db import utcnow
from app.keys import auth
from app.keys.models import ApiKey
from app.keys.service import hash_key
from app.participants.models import Registration
from tests.conftest import assert_problem
from tests.factories import new_city, new_event, new_key, new_participant

READ = "/api/v1/cities"


def _digest(headers: dict[str, str]) -> str:
    return hash_key(headers["Authorization"].removeprefix("Bearer "))


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each full lookup of a key (a trip to a thread and a transaction of its own)."""
    seen: list[str] = []
    look_up = auth._look_up

    def counted(request: Any, session: Session, credentials: Any) -> Any:
        seen.append(request.url.path)
        return look_up(request, session, credentials)

    monkeypatch.setattr(auth, "_look_up", counted)
    return seen


@pytest.fixture
def statements(session: Session) -> Iterator[list[str]]:
    sent: list[str] = []
    bind = session.get_bind()

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):  # the test's
            sent.append(statement)

    event.listen(bind.engine, "before_cursor_execute", record)
    yield sent
    event.remove(bind.engine, "before_cursor_execute", record)


def _revoke_elsewhere(session: Session, headers: dict[str, str]) -> None:
    session.execute(update(ApiKey).where(col(ApiKey.key_hash) == _digest(headers))
                    .values(revoked_at=utcnow()))
    session.commit()


def test_a_known_key_is_looked_up_once_then_confirmed_in_the_endpoint(
    client: TestClient, session: Session, lookups: list[str], statements: list[str]
) -> None:
    headers = new_key(session)
    assert client.get(READ, headers=headers).status_code == 200
    assert lookups == [READ]
    statements.clear()
    for _ in range(3):
        assert client.get(READ, headers=headers).status_code == 200
    assert lookups == [READ]
    # Each request confirmed the key in its own transaction, before the endpoint read.
    confirms = [i for i, sql in enumerate(statements) if "FROM api_key" in sql]
    assert len(confirms) == 3
    assert all("revoked_at IS NULL" in statements[i] for i in confirms), statements[:3]
    assert confirms[0] == 0, statements[:2]
    assert all(
        "FROM api_key" not in sql for sql in statements[confirms[0] + 1:confirms[1]])


def test_a_key_revoked_by_another_worker_is_refused_at_once(
    client: TestClient, session: Session, lookups: list[str]
) -> None:
    headers = new_key(session)
    assert client.get(READ, headers=headers).status_code == 200
    assert _digest(headers) in auth._known
    _revoke_elsewhere(session, headers)

    assert_problem(client.get(READ, headers=headers), 401, contains="revoked")
    assert _digest(headers) not in auth._known  # forgotten: the next one looks it up
    assert_problem(client.get(READ, headers=headers), 401, contains="revoked")
    assert lookups == [READ, READ]


def test_a_key_revoked_through_the_api_is_refused_at_once(
    client: TestClient, session: Session
) -> None:
    admin = new_key(session)
    headers = new_key(session, "coordinator", new_city(session))
    me = client.get("/api/v1/api-keys/me", headers=headers)
    assert me.status_code == 200, me.text
    assert client.get(READ, headers=headers).status_code == 200
    revoked = client.post(f"/api/v1/api-keys/{me.json()['id']}/revoke", headers=admin)
    assert revoked.status_code == 200, revoked.text
    assert_problem(client.get(READ, headers=headers), 401)


def test_a_deleted_key_is_refused(client: TestClient, session: Session) -> None:
    headers = new_key(session)
    assert client.get(READ, headers=headers).status_code == 200
    session.execute(delete(ApiKey).where(col(ApiKey.key_hash) == _digest(headers)))
    session.commit()
    assert_problem(client.get(READ, headers=headers), 401)


def test_a_write_with_a_revoked_known_key_writes_nothing(
    client: TestClient, session: Session
) -> None:
    city = new_city(session)
    headers = new_key(session, "coordinator", city)
    event_ = new_event(session, host=city, guests=[new_city(session, "Coventry", "GB")])
    person = new_participant(session, city)
    assert client.get(READ, headers=headers).status_code == 200
    _revoke_elsewhere(session, headers)

    answer = client.post(f"/api/v1/events/{event_.id}/registrations", headers=headers,
                         json={"participant_id": person.id, "role": "athlete"})
    assert_problem(answer, 401)
    assert session.query(Registration).count() == 0


def test_endpoints_that_cannot_confirm_look_the_key_up(
    client: TestClient, session: Session, lookups: list[str]
) -> None:
    """/health is not on a TransactionalRoute: no confirmation would run there, so a
    known key is looked up in full, and a revoked one refused."""
    headers = new_key(session)
    assert client.get(READ, headers=headers).status_code == 200
    assert client.get("/health", headers=headers).status_code == 200
    assert lookups == [READ, "/health"]
    _revoke_elsewhere(session, headers)
    assert_problem(client.get("/health", headers=headers), 401)


def test_requests_in_one_task_confirm_only_their_own_key(
    app: Any, session: Session, statements: list[str]
) -> None:
    """An ASGI server runs each request in a task of its own; a client that calls the
    app in process (httpx's ASGITransport) runs them in the caller's. Each request
    still confirms once, and leaves no check for the next one."""
    headers = new_key(session)

    async def four_reads() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.get(READ, headers=headers)).status_code == 200
            statements.clear()
            for _ in range(3):
                assert (await client.get(READ, headers=headers)).status_code == 200

    asyncio.run(four_reads())
    assert sum("FROM api_key" in sql for sql in statements) == 3
