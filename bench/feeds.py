"""A city's feed of 5,000 events: cold, warm, 304, after one edit, after writes to other
cities' events; static bytes; Radicale.

    .venv/bin/python -m bench.feeds [--events 5000] [--runs 60]
    TWINPLAN_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/DB \\
        .venv/bin/python -m bench.feeds

One city (Kostroma, Europe/Moscow) hosts or joins 5,000 public events over
four years (2025-2028), with 1-3 guests each from cities in eight zones, and
titles, venues and descriptions in Russian, Turkmen and English; 500 more events
between its twins alone are not in its feed. They are
bulk-loaded into a database built by the migrations: a temporary SQLite file,
and, when TWINPLAN_BENCH_DATABASE_URL is set, a schema ``twinplan_bench_feeds``
in that PostgreSQL database (created, and dropped at the end).

Timed over loopback HTTP (httpx, keep-alive) against the app under uvicorn,
one worker, as ``twinplan serve`` runs it, so that it compares with Radicale:

* static bytes: an endpoint added to the same app for this run, returning the
  feed's bytes from memory (the floor: HTTP, routing, middleware, the transfer);
* warm feed: a plain GET, nothing changed since the last one;
* 304: the same GET with If-None-Match;
* after one edit: one event's title changed (and its version, sequence and
  updated_at moved, as the API does) before each timed GET;
* after writes elsewhere: the same edit to an event of other cities, committed
  right before each timed GET and each timed 304 (no pause: the feed must see at
  once that nothing it shows changed);
* cold feed: every in-process cache emptied and the feed's ``feed_state`` row
  deleted before each GET, as for a worker that has just started on a feed
  no one has asked for.

Radicale (a CalDAV server, from the ``bench`` dependency group, installed into
``.tools/bench-radicale/`` on first use, never into the app's environment)
serves the same calendar: the feed's bytes PUT as one collection, then GETs
of that collection over loopback HTTP, each timed right after one of
Twinplan's cold GETs, so that a busy machine slows both alike.

Targets (issues 4 and 16): warm within 2x of static bytes, after one edit
within 5x, 304 under 5 ms, after writes elsewhere the same (warm within 2x,
304 under 5 ms), cold at least 2x faster than Radicale. Exits 1 if one is
missed.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from fastapi import Response
from sqlalchemy import Engine, text

from bench.events import (  # the same tables, loaded the same way
    edit_event,
    load_postgres,
    load_sqlite,
    with_search_path,
)
from bench.processes import free_port, stop, wait_until_up

ROOT = Path(__file__).resolve().parent.parent
RADICALE_VENV = ROOT / ".tools" / "bench-radicale"
SCHEMA = "twinplan_bench_feeds"
WARM_LIMIT, EDIT_LIMIT, NOT_MODIFIED_MS, RADICALE_FACTOR = 2.0, 5.0, 5.0, 2.0
ELSEWHERE = 500
ZONES = ["Asia/Ashgabat", "Europe/London", "America/Denver", "Europe/Berlin",
         "Asia/Tashkent", "Europe/Rome", "Asia/Tokyo", "Europe/Athens"]
KINDS = ["delegation_visit", "youth_exchange", "school_exchange", "sports", "exhibition",
         "culture", "seminar"]
TITLES = ["Дни культуры {0}", "{0} bilen dostluk güni", "Youth exchange with {0}",
          "Шахматный турнир: Кострома – {0}", "Photo exhibition: the Volga and {0}"]


@dataclass
class World:
    label: str
    url: str
    engine: Engine
    size: int
    hub_id: int = 0
    elsewhere: list[int] = field(default_factory=list)  # events the hub's feed leaves out
    samples: dict[str, list[float]] = field(default_factory=dict)
    feed_bytes: int = 0


# Seeding ----------------------------------------------------------------------------


def _seed(world: World) -> None:
    from app.core import migrations

    migrations.upgrade(world.url)
    rng = random.Random(1962)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    cities = [{"name": "Kostroma", "country_code": "RU", "timezone": "Europe/Moscow"}]
    cities += [{"name": f"Twin {i:02d}", "country_code": "TM", "timezone": ZONES[i % len(ZONES)]}
               for i in range(40)]
    from app.cities.models import City

    with world.engine.begin() as conn:
        conn.execute(City.__table__.insert(), [  # type: ignore[attr-defined]
            {**c, "alternate_names": [], "search_key": c["name"].lower(), "seeking_twin_in": [],
             "created_at": now, "updated_at": now} for c in cities])
        rows = conn.execute(text("SELECT id, name, timezone FROM city ORDER BY id")).all()
    world.hub_id = rows[0].id
    twins = [(r.id, r.name, r.timezone) for r in rows[1:]]
    events, guests = [], []
    for event_id in range(1, world.size + ELSEWHERE + 1):
        chosen = rng.sample(twins, rng.randint(2, 3) if event_id > world.size else
                            rng.randint(1, 3))
        hosted_here = rng.random() < 0.4
        host_id, zone_name = (world.hub_id, "Europe/Moscow") if hosted_here else chosen[0][::2]
        guest_ids = [c[0] for c in chosen] if hosted_here else [world.hub_id] + [
            c[0] for c in chosen[1:]]
        if event_id > world.size:  # between twins, without the hub
            host_id, zone_name = chosen[0][::2]
            guest_ids = [c[0] for c in chosen[1:]]
            world.elsewhere.append(event_id)
        zone = ZoneInfo(zone_name)
        all_day = rng.random() < 0.15
        if all_day:
            start = datetime(2025, 1, 1) + timedelta(days=rng.randrange(4 * 365))
            end = start + timedelta(days=rng.randint(1, 5))
        else:
            start = datetime(2025, 1, 1, 8) + timedelta(
                days=rng.randrange(4 * 365), minutes=30 * rng.randrange(24))
            end = start + timedelta(hours=rng.choice([2, 3, 8, 26, 50]))
        start_utc = start.replace(tzinfo=zone).astimezone(UTC)
        end_utc = end.replace(tzinfo=zone).astimezone(UTC)
        status = rng.choice(["planned", "confirmed", "confirmed", "completed"])
        title = rng.choice(TITLES).format(chosen[0][1])
        description = ("Программа: приём в мэрии, экскурсия по городу, концерт. "
                       "Maksatnama: kabul edişlik, gezelenç, konsert. " * rng.randint(0, 3))
        events.append((
            event_id, rng.choice(KINDS), title, description or None, host_id,
            "Городской дворец культуры, ул. Советская 1", None, None, 10, status, "public",
            zone_name, all_day, start, end, start_utc, end_utc, rng.randint(0, 3),
            rng.randint(1, 6), now, now - timedelta(minutes=rng.randrange(100_000)), None, None,
        ))
        guests += [(event_id, g, start_utc, end_utc) for g in guest_ids]
    if world.engine.dialect.name == "postgresql":
        load_postgres(world.engine, events, guests)
    else:
        load_sqlite(world.engine, events, guests)


def make_bench_app() -> Any:
    """The app as ``twinplan serve`` runs it, plus two routes for this benchmark only:
    the feed's bytes from memory (the baseline) and a way to forget every cache."""
    from fastapi import FastAPI

    from app.calendars import assembly
    from app.core.db import get_engine
    from app.main import create_app

    app: FastAPI = create_app()
    static: list[bytes] = []

    @app.get("/bench/static.ics")
    def static_bytes() -> Response:
        if not static:
            static.append(Path(os.environ["TWINPLAN_BENCH_STATIC"]).read_bytes())
        return Response(static[0], media_type="text/calendar; charset=utf-8")

    @app.post("/bench/forget")
    def forget() -> Response:
        assembly.clear_caches()
        with get_engine().begin() as conn:
            conn.execute(text("DELETE FROM feed_state"))
        return Response(status_code=204)

    return app


@contextmanager
def bench_server(world: World, static_file: Path) -> Iterator[str]:
    """uvicorn, one worker, on loopback: the path a subscriber's request takes."""
    port = free_port()
    env = os.environ | {"TWINPLAN_DATABASE_URL": world.url, "TWINPLAN_LOG_LEVEL": "WARNING",
                        "TWINPLAN_BENCH_STATIC": str(static_file)}
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bench.feeds:make_bench_app", "--factory",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
             "--no-access-log"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(f"{base}/health", proc, log)
            yield base
        finally:
            stop(proc)


def _timed(samples: list[float], call: Callable[[], Any], expect: int) -> Any:
    started = time.perf_counter()
    response = call()
    samples.append((time.perf_counter() - started) * 1000)
    assert response.status_code == expect, response.text[:500]
    return response


def _edit(world: World, event_id: int) -> None:
    edit_event(world.engine, event_id, f"Edited {time.perf_counter_ns()}")


def time_twinplan(world: World, runs: int, cold_runs: int, radicale: Radicale) -> None:
    path = f"/calendars/cities/{world.hub_id}.ics"
    rng = random.Random(7)
    static_file = Path(tempfile.mkdtemp(prefix="twinplan-bench-static-")) / "feed.ics"
    with bench_server(world, static_file) as base, httpx.Client(base_url=base,
                                                                timeout=120) as client:
        body = client.get(path).content
        static_file.write_bytes(body)
        world.feed_bytes = len(body)
        etag = client.get(path).headers["etag"]
        s = world.samples
        for name in ("static bytes", "warm feed", "304 Not Modified", "after one edit",
                     "warm, writes elsewhere", "304, writes elsewhere", "cold feed",
                     "Radicale GET"):
            s[name] = []
        for _ in range(5):  # warm-up
            client.get("/bench/static.ics")
            client.get(path)
        # Interleaved, so that a busy machine slows every case alike.
        for _ in range(runs):
            _timed(s["static bytes"], lambda: client.get("/bench/static.ics"), 200)
            _timed(s["warm feed"], lambda: client.get(path), 200)
            _timed(s["304 Not Modified"],
                   lambda: client.get(path, headers={"If-None-Match": etag}), 304)
        for _ in range(runs):
            _edit(world, rng.choice(world.elsewhere))
            _timed(s["warm, writes elsewhere"], lambda: client.get(path), 200)
            _edit(world, rng.choice(world.elsewhere))
            _timed(s["304, writes elsewhere"],
                   lambda: client.get(path, headers={"If-None-Match": etag}), 304)
            _timed(s["static bytes"], lambda: client.get("/bench/static.ics"), 200)
        for _ in range(max(runs // 3, 5)):
            _edit(world, rng.randrange(1, world.size + 1))
            _timed(s["after one edit"], lambda: client.get(path), 200)
            _timed(s["static bytes"], lambda: client.get("/bench/static.ics"), 200)
        radicale.load(client.get(path).content)
        for _ in range(cold_runs):
            assert client.post("/bench/forget").status_code == 204
            _timed(s["cold feed"], lambda: client.get(path), 200)
            radicale.get(s["Radicale GET"])
    shutil.rmtree(static_file.parent, ignore_errors=True)


# Radicale -----------------------------------------------------------------------------


def _uv() -> str:
    for candidate in (os.environ.get("UV"), str(ROOT / ".tools" / "bin" / "uv"),
                      shutil.which("uv")):
        if candidate and Path(candidate).exists():
            return candidate
    raise SystemExit("bench.feeds: uv is needed to install Radicale (run `make install` first)")


def radicale_python() -> str:
    """A Python that can run Radicale: this one if it has it, else a venv of its own
    built from the lock file's ``bench`` group."""
    probe = [sys.executable, "-c", "import radicale"]
    if subprocess.run(probe, capture_output=True).returncode == 0:
        return sys.executable
    python = RADICALE_VENV / "bin" / "python"
    if not (python.exists() and subprocess.run(
            [str(python), "-c", "import radicale"], capture_output=True).returncode == 0):
        uv = _uv()
        print("installing Radicale (bench group of uv.lock) into", RADICALE_VENV, flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            requirements = Path(tmp) / "requirements.txt"
            subprocess.run([uv, "export", "--frozen", "--only-group", "bench",
                            "--no-emit-project", "--quiet", "-o", str(requirements)],
                           cwd=ROOT, check=True)
            subprocess.run([uv, "venv", "--quiet", "--python", sys.executable,
                            str(RADICALE_VENV)], check=True)
            subprocess.run([uv, "pip", "install", "--quiet", "--python", str(python),
                            "-r", str(requirements)], check=True)
    return str(python)


class Radicale:
    """A Radicale server holding one calendar, loaded on first use."""

    COLLECTION = "/bench/feed/"

    def __init__(self, client: httpx.Client, version: str) -> None:
        self.client = client
        self.version = version
        self.answers_304 = False
        self._loaded = False

    def load(self, body: bytes) -> None:
        """PUT the feed as one collection (Radicale parses and stores each event: slow)."""
        if self._loaded:
            return
        put = self.client.put(self.COLLECTION, content=body,
                              headers={"Content-Type": "text/calendar; charset=utf-8"})
        assert put.status_code in (200, 201), put.text[:500]
        first = self.client.get(self.COLLECTION)
        assert first.status_code == 200
        assert first.content.count(b"BEGIN:VEVENT") == body.count(b"BEGIN:VEVENT")
        etag = first.headers.get("etag")
        conditional = self.client.get(self.COLLECTION,
                                      headers={"If-None-Match": etag} if etag else {})
        self.answers_304 = conditional.status_code == 304
        self._loaded = True

    def get(self, samples: list[float]) -> None:
        _timed(samples, lambda: self.client.get(self.COLLECTION), 200)


@contextmanager
def radicale_server() -> Iterator[Radicale]:
    python = radicale_python()
    version = subprocess.run([python, "-c", "import radicale; print(radicale.VERSION)"],
                             capture_output=True, text=True, check=True).stdout.strip()
    port = free_port()
    with tempfile.TemporaryDirectory() as storage, tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(
            [python, "-m", "radicale", "--server-hosts", f"127.0.0.1:{port}",
             "--auth-type", "none", "--storage-filesystem-folder", storage,
             "--logging-level", "warning"],
            stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(base, proc, log)
            with httpx.Client(base_url=base, auth=("bench", "bench"), timeout=1800) as client:
                yield Radicale(client, version)
        finally:
            stop(proc)


# Report -------------------------------------------------------------------------------


def _median(samples: list[float]) -> float:
    return statistics.median(samples)


def _p90(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[int(0.9 * (len(ordered) - 1))]


def report(world: World, radicale: Radicale) -> bool:
    s = world.samples
    base = _median(s["static bytes"])
    print(f"\n{world.label}: GET /calendars/cities/<hub>.ics, {world.size:,} events, "
          f"{world.feed_bytes / 1e6:.1f} MB (uvicorn, 1 worker, loopback HTTP)\n")
    header = f"{'case':<24}{'runs':>6}{'median ms':>12}{'p90 ms':>10}{'ratio':>9}  target"
    print(header)
    print("-" * (len(header) + 22))
    ok = True

    def row(name: str, samples: list[float], ratio: float | None, target: str,
            passed: bool | None) -> None:
        nonlocal ok
        verdict = "" if passed is None else ("ok" if passed else "MISSED")
        ok = ok and passed is not False
        ratio_text = f"{ratio:.2f}x" if ratio is not None else ""
        print(f"{name:<24}{len(samples):>6}{_median(samples):>12.2f}{_p90(samples):>10.2f}"
              f"{ratio_text:>9}  {target} {verdict}")

    warm, edit = _median(s["warm feed"]), _median(s["after one edit"])
    cold, not_modified = _median(s["cold feed"]), _median(s["304 Not Modified"])
    rad_samples = s["Radicale GET"]
    rad = _median(rad_samples)
    row("static bytes (baseline)", s["static bytes"], 1.0, "", None)
    row("warm feed", s["warm feed"], warm / base, f"<= {WARM_LIMIT:g}x baseline",
        warm <= WARM_LIMIT * base)
    row("after one edit", s["after one edit"], edit / base, f"<= {EDIT_LIMIT:g}x baseline",
        edit <= EDIT_LIMIT * base)
    row("304 Not Modified", s["304 Not Modified"], not_modified / base,
        f"< {NOT_MODIFIED_MS:g} ms", not_modified < NOT_MODIFIED_MS)
    warm_elsewhere = _median(s["warm, writes elsewhere"])
    nm_elsewhere = _median(s["304, writes elsewhere"])
    row("warm, writes elsewhere", s["warm, writes elsewhere"], warm_elsewhere / base,
        f"<= {WARM_LIMIT:g}x baseline", warm_elsewhere <= WARM_LIMIT * base)
    row("304, writes elsewhere", s["304, writes elsewhere"], nm_elsewhere / base,
        f"< {NOT_MODIFIED_MS:g} ms", nm_elsewhere < NOT_MODIFIED_MS)
    row("cold feed", s["cold feed"], cold / base,
        f"Radicale / cold = {rad / cold:.1f} (>= {RADICALE_FACTOR:g})",
        rad >= RADICALE_FACTOR * cold)
    row(f"Radicale {radicale.version} GET", rad_samples, rad / base,
        "answers 304: " + ("yes" if radicale.answers_304 else "no"), None)
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=60, help="timed warm/304/static requests")
    parser.add_argument("--cold-runs", type=int, default=9,
                        help="timed cold feeds, each followed by a timed Radicale GET")
    args = parser.parse_args(argv)
    os.environ.setdefault("TWINPLAN_LOG_LEVEL", "WARNING")
    os.environ.setdefault("TWINPLAN_PUBLIC_BASE_URL", "https://twinplan.example")

    from app.core.db import make_engine

    worlds: list[World] = []
    scratch = Path(tempfile.mkdtemp(prefix="twinplan-bench-feeds-"))
    url = f"sqlite:///{scratch}/feeds.db"
    worlds.append(World("sqlite", url, make_engine(url), args.events))
    pg_url = os.environ.get("TWINPLAN_BENCH_DATABASE_URL")
    admin = None
    if pg_url:
        admin = make_engine(pg_url)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{SCHEMA}"'))
        url = with_search_path(pg_url, SCHEMA)
        worlds.append(World("postgresql", url, make_engine(url), args.events))
    try:
        with radicale_server() as radicale:
            for world in worlds:
                _seed(world)
                time_twinplan(world, args.runs, args.cold_runs, radicale)
        verdicts = [report(world, radicale) for world in worlds]  # print every table
        ok = all(verdicts)
    finally:
        for world in worlds:
            world.engine.dispose()
        if admin is not None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
            admin.dispose()
        shutil.rmtree(scratch, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
