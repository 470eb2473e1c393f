"""The papers themselves, one function each, from plain data (``Visit``,
``Traveller``): nothing here reads the database or decides who may download."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from fpdf.fonts import FontFace

from app.cities import geo
from app.documents import texts
from app.documents.layout import FAMILY, Letterhead, Paper
from app.documents.texts import Lang, word

# The delegation list's CSV columns, in this order (see the README).
LIST_COLUMNS = ("full_name", "birth_date", "passport_number", "passport_expiry", "nationality",
                "role", "status", "home_city", "minor", "guardian_name", "guardian_email")


@dataclass(frozen=True)
class ProgrammeLine:
    """One item of the programme that concerns the whole group, in local time."""

    starts: datetime
    title: str
    place: str | None


@dataclass(frozen=True)
class Visit:
    """The exchange, as the papers word it."""

    title: str
    kind: str
    description: str | None
    venue: str | None
    first_day: date
    last_day: date
    place: str  # the host city and its country, "Kostroma, Russia"
    programme: tuple[ProgrammeLine, ...] = ()


@dataclass(frozen=True)
class Traveller:
    full_name: str
    birth_date: date | None
    passport_number: str | None
    passport_expiry: date | None
    nationality: str | None  # ISO 3166-1 alpha-2
    role: str
    status: str
    is_minor: bool
    guardian_name: str | None
    guardian_email: str | None
    home_city: str


def country_name(code: str) -> str:
    return geo.countries().get(code, code)


def _contact_block(head: Letterhead) -> str:
    return "\n".join((head.office_name, *head.address_lines, *head.contacts))


def _dates(visit: Visit, lang: Lang) -> dict[str, str]:
    return {"first": texts.day(visit.first_day, lang), "last": texts.day(visit.last_day, lang),
            "title": visit.title, "place": visit.place}


def _programme_summary(visit: Visit, lang: Lang) -> str:
    """The description, then the programme by day: "20 May 2027: 10:00 Welcome at
    the city hall (City hall); 14:00 School visit"."""
    days: dict[date, list[str]] = {}
    for line in visit.programme:
        where = f" ({line.place})" if line.place else ""
        days.setdefault(line.starts.date(), []).append(
            f"{line.starts:%H:%M} {line.title}{where}")
    parts = [visit.description] if visit.description else []
    parts += [f"{texts.day(day, lang)}: {'; '.join(items)}" for day, items in days.items()]
    return "\n".join(parts) or word(lang, "no_programme")


def invitation_letter(head: Letterhead, visit: Visit, person: Traveller,
                      langs: Sequence[Lang], issued: date) -> bytes:
    """A visa invitation: one page per language, the same facts on each."""
    paper = Paper(head, word(langs[0], "invitation_title"), langs[0])
    for n, lang in enumerate(langs):
        if n:
            paper.add_page()
        nationality = (word(lang, "nationality", country=country_name(person.nationality))
                       if person.nationality else "")
        kind = texts.KINDS[lang][visit.kind]
        paper.paragraph(f"{word(lang, 'date')}: {texts.day(issued, lang)}", size=9)
        paper.paragraph(word(lang, "invitation_to"), size=9)
        paper.title_line(word(lang, "invitation_title"))
        paper.paragraph(word(
            lang, "invitation_body", office=head.office_name, name=person.full_name,
            birth=texts.day(person.birth_date, lang), passport=person.passport_number or "—",
            expiry=texts.day(person.passport_expiry, lang), nationality=nationality, kind=kind,
            **_dates(visit, lang)))
        paper.heading(word(lang, "purpose"))
        venue = word(lang, "venue", venue=visit.venue) if visit.venue else ""
        paper.paragraph(word(lang, "purpose_text", kind=kind[:1].upper() + kind[1:],
                             title=visit.title, venue=venue, home=person.home_city))
        paper.heading(word(lang, "programme"))
        paper.paragraph(_programme_summary(visit, lang))
        paper.heading(word(lang, "contact"))
        paper.paragraph(_contact_block(head))
        paper.signature_line(word(lang, "signature"), word(lang, "date"), head.signatory_name,
                             head.signatory_title)
    return paper.pdf_bytes()


def consent_form(head: Letterhead, visit: Visit, person: Traveller,
                 langs: Sequence[Lang]) -> bytes:
    """A guardian's consent for one minor, to sign and date; a page per language."""
    paper = Paper(head, word(langs[0], "consent_title"), langs[0])
    for n, lang in enumerate(langs):
        if n:
            paper.add_page()
        paper.title_line(word(lang, "consent_title"))
        venue = word(lang, "venue", venue=visit.venue) if visit.venue else ""
        paper.paragraph(word(
            lang, "consent_body", guardian=person.guardian_name or word(lang, "guardian_blank"),
            name=person.full_name, birth=texts.day(person.birth_date, lang),
            home=person.home_city, venue=venue, office=head.office_name,
            **_dates(visit, lang)))
        paper.heading(word(lang, "consent_contact"))
        paper.paragraph(person.guardian_email or word(lang, "guardian_blank"))
        paper.heading(word(lang, "contact"))
        paper.paragraph(_contact_block(head))
        paper.signature_line(word(lang, "guardian_signature"), word(lang, "date"),
                             person.guardian_name)
    return paper.pdf_bytes()


def _both(key: str) -> str:
    """A column heading in English and Russian: the list goes to border guards and
    insurers of either country."""
    return f"{word('en', key)}\n{word('ru', key)}"


def _guardian(person: Traveller) -> str:
    if not person.is_minor:
        return ""
    return "\n".join(x for x in (person.guardian_name, person.guardian_email) if x) or "—"


def _iso(value: date | None) -> str:
    return value.isoformat() if value else ""


def delegation_list_pdf(head: Letterhead, visit: Visit, people: Sequence[Traveller],
                        delegation: str | None) -> bytes:
    """The list for border control and insurers: a landscape table, headings in English
    and Russian, dates in ISO 8601 (no reader misreads 2027-05-06)."""
    paper = Paper(head, word("en", "list_title"), "en", orientation="landscape")
    for lang in texts.LANGS:
        paper.set_font(FAMILY, "B", 13 if lang == "en" else 11)
        paper.cell(0, 6, f"{word(lang, 'list_title')} — "
                   + (delegation or word(lang, "list_all")), new_x="LMARGIN", new_y="NEXT")
    paper.paragraph(word("en", "list_subtitle", first=_iso(visit.first_day),
                         last=_iso(visit.last_day), title=visit.title, place=visit.place)
                    + f" · {word('en', 'list_count', count=len(people))}", size=9)
    paper.set_font(FAMILY, "", 8.5)
    headings = ("col_no", "col_name", "col_birth", "col_passport", "col_expiry", "col_role",
                "col_city", "col_guardian")
    with paper.table(col_widths=(8, 46, 24, 28, 30, 32, 32, 61), line_height=4.6,
                     headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235)),
                     text_align="LEFT") as table:
        row = table.row()
        for key in headings:
            row.cell(_both(key))
        for n, person in enumerate(people, start=1):
            row = table.row()
            for value in (str(n), person.full_name, _iso(person.birth_date),
                          person.passport_number or "—", _iso(person.passport_expiry),
                          f"{person.role}\n{texts.role('ru', person.role)}", person.home_city,
                          _guardian(person)):
                row.cell(value)
    return paper.pdf_bytes()


def delegation_list_csv(people: Sequence[Traveller]) -> bytes:
    """``LIST_COLUMNS``, one row per person, UTF-8 with a byte order mark: without it
    Excel reads a CSV in the machine's legacy code page and garbles Cyrillic and
    Turkmen names; every CSV reader that knows UTF-8 skips the mark."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(LIST_COLUMNS)
    for p in people:
        writer.writerow((p.full_name, _iso(p.birth_date), p.passport_number or "",
                         _iso(p.passport_expiry), p.nationality or "", p.role, p.status,
                         p.home_city, "yes" if p.is_minor else "no",
                         (p.guardian_name or "") if p.is_minor else "",
                         (p.guardian_email or "") if p.is_minor else ""))
    return out.getvalue().encode("utf-8-sig")
