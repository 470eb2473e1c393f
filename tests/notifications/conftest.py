"""Delivery fixtures: a real SMTP server, a real webhook receiver, an in-process worker
on the test's session, and a clock the test moves."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from app.core.clock import frozen_at
from app.core.settings import get_settings
from app.notifications.models import Notification, NotificationStatus
from app.worker import Worker
from tests.notifications.fakes import Receiver, SmtpServer


@pytest.fixture(autouse=True)
def _loopback_webhooks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The receivers live on 127.0.0.1, which production refuses."""
    monkeypatch.setenv("TWINPLAN_WEBHOOK_ALLOW_PRIVATE_URLS", "true")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


class Clock:
    """``clock.now()`` for the test: ``set`` and ``advance`` it."""

    def __init__(self, start: datetime) -> None:
        self._stack = ExitStack()
        self.now = start
        self.set(start)

    def set(self, instant: datetime) -> datetime:
        self._stack.close()
        self.now = instant
        self._stack.enter_context(frozen_at(instant))
        return instant

    def advance(self, **delta: float) -> datetime:
        return self.set(self.now + timedelta(**delta))

    def close(self) -> None:
        self._stack.close()


@pytest.fixture
def clock() -> Iterator[Clock]:
    c = Clock(datetime(2027, 4, 1, 8, 0, tzinfo=UTC))
    yield c
    c.close()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture
def make_worker(session: Session, smtp: SmtpServer) -> Iterator[Any]:
    """A worker whose transactions are the test's (rolled back afterwards)."""
    workers: list[Worker] = []

    @contextmanager
    def shared() -> Iterator[Session]:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        finally:
            # The worker writes some rows with Core statements; the requests that
            # share this session must not see stale objects afterwards.
            session.expire_all()

    def make(name: str = "test-worker", **settings: Any) -> Worker:
        values = {
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp.port,
            "worker_backoff_seconds": 60,
            "worker_backoff_max_seconds": 3600,
            "worker_max_attempts": 5,
            "worker_lease_seconds": 120,
            "webhook_timeout": 2,
            "worker_concurrency": 1,  # the test's one session is not for threads
        } | settings
        worker = Worker(name=name, sessions=shared,
                        settings=get_settings().model_copy(update=values),
                        rng=random.Random(7))
        workers.append(worker)
        return worker

    yield make
    for worker in workers:
        worker.close()


def outbox(session: Session, **where: Any) -> list[Notification]:
    query = select(Notification).order_by(col(Notification.id))
    for field, value in where.items():
        query = query.where(getattr(Notification, field) == value)
    session.expire_all()
    return list(session.exec(query).all())


def statuses(rows: list[Notification]) -> list[NotificationStatus]:
    return [NotificationStatus(r.status) for r in rows]
