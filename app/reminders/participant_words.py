"""What Twinplan says to the people who travel (and a minor's guardian), in English
and Russian: the words of ``participant_messages``, and its dates.

Every text is a ``str.format`` template over the same facts: ``name`` (the
person), ``title`` (the event's, quoted as each language quotes), ``event`` (the
bare title, for subjects), ``when`` (its days), ``city`` (the person's home
city), and for some ``position``, ``reason``, ``link``, ``times``, ``zone``.
Dates are written per language without a locale module: ``20 May 2027``,
``20 мая 2027``.
"""

from __future__ import annotations

from datetime import date, datetime

from app.accounts.models import Language
from app.reminders.messages import RU_MONTHS

WORDS: dict[Language, dict[str, str]] = {
    Language.en: {
        "dear": "Dear {name},",
        "dear_guardian": "Dear parent or guardian of {name},",
        "closing": "Your city's exchange coordinators can tell you more.",
        "subject": "{event}, {when}: {what}",
        "all_day": "all day",
        "reason": " ({reason})",
        # What each message is, in its subject.
        "confirmed.what": "place confirmed",
        "waitlisted.what": "waitlist, position {position}",
        "moved_up.what": "moved up from the waitlist",
        "consent_needed.what": "consent needed",
        "held.what": "place held",
        "cancelled.what": "registration cancelled",
        "event_moved.what": "new time",
        "event_cancelled.what": "cancelled",
        "programme.what": "programme changed",
        # What it says.
        "confirmed": "{name}'s place at {title} ({when}) is confirmed.",
        "waitlisted": "{title} ({when}) is full, so {name} is on the waitlist, in position "
                      "{position}. Places that come free go to the waitlist in order; you "
                      "will get an email if {name} moves up.",
        "moved_up": "A place came free at {title} ({when}) and {name} moved up from the "
                    "waitlist.",
        "has_place": "{name} has a place at {title} ({when}).",
        "held_for_consent": "The place is held until a parent's or guardian's consent is "
                            "on record.",
        "consent_request": "Please give your consent to the exchange coordinators of "
                           "{city}. They record it in Twinplan, on the event's page:\n{link}",
        "held": "{name}'s place at {title} ({when}) is held, with the guardian's consent "
                "on record, until enough adult chaperones are confirmed.",
        "cancelled": "{name}'s registration for {title} ({when}) was cancelled{reason}.",
        "event_moved": "{title} has moved. It now takes place:\n{times} ({zone} time)",
        "event_moved.ics": "The attached calendar file updates the event in your calendar.",
        "event_cancelled": "{title} ({when}) is cancelled{reason}.",
        "event_cancelled.ics": "The attached calendar file removes it from your calendar.",
        "programme": "The programme of {title} ({when}) changed for {name}:",
        "programme.added": "Added",
        "programme.changed": "Changed",
        "programme.removed": "Removed",
        "programme.zone": "Times are {zone} time.",
        "upcoming.what": "{soon}",
        "upcoming": "{name} holds a place as {role} at {title}:\n{times} ({zone} time){venue}",
        "upcoming.ics": "The event is attached for your calendar.",
        "venue": "Venue: {venue}",
    },
    Language.ru: {
        "dear": "Здравствуйте, {name}!",
        "dear_guardian": "Здравствуйте! Пишем вам как родителю или опекуну участника: "
                         "{name}.",
        "closing": "Подробности можно узнать у координаторов обменов вашего города.",
        "subject": "{event}, {when}: {what}",
        "all_day": "весь день",
        "reason": " (причина: {reason})",
        "confirmed.what": "место подтверждено",
        "waitlisted.what": "лист ожидания, № {position}",
        "moved_up.what": "место из листа ожидания",
        "consent_needed.what": "нужно согласие родителя",
        "held.what": "место сохранено",
        "cancelled.what": "регистрация отменена",
        "event_moved.what": "новое время",
        "event_cancelled.what": "отменено",
        "programme.what": "изменения в программе",
        "confirmed": "Место участника {name} на мероприятии «{title}» ({when}) "
                     "подтверждено.",
        "waitlisted": "Все места на мероприятии «{title}» ({when}) заняты, поэтому {name} — "
                      "в листе ожидания под номером {position}. Освободившиеся места "
                      "достаются ожидающим по очереди; когда очередь дойдёт, мы сообщим.",
        "moved_up": "На мероприятии «{title}» ({when}) освободилось место, и его получает "
                    "{name} из листа ожидания.",
        "has_place": "У участника {name} есть место на мероприятии «{title}» ({when}).",
        "held_for_consent": "Место сохраняется, пока не получено согласие родителя или "
                            "опекуна.",
        "consent_request": "Пожалуйста, передайте согласие координаторам обменов города "
                           "{city}. Они отметят его в Twinplan на странице мероприятия:\n"
                           "{link}",
        "held": "Место участника {name} на мероприятии «{title}» ({when}) сохраняется: "
                "согласие родителя или опекуна получено, но пока не хватает взрослых "
                "сопровождающих.",
        "cancelled": "Регистрация участника {name} на мероприятие «{title}» ({when}) "
                     "отменена{reason}.",
        "event_moved": "Мероприятие «{title}» перенесено. Новое время:\n{times} "
                       "(часовой пояс {zone})",
        "event_moved.ics": "Приложенный файл календаря обновит событие в вашем календаре.",
        "event_cancelled": "Мероприятие «{title}» ({when}) отменено{reason}.",
        "event_cancelled.ics": "Приложенный файл календаря удалит событие из вашего "
                               "календаря.",
        "programme": "В программе мероприятия «{title}» ({when}) есть изменения для "
                     "участника {name}:",
        "programme.added": "Добавлено",
        "programme.changed": "Изменено",
        "programme.removed": "Отменено",
        "programme.zone": "Время указано по часовому поясу {zone}.",
        "upcoming.what": "{soon}",
        "upcoming": "У участника {name} есть место на мероприятии «{title}» ({role}):\n"
                    "{times} (часовой пояс {zone}){venue}",
        "upcoming.ics": "Событие приложено для вашего календаря.",
        "venue": "Место проведения: {venue}",
    },
}


def day(value: date, language: Language) -> str:
    """``20 May 2027``, ``20 мая 2027``."""
    if language == Language.ru:
        return f"{value.day} {RU_MONTHS[value.month - 1]} {value.year}"
    return f"{value.day} {value:%B %Y}"


def days(first: date, last: date, language: Language) -> str:
    """One day, or the first and the last: ``20 May 2027 – 22 May 2027``."""
    if first == last:
        return day(first, language)
    return f"{day(first, language)} – {day(last, language)}"


def times(starts: datetime, ends: datetime, language: Language) -> str:
    """Wall-clock times: ``20 May 2027, 10:00–12:30`` or across days with both dates."""
    if starts.date() == ends.date():
        return f"{day(starts.date(), language)}, {starts:%H:%M}–{ends:%H:%M}"
    return f"{day(starts.date(), language)}, {starts:%H:%M} – " \
           f"{day(ends.date(), language)}, {ends:%H:%M}"
