"""The worker: claim due notifications, send them, record every attempt.

It sits above every domain: it delivers the outbox (email, webhooks), expands
due reminders into messages, plans the year's reminders hourly, deletes expired
Idempotency-Keys and finished rate limit windows hourly (``app.core.idempotency``,
``app.core.ratelimit``), and keeps the
twin candidate model fresh (``refresh_candidates``, checked every minute in a
thread of its own, so that learning from the network never delays a delivery),
and mirrors the partners' external calendars that are due a poll
(``mirror_calendars``, in a thread of its own too: a slow calendar host must
not hold up a delivery either).

Exactly once, as far as a network allows:

* **Claim.** One short transaction takes up to ``worker_batch_size`` open rows
  whose ``available_at`` has come (``SELECT ... FOR UPDATE SKIP LOCKED`` on
  PostgreSQL, so concurrent workers take disjoint rows without waiting; on
  SQLite the write transaction holds the database lock). Each claimed row
  becomes ``sending`` with a fresh ``claim_token``, one more attempt, and
  ``available_at`` pushed to the end of its lease.
* **Send**, outside any transaction: a slow partner must not hold row locks.
* **Record**, in a second short transaction: the attempt's outcome, and the
  row's new status, but only while ``claim_token`` is still this claim's.
* **Crash.** A worker killed mid-batch leaves its rows ``sending``; when the
  lease ends they are claimable again, the lost attempt is logged as
  ``abandoned``, and the next worker sends them, with the same ``message_id``
  (``webhook-id``, ``Message-ID``), so a receiver that got the first copy can
  tell. Nothing is lost; a copy is possible only for a row whose send had
  happened but whose record had not.
* **Failures** back off exponentially (``worker_backoff_seconds`` doubling up
  to ``worker_backoff_max_seconds``, plus up to 10% jitter); after
  ``worker_max_attempts`` the row is ``dead`` and listed by
  ``GET /api/v1/notifications?status=dead``.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import random
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import insert, text, update
from sqlmodel import Session, col, select

from app.audit import service as _audit  # noqa: F401  (what the worker writes is audited)
from app.calendars import versions as _feed_versions  # noqa: F401  (mirrored events move feeds)
from app.core import clock, idempotency, ratelimit
from app.core.db import open_session
from app.core.settings import BASE_URL_VAR, ENV_FILE, Settings, get_settings
from app.mirrors import fetch as calendar_fetch
from app.mirrors import service as mirrors
from app.notifications import email, webhooks
from app.notifications.models import (
    AttemptOutcome,
    Channel,
    Notification,
    NotificationAttempt,
    NotificationStatus,
    Topic,
    WebhookEndpoint,
)
from app.reminders.service import expand_reminder, schedule_reminders
from app.twins import service as twins

log = logging.getLogger("twinplan.worker")
_NOTIFICATION = Notification.__table__  # type: ignore[attr-defined]
_ATTEMPT = NotificationAttempt.__table__  # type: ignore[attr-defined]

Sessions = Callable[[], AbstractContextManager[Session]]
# How often a running worker re-plans the calendar reminders (World Twin Cities
# Day, anniversaries); they are planned a year ahead, so hourly is plenty.
SCHEDULE_EVERY = timedelta(hours=1)
# Any constant: PostgreSQL advisory lock that lets one worker plan at a time.
_SCHEDULE_LOCK = 5_270_425
# How often a running worker checks whether the network changed since the newest
# candidate model was built (one cheap query), and builds a new one if it did.
CANDIDATES_EVERY = timedelta(minutes=1)
# How often the calendar thread looks for external calendars due a poll.
MIRROR_EVERY = timedelta(seconds=30)
# How often a running worker deletes the Idempotency-Keys past their expiry (a
# request that meets one treats it as absent meanwhile).
FORGET_KEYS_EVERY = timedelta(hours=1)
# How long a stopping worker waits for a model build in progress (it is then
# dropped: nothing is written until the model is learnt, so nothing is half-stored).
_CANDIDATES_STOP_WAIT = 5.0


@contextmanager
def database_sessions() -> Iterator[Session]:
    with open_session(write=True) as session:
        yield session


@dataclass(frozen=True)
class Claim:
    id: int
    token: str
    attempt: int
    key: str
    message_id: str
    channel: Channel
    topic: Topic
    recipient: str
    payload: dict[str, Any]
    due_at: datetime
    lease_until: datetime
    # Webhooks: the endpoint as it was when claimed (None: deleted or disabled).
    target: webhooks.Target | None = None


@dataclass(frozen=True)
class Outcome:
    outcome: AttemptOutcome
    detail: str
    response_status: int | None = None


def base_url_notice(settings: Settings) -> tuple[int, str]:
    """What a starting worker says about the links it builds (the ``.ics`` in a
    reminder points into the service): a logging level and one line. ERROR means
    it must not start: a link sent by email cannot be corrected afterwards.

    The worker cannot see where a server listens: unless someone said so (the
    environment, .env, or ``twinplan serve`` recording it in .env), the base URL
    is only a guess from TWINPLAN_HOST and TWINPLAN_PORT.
    """
    base = settings.public_base_url
    if not settings.public_base_url_is_set:
        return logging.ERROR, (
            f"{BASE_URL_VAR} is not set, so the links in reminders would guess {base}. "
            f"Start `twinplan serve` once from this directory (it records where it "
            f"listens in {ENV_FILE}), or set {BASE_URL_VAR} (e.g. "
            f"https://twinplan.example.org) in the environment or {ENV_FILE}"
        )
    host = urlsplit(base).hostname or ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost" or host.endswith(".localhost")
    if loopback:
        return logging.WARNING, (
            f"links in reminders point to {base}, which opens only on this machine; "
            f"set {BASE_URL_VAR} to the address people reach the service at"
        )
    return logging.INFO, f"links in reminders point to {base}"


def default_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:60]


class Worker:
    def __init__(
        self,
        *,
        name: str | None = None,
        sessions: Sessions = database_sessions,
        settings: Settings | None = None,
        http: httpx.Client | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.name = (name or default_name())[:100]
        self.sessions = sessions
        self.settings = settings or get_settings()
        self.http = http or httpx.Client(
            timeout=httpx.Timeout(self.settings.webhook_timeout),
            follow_redirects=False,
            transport=None if self.settings.webhook_allow_private_urls
            else webhooks.public_transport(),
        )
        self.rng = rng or random.Random()
        self._last_schedule: datetime | None = None
        self._last_forget: datetime | None = None

    def close(self) -> None:
        self.http.close()

    # Claiming ---------------------------------------------------------------------

    def claim(self) -> list[Claim]:
        """Lease the next due rows to this worker (one short transaction)."""
        settings = self.settings
        with self.sessions() as session:
            now = clock.now()
            rows = session.exec(
                select(Notification)
                .where(
                    col(Notification.status).in_(
                        [NotificationStatus.pending, NotificationStatus.sending]
                    ),
                    col(Notification.available_at) <= now,
                )
                .order_by(col(Notification.available_at), col(Notification.id))
                .limit(settings.worker_batch_size)
                .with_for_update(skip_locked=True)
            ).all()
            token = uuid.uuid4().hex
            lease_until = now + timedelta(seconds=settings.worker_lease_seconds)
            claims = []
            for row in rows:
                assert row.id is not None
                if row.status == NotificationStatus.sending:
                    # Its worker died or overran the lease; the attempt is lost.
                    self._log_attempt(
                        session, row, row.attempts, AttemptOutcome.abandoned,
                        f"lease of {row.claimed_by or 'a worker'} expired before it recorded "
                        "an outcome",
                        started_at=row.updated_at, worker=row.claimed_by,
                    )
                    if row.attempts >= settings.worker_max_attempts:
                        self._settle(row, NotificationStatus.dead, now,
                                     f"gave up after {row.attempts} attempts (last abandoned)")
                        session.add(row)
                        continue
                row.status = NotificationStatus.sending
                row.attempts += 1
                row.claim_token = token
                row.claimed_by = self.name
                row.available_at = lease_until
                row.updated_at = now
                session.add(row)
                claims.append(
                    Claim(
                        id=row.id, token=token, attempt=row.attempts, key=row.key,
                        message_id=row.message_id, channel=Channel(row.channel),
                        topic=Topic(row.topic), recipient=row.recipient,
                        payload=dict(row.payload), due_at=row.due_at, lease_until=lease_until,
                    )
                )
            targets = self._targets(session, claims, now)
            session.commit()
        return [replace(c, target=targets.get(c.recipient)) if c.channel == Channel.webhook
                else c for c in claims]

    @staticmethod
    def _targets(session: Session, claims: list[Claim], now: datetime
                 ) -> dict[str, webhooks.Target]:
        """The batch's endpoints, read in the claim's transaction (one query, not one each)."""
        ids = {int(c.recipient) for c in claims if c.channel == Channel.webhook}
        if not ids:
            return {}
        endpoints = session.exec(
            select(WebhookEndpoint).where(col(WebhookEndpoint.id).in_(ids),
                                          col(WebhookEndpoint.enabled))
        ).all()
        return {str(e.id): webhooks.target_of(e, now) for e in endpoints}

    # Handling ---------------------------------------------------------------------

    def handle(self, claim: Claim) -> Outcome:
        started = clock.now()
        if started >= claim.lease_until:
            # A batch that ran this long may already be in another worker's hands:
            # sending now could only add a copy.
            return Outcome(AttemptOutcome.abandoned, "lease ran out before it was sent")
        try:
            if claim.channel == Channel.reminder:
                return self._expand(claim, started)
            if claim.channel == Channel.email:
                result = self._send_email(claim)
            else:
                result = self._send_webhook(claim)
        except Exception as exc:  # a bug or a bad row must not stop the worker
            log.exception("notification %s failed unexpectedly", claim.id)
            result = Outcome(AttemptOutcome.failed, f"internal error: {type(exc).__name__}")
        self.record(claim, result, started)
        return result

    def _send_email(self, claim: Claim) -> Outcome:
        message = email.build_message(self.settings, claim.message_id, claim.payload)
        sent = email.send(self.settings, message)
        if sent.ok:
            return Outcome(AttemptOutcome.delivered, sent.detail, sent.code)
        outcome = AttemptOutcome.refused if sent.permanent else AttemptOutcome.failed
        return Outcome(outcome, sent.detail, sent.code)

    def _send_webhook(self, claim: Claim) -> Outcome:
        target = claim.target
        if target is None:
            return Outcome(AttemptOutcome.withdrawn, "the endpoint was deleted or disabled")
        sent = webhooks.send(self.http, target, claim.message_id, claim.payload)
        if sent.ok:
            return Outcome(AttemptOutcome.delivered, sent.detail, sent.status)
        if sent.gone:
            return Outcome(AttemptOutcome.refused, sent.detail + " (endpoint disabled)",
                           sent.status)
        return Outcome(AttemptOutcome.failed, sent.detail, sent.status)

    def _expand(self, claim: Claim, started: datetime) -> Outcome:
        """A due reminder becomes its recipients' emails and webhooks, in one transaction."""
        try:
            with self.sessions() as session:
                row = self._own_row(session, claim)
                if row is None:
                    return Outcome(AttemptOutcome.abandoned, "lease lost")
                result = expand_reminder(session, row, clock.now())
                if result.moved_to is not None:
                    # Its event or city changed; it waits for its new moment (not an attempt).
                    row.status = NotificationStatus.pending
                    row.attempts -= 1
                    row.due_at = row.available_at = result.moved_to
                    row.claim_token = row.claimed_by = None
                    row.updated_at = clock.now()
                    session.add(row)
                    session.commit()
                    return Outcome(AttemptOutcome.withdrawn, result.detail)
                outcome = Outcome(result.outcome, result.detail)
                self._apply(session, row, claim, outcome, started)
                session.commit()
                return outcome
        except Exception as exc:
            log.exception("reminder %s could not be expanded", claim.id)
            outcome = Outcome(AttemptOutcome.failed, f"internal error: {type(exc).__name__}")
            self.record(claim, outcome, started)
            return outcome

    # Recording --------------------------------------------------------------------

    def record(self, claim: Claim, result: Outcome, started: datetime) -> None:
        """Log the attempt and settle the row, if this claim still owns it."""
        if result.outcome in (AttemptOutcome.delivered, AttemptOutcome.failed):
            with self.sessions() as session:
                if self._record_owned(session, claim, result, started):
                    session.commit()
                    return
                session.rollback()
        with self.sessions() as session:
            row = self._locked_row(session, claim)
            if row is None:
                return
            if row.claim_token == claim.token and row.status == NotificationStatus.sending:
                self._apply(session, row, claim, result, started)
            else:
                # Another worker took the row over after our lease ran out. Its
                # outcome stands; ours is only logged (and a success still counts
                # if nobody is sending it right now).
                self._log_attempt(session, row, claim.attempt, result.outcome,
                                  f"{result.detail} (after the lease had passed to another "
                                  "worker)", started_at=started,
                                  response_status=result.response_status)
                if (result.outcome == AttemptOutcome.delivered
                        and row.status == NotificationStatus.pending):
                    self._settle(row, NotificationStatus.delivered, clock.now(), None)
                    session.add(row)
            session.commit()

    def _record_owned(self, session: Session, claim: Claim, result: Outcome,
                      started: datetime) -> bool:
        """The common case in two statements: settle the row if the claim still owns
        it (a fenced UPDATE), and log the attempt. False if it did not own it."""
        now = clock.now()
        values: dict[str, Any] = {"claim_token": None, "claimed_by": None, "updated_at": now}
        if result.outcome == AttemptOutcome.delivered:
            values |= {"status": NotificationStatus.delivered, "delivered_at": now,
                       "last_error": None}
        elif claim.attempt >= self.settings.worker_max_attempts:
            values |= {"status": NotificationStatus.dead,
                       "last_error": f"gave up after {claim.attempt} attempts: "
                                     f"{result.detail}"[:1000]}
        else:
            values |= {"status": NotificationStatus.pending,
                       "available_at": now + self.backoff(claim.attempt),
                       "last_error": result.detail[:1000]}
        connection = session.connection()
        updated = connection.execute(
            update(_NOTIFICATION)
            .where(_NOTIFICATION.c.id == claim.id, _NOTIFICATION.c.claim_token == claim.token,
                   _NOTIFICATION.c.status == NotificationStatus.sending)
            .values(**values)
        )
        if updated.rowcount != 1:
            return False
        connection.execute(insert(_ATTEMPT).values(
            notification_id=claim.id, number=claim.attempt, worker=self.name,
            started_at=started, finished_at=now, outcome=result.outcome,
            response_status=result.response_status, detail=result.detail[:1000],
        ))
        return True

    @staticmethod
    def _locked_row(session: Session, claim: Claim) -> Notification | None:
        """The claimed row, locked and read afresh, whoever holds it now."""
        return session.exec(
            select(Notification)
            .where(Notification.id == claim.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).first()

    def _own_row(self, session: Session, claim: Claim) -> Notification | None:
        row = self._locked_row(session, claim)
        if row is None or row.claim_token != claim.token:
            return None
        return row

    def _apply(
        self, session: Session, row: Notification, claim: Claim, result: Outcome,
        started: datetime,
    ) -> None:
        now = clock.now()
        self._log_attempt(session, row, claim.attempt, result.outcome, result.detail,
                          started_at=started, response_status=result.response_status)
        match result.outcome:
            case AttemptOutcome.delivered:
                self._settle(row, NotificationStatus.delivered, now, None)
            case AttemptOutcome.missed:
                self._settle(row, NotificationStatus.missed, now, result.detail)
            case AttemptOutcome.withdrawn:
                self._settle(row, NotificationStatus.withdrawn, now, result.detail)
            case AttemptOutcome.refused:
                self._settle(row, NotificationStatus.dead, now, result.detail)
                if row.channel == Channel.webhook and result.response_status == 410:
                    endpoint = session.get(WebhookEndpoint, int(row.recipient))
                    if endpoint is not None and endpoint.enabled:
                        webhooks.disable(session, endpoint, "the receiver answered 410 Gone")
            case _:
                if row.attempts >= self.settings.worker_max_attempts:
                    self._settle(row, NotificationStatus.dead, now,
                                 f"gave up after {row.attempts} attempts: {result.detail}")
                else:
                    row.status = NotificationStatus.pending
                    row.available_at = now + self.backoff(row.attempts)
                    row.last_error = result.detail[:1000]
                    row.claim_token = row.claimed_by = None
                    row.updated_at = now
        session.add(row)

    def backoff(self, attempts: int) -> timedelta:
        """Delay before the next try after ``attempts`` failures: doubling, capped, jittered."""
        base = self.settings.worker_backoff_seconds
        delay = min(base * 2 ** max(0, attempts - 1), self.settings.worker_backoff_max_seconds)
        return timedelta(seconds=delay * (1 + 0.1 * self.rng.random()))

    @staticmethod
    def _settle(row: Notification, status: NotificationStatus, now: datetime,
                error: str | None) -> None:
        row.status = status
        row.claim_token = row.claimed_by = None
        row.updated_at = now
        if status == NotificationStatus.delivered:
            row.delivered_at = now
            row.last_error = None
        elif error is not None:
            row.last_error = error[:1000]

    def _log_attempt(
        self,
        session: Session,
        row: Notification,
        number: int,
        outcome: AttemptOutcome,
        detail: str,
        *,
        started_at: datetime,
        response_status: int | None = None,
        worker: str | None = None,
    ) -> None:
        assert row.id is not None
        session.add(
            NotificationAttempt(
                notification_id=row.id,
                number=number,
                worker=(worker or self.name)[:100],
                started_at=started_at,
                finished_at=clock.now(),
                outcome=outcome,
                response_status=response_status,
                detail=detail[:1000],
            )
        )

    # Loops ------------------------------------------------------------------------

    def run_once(self, stop: threading.Event | None = None) -> int:
        """Deliver everything due now; the number of notifications handled.

        A batch's deliveries run ``worker_concurrency`` at a time, so a partner
        that takes its full timeout delays only its own delivery.
        """
        handled = 0
        threads = self.settings.worker_concurrency
        with ThreadPoolExecutor(threads, thread_name_prefix="deliver") as pool:
            while stop is None or not stop.is_set():
                claims = self.claim()
                if not claims:
                    break
                if threads == 1:
                    for claim in claims:
                        self.handle(claim)
                else:
                    list(pool.map(self.handle, claims))
                handled += len(claims)
        return handled

    def schedule(self) -> int:
        """Plan calendar reminders (one worker at a time on PostgreSQL)."""
        with self.sessions() as session:
            if session.get_bind().dialect.name == "postgresql":
                got = session.execute(
                    text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _SCHEDULE_LOCK}
                ).scalar()
                if not got:
                    return 0
            added = schedule_reminders(session, clock.now())
            session.commit()
        self._last_schedule = clock.now()
        return added

    def forget_idempotency_keys(self) -> int:
        """Delete the Idempotency-Keys past their expiry; how many."""
        with self.sessions() as session:
            forgotten = idempotency.forget_expired(session)
            session.commit()
        self._last_forget = clock.now()
        if forgotten:
            log.info("forgot %d expired idempotency key(s)", forgotten)
        return forgotten

    def forget_rate_limit_windows(self) -> int:
        """Delete the rate limits' counters of finished windows; how many."""
        with self.sessions() as session:
            forgotten = ratelimit.forget_finished(session)
            session.commit()
        return forgotten

    def refresh_candidates(self) -> bool:
        """Build a new candidate model if the network changed since the newest one
        (or there is none); whether it built one. Several workers may each build
        after one change (the newest stored wins; each deletes the older ones)."""
        built = twins.build_in_steps(self.sessions, if_stale=True)
        if built is None:
            return False
        log.info("candidate model %s built from %d cities and %d twinnings in %.1fs",
                 built.row.id, built.row.cities, built.row.links, built.learn_seconds)
        return True

    def _refresh_candidates_until(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.refresh_candidates()
            except Exception:
                log.exception("building the candidate model failed; will retry")
            stop.wait(CANDIDATES_EVERY.total_seconds())

    def mirror_calendars(self, stop: threading.Event | None = None) -> int:
        """Poll the external calendars that are due, one after another; how many.

        Each poll fetches outside any transaction and applies in one of its own,
        so a slow or broken partner costs only its own calendar's time.
        """
        with self.sessions() as session:
            due = mirrors.due_calendars(session, clock.now())
        if not due:
            return 0
        with calendar_fetch.client(self.settings.external_calendar_timeout) as http:
            for calendar_id in due:
                if stop is not None and stop.is_set():
                    break
                mirrors.poll_calendar(self.sessions, calendar_id, http, only_if_due=True)
        return len(due)

    def _mirror_calendars_until(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.mirror_calendars(stop)
            except Exception:
                log.exception("polling external calendars failed; will retry")
            stop.wait(MIRROR_EVERY.total_seconds())

    def run(self, stop: threading.Event, *, plan: bool = True, candidates: bool = True,
            calendars: bool = True) -> None:
        """Until ``stop`` is set: plan reminders hourly, deliver, then wait a poll
        interval; meanwhile (``candidates``) keep the candidate model fresh and
        (``calendars``) mirror the external calendars that are due, each in a
        thread of its own so that neither delays a delivery."""
        log.info("worker %s started", self.name)
        refresher = threading.Thread(target=self._refresh_candidates_until, args=(stop,),
                                     name="candidates", daemon=True) if candidates else None
        if refresher is not None:
            refresher.start()
        mirror = threading.Thread(target=self._mirror_calendars_until, args=(stop,),
                                  name="calendars", daemon=True) if calendars else None
        if mirror is not None:
            mirror.start()
        while not stop.is_set():
            if plan and (self._last_schedule is None
                         or clock.now() - self._last_schedule >= SCHEDULE_EVERY):
                try:
                    self.schedule()
                except Exception:
                    log.exception("planning reminders failed; will retry")
                    self._last_schedule = clock.now()
            if (self._last_forget is None
                    or clock.now() - self._last_forget >= FORGET_KEYS_EVERY):
                try:
                    self.forget_idempotency_keys()
                    self.forget_rate_limit_windows()
                except Exception:
                    log.exception("deleting expired idempotency keys or rate limit "
                                  "counters failed; will retry")
                    self._last_forget = clock.now()
            try:
                handled = self.run_once(stop)
            except Exception:
                # The database went away, say: wait and try again, never exit.
                log.exception("delivery loop failed; retrying after the poll interval")
                handled = 0
            if not handled:
                stop.wait(self.settings.worker_poll_seconds)
        if refresher is not None:
            refresher.join(_CANDIDATES_STOP_WAIT)
        if mirror is not None:
            mirror.join(_CANDIDATES_STOP_WAIT)
        log.info("worker %s stopped", self.name)
