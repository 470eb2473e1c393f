"""Several server processes serve one feed: the same bytes and ETag from each, cold
or warm, before and after an edit; and a Last-Modified they agree on.

Two separate servers on one database stand for a server's workers: like them
they share nothing but the database, and unlike them each can be asked by
address, so every round asks every process, with no reliance on how the kernel
spreads connections.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from app.core.db import make_engine
from tests.factories import new_city, new_event, new_key
from tests.servers import running_servers, scratch_database

pytestmark = pytest.mark.slow

SERVERS = 2  # two are enough to disagree
PER_SERVER = 3  # requests to each in every round, at once, each on a new connection


def _seed(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    with Session(engine) as session:
        host = new_city(session, "Ashgabat", "TM")
        guests = [new_city(session, name, cc, timezone=tz)
                  for name, cc, tz in (("Tashkent", "UZ", "Asia/Tashkent"),
                                       ("Albuquerque", "US", "America/Denver"),
                                       ("Athens", "GR", "Europe/Athens"))]
        events = [
            new_event(session, guests[i % 3], [host], kind="culture", title=f"Concert {i}",
                      starts_at=f"2027-{1 + i % 12:02d}-10T19:00",
                      ends_at=f"2027-{1 + i % 12:02d}-10T21:30", status="confirmed")
            for i in range(40)
        ]
        admin = new_key(session, name="ci")
        session.commit()
        result = {"city": host.id, "event": events[0].id, "admin": admin}
    engine.dispose()
    return result


def _round(
    bases: list[str], path: str, headers: dict[str, str] | None = None
) -> list[httpx.Response]:
    """The same request to every server, ``PER_SERVER`` times each, all at once."""

    def one(base: str) -> httpx.Response:
        with httpx.Client(base_url=base, timeout=30) as client:
            return client.get(path, headers=headers or {})

    with ThreadPoolExecutor(max_workers=len(bases) * PER_SERVER) as pool:
        return list(pool.map(one, bases * PER_SERVER))


def _agreed(responses: list[httpx.Response]) -> httpx.Response:
    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1
    assert len({r.headers["etag"] for r in responses}) == 1
    assert len({r.headers.get("last-modified") for r in responses} - {None}) == 1
    return responses[0]


def test_every_worker_serves_the_same_feed(tmp_path):
    with scratch_database(tmp_path) as url:
        world = _seed(url)
        path = f"/calendars/cities/{world['city']}.ics"
        with running_servers(url, SERVERS) as bases:
            # Cold: every server builds the feed itself, at once, and records its state.
            first = _agreed(_round(bases, path))
            assert first.content.count(b"BEGIN:VEVENT") == 40
            warm = _agreed(_round(bases, path))
            assert warm.content == first.content
            cached = _round(bases, path, {"If-None-Match": first.headers["etag"]})
            assert {r.status_code for r in cached} == {304}

            with httpx.Client(base_url=bases[0], headers=world["admin"]) as client:
                event = client.get(f"/api/v1/events/{world['event']}")
                edited = client.patch(f"/api/v1/events/{world['event']}",
                                      json={"title": "Concert, moved", "venue": "Opera"},
                                      headers={"If-Match": event.headers["etag"]})
                assert edited.status_code == 200, edited.text

            after = _agreed(_round(bases, path, {"If-None-Match": first.headers["etag"]}))
            assert after.headers["etag"] != first.headers["etag"]
            assert b"SUMMARY:Concert\\, moved" in after.content
            assert (parsedate_to_datetime(after.headers["last-modified"])
                    > parsedate_to_datetime(first.headers["last-modified"]))
            since = _round(bases, path, {"If-Modified-Since": after.headers["last-modified"]})
            assert {r.status_code for r in since} == {304}
