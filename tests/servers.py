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
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.core import migrations
from tests.conftest import IS_POSTGRES, TEST_DATABASE_URL


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

    Fails the test if the server logged a traceback.
    """
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    twinplan = str(Path(sys.executable).with_name("twinplan"))
    # A file, not a pipe: nobody reads a pipe while the test runs, and a full
    # one would block the server on its next log line.
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(
            [twinplan, "serve", "--port", str(port), "--workers", str(workers)],
            env=os.environ
            | {"TWINPLAN_DATABASE_URL": database_url, "TWINPLAN_LOG_LEVEL": "WARNING"}
            | env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_healthy(proc, base, log)
            yield base
        finally:
            stop_process(proc)
        log.seek(0)
        output = log.read()
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
    deadline = time.monotonic() + 60
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
            raise RuntimeError("server did not become healthy in 60 s")
        time.sleep(0.2)
