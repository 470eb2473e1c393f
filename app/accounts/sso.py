"""Single sign-on: a city hall's staff sign in through its OpenID Connect provider.

One provider per deployment (``TWINPLAN_OIDC_*``, README "Single sign-on"). The
flow is OpenID Connect's authorization code flow with PKCE, as Authlib's OAuth 2
client makes it (``authlib.integrations.httpx_client``), the ID token checked
with joserfc (Authlib's own JOSE library, which its OpenID client uses too):

1. ``GET /api/v1/sso/login``: a fresh ``state``, ``nonce`` and PKCE
   ``code_verifier`` (S256 challenge); the browser is sent to the provider's
   authorization endpoint, found through discovery
   (``{issuer}/.well-known/openid-configuration``, cached for an hour).
2. The person signs in at the provider, which sends the browser back to
   ``{public base URL}/api/v1/sso/callback`` with a code and the state.
3. The callback checks the state, exchanges the code (with the verifier and
   the client secret) at the token endpoint, and verifies the ID token: its
   signature against the provider's JWKS (fetched again once when a key id is
   unknown: the provider rotated its keys), an asymmetric algorithm the
   provider announces, the issuer, the audience (our client id), the expiry,
   the nonce and the access token's hash. The provider's userinfo answer, for
   the same subject, adds the claims a provider keeps out of ID tokens.
4. The claims decide the person and their memberships (``sign_in_with_claims``).

Where the flow's secrets wait between 1 and 3: in a cookie of the browser that
started the flow (``twinplan_sso``: HttpOnly, SameSite=Lax so that the
provider's redirect back, a top-level GET, carries it; Secure over https; path
``/api/v1/sso``; ten minutes), signed with HMAC-SHA256 under a key derived from
the client secret. Not in the database or in memory: nothing to clean up, no
table, and every worker process of every server can finish a flow any other
started. The signature keeps it from being forged; the state in the provider's
redirect must equal the cookie's, so a callback that this browser did not start
(login CSRF) is refused; the verifier never leaves the browser that started the
flow and our server, so a code intercepted on its way is worthless. A second
login started in another tab replaces the cookie, and the first tab's callback
is then refused (start again).

The claims map to memberships by ``TWINPLAN_OIDC_MEMBERSHIPS``: an email domain
(of an email the provider says it verified) or a claim's value grants a role in
a city, or admin. Memberships the claims grant are added (``from_sso``); those
the claims granted before and no longer do are revoked at that sign-in, which
ends the sessions acting in them. Memberships given otherwise (an invitation,
the command line) are left alone. A person whose claims grant nothing is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.deprecate import AuthlibDeprecationWarning
from authlib.integrations.base_client import OAuthError
from authlib.oidc.core import CodeIDToken
from authlib.oidc.discovery import OpenIDProviderMetadata, get_well_known_url
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from sqlmodel import Session, col, select

from app.accounts import service, sessions
from app.accounts.models import AccessKind, Membership, User, normalized_email
from app.cities.models import City
from app.core import clock
from app.core.actors import SYSTEM, Actor, Role
from app.core.errors import AppError, Forbidden, NotFound, Unauthorized
from app.core.settings import OidcMembershipRule, Settings, get_settings

with warnings.catch_warnings():
    # Authlib's httpx integration prefers the newer httpx2 package and warns, at every
    # start, that falling back on httpx (this project's client) is deprecated. The
    # fallback is what we use, and pyproject keeps Authlib below 2.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client

log = logging.getLogger("twinplan.sso")

CALLBACK_PATH = "/api/v1/sso/callback"
LOGIN_PATH = "/api/v1/sso/login"
FLOW_COOKIE = "twinplan_sso"
FLOW_COOKIE_PATH = "/api/v1/sso"
FLOW_SECONDS = 600
DISCOVERY_SECONDS = 3600
HTTP_TIMEOUT = 10.0
# ID tokens signed with a public key only: an HMAC one (keyed with the client
# secret) would prove nothing the secret's other holders could not forge.
ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
              "ES256", "ES384", "ES512", "EdDSA", "Ed25519")
LEEWAY_SECONDS = 60


class ProviderFailed(AppError):
    """The identity provider did not answer, or answered what cannot be trusted."""

    status_code, slug, title = 502, "identity-provider-failed", "Identity provider failed"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        log.warning("single sign-on: %s", detail)  # for whoever runs the service


class BadCallback(AppError):
    """A callback that this browser did not start (or started too long ago), or one
    without a code: 422, naming the query parameter at fault."""

    status_code, slug, title = 422, "validation-error", "Invalid input"

    def __init__(self, detail: str, *, parameter: str) -> None:
        super().__init__(detail, errors=[
            {"loc": ["query", parameter], "msg": detail, "type": "value_error"}])


def configured() -> Settings:
    settings = get_settings()
    if not settings.oidc_enabled:
        raise NotFound("single sign-on is not configured here (TWINPLAN_OIDC_ISSUER)")
    return settings


def redirect_uri(settings: Settings) -> str:
    """What to register at the provider as the client's redirect URI."""
    return settings.public_base_url + CALLBACK_PATH


def login_url(settings: Settings) -> str:
    return settings.public_base_url + LOGIN_PATH


# Discovery and keys ---------------------------------------------------------------


@dataclass(frozen=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    algorithms: tuple[str, ...]
    token_auth_method: str


_lock = threading.Lock()
_discovered: dict[str, tuple[float, Provider]] = {}
_key_sets: dict[str, KeySet] = {}


def _get_json(url: str, **kw: Any) -> Any:
    try:
        response = httpx.get(url, timeout=HTTP_TIMEOUT, follow_redirects=False, **kw)
        response.raise_for_status()
        return response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderFailed(f"the identity provider did not answer {url}: {exc}") from exc


def discover(issuer: str, *, refresh: bool = False) -> Provider:
    """The provider's endpoints from its discovery document (cached for an hour)."""
    with _lock:
        cached = _discovered.get(issuer)
    if cached and not refresh and time.monotonic() - cached[0] < DISCOVERY_SECONDS:
        return cached[1]
    data = _get_json(get_well_known_url(issuer, external=True))
    metadata = OpenIDProviderMetadata(data if isinstance(data, dict) else {})
    try:
        metadata.validate()
    except (ValueError, KeyError, TypeError) as exc:
        raise ProviderFailed(f"the identity provider's discovery document is invalid: {exc}"
                             ) from exc
    # OpenID Connect Discovery 4.3: the document must name the very issuer asked.
    if str(metadata["issuer"]).rstrip("/") != issuer.rstrip("/"):
        raise ProviderFailed(f"the discovery document at {issuer} names another issuer, "
                             f"{metadata['issuer']}; set TWINPLAN_OIDC_ISSUER to it")
    announced = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = tuple(a for a in announced if a in ASYMMETRIC)
    if not algorithms:
        raise ProviderFailed(f"the identity provider signs ID tokens with {announced} only; "
                             "Twinplan needs a public-key algorithm such as RS256")
    methods = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    provider = Provider(
        issuer=str(metadata["issuer"]),
        authorization_endpoint=str(metadata["authorization_endpoint"]),
        token_endpoint=str(metadata["token_endpoint"]),
        jwks_uri=str(metadata["jwks_uri"]),
        userinfo_endpoint=metadata.get("userinfo_endpoint"),
        algorithms=algorithms,
        token_auth_method=("client_secret_basic" if "client_secret_basic" in methods
                           else "client_secret_post"),
    )
    with _lock:
        _discovered[issuer] = (time.monotonic(), provider)
    return provider


def _key_set(provider: Provider, *, refresh: bool = False) -> KeySet:
    with _lock:
        keys = _key_sets.get(provider.jwks_uri)
    if keys is None or refresh:
        data = _get_json(provider.jwks_uri)
        try:
            keys = KeySet.import_key_set(data)
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise ProviderFailed(f"the identity provider's keys cannot be read: {exc}") from exc
        with _lock:
            _key_sets[provider.jwks_uri] = keys
    return keys


# The flow's secrets, in a signed cookie -------------------------------------------


@dataclass(frozen=True)
class Flow:
    state: str
    nonce: str
    code_verifier: str
    expires: int


def _flow_key(settings: Settings) -> bytes:
    assert settings.oidc_client_secret is not None
    secret = settings.oidc_client_secret.get_secret_value().encode("utf-8")
    return hmac.new(secret, b"twinplan sso flow cookie", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seal(flow: Flow, settings: Settings) -> str:
    payload = _b64(json.dumps(
        [flow.state, flow.nonce, flow.code_verifier, flow.expires]).encode("utf-8"))
    mac = hmac.new(_flow_key(settings), payload.encode("ascii"), hashlib.sha256).digest()
    return f"{payload}.{_b64(mac)}"


def unseal(value: str | None, settings: Settings) -> Flow | None:
    """The flow the cookie holds, if this service signed it and it has not expired."""
    if not value or value.count(".") != 1:
        return None
    payload, mac = value.split(".")
    try:
        expected = hmac.new(_flow_key(settings), payload.encode("ascii"), hashlib.sha256)
        if not hmac.compare_digest(_unb64(mac), expected.digest()):
            return None
        state, nonce, verifier, expires = json.loads(_unb64(payload))
    except (ValueError, TypeError):
        return None
    if not isinstance(expires, int) or expires < time.time():
        return None
    return Flow(str(state), str(nonce), str(verifier), expires)


# The flow -------------------------------------------------------------------------


def _client(settings: Settings, provider: Provider) -> OAuth2Client:
    assert settings.oidc_client_secret is not None
    return OAuth2Client(
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret.get_secret_value(),
        scope=settings.oidc_scopes,
        redirect_uri=redirect_uri(settings),
        code_challenge_method="S256",
        token_endpoint_auth_method=provider.token_auth_method,
        timeout=HTTP_TIMEOUT,
    )


@dataclass(frozen=True)
class LoginStart:
    url: str
    cookie: str


def start_login() -> LoginStart:
    """Where to send the browser, and the cookie to give it meanwhile."""
    settings = configured()
    assert settings.oidc_issuer is not None
    provider = discover(settings.oidc_issuer)
    flow = Flow(state=secrets.token_urlsafe(24), nonce=secrets.token_urlsafe(24),
                code_verifier=secrets.token_urlsafe(48),  # 64 characters (RFC 7636: 43-128)
                expires=int(time.time()) + FLOW_SECONDS)
    with _client(settings, provider) as client:
        url, _ = client.create_authorization_url(
            provider.authorization_endpoint, state=flow.state, nonce=flow.nonce,
            code_verifier=flow.code_verifier)
    return LoginStart(url=url, cookie=seal(flow, settings))


def exchange_code(settings: Settings, provider: Provider, code: str, flow: Flow
                  ) -> dict[str, Any]:
    """The provider's tokens for the code (proving the flow with the PKCE verifier)."""
    with _client(settings, provider) as client:
        try:
            token = client.fetch_token(
                provider.token_endpoint, grant_type="authorization_code", code=code,
                code_verifier=flow.code_verifier)
        except OAuthError as exc:
            raise ProviderFailed(f"the identity provider refused the code: {exc}") from exc
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderFailed(f"the identity provider's token endpoint failed: {exc}"
                                 ) from exc
    if not token.get("id_token"):
        raise ProviderFailed("the identity provider sent no ID token (is \"openid\" in "
                             "TWINPLAN_OIDC_SCOPES?)")
    return dict(token)


def verify_id_token(settings: Settings, provider: Provider, id_token: str, *, nonce: str,
                    access_token: str | None) -> dict[str, Any]:
    """The ID token's claims, once its signature, issuer, audience, expiry, nonce and
    access-token hash hold; ``ProviderFailed`` otherwise."""
    registry = JWSRegistry(algorithms=list(provider.algorithms), strict_check_header=False)
    try:
        try:
            token = jwt.decode(id_token, _key_set(provider), registry=registry)
        except InvalidKeyIdError:  # a key made since we fetched them: fetch again, once
            token = jwt.decode(id_token, _key_set(provider, refresh=True), registry=registry)
        params: dict[str, Any] = {"nonce": nonce, "client_id": settings.oidc_client_id}
        if access_token:
            params["access_token"] = access_token
        claims = CodeIDToken(
            token.claims, token.header,
            {"iss": {"essential": True, "value": provider.issuer},
             "aud": {"essential": True, "value": settings.oidc_client_id},
             "nonce": {"essential": True}},
            params,
        )
        claims.validate(leeway=LEEWAY_SECONDS)
    except (JoseError, ValueError) as exc:
        raise ProviderFailed(f"the ID token is not valid: {exc}") from exc
    return dict(claims)


def fetch_userinfo(provider: Provider, access_token: str, subject: str) -> dict[str, Any]:
    """The userinfo claims of the same subject (OpenID Connect Core 5.3.2)."""
    if not provider.userinfo_endpoint:
        return {}
    info = _get_json(provider.userinfo_endpoint,
                     headers={"Authorization": f"Bearer {access_token}"})
    if not isinstance(info, dict) or info.get("sub") != subject:
        raise ProviderFailed("the identity provider's userinfo is about someone else")
    return info


def finish_login(
    session: Session, *, cookie: str | None, state: str | None, code: str | None,
    error: str | None, error_description: str | None, client: str | None,
    user_agent: str | None,
) -> service.SignedIn:
    """The provider's redirect back: check it, redeem the code, sign the person in."""
    settings = configured()
    assert settings.oidc_issuer is not None
    flow = unseal(cookie, settings)
    if flow is None:
        raise BadCallback("this sign-in was not started here, or started more than "
                          f"{FLOW_SECONDS // 60} minutes ago: sign in again", parameter="state")
    if not state or not hmac.compare_digest(state.encode(), flow.state.encode()):
        raise BadCallback("the state does not match the sign-in this browser started: "
                          "sign in again", parameter="state")
    if error:
        raise Unauthorized(f"the identity provider did not sign you in: {error}"
                           + (f" ({error_description})" if error_description else ""))
    if not code:
        raise BadCallback("the identity provider sent no code", parameter="code")
    # No transaction waits on the provider (the key lookup may have begun one).
    if session.in_transaction():
        session.commit()
    provider = discover(settings.oidc_issuer)
    token = exchange_code(settings, provider, code, flow)
    access_token = token.get("access_token")
    claims = verify_id_token(settings, provider, token["id_token"], nonce=flow.nonce,
                             access_token=access_token)
    if access_token:
        extra = fetch_userinfo(provider, access_token, str(claims["sub"]))
        claims = {**extra, **claims}  # what the signed token says wins
    return sign_in_with_claims(session, provider.issuer, claims, client, user_agent, settings)


# Claims to a person and memberships -----------------------------------------------


def _claim(claims: dict[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _email_verified(claims: dict[str, Any]) -> bool:
    verified = claims.get("email_verified")
    return verified is True or (isinstance(verified, str) and verified.lower() == "true")


def grants(claims: dict[str, Any], rules: tuple[OidcMembershipRule, ...]
           ) -> list[tuple[Role, int | None]]:
    """The memberships the claims grant, in the rules' order, each once."""
    email = claims.get("email")
    domain = (normalized_email(email).rpartition("@")[2]
              if isinstance(email, str) and _email_verified(claims) else None)
    out: list[tuple[Role, int | None]] = []
    for rule in rules:
        if rule.email_domain is not None:
            matched = domain == rule.email_domain
        else:
            assert rule.claim is not None
            value = _claim(claims, rule.claim)
            matched = (value == rule.value if isinstance(value, str)
                       else isinstance(value, list) and rule.value in value)
        if matched and (rule.role, rule.city_id) not in out:
            out.append((rule.role, rule.city_id))
    return out


def _refuse(session: Session, detail: str, *, user: User | None, email: str | None,
            client: str | None, error: AppError) -> AppError:
    """Record a refused sign-in, committed even though the request fails."""
    service.audit(session, AccessKind.sign_in_failed, SYSTEM,
                  user_id=user.id if user else None, email=email, client=client,
                  detail=f"sso: {detail}")
    session.commit()
    return error


def _person(session: Session, issuer: str, claims: dict[str, Any], client: str | None
            ) -> User | None:
    """The account of the provider's subject: linked before, or found by its verified
    email (to be linked); None when there is none yet."""
    subject = str(claims["sub"])
    user = session.exec(select(User).where(
        User.sso_issuer == issuer, User.sso_subject == subject)).first()
    if user is not None:
        return user
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise _refuse(session, "no email claim", user=None, email=None, client=client,
                      error=Forbidden("your identity provider gave no email address; "
                                      'Twinplan needs one (the "email" scope)'))
    if not _email_verified(claims):
        raise _refuse(session, "email not verified", user=None, email=email, client=client,
                      error=Forbidden(f"your identity provider has not verified {email}; "
                                      "Twinplan signs in verified addresses only"))
    user = service.find_user(session, email)
    if user is not None and user.sso_issuer == issuer and user.sso_subject is not None:
        raise _refuse(session, "email linked to another subject", user=user, email=email,
                      client=client,
                      error=Forbidden(f"{email} is linked to another account at your "
                                      "identity provider"))
    return user


def _link(session: Session, user: User | None, issuer: str, claims: dict[str, Any]) -> User:
    """Remember who the person is at the provider (making the account if needed)."""
    if user is None:
        email = str(claims["email"])
        name = claims.get("name") or claims.get("preferred_username") or email.split("@")[0]
        user = service.create_user(session, email=email, display_name=str(name)[:200],
                                   password=None)
    subject = str(claims["sub"])
    if (user.sso_issuer, user.sso_subject) != (issuer, subject):
        user.sso_issuer, user.sso_subject = issuer, subject
        user.updated_at = clock.now()
        session.add(user)
        session.flush()
    return user


def _existing(session: Session, granted: list[tuple[Role, int | None]]
              ) -> list[tuple[Role, int | None]]:
    """The grants whose city exists (a rule naming a deleted city is logged, skipped)."""
    city_ids = {city for _, city in granted if city is not None}
    found = set(session.exec(select(City.id).where(col(City.id).in_(city_ids))).all())
    out = []
    for role, city_id in granted:
        if city_id is not None and city_id not in found:
            log.warning("TWINPLAN_OIDC_MEMBERSHIPS grants %s of city %s, which does not exist",
                        role, city_id)
            continue
        out.append((role, city_id))
    return out


def _sync_memberships(session: Session, user: User, granted: list[tuple[Role, int | None]]
                      ) -> Membership | None:
    """Revoke the single sign-on memberships the claims no longer grant (their sessions
    end), add what they grant; the membership to act in (the first granted), if any."""
    assert user.id is not None
    current = service.memberships_of(session, user.id)
    for membership in current:
        if membership.from_sso and (Role(membership.role), membership.city_id) not in granted:
            service.revoke_membership(session, membership.id or 0, SYSTEM)
    first: Membership | None = None
    for role, city_id in granted:
        found = next((m for m in current if m.revoked_at is None and Role(m.role) is role
                      and m.city_id == city_id), None)
        if found is None:
            found = Membership(user_id=user.id, role=role, city_id=city_id, from_sso=True,
                               created_at=clock.now())
            session.add(found)
            session.flush()
            service.audit(session, AccessKind.membership_granted, SYSTEM, user_id=user.id,
                          email=user.email, city_id=city_id, detail=f"{role} (sso)")
        first = first or found
    return first


def sign_in_with_claims(
    session: Session, issuer: str, claims: dict[str, Any], client: str | None,
    user_agent: str | None, settings: Settings | None = None,
) -> service.SignedIn:
    """Sign in the person the verified claims describe, with the memberships they grant.

    Refused (403, and a failed sign-in in the audit) when the claims grant nothing:
    an account is then neither made nor linked, and an existing one loses the
    single sign-on memberships it had.
    """
    settings = settings or get_settings()
    user = _person(session, issuer, claims, client)
    if user is not None and user.disabled_at is not None:
        raise _refuse(session, "account disabled", user=user, email=user.email, client=client,
                      error=Forbidden("this account is disabled"))
    granted = _existing(session, grants(claims, settings.oidc_memberships))
    if not granted:
        if user is not None and user.sso_issuer == issuer:
            _sync_memberships(session, user, [])
        email = claims.get("email")
        raise _refuse(session, "the claims grant no membership", user=user,
                      email=email if isinstance(email, str) else None, client=client,
                      error=Forbidden("your identity provider's account grants you no role "
                                      "in Twinplan; ask your city hall's administrator"))
    user = _link(session, user, issuer, claims)
    acting = _sync_memberships(session, user, granted)
    assert acting is not None
    row, secret = sessions.start(session, user, membership_id=acting.id, client=client,
                                 user_agent=user_agent)
    service.audit(session, AccessKind.signed_in, Actor(role=None, user_id=user.id),
                  user_id=user.id, email=user.email, client=client, city_id=acting.city_id,
                  detail="sso")
    return service.SignedIn(user, row, secret)
