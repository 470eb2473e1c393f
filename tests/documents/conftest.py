"""Kostroma hosts a youth exchange (20-22 May 2027); Mary (Turkmenistan) and Ferrara
send people; Gabrovo takes no part. Each city has a coordinator and a partner key
(``kc``, ``kp``, ``mc``, ``mp``, ``fc``, ``fp``, ``gc``, ``gp``); there are an admin,
anonymous callers, and two people signed in without any role: Aýna herself
(``ayna``) and the minor Şatlyk's mother (``guardian``)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from pypdf import PdfReader
from sqlmodel import Session

from app.accounts import sessions
from app.accounts.service import create_user
from app.core.actors import Role
from app.events.models import Event
from app.participants.models import Participant


@dataclass
class World:
    event: Event
    cities: dict[str, Any]
    people: dict[str, Participant]
    keys: dict[str, dict[str, str]]

    def city(self, name: str) -> int:
        return int(self.cities[name].id)

    def person(self, name: str) -> int:
        return int(self.people[name].id or 0)


def signed_in(session: Session, email: str) -> dict[str, str]:
    """A person signed in with no membership: their cookie and CSRF header."""
    user = create_user(session, email=email, display_name=email, password=None)
    row, secret = sessions.start(session, user, membership_id=None, client=None,
                                 user_agent=None)
    session.commit()
    return {"Cookie": f"{sessions.COOKIE}={secret}", sessions.CSRF_HEADER: row.csrf_token}


@pytest.fixture
def world(session, make_city, make_event, make_participant, make_registration,
          make_key) -> World:
    cities = {"kostroma": make_city("Kostroma"), "mary": make_city("Mary", "TM"),
              "ferrara": make_city("Ferrara", "IT", timezone="Europe/Rome"),
              "gabrovo": make_city("Gabrovo", "BG", timezone="Europe/Sofia")}
    event = make_event(cities["kostroma"], [cities["mary"], cities["ferrara"]],
                       kind="youth_exchange", title="Volga youth week",
                       description="Rowing on the Volga, a day at the Ipatiev Monastery.",
                       venue="Kostroma Youth Centre")
    people = {
        "ayna": make_participant(cities["mary"], full_name="Aýna Ňazarowa", age=40,
                                 email="ayna@example.org", passport_number="A1234567",
                                 passport_expiry=date(2031, 3, 1), nationality="TM"),
        "satlyk": make_participant(cities["mary"], full_name="Şatlyk Ämmäýew", age=15,
                                   guardian_name="Gülşat Ämmäýewa",
                                   guardian_email="gulsat@example.org",
                                   passport_number="B7654321",
                                   passport_expiry=date(2029, 8, 15), nationality="TM"),
        "marco": make_participant(cities["ferrara"], full_name="Marco Rossi", age=35,
                                  passport_number="YA0000001",
                                  passport_expiry=date(2032, 1, 1), nationality="IT"),
        "ivan": make_participant(cities["kostroma"], full_name="Ivan Petrov", age=30),
    }
    for name, role in (("ayna", "chaperone"), ("satlyk", "student"), ("marco", "chaperone"),
                       ("ivan", "coordinator")):
        make_registration(event, people[name], role)
    keys = {"anonymous": {}, "admin": make_key(Role.admin)}
    for name, city in cities.items():
        keys[f"{name[0]}c"] = make_key(Role.coordinator, city)
        keys[f"{name[0]}p"] = make_key(Role.partner, city)
    keys["ayna"] = signed_in(session, "Ayna@Example.org")
    keys["guardian"] = signed_in(session, "gulsat@example.org")
    return World(event, cities, people, keys)


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def one_line(text: str) -> str:
    """Extracted text with its line breaks as spaces (a sentence may wrap anywhere)."""
    return " ".join(text.split())
