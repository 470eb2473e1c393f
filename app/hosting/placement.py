"""Placing guests with host families: the rules, the solver and the explanations.

Pure functions over plain values (``Guest``, ``Family``, ``Rules``): no database,
so the tests and the benchmark run them as the service does.

Hard rules (never broken): every guest has exactly one family; a family takes at
most its places; a guest allergic to pets or smoke never stays with a family
that has them; a family caters for every diet the guest needs (an allergy to
nuts, gluten or lactose needs the matching diet); siblings stay together; with
``min_minors_per_family`` 2, a family hosting a minor hosts at least two; a
pinned guest stays with the family a coordinator chose.

Soft rules (maximised, by weight): a language the guest and the family share;
a guest's wish to stay with another (``prefers_with``); the family a guest had
in the previous proposal; and as few families as possible (so that the spare
families stay free for the next exchange).

The model is OR-Tools CP-SAT, run on one worker with a fixed seed: the same
instance always gets the same placement, within the time limit. When no
placement exists, a second model places as many guests as it can under the same
hard rules; those it leaves out are the ones reported, each with its reasons.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.hosting.models import ALLERGY_DIETS, Allergy, Diet

if TYPE_CHECKING:
    # Imported where a placement is solved: OR-Tools brings numpy and pandas, about
    # 100 MiB and seconds of start-up that every server worker would pay for a
    # model it builds only when a coordinator asks for a placement.
    from ortools.sat.python import cp_model

# Weights of the soft rules.
LANGUAGE_WEIGHT = 4
PREFERS_WEIGHT = 3
STAY_WEIGHT = 2
FAMILY_WEIGHT = 1
SEED = 20261201


@dataclass(frozen=True)
class Family:
    id: int
    name: str
    places: int
    pets: bool = False
    smoking: bool = False
    diets: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Guest:
    id: int
    name: str
    is_minor: bool = True
    allergies: frozenset[str] = frozenset()
    diets: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    prefers_with: int | None = None
    sibling_of: int | None = None
    pinned_family: int | None = None

    def needed_diets(self) -> frozenset[str]:
        """The diets asked for, and those the allergies call for."""
        implied = {str(ALLERGY_DIETS[Allergy(a)]) for a in self.allergies
                   if Allergy(a) in ALLERGY_DIETS}
        return self.diets | implied


@dataclass(frozen=True)
class Rules:
    min_minors_per_family: int = 1
    time_limit_seconds: float = 5.0


@dataclass(frozen=True)
class Words:
    """One reason or explanation, in English and Russian, with a code for programs."""

    code: str
    en: str
    ru: str


@dataclass
class Outcome:
    """A placement (``assignment``: guest id -> family id), or ``unplaced`` guests
    (guest id -> reasons) when there is none."""

    assignment: dict[int, int] = field(default_factory=dict)
    unplaced: dict[int, list[str]] = field(default_factory=dict)
    status: str = "optimal"

    @property
    def feasible(self) -> bool:
        return not self.unplaced


# Vocabulary in words ----------------------------------------------------------------

LANGUAGE_NAMES: dict[str, tuple[str, str]] = {
    "en": ("English", "английский"), "ru": ("Russian", "русский"),
    "tk": ("Turkmen", "туркменский"), "de": ("German", "немецкий"),
    "fr": ("French", "французский"), "it": ("Italian", "итальянский"),
    "es": ("Spanish", "испанский"), "uz": ("Uzbek", "узбекский"),
    "tr": ("Turkish", "турецкий"), "kk": ("Kazakh", "казахский"),
    "ky": ("Kyrgyz", "киргизский"), "tg": ("Tajik", "таджикский"),
    "uk": ("Ukrainian", "украинский"), "hy": ("Armenian", "армянский"),
    "el": ("Greek", "греческий"), "cs": ("Czech", "чешский"),
    "zh": ("Chinese", "китайский"), "ar": ("Arabic", "арабский"),
    "fa": ("Persian", "персидский"), "pl": ("Polish", "польский"),
}

DIET_NAMES: dict[str, tuple[str, str]] = {
    Diet.vegetarian: ("vegetarian", "вегетарианское"), Diet.vegan: ("vegan", "веганское"),
    Diet.halal: ("halal", "халяльное"), Diet.kosher: ("kosher", "кошерное"),
    Diet.gluten_free: ("gluten-free", "без глютена"),
    Diet.lactose_free: ("lactose-free", "без лактозы"), Diet.nut_free: ("nut-free", "без орехов"),
}


def _language(code: str) -> tuple[str, str]:
    return LANGUAGE_NAMES.get(code, (code, code))


def _diet(code: str) -> tuple[str, str]:
    return DIET_NAMES.get(code, (code, code))


# Hard rules of one guest with one family ------------------------------------------


def unmet(guest: Guest, family: Family) -> list[Words]:
    """What keeps this guest from this family, whoever else stays there."""
    out = []
    if Allergy.pets in guest.allergies and family.pets:
        out.append(Words("pets", "the family has pets (allergy)",
                         "в семье есть домашние животные (аллергия)"))
    if Allergy.smoke in guest.allergies and family.smoking:
        out.append(Words("smoking", "someone smokes in the family (allergy)",
                         "в семье курят (аллергия)"))
    for diet in sorted(guest.needed_diets() - family.diets):
        en, ru = _diet(diet)
        out.append(Words("diet", f"the family cannot cater {en}",
                         f"семья не обеспечит питание: {ru}"))
    return out


def _no_family_for(guest: Guest, families: Sequence[Family]) -> list[str]:
    """Why no family at all suits this guest: each need that no family meets on its
    own, or, when each is met somewhere, that none meets them all."""
    if not families:
        return ["there are no host families to place with"]
    reasons = []
    if Allergy.pets in guest.allergies and all(f.pets for f in families):
        reasons.append("no family without pets (allergy to pets)")
    if Allergy.smoke in guest.allergies and all(f.smoking for f in families):
        reasons.append("no family without smokers (allergy to smoke)")
    for diet in sorted(guest.needed_diets()):
        if all(diet not in f.diets for f in families):
            reasons.append(f"no family caters {_diet(diet)[0]}")
    return reasons or ["no family meets all of this guest's needs together "
                       "(allergies and diets)"]


def sibling_groups(guests: Sequence[Guest]) -> list[list[int]]:
    """Guests who are siblings of each other, as groups (each of two or more),
    sorted; a ``sibling_of`` naming someone who is not a guest is ignored."""
    parent = {g.id: g.id for g in guests}

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for g in guests:
        if g.sibling_of is not None and g.sibling_of in parent:
            a, b = root(g.id), root(g.sibling_of)
            parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for g in guests:
        groups.setdefault(root(g.id), []).append(g.id)
    return sorted(sorted(m) for m in groups.values() if len(m) > 1)


# Checking a placement ----------------------------------------------------------------


def violations(assignment: Mapping[int, int], guests: Sequence[Guest],
               families: Sequence[Family], rules: Rules) -> dict[int, list[str]]:
    """Every hard rule a (complete) placement breaks, per guest: what a coordinator's
    move is checked against, and what the tests hold the solver to."""
    by_id = {f.id: f for f in families}
    out: dict[int, list[str]] = {}

    def add(guest_id: int, reason: str) -> None:
        out.setdefault(guest_id, []).append(reason)

    hosted: dict[int, list[Guest]] = {}
    for g in guests:
        family = by_id.get(assignment.get(g.id, -1))
        if family is None:
            add(g.id, "has no family")
            continue
        hosted.setdefault(family.id, []).append(g)
        for words in unmet(g, family):
            add(g.id, f"{family.name}: {words.en}")
    for family_id, there in hosted.items():
        family = by_id[family_id]
        if len(there) > family.places:
            for g in there:
                add(g.id, f"{family.name} has {family.places} places for {len(there)} guests")
        minors = [g for g in there if g.is_minor]
        if minors and len(minors) < rules.min_minors_per_family:
            for g in minors:
                add(g.id, f"the only minor with {family.name} (a minor is not placed alone)")
    names = {g.id: g.name for g in guests}
    for group in sibling_groups(guests):
        if len({assignment.get(m) for m in group}) > 1:
            together = ", ".join(names[m] for m in group)
            for m in group:
                add(m, f"siblings apart ({together})")
    return out


# Solving -----------------------------------------------------------------------------


@dataclass
class _Model:
    model: cp_model.CpModel
    x: dict[tuple[int, int], cp_model.IntVar]
    placed: dict[int, cp_model.LinearExpr]
    used: dict[int, cp_model.IntVar]


def _candidates(guests: Sequence[Guest], families: Sequence[Family]
                ) -> dict[int, list[int]]:
    """The families each guest may stay with at all (allergies, diets, pins)."""
    out = {}
    for g in guests:
        ok = [f.id for f in families if not unmet(g, f)]
        if g.pinned_family is not None:
            ok = [f for f in ok if f == g.pinned_family]
        out[g.id] = ok
    return out


def _build(guests: Sequence[Guest], families: Sequence[Family], rules: Rules,
           candidates: Mapping[int, list[int]], *, partial: bool) -> _Model:
    """The hard rules as a CP-SAT model. ``partial``: a guest may stay unplaced
    (the model that finds who cannot be placed); otherwise each is placed."""
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    x = {(g.id, f): model.new_bool_var(f"x_{g.id}_{f}")
         for g in guests for f in candidates[g.id]}
    placed: dict[int, cp_model.LinearExpr] = {}
    for g in guests:
        total = sum(x[g.id, f] for f in candidates[g.id])
        placed[g.id] = total  # type: ignore[assignment]
        if partial:
            model.add(total <= 1)
        else:
            model.add(total == 1)
    minors = {g.id for g in guests if g.is_minor}
    used: dict[int, cp_model.IntVar] = {}
    for family in families:
        here = {g.id: x[g.id, family.id] for g in guests if (g.id, family.id) in x}
        if not here:
            continue
        used[family.id] = model.new_bool_var(f"used_{family.id}")
        for v in here.values():
            model.add_implication(v, used[family.id])
        # Capacity, stated with ``used``: the tighter form proves optimality sooner.
        model.add(sum(here.values()) <= family.places * used[family.id])
        model.add(sum(here.values()) >= used[family.id])
        minors_here = [v for g, v in here.items() if g in minors]
        if rules.min_minors_per_family > 1 and minors_here:
            hosts_minor = used[family.id]
            if len(minors_here) < len(here):
                hosts_minor = model.new_bool_var(f"minor_{family.id}")
                for v in minors_here:
                    model.add_implication(v, hosts_minor)
            model.add(sum(minors_here) >= rules.min_minors_per_family * hosts_minor)
    for group in sibling_groups(guests):
        first, rest = group[0], group[1:]
        for other in rest:
            for f in sorted({*candidates[first], *candidates[other]}):
                a, b = x.get((first, f)), x.get((other, f))
                if a is not None and b is not None:
                    model.add(a == b)
                elif a is not None:
                    model.add(a == 0)
                elif b is not None:
                    model.add(b == 0)
    return _Model(model, x, placed, used)


def _wishes(guests: Sequence[Guest]) -> dict[tuple[int, int], int]:
    """Each pair of guests one or both of whom wish to stay together: how many wish it."""
    ids = {g.id for g in guests}
    pairs: dict[tuple[int, int], int] = {}
    for g in guests:
        other = g.prefers_with
        if other is not None and other in ids and other != g.id:
            key = (min(g.id, other), max(g.id, other))
            pairs[key] = pairs.get(key, 0) + 1
    return pairs


def _together(m: _Model, a: int, b: int) -> cp_model.IntVar:
    """A variable that is true only if guests ``a`` and ``b`` share a family."""
    both = m.model.new_bool_var(f"together_{a}_{b}")
    families = {f for (_, f) in m.x}
    for f in sorted(families):
        va, vb = m.x.get((a, f)), m.x.get((b, f))
        if va is not None and vb is not None:
            m.model.add(va == vb).only_enforce_if(both)
        elif va is not None:
            m.model.add(va == 0).only_enforce_if(both)
    return both


def _objective(m: _Model, guests: Sequence[Guest], families: Sequence[Family],
               previous: Mapping[int, int]) -> None:
    by_id = {f.id: f for f in families}
    terms: list[cp_model.LinearExprT] = []
    for g in guests:
        for f_id in (f for (gi, f) in m.x if gi == g.id):
            var = m.x[g.id, f_id]
            if g.languages & by_id[f_id].languages:
                terms.append(LANGUAGE_WEIGHT * var)
            if previous.get(g.id) == f_id:
                terms.append(STAY_WEIGHT * var)
    for (a, b), wishes in sorted(_wishes(guests).items()):
        terms.append(PREFERS_WEIGHT * wishes * _together(m, a, b))
    terms += [-FAMILY_WEIGHT * u for u in m.used.values()]
    m.model.maximize(sum(terms))


def _solver(rules: Rules) -> cp_model.CpSolver:
    from ortools.sat.python import cp_model

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = rules.time_limit_seconds
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = SEED
    return solver


def _sorted(guests: Iterable[Guest], families: Iterable[Family]
            ) -> tuple[list[Guest], list[Family]]:
    return sorted(guests, key=lambda g: g.id), sorted(families, key=lambda f: f.id)


def solve(guests: Sequence[Guest], families: Sequence[Family], rules: Rules,
          previous: Mapping[int, int] | None = None) -> Outcome:
    """The best placement found within the time limit, or who cannot be placed and why.

    ``previous``: each guest's family in the last proposal (kept where nothing
    better is found)."""
    from ortools.sat.python import cp_model

    guests, families = _sorted(guests, families)
    candidates = _candidates(guests, families)
    m = _build(guests, families, rules, candidates, partial=False)
    _objective(m, guests, families, previous or {})
    solver = _solver(rules)
    status = solver.solve(m.model)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        assignment = {g: f for (g, f), var in m.x.items() if solver.boolean_value(var)}
        return Outcome(assignment=assignment,
                       status="optimal" if status == cp_model.OPTIMAL else "feasible")
    return Outcome(unplaced=_who_cannot_be_placed(guests, families, rules, candidates),
                   status="infeasible" if status == cp_model.INFEASIBLE else "unknown")


def _who_cannot_be_placed(guests: list[Guest], families: list[Family], rules: Rules,
                          candidates: Mapping[int, list[int]]) -> dict[int, list[str]]:
    """The guests left out when as many as possible are placed, each with why."""
    names = {g.id: g.name for g in guests}
    by_id = {f.id: f for f in families}
    reasons: dict[int, list[str]] = {}
    for g in guests:
        if g.pinned_family is not None and g.pinned_family in by_id and not candidates[g.id]:
            family = by_id[g.pinned_family]
            reasons[g.id] = [f"pinned to {family.name}, but "
                             + "; ".join(w.en for w in unmet(g, family))]
        elif g.pinned_family is not None and g.pinned_family not in by_id:
            reasons[g.id] = ["pinned to a family that is not among those to place with"]
        elif not candidates[g.id]:
            reasons[g.id] = _no_family_for(g, families)
    for group in sibling_groups(guests):
        common = set.intersection(*(set(candidates[m]) for m in group))
        together = ", ".join(names[m] for m in group)
        if not common:
            apart = f"no family suits all the siblings together ({together})"
        elif max(by_id[f].places for f in common) < len(group):
            apart = (f"no family that suits the siblings ({together}) has "
                   f"{len(group)} places")
        else:
            continue
        for member in group:
            reasons.setdefault(member, []).append(apart)
    m = _build(guests, families, rules, candidates, partial=True)
    m.model.maximize(sum(m.placed.values()))
    solver = _solver(rules)
    solver.solve(m.model)
    left_out = [g for g in guests
                if not any(solver.boolean_value(m.x[g.id, f]) for f in candidates[g.id])]
    places = sum(f.places for f in families)
    for g in left_out:
        if g.id in reasons:
            continue
        why = [f"not enough places left in the families that suit them "
               f"({sum(by_id[f].places for f in candidates[g.id])} places, taken by others)"]
        if len(guests) > places:
            why.append(f"not enough places: {len(guests)} guests, {places} places")
        if g.is_minor and rules.min_minors_per_family > 1:
            why.append("or no second minor to stay with (a minor is not placed alone)")
        reasons[g.id] = why
    return reasons or {g.id: ["the rules together leave no placement"] for g in guests}


# Explanations --------------------------------------------------------------------------


def explain(guest: Guest, family: Family, assignment: Mapping[int, int],
            guests: Sequence[Guest]) -> list[Words]:
    """Why this guest is with this family, in words: the pin, siblings, the language,
    the wish honoured, and each need the family meets."""
    names = {g.id: g.name for g in guests}
    out: list[Words] = []
    if guest.pinned_family == family.id:
        out.append(Words("pinned", "pinned by a coordinator", "закреплён координатором"))
    for group in sibling_groups(guests):
        if guest.id in group:
            others = ", ".join(names[m] for m in group
                               if m != guest.id and assignment.get(m) == family.id)
            if others:
                out.append(Words("sibling", f"with sibling {others}",
                                 f"вместе с братом или сестрой: {others}"))
    for code in sorted(guest.languages & family.languages):
        en, ru = _language(code)
        out.append(Words("shared_language", f"speaks {en} with the family",
                         f"говорит с семьёй на языке: {ru}"))
    wish = guest.prefers_with
    if wish is not None and assignment.get(wish) == family.id and wish in names:
        out.append(Words("prefers_with", f"with {names[wish]}, as wished",
                         f"вместе с {names[wish]}, по желанию"))
    if Allergy.pets in guest.allergies:
        out.append(Words("no_pets", "no pets (allergy)", "нет домашних животных (аллергия)"))
    if Allergy.smoke in guest.allergies:
        out.append(Words("no_smoking", "nobody smokes (allergy)", "в доме не курят (аллергия)"))
    for diet in sorted(guest.needed_diets()):
        en, ru = _diet(diet)
        out.append(Words("diet", f"the family cooks {en}", f"питание в семье: {ru}"))
    return out
