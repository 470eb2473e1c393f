"""Python calls per request on the hot paths, beside the bare app: a count, not a clock.

    .venv/bin/python -m bench.calls [--requests 50] [--top 8]

On a shared machine a timing moves by a tenth or more from one minute to the
next, more than most changes to a request's code are worth; how many Python
functions a request calls does not move at all. This counts them, as the
companion of ``bench.throughput`` (whose world it builds, on a temporary
SQLite database): for each path, Twinplan and ``bench.bare`` each answer
``--requests`` warm requests in process (the ASGI app called directly, one
endpoint thread, ``TWINPLAN_THREADS=1``), with ``sys.setprofile`` counting every
Python function entered in the event loop's thread and the endpoint's. The
table gives calls per request and Twinplan's against bare's; ``--top`` lists
the functions Twinplan calls most on each path (where to look first).

Calls are not time (one call may be a dict lookup, another a query plan), but
in Twinplan's reads the per-row calls are the time py-spy finds: SQLAlchemy's
attribute reads and row loading, type conversions, model construction.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import MutableMapping
from pathlib import Path
from types import FrameType
from typing import Any

from bench.throughput import PUBLIC, Path_, build_world

WARM = 30


def count(kind: str, paths: list[Path_], key: str, etag: str, requests: int,
          top: int) -> dict[str, Any]:
    """(In the child, whose environment names the world.) Calls per request by path."""
    import anyio.to_thread

    if kind == "bare":
        from bench.bare import app
        assert app is not None, "TWINPLAN_BARE_SPEC and TWINPLAN_DATABASE_URL name the world"
    else:
        from app.main import create_app

        app = create_app()
    calls: collections.Counter[str] = collections.Counter()

    def profile(frame: FrameType, event: str, _arg: Any) -> None:
        if event == "call":
            code = frame.f_code
            calls[f"{code.co_qualname} ({Path(code.co_filename).name})"] += 1

    async def one(p: Path_) -> int:
        path, _, query = p.url.partition("?")
        headers = [(b"host", b"127.0.0.1")]
        if p.keyed:
            headers.append((b"authorization", f"Bearer {key}".encode()))
        if p.not_modified:
            headers.append((b"if-none-match", etag.encode()))
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(),
                 "query_string": query.encode(), "root_path": "", "headers": headers,
                 "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "state": {}}
        status: list[int] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        await app(scope, receive, send)
        return status[0]

    async def run() -> dict[str, Any]:
        results: dict[str, Any] = {}
        async with app.router.lifespan_context(app):
            # One endpoint thread, so that the profile set in it sees every endpoint.
            anyio.to_thread.current_default_thread_limiter().total_tokens = 1
            for p in paths:
                for _ in range(WARM):
                    answered = await one(p)
                if answered not in (200, 304):
                    raise SystemExit(f"{kind}: {p.url} answered {answered}")
                calls.clear()
                await anyio.to_thread.run_sync(sys.setprofile, profile)
                sys.setprofile(profile)
                for _ in range(requests):
                    await one(p)
                sys.setprofile(None)
                await anyio.to_thread.run_sync(sys.setprofile, None)
                results[p.label] = {
                    "calls": sum(calls.values()) / requests,
                    "top": [(name, n / requests) for name, n in calls.most_common(top)],
                }
        return results

    return asyncio.run(run())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--top", type=int, default=0, help="list the most called functions")
    parser.add_argument("--count", nargs=4, metavar=("KIND", "SPEC", "KEY", "ETAG"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.count:
        kind, spec, key, etag = args.count
        with Path(spec).with_suffix(".paths").open("rb") as f:
            paths = [p for p in pickle.load(f) if not p.writes_elsewhere]  # noqa: S301
        print(json.dumps(count(kind, paths, key, etag, args.requests, args.top)))
        return 0
    with tempfile.TemporaryDirectory(prefix="twinplan-calls-") as tmp:
        url = f"sqlite:///{tmp}/throughput.db"
        print("building the world (bench.throughput's)...", file=sys.stderr)
        world = build_world(url, Path(tmp))
        env = os.environ | PUBLIC | {
            "TWINPLAN_DATABASE_URL": url, "TWINPLAN_LOG_LEVEL": "WARNING",
            "TWINPLAN_BARE_SPEC": str(world.spec), "TWINPLAN_THREADS": "1"}
        counted = {}
        for kind in ("twinplan", "bare"):
            print(f"counting {kind}...", file=sys.stderr)
            out = subprocess.run(
                [sys.executable, "-m", "bench.calls", "--requests", str(args.requests),
                 "--top", str(args.top), "--count", kind, str(world.spec), world.key,
                 world.etag], env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
            counted[kind] = json.loads(out)
    print(f"\nbench.calls: Python calls per request, {args.requests} warm requests in "
          "process, SQLite\n")
    print("| path | Twinplan | bare | Twinplan / bare |")
    print("|---|---|---|---|")
    for label, ours in counted["twinplan"].items():
        bare = counted["bare"][label]["calls"]
        print(f"| {label} | {ours['calls']:,.0f} | {bare:,.0f} | {ours['calls'] / bare:.1f}x |")
    if args.top:
        for label, ours in counted["twinplan"].items():
            print(f"\n{label}, Twinplan's most called:")
            for name, n in ours["top"]:
                print(f"  {n:7,.0f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
