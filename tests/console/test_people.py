"""People in the console: a city's people and invitations (invite, withdraw, end a
membership), and one's own account (name, second factor, API keys shown once and
revoked), in English on a desktop and in Russian on a phone."""

from __future__ import annotations

import httpx
import pyotp
from playwright.sync_api import expect

from tests.console.conftest import PHONE


def test_a_coordinator_invites_withdraws_and_ends_a_membership(console, world):
    volgograd = world.city_ids["Volgograd"]
    tab = console("volgograd")
    page = tab.goto(f"/console/cities/{volgograd}")
    page.get_by_role("link", name="People").click()
    tab.settled()
    expect(page.get_by_role("heading", level=1)).to_have_text("People of Volgograd")
    members = page.locator(".member")
    expect(members.filter(has_text="Elena Sokolova")).to_contain_text("you")
    expect(members.filter(has_text="Elena Sokolova").get_by_role("button")).to_have_count(0)
    expect(members.filter(has_text="Ivan Smirnov")).to_contain_text("Coordinator")
    expect(members.filter(has_text="Pavel Orlov")).to_contain_text("Partner")

    form = page.get_by_role("form", name="Invite someone")
    form.get_by_label("Email").fill("not an address")
    form.get_by_role("button", name="Send the invitation").click()
    expect(form.locator("[data-field=email] .field-error")).to_be_visible()
    tab.expect_problem(422)
    form.get_by_label("Email").fill("olga@volgograd.example")
    form.get_by_label("Role").select_option("coordinator")
    form.get_by_role("button", name="Send the invitation").click()
    expect(page.locator(".notice")).to_have_text(
        "An invitation is on its way to olga@volgograd.example.")
    invitation = page.locator(".invitation").filter(has_text="olga@volgograd.example")
    expect(invitation).to_contain_text("Open until")
    sent = world.api("volgograd").get("/api/v1/invitations",
                                      params={"city_id": volgograd}).json()["items"]
    assert sent[0]["email"] == "olga@volgograd.example" and sent[0]["role"] == "coordinator"

    invitation.get_by_role("button", name="Withdraw: olga@volgograd.example").click()
    expect(page.locator(".notice")).to_have_text(
        "The invitation to olga@volgograd.example is withdrawn.")
    expect(page.locator(".invitation").filter(has_text="olga@volgograd.example").first
           ).to_contain_text("Withdrawn")
    tab.snap("city-people")
    tab.axe()

    pavel = world.api("pavel")
    assert pavel.get("/api/v1/session").status_code == 200
    page.once("dialog", lambda dialog: dialog.accept())
    members.filter(has_text="Pavel Orlov").get_by_role(
        "button", name="End membership: Pavel Orlov").click()
    expect(page.locator(".notice")).to_have_text("Pavel Orlov no longer acts for the city.")
    expect(page.locator(".member").filter(has_text="Pavel Orlov")).to_have_count(0)
    # His session in the city ended with it.
    assert pavel.get("/api/v1/session").status_code == 401


def test_the_people_page_on_a_phone_in_russian(console, world):
    coventry = world.city_ids["Coventry"]
    with world.speaking("coventry", "ru"):
        tab = console("coventry", viewport=PHONE, locale="ru-RU")
        page = tab.goto(f"/console/cities/{coventry}/team")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Люди города")
        expect(page.locator(".member").filter(has_text="Sarah Hughes")).to_contain_text("вы")
        expect(page.get_by_role("form", name="Пригласить")).to_be_visible()
        tab.no_overflow()
        tab.snap("city-people-ru")
        tab.axe()


def test_a_coordinator_runs_their_own_account(console, world):
    coventry = world.city_ids["Coventry"]
    tab = console("nina")
    page = tab.goto("/console/")
    page.locator("header").get_by_role("link", name="Nina Volkova").click()
    tab.settled()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")

    # A key for the city's registry: the secret once, then it works as Nina does.
    keys = page.get_by_role("form", name="Issue a key")
    expect(keys).to_contain_text("Coordinator, Coventry")
    keys.get_by_label("What it is for").fill("School registry sync")
    keys.get_by_role("button", name="Issue the key").click()
    expect(page.locator(".notice")).to_contain_text("shown this once")
    secret = page.locator(".notice .secret").inner_text()
    key = page.locator(".api-key").filter(has_text="School registry sync")
    expect(key).to_contain_text("In use")
    expect(key).to_contain_text(secret[:10])
    me = httpx.get(f"{world.base}/api/v1/api-keys/me",
                   headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200, me.text
    assert (me.json()["role"], me.json()["city_id"]) == ("coordinator", coventry)
    page.once("dialog", lambda dialog: dialog.accept())
    key.get_by_role("button", name="Revoke: School registry sync").click()
    expect(page.locator(".notice")).to_have_text("The key School registry sync is revoked.")
    # Kept, folded away under the revoked keys.
    expect(page.get_by_role("heading", name="0 API keys")).to_be_visible()
    page.get_by_text("1 revoked key").click()
    expect(page.locator(".api-key").filter(has_text="School registry sync")).to_contain_text(
        "Revoked")
    assert httpx.get(f"{world.base}/api/v1/api-keys/me",
                     headers={"Authorization": f"Bearer {secret}"}).status_code == 401

    # The name, and the second factor, confirmed with a code from the key shown.
    profile = page.get_by_role("form", name="You")
    profile.get_by_label("Name").fill("Nina V. Volkova")
    profile.get_by_role("button", name="Save").click()
    expect(page.locator(".notice")).to_contain_text("Saved")
    expect(page.locator("header")).to_contain_text("Nina V. Volkova")
    page.get_by_role("button", name="Set up an authenticator app").click()
    expect(page.get_by_role("img", name="QR code of your authenticator key")).to_be_visible()
    shown = page.locator(".secret").inner_text().replace(" ", "")
    confirm = page.get_by_role("form", name="Confirm with a first code")
    confirm.get_by_label("The 6-digit code the app shows").fill(
        "000000" if pyotp.TOTP(shown).now() != "000000" else "111111")
    confirm.get_by_role("button", name="Turn on").click()
    expect(confirm.locator(".field-error").first).to_be_visible()
    tab.expect_problem(422)
    confirm.get_by_label("The 6-digit code the app shows").fill(pyotp.TOTP(shown).now())
    confirm.get_by_role("button", name="Turn on").click()
    expect(page.locator(".notice")).to_contain_text("The second factor is on")
    expect(page.get_by_role("region", name="Second factor")).to_contain_text("On")
    refused = httpx.post(f"{world.base}/api/v1/session", json={
        "email": world.emails["nina"], "password": "twin-cities-1957"})
    assert refused.status_code == 401 and refused.json().get("totp_required"), refused.text
    tab.snap("account")
    tab.axe()


def test_an_admin_issues_a_partner_citys_key(console, world):
    mary = world.city_ids["Mary"]
    tab = console("admin", viewport=PHONE)
    page = tab.goto("/console/account")
    form = page.get_by_role("form", name="Issue a key")
    form.get_by_label("What it is for").fill("Mary's exchange office")
    form.get_by_label("Role").select_option("partner")
    form.get_by_label("City number").fill(str(mary))
    form.get_by_role("button", name="Issue the key").click()
    expect(page.locator(".notice")).to_contain_text("shown this once")
    secret = page.locator(".notice .secret").inner_text()
    me = httpx.get(f"{world.base}/api/v1/api-keys/me",
                   headers={"Authorization": f"Bearer {secret}"}).json()
    assert (me["role"], me["city_id"]) == ("partner", mary)
    expect(page.locator(".api-key").filter(has_text="Mary's exchange office")).to_contain_text(
        "Partner · Mary")
    tab.no_overflow()
    tab.axe()
