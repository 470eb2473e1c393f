"""An exchange with a programme: Albuquerque's school group in Ashgabat.

Ashgabat (Asia/Ashgabat) hosts, Albuquerque (America/Denver) is the guest,
Kostroma is twinned with Ashgabat but takes no part. Each city has a
coordinator and a partner key (``ac``, ``ap``, ``bc``, ``bp``, ``kc``, ``kp``),
and there are an admin and anonymous callers. Two Albuquerque students, one
chaperone and an Ashgabat student hold places.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from app.calendars import assembly
from app.core.actors import Role
from app.events.models import Event
from app.participants.models import Participant

EXCHANGE = {"starts_at": "2027-05-20T09:00", "ends_at": "2027-05-26T18:00"}


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    assembly.clear_caches()
    yield
    assembly.clear_caches()


@dataclass
class Exchange:
    cities: dict[str, Any]
    keys: dict[str, dict[str, str]]
    event: Event
    people: dict[str, Participant]

    def person(self, name: str) -> int:
        return int(self.people[name].id or 0)

    @property
    def programme(self) -> str:
        return f"/api/v1/events/{self.event.id}/programme"


@pytest.fixture
def exchange(make_city, make_partnership, make_key, make_event, make_participant,
             make_registration) -> Exchange:
    ashgabat = make_city("Ashgabat", "TM", timezone="Asia/Ashgabat")
    albuquerque = make_city("Albuquerque", "US", timezone="America/Denver")
    kostroma = make_city("Kostroma")
    make_partnership(ashgabat, kostroma)
    cities = {"ashgabat": ashgabat, "albuquerque": albuquerque, "kostroma": kostroma}
    keys: dict[str, dict[str, str]] = {"anonymous": {}, "admin": make_key(Role.admin)}
    for letter, city in zip("abk", cities.values(), strict=True):
        keys[f"{letter}c"] = make_key(Role.coordinator, city)
        keys[f"{letter}p"] = make_key(Role.partner, city)
    event = make_event(ashgabat, [albuquerque], title="Youth exchange", kind="youth_exchange",
                       status="confirmed", capacity=30, **EXCHANGE)
    people = {
        "isabella": make_participant(albuquerque, full_name="Isabella Montoya", age=16,
                                     guardian_name="Rosa Montoya"),
        "diego": make_participant(albuquerque, full_name="Diego Baca", age=17,
                                  guardian_name="Ana Baca"),
        "karen": make_participant(albuquerque, full_name="Karen Whitfield", age=46),
        "aylar": make_participant(ashgabat, full_name="Aylar Orazova", age=16,
                                  guardian_name="Maral Orazova"),
        "stranger": make_participant(albuquerque, full_name="Not Registered", age=40),
    }
    for name, role in (("isabella", "student"), ("diego", "student"), ("karen", "chaperone"),
                       ("aylar", "student")):
        make_registration(event, people[name], role)
    return Exchange(cities, keys, event, people)


def item_body(**fields: Any) -> dict[str, Any]:
    return {"title": "Welcome at the city hall", "starts_at": "2027-05-20T17:00",
            "ends_at": "2027-05-20T18:30", "place": "Ashgabat city hall"} | fields


def add_item(client: Any, x: Exchange, who: str = "ac", **fields: Any) -> dict[str, Any]:
    r = client.post(x.programme, json=item_body(**fields), headers=x.keys[who])
    assert r.status_code == 201, r.text
    return dict(r.json())
