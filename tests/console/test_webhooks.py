"""A city's webhook endpoints in the console: registered with the secret shown
once, a change queued for it, switched off, a new secret, removed."""

from __future__ import annotations

from itertools import count

from playwright.sync_api import expect

from tests.console.conftest import PHONE

_serial = count(1)


def test_a_coordinator_registers_rotates_and_removes_an_endpoint(console, world):
    n = next(_serial)
    volgograd = world.city_ids["Volgograd"]
    url = f"https://partner-{n}.volgograd.example/twinplan"
    tab = console("volgograd")
    page = tab.goto(f"/console/cities/{volgograd}")
    page.get_by_role("link", name="Webhooks").click()
    tab.settled()
    expect(page.get_by_role("heading", level=1)).to_have_text("Webhooks of Volgograd")

    form = page.get_by_role("form", name="Register an endpoint")
    form.get_by_label("Address").fill("https://127.0.0.1/hooks")  # loopback: refused
    form.get_by_role("button", name="Register").click()
    expect(form.locator("[data-field=url] .field-error")).to_contain_text("loopback")
    tab.expect_problem(422)

    form.get_by_label("Address").fill(url)
    form.get_by_label("Registration changed").check()
    form.get_by_label("Description").fill("The partner's exchange office")
    form.get_by_role("button", name="Register").click()
    expect(page.locator(".notice")).to_contain_text("shown this once")
    secret = page.locator(".notice .secret").inner_text()
    assert secret.startswith("whsec_")
    card = page.locator(".endpoint").filter(has_text=url)
    expect(card).to_contain_text("Event created, Event changed, Event cancelled, "
                                 "Proposed exchange, Registration changed")
    expect(card).to_contain_text("On")

    # A change of one of Volgograd's events is queued for it.
    world.event("volgograd", title=f"Webhook test exchange {n}")
    page = tab.goto(f"/console/cities/{volgograd}/webhooks")
    card = page.locator(".endpoint").filter(has_text=url)
    card.locator("summary").click()
    expect(card.locator(".deliveries li").first).to_contain_text("Event created")
    tab.snap("city-webhooks")
    tab.axe()

    card.get_by_role("button", name=f"Turn off: {url}").click()
    expect(page.locator(".notice")).to_have_text("The endpoint is off.")
    expect(page.locator(".endpoint").filter(has_text=url)).to_contain_text("Off")
    page.locator(".endpoint").filter(has_text=url).get_by_role(
        "button", name=f"New secret: {url}").click()
    expect(page.locator(".notice .secret")).not_to_have_text(secret)
    expect(page.locator(".endpoint").filter(has_text=url)).to_contain_text(
        "old secret's signature too")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(".endpoint").filter(has_text=url).get_by_role(
        "button", name=f"Remove: {url}").click()
    expect(page.locator(".notice")).to_have_text("The endpoint is removed.")
    expect(page.locator(".endpoint").filter(has_text=url)).to_have_count(0)


def test_webhooks_on_a_phone_in_russian(console, world):
    coventry = world.city_ids["Coventry"]
    client = world.api("coventry")
    r = client.post("/api/v1/webhook-endpoints", json={
        "city_id": coventry, "url": f"https://partner-{next(_serial)}.coventry.example/hooks",
        "event_types": ["event.created"]})
    assert r.status_code == 201, r.text
    with world.speaking("coventry", "ru"):
        tab = console("coventry", viewport=PHONE, locale="ru-RU")
        page = tab.goto(f"/console/cities/{coventry}/webhooks")
        expect(page.locator(".endpoint").first).to_contain_text("Мероприятие создано")
        tab.no_overflow()
        tab.snap("city-webhooks-ru")
        tab.axe()
