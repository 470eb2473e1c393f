"""The worker's claim, lease and bookkeeping, driven by the test's clock."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.core.actors import SYSTEM
from app.core.settings import Settings
from app.notifications import outbox as outbox_module
from app.notifications.models import Channel, NotificationStatus, Topic
from app.notifications.webhooks import create_endpoint
from tests.notifications.conftest import outbox
from tests.notifications.fakes import verify


@pytest.fixture
def endpoint(session, make_city, receiver):
    from app.notifications.models import WebhookEndpointCreate

    city = make_city("Kostroma")
    created = create_endpoint(
        session,
        WebhookEndpointCreate(city_id=city.id, url=receiver.url,
                              event_types=[Topic.event_created]),
        SYSTEM,
    )
    session.commit()
    return created


def queue(session, endpoint, count, *, prefix="n"):
    for i in range(count):
        outbox_module.enqueue(
            session, key=f"{prefix}:{i}", channel=Channel.webhook, topic=Topic.event_created,
            recipient=str(endpoint.id), payload={"type": "event.created", "data": {"n": i}},
            city_id=endpoint.city_id,
        )
    session.commit()


def test_enqueue_is_idempotent_by_key(session, endpoint):
    queue(session, endpoint, 3)
    queue(session, endpoint, 3)
    rows = outbox(session)
    assert len(rows) == 3
    assert len({r.message_id for r in rows}) == 3
    assert rows[0].message_id == outbox_module.message_id_for("n:0")


def test_claims_take_a_batch_in_order_and_lease_it(session, endpoint, make_worker, clock):
    queue(session, endpoint, 5)
    worker = make_worker(worker_batch_size=2, worker_lease_seconds=120)
    first = worker.claim()
    assert [c.key for c in first] == ["n:0", "n:1"]
    second = worker.claim()
    assert [c.key for c in second] == ["n:2", "n:3"]
    rows = {r.key: r for r in outbox(session)}
    assert rows["n:0"].status == NotificationStatus.sending
    assert rows["n:0"].claimed_by == "test-worker" and rows["n:0"].attempts == 1
    assert (rows["n:0"].available_at - clock.now).total_seconds() == 120
    assert rows["n:4"].status == NotificationStatus.pending


def test_a_dead_workers_rows_are_taken_over_after_the_lease(session, endpoint, receiver,
                                                            make_worker, clock):
    queue(session, endpoint, 3)
    killed = make_worker("killed", worker_lease_seconds=120)
    claims = killed.claim()  # ...and the process dies before sending anything
    assert len(claims) == 3
    survivor = make_worker("survivor")
    assert survivor.run_once() == 0  # leased: not available yet

    clock.advance(seconds=121)
    assert survivor.run_once() == 3
    assert len(receiver.accepted()) == 3
    rows = outbox(session)
    assert [r.status for r in rows] == [NotificationStatus.delivered] * 3
    assert [r.attempts for r in rows] == [2, 2, 2]

    log = [(a["worker"], a["outcome"]) for a in _attempts(session, rows[0].id)]
    assert log == [("killed", "abandoned"), ("survivor", "delivered")]

    # If the "dead" worker was only frozen and wakes up, it neither sends again
    # nor overwrites the outcome.
    for claim in claims:
        killed.handle(claim)
    assert len(receiver.accepted()) == 3
    assert [r.status for r in outbox(session)] == [NotificationStatus.delivered] * 3


def test_a_late_record_does_not_overwrite_the_new_owner(session, endpoint, receiver,
                                                         make_worker, clock):
    from app.notifications.models import AttemptOutcome
    from app.worker import Outcome

    queue(session, endpoint, 1)
    slow = make_worker("slow", worker_lease_seconds=120)
    (claim,) = slow.claim()
    clock.advance(seconds=121)
    fast = make_worker("fast")
    (taken,) = fast.claim()
    # The slow worker's failure arrives while the fast one holds the row.
    slow.record(claim, Outcome(AttemptOutcome.failed, "HTTP 500", 500), clock.now)
    (row,) = outbox(session)
    assert row.status == NotificationStatus.sending and row.claim_token == taken.token
    fast.handle(taken)
    (row,) = outbox(session)
    assert row.status == NotificationStatus.delivered
    outcomes = [a["outcome"] for a in _attempts(session, row.id)]
    assert outcomes == ["abandoned", "failed", "delivered"]


def test_abandoned_too_often_is_dead(session, endpoint, make_worker, clock):
    queue(session, endpoint, 1)
    worker = make_worker(worker_max_attempts=2, worker_lease_seconds=60)
    for _ in range(2):
        assert len(worker.claim()) == 1
        clock.advance(seconds=61)
    assert worker.claim() == []
    (row,) = outbox(session)
    assert row.status == NotificationStatus.dead and "abandoned" in (row.last_error or "")


def test_signed_payload_is_the_stored_one(session, endpoint, receiver, make_worker):
    queue(session, endpoint, 1)
    make_worker().run_once()
    (delivery,) = receiver.accepted()
    assert verify(endpoint.secret, delivery) == {"type": "event.created", "data": {"n": 0}}
    assert delivery.headers["user-agent"].startswith("Twinplan-Webhooks/")


@pytest.mark.parametrize(
    ("values", "says"),
    [({"worker_lease_seconds": 30, "worker_batch_size": 10, "webhook_timeout": 5},
      "TWINPLAN_WORKER_LEASE_SECONDS"),
     ({"worker_backoff_seconds": 60, "worker_backoff_max_seconds": 10},
      "TWINPLAN_WORKER_BACKOFF_MAX_SECONDS"),
     ({"smtp_host": "smtp.example.org", "smtp_user": "u", "smtp_password": "p"},
      "TWINPLAN_SMTP_STARTTLS"),
     ({"reminder_hour": 24}, "reminder_hour")],
)
def test_unsafe_worker_settings_are_refused(values, says):
    with pytest.raises(ValidationError, match=says):
        Settings(_env_file=None, **values)  # type: ignore[call-arg]


def _attempts(session, notification_id):
    from app.notifications.models import Notification
    from app.notifications.service import with_attempts

    session.expire_all()
    row = session.get(Notification, notification_id)
    return [a.model_dump(mode="json") for a in with_attempts(session, [row])[0].attempt_log]
