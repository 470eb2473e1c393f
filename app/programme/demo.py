"""A day-by-day programme for the demo's youth exchange (Albuquerque students in
Ashgabat, ``app.participants.demo``), so that the console, the feeds and the
agendas of the demo people have one to show.

Loaded through the programme service, with its checks. An item whose title the
event's programme already has is left alone, so a second run adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlmodel import Session, col, select

from app.core.actors import SYSTEM
from app.events.models import Event
from app.participants.demo import YOUTH_EXCHANGE
from app.participants.models import Participant, Registration, RegistrationRole
from app.programme import service
from app.programme.models import Audience, ProgrammeItem, ProgrammeItemCreate


@dataclass(frozen=True)
class DemoItem:
    """An item on the ``day``-th day of the exchange (0: the first), local times."""

    title: str
    day: int
    starts: time
    ends: time
    place: str | None = None
    notes: str | None = None
    role: RegistrationRole | None = None
    people: tuple[str, ...] = ()
    public: bool = False


DEMO_PROGRAMME: tuple[DemoItem, ...] = (
    DemoItem("Arrival and meeting the host families", 0, time(9, 0), time(11, 0),
             "Ashgabat International Airport, arrivals hall",
             "The host families wait with name boards; buses for the luggage."),
    DemoItem("Welcome at the city hall", 0, time(17, 0), time(18, 30), "Ashgabat city hall",
             "Welcome by the mayor's office, exchange of gifts, press photo.", public=True),
    DemoItem("School visit: lessons at School No. 20", 1, time(9, 0), time(13, 0),
             "Specialised school No. 20", "Students join their partners' classes.",
             role=RegistrationRole.student),
    DemoItem("Chaperones' meeting with the host teachers", 1, time(15, 0), time(16, 30),
             "Specialised school No. 20, teachers' room",
             "Emergency contacts, daily schedule, rules for evenings with host families.",
             role=RegistrationRole.chaperone),
    DemoItem("Excursion to the Nisa fortress", 2, time(9, 30), time(15, 30),
             "Old Nisa, Bagyr", "Packed lunch from the host families; sun hats."),
    DemoItem("Music workshop with the Palace of Knowledge ensemble", 3, time(10, 0),
             time(13, 0), "Palace of Knowledge", role=RegistrationRole.student),
    DemoItem("Radio interview about the exchange", 4, time(11, 0), time(12, 0),
             "Türkmen radio, studio 3",
             "The group leader and one student talk about their first days.",
             people=("Karen Whitfield", "Isabella Montoya")),
    DemoItem("Turkmen carpet museum", 5, time(10, 0), time(12, 30),
             "National carpet museum", public=True),
    DemoItem("Farewell concert and dinner", 6, time(12, 0), time(15, 0),
             "Palace of Knowledge, great hall",
             "The joint music workshop performs; host families invited.", public=True),
)


def _youth_exchange(session: Session, city_ids: dict[str, int]) -> Event | None:
    return session.exec(
        select(Event).where(Event.host_city_id == city_ids["Ashgabat"],
                            Event.title == YOUTH_EXCHANGE).order_by(col(Event.id))
    ).first()


def _registered(session: Session, event_id: int, names: tuple[str, ...]) -> list[int]:
    """The ids of the people of these names registered at the event, if all are."""
    found = session.exec(
        select(Participant.id)
        .join(Registration, col(Registration.participant_id) == Participant.id)
        .where(Registration.event_id == event_id, col(Participant.full_name).in_(names))
        .order_by(col(Participant.id))
    ).all()
    return [i for i in found if i is not None] if len(found) == len(names) else []


def _body(item: DemoItem, first_day: date, people: list[int]) -> ProgrammeItemCreate:
    day = first_day + timedelta(days=item.day)
    audience = (Audience.people if item.people
                else Audience.role if item.role else Audience.everyone)
    return ProgrammeItemCreate(
        title=item.title, notes=item.notes, place=item.place, public=item.public,
        starts_at=datetime.combine(day, item.starts), ends_at=datetime.combine(day, item.ends),
        audience=audience, role=item.role, participant_ids=people,
    )


def seed_demo_programme(session: Session, city_ids: dict[str, int], today: date) -> int:
    """The youth exchange's programme (its event is found by host and title, and dated
    already: ``today`` is not needed to place it). How many items were added; an item
    naming people who are not registered (demo people not loaded) is left out."""
    del today  # the event carries its dates
    event = _youth_exchange(session, city_ids)
    if event is None or event.id is None:
        return 0
    have = set(session.exec(
        select(ProgrammeItem.title).where(ProgrammeItem.event_id == event.id)).all())
    added = 0
    for item in DEMO_PROGRAMME:
        if item.title in have:
            continue
        people = _registered(session, event.id, item.people) if item.people else []
        if item.people and not people:
            continue
        service.create_item(session, event.id, _body(item, event.first_day, people), SYSTEM)
        added += 1
    session.flush()
    return added
