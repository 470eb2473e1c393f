"""Rate limits shared by every worker process: a real server, writes fired at once.

PostgreSQL: 2 uvicorn workers, so the writes of one key are counted in separate
processes and only the database's counter can hold the limit. SQLite: 1 process
(its writes serialise), the same assertions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlmodel import Session, col, func, select

from app.cities.models import City
from app.core.actors import Role
from app.core.db import make_engine
from app.core.ratelimit import RateLimitCounter
from tests.conftest import IS_POSTGRES
from tests.factories import new_key
from tests.servers import running_server, scratch_database

pytestmark = pytest.mark.slow

WORKERS = 2 if IS_POSTGRES else 1
LIMIT, OVER = 10, 15


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, dict[str, str]]]:
    """A server whose keys may write LIMIT times an hour: URL, base, admin header."""
    with scratch_database(tmp_path_factory.mktemp("ratelimit")) as url:
        engine = make_engine(url)
        with Session(engine) as session:
            headers = new_key(session, Role.admin, name="partner batch job")
            session.commit()
        engine.dispose()
        with running_server(url, workers=WORKERS, TWINPLAN_DB_POOL_TIMEOUT="300",
                            TWINPLAN_RATE_LIMIT_KEY_WRITES=str(LIMIT),
                            TWINPLAN_RATE_LIMIT_WINDOW_SECONDS="3600") as base:
            yield url, base, headers


async def _fire(base: str, headers: dict[str, str], bodies: list[dict[str, Any]]
                ) -> list[httpx.Response]:
    """Every body POSTed to /api/v1/cities at the same moment."""
    limits = httpx.Limits(max_connections=len(bodies), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits,
                                 timeout=120) as client:
        start = asyncio.Event()

        async def one(body: dict[str, Any]) -> httpx.Response:
            await start.wait()
            return await client.post("/api/v1/cities", json=body)

        tasks = [asyncio.create_task(one(b)) for b in bodies]
        await asyncio.sleep(0.1)
        start.set()
        return await asyncio.gather(*tasks)


def test_concurrent_writes_of_one_key_get_exactly_the_limit(server):
    url, base, headers = server
    names = [f"Burst {i}" for i in range(LIMIT + OVER)]
    bodies = [{"name": n, "country_code": "TM", "timezone": "Asia/Ashgabat"} for n in names]
    responses = asyncio.run(_fire(base, headers, bodies))

    assert {r.status_code for r in responses} <= {201, 429}, [r.text for r in responses]
    engine = make_engine(url)
    with Session(engine) as session:
        created = session.exec(select(func.count()).select_from(City)
                               .where(col(City.name).in_(names))).one()
        windows = session.exec(select(RateLimitCounter.hits)
                               .where(RateLimitCounter.bucket.startswith("key:"))).all()
    engine.dispose()
    # Every request was counted once; each window let exactly LIMIT through (one
    # window, unless the burst straddled the top of the hour).
    assert sum(windows) == LIMIT + OVER
    allowed = sum(min(hits, LIMIT) for hits in windows)
    successes = [r for r in responses if r.status_code == 201]
    assert len(successes) == allowed == created
    for refused in (r for r in responses if r.status_code == 429):
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert 1 <= int(refused.headers["retry-after"]) <= 3600
