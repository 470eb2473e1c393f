"""Feed versions: every change a feed shows moves the counters of exactly the cities
that take part in it, in its own transaction; a feed trusts them at once, and a
write elsewhere costs it nothing."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import Session, select

from app.calendars import assembly
from app.calendars.models import FeedVersion
from app.calendars.versions import ALL_CITIES
from app.core.actors import SYSTEM
from app.core.db import make_engine, open_session
from app.events.models import Event, EventGuest
from app.events.service import get_event_for_update
from tests.calendars.conftest import city_path, get_feed
from tests.factories import new_city, new_event
from tests.servers import scratch_database


def _versions(session: Session) -> dict[int, int]:
    session.expire_all()
    return {row.city_id: row.version for row in session.exec(select(FeedVersion))}


def _moved(session: Session, before: dict[int, int]) -> set[int]:
    after = _versions(session)
    assert all(after[c] >= v for c, v in before.items())  # counters only grow
    return {c for c, v in after.items() if v != before.get(c)}


def _patch_event(client: Any, admin: dict[str, str], event: Event, change: dict[str, Any]) -> None:
    tag = client.get(f"/api/v1/events/{event.id}", headers=admin).headers["etag"]
    response = client.patch(f"/api/v1/events/{event.id}", json=change,
                            headers={**admin, "If-Match": tag})
    assert response.status_code == 200, response.text


ITEM = {"title": "Reception", "starts_at": "2027-05-20T12:00", "ends_at": "2027-05-20T13:00",
        "public": True}


def _cases(w: Any, exchange: Event, elsewhere: Event) -> dict[str, tuple[Callable[..., Any],
                                                                       set[int]]]:
    """Each change, and the cities whose feeds it shows in: Kostroma hosts the
    exchange with Mary; Coventry hosts the other event with Kassel."""
    k, m, c, ka = (x.id for x in (w.kostroma, w.mary, w.coventry, w.kassel))

    def item(client: Any, admin: Any) -> None:
        response = client.post(f"/api/v1/events/{exchange.id}/programme", json=ITEM,
                               headers=admin)
        assert response.status_code == 201, response.text

    def register(client: Any, admin: Any) -> None:
        person = client.post("/api/v1/participants", headers=admin, json={
            "home_city_id": m, "full_name": "Ogulgerek", "birth_date": "1990-01-01"}).json()
        response = client.post(f"/api/v1/events/{exchange.id}/registrations", headers=admin,
                               json={"participant_id": person["id"], "role": "delegate"})
        assert response.status_code == 201, response.text

    def rename(field: str, value: str) -> Callable[..., None]:
        def patch(client: Any, admin: Any) -> None:
            response = client.patch(f"/api/v1/cities/{m}", json={field: value}, headers=admin)
            assert response.status_code == 200, response.text
        return patch

    def create(client: Any, admin: Any) -> None:
        response = client.post("/api/v1/events", headers=admin, json={
            "kind": "sports", "title": "Cup", "host_city_id": c, "guest_city_ids": [m],
            "starts_at": "2027-07-01T10:00", "ends_at": "2027-07-01T18:00"})
        assert response.status_code == 201, response.text

    return {
        "an edit": (lambda cl, a: _patch_event(cl, a, exchange, {"title": "Edited"}), {k, m}),
        "a guest added": (lambda cl, a: _patch_event(
            cl, a, exchange, {"guest_city_ids": [m, c]}), {k, m, c}),
        "a guest removed": (lambda cl, a: _patch_event(
            cl, a, exchange, {"guest_city_ids": [c]}), {k, m, c}),
        "a cancellation": (lambda cl, a: cl.post(f"/api/v1/events/{exchange.id}/cancel",
                                                 headers=a, json={"reason": "rain"}), {k, m}),
        "a programme item": (item, {k, m}),
        "a new event": (create, {c, m}),
        "an edit elsewhere": (lambda cl, a: _patch_event(cl, a, elsewhere, {"title": "Cup"}),
                              {c, ka}),
        "a registration": (register, set()),
        "a city renamed": (rename("name", "Mary-Shahyjahan"), {ALL_CITIES}),
        "a city's notes": (rename("notes", "Call before visiting"), set()),
    }


CASES = ["an edit", "a guest added", "a guest removed", "a cancellation", "a programme item",
         "a new event", "an edit elsewhere", "a registration", "a city renamed",
         "a city's notes"]


@pytest.mark.parametrize("case", CASES)
def test_a_change_moves_the_versions_of_the_cities_that_show_it(
    client, session, world, make_event, admin, case
):
    exchange = make_event(world.kostroma, [world.mary], title="Exchange")
    elsewhere = make_event(world.coventry, [world.kassel], title="Match")
    change, expected = _cases(world, exchange, elsewhere)[case]
    before = _versions(session)
    change(client, admin)
    assert _moved(session, before) == expected


def test_deleting_a_mirrored_calendar_moves_its_city(session, world):
    """The mirror drops its events with a Core DELETE, which no listener sees."""
    from app.mirrors.models import ExternalCalendar
    from app.mirrors.service import delete_calendar

    calendar = ExternalCalendar(city_id=world.kassel.id, name="Kassel culture",
                                url="https://kassel.example/ics", kind="culture",
                                visibility="public")
    session.add(calendar)
    session.commit()
    before = _versions(session)
    delete_calendar(session, calendar.id, SYSTEM)
    session.commit()
    assert _moved(session, before) == {world.kassel.id}


def test_a_feed_answers_from_its_state_right_after_writes_elsewhere(
    client, world, make_event, admin, monkeypatch
):
    """No settle window: a write to another city's event, just committed, leaves
    this feed's validators alone, and it reads none of its members."""
    mine = make_event(world.kostroma, [world.mary], title="Choir")
    elsewhere = make_event(world.coventry, [world.kassel], title="Match")
    path = city_path(world.kostroma)
    first = get_feed(client, path)

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("the members were read")

    with monkeypatch.context() as patched:
        patched.setattr(assembly, "full_snapshot", refuse)
        patched.setattr(assembly, "merged_snapshot", refuse)
        for title in ("Match 2", "Match 3"):
            _patch_event(client, admin, elsewhere, {"title": title})
            assert client.get(path, headers={
                "If-None-Match": first.headers["etag"]}).status_code == 304
            assert get_feed(client, path).content == first.content
    # And a write it shows, the moment it commits.
    _patch_event(client, admin, mine, {"title": "Choir, moved"})
    changed = client.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200
    assert b"SUMMARY:Choir\\, moved" in changed.content


@pytest.mark.slow
def test_concurrent_writes_move_every_counter_once_each_and_never_deadlock(tmp_path):
    """Eight threads edit events whose cities overlap in every order, each edit in
    its own transaction (on PostgreSQL, real row locks): every edit commits, and
    each city's counter moved once for each edit of an event it takes part in."""
    with scratch_database(tmp_path) as url:
        engine = make_engine(url)
        rng = random.Random(5)
        with Session(engine) as session:
            cities = [new_city(session, f"City {i}", "DE") for i in range(5)]
            events = []
            for i in range(12):
                host, *guests = rng.sample(cities, rng.randint(2, 4))
                events.append(new_event(session, host, guests, title=f"Event {i}",
                                        ))
            session.commit()
            taking_part = {e.id: {e.host_city_id, *session.exec(
                select(EventGuest.city_id).where(EventGuest.event_id == e.id))}
                for e in events}
            start = _versions(session)
        plan = [rng.choice(list(taking_part)) for _ in range(80)]
        expected = Counter(c for event_id in plan for c in taking_part[event_id])
        errors: list[BaseException] = []

        def edit(event_ids: list[int]) -> None:
            try:
                for event_id in event_ids:
                    with open_session(write=True, engine=engine) as s:
                        event = get_event_for_update(s, event_id, SYSTEM)
                        event.title = f"{event.title}."
                        event.version += 1
                        s.add(event)
                        s.commit()
            except BaseException as error:  # noqa: BLE001 (reported below)
                errors.append(error)

        threads = [threading.Thread(target=edit, args=(plan[i::8],)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        with Session(engine) as session:
            end = _versions(session)
        assert {c: end[c] - start.get(c, 0) for c in expected} == dict(expected)
        engine.dispose()
