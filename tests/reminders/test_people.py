"""Reminders reach people: a city's coordinators (their accounts) receive its
reminders through a real SMTP server, each in their language, with the addresses
of the city's rules as an addition; each person can stop a kind for themselves."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.accounts.models import Language
from app.accounts.service import add_membership, create_user
from app.core.actors import Role
from app.notifications.models import Channel
from app.reminders.messages import ru_long_date, ru_plural
from app.reminders.service import reminder_cities
from tests.accounts.conftest import Browser
from tests.conftest import assert_problem
from tests.factories import event_body
from tests.notifications.conftest import outbox

PASSWORD = "correct horse battery"
WTCD_30 = "World Twin Cities Day is in 30 days (Sunday 25 April 2027)"
WTCD_30_RU = "Всемирный день городов-побратимов — через 30 дней (воскресенье, 25 апреля 2027 г.)"
EVENT_14 = "Delegation from Mary: in 14 days (Thursday 20 May 2027)"
EVENT_14_RU = "Delegation from Mary: через 14 дней (четверг, 20 мая 2027 г.)"


@pytest.fixture
def kostroma(make_city):
    return make_city("Kostroma")  # Europe/Moscow: 09:00 is 06:00 UTC


@pytest.fixture
def mary(make_city, make_partnership, kostroma):
    city = make_city("Mary", "TM")  # Asia/Ashgabat: 09:00 is 04:00 UTC
    make_partnership(kostroma, city, established_on="2017-11-03")
    return city


@pytest.fixture
def person(session):
    def make(email, city=None, *, language="en", role=Role.coordinator, password=None):
        user = create_user(session, email=email, display_name=email.split("@")[0],
                           password=password, language=Language(language))
        membership = add_membership(session, user, role, city.id) if city else None
        session.commit()
        return user, membership
    return make


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def plan_event(client, headers, host, guests, **fields):
    body = event_body(host, guests, **({"status": "planned", "venue": "Town hall"} | fields))
    response = client.post("/api/v1/events", headers=headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def written_subject(session, mail):
    """The subject of a received email as the reminder wrote it.

    Python before 3.13 may drop a space where its email package folds a long
    non-ASCII subject between two encoded words (the space lands outside them,
    where RFC 2047 says to ignore it), so what arrives is compared without spaces
    to the outbox row the email was sent from (``X-Twinplan-Notification``)."""
    (row,) = outbox(session, message_id=mail["X-Twinplan-Notification"])
    subject = row.payload["subject"]
    assert "".join(mail["Subject"].split()) == "".join(subject.split())
    return subject


def subjects(session, smtp, address):
    return [written_subject(session, m) for m in smtp.sink.to(address)]


def text_of(session, smtp, address, subject):
    (mail,) = [m for m in smtp.sink.to(address) if written_subject(session, m) == subject]
    return body_of(mail)


def body_of(mail):
    return mail.get_body(("plain",)).get_content().replace("\r\n", "\n")


def signed_in(client, email):
    browser = Browser(client)
    assert browser.sign_in(email, PASSWORD).status_code == 200
    return browser


# Coordinators, in their language --------------------------------------------------------


def test_coordinators_receive_their_citys_reminders_in_their_language(
        client, session, clock, smtp, kostroma, mary, admin, person, make_worker):
    person("anna@kostroma.example", kostroma)
    person("olga@kostroma.example", kostroma, language="ru")
    person("pavel@kostroma.example", kostroma, role=Role.partner)  # not a coordinator
    person("yashlar@mary.example", mary)
    clock.set(utc(2027, 1, 1))
    # Kostroma has no reminder rules: its coordinators' accounts are reason enough.
    assert kostroma.id in reminder_cities(session)
    worker = make_worker()
    worker.schedule()
    event_id = plan_event(client, admin, kostroma, [mary], capacity=10)
    minor = client.post("/api/v1/participants", headers=admin, json={
        "home_city_id": mary.id, "full_name": "Merdan Atayev", "birth_date": "2012-01-01",
        "guardian_name": "Aman Atayev", "guardian_email": "aman@example.tm"}).json()["id"]
    registered = client.post(f"/api/v1/events/{event_id}/registrations", headers=admin,
                             json={"participant_id": minor, "role": "delegate"})
    assert registered.status_code == 201, registered.text

    clock.set(utc(2027, 3, 26, 6, 5))  # 30 days before the day, 09:05 in Kostroma
    worker.run_once()
    assert subjects(session, smtp, "anna@kostroma.example") == [WTCD_30]
    english = text_of(session, smtp, "anna@kostroma.example", WTCD_30)
    assert english.startswith("Dear coordinators of Kostroma,\n\nWorld Twin Cities Day falls "
                              "on Sunday 25 April 2027, in 30 days.")
    assert "Mary (TM), twinned since 2017-11-03" in english

    assert subjects(session, smtp, "olga@kostroma.example") == [WTCD_30_RU]
    russian = text_of(session, smtp, "olga@kostroma.example", WTCD_30_RU)
    assert russian.startswith(
        "Уважаемые координаторы города Kostroma!\n\n"
        "Всемирный день городов-побратимов — воскресенье, 25 апреля 2027 г., через 30 дней.")
    assert "(с 18 апреля по 2 мая):\n  - Mary (TM), побратимы с 3 ноября 2017 года" in russian
    assert "учредила его в 1962 году" in russian and "World" not in russian
    assert smtp.sink.to("pavel@kostroma.example") == []
    # Mary's coordinator heard at 09:00 in Mary, of Mary's own twinnings.
    assert "Kostroma (RU), twinned since 2017-11-03" in text_of(
        session, smtp, "yashlar@mary.example", WTCD_30)

    smtp.sink.messages.clear()
    clock.set(utc(2027, 5, 6, 4, 0))  # 09:00 in Mary
    worker.run_once()
    assert sorted(m["To"] for m in smtp.sink.messages) == [
        "aman@example.tm", "yashlar@mary.example"]  # the minor's guardian, in English
    assert "Dear coordinators of Mary," in text_of(session, smtp, "yashlar@mary.example", EVENT_14)

    clock.set(utc(2027, 5, 6, 6, 0))  # 09:00 in Kostroma
    worker.run_once()
    assert subjects(session, smtp, "anna@kostroma.example") == [EVENT_14]
    assert text_of(session, smtp, "anna@kostroma.example", EVENT_14).endswith(
        "Readiness: 0 confirmed of 10 places.\n"
        "  - 1 minor(s) still need a guardian's consent\n\n")
    (mail,) = smtp.sink.to("olga@kostroma.example")
    assert written_subject(session, mail) == EVENT_14_RU
    russian = body_of(mail)
    assert russian == "\n".join([
        "Уважаемые координаторы города Kostroma!", "",
        "Delegation from Mary",
        "Принимает: Kostroma; гости: Mary.",
        "Начало: четверг, 20 мая 2027 г., 10:00 (Europe/Moscow, UTC+03:00)",
        "Конец:  суббота, 22 мая 2027 г., 18:00 (Europe/Moscow, UTC+03:00)",
        "Место:  Town hall", "",
        "Готовность: подтверждено 0 из 10 мест.",
        "  - несовершеннолетних ждут согласия родителей или опекунов: 1", "", "",
    ])
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_filename() == f"event-{event_id}.ics"
    assert smtp.sink.to("pavel@kostroma.example") == []


def test_revoked_and_disabled_coordinators_hear_nothing(
        client, session, clock, smtp, kostroma, mary, admin, person, make_worker):
    anna, membership = person("anna@kostroma.example", kostroma)
    boris, _ = person("boris@kostroma.example", kostroma, language="ru")
    assert client.post(f"/api/v1/memberships/{membership.id}/revoke",
                       headers=admin).status_code == 200
    assert client.post(f"/api/v1/users/{boris.id}/disable", headers=admin).status_code == 200
    clock.set(utc(2027, 1, 1))
    # Nobody left to tell: Kostroma's calendar reminders are not planned.
    assert kostroma.id not in reminder_cities(session)
    worker = make_worker()
    worker.schedule()
    assert not [r for r in outbox(session, channel=Channel.reminder)
                if r.key.startswith("wtcd:") and r.city_id == kostroma.id]

    person("vera@kostroma.example", kostroma)
    worker.schedule()
    plan_event(client, admin, kostroma, [mary])
    clock.set(utc(2027, 3, 26, 6, 5))
    worker.run_once()
    clock.set(utc(2027, 5, 6, 6, 0))
    worker.run_once()
    assert subjects(session, smtp, "vera@kostroma.example") == [WTCD_30, EVENT_14]
    assert smtp.sink.to("anna@kostroma.example") == []
    assert smtp.sink.to("boris@kostroma.example") == []


# The rules' addresses, an addition ----------------------------------------------------------


def test_rule_addresses_are_an_addition_and_each_address_hears_once(
        client, session, clock, smtp, kostroma, mary, admin, person, make_worker):
    person("Olga@Kostroma.example", kostroma, language="ru")
    response = client.patch(f"/api/v1/cities/{kostroma.id}/reminder-rules", headers=admin,
                            json={"coordinator_emails": ["olga@kostroma.example",
                                                         "exchange@kostroma.ru"]})
    assert response.status_code == 200, response.text
    clock.set(utc(2027, 1, 1))
    worker = make_worker()
    worker.schedule()
    plan_event(client, admin, kostroma, [mary])
    clock.set(utc(2027, 3, 26, 6, 5))
    worker.run_once()
    clock.set(utc(2027, 5, 6, 6, 0))
    worker.run_once()

    # The account and the rules name the same person: one email each time, in Russian.
    assert subjects(session, smtp, "Olga@Kostroma.example") == [WTCD_30_RU, EVENT_14_RU]
    assert smtp.sink.to("olga@kostroma.example") == []
    emails = outbox(session, channel=Channel.email)
    assert sorted(e.recipient for e in emails) == [
        "Olga@Kostroma.example", "Olga@Kostroma.example",
        "exchange@kostroma.ru", "exchange@kostroma.ru"]
    # A plain address hears in English, as before.
    assert subjects(session, smtp, "exchange@kostroma.ru") == [WTCD_30, EVENT_14]
    assert text_of(session, smtp, "exchange@kostroma.ru", EVENT_14).startswith(
        "Dear coordinators of Kostroma,\n\nDelegation from Mary\nKostroma hosts Mary.\n")


def test_anniversaries_in_russian_and_a_stop_that_holds_for_a_listed_address(
        client, session, clock, smtp, make_city, make_partnership, admin, person,
        make_worker):
    volgograd = make_city("Volgograd", timezone="Europe/Volgograd")
    coventry = make_city("Coventry", "GB")
    make_partnership(coventry, volgograd, established_on="1944")
    person("olga@volgograd.example", volgograd, language="ru")
    # Zoe is no coordinator, but the rules list her address; she stops anniversaries.
    zoe, _ = person("zoe@volgograd.example", password=PASSWORD)
    client.patch(f"/api/v1/cities/{volgograd.id}/reminder-rules", headers=admin,
                 json={"coordinator_emails": ["zoe@volgograd.example", "twinning@volgograd.ru"]})
    browser = signed_in(client, "zoe@volgograd.example")
    stopped = browser.request("PUT", "/api/v1/me/reminders/anniversary", json={"enabled": False})
    assert stopped.status_code == 200, stopped.text

    clock.set(utc(2023, 6, 1))
    worker = make_worker()
    worker.schedule()
    clock.set(utc(2023, 12, 2, 6, 1))  # 30 days before 2024-01-01, 09:01 in Volgograd
    worker.run_once()
    (mail,) = smtp.sink.to("olga@volgograd.example")
    assert written_subject(session, mail) == "80 лет побратимства: Volgograd и Coventry"
    assert body_of(mail) == (
        "Уважаемые координаторы города Volgograd!\n\n"
        "Volgograd и Coventry — города-побратимы с 1944 года; в 2024 году побратимству "
        "исполнится 80 лет.\nХороший повод для обмена, выставки или визита.\n")
    assert subjects(session, smtp, "twinning@volgograd.ru") == [
        "80 years of twinning: Volgograd and Coventry"]
    assert smtp.sink.to("zoe@volgograd.example") == []


# Stopping a kind for oneself -----------------------------------------------------------------


def test_a_coordinator_stops_world_twin_cities_day_but_keeps_event_reminders(
        client, session, clock, smtp, kostroma, mary, admin, person, make_worker):
    person("anna@kostroma.example", kostroma, password=PASSWORD)
    person("olga@kostroma.example", kostroma, language="ru")
    browser = signed_in(client, "anna@kostroma.example")
    assert browser.get("/api/v1/me/reminders").json() == {
        "event": True, "twin_cities_day": True, "anniversary": True}

    path = "/api/v1/me/reminders/twin_cities_day"
    assert_problem(browser.request("PUT", path, json={"enabled": False}, csrf=False), 403,
                   contains="X-CSRF-Token")
    for _ in range(2):  # saying it twice changes nothing more
        stopped = browser.request("PUT", path, json={"enabled": False})
        assert stopped.status_code == 200, stopped.text
        assert stopped.json() == {"event": True, "twin_cities_day": False, "anniversary": True}
    assert browser.get("/api/v1/me/reminders").json()["twin_cities_day"] is False

    clock.set(utc(2027, 1, 1))
    worker = make_worker()
    worker.schedule()
    plan_event(client, admin, kostroma, [mary])
    clock.set(utc(2027, 3, 26, 6, 5))
    worker.run_once()
    assert smtp.sink.to("anna@kostroma.example") == []
    assert subjects(session, smtp, "olga@kostroma.example") == [WTCD_30_RU]  # others still hear

    # Resumed, the next one reaches her (the session is still open: no time passed for it).
    clock.set(utc(2027, 3, 26, 6, 10))
    resumed = browser.request("PUT", path, json={"enabled": True})
    assert resumed.json() == {"event": True, "twin_cities_day": True, "anniversary": True}
    clock.set(utc(2027, 4, 18, 6, 0))
    worker.run_once()
    clock.set(utc(2027, 5, 6, 6, 0))
    worker.run_once()
    assert subjects(session, smtp, "anna@kostroma.example") == [
        "World Twin Cities Day is in 7 days (Sunday 25 April 2027)", EVENT_14]


def test_only_a_person_has_reminder_choices(client, kostroma, person, make_key):
    assert_problem(client.get("/api/v1/me/reminders"), 401)
    assert_problem(client.put("/api/v1/me/reminders/event", json={"enabled": False}), 401)
    machine = make_key(Role.coordinator, kostroma)
    assert_problem(client.get("/api/v1/me/reminders", headers=machine), 403,
                   contains="person")
    assert_problem(client.put("/api/v1/me/reminders/event", headers=machine,
                              json={"enabled": False}), 403)

    person("anna@kostroma.example", kostroma, password=PASSWORD)
    browser = signed_in(client, "anna@kostroma.example")
    assert_problem(browser.request("PUT", "/api/v1/me/reminders/birthdays",
                                   json={"enabled": False}), 422)
    assert_problem(browser.request("PUT", "/api/v1/me/reminders/event", json={}), 422)
    # A personal key speaks for its person too.
    made = browser.request("POST", "/api/v1/api-keys", json={
        "name": "my phone", "role": "coordinator", "city_id": kostroma.id})
    assert made.status_code == 201, made.text
    key = {"Authorization": f"Bearer {made.json()['key']}"}
    changed = client.put("/api/v1/me/reminders/event", headers=key, json={"enabled": False})
    assert changed.status_code == 200, changed.text
    assert browser.get("/api/v1/me/reminders").json()["event"] is False


# Russian words ----------------------------------------------------------------------------


def test_russian_numbers_and_dates():
    assert [f"{n} {ru_plural(n, 'день', 'дня', 'дней')}" for n in (1, 2, 5, 11, 14, 21, 22, 30)
            ] == ["1 день", "2 дня", "5 дней", "11 дней", "14 дней", "21 день", "22 дня",
                  "30 дней"]
    assert ru_long_date(date(2027, 4, 25)) == "воскресенье, 25 апреля 2027 г."
    assert ru_long_date(date(2028, 1, 3)) == "понедельник, 3 января 2028 г."
