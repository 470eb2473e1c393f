"""What a due reminder says, by email and by webhook, written when it is due.

Texts are rendered at the reminder's moment, not when it was planned, so the
readiness figures and the list of twinnings with nothing planned are those of
that day. Emails are plain text; event reminders carry the event as an
``.ics`` attachment.

What is written to the city's coordinators is written in each recipient's
language (``Recipient.language``: English, or Russian for people who chose it,
dates with Russian month names); the people travelling to an event are written
to in English.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from app.accounts.models import Language
from app.calendars.itip import event_messages
from app.cities.models import City, Partnership
from app.core.actors import SYSTEM, Actor
from app.events.models import Event
from app.events.service import guest_ids_of
from app.events.wallclock import in_zone
from app.participants.service import readiness
from app.reminders.plan import twin_cities_day_plan
from app.reminders.recipients import Recipient
from app.reminders.rules import Rules
from app.twin_cities_day import ORIGIN, last_sunday_of_april


@dataclass
class Content:
    # address, lower case -> the email notification's payload (to, subject, text, ics...)
    emails: dict[str, dict[str, Any]] = field(default_factory=dict)
    webhook_data: dict[str, Any] = field(default_factory=dict)


def _long_date(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def _in(days: int) -> str:
    return "today" if days == 0 else "tomorrow" if days == 1 else f"in {days} days"


def _offset(local: datetime) -> str:
    offset = local.strftime("%z")
    return f"UTC{offset[:3]}:{offset[3:]}"


def _local_time(instant: datetime, timezone: str) -> str:
    local = in_zone(instant, ZoneInfo(timezone))
    return f"{_long_date(local.date())}, {local:%H:%M} ({timezone}, {_offset(local)})"


# Russian: the month in the genitive ("25 апреля"), as dates are written.
RU_MONTHS = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
             "сентября", "октября", "ноября", "декабря")
RU_WEEKDAYS = ("понедельник", "вторник", "среда", "четверг", "пятница", "суббота",
               "воскресенье")
RU_ORIGIN = (
    "Всемирный день городов-побратимов отмечается в последнее воскресенье апреля. "
    "Всемирная федерация породнённых городов, основанная 28 апреля 1957 года "
    "в Экс-ле-Бене, учредила его в 1962 году, чтобы отмечать дружбу городов-побратимов."
)


def ru_plural(n: int, one: str, few: str, many: str) -> str:
    """The noun that follows ``n``: 1 день, 2 дня, 5 дней, 11 дней, 21 день."""
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def ru_date(day: date) -> str:
    """``25 апреля 2027 г.``"""
    return f"{day.day} {RU_MONTHS[day.month - 1]} {day.year} г."


def ru_long_date(day: date) -> str:
    """``воскресенье, 25 апреля 2027 г.``"""
    return f"{RU_WEEKDAYS[day.weekday()]}, {ru_date(day)}"


def _ru_in(days: int) -> str:
    if days == 0:
        return "сегодня"
    if days == 1:
        return "завтра"
    return f"через {days} {ru_plural(days, 'день', 'дня', 'дней')}"


def in_days(days: int, language: Language) -> str:
    """How soon: ``in 14 days``, ``tomorrow``; ``через 14 дней``, ``завтра``."""
    return _ru_in(days) if language == Language.ru else _in(days)


def _ru_local_time(instant: datetime, timezone: str) -> str:
    local = in_zone(instant, ZoneInfo(timezone))
    return f"{ru_long_date(local.date())}, {local:%H:%M} ({timezone}, {_offset(local)})"


def _ru_since(established_on: str) -> str:
    """``1944 года``, ``апреля 2014 года``, ``3 ноября 2017 года``: what follows "с"."""
    parts = [int(p) for p in established_on.split("-")]
    if len(parts) == 3:
        return f"{parts[2]} {RU_MONTHS[parts[1] - 1]} {parts[0]} года"
    if len(parts) == 2:
        return f"{RU_MONTHS[parts[1] - 1]} {parts[0]} года"
    return f"{parts[0]} года"


def _ru_dear(city: City) -> str:
    return f"Уважаемые координаторы города {city.name}!"


Writer = Callable[[], dict[str, Any]]


def _to_coordinators(
    recipients: Sequence[Recipient], writers: dict[Language, Writer]
) -> dict[str, dict[str, Any]]:
    """Each recipient's email in their language (English if it has no text in theirs),
    each text written once."""
    written: dict[Language, dict[str, Any]] = {}
    emails: dict[str, dict[str, Any]] = {}
    for recipient in recipients:
        language = recipient.language if recipient.language in writers else Language.en
        if language not in written:
            written[language] = writers[language]()
        emails.setdefault(recipient.address.lower(),
                          {"to": recipient.address, **written[language]})
    return emails


def render(session: Session, payload: dict[str, Any], rules: Rules,
           recipients: Sequence[Recipient], now: datetime) -> Content | None:
    """The reminder's emails to ``recipients`` and its webhook data; None if what it
    was about no longer exists. (An event's travellers hear of it in their own words:
    ``participant_messages.upcoming``.)"""
    kind = payload.get("kind")
    city = session.get(City, rules.city_id)
    if city is None:
        return None
    if kind == "wtcd":
        return _wtcd(session, payload, recipients, city, now)
    if kind == "event":
        return _event(session, payload, recipients, city, now)
    if kind == "anniversary":
        return _anniversary(session, payload, recipients, city)
    return None


# World Twin Cities Day -------------------------------------------------------------------


def _wtcd(session: Session, payload: dict[str, Any], recipients: Sequence[Recipient],
          city: City, now: datetime) -> Content:
    assert city.id is not None
    year = int(payload["year"])
    day = last_sunday_of_april(year)
    days = (day - now.astimezone(ZoneInfo(city.timezone)).date()).days
    # Written to the city's coordinators: what they may see, not the system's view
    # (a twin's private event stays out of it).
    plan = twin_cities_day_plan(session, city.id, year, Actor.readers_in(city.id))

    def english() -> dict[str, Any]:
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
                    lines.append(
                        f"  - {p.partner_name}: {e.title}, {_long_date(e.starts_at.date())}")
        lines += ["", ORIGIN, ""]
        text = "\n".join(lines)
        return {"subject": f"World Twin Cities Day is {_in(days)} ({_long_date(day)})",
                "text": f"Dear coordinators of {city.name},\n\n{text}"}

    def russian() -> dict[str, Any]:
        lines = [
            _ru_dear(city), "",
            f"Всемирный день городов-побратимов — {ru_long_date(day)}, {_ru_in(days)}.",
            "",
        ]
        if plan.without_event:
            lines.append(
                f"Побратимы города {city.name}, с которыми на эти дни ничего не запланировано "
                f"(с {plan.window_from.day} {RU_MONTHS[plan.window_from.month - 1]} "
                f"по {plan.window_to.day} {RU_MONTHS[plan.window_to.month - 1]}):"
            )
            lines += [
                f"  - {p.partner_name} ({p.partner_country_code})"
                + (f", побратимы с {_ru_since(p.established_on)}" if p.established_on else "")
                for p in plan.without_event
            ]
        elif plan.with_event:
            lines.append(f"Со всеми действующими побратимами города {city.name} что-то "
                         "запланировано. Отлично!")
        else:
            lines += [
                f"У города {city.name} пока нет действующих побратимов. Этот день — хороший "
                "повод пригласить город, с которым вы хотели бы побрататься, или оживить "
                "затихшую связь.",
            ]
        if plan.with_event:
            lines += ["", "Запланировано:"]
            for p in plan.with_event:
                for e in p.events:
                    lines.append(
                        f"  - {p.partner_name}: {e.title}, {ru_long_date(e.starts_at.date())}")
        lines += ["", RU_ORIGIN, ""]
        return {"subject": f"Всемирный день городов-побратимов — {_ru_in(days)} "
                           f"({ru_long_date(day)})",
                "text": "\n".join(lines)}

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
    emails = _to_coordinators(recipients, {Language.en: english, Language.ru: russian})
    return Content(emails=emails, webhook_data=data)


# Upcoming events ------------------------------------------------------------------------


def _event(session: Session, payload: dict[str, Any], recipients: Sequence[Recipient],
           city: City, now: datetime) -> Content | None:

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
    host = names.get(event.host_city_id, "?")
    guests = ", ".join(names.get(g, "?") for g in guest_ids)
    about = [
        event.title,
        f"{host} hosts " + guests + ".",
        f"Starts: {when}",
    ]
    if event.venue:
        about.append(f"Venue:  {event.venue}")
    subject = f"{event.title}: {_in(days)} ({_long_date(event.first_day)})"
    # The feeds' own VEVENT (iTIP PUBLISH): a subscriber who also has the feed sees
    # one event, at its current SEQUENCE.
    calendar = event_messages(session, event, "PUBLISH")("")
    filename = f"event-{event.id}.ics"
    check = readiness(session, event.id, SYSTEM)

    def english() -> dict[str, Any]:
        problems = []
        if check.overbooked:
            problems.append(f"{check.overbooked} place(s) held beyond capacity")
        if check.pending_consent:
            problems.append(f"{check.pending_consent} minor(s) still need a guardian's consent")
        if check.awaiting_chaperone:
            problems.append(
                f"{check.awaiting_chaperone} minor(s) with consent wait for chaperones")
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
        text = "\n".join([f"Dear coordinators of {city.name},", "", *about,
                          *readiness_lines, ""])
        return {"subject": subject, "text": text, "ics": calendar, "ics_filename": filename}

    def russian() -> dict[str, Any]:
        starts = (
            f"с {ru_long_date(event.first_day)} по {ru_long_date(event.last_day)} "
            f"(весь день, {event.timezone})"
            if event.all_day
            else f"{_ru_local_time(event.starts_at_utc, event.timezone)}\n"
            f"Конец:  {_ru_local_time(event.ends_at_utc, event.timezone)}"
        )
        lines = [
            _ru_dear(city), "",
            event.title,
            f"Принимает: {host}" + (f"; гости: {guests}." if guests else "."),
            f"Начало: {starts}",
        ]
        if event.venue:
            lines.append(f"Место:  {event.venue}")
        problems = []
        if check.overbooked:
            problems.append(f"мест занято сверх вместимости: {check.overbooked}")
        if check.pending_consent:
            problems.append("несовершеннолетних ждут согласия родителей или опекунов: "
                            f"{check.pending_consent}")
        if check.awaiting_chaperone:
            problems.append("несовершеннолетних с согласием ждут сопровождающих: "
                            f"{check.awaiting_chaperone}")
        if check.chaperones_missing:
            problems.append(f"не хватает взрослых сопровождающих: {check.chaperones_missing}")
        if check.without_contact:
            problems.append(
                f"участников без email и телефона: {len(check.without_contact)} "
                f"(id {', '.join(map(str, check.without_contact))})"
            )
        if check.waitlisted:
            problems.append(f"в листе ожидания: {check.waitlisted}")
        lines += [
            "",
            f"Готовность: подтверждено {check.confirmed}"
            + (f" из {check.capacity} {ru_plural(check.capacity, 'места', 'мест', 'мест')}"
               if check.capacity is not None else "") + ".",
            *(f"  - {p}" for p in problems),
            "" if problems else "  Всё в порядке.",
            "",
        ]
        return {
            "subject": f"{event.title}: {_ru_in(days)} ({ru_long_date(event.first_day)})",
            "text": "\n".join(lines), "ics": calendar, "ics_filename": filename,
        }

    emails = _to_coordinators(recipients, {Language.en: english, Language.ru: russian})

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


# Anniversaries ----------------------------------------------------------------------------


def _anniversary(session: Session, payload: dict[str, Any], recipients: Sequence[Recipient],
                 city: City) -> Content | None:
    partnership = session.get(Partnership, int(payload["partnership_id"]))
    if partnership is None:
        return None
    other_id = partnership.city_b_id if partnership.city_a_id == city.id else partnership.city_a_id
    other = session.get(City, other_id)
    if other is None:
        return None
    years = int(payload["years"])
    day = date.fromisoformat(payload["date"])
    established_on = partnership.established_on or str(day.year - years)
    exact = len(established_on) == 10

    def english() -> dict[str, Any]:
        when = _long_date(day) if exact else str(day.year)
        return {
            "subject": f"{years} years of twinning: {city.name} and {other.name}",
            "text": "\n".join([
                f"Dear coordinators of {city.name},", "",
                f"{city.name} and {other.name} were twinned in {partnership.established_on}; "
                f"the twinning turns {years} {'on ' if exact else 'in '}{when}.",
                "A good occasion for an exchange, an exhibition or a visit.", "",
            ]),
        }

    def russian() -> dict[str, Any]:
        age = f"{years} {ru_plural(years, 'год', 'года', 'лет')}"
        when = ru_date(day) if exact else f"в {day.year} году"
        return {
            "subject": f"{age} побратимства: {city.name} и {other.name}",
            "text": "\n".join([
                _ru_dear(city), "",
                f"{city.name} и {other.name} — города-побратимы с {_ru_since(established_on)}; "
                f"{when} побратимству исполнится {age}.",
                "Хороший повод для обмена, выставки или визита.", "",
            ]),
        }

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
    emails = _to_coordinators(recipients, {Language.en: english, Language.ru: russian})
    return Content(emails=emails, webhook_data=data)
