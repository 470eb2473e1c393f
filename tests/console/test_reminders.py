"""A city's reminders in the console: its rules changed (a bad day refused beside
its field), and a coordinator stopping one kind for themself."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.console.conftest import PHONE


def test_a_coordinator_sets_the_citys_rules_and_their_own_reminders(console, world):
    coventry = world.city_ids["Coventry"]
    client = world.api("coventry")
    tab = console("coventry")
    page = tab.goto(f"/console/cities/{coventry}")
    page.get_by_role("link", name="Reminders").click()
    tab.settled()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reminders of Coventry")
    form = page.get_by_role("form", name="When the city's reminders go out")
    expect(form.get_by_label("World Twin Cities Day: days before")).to_have_value("60, 30, 7")

    form.get_by_label("Upcoming exchanges: days before").fill("21, 7, 400")
    form.get_by_role("button", name="Save").click()
    expect(form.locator("[data-field=event_days_before] .field-error")).to_be_visible()
    tab.expect_problem(422)

    form.get_by_label("Upcoming exchanges: days before").fill("21, 7")
    form.get_by_label("At this hour").fill("8")
    form.get_by_label("Also to these addresses").fill("mayor@coventry.example")
    form.get_by_role("button", name="Save").click()
    expect(page.locator(".notice")).to_have_text(
        "The reminders are planned again with these rules.")
    rules = client.get(f"/api/v1/cities/{coventry}/reminder-rules").json()
    assert (rules["event_days_before"], rules["hour"], rules["coordinator_emails"]) == (
        [21, 7], 8, ["mayor@coventry.example"])

    mine = page.get_by_role("region", name="Reminders that reach you")
    anniversaries = mine.get_by_label("A round anniversary of a twinning")
    expect(anniversaries).to_be_checked()
    anniversaries.uncheck()
    expect(page.locator("#live")).to_contain_text("stopped for you")
    assert client.get("/api/v1/me/reminders").json()["anniversary"] is False
    tab.snap("city-reminders")
    tab.axe()
    anniversaries.check()
    expect(page.locator("#live")).to_contain_text("resumed")
    assert client.get("/api/v1/me/reminders").json()["anniversary"] is True


def test_reminders_on_a_phone_in_russian(console, world):
    volgograd = world.city_ids["Volgograd"]
    with world.speaking("volgograd", "ru"):
        tab = console("volgograd", viewport=PHONE, locale="ru-RU")
        page = tab.goto(f"/console/cities/{volgograd}/reminders")
        expect(page.get_by_role("heading", name="Напоминания города Volgograd")).to_be_visible()
        expect(page.get_by_label("Приближение Всемирного дня городов-побратимов")).to_be_checked()
        tab.no_overflow()
        tab.snap("city-reminders-ru")
        tab.axe()
