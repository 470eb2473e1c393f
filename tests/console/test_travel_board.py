"""The travel board in the console: the guests' arrivals and departures, grouped by
place and time in local time, who meets them, and who has no travel recorded."""

from __future__ import annotations

import re
from itertools import count

from playwright.sync_api import expect

from tests.console.conftest import PHONE

_serial = count(1)


def exchange_with_travel(world):
    """Volgograd hosts Coventry; three of Coventry's people, two flying in together
    (met by the city hall's bus), one of them leaving by train, the third with no
    travel at all."""
    event = world.event("volgograd", title=f"Coventry choir visit {next(_serial)}",
                        kind="culture", starts_at="2027-06-14T09:00",
                        ends_at="2027-06-18T17:00")
    coventry = world.api("coventry")
    ids = {}
    for name in ("Emily Carter", "Jack Wilson", "Oliver Brown"):
        person = coventry.post("/api/v1/participants", json={
            "full_name": name, "home_city_id": world.city_ids["Coventry"],
            "birth_date": "1985-02-02", "email": f"{name.split()[0].lower()}@coventry.example"})
        assert person.status_code == 201, person.text
        ids[name] = person.json()["id"]
        reg = coventry.post(f"/api/v1/events/{event['id']}/registrations",
                            json={"participant_id": ids[name], "role": "artist"})
        assert reg.status_code == 201, reg.text
    for journey in (
        {"direction": "arrival", "mode": "plane", "carrier": "Aeroflot", "number": "SU 1141",
         "from_place": "Moscow Sheremetyevo", "from_code": "SVO",
         "to_place": "Volgograd Airport", "to_code": "VOG", "at": "2027-06-13T14:30",
         "met_by": "Bus from the city hall",
         "traveller_ids": [ids["Emily Carter"], ids["Jack Wilson"]]},
        {"direction": "departure", "mode": "train", "number": "001Ж",
         "from_place": "Volgograd-1", "to_place": "Moscow Paveletsky",
         "at": "2027-06-19T08:05", "traveller_ids": [ids["Emily Carter"]]},
    ):
        r = coventry.post(f"/api/v1/events/{event['id']}/journeys", json=journey)
        assert r.status_code == 201, r.text
    return event


def test_the_host_sees_who_arrives_who_meets_them_and_who_has_no_travel(console, world):
    event = exchange_with_travel(world)
    tab = console("volgograd")
    page = tab.goto(f"/console/events/{event['id']}")
    page.get_by_role("link", name="Travel board").click()
    tab.settled()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Travel: {event['title']}")

    arrivals = page.get_by_role("region", name="Arrivals")
    group = arrivals.locator(".travel-group")
    expect(group).to_have_count(1)
    expect(group.get_by_role("heading")).to_contain_text("Volgograd Airport (VOG)")
    expect(group.get_by_role("heading")).to_contain_text("13 Jun 2027, 14:30")  # at the airport
    expect(group).to_contain_text("2 people")
    expect(group).to_contain_text("met by Bus from the city hall")
    expect(group).to_contain_text(
        "Coventry — Flight Aeroflot SU 1141, Moscow Sheremetyevo → Volgograd Airport: "
        "Emily Carter, Jack Wilson")

    departures = page.get_by_role("region", name="Departures")
    expect(departures).to_contain_text("Nobody sees them off")
    expect(departures).to_contain_text("Train 001Ж, Volgograd-1 → Moscow Paveletsky: Emily Carter")

    missing = page.get_by_role("region", name="No travel recorded")
    rows = missing.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Jack Wilson")).to_contain_text("departure")
    expect(rows.filter(has_text="Oliver Brown")).to_contain_text("arrival, departure")
    expect(page.get_by_role("link", name="Download CSV")).to_have_attribute(
        "href", f"/api/v1/events/{event['id']}/travel-board.csv")
    tab.snap("event-travel-board")
    tab.axe()

    # The event moves three days earlier: the flight now lands after it has begun,
    # and the train leaves as planned, after the end.
    api = world.api("volgograd")
    etag = api.get(f"/api/v1/events/{event['id']}").headers["ETag"]
    r = api.patch(f"/api/v1/events/{event['id']}", headers={"If-Match": etag},
                  json={"starts_at": "2027-06-11T09:00", "ends_at": "2027-06-15T17:00"})
    assert r.status_code == 200, r.text
    page = tab.goto(f"/console/events/{event['id']}/travel")
    expect(page.get_by_role("region", name="Arrivals")).to_contain_text(
        "Arrives after the event starts")
    expect(page.get_by_role("region", name="Departures")).not_to_contain_text("Leaves before")


def test_the_travel_board_on_a_phone_in_russian(console, world):
    event = exchange_with_travel(world)
    with world.speaking("coventry", "ru"):
        tab = console("coventry", viewport=PHONE, locale="ru-RU")
        page = tab.goto(f"/console/events/{event['id']}/travel")
        expect(page.get_by_role("heading", name="Прибытие")).to_be_visible()
        expect(page.locator(".travel-group").first).to_contain_text("2 человека")
        expect(page.get_by_role("region", name="Отъезд")).to_contain_text("Никто не провожает")
        expect(page.get_by_role("region", name="Поездка не записана").locator("tbody tr")
               ).to_have_count(2)
        tab.no_overflow()
        tab.snap("event-travel-board-ru")
        tab.axe()


def test_a_guest_city_records_and_deletes_its_peoples_journeys(console, world):
    event = exchange_with_travel(world)
    tab = console("coventry")
    page = tab.goto(f"/console/events/{event['id']}/travel")
    form = page.get_by_role("form", name="Record a journey")
    form.get_by_label("Way").select_option(label="arrival")
    form.get_by_label("By", exact=True).select_option(label="Train")
    form.get_by_label("Flight or train number").fill("016Ж")
    form.get_by_label("From", exact=True).fill("Moscow Paveletsky")
    form.get_by_label("To", exact=True).fill("Volgograd-1")
    form.get_by_label("When (local time)").fill("2027-06-13T09:10")
    form.get_by_label("Met or seen off by").fill("Elena Sokolova")
    form.get_by_label("Oliver Brown").check()
    form.get_by_role("button", name="Record the journey").click()
    expect(page.locator(".notice")).to_have_text("The journey is recorded.")
    arrivals = page.get_by_role("region", name="Arrivals")
    expect(arrivals.locator(".travel-group")).to_have_count(2)
    expect(arrivals).to_contain_text("Train 016Ж, Moscow Paveletsky → Volgograd-1: Oliver Brown")
    missing = page.get_by_role("region", name="No travel recorded").locator("tbody tr")
    expect(missing.filter(has_text="Oliver Brown")).to_contain_text("departure")
    expect(missing.filter(has_text="Oliver Brown")).not_to_contain_text("arrival")

    # The train is late: its time is changed in place, the rest kept.
    arrivals.get_by_role("button", name=re.compile(r"^Change Train 016Ж")).click()
    edit = page.get_by_role("form", name=re.compile(r"^Change Train 016Ж"))
    expect(edit.get_by_label("From", exact=True)).to_have_value("Moscow Paveletsky")
    expect(edit.get_by_label("Oliver Brown")).to_be_checked()
    expect(edit.get_by_label("When (local time)")).to_have_value("2027-06-13T09:10")
    edit.get_by_label("When (local time)").fill("2027-06-13T10:40")
    edit.get_by_role("button", name="Save the changes").click()
    expect(page.locator(".notice")).to_have_text("The journey is changed.")
    expect(arrivals.locator(".travel-group").filter(has_text="Volgograd-1")
           .get_by_role("heading")).to_contain_text("13 Jun 2027, 10:40")

    # Emily has an arrival already: refused, and said in the form.
    form = page.get_by_role("form", name="Record a journey")
    form.get_by_label("From", exact=True).fill("Moscow Sheremetyevo")
    form.get_by_label("To", exact=True).fill("Volgograd Airport")
    form.get_by_label("When (local time)").fill("2027-06-13T20:00")
    form.get_by_label("Emily Carter").check()
    form.get_by_role("button", name="Record the journey").click()
    expect(form.locator(".form-problem")).to_contain_text("already has an arrival")
    tab.expect_problem(409)

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=re.compile(r"^Delete Train 001Ж")).click()
    expect(page.locator(".notice")).to_have_text("The journey is deleted.")
    expect(page.get_by_role("region", name="Departures")).to_contain_text(
        "No departures recorded yet.")
    tab.snap("event-travel-record")
    tab.axe()
