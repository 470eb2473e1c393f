"""Accounts: people, their memberships, signing in and out, invitations, resets.

Every function takes the acting ``Actor`` where a rule applies and leaves a row
in the access audit (``AccessEvent``) for what an admin would want to trace.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pyotp
from sqlalchemy import func
from sqlmodel import Session, col, select

from app.accounts import passwords, policy, sessions
from app.accounts.changes import AccountMail
from app.accounts.models import (
    AccessEvent,
    AccessKind,
    Invitation,
    InvitationAccept,
    InvitationCreate,
    Language,
    MemberPublic,
    Membership,
    PasswordReset,
    ProfileUpdate,
    SignIn,
    User,
    UserSession,
    normalized_email,
)
from app.cities.models import City
from app.core import changes, clock
from app.core.actors import Actor, Role
from app.core.errors import (
    Conflict,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
    Unprocessable,
)
from app.core.pagination import PageParams, paginate
from app.core.settings import get_settings
from app.keys.changes import ApiKeyIssued
from app.keys.models import ApiKey
from app.keys.service import hash_key

INVITATION_VALID_FOR = timedelta(days=7)
RESET_VALID_FOR = timedelta(hours=1)
# Sign-in throttling: failures within the window, per account (email) and per
# client address. Unknown emails count like known ones: the answer never says
# whether an account exists.
THROTTLE_WINDOW = timedelta(minutes=15)
FAILURES_PER_ACCOUNT = 5
FAILURES_PER_ADDRESS = 20
WRONG = "the email or the password is wrong"
# Whoever is not signed in yet: sign-in attempts and reset requests.
ANONYMOUS = Actor(role=None)



def audit(
    session: Session, kind: AccessKind, actor: Actor, *, user_id: int | None = None,
    email: str | None = None, city_id: int | None = None, client: str | None = None,
    detail: str | None = None,
) -> None:
    session.add(AccessEvent(
        at=clock.now(), kind=kind, user_id=user_id,
        email_key=normalized_email(email) if email else None, city_id=city_id,
        actor=actor.label, client_address=client or actor.address, detail=detail,
    ))
    session.flush()


@changes.receiver(ApiKeyIssued)
def audit_key(issued: ApiKeyIssued, session: Session) -> None:
    """Key creation is in the access audit, with who made it and from where."""
    session.add(AccessEvent(
        at=clock.now(), kind=AccessKind.api_key_created, user_id=issued.user_id,
        city_id=issued.city_id, actor=issued.by, client_address=issued.address,
        detail=f"{issued.role} key {issued.key_id}",
    ))
    session.flush()


# People and memberships ---------------------------------------------------------


def find_user(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email_key == normalized_email(email))).first()


def create_user(
    session: Session, *, email: str, display_name: str, password: str | None,
    language: Language = Language.en, timezone: str = "UTC",
) -> User:
    if find_user(session, email) is not None:
        raise Conflict(f"an account for {email} exists already")
    user = User(
        email=email.strip(), email_key=normalized_email(email), display_name=display_name,
        language=language, timezone=timezone,
        password_hash=passwords.hash_password(password) if password else None,
    )
    session.add(user)
    session.flush()
    return user


def add_membership(session: Session, user: User, role: Role, city_id: int | None) -> Membership:
    """The person's membership in this role and city; made if they have none yet."""
    assert user.id is not None
    found = session.exec(select(Membership).where(
        Membership.user_id == user.id, Membership.role == role,
        col(Membership.city_id).is_(None) if city_id is None else Membership.city_id == city_id,
        col(Membership.revoked_at).is_(None),
    )).first()
    if found is not None:
        return found
    if city_id is not None and session.get(City, city_id) is None:
        raise Unprocessable(f"city {city_id} does not exist", field="city_id")
    membership = Membership(user_id=user.id, role=role, city_id=city_id)
    session.add(membership)
    session.flush()
    return membership


def memberships_of(session: Session, user_id: int) -> list[Membership]:
    return list(session.exec(
        select(Membership)
        .where(Membership.user_id == user_id, col(Membership.revoked_at).is_(None))
        .order_by(col(Membership.id))
    ).all())


def _revoke_personal_keys(session: Session, user_id: int, membership: Membership | None) -> None:
    query = select(ApiKey).where(ApiKey.user_id == user_id, col(ApiKey.revoked_at).is_(None))
    if membership is not None:
        query = query.where(ApiKey.role == membership.role)
        query = query.where(col(ApiKey.city_id).is_(None) if membership.city_id is None
                            else ApiKey.city_id == membership.city_id)
    for key in session.exec(query).all():
        key.revoked_at = clock.now()
        session.add(key)
    session.flush()


def revoke_membership(session: Session, membership_id: int, actor: Actor) -> Membership:
    """End a membership: its sessions end and its personal keys are revoked at once."""
    membership = session.get(Membership, membership_id)
    if membership is None or not policy.can_manage_membership(actor, membership):
        raise NotFound(f"membership {membership_id} does not exist")
    if membership.revoked_at is None:
        membership.revoked_at = clock.now()
        session.add(membership)
        sessions.end_all(session, membership.user_id, membership_id=membership.id)
        _revoke_personal_keys(session, membership.user_id, membership)
        audit(session, AccessKind.membership_revoked, actor, user_id=membership.user_id,
              city_id=membership.city_id, detail=f"{membership.role}")
    return membership


def disable_user(session: Session, user_id: int, actor: Actor) -> User:
    if not policy.can_manage_users(actor):
        raise Forbidden("only an admin may disable a person")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    if user.disabled_at is None:
        user.disabled_at = user.updated_at = clock.now()
        session.add(user)
        sessions.end_all(session, user_id)
        _revoke_personal_keys(session, user_id, None)
        audit(session, AccessKind.user_disabled, actor, user_id=user_id, email=user.email)
    return user


# Signing in and out -----------------------------------------------------------------


def _failures_since(session: Session, column: Any, value: str, since: datetime) -> list[datetime]:
    return list(session.exec(
        select(AccessEvent.at)
        .where(column == value, AccessEvent.kind == AccessKind.sign_in_failed,
               col(AccessEvent.at) > since)
        .order_by(col(AccessEvent.at))
    ).all())


def _check_throttle(session: Session, email: str, client: str | None) -> None:
    """429 once an account or an address has failed too often in the window; Retry-After
    says when the oldest of those failures leaves it."""
    now = clock.now()
    since = now - THROTTLE_WINDOW
    checks = [(col(AccessEvent.email_key), normalized_email(email), FAILURES_PER_ACCOUNT)]
    if client:
        checks.append((col(AccessEvent.client_address), client, FAILURES_PER_ADDRESS))
    for column, value, limit in checks:
        failures = _failures_since(session, column, value, since)
        if len(failures) >= limit:
            wait = failures[-limit] + THROTTLE_WINDOW - now
            raise TooManyRequests(
                "too many failed sign-ins; try again later",
                retry_after=max(1, math.ceil(wait.total_seconds())),
            )


@dataclass(frozen=True)
class SignedIn:
    user: User
    row: UserSession
    secret: str


def _fail(session: Session, data: SignIn, client: str | None, detail: str) -> Unauthorized:
    """Record a failed sign-in, committed even though the request fails."""
    user = find_user(session, data.email)
    audit(session, AccessKind.sign_in_failed, ANONYMOUS, user_id=user.id if user else None,
          email=data.email, client=client, detail=detail)
    session.commit()
    return Unauthorized(WRONG)


def _needs_totp(session: Session, user: User, memberships: list[Membership]) -> bool:
    if user.totp_enabled_at is not None:
        return True
    city_ids = [m.city_id for m in memberships if m.role == Role.coordinator and m.city_id]
    if not city_ids:
        return False
    return bool(session.exec(select(func.count()).select_from(City).where(
        col(City.id).in_(city_ids), col(City.require_totp))).one())


def sign_in(session: Session, data: SignIn, client: str | None, user_agent: str | None
            ) -> SignedIn:
    _check_throttle(session, data.email, client)
    user = find_user(session, data.email)
    ok, rehashed = passwords.verify(data.password, user.password_hash if user else None)
    if user is None or not ok or user.disabled_at is not None:
        raise _fail(session, data, client, "wrong email or password")
    memberships = memberships_of(session, user.id or 0)
    if _needs_totp(session, user, memberships):
        if user.totp_enabled_at is None or user.totp_secret is None:
            raise Forbidden("your city requires a second factor: set up an authenticator "
                            "app first (ask a coordinator to reset your access)",
                            totp_setup_required=True)
        if data.totp_code is None:
            raise Unauthorized("enter the 6-digit code from your authenticator app",
                               totp_required=True)
        if not _code_fits(user.totp_secret, data.totp_code):
            raise _fail(session, data, client, "wrong authenticator code")
    if rehashed:
        user.password_hash = rehashed
        session.add(user)
    row, secret = sessions.start(
        session, user, membership_id=memberships[0].id if memberships else None,
        client=client, user_agent=user_agent)
    audit(session, AccessKind.signed_in, Actor(role=None, user_id=user.id), user_id=user.id,
          email=user.email, client=client,
          city_id=memberships[0].city_id if memberships else None)
    return SignedIn(user, row, secret)


def update_profile(session: Session, user: User, data: ProfileUpdate) -> User:
    """Change one's own name, language or timezone."""
    for name, value in data.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(user, name, value)
    user.updated_at = clock.now()
    session.add(user)
    session.flush()
    return user


def set_acting(session: Session, row: UserSession, membership_id: int) -> UserSession:
    membership = session.get(Membership, membership_id)
    if membership is None or membership.user_id != row.user_id or membership.revoked_at:
        raise Unprocessable(f"you have no membership {membership_id}", field="membership_id")
    row.membership_id = membership_id
    session.add(row)
    session.flush()
    return row


def sign_out(session: Session, row: UserSession, client: str | None) -> None:
    sessions.end(session, row)
    audit(session, AccessKind.signed_out, Actor(role=None, user_id=row.user_id),
          user_id=row.user_id, client=client)


def sign_out_everywhere(session: Session, row: UserSession, client: str | None) -> int:
    ended = sessions.end_all(session, row.user_id)
    audit(session, AccessKind.signed_out_everywhere, Actor(role=None, user_id=row.user_id),
          user_id=row.user_id, client=client, detail=f"{ended} session(s)")
    return ended


# Invitations ------------------------------------------------------------------------


def _link(path: str, secret: str) -> str:
    return f"{get_settings().public_base_url}{path}?token={secret}"


def create_invitation(
    session: Session, data: InvitationCreate, actor: Actor, client: str | None = None
) -> tuple[Invitation, str]:
    if not policy.can_invite(actor, data.role, data.city_id):
        raise Forbidden("an admin invites anyone; a coordinator invites coordinators and "
                        "partners of its own city")
    city = session.get(City, data.city_id) if data.city_id is not None else None
    if data.city_id is not None and city is None:
        raise Unprocessable(f"city {data.city_id} does not exist", field="city_id")
    secret = "tpi_" + secrets.token_urlsafe(32)
    invitation = Invitation(
        email=str(data.email), role=data.role, city_id=data.city_id, token_hash=hash_key(secret),
        invited_by=actor.label, expires_at=clock.now() + INVITATION_VALID_FOR,
    )
    session.add(invitation)
    session.flush()
    where = f" of {city.name}" if city else ""
    link = _link("/console/accept-invitation", secret)
    changes.record(session, AccountMail(
        key=f"invitation:{invitation.id}", to=invitation.email, city_id=data.city_id,
        subject=f"Twinplan: you are invited as {data.role}{where}",
        text=(f"You are invited to Twinplan as {data.role}{where}.\n\n"
              f"Accept within 7 days (the link works once):\n{link}\n\n"
              f"Вас пригласили в Twinplan ({data.role}{where}). Ссылка действует 7 дней "
              f"и только один раз:\n{link}\n"),
    ))
    audit(session, AccessKind.invited, actor, email=invitation.email, city_id=data.city_id,
          client=client, detail=str(data.role))
    return invitation, secret


def invitation_query(actor: Actor, city_id: int | None = None) -> Any:
    """Invitations, newest first: all for admins, one city's for its coordinators;
    ``city_id`` narrows to one city."""
    query = select(Invitation).order_by(col(Invitation.id).desc())
    if not (actor.is_admin or actor.is_system):
        if actor.role is not Role.coordinator or actor.city_id is None:
            raise Forbidden("invitations are seen by admins and by a city's coordinators")
        if city_id is not None and city_id != actor.city_id:
            raise Forbidden("a coordinator sees the invitations of their own city")
        city_id = actor.city_id
    if city_id is not None:
        query = query.where(Invitation.city_id == city_id)
    return query


def member_page(session: Session, actor: Actor, city_id: int, page: PageParams
                ) -> tuple[list[MemberPublic], int]:
    """A city's people (live memberships of accounts not disabled), by name, and how
    many there are."""
    if not policy.can_see_members(actor, city_id):
        raise Forbidden("a city's people are seen by admins and by its coordinators")
    query = (
        select(Membership, User)
        .join(User, col(User.id) == col(Membership.user_id))
        .where(Membership.city_id == city_id, col(Membership.revoked_at).is_(None),
               col(User.disabled_at).is_(None))
        .order_by(col(User.display_name), col(Membership.id))
    )
    rows, total = paginate(session, query, page)
    return [MemberPublic.model_validate(m, update={
        "display_name": u.display_name, "email": u.email}) for m, u in rows], total


def revoke_invitation(session: Session, invitation_id: int, actor: Actor) -> Invitation:
    invitation = session.get(Invitation, invitation_id)
    if invitation is None or not policy.can_invite(actor, invitation.role, invitation.city_id):
        raise NotFound(f"invitation {invitation_id} does not exist")
    if invitation.accepted_at is not None:
        raise Conflict(f"invitation {invitation_id} was accepted already")
    if invitation.revoked_at is None:
        invitation.revoked_at = clock.now()
        session.add(invitation)
        audit(session, AccessKind.invitation_revoked, actor, email=invitation.email,
              city_id=invitation.city_id)
    return invitation


def accept_invitation(
    session: Session, data: InvitationAccept, client: str | None, user_agent: str | None
) -> SignedIn:
    """Create the account (or add the membership to the invitee's existing one) and
    sign them in. The link works once, until it expires or is revoked."""
    invitation = session.exec(
        select(Invitation).where(Invitation.token_hash == hash_key(data.token)).with_for_update()
    ).first()
    if (invitation is None or invitation.revoked_at is not None
            or invitation.accepted_at is not None or clock.now() >= invitation.expires_at):
        raise NotFound("this invitation is unknown, used, revoked or expired; ask for a new one")
    user = find_user(session, invitation.email)
    if user is None:
        if not data.password or not data.display_name:
            raise Unprocessable("a new account needs display_name and password",
                                field="password" if data.display_name else "display_name")
        user = create_user(session, email=invitation.email, display_name=data.display_name,
                           password=data.password, language=data.language,
                           timezone=data.timezone)
    elif user.disabled_at is not None:
        raise Forbidden("this account is disabled")
    membership = add_membership(session, user, Role(invitation.role), invitation.city_id)
    invitation.accepted_at = clock.now()
    invitation.accepted_by_user_id = user.id
    session.add(invitation)
    row, secret = sessions.start(session, user, membership_id=membership.id, client=client,
                                 user_agent=user_agent)
    audit(session, AccessKind.invitation_accepted, Actor(role=None, user_id=user.id),
          user_id=user.id, email=user.email, city_id=invitation.city_id, client=client)
    return SignedIn(user, row, secret)


# Passwords and the second factor ----------------------------------------------------


def request_password_reset(session: Session, email: str, client: str | None) -> None:
    """Email a single-use link, if the account exists; the caller learns nothing."""
    user = find_user(session, email)
    audit(session, AccessKind.password_reset_requested, ANONYMOUS,
          user_id=user.id if user else None, email=email, client=client)
    if user is None or user.disabled_at is not None:
        return
    secret = "tpr_" + secrets.token_urlsafe(32)
    reset = PasswordReset(user_id=user.id or 0, token_hash=hash_key(secret),
                          expires_at=clock.now() + RESET_VALID_FOR)
    session.add(reset)
    session.flush()
    link = _link("/console/reset-password", secret)
    text = (f"Dear {user.display_name},\n\nSet a new Twinplan password within an hour "
            f"(the link works once):\n{link}\n\nIf you did not ask for it, ignore this email.\n")
    if user.language == Language.ru:
        text = (f"Здравствуйте, {user.display_name}!\n\nЗадайте новый пароль Twinplan в течение "
                f"часа (ссылка действует один раз):\n{link}\n\n"
                "Если вы не запрашивали смену пароля, просто проигнорируйте это письмо.\n")
    changes.record(session, AccountMail(
        key=f"password-reset:{reset.id}", to=user.email, subject="Twinplan password", text=text))


def reset_password(session: Session, token: str, password: str) -> User:
    reset = session.exec(
        select(PasswordReset).where(PasswordReset.token_hash == hash_key(token)).with_for_update()
    ).first()
    if reset is None or reset.used_at is not None or clock.now() >= reset.expires_at:
        raise NotFound("this link is unknown, used or expired; ask for a new one")
    user = session.get(User, reset.user_id)
    assert user is not None
    reset.used_at = clock.now()
    user.password_hash = passwords.hash_password(password)
    user.updated_at = clock.now()
    session.add_all([reset, user])
    sessions.end_all(session, user.id or 0)  # whoever knew the old one is signed out
    audit(session, AccessKind.password_changed, Actor(role=None, user_id=user.id),
          user_id=user.id, email=user.email)
    return user


def _code_fits(secret: str, code: str) -> bool:
    """The code of this 30-second step, or of the one before or after (clock drift)."""
    return pyotp.TOTP(secret).verify(code, for_time=clock.now(), valid_window=1)


def begin_totp(session: Session, user: User) -> tuple[str, str]:
    """A new secret to confirm with a first code (until then, sign-in does not ask)."""
    secret = pyotp.random_base32()
    user.totp_secret = secret
    user.totp_enabled_at = None
    session.add(user)
    session.flush()
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name="Twinplan")
    return secret, uri


def confirm_totp(session: Session, user: User, code: str) -> User:
    if user.totp_secret is None or not _code_fits(user.totp_secret, code):
        raise Unprocessable("that code does not match; try the next one", field="code")
    user.totp_enabled_at = clock.now()
    session.add(user)
    audit(session, AccessKind.totp_enabled, Actor(role=None, user_id=user.id), user_id=user.id)
    return user


def audit_query(actor: Actor) -> Any:
    if not policy.can_read_audit(actor):
        raise Forbidden("the access audit is read by admins and by a city's coordinators")
    query = select(AccessEvent).order_by(col(AccessEvent.id).desc())
    scope = policy.audit_city_scope(actor)
    if scope is not None:
        query = query.where(AccessEvent.city_id == scope)
    return query


def coordinators_of(session: Session, city_id: int) -> list[User]:
    """The accounts of the city's coordinators (active memberships, enabled
    accounts), oldest account first."""
    return list(session.exec(
        select(User)
        .join(Membership, col(Membership.user_id) == User.id)
        .where(
            Membership.role == Role.coordinator,
            Membership.city_id == city_id,
            col(Membership.revoked_at).is_(None),
            col(User.disabled_at).is_(None),
        )
        .order_by(col(User.id))
    ).all())
