"""Demo host families: Ashgabat's families for the Albuquerque students of the demo
youth exchange, the students' needs, and a proposed placement.

Ava Begay is allergic to peanuts (and carries an EpiPen), Olivia Sandoval is
vegetarian, and Maral Orazova's family hosts Olivia (the demo people's notes
say so): Olivia is pinned there, as a coordinator would have done, and the
solver places everyone else around her. Loaded through the services as the
system. A family is matched by its name in the city, needs by guest and event,
and the placement by event: a second run adds nothing, and leaves alone whatever
a coordinator changed since.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from app.core.actors import SYSTEM
from app.events.models import Event
from app.hosting import service
from app.hosting.models import (
    Allergy,
    Diet,
    GuestNeeds,
    GuestNeedsWrite,
    HostFamily,
    HostFamilyCreate,
    Placement,
    PlacementAssignment,
    PlacementRequest,
)
from app.participants.demo import ABQ, ASB, YOUTH_EXCHANGE
from app.participants.models import Participant

HOSTS_OLIVIA = "Orazov family"


@dataclass(frozen=True)
class DemoFamily:
    name: str
    address: str
    places: int
    languages: tuple[str, ...]
    diets: tuple[Diet, ...] = ()
    pets: bool = False
    smoking: bool = False
    phone: str | None = None
    notes: str | None = None


FAMILIES: tuple[DemoFamily, ...] = (
    DemoFamily(HOSTS_OLIVIA, "Magtymguly avenue 48, flat 12", 2, ("tk", "ru", "en"),
               (Diet.vegetarian,), phone="+993 12 39 41 17",
               notes="Maral's family; her mother Ogulgerek teaches English."),
    DemoFamily("Atayev family", "Bitarap Turkmenistan street 112", 3, ("tk", "ru"),
               (Diet.halal,), pets=True, phone="+993 65 512 347",
               notes="A cat and a parrot."),
    DemoFamily("Gurbanov family", "Garashsyzlyk avenue 7, flat 3", 2, ("tk", "ru", "en"),
               (Diet.halal, Diet.nut_free), phone="+993 12 44 20 08"),
    DemoFamily("Charyyev family", "Archabil avenue 21", 2, ("tk", "ru"), smoking=True),
    DemoFamily("Berdiyev family", "Oguzhan street 3", 3, ("tk", "ru", "en"),
               (Diet.vegetarian, Diet.nut_free, Diet.gluten_free),
               notes="Live next to the Palace of Knowledge."),
    DemoFamily("Annayev family", "Andalyp street 54", 2, ("ru", "en")),
)


@dataclass(frozen=True)
class DemoNeeds:
    allergies: tuple[Allergy, ...] = ()
    diets: tuple[Diet, ...] = ()
    languages: tuple[str, ...] = ("en",)
    prefers_with: str | None = None
    medical_notes: str | None = None


NEEDS: dict[str, DemoNeeds] = {
    "Ava Begay": DemoNeeds(allergies=(Allergy.nuts,),
                           medical_notes="Allergic to peanuts; carries an EpiPen."),
    "Olivia Sandoval": DemoNeeds(diets=(Diet.vegetarian,), languages=("en", "ru")),
    "Isabella Montoya": DemoNeeds(languages=("en", "es")),
    "Mateo Baca": DemoNeeds(languages=("en", "es"), prefers_with="Noah Trujillo"),
    "Noah Trujillo": DemoNeeds(languages=("en", "ru"), prefers_with="Mateo Baca"),
    "Ethan Walker": DemoNeeds(allergies=(Allergy.pets,)),
    "Mia Lucero": DemoNeeds(prefers_with="Chloe Anderson"),
    "Chloe Anderson": DemoNeeds(languages=("en", "ru"), prefers_with="Mia Lucero"),
}


def _families(session: Session, city_id: int) -> dict[str, HostFamily]:
    found = {f.household_name: f for f in session.exec(
        select(HostFamily).where(HostFamily.city_id == city_id)).all()}
    for demo in FAMILIES:
        if demo.name not in found:
            found[demo.name] = service.create_family(session, city_id, HostFamilyCreate(
                household_name=demo.name, address=demo.address, phone=demo.phone,
                languages=list(demo.languages), places=demo.places, pets=demo.pets,
                smoking=demo.smoking, diets=list(demo.diets), notes=demo.notes), SYSTEM)
    return found


def _students(session: Session, city_id: int) -> dict[str, int]:
    return {p.full_name: p.id or 0 for p in session.exec(
        select(Participant).where(Participant.home_city_id == city_id)).all()}


def _needs(session: Session, event: Event, students: dict[str, int]) -> None:
    assert event.id is not None
    for name, demo in NEEDS.items():
        guest = students.get(name)
        if guest is None or session.exec(select(GuestNeeds.id).where(
                GuestNeeds.event_id == event.id, GuestNeeds.participant_id == guest)).first():
            continue
        service.write_needs(session, event.id, guest, GuestNeedsWrite(
            allergies=list(demo.allergies), diets=list(demo.diets),
            languages=list(demo.languages), medical_notes=demo.medical_notes,
            prefers_with_id=students.get(demo.prefers_with or "")), SYSTEM)


def seed_demo_hosting(session: Session, city_ids: dict[str, int], today: date) -> int:
    """Ashgabat's host families, the Albuquerque students' needs and a proposed
    placement for the demo youth exchange; the number of guests placed (0 when the
    exchange already has a placement, or is not there). ``today`` is unused: the
    families outlive any one exchange, and the exchange is found by its title."""
    del today
    host, guests = city_ids.get(ASB), city_ids.get(ABQ)
    if host is None or guests is None:
        return 0
    event = session.exec(select(Event).where(
        Event.host_city_id == host, Event.title == YOUTH_EXCHANGE).order_by(col(Event.id))
    ).first()
    if event is None or event.id is None:
        return 0
    families = _families(session, host)
    students = _students(session, guests)
    _needs(session, event, students)
    if session.get(Placement, event.id) is not None or "Olivia Sandoval" not in students:
        return 0
    # Olivia stays with Maral's family: pinned first, as a coordinator would.
    session.add(Placement(event_id=event.id))
    session.flush()
    session.add(PlacementAssignment(event_id=event.id,
                                    participant_id=students["Olivia Sandoval"],
                                    family_id=families[HOSTS_OLIVIA].id or 0, pinned=True))
    session.flush()
    placed = service.propose(session, event.id, PlacementRequest(), SYSTEM)
    return sum(1 for g in placed.guests if g.family_id is not None)
