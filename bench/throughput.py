"""Throughput of the hot paths under load, beside the stack's limit in the same run.

    .venv/bin/python -m bench.throughput [--seconds 4] [--rounds 3] [--connections 32]
    TWINPLAN_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python -m bench.throughput

Needs wrk (Debian's ``wrk`` package; ``apt-get install wrk``).

**The world**, on a fresh database per backend (a temporary SQLite file; on
PostgreSQL ``twinplan_bench_throughput``, created beside the one named and
dropped afterwards): the Wikidata network imported (about 5,460 cities, 9,480
twinnings), a hub city (the one with most twins) and ten of its twins, 2,000
public events between the hub and one of the ten (each twin in 200 of them,
hosting half), one event with 200 registrations, and a coordinator key of the hub.

**The paths**: ``/health``; ``/api/v1/events?limit=50``; one event;
``/api/v1/cities?q=ko``; the hub's partners; the registrations and the readiness
of the 200-person event (with the key); a twin's city feed (200 events), warm
and as a 304, and both again while ten events a second of the other twins are
edited (through the ORM, as the API edits them, from a thread of this process).

**The baseline** is ``bench.bare``: FastAPI on the same machine, the same
engine, sending the statements Twinplan sent for that path (recorded in process
for one warm request) and answering the same bytes. The ratio Twinplan / bare is
what Twinplan's own Python costs on top of HTTP, the driver and the database.

**Measured** with wrk, one thread, ``--connections`` connections, ``--seconds``
per run; Twinplan and bare alternate, path by path, for ``--rounds`` rounds, and
the table gives medians: requests per second, p50 and p99 latency (wrk's
``--latency``), statements per request (as recorded), rows read per request on
PostgreSQL (``tup_returned + tup_fetched`` of ``pg_stat_database`` over 50
sequential requests, after the statistics are flushed), and the RSS of each
server worker at the end. Configurations: SQLite with one worker, PostgreSQL
with one and with two.
"""

from __future__ import annotations

import argparse
import os
import pickle
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.events import edit_event
from bench.processes import free_port, scratch_postgres, stop, wait_until_up, wrk

BIN = Path(sys.executable).parent
TWINNINGS = Path(os.environ.get("TWINPLAN_TWINNINGS_DIR", "/work/shared/data/twinnings"))
EVENTS, TWINS, PEOPLE = 2000, 10, 200
WRITES_LIMIT = 1.2  # a feed's throughput under writes elsewhere, against none
DB_NAME = "twinplan_bench_throughput"
# One public address for the recording and both servers: it is in the answers
# (feed links), which must be the same bytes.
PUBLIC = {"TWINPLAN_PUBLIC_BASE_URL": "https://twinplan.bench"}


@dataclass(frozen=True)
class Path_:
    label: str
    url: str
    keyed: bool = False
    not_modified: bool = False  # sent with the feed's ETag: a 304
    writes_elsewhere: bool = False  # measured while other cities' events are edited


@dataclass
class World:
    url: str
    paths: list[Path_]
    key: str
    etag: str
    spec: Path
    elsewhere: list[int]  # events the feed leaves out: the writer edits these


@dataclass
class Cell:
    rps: list[float] = field(default_factory=list)
    p50: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)

    def median(self, name: str) -> float:
        values: list[float] = getattr(self, name)
        return statistics.median(values) if values else float("nan")


# The world ---------------------------------------------------------------------------


@contextmanager
def fresh_database(pg_base: str | None, workdir: Path) -> Iterator[str]:
    if pg_base is None:
        yield f"sqlite:///{workdir}/throughput.db"
        return
    with scratch_postgres(pg_base, DB_NAME) as url:
        yield url


def build_world(url: str, workdir: Path) -> World:
    """Migrate, import, seed and record, in a child process that has ``url`` as its
    database (the app reads it from the environment once)."""
    env = os.environ | PUBLIC | {"TWINPLAN_DATABASE_URL": url, "TWINPLAN_LOG_LEVEL": "WARNING"}
    twinplan = str(BIN / "twinplan")
    subprocess.run([twinplan, "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([twinplan, "import-twinnings", str(TWINNINGS / "cities.csv"),
                    str(TWINNINGS / "links.csv")], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    spec = workdir / f"replay-{'pg' if url.startswith('postgresql') else 'sqlite'}.pickle"
    out = subprocess.run([sys.executable, "-m", "bench.throughput", "--record", str(spec)],
                         env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
    recorded = dict(line.split("=", 1) for line in out.split() if "=" in line)
    if url.startswith("postgresql"):
        # As autovacuum would have by now: planner statistics, and no analyze of its
        # own reading rows while the benchmark counts them.
        from sqlalchemy import create_engine, text

        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("VACUUM ANALYZE"))
        engine.dispose()
    with spec.with_suffix(".paths").open("rb") as f:
        paths = pickle.load(f)  # noqa: S301 (our own file)
    elsewhere = [int(i) for i in recorded["elsewhere"].split(",")]
    return World(url, paths, recorded["key"], recorded["etag"], spec, elsewhere)


def seed_and_record(spec: Path) -> None:
    """(In the child.) The events, people and key; then one warm request of each path
    through the app in process, its statements and answer recorded for ``bench.bare``."""
    from fastapi.testclient import TestClient
    from sqlalchemy import event as sa_event
    from sqlalchemy import func
    from sqlmodel import col, select

    from app.cities.models import City, Partnership
    from app.core.actors import SYSTEM, Role
    from app.core.db import get_engine, open_session
    from app.events.models import Event, EventCreate, EventGuest
    from app.events.service import create_event
    from app.keys.service import create_api_key
    from app.main import create_app
    from app.participants.models import ParticipantCreate, RegistrationCreate, RegistrationRole
    from app.participants.service import create_participant, register
    from bench.bare import COMMIT, ROLLBACK, Replay

    rng = random.Random(2026)
    with open_session(write=True) as session:
        ends = func.count()
        hub_id = session.exec(
            select(Partnership.city_a_id).group_by(col(Partnership.city_a_id))
            .order_by(ends.desc(), col(Partnership.city_a_id)).limit(1)).one()
        twins = [p.city_b_id for p in session.exec(
            select(Partnership).where(Partnership.city_a_id == hub_id)
            .order_by(col(Partnership.city_b_id)).limit(TWINS))]
        hub = session.get(City, hub_id)
        assert hub is not None and len(twins) == TWINS
        start = datetime(2027, 1, 4, 10)
        for i in range(EVENTS):
            twin = twins[i % TWINS]
            host, guest = (hub_id, twin) if i % 2 else (twin, hub_id)
            day = start + timedelta(days=i // 4, hours=rng.randint(0, 6))
            event = create_event(session, EventCreate.model_validate({
                "kind": "culture", "title": f"Exchange {i}", "host_city_id": host,
                "guest_city_ids": [guest], "starts_at": day.isoformat(),
                "ends_at": (day + timedelta(hours=5)).isoformat(), "status": "planned",
                "venue": f"Hall {i % 17}", "description": "Concert and a reception.",
                "capacity": 500 if i == 1 else 30}), SYSTEM)
            if i == 1:  # hosted by the hub
                busy = event
        assert busy.id is not None
        for n in range(PEOPLE):
            person = create_participant(session, ParticipantCreate(
                home_city_id=twins[1], full_name=f"Guest {n}",
                birth_date=date(1960 + n % 40, 3, 1),
                email=f"guest{n}@example.org"), SYSTEM)
            assert person.id is not None
            register(session, busy.id, RegistrationCreate(
                participant_id=person.id, role=RegistrationRole.delegate), SYSTEM)
        _, key = create_api_key(session, SYSTEM, name="bench", role=Role.coordinator,
                                city_id=hub_id)
        session.commit()
        assert session.exec(select(func.count()).select_from(EventGuest)).one() >= EVENTS
        assert session.exec(select(func.count()).select_from(Event)).one() >= EVENTS

    feed = f"/calendars/cities/{twins[1]}.ics"
    paths = [
        Path_("GET /health", "/health"),
        Path_("events list, 50", "/api/v1/events?limit=50"),
        Path_("event read", f"/api/v1/events/{busy.id}"),
        Path_("cities search q=ko", "/api/v1/cities?q=ko"),
        Path_("partners list", f"/api/v1/cities/{hub_id}/partners"),
        Path_("registrations list", f"/api/v1/events/{busy.id}/registrations", keyed=True),
        Path_("readiness", f"/api/v1/events/{busy.id}/readiness", keyed=True),
        Path_("city feed, warm", feed),
        Path_("city feed, 304", feed, not_modified=True),
        Path_("city feed, warm, 10 writes/s elsewhere", feed, writes_elsewhere=True),
        Path_("city feed, 304, 10 writes/s elsewhere", feed, not_modified=True,
              writes_elsewhere=True),
    ]
    # What the writer may edit: events the feed leaves out, and that no other path
    # shows either (not on the events list's first page, not the busy one), so that
    # every answer stays the one recorded for the bare app.
    with open_session() as session:
        shown = select(EventGuest.event_id).where(EventGuest.city_id == twins[1])
        first_page = select(Event.id).order_by(col(Event.starts_at_utc), col(Event.id)) \
            .limit(100).scalar_subquery()
        elsewhere = session.exec(select(Event.id).where(
            Event.host_city_id != twins[1], col(Event.id).not_in(shown),
            col(Event.id).not_in(first_page), Event.id != busy.id)
            .order_by(col(Event.id))).all()
    statements: list[tuple[str, Any]] = []
    recording = False

    def on_execute(conn: Any, cursor: Any, statement: str, parameters: Any,
                   context: Any, executemany: bool) -> None:
        if recording:
            statements.append((statement, parameters))

    def on_end(kind: str) -> Any:
        def listener(conn: Any) -> None:
            if recording:
                statements.append((kind, None))
        return listener

    engine = get_engine()
    sa_event.listen(engine, "before_cursor_execute", on_execute)
    # Transactions end on the connection, not by a statement: recorded as markers.
    sa_event.listen(engine, "commit", on_end(COMMIT))
    sa_event.listen(engine, "rollback", on_end(ROLLBACK))
    replays: dict[str, Replay] = {}
    etag = ""
    with TestClient(create_app()) as client:
        for p in paths:
            if p.writes_elsewhere:
                continue  # the same requests as without the writes
            headers = {"Authorization": f"Bearer {key}"} if p.keyed else {}
            if p.not_modified:
                headers["If-None-Match"] = etag
            for warm in (True, False):  # the second request is the one recorded
                recording = not warm
                statements.clear()
                r = client.get(p.url, headers=headers)
            recording = False
            assert r.status_code == (304 if p.not_modified else 200), (p.url, r.text[:300])
            if p.url == feed and not p.not_modified:
                etag = r.headers["etag"]
            if p.url == "/health":
                continue
            keep = {h: r.headers[h] for h in ("etag", "last-modified", "cache-control")
                    if h in r.headers}
            replays[p.url + (" (if-none-match)" if p.not_modified else "")] = Replay(
                list(statements), r.status_code, r.headers.get("content-type", ""), keep,
                r.content)
    with spec.open("wb") as f:
        pickle.dump(replays, f)
    with spec.with_suffix(".paths").open("wb") as f:
        pickle.dump(paths, f)
    counts = {url: r.statement_count for url, r in replays.items()}
    print(f"key={key} etag={etag} elsewhere={','.join(map(str, elsewhere))}")
    for url, n in counts.items():
        print(f"  recorded {url}: {n} statements", file=sys.stderr)


# Servers -----------------------------------------------------------------------------


@contextmanager
def serve(kind: str, world: World, workers: int) -> Iterator[tuple[str, int]]:
    """Twinplan (``twinplan serve``) or bench.bare (uvicorn); the base URL and the pid."""
    port = free_port()
    env = os.environ | PUBLIC | {"TWINPLAN_DATABASE_URL": world.url,
                                 "TWINPLAN_LOG_LEVEL": "WARNING",
                        "TWINPLAN_BARE_SPEC": str(world.spec)}
    if kind == "twinplan":
        command = [str(BIN / "twinplan"), "serve", "--port", str(port),
                   "--workers", str(workers)]
    else:
        command = [str(BIN / "uvicorn"), "bench.bare:app", "--port", str(port),
                   "--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    with open(world.spec.with_name(f"{kind}-{workers}.log"), "w+") as log:
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(f"{base}/health", proc, log, seconds=120, workers=workers)
            yield base, proc.pid
        finally:
            stop(proc)


def worker_rss_mib(pid: int) -> list[float]:
    """The RSS of the server's worker processes (the process itself if it has none)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    out = []
    for p in children or [pid]:
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        found = re.search(r"VmRSS:\s+(\d+) kB", status)
        if found and "resource_tracker" not in Path(f"/proc/{p}/cmdline").read_text():
            out.append(int(found.group(1)) / 1024)
    return out


# Load --------------------------------------------------------------------------------

def rows_read(world: World, p: Path_, headers: dict[str, str], n: int = 50) -> float:
    """Rows PostgreSQL read per request (``tup_returned + tup_fetched`` of
    ``pg_stat_database``): a server of its own answers 1 request, another 1 + ``n``,
    and the difference is divided by ``n`` (the start-up's and the first request's
    reads cancel out). A backend reports its counts as it exits: each server is
    stopped before the counter is read, and nothing else uses the database."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(world.url, poolclass=NullPool)

    def counter() -> int:
        time.sleep(1.5)  # the exiting backends' reports
        with engine.connect() as conn:
            value = conn.execute(text(
                "SELECT tup_returned + tup_fetched FROM pg_stat_database "
                "WHERE datname = current_database()")).scalar_one()
        return int(value)

    def reads(requests: int) -> int:
        before = counter()
        with serve("twinplan", world, 1) as (base, _), \
                httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            for _ in range(requests):
                client.get(p.url)
        return counter() - before

    try:
        return max(0.0, (reads(1 + n) - reads(1)) / n)
    finally:
        engine.dispose()


def same_answers(world: World, twinplan: str, bare: str) -> None:
    """Each path answers the same status and JSON from both servers (a feed the same
    bytes), or the benchmark stops: the baseline must do what Twinplan does."""
    for p in world.paths:
        headers = {"Authorization": f"Bearer {world.key}"} if p.keyed else {}
        if p.not_modified:
            headers["If-None-Match"] = world.etag
        a = httpx.get(twinplan + p.url, headers=headers, timeout=30)
        b = httpx.get(bare + p.url, headers=headers, timeout=30)
        json_like = "json" in a.headers.get("content-type", "")
        same = a.status_code == b.status_code and (
            a.json() == b.json() if json_like else a.content == b.content)
        if not same:
            raise SystemExit(f"{p.label}: Twinplan {a.status_code} {a.text[:300]!r}, "
                             f"bare {b.status_code} {b.text[:300]!r}")


@contextmanager
def writes_elsewhere(world: World, per_second: float = 10) -> Iterator[list[int]]:
    """Edit events the feed leaves out, ``per_second`` a second, each in its own
    transaction through the ORM (so their cities' feed versions move, as for the
    API), until the block ends; yields the count of edits made."""
    from app.core.db import make_engine

    engine = make_engine(world.url)
    done: list[int] = [0]
    stopping = threading.Event()
    rng = random.Random(16)

    def write() -> None:
        interval = 1 / per_second
        next_at = time.monotonic()
        while not stopping.is_set():
            edit_event(engine, rng.choice(world.elsewhere), f"Exchange, edited {done[0]}")
            done[0] += 1
            next_at += interval
            stopping.wait(max(0.0, next_at - time.monotonic()))

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    try:
        yield done
    finally:
        stopping.set()
        thread.join()
        engine.dispose()


# The run -----------------------------------------------------------------------------


@dataclass
class Result:
    config: str
    cells: dict[tuple[str, str], Cell]
    rows: dict[str, float]
    rss: dict[str, list[float]]


def measure(world: World, config: str, workers: int, args: argparse.Namespace) -> Result:
    cells: dict[tuple[str, str], Cell] = {}
    rss: dict[str, list[float]] = {}
    rows: dict[str, float] = {}
    with serve("twinplan", world, workers) as (tp, tp_pid), \
            serve("bare", world, workers) as (bare, bare_pid):
        same_answers(world, tp, bare)
        for rnd in range(args.rounds):
            for p in world.paths:
                headers = {"Authorization": f"Bearer {world.key}"} if p.keyed else {}
                if p.not_modified:
                    headers["If-None-Match"] = world.etag
                for kind, base in (("twinplan", tp), ("bare", bare)):
                    print(f"  {config}, round {rnd + 1}: {p.label}, {kind}", file=sys.stderr)
                    with writes_elsewhere(world) if p.writes_elsewhere else nullcontext():
                        rps, p50, p99 = wrk(base + p.url, headers, args.seconds,
                                            args.connections)
                    cell = cells.setdefault((p.label, kind), Cell())
                    cell.rps.append(rps)
                    cell.p50.append(p50)
                    cell.p99.append(p99)
        rss["twinplan"] = worker_rss_mib(tp_pid)
        rss["bare"] = worker_rss_mib(bare_pid)
        if world.url.startswith("postgresql") and workers == 1 and not args.no_rows:
            for p in world.paths:
                if p.writes_elsewhere:
                    continue  # the writer's own reads would count
                headers = {"Authorization": f"Bearer {world.key}"} if p.keyed else {}
                if p.not_modified:
                    headers["If-None-Match"] = world.etag
                print(f"  {config}: rows read by {p.label}", file=sys.stderr)
                rows[p.label] = rows_read(world, p, headers)
    return Result(config, cells, rows, rss)


def report(results: list[Result], world_statements: dict[str, int]) -> None:
    for result in results:
        print(f"\n{result.config}: requests/s, p50 / p99 ms (median of the rounds)\n")
        print("| path | Twinplan req/s | bare req/s | bare / Twinplan | Twinplan p50 / p99 "
              "| bare p50 / p99 | statements | rows read |")
        print("|---|---|---|---|---|---|---|---|")
        labels = list(dict.fromkeys(label for label, _ in result.cells))
        for label in labels:
            tp, bare = result.cells[(label, "twinplan")], result.cells[(label, "bare")]
            ratio = bare.median("rps") / max(tp.median("rps"), 1e-9)
            rows = result.rows.get(label)
            print(f"| {label} | {tp.median('rps'):,.0f} | {bare.median('rps'):,.0f} "
                  f"| {ratio:.2f}x | {tp.median('p50'):.1f} / {tp.median('p99'):.1f} "
                  f"| {bare.median('p50'):.1f} / {bare.median('p99'):.1f} "
                  f"| {world_statements.get(label, '-')} "
                  f"| {'-' if rows is None else f'{rows:,.0f}'} |")
        for kind, values in result.rss.items():
            print(f"\nRSS per {kind} worker: " + ", ".join(f"{v:.0f} MiB" for v in values))
        for quiet, busy in (("city feed, warm", "city feed, warm, 10 writes/s elsewhere"),
                            ("city feed, 304", "city feed, 304, 10 writes/s elsewhere")):
            if (quiet, "twinplan") in result.cells and (busy, "twinplan") in result.cells:
                a = result.cells[(quiet, "twinplan")].median("rps")
                b = result.cells[(busy, "twinplan")].median("rps")
                ratio = a / max(b, 1e-9)
                print(f"{quiet}: {a:,.0f}/s quiet, {b:,.0f}/s under writes elsewhere: "
                      f"{ratio:.2f}x ({'ok' if ratio <= WRITES_LIMIT else 'MISSED'}, "
                      f"target <= {WRITES_LIMIT:g}x)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--no-rows", action="store_true",
                        help="skip the rows-read pass on PostgreSQL (about 2 minutes)")
    parser.add_argument("--record", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.record:
        seed_and_record(args.record)
        return 0
    if shutil.which("wrk") is None:
        raise SystemExit("bench.throughput needs wrk: apt-get install wrk")
    pg_base = os.environ.get("TWINPLAN_BENCH_DATABASE_URL")
    results: list[Result] = []
    statements: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="twinplan-throughput-") as tmp:  # noqa: SIM117
        workdir = Path(os.environ.get("KEEP_DIR", tmp))
        configs: list[tuple[str, str | None, list[int]]] = [("SQLite, 1 worker", None, [1])]
        if pg_base:
            configs.append(("PostgreSQL", pg_base, [1, 2]))
        for name, base, worker_counts in configs:
            with fresh_database(base, workdir) as url:
                print(f"building the world on {name}...", file=sys.stderr)
                started = time.monotonic()
                world = build_world(url, workdir)
                print(f"  built in {time.monotonic() - started:.0f} s", file=sys.stderr)
                from bench.bare import load

                replays = load(world.spec)
                for p in world.paths:
                    key = p.url + (" (if-none-match)" if p.not_modified else "")
                    if key in replays:
                        statements[p.label] = replays[key].statement_count
                statements["GET /health"] = 1
                for workers in worker_counts:
                    label = name if base is None else f"{name}, {workers} worker" + (
                        "s" if workers > 1 else "")
                    results.append(measure(world, label, workers, args))
    print(f"\nbench.throughput, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: wrk -t1 "
          f"-c{args.connections} -d{args.seconds:g}s, {args.rounds} rounds, Twinplan and "
          "bare in turns")
    report(results, statements)
    return 0


if __name__ == "__main__":
    sys.exit(main())
