"""Candidate twins on the real network: the model against the classic heuristics.

    .venv/bin/python -m bench.candidates [--seed 1957] [--share 0.1] [--queries N]

The Wikidata snapshot (``$TWINPLAN_TWINNINGS_DIR``, default
``/work/shared/data/twinnings``: 5,470 cities, 9,537 links) is split once: a
seeded random 10% of the links is hidden, the model (``app.twins.model``) is
fitted on the other 90%, and for each hidden pair (u, v) both ends are queried:
every city is ranked for u, except u itself and u's known (training) twins, and
the rank of v is recorded; then the same for v. Ranks give hits@1, hits@10 and
the mean reciprocal rank (MRR).

The heuristics rank on the same training links and the same candidates:
preferential attachment (the candidate's number of twins), common neighbours,
Adamic-Adar and resource allocation. Ties, in the heuristics and the model
alike, are broken by one seeded random order of the cities, so a method gets no
credit for a tie it cannot break (most pairs share no twin at all).

Also timed: the model's fit, ``Model.rank`` per query (median, limit 10, with
the reasons' words), and its memory (tracemalloc: peak while fitting, and what a
model loaded from its bytes holds). The target (issue 15): the model's hits@10
at least twice Adamic-Adar's, and at least 0.16. Exits 1 if missed.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.twins.model import Model, Node

DATA = Path(os.environ.get("TWINPLAN_TWINNINGS_DIR", "/work/shared/data/twinnings"))
SEED = 1957
TARGET_HITS10 = 0.16
TARGET_RATIO = 2.0
COUNTRY_ALIASES = {"CN-TW": "TW"}


@dataclass
class Network:
    nodes: list[Node]
    links: list[tuple[int, int]]  # row indices


def load(directory: Path = DATA) -> Network:
    with open(directory / "cities.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    # A few rows lack the code but name the country another row codes.
    by_name = {r["country"]: r["countrycd"] for r in rows if r["countrycd"] and r["country"]}
    nodes, index = [], {}
    for i, r in enumerate(rows):
        code = r["countrycd"] or by_name.get(r["country"], "")
        nodes.append(Node(id=i, name=r["name"], country=COUNTRY_ALIASES.get(code, code),
                          lat=float(r["lat"]) if r["lat"] else None,
                          lon=float(r["lng"]) if r["lng"] else None))
        index[r["id"]] = i
    with open(directory / "links.csv", newline="", encoding="utf-8") as f:
        pairs = {tuple(sorted((index[r["source"]], index[r["target"]])))
                 for r in csv.DictReader(f) if r["source"] in index and r["target"] in index}
    links = [(a, b) for a, b in sorted(pairs) if a != b]
    return Network(nodes, links)


def split(links: list[tuple[int, int]], share: float, seed: int
          ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    rng = np.random.default_rng(seed)
    hidden = set(rng.choice(len(links), round(share * len(links)), replace=False).tolist())
    train = [link for i, link in enumerate(links) if i not in hidden]
    return train, [links[i] for i in sorted(hidden)]


class Heuristics:
    """The classic link-prediction scores of every node for one source."""

    def __init__(self, n: int, links: list[tuple[int, int]]) -> None:
        edges = np.array(links, dtype=np.int64).reshape(-1, 2)
        both = np.concatenate([edges, edges[:, ::-1]])
        self.n, self.rows, self.cols = n, both[:, 0], both[:, 1]
        self.deg = np.bincount(self.rows, minlength=n).astype(float)
        order = np.argsort(self.rows, kind="stable")
        self.sorted_cols = self.cols[order]
        self.indptr = np.concatenate([[0], np.cumsum(self.deg.astype(np.int64))])
        with np.errstate(divide="ignore"):
            self.inv_log = np.where(self.deg > 1, 1.0 / np.log(self.deg), 0.0)
            self.inv = np.where(self.deg > 0, 1.0 / self.deg, 0.0)

    def twins(self, u: int) -> np.ndarray:
        return self.sorted_cols[self.indptr[u]:self.indptr[u + 1]]

    def _spread(self, u: int, weight: np.ndarray) -> np.ndarray:
        x = np.zeros(self.n)
        t = self.twins(u)
        x[t] = weight[t]
        return np.bincount(self.rows, weights=x[self.cols], minlength=self.n)

    def methods(self) -> dict[str, Callable[[int], np.ndarray]]:
        ones = np.ones(self.n)
        return {
            "preferential attachment": lambda u: self.deg * self.deg[u],
            "common neighbours": lambda u: self._spread(u, ones),
            "Adamic-Adar": lambda u: self._spread(u, self.inv_log),
            "resource allocation": lambda u: self._spread(u, self.inv),
        }


def rank_of(scores: np.ndarray, target: int, allowed: np.ndarray, tiebreak: np.ndarray) -> int:
    """1-based rank of target among the allowed nodes; ties by the seeded order."""
    s = scores[target]
    better = (scores > s) | ((scores == s) & (tiebreak < tiebreak[target]))
    return int((better & allowed).sum()) + 1


def evaluate(scorer: Callable[[int], np.ndarray], queries: list[tuple[int, int]],
             heur: Heuristics, tiebreak: np.ndarray) -> tuple[float, float, float]:
    ranks = []
    for u, v in queries:
        allowed = np.ones(heur.n, dtype=bool)
        allowed[u] = False
        allowed[heur.twins(u)] = False
        ranks.append(rank_of(scorer(u), v, allowed, tiebreak))
    r = np.array(ranks, dtype=float)
    return float((r <= 1).mean()), float((r <= 10).mean()), float((1.0 / r).mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Candidate twins: model vs heuristics.")
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the split")
    parser.add_argument("--share", type=float, default=0.1, help="share of links hidden")
    parser.add_argument("--queries", type=int, default=0,
                        help="sample this many queries (default: all, both ends of each)")
    args = parser.parse_args(argv)

    net = load()
    train, hidden = split(net.links, args.share, args.seed)
    queries = [(a, b) for a, b in hidden] + [(b, a) for a, b in hidden]
    rng = np.random.default_rng(args.seed)
    if args.queries and args.queries < len(queries):
        queries = [queries[i] for i in sorted(rng.choice(len(queries), args.queries,
                                                         replace=False))]
    tiebreak = rng.permutation(len(net.nodes))
    print(f"{len(net.nodes):,} cities, {len(net.links):,} links: {len(train):,} to learn from,"
          f" {len(hidden):,} hidden (seed {args.seed}); {len(queries):,} queries, each ranking"
          f" all cities but the source and its known twins\n")

    tracemalloc.start()
    t0 = time.perf_counter()
    model = Model.fit(net.nodes, train, seed=args.seed)
    fit_s = time.perf_counter() - t0
    _, fit_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    payload = model.to_bytes()
    tracemalloc.start()
    loaded = Model.from_bytes(payload)
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    t0 = time.perf_counter()
    Model.from_bytes(payload)
    load_s = time.perf_counter() - t0

    heur = Heuristics(len(net.nodes), train)
    results: dict[str, tuple[float, float, float]] = {}
    for name, scorer in heur.methods().items():
        results[name] = evaluate(scorer, queries, heur, tiebreak)
    results["model"] = evaluate(loaded.scores, queries, heur, tiebreak)

    header = f"{'method':<26}{'hits@1':>9}{'hits@10':>9}{'MRR':>9}"
    print(header)
    print("-" * len(header))
    for name, (h1, h10, mrr) in results.items():
        print(f"{name:<26}{h1:>9.3f}{h10:>9.3f}{mrr:>9.3f}")
    aa, mine = results["Adamic-Adar"], results["model"]
    ratio = mine[1] / aa[1] if aa[1] else float("inf")
    print(f"\nmodel / Adamic-Adar: hits@10 {ratio:.2f}x, hits@1 "
          f"{mine[0] / aa[0] if aa[0] else float('inf'):.2f}x, MRR {mine[2] / aa[2]:.2f}x")

    times = []
    for u, _ in queries[:400]:
        city = net.nodes[u].id
        t0 = time.perf_counter()
        loaded.rank(city, limit=10)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    print(f"\nfit: {fit_s:.2f} s (peak {fit_peak / 2**20:.0f} MiB); load from bytes: "
          f"{load_s * 1000:.0f} ms; payload {len(payload) / 1024:.0f} KiB")
    print(f"rank (limit 10, with reasons): median {statistics.median(times):.2f} ms, "
          f"p90 {times[int(0.9 * (len(times) - 1))]:.2f} ms over {len(times)} queries")
    print(f"memory: a loaded model holds {held / 2**20:.1f} MiB (tracemalloc)")
    print("\nweights (per unit of each feature):")
    for name, w in loaded.weights_by_feature().items():
        print(f"  {name:<18}{w:>+8.3f}")

    ok = mine[1] >= TARGET_HITS10 and ratio >= TARGET_RATIO
    print(f"\ntarget: hits@10 >= {TARGET_HITS10} and >= {TARGET_RATIO:g}x Adamic-Adar: "
          f"{'ok' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
