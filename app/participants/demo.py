"""Demo people: travellers registered for the demo exchanges, and the coordinators
who sign in to look after them.

Everything a coordinator checks before departure shows somewhere: the youth
exchange in Ashgabat has minors with and without their guardian's consent, one
adult chaperone too few (the second one withdrew), a student awaiting
chaperones and one nobody can reach; the football cup has two teams; the
Ferrara delegation five delegates and an interpreter; a small boat trip in
Volgograd, added here, is full and has a waitlist.

People are loaded through the participants service, with its rules, acting as
the system; birth dates are set from each event's first day, so that the
students are 15 to 17 on it. A person is matched by email (by name and home
city when they have none) and a registration by person and event: a second run
adds nothing, and leaves alone whatever a coordinator changed since.

The accounts (``seed_demo_accounts``) are opt-in (``twinplan seed-demo --people``):
one coordinator for Kostroma, Volgograd and Ashgabat and one admin, all under
``@demo.twinplan.example``, with one password that every run sets anew.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, select

from app.accounts import passwords, sessions
from app.accounts.service import add_membership, create_user, find_user
from app.cities.models import City
from app.core import clock
from app.core.actors import SYSTEM, Role
from app.events import service as events_service
from app.events.demo import next_twin_cities_day
from app.events.models import Event, EventCreate, EventKind, EventStatus
from app.participants import service
from app.participants.models import (
    ConsentCreate,
    Participant,
    ParticipantCreate,
    Registration,
    RegistrationCreate,
    RegistrationRole,
    RegistrationStatus,
)

STUDENT = RegistrationRole.student
CHAPERONE = RegistrationRole.chaperone
ATHLETE = RegistrationRole.athlete
COACH = RegistrationRole.coach
DELEGATE = RegistrationRole.delegate
INTERPRETER = RegistrationRole.interpreter
OFFICIAL = RegistrationRole.official


@dataclass(frozen=True)
class DemoPerson:
    """A traveller from a demo city (by name), ``age`` on the event's first day."""

    name: str
    city: str
    role: RegistrationRole
    age: int
    email: str | None = None
    phone: str | None = None
    guardian: str | None = None
    guardian_email: str | None = None
    # The guardian's consent is on record (minors).
    consent: bool = False
    # Registered, then cancelled for this reason.
    cancelled: str | None = None
    notes: str | None = None


@dataclass(frozen=True)
class DemoRoster:
    """Who is registered for the demo event ``title`` hosted by ``host``, in order."""

    host: str
    title: str
    people: tuple[DemoPerson, ...]


def _student(name: str, city: str, age: int, guardian: str, guardian_email: str | None,
             *, consent: bool = True, **extra: str) -> DemoPerson:
    return DemoPerson(name, city, STUDENT, age, guardian=guardian,
                      guardian_email=guardian_email, consent=consent, **extra)


def _player(name: str, city: str, age: int, guardian: str, guardian_email: str,
            *, consent: bool = True) -> DemoPerson:
    return DemoPerson(name, city, ATHLETE, age, guardian=guardian,
                      guardian_email=guardian_email, consent=consent)


ABQ, ASB = "Albuquerque", "Ashgabat"
YOUTH_EXCHANGE = "Youth exchange: Albuquerque in Ashgabat"
FOOTBALL_CUP = "Friendship football cup Tashkent – Ashgabat"
FERRARA_DELEGATION = "Delegation from Ferrara"
BOAT_TRIP = "Volga boat trip for the twin towns' guests"

# Thirteen minors need two chaperones (one per ten); the second one withdrew, so
# one is missing, the last student confirmed waits for chaperones again, two
# wait for their guardian's consent, and one has no contact at all.
YOUTH: tuple[DemoPerson, ...] = (
    DemoPerson("Karen Whitfield", ABQ, CHAPERONE, 46, email="k.whitfield@albuquerque.example",
               phone="+1 505 555 0114", notes="Teacher of Russian, Sandia High School; "
               "group leader."),
    DemoPerson("Michael Archuleta", ABQ, CHAPERONE, 39, email="m.archuleta@albuquerque.example",
               phone="+1 505 555 0127", cancelled="withdrew: family emergency"),
    _student("Isabella Montoya", ABQ, 16, "Rosa Montoya", "rosa.montoya@albuquerque.example",
             email="isabella.montoya@albuquerque.example"),
    _student("Mateo Baca", ABQ, 17, "Daniel Baca", "daniel.baca@albuquerque.example",
             phone="+1 505 555 0133"),
    _student("Olivia Sandoval", ABQ, 15, "Teresa Sandoval", "t.sandoval@albuquerque.example",
             notes="Vegetarian."),
    _student("Ethan Walker", ABQ, 16, "Jennifer Walker", "jen.walker@albuquerque.example",
             email="ethan.walker@albuquerque.example"),
    _student("Ava Begay", ABQ, 15, "Lorraine Begay", "l.begay@albuquerque.example",
             notes="Allergic to peanuts; carries an EpiPen."),
    _student("Noah Trujillo", ABQ, 17, "Anthony Trujillo", "a.trujillo@albuquerque.example"),
    _student("Mia Lucero", ABQ, 16, "Patricia Lucero", "p.lucero@albuquerque.example",
             phone="+1 505 555 0148"),
    _student("Lucas Gallegos", ABQ, 15, "Veronica Gallegos", "v.gallegos@albuquerque.example",
             consent=False),
    _student("Chloe Anderson", ABQ, 16, "Mark Anderson", "mark.anderson@albuquerque.example"),
    _student("Maral Orazova", ASB, 16, "Ogulgerek Orazova", "o.orazova@ashgabat.example",
             notes="Host family for Olivia Sandoval."),
    _student("Mekan Charyyev", ASB, 15, "Gurbanbibi Charyyeva", None,
             notes="Consent given in person at school; the family's phone is still to be "
             "collected."),
    _student("Serdar Atayev", ASB, 17, "Bayram Atayev", "b.atayev@ashgabat.example",
             phone="+993 65 512 347"),
    _student("Aylar Gurbanova", ASB, 16, "Jeren Gurbanova", "j.gurbanova@ashgabat.example",
             consent=False),
)

FOOTBALL: tuple[DemoPerson, ...] = (
    DemoPerson("Rustam Abdullayev", "Tashkent", COACH, 44, email="r.abdullayev@tashkent.example",
               phone="+998 90 123 45 67"),
    _player("Jasur Karimov", "Tashkent", 16, "Bakhtiyor Karimov", "b.karimov@tashkent.example"),
    _player("Sardor Rakhimov", "Tashkent", 16, "Nodira Rakhimova", "n.rakhimova@tashkent.example"),
    _player("Bekzod Tursunov", "Tashkent", 15, "Alisher Tursunov", "a.tursunov@tashkent.example"),
    _player("Otabek Yusupov", "Tashkent", 16, "Dilnoza Yusupova", "d.yusupova@tashkent.example"),
    _player("Sherzod Nazarov", "Tashkent", 15, "Farrukh Nazarov", "f.nazarov@tashkent.example",
            consent=False),
    _player("Azizbek Khasanov", "Tashkent", 16, "Malika Khasanova",
            "m.khasanova@tashkent.example"),
    DemoPerson("Guvanch Charyyev", ASB, COACH, 41, email="g.charyyev@ashgabat.example",
               phone="+993 65 498 210"),
    _player("Batyr Annayev", ASB, 16, "Myrat Annayev", "m.annayev@ashgabat.example"),
    _player("Dovlet Hojayev", ASB, 16, "Aknabat Hojayeva", "a.hojayeva@ashgabat.example"),
    _player("Merdan Gurbanov", ASB, 15, "Rahman Gurbanov", "r.gurbanov@ashgabat.example"),
    _player("Rovshen Ovezov", ASB, 16, "Maysa Ovezova", "m.ovezova@ashgabat.example"),
    _player("Yhlas Saparov", ASB, 15, "Kakajan Saparov", "k.saparov@ashgabat.example"),
    _player("Shatlyk Nurmuhammedov", ASB, 16, "Gulshat Nurmuhammedova",
            "g.nurmuhammedova@ashgabat.example"),
)

FERRARA: tuple[DemoPerson, ...] = (
    DemoPerson("Alessandro Bianchi", "Ferrara", DELEGATE, 57, email="a.bianchi@ferrara.example",
               phone="+39 0532 419 201", notes="Deputy mayor; heads the delegation."),
    DemoPerson("Giulia Rossi", "Ferrara", DELEGATE, 43, email="g.rossi@ferrara.example",
               notes="International relations office."),
    DemoPerson("Marco Ferri", "Ferrara", DELEGATE, 51, email="m.ferri@ferrara.example",
               notes="Chamber of commerce: cheese and dairy."),
    DemoPerson("Chiara Benedetti", "Ferrara", DELEGATE, 36, email="c.benedetti@ferrara.example",
               notes="University of Ferrara, Slavic studies."),
    DemoPerson("Lorenzo Guidi", "Ferrara", DELEGATE, 48, email="l.guidi@ferrara.example",
               phone="+39 0532 419 233"),
    DemoPerson("Elena Sokolova", "Kostroma", INTERPRETER, 34,
               email="e.sokolova@kostroma.example", phone="+7 4942 31 15 08",
               notes="Italian–Russian interpreter."),
)

# Twelve seats on the boat: the last two to register wait for one.
BOAT: tuple[DemoPerson, ...] = (
    DemoPerson("Irina Kuznetsova", "Volgograd", OFFICIAL, 52,
               email="i.kuznetsova@volgograd.example", notes="Guide, Panorama museum."),
    DemoPerson("Dmitry Orlov", "Volgograd", INTERPRETER, 31, email="d.orlov@volgograd.example",
               phone="+7 8442 38 24 90"),
    DemoPerson("James Whitmore", "Coventry", DELEGATE, 61, email="j.whitmore@coventry.example"),
    DemoPerson("Sarah Doyle", "Coventry", DELEGATE, 45, email="s.doyle@coventry.example",
               phone="+44 7700 900 412"),
    DemoPerson("Oliver Bennett", "Coventry", DELEGATE, 29, email="o.bennett@coventry.example"),
    DemoPerson("Camille Moreau", "Dijon", DELEGATE, 38, email="c.moreau@dijon.example"),
    DemoPerson("Julien Lefèvre", "Dijon", DELEGATE, 55, email="j.lefevre@dijon.example"),
    DemoPerson("Élodie Girard", "Dijon", DELEGATE, 27, email="e.girard@dijon.example"),
    DemoPerson("Francesca Conti", "Turin", DELEGATE, 49, email="f.conti@turin.example"),
    DemoPerson("Davide Greco", "Turin", DELEGATE, 33, email="d.greco@turin.example"),
    DemoPerson("Tomáš Novák", "Ostrava", DELEGATE, 58, email="t.novak@ostrava.example"),
    DemoPerson("Petra Dvořáková", "Ostrava", DELEGATE, 41, email="p.dvorakova@ostrava.example"),
    DemoPerson("Emma Hughes", "Coventry", DELEGATE, 35, email="e.hughes@coventry.example"),
    DemoPerson("Jana Horáková", "Ostrava", DELEGATE, 30, email="j.horakova@ostrava.example"),
)

DEMO_ROSTERS: tuple[DemoRoster, ...] = (
    DemoRoster(ASB, YOUTH_EXCHANGE, YOUTH),
    DemoRoster("Tashkent", FOOTBALL_CUP, FOOTBALL),
    DemoRoster("Kostroma", FERRARA_DELEGATION, FERRARA),
    DemoRoster("Volgograd", BOAT_TRIP, BOAT),
)

# The boat trip is the demo people's own event: small, so that it fills up. The
# day after World Twin Cities Day in Volgograd, for the guests of that day.
BOAT_TRIP_DESCRIPTION = (
    "Twelve seats on the river boat for the twin towns' guests: the Volga from the "
    "central embankment to Mamayev Kurgan, with a guide from the Panorama museum."
)


@dataclass
class PeopleSeedReport:
    events_added: list[str] = field(default_factory=list)
    participants_added: int = 0
    participants_unchanged: int = 0
    registrations_added: int = 0
    registrations_unchanged: int = 0
    # Rosters whose event is not there (deleted since): left out.
    events_missing: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        lines = []
        if self.events_added:
            lines.append(f"events for the demo people: {len(self.events_added)} added "
                         f"({', '.join(self.events_added)})")
        lines += [
            f"participants: {self.participants_added} added, "
            f"{self.participants_unchanged} unchanged",
            f"registrations: {self.registrations_added} added, "
            f"{self.registrations_unchanged} unchanged",
        ]
        if self.events_missing:
            lines.append(f"not found, no one registered: {', '.join(self.events_missing)}")
        return lines


def _find_event(session: Session, host_id: int, title: str) -> Event | None:
    return session.exec(
        select(Event).where(Event.host_city_id == host_id, Event.title == title)
        .order_by(col(Event.id))
    ).first()


def _ensure_boat_trip(session: Session, cities: dict[str, int], today: date,
                      report: PeopleSeedReport) -> None:
    if _find_event(session, cities["Volgograd"], BOAT_TRIP) is not None:
        return
    day = next_twin_cities_day(today) + timedelta(days=1)
    events_service.create_event(session, EventCreate(
        kind=EventKind.culture, title=BOAT_TRIP, description=BOAT_TRIP_DESCRIPTION,
        host_city_id=cities["Volgograd"],
        guest_city_ids=[cities[c] for c in ("Coventry", "Dijon", "Turin", "Ostrava")],
        venue="Central embankment, river station", capacity=12,
        status=EventStatus.confirmed,
        starts_at=datetime.combine(day, time(15, 0)), ends_at=datetime.combine(day, time(18, 0)),
    ), SYSTEM)
    report.events_added.append(BOAT_TRIP)


def _born(first_day: date, age: int, spread: int) -> date:
    """A birthday making the person ``age`` on ``first_day``: ``age`` years and
    between 20 and 339 days before it."""
    year = first_day.year - age
    anniversary = (date(year, first_day.month, first_day.day)
                   if (first_day.month, first_day.day) != (2, 29) else date(year, 2, 28))
    return anniversary - timedelta(days=20 + (spread * 47) % 320)


def _find_participant(session: Session, person: DemoPerson, home_city_id: int
                      ) -> Participant | None:
    query = select(Participant).where(Participant.home_city_id == home_city_id)
    if person.email is not None:
        query = query.where(Participant.email == person.email)
    else:
        query = query.where(Participant.full_name == person.name,
                            col(Participant.email).is_(None))
    return session.exec(query.order_by(col(Participant.id))).first()


def _participant(session: Session, person: DemoPerson, home_city_id: int, event: Event,
                 spread: int, report: PeopleSeedReport) -> Participant:
    found = _find_participant(session, person, home_city_id)
    if found is not None:
        report.participants_unchanged += 1
        return found
    report.participants_added += 1
    return service.create_participant(session, ParticipantCreate(
        full_name=person.name, email=person.email, phone=person.phone,
        home_city_id=home_city_id, birth_date=_born(event.first_day, person.age, spread),
        guardian_name=person.guardian, guardian_email=person.guardian_email,
        notes=person.notes, **_passport(session, person, home_city_id, event),
    ), SYSTEM)


def _passport(session: Session, person: DemoPerson, home_city_id: int, event: Event
              ) -> dict[str, Any]:
    """The youth exchange's guests carry passports (their visa letters print them):
    a made-up number, valid five years from the first day."""
    if event.title != YOUTH_EXCHANGE or home_city_id == event.host_city_id:
        return {}
    home = session.get(City, home_city_id)
    assert home is not None
    return {"passport_number": f"5{zlib.crc32(person.name.encode()) % 10**8:08d}",
            "passport_expiry": service.months_after(event.first_day, 60),
            "nationality": home.country_code}


def _seed_roster(session: Session, roster: DemoRoster, cities: dict[str, int],
                 report: PeopleSeedReport) -> None:
    event = _find_event(session, cities[roster.host], roster.title)
    if event is None:
        report.events_missing.append(roster.title)
        return
    assert event.id is not None
    added: list[tuple[DemoPerson, Registration]] = []
    for spread, person in enumerate(roster.people):
        participant = _participant(session, person, cities[person.city], event, spread, report)
        assert participant.id is not None
        existing = session.exec(select(Registration.id).where(
            Registration.event_id == event.id, Registration.participant_id == participant.id,
        )).first()
        if existing is not None:
            report.registrations_unchanged += 1
            continue
        registration = service.register(session, event.id, RegistrationCreate(
            participant_id=participant.id, role=person.role), SYSTEM)
        report.registrations_added += 1
        added.append((person, registration))
    # Then what happened since: consents came in, someone withdrew.
    for person, registration in added:
        if person.consent and registration.status == RegistrationStatus.pending_consent:
            assert registration.id is not None and person.guardian is not None
            service.record_consent(session, registration.id,
                                   ConsentCreate(guardian_name=person.guardian), SYSTEM)
    for person, registration in added:
        if person.cancelled:
            assert registration.id is not None
            service.cancel_registration(session, registration.id, person.cancelled, SYSTEM)


def seed_demo_people(session: Session, city_ids: dict[str, int], today: date
                     ) -> PeopleSeedReport:
    """The demo participants and their registrations at the demo events (whose host
    and guests are in ``city_ids``, demo name -> id), the boat trip included."""
    report = PeopleSeedReport()
    _ensure_boat_trip(session, city_ids, today, report)
    for roster in DEMO_ROSTERS:
        _seed_roster(session, roster, city_ids, report)
    session.flush()
    return report


# Accounts ----------------------------------------------------------------------

# Reserved for documentation (RFC 2606), so no mail reaches anyone; not ``.test``,
# which sign-in refuses (email-validator: a special-use name, RFC 6761).
DEMO_EMAIL_DOMAIN = "demo.twinplan.example"


@dataclass(frozen=True)
class DemoAccount:
    email: str
    display_name: str
    role: Role
    city: str | None = None  # demo city name, for a coordinator

    @property
    def what(self) -> str:
        return f"coordinator of {self.city}" if self.city else str(self.role)


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount(f"admin@{DEMO_EMAIL_DOMAIN}", "Demo admin", Role.admin),
    DemoAccount(f"kostroma@{DEMO_EMAIL_DOMAIN}", "Demo coordinator, Kostroma",
                Role.coordinator, "Kostroma"),
    DemoAccount(f"volgograd@{DEMO_EMAIL_DOMAIN}", "Demo coordinator, Volgograd",
                Role.coordinator, "Volgograd"),
    DemoAccount(f"ashgabat@{DEMO_EMAIL_DOMAIN}", "Demo coordinator, Ashgabat",
                Role.coordinator, "Ashgabat"),
)


@dataclass
class AccountSeedReport:
    added: list[str] = field(default_factory=list)
    reset: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [f"demo accounts: {len(self.added)} added, {len(self.reset)} password reset"]


def seed_demo_accounts(session: Session, city_ids: dict[str, int], password: str
                       ) -> AccountSeedReport:
    """The demo accounts, all with ``password``: made if missing, their password
    set to it (and their sessions ended) if there. Only these accounts change."""
    report = AccountSeedReport()
    for account in DEMO_ACCOUNTS:
        city_id = city_ids[account.city] if account.city else None
        user = find_user(session, account.email)
        if user is None:
            city = session.get(City, city_id) if city_id is not None else None
            user = create_user(session, email=account.email, display_name=account.display_name,
                               password=password, timezone=city.timezone if city else "UTC")
            report.added.append(account.email)
        else:
            user.password_hash = passwords.hash_password(password)
            user.updated_at = clock.now()
            session.add(user)
            sessions.end_all(session, user.id or 0)
            report.reset.append(account.email)
        add_membership(session, user, account.role, city_id)
    session.flush()
    return report
