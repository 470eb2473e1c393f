"""Webhook deliveries per second with 1 and 3 `twinplan worker` processes.

    .venv/bin/python -m bench.notifications [--count 3000]
    TWINPLAN_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python -m bench.notifications

For each configuration a fresh database is built by the migrations (a temporary
SQLite file; on PostgreSQL a database ``twinplan_bench_notifications`` created
next to the one named, and dropped afterwards) and seeded with ``--count`` due
webhook notifications to one endpoint: a local HTTP receiver (keep-alive,
answers 204 at once), so the figure is the worker's own cost: claim, sign,
POST, record. Workers run as real processes; the clock starts at the first
delivery the receiver sees (process start-up excluded) and stops at the last.

SQLite runs one worker only (its writes serialise); PostgreSQL runs 1 and 3.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sqlmodel import Session

from bench.processes import scratch_postgres

WORKER_ENV = {
    "TWINPLAN_WORKER_BATCH_SIZE": "20",
    "TWINPLAN_WORKER_LEASE_SECONDS": "300",
    "TWINPLAN_WORKER_POLL_SECONDS": "0.05",
    "TWINPLAN_WEBHOOK_ALLOW_PRIVATE_URLS": "true",
    "TWINPLAN_LOG_LEVEL": "WARNING",
}


class Receiver:
    """Counts deliveries and notes when the first and the last arrived."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.first = self.last = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real endpoint would

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("content-length") or 0))
                now = time.perf_counter()
                with receiver.lock:
                    receiver.count += 1
                    receiver.first = receiver.first or now
                    receiver.last = now
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Result:
    backend: str
    workers: int
    count: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


def seed(url: str, receiver_url: str, count: int) -> None:
    from app.cities.models import CityCreate
    from app.cities.service import create_city
    from app.core.actors import SYSTEM
    from app.core.db import make_engine
    from app.notifications import outbox
    from app.notifications.models import Channel, Topic, WebhookEndpointCreate, WebhookTopic
    from app.notifications.webhooks import create_endpoint

    engine = make_engine(url)
    with Session(engine) as session:
        city = create_city(session, CityCreate(name="Kostroma", country_code="RU",
                                               timezone="Europe/Moscow"), SYSTEM)
        endpoint = create_endpoint(
            session,
            WebhookEndpointCreate(city_id=city.id or 0, url=receiver_url,
                                  event_types=[WebhookTopic.event_updated]),
            SYSTEM,
        )
        for n in range(count):
            outbox.enqueue(
                session, key=f"bench:{n}", channel=Channel.webhook, topic=Topic.event_updated,
                recipient=str(endpoint.id), city_id=city.id,
                payload={"type": "event.updated", "data": {"id": n, "title": "Exchange",
                                                           "sequence": 3}},
            )
        session.commit()
    engine.dispose()


def run(backend: str, url: str, workers: int, count: int) -> Result:
    from app.core import migrations

    migrations.upgrade(url)
    receiver = Receiver()
    seed(url, receiver.url, count)
    twinplan = str(Path(sys.executable).with_name("twinplan"))
    env = os.environ | {"TWINPLAN_DATABASE_URL": url} | WORKER_ENV
    with tempfile.TemporaryFile("w+") as log:
        procs = [
            subprocess.Popen([twinplan, "worker", "--no-plan", "--name", f"bench-{i}"],
                             env=env, stdout=log, stderr=subprocess.STDOUT)
            for i in range(workers)
        ]
        try:
            deadline = time.monotonic() + 600
            while receiver.count < count:
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    log.seek(0)
                    raise SystemExit(f"workers stalled at {receiver.count}/{count}:\n"
                                     f"{log.read()[-3000:]}")
                time.sleep(0.02)
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(timeout=30)
    receiver.close()
    return Result(backend, workers, count, receiver.last - receiver.first)


def report(results: list[Result]) -> None:
    print("\nWebhook deliveries (sign, POST, record) by `twinplan worker` processes\n")
    header = f"{'backend':<12}{'workers':>8}{'deliveries':>12}{'seconds':>10}{'per second':>12}"
    print(header)
    print("-" * len(header))
    for r in results:
        print(f"{r.backend:<12}{r.workers:>8}{r.count:>12,}{r.seconds:>10.2f}{r.rate:>12,.0f}")
    by_backend: dict[str, dict[int, float]] = {}
    for r in results:
        by_backend.setdefault(r.backend, {})[r.workers] = r.rate
    for backend, rates in by_backend.items():
        if 1 in rates and 3 in rates:
            print(f"\n{backend}: 3 workers deliver {rates[3] / rates[1]:.1f}x what 1 does")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000, help="notifications per run")
    args = parser.parse_args(argv)
    os.environ.update(WORKER_ENV)  # the seeding in this process registers a loopback endpoint
    results = []
    with tempfile.TemporaryDirectory(prefix="twinplan-bench-") as tmp:
        results.append(run("sqlite", f"sqlite:///{tmp}/notifications.db", 1, args.count))
    pg = os.environ.get("TWINPLAN_BENCH_DATABASE_URL")
    if pg:
        for workers in (1, 3):
            with scratch_postgres(pg, "twinplan_bench_notifications") as url:
                results.append(run("postgresql", url, workers, args.count))
    else:
        print("(set TWINPLAN_BENCH_DATABASE_URL to measure PostgreSQL with 1 and 3 workers)")
    report(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
