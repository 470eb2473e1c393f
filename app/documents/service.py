"""Letterheads, and the papers of an exchange: who gets which, in which language,
and the audit entry every download leaves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlmodel import Session, col, select

from app.accounts.models import User
from app.audit import service as audit
from app.cities.models import City
from app.cities.service import get_city
from app.core import clock
from app.core.actors import Actor
from app.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.documents import policy, render
from app.documents.layout import Letterhead
from app.documents.models import CityLetterhead, DocumentKind, LetterheadPublic, LetterheadUpdate
from app.documents.texts import Lang, language_of
from app.events import service as events_service
from app.events.models import Event
from app.participants import policy as participants_policy
from app.participants.models import HOLDING, Participant, Registration
from app.participants.service import event_city_ids
from app.programme.models import Audience, ProgrammeItem

ListFormat = Literal["pdf", "csv"]


@dataclass(frozen=True)
class Download:
    """A paper ready to send: its bytes, and the names to give the file."""

    body: bytes
    media_type: str
    filename: str  # may hold the person's name in any script
    ascii_filename: str


# Letterheads ---------------------------------------------------------------------


def _public(city: City, row: CityLetterhead | None) -> LetterheadPublic:
    if row is None:
        return LetterheadPublic(
            city_id=city.id or 0, office_name=city.name,
            address_lines=[render.country_name(city.country_code)], phone=None, email=None,
            website=None, signatory_name=None, signatory_title=None, is_set=False,
            updated_at=None)
    return LetterheadPublic.model_validate(row, from_attributes=True, update={"is_set": True})


def get_letterhead(session: Session, city_id: int) -> LetterheadPublic:
    """The city's letterhead; unset, its name and country (what its papers print)."""
    city = get_city(session, city_id)
    return _public(city, session.get(CityLetterhead, city_id))


def put_letterhead(session: Session, city_id: int, data: LetterheadUpdate,
                   actor: Actor) -> LetterheadPublic:
    city = get_city(session, city_id)
    if not policy.can_write_letterhead(actor, city_id):
        raise Forbidden("only the city's coordinators (or an admin) write its letterhead")
    row = session.get(CityLetterhead, city_id) or CityLetterhead(city_id=city_id,
                                                                 office_name=data.office_name)
    row.sqlmodel_update(data.model_dump())
    row.updated_at = clock.now()
    session.add(row)
    session.flush()
    return _public(city, row)


def _letterhead(session: Session, city: City) -> Letterhead:
    head = _public(city, session.get(CityLetterhead, city.id))
    return Letterhead(
        office_name=head.office_name, address_lines=tuple(head.address_lines),
        contacts=tuple(x for x in (head.phone, head.email, head.website) if x),
        signatory_name=head.signatory_name, signatory_title=head.signatory_title)


# What the papers say ---------------------------------------------------------------


def _city(session: Session, city_id: int) -> City:
    city = session.get(City, city_id)
    assert city is not None
    return city


def _visit(event: Event, host: City,
           programme: tuple[render.ProgrammeLine, ...] = ()) -> render.Visit:
    return render.Visit(
        title=event.title, kind=event.kind, description=event.description, venue=event.venue,
        first_day=event.first_day, last_day=event.last_day,
        place=f"{host.name}, {render.country_name(host.country_code)}", programme=programme)


def _group_programme(session: Session, event: Event) -> tuple[render.ProgrammeLine, ...]:
    """The items for everyone at the exchange, in time order: what a consulate reads
    as the purpose of the visit (items of one role or named people are left out)."""
    items = session.exec(select(ProgrammeItem).where(
        ProgrammeItem.event_id == event.id, ProgrammeItem.audience == Audience.everyone,
    ).order_by(col(ProgrammeItem.starts_at_utc), col(ProgrammeItem.id))).all()
    return tuple(render.ProgrammeLine(i.starts_at_local, i.title, i.place) for i in items)


def _traveller(person: Participant, registration: Registration, home: City) -> render.Traveller:
    return render.Traveller(
        full_name=person.full_name, birth_date=person.birth_date,
        passport_number=person.passport_number, passport_expiry=person.passport_expiry,
        nationality=person.nationality, role=registration.role, status=registration.status,
        is_minor=registration.is_minor, guardian_name=person.guardian_name,
        guardian_email=person.guardian_email, home_city=home.name)


def invitation_langs(host_country: str, lang: Lang | None) -> tuple[Lang, ...]:
    """English, and the host's language when we have it (``lang`` chooses: ``en`` for
    English only)."""
    second = lang or language_of(host_country)
    return ("en",) if second in (None, "en") else ("en", second)


def consent_langs(home_country: str, lang: Lang | None) -> tuple[Lang, ...]:
    """The guardian's (home city's) language when we have it, else English and Russian."""
    chosen = lang or language_of(home_country)
    return (chosen,) if chosen else ("en", "ru")


# A person's papers -------------------------------------------------------------------


def _account_email(session: Session, actor: Actor) -> str | None:
    """The email of the signed-in account acting, if a person (not a key) acts."""
    if actor.user_id is None:
        return None
    user = session.get(User, actor.user_id)
    return user.email if user is not None and user.disabled_at is None else None


def _person_at_event(session: Session, event_id: int, participant_id: int, actor: Actor
                     ) -> tuple[Event, Participant, Registration]:
    """The event (404 if hidden), the person (404 if the caller may not know them, 403
    if they may but not download their papers) and the place they hold."""
    event = events_service.get_event(session, event_id, actor)
    person = session.get(Participant, participant_id)
    missing = NotFound(f"participant {participant_id} holds no place at event {event_id}")
    if person is None or person.erased_at is not None:
        raise missing
    if not policy.can_download_papers(actor, event, person, _account_email(session, actor)):
        if participants_policy.can_read_participant(session, actor, person):
            raise Forbidden("a person's papers go to the coordinators of the host and of "
                            "their home city, and to the person or their guardian")
        raise missing
    registration = session.exec(select(Registration).where(
        Registration.event_id == event_id, Registration.participant_id == participant_id,
        col(Registration.status).in_(list(HOLDING)))).first()
    if registration is None:
        raise missing
    return event, person, registration


def _record(session: Session, event: Event, person: Participant, kind: DocumentKind,
            langs: Sequence[Lang]) -> None:
    audit.record_download(session, "participant", person.id,
                          {"document": str(kind), "event_id": event.id, "languages": list(langs)},
                          {event.host_city_id, person.home_city_id})


def _file_stem(kind: str, person: Participant, event: Event) -> tuple[str, str]:
    readable = "-".join(person.full_name.split())
    return f"{kind}-{readable}-event-{event.id}", f"{kind}-{person.id}-event-{event.id}"


def _pdf(body: bytes, stems: tuple[str, str]) -> Download:
    return Download(body, "application/pdf", f"{stems[0]}.pdf", f"{stems[1]}.pdf")


def invitation(session: Session, event_id: int, participant_id: int, actor: Actor,
               lang: Lang | None = None) -> Download:
    """A visa invitation letter for one person holding a place."""
    event, person, registration = _person_at_event(session, event_id, participant_id, actor)
    host = _city(session, event.host_city_id)
    langs = invitation_langs(host.country_code, lang)
    body = render.invitation_letter(
        _letterhead(session, host), _visit(event, host, _group_programme(session, event)),
        _traveller(person, registration, _city(session, person.home_city_id)), langs,
        clock.now().date())
    _record(session, event, person, DocumentKind.invitation, langs)
    return _pdf(body, _file_stem("invitation", person, event))


def consent_form(session: Session, event_id: int, participant_id: int, actor: Actor,
                 lang: Lang | None = None) -> Download:
    """The guardian's consent form for one minor, to sign."""
    event, person, registration = _person_at_event(session, event_id, participant_id, actor)
    if not registration.is_minor:
        raise Conflict(f"participant {participant_id} is not a minor at event {event_id}: "
                       "no guardian's consent is needed")
    host, home = _city(session, event.host_city_id), _city(session, person.home_city_id)
    langs = consent_langs(home.country_code, lang)
    body = render.consent_form(_letterhead(session, host), _visit(event, host),
                               _traveller(person, registration, home), langs)
    _record(session, event, person, DocumentKind.consent_form, langs)
    return _pdf(body, _file_stem("consent-form", person, event))


# Delegation lists --------------------------------------------------------------------


def _list_scope(session: Session, event: Event, actor: Actor, city_id: int | None,
                fmt: ListFormat) -> int | None:
    """The delegation listed (None: every guest); refuses who may not have it."""
    cities = event_city_ids(session, event)
    if not participants_policy.can_follow_event(actor, cities):
        raise Forbidden("only the cities taking part in an event get its delegation lists")
    host_side = policy.can_download_list(actor, event, None, csv=fmt == "csv")
    scope = city_id if host_side or city_id is not None else actor.city_id
    if not policy.can_download_list(actor, event, scope, csv=fmt == "csv"):
        raise Forbidden("the host's coordinators get every guest's list; a guest city's "
                        "coordinators get their own delegation's (its partner systems, "
                        "as CSV)")
    if scope is not None and scope not in cities:
        raise Unprocessable(f"city {scope} does not take part in event {event.id}",
                            field="city_id", where="query")
    return scope


def _travellers(session: Session, event: Event, scope: int | None) -> list[render.Traveller]:
    query = (select(Registration, Participant, City)
             .join(Participant, col(Participant.id) == Registration.participant_id)
             .join(City, col(City.id) == Participant.home_city_id)
             .where(Registration.event_id == event.id,
                    col(Registration.status).in_(list(HOLDING))))
    if scope is None:
        query = query.where(Participant.home_city_id != event.host_city_id)
    else:
        query = query.where(Participant.home_city_id == scope)
    rows = session.exec(query.order_by(col(City.name), col(Participant.full_name),
                                       col(Participant.id))).all()
    return [_traveller(person, registration, home) for registration, person, home in rows]


def delegation_list(session: Session, event_id: int, actor: Actor, city_id: int | None,
                    fmt: ListFormat) -> Download:
    """The list for border control and insurers: every guest holding a place, or one
    city's delegation (``city_id``; a guest city always gets its own)."""
    event = events_service.get_event(session, event_id, actor)
    scope = _list_scope(session, event, actor, city_id, fmt)
    host = _city(session, event.host_city_id)
    people = _travellers(session, event, scope)
    delegation = _city(session, scope).name if scope is not None else None
    if fmt == "csv":
        body, media_type = render.delegation_list_csv(people), "text/csv; charset=utf-8"
    else:
        body = render.delegation_list_pdf(_letterhead(session, host), _visit(event, host),
                                          people, delegation)
        media_type = "application/pdf"
    audit.record_download(session, "event", event.id,
                          {"document": str(DocumentKind.delegation_list), "format": fmt,
                           "city_id": scope, "people": len(people)},
                          {event.host_city_id} | ({scope} if scope else set()))
    suffix = "-".join(delegation.split()) if delegation else "guests"
    ascii_suffix = f"city-{scope}" if scope is not None else "guests"
    return Download(body, media_type, f"delegation-list-event-{event.id}-{suffix}.{fmt}",
                    f"delegation-list-event-{event.id}-{ascii_suffix}.{fmt}")
