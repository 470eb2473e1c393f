"""Kostroma's search for a twin, as the brief that started the project tells it:
Turkmenistan first, then Azerbaijan or Uzbekistan, with an Italian city (Ferrara,
recorded as a proposed partnership) put forward along the way. Safe to rerun."""

from __future__ import annotations

from sqlmodel import Session, select

from app.core.actors import SYSTEM
from app.twins import service
from app.twins.models import TwinSearch, TwinSearchCreate

KOSTROMA_NOTES = (
    "Looking for a twin in Turkmenistan first, then in Azerbaijan or Uzbekistan. "
    "An Italian city, Ferrara, was proposed along the way: that proposal is recorded "
    "as a proposed partnership."
)


def seed_demo_search(session: Session, city_ids: dict[str, int]) -> int:
    """Opens Kostroma's search unless it has one; how many searches it opened."""
    kostroma = city_ids.get("Kostroma")
    if kostroma is None:
        return 0
    if session.exec(select(TwinSearch.id).where(TwinSearch.city_id == kostroma)).first():
        return 0
    service.create_search(session, kostroma,
                          TwinSearchCreate(countries=["TM", "AZ", "UZ"], notes=KOSTROMA_NOTES),
                          SYSTEM)
    return 1
