"""The hosting tests' world: Ashgabat hosts a youth exchange; Albuquerque and
Bishkek send students (minors) and a chaperone; Tashkent is an unrelated city.
Each city has a coordinator's and a partner system's key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from app.core.actors import Role

CITIES = {"ashgabat": ("Ashgabat", "TM", None),
          "albuquerque": ("Albuquerque", "US", "America/Denver"),
          "bishkek": ("Bishkek", "KG", None), "tashkent": ("Tashkent", "UZ", "Asia/Tashkent")}


@dataclass
class World:
    cities: dict[str, Any]
    keys: dict[str, dict[str, str]]
    event: Any
    people: dict[str, Any] = field(default_factory=dict)

    def id(self, name: str) -> int:
        return int(self.people[name].id)


@pytest.fixture
def world(make_city, make_event, make_participant, make_registration, make_key) -> World:
    cities = {k: make_city(name, country, timezone=zone)
              for k, (name, country, zone) in CITIES.items()}
    keys: dict[str, dict[str, str]] = {"anonymous": {}, "admin": make_key(Role.admin)}
    for short, name in (("h", "ashgabat"), ("g", "albuquerque"), ("b", "bishkek"),
                        ("o", "tashkent")):
        keys[f"{short}c"] = make_key(Role.coordinator, cities[name])
        keys[f"{short}p"] = make_key(Role.partner, cities[name])
    event = make_event(cities["ashgabat"], [cities["albuquerque"], cities["bishkek"]],
                       kind="youth_exchange", title="Youth exchange in Ashgabat",
                       starts_at="2027-05-20T10:00", ends_at="2027-05-27T18:00")
    w = World(cities, keys, event)
    for name, city, age, role in (
        ("Ava Begay", "albuquerque", 15, "student"),
        ("Olivia Sandoval", "albuquerque", 15, "student"),
        ("Mateo Baca", "albuquerque", 16, "student"),
        ("Lucia Baca", "albuquerque", 14, "student"),
        ("Karen Whitfield", "albuquerque", 46, "chaperone"),
        ("Aibek Osmonov", "bishkek", 16, "student"),
        ("Maral Orazova", "ashgabat", 16, "student"),
    ):
        person = make_participant(cities[city], age=age, full_name=name)
        make_registration(event, person, role)
        w.people[name] = person
    return w


def add_family(client: Any, w: World, who: str = "hc", **fields: Any) -> dict[str, Any]:
    body = {"household_name": "Orazov family", "places": 2, "languages": ["ru", "tk"]} | fields
    r = client.post(f"/api/v1/cities/{w.cities['ashgabat'].id}/host-families", json=body,
                    headers=w.keys[who])
    assert r.status_code == 201, r.text
    return dict(r.json())


def put_needs(client: Any, w: World, name: str, who: str = "gc", **body: Any) -> Any:
    return client.put(f"/api/v1/events/{w.event.id}/guests/{w.id(name)}/needs", json=body,
                      headers=w.keys[who])
