"""Schemathesis against a real server: does the API do what its OpenAPI document says?

    .venv/bin/python -m tests.contract.run                     # SQLite
    .venv/bin/python -m tests.contract.run --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres

For each database: a fresh one (a temporary SQLite file; on PostgreSQL a
database created beside the one named, and dropped afterwards), migrated
(``twinplan migrate``) and seeded (``twinplan seed-demo``), with an admin key, a
coordinator key of Ashgabat (which hosts demo events and is twinned with twelve
cities) and a partner key of Albuquerque (a guest at one of them); then one
``twinplan serve`` and, against it, one ``schemathesis run`` per caller:
anonymous, partner, coordinator, admin (the admin last: it may delete what the
others would use). Each run has every check (and one of ours, in ``hooks.py``)
and every phase, the stateful one included, whose sequences follow the links
schemathesis infers from the document (the id a create returns goes into the
reads, updates and deletes of the same resource, an event's into its
registrations). Settings: ``schemathesis.toml`` beside this file; the hooks
take valid requests past the rules no schema states, so that creates succeed,
and keep the runs' own keys from being revoked.

Exits non-zero if any run reports a failure or the server logs a traceback.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import select

import app.models  # noqa: F401  (every table, for the key's foreign key to the city)
from app.cities.models import City, Partnership
from app.core import migrations
from app.core.actors import SYSTEM, Role
from app.core.db import make_engine, open_session
from app.keys.service import create_api_key
from bench.processes import free_port, scratch_postgres, stop, wait_until_up

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
CONFIG = HERE / "schemathesis.toml"
ROLES = ("anonymous", "partner", "coordinator", "admin")
COORDINATOR_CITY, PARTNER_CITY, DECOY_CITY = "Ashgabat", "Albuquerque", "Tashkent"


@dataclass
class Outcome:
    database: str
    role: str
    ok: bool
    seconds: float
    summary: str


@contextmanager
def fresh_database(kind: str, postgres_url: str | None, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir}/contract-{uuid.uuid4().hex[:6]}.db"
        return
    assert postgres_url is not None
    with scratch_postgres(postgres_url, f"twinplan_contract_{uuid.uuid4().hex[:10]}") as url:
        yield url


def prepare(url: str) -> dict[str, str]:
    """Migrate, seed the demo, build the twin candidate model (as a running worker
    would have), issue the keys; the environment the runs need."""
    # No rate limits: schemathesis sends thousands of writes and unknown keys a minute,
    # and 429s would stand in for every answer it means to check.
    env = os.environ | {"TWINPLAN_DATABASE_URL": url, "TWINPLAN_LOG_LEVEL": "WARNING",
                        "TWINPLAN_RATE_LIMIT_KEY_WRITES": "0",
                        "TWINPLAN_RATE_LIMIT_USER_WRITES": "0",
                        "TWINPLAN_RATE_LIMIT_FAILED_AUTH": "0"}
    migrations.upgrade(url)
    for command in (["seed-demo"], ["build-candidates"]):
        subprocess.run([str(BIN / "twinplan"), *command], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    engine = make_engine(url)
    try:
        with open_session(write=True, engine=engine) as session:
            ids = {c.name: c.id for c in session.exec(select(City)).all()}
            host = ids[COORDINATOR_CITY]
            twins = [p.city_b_id if p.city_a_id == host else p.city_a_id
                     for p in session.exec(select(Partnership)).all()
                     if host in (p.city_a_id, p.city_b_id) and p.status == "active"]
            secrets, key_ids = {}, []
            for role, city in (("admin", None), ("coordinator", COORDINATOR_CITY),
                               ("partner", PARTNER_CITY), ("decoy", DECOY_CITY)):
                key, secret = create_api_key(
                    session, SYSTEM, name=f"schemathesis {role}",
                    role=Role.partner if role == "decoy" else Role(role),
                    city_id=ids[city] if city else None,
                )
                secrets[role] = secret
                key_ids.append(str(key.id))
            session.commit()
    finally:
        engine.dispose()
    return env | {
        **{f"TWINPLAN_CONTRACT_KEY_{role.upper()}": s for role, s in secrets.items()},
        "TWINPLAN_CONTRACT_KEEP_KEYS": ",".join(key_ids[:3]),
        "TWINPLAN_CONTRACT_DECOY_KEY": key_ids[3],
        "TWINPLAN_CONTRACT_CITY_COORDINATOR": str(host),
        "TWINPLAN_CONTRACT_CITY_PARTNER": str(ids[PARTNER_CITY]),
        "TWINPLAN_CONTRACT_HOST": str(host),
        "TWINPLAN_CONTRACT_TWINS": ",".join(map(str, twins)),
        "TWINPLAN_CONTRACT_CITIES": ",".join(str(i) for i in ids.values()),
    }


@contextmanager
def server(env: dict[str, str], log_path: Path) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with open(log_path, "w+") as log:
        # The address is given, so serve leaves the developer's .env alone.
        proc = subprocess.Popen([str(BIN / "twinplan"), "serve", "--port", str(port)],
                                env=env | {"TWINPLAN_PUBLIC_BASE_URL": base},
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_up(f"{base}/health", proc, log, seconds=180)
            yield base
        finally:
            stop(proc)


def run_schemathesis(base: str, role: str, env: dict[str, str], args: argparse.Namespace,
                     database: str, reports: Path) -> Outcome:
    command = [
        str(BIN / "schemathesis"), "--config-file", str(CONFIG), "run", f"{base}/openapi.json",
        "--checks", "all", "--max-examples", str(args.max_examples), "--seed", str(args.seed),
        "--report", "junit", "--report-junit-path", str(reports / f"{database}-{role}.xml"),
        "--no-color",
    ]
    if role != "anonymous":
        key = env[f"TWINPLAN_CONTRACT_KEY_{role.upper()}"]
        command += ["--header", f"Authorization: Bearer {key}"]
    print(f"\n---- schemathesis, {database}, {role} ----", flush=True)
    started = time.monotonic()
    own_city = env.get(f"TWINPLAN_CONTRACT_CITY_{role.upper()}", "")
    hooks = {"SCHEMATHESIS_HOOKS": str(HERE / "hooks.py"), "TWINPLAN_CONTRACT_OWN_CITY": own_city}
    done = subprocess.run(command, env=env | hooks,
                          cwd=reports, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    seconds = time.monotonic() - started
    output = done.stdout
    if done.returncode != 0 or args.verbose:
        print(output, flush=True)
    summary = _summary(output)
    print(f"{summary} ({seconds:.0f} s)", flush=True)
    return Outcome(database, role, done.returncode == 0, seconds, summary)


def _summary(output: str) -> str:
    """'55 operations, 1,234 cases, 0 failures' from schemathesis's closing lines."""
    operations = re.search(r"Tested: (\d+)", output)
    cases = re.search(r"(\d+) generated", output)
    failures = re.search(r"(\d+) (?:unique )?failures?", output.split("SUMMARY")[-1])
    return (f"{operations.group(1) if operations else '?'} operations, "
            f"{cases.group(1) if cases else '?'} cases, "
            f"{failures.group(1) if failures else 0} failures")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sqlite", action="store_true", help="run on SQLite (the default)")
    parser.add_argument("--postgres", metavar="URL",
                        help="a PostgreSQL database to create a scratch database beside")
    parser.add_argument("--roles", default=",".join(ROLES), help="comma-separated callers")
    parser.add_argument("--max-examples", type=int, default=10,
                        help="cases per operation and phase")
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--reports", type=Path, help="where reports and server logs go")
    parser.add_argument("--verbose", action="store_true", help="print every run's output")
    args = parser.parse_args()
    kinds = ["sqlite"] if args.sqlite or not args.postgres else []
    if args.postgres:
        kinds.append("postgresql")
    roles = [r for r in args.roles.split(",") if r]
    reports = args.reports or Path(tempfile.mkdtemp(prefix="twinplan-contract-"))
    reports.mkdir(parents=True, exist_ok=True)

    outcomes: list[Outcome] = []
    clean_logs = True
    for kind in kinds:  # one after the other: two side by side take twice as long each
        with fresh_database(kind, args.postgres, reports) as url:
            env = prepare(url)
            log_path = reports / f"server-{kind}.log"
            with server(env, log_path) as base:
                for role in roles:
                    outcomes.append(run_schemathesis(base, role, env, args, kind, reports))
            log = log_path.read_text()
            if "Traceback" in log:
                clean_logs = False
                print(f"\nthe {kind} server logged errors:\n{log[-6000:]}", flush=True)

    print("\n==== schemathesis: every run ====")
    for o in outcomes:
        print(f"{'ok  ' if o.ok else 'FAIL'} {o.database:<10} {o.role:<11} {o.summary}, "
              f"{o.seconds:.0f} s")
    print(f"reports and server logs: {reports}")
    passed = sum(o.ok for o in outcomes)
    print(f"schemathesis: {passed} passed, {len(outcomes) - passed} failed")
    return 0 if clean_logs and passed == len(outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
