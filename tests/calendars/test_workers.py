"""Several worker processes serve one feed: the same bytes and ETag from each, cold
or warm, before and after an edit; and a Last-Modified they agree on."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from app.cities.models import CityCreate, PartnershipCreate
from app.cities.service import create_city, create_partnership
from app.core.db import make_engine
from app.events.models import EventCreate
from app.events.service import create_event
from app.keys.models import Role
from app.keys.service import create_api_key
from tests.servers import running_server, scratch_database

pytestmark = pytest.mark.slow

WORKERS = 3
REQUESTS = 36


def _seed(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    with Session(engine) as session:
        host = create_city(session, CityCreate(name="Ashgabat", country_code="TM"))
        guests = [
            create_city(session, CityCreate(name=name, country_code=cc, timezone=tz))
            for name, cc, tz in (("Tashkent", "UZ", "Asia/Tashkent"),
                                 ("Albuquerque", "US", "America/Denver"),
                                 ("Athens", "GR", "Europe/Athens"))
        ]
        for guest in guests:
            create_partnership(session, PartnershipCreate(city_a_id=host.id, city_b_id=guest.id,
                                                          status="active"))
        events = []
        for i in range(40):
            guest = guests[i % 3]
            events.append(create_event(session, EventCreate(
                kind="culture", title=f"Concert {i}", host_city_id=guest.id,
                guest_city_ids=[host.id], starts_at=f"2027-{1 + i % 12:02d}-10T19:00",
                ends_at=f"2027-{1 + i % 12:02d}-10T21:30", status="confirmed")))
        _, secret = create_api_key(session, name="ci", role=Role.admin)
        session.commit()
        result = {"city": host.id, "event": events[0].id,
                  "admin": {"Authorization": f"Bearer {secret}"}}
    engine.dispose()
    return result


def _many(base: str, path: str, headers: dict[str, str] | None = None) -> list[httpx.Response]:
    def one(_: int) -> httpx.Response:
        # A new connection each time, so that the requests spread over the workers.
        with httpx.Client(base_url=base, timeout=30) as client:
            return client.get(path, headers=headers or {})

    with ThreadPoolExecutor(max_workers=12) as pool:
        return list(pool.map(one, range(REQUESTS)))


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
        with running_server(url, workers=WORKERS) as base:
            # Cold: every worker builds the feed itself, at once, and records its state.
            first = _agreed(_many(base, path))
            assert first.content.count(b"BEGIN:VEVENT") == 40
            warm = _agreed(_many(base, path))
            assert warm.content == first.content
            cached = _many(base, path, {"If-None-Match": first.headers["etag"]})
            assert {r.status_code for r in cached} == {304}

            with httpx.Client(base_url=base, headers=world["admin"]) as client:
                event = client.get(f"/api/v1/events/{world['event']}")
                edited = client.patch(f"/api/v1/events/{world['event']}",
                                      json={"title": "Concert, moved", "venue": "Opera"},
                                      headers={"If-Match": event.headers["etag"]})
                assert edited.status_code == 200, edited.text

            after = _agreed(_many(base, path, {"If-None-Match": first.headers["etag"]}))
            assert after.headers["etag"] != first.headers["etag"]
            assert b"SUMMARY:Concert\\, moved" in after.content
            assert (parsedate_to_datetime(after.headers["last-modified"])
                    > parsedate_to_datetime(first.headers["last-modified"]))
            since = _many(base, path, {"If-Modified-Since": after.headers["last-modified"]})
            assert {r.status_code for r in since} == {304}
