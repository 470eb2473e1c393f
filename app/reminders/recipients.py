"""Who a city's reminders reach: its coordinators (their accounts, each in their own
language), and the addresses listed in the city's rules; less whoever stopped that
kind of reminder for themselves.

* A coordinator is a person holding an active (not revoked) ``coordinator``
  membership of the city, whose account is not disabled.
* The rules' ``coordinator_emails`` are an addition. An address listed there that
  is a person's account is that person: written to in their language, and not at
  all if they stopped that kind. Any other address is written to in English.
* Each address receives a reminder once, however often it is listed (addresses
  are compared ignoring case; an account's language wins over the rules' English).

A person's choice (``ReminderOptOut``) is per kind: ``event``,
``twin_cities_day``, ``anniversary``; it holds for every city they hear from.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from pydantic import Field as PField
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from app.accounts.models import Language, Membership, User, normalized_email
from app.accounts.service import coordinators_of
from app.core import clock
from app.core.actors import Actor, Role
from app.core.errors import Forbidden
from app.reminders import policy
from app.reminders.models import ReminderOptOut


class ReminderKind(StrEnum):
    event = "event"
    twin_cities_day = "twin_cities_day"
    anniversary = "anniversary"


# A planned reminder's ``payload["kind"]`` (and key prefix), by the name people use.
_PAYLOAD_KINDS = {
    "event": ReminderKind.event,
    "wtcd": ReminderKind.twin_cities_day,
    "anniversary": ReminderKind.anniversary,
}


def kind_of(payload_kind: object) -> ReminderKind | None:
    return _PAYLOAD_KINDS.get(str(payload_kind))


@dataclass(frozen=True)
class Recipient:
    """An address a reminder is written to, and in which language."""

    address: str
    language: Language = Language.en
    user_id: int | None = None


def cities_with_coordinators(session: Session) -> set[int]:
    """Cities with at least one coordinator's account to remind."""
    rows = session.exec(
        select(Membership.city_id)
        .join(User, col(User.id) == Membership.user_id)
        .where(
            Membership.role == Role.coordinator,
            col(Membership.city_id).is_not(None),
            col(Membership.revoked_at).is_(None),
            col(User.disabled_at).is_(None),
        )
        .distinct()
    ).all()
    return {city_id for city_id in rows if city_id is not None}


def _opted_out(session: Session, user_ids: Iterable[int], kind: ReminderKind) -> set[int]:
    ids = list(set(user_ids))
    if not ids:
        return set()
    return set(session.exec(
        select(ReminderOptOut.user_id).where(
            ReminderOptOut.kind == kind, col(ReminderOptOut.user_id).in_(ids)
        )
    ).all())


def recipients_of(
    session: Session, city_id: int, kind: ReminderKind, rule_emails: Sequence[str]
) -> list[Recipient]:
    """Who receives the city's reminder of this kind: its coordinators' accounts, then
    the rules' addresses, each address once (ignoring case), without those who
    stopped this kind."""
    coordinators = coordinators_of(session, city_id)
    listed: dict[str, str] = {}
    for address in rule_emails:
        listed.setdefault(normalized_email(address), address)
    # Addresses in the rules that are people's accounts speak for those people.
    known = {u.email_key: u for u in coordinators}
    missing = [k for k in listed if k not in known]
    if missing:
        known |= {
            u.email_key: u
            for u in session.exec(select(User).where(col(User.email_key).in_(missing))).all()
        }
    stopped = _opted_out(session, (u.id for u in known.values() if u.id is not None), kind)
    out: dict[str, Recipient] = {}
    for user in coordinators:
        if user.id not in stopped:
            out.setdefault(user.email_key, _as_recipient(user))
    for key, address in listed.items():
        person = known.get(key)
        if person is None:
            out.setdefault(key, Recipient(address=address))
        elif person.id not in stopped:
            out.setdefault(key, _as_recipient(person, address))
    return list(out.values())


def _as_recipient(user: User, address: str | None = None) -> Recipient:
    try:
        language = Language(user.language)
    except ValueError:
        language = Language.en
    return Recipient(address=address or user.email, language=language, user_id=user.id)


# A person's own choice ------------------------------------------------------------------


class MyReminders(SQLModel):
    """Which kinds of reminder reach you (``true``) and which you stopped (``false``).

    They reach you as a coordinator of a city, or because a city's reminder rules
    list your address."""

    event: bool = PField(description="An upcoming event of your city, with its readiness.")
    twin_cities_day: bool = PField(
        description="World Twin Cities Day (the last Sunday of April) approaching.")
    anniversary: bool = PField(description="A round anniversary of one of your city's twinnings.")


class ReminderSwitch(SQLModel):
    enabled: bool


def _person(actor: Actor) -> int:
    if not policy.can_choose_own_reminders(actor) or actor.user_id is None:
        raise Forbidden(
            "reminder choices belong to a person: sign in, or use a personal API key"
        )
    return actor.user_id


def my_reminders(session: Session, actor: Actor) -> MyReminders:
    user_id = _person(actor)
    stopped = set(session.exec(
        select(ReminderOptOut.kind).where(ReminderOptOut.user_id == user_id)
    ).all())
    return MyReminders(**{kind.value: kind.value not in stopped for kind in ReminderKind})


def set_my_reminder(
    session: Session, actor: Actor, kind: ReminderKind, enabled: bool
) -> MyReminders:
    """Stop (or resume) one kind of reminder for the acting person, everywhere."""
    user_id = _person(actor)
    row = session.get(ReminderOptOut, (user_id, kind.value))
    if enabled and row is not None:
        session.delete(row)
        session.flush()
    elif not enabled and row is None:
        try:
            with session.begin_nested():
                session.add(ReminderOptOut(user_id=user_id, kind=kind.value,
                                           created_at=clock.now()))
                session.flush()
        except IntegrityError:
            pass  # a request at the same moment stopped it already
    return my_reminders(session, actor)
