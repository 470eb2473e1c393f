"""Every builder of the suite's objects, in one place.

Each object comes in two forms:

* ``new_city(session, ...)``, ``new_partnership``, ``new_event``,
  ``new_participant``, ``new_registration``, ``new_key``: plain functions that
  create through the services, as the system actor (``SYSTEM``), on any session,
  and flush without committing. Seeds of scratch databases (for tests that start
  real server processes) call these, then commit.
* ``make_city``, ``make_partnership``, ``make_event``, ``make_participant``,
  ``make_registration``, ``make_key``: fixtures returning the same builders bound
  to the test's session, committing after each object (a savepoint release: the
  test's transaction still rolls back). ``admin`` is an admin key's header.

``tests/conftest.py`` registers this module for the whole suite
(``pytest_plugins``). Packages name their scenario (``kassel``, ``world``...)
with these rather than building rows themselves.

``event_body`` is the JSON body of ``POST /api/v1/events``, for tests that plan
events through the API itself.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session

from app.cities.models import City, CityCreate, Partnership, PartnershipCreate, PartnershipStatus
from app.cities.service import create_city, create_partnership, find_partnership
from app.core.actors import SYSTEM, Role
from app.events.models import Event, EventCreate, EventStatus, EventUpdate
from app.events.service import cancel_event, create_event, etag, update_event
from app.keys.service import create_api_key
from app.participants.models import (
    Participant,
    ParticipantCreate,
    Registration,
    RegistrationCreate,
)
from app.participants.service import create_participant, register

# Plain builders -----------------------------------------------------------------


def new_city(
    session: Session, name: str = "Kostroma", country_code: str = "RU", **fields: Any
) -> City:
    """A city; Russian ones are in Europe/Moscow unless ``timezone`` says otherwise,
    others get the zone the service derives (from the country or coordinates)."""
    fields.setdefault("timezone", "Europe/Moscow" if country_code == "RU" else None)
    return create_city(session, CityCreate(name=name, country_code=country_code, **fields),
                       SYSTEM)


def new_partnership(
    session: Session,
    a: City,
    b: City,
    status: PartnershipStatus | str = PartnershipStatus.active,
    **fields: Any,
) -> Partnership:
    """Twin ``a`` and ``b`` (active unless ``status`` says otherwise)."""
    assert a.id is not None and b.id is not None
    return create_partnership(
        session,
        PartnershipCreate(city_a_id=a.id, city_b_id=b.id, status=status, **fields),
        SYSTEM,
    )


def new_event(
    session: Session,
    host: City,
    guests: Sequence[City] = (),
    *,
    title: str = "Delegation visit",
    kind: str = "delegation_visit",
    starts_at: str | None = "2027-05-20T10:00",
    ends_at: str | None = "2027-05-22T18:00",
    start: datetime | None = None,
    days: float | None = None,
    status: EventStatus | str = EventStatus.planned,
    twin_guests: bool = True,
    cancel_reason: str = "Called off",
    **fields: Any,
) -> Event:
    """Plan an event through the service, as the API would.

    ``new_event(session, kostroma, [mary], starts_at="2027-05-20T10:00")``.
    Times are wall-clock in the host's zone unless they carry an offset or
    ``timezone`` is given. ``start`` (a naive wall-clock datetime) with ``days``
    (default 3) is the other way to say when: the event runs ``days`` days from
    ``start``. ``all_day=True`` takes ``start_date``/``end_date`` instead.

    Guests without a partnership with the host are twinned (active) first,
    unless ``twin_guests=False``. Any other field of ``EventCreate`` goes in
    ``fields`` (``capacity``, ``visibility``, ``registration_deadline``...).

    The service creates events only as draft, planned or confirmed; a
    ``completed`` or ``cancelled`` one is made as the API would make it: created
    confirmed and completed through ``update_event``, or created planned and
    cancelled (for ``cancel_reason``) through ``cancel_event``.
    """
    assert host.id is not None
    if start is not None:
        starts_at = start.isoformat()
        ends_at = (start + timedelta(days=3 if days is None else days)).isoformat()
    elif days is not None:
        raise TypeError("days counts from start; give start too")
    if twin_guests:
        for guest in guests:
            assert guest.id is not None
            if find_partnership(session, host.id, guest.id) is None:
                new_partnership(session, host, guest)
    if fields.get("all_day"):
        starts_at = ends_at = None
    status = EventStatus(status)
    created = {EventStatus.completed: EventStatus.confirmed,
               EventStatus.cancelled: EventStatus.planned}.get(status, status)
    event = create_event(
        session,
        EventCreate.model_validate(
            {
                "kind": kind,
                "title": title,
                "host_city_id": host.id,
                "guest_city_ids": [g.id for g in guests],
                "starts_at": starts_at,
                "ends_at": ends_at,
                "status": created,
                **fields,
            }
        ),
        SYSTEM,
    )
    assert event.id is not None
    if status is EventStatus.completed:
        event = update_event(session, event.id, EventUpdate(status=status), SYSTEM,
                             if_match=etag(event))
    elif status is EventStatus.cancelled:
        event = cancel_event(session, event.id, cancel_reason, SYSTEM)
    return event


_people = itertools.count(1)


def new_participant(
    session: Session,
    city: City,
    *,
    age: int | None = 30,
    on: date = date(2027, 6, 1),
    **fields: Any,
) -> Participant:
    """A person of ``city``, ``age`` years old on the day ``on`` (their birthday is
    the day after). ``age=None`` leaves the birth date out; ``birth_date`` sets it.
    Name and email are made up unless given (``email=None`` for none)."""
    assert city.id is not None
    n = next(_people)
    birth = None if age is None else on.replace(year=on.year - age) - timedelta(days=1)
    fields.setdefault("birth_date", birth)
    fields.setdefault("full_name", f"Person {n}")
    fields.setdefault("email", f"person{n}@example.org")
    return create_participant(
        session, ParticipantCreate(home_city_id=city.id, **fields), SYSTEM
    )


def new_registration(
    session: Session, event: Event, participant: Participant, role: str = "delegate"
) -> Registration:
    """Register ``participant`` for ``event``: a place, the consent queue or the waitlist."""
    assert event.id is not None and participant.id is not None
    return register(
        session, event.id, RegistrationCreate(participant_id=participant.id, role=role), SYSTEM
    )


def new_key(
    session: Session,
    role: Role | str = Role.admin,
    city: City | None = None,
    *,
    name: str | None = None,
) -> dict[str, str]:
    """Issue a key and return the ``Authorization`` header that carries it."""
    _, secret = create_api_key(
        session, SYSTEM, name=name or f"test {role}", role=Role(role),
        city_id=city.id if city else None,
    )
    return {"Authorization": f"Bearer {secret}"}


def event_body(host: City, guests: Sequence[City], **fields: Any) -> dict[str, Any]:
    """The JSON body of ``POST /api/v1/events``; a field given as None is left out."""
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


# Fixtures: the builders, on the test's session ------------------------------------


def _committing(session: Session, build: Callable[..., Any]) -> Callable[..., Any]:
    """``build`` without its session argument, committing what it made."""

    @functools.wraps(build)
    def make(*args: Any, **kwargs: Any) -> Any:
        made = build(session, *args, **kwargs)
        session.commit()
        return made

    return make


@pytest.fixture
def make_city(session: Session) -> Callable[..., City]:
    """``make_city("Mary", "TM")``: see ``new_city``."""
    return _committing(session, new_city)


@pytest.fixture
def make_partnership(session: Session) -> Callable[..., Partnership]:
    """``make_partnership(kostroma, mary)``: see ``new_partnership``."""
    return _committing(session, new_partnership)


@pytest.fixture
def make_event(session: Session) -> Callable[..., Event]:
    """``make_event(kostroma, [mary], capacity=10)``: see ``new_event``."""
    return _committing(session, new_event)


@pytest.fixture
def make_participant(session: Session) -> Callable[..., Participant]:
    """``make_participant(mary, age=15)``: see ``new_participant``."""
    return _committing(session, new_participant)


@pytest.fixture
def make_registration(session: Session) -> Callable[..., Registration]:
    """``make_registration(event, person, "student")``: see ``new_registration``."""
    return _committing(session, new_registration)


@pytest.fixture
def make_key(session: Session) -> Callable[..., dict[str, str]]:
    """``make_key(Role.coordinator, kostroma)``: see ``new_key``."""
    return _committing(session, new_key)


@pytest.fixture
def admin(make_key: Callable[..., dict[str, str]]) -> dict[str, str]:
    """The header of an admin key."""
    return make_key(Role.admin)
