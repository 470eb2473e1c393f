"""Cities, twinnings and keys for the event tests.

Kassel (Europe/Berlin) hosts; Mary and Ashgabat (Asia/Ashgabat, no DST) and
Oryol are twinned with it; Tokyo is not.
"""

from __future__ import annotations

from typing import Any

import pytest

from app.keys.models import Role


@pytest.fixture
def kassel(make_city):
    return make_city("Kassel", "DE")


@pytest.fixture
def mary(make_city, make_partnership, kassel):
    city = make_city("Mary", "TM")
    make_partnership(kassel, city)
    return city


@pytest.fixture
def oryol(make_city, make_partnership, kassel):
    city = make_city("Oryol")
    make_partnership(kassel, city)
    return city


@pytest.fixture
def tokyo(make_city):
    return make_city("Tokyo", "JP")


@pytest.fixture
def kassel_key(make_key, kassel):
    return make_key(Role.coordinator, kassel)


@pytest.fixture
def mary_key(make_key, mary):
    return make_key(Role.coordinator, mary)


def event_body(host, guests, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "delegation_visit",
        "title": "Delegation from Mary",
        "host_city_id": host.id,
        "guest_city_ids": [g.id for g in guests],
        "starts_at": "2027-05-20T10:00",
        "ends_at": "2027-05-22T18:00",
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}
