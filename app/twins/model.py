"""The candidate model: which cities a city is likely to twin with, and why.

Pure Python and numpy, no database. ``Model.fit`` learns from a network of
cities (``Node``) and twinnings (pairs of ids); ``Model.rank`` scores every other
city for one city and returns the best with their reasons.

The score is linear: a sum of feature values times learnt weights, so every
score splits into reasons (``Reason.weight``) that add up to it. The features
of a pair (u, v), v the candidate:

* shared twins: log(1 + common twins), Adamic-Adar (common twins, each
  counted 1/log of its own number of twins), resource allocation (each counted
  1/its number of twins) and the cosine (common / sqrt(twins of u x twins of v));
* twins of twins: log(1 + paths of length 3 from u to v), and the same paths
  with each step shared out over the twins it could have gone to;
* country pair: log P(country of v | country of u), how often the twinnings
  of u's country go to v's, smoothed towards the share of v's country in all
  twinnings; and whether both are in the same country;
* popularity: log(1 + v's twins), and one weight per class of v's number of twins
  (none, 1, 2-3, ... 32 and more): a city of the network without a known twin has
  its twinnings among those not known yet, so "has no twins yet" weighs for it;
* alike: v has about as many twins as u's twins have, and v's twins about as many
  as u has (minus the gap, log scale);
* v's twins in u's country, v's twins within 200 km of u, u's twins within
  200 km of v (log(1 + count) each): "already twinned near you";
* region: log(1 + twinnings between the cities within 50 km of u, u too, and those
  within 50 km of v, v too): "its region already twins with yours";
* distance, in bands (under 50 km ... over 10,000 km), one weight per band; and how
  far u is from v against how far v's twins typically are from it (log km);
* population: minus |ln(pop u / pop v)|, when both are known.

The weights are fitted as a conditional logit (softmax over candidates), the
task ``rank`` is used for: 15% of the links are hidden, the features computed
from the other 85%, and each hidden link's end is scored against 100 sampled
non-twins of the other end; L2-regularised, Adam, numpy only. Then the
features are recomputed from all links for ranking.

``to_bytes`` stores the nodes, links and weights (zlib'd JSON); ``from_bytes``
rebuilds the arrays from them (a fraction of a second for 5,500 cities).
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import NDArray

FORMAT = 2
EARTH_KM = 6371.0088
NEAR_KM = 200.0
REGION_KM = 50.0
DISTANCE_BANDS = (50.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0)
NEAR_COS = math.cos(NEAR_KM / EARTH_KM)
REGION_COS = math.cos(REGION_KM / EARTH_KM)
# Candidates by their number of twins: 0, 1, 2-3, 4-7, 8-15, 16-31, 32 and more.
TWIN_CLASSES = (1, 2, 4, 8, 16, 32)
KM_FLOOR = 10.0  # distances are compared on a log scale, log(km + KM_FLOOR)
BAND_COS = -np.cos(np.array(DISTANCE_BANDS) / EARTH_KM)  # ascending, for searchsorted
HOLDOUT = 0.15
NEGATIVES = 100
HARD = 50
MAX_QUERIES = 1200
L2 = 1e-3
STEPS = 250
SMOOTHING = 5.0
TWINS_PRIOR = 2.0

FEATURES = (
    "shared_twins", "adamic_adar", "paths3", "country_pair", "twins_countries", "same_country",
    "popular", "twins_in_country", "nearby_twins", "near_your_twins", "population", "hub_pair",
    "country_share",
    *(f"distance_{i}" for i in range(len(DISTANCE_BANDS) + 1)),
    "resource_allocation", "cosine", "paths3_spread",
    *(f"twins_{i}" for i in range(len(TWIN_CLASSES) + 1)),
    "size_like_your_twins", "twins_like_you", "distance_like_its_twins", "region",
)
F = {name: i for i, name in enumerate(FEATURES)}
# The reason each feature's contribution is told under.
REASON_OF = {
    "shared_twins": "shared_twins", "adamic_adar": "shared_twins", "paths3": "twins_of_twins",
    "country_pair": "country_pair", "twins_countries": "twins_countries",
    "same_country": "same_country", "popular": "popular",
    "twins_in_country": "twins_in_country", "nearby_twins": "nearby_twins",
    "near_your_twins": "near_your_twins", "population": "population",
    "hub_pair": "popular", "country_share": "popular",
    **{f"distance_{i}": "distance" for i in range(len(DISTANCE_BANDS) + 1)},
    "resource_allocation": "shared_twins", "cosine": "shared_twins",
    "paths3_spread": "twins_of_twins",
    **{f"twins_{i}": "popular" for i in range(len(TWIN_CLASSES) + 1)},
    "size_like_your_twins": "alike", "twins_like_you": "alike",
    "distance_like_its_twins": "usual_distance",
    "region": "region",
}
# A network too small to learn from (under MIN_LINKS_TO_LEARN links, as in tests or a new
# installation) is ranked with the weights learnt from the Wikidata snapshot
# (`python -m bench.candidates` prints them).
MIN_LINKS_TO_LEARN = 500
DEFAULT_WEIGHTS = {
    "shared_twins": 0.33, "adamic_adar": -1.54, "paths3": 0.63, "country_pair": 0.43,
    "twins_countries": -0.13, "same_country": -1.11, "popular": 1.33,
    "twins_in_country": -0.31, "nearby_twins": -0.2, "near_your_twins": -0.11,
    "population": 0.0, "hub_pair": -0.27, "country_share": 0.29, "distance_0": 2.63,
    "distance_1": 2.33, "distance_2": 1.44, "distance_3": 0.21, "distance_4": 0.14,
    "distance_5": -0.29, "distance_6": -0.56, "distance_7": -0.84, "resource_allocation": 2.76,
    "cosine": 4.14, "paths3_spread": 1.92, "twins_0": 1.98, "twins_1": -0.22, "twins_2": -0.19,
    "twins_3": -0.26, "twins_4": -0.26, "twins_5": -0.59, "twins_6": -0.87,
    "size_like_your_twins": 0.56, "twins_like_you": 0.7, "distance_like_its_twins": 0.42,
    "region": 0.95,
}
REASON_CODES = tuple(dict.fromkeys(REASON_OF.values()))
REASON_EPSILON = 1e-3

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Node:
    """A city as the model sees it."""

    id: int
    name: str
    country: str  # ISO 3166-1 alpha-2, "" when unknown
    lat: float | None
    lon: float | None
    population: int | None = None


@dataclass(frozen=True)
class Reason:
    code: str
    weight: float  # this reason's part of the score
    params: dict[str, str | int | float]
    text: str


@dataclass(frozen=True)
class Candidate:
    city_id: int
    score: float
    reasons: list[Reason]  # the decomposition of score, largest first


@cache
def country_names() -> dict[str, str]:
    """ISO 3166-1 alpha-2 -> English short name, from tzdata's iso3166.tab."""
    try:
        text = resources.files("tzdata.zoneinfo").joinpath("iso3166.tab").read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError):  # pragma: no cover - tzdata is a dependency
        return {}
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            code, name, *_ = line.split("\t")
            out[code] = name
    return out


def _country(code: str) -> str:
    return country_names().get(code, code) if code else "an unknown country"


def _unit_vectors(lat: FloatArray, lon: FloatArray) -> FloatArray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=1)


class _Graph:
    """The arrays the features are computed from: one network of links over the nodes."""

    def __init__(self, n: int, edges: IntArray, country: IntArray, n_countries: int,
                 xyz: FloatArray, has_coords: NDArray[np.bool_]) -> None:
        self.n = n
        both = np.concatenate([edges, edges[:, ::-1]]) if len(edges) else np.zeros((0, 2), int)
        order = np.lexsort((both[:, 1], both[:, 0]))
        both = both[order]
        self.rows: IntArray = both[:, 0].astype(np.int64)
        self.indices: IntArray = both[:, 1].astype(np.int64)
        self.deg: IntArray = np.bincount(self.rows, minlength=n).astype(np.int64)
        self.indptr: IntArray = np.concatenate([[0], np.cumsum(self.deg)]).astype(np.int64)
        self.log1p_deg: FloatArray = np.log1p(self.deg)
        with np.errstate(divide="ignore"):
            aa = 1.0 / np.log(self.deg.astype(float))
        aa[self.deg < 2] = 0.0
        self.aa_weight: FloatArray = aa
        # Country pairs: counts of twinnings, both directions, and their smoothed log P(c'|c).
        pairs = np.zeros((n_countries, n_countries))
        np.add.at(pairs, (country[self.rows], country[self.indices]), 1.0)
        self.pairs = pairs
        ends = pairs.sum(axis=1)
        marginal = (ends + 1.0) / (ends.sum() + n_countries)
        self.log_country_pair: FloatArray = np.log(
            (pairs + SMOOTHING * marginal[None, :]) / (ends[:, None] + SMOOTHING))
        self.log_marginal: FloatArray = np.log(marginal)
        # Per city: a country's pull is shared by its cities, more to those with more twins.
        # As a lift over a country drawn in proportion to its cities (see log_lift), so that a
        # country pair that twins more than that is a positive reason, less a negative one.
        # The city's pull within its country: its twinnings against its country's average.
        cities = np.bincount(country, minlength=n_countries).astype(float)
        mass = np.bincount(country, weights=self.deg + 1.0, minlength=n_countries)
        self.log_lift: FloatArray = np.log(n / np.maximum(cities, 1.0))
        self.log_share: FloatArray = np.log((self.deg + 1.0) * cities[country] / mass[country])
        self.twin_class: IntArray = np.searchsorted(TWIN_CLASSES, self.deg, side="right")
        # The typical number of twins of a city's twins (log scale, one pseudo-twin of the
        # network's average), and the typical distance to its twins (log km).
        self.mean_log1p_deg = float(self.log1p_deg.mean()) if n else 0.0
        self.twins_log1p_deg: FloatArray = (
            self.spread(self.log1p_deg) + self.mean_log1p_deg) / (self.deg + 1.0)
        placed = has_coords[self.rows] & has_coords[self.indices]
        cos = np.einsum("ij,ij->i", xyz[self.rows], xyz[self.indices])
        log_km = np.log(np.arccos(np.clip(cos, -1.0, 1.0)) * EARTH_KM + KM_FLOOR)
        self.placed_twins: FloatArray = np.asarray(np.bincount(
            self.rows, weights=placed.astype(float), minlength=n), dtype=np.float64)
        self.twins_log_km: FloatArray = np.bincount(
            self.rows, weights=np.where(placed, log_km, 0.0), minlength=n
        ) / np.maximum(self.placed_twins, 1.0)

    def typical_twin_size(self, u: int) -> float:
        """How many twins u's twins typically have: the mean of log(1 + twins) over
        them and one pseudo-twin of the network's average."""
        twins = self.twins(u)
        return float((self.log1p_deg[twins].sum() + self.mean_log1p_deg) / (len(twins) + 1.0))

    def twins(self, u: int) -> IntArray:
        return self.indices[self.indptr[u]:self.indptr[u + 1]]

    def spread(self, x: FloatArray) -> FloatArray:
        """y[v] = sum of x over v's twins (the adjacency matrix times x)."""
        y = np.bincount(self.rows, weights=x[self.indices], minlength=self.n)
        return np.asarray(y, dtype=np.float64)


class Model:
    def __init__(self, nodes: Sequence[Node], edges: IntArray, weights: FloatArray,
                 meta: dict[str, Any] | None = None) -> None:
        self.nodes = list(nodes)
        self.n = len(self.nodes)
        self.ids: IntArray = np.array([nd.id for nd in self.nodes], dtype=np.int64)
        self.index = {nd.id: i for i, nd in enumerate(self.nodes)}
        self.edges = edges
        self.weights = weights
        self.meta = meta or {}
        codes = sorted({nd.country for nd in self.nodes})
        self.countries = codes
        self.country_index = {c: i for i, c in enumerate(codes)}
        self.country: IntArray = np.array([self.country_index[nd.country] for nd in self.nodes],
                                          dtype=np.int64)
        self.known_country = np.array([bool(nd.country) for nd in self.nodes])
        lat = np.array([np.nan if nd.lat is None else nd.lat for nd in self.nodes], dtype=float)
        lon = np.array([np.nan if nd.lon is None else nd.lon for nd in self.nodes], dtype=float)
        self.has_coords = ~(np.isnan(lat) | np.isnan(lon))
        self.xyz = np.nan_to_num(_unit_vectors(lat, lon)) if self.n else np.zeros((0, 3))
        pop = np.array([np.nan if not nd.population else nd.population for nd in self.nodes],
                       dtype=float)
        self.log_pop = np.log(pop)
        self._near: tuple[IntArray, IntArray] | None = None
        self.graph = self._graph(edges)

    def _graph(self, edges: IntArray) -> _Graph:
        return _Graph(self.n, edges, self.country, len(self.countries), self.xyz, self.has_coords)

    # Building -------------------------------------------------------------------------

    @classmethod
    def fit(cls, nodes: Sequence[Node], links: Sequence[tuple[int, int]], *,
            seed: int = 0) -> Model:
        """Learn the weights from the links; rank with features from all of them."""
        model = cls(nodes, _edges(nodes, links), np.zeros(len(FEATURES)))
        rng = np.random.default_rng(seed)
        edges = model.edges
        if len(edges) < MIN_LINKS_TO_LEARN:
            model.weights = np.array([DEFAULT_WEIGHTS[name] for name in FEATURES])
            model.meta = {"trained_on": 0}
            return model
        hidden = rng.random(len(edges)) < HOLDOUT
        model.graph = model._graph(edges[~hidden])
        queries = np.concatenate([edges[hidden], edges[hidden][:, ::-1]])
        if len(queries) > MAX_QUERIES:
            queries = queries[rng.choice(len(queries), MAX_QUERIES, replace=False)]
        # Half the queries against random non-twins, the other half also against the best
        # non-twins by the first half's weights: a sampled softmax over all candidates, the
        # random ones standing for the rest (their logits raised by log(rest / sampled)).
        first = len(queries) // 2
        weights = np.zeros(len(FEATURES))
        rows: list[FloatArray] = []
        offsets: list[FloatArray] = []
        for i, (u, v) in enumerate(queries):
            if i == first and rows:
                weights = _conditional_logit(np.stack(rows), np.stack(offsets))
            allowed = model._allowed(int(u))
            allowed[v] = False
            x = model._features(int(u))
            hard = np.zeros(0, dtype=np.int64)
            if i >= first:
                pool = np.flatnonzero(allowed)
                best = np.argpartition(-(x[pool] @ weights), HARD)[:HARD]
                hard = pool[best] if len(pool) > HARD else pool
                allowed[hard] = False
            pool = np.flatnonzero(allowed)
            if len(pool) == 0:
                continue
            sampled = pool[rng.integers(0, len(pool), NEGATIVES + HARD - len(hard))]
            rows.append(x[np.concatenate([[v], hard, sampled])])
            offsets.append(np.concatenate([
                np.zeros(1 + len(hard)), np.full(len(sampled), np.log(len(pool) / len(sampled)))]))
        model.weights = _conditional_logit(np.stack(rows), np.stack(offsets))
        model.meta = {"trained_on": len(rows)}
        model.graph = model._graph(edges)
        return model

    def to_bytes(self) -> bytes:
        payload = {
            "format": FORMAT,
            "features": list(FEATURES),
            "weights": [float(w) for w in self.weights],
            "nodes": [[nd.id, nd.name, nd.country, nd.lat, nd.lon, nd.population]
                      for nd in self.nodes],
            "edges": self.edges.ravel().tolist(),
            "meta": self.meta,
        }
        return zlib.compress(json.dumps(payload, separators=(",", ":")).encode(), 6)

    @classmethod
    def from_bytes(cls, data: bytes) -> Model:
        payload = json.loads(zlib.decompress(data))
        if payload.get("format") != FORMAT or payload.get("features") != list(FEATURES):
            raise ValueError("a candidate model of another format; build it again")
        nodes = [Node(*row) for row in payload["nodes"]]
        edges = np.array(payload["edges"], dtype=np.int64).reshape(-1, 2)
        return cls(nodes, edges, np.array(payload["weights"], dtype=float), payload["meta"])

    # Ranking ---------------------------------------------------------------------------

    def rank(self, city_id: int, *, countries: Collection[str] | None = None, limit: int = 10,
             exclude: Collection[int] = ()) -> list[Candidate]:
        """The best ``limit`` candidates for the city, with reasons.

        Never the city itself, its twins, or ``exclude``; with ``countries``, only
        cities of those countries. Raises KeyError for a city that is not a node."""
        u = self.index[city_id]
        allowed = self._allowed(u, countries=countries, exclude=exclude)
        pool = np.flatnonzero(allowed)
        if len(pool) == 0 or limit <= 0:
            return []
        features = self._features(u)
        scores = features[pool] @ self.weights
        # Best first; ties by id, so the order does not depend on the nodes' order.
        top = pool[np.lexsort((self.ids[pool], -scores))[:limit]]
        return [self._candidate(u, int(v), features[v]) for v in top]

    def with_node(self, node: Node) -> Model:
        """This model with one more city and no links: a city added since the model
        was built is ranked from what is known of it (country, place, size) with
        the weights already learnt, until the next build takes it in."""
        if node.id in self.index:
            return self
        bigger = Model([*self.nodes, node], self.edges, self.weights, self.meta)
        if self._near is not None:  # the new city's neighbours, not everyone's again
            rows, cols = self._near
            new = self.n
            close = np.flatnonzero(bigger.xyz[:new] @ bigger.xyz[new] > REGION_COS)
            close = close[self.has_coords[close]] if bigger.has_coords[new] else close[:0]
            bigger._near = (np.concatenate([rows, close, np.full(len(close), new)]),
                            np.concatenate([cols, np.full(len(close), new), close]))
        return bigger

    def scores(self, city_id: int) -> FloatArray:
        """Every node's score for the city (the bench's whole ranking)."""
        return self._features(self.index[city_id]) @ self.weights

    def weights_by_feature(self) -> dict[str, float]:
        return {name: float(w) for name, w in zip(FEATURES, self.weights, strict=True)}

    def _allowed(self, u: int, *, countries: Collection[str] | None = None,
                 exclude: Collection[int] = ()) -> NDArray[np.bool_]:
        if countries is not None:
            wanted = [self.country_index[c] for c in countries if c in self.country_index]
            allowed = np.isin(self.country, wanted)
        else:
            allowed = np.ones(self.n, dtype=bool)
        allowed[u] = False
        allowed[self.graph.twins(u)] = False
        gone = [self.index[i] for i in exclude if i in self.index]
        if gone:
            allowed[gone] = False
        return allowed

    def _features(self, u: int) -> FloatArray:
        """The feature matrix (nodes x FEATURES) of every candidate v for source u."""
        g, n = self.graph, self.n
        X = np.zeros((n, len(FEATURES)), order="F")  # filled column by column
        twins = g.twins(u)
        if len(twins):
            mark = np.zeros(n)
            mark[twins] = 1.0
            common = g.spread(mark)
            X[:, F["shared_twins"]] = np.log1p(common)
            mark[twins] = g.aa_weight[twins]
            X[:, F["adamic_adar"]] = g.spread(mark)
            X[:, F["paths3"]] = np.log1p(g.spread(common))
            # Resource allocation: each shared twin counts 1 / its number of twins.
            mark[twins] = 1.0 / g.deg[twins]
            spread = g.spread(mark)
            X[:, F["resource_allocation"]] = np.log1p(5.0 * spread)
            X[:, F["cosine"]] = common / np.sqrt(np.maximum(g.deg, 1) * len(twins))
            X[:, F["paths3_spread"]] = np.log1p(10.0 * g.spread(spread / np.maximum(g.deg, 1)))
        X[np.arange(n), F["twins_0"] + g.twin_class] = 1.0
        # Alike: the candidate has about as many twins as u's twins have, and its twins
        # about as many as u has (log scale).
        ld = g.log1p_deg
        X[:, F["size_like_your_twins"]] = -np.abs(ld - g.typical_twin_size(u))
        X[:, F["twins_like_you"]] = -np.abs(g.twins_log1p_deg - ld[u])
        cu = self.country[u]
        if self.known_country[u]:
            X[:, F["country_pair"]] = (g.log_country_pair[cu] + g.log_lift)[self.country]
            if len(twins):
                # u's own twins' countries against its country's: above 0 where u twins
                # more than its country does, below where less.
                prior = np.exp(g.log_country_pair[cu])
                counts = np.bincount(self.country[twins], minlength=len(self.countries))
                own = np.log((counts + TWINS_PRIOR * prior) / (len(twins) + TWINS_PRIOR))
                X[:, F["twins_countries"]] = (own - g.log_country_pair[cu])[self.country]
            same = (self.country == cu) & self.known_country
            X[:, F["same_country"]] = same
            X[:, F["twins_in_country"]] = np.log1p(g.spread(same.astype(float)))
        else:
            X[:, F["country_pair"]] = (g.log_marginal + g.log_lift)[self.country]
        X[:, F["popular"]] = g.log1p_deg
        X[:, F["country_share"]] = g.log_share
        X[:, F["hub_pair"]] = g.log1p_deg * g.log1p_deg[u]
        if self.has_coords[u]:
            # Cosines of the angles between cities (nodes without coordinates are far from all).
            cos = self.xyz @ self.xyz[u]
            near = (cos > NEAR_COS).astype(float)
            near[u] = 0.0
            X[:, F["nearby_twins"]] = np.log1p(g.spread(near))
            placed = twins[self.has_coords[twins]]
            if len(placed):
                close = (self.xyz[placed] @ self.xyz.T > NEAR_COS).sum(axis=0)
                X[:, F["near_your_twins"]] = np.log1p(close)
            rows = np.flatnonzero(self.has_coords)
            band = np.searchsorted(BAND_COS, -cos[rows])
            X[rows, F["distance_0"] + band] = 1.0
            # As far from u as v's twins usually are from v (log km), weighed by how many
            # twins that "usually" stands on (k / (k + 1)).
            log_km = np.log(np.arccos(np.clip(cos, -1.0, 1.0)) * EARTH_KM + KM_FLOOR)
            k_v = g.placed_twins[rows]
            X[rows, F["distance_like_its_twins"]] = \
                -np.abs(log_km[rows] - g.twins_log_km[rows]) * k_v / (k_v + 1.0)
            X[:, F["region"]] = np.log1p(self._region(u))
        if not np.isnan(self.log_pop[u]):
            gap = -np.abs(self.log_pop - self.log_pop[u])
            X[:, F["population"]] = np.nan_to_num(gap, nan=0.0)
        return X

    def _neighbours(self) -> tuple[IntArray, IntArray]:
        """Every ordered pair of distinct placed cities within REGION_KM of each other,
        found once per model (a few tenths of a second at 5,500 cities)."""
        if self._near is None:
            placed = np.flatnonzero(self.has_coords)
            rows, cols = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
            for start in range(0, len(placed), 128):
                block = placed[start:start + 128]
                i, j = np.nonzero(self.xyz[block] @ self.xyz[placed].T > REGION_COS)
                keep = block[i] != placed[j]
                rows.append(block[i][keep])
                cols.append(placed[j][keep])
            self._near = (np.concatenate(rows), np.concatenate(cols))
        return self._near

    def _region(self, u: int) -> FloatArray:
        """For every city v: the twinnings between cities within REGION_KM of u (u too) and
        cities within REGION_KM of v (v too)."""
        rows, cols = self._neighbours()
        around = np.zeros(self.n)
        around[cols[rows == u]] = 1.0
        around[u] = 1.0
        reach = self.graph.spread(around)  # for each city, its twins around u
        return reach + np.bincount(rows, weights=reach[cols], minlength=self.n)

    def _km(self, cities: IntArray, to: int) -> FloatArray:
        """Great-circle kilometres from each of ``cities`` to the city ``to``."""
        cos = np.clip(self.xyz[cities] @ self.xyz[to], -1.0, 1.0)
        return np.asarray(np.arccos(cos) * EARTH_KM)

    # Reasons ---------------------------------------------------------------------------

    def _candidate(self, u: int, v: int, x: FloatArray) -> Candidate:
        parts = x * self.weights
        by_code: dict[str, float] = {}
        for name, part in zip(FEATURES, parts, strict=True):
            by_code[REASON_OF[name]] = by_code.get(REASON_OF[name], 0.0) + float(part)
        reasons = [self._reason(code, w, u, v) for code, w in by_code.items()
                   if abs(w) >= REASON_EPSILON]
        reasons.sort(key=lambda r: -r.weight)
        score = float(sum(r.weight for r in reasons))
        return Candidate(city_id=int(self.ids[v]), score=score, reasons=reasons)

    def _reason(self, code: str, weight: float, u: int, v: int) -> Reason:
        src, dst, g = self.nodes[u], self.nodes[v], self.graph
        params: dict[str, str | int | float]
        if code == "shared_twins":
            count = int(np.intersect1d(g.twins(u), g.twins(v)).size)
            params = {"count": count, "city": src.name}
            text = (f"twinned with {count} of {src.name}'s twins" if count != 1
                    else f"twinned with one of {src.name}'s twins")
        elif code == "twins_of_twins":
            params = {"city": src.name}
            text = f"twinned with twins of {src.name}'s twins"
        elif code == "country_pair":
            cu, cv = self.country[u], self.country[v]
            count = int(g.pairs[cu, cv]) if self.known_country[u] else 0
            if cu == cv and self.known_country[u]:
                count //= 2
            params = {"count": count, "country": src.country, "other_country": dst.country}
            if not self.known_country[u]:
                text = f"cities in {_country(dst.country)} twin often"
            elif count == 0:
                text = f"no twinnings yet between cities in {_country(src.country)} and " \
                    f"{_country(dst.country)}"
            elif cu == cv:
                text = f"{count:,} twinnings between cities in {_country(src.country)}"
            else:
                many = {0: "no twinnings", 1: "one twinning"}.get(count, f"{count:,} twinnings")
                text = f"cities in {_country(src.country)} and {_country(dst.country)} have {many}"
        elif code == "twins_countries":
            count = int((self.country[g.twins(u)] == self.country[v]).sum())
            params = {"count": count, "city": src.name, "country": dst.country}
            text = (f"{src.name} has no twin in {_country(dst.country)} yet" if count == 0 else
                    f"{src.name} already has {count} twin{'s' if count != 1 else ''} "
                    f"in {_country(dst.country)}")
        elif code == "same_country":
            params = {"country": src.country}
            text = f"in the same country ({_country(src.country)})"
        elif code == "popular":
            count = int(g.deg[v])
            params = {"count": count}
            text = "has no twins yet" if count == 0 else \
                f"has {count} twin{'s' if count != 1 else ''}"
        elif code == "alike":
            yours = math.expm1(g.typical_twin_size(u))
            its = math.expm1(float(g.twins_log1p_deg[v]))
            count, own = int(g.deg[v]), int(g.deg[u])
            params = {"count": count, "your_twins_have": round(yours, 1), "city": src.name,
                      "city_count": own, "its_twins_have": round(its, 1)}
            text = f"has {count} twin{'s' if count != 1 else ''}"
            if own:
                text += f", {src.name}'s twins about {yours:.0f}"
            if count:
                text += f"; its twins have about {its:.0f}, {src.name} {own}"
        elif code == "usual_distance":
            theirs = g.twins(v)[self.has_coords[g.twins(v)]]
            km_apart = _round_km(float(self._km(np.array([u]), v)[0]))
            typical = _typical_km(self._km(theirs, v)) if len(theirs) else 0
            params = {"km": km_apart, "its_twins_km": typical}
            text = f"its twins are typically {typical:,} km from it, {src.name} {km_apart:,} km"
        elif code == "region":
            around_u = self.xyz @ self.xyz[u] > REGION_COS
            around_v = self.xyz @ self.xyz[v] > REGION_COS
            for around, city in ((around_u, u), (around_v, v)):
                around &= self.has_coords
                around[city] = True
            count = int((around_u[g.rows] & around_v[g.indices]).sum())
            params = {"count": count, "km": int(REGION_KM), "city": src.name}
            many = {0: "no twinnings", 1: "one twinning"}.get(count, f"{count:,} twinnings")
            text = (f"cities within {int(REGION_KM)} km of {src.name} and of {dst.name} "
                    f"have {many}")
        elif code == "twins_in_country":
            mask = self.country[g.twins(v)] == self.country[u]
            count = int(mask.sum())
            params = {"count": count, "country": src.country}
            text = (f"already twinned with {count} "
                    f"{'city' if count == 1 else 'cities'} in {_country(src.country)}")
        elif code == "nearby_twins":
            twins = g.twins(v)
            km = self._km(twins, u)
            count = int(((km < NEAR_KM) & self.has_coords[twins] & (twins != u)).sum())
            params = {"count": count, "km": int(NEAR_KM), "city": src.name}
            text = (f"already twinned with {count} {'city' if count == 1 else 'cities'} "
                    f"within {int(NEAR_KM)} km of {src.name}")
        elif code == "near_your_twins":
            twins = g.twins(u)
            km = self._km(twins, v)
            count = int(((km < NEAR_KM) & self.has_coords[twins]).sum())
            params = {"count": count, "km": int(NEAR_KM), "city": src.name}
            text = (f"within {int(NEAR_KM)} km of {count} of {src.name}'s twins" if count != 1
                    else f"within {int(NEAR_KM)} km of one of {src.name}'s twins")
        elif code == "distance":
            apart = float(self._km(np.array([u]), v)[0])
            params = {"km": round(apart)}
            text = f"{_round_km(apart):,} km away"
        elif code == "population":
            ratio = math.exp(abs(float(self.log_pop[u] - self.log_pop[v])))
            params = {"ratio": round(ratio, 1), "population": int(dst.population or 0)}
            if ratio < 1.5:
                text = "similar population"
            else:
                bigger = "larger" if (dst.population or 0) > (src.population or 0) else "smaller"
                text = f"population {ratio:.0f} times {bigger}" if ratio >= 2.5 else \
                    f"population {ratio:.1f} times {bigger}"
        else:  # pragma: no cover - every code in REASON_OF has its words above
            raise ValueError(code)
        return Reason(code=code, weight=round(weight, 6), params=params, text=text)


def _typical_km(km: FloatArray) -> int:
    """The typical of some distances, as the features see it (mean of log(km + floor))."""
    return _round_km(float(np.exp(np.log(km + KM_FLOOR).mean()) - KM_FLOOR))


def _round_km(km: float) -> int:
    if km < 100:
        return round(km)
    if km < 1000:
        return int(round(km, -1))
    return int(round(km, -2))


def _edges(nodes: Sequence[Node], links: Sequence[tuple[int, int]]) -> IntArray:
    """Distinct undirected links between known nodes, as index pairs (low, high)."""
    index = {nd.id: i for i, nd in enumerate(nodes)}
    pairs = {(min(index[a], index[b]), max(index[a], index[b]))
             for a, b in links if a in index and b in index and a != b}
    return np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)


def _conditional_logit(batches: FloatArray, offsets: FloatArray) -> FloatArray:
    """Weights maximising log softmax of row 0 (the twin) in each batch; L2, Adam."""
    q, _, f = batches.shape
    scale = batches.reshape(-1, f).std(axis=0)
    scale[scale == 0] = 1.0
    X = batches / scale
    w = np.zeros(f)
    m, s = np.zeros(f), np.zeros(f)
    lr, b1, b2 = 0.1, 0.9, 0.999
    for t in range(1, STEPS + 1):
        z = X @ w + offsets
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        # d(-log p0)/dw = E_p[x] - x0
        grad = (np.einsum("qk,qkf->f", p, X) - X[:, 0, :].sum(axis=0)) / q + L2 * w
        m = b1 * m + (1 - b1) * grad
        s = b2 * s + (1 - b2) * grad * grad
        w -= lr * (m / (1 - b1 ** t)) / (np.sqrt(s / (1 - b2 ** t)) + 1e-8)
    result: FloatArray = w / scale
    return result
