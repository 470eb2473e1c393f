"""A small twinning world in five timezones, and helpers to fetch feeds.

Kostroma (Europe/Moscow) is twinned with Mary (Asia/Ashgabat, no DST),
Coventry (Europe/London), Albuquerque (America/Denver) and Kassel
(Europe/Berlin). Each city's feed caches are cleared before every test, so a
test sees what a freshly started worker would build.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from app.calendars import assembly
from app.cities.models import City
from app.core.actors import Role


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    assembly.clear_caches()
    yield
    assembly.clear_caches()


@dataclass
class World:
    kostroma: City
    mary: City
    coventry: City
    albuquerque: City
    kassel: City


@pytest.fixture
def world(make_city, make_partnership) -> World:
    kostroma = make_city("Kostroma")
    mary = make_city("Mary", "TM")
    coventry = make_city("Coventry", "GB")
    albuquerque = make_city("Albuquerque", "US", timezone="America/Denver")
    kassel = make_city("Kassel", "DE")
    for twin in (mary, coventry, albuquerque, kassel):
        make_partnership(kostroma, twin)
    make_partnership(mary, coventry)
    return World(kostroma, mary, coventry, albuquerque, kassel)


@pytest.fixture
def kostroma_key(make_key, world) -> dict[str, str]:
    return make_key(Role.coordinator, world.kostroma)


def get_feed(client: Any, path: str, **kwargs: Any) -> Any:
    response = client.get(path, **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    return response


def city_path(city: City) -> str:
    return f"/calendars/cities/{city.id}.ics"
