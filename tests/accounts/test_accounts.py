"""Accounts, end to end through the API: an invitation read from a real SMTP server
and followed to a working account; signing in and out; throttling; the second
factor; password reset; sessions that end when a membership does; personal keys;
the access audit."""

from __future__ import annotations

import pyotp
import pytest
from sqlmodel import select

from app.accounts.models import User
from app.accounts.passwords import hash_password
from app.accounts.service import THROTTLE_WINDOW, add_membership, create_user
from app.core.actors import Role
from tests.accounts.conftest import token_in
from tests.conftest import assert_problem

PASSWORD = "correct horse battery"


@pytest.fixture
def kostroma(make_city):
    return make_city("Kostroma")


@pytest.fixture
def anna(session, kostroma):
    """A coordinator of Kostroma who signs in with a password."""
    user = create_user(session, email="Anna@Kostroma.example", display_name="Anna",
                       password=PASSWORD)
    add_membership(session, user, Role.coordinator, kostroma.id)
    session.commit()
    return user


def test_an_invitation_by_email_becomes_a_working_account(
    client, admin, kostroma, smtp, make_worker, browser
):
    invited = client.post("/api/v1/invitations", headers=admin, json={
        "email": "olga@kostroma.example", "role": "coordinator", "city_id": kostroma.id})
    assert invited.status_code == 201, invited.text
    make_worker().run_once()
    (mail,) = smtp.sink.to("olga@kostroma.example")
    assert "coordinator of Kostroma" in mail["Subject"]
    token = token_in(mail)

    accepted = browser.remember(client.post("/api/v1/invitations/accept", json={
        "token": token, "display_name": "Olga", "password": PASSWORD, "language": "ru",
        "timezone": "Europe/Moscow"}))
    assert accepted.status_code == 200, accepted.text
    cookie = accepted.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie
    me = browser.get("/api/v1/session").json()
    assert me["user"]["language"] == "ru"
    assert me["acting_as"] == {**me["acting_as"], "role": "coordinator", "city_id": kostroma.id}

    # The person acts as a coordinator of Kostroma would: changes the city's data.
    renamed = browser.request("PATCH", f"/api/v1/cities/{kostroma.id}", json={"population": 1})
    assert renamed.status_code == 200, renamed.text
    # The link worked once.
    again = client.post("/api/v1/invitations/accept", json={
        "token": token, "display_name": "Olga", "password": PASSWORD})
    assert_problem(again, 404, contains="used")


def test_an_invitation_to_an_existing_account_adds_a_membership(
    client, admin, anna, make_city, smtp, make_worker, browser
):
    mary = make_city("Mary", "TM")
    client.post("/api/v1/invitations", headers=admin, json={
        "email": "anna@kostroma.example", "role": "partner", "city_id": mary.id})
    make_worker().run_once()
    (mail,) = smtp.sink.to("anna@kostroma.example")
    accepted = browser.remember(client.post("/api/v1/invitations/accept",
                                            json={"token": token_in(mail)}))
    assert accepted.status_code == 200, accepted.text
    roles = {(m["role"], m["city_id"]) for m in accepted.json()["memberships"]}
    assert ("partner", mary.id) in roles and len(roles) == 2
    switched = browser.request("PUT", "/api/v1/session/acting", json={
        "membership_id": next(m["id"] for m in accepted.json()["memberships"]
                              if m["role"] == "coordinator")})
    assert switched.json()["acting_as"]["role"] == "coordinator"


def test_a_revoked_or_expired_invitation_does_not_open(client, admin, kostroma, smtp,
                                                       make_worker, clock):
    made = client.post("/api/v1/invitations", headers=admin, json={
        "email": "x@kostroma.example", "role": "coordinator", "city_id": kostroma.id}).json()
    make_worker().run_once()
    token = token_in(smtp.sink.to("x@kostroma.example")[0])
    client.post(f"/api/v1/invitations/{made['id']}/revoke", headers=admin)
    body = {"token": token, "display_name": "X", "password": PASSWORD}
    assert_problem(client.post("/api/v1/invitations/accept", json=body), 404)


def test_sign_in_says_nothing_about_which_emails_exist(client, anna):
    wrong = client.post("/api/v1/session", json={"email": anna.email, "password": "nope"})
    nobody = client.post("/api/v1/session", json={"email": "ghost@x.example", "password": "x"})
    assert wrong.status_code == nobody.status_code == 401
    assert wrong.json()["detail"] == nobody.json()["detail"]
    # Emails are one account ignoring case.
    assert client.post("/api/v1/session", json={"email": "ANNA@kostroma.EXAMPLE",
                                                "password": PASSWORD}).status_code == 200


def test_failed_sign_ins_are_throttled_per_account(client, anna, clock):
    for _ in range(5):
        client.post("/api/v1/session", json={"email": anna.email, "password": "wrong"})
    blocked = client.post("/api/v1/session", json={"email": anna.email, "password": PASSWORD})
    assert_problem(blocked, 429)
    assert 1 <= int(blocked.headers["retry-after"]) <= THROTTLE_WINDOW.total_seconds()
    # The same for an email without an account: nothing to tell them apart.
    for _ in range(5):
        client.post("/api/v1/session", json={"email": "ghost@x.example", "password": "x"})
    assert client.post("/api/v1/session", json={"email": "ghost@x.example",
                                                "password": "x"}).status_code == 429
    clock.advance(seconds=THROTTLE_WINDOW.total_seconds())
    assert client.post("/api/v1/session", json={"email": anna.email,
                                                "password": PASSWORD}).status_code == 200


def test_writes_with_the_cookie_need_the_csrf_token_and_the_own_origin(
    browser, anna, kostroma
):
    assert browser.sign_in(anna.email, PASSWORD).status_code == 200
    path = f"/api/v1/cities/{kostroma.id}"
    assert_problem(browser.request("PATCH", path, json={"population": 2}, csrf=False), 403,
                   contains="X-CSRF-Token")
    assert_problem(browser.request("PATCH", path, json={"population": 2},
                                   origin="https://evil.example"), 403, contains="evil")
    cross = browser.request("PATCH", path, json={"population": 2},
                            headers={"Sec-Fetch-Site": "cross-site"})
    assert_problem(cross, 403, contains="cross-site")
    assert browser.request("PATCH", path, json={"population": 2}).status_code == 200
    # Reads need no token.
    assert browser.get("/api/v1/session").status_code == 200


def test_sign_out_and_sign_out_everywhere(client, anna, browser, other_browser):
    browser.sign_in(anna.email, PASSWORD)
    other_browser.sign_in(anna.email, PASSWORD)
    assert browser.request("DELETE", "/api/v1/session").status_code == 204
    assert browser.get("/api/v1/session").status_code == 401
    assert other_browser.get("/api/v1/session").status_code == 200
    browser.sign_in(anna.email, PASSWORD)
    assert browser.request("POST", "/api/v1/session/sign-out-everywhere").status_code == 204
    assert other_browser.get("/api/v1/session").status_code == 401
    assert browser.get("/api/v1/session").status_code == 401


def test_sessions_end_after_idle_time_and_at_their_absolute_end(browser, anna, clock):
    browser.sign_in(anna.email, PASSWORD)
    clock.advance(minutes=239)
    assert browser.get("/api/v1/session").status_code == 200
    clock.advance(minutes=239)  # active again just before the idle limit
    assert browser.get("/api/v1/session").status_code == 200
    clock.advance(minutes=241)
    assert browser.get("/api/v1/session").status_code == 401


def test_revoking_a_membership_ends_its_sessions_and_personal_keys_at_once(
    client, admin, anna, kostroma, browser, session
):
    browser.sign_in(anna.email, PASSWORD)
    made = browser.request("POST", "/api/v1/api-keys", json={
        "name": "registry sync", "role": "coordinator", "city_id": kostroma.id})
    assert made.status_code == 201, made.text
    key = {"Authorization": f"Bearer {made.json()['key']}"}
    assert client.patch(f"/api/v1/cities/{kostroma.id}", json={"population": 3},
                        headers=key).status_code == 200
    # Only within the person's own role and city.
    assert_problem(browser.request("POST", "/api/v1/api-keys", json={
        "name": "x", "role": "admin"}), 403)
    listed = browser.get("/api/v1/api-keys").json()
    assert [k["name"] for k in listed] == ["registry sync"]

    membership = browser.get("/api/v1/session").json()["acting_as"]["id"]
    revoked = client.post(f"/api/v1/memberships/{membership}/revoke", headers=admin)
    assert revoked.status_code == 200, revoked.text
    assert browser.get("/api/v1/session").status_code == 401
    assert_problem(client.patch(f"/api/v1/cities/{kostroma.id}", json={"population": 4},
                                headers=key), 401)


def test_a_citys_people_are_listed_for_its_coordinators_and_admins(
    client, admin, anna, kostroma, make_city, make_key, browser, session
):
    mary = make_city("Mary", "TM")
    boris = create_user(session, email="boris@kostroma.example", display_name="Boris",
                        password=PASSWORD)
    add_membership(session, boris, Role.partner, kostroma.id)
    gone = create_user(session, email="gone@kostroma.example", display_name="Gone",
                       password=PASSWORD)
    add_membership(session, gone, Role.coordinator, kostroma.id)
    add_membership(session, gone, Role.coordinator, mary.id)
    session.commit()
    assert client.post(f"/api/v1/users/{gone.id}/disable", headers=admin).status_code == 200
    client.post("/api/v1/invitations", headers=admin, json={
        "email": "new@kostroma.example", "role": "coordinator", "city_id": kostroma.id})
    client.post("/api/v1/invitations", headers=admin, json={
        "email": "new@mary.example", "role": "coordinator", "city_id": mary.id})

    browser.sign_in(anna.email, PASSWORD)
    people = browser.get("/api/v1/memberships", params={"city_id": kostroma.id})
    assert people.status_code == 200, people.text
    assert [(p["display_name"], p["email"], p["role"]) for p in people.json()["items"]] == [
        ("Anna", "Anna@Kostroma.example", "coordinator"),
        ("Boris", "boris@kostroma.example", "partner")]
    assert people.json()["total"] == 2
    # A membership ended is no longer listed.
    boris_membership = people.json()["items"][1]["id"]
    assert browser.request("POST", f"/api/v1/memberships/{boris_membership}/revoke"
                           ).status_code == 200
    assert [p["display_name"] for p in browser.get(
        "/api/v1/memberships", params={"city_id": kostroma.id}).json()["items"]] == ["Anna"]

    # Another city's people and invitations are not a coordinator's to read.
    assert_problem(browser.get("/api/v1/memberships", params={"city_id": mary.id}), 403)
    assert_problem(browser.get("/api/v1/invitations", params={"city_id": mary.id}), 403)
    assert [i["email"] for i in browser.get("/api/v1/invitations").json()["items"]] == [
        "new@kostroma.example"]
    assert_problem(client.get("/api/v1/memberships", params={"city_id": kostroma.id},
                              headers=make_key(Role.partner, kostroma)), 403)
    # An admin reads any city's, and narrows invitations to one.
    assert [p["display_name"] for p in client.get(
        "/api/v1/memberships", params={"city_id": mary.id}, headers=admin).json()["items"]] == []
    assert [i["email"] for i in client.get(
        "/api/v1/invitations", params={"city_id": mary.id}, headers=admin).json()["items"]] == [
        "new@mary.example"]
    assert_problem(client.get("/api/v1/memberships", headers=admin), 422)


def test_a_disabled_person_cannot_sign_in(client, admin, anna, browser):
    browser.sign_in(anna.email, PASSWORD)
    assert client.post(f"/api/v1/users/{anna.id}/disable", headers=admin).status_code == 200
    assert browser.get("/api/v1/session").status_code == 401
    assert_problem(browser.sign_in(anna.email, PASSWORD), 401)


def test_totp_once_set_up_is_asked_for(browser, anna, clock):
    browser.sign_in(anna.email, PASSWORD)
    setup = browser.request("POST", "/api/v1/session/totp").json()
    assert setup["otpauth_uri"].startswith("otpauth://totp/Twinplan:")
    totp = pyotp.TOTP(setup["secret"])
    assert_problem(browser.request("POST", "/api/v1/session/totp/confirm",
                                   json={"code": "000000" if totp.now() != "000000"
                                         else "111111"}), 422)
    assert browser.request("POST", "/api/v1/session/totp/confirm",
                           json={"code": totp.at(clock.now)}).status_code == 200
    browser.request("DELETE", "/api/v1/session")
    asked = browser.sign_in(anna.email, PASSWORD)
    assert asked.status_code == 401 and asked.json()["totp_required"] is True
    ok = browser.sign_in(anna.email, PASSWORD, totp_code=totp.at(clock.now))
    assert ok.status_code == 200, ok.text


def test_a_city_can_require_a_second_factor(client, admin, anna, kostroma):
    required = client.patch(f"/api/v1/cities/{kostroma.id}", json={"require_totp": True},
                            headers=admin)
    assert required.status_code == 200 and required.json()["require_totp"], required.text
    refused = client.post("/api/v1/session", json={"email": anna.email, "password": PASSWORD})
    assert_problem(refused, 403, contains="second factor")


def test_password_reset_by_emailed_link(client, anna, smtp, make_worker, browser,
                                        other_browser):
    other_browser.sign_in(anna.email, PASSWORD)
    for email in (anna.email, "ghost@x.example"):  # the same answer either way
        assert client.post("/api/v1/password-reset", json={"email": email}).status_code == 202
    make_worker().run_once()
    (mail,) = smtp.sink.to(anna.email)
    new = "a much better password"
    done = client.post("/api/v1/password-reset/confirm",
                       json={"token": token_in(mail), "password": new})
    assert done.status_code == 204, done.text
    assert other_browser.get("/api/v1/session").status_code == 401  # signed out everywhere
    assert browser.sign_in(anna.email, PASSWORD).status_code == 401
    assert browser.sign_in(anna.email, new).status_code == 200
    assert_problem(client.post("/api/v1/password-reset/confirm",
                               json={"token": token_in(mail), "password": new}), 404)


def test_the_access_audit_is_read_by_admins_and_the_citys_coordinators(
    client, admin, anna, kostroma, make_city, make_key, browser
):
    browser.sign_in(anna.email, PASSWORD)
    client.post("/api/v1/session", json={"email": anna.email, "password": "wrong"})
    client.post("/api/v1/api-keys", headers=admin,
                json={"name": "sync", "role": "partner", "city_id": kostroma.id})
    events = client.get("/api/v1/access-events", headers=admin).json()["items"]
    assert {"signed_in", "sign_in_failed", "api_key_created"} <= {e["kind"] for e in events}
    # Who, when and from where (the test's own keys were made by the system, offline).
    made_here = [e for e in events if e["actor"] != "system"]
    assert len(made_here) == 3
    assert all(e["at"] and e["client_address"] == "testclient" for e in made_here), made_here
    own = browser.get("/api/v1/access-events").json()["items"]
    assert own and all(e["city_id"] == kostroma.id for e in own)
    mary = make_city("Mary", "TM")
    elsewhere = make_key(Role.coordinator, mary)
    theirs = client.get("/api/v1/access-events", headers=elsewhere).json()["items"]
    assert {e["city_id"] for e in theirs} == {mary.id}  # their own key's creation only
    assert_problem(client.get("/api/v1/access-events",
                              headers=make_key(Role.partner, kostroma)), 403)


def test_passwords_are_argon2id_hashes(session, anna):
    stored = session.exec(select(User.password_hash).where(User.id == anna.id)).one()
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert hash_password(PASSWORD) != stored  # salted


def test_failed_sign_ins_are_throttled_per_address_across_accounts(client, anna):
    """Twenty failures from one address, each for another email, close that address."""
    for n in range(20):
        client.post("/api/v1/session", json={"email": f"guess{n}@x.example", "password": "x"})
    blocked = client.post("/api/v1/session", json={"email": anna.email, "password": PASSWORD})
    assert_problem(blocked, 429)
    assert int(blocked.headers["retry-after"]) >= 1


def test_an_invitation_expires_after_seven_days(client, admin, kostroma, smtp, make_worker,
                                                clock):
    client.post("/api/v1/invitations", headers=admin, json={
        "email": "late@kostroma.example", "role": "coordinator", "city_id": kostroma.id})
    make_worker().run_once()
    token = token_in(smtp.sink.to("late@kostroma.example")[0])
    clock.advance(days=7)
    body = {"token": token, "display_name": "Late", "password": PASSWORD}
    assert_problem(client.post("/api/v1/invitations/accept", json=body), 404,
                   contains="expired")


def test_one_changes_ones_own_name_language_and_timezone(browser, anna):
    signed_in = browser.sign_in(anna.email, PASSWORD)
    assert signed_in.cookies["twinplan_signed_in"] == "1"  # the console's hint, no secret
    r = browser.request("PATCH", "/api/v1/me", json={"language": "ru",
                                                     "timezone": "Europe/Moscow"})
    assert r.status_code == 200, r.text
    assert (r.json()["language"], r.json()["timezone"]) == ("ru", "Europe/Moscow")
    assert browser.get("/api/v1/session").json()["user"]["language"] == "ru"
    assert_problem(browser.request("PATCH", "/api/v1/me", json={"language": "xx"}), 422)
    assert_problem(browser.request("PATCH", "/api/v1/me", json={"display_name": ""}), 422)
    assert browser.get("/api/v1/session").json()["user"]["display_name"] == "Anna"


def test_changing_oneself_needs_a_session_and_its_csrf_token(client, browser, anna):
    assert_problem(client.patch("/api/v1/me", json={"language": "ru"}), 401)
    browser.sign_in(anna.email, PASSWORD)
    r = client.patch("/api/v1/me", json={"language": "ru"},
                     cookies={"twinplan_session": browser.cookie or ""})
    assert_problem(r, 403)
