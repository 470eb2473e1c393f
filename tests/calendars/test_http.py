"""HTTP behaviour of the feeds: validators, 304, HEAD, caching headers, and a
Last-Modified that moves forward whenever the content changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import pytest

from app.calendars import assembly, membership, state
from app.calendars.models import FeedToken
from app.cities.service import find_partnership
from app.core.clock import frozen_at
from tests.calendars.conftest import city_path, get_feed
from tests.calendars.parsers import etag_from_body


def last_modified(response: Any) -> datetime:
    return parsedate_to_datetime(response.headers["last-modified"])


def later(minutes: int) -> Any:
    """Freeze the clock some minutes ahead, so that a change is seconds apart from the last."""
    return frozen_at(datetime.now(UTC) + timedelta(minutes=minutes))


@pytest.fixture
def choir(world, make_event):
    return make_event(world.kostroma, [world.mary], title="Choir", status="confirmed")


@pytest.fixture
def no_building(monkeypatch):
    """Fail the test if anything assembles or renders a feed."""

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("the feed was built")

    monkeypatch.setattr(assembly, "assemble", refuse)
    monkeypatch.setattr(assembly.render, "render_event", refuse)
    assembly.clear_caches()


def test_headers_of_a_feed(client, world, choir):
    response = get_feed(client, city_path(world.kostroma))
    assert response.headers["etag"] == etag_from_body(response.content)
    assert not response.headers["etag"].startswith("W/")
    assert response.headers["cache-control"] == "no-cache"
    assert int(response.headers["content-length"]) == len(response.content)
    # Last-Modified is the newest thing the feed shows (its events, its cities).
    assert last_modified(response) == max(choir.updated_at, world.kassel.updated_at).replace(
        microsecond=0)


def test_a_public_feed_is_not_dated_by_a_private_edit(client, session, world, choir,
                                                      make_event):
    """A first Last-Modified from the newest change anywhere would tell anonymous
    readers when the host last touched a private event."""
    secret = make_event(world.kostroma, [world.mary], title="Secret", visibility="private")
    secret.updated_at += timedelta(minutes=30)
    session.add(secret)
    session.commit()
    response = get_feed(client, city_path(world.kostroma))
    assert b"Secret" not in response.content
    assert last_modified(response) < secret.updated_at.replace(microsecond=0)
    assert last_modified(response) == max(choir.updated_at, world.kassel.updated_at).replace(
        microsecond=0)


def test_if_none_match_gives_304_without_building_anything(client, world, choir, request):
    first = get_feed(client, city_path(world.kostroma))
    request.getfixturevalue("no_building")
    again = client.get(city_path(world.kostroma),
                       headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["last-modified"] == first.headers["last-modified"]
    for header in (f'W/{first.headers["etag"]}', f'"other", {first.headers["etag"]}', "*"):
        assert client.get(city_path(world.kostroma),
                          headers={"If-None-Match": header}).status_code == 304


def test_if_modified_since_gives_304_when_nothing_changed_after(client, world, choir, request):
    first = get_feed(client, city_path(world.kostroma))
    request.getfixturevalue("no_building")
    same = client.get(city_path(world.kostroma),
                      headers={"If-Modified-Since": first.headers["last-modified"]})
    assert same.status_code == 304
    after = format_datetime(last_modified(first) + timedelta(hours=1), usegmt=True)
    assert client.get(city_path(world.kostroma),
                      headers={"If-Modified-Since": after}).status_code == 304


def test_stale_validators_get_the_feed(client, world, choir):
    first = get_feed(client, city_path(world.kostroma))
    before = format_datetime(last_modified(first) - timedelta(seconds=1), usegmt=True)
    for headers in ({"If-None-Match": '"stale"'},
                    {"If-Modified-Since": before},
                    {"If-Modified-Since": "not a date"},
                    # If-None-Match decides when both are sent (RFC 9110 13.2.2).
                    {"If-None-Match": '"stale"',
                     "If-Modified-Since": first.headers["last-modified"]}):
        response = client.get(city_path(world.kostroma), headers=headers)
        assert response.status_code == 200, headers
        assert response.content == first.content


def test_head_has_the_headers_of_get_and_no_body(client, world, choir, request):
    first = get_feed(client, city_path(world.kostroma))
    request.getfixturevalue("no_building")
    head = client.head(city_path(world.kostroma))
    assert head.status_code == 200
    assert head.content == b""
    for name in ("etag", "last-modified", "content-type", "cache-control", "content-length"):
        assert head.headers[name] == first.headers[name], name


def test_head_of_a_feed_never_served_before(client, world, choir):
    head = client.head(city_path(world.kostroma))
    assert head.status_code == 200 and head.content == b""
    full = get_feed(client, city_path(world.kostroma))
    assert head.headers["etag"] == full.headers["etag"]
    assert int(head.headers["content-length"]) == len(full.content)


def test_an_edit_moves_etag_and_last_modified(client, world, choir, admin):
    first = get_feed(client, city_path(world.kostroma))
    tag = client.get(f"/api/v1/events/{choir.id}").headers["etag"]
    with later(10):
        assert client.patch(f"/api/v1/events/{choir.id}", json={"title": "Choir of the Volga"},
                            headers={**admin, "If-Match": tag}).status_code == 200
        second = client.get(city_path(world.kostroma),
                            headers={"If-None-Match": first.headers["etag"],
                                     "If-Modified-Since": first.headers["last-modified"]})
    assert second.status_code == 200
    assert second.headers["etag"] != first.headers["etag"]
    assert last_modified(second) > last_modified(first)
    assert client.get(city_path(world.kostroma), headers={
        "If-Modified-Since": first.headers["last-modified"]}).status_code == 200


def test_a_change_subscribers_cannot_see_keeps_the_feed_as_it_was(client, world, choir, admin):
    first = get_feed(client, city_path(world.kostroma))
    with later(10):
        # Any change to a city changes every feed's fingerprint (feeds show city
        # names); a population does not show, so the bytes and their date stay.
        assert client.patch(f"/api/v1/cities/{world.mary.id}", json={"population": 167_000},
                            headers=admin).status_code == 200
        second = get_feed(client, city_path(world.kostroma))
    assert second.content == first.content
    assert second.headers["etag"] == first.headers["etag"]
    assert second.headers["last-modified"] == first.headers["last-modified"]


@pytest.mark.parametrize("change", ["private", "unguest", "cancel", "new event", "rename city"])
def test_last_modified_moves_forward_when_content_changes(
    client, world, make_event, admin, change
):
    """Deletions too: an event that leaves the feed leaves no row to date the change by."""
    kept = make_event(world.kassel, [world.kostroma], title="Kept")
    moving = make_event(world.kassel, [world.kostroma, world.mary], title="Moving")
    first = get_feed(client, city_path(world.kostroma))
    tag = client.get(f"/api/v1/events/{moving.id}").headers["etag"]
    with later(10):
        if change == "private":
            response = client.patch(f"/api/v1/events/{moving.id}", json={"visibility": "private"},
                                    headers={**admin, "If-Match": tag})
        elif change == "unguest":
            response = client.patch(f"/api/v1/events/{moving.id}",
                                    json={"guest_city_ids": [world.mary.id]},
                                    headers={**admin, "If-Match": tag})
        elif change == "cancel":
            response = client.post(f"/api/v1/events/{moving.id}/cancel", headers=admin,
                                   json={"reason": "storm"})
        elif change == "new event":
            make_event(world.kassel, [world.kostroma], title="Newcomer")
            response = None
        else:
            response = client.patch(f"/api/v1/cities/{world.kassel.id}", headers=admin,
                                    json={"name": "Kassel an der Fulda"})
        assert response is None or response.status_code == 200, response.text
        second = client.get(city_path(world.kostroma),
                            headers={"If-Modified-Since": first.headers["last-modified"]})
    assert second.status_code == 200
    assert second.headers["etag"] != first.headers["etag"]
    assert last_modified(second) > last_modified(first)
    assert f"twinplan-event-{kept.id}@" in second.text


def test_feed_state_is_shared_so_a_fresh_worker_answers_304_without_building(
    client, world, choir, request
):
    """A worker that never built this feed (empty caches) still knows its ETag."""
    first = get_feed(client, city_path(world.kostroma))
    request.getfixturevalue("no_building")  # also empties every cache
    assert client.get(city_path(world.kostroma), headers={
        "If-None-Match": first.headers["etag"]}).status_code == 304


def test_one_edit_rebuilds_one_event(client, world, make_event, admin, monkeypatch):
    events = [make_event(world.kostroma, [world.mary], title=f"Event {i}") for i in range(5)]
    get_feed(client, city_path(world.kostroma))
    rendered: list[int] = []
    original = assembly.render.render_event

    def counting(event: Any, *args: Any, **kwargs: Any) -> Any:
        rendered.append(event.id)
        return original(event, *args, **kwargs)

    monkeypatch.setattr(assembly.render, "render_event", counting)
    tag = client.get(f"/api/v1/events/{events[2].id}").headers["etag"]
    assert client.patch(f"/api/v1/events/{events[2].id}", json={"title": "Edited"},
                        headers={**admin, "If-Match": tag}).status_code == 200
    assert "Edited" in get_feed(client, city_path(world.kostroma)).text
    assert rendered == [events[2].id]


def test_merging_changed_events_gives_what_a_full_reading_gives(
    client, world, make_event, admin, kostroma_key, session
):
    """A worker merges the events changed since its last full reading; whatever
    changed, the result must equal reading every member again: for a city, a
    kind, a twinning, and a coordinator's private feed."""
    events = [make_event(world.kassel if i % 2 else world.kostroma,
                         [world.mary] if i % 2 == 0 else [world.kostroma, world.mary],
                         title=f"Event {i}", kind="sports" if i % 3 else "culture")
              for i in range(8)]
    twinning = find_partnership(session, world.kostroma.id, world.mary.id)
    assert twinning is not None
    created = client.post("/api/v1/feed-tokens", headers=kostroma_key,
                          json={"city_id": world.kostroma.id}).json()
    token = session.get(FeedToken, created["id"])
    specs = {
        city_path(world.kostroma): lambda: membership.city_feed(session, world.kostroma.id),
        city_path(world.mary): lambda: membership.city_feed(session, world.mary.id),
        city_path(world.kostroma) + "?kind=sports":
            lambda: membership.city_feed(session, world.kostroma.id, ["sports"]),
        f"/calendars/partnerships/{twinning.id}.ics":
            lambda: membership.partnership_feed(session, twinning.id),
        created["feed_url"].removeprefix("https://twinplan.test"):
            lambda: membership.token_feed(session, token),
    }
    paths = list(specs)
    for path in paths:
        get_feed(client, path)
    changes = [
        (events[0], {"visibility": "private"}),
        (events[1], {"guest_city_ids": [world.mary.id]}),
        (events[2], {"kind": "culture"}),
        (events[3], {"guest_city_ids": [world.kostroma.id]}),
        (events[4], {"status": "confirmed"}),
    ]
    for event, change in changes:
        tag = client.get(f"/api/v1/events/{event.id}", headers=admin).headers["etag"]
        assert client.patch(f"/api/v1/events/{event.id}", json=change,
                            headers={**admin, "If-Match": tag}).status_code == 200
    assert client.post(f"/api/v1/events/{events[5].id}/cancel", headers=admin,
                       json={"reason": "rain"}).status_code == 200
    make_event(world.mary, [world.kostroma], title="Newcomer", kind="sports")
    now = datetime.now(UTC)
    merged = {}
    for path in paths:
        merged[path] = get_feed(client, path).content
        spec = specs[path]()
        assert spec.make_member_rule is not None
        cached = assembly._feed_bytes.get(spec.key)
        assert cached is not None and cached.snapshot.base_read_at < now  # it did merge
        full = state.full_snapshot(session, spec, state.read_stamp_and_state(session, spec)[0], now)
        assert cached.snapshot.members == full.members
    assembly.clear_caches()
    for path in paths:
        assert get_feed(client, path).content == merged[path]


def test_a_served_feed_answers_without_reading_its_members(client, world, choir, monkeypatch):
    """At once: no window to wait out after the last write."""
    first = get_feed(client, city_path(world.kostroma))

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("the members were read")

    monkeypatch.setattr(assembly, "full_snapshot", refuse)
    monkeypatch.setattr(assembly, "merged_snapshot", refuse)
    assert client.get(city_path(world.kostroma), headers={
        "If-None-Match": first.headers["etag"]}).status_code == 304
    assert get_feed(client, city_path(world.kostroma)).content == first.content
    assert client.head(city_path(world.kostroma)).status_code == 200


def test_a_change_no_counter_saw_shows_within_the_recheck_interval(
    client, world, choir, session
):
    """A row deleted by hand moves no feed version; the periodic full reading still
    finds it."""
    from sqlalchemy import text

    first = get_feed(client, city_path(world.mary))
    assert f"twinplan-event-{choir.id}@" in first.text
    with later(2):
        get_feed(client, city_path(world.mary))
    session.execute(text("DELETE FROM event_guest WHERE event_id = :e AND city_id = :c"),
                    {"e": choir.id, "c": world.mary.id})
    session.commit()
    with later(3):
        assert get_feed(client, city_path(world.mary)).content == first.content
    with later(2 + state.RECHECK.seconds // 60 + 1):
        again = get_feed(client, city_path(world.mary))
    assert f"twinplan-event-{choir.id}@" not in again.text
    assert last_modified(again) > last_modified(first)


@pytest.mark.parametrize("chunk", [2, 3, 1000])
def test_feeds_read_in_chunks_or_by_their_own_query_are_the_same(
    client, world, make_event, monkeypatch, chunk
):
    """A feed built from nothing reads its events by its own query when they are many,
    by id in chunks otherwise; the bytes are the same."""
    for i in range(7):
        make_event(world.kostroma if i % 2 else world.kassel,
                   [world.mary] if i % 2 else [world.kostroma], title=f"Event {i}")
    expected = get_feed(client, city_path(world.kostroma)).content
    assembly.clear_caches()
    monkeypatch.setattr(assembly, "_IN_CHUNK", chunk)
    assert get_feed(client, city_path(world.kostroma)).content == expected
    assembly.clear_caches()
    assert client.get(city_path(world.kostroma) + "?kind=delegation_visit").content.count(
        b"BEGIN:VEVENT") == 7
