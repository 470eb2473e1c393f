"""The README's pictures of the console, taken from the demo that `make run` serves.

    .venv/bin/python -m tests.console.docs_images      # writes docs/console-*.png

A fresh SQLite database, `twinplan seed-demo --people`, a real server, Chromium;
signed in as the demo coordinator of Ashgabat, whose youth exchange has
everything a coordinator checks before departure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from tests.servers import running_server

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PASSWORD = "demo-pictures-1957"  # noqa: S105 (a throwaway database)


def main() -> None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "install Chromium (make test-tools)"
    twinplan = str(Path(sys.executable).with_name("twinplan"))
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/demo.db"
        env = os.environ | {"TWINPLAN_DATABASE_URL": url, "TWINPLAN_DEMO_PASSWORD": PASSWORD}
        for command in (["migrate"], ["seed-demo", "--people"]):
            subprocess.run([twinplan, *command], env=env, cwd=tmp, check=True,
                           capture_output=True)
        with running_server(url) as base, sync_playwright() as p:
            events = httpx.get(f"{base}/api/v1/events", params={"limit": 50}).json()["items"]
            youth = next(e for e in events if e["kind"] == "youth_exchange")
            ashgabat = youth["host_city_id"]
            month = youth["starts_at"][:7]
            browser = p.chromium.launch(executable_path=chromium, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            shots = [
                ("home", "/console/", 1280, 1000, "en-GB"),
                ("event", f"/console/events/{youth['id']}", 1280, 1000, "en-GB"),
                ("calendar", f"/console/cities/{ashgabat}/calendar?month={month}", 1280, 900,
                 "en-GB"),
                ("phone-ru", "/console/", 375, 800, "ru-RU"),
                ("travel", f"/console/events/{youth['id']}/travel", 1280, 1000, "en-GB"),
                ("placement", f"/console/events/{youth['id']}/placement", 1280, 1000, "en-GB"),
            ]
            for name, path, width, height, locale in shots:
                context = browser.new_context(viewport={"width": width, "height": height},
                                              device_scale_factor=0.6 if width > 800 else 1,
                                              locale=locale)
                page = context.new_page()
                page.goto(f"{base}/console/sign-in")
                page.get_by_label("Email" if locale.startswith("en") else "Электронная почта"
                                  ).fill("ashgabat@demo.twinplan.example")
                page.locator("input[name=password]").fill(PASSWORD)
                page.locator("button[type=submit]").first.click()
                page.wait_for_selector(".person-name")
                page.goto(f"{base}{path}")
                page.wait_for_selector("main:not([aria-busy]) h1")
                target = DOCS / f"console-{name}.png"
                page.screenshot(path=str(target))
                print(f"{target.relative_to(ROOT)}: {target.stat().st_size // 1024} KB")
                context.close()
            browser.close()


if __name__ == "__main__":
    main()
