"""Run every benchmark in turn: ``python -m bench`` (``make bench``)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

MODULES = ["bench.events", "bench.registrations", "bench.feeds", "bench.notifications",
           "bench.candidates", "bench.candidates_latency", "bench.partners",
           "bench.placement"]


def main() -> int:
    failed = []
    for module in MODULES:
        if importlib.util.find_spec(module) is None:
            continue
        print(f"\n## {module}\n", flush=True)
        if subprocess.call([sys.executable, "-m", module]) != 0:
            failed.append(module)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
