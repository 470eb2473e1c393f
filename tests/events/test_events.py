"""Events: guests and partnerships, roles, visibility, statuses, ETags and sequence."""

from __future__ import annotations

import pytest

from app.cities.models import PartnershipStatus
from app.core.actors import Role
from tests.conftest import assert_problem
from tests.factories import event_body


def create(client, key, body):
    return client.post("/api/v1/events", json=body, headers=key)


def patch(client, key, event_id, body, etag):
    headers = dict(key)
    if etag is not None:
        headers["If-Match"] = etag
    return client.patch(f"/api/v1/events/{event_id}", json=body, headers=headers)


def read(client, event_id, key=None):
    return client.get(f"/api/v1/events/{event_id}", headers=key or {})


# Create and read ---------------------------------------------------------------


def test_create_and_read_an_event(client, kassel_key, kassel, mary, oryol):
    body = event_body(kassel, [oryol, mary, mary], kind="youth_exchange", venue="Rathaus",
                      capacity=40, chaperone_ratio=8, description="Choir and football")
    r = create(client, kassel_key, body)
    assert r.status_code == 201, r.text
    e = r.json()
    assert r.headers["Location"] == f"/api/v1/events/{e['id']}"
    assert r.headers["ETag"] == f'"{e["id"]}-1"'
    assert e["guest_city_ids"] == sorted([mary.id, oryol.id])  # duplicates collapse
    assert (e["kind"], e["venue"], e["capacity"], e["chaperone_ratio"]) == (
        "youth_exchange", "Rathaus", 40, 8)
    assert (e["status"], e["visibility"], e["sequence"], e["version"]) == (
        "draft", "public", 0, 1)
    assert e["cancelled_at"] is None

    got = read(client, e["id"])
    assert got.status_code == 200
    assert got.json() == e
    assert got.headers["ETag"] == r.headers["ETag"]


def test_chaperone_ratio_defaults_to_ten(make_event, kassel, mary):
    assert make_event(kassel, [mary]).chaperone_ratio == 10


def test_unknown_event_is_404_problem(client):
    assert_problem(read(client, 999_999), 404, contains="does not exist")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "picnic"}, "kind"),
        ({"title": ""}, "title"),
        ({"guest_city_ids": []}, "guest_city_ids"),
        ({"capacity": -1}, "capacity"),
        ({"chaperone_ratio": 0}, "chaperone_ratio"),
        ({"visibility": "secret"}, "visibility"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"starts_at": "tomorrow"}, "starts_at"),
        # A number is not a time, though Pydantic would read seconds after 1970.
        ({"starts_at": 1800000000}, "starts_at"),
        ({"ends_at": "1800003600"}, "ends_at"),
        ({"all_day": True, "starts_at": None, "ends_at": None, "start_date": 0}, "start_date"),
    ],
)
def test_invalid_fields_are_named(client, kassel_key, kassel, mary, fields, field):
    problem = assert_problem(create(client, kassel_key, event_body(kassel, [mary], **fields)),
                             422)
    assert any(field in e["loc"] for e in problem["errors"]), problem


@pytest.mark.parametrize("status", ["cancelled", "completed"])
def test_cannot_be_created_cancelled_or_completed(client, kassel_key, kassel, mary, status):
    body = event_body(kassel, [mary], status=status)
    assert_problem(create(client, kassel_key, body), 422, contains="cannot be created")


# Guests and partnerships ---------------------------------------------------------


def test_guest_without_partnership_is_422_naming_the_pair(client, kassel_key, kassel, mary,
                                                          tokyo):
    problem = assert_problem(create(client, kassel_key, event_body(kassel, [mary, tokyo])), 422,
                             contains="no partnership")
    assert "Kassel" in problem["detail"] and "Tokyo" in problem["detail"]
    assert problem["city_ids"] == [kassel.id, tokyo.id]
    assert problem["errors"][0]["loc"] == ["body", "guest_city_ids"]


@pytest.mark.parametrize("status", [PartnershipStatus.ended, PartnershipStatus.suspended])
def test_guest_with_ended_or_suspended_partnership_is_422(
    client, kassel_key, kassel, make_city, make_partnership, status
):
    guest = make_city("Ostrava", "CZ")
    make_partnership(kassel, guest, status=status)
    problem = assert_problem(create(client, kassel_key, event_body(kassel, [guest])), 422,
                             contains=str(status))
    assert "Kassel" in problem["detail"] and "Ostrava" in problem["detail"]


@pytest.mark.parametrize("status", [PartnershipStatus.proposed, PartnershipStatus.negotiating])
def test_proposed_or_negotiating_partnership_is_enough(
    client, kassel_key, kassel, make_city, make_partnership, status
):
    guest = make_city("Ostrava", "CZ")
    make_partnership(kassel, guest, status=status)
    assert create(client, kassel_key, event_body(kassel, [guest])).status_code == 201


def test_host_cannot_be_its_own_guest(client, kassel_key, kassel, mary):
    assert_problem(create(client, kassel_key, event_body(kassel, [mary, kassel])), 422,
                   contains="cannot also be a guest")


def test_unknown_guest_or_host_is_422(client, admin, kassel, mary):
    assert_problem(create(client, admin, event_body(kassel, [mary], guest_city_ids=[98765])),
                   422, contains="guest city 98765 does not exist")
    assert_problem(create(client, admin, event_body(kassel, [mary], host_city_id=98765)),
                   422, contains="host city 98765 does not exist")


def test_changing_guests_checks_only_new_ones(
    client, session, kassel_key, admin, kassel, mary, oryol, tokyo
):
    e = create(client, kassel_key, event_body(kassel, [mary, oryol])).json()
    # Mary's twinning is suspended after the event was planned; editing still works.
    p = client.get("/api/v1/partnerships", params={"city_id": mary.id}).json()["items"][0]
    client.patch(f"/api/v1/partnerships/{p['id']}", json={"status": "suspended"}, headers=admin)
    r = patch(client, kassel_key, e["id"], {"guest_city_ids": [mary.id]}, f'"{e["id"]}-1"')
    assert r.status_code == 200, r.text
    assert r.json()["guest_city_ids"] == [mary.id]
    assert r.json()["version"] == 2
    problem = assert_problem(
        patch(client, kassel_key, e["id"], {"guest_city_ids": [mary.id, tokyo.id]},
              r.headers["ETag"]),
        422, contains="no partnership",
    )
    assert "Tokyo" in problem["detail"]


# Roles -------------------------------------------------------------------------------


def test_only_host_coordinator_or_admin_creates(client, make_key, kassel, mary, admin):
    body = event_body(kassel, [mary])
    assert_problem(client.post("/api/v1/events", json=body), 401)
    assert_problem(create(client, make_key(Role.coordinator, mary), body), 403)
    assert_problem(create(client, make_key(Role.partner, kassel), body), 403)
    assert create(client, admin, body).status_code == 201
    assert create(client, make_key(Role.coordinator, kassel), body).status_code == 201


def test_only_host_coordinator_or_admin_edits_and_cancels(
    client, make_key, kassel_key, admin, kassel, mary
):
    e = create(client, kassel_key, event_body(kassel, [mary])).json()
    tag = f'"{e["id"]}-1"'
    for key in (make_key(Role.coordinator, mary), make_key(Role.partner, kassel)):
        assert_problem(patch(client, key, e["id"], {"title": "Mine"}, tag), 403)
        assert_problem(client.post(f"/api/v1/events/{e['id']}/cancel",
                                   json={"reason": "no"}, headers=key), 403)
    assert_problem(client.patch(f"/api/v1/events/{e['id']}", json={"title": "x"},
                                headers={"If-Match": tag}), 401)
    assert patch(client, admin, e["id"], {"title": "Admin's"}, tag).status_code == 200


# Visibility ----------------------------------------------------------------------------


@pytest.fixture
def callers(make_key, make_city, make_partnership, kassel, mary, oryol):
    outsider = make_city("Bamako", "ML")
    make_partnership(outsider, mary)
    return {
        "anonymous": {},
        "admin": make_key(Role.admin),
        "host coordinator": make_key(Role.coordinator, kassel),
        "host partner key": make_key(Role.partner, kassel),
        "guest coordinator": make_key(Role.coordinator, mary),
        "guest partner key": make_key(Role.partner, mary),
        "other city": make_key(Role.coordinator, outsider),
        "host's other twin": make_key(Role.coordinator, oryol),
    }


SEES = {
    "public": {"anonymous", "admin", "host coordinator", "host partner key",
               "guest coordinator", "guest partner key", "other city", "host's other twin"},
    "partners": {"admin", "host coordinator", "host partner key", "guest coordinator",
                 "guest partner key"},
    "private": {"admin", "host coordinator", "host partner key"},
}


@pytest.mark.parametrize("visibility", ["public", "partners", "private"])
def test_visibility_of_one_event_and_in_lists(
    client, make_event, callers, kassel, mary, visibility
):
    event = make_event(kassel, [mary], visibility=visibility)
    for who, key in callers.items():
        r = read(client, event.id, key)
        listed = client.get("/api/v1/events", headers=key).json()["items"]
        if who in SEES[visibility]:
            assert r.status_code == 200, (who, r.text)
            assert [e["id"] for e in listed] == [event.id], who
        else:
            # Hidden events do not leak: the same 404 as a missing one.
            assert_problem(r, 404, contains=f"event {event.id} does not exist")
            assert listed == [], who


def test_hidden_event_is_404_for_writes_too(client, make_event, make_key, kassel, mary, oryol):
    event = make_event(kassel, [mary], visibility="private")
    key = make_key(Role.coordinator, oryol)
    assert_problem(patch(client, key, event.id, {"title": "x"}, f'"{event.id}-1"'), 404)
    assert_problem(client.post(f"/api/v1/events/{event.id}/cancel", json={"reason": "x"},
                               headers=key), 404)


# ETag and If-Match ------------------------------------------------------------------------


def test_patch_without_if_match_is_428(client, kassel_key, kassel, mary):
    e = create(client, kassel_key, event_body(kassel, [mary])).json()
    problem = assert_problem(patch(client, kassel_key, e["id"], {"title": "New"}, None), 428,
                             contains="If-Match")
    assert problem["type"].endswith("precondition-required")


def test_stale_if_match_is_412_and_nothing_changes(client, kassel_key, kassel, mary):
    e = create(client, kassel_key, event_body(kassel, [mary])).json()
    first = read(client, e["id"]).headers["ETag"]
    # Two coordinators read version 1; the first one's change wins ...
    r = patch(client, kassel_key, e["id"], {"title": "Visit of the mayor"}, first)
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == f'"{e["id"]}-2"' != first
    # ... and the second, still holding version 1, is told so instead of overwriting it.
    problem = assert_problem(
        patch(client, kassel_key, e["id"], {"title": "Visit of the choir"}, first), 412,
        contains="changed since you read it",
    )
    assert problem["current_etag"] == r.headers["ETag"]
    assert read(client, e["id"]).json()["title"] == "Visit of the mayor"


@pytest.mark.parametrize("form", ["{tag}", "W/{tag}", '"x", {tag}', "*"])
def test_if_match_forms_that_match(client, kassel_key, kassel, mary, form):
    e = create(client, kassel_key, event_body(kassel, [mary])).json()
    tag = read(client, e["id"]).headers["ETag"]
    r = patch(client, kassel_key, e["id"], {"venue": "Town hall"}, form.format(tag=tag))
    assert r.status_code == 200, r.text


def test_patch_that_changes_nothing_keeps_the_etag(client, kassel_key, kassel, mary):
    e = create(client, kassel_key, event_body(kassel, [mary])).json()
    tag = read(client, e["id"]).headers["ETag"]
    r = patch(client, kassel_key, e["id"], {"title": e["title"], "starts_at": "2027-05-20T10:00"},
              tag)
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == tag
    assert (r.json()["version"], r.json()["sequence"]) == (1, 0)


def test_cancel_checks_if_match_when_sent(client, kassel_key, kassel, mary):
    e = create(client, kassel_key, event_body(kassel, [mary])).json()
    r = client.post(f"/api/v1/events/{e['id']}/cancel", json={"reason": "storm"},
                    headers={**kassel_key, "If-Match": '"0-0"'})
    assert_problem(r, 412)


# Sequence and updates ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "bumps"),
    [
        ({"title": "Renamed"}, True),
        ({"venue": "Stadium"}, True),
        ({"description": "Bring boots"}, True),
        ({"starts_at": "2027-05-20T11:00"}, True),
        ({"ends_at": "2027-05-22T19:00"}, True),
        ({"timezone": "Asia/Ashgabat"}, True),
        ({"status": "planned"}, True),
        ({"all_day": True, "start_date": "2027-05-20", "end_date": "2027-05-22"}, True),
        ({"capacity": 12}, False),
        ({"visibility": "partners"}, False),
        ({"chaperone_ratio": 5}, False),
        ({"registration_deadline": "2027-05-01T12:00"}, False),
        ({"kind": "sports"}, False),
    ],
)
def test_sequence_bumps_on_changes_subscribers_see(
    client, kassel_key, kassel, mary, change, bumps
):
    e = create(client, kassel_key, event_body(kassel, [mary])).json()
    r = patch(client, kassel_key, e["id"], change, f'"{e["id"]}-1"')
    assert r.status_code == 200, r.text
    after = r.json()
    assert after["sequence"] == (1 if bumps else 0), change
    assert after["version"] == 2
    assert after["updated_at"] >= e["updated_at"]


def test_timezone_change_keeps_wall_clock(client, kassel_key, kassel, mary):
    e = create(client, kassel_key, event_body(kassel, [mary])).json()
    r = patch(client, kassel_key, e["id"], {"timezone": "Asia/Ashgabat"}, f'"{e["id"]}-1"')
    assert r.json()["starts_at"] == "2027-05-20T10:00:00+05:00"
    assert r.json()["ends_at"] == "2027-05-22T18:00:00+05:00"


def test_moving_only_the_end_keeps_an_ambiguous_start(client, kassel_key, kassel, mary):
    body = event_body(kassel, [mary], starts_at="2027-10-31T02:30+01:00",
                      ends_at="2027-10-31T04:00")
    e = create(client, kassel_key, body).json()
    r = patch(client, kassel_key, e["id"], {"ends_at": "2027-10-31T05:00"}, f'"{e["id"]}-1"')
    assert r.status_code == 200, r.text
    assert r.json()["starts_at"] == "2027-10-31T02:30:00+01:00"


def test_patch_into_a_dst_gap_is_422(client, kassel_key, kassel, mary):
    e = create(client, kassel_key, event_body(kassel, [mary])).json()
    problem = assert_problem(
        patch(client, kassel_key, e["id"],
              {"starts_at": "2027-03-28T02:30", "ends_at": "2027-03-28T06:00"},
              f'"{e["id"]}-1"'),
        422, contains="does not exist",
    )
    assert problem["errors"][0]["loc"] == ["body", "starts_at"]
    assert read(client, e["id"]).json()["version"] == 1


def test_patch_end_before_start_is_422(client, kassel_key, kassel, mary):
    e = create(client, kassel_key, event_body(kassel, [mary])).json()
    assert_problem(patch(client, kassel_key, e["id"], {"ends_at": "2027-05-19T10:00"},
                         f'"{e["id"]}-1"'), 422, contains="after")


def test_all_day_and_back(client, kassel_key, kassel, mary):
    e = create(client, kassel_key, event_body(kassel, [mary])).json()
    tag = f'"{e["id"]}-1"'
    r = patch(client, kassel_key, e["id"], {"all_day": True, "start_date": "2027-06-01"}, tag)
    assert (r.json()["start_date"], r.json()["end_date"]) == ("2027-06-01", "2027-06-01")
    r = patch(client, kassel_key, e["id"], {"end_date": "2027-06-03"}, r.headers["ETag"])
    assert (r.json()["start_date"], r.json()["end_date"]) == ("2027-06-01", "2027-06-03")
    assert_problem(patch(client, kassel_key, e["id"], {"all_day": False}, r.headers["ETag"]),
                   422, contains="starts_at and ends_at")
    r = patch(client, kassel_key, e["id"], {"all_day": False, "starts_at": "2027-06-01T09:00",
                                            "ends_at": "2027-06-01T17:00"}, r.headers["ETag"])
    assert r.status_code == 200, r.text
    assert (r.json()["all_day"], r.json()["start_date"]) == (False, None)


@pytest.mark.parametrize("field", ["title", "kind", "starts_at", "guest_city_ids", "status"])
def test_required_fields_cannot_be_removed(client, kassel_key, kassel, mary, field):
    e = create(client, kassel_key, event_body(kassel, [mary])).json()
    assert_problem(patch(client, kassel_key, e["id"], {field: None}, f'"{e["id"]}-1"'), 422,
                   contains="cannot be removed")


def test_optional_fields_can_be_cleared(client, kassel_key, kassel, mary):
    body = event_body(kassel, [mary], venue="Rathaus", capacity=5,
                      registration_deadline="2027-05-01T12:00")
    e = create(client, kassel_key, body).json()
    r = patch(client, kassel_key, e["id"],
              {"venue": None, "capacity": None, "registration_deadline": None},
              f'"{e["id"]}-1"')
    assert (r.json()["venue"], r.json()["capacity"], r.json()["registration_deadline"]) == (
        None, None, None)


# Statuses and cancelling --------------------------------------------------------------------


def test_status_moves_forward(client, kassel_key, kassel, mary):
    e = create(client, kassel_key, event_body(kassel, [mary])).json()
    tag = f'"{e["id"]}-1"'
    for status in ("planned", "confirmed", "completed"):
        r = patch(client, kassel_key, e["id"], {"status": status}, tag)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == status
        tag = r.headers["ETag"]
    assert r.json()["sequence"] == 3


@pytest.mark.parametrize(
    ("start", "to"),
    [("planned", "draft"), ("confirmed", "planned"), ("draft", "completed"),
     ("planned", "completed")],
)
def test_status_cannot_go_back_or_skip_to_completed(client, make_event, kassel_key, kassel,
                                                    mary, start, to):
    event = make_event(kassel, [mary], status=start)
    assert_problem(patch(client, kassel_key, event.id, {"status": to}, f'"{event.id}-1"'), 409,
                   contains=f"from {start} to {to}")


def test_status_cancelled_needs_the_cancel_endpoint(client, make_event, kassel_key, kassel,
                                                    mary):
    event = make_event(kassel, [mary])
    assert_problem(patch(client, kassel_key, event.id, {"status": "cancelled"},
                         f'"{event.id}-1"'), 422, contains="/cancel")


@pytest.mark.parametrize("status", ["draft", "planned", "confirmed"])
def test_cancel_keeps_the_record(client, make_event, kassel_key, kassel, mary, status):
    event = make_event(kassel, [mary], status=status)
    r = client.post(f"/api/v1/events/{event.id}/cancel", json={"reason": "Flooded venue"},
                    headers=kassel_key)
    assert r.status_code == 200, r.text
    e = r.json()
    assert (e["status"], e["cancel_reason"], e["sequence"], e["version"]) == (
        "cancelled", "Flooded venue", 1, 2)
    assert e["cancelled_at"] is not None
    assert r.headers["ETag"] == f'"{event.id}-2"'
    again = read(client, event.id).json()
    assert again == e
    listed = client.get("/api/v1/events", params={"status": "cancelled"}).json()["items"]
    assert [x["id"] for x in listed] == [event.id]


def test_cancelling_twice_changes_nothing(client, make_event, kassel_key, kassel, mary):
    event = make_event(kassel, [mary])
    url = f"/api/v1/events/{event.id}/cancel"
    first = client.post(url, json={"reason": "Storm"}, headers=kassel_key).json()
    second = client.post(url, json={"reason": "Other"}, headers=kassel_key)
    assert second.status_code == 200
    assert second.json() == first


def test_completed_event_cannot_be_cancelled(client, make_event, kassel_key, kassel, mary):
    event = make_event(kassel, [mary], status="confirmed")
    patch(client, kassel_key, event.id, {"status": "completed"}, f'"{event.id}-1"')
    assert_problem(client.post(f"/api/v1/events/{event.id}/cancel", json={"reason": "late"},
                               headers=kassel_key), 409, contains="completed")


def test_cancel_needs_a_reason(client, make_event, kassel_key, kassel, mary):
    event = make_event(kassel, [mary])
    for body in ({}, {"reason": ""}):
        assert_problem(client.post(f"/api/v1/events/{event.id}/cancel", json=body,
                                   headers=kassel_key), 422)


@pytest.mark.parametrize("final", ["cancelled", "completed"])
def test_final_events_cannot_be_edited(client, make_event, kassel_key, kassel, mary, final):
    event = make_event(kassel, [mary], status="confirmed")
    if final == "cancelled":
        r = client.post(f"/api/v1/events/{event.id}/cancel", json={"reason": "x"},
                        headers=kassel_key)
    else:
        r = patch(client, kassel_key, event.id, {"status": "completed"}, f'"{event.id}-1"')
    assert_problem(patch(client, kassel_key, event.id, {"title": "Later"}, r.headers["ETag"]),
                   409, contains=final)


# Never a 500 -----------------------------------------------------------------------------


BIG = 2**40


@pytest.mark.parametrize(
    ("method", "url", "params"),
    [
        ("get", f"/api/v1/events/{BIG}", None),
        ("get", "/api/v1/events", {"city_id": BIG}),
        ("get", "/api/v1/events", {"partnership_id": BIG}),
        ("get", "/api/v1/events", {"to": "9999-12-31"}),
        ("get", "/api/v1/events", {"from": "0001-01-01T00:00"}),
    ],
)
def test_out_of_range_reads_are_422(client, method, url, params):
    assert_problem(getattr(client, method)(url, params=params), 422)


@pytest.mark.parametrize(
    "fields",
    [
        {"guest_city_ids": [BIG]},
        {"starts_at": "0001-01-01T00:00", "ends_at": "0001-01-02T00:00"},
        {"starts_at": "9999-12-31T10:00-12:00", "ends_at": "9999-12-31T23:00-12:00"},
        {"starts_at": None, "ends_at": None, "all_day": True, "start_date": "9999-12-31"},
        {"registration_deadline": "0001-01-01T00:00+14:00"},
    ],
)
def test_out_of_range_writes_are_422(client, kassel_key, kassel, mary, fields):
    assert_problem(create(client, kassel_key, event_body(kassel, [mary], **fields)), 422)
