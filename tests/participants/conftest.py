"""The cities of the registration tests: Kostroma (Europe/Moscow) hosts, Mary is
its twin and sends the people. Events and people come from the shared factories
(``make_event(host, [guest], ...)``, ``make_participant(guest, ...)``)."""

from __future__ import annotations

import pytest

from app.core.actors import Role
from tests.notifications.conftest import (  # noqa: F401  (the worker and SMTP fixtures)
    _loopback_webhooks,
    clock,
    make_worker,
    smtp,
)


@pytest.fixture
def host(make_city):
    return make_city("Kostroma")


@pytest.fixture
def guest(make_city, make_partnership, host):
    city = make_city("Mary", "TM")
    make_partnership(host, city)
    return city


@pytest.fixture
def host_key(make_key, host):
    return make_key(Role.coordinator, host)


@pytest.fixture
def guest_key(make_key, guest):
    return make_key(Role.coordinator, guest)
