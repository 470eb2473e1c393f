"""GET /api/v1/cities/{id}/twin-cities-day: which twinnings have something planned."""

from __future__ import annotations

from app.cities.models import PartnershipStatus
from app.core.actors import Role
from tests.conftest import assert_problem


def test_planning_view(client, make_city, make_partnership, make_event, make_key):
    kostroma = make_city("Kostroma")
    mary = make_city("Mary", "TM")
    oryol = make_city("Oryol")
    kassel = make_city("Kassel", "DE")
    tashkent = make_city("Tashkent", "UZ", timezone="Asia/Tashkent")
    ankara = make_city("Ankara", "TR")
    make_partnership(kostroma, mary, established_on="2017-11-03")
    make_partnership(kostroma, oryol)
    make_partnership(kostroma, kassel)
    make_partnership(kostroma, tashkent)
    make_partnership(kostroma, ankara, status=PartnershipStatus.proposed)
    # 2027's day is Sunday 25 April. Oryol hosts Kostroma the day before.
    make_event(oryol, [kostroma], title="Youth football cup", starts_at="2027-04-24T10:00",
               ends_at="2027-04-24T18:00")
    # Tashkent's exhibition is a month later: outside the window.
    make_event(kostroma, [tashkent], title="Exhibition", starts_at="2027-05-25T10:00",
               ends_at="2027-05-26T18:00")
    # Mary's is private to Kostroma.
    make_event(kostroma, [mary], title="Closed seminar", starts_at="2027-04-26T10:00",
               ends_at="2027-04-26T12:00", visibility="private")

    anonymous = client.get(f"/api/v1/cities/{kostroma.id}/twin-cities-day",
                           params={"year": 2027}).json()
    assert anonymous["date"] == "2027-04-25"
    assert (anonymous["window_from"], anonymous["window_to"]) == ("2027-04-18", "2027-05-02")
    assert [p["partner_name"] for p in anonymous["with_event"]] == ["Oryol"]
    assert [e["title"] for e in anonymous["with_event"][0]["events"]] == ["Youth football cup"]
    assert anonymous["with_event"][0]["events"][0]["starts_at"] == "2027-04-24T10:00:00+03:00"
    assert [p["partner_name"] for p in anonymous["without_event"]] == [
        "Kassel", "Mary", "Tashkent"]  # Ankara's twinning is only proposed

    coordinator = client.get(f"/api/v1/cities/{kostroma.id}/twin-cities-day",
                             params={"year": 2027},
                             headers=make_key(Role.coordinator, kostroma)).json()
    assert [p["partner_name"] for p in coordinator["with_event"]] == ["Mary", "Oryol"]
    assert [p["partner_name"] for p in coordinator["without_event"]] == ["Kassel", "Tashkent"]


def test_cancelled_events_do_not_count(client, make_city, make_partnership, make_event):
    kostroma, kassel = make_city("Kostroma"), make_city("Kassel", "DE")
    make_partnership(kostroma, kassel)
    make_event(kostroma, [kassel], starts_at="2027-04-25T10:00", ends_at="2027-04-25T18:00",
               status="cancelled", cancel_reason="rain")
    body = client.get(f"/api/v1/cities/{kostroma.id}/twin-cities-day",
                      params={"year": 2027}).json()
    assert body["with_event"] == []
    assert [p["partner_name"] for p in body["without_event"]] == ["Kassel"]


def test_window_and_errors(client, make_city, make_partnership, make_event):
    kostroma, oryol = make_city("Kostroma"), make_city("Oryol")
    make_partnership(kostroma, oryol)
    make_event(oryol, [kostroma], starts_at="2027-04-20T10:00", ends_at="2027-04-20T18:00")
    url = f"/api/v1/cities/{kostroma.id}/twin-cities-day"
    assert len(client.get(url, params={"year": 2027}).json()["with_event"]) == 1
    assert client.get(url, params={"year": 2027, "window_days": 2}).json()["with_event"] == []
    assert_problem(client.get(url, params={"year": 1961}), 422, contains="1962")
    assert_problem(client.get(url, params={"window_days": 31}), 422)
    assert_problem(client.get("/api/v1/cities/999999/twin-cities-day"), 404)
