"""What one registration reads and writes does not grow with the event: the same
statements for an event of 10 people and one of 5,000, and on PostgreSQL the same
rows read and written (the transaction's own counters, ``pg_stat_xact_user_tables``).

Capacity is checked against the event's counter of held places
(``event.places_held``), kept in the transaction that moves a registration, not
against a count of the event's registrations.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import insert, text, update
from sqlmodel import Session, col, select

from app.core.db import utcnow
from app.events.models import Event
from app.participants.models import Participant, Registration, RegistrationStatus
from tests.conftest import IS_POSTGRES
from tests.factories import new_participant, new_registration

_ROWS = text("""
    SELECT coalesce(sum(seq_tup_read + coalesce(idx_tup_fetch, 0)), 0),
           coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)
    FROM pg_stat_xact_user_tables""")


def _fill(session: Session, event: Event, city_id: int, people: int) -> None:
    """``people`` confirmed registrations, written in bulk (no service: only their
    number matters here), and the counter that goes with them."""
    now = utcnow()
    ids = session.execute(insert(Participant).returning(Participant.id), [
        {"full_name": f"Filler {i}", "home_city_id": city_id, "created_at": now,
         "updated_at": now} for i in range(people)]).scalars().all()
    session.execute(insert(Registration), [
        {"event_id": event.id, "participant_id": i, "role": "delegate",
         "status": RegistrationStatus.confirmed, "is_minor": False, "created_at": now,
         "updated_at": now} for i in ids])
    session.execute(update(Event).where(col(Event.id) == event.id)
                    .values(places_held=Event.places_held + people))
    session.flush()


@contextmanager
def _measured(session: Session) -> Iterator[dict[str, Any]]:
    """The statements run inside, and (PostgreSQL) the rows read and written."""
    seen: dict[str, Any] = {"statements": []}
    connection = session.connection()

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen["statements"].append(statement)

    before = connection.execute(_ROWS).one() if IS_POSTGRES else None
    sa_event.listen(connection, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa_event.remove(connection, "before_cursor_execute", note)
    if before is not None:
        after = connection.execute(_ROWS).one()
        seen["read"], seen["written"] = after[0] - before[0], after[1] - before[1]


@pytest.mark.parametrize("capacity", [None, 20_000], ids=["open", "capped"])
def test_a_registration_costs_the_same_at_10_and_at_5000(session, make_city, make_event,
                                                         capacity):
    host, guest = make_city("Kostroma"), make_city("Mary", "TM")
    costs = []
    for size in (10, 5_000):
        event = make_event(host, [guest], title=f"Games for {size}", capacity=capacity,
                           kind="sports", starts_at=f"2027-0{5 if size == 10 else 7}-20T10:00",
                           ends_at=f"2027-0{5 if size == 10 else 7}-22T18:00")
        assert event.id is not None and guest.id is not None
        _fill(session, event, guest.id, size)
        person = new_participant(session, guest)
        with _measured(session) as cost:
            registration = new_registration(session, event, person, role="athlete")
        assert registration.status == RegistrationStatus.confirmed
        held = session.exec(select(Event.places_held).where(Event.id == event.id)).one()
        assert held == size + 1
        costs.append(cost)
    small, large = costs
    assert small["statements"] == large["statements"]
    if IS_POSTGRES:
        assert (small["read"], small["written"]) == (large["read"], large["written"])
        assert large["read"] < 100, large


def test_the_last_place_goes_once_and_then_the_waitlist(session, make_city, make_event):
    """The counter is what capacity is checked against: a full event waitlists."""
    host, guest = make_city("Kostroma"), make_city("Mary", "TM")
    event = make_event(host, [guest], capacity=5_001, kind="sports")
    assert event.id is not None and guest.id is not None
    _fill(session, event, guest.id, 5_000)
    last, late = new_participant(session, guest), new_participant(session, guest)
    assert new_registration(session, event, last, role="athlete").status == "confirmed"
    assert new_registration(session, event, late, role="athlete").status == "waitlisted"
