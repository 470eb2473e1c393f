"""What a due reminder says, by email and by webhook, written when it is due.

Texts are rendered at the reminder's moment, not when it was planned, so the
readiness figures and the list of twinnings with nothing planned are those of
that day. Emails are plain text; event reminders carry the event as an
``.ics`` attachment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from app.cities.models import City, Partnership
from app.core.actors import SYSTEM, Actor
from app.events.models import Event
from app.events.policy import can_city_read
from app.events.service import guest_ids_of
from app.events.wallclock import in_zone
from app.participants.models import HOLDING, Participant, Registration
from app.participants.service import readiness
from app.reminders import ics
from app.reminders.plan import twin_cities_day_plan
from app.reminders.rules import Rules
from app.twin_cities_day import ORIGIN, last_sunday_of_april


@dataclass
class Content:
    # address -> the email notification's payload (to, subject, text, ics...)
    emails: dict[str, dict[str, Any]] = field(default_factory=dict)
    webhook_data: dict[str, Any] = field(default_factory=dict)


def _long_date(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def _in(days: int) -> str:
    return "today" if days == 0 else "tomorrow" if days == 1 else f"in {days} days"


def _local_time(instant: datetime, timezone: str) -> str:
    local = in_zone(instant, ZoneInfo(timezone))
    offset = local.strftime("%z")
    return f"{_long_date(local.date())}, {local:%H:%M} ({timezone}, UTC{offset[:3]}:{offset[3:]})"


def render(session: Session, payload: dict[str, Any], rules: Rules, now: datetime
           ) -> Content | None:
    kind = payload.get("kind")
    city = session.get(City, rules.city_id)
    if city is None:
        return None
    if kind == "wtcd":
        return _wtcd(session, payload, rules, city, now)
    if kind == "event":
        return _event(session, payload, rules, city, now)
    if kind == "anniversary":
        return _anniversary(session, payload, rules, city)
    return None


# World Twin Cities Day -------------------------------------------------------------------


def _wtcd(session: Session, payload: dict[str, Any], rules: Rules, city: City, now: datetime
          ) -> Content:
    assert city.id is not None
    year = int(payload["year"])
    day = last_sunday_of_april(year)
    days = (day - now.astimezone(ZoneInfo(city.timezone)).date()).days
    # Written to the city's coordinators: what they may see, not the system's view
    # (a twin's private event stays out of it).
    plan = twin_cities_day_plan(session, city.id, year, Actor.readers_in(city.id))
    lines = [
        f"World Twin Cities Day falls on {_long_date(day)}, {_in(days)}.",
        "",
    ]
    if plan.without_event:
        lines.append(
            f"Twinnings of {city.name} with nothing planned around the day "
            f"({plan.window_from:%d %B} to {plan.window_to:%d %B}):"
        )
        lines += [
            f"  - {p.partner_name} ({p.partner_country_code})"
            + (f", twinned since {p.established_on}" if p.established_on else "")
            for p in plan.without_event
        ]
    elif plan.with_event:
        lines.append(f"Every active twinning of {city.name} has something planned. Well done.")
    else:
        lines += [
            f"{city.name} has no active twinning yet. The day is a good moment to invite a "
            "city you would like to twin with, or to renew a link that has gone quiet.",
        ]
    if plan.with_event:
        lines += ["", "Planned:"]
        for p in plan.with_event:
            for e in p.events:
                lines.append(f"  - {p.partner_name}: {e.title}, {_long_date(e.starts_at.date())}")
    lines += ["", ORIGIN, ""]
    text = "\n".join(lines)
    subject = f"World Twin Cities Day is {_in(days)} ({_long_date(day)})"
    data = {
        "reminder": "twin_cities_day",
        "city_id": city.id,
        "year": year,
        "date": day.isoformat(),
        "days_before": payload["days_before"],
        "has_active_twinning": bool(plan.with_event or plan.without_event),
        "partnerships_without_event": [
            {"partnership_id": p.partnership_id, "city_id": p.partner_city_id,
             "name": p.partner_name} for p in plan.without_event
        ],
        "partnerships_with_event": [
            {"partnership_id": p.partnership_id, "city_id": p.partner_city_id,
             "name": p.partner_name, "event_ids": [e.id for e in p.events]}
            for p in plan.with_event
        ],
    }
    emails = {
        address: {"to": address, "subject": subject,
                  "text": f"Dear coordinators of {city.name},\n\n{text}"}
        for address in rules.coordinator_emails
    }
    return Content(emails=emails, webhook_data=data)


# Upcoming events ------------------------------------------------------------------------


def _event(session: Session, payload: dict[str, Any], rules: Rules, city: City, now: datetime
           ) -> Content | None:

    event = session.get(Event, int(payload["event_id"]))
    if event is None or event.id is None:
        return None
    guest_ids = guest_ids_of(session, [event.id])[event.id]
    names = {
        c.id: c.name
        for c in session.exec(
            select(City).where(col(City.id).in_([event.host_city_id, *guest_ids]))
        )
    }
    days = (event.first_day - now.astimezone(ZoneInfo(city.timezone)).date()).days
    when = (
        f"{_long_date(event.first_day)} to {_long_date(event.last_day)} (all day, "
        f"{event.timezone})"
        if event.all_day
        else f"{_local_time(event.starts_at_utc, event.timezone)}\n"
        f"Ends:   {_local_time(event.ends_at_utc, event.timezone)}"
    )
    about = [
        event.title,
        f"{names.get(event.host_city_id, '?')} hosts "
        + ", ".join(names.get(g, "?") for g in guest_ids) + ".",
        f"Starts: {when}",
    ]
    if event.venue:
        about.append(f"Venue:  {event.venue}")
    subject = f"{event.title}: {_in(days)} ({_long_date(event.first_day)})"
    calendar = ics.event_calendar(event, names.get(event.host_city_id), now)
    filename = f"event-{event.id}.ics"

    check = readiness(session, event.id, SYSTEM)
    problems = []
    if check.overbooked:
        problems.append(f"{check.overbooked} place(s) held beyond capacity")
    if check.pending_consent:
        problems.append(f"{check.pending_consent} minor(s) still need a guardian's consent")
    if check.awaiting_chaperone:
        problems.append(f"{check.awaiting_chaperone} minor(s) with consent wait for chaperones")
    if check.chaperones_missing:
        problems.append(f"{check.chaperones_missing} more adult chaperone(s) needed")
    if check.without_contact:
        problems.append(
            f"{len(check.without_contact)} participant(s) without email or phone "
            f"(ids {', '.join(map(str, check.without_contact))})"
        )
    if check.waitlisted:
        problems.append(f"{check.waitlisted} on the waitlist")
    readiness_lines = [
        "",
        f"Readiness: {check.confirmed} confirmed"
        + (f" of {check.capacity} places" if check.capacity is not None else "") + ".",
        *(f"  - {p}" for p in problems),
        "" if problems else "  Nothing is missing.",
    ]
    emails: dict[str, dict[str, Any]] = {}
    coordinator_text = "\n".join([f"Dear coordinators of {city.name},", "", *about,
                                  *readiness_lines, ""])
    for address in rules.coordinator_emails:
        emails[address] = {"to": address, "subject": subject, "text": coordinator_text,
                           "ics": calendar, "ics_filename": filename}

    for registration, person in _travellers(session, event, city, guest_ids):
        to = person.email or person.guardian_email
        if not to or to in emails:
            continue
        text = "\n".join([
            f"Dear {person.full_name},", "",
            f"you hold a place as {registration.role} at:", "", *about, "",
            "The event is attached for your calendar.", "",
        ])
        emails[to] = {"to": to, "subject": subject, "text": text,
                      "ics": calendar, "ics_filename": filename}

    data = {
        "reminder": "event",
        "city_id": city.id,
        "event_id": event.id,
        "title": event.title,
        "days_before": payload["days_before"],
        "starts_at": in_zone(event.starts_at_utc, ZoneInfo(event.timezone)).isoformat(),
        "timezone": event.timezone,
        "readiness": check.model_dump(mode="json"),
    }
    return Content(emails=emails, webhook_data=data)


def _travellers(
    session: Session, event: Event, city: City, guest_ids: list[int]
) -> list[tuple[Registration, Participant]]:
    """People holding a place whose reminder this city's moment is: its own people,
    and (for the host) those of cities that have no reminder of the event (not taking
    part as such, or not allowed to see it)."""
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
    out = []
    for registration, person in rows:
        home = person.home_city_id
        if home == city.id or (city.id == event.host_city_id and home not in reminded):
            out.append((registration, person))
    return out


# Anniversaries ----------------------------------------------------------------------------


def _anniversary(session: Session, payload: dict[str, Any], rules: Rules, city: City
                 ) -> Content | None:
    partnership = session.get(Partnership, int(payload["partnership_id"]))
    if partnership is None:
        return None
    other_id = partnership.city_b_id if partnership.city_a_id == city.id else partnership.city_a_id
    other = session.get(City, other_id)
    if other is None:
        return None
    years = int(payload["years"])
    day = date.fromisoformat(payload["date"])
    exact = len(partnership.established_on or "") == 10
    when = _long_date(day) if exact else str(day.year)
    subject = f"{years} years of twinning: {city.name} and {other.name}"
    text = "\n".join([
        f"Dear coordinators of {city.name},", "",
        f"{city.name} and {other.name} were twinned in {partnership.established_on}; "
        f"the twinning turns {years} {'on ' if exact else 'in '}{when}.",
        "A good occasion for an exchange, an exhibition or a visit.", "",
    ])
    data = {
        "reminder": "anniversary",
        "city_id": city.id,
        "partnership_id": partnership.id,
        "partner_city_id": other.id,
        "partner_name": other.name,
        "established_on": partnership.established_on,
        "years": years,
        "date": day.isoformat(),
    }
    emails = {a: {"to": a, "subject": subject, "text": text} for a in rules.coordinator_emails}
    return Content(emails=emails, webhook_data=data)
