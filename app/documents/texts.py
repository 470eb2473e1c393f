"""The papers' words in each language they are printed in (English and Russian).

A host or home city's language is known by its country; a country whose
language Twinplan has no translation for gets the papers in English (and
Russian where the brief of the paper says so).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

Lang = Literal["en", "ru"]
LANGS: tuple[Lang, ...] = ("en", "ru")

# Countries whose official (or common official) language is one we translate into.
_COUNTRY_LANGUAGE: dict[str, Lang] = {
    **dict.fromkeys(("RU", "BY", "KZ", "KG"), "ru"),
    **dict.fromkeys(("GB", "IE", "US", "CA", "AU", "NZ", "MT"), "en"),
}

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


def language_of(country_code: str) -> Lang | None:
    """The language of a country's papers, if we have a translation for it."""
    return _COUNTRY_LANGUAGE.get(country_code.upper())


def day(value: date | None, lang: Lang) -> str:
    """A date as people of that language write it (``20 May 2027``, ``20.05.2027``)."""
    if value is None:
        return "—"
    if lang == "ru":
        return value.strftime("%d.%m.%Y")
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


KINDS: dict[Lang, dict[str, str]] = {
    "en": {"delegation_visit": "an official delegation visit", "youth_exchange": "a youth "
           "exchange", "school_exchange": "a school exchange", "sports": "a sports event",
           "exhibition": "an exhibition", "culture": "a cultural event",
           "seminar": "a seminar"},
    "ru": {"delegation_visit": "официальный визит делегации",
           "youth_exchange": "молодёжный обмен", "school_exchange": "школьный обмен",
           "sports": "спортивное мероприятие", "exhibition": "выставка",
           "culture": "культурное мероприятие", "seminar": "семинар"},
}

ROLES: dict[Lang, dict[str, str]] = {
    "en": {},  # the role's own name
    "ru": {"delegate": "делегат", "student": "учащийся", "chaperone": "сопровождающий",
           "athlete": "спортсмен", "coach": "тренер", "artist": "артист",
           "official": "официальное лицо", "interpreter": "переводчик",
           "coordinator": "координатор"},
}

WORDS: dict[Lang, dict[str, str]] = {
    "en": {
        "page": "Page {page} of {pages}",
        "date": "Date",
        "invitation_title": "Letter of invitation",
        "invitation_to": "To the consular services concerned",
        "invitation_body": (
            "{office} invites {name}, born on {birth}, holder of passport No. {passport} "
            "valid until {expiry}{nationality}, to visit {place} from {first} to {last} "
            "to take part in “{title}”, {kind} between twinned cities."),
        "nationality": ", citizen of {country}",
        "purpose": "Purpose of the visit",
        "purpose_text": "{kind} (“{title}”){venue}, as a member of the delegation of {home}.",
        "venue": ", at {venue}",
        "programme": "Programme",
        "no_programme": "The detailed programme will be sent before departure.",
        "contact": "Contact",
        "signature": "Signature",
        "consent_title": "Guardian's consent for a minor to travel",
        "consent_body": (
            "I, {guardian}, parent or legal guardian of {name}, born on {birth}, consent "
            "to their travel with the delegation of {home} to {place} from {first} to {last} "
            "for “{title}”{venue}, hosted by {office}."),
        "guardian_blank": "______________________________",
        "consent_contact": "Guardian's contact",
        "guardian_signature": "Guardian's signature",
        "list_title": "Delegation list",
        "list_subtitle": "{title}, {place}, {first} – {last}",
        "list_all": "All guest delegations",
        "list_count": "{count} people",
        "col_no": "No.", "col_name": "Name", "col_birth": "Birth date",
        "col_passport": "Passport", "col_expiry": "Expires", "col_role": "Role",
        "col_city": "Home city", "col_guardian": "Guardian (minors)",
    },
    "ru": {
        "page": "Страница {page} из {pages}",
        "date": "Дата",
        "invitation_title": "Письмо-приглашение",
        "invitation_to": "В консульские службы",
        "invitation_body": (
            "{office} приглашает {name}, дата рождения {birth}, паспорт № {passport}, "
            "действителен до {expiry}{nationality}, посетить {place} с {first} по {last} "
            "для участия в мероприятии «{title}» ({kind}) в рамках сотрудничества "
            "городов-побратимов."),
        "nationality": ", гражданство: {country}",
        "purpose": "Цель поездки",
        "purpose_text": "{kind} («{title}»){venue}, в составе делегации города {home}.",
        "venue": ", место проведения: {venue}",
        "programme": "Программа",
        "no_programme": "Подробная программа будет направлена до отъезда.",
        "contact": "Контакты",
        "signature": "Подпись",
        "consent_title": "Согласие законного представителя на поездку несовершеннолетнего",
        "consent_body": (
            "Я, {guardian}, родитель (законный представитель) {name}, дата рождения {birth}, "
            "даю согласие на поездку в составе делегации города {home} в {place} с {first} "
            "по {last} для участия в мероприятии «{title}»{venue}; принимающая сторона: "
            "{office}."),
        "guardian_blank": "______________________________",
        "consent_contact": "Контакты законного представителя",
        "guardian_signature": "Подпись законного представителя",
        "list_title": "Список делегации",
        "list_subtitle": "{title}, {place}, {first} – {last}",
        "list_all": "Все делегации гостей",
        "list_count": "Человек: {count}",
        "col_no": "№", "col_name": "ФИО", "col_birth": "Дата рождения",
        "col_passport": "Паспорт", "col_expiry": "Срок действия", "col_role": "Роль",
        "col_city": "Город", "col_guardian": "Законный представитель",
    },
}


def word(lang: Lang, key: str, **values: object) -> str:
    return WORDS[lang][key].format(**values)


def role(lang: Lang, value: str) -> str:
    return ROLES[lang].get(value, value)
