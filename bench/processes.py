"""Server processes for the benchmarks: a free port, waiting until one answers,
stopping it."""

from __future__ import annotations

import socket
import subprocess
import time
from typing import IO, Any

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, proc: subprocess.Popen[Any], log: IO[str] | None = None,
                  *, seconds: float = 30) -> None:
    """Until ``url`` answers anything over HTTP; exits the benchmark, with the end of
    the process's log, if it dies or stays silent."""
    deadline = time.monotonic() + seconds
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
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
