"""The coordinator console in a real browser (Debian's Chromium, driven by Playwright)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import httpx
import pytest
from sqlmodel import Session, select

from app.cities.demo import seed_demo
from app.cities.models import City
from app.core.actors import Role
from app.core.db import make_engine
from tests.factories import new_key
from tests.servers import running_server, scratch_database

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip("Chromium is not installed (CI installs it)", allow_module_level=True)


COORDINATOR: dict[str, str] = {}


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory) -> Iterator[str]:
    with scratch_database(tmp_path_factory.mktemp("console")) as url:
        engine = make_engine(url)
        with Session(engine) as session:
            seed_demo(session)
            volgograd = session.exec(select(City).where(City.name == "Volgograd")).one()
            coventry = session.exec(select(City).where(City.name == "Coventry")).one()
            headers = new_key(session, Role.coordinator, volgograd, name="Volgograd city hall")
            host_id, guest_id = volgograd.id, coventry.id
            session.commit()
        engine.dispose()
        COORDINATOR["key"] = headers["Authorization"].removeprefix("Bearer ")
        with running_server(url) as base:
            r = httpx.post(
                f"{base}/api/v1/events",
                headers=headers,
                json={
                    "kind": "school_exchange",
                    "title": "Spring school exchange",
                    "host_city_id": host_id,
                    "guest_city_ids": [guest_id],
                    "starts_at": "2027-04-20T09:00",
                    "ends_at": "2027-04-27T18:00",
                    "status": "planned",
                },
            )
            assert r.status_code == 201, r.text
            yield base


@pytest.fixture
def page(demo_server):
    from playwright.sync_api import sync_playwright

    assert CHROMIUM, "Chromium is required in CI"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--no-first-run",
            ],
        )
        page = browser.new_page()
        page.goto(f"{demo_server}/")
        yield page
        browser.close()


def test_search_ignores_accents_and_shows_twins(page):
    from playwright.sync_api import expect

    page.get_by_label("Search cities").fill("orël")
    page.get_by_role("button", name="Oryol (RU)").click()
    expect(page.locator("#city-title")).to_have_text("Oryol")
    expect(page.locator("#partner-rows")).to_contain_text("Mary")
    expect(page.locator("#partner-rows")).to_contain_text("2017-11-03")


def test_city_without_events_says_so(page):
    from playwright.sync_api import expect

    page.get_by_label("Search cities").fill("ashgabat")
    page.get_by_role("button", name="Ashgabat (TM)").click()
    expect(page.locator("#partner-rows tr")).to_have_count(12)
    expect(page.locator("#partner-rows")).to_contain_text("Tokyo")
    expect(page.locator("#event-rows")).to_contain_text("No events visible to you.")


def test_unknown_key_is_reported_not_hidden(page):
    from playwright.sync_api import expect

    page.locator("#api-key").fill("tp_not-a-real-key")
    page.get_by_role("button", name="Use key").click()
    expect(page.get_by_role("alert")).to_contain_text("unknown or has been revoked")


def test_coordinator_sees_readiness_of_hosted_events(page):
    from playwright.sync_api import expect

    page.locator("#api-key").fill(COORDINATOR["key"])
    page.get_by_role("button", name="Use key").click()
    expect(page.locator("#key-state")).to_contain_text("coordinator")
    page.get_by_label("Search cities").fill("volgo")
    page.get_by_role("button", name="Volgograd (RU)").click()
    row = page.locator("#event-rows tr", has_text="Spring school exchange")
    expect(row).to_contain_text("2027-04-20 09:00")
    expect(row).to_contain_text("0 confirmed, 0 waitlisted · ready")
