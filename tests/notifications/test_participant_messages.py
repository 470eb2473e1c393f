"""Messages to participants (``app.reminders.participant_messages``), each read from a
real SMTP server after the worker sent it, its ``.ics`` read by vobject and ical.js:
in the person's language, each exactly once, and never about what they cannot see."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from sqlmodel import func, select

from app.calendars.render import event_uid
from app.core import changes
from app.core.actors import Role
from app.core.settings import get_settings
from app.notifications.models import Notification
from app.programme.changes import ProgrammeChanged
from tests.calendars.parsers import read_with_icaljs, read_with_vobject, unfolded_lines


def feed_uid(event: Any) -> str:
    """The UID the feeds give the event."""
    return event_uid(event.id, get_settings().calendar_uid_domain)


@pytest.fixture
def host(make_city):
    return make_city("Kostroma")  # RU, Europe/Moscow


@pytest.fixture
def guest(make_city, make_partnership, host):
    city = make_city("Ferrara", "IT", timezone="Europe/Rome")
    make_partnership(host, city)
    return city


@pytest.fixture
def admin_key(make_key):
    return make_key(Role.admin)


@pytest.fixture
def deliver(make_worker, smtp):
    """Run the worker twice (the second run must find nothing to send) and return
    what the SMTP server received since the last call."""
    seen = [0]

    def run() -> list[EmailMessage]:
        make_worker().run_once()
        make_worker().run_once()
        new = smtp.sink.messages[seen[0]:]
        seen[0] = len(smtp.sink.messages)
        return new

    return run


def text(message: EmailMessage) -> str:
    """The plain text as written (SMTP carries its lines with CRLF)."""
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def to(messages: list[EmailMessage], address: str) -> list[EmailMessage]:
    return [m for m in messages if m["To"] == address]


def only(messages: list[EmailMessage], address: str) -> EmailMessage:
    (message,) = to(messages, address)
    return message


def calendar_of(message: EmailMessage) -> tuple[bytes, str]:
    """The ``.ics`` attachment's bytes and the method its Content-Type names."""
    (part,) = [p for p in message.iter_attachments()
               if p.get_content_type() == "text/calendar"]
    return part.get_payload(decode=True), part.get_param("method")


def register(client, key, event, person, role="delegate", **headers: str) -> dict[str, Any]:
    r = client.post(f"/api/v1/events/{event.id}/registrations",
                    json={"participant_id": person.id, "role": role}, headers=key | headers)
    assert r.status_code == 201, r.text
    return r.json()


def patch_event(client, key, event, **fields: Any):
    r = client.patch(f"/api/v1/events/{event.id}", json=fields, headers=key | {"If-Match": "*"})
    return r


# Language -------------------------------------------------------------------------------


def test_a_persons_language_defaults_by_country_and_can_be_set(
    client, admin_key, host, guest, make_event, deliver
):
    def create(city, **fields):
        r = client.post("/api/v1/participants", headers=admin_key,
                        json={"full_name": "Someone", "home_city_id": city.id} | fields)
        assert r.status_code == 201, r.text
        return r.json()

    assert create(guest)["language"] == "en"  # Italy
    person = create(host)
    assert person["language"] == "ru"  # Russia
    assert create(host, language="en")["language"] == "en"
    url = f"/api/v1/participants/{person['id']}"
    assert client.patch(url, json={"language": "en"}, headers=admin_key).json()["language"] \
        == "en"
    for bad in (None, "de"):
        r = client.patch(url, json={"language": bad}, headers=admin_key)
        assert r.status_code == 422, r.text

    # A delegation upload: the CSV column, or the home city's default.
    event = make_event(host, [guest])
    r = client.post(f"/api/v1/events/{event.id}/delegations/csv", headers=admin_key | {
        "Content-Type": "text/csv; charset=utf-8"}, params={"city_id": guest.id},
        content=b"full_name,email,role,language\nLuca,luca@example.it,delegate,ru\n"
                b"Sara,sara@example.it,delegate,\n")
    assert r.status_code == 201, r.text
    sent = deliver()
    assert only(sent, "luca@example.it")["Subject"].endswith(": место подтверждено")
    assert only(sent, "sara@example.it")["Subject"].endswith(": place confirmed")


# Places ---------------------------------------------------------------------------------


def test_confirmed_waitlisted_and_moved_up_each_once_in_each_language(
    client, admin_key, host, guest, make_event, make_participant, deliver
):
    event = make_event(host, [guest], title="Choir week", capacity=1)
    anna = make_participant(guest, full_name="Anna Rossi", email="anna@example.it")
    ivan = make_participant(host, full_name="Иван Петров", email="ivan@example.ru")
    assert (anna.language, ivan.language) == ("en", "ru")  # by the home city's country

    first = register(client, admin_key, event, anna)
    # A retried request (same Idempotency-Key) is replayed, not run again.
    retry = {"Idempotency-Key": str(uuid.uuid4())}
    waiting = register(client, admin_key, event, ivan, **retry)
    again = client.post(f"/api/v1/events/{event.id}/registrations",
                        json={"participant_id": ivan.id, "role": "delegate"},
                        headers=admin_key | retry)
    assert again.headers.get("idempotent-replayed") == "true"
    sent = deliver()
    assert sorted(m["To"] for m in sent) == ["anna@example.it", "ivan@example.ru"]
    confirmed = only(sent, "anna@example.it")
    assert confirmed["Subject"] == "Choir week, 20 May 2027 – 22 May 2027: place confirmed"
    assert text(confirmed).startswith("Dear Anna Rossi,\n\nAnna Rossi's place at 'Choir week'")
    waitlisted = only(sent, "ivan@example.ru")
    assert waitlisted["Subject"] == "Choir week, 20 мая 2027 – 22 мая 2027: лист ожидания, № 1"
    assert "в листе ожидания под номером 1" in text(waitlisted)
    assert text(waitlisted).startswith("Здравствуйте, Иван Петров!")

    r = client.post(f"/api/v1/registrations/{first['id']}/cancel", json={"reason": "ill"},
                    headers=admin_key)
    assert r.status_code == 200, r.text
    sent = deliver()
    assert sorted(m["To"] for m in sent) == ["anna@example.it", "ivan@example.ru"]
    assert only(sent, "anna@example.it")["Subject"].endswith(": registration cancelled")
    assert "was cancelled (ill)." in text(only(sent, "anna@example.it"))
    moved_up = only(sent, "ivan@example.ru")
    assert moved_up["Subject"].endswith(": место из листа ожидания")
    assert "освободилось место" in text(moved_up) and "подтверждено" in text(moved_up)
    assert waiting["id"]
    assert deliver() == []  # nothing more, however often the worker runs


def test_consent_needed_goes_to_the_guardian_with_a_link(
    client, admin_key, host, guest, make_event, make_participant, deliver
):
    event = make_event(host, [guest], kind="youth_exchange", title="Summer camp",
                       chaperone_ratio=5)
    teacher = make_participant(host, age=40, email="teacher@example.ru", language="en")
    register(client, admin_key, event, teacher, "chaperone")
    kid = make_participant(host, age=14, full_name="Маша", email="masha@example.ru",
                           guardian_name="Ольга", guardian_email="olga@example.ru")
    held = register(client, admin_key, event, kid, "student")
    assert held["status"] == "pending_consent"
    sent = deliver()
    assert sorted(m["To"] for m in sent) == [
        "masha@example.ru", "olga@example.ru", "teacher@example.ru"]
    guardian = only(sent, "olga@example.ru")  # in the minor's language
    assert guardian["Subject"].endswith(": нужно согласие родителя")
    body = text(guardian)
    assert body.startswith("Здравствуйте! Пишем вам как родителю или опекуну участника: Маша.")
    assert f"/console/events/{event.id}" in body and "координаторам обменов города Kostroma" \
        in body
    assert f"/console/events/{event.id}" not in text(only(sent, "masha@example.ru"))

    r = client.post(f"/api/v1/registrations/{held['id']}/consent",
                    json={"guardian_name": "Ольга"}, headers=admin_key)
    assert r.json()["status"] == "confirmed", r.text
    sent = deliver()
    assert sorted(m["To"] for m in sent) == ["masha@example.ru", "olga@example.ru"]
    assert all(m["Subject"].endswith(": место подтверждено") for m in sent)


# The event --------------------------------------------------------------------------------


def test_event_moved_sends_the_new_local_time_with_an_updated_ics(
    client, admin_key, host, guest, make_event, make_participant, deliver
):
    event = make_event(host, [guest], title="Film week")
    anna = make_participant(guest, full_name="Anna Rossi", email="anna@example.it")
    ivan = make_participant(host, full_name="Иван", email="ivan@example.ru")
    for person in (anna, ivan):
        register(client, admin_key, event, person)
    deliver()
    before = event.sequence

    # A new description changes nothing the people see: no message.
    assert patch_event(client, admin_key, event, description="Now with subtitles").is_success
    assert deliver() == []

    r = patch_event(client, admin_key, event, starts_at="2027-05-21T09:30",
                    ends_at="2027-05-23T17:00")
    assert r.status_code == 200, r.text
    sequence = r.json()["sequence"]
    sent = deliver()
    assert sorted(m["To"] for m in sent) == ["anna@example.it", "ivan@example.ru"]
    english, russian = only(sent, "anna@example.it"), only(sent, "ivan@example.ru")
    assert english["Subject"] == "Film week, 21 May 2027 – 23 May 2027: new time"
    assert ("21 May 2027, 09:30 – 23 May 2027, 17:00 (Europe/Moscow time)"
            in text(english))
    assert "Новое время:\n21 мая 2027, 09:30 – 23 мая 2027, 17:00 (часовой пояс " \
           "Europe/Moscow)" in text(russian)

    body, method = calendar_of(english)
    assert method == "PUBLISH"
    parsed = read_with_vobject(body)
    assert parsed.method.value == "PUBLISH"
    vevent = parsed.vevent
    assert vevent.uid.value == feed_uid(event)
    assert int(vevent.sequence.value) == sequence > before
    start = vevent.dtstart.value
    assert "DTSTART;TZID=Europe/Moscow:20270521T093000" in unfolded_lines(body)
    assert (start.replace(tzinfo=None), start.utcoffset()) == (
        datetime(2027, 5, 21, 9, 30), timedelta(hours=3))
    js = read_with_icaljs(body)
    (seen,) = js["events"]
    assert js["calendar"]["method"]["value"] == "PUBLISH"
    assert seen["uid"] == feed_uid(event) and seen["sequence"] == int(vevent.sequence.value)
    assert seen["start"]["utc"] == "2027-05-21T06:30:00Z"
    assert seen["end"]["utc"] == "2027-05-23T14:00:00Z"
    assert seen["properties"]["organizer"]["value"].startswith("mailto:")
    assert calendar_of(russian)[0] == body  # one rendering of the event for everyone


def test_event_cancelled_sends_a_cancel_ics_with_the_reason(
    client, admin_key, host, guest, make_event, make_participant, deliver
):
    event = make_event(host, [guest], title="Film week", capacity=1)
    anna = make_participant(guest, email="anna@example.it")
    waiting = make_participant(guest, email="wait@example.it")
    gone = make_participant(guest, email="gone@example.it")
    register(client, admin_key, event, anna)
    register(client, admin_key, event, waiting)
    left = register(client, admin_key, event, gone)
    client.post(f"/api/v1/registrations/{left['id']}/cancel", headers=admin_key)
    deliver()
    before = event.sequence

    r = client.post(f"/api/v1/events/{event.id}/cancel", json={"reason": "flood"},
                    headers=admin_key)
    assert r.status_code == 200, r.text
    sent = deliver()
    # The waitlist hears too; who had already cancelled does not (nor one email per
    # registration cancelled along with the event).
    assert sorted(m["To"] for m in sent) == ["anna@example.it", "wait@example.it"]
    message = only(sent, "anna@example.it")
    assert message["Subject"].endswith(": cancelled")
    assert "'Film week' (20 May 2027 – 22 May 2027) is cancelled (flood)." in text(message)
    body, method = calendar_of(message)
    assert method == "CANCEL"
    parsed = read_with_vobject(body)
    assert parsed.method.value == "CANCEL"
    assert parsed.vevent.status.value == "CANCELLED"
    assert parsed.vevent.uid.value == feed_uid(event)
    assert int(parsed.vevent.sequence.value) > before
    assert parsed.vevent.attendee.value == "mailto:anna@example.it"
    (seen,) = read_with_icaljs(body)["events"]
    assert (seen["status"], seen["uid"]) == ("CANCELLED", feed_uid(event))
    assert seen["sequence"] == int(parsed.vevent.sequence.value)


# Never ---------------------------------------------------------------------------------------


def test_nobody_hears_of_a_private_event_their_city_cannot_see(
    client, admin_key, host, guest, make_event, make_participant, deliver
):
    event = make_event(host, [guest], title="Council retreat", visibility="private")
    outsider = make_participant(guest, email="anna@example.it")
    insider = make_participant(host, email="ivan@example.ru")
    register(client, admin_key, event, outsider)
    register(client, admin_key, event, insider)
    assert [m["To"] for m in deliver()] == ["ivan@example.ru"]
    assert patch_event(client, admin_key, event, starts_at="2027-05-21T10:00").is_success
    assert [m["To"] for m in deliver()] == ["ivan@example.ru"]
    client.post(f"/api/v1/events/{event.id}/cancel", json={"reason": "x"}, headers=admin_key)
    assert [m["To"] for m in deliver()] == ["ivan@example.ru"]


def test_an_erased_person_hears_nothing_while_the_waitlist_moves_up(
    client, admin_key, host, guest, make_event, make_participant, deliver
):
    event = make_event(host, [guest], capacity=1)
    erased = make_participant(guest, email="erased@example.it")
    waiting = make_participant(guest, email="wait@example.it")
    register(client, admin_key, event, erased)
    register(client, admin_key, event, waiting)
    deliver()
    r = client.delete(f"/api/v1/participants/{erased.id}", headers=admin_key)
    assert r.status_code == 204, r.text
    sent = deliver()
    assert [m["To"] for m in sent] == ["wait@example.it"]
    assert sent[0]["Subject"].endswith(": moved up from the waitlist")
    assert patch_event(client, admin_key, event, starts_at="2027-05-21T10:00").is_success
    assert [m["To"] for m in deliver()] == ["wait@example.it"]


def test_erasure_withdraws_the_persons_unsent_mail_and_blanks_what_the_outbox_kept(
    client, admin_key, session, host, guest, make_event, make_participant, deliver
):
    """What was written to a person but not sent yet is not sent after their erasure,
    and the outbox keeps no address, name or text of theirs, sent or not. Only their
    own messages: a sibling's guardian, at the same address, still hears."""
    event = make_event(host, [guest], kind="youth_exchange", chaperone_ratio=5)
    later = make_event(host, [guest], title="Autumn camp",
                       starts_at="2027-09-01T10:00", ends_at="2027-09-03T18:00")
    teacher = make_participant(host, age=40, email="teacher@example.ru")
    register(client, admin_key, event, teacher, "chaperone")
    kid = make_participant(host, age=14, full_name="Маша Erased", email="masha@example.ru",
                           guardian_email="olga@example.ru")
    sibling = make_participant(host, age=12, full_name="Петя Kept", email=None,
                               guardian_email="olga@example.ru")
    register(client, admin_key, event, kid, "student")
    sent = deliver()  # Masha's first letters went out: the outbox keeps them
    assert {"masha@example.ru", "olga@example.ru"} <= {m["To"] for m in sent}

    # Written, not sent yet: a place at the second camp, for both children.
    register(client, admin_key, later, teacher, "chaperone")
    register(client, admin_key, later, kid, "student")
    register(client, admin_key, later, sibling, "student")
    r = client.delete(f"/api/v1/participants/{kid.id}", headers=admin_key)
    assert r.status_code == 204, r.text

    sent = deliver()
    assert all("Маша" not in text(m) for m in sent)
    assert "masha@example.ru" not in {m["To"] for m in sent}
    assert any("Петя Kept" in text(m) for m in to(sent, "olga@example.ru"))
    session.expire_all()
    rows = session.exec(select(Notification).where(Notification.participant_id == kid.id)
                        ).all()
    assert rows and {r.status for r in rows} >= {"withdrawn", "delivered"}
    for row in session.exec(select(Notification)).all():
        kept = f"{row.key} {row.recipient} {row.payload} {row.last_error}"
        assert "masha@" not in kept and "Маша" not in kept, kept
    assert all(r.recipient != "olga@example.ru" and r.payload == {} for r in rows)
    listed = client.get("/api/v1/notifications", headers=admin_key, params={"limit": 200})
    assert listed.status_code == 200, listed.text
    assert "masha@" not in listed.text and "Маша" not in listed.text


def test_a_refused_change_sends_nothing(
    client, admin_key, session, host, guest, make_event, make_participant, deliver
):
    event = make_event(host, [guest], starts_at="2027-05-20T10:00", ends_at="2027-05-20T12:00")
    other = make_event(host, [guest], starts_at="2027-05-21T10:00", ends_at="2027-05-21T12:00")
    person = make_participant(guest, email="anna@example.it")
    register(client, admin_key, event, person)
    register(client, admin_key, other, person)
    deliver()
    rows = session.exec(select(func.count()).select_from(Notification)).one()
    # Moving onto the other event would double-book the person: 409, rolled back.
    r = patch_event(client, admin_key, event, starts_at="2027-05-21T09:00",
                    ends_at="2027-05-21T11:00")
    assert r.status_code == 409, r.text
    session.expire_all()
    assert session.exec(select(func.count()).select_from(Notification)).one() == rows
    assert deliver() == []


# The programme ------------------------------------------------------------------------------


def test_a_programme_change_tells_the_people_it_concerns_once(
    client, admin_key, session, host, guest, make_event, make_participant, deliver
):
    event = make_event(host, [guest], title="Choir week", capacity=2)
    anna = make_participant(guest, full_name="Anna", email="anna@example.it")
    ivan = make_participant(host, full_name="Иван", email="ivan@example.ru")
    later = make_participant(guest, email="later@example.it")
    left = make_participant(guest, email="left@example.it")
    for person in (anna, ivan, later):
        register(client, admin_key, event, person)
    gone = register(client, admin_key, event, left)
    client.post(f"/api/v1/registrations/{gone['id']}/cancel", headers=admin_key)
    deliver()

    fact = ProgrammeChanged(
        event_id=event.id, item_id=7, action="changed", title="Concert in the Kremlin",
        starts_at=datetime(2027, 5, 21, 19, 0), ends_at=datetime(2027, 5, 21, 21, 30),
        place="Kremlin", public=False,
        # The waitlisted and the cancelled are named too: neither holds a place.
        participant_ids=(anna.id, ivan.id, later.id, left.id),
    )
    for _ in range(2):  # the same fact twice is one message each
        changes.record(session, fact)
        session.commit()
    sent = deliver()
    assert sorted(m["To"] for m in sent) == ["anna@example.it", "ivan@example.ru"]
    english, russian = only(sent, "anna@example.it"), only(sent, "ivan@example.ru")
    assert english["Subject"].endswith(": programme changed")
    assert ("Changed: Concert in the Kremlin, 21 May 2027, 19:00–21:30, Kremlin"
            in text(english))
    assert "Times are Europe/Moscow time." in text(english)
    assert "Изменено: Concert in the Kremlin, 21 мая 2027, 19:00–21:30, Kremlin" \
        in text(russian)
    removed = ProgrammeChanged(**{**fact.__dict__, "action": "removed",
                                  "participant_ids": (anna.id,)})
    changes.record(session, removed)
    session.commit()
    assert "Removed: Concert" in text(only(deliver(), "anna@example.it"))
