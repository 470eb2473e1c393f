"""A city's host families in the console: its coordinator adds one, a mistake is
shown beside its field, one hosting nobody is removed; other cities' coordinators
are not offered the page."""

from __future__ import annotations

from itertools import count

from playwright.sync_api import expect

from tests.console.conftest import PHONE

_serial = count(1)


def test_a_coordinator_adds_and_removes_host_families(console, world):
    n = next(_serial)
    volgograd = world.city_ids["Volgograd"]
    tab = console("volgograd")
    page = tab.goto(f"/console/cities/{volgograd}")
    page.get_by_role("link", name="Host families").click()
    tab.settled()
    expect(page.get_by_role("heading", level=1)).to_have_text("Host families of Volgograd")

    form = page.get_by_role("form", name="Add a host family")
    form.get_by_label("Household", exact=True).fill(f"Kuznetsov family {n}")
    form.get_by_label("Guests they take").fill("2")
    form.get_by_label("Languages at home").fill("ru, en")
    form.get_by_label("Pets at home").check()
    form.get_by_label("Vegetarian").check()
    form.get_by_label("Email").fill("not an address")
    form.get_by_role("button", name="Add the family").click()
    expect(form.locator("[data-field=email] .field-error")).to_be_visible()
    tab.expect_problem(422)

    form.get_by_label("Email").fill("kuznetsovs@example.ru")
    form.get_by_role("button", name="Add the family").click()
    expect(page.locator(".notice")).to_have_text(f"Kuznetsov family {n} is added.")
    family = page.locator(".family").filter(has_text=f"Kuznetsov family {n}")
    expect(family).to_contain_text("up to 2 guests · English, Russian · pets at home · Vegetarian")
    expect(family).to_contain_text("kuznetsovs@example.ru")
    tab.snap("city-families")
    tab.axe()

    page.once("dialog", lambda dialog: dialog.accept())
    family.get_by_role("button", name=f"Remove Kuznetsov family {n}").click()
    expect(page.locator(".notice")).to_have_text(f"Kuznetsov family {n} is removed.")
    expect(page.locator(".family").filter(has_text=f"Kuznetsov family {n}")).to_have_count(0)

    other = console("coventry")
    page = other.goto(f"/console/cities/{volgograd}")
    expect(page.get_by_role("link", name="Host families")).to_have_count(0)


def test_host_families_on_a_phone_in_russian(console, world):
    volgograd = world.city_ids["Volgograd"]
    client = world.api("volgograd")
    r = client.post(f"/api/v1/cities/{volgograd}/host-families", json={
        "household_name": f"Семья Орловых {next(_serial)}", "places": 3, "languages": ["ru"],
        "smoking": True})
    assert r.status_code == 201, r.text
    with world.speaking("volgograd", "ru"):
        tab = console("volgograd", viewport=PHONE, locale="ru-RU")
        page = tab.goto(f"/console/cities/{volgograd}/families")
        expect(page.locator(".family").filter(has_text="Семья Орловых")).to_contain_text(
            "до 3 гостей · русский · курят дома")
        tab.no_overflow()
        tab.snap("city-families-ru")
        tab.axe()
