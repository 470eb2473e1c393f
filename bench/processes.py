"""Server processes for the benchmarks: a scratch PostgreSQL database, a free port,
waiting until one answers, stopping it, and loading it with wrk."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import httpx


@contextmanager
def scratch_postgres(base_url: str, name: str) -> Iterator[str]:
    """The URL of a new, empty database ``name`` on the server of ``base_url``
    (one left by an interrupted run is dropped first); dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(base_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, proc: subprocess.Popen[Any], log: IO[str] | None = None,
                  *, seconds: float = 30, workers: int = 1) -> None:
    """Until ``url`` answers anything over HTTP; exits the benchmark, with the end of
    the process's log, if it dies or stays silent. With several ``workers`` the first
    answer comes from whichever started first, and each imports the app on its own:
    a few seconds more, so that none is still starting when the measuring begins."""
    deadline = time.monotonic() + seconds
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
        except httpx.TransportError:
            time.sleep(0.1)
            continue
        if workers > 1:
            time.sleep(3)
        return
    said = ""
    if log is not None:
        log.seek(0)
        said = ":\n" + log.read()[-3000:]
    state = "exited" if proc.poll() is not None else f"did not answer in {seconds:g} s"
    raise SystemExit(f"the server at {url} {state}{said}")


def stop(proc: subprocess.Popen[Any]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def wrk(url: str, headers: dict[str, str], seconds: float, connections: int,
        script: str | None = None) -> tuple[float, float, float]:
    """Requests per second, p50 and p99 in ms: wrk (Debian's ``wrk``), one thread,
    ``connections`` open, for ``seconds``; ``script`` is a Lua file that makes the
    requests (wrk's ``request()``). Exits the benchmark if any answer was not 2xx/3xx."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout",
               "10s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if script is not None:
        command += ["-s", script]
    out = subprocess.run([*command, url], check=True, stdout=subprocess.PIPE,
                         text=True).stdout
    if "Non-2xx or 3xx responses" in out:
        raise SystemExit(f"wrk got errors from {url}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def percentile(p: str) -> float:
        found = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        assert found, out
        return float(found.group(1)) * _UNITS[found.group(2)]

    return rps, percentile("50"), percentile("99")
