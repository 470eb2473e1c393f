"""The demo's papers: Ashgabat's and Kostroma's letterheads, loaded once, and the
youth exchange's guests with passports their invitation letters print."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from app.cities.demo import seed_demo
from app.core.actors import SYSTEM
from app.documents import service
from app.documents.demo import seed_demo_letterheads
from app.events.demo import seed_demo_events
from app.events.models import Event
from app.participants.demo import YOUTH_EXCHANGE, seed_demo_people
from app.participants.models import Participant, Registration
from app.participants.service import readiness
from tests.documents.conftest import one_line, pdf_text

TODAY = date(2026, 11, 28)


def test_the_demo_letterheads_and_passports_print_on_the_youth_exchanges_letters(session):
    cities = seed_demo(session).city_ids
    seed_demo_events(session, cities, TODAY)
    seed_demo_people(session, cities, TODAY)
    assert seed_demo_letterheads(session, cities) == 2
    assert seed_demo_letterheads(session, cities) == 0
    session.commit()
    youth = session.exec(select(Event).where(Event.title == YOUTH_EXCHANGE)).one()
    guests = session.exec(select(Participant).join(
        Registration, Registration.participant_id == Participant.id).where(
        Registration.event_id == youth.id,
        Participant.home_city_id == cities["Albuquerque"])).all()
    assert guests and all(p.passport_number and p.passport_expiry and p.nationality == "US"
                          for p in guests)
    problems = readiness(session, youth.id, SYSTEM).problems
    assert all(p.kind != "passport_expiring" for p in problems)
    [leader] = [p for p in guests if p.full_name == "Karen Whitfield"]
    assert youth.id is not None and leader.id is not None
    letter = service.invitation(session, youth.id, leader.id, SYSTEM)
    text = one_line(pdf_text(letter.body))
    assert "Aşgabat şäher häkimligi" in text and "Aýsoltan Nurmyradowa" in text
    assert "Karen Whitfield" in text and str(leader.passport_number) in text
    assert "Письмо" not in text  # Turkmen is not translated: English only
