"""An event's papers in the console: the delegation list and each guest's visa
invitation and (for a minor) consent form, downloaded as the browser would."""

from __future__ import annotations

from itertools import count

from playwright.sync_api import expect

from tests.console.conftest import PHONE

_serial = count(1)


def exchange_with_guests(world):
    """Volgograd hosts Coventry: an adult and a minor of Coventry, and one of
    Volgograd's own (who needs no papers to come)."""
    event = world.event("volgograd", title=f"Coventry school visit {next(_serial)}",
                        starts_at="2027-06-14T09:00", ends_at="2027-06-18T17:00")
    for who, city, name, birth, role, guardian in (
            ("coventry", "Coventry", "Emily Carter", "1985-02-02", "chaperone", None),
            ("coventry", "Coventry", "Oliver Brown", "2013-04-04", "student", "Grace Brown"),
            ("volgograd", "Volgograd", "Анна Иванова", "1990-01-01", "delegate", None)):
        client = world.api(who)
        person = client.post("/api/v1/participants", json={
            "full_name": name, "home_city_id": world.city_ids[city], "birth_date": birth,
            "guardian_name": guardian, "passport_number": "X1234567",
            "passport_expiry": "2031-01-01"})
        assert person.status_code == 201, person.text
        reg = client.post(f"/api/v1/events/{event['id']}/registrations",
                          json={"participant_id": person.json()["id"], "role": role})
        assert reg.status_code == 201, reg.text
    return event


def test_the_host_downloads_each_guests_papers(console, world):
    event = exchange_with_guests(world)
    tab = console("volgograd")
    page = tab.goto(f"/console/events/{event['id']}")
    page.get_by_role("link", name="Papers").click()
    tab.settled()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Papers: {event['title']}")
    rows = page.get_by_role("region", name="Guests' papers").locator("tbody tr")
    expect(rows).to_have_count(2)  # the host's own person needs none
    expect(rows.nth(0)).to_contain_text("Emily Carter")
    expect(rows.nth(0)).to_contain_text("No consent form: an adult")
    minor = rows.nth(1)
    expect(minor).to_contain_text("Oliver Brown")
    for link in (minor.get_by_role("link", name="Invitation (PDF): Oliver Brown"),
                 minor.get_by_role("link", name="Consent form (PDF): Oliver Brown"),
                 page.get_by_role("link", name="Delegation list (PDF)")):
        response = page.request.get(world.base + link.get_attribute("href"))
        assert response.status == 200, response.text()
        assert response.headers["content-type"] == "application/pdf"
        assert response.body().startswith(b"%PDF-")
    csv = page.request.get(world.base + page.get_by_role("link", name="Delegation list (CSV)")
                           .get_attribute("href"))
    assert csv.status == 200 and "Oliver Brown" in csv.text() and "Анна" not in csv.text()
    tab.snap("event-papers")
    tab.axe()


def test_a_guest_city_gets_its_own_papers_on_a_phone_in_russian(console, world):
    event = exchange_with_guests(world)
    with world.speaking("coventry", "ru"):
        tab = console("coventry", viewport=PHONE, locale="ru-RU")
        page = tab.goto(f"/console/events/{event['id']}/papers")
        rows = page.get_by_role("region", name="Документы гостей").locator("tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.nth(1)).to_contain_text("Форма согласия (PDF)")
        tab.no_overflow()
        tab.snap("event-papers-ru")
        tab.axe()
