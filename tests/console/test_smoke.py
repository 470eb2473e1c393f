"""The console's frame: sign-in, the header, addresses, the security headers."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from tests.console.conftest import PHONE


def test_sign_in_with_password_then_sign_out(console, world):
    tab = console(None)
    page = tab.goto("/console/")
    expect(page).to_have_url(f"{world.base}/console/sign-in?next=%2Fconsole%2F")
    page.get_by_label("Email").fill(world.emails["volgograd"])
    page.get_by_label("Password").fill("wrong password!")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("The email or the password is wrong")
    tab.expect_problem(401)
    page.get_by_label("Password").fill("twin-cities-1957")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.locator("header")).to_contain_text("Elena Sokolova")
    expect(page.locator("header")).to_contain_text("Volgograd")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_console_pages_carry_security_headers(world):
    r = httpx.get(f"{world.base}/console/events/1")
    assert r.status_code == 200
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert httpx.get(f"{world.base}/console/nothing-here.js").status_code == 404
    assert httpx.get(f"{world.base}/favicon.ico", follow_redirects=True).status_code == 200


def test_sign_in_page_reflows_on_a_phone(console):
    tab = console(None, viewport=PHONE)
    tab.goto("/console/sign-in")
    tab.no_overflow()
    tab.axe()


def test_russian_is_remembered_with_the_account(console, world):
    tab = console("coventry")
    page = tab.goto("/console/")
    page.get_by_label("Language").select_option("ru")
    expect(page.get_by_role("button", name="Выйти")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    tab.snap("home-ru")
    # Another browser (no local memory of the choice) opens in Russian: the account remembers.
    other = console("coventry", locale="en-GB")
    page2 = other.goto("/console/")
    expect(page2.get_by_role("button", name="Выйти")).to_be_visible()
    world.api("coventry").patch("/api/v1/me", json={"language": "en"})


def test_a_person_of_two_cities_switches_between_them(console, world):
    tab = console("kostroma")
    page = tab.goto("/console/")
    switcher = page.get_by_label("Acting for")
    expect(switcher).to_contain_text("Kostroma")
    expect(switcher).to_contain_text("Volgograd")
    before = page.get_by_role("link", name="Twinnings").get_attribute("href")
    page.get_by_label("Acting for").select_option(label="Volgograd · Coordinator")
    expect(page.get_by_role("link", name="Twinnings")).not_to_have_attribute("href", before or "")
    volgograd = world.city_ids["Volgograd"]
    expect(page.get_by_role("link", name="Twinnings")).to_have_attribute(
        "href", f"/console/cities/{volgograd}/partners")
    page.reload()
    tab.settled()
    # The session remembers the city it acts for.
    expect(page.get_by_role("link", name="Twinnings")).to_have_attribute(
        "href", f"/console/cities/{volgograd}/partners")


def test_nothing_secret_in_the_address_or_local_storage(console, world):
    tab = console("volgograd")
    page = tab.goto("/console/")
    stored = page.evaluate("JSON.stringify(Object.entries(localStorage))")
    assert "tps_" not in stored and "csrf" not in stored.lower(), stored
    assert page.evaluate("document.cookie").strip() == "twinplan_signed_in=1"
    assert "tps_" not in page.url


def test_an_admin_signs_in_with_an_api_key(console, world):
    r = world.api("admin").post("/api/v1/api-keys", json={"name": "Console admin", "role": "admin"})
    assert r.status_code == 201, r.text
    tab = console(None)
    page = tab.goto("/console/sign-in")
    page.get_by_text("Sign in with an API key").click()
    page.get_by_label("API key").fill("tp_not-a-real-key")
    page.get_by_role("button", name="Use the key").click()
    expect(page.get_by_role("alert")).to_contain_text("unknown or has been revoked")
    tab.expect_problem(401)
    page.get_by_label("API key").fill(r.json()["key"])
    page.get_by_role("button", name="Use the key").click()
    expect(page.locator("header")).to_contain_text("Console admin")
    assert "tp_" not in page.url
    assert "tp_" not in page.evaluate("JSON.stringify(Object.entries(localStorage))")


def test_signing_in_with_the_keyboard_alone(console, world):
    tab = console(None)
    page = tab.goto("/console/sign-in")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.get_by_label("Email").focus()
    page.keyboard.type(world.emails["volgograd"])
    page.keyboard.press("Tab")
    page.keyboard.type("twin-cities-1957")
    page.keyboard.press("Enter")
    expect(page.locator("header")).to_contain_text("Elena Sokolova")
    # Focus moved to the new view's heading, where a screen reader starts reading.
    expect(page.locator("main h1")).to_be_focused()


def test_the_authenticator_code_is_asked_only_when_needed(console):
    tab = console(None)
    page = tab.goto("/console/sign-in")
    expect(page.get_by_label("Authenticator code")).to_be_hidden()


NARROWEST = {"width": 320, "height": 640}


def test_every_view_reflows_at_320_pixels(console, world):
    """WCAG 2.2 reflow: at 320 CSS pixels nothing makes the page scroll sideways."""
    volgograd = world.city_ids["Volgograd"]
    event = world.event("volgograd", title="Narrow screens exchange", capacity=10)
    tab = console("volgograd", viewport=NARROWEST)
    for path in ["/console/", f"/console/cities/{volgograd}/calendar",
                 f"/console/cities/{volgograd}/calendar?view=agenda",
                 f"/console/cities/{volgograd}/partners", "/console/cities?q=ko",
                 f"/console/cities/{volgograd}/twin-search",
                 f"/console/cities/{volgograd}/families",
                 f"/console/cities/{volgograd}/webhooks",
                 f"/console/cities/{volgograd}/reminders",
                 f"/console/cities/{volgograd}/team", "/console/account",
                 f"/console/cities/{volgograd}", "/console/events/new",
                 f"/console/events/{event['id']}", f"/console/events/{event['id']}/edit",
                 f"/console/events/{event['id']}/list", f"/console/events/{event['id']}/travel",
                 f"/console/events/{event['id']}/programme",
                 f"/console/events/{event['id']}/papers",
                 f"/console/events/{event['id']}/placement"]:
        tab.goto(path)
        tab.no_overflow()
    tab.expect_problem(404)  # the exchange has no placement yet: the page offers one
    anonymous = console(None, viewport=NARROWEST)
    anonymous.goto("/console/sign-in")
    anonymous.no_overflow()
    anonymous.snap("sign-in")
    anonymous.axe()
