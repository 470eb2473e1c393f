"""Change sync (GET /api/v1/changes) against real server processes on a committed
database: what each city may see, paging, webhooks carrying the same change, and
no change skipped or repeated under concurrent writers (PostgreSQL: 2 workers)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlmodel import Session, col, select

from app import receivers  # noqa: F401  (the change log hears the services)
from app.core.actors import SYSTEM, Role
from app.core.db import make_engine
from app.events.models import EventCreate
from app.events.service import create_event
from app.notifications.models import Notification, WebhookEndpointCreate
from app.notifications.webhooks import create_endpoint
from tests.conftest import IS_POSTGRES, assert_problem
from tests.factories import new_city, new_key, new_participant, new_partnership
from tests.servers import running_server, scratch_database

# Alone: on PostgreSQL a page of changes holds only transactions older than every
# one still running in the cluster (pg_snapshot_xmin), so another test process's
# open transaction (in its own database, too) holds the stream back, as it would
# in production; these tests read the stream at once and would see it waiting.
pytestmark = [pytest.mark.slow, pytest.mark.alone]

WORKERS = 2 if IS_POSTGRES else 1


class World:
    def __init__(self, url: str, base: str, ids: dict[str, Any]) -> None:
        self.url, self.base, self.ids = url, base, ids

    def client(self, who: str) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers=self.ids[who], timeout=60)

    def changes(self, who: str, since: str | None = None, limit: int = 500
                ) -> tuple[list[dict[str, Any]], str, bool]:
        params: dict[str, Any] = {"limit": limit}
        if since is not None:
            params["since"] = since
        with self.client(who) as c:
            r = c.get("/api/v1/changes", params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        return body["changes"], body["cursor"], body["has_more"]

    def event(self, who: str = "kostroma", **fields: Any) -> dict[str, Any]:
        body = {"kind": "youth_exchange", "title": "Youth week",
                "host_city_id": self.ids["kostroma_id"],
                "guest_city_ids": [self.ids["ferrara_id"]],
                "starts_at": "2027-05-20T10:00", "ends_at": "2027-05-22T18:00",
                "visibility": "partners"} | fields
        with self.client(who) as c:
            r = c.post("/api/v1/events", json=body)
        assert r.status_code == 201, r.text
        return dict(r.json()) | {"etag": r.headers["etag"]}


def _seed(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    with Session(engine) as session:
        kostroma = new_city(session, "Kostroma")
        ferrara = new_city(session, "Ferrara", "IT")
        third = new_city(session, "Gabrovo", "BG")
        new_partnership(session, kostroma, ferrara)
        endpoint = create_endpoint(session, WebhookEndpointCreate(
            city_id=ferrara.id or 0, url="https://ferrara.example/hooks",
            event_types=["event.created", "event.updated", "event.cancelled",
                         "registration.changed"]), SYSTEM)
        person = new_participant(session, ferrara, full_name="Giulia Rossi")
        ids = {
            "kostroma_id": kostroma.id, "ferrara_id": ferrara.id, "third_id": third.id,
            "endpoint_id": endpoint.id, "person_id": person.id,
            "admin": new_key(session, Role.admin),
            "kostroma": new_key(session, Role.coordinator, kostroma),
            "ferrara": new_key(session, Role.partner, ferrara),
            "third": new_key(session, Role.partner, third),
        }
        session.commit()
    engine.dispose()
    return ids


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with scratch_database(tmp_path_factory.mktemp("changes")) as url:
        ids = _seed(url)
        with running_server(url, workers=WORKERS) as base:
            yield World(url, base, ids)


def test_a_partner_follows_an_event_from_creation_to_cancellation(world):
    _, start, _ = world.changes("ferrara", since="now")
    made = world.event(title="Kostroma schools in Ferrara")
    with world.client("kostroma") as c:
        moved = c.patch(f"/api/v1/events/{made['id']}", headers={"If-Match": made["etag"]},
                        json={"title": "Kostroma schools visit Ferrara"})
        assert moved.status_code == 200, moved.text
        gone = c.post(f"/api/v1/events/{made['id']}/cancel",
                      headers={"If-Match": moved.headers["etag"]},
                      json={"reason": "Flights cancelled"})
        assert gone.status_code == 200, gone.text

    seen, cursor, more = world.changes("ferrara", since=start)
    assert not more
    mine = [c for c in seen if c["kind"] == "event" and c["subject_id"] == made["id"]]
    assert [c["action"] for c in mine] == ["created", "updated", "cancelled"]
    created, updated, cancelled = mine
    assert created["before"] is None and created["after"]["title"] == "Kostroma schools in Ferrara"
    assert updated["changed"] == ["title"]
    assert updated["before"]["title"] == "Kostroma schools in Ferrara"
    assert updated["after"]["title"] == "Kostroma schools visit Ferrara"
    assert "status" in cancelled["changed"] and cancelled["after"]["status"] == "cancelled"
    assert [c["id"] for c in seen] == sorted(c["id"] for c in seen)  # one writer: id order
    # Nothing again from the cursor it was given.
    again, cursor2, _ = world.changes("ferrara", since=cursor)
    assert again == []
    assert world.changes("ferrara", since=cursor2)[0] == []


def test_each_city_sees_only_what_it_may(world):
    starts = {who: world.changes(who, since="now")[1]
              for who in ("admin", "kostroma", "ferrara", "third")}
    private = world.event(title="Council budget", visibility="private")
    partners = world.event(title="Choir exchange", visibility="partners")
    public = world.event(title="Open day", visibility="public")
    with world.client("ferrara") as c:
        reg = c.post(f"/api/v1/events/{partners['id']}/registrations",
                     json={"participant_id": world.ids["person_id"], "role": "delegate"})
        assert reg.status_code == 201, reg.text
    with world.client("admin") as c:
        twinning = c.post("/api/v1/partnerships", json={
            "city_a_id": world.ids["kostroma_id"], "city_b_id": world.ids["third_id"],
            "status": "proposed"})
        assert twinning.status_code == 201, twinning.text

    def seen(who: str) -> set[tuple[str, int]]:
        return {(c["kind"], c["subject_id"]) for c in world.changes(who, since=starts[who])[0]}

    everything = {("event", private["id"]), ("event", partners["id"]), ("event", public["id"]),
                  ("registration", reg.json()["id"]), ("partnership", twinning.json()["id"])}
    assert seen("admin") == everything
    assert seen("kostroma") == everything
    assert seen("ferrara") == {("event", partners["id"]), ("event", public["id"]),
                               ("registration", reg.json()["id"])}
    assert seen("third") == {("event", public["id"]), ("partnership", twinning.json()["id"])}


def test_pages_walk_the_log_one_by_one_without_repeats(world):
    for i in range(3):
        world.event(title=f"Page {i}")
    everything, end, more = world.changes("admin")
    assert not more and len(everything) >= 3
    walked, cursor = [], None
    while True:
        page, cursor, more = world.changes("admin", since=cursor, limit=1)
        walked += page
        if not more:
            break
    assert [c["id"] for c in walked] == [c["id"] for c in everything]


def test_a_webhook_carries_the_change_that_the_log_lists(world):
    start = world.changes("ferrara", since="now")[1]
    made = world.event(title="Exhibition of Ferrara painters")
    listed = [c for c in world.changes("ferrara", since=start)[0]
              if c["kind"] == "event" and c["subject_id"] == made["id"]]
    engine = make_engine(world.url)
    with Session(engine) as session:
        sent = session.exec(select(Notification).where(
            Notification.recipient == str(world.ids["endpoint_id"]),
            col(Notification.subject) == f"event:{made['id']}")).all()
    engine.dispose()
    assert [n.payload["change"] for n in sent] == listed
    assert sent[0].payload["data"]["title"] == "Exhibition of Ferrara painters"


def test_bad_cursors_and_limits_are_422_and_strangers_401(world):
    with world.client("ferrara") as c:
        for params in ({"since": "yesterday"}, {"since": "1.2.3"}, {"since": "-1.0"},
                       {"limit": 0}, {"limit": 501}, {"since": "9" * 41}):
            assert_problem(c.get("/api/v1/changes", params=params), 422)
    assert_problem(httpx.get(f"{world.base}/api/v1/changes"), 401)


@pytest.mark.skipif(not IS_POSTGRES, reason="SQLite writers take the lock one at a time")
def test_a_change_that_commits_after_a_later_one_is_not_skipped(world):
    """The classic gap: T1 takes a lower id, T2 a higher one and commits first; a
    reader between them must not move its cursor past T1's change."""
    start = world.changes("admin", since="now")[1]
    engine = make_engine(world.url)

    def body(title: str) -> EventCreate:
        return EventCreate.model_validate({
            "kind": "culture", "title": title, "host_city_id": world.ids["kostroma_id"],
            "guest_city_ids": [world.ids["ferrara_id"]],
            "starts_at": "2027-09-01T10:00", "ends_at": "2027-09-02T10:00"})

    with Session(engine) as first, Session(engine) as second:
        slow = create_event(first, body("Slow"), SYSTEM).id
        first.flush()
        fast = create_event(second, body("Fast"), SYSTEM).id
        second.commit()
        early, cursor, _ = world.changes("admin", since=start)
        assert [c["subject_id"] for c in early] == []  # Fast waits for Slow
        first.commit()
    late, _, _ = world.changes("admin", since=cursor)
    engine.dispose()
    assert [c["subject_id"] for c in late] == [slow, fast]


def test_concurrent_writers_and_a_poller_miss_nothing_and_repeat_nothing(world):
    """Writers create events through the API while a partner polls; at the end the
    poller holds every change the log has for it, each once."""
    writers, per_writer = 8, 150
    start = world.changes("ferrara", since="now")[1]
    done = threading.Event()
    polled: list[int] = []
    errors: list[str] = []

    def poll() -> None:
        cursor = start
        with world.client("ferrara") as c:
            while True:
                finished = done.is_set()
                r = c.get("/api/v1/changes", params={"since": cursor, "limit": 50})
                if r.status_code != 200:
                    errors.append(r.text)
                    return
                body = r.json()
                polled.extend(ch["id"] for ch in body["changes"])
                cursor = body["cursor"]
                if finished and not body["has_more"] and not body["changes"]:
                    return

    def write(n: int) -> None:
        with world.client("kostroma") as c:
            for i in range(per_writer):
                r = c.post("/api/v1/events", json={
                    "kind": "sports", "title": f"Match {n}-{i}",
                    "host_city_id": world.ids["kostroma_id"],
                    "guest_city_ids": [world.ids["ferrara_id"]],
                    "starts_at": "2027-08-01T10:00", "ends_at": "2027-08-01T12:00"})
                if r.status_code != 201:
                    errors.append(r.text)

    poller = threading.Thread(target=poll)
    poller.start()
    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    poller.join(timeout=300)
    assert errors == []
    assert not poller.is_alive()
    # A fresh read of the whole stretch, now that every writer has finished.
    whole, cursor = [], start
    while True:
        page, cursor, more = world.changes("ferrara", since=cursor)
        whole += page
        if not more:
            break
    assert len(polled) == len(set(polled)), "a change was listed twice"
    assert polled == [c["id"] for c in whole], "the poller missed or reordered a change"
    matches = [c for c in whole if c["after"].get("title", "").startswith("Match ")]
    assert len(matches) == writers * per_writer
