"""HTTP endpoints of single sign-on: whether it is on, the way out to the identity
provider, and the way back (``app.accounts.sso`` says how the flow works)."""

from __future__ import annotations

from fastapi import Request, status
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field

from app.accounts import sso
from app.accounts.router import _client, _set_cookie
from app.core.db import SessionDep
from app.core.openapi import problems
from app.core.routing import Router
from app.core.settings import get_settings

router = Router(prefix="/api/v1/sso", tags=["accounts"])

NOT_CONFIGURED = (404, "Single sign-on is not configured here.")
PROVIDER_FAILED = (502, "The identity provider did not answer, or its answer could not be "
                        "verified (discovery, keys, token).")


class SsoInfo(BaseModel):
    """For the console's sign-in page: offer "Sign in with your city hall account"?"""

    configured: bool
    login_url: str | None = Field(
        description="Send the browser here (a top-level navigation, not a fetch) to sign "
        "in at the identity provider; null when single sign-on is not configured.")
    issuer: str | None = Field(description="The identity provider (its OpenID issuer).")


@router.get("", response_model=SsoInfo)
def sso_info() -> SsoInfo:
    """Whether people can sign in through the city hall's identity provider, and where."""
    settings = get_settings()
    if not settings.oidc_enabled:
        return SsoInfo(configured=False, login_url=None, issuer=None)
    return SsoInfo(configured=True, login_url=sso.login_url(settings),
                   issuer=settings.oidc_issuer)


def _flow_cookie(response: RedirectResponse, value: str | None) -> None:
    secure = get_settings().public_base_url.startswith("https://")
    if value is None:
        response.delete_cookie(sso.FLOW_COOKIE, path=sso.FLOW_COOKIE_PATH, httponly=True,
                               secure=secure, samesite="lax")
        return
    response.set_cookie(sso.FLOW_COOKIE, value, max_age=sso.FLOW_SECONDS,
                        path=sso.FLOW_COOKIE_PATH, httponly=True, secure=secure, samesite="lax")


@router.get(
    "/login", status_code=status.HTTP_302_FOUND, response_class=RedirectResponse,
    responses={302: {"description": "To the identity provider's sign-in page."},
               **problems(NOT_CONFIGURED, PROVIDER_FAILED)},
)
def sso_login() -> RedirectResponse:
    """Sign in at the city hall's identity provider (OpenID Connect, code flow with
    PKCE); it sends the browser back to `/api/v1/sso/callback`."""
    start = sso.start_login()
    response = RedirectResponse(start.url, status_code=status.HTTP_302_FOUND)
    response.headers["Cache-Control"] = "no-store"
    _flow_cookie(response, start.cookie)
    return response


@router.get(
    "/callback", status_code=status.HTTP_302_FOUND, response_class=RedirectResponse,
    responses={302: {"description": "Signed in (the session cookie is set): to the console."},
               **problems(NOT_CONFIGURED, PROVIDER_FAILED)},
)
def sso_callback(
    request: Request, session: SessionDep, code: str | None = None, state: str | None = None,
    error: str | None = None, error_description: str | None = None,
) -> RedirectResponse:
    """Where the identity provider sends the browser back. Verifies the answer, finds
    or makes the account, grants and revokes memberships by the claims, and signs in.
    Refused: 422 when this browser did not start the sign-in or the `state` does not
    match; 401 when the provider answered an `error`; 403 when the claims grant no
    role."""
    signed = sso.finish_login(
        session, cookie=request.cookies.get(sso.FLOW_COOKIE), state=state, code=code,
        error=error, error_description=error_description, client=_client(request),
        user_agent=request.headers.get("user-agent"))
    response = RedirectResponse("/console/", status_code=status.HTTP_302_FOUND)
    response.headers["Cache-Control"] = "no-store"
    _set_cookie(response, signed)
    _flow_cookie(response, None)
    return response
