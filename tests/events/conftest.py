"""Cities, twinnings and keys for the event tests.

Kassel (Europe/Berlin) hosts; Mary and Ashgabat (Asia/Ashgabat, no DST) and
Oryol are twinned with it; Tokyo is not. Request bodies come from
``tests.factories.event_body``.
"""

from __future__ import annotations

import pytest

from app.core.actors import Role


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
