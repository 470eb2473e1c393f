"""A city's candidates over HTTP on the real network: latency per query, build time, memory.

    .venv/bin/python -m bench.candidates_latency [--queries 50]
    .venv/bin/python -m bench.candidates_latency --postgres \\
        postgresql+psycopg://postgres@127.0.0.1:5432/DB

For each database (a temporary SQLite file; with ``--postgres`` or
``TWINPLAN_BENCH_DATABASE_URL``, also a schema ``twinplan_bench_candidates`` in
that PostgreSQL database, created and dropped at the end):

1. the schema is built by the migrations, the Wikidata snapshot imported
   (``app.cities.importer.import_twinnings``: 5,470 cities, 9,537 twinnings from
   ``$TWINPLAN_TWINNINGS_DIR``, default ``/work/shared/data/twinnings``) and the
   demo cities seeded (Kostroma, which the snapshot lacks, and its neighbours);
2. the model is built as the worker builds it (``app.twins.service``: read the
   network, learn, store), each step timed;
3. the app runs under uvicorn, one worker, as ``twinplan serve`` runs it; the
   first ``GET /api/v1/cities/{id}/candidates`` loads the model into the process
   (timed apart, with the process's resident memory before and after), then
   ``--queries`` requests over loopback HTTP (httpx, keep-alive) are timed: seeded
   random cities, half of them with one to three ``country`` filters, limit 10.

Target (issue 15): under 200 ms per query at 5,500 cities; exits 1 if the 95th
percentile is not. Also prints Kostroma's candidates in Turkmenistan.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from bench.events import with_search_path
from bench.processes import free_port, stop, wait_until_up

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("TWINPLAN_TWINNINGS_DIR", "/work/shared/data/twinnings"))
SCHEMA = "twinplan_bench_candidates"
LIMIT_MS = 200.0
SEED = 15


@dataclass
class Result:
    label: str
    cities: int = 0
    links: int = 0
    seed_s: float = 0.0
    read_s: float = 0.0
    fit_s: float = 0.0
    store_s: float = 0.0
    payload_kib: float = 0.0
    first_ms: float = 0.0
    rss_before_mb: float = 0.0
    rss_after_mb: float = 0.0
    samples: list[float] = field(default_factory=list)
    kostroma: list[str] = field(default_factory=list)

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.samples, n=20)[-1]


def _seed_and_build(url: str, result: Result) -> tuple[int, list[int], list[str]]:
    """Import the network, seed the demo, build the model; Kostroma's id, the cities'
    ids, and the countries to filter by."""
    from sqlmodel import Session

    import app.models  # noqa: F401  (every table, for the foreign keys)
    from app.cities.demo import seed_demo
    from app.cities.importer import import_twinnings
    from app.core import migrations
    from app.core.db import make_engine
    from app.twins import service

    migrations.upgrade(url)
    engine = make_engine(url)
    started = time.perf_counter()
    with Session(engine, expire_on_commit=False) as session:
        import_twinnings(session, DATA / "cities.csv", DATA / "links.csv")
        kostroma = seed_demo(session).city_ids["Kostroma"]
        session.commit()
    result.seed_s = time.perf_counter() - started
    with Session(engine, expire_on_commit=False) as session:
        started = time.perf_counter()
        network = service.read_network(session)
        result.read_s = time.perf_counter() - started
    started = time.perf_counter()
    model = service.fit_network(network)
    result.fit_s = time.perf_counter() - started
    with Session(engine, expire_on_commit=False) as session:
        started = time.perf_counter()
        row = service.store_model(session, network, model)
        session.commit()
        result.store_s = time.perf_counter() - started
    result.cities, result.links = row.cities, row.links
    result.payload_kib = len(row.payload) / 1024
    ids = [n.id for n in network.nodes]
    countries = sorted({n.country for n in network.nodes if n.country})
    engine.dispose()
    return kostroma, ids, countries


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


@contextmanager
def _server(url: str) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = os.environ | {"TWINPLAN_DATABASE_URL": url, "TWINPLAN_LOG_LEVEL": "WARNING",
                        "TWINPLAN_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
             "--no-access-log"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(f"{base}/health", proc, log)
            yield base, proc.pid
        finally:
            stop(proc)


def _query(client: httpx.Client, city_id: int, countries: list[str]) -> tuple[float, Any]:
    params: list[tuple[str, str | int | float | bool | None]] = [("limit", 10)]
    params += [("country", c) for c in countries]
    started = time.perf_counter()
    response = client.get(f"/api/v1/cities/{city_id}/candidates", params=params)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.text[:500]
    return elapsed, response.json()


def measure(label: str, url: str, queries: int) -> Result:
    result = Result(label)
    print(f"{label}: importing the network and building the model...", file=sys.stderr,
          flush=True)
    kostroma, ids, countries = _seed_and_build(url, result)
    rng = random.Random(SEED)
    plan = [(rng.choice(ids), rng.sample(countries, rng.randint(1, 3)) if i % 2 else [])
            for i in range(queries)]
    with _server(url) as (base, pid), httpx.Client(base_url=base, timeout=60) as client:
        client.get("/health").raise_for_status()
        result.rss_before_mb = _rss_mb(pid)
        result.first_ms, body = _query(client, kostroma, ["TM"])
        result.rss_after_mb = _rss_mb(pid)
        result.kostroma = [
            f"{item['city']['name']} ({item['score']:.2f}): "
            + "; ".join(r["text"] for r in item["reasons"][:4])
            for item in body["items"][:5]]
        for city_id, wanted in plan:
            elapsed, _ = _query(client, city_id, wanted)
            result.samples.append(elapsed)
    return result


def run_sqlite(queries: int) -> Result:
    with tempfile.TemporaryDirectory(prefix="twinplan-bench-candidates-") as tmp:
        return measure("SQLite", f"sqlite:///{tmp}/bench.db", queries)


def run_postgres(base_url: str, queries: int) -> Result:
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{SCHEMA}"'))
        return measure("PostgreSQL", with_search_path(base_url, SCHEMA), queries)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
        admin.dispose()


def report(results: list[Result], queries: int) -> bool:
    print(f"\nGET /api/v1/cities/{{id}}/candidates?limit=10 on the Wikidata network, "
          f"{queries} queries (half with country filters), uvicorn 1 worker, loopback HTTP\n")
    print("| database | cities | twinnings | import+demo s | build: read / learn / store s "
          "| model KiB | first request ms (loads the model) | RSS before -> after MB "
          "| median ms | p95 ms | max ms |")
    print("|---|---:|---:|---:|---|---:|---:|---|---:|---:|---:|")
    ok = True
    for r in results:
        print(f"| {r.label} | {r.cities:,} | {r.links:,} | {r.seed_s:.1f} | "
              f"{r.read_s:.2f} / {r.fit_s:.1f} / {r.store_s:.2f} | {r.payload_kib:,.0f} | "
              f"{r.first_ms:.0f} | {r.rss_before_mb:.0f} -> {r.rss_after_mb:.0f} | "
              f"{statistics.median(r.samples):.1f} | {r.p95:.1f} | {max(r.samples):.1f} |")
        ok = ok and r.p95 < LIMIT_MS
    print(f"\ntarget: p95 under {LIMIT_MS:.0f} ms per query: {'met' if ok else 'MISSED'}")
    print("\nKostroma's candidates in Turkmenistan (first request):")
    for line in results[0].kostroma:
        print(f"  {line}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--postgres", default=os.environ.get("TWINPLAN_BENCH_DATABASE_URL"),
                        help="A PostgreSQL database URL (default: TWINPLAN_BENCH_DATABASE_URL)")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only.")
    args = parser.parse_args(argv)
    results = [] if args.no_sqlite else [run_sqlite(args.queries)]
    if args.postgres:
        results.append(run_postgres(args.postgres, args.queries))
    if not results:
        parser.error("nothing to measure")
    return 0 if report(results, args.queries) else 1


if __name__ == "__main__":
    sys.exit(main())
