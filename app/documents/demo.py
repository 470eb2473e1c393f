"""Demo letterheads: Ashgabat's and Kostroma's offices, so the demo's papers (the
youth exchange in Ashgabat's invitation letters) print a real-looking head.

A city that has a letterhead keeps it: a second run adds nothing and leaves alone
whatever a coordinator wrote since."""

from __future__ import annotations

from sqlmodel import Session

from app.core.actors import SYSTEM
from app.documents import service
from app.documents.models import CityLetterhead, LetterheadUpdate

DEMO_LETTERHEADS: dict[str, LetterheadUpdate] = {
    "Ashgabat": LetterheadUpdate(
        office_name="Aşgabat şäher häkimligi · Ashgabat City Administration",
        address_lines=["Garaşsyzlyk şaýoly 30", "744000 Aşgabat, Turkmenistan"],
        phone="+993 12 94 08 00", email="international@ashgabat.example",
        website="https://ashgabat.example", signatory_name="Aýsoltan Nurmyradowa",
        signatory_title="Head of International Relations"),
    "Kostroma": LetterheadUpdate(
        office_name="Администрация города Костромы · Kostroma City Administration",
        address_lines=["ul. Sovetskaya 1", "156000 Kostroma, Russia"],
        phone="+7 4942 31 44 40", email="international@kostroma.example",
        website="https://kostroma.example", signatory_name="Elena Smirnova",
        signatory_title="Head of External Relations"),
}


def seed_demo_letterheads(session: Session, city_ids: dict[str, int]) -> int:
    """The demo cities' letterheads (demo name -> city id); returns how many were added."""
    added = 0
    for name, letterhead in DEMO_LETTERHEADS.items():
        city_id = city_ids.get(name)
        if city_id is None or session.get(CityLetterhead, city_id) is not None:
            continue
        service.put_letterhead(session, city_id, letterhead, SYSTEM)
        added += 1
    return added
