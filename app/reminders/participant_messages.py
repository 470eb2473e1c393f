"""Emails to the people who travel (and to a minor's guardian), in their language.

Receivers of the change facts, written to the outbox in the changing transaction
(a rolled-back request sends nothing) and sent by the worker:

- a place: confirmed, waitlisted (with the position), moved up from the waitlist,
  held for a guardian's consent (the guardian is asked for it, with a link), held
  for chaperones, or the registration cancelled (``RegistrationChanged``);
- the event moved (new local times, in the event's zone) or cancelled (with the
  reason), each with the event as an ``.ics``: the feeds' VEVENT with its raised
  SEQUENCE, PUBLISH or CANCEL (``app.calendars.itip``) (``EventChanged``);
- the programme changed for them (``ProgrammeChanged``);
- the event is coming up: its reminder, when the worker expands it
  (``upcoming``, from ``app.reminders.service``), with the event as an ``.ics``.

Who is never told: a person whose home city may not see the event (a private
event is the host's business), whose registration is cancelled (but for the
cancellation itself), or who was erased. Each message has a stable outbox key,
so a fact handled twice writes it once. They live here, above the calendars
(the ``.ics``) and the outbox, as the reminders' emails to travellers do.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import Session, col, select

from app.accounts.models import Language
from app.calendars.itip import Method, event_messages
from app.cities.models import City
from app.core import changes
from app.core.settings import get_settings
from app.documents.texts import ROLES
from app.events.changes import EventChanged
from app.events.models import Event, EventPublic, EventStatus
from app.events.policy import can_city_read
from app.events.service import guest_ids_of
from app.notifications.models import Channel, Topic
from app.notifications.outbox import enqueue
from app.participants.changes import RegistrationChanged
from app.participants.models import (
    ACTIVE,
    CHECKED_IN,
    HOLDING,
    Participant,
    Registration,
    RegistrationStatus,
)
from app.participants.service import EVENT_CANCELLED, waitlist_position
from app.programme.changes import ProgrammeChanged
from app.reminders.messages import in_days
from app.reminders.participant_words import WORDS, days, times


@dataclass(frozen=True)
class Addressee:
    address: str
    guardian: bool


def addressees(participant: Participant, is_minor: bool) -> list[Addressee]:
    """The person's email, and for a minor the guardian's; nobody for an erased person."""
    if participant.erased_at is not None:
        return []
    out = [Addressee(participant.email, False)] if participant.email else []
    guardian = participant.guardian_email
    if is_minor and guardian and guardian.lower() != (participant.email or "").lower():
        out.append(Addressee(guardian, True))
    return out


def hearers(session: Session, event: Event) -> Callable[[Participant], bool]:
    """Who may hear of the event: a person not erased whose home city may see it
    (``app.events.policy``: a private event is the host's business)."""
    assert event.id is not None
    guest_ids = guest_ids_of(session, [event.id])[event.id]
    return lambda person: person.erased_at is None and can_city_read(
        person.home_city_id, event, guest_ids)


def language_of(participant: Participant) -> Language:
    try:
        return Language(participant.language)
    except ValueError:
        return Language.en


@dataclass(frozen=True)
class Letter:
    """One message to one person about one event: what it is (``kind``, the key of its
    subject's words) and its paragraphs, by the keys of ``WORDS``, over ``facts``."""

    kind: str
    paragraphs: Sequence[str]
    facts: dict[str, Any]


def _facts(session: Session, participant: Participant, event: Event,
           language: Language) -> dict[str, Any]:
    city = session.get(City, participant.home_city_id)
    title = event.title if language == Language.ru else f"'{event.title}'"
    return {"name": participant.full_name, "title": title, "event": event.title,
            "when": days(event.first_day, event.last_day, language),
            "city": city.name if city else "", "zone": event.timezone,
            "link": f"{get_settings().public_base_url}/console/events/{event.id}"}


def _event_times(event: Event, facts: dict[str, Any], language: Language) -> str:
    """When the event takes place, in its local time: its days for an all-day one."""
    if event.all_day:
        return f"{facts['when']} ({WORDS[language]['all_day']})"
    return times(event.starts_at_local, event.ends_at_local, language)


def _because(reason: str | None, language: Language) -> str:
    """`` (reason)`` after a cancellation, or nothing."""
    return WORDS[language]["reason"].format(reason=reason) if reason else ""


def _text(letter: Letter, addressee: Addressee, words: dict[str, str]) -> str:
    facts = letter.facts
    dear = words["dear_guardian" if addressee.guardian else "dear"].format(**facts)
    body = [words[p].format(**facts) if p in words else p for p in letter.paragraphs]
    return "\n\n".join([dear, *body, words["closing"]]) + "\n"


def send(
    session: Session,
    *,
    key: str,
    topic: Topic,
    participant: Participant,
    addressee: Addressee,
    event: Event,
    letter: Letter,
    ics: tuple[Method, Callable[[str], str]] | None = None,
    parent_id: int | None = None,
) -> bool:
    """Write one email to the outbox (once per key), in the person's language, with
    ``ics``: the iTIP method and the calendar for an attendee (``event_messages``).
    True if it was written (not already there)."""
    words = WORDS[language_of(participant)]
    subject = words["subject"].format(
        what=words[f"{letter.kind}.what"].format(**letter.facts), **letter.facts)
    payload: dict[str, Any] = {"to": addressee.address, "subject": subject,
                               "text": _text(letter, addressee, words)}
    if ics is not None:
        method, calendar_for = ics
        payload |= {"ics": calendar_for(addressee.address), "ics_method": method,
                    "ics_filename": f"event-{event.id}.ics"}
    return enqueue(session, key=f"{key}:email:{addressee.address}", channel=Channel.email,
                   topic=topic, recipient=addressee.address, payload=payload,
                   city_id=participant.home_city_id, subject=f"event:{event.id}",
                   parent_id=parent_id, participant_id=participant.id)


# A place ---------------------------------------------------------------------------


def _place_letter(change: RegistrationChanged, guardian: bool) -> tuple[str, list[str]] | None:
    """What kind of news a registration's move is, and its paragraphs; None: no news
    (a check-in)."""
    status, before = change.status, change.before
    if status == RegistrationStatus.cancelled:
        return "cancelled", ["cancelled"]
    if status == RegistrationStatus.waitlisted:
        return "waitlisted", ["waitlisted"]
    if status not in HOLDING - CHECKED_IN:
        return None
    consent = ["held_for_consent"] + (["consent_request"] if guardian else [])
    now = {RegistrationStatus.confirmed: ["confirmed"],
           RegistrationStatus.pending_consent: consent,
           RegistrationStatus.awaiting_chaperone: ["held"]}[status]
    if before == RegistrationStatus.waitlisted:
        return "moved_up", ["moved_up", *now]
    if status == RegistrationStatus.pending_consent:
        return "consent_needed", ["has_place", *consent]
    return ("confirmed" if status == RegistrationStatus.confirmed else "held"), now


@changes.receiver(RegistrationChanged)
def tell_the_person(change: RegistrationChanged, session: Session) -> None:
    """The person (and a minor's guardian) whose place changed hears of it once."""
    if _place_letter(change, guardian=False) is None:
        return
    participant = session.get(Participant, change.participant_id)
    if participant is None:
        return
    people = addressees(participant, change.is_minor)
    if not people:
        return  # nobody to write to (no address, or erased): no letter to word
    event = session.get(Event, change.event_id)
    registration = session.get(Registration, change.registration_id)
    if event is None or registration is None:
        return
    if event.status == EventStatus.cancelled or not hearers(session, event)(participant):
        return  # a cancelled event tells its people itself (tell_the_people_of_the_event)
    language = language_of(participant)
    facts = _facts(session, participant, event, language)
    facts["reason"] = _because(registration.cancel_reason, language)
    if change.status == RegistrationStatus.waitlisted:
        facts["position"] = waitlist_position(session, registration)
    stamp = change.updated_at.strftime("%Y%m%dT%H%M%S%f")
    for addressee in people:
        news = _place_letter(change, addressee.guardian)
        assert news is not None  # as for the person: only consent words differ
        kind, paragraphs = news
        send(session, key=f"registration.changed:{change.registration_id}:{change.status}"
             f":{stamp}", topic=Topic.registration_changed, participant=participant,
             addressee=addressee, event=event, letter=Letter(kind, paragraphs, facts))


# The event ---------------------------------------------------------------------------


def _moved(before: EventPublic, after: EventPublic) -> bool:
    """The times a person sees changed (not the description, the venue, the capacity)."""
    def when(e: EventPublic) -> tuple[Any, ...]:
        return e.timezone, e.all_day, e.starts_at, e.ends_at, e.start_date, e.end_date
    return when(before) != when(after)


def _people_of(session: Session, event: Event, *, cancelled_with_it: bool
               ) -> list[tuple[Registration, Participant]]:
    """Registrations still in play (waitlist included), and with ``cancelled_with_it``
    those the event's own cancellation cancelled, with their people."""
    in_play: ColumnElement[bool] = col(Registration.status).in_(list(ACTIVE - CHECKED_IN))
    if cancelled_with_it:
        in_play = or_(in_play, and_(
            col(Registration.status) == RegistrationStatus.cancelled,
            col(Registration.cancel_reason).startswith(EVENT_CANCELLED)))
    return list(session.exec(
        select(Registration, Participant)
        .join(Participant, col(Participant.id) == Registration.participant_id)
        .where(Registration.event_id == event.id, in_play,
               col(Participant.erased_at).is_(None))
        .order_by(col(Registration.id))
    ).all())


@changes.receiver(EventChanged)
def tell_the_people_of_the_event(change: EventChanged, session: Session) -> None:
    """An event moved or cancelled: everyone registered (waitlist included) hears of it
    once per change (the key holds the event's SEQUENCE), with an ``.ics``."""
    if change.before is None:
        return
    method: Method
    if change.cancelled:
        kind, method, topic = "event_cancelled", "CANCEL", Topic.event_cancelled
    elif _moved(change.before, change.after):
        kind, method, topic = "event_moved", "PUBLISH", Topic.event_updated
    else:
        return
    event = session.get(Event, change.after.id)
    assert event is not None
    may_hear, calendar_for = hearers(session, event), event_messages(session, event, method)
    for registration, participant in _people_of(session, event,
                                                cancelled_with_it=change.cancelled):
        if not may_hear(participant):
            continue
        language = language_of(participant)
        facts = _facts(session, participant, event, language)
        facts["times"] = _event_times(event, facts, language)
        facts["reason"] = _because(event.cancel_reason, language)
        letter = Letter(kind, [kind, f"{kind}.ics"], facts)
        for addressee in addressees(participant, registration.is_minor):
            send(session, key=f"{topic}:{event.id}:s{event.sequence}"
                 f":registration:{registration.id}", topic=topic, participant=participant,
                 addressee=addressee, event=event, letter=letter,
                 ics=(method, calendar_for))


# The programme -------------------------------------------------------------------------


def _fingerprint(change: ProgrammeChanged) -> str:
    """The change's content, for its key: the same fact handled twice is one message."""
    what = (change.action, change.title, change.starts_at.isoformat(),
            change.ends_at.isoformat(), change.place or "")
    return hashlib.sha256(repr(what).encode("utf-8")).hexdigest()[:16]


@changes.receiver(ProgrammeChanged)
def tell_the_programme_change(change: ProgrammeChanged, session: Session) -> None:
    """The people a programme item concerns (``participant_ids``) who hold a place at
    the event hear what was added, changed or removed, in the event's local time."""
    event = session.get(Event, change.event_id)
    if event is None or event.status == EventStatus.cancelled or not change.participant_ids:
        return
    rows = session.exec(
        select(Registration, Participant)
        .join(Participant, col(Participant.id) == Registration.participant_id)
        .where(Registration.event_id == event.id,
               col(Registration.participant_id).in_(change.participant_ids),
               col(Registration.status).in_(list(HOLDING)),
               col(Participant.erased_at).is_(None))
        .order_by(col(Registration.id))
    ).all()
    key = f"programme.{change.action}:{change.item_id}:{_fingerprint(change)}"
    may_hear = hearers(session, event)
    for registration, participant in rows:
        if not may_hear(participant):
            continue
        language = language_of(participant)
        words = WORDS[language]
        item = ", ".join(p for p in (change.title, times(
            change.starts_at, change.ends_at, language), change.place) if p)
        facts = _facts(session, participant, event, language)
        letter = Letter("programme", [
            "programme", f"{words[f'programme.{change.action}']}: {item}", "programme.zone",
        ], facts)
        for addressee in addressees(participant, registration.is_minor):
            send(session, key=f"{key}:registration:{registration.id}",
                 topic=Topic.event_updated, participant=participant, addressee=addressee,
                 event=event, letter=letter)


# The event is coming up ------------------------------------------------------------------


def reminded_travellers(session: Session, event: Event, city_id: int
                        ) -> list[tuple[Registration, Participant]]:
    """People holding a place whose reminder this city's moment is: its own people,
    and (for the host) those of cities that have no reminder of the event (not taking
    part as such, or not allowed to see it)."""
    assert event.id is not None
    guest_ids = guest_ids_of(session, [event.id])[event.id]
    reminded = {c for c in (event.host_city_id, *guest_ids)
                if can_city_read(c, event, guest_ids)}
    rows = session.exec(
        select(Registration, Participant)
        .join(Participant, col(Participant.id) == Registration.participant_id)
        .where(
            Registration.event_id == event.id,
            col(Registration.status).in_(list(HOLDING)),
            col(Participant.erased_at).is_(None),
        )
        .order_by(col(Registration.id))
    ).all()
    return [(registration, person) for registration, person in rows
            if person.home_city_id == city_id
            or (city_id == event.host_city_id and person.home_city_id not in reminded)]


def upcoming(session: Session, *, key: str, parent_id: int, event: Event, city: City,
             now: datetime, skip: Collection[str]) -> int:
    """An event's reminder to its travellers (and a minor's guardian) whose reminder
    the ``city``'s is, each in their language, with the event attached (the feeds'
    VEVENT, iTIP PUBLISH); not to the addresses in ``skip`` (lower case: coordinators
    who have their own). How many emails were written."""
    soon = (event.first_day - now.astimezone(ZoneInfo(city.timezone)).date()).days
    calendar_for = event_messages(session, event, "PUBLISH")
    written = 0
    for registration, participant in reminded_travellers(session, event, city.id or 0):
        language = language_of(participant)
        words = WORDS[language]
        facts = _facts(session, participant, event, language)
        facts |= {
            "soon": in_days(soon, language),
            "role": ROLES[language.value].get(registration.role, registration.role),
            "times": _event_times(event, facts, language),
            "venue": "\n" + words["venue"].format(venue=event.venue) if event.venue else "",
        }
        letter = Letter("upcoming", ["upcoming", "upcoming.ics"], facts)
        for addressee in addressees(participant, registration.is_minor):
            if addressee.address.lower() in skip:
                continue
            written += send(session, key=f"{key}:registration:{registration.id}",
                            topic=Topic.reminder_due, participant=participant,
                            addressee=addressee, event=event, letter=letter,
                            ics=("PUBLISH", calendar_for), parent_id=parent_id)
    return written
