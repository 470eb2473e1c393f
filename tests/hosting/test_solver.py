"""The placement solver on generated exchanges: every hard rule holds in what it
proposes, and when it says "infeasible", trying every assignment agrees."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.hosting.placement import (
    Family,
    Guest,
    Rules,
    explain,
    sibling_groups,
    solve,
    unmet,
    violations,
)

ALLERGIES = ["pets", "smoke", "nuts", "gluten"]
DIETS = ["vegetarian", "halal", "nut_free", "gluten_free"]
LANGUAGES = ["en", "ru", "tk"]


def _subset(values: list[str]) -> st.SearchStrategy[frozenset[str]]:
    return st.frozensets(st.sampled_from(values), max_size=2)


@st.composite
def exchanges(draw: st.DrawFn, max_guests: int = 6, max_families: int = 4
              ) -> tuple[list[Guest], list[Family], Rules]:
    """A small exchange: families with places and habits, guests with needs, siblings,
    wishes and pins (sometimes to a family that cannot take them)."""
    families = [
        Family(id=100 + i, name=f"Family {i}", places=draw(st.integers(1, 3)),
               pets=draw(st.booleans()), smoking=draw(st.booleans()),
               diets=draw(_subset(DIETS)), languages=draw(_subset(LANGUAGES)))
        for i in range(draw(st.integers(0, max_families)))
    ]
    n = draw(st.integers(1, max_guests))
    ids = list(range(1, n + 1))
    guests = []
    for i in ids:
        others = [j for j in ids if j != i]
        guests.append(Guest(
            id=i, name=f"Guest {i}", is_minor=draw(st.booleans()),
            allergies=draw(st.frozensets(st.sampled_from(ALLERGIES), max_size=2)),
            diets=draw(st.frozensets(st.sampled_from(DIETS), max_size=1)),
            languages=draw(_subset(LANGUAGES)),
            prefers_with=draw(st.none() | st.sampled_from(others)) if others else None,
            sibling_of=(draw(st.none() | st.none() | st.sampled_from(others))
                        if others else None),
            pinned_family=(draw(st.none() | st.none() | st.none()
                                | st.sampled_from([f.id for f in families]))
                           if families else None),
        ))
    rules = Rules(min_minors_per_family=draw(st.sampled_from([1, 2])), time_limit_seconds=5)
    return guests, families, rules


def brute_force_feasible(guests: list[Guest], families: list[Family], rules: Rules) -> bool:
    """Whether any assignment at all keeps every hard rule, pins included."""
    for choice in itertools.product([f.id for f in families], repeat=len(guests)):
        assignment = {g.id: f for g, f in zip(guests, choice, strict=True)}
        if any(g.pinned_family not in (None, assignment[g.id]) for g in guests):
            continue
        if not violations(assignment, guests, families, rules):
            return True
    return False


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(exchanges())
def test_a_placement_keeps_every_hard_rule_or_none_exists(
    exchange: tuple[list[Guest], list[Family], Rules],
) -> None:
    guests, families, rules = exchange
    outcome = solve(guests, families, rules)
    if outcome.feasible:
        assert set(outcome.assignment) == {g.id for g in guests}
        assert violations(outcome.assignment, guests, families, rules) == {}
        for g in guests:
            assert g.pinned_family in (None, outcome.assignment[g.id])
    else:
        assert not brute_force_feasible(guests, families, rules)
        assert outcome.unplaced and all(outcome.unplaced.values())
        assert set(outcome.unplaced) <= {g.id for g in guests}


@settings(max_examples=40, deadline=None)
@given(exchanges(max_guests=8, max_families=5))
def test_the_same_exchange_gets_the_same_placement(
    exchange: tuple[list[Guest], list[Family], Rules],
) -> None:
    guests, families, rules = exchange
    first = solve(guests, families, rules)
    again = solve(list(reversed(guests)), list(reversed(families)), rules)
    assert (first.assignment, first.unplaced) == (again.assignment, again.unplaced)


def test_an_allergic_guest_is_never_with_pets_and_says_so() -> None:
    cat = Family(1, "Orazov", places=2, pets=True, languages=frozenset({"ru"}))
    clean = Family(2, "Atayev", places=2, languages=frozenset({"en", "tk"}))
    ava = Guest(10, "Ava Begay", allergies=frozenset({"pets"}), languages=frozenset({"en"}))
    mia = Guest(11, "Mia Lucero", languages=frozenset({"ru"}))
    outcome = solve([ava, mia], [cat, clean], Rules())
    assert outcome.assignment[10] == 2
    words = {w.code: w for w in explain(ava, clean, outcome.assignment, [ava, mia])}
    assert words["no_pets"].en == "no pets (allergy)"
    assert words["shared_language"].en == "speaks English with the family"
    assert words["shared_language"].ru == "говорит с семьёй на языке: английский"
    assert [w.code for w in unmet(ava, cat)] == ["pets"]


def test_siblings_stay_together_and_the_explanation_names_them() -> None:
    small = Family(1, "Small", places=1, languages=frozenset({"en"}))
    big = Family(2, "Big", places=2)
    ann = Guest(1, "Ann", languages=frozenset({"en"}))
    bob = Guest(2, "Bob", sibling_of=1)
    outcome = solve([ann, bob], [small, big], Rules())
    assert outcome.assignment == {1: 2, 2: 2}
    assert sibling_groups([ann, bob]) == [[1, 2]]
    texts = [w.en for w in explain(ann, big, outcome.assignment, [ann, bob])]
    assert "with sibling Bob" in texts


def test_a_minor_is_not_placed_alone_when_the_rule_says_two() -> None:
    families = [Family(1, "A", places=2), Family(2, "B", places=2)]
    minors = [Guest(i, f"Minor {i}") for i in (1, 2)]
    alone = solve(minors, families, Rules(min_minors_per_family=1))
    together = solve(minors, families, Rules(min_minors_per_family=2))
    assert len(set(alone.assignment.values())) == 1  # fewest families anyway
    assert len(set(together.assignment.values())) == 1
    one = solve(minors[:1], families, Rules(min_minors_per_family=2))
    assert not one.feasible
    assert "a minor is not placed alone" in " ".join(one.unplaced[1])


def test_wishes_and_shared_languages_are_honoured_where_they_can_be() -> None:
    families = [Family(1, "Russian", places=2, languages=frozenset({"ru"})),
                Family(2, "Turkmen", places=2, languages=frozenset({"tk"}))]
    guests = [Guest(1, "A", languages=frozenset({"tk"}), prefers_with=2),
              Guest(2, "B", languages=frozenset({"tk"})),
              Guest(3, "C", languages=frozenset({"ru"})),
              Guest(4, "D", languages=frozenset({"ru"}))]
    outcome = solve(guests, families, Rules())
    assert outcome.assignment == {1: 2, 2: 2, 3: 1, 4: 1}
    words = [w.en for w in explain(guests[0], families[1], outcome.assignment, guests)]
    assert "with B, as wished" in words


def test_the_reasons_name_what_no_family_offers() -> None:
    families = [Family(1, "Cats", places=3, pets=True, diets=frozenset({"halal"}))]
    guests = [Guest(1, "Allergic", allergies=frozenset({"pets"})),
              Guest(2, "Vegan", diets=frozenset({"vegan"})),
              Guest(3, "Nuts", allergies=frozenset({"nuts"})),
              Guest(4, "Fine")]
    outcome = solve(guests, families, Rules())
    assert not outcome.feasible
    assert outcome.unplaced[1] == ["no family without pets (allergy to pets)"]
    assert outcome.unplaced[2] == ["no family caters vegan"]
    assert outcome.unplaced[3] == ["no family caters nut-free"]
    assert 4 not in outcome.unplaced


def test_too_few_places_says_so() -> None:
    families = [Family(1, "One", places=1)]
    outcome = solve([Guest(1, "A"), Guest(2, "B")], families, Rules())
    assert not outcome.feasible
    [(who, why)] = outcome.unplaced.items()
    assert "not enough places: 2 guests, 1 places" in why


def test_a_pin_to_an_unsuitable_family_is_the_reason() -> None:
    families = [Family(1, "Smokers", places=2, smoking=True), Family(2, "Clean", places=2)]
    outcome = solve([Guest(1, "A", allergies=frozenset({"smoke"}), pinned_family=1)],
                    families, Rules())
    assert outcome.unplaced == {
        1: ["pinned to Smokers, but someone smokes in the family (allergy)"]}


def test_no_families_at_all_is_said_once() -> None:
    outcome = solve([Guest(1, "A", allergies=frozenset({"pets"}))], [], Rules())
    assert outcome.unplaced == {1: ["there are no host families to place with"]}
