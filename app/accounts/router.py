"""HTTP endpoints for people: sign-in sessions, invitations, memberships, passwords,
the second factor and the access audit."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request, Response, status
from sqlmodel import Session

from app.accounts import service, sessions
from app.accounts.models import (
    AccessEventPublic,
    ActingAs,
    InvitationAccept,
    InvitationCreate,
    InvitationPublic,
    MemberPublic,
    MembershipPublic,
    PasswordResetConfirm,
    PasswordResetRequest,
    ProfileUpdate,
    SessionPublic,
    SignIn,
    TotpConfirm,
    TotpSetup,
    User,
    UserPublic,
    UserSession,
)
from app.core.db import SessionDep
from app.core.errors import Unauthorized
from app.core.openapi import problems
from app.core.pagination import Page, PageDep, paginate
from app.core.routing import Router
from app.core.settings import get_settings
from app.core.types import MAX_ID, PathId
from app.keys.auth import CurrentActor

router = Router(prefix="/api/v1", tags=["accounts"])


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def current_session(request: Request, session: SessionDep) -> UserSession:
    """The caller's live sign-in session: 401 without one, 403 for a write without
    the CSRF token or from another site."""
    secret = request.cookies.get(sessions.COOKIE)
    row = sessions.active(session, secret) if secret else None
    if row is None:
        raise Unauthorized("you are not signed in")
    if request.method not in sessions.SAFE_METHODS:
        sessions.check_csrf(request, row)
    return row


SignedInSession = Annotated[UserSession, Depends(current_session)]


def _set_cookie(response: Response, signed: service.SignedIn) -> None:
    secure = get_settings().public_base_url.startswith("https://")
    _, absolute = sessions.lifetimes()
    response.set_cookie(
        sessions.COOKIE, signed.secret, max_age=int(absolute.total_seconds()), path="/",
        httponly=True, secure=secure, samesite="lax",
    )
    # A hint that scripts may read (it holds no secret), so that the console asks
    # "who am I" only when someone may be signed in, not on every anonymous visit.
    response.set_cookie(
        sessions.HINT_COOKIE, "1", max_age=int(absolute.total_seconds()), path="/",
        httponly=False, secure=secure, samesite="lax",
    )


def _clear_cookies(response: Response) -> None:
    response.delete_cookie(sessions.COOKIE, path="/")
    response.delete_cookie(sessions.HINT_COOKIE, path="/")


def _user_public(user: User) -> UserPublic:
    enabled = user.totp_enabled_at is not None
    return UserPublic.model_validate(user, update={"totp_enabled": enabled})


def _session_public(session: Session, row: UserSession) -> SessionPublic:
    user = session.get(User, row.user_id)
    assert user is not None
    acting = sessions.acting_membership(session, row)
    return SessionPublic(
        user=_user_public(user),
        memberships=[MembershipPublic.model_validate(m)
                     for m in service.memberships_of(session, row.user_id)],
        acting_as=MembershipPublic.model_validate(acting) if acting else None,
        csrf_token=row.csrf_token,
        expires_at=row.expires_at,
    )


@router.post("/session", response_model=SessionPublic, responses=problems(
    (401, "The email or the password is wrong, or the authenticator code is needed."),
    (403, "The city requires a second factor that is not set up yet."),
    (429, "Too many failed sign-ins for this account or address (or unknown API keys "
          "from this address); see `Retry-After`.")))
def sign_in(body: SignIn, request: Request, response: Response, session: SessionDep) -> object:
    """Sign in with email and password (and the authenticator code where needed).
    Sets an HttpOnly session cookie; writes made with it need `X-CSRF-Token`."""
    signed = service.sign_in(session, body, _client(request), request.headers.get("user-agent"))
    _set_cookie(response, signed)
    return _session_public(session, signed.row)


@router.get("/session", response_model=SessionPublic)
def who_am_i(row: SignedInSession, session: SessionDep) -> object:
    """The signed-in person, their memberships, the one they act in, the CSRF token."""
    return _session_public(session, row)


@router.patch("/me", response_model=UserPublic, responses=problems(403))
def update_me(body: ProfileUpdate, row: SignedInSession, session: SessionDep) -> object:
    """Change your own name, language (the console's and your emails') or timezone."""
    user = session.get(User, row.user_id)
    assert user is not None
    return _user_public(service.update_profile(session, user, body))


@router.put("/session/acting", response_model=SessionPublic, responses=problems(403))
def act_as(body: ActingAs, row: SignedInSession, session: SessionDep) -> object:
    """Act for another of your cities (or as admin)."""
    return _session_public(session, service.set_acting(session, row, body.membership_id))


@router.delete("/session", status_code=status.HTTP_204_NO_CONTENT, responses=problems(403))
def sign_out(row: SignedInSession, request: Request, session: SessionDep) -> Response:
    service.sign_out(session, row, _client(request))
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    _clear_cookies(response)
    return response


@router.post("/session/sign-out-everywhere", status_code=status.HTTP_204_NO_CONTENT,
             responses=problems(403))
def sign_out_everywhere(row: SignedInSession, request: Request, session: SessionDep) -> Response:
    """End every session of yours, on every device."""
    service.sign_out_everywhere(session, row, _client(request))
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    _clear_cookies(response)
    return response


@router.post("/invitations", status_code=status.HTTP_201_CREATED, response_model=InvitationPublic,
             responses=problems(403))
def invite(body: InvitationCreate, request: Request, session: SessionDep,
           actor: CurrentActor) -> object:
    """Invite someone by email; the worker sends the single-use link (valid 7 days)."""
    invitation, _ = service.create_invitation(session, body, actor, _client(request))
    return invitation


@router.get("/invitations", response_model=Page[InvitationPublic], responses=problems(403))
def list_invitations(
    session: SessionDep, actor: CurrentActor, page: PageDep,
    city_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="One city's.")] = None,
) -> object:
    """Invitations, newest first: admins see all, a coordinator their city's."""
    items, total = paginate(session, service.invitation_query(actor, city_id), page)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/memberships", response_model=Page[MemberPublic], responses=problems(403))
def list_members(
    session: SessionDep, actor: CurrentActor, page: PageDep,
    city_id: Annotated[int, Query(ge=1, le=MAX_ID, description="The city.")],
) -> object:
    """A city's people, by name: who holds a live membership, in which role (admins,
    and the city's coordinators)."""
    items, total = service.member_page(session, actor, city_id, page)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("/invitations/{invitation_id}/revoke", response_model=InvitationPublic,
             responses=problems(409))
def revoke_invitation(invitation_id: PathId, session: SessionDep, actor: CurrentActor) -> object:
    return service.revoke_invitation(session, invitation_id, actor)


@router.post("/invitations/accept", response_model=SessionPublic, responses=problems(
    (403, "The account is disabled."),
    (404, "The invitation is unknown, used, revoked or expired.")))
def accept_invitation(body: InvitationAccept, request: Request, response: Response,
                      session: SessionDep) -> object:
    """Follow the emailed link: creates the account (display name and password needed)
    or adds the membership to yours, and signs you in."""
    signed = service.accept_invitation(session, body, _client(request),
                                       request.headers.get("user-agent"))
    _set_cookie(response, signed)
    return _session_public(session, signed.row)


@router.post("/memberships/{membership_id}/revoke", response_model=MembershipPublic)
def revoke_membership(membership_id: PathId, session: SessionDep, actor: CurrentActor) -> object:
    """End a membership: the person's sessions in it end and its personal keys are revoked."""
    return service.revoke_membership(session, membership_id, actor)


@router.post("/users/{user_id}/disable", response_model=UserPublic, responses=problems(403))
def disable_user(user_id: PathId, session: SessionDep, actor: CurrentActor) -> object:
    """Admin: the person can no longer sign in; every session and personal key ends."""
    return _user_public(service.disable_user(session, user_id, actor))


@router.post("/password-reset", status_code=status.HTTP_202_ACCEPTED, response_class=Response,
             responses={202: {"description": "Accepted; a link is emailed if the account "
                                             "exists (the answer is the same either way)."}})
def request_password_reset(body: PasswordResetRequest, request: Request,
                           session: SessionDep) -> Response:
    """Email a reset link if the account exists. The answer is the same either way."""
    service.request_password_reset(session, str(body.email), _client(request))
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.post("/password-reset/confirm", status_code=status.HTTP_204_NO_CONTENT,
             responses=problems((404, "The link is unknown, used or expired.")))
def reset_password(body: PasswordResetConfirm, session: SessionDep) -> Response:
    """Set a new password with the emailed link; every session of the account ends."""
    service.reset_password(session, body.token, body.password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/session/totp", response_model=TotpSetup, responses=problems(403))
def begin_totp(row: SignedInSession, session: SessionDep) -> object:
    """Start using an authenticator app: a secret, and its otpauth:// URI for a QR code."""
    user = session.get(User, row.user_id)
    assert user is not None
    secret, uri = service.begin_totp(session, user)
    return TotpSetup(secret=secret, otpauth_uri=uri)


@router.post("/session/totp/confirm", response_model=UserPublic, responses=problems(403))
def confirm_totp(body: TotpConfirm, row: SignedInSession, session: SessionDep) -> object:
    """Confirm with a first code; from then on, signing in asks for one."""
    user = session.get(User, row.user_id)
    assert user is not None
    return _user_public(service.confirm_totp(session, user, body.code))


@router.get("/access-events", response_model=Page[AccessEventPublic], responses=problems(403))
def access_audit(session: SessionDep, actor: CurrentActor, page: PageDep) -> object:
    """Sign-ins, failures, invitations, membership changes, keys: admins see all, a
    coordinator its city's."""
    items, total = paginate(session, service.audit_query(actor), page)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)
