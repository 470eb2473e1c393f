"""Reminders: planned at the recipient city's local hour, kept in step with their
event, expanded into emails (at a real SMTP server) and webhooks when due, and
recorded as missed rather than sent a day late."""

from __future__ import annotations

from datetime import UTC, date, datetime

import icalendar
import pytest

from app.core.actors import Role
from app.notifications.models import Channel, NotificationStatus
from app.reminders.service import anniversary_on, is_round_anniversary
from tests.conftest import assert_problem
from tests.factories import event_body
from tests.notifications.conftest import outbox, statuses
from tests.notifications.fakes import verify


@pytest.fixture
def kostroma(make_city):
    return make_city("Kostroma")  # Europe/Moscow, UTC+3


@pytest.fixture
def mary(make_city, make_partnership, kostroma):
    city = make_city("Mary", "TM")  # Asia/Ashgabat, UTC+5
    make_partnership(kostroma, city, established_on="2017-11-03")
    return city


@pytest.fixture
def kostroma_key(make_key, kostroma):
    return make_key(Role.coordinator, kostroma)


@pytest.fixture
def mary_key(make_key, mary):
    return make_key(Role.coordinator, mary)


def set_rules(client, headers, city, **rules):
    response = client.patch(f"/api/v1/cities/{city.id}/reminder-rules", headers=headers,
                            json=rules)
    assert response.status_code == 200, response.text
    return response.json()


def plan_event(client, headers, host, guests, **fields):
    body = event_body(host, guests, **({"status": "planned", "venue": "Town hall"} | fields))
    response = client.post("/api/v1/events", headers=headers, json=body)
    assert response.status_code == 201, response.text
    return response


def reminders(session, **where):
    return outbox(session, channel=Channel.reminder, **where)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


# Planning ----------------------------------------------------------------------------


def test_round_anniversaries():
    assert [n for n in range(1, 101) if is_round_anniversary(n)] == [
        5, 10, 20, 25, 30, 40, 50, 60, 70, 75, 80, 90, 100]
    assert anniversary_on("1944", 2024) == date(2024, 1, 1)
    assert anniversary_on("2014-04", 2024) == date(2024, 4, 1)
    assert anniversary_on("2000-02-29", 2025) == date(2025, 2, 28)


def test_event_reminders_are_due_at_nine_local_in_each_city(client, session, clock, kostroma,
                                                           mary, kostroma_key):
    event_id = plan_event(client, kostroma_key, kostroma, [mary]).json()["id"]
    due = {(r.city_id, r.key): r.due_at for r in reminders(session)}
    assert due == {
        (kostroma.id, f"event:{event_id}:14d:city:{kostroma.id}:2027-05-06"): utc(2027, 5, 6, 6),
        (kostroma.id, f"event:{event_id}:2d:city:{kostroma.id}:2027-05-18"): utc(2027, 5, 18, 6),
        (mary.id, f"event:{event_id}:14d:city:{mary.id}:2027-05-06"): utc(2027, 5, 6, 4),
        (mary.id, f"event:{event_id}:2d:city:{mary.id}:2027-05-18"): utc(2027, 5, 18, 4),
    }


def test_drafts_get_no_reminders_until_planned(client, session, clock, kostroma, mary,
                                               kostroma_key):
    created = plan_event(client, kostroma_key, kostroma, [mary], status="draft")
    assert reminders(session) == []
    client.patch(f"/api/v1/events/{created.json()['id']}",
                 headers=kostroma_key | {"If-Match": created.headers["ETag"]},
                 json={"status": "planned"})
    assert len(reminders(session)) == 4


def test_leads_already_past_are_not_planned(client, session, clock, kostroma, mary,
                                            kostroma_key):
    clock.set(utc(2027, 5, 10, 12))
    plan_event(client, kostroma_key, kostroma, [mary])
    assert {r.key.split(":")[2] for r in reminders(session)} == {"2d"}


def test_moving_an_event_moves_its_reminders(client, session, clock, kostroma, mary,
                                             kostroma_key):
    created = plan_event(client, kostroma_key, kostroma, [mary])
    event_id = created.json()["id"]
    before = {r.key for r in reminders(session)}
    moved = client.patch(f"/api/v1/events/{event_id}",
                         headers=kostroma_key | {"If-Match": created.headers["ETag"]},
                         json={"starts_at": "2027-06-10T10:00", "ends_at": "2027-06-11T18:00"})
    assert moved.status_code == 200
    rows = reminders(session)
    assert {r.key for r in rows if r.status == NotificationStatus.withdrawn} == before
    pending = {r.key: r.due_at for r in rows if r.status == NotificationStatus.pending}
    assert pending[f"event:{event_id}:14d:city:{kostroma.id}:2027-05-27"] == utc(2027, 5, 27, 6)
    assert len(pending) == 4

    # Moving it back revives the first plan instead of adding duplicates.
    client.patch(f"/api/v1/events/{event_id}",
                 headers=kostroma_key | {"If-Match": moved.headers["ETag"]},
                 json={"starts_at": "2027-05-20T10:00", "ends_at": "2027-05-22T18:00"})
    rows = reminders(session)
    assert len(rows) == 8
    assert {r.key for r in rows if r.status == NotificationStatus.pending} == before


def test_cancelling_an_event_withdraws_its_reminders(client, session, clock, kostroma, mary,
                                                     kostroma_key):
    event_id = plan_event(client, kostroma_key, kostroma, [mary]).json()["id"]
    client.post(f"/api/v1/events/{event_id}/cancel", headers=kostroma_key,
                json={"reason": "floods on the Volga"})
    assert statuses(reminders(session)) == [NotificationStatus.withdrawn] * 4


# Sending -----------------------------------------------------------------------------


def _delegation(client, mary_key, mary, event_id):
    def person(**fields):
        response = client.post("/api/v1/participants", headers=mary_key,
                               json={"home_city_id": mary.id} | fields)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    adult = person(full_name="Ogulgerek Berdiyeva", email="ogulgerek@example.tm",
                   birth_date="1980-03-01")
    minor = person(full_name="Merdan Atayev", birth_date="2012-01-01", language="en",
                   guardian_name="Aman Atayev", guardian_email="aman@example.tm")
    for pid in (adult, minor):
        response = client.post(f"/api/v1/events/{event_id}/registrations", headers=mary_key,
                               json={"participant_id": pid, "role": "delegate"})
        assert response.status_code == 201, response.text


def test_reminder_emails_with_the_event_attached(client, session, clock, smtp, kostroma, mary,
                                                 kostroma_key, mary_key, make_worker):
    only_events = {"wtcd_days_before": [], "anniversary_days_before": []}
    set_rules(client, kostroma_key, kostroma, coordinator_emails=["exchange@kostroma.ru"],
              **only_events)
    set_rules(client, mary_key, mary, coordinator_emails=["yashlar@mary.gov.tm"], **only_events)
    event_id = plan_event(client, kostroma_key, kostroma, [mary]).json()["id"]
    _delegation(client, mary_key, mary, event_id)
    worker = make_worker()

    clock.set(utc(2027, 5, 6, 3, 59))
    # The people's registration messages (app.reminders.participant_messages) went at once.
    assert worker.run_once() == 2
    smtp.sink.messages.clear()
    assert worker.run_once() == 0
    clock.set(utc(2027, 5, 6, 4, 0))  # 09:00 in Mary: only Mary's reminder is due
    worker.run_once()
    assert {m["To"] for m in smtp.sink.messages} == {
        "yashlar@mary.gov.tm", "ogulgerek@example.tm", "aman@example.tm"}
    clock.set(utc(2027, 5, 6, 6, 0))  # 09:00 in Kostroma
    worker.run_once()

    (host,) = smtp.sink.to("exchange@kostroma.ru")
    assert host["Subject"] == "Delegation from Mary: in 14 days (Thursday 20 May 2027)"
    text = host.get_body(("plain",)).get_content()
    assert "Starts: Thursday 20 May 2027, 10:00 (Europe/Moscow, UTC+03:00)" in text
    assert "Kostroma hosts Mary." in text
    assert "1 minor(s) still need a guardian's consent" in text
    # The minor has no email or phone, but the guardian's email reaches them.
    assert "without email or phone" not in text

    # The travellers, each in their own language (Russian by Mary's country, or as
    # set), a minor through the guardian.
    (delegate,) = smtp.sink.to("ogulgerek@example.tm")
    assert delegate["Subject"] == "Delegation from Mary, 20 мая 2027 – 22 мая 2027: через 14 дней"
    delegate_text = delegate.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert delegate_text.startswith(
        "Здравствуйте, Ogulgerek Berdiyeva!\n\n"
        "У участника Ogulgerek Berdiyeva есть место на мероприятии «Delegation from Mary» "
        "(делегат):\n20 мая 2027, 10:00 – 22 мая 2027, 18:00 (часовой пояс Europe/Moscow)\n"
        "Место проведения: Town hall\n\nСобытие приложено для вашего календаря.\n")
    assert "Readiness" not in delegate_text and "Готовность" not in delegate_text
    (guardian,) = smtp.sink.to("aman@example.tm")
    assert guardian["Subject"] == "Delegation from Mary, 20 May 2027 – 22 May 2027: in 14 days"
    assert guardian.get_body(("plain",)).get_content().replace("\r\n", "\n").startswith(
        "Dear parent or guardian of Merdan Atayev,\n\n"
        "Merdan Atayev holds a place as delegate at 'Delegation from Mary':\n"
        "20 May 2027, 10:00 – 22 May 2027, 18:00 (Europe/Moscow time)\nVenue: Town hall\n\n"
        "The event is attached for your calendar.\n")
    assert delegate["Message-ID"].startswith("<msg_")
    (attachment,) = list(delegate.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_filename() == f"event-{event_id}.ics"
    calendar = icalendar.Calendar.from_ical(attachment.get_content())
    (vevent,) = calendar.walk("VEVENT")
    start = vevent.decoded("DTSTART")
    assert str(start.tzinfo) == "Europe/Moscow" and start.hour == 10
    assert vevent["UID"] == f"twinplan-event-{event_id}@twinplan.test"  # as in the feeds
    assert str(vevent["SUMMARY"]) == "Delegation from Mary"

    assert len(smtp.sink.messages) == 4  # the minor's guardian got the only other one
    # Every reminder and every email is settled; nothing is sent twice.
    worker.run_once()
    assert len(smtp.sink.messages) == 4
    emails = outbox(session, channel=Channel.email)
    assert statuses(emails) == [NotificationStatus.delivered] * 6  # 2 registration ones


def test_a_refused_address_is_dead_at_once_and_the_others_arrive(
    client, session, clock, smtp, kostroma, mary, kostroma_key, make_worker
):
    smtp.sink.refuse["gone@kostroma.ru"] = "550 5.1.1 no such mailbox"
    set_rules(client, kostroma_key, kostroma,
              coordinator_emails=["gone@kostroma.ru", "exchange@kostroma.ru"],
              wtcd_days_before=[])
    plan_event(client, kostroma_key, kostroma, [mary])
    clock.set(utc(2027, 5, 6, 6, 0))
    make_worker().run_once()
    assert [m["To"] for m in smtp.sink.messages] == ["exchange@kostroma.ru"]
    dead = outbox(session, channel=Channel.email, recipient="gone@kostroma.ru")
    assert statuses(dead) == [NotificationStatus.dead] and "550" in (dead[0].last_error or "")


def test_smtp_down_is_retried(client, session, clock, smtp, kostroma, mary, kostroma_key,
                              make_worker):
    from tests.servers import free_port

    set_rules(client, kostroma_key, kostroma, coordinator_emails=["exchange@kostroma.ru"],
              wtcd_days_before=[])
    plan_event(client, kostroma_key, kostroma, [mary])
    clock.set(utc(2027, 5, 6, 6, 0))
    make_worker(smtp_port=free_port()).run_once()  # nobody listens there
    (mail,) = outbox(session, channel=Channel.email)
    assert mail.status == NotificationStatus.pending and mail.attempts == 1
    assert "ConnectionRefused" in (mail.last_error or "")
    clock.advance(hours=1)
    make_worker().run_once()
    assert [m["To"] for m in smtp.sink.messages] == ["exchange@kostroma.ru"]


def test_reminders_more_than_a_day_late_are_missed_not_sent(client, session, clock, smtp,
                                                            kostroma, mary, kostroma_key,
                                                            make_worker):
    set_rules(client, kostroma_key, kostroma, coordinator_emails=["exchange@kostroma.ru"],
              wtcd_days_before=[], anniversary_days_before=[])
    plan_event(client, kostroma_key, kostroma, [mary])
    worker = make_worker()
    # The worker was down from before 6 May until 7 May 05:00 UTC: Kostroma's
    # 14-day reminder (due 06:00 UTC on the 6th) is 23 hours late and still goes;
    # Mary's (04:00 UTC) is 25 hours late and is missed.
    clock.set(utc(2027, 5, 7, 5, 0))
    worker.run_once()
    rows = {r.city_id: r for r in reminders(session) if ":14d:" in r.key}
    assert rows[kostroma.id].status == NotificationStatus.delivered
    assert rows[mary.id].status == NotificationStatus.missed
    assert "not sent late" in (rows[mary.id].last_error or "")
    assert [m["To"] for m in smtp.sink.messages] == ["exchange@kostroma.ru"]

    # A week's outage: the 2-day reminder is missed too, and listed as such.
    clock.set(utc(2027, 5, 25, 12))
    worker.run_once()
    assert len(smtp.sink.messages) == 1
    missed = client.get("/api/v1/notifications", headers=kostroma_key,
                        params={"status": "missed"}).json()
    assert {n["key"].split(":")[2] for n in missed["items"]} == {"2d"}
    assert missed["items"][0]["attempt_log"][0]["outcome"] == "missed"


def test_a_city_timezone_change_is_caught_when_due(client, session, clock, kostroma, mary,
                                                   kostroma_key, admin, make_worker):
    plan_event(client, kostroma_key, kostroma, [mary])
    # Mary moves to UTC+3 after the reminders were planned (09:00 is now 06:00 UTC).
    client.patch(f"/api/v1/cities/{mary.id}", headers=admin, json={"timezone": "Europe/Moscow"})
    clock.set(utc(2027, 5, 6, 4, 0))
    make_worker().run_once()
    (row,) = [r for r in reminders(session, city_id=mary.id) if ":14d:" in r.key]
    assert row.status == NotificationStatus.pending
    assert row.due_at == utc(2027, 5, 6, 6, 0) and row.attempts == 0


# World Twin Cities Day and anniversaries ----------------------------------------------------


def test_world_twin_cities_day_reminders(client, session, clock, smtp, receiver, kostroma,
                                         mary, make_city, make_partnership, make_event,
                                         kostroma_key, make_worker):
    oryol = make_city("Oryol")
    make_partnership(kostroma, oryol)
    make_event(oryol, [kostroma], title="Youth football cup", starts_at="2027-04-24T10:00",
               ends_at="2027-04-24T18:00")
    clock.set(utc(2027, 1, 1))
    set_rules(client, kostroma_key, kostroma, coordinator_emails=["exchange@kostroma.ru"],
              event_days_before=[])
    hook = client.post("/api/v1/webhook-endpoints", headers=kostroma_key,
                       json={"city_id": kostroma.id, "url": receiver.url,
                             "event_types": ["reminder.due"]}).json()
    worker = make_worker()
    worker.schedule()
    planned = {r.key: r.due_at for r in reminders(session, subject=f"wtcd:city:{kostroma.id}")}
    # 2027-04-25 minus 60, 30 and 7 days, at 09:00 in Kostroma (06:00 UTC).
    assert planned == {
        f"wtcd:2027:city:{kostroma.id}:60d": utc(2027, 2, 24, 6),
        f"wtcd:2027:city:{kostroma.id}:30d": utc(2027, 3, 26, 6),
        f"wtcd:2027:city:{kostroma.id}:7d": utc(2027, 4, 18, 6),
    }
    assert worker.schedule() == 0  # idempotent

    clock.set(utc(2027, 3, 26, 6, 5))
    worker.run_once()
    (mail,) = smtp.sink.to("exchange@kostroma.ru")
    assert mail["Subject"] == "World Twin Cities Day is in 30 days (Sunday 25 April 2027)"
    text = mail.get_body(("plain",)).get_content()
    nothing, planned_part = text.split("Planned:")
    assert "Mary (TM), twinned since 2017-11-03" in nothing and "Oryol" not in nothing
    assert "Oryol: Youth football cup, Saturday 24 April 2027" in planned_part
    assert "1962" in text

    (delivery,) = receiver.accepted()
    data = verify(hook["secret"], delivery)["data"]
    assert data["reminder"] == "twin_cities_day" and data["date"] == "2027-04-25"
    assert [p["name"] for p in data["partnerships_without_event"]] == ["Mary"]


def test_world_twin_cities_day_reminder_shows_only_what_the_city_may_see(
        client, session, clock, smtp, kostroma, make_city, make_partnership, make_event,
        kostroma_key, make_worker):
    oryol = make_city("Oryol")
    make_partnership(kostroma, oryol)
    make_event(oryol, [kostroma], title="Mayors' closed dinner", visibility="private",
               starts_at="2027-04-24T19:00", ends_at="2027-04-24T23:00")
    clock.set(utc(2027, 1, 1))
    set_rules(client, kostroma_key, kostroma, coordinator_emails=["exchange@kostroma.ru"],
              event_days_before=[])
    worker = make_worker()
    worker.schedule()
    clock.set(utc(2027, 3, 26, 6, 5))
    worker.run_once()
    (mail,) = smtp.sink.to("exchange@kostroma.ru")
    text = mail.get_body(("plain",)).get_content()
    assert "closed dinner" not in text
    assert "Oryol (RU)" in text  # to Kostroma, nothing is planned with Oryol


def test_a_city_without_an_active_twinning_is_told_so_not_congratulated(
        client, session, clock, smtp, make_city, make_partnership, make_key, make_worker):
    lonely = make_city("Oryol")
    make_partnership(lonely, make_city("Mary", "TM"), status="suspended")
    key = make_key(Role.coordinator, lonely)
    clock.set(utc(2027, 1, 1))
    set_rules(client, key, lonely, coordinator_emails=["twinning@oryol.ru"],
              event_days_before=[])
    worker = make_worker()
    worker.schedule()
    clock.set(utc(2027, 3, 26, 6, 5))
    worker.run_once()
    (mail,) = smtp.sink.to("twinning@oryol.ru")
    text = mail.get_body(("plain",)).get_content()
    assert "Well done" not in text
    assert "Oryol has no active twinning yet" in text


def test_coventry_and_volgograd_turned_80_in_2024(client, session, clock, smtp, make_city,
                                                 make_partnership, make_key, make_worker):
    volgograd = make_city("Volgograd", timezone="Europe/Volgograd")
    coventry = make_city("Coventry", "GB")
    partnership = make_partnership(coventry, volgograd, established_on="1944")
    key = make_key(Role.coordinator, volgograd)
    clock.set(utc(2023, 6, 1))
    set_rules(client, key, volgograd, coordinator_emails=["twinning@volgograd.ru"])
    (row,) = reminders(session, subject=f"partnership:{partnership.id}")
    assert row.key == f"anniversary:{partnership.id}:80y:city:{volgograd.id}:30d"
    assert row.due_at == utc(2023, 12, 2, 6)  # 30 days before 2024-01-01, 09:00 UTC+3

    clock.set(utc(2023, 12, 2, 6, 1))
    make_worker().run_once()
    (mail,) = smtp.sink.to("twinning@volgograd.ru")
    assert mail["Subject"] == "80 years of twinning: Volgograd and Coventry"
    assert "turns 80 in 2024" in mail.get_body(("plain",)).get_content()


# Rules ----------------------------------------------------------------------------------


def test_rules_have_defaults_and_changes_replan(client, session, clock, kostroma, mary,
                                                kostroma_key, mary_key, make_key):
    event_id = plan_event(client, kostroma_key, kostroma, [mary]).json()["id"]
    defaults = client.get(f"/api/v1/cities/{kostroma.id}/reminder-rules",
                          headers=kostroma_key).json()
    assert defaults == {"city_id": kostroma.id, "coordinator_emails": [], "hour": 9,
                        "timezone": "Europe/Moscow", "wtcd_days_before": [60, 30, 7],
                        "event_days_before": [14, 2], "anniversary_days_before": [30]}
    changed = set_rules(client, kostroma_key, kostroma, hour=7, event_days_before=[3, 3],
                        wtcd_days_before=[])
    assert changed["hour"] == 7 and changed["event_days_before"] == [3]
    pending = {r.key: r.due_at for r in reminders(session, city_id=kostroma.id)
               if r.status == NotificationStatus.pending and r.key.startswith("event:")}
    assert pending == {f"event:{event_id}:3d:city:{kostroma.id}:2027-05-17": utc(2027, 5, 17, 4)}
    assert len([r for r in reminders(session, city_id=mary.id)
                if r.status == NotificationStatus.pending]) == 2  # Mary's are its own

    assert_problem(client.patch(f"/api/v1/cities/{kostroma.id}/reminder-rules", headers=mary_key,
                                json={"hour": 8}), 403)
    assert_problem(client.get(f"/api/v1/cities/{kostroma.id}/reminder-rules",
                              headers=make_key(Role.partner, kostroma)), 403)
    assert_problem(client.patch(f"/api/v1/cities/{kostroma.id}/reminder-rules",
                                headers=kostroma_key, json={"hour": 24}), 422)
    assert_problem(client.patch(f"/api/v1/cities/{kostroma.id}/reminder-rules",
                                headers=kostroma_key, json={"coordinator_emails": ["nope"]}), 422)
