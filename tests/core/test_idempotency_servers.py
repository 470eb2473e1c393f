"""``Idempotency-Key`` under real concurrency: real server processes, retries fired at once.

PostgreSQL: 4 uvicorn workers, so the retries of one request race in separate
processes and only the database can tell them apart. SQLite: 1 process (its
writes serialise), the same assertions.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlmodel import Session, col, func, select

from app.cities.models import City
from app.core.actors import Role
from app.core.db import make_engine
from app.core.idempotency import IdempotencyKey, KeyState
from tests.conftest import IS_POSTGRES
from tests.factories import new_key
from tests.servers import running_server, scratch_database

pytestmark = pytest.mark.slow

WORKERS = 4 if IS_POSTGRES else 1
RETRIES = 40
KEYS, RETRIES_EACH = 12, 6


def _seed(url: str) -> dict[str, str]:
    engine = make_engine(url)
    with Session(engine) as session:
        headers = new_key(session, Role.admin, name="partner system")
        session.commit()
    engine.dispose()
    return headers


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, dict[str, str]]]:
    """One server (its workers) and database for the module: URL, base, admin header."""
    with scratch_database(tmp_path_factory.mktemp("idempotency")) as url:
        headers = _seed(url)
        # A loaded CI machine may queue requests for a connection a long while.
        with running_server(url, workers=WORKERS, TWINPLAN_DB_POOL_TIMEOUT="300") as base:
            yield url, base, headers


def _cities(url: str, names: list[str]) -> dict[str, int]:
    """How many cities of each name exist; and no claim is left running."""
    engine = make_engine(url)
    with Session(engine) as session:
        rows = session.exec(select(City.name, func.count())
                            .where(col(City.name).in_(names)).group_by(col(City.name))).all()
        states = session.exec(select(IdempotencyKey.state)).all()
    engine.dispose()
    assert set(states) <= {KeyState.done}, states
    return {str(name): int(n) for name, n in rows}


async def _fire(base: str, headers: dict[str, str],
                jobs: list[tuple[str, dict[str, Any]]]) -> list[httpx.Response]:
    """Every (key, body) POSTed to /api/v1/cities at the same moment."""
    limits = httpx.Limits(max_connections=len(jobs), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits,
                                 timeout=120) as client:
        start = asyncio.Event()

        async def one(value: str, body: dict[str, Any]) -> httpx.Response:
            await start.wait()
            return await client.post("/api/v1/cities", json=body,
                                     headers={"Idempotency-Key": value})

        tasks = [asyncio.create_task(one(v, b)) for v, b in jobs]
        await asyncio.sleep(0.1)
        start.set()
        return await asyncio.gather(*tasks)


def _city(name: str) -> dict[str, Any]:
    return {"name": name, "country_code": "TM", "timezone": "Asia/Ashgabat"}


def _check_answers(responses: list[httpx.Response]) -> httpx.Response:
    """One did the work; every other is its replay or a 409 to retry; the original."""
    assert {r.status_code for r in responses} <= {201, 409}, [r.text for r in responses]
    originals = [r for r in responses
                 if r.status_code == 201 and "idempotent-replayed" not in r.headers]
    assert len(originals) == 1, [(r.status_code, dict(r.headers)) for r in responses]
    original = originals[0]
    for r in responses:
        if r.status_code == 201 and r is not original:
            assert r.headers["idempotent-replayed"] == "true"
            assert r.content == original.content
        elif r.status_code == 409:
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.headers["retry-after"] == "1"
            assert r.json()["type"].endswith("/idempotency-key-in-use")
    return original


def _retry_until_answered(base: str, headers: dict[str, str], value: str,
                          body: dict[str, Any]) -> httpx.Response:
    """A client that honours Retry-After."""
    deadline = time.monotonic() + 60
    while True:
        response = httpx.post(f"{base}/api/v1/cities", json=body, timeout=60,
                              headers=headers | {"Idempotency-Key": value})
        if response.status_code != 409 or time.monotonic() > deadline:
            return response
        time.sleep(float(response.headers["retry-after"]))


def test_concurrent_retries_of_one_request_do_the_work_once(server):
    url, base, headers = server
    value, body = str(uuid.uuid4()), _city("Mary")
    burst = asyncio.run(_fire(base, headers, [(value, body)] * RETRIES))
    original = _check_answers(burst)
    # Afterwards, every retry gets the first answer.
    later = _retry_until_answered(base, headers, value, body)
    assert later.status_code == 201 and later.headers["idempotent-replayed"] == "true"
    assert later.content == original.content
    # The key is the first request's, whatever the retries send with it.
    other = httpx.post(f"{base}/api/v1/cities", json=_city("Ashgabat"), timeout=60,
                       headers=headers | {"Idempotency-Key": value})
    assert other.status_code == 422
    assert _cities(url, ["Mary", "Ashgabat"]) == {"Mary": 1}


def test_concurrent_retries_of_many_requests(server):
    """Several keys, each retried several times, all at once and interleaved."""
    url, base, headers = server
    requests = {str(uuid.uuid4()): _city(f"Town {i}") for i in range(KEYS)}
    jobs = [(v, b) for _ in range(RETRIES_EACH) for v, b in requests.items()]
    burst = asyncio.run(_fire(base, headers, jobs))
    for value, body in requests.items():
        mine = [r for (v, _), r in zip(jobs, burst, strict=True) if v == value]
        original = _check_answers(mine)
        assert original.json()["name"] == body["name"]
        later = _retry_until_answered(base, headers, value, body)
        assert later.content == original.content
    names = [body["name"] for body in requests.values()]
    assert _cities(url, names) == dict.fromkeys(names, 1)


def test_concurrent_different_requests_under_one_key(server):
    """A client bug: one key, different bodies, at once. One is carried out; the
    others are refused (422), or told to wait (409) and then refused."""
    url, base, headers = server
    value = str(uuid.uuid4())
    bodies = [_city(f"Village {i}") for i in range(RETRIES // 2)]
    burst = asyncio.run(_fire(base, headers, [(value, b) for b in bodies]))
    created = [r for r in burst if r.status_code == 201]
    assert len(created) == 1 and "idempotent-replayed" not in created[0].headers
    assert {r.status_code for r in burst} <= {201, 409, 422}
    for body, response in zip(bodies, burst, strict=True):
        if response.status_code == 409:
            assert _retry_until_answered(base, headers, value, body).status_code == 422
    assert _cities(url, [b["name"] for b in bodies]) == {created[0].json()["name"]: 1}
