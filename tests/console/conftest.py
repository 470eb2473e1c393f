"""The coordinator console in a real browser: Debian's Chromium, driven by Playwright.

One real server (``twinplan serve``) on a fresh database of the suite's kind
(SQLite, or PostgreSQL with TWINPLAN_TEST_DATABASE_URL), seeded with the demo
cities, twinnings and exchanges, and with people who sign in with a password:

- ``volgograd``: Elena Sokolova, coordinator of Volgograd;
- ``kostroma``: Ivan Smirnov, coordinator of Kostroma and of Volgograd (he has
  the city switcher);
- ``coventry``: Sarah Hughes, coordinator of Coventry;
- ``admin``: Ada Admin, administrator;
- ``pavel``: Pavel Orlov, partner of Volgograd (the people page ends his membership);
- ``nina``: Nina Volkova, coordinator of Coventry (the account page turns her second
  factor on).

Every page a test opens fails the test if the browser logged an error or a
script threw (``console.error``, uncaught exceptions, failed requests to
another host, which are refused as a city hall intranet would).
Tests make their own events through ``world.api(user)`` so that they do not
depend on each other.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlmodel import Session

from app.accounts import service as accounts
from app.cities.demo import seed_demo
from app.core import clock
from app.core.actors import Role
from app.core.db import make_engine
from app.events.demo import seed_demo_events
from app.twins import service as twins
from tests.servers import running_server, scratch_database

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HERE = Path(__file__).resolve().parent
JS = HERE / "js"
AXE = JS / "node_modules" / "axe-core" / "axe.min.js"
LIGHTHOUSE = JS / "node_modules" / ".bin" / "lighthouse"
#: Where screenshots go: every view at 1280x900 and 375x800, each run.
SCREENSHOTS = Path(
    os.environ.get("TWINPLAN_SCREENSHOTS", HERE.parent.parent / "build" / "screenshots"))
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 800}
PASSWORD = "twin-cities-1957"  # noqa: S105 (test accounts on a scratch database)

if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip("Chromium is not installed (CI installs it)", allow_module_level=True)

PEOPLE: dict[str, tuple[str, str, list[tuple[Role, str | None]]]] = {
    "volgograd": ("Elena Sokolova", "elena@volgograd.example", [(Role.coordinator, "Volgograd")]),
    "kostroma": ("Ivan Smirnov", "ivan@kostroma.example",
                 [(Role.coordinator, "Kostroma"), (Role.coordinator, "Volgograd")]),
    "coventry": ("Sarah Hughes", "sarah@coventry.example", [(Role.coordinator, "Coventry")]),
    "admin": ("Ada Admin", "ada@twinplan.example", [(Role.admin, None)]),
    "pavel": ("Pavel Orlov", "pavel@volgograd.example", [(Role.partner, "Volgograd")]),
    "nina": ("Nina Volkova", "nina@coventry.example", [(Role.coordinator, "Coventry")]),
}


@dataclass
class World:
    base: str
    city_ids: dict[str, int]
    emails: dict[str, str] = field(default_factory=dict)
    _clients: dict[str, httpx.Client] = field(default_factory=dict)

    def api(self, who: str) -> httpx.Client:
        """An HTTP client signed in as ``who`` (its cookie and CSRF header set)."""
        if who not in self._clients:
            r = httpx.post(f"{self.base}/api/v1/session",
                           json={"email": self.emails[who], "password": PASSWORD})
            assert r.status_code == 200, r.text
            # The cookie is Secure (the suite's public address is https), which
            # Chromium sends to 127.0.0.1 and httpx does not: send it by hand.
            self._clients[who] = httpx.Client(base_url=self.base, timeout=30, headers={
                "Cookie": f"twinplan_session={r.cookies['twinplan_session']}",
                "X-CSRF-Token": r.json()["csrf_token"]})
        return self._clients[who]

    @contextmanager
    def speaking(self, who: str, language: str) -> Iterator[None]:
        """``who``'s account in ``language`` for the block, and English again after it
        (the other tests expect it)."""
        self.api(who).patch("/api/v1/me", json={"language": language})
        try:
            yield
        finally:
            self.api(who).patch("/api/v1/me", json={"language": "en"})

    def event(self, who: str, **fields: Any) -> dict[str, Any]:
        """Creates an event as ``who``; ``host`` and ``guests`` are city names."""
        host = fields.pop("host", "Volgograd")
        guests = fields.pop("guests", ["Coventry"])
        body = {
            "kind": "school_exchange", "title": "Exchange", "status": "planned",
            "starts_at": "2027-06-14T09:00", "ends_at": "2027-06-18T17:00",
            "host_city_id": self.city_ids[host],
            "guest_city_ids": [self.city_ids[g] for g in guests],
        } | fields
        r = self.api(who).post("/api/v1/events", json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> Iterator[World]:
    with scratch_database(tmp_path_factory.mktemp("console")) as url:
        engine = make_engine(url)
        with Session(engine) as session:
            report = seed_demo(session)
            seed_demo_events(session, report.city_ids, clock.now().date())
            twins.build_model(session)  # the worker's job: the twin candidates
            emails = {}
            for who, (name, email, memberships) in PEOPLE.items():
                user = accounts.create_user(session, email=email, display_name=name,
                                            password=PASSWORD)
                for role, city in memberships:
                    accounts.add_membership(session, user, role,
                                            report.city_ids[city] if city else None)
                emails[who] = email
            session.commit()
            city_ids = dict(report.city_ids)
        engine.dispose()
        with running_server(url) as base:
            world = World(base, city_ids, emails)
            yield world
            for client in world._clients.values():
                client.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one test module. Not for the session: while Playwright's sync
    API runs it holds an event loop on this thread, and later tests that start
    their own (asyncio.run, another Playwright) would find it there."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM, "Chromium is required in CI"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"])
        yield browser
        browser.close()


class Console:
    """A browser tab on the console, signed in (or not), watched for errors."""

    def __init__(self, world: World, browser: Any, who: str | None, viewport: dict[str, int],
                 locale: str) -> None:
        self.world = world
        self.context = browser.new_context(viewport=viewport, locale=locale)
        self.errors: list[str] = []
        self.elsewhere: list[str] = []
        ours = urlsplit(world.base).netloc
        self.context.route("**/*", lambda route: self._route(route, ours))
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        if who is not None:
            r = self.context.request.post(f"{world.base}/api/v1/session", data=json.dumps({
                "email": world.emails[who], "password": PASSWORD}),
                headers={"Content-Type": "application/json"})
            assert r.ok, r.text()

    def _route(self, route: Any, ours: str) -> None:
        if urlsplit(route.request.url).netloc == ours:
            route.continue_()
        else:
            self.elsewhere.append(route.request.url)
            route.abort("internetdisconnected")

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(f"console.error: {message.text}")

    def goto(self, path: str) -> Any:
        """Opens a console address ("/console/events/4") and waits until it has rendered."""
        self.page.goto(f"{self.world.base}{path}")
        self.settled()
        return self.page

    def settled(self) -> None:
        """Waits until the view has rendered (main is no longer busy)."""
        self.page.wait_for_selector("main:not([aria-busy])", timeout=20_000)

    def expect_problem(self, status: int) -> None:
        """Marks a browser console error for an expected refusal (a 4xx the test
        provokes on purpose) as expected, so that it does not fail the test."""
        self.errors = [e for e in self.errors if f"status of {status}" not in e]

    def snap(self, name: str) -> list[Path]:
        """Screenshots of the page as it is, at 1280x900 and at 375x800 (full page)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        size = self.page.viewport_size
        paths = []
        for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            self.page.set_viewport_size(viewport)
            path = SCREENSHOTS / f"{name}-{label}.png"
            self.page.screenshot(path=str(path), full_page=True)
            paths.append(path)
        if size:
            self.page.set_viewport_size(size)
        return paths

    def axe(self) -> None:
        """axe-core on the page as it is: no violation, at any impact."""
        if not AXE.exists():
            raise AssertionError(f"{AXE} is missing: run `make js-deps`")
        # The page's CSP refuses injected scripts, as it should: evaluate axe's
        # source as a function body instead (evaluate runs outside the CSP).
        self.page.evaluate(AXE.read_text() + "\n;window.__axe = axe;")
        result = self.page.evaluate("""async () => {
            const r = await window.__axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
        }""")
        assert result == [], json.dumps(result, indent=1)

    def no_overflow(self) -> None:
        """Nothing makes the page scroll sideways (WCAG 1.4.10 reflow)."""
        width = self.page.evaluate("document.documentElement.scrollWidth")
        viewport = self.page.evaluate("window.innerWidth")
        assert width <= viewport, f"page is {width}px wide in a {viewport}px window"

    def close(self) -> None:
        self.context.close()
        assert self.elsewhere == [], f"the console asked other hosts for {self.elsewhere}"
        assert self.errors == [], "\n".join(self.errors)


@pytest.fixture
def console(world: World, browser: Any) -> Iterator[Callable[..., Console]]:
    """console("volgograd") opens a signed-in tab; console(None) an anonymous one.
    Options: viewport=PHONE, locale="ru-RU"."""
    opened: list[Console] = []

    def open_tab(who: str | None = "volgograd", *, viewport: dict[str, int] = DESKTOP,
                 locale: str = "en-GB") -> Console:
        tab = Console(world, browser, who, viewport, locale)
        opened.append(tab)
        return tab

    yield open_tab
    for tab in opened:
        tab.close()


def lighthouse(url: str, cookies: dict[str, str] | None = None) -> dict[str, float]:
    """Lighthouse (npm, with Debian's Chromium) on ``url``: category scores 0-100,
    the bytes transferred on that first load (``transferred_kb``) and the address
    it ended at (``final_url``, to prove it measured the page asked for).

    ``cookies`` are set in the browser itself (a header would not reach
    ``document.cookie``, where the console looks for its signed-in hint): Chromium
    runs with a debugging port under Playwright, which sets them, and Lighthouse
    connects to it (``--port``) and audits a new tab of that browser."""
    from playwright.sync_api import sync_playwright

    from tests.servers import free_port

    assert CHROMIUM
    port = free_port()
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=[
                f"--remote-debugging-port={port}", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--no-first-run"])
        try:
            if cookies:
                host = urlsplit(url).hostname or ""
                context.add_cookies([{"name": k, "value": v, "domain": host, "path": "/"}
                                     for k, v in cookies.items()])
            args = [str(LIGHTHOUSE), url, "--quiet", "--output=json", "--output-path=stdout",
                    "--only-categories=performance,accessibility,best-practices",
                    f"--port={port}",
                    # Keep the cookies just set (a reset clears the origin's cookies too);
                    # the cache is still cold: this profile has never loaded the page.
                    "--disable-storage-reset"]
            done = subprocess.run(args, capture_output=True, text=True, timeout=240,
                                  check=False)
        finally:
            context.close()
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    scores: dict[str, Any] = {
        name: round(c["score"] * 100) for name, c in report["categories"].items()}
    weight = report["audits"]["total-byte-weight"]["numericValue"]
    scores["transferred_kb"] = round(weight / 1024, 1)
    scores["final_url"] = report["finalDisplayedUrl"]
    return scores
