"""The travel tests' world: Ashgabat hosts a visit from its twins Albuquerque and
Tashkent; Kostroma takes no part. Each city has a coordinator and a partner key
(``world.keys["ashgabat coordinator"]``...), and there are an admin and anonymous
callers. Albuquerque sends Karen and Mateo, Tashkent sends Jasur; Maral is
Ashgabat's own (she travels nowhere)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from app.core.actors import Role

EVENT_START = "2027-05-20T09:00"


@dataclass
class World:
    cities: dict[str, Any]
    keys: dict[str, dict[str, str]]
    event: Any
    people: dict[str, Any]

    def key(self, city: str, role: str = "coordinator") -> dict[str, str]:
        return self.keys[f"{city} {role}"]

    def pid(self, name: str) -> int:
        return int(self.people[name].id)


@pytest.fixture
def world(make_city, make_partnership, make_key, make_event, make_participant,
          make_registration) -> World:
    cities = {
        "ashgabat": make_city("Ashgabat", "TM", timezone="Asia/Ashgabat"),
        "albuquerque": make_city("Albuquerque", "US", timezone="America/Denver"),
        "tashkent": make_city("Tashkent", "UZ", timezone="Asia/Tashkent"),
        "kostroma": make_city("Kostroma"),
    }
    event = make_event(cities["ashgabat"], [cities["albuquerque"], cities["tashkent"]],
                       title="Youth exchange", starts_at=EVENT_START,
                       ends_at="2027-05-26T18:00", visibility="partners")
    keys: dict[str, dict[str, str]] = {"anonymous": {}, "admin": make_key(Role.admin)}
    for name, city in cities.items():
        for role in (Role.coordinator, Role.partner):
            keys[f"{name} {role}"] = make_key(role, city)
    people = {
        "karen": make_participant(cities["albuquerque"], full_name="Karen Whitfield"),
        "mateo": make_participant(cities["albuquerque"], full_name="Mateo Baca"),
        "jasur": make_participant(cities["tashkent"], full_name="Jasur Karimov"),
        "maral": make_participant(cities["ashgabat"], full_name="Maral Orazova"),
    }
    for person in people.values():
        make_registration(event, person)
    return World(cities, keys, event, people)


def journey_body(w: World, *names: str, **fields: Any) -> dict[str, Any]:
    """An arrival of these people on TK 2800 from Istanbul, the evening before."""
    return {"direction": "arrival", "mode": "plane", "carrier": "Turkish Airlines",
            "number": "TK 2800", "from_place": "Istanbul Airport", "from_code": "IST",
            "to_place": "Ashgabat International Airport", "to_code": "ASB",
            "at": "2027-05-19T22:35", "traveller_ids": [w.pid(n) for n in names]} | fields


def departure_body(w: World, *names: str, **fields: Any) -> dict[str, Any]:
    return journey_body(w, *names, direction="departure", number="TK 2801",
                        from_place="Ashgabat International Airport", from_code="ASB",
                        to_place="Istanbul Airport", to_code="IST",
                        at="2027-05-27T03:05") | fields


def post_journey(client, w: World, body: dict[str, Any],
                 key: dict[str, str] | None = None) -> Any:
    return client.post(f"/api/v1/events/{w.event.id}/journeys", json=body,
                       headers=w.key("albuquerque") if key is None else key)


def record(client, w: World, body: dict[str, Any], key: dict[str, str] | None = None
           ) -> dict[str, Any]:
    r = post_journey(client, w, body, key)
    assert r.status_code == 201, r.text
    return dict(r.json())
