"""Real databases and real server processes, for tests that need committed data
or several workers (concurrency, feeds across workers)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.core import migrations
from tests.conftest import IS_POSTGRES, TEST_DATABASE_URL

# How long a server may take to answer /health: a liveness deadline, not a timing.
# Generous, since the suite runs in two processes on two cores beside the servers.
STARTUP_SECONDS = 180

# Servers started here fire bursts no client would (1,200 events in seconds, 40
# retries at once) to test other things: write limits are off unless a test sets
# them (tests/core/test_rate_limits_servers.py does).
NO_RATE_LIMITS = {"TWINPLAN_RATE_LIMIT_KEY_WRITES": "0", "TWINPLAN_RATE_LIMIT_USER_WRITES": "0"}


@contextmanager
def scratch_database(tmp_path: Path, *, migrate: bool = True) -> Iterator[str]:
    """A new, empty database of the suite's kind (migrated unless told not to)."""
    if IS_POSTGRES:
        name = f"twinplan_scratch_{uuid.uuid4().hex[:10]}"
        admin = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tmp_path}/scratch-{uuid.uuid4().hex[:6]}.db"
    try:
        if migrate:
            migrations.upgrade(url)
        yield url
    finally:
        if IS_POSTGRES:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(database_url: str, *, workers: int = 1, **env: str) -> Iterator[str]:
    """``twinplan serve`` in its own process(es); yields the base URL.

    The server is healthy as soon as one worker answers; the others may still be
    starting. Fails the test if the server logged a traceback.
    """
    with running_servers(database_url, 1, workers=workers, **env) as (base,):
        yield base


@contextmanager
def running_servers(
    database_url: str, count: int, *, workers: int = 1, **env: str
) -> Iterator[list[str]]:
    """``count`` separate ``twinplan serve`` processes on one database, started at
    once; yields their base URLs when every one is healthy. Separate servers share
    nothing but the database, as a server's workers do, and a test can ask each
    by name. Fails the test if any server logged a traceback."""
    twinplan = str(Path(sys.executable).with_name("twinplan"))
    started: list[tuple[subprocess.Popen[bytes], str, IO[str]]] = []
    logs = ExitStack()
    try:
        for _ in range(count):
            port = free_port()
            # A file, not a pipe: nobody reads a pipe while the test runs, and a
            # full one would block the server on its next log line.
            log = logs.enter_context(tempfile.TemporaryFile("w+"))  # noqa: SIM115
            proc = subprocess.Popen(
                [twinplan, "serve", "--port", str(port), "--workers", str(workers)],
                env=os.environ
                | {"TWINPLAN_DATABASE_URL": database_url, "TWINPLAN_LOG_LEVEL": "WARNING"}
                | NO_RATE_LIMITS
                | env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            started.append((proc, f"http://127.0.0.1:{port}", log))
        for proc, base, log in started:
            _wait_healthy(proc, base, log)
        yield [base for _, base, _ in started]
    finally:
        outputs = []
        for proc, _, log in started:
            stop_process(proc)
            log.seek(0)
            outputs.append(log.read())
        logs.close()
    for output in outputs:
        assert "Traceback" not in output, f"the server logged errors:\n{output[-4000:]}"


def stop_process(proc: subprocess.Popen[Any]) -> None:
    """Ask a server process to end; kill it if it has not within 15 s."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _wait_healthy(proc: subprocess.Popen[bytes], base: str, log: IO[str]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"server exited: {log.read()[-3000:]}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"server did not become healthy in {STARTUP_SECONDS} s")
        time.sleep(0.2)

