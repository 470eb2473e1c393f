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
