"""Lighthouse (npm, run with Debian's Chromium) on the home and event pages, signed
in: accessibility and best practices at 100, performance at 95 or more. The scores
are printed; build/lighthouse holds the figures of the last run.

Accessibility and best practices are facts of the page. Performance is a timing: on
a shared machine, other work can only slow a run, never speed it, so the page's
performance is the best of up to three runs (as ``timeit`` reports the fastest),
and a page that is really slower fails all three."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.console.conftest import LIGHTHOUSE, PASSWORD, SCREENSHOTS, lighthouse

PERFORMANCE = 95


def _cookies(world, who: str) -> dict[str, str]:
    r = httpx.post(f"{world.base}/api/v1/session",
                   json={"email": world.emails[who], "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"twinplan_session": r.cookies["twinplan_session"], "twinplan_signed_in": "1"}


@pytest.mark.alone
@pytest.mark.parametrize("view", ["home", "event"])
def test_lighthouse_scores(world, view):
    assert LIGHTHOUSE.exists(), "run `make js-deps`"
    path = "/console/"
    if view == "event":
        event = world.event("volgograd", title="Lighthouse exchange", capacity=20)
        path = f"/console/events/{event['id']}"
    runs = [lighthouse(f"{world.base}{path}", _cookies(world, "volgograd"))]
    while runs[-1]["performance"] < PERFORMANCE and len(runs) < 3:
        runs.append(lighthouse(f"{world.base}{path}", _cookies(world, "volgograd")))
    scores = max(runs, key=lambda run: run["performance"])
    # The page itself, signed in: not the sign-in page it would send a stranger to.
    assert scores.pop("final_url") == f"{world.base}{path}", scores
    out = SCREENSHOTS.parent / "lighthouse"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{view}.json").write_text(json.dumps(scores))
    print(f"lighthouse {view}: {scores} (performance in {len(runs)} runs: "
          f"{[run['performance'] for run in runs]})")
    assert scores["accessibility"] == 100, scores
    assert scores["best-practices"] == 100, scores
    assert scores["performance"] >= PERFORMANCE, [run["performance"] for run in runs]
