"""Single sign-on against a real OpenID Connect provider, not a mock.

The provider is panva's OpenID Certified ``oidc-provider`` (the version
``tests/accounts/oidc/package-lock.json`` pins), run with Node.js from
``tests/accounts/oidc/provider.mjs``: discovery, its own signing key, login and
consent pages, codes, PKCE (required of every client), ID tokens, userinfo.
The tests sign people in as a browser does: ``/api/v1/sso/login``, the redirect
to the provider, its login form, its consent form, the redirect back to the
callback, the session cookie, then ``GET /api/v1/session``. Twinplan is the
app under ``TestClient`` at the public base URL, the provider a real server on
the loopback, each with its own cookie jar.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import html
import json
import os
import re
import selectors
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import col, select

from app.accounts import sso
from app.accounts.models import AccessEvent, AccessKind, Membership, User
from app.accounts.service import add_membership, create_user
from app.core.actors import Role
from app.core.settings import Settings, SettingsError, get_settings
from tests.conftest import assert_problem
from tests.servers import stop_process

HERE = os.path.join(os.path.dirname(__file__), "oidc")
CLIENT_ID = "twinplan"
CLIENT_SECRET = "kostroma-city-hall-secret-for-tests"
BASE = get_settings().public_base_url
CALLBACK = BASE + "/api/v1/sso/callback"

ACCOUNTS: dict[str, dict[str, Any]] = {
    # Kostroma city hall staff: a verified address at the city's domain.
    "anna": {"password": "anna-pw", "claims": {
        "email": "Anna@Kostroma.example", "email_verified": True, "name": "Anna Smirnova",
        "groups": ["kostroma-staff"]}},
    # The federation's office: a group claim.
    "boris": {"password": "boris-pw", "claims": {
        "email": "boris@federation.example", "email_verified": True, "name": "Boris",
        "groups": ["twinning-admins"]}},
    # Somebody the provider knows and Twinplan's rules do not.
    "guest": {"password": "guest-pw", "claims": {
        "email": "guest@elsewhere.example", "email_verified": True, "groups": []}},
    # An address at the city's domain that the provider has not verified.
    "mallory": {"password": "mallory-pw", "claims": {
        "email": "mallory@kostroma.example", "email_verified": False, "groups": []}},
}


@dataclass
class OpenIdProvider:
    issuer: str

    def set_claims(self, login: str, claims: dict[str, Any]) -> None:
        response = httpx.put(f"{self.issuer}/_test/accounts/{login}", json=claims)
        assert response.status_code == 204, response.text

    def reset(self) -> None:
        for login, account in ACCOUNTS.items():
            self.set_claims(login, account["claims"])


def _start_provider() -> tuple[subprocess.Popen[str], Any, str]:
    node = shutil.which("node")
    assert node, "node (20.19 or later) is needed to run the OpenID provider (make test-tools)"
    assert os.path.isdir(os.path.join(HERE, "node_modules", "oidc-provider")), (
        "oidc-provider is not installed: run `make js-deps`")
    log = tempfile.TemporaryFile("w+")  # noqa: SIM115  (closed by the fixture)
    proc = subprocess.Popen(
        [node, "provider.mjs"], cwd=HERE, stdout=subprocess.PIPE, stderr=log, text=True,
        env=os.environ | {
            "OIDC_CLIENT_ID": CLIENT_ID, "OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_REDIRECT_URIS": CALLBACK, "OIDC_ACCOUNTS": json.dumps(ACCOUNTS),
        },
    )
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        ready = selector.select(timeout=30)
    line = proc.stdout.readline() if ready else ""
    if not line:
        stop_process(proc)
        log.seek(0)
        raise RuntimeError(f"the OpenID provider did not start:\n{log.read()[-3000:]}")
    return proc, log, json.loads(line)["issuer"]


@pytest.fixture(scope="module")
def provider() -> Iterator[OpenIdProvider]:
    proc, log, issuer = _start_provider()
    try:
        yield OpenIdProvider(issuer)
    finally:
        stop_process(proc)
        log.close()


@pytest.fixture
def _fresh_settings() -> Iterator[None]:
    """Set up before ``monkeypatch``, torn down after it has put the environment back."""
    yield
    get_settings.cache_clear()


@pytest.fixture
def configure(
    _fresh_settings: None, monkeypatch: pytest.MonkeyPatch, provider: OpenIdProvider
) -> Iterator[Callable[..., Settings]]:
    """``configure(rules)``: this deployment's single sign-on, with these mapping rules."""

    def apply(rules: list[dict[str, Any]], *, scopes: str = "openid email profile groups",
              secret: str = CLIENT_SECRET) -> Settings:
        monkeypatch.setenv("TWINPLAN_OIDC_ISSUER", provider.issuer)
        monkeypatch.setenv("TWINPLAN_OIDC_CLIENT_ID", CLIENT_ID)
        monkeypatch.setenv("TWINPLAN_OIDC_CLIENT_SECRET", secret)
        monkeypatch.setenv("TWINPLAN_OIDC_SCOPES", scopes)
        monkeypatch.setenv("TWINPLAN_OIDC_MEMBERSHIPS", json.dumps(rules))
        get_settings.cache_clear()
        return get_settings()

    yield apply
    provider.reset()


class Browser:
    """One person's browser: Twinplan at its public address (the app, in process)
    and the identity provider (a real server), each with its cookies; it follows
    redirects and fills in the provider's login and consent forms."""

    def __init__(self, app: Any) -> None:
        self.twinplan = TestClient(app, base_url=BASE, follow_redirects=False,
                                   raise_server_exceptions=False)
        self.idp = httpx.Client(follow_redirects=False, timeout=10)
        self.visited: list[str] = []

    def close(self) -> None:
        self.twinplan.close()
        self.idp.close()

    def open(self, url: str) -> httpx.Response:
        self.visited.append(url)
        ours = url.startswith((BASE, "/"))
        return self.twinplan.get(url) if ours else self.idp.get(url)

    def through_provider(self, url: str, login: str, password: str) -> str:
        """From the provider's authorization URL to the redirect back to Twinplan:
        signs in and consents where the provider asks. Returns the callback URL."""
        response = self.open(url)
        for _ in range(20):
            if response.is_redirect:
                url = urljoin(str(response.url), response.headers["location"])
                if url.startswith(BASE):
                    return url
                response = self.open(url)
            elif response.status_code == 200 and "<form" in response.text:
                action = re.search(r'<form method="post" action="([^"]+)"', response.text)
                assert action, response.text
                fields = ({"login": login, "password": password}
                          if 'name="login"' in response.text else {})
                response = self.idp.post(urljoin(str(response.url), html.unescape(action[1])),
                                         data=fields)
            else:
                raise AssertionError(f"the provider answered {response.status_code}: "
                                     f"{response.text[:500]}")
        raise AssertionError("too many redirects")

    def start(self) -> str:
        """``/api/v1/sso/login``: the provider's authorization URL it redirects to."""
        response = self.open(f"{BASE}/api/v1/sso/login")
        assert response.status_code == 302, response.text
        assert not response.headers["location"].startswith(BASE)
        return str(response.headers["location"])

    def sign_in(self, login: str, password: str | None = None) -> httpx.Response:
        """The whole round trip; the callback's answer."""
        password = password or ACCOUNTS[login]["password"]
        return self.open(self.through_provider(self.start(), login, password))

    def session(self) -> httpx.Response:
        return self.twinplan.get("/api/v1/session")

    def write(self, method: str, path: str, **kw: Any) -> httpx.Response:
        csrf = self.session().json()["csrf_token"]
        return self.twinplan.request(method, path, headers={"X-CSRF-Token": csrf, "Origin": BASE},
                                     **kw)


@pytest.fixture
def browser(app: Any) -> Iterator[Browser]:
    b = Browser(app)
    yield b
    b.close()


@pytest.fixture
def kostroma(make_city):
    return make_city("Kostroma")


@pytest.fixture
def mary(make_city):
    return make_city("Mary", "TM")


def audit_of(session, kind: AccessKind) -> list[AccessEvent]:
    return list(session.exec(select(AccessEvent).where(AccessEvent.kind == kind)
                             .order_by(col(AccessEvent.id))).all())


# The round trip -------------------------------------------------------------------


def test_a_coordinator_signs_in_through_the_city_halls_provider(
    configure, provider, browser, kostroma, session
):
    configure([{"email_domain": "kostroma.example", "role": "coordinator",
                "city_id": kostroma.id}])
    authorize = browser.start()
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(provider.issuer)
    assert query["response_type"] == ["code"] and query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == [CALLBACK]
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]
    assert query["state"] and query["nonce"] and query["scope"] == ["openid email profile groups"]
    flow_cookie = next(c for c in browser.twinplan.cookies.jar if c.name == sso.FLOW_COOKIE)
    assert flow_cookie.path == "/api/v1/sso" and flow_cookie.secure

    callback = browser.through_provider(authorize, "anna", "anna-pw")
    # The provider asked for the login and for consent, as a browser sees it.
    assert any("/interaction/" in url for url in browser.visited)
    assert callback.startswith(CALLBACK + "?") and "code=" in callback
    done = browser.open(callback)

    assert done.status_code == 302, done.text
    assert done.headers["location"] == "/console/"
    set_cookie = done.headers.get_list("set-cookie")
    session_cookie = next(c for c in set_cookie if c.startswith("twinplan_session="))
    assert all(flag in session_cookie.lower() for flag in ("httponly", "samesite=lax", "secure"))
    assert any(c.startswith(f'{sso.FLOW_COOKIE}=""') or c.startswith(f"{sso.FLOW_COOKIE}=;")
               for c in set_cookie), set_cookie  # the flow's cookie is spent

    me = browser.session()
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["user"]["email"] == "Anna@Kostroma.example"
    assert body["user"]["display_name"] == "Anna Smirnova"
    assert [(m["role"], m["city_id"]) for m in body["memberships"]] == [
        ("coordinator", kostroma.id)]
    assert body["acting_as"]["role"] == "coordinator"

    # The person acts as Kostroma's coordinator, as a key of that role would.
    changed = browser.write("PATCH", f"/api/v1/cities/{kostroma.id}", json={"population": 7})
    assert changed.status_code == 200, changed.text

    user = session.exec(select(User).where(User.email_key == "anna@kostroma.example")).one()
    assert (user.sso_issuer, user.sso_subject) == (provider.issuer, "anna")
    assert user.password_hash is None
    (membership,) = session.exec(select(Membership).where(Membership.user_id == user.id)).all()
    assert membership.from_sso
    (signed_in,) = audit_of(session, AccessKind.signed_in)
    assert (signed_in.user_id, signed_in.detail, signed_in.city_id) == (
        user.id, "sso", kostroma.id)
    (granted,) = audit_of(session, AccessKind.membership_granted)
    assert (granted.user_id, granted.city_id, granted.detail) == (
        user.id, kostroma.id, "coordinator (sso)")


def test_a_group_claim_makes_an_admin(configure, browser, session):
    configure([{"claim": "groups", "value": "twinning-admins", "role": "admin"}])
    assert browser.sign_in("boris").status_code == 302
    body = browser.session().json()
    assert body["acting_as"]["role"] == "admin" and body["acting_as"]["city_id"] is None
    keys = browser.write("POST", "/api/v1/api-keys", json={"role": "admin", "name": "mine"})
    assert keys.status_code in (200, 201), keys.text


def test_signing_in_again_uses_the_same_account_and_the_providers_session(
    configure, browser, kostroma, session
):
    configure([{"email_domain": "kostroma.example", "role": "coordinator",
                "city_id": kostroma.id}])
    assert browser.sign_in("anna").status_code == 302
    first = browser.session().json()
    # The provider remembers the person: no login form, no consent the second time.
    browser.visited.clear()
    assert browser.sign_in("anna", "not-asked").status_code == 302
    assert not any("/interaction/" in url for url in browser.visited)
    second = browser.session().json()
    assert second["user"]["id"] == first["user"]["id"]
    assert len(second["memberships"]) == 1
    assert len(audit_of(session, AccessKind.signed_in)) == 2


def test_an_existing_account_is_linked_by_its_verified_email(
    configure, browser, kostroma, mary, session, client
):
    anna = create_user(session, email="anna@kostroma.example", display_name="Anna",
                       password="correct horse battery")
    invited = add_membership(session, anna, Role.partner, mary.id)
    session.commit()
    configure([{"email_domain": "kostroma.example", "role": "coordinator",
                "city_id": kostroma.id}])

    assert browser.sign_in("anna").status_code == 302
    body = browser.session().json()
    assert body["user"]["id"] == anna.id
    assert {(m["role"], m["city_id"]) for m in body["memberships"]} == {
        ("partner", mary.id), ("coordinator", kostroma.id)}
    assert body["acting_as"]["role"] == "coordinator"  # what the claims grant
    session.refresh(anna)
    assert anna.sso_subject == "anna"
    assert not session.get(Membership, invited.id).from_sso
    # The password still works too.
    by_password = client.post("/api/v1/session", json={
        "email": "anna@kostroma.example", "password": "correct horse battery"})
    assert by_password.status_code == 200, by_password.text


# Refusals -------------------------------------------------------------------------


def test_claims_that_grant_nothing_are_refused(configure, browser, kostroma, session):
    configure([{"email_domain": "kostroma.example", "role": "coordinator",
                "city_id": kostroma.id}])
    refused = browser.sign_in("guest")
    assert_problem(refused, 403, contains="grants you no role")
    assert "twinplan_session" not in refused.headers.get("set-cookie", "")
    assert_problem(browser.session(), 401)
    # No account is made for someone with no role; the refusal is recorded.
    assert session.exec(select(User).where(User.email_key == "guest@elsewhere.example")
                        ).first() is None
    (failed,) = audit_of(session, AccessKind.sign_in_failed)
    assert failed.email_key == "guest@elsewhere.example"
    assert failed.detail == "sso: the claims grant no membership"


def test_an_unverified_email_grants_nothing_and_makes_no_account(
    configure, browser, kostroma, session
):
    configure([{"email_domain": "kostroma.example", "role": "coordinator",
                "city_id": kostroma.id}])
    assert_problem(browser.sign_in("mallory"), 403, contains="not verified")
    assert session.exec(select(User).where(User.email_key == "mallory@kostroma.example")
                        ).first() is None


def test_a_changed_claim_takes_the_membership_away_at_the_next_sign_in(
    configure, provider, browser, app, kostroma, mary, session
):
    configure([
        {"claim": "groups", "value": "kostroma-staff", "role": "coordinator",
         "city_id": kostroma.id},
        {"claim": "groups", "value": "mary-partners", "role": "partner", "city_id": mary.id},
    ])
    provider.set_claims("anna", {**ACCOUNTS["anna"]["claims"],
                                 "groups": ["kostroma-staff", "mary-partners"]})
    assert browser.sign_in("anna").status_code == 302
    body = browser.session().json()
    assert {(m["role"], m["city_id"]) for m in body["memberships"]} == {
        ("coordinator", kostroma.id), ("partner", mary.id)}
    # On this laptop, Anna acts for Mary.
    as_partner = next(m for m in body["memberships"] if m["role"] == "partner")
    switched = browser.write("PUT", "/api/v1/session/acting",
                             json={"membership_id": as_partner["id"]})
    assert switched.status_code == 200, switched.text

    # The city hall takes her out of the group; she signs in on another computer.
    provider.set_claims("anna", {**ACCOUNTS["anna"]["claims"], "groups": ["kostroma-staff"]})
    other = Browser(app)
    try:
        assert other.sign_in("anna").status_code == 302
        after = other.session().json()
    finally:
        other.close()
    assert [(m["role"], m["city_id"]) for m in after["memberships"]] == [
        ("coordinator", kostroma.id)]
    revoked = session.get(Membership, as_partner["id"])
    session.refresh(revoked)
    assert revoked.revoked_at is not None
    # The session acting in the revoked membership ended with it.
    assert_problem(browser.session(), 401)
    (audited,) = audit_of(session, AccessKind.membership_revoked)
    assert (audited.city_id, audited.actor) == (mary.id, "system")

    # Out of every group: the next sign-in is refused and takes the last one away.
    provider.set_claims("anna", {**ACCOUNTS["anna"]["claims"], "groups": []})
    assert_problem(browser.sign_in("anna"), 403)
    user = session.exec(select(User).where(User.email_key == "anna@kostroma.example")).one()
    live = session.exec(select(Membership).where(
        Membership.user_id == user.id, col(Membership.revoked_at).is_(None))).all()
    assert live == []


def test_memberships_not_from_single_sign_on_stay(configure, provider, browser, kostroma, mary,
                                                  session):
    configure([{"email_domain": "kostroma.example", "role": "coordinator",
                "city_id": kostroma.id}])
    assert browser.sign_in("anna").status_code == 302
    user = session.exec(select(User).where(User.email_key == "anna@kostroma.example")).one()
    invited = add_membership(session, user, Role.partner, mary.id)  # e.g. by an invitation
    session.commit()
    provider.set_claims("anna", {**ACCOUNTS["anna"]["claims"], "email": "anna@mail.example"})
    # Her claims grant nothing any more: refused, the SSO membership goes, the other stays.
    assert_problem(browser.sign_in("anna"), 403)
    live = session.exec(select(Membership).where(
        Membership.user_id == user.id, col(Membership.revoked_at).is_(None))).all()
    assert [m.id for m in live] == [invited.id]


def test_a_bad_state_is_refused(configure, browser, kostroma, session):
    configure([{"email_domain": "kostroma.example", "role": "coordinator",
                "city_id": kostroma.id}])
    callback = browser.through_provider(browser.start(), "anna", "anna-pw")
    state = parse_qs(urlsplit(callback).query)["state"][0]

    forged = callback.replace(f"state={state}", "state=" + "x" * len(state))
    problem = assert_problem(browser.open(forged), 422, contains="state does not match")
    assert problem["errors"][0]["loc"] == ["query", "state"]
    assert_problem(browser.open(callback.replace(f"&state={state}", "").replace(
        f"state={state}&", "")), 422, contains="state")
    # Another browser (no flow cookie: a login CSRF) cannot use the code either.
    stranger = TestClient(browser.twinplan.app, base_url=BASE, follow_redirects=False)
    assert_problem(stranger.get(callback), 422, contains="not started here")
    # A flow cookie this service did not sign is ignored.
    stranger.cookies.set(sso.FLOW_COOKIE, "e30.AAAA", domain=urlsplit(BASE).hostname,
                         path="/api/v1/sso")
    assert_problem(stranger.get(callback), 422, contains="not started here")
    assert session.exec(select(User)).all() == []

    # The refusals came before the code was redeemed: the real callback still works.
    assert browser.open(callback).status_code == 302
    assert browser.session().status_code == 200


def test_the_provider_refusing_is_told(configure, browser, kostroma):
    configure([{"email_domain": "kostroma.example", "role": "coordinator",
                "city_id": kostroma.id}])
    authorize = browser.start()
    state = parse_qs(urlsplit(authorize).query)["state"][0]
    refused = browser.open(f"{CALLBACK}?error=access_denied&error_description=no+thanks"
                           f"&state={state}")
    assert_problem(refused, 401, contains="access_denied (no thanks)")


def test_without_configuration_there_is_no_single_sign_on(client):
    assert client.get("/api/v1/sso").json() == {
        "configured": False, "login_url": None, "issuer": None}
    assert_problem(client.get("/api/v1/sso/login", follow_redirects=False), 404,
                   contains="not configured")
    assert_problem(client.get("/api/v1/sso/callback?code=x&state=y"), 404)


def test_the_console_learns_where_to_sign_in(configure, provider, client, kostroma):
    configure([{"email_domain": "kostroma.example", "role": "coordinator",
                "city_id": kostroma.id}])
    assert client.get("/api/v1/sso").json() == {
        "configured": True, "login_url": f"{BASE}/api/v1/sso/login", "issuer": provider.issuer}


# The ID token and PKCE, checked on the provider's real tokens ----------------------


def _code_for(browser: Browser, login: str) -> tuple[sso.LoginStart, str]:
    start = sso.start_login()
    callback = browser.through_provider(start.url, login, ACCOUNTS[login]["password"])
    return start, parse_qs(urlsplit(callback).query)["code"][0]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_the_id_token_is_verified(configure, provider, browser, kostroma, monkeypatch):
    settings = configure([{"email_domain": "kostroma.example", "role": "coordinator",
                           "city_id": kostroma.id}])
    start, code = _code_for(browser, "anna")
    flow = sso.unseal(start.cookie, settings)
    assert flow is not None
    challenge = parse_qs(urlsplit(start.url).query)["code_challenge"][0]
    assert challenge == _b64(hashlib.sha256(flow.code_verifier.encode()).digest())
    found = sso.discover(provider.issuer)
    token = sso.exchange_code(settings, found, code, flow)
    id_token, access = token["id_token"], token["access_token"]

    claims = sso.verify_id_token(settings, found, id_token, nonce=flow.nonce,
                                 access_token=access)
    assert (claims["iss"], claims["aud"], claims["sub"]) == (provider.issuer, CLIENT_ID, "anna")
    assert claims["nonce"] == flow.nonce

    def refused(match: str, token: str = id_token, *, nonce: str = flow.nonce,
                access_token: str | None = access, config: Settings = settings) -> None:
        with pytest.raises(sso.ProviderFailed, match=match):
            sso.verify_id_token(config, found, token, nonce=nonce, access_token=access_token)

    refused("nonce", nonce="another-flows-nonce")
    with pytest.raises(sso.ProviderFailed, match="iss"):
        sso.verify_id_token(settings, dataclasses.replace(found, issuer="https://login.evil"),
                            id_token, nonce=flow.nonce, access_token=access)
    with monkeypatch.context() as later:  # a day on: the token has expired
        now = time.time() + 86_400
        later.setattr(time, "time", lambda: now)
        refused("expired")
    refused("aud", config=settings.model_copy(update={"oidc_client_id": "another-client"}))
    if "at_hash" in claims:  # optional in the code flow; checked when the provider sends it
        refused("at_hash", access_token="another-access-token")
    header, payload, signature = id_token.split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged["sub"] = "boris"
    refused("bad_signature", f"{header}.{_b64(json.dumps(forged).encode())}.{signature}")
    # An HMAC token keyed with the client secret is not the provider's signature.
    hs_header = _b64(json.dumps({"alg": "HS256", "kid": "test-rs256"}).encode())
    body = _b64(json.dumps(forged).encode())
    mac = _b64(hmac.new(CLIENT_SECRET.encode(), f"{hs_header}.{body}".encode(),
                        hashlib.sha256).digest())
    refused("HS256' is not allowed", f"{hs_header}.{body}.{mac}")

    # The code works once.
    with pytest.raises(sso.ProviderFailed, match="refused the code"):
        sso.exchange_code(settings, found, code, flow)


def test_the_provider_wants_the_pkce_verifier(configure, provider, browser, kostroma):
    settings = configure([{"email_domain": "kostroma.example", "role": "coordinator",
                           "city_id": kostroma.id}])
    start, code = _code_for(browser, "anna")
    flow = sso.unseal(start.cookie, settings)
    assert flow is not None
    wrong = sso.Flow(flow.state, flow.nonce, "v" * 64, flow.expires)
    with pytest.raises(sso.ProviderFailed, match="refused the code"):
        sso.exchange_code(settings, sso.discover(provider.issuer), code, wrong)


def test_a_flow_cookie_expires_and_cannot_be_forged(configure, kostroma):
    settings = configure([{"email_domain": "kostroma.example", "role": "coordinator",
                           "city_id": kostroma.id}])
    flow = sso.Flow("s", "n", "v" * 64, expires=2**40)
    sealed = sso.seal(flow, settings)
    assert sso.unseal(sealed, settings) == flow
    other_secret = settings.model_copy(update={"oidc_client_secret": SecretStr("rotated")})
    assert sso.unseal(sealed, other_secret) is None
    assert sso.unseal(sso.seal(sso.Flow("s", "n", "v" * 64, expires=1), settings),
                      settings) is None
    payload, mac = sealed.split(".")
    assert sso.unseal(f"{payload}x.{mac}", settings) is None


# Configuration ---------------------------------------------------------------------


COMPLETE = {
    "TWINPLAN_OIDC_ISSUER": "https://login.kostroma.example",
    "TWINPLAN_OIDC_CLIENT_ID": CLIENT_ID, "TWINPLAN_OIDC_CLIENT_SECRET": CLIENT_SECRET,
    "TWINPLAN_OIDC_MEMBERSHIPS": '[{"claim": "groups", "value": "a", "role": "admin"}]',
}


@pytest.mark.parametrize(("env", "message"), [
    ({"TWINPLAN_OIDC_ISSUER": "https://login.kostroma.example"},
     "single sign-on needs TWINPLAN_OIDC_CLIENT_ID, TWINPLAN_OIDC_CLIENT_SECRET, "
     "TWINPLAN_OIDC_MEMBERSHIPS too"),
    (COMPLETE | {"TWINPLAN_OIDC_ISSUER": "http://login.kostroma.example"},
     "TWINPLAN_OIDC_ISSUER: must be https://"),
    (COMPLETE | {"TWINPLAN_OIDC_MEMBERSHIPS": "[{"}, "TWINPLAN_OIDC_MEMBERSHIPS: not JSON"),
    (COMPLETE | {"TWINPLAN_OIDC_MEMBERSHIPS": (
        '[{"email_domain": "kostroma.example", "role": "admin"},'
        ' {"email_domain": "kostroma.example", "role": "coordinator"}]')},
     'TWINPLAN_OIDC_MEMBERSHIPS: rule 2: a coordinator needs "city_id"'),
    (COMPLETE | {"TWINPLAN_OIDC_MEMBERSHIPS": '[{"claim": "groups", "role": "admin"}]'},
     'rule 1: "claim": "groups" needs a "value"'),
    (COMPLETE | {"TWINPLAN_OIDC_MEMBERSHIPS": '[{"email_domain": "x", "role": "admin"}]'},
     "rule 1: email_domain: not a domain name"),
    (COMPLETE | {"TWINPLAN_OIDC_MEMBERSHIPS": '[{"claim": "g", "value": "v", "role": "mayor"}]'},
     "rule 1: role: Input should be"),
    (COMPLETE | {"TWINPLAN_OIDC_MEMBERSHIPS": (
        '[{"claim": "g", "value": "v", "role": "admin", "city": 1}]')},
     "rule 1: city: Extra inputs are not permitted"),
    (COMPLETE | {"TWINPLAN_OIDC_SCOPES": "email profile"},
     'TWINPLAN_OIDC_SCOPES must include "openid"'),
])
def test_a_bad_configuration_stops_the_service_with_one_clear_line(
    _fresh_settings, monkeypatch, env, message
):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    with pytest.raises(SettingsError) as raised:
        get_settings()
    assert str(raised.value).startswith("invalid configuration: ")
    assert message in str(raised.value)


def test_a_good_configuration_reads_the_rules(_fresh_settings, monkeypatch):
    monkeypatch.setenv("TWINPLAN_OIDC_ISSUER", "https://login.kostroma.example/realms/staff")
    monkeypatch.setenv("TWINPLAN_OIDC_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("TWINPLAN_OIDC_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("TWINPLAN_OIDC_MEMBERSHIPS", json.dumps([
        {"email_domain": "@Kostroma.Example", "role": "coordinator", "city_id": 12},
        {"claim": "realm_access.roles", "value": "twinning-admin", "role": "admin"}]))
    get_settings.cache_clear()
    settings = get_settings()
    assert settings.oidc_enabled and settings.oidc_scopes == "openid email profile"
    domain, nested = settings.oidc_memberships
    assert (domain.email_domain, domain.role, domain.city_id) == (
        "kostroma.example", Role.coordinator, 12)
    claims = {"email": "olga@KOSTROMA.example", "email_verified": True,
              "realm_access": {"roles": ["twinning-admin"]}}
    assert sso.grants(claims, settings.oidc_memberships) == [
        (Role.coordinator, 12), (Role.admin, None)]
    assert sso.grants({**claims, "email_verified": False}, settings.oidc_memberships) == [
        (Role.admin, None)]
    assert sso.grants({"email": "olga@sub.kostroma.example", "email_verified": "true"},
                      settings.oidc_memberships) == []
