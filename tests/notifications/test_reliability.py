"""The proof: real `twinplan worker` processes, a receiver that fails 30% of requests,
and a worker killed with SIGKILL halfway. Every notification arrives, none under
two different ids, none is lost.

PostgreSQL: 3 workers and 2,000 notifications. SQLite: one worker and 300; the
killed worker is replaced by a new one, which must pick up its leased rows.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import IO

import pytest
from sqlmodel import Session, col, func, select

from app.core.actors import SYSTEM
from app.core.db import make_engine
from app.notifications import outbox
from app.notifications.models import (
    AttemptOutcome,
    Channel,
    Notification,
    NotificationAttempt,
    NotificationStatus,
    Topic,
    WebhookEndpointCreate,
)
from app.notifications.webhooks import create_endpoint
from tests.conftest import IS_POSTGRES
from tests.factories import new_city
from tests.notifications.fakes import Receiver, fail_randomly, verify
from tests.servers import scratch_database, stop_process

pytestmark = pytest.mark.slow

WORKERS = 3 if IS_POSTGRES else 1
COUNT = 2000 if IS_POSTGRES else 300
FAILURE_SHARE = 0.30
BATCH = 5
# Short, real timings: the workers are other processes on the real clock.
WORKER_ENV = {
    "TWINPLAN_WORKER_BATCH_SIZE": str(BATCH),
    "TWINPLAN_WORKER_CONCURRENCY": "4",
    "TWINPLAN_WORKER_LEASE_SECONDS": "6",
    "TWINPLAN_WEBHOOK_TIMEOUT": "1",
    "TWINPLAN_SMTP_TIMEOUT": "1",
    "TWINPLAN_WORKER_BACKOFF_SECONDS": "0.05",
    "TWINPLAN_WORKER_BACKOFF_MAX_SECONDS": "0.5",
    "TWINPLAN_WORKER_MAX_ATTEMPTS": "50",
    "TWINPLAN_WORKER_POLL_SECONDS": "0.05",
    "TWINPLAN_WEBHOOK_ALLOW_PRIVATE_URLS": "true",
    "TWINPLAN_LOG_LEVEL": "WARNING",
}


def seed(url: str, receiver_url: str, count: int) -> tuple[str, dict[int, str]]:
    """An endpoint and ``count`` due webhooks; the secret and each n's message id."""
    engine = make_engine(url)
    with Session(engine) as session:
        city = new_city(session, "Kostroma")
        endpoint = create_endpoint(
            session,
            WebhookEndpointCreate(city_id=city.id or 0, url=receiver_url,
                                  event_types=[Topic.event_created]),
            SYSTEM,
        )
        ids = {}
        for n in range(count):
            key = f"reliability:{n}"
            outbox.enqueue(session, key=key, channel=Channel.webhook, topic=Topic.event_created,
                           recipient=str(endpoint.id), city_id=city.id,
                           payload={"type": "event.created", "data": {"n": n}})
            ids[n] = outbox.message_id_for(key)
        session.commit()
        secret = endpoint.secret
    engine.dispose()
    return secret, ids


class WorkerProcess:
    def __init__(self, url: str, name: str, log: IO[str]) -> None:
        twinplan = str(Path(sys.executable).with_name("twinplan"))
        self.log = log
        self.proc = subprocess.Popen(
            [twinplan, "worker", "--name", name, "--no-plan"],
            env=os.environ | {"TWINPLAN_DATABASE_URL": url} | WORKER_ENV,
            stdout=log, stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            stop_process(self.proc)


def open_rows(url: str) -> int:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return outbox.open_count(session)
    finally:
        engine.dispose()


def wait_for(condition, timeout: float, what: str, workers: list[WorkerProcess]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        for worker in workers:
            if worker.proc.poll() not in (None, -9):
                worker.log.seek(0)
                raise AssertionError(f"a worker exited: {worker.log.read()[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def test_every_notification_arrives_once_per_id_despite_failures_and_a_kill(tmp_path):
    with (
        scratch_database(tmp_path) as url,
        Receiver(policy=fail_randomly(FAILURE_SHARE)) as receiver,
        tempfile.TemporaryFile("w+") as log,
    ):
        secret, message_ids = seed(url, receiver.url, COUNT)
        workers = [WorkerProcess(url, f"worker-{i}", log) for i in range(WORKERS)]
        try:
            wait_for(lambda: len(receiver.accepted()) >= COUNT // 2, 120, "half the deliveries",
                     workers)
            victim = workers[0]
            victim.proc.kill()  # SIGKILL: no cleanup, its leased rows stay "sending"
            victim.proc.wait()
            if WORKERS == 1:
                workers.append(WorkerProcess(url, "replacement", log))
            wait_for(lambda: open_rows(url) == 0, 180, "the outbox to drain", workers)
        finally:
            for worker in workers:
                worker.stop()
        log.seek(0)
        output = log.read()
        assert "Traceback" not in output, output[-4000:]

        # What the receiver saw: signatures verify; every n arrived, under one id only.
        ids_by_n: dict[int, set[str]] = defaultdict(set)
        copies: dict[str, int] = defaultdict(int)
        for delivery in receiver.accepted():
            payload = verify(secret, delivery)
            ids_by_n[payload["data"]["n"]].add(delivery.webhook_id)
            copies[delivery.webhook_id] += 1
        assert sorted(ids_by_n) == list(range(COUNT)), "some notifications never arrived"
        assert all(ids == {message_ids[n]} for n, ids in ids_by_n.items())
        failures = [d for d in receiver.all() if d.status >= 500]
        assert 0.2 < len(failures) / len(receiver.all()) < 0.4

        # What the database says: all delivered, every attempt on record.
        engine = make_engine(url)
        with Session(engine) as session:
            by_status = dict(session.exec(
                select(Notification.status, func.count()).group_by(col(Notification.status))
            ).all())
            attempts = dict(session.exec(
                select(NotificationAttempt.outcome, func.count())
                .group_by(col(NotificationAttempt.outcome))
            ).all())
            answered, unanswered = (
                session.exec(
                    select(func.count()).select_from(NotificationAttempt).where(
                        NotificationAttempt.outcome == AttemptOutcome.failed,
                        col(NotificationAttempt.response_status).is_not(None) == status_known,
                    )
                ).one()
                for status_known in (True, False)
            )
            killed = session.exec(
                select(func.count()).select_from(NotificationAttempt)
                .where(NotificationAttempt.worker == "worker-0")
            ).one()
        engine.dispose()
        assert by_status == {NotificationStatus.delivered: COUNT}
        assert attempts[AttemptOutcome.delivered] == COUNT
        # Every 5xx is on record, but those the killed worker had no time to
        # record, which show as abandoned attempts.
        unrecorded = len(failures) - answered
        assert 0 <= unrecorded <= attempts.get(AttemptOutcome.abandoned, 0)
        # A copy (same id) comes only from a send whose outcome was lost: the
        # worker was killed before recording it, or the answer came after the
        # timeout (then the attempt is on record as failed without a status).
        duplicated = [i for i, c in copies.items() if c > 1]
        assert len(duplicated) <= BATCH + unanswered, duplicated
        assert killed > 0
