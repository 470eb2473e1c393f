"""Whatever gives or takes a place tells the people affected: an email through the
outbox, sent by the worker to a real SMTP server (the person, and a minor's
guardian), beside the webhooks to the cities."""

from __future__ import annotations

from tests.participants.test_registrations import consent, reg


def test_people_hear_when_their_place_moves(
    client, host_key, guest_key, host, guest, make_event, make_participant, smtp, make_worker
):
    event = make_event(host, [guest], kind="school_exchange", capacity=1, chaperone_ratio=5)
    adult = make_participant(guest, age=40, email="teacher@example.tm")
    kid = make_participant(guest, age=14, email=None, guardian_name="Aman",
                           guardian_email="aman@example.tm", language="en")
    first = reg(client, guest_key, event, adult, "chaperone").json()
    waiting = reg(client, guest_key, event, kid, "student").json()
    assert (first["status"], waiting["status"]) == ("confirmed", "waitlisted")

    # A place comes free: the minor moves up, held for consent; the guardian hears.
    patched = client.patch(f"/api/v1/events/{event.id}", json={"capacity": 2},
                           headers=host_key | {"If-Match": "*"})
    assert patched.status_code == 200, patched.text
    make_worker().run_once()
    waitlisted, moved_up = smtp.sink.to("aman@example.tm")
    assert "waitlist, position 1" in waitlisted["Subject"]
    text = moved_up.get_body(("plain",)).get_content()
    assert "moved up from the waitlist" in text and "guardian's consent" in text
    assert text.startswith("Dear parent or guardian of ")

    assert consent(client, guest_key, waiting, "Aman").json()["status"] == "confirmed"
    # The event is called off: everyone holding a place is told, with the reason.
    client.post(f"/api/v1/events/{event.id}/cancel", json={"reason": "storm"}, headers=host_key)
    make_worker().run_once()
    cancelled = [m for m in smtp.sink.messages if m["Subject"].endswith(
        ("cancelled", "отменено"))]
    # In each one's language: the teacher's city (Mary, TM) reads Russian by default.
    assert {m["To"]: m["Subject"].rsplit(": ", 1)[1] for m in cancelled} == {
        "teacher@example.tm": "отменено", "aman@example.tm": "cancelled"}
    assert all("storm" in m.get_body(("plain",)).get_content() for m in cancelled)
