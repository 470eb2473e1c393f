"""The change seam: services record facts, consumers receive them inside the
transaction, and a consumer that fails takes the change down with it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import func, select

from app import receivers
from app.changelog import service as changelog
from app.cities.changes import PartnershipChanged
from app.core.changes import Change, change_recorded, receivers_of, record
from app.events.changes import EventChanged, ProposalMoved
from app.events.models import Event
from app.hosting import service as hosting
from app.notifications import outbox
from app.notifications.models import Notification
from app.participants import service as participants
from app.participants.changes import ParticipantErased, RegistrationChanged
from app.participants.models import Registration
from app.programme import service as programme
from app.programme.changes import ProgrammeChanged
from app.reminders import participant_messages
from app.reminders import service as reminders
from tests.conftest import assert_problem
from tests.factories import event_body


class Boom(RuntimeError):
    pass


def _explode(sender: Any, **_: Any) -> None:
    raise Boom("a consumer failed")


def _count(session: Any, model: Any) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def _event_body(host: Any, guests: list[Any], **fields: Any) -> dict[str, Any]:
    return event_body(host, guests, **({"kind": "culture", "title": "Film week",
                                        "status": "planned"} | fields))


def test_entry_points_connect_every_consumer():
    assert receivers.CONSUMERS  # imported by app.main and app.cli
    assert set(receivers_of(EventChanged)) == {
        changelog.log_event,
        outbox.tell_event_cities,
        participants.keep_registrations_within_rules,
        programme.follow_event,
        participant_messages.tell_the_people_of_the_event,
        reminders.replan_event,
    }
    assert set(receivers_of(RegistrationChanged)) == {
        changelog.log_registration, outbox.tell_registration_cities,
        participant_messages.tell_the_person}
    assert receivers_of(ProgrammeChanged) == [participant_messages.tell_the_programme_change]
    assert receivers_of(PartnershipChanged) == [changelog.log_partnership]
    assert receivers_of(ProposalMoved) == [outbox.tell_the_other_side]
    assert set(receivers_of(ParticipantErased)) == {
        hosting.forget_erased_guest, outbox.forget_erased_person}


def test_receivers_hear_their_fact_type_and_tests_can_isolate_them(session):
    @dataclass(frozen=True)
    class Other(Change):
        n: int

    heard: list[Change] = []
    with change_recorded.connected_to(lambda _s, *, change, **_: heard.append(change),
                                      sender=Other):
        record(session, Other(1))
        with change_recorded.muted():
            record(session, Other(2))
    record(session, Other(3))  # disconnected again: nobody hears it
    assert heard == [Other(1)]
    assert receivers_of(Other) == []


def test_a_failing_consumer_rolls_the_creation_back(client, session, make_city,
                                                    make_partnership, make_key):
    kostroma, ferrara = make_city("Kostroma"), make_city("Ferrara", "IT")
    make_partnership(kostroma, ferrara)
    key = make_key("admin")
    events, notes = _count(session, Event), _count(session, Notification)
    with change_recorded.connected_to(_explode, sender=EventChanged):
        response = client.post("/api/v1/events", json=_event_body(kostroma, [ferrara]),
                               headers=key)
    assert_problem(response, 500)
    assert _count(session, Event) == events
    assert _count(session, Notification) == notes
    # Without the failing consumer the same request succeeds.
    assert client.post("/api/v1/events", json=_event_body(kostroma, [ferrara]),
                       headers=key).status_code == 201


def test_a_failing_consumer_rolls_an_edit_back(client, session, make_event, make_city, make_key):
    kostroma, ferrara = make_city("Kostroma"), make_city("Ferrara", "IT")
    event = make_event(kostroma, [ferrara], title="Before")
    key = make_key("admin")
    tag = client.get(f"/api/v1/events/{event.id}").headers["etag"]
    with change_recorded.connected_to(_explode, sender=EventChanged):
        response = client.patch(f"/api/v1/events/{event.id}", json={"title": "After"},
                                headers={**key, "If-Match": tag})
    assert_problem(response, 500)
    read = client.get(f"/api/v1/events/{event.id}")
    assert read.json()["title"] == "Before" and read.headers["etag"] == tag


def test_a_failing_consumer_rolls_a_registration_back(client, session, make_event, make_city,
                                                       make_key):
    kostroma, ferrara = make_city("Kostroma"), make_city("Ferrara", "IT")
    event = make_event(kostroma, [ferrara])
    key = make_key("coordinator", ferrara)
    person = client.post("/api/v1/participants", headers=key, json={
        "full_name": "Giulia Rossi", "home_city_id": ferrara.id, "email": "g@example.org",
    }).json()
    with change_recorded.connected_to(_explode, sender=RegistrationChanged):
        response = client.post(f"/api/v1/events/{event.id}/registrations",
                               json={"participant_id": person["id"], "role": "delegate"},
                               headers=key)
    assert_problem(response, 500)
    assert _count(session, Registration) == 0


@pytest.fixture
def heard() -> Any:
    facts: list[Change] = []

    def listen(_sender: Any, *, change: Change, **_: Any) -> None:
        facts.append(change)

    with change_recorded.connected_to(listen, sender=EventChanged):
        yield facts


def test_event_facts_say_what_changed(client, make_city, make_partnership, make_key, heard):
    kostroma, ferrara, kassel = (make_city("Kostroma"), make_city("Ferrara", "IT"),
                                 make_city("Kassel", "DE"))
    make_partnership(kostroma, ferrara)
    make_partnership(kostroma, kassel)
    key = make_key("admin")
    created = client.post("/api/v1/events", json=_event_body(kostroma, [ferrara, kassel]),
                          headers=key)
    event_id = created.json()["id"]
    client.patch(f"/api/v1/events/{event_id}", headers={**key, "If-Match": "*"},
                 json={"title": "Film fortnight", "guest_city_ids": [ferrara.id]})
    client.patch(f"/api/v1/events/{event_id}", headers={**key, "If-Match": "*"},
                 json={"title": "Film fortnight"})  # changes nothing, says nothing
    client.post(f"/api/v1/events/{event_id}/cancel", json={"reason": "rain"}, headers=key)

    assert len(heard) == 3
    made, edited, cancelled = heard
    assert made.created and not made.cancelled and made.after.id == event_id
    assert (edited.before.title, edited.after.title) == ("Film week", "Film fortnight")
    assert edited.guests_removed == [kassel.id] and not edited.created
    assert cancelled.cancelled and cancelled.before.status == "planned"
    assert cancelled.after.version == cancelled.before.version + 1
