"""The demo people: an exchange a coordinator can open in the console, with what the
week before departure brings (consents, a chaperone short, a waitlist), loaded
once; and the demo accounts of `twinplan seed-demo --people`."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import pytest
from sqlalchemy import func
from sqlmodel import Session, select
from typer.testing import CliRunner

from app.accounts.service import find_user
from app.cities.demo import seed_demo
from app.cli import cli
from app.core.actors import SYSTEM
from app.events.demo import seed_demo_events
from app.events.models import Event
from app.participants import service
from app.participants.demo import (
    BOAT_TRIP,
    DEMO_ACCOUNTS,
    FERRARA_DELEGATION,
    FOOTBALL_CUP,
    YOUTH_EXCHANGE,
    seed_demo_people,
)
from app.participants.models import Participant, ProblemKind, Registration, RegistrationRole

TODAY = date(2026, 11, 28)


def seeded(session: Session) -> dict[str, int]:
    cities = seed_demo(session).city_ids
    seed_demo_events(session, cities, TODAY)
    return cities


def event(session: Session, title: str) -> Event:
    return session.exec(select(Event).where(Event.title == title)).one()


def statuses(session: Session, title: str) -> dict[str, int]:
    rows = session.exec(
        select(Registration.status).where(Registration.event_id == event(session, title).id)
    ).all()
    return dict(Counter(str(s) for s in rows))


def counts(session: Session) -> list[int]:
    return [session.exec(select(func.count()).select_from(m)).one()
            for m in (Participant, Registration, Event)]


def test_the_youth_exchange_has_what_the_week_before_departure_brings(session):
    cities = seeded(session)
    report = seed_demo_people(session, cities, TODAY)
    assert report.events_added == [BOAT_TRIP]

    youth = event(session, YOUTH_EXCHANGE)
    assert statuses(session, YOUTH_EXCHANGE) == {
        "confirmed": 11, "awaiting_chaperone": 1, "pending_consent": 2, "cancelled": 1,
    }
    ready = service.readiness(session, youth.id, SYSTEM)
    assert (ready.held, ready.capacity, ready.minors) == (14, 30, 13)
    assert (ready.adult_chaperones, ready.chaperones_missing) == (1, 1)
    assert (ready.pending_consent, ready.awaiting_chaperone, ready.cancelled) == (2, 1, 1)
    kinds = Counter(p.kind for p in ready.problems)
    assert kinds == {ProblemKind.consent_missing: 2, ProblemKind.chaperone_missing: 2,
                     ProblemKind.unreachable: 1}
    assert not ready.ready
    (unreachable,) = [p for p in ready.problems if p.kind == ProblemKind.unreachable]
    assert ready.without_contact == [unreachable.participant_id]

    # The students are 15 to 17 on the first day, from both cities; chaperones adults.
    rows = session.exec(
        select(Registration, Participant)
        .join(Participant, Participant.id == Registration.participant_id)
        .where(Registration.event_id == youth.id)
    ).all()
    students = [p for r, p in rows if r.role == RegistrationRole.student]
    assert {p.age_on(youth.first_day) for p in students} == {15, 16, 17}
    assert all(r.is_minor for r, _ in rows if r.role == RegistrationRole.student)
    assert {p.home_city_id for p in students} == {cities["Albuquerque"], cities["Ashgabat"]}
    consented = [r for r, _ in rows if r.consent_at is not None]
    assert len(consented) == 11 and all(r.consent_by for r in consented)


def test_the_other_events_have_teams_a_delegation_and_a_waitlist(session):
    cities = seeded(session)
    seed_demo_people(session, cities, TODAY)
    assert statuses(session, FOOTBALL_CUP) == {"confirmed": 13, "pending_consent": 1}
    assert statuses(session, FERRARA_DELEGATION) == {"confirmed": 6}
    assert statuses(session, BOAT_TRIP) == {"confirmed": 12, "waitlisted": 2}
    boat = event(session, BOAT_TRIP)
    assert boat.capacity == 12 and boat.host_city_id == cities["Volgograd"]
    assert list(service.waitlist_positions(session, boat.id or 0).values()) == [1, 2]
    ferrara = session.exec(
        select(Registration.role).where(Registration.event_id == event(
            session, FERRARA_DELEGATION).id)
    ).all()
    assert Counter(ferrara) == {RegistrationRole.delegate: 5, RegistrationRole.interpreter: 1}


def test_a_second_run_adds_nothing(session):
    cities = seeded(session)
    first = seed_demo_people(session, cities, TODAY)
    before = counts(session)
    again = seed_demo_people(session, cities, TODAY)
    assert counts(session) == before
    assert again.events_added == [] and again.participants_added == 0
    assert again.registrations_added == 0
    assert again.participants_unchanged == first.participants_added == 49
    assert again.lines() == ["participants: 0 added, 49 unchanged",
                             "registrations: 0 added, 49 unchanged"]


# `twinplan seed-demo --people` ------------------------------------------------------

PASSWORD = re.compile(r"^  password: (\S+)$", re.M)


@pytest.fixture
def run(session, monkeypatch):
    @contextmanager
    def use_test_session(**_: object) -> Iterator[Session]:
        yield session

    monkeypatch.setattr("app.core.db.open_session", use_test_session)
    monkeypatch.delenv("TWINPLAN_DEMO_PASSWORD", raising=False)

    def invoke(*args: str) -> str:
        result = CliRunner().invoke(cli, ["seed-demo", *args])
        assert result.exit_code == 0, result.output
        return result.stdout

    return invoke


def sign_in(client, email: str, password: str):
    return client.post("/api/v1/session", json={"email": email, "password": password})


def test_plain_seed_demo_loads_people_but_no_account(run, session):
    out = run()
    assert "participants: 49 added" in out and "password" not in out
    assert all(find_user(session, a.email) is None for a in DEMO_ACCOUNTS)


def test_seed_demo_people_makes_accounts_that_sign_in(run, session, client):
    out = run("--people")
    assert "demo accounts: 4 added, 0 password reset" in out
    assert "Sign in to the console at https://twinplan.test/console/" in out
    for account in DEMO_ACCOUNTS:
        assert account.email in out
    (password,) = PASSWORD.findall(out)
    assert len(password) >= 16

    signed = sign_in(client, "ashgabat@demo.twinplan.example", password)
    assert signed.status_code == 200, signed.text
    ashgabat = seed_demo(session).city_ids["Ashgabat"]
    assert signed.json()["acting_as"]["role"] == "coordinator"
    assert signed.json()["acting_as"]["city_id"] == ashgabat
    # In the console, the Ashgabat coordinator sees the youth exchange it hosts.
    cookie = {"Cookie": f"twinplan_session={signed.cookies['twinplan_session']}"}
    youth = event(session, YOUTH_EXCHANGE)
    ready = client.get(f"/api/v1/events/{youth.id}/readiness", headers=cookie)
    assert ready.status_code == 200, ready.text
    assert ready.json()["chaperones_missing"] == 1 and ready.json()["pending_consent"] == 2
    admin = sign_in(client, "admin@demo.twinplan.example", password)
    assert admin.json()["acting_as"]["role"] == "admin"

    # A rerun: a new password for the demo accounts, the old one no longer works.
    again = run("--people")
    assert "demo accounts: 0 added, 4 password reset" in again
    assert "participants: 0 added, 49 unchanged" in again
    (new,) = PASSWORD.findall(again)
    assert new != password
    assert sign_in(client, "kostroma@demo.twinplan.example", password).status_code == 401
    kostroma = sign_in(client, "kostroma@demo.twinplan.example", new)
    assert kostroma.status_code == 200 and kostroma.json()["acting_as"]["role"] == "coordinator"
    # Their sessions from before the reset are over.
    assert client.get("/api/v1/session", headers=cookie).status_code == 401


def test_the_password_can_be_chosen(run, client, monkeypatch):
    monkeypatch.setenv("TWINPLAN_DEMO_PASSWORD", "volga-and-karakum")
    out = run("--people")
    assert "volga-and-karakum" not in out
    assert "password: (the value of TWINPLAN_DEMO_PASSWORD)" in out
    signed = sign_in(client, "volgograd@demo.twinplan.example", "volga-and-karakum")
    assert signed.status_code == 200, signed.text


def test_a_short_chosen_password_is_refused(run, session, monkeypatch):
    monkeypatch.setenv("TWINPLAN_DEMO_PASSWORD", "short")
    result = CliRunner().invoke(cli, ["seed-demo", "--people"])
    assert result.exit_code == 2 and "10 characters" in result.stderr
    assert find_user(session, "admin@demo.twinplan.example") is None
