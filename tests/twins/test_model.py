"""The candidate model (app.twins.model): rankings, reasons, exclusions, bytes."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

from app.twins.model import FEATURES, Model, Node

# A small network: Kostroma (RU) twins with Kiel (DE) and Bergamo (IT); Turkmenabat (TM)
# twins with both; Russian cities twin with Turkmen ones often, with Kazakh ones never.
CITIES = [
    (1, "Kostroma", "RU", 57.77, 40.93),
    (2, "Kiel", "DE", 54.32, 10.14),
    (3, "Bergamo", "IT", 45.69, 9.67),
    (4, "Turkmenabat", "TM", 39.07, 63.58),
    (5, "Mary", "TM", 37.60, 61.83),
    (6, "Dashoguz", "TM", 41.84, 59.97),
    (7, "Balkanabat", "TM", 39.51, 54.36),
    (8, "Aktobe", "KZ", 50.28, 57.17),
    (9, "Oral", "KZ", 51.23, 51.37),
    (10, "Yaroslavl", "RU", 57.63, 39.87),
    (11, "Vologda", "RU", 59.22, 39.89),
    (12, "Ivanovo", "RU", 57.00, 40.97),
    (13, "Sendai", "JP", 38.27, 140.87),
    (14, "Nagoya", "JP", 35.18, 136.91),
    (15, "Tver", "RU", 56.86, 35.90),
]
LINKS = [
    (1, 2), (1, 3), (4, 2), (4, 3),
    (10, 5), (11, 5), (12, 6), (10, 7), (11, 6), (15, 7),
    (8, 14), (9, 13),
]


def nodes() -> list[Node]:
    return [Node(id=i, name=n, country=c, lat=lat, lon=lon) for i, n, c, lat, lon in CITIES]


@pytest.fixture(scope="module")
def model() -> Model:
    return Model.fit(nodes(), LINKS, seed=3)


def ids(candidates) -> list[int]:
    return [c.city_id for c in candidates]


def test_shared_twins_rank_first_with_their_reason(model: Model) -> None:
    top = model.rank(1, limit=3)
    assert top[0].city_id == 4  # Turkmenabat shares Kiel and Bergamo with Kostroma
    reason = next(r for r in top[0].reasons if r.code == "shared_twins")
    assert reason.params == {"count": 2, "city": "Kostroma"}
    assert reason.text == "twinned with 2 of Kostroma's twins"
    assert reason.weight > 0


def test_country_pairs_that_twin_rank_above_those_that_do_not(model: Model) -> None:
    # Tver (RU) has one Turkmen twin; Russian cities twin with Turkmen ones, not Kazakh.
    ranked = ids(model.rank(15, countries=["TM", "KZ"], limit=10))
    assert set(ranked[:3]) == {4, 5, 6}
    assert set(ranked[3:]) == {8, 9}
    mary = next(c for c in model.rank(15, countries=["TM"], limit=10) if c.city_id == 5)
    pair = next(r for r in mary.reasons if r.code == "country_pair")
    assert pair.params == {"count": 6, "country": "RU", "other_country": "TM"}
    assert pair.text == "cities in Russia and Turkmenistan have 6 twinnings"


def test_score_is_the_sum_of_the_reasons(model: Model) -> None:
    for city in (1, 4, 8, 13):
        every = model.scores(city)
        for c in model.rank(city, limit=14):
            assert c.score == pytest.approx(sum(r.weight for r in c.reasons), abs=1e-9)
            assert c.score == pytest.approx(every[c.city_id - 1], abs=0.01)
            assert [r.weight for r in c.reasons] == sorted((r.weight for r in c.reasons),
                                                           reverse=True)
            assert all(abs(r.weight) >= 1e-3 and r.text for r in c.reasons)
            assert len({r.code for r in c.reasons}) == len(c.reasons)


def test_never_itself_its_twins_or_the_excluded(model: Model) -> None:
    everyone = ids(model.rank(1, limit=100))
    assert 1 not in everyone and 2 not in everyone and 3 not in everyone
    assert len(everyone) == len(CITIES) - 3
    without = ids(model.rank(1, limit=100, exclude=[4, 13, 999]))
    assert without == [c for c in everyone if c not in (4, 13)]
    assert ids(model.rank(1, limit=2)) == everyone[:2]


def test_countries_filter(model: Model) -> None:
    assert set(ids(model.rank(1, countries=["JP"], limit=10))) == {13, 14}
    assert model.rank(1, countries=["RU"], exclude=[10, 11, 12, 15]) == []
    assert model.rank(1, countries=["XX"]) == []
    assert model.rank(1, countries=[]) == []


def test_a_city_without_twins_gets_candidates_from_what_is_known() -> None:
    extra = Node(id=99, name="Nerekhta", country="RU", lat=57.45, lon=40.57)
    bare = Node(id=98, name="Nowhere", country="", lat=None, lon=None)
    m = Model.fit([*nodes(), extra, bare], LINKS)
    top = m.rank(99, countries=["TM", "KZ", "JP"], limit=10)
    assert len(top) == 8  # four Turkmen, two Kazakh, two Japanese cities
    assert top[0].city_id in {4, 5, 6, 7}  # Russian and Turkmen cities twin
    codes = {r.code for r in top[0].reasons}
    assert "country_pair" in codes and "distance" in codes
    assert "shared_twins" not in codes
    distance = next(r for r in top[0].reasons if r.code == "distance")
    assert distance.text.endswith(" km away") and distance.params["km"] > 1000
    assert len(m.rank(98, limit=100)) == len(CITIES) + 1  # all but itself
    with pytest.raises(KeyError):
        m.rank(12345)


def test_population_is_a_reason_when_both_are_known() -> None:
    base = nodes()
    with_pop = [Node(n.id, n.name, n.country, n.lat, n.lon, population=300_000) for n in base]
    m = Model.fit(with_pop, LINKS)
    m.weights[FEATURES.index("population")] = 1.0  # too few pairs to learn it here
    c = m.rank(15, countries=["TM"], limit=1)[0]
    assert "population" not in {r.code for r in c.reasons}  # equal: a gap of 0 adds nothing
    smaller = [Node(n.id, n.name, n.country, n.lat, n.lon,
                    population=30_000 if n.id == 5 else 300_000) for n in base]
    m = Model.fit(smaller, LINKS)
    m.weights[FEATURES.index("population")] = 1.0
    mary = next(c for c in m.rank(15, countries=["TM"], limit=4) if c.city_id == 5)
    pop = next(r for r in mary.reasons if r.code == "population")
    assert pop.weight == pytest.approx(-math.log(10), abs=1e-5)
    assert pop.text == "population 10 times smaller"


def test_bytes_round_trip_ranks_the_same(model: Model) -> None:
    data = model.to_bytes()
    assert isinstance(data, bytes) and len(data) < 2000
    again = Model.from_bytes(data)
    for city in (1, 4, 9, 15):
        a, b = model.rank(city, limit=20), again.rank(city, limit=20)
        assert ids(a) == ids(b)
        assert [c.score for c in a] == pytest.approx([c.score for c in b], abs=1e-12)
        assert [r.text for r in a[0].reasons] == [r.text for r in b[0].reasons]
    with pytest.raises(ValueError):
        Model.from_bytes(_other_format(data))


def _other_format(data: bytes) -> bytes:
    import json
    import zlib

    payload = json.loads(zlib.decompress(data))
    payload["format"] = 0
    return zlib.compress(json.dumps(payload).encode())


def test_fit_is_deterministic_for_a_seed() -> None:
    a = Model.fit(nodes(), LINKS, seed=1).to_bytes()
    assert Model.fit(nodes(), LINKS, seed=1).to_bytes() == a


SNAPSHOT = Path(os.environ.get("TWINPLAN_TWINNINGS_DIR", "/work/shared/data/twinnings"))


@pytest.mark.slow
@pytest.mark.skipif(not (SNAPSHOT / "links.csv").exists(), reason="no twinnings snapshot")
def test_on_the_real_network_the_model_beats_adamic_adar() -> None:
    """A seeded 10% split of the Wikidata network, 300 sampled queries (about 15 s)."""
    from bench.candidates import Heuristics, evaluate, load, split

    net = load(SNAPSHOT)
    train, hidden = split(net.links, 0.1, 7)
    rng = np.random.default_rng(7)
    pairs = [hidden[i] for i in rng.choice(len(hidden), 150, replace=False)]
    queries = [(a, b) for a, b in pairs] + [(b, a) for a, b in pairs]
    heur = Heuristics(len(net.nodes), train)
    tiebreak = rng.permutation(len(net.nodes))
    model = Model.fit(net.nodes, train, seed=7)
    _, aa10, aa_mrr = evaluate(heur.methods()["Adamic-Adar"], queries, heur, tiebreak)
    _, mine10, mine_mrr = evaluate(model.scores, queries, heur, tiebreak)
    assert mine10 > aa10 and mine_mrr > aa_mrr


# Tutayev, 30 km from Yaroslavl (which twins with Mary and Balkanabat), has no twins.
TUTAYEV = Node(id=20, name="Tutayev", country="RU", lat=57.88, lon=39.53)


def test_region_alike_and_usual_distance_reasons() -> None:
    m = Model.fit([*nodes(), TUTAYEV], LINKS)
    mary = next(c for c in m.rank(20, limit=20) if c.city_id == 5)
    by_code = {r.code: r for r in mary.reasons}
    region = by_code["region"]
    assert region.params == {"count": 1, "km": 50, "city": "Tutayev"}
    assert region.text == "cities within 50 km of Tutayev and of Mary have one twinning"
    assert region.weight > 0
    alike = by_code["alike"]
    assert alike.params["count"] == 2 and alike.params["city_count"] == 0
    assert alike.text.startswith("has 2 twins; its twins have about ")
    assert alike.text.endswith(", Tutayev 0")
    usual = by_code["usual_distance"]
    assert usual.params == {"km": 2800, "its_twins_km": 2800}
    assert usual.text == "its twins are typically 2,800 km from it, Tutayev 2,800 km"
    # Kiel is not near Yaroslavl or Tutayev: no region reason.
    kiel = next(c for c in m.rank(20, limit=20) if c.city_id == 2)
    assert "region" not in {r.code for r in kiel.reasons}


def test_a_city_without_twins_is_told_so() -> None:
    m = Model.fit([*nodes(), TUTAYEV], LINKS)
    tutayev = next(c for c in m.rank(1, limit=20) if c.city_id == 20)
    popular = next(r for r in tutayev.reasons if r.code == "popular")
    assert popular.params == {"count": 0} and popular.text == "has no twins yet"
    alike = next(r for r in tutayev.reasons if r.code == "alike")
    assert alike.text == "has 0 twins, Kostroma's twins about 2"


def test_a_city_added_later_ranks_as_if_built_with_it() -> None:
    m = Model.fit(nodes(), LINKS)
    m.rank(10)  # finds the neighbours, which with_node then extends
    later = m.with_node(TUTAYEV)
    built = Model.fit([*nodes(), TUTAYEV], LINKS)
    for city in (20, 10, 5):
        a, b = later.rank(city, limit=20), built.rank(city, limit=20)
        assert ids(a) == ids(b)
        assert [c.score for c in a] == pytest.approx([c.score for c in b], abs=1e-9)
