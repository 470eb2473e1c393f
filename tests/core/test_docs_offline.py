"""The API documentation works on a network without internet (a city hall intranet):
Swagger UI loads only from the service itself. Proven in Chromium with every request
to another host refused."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.servers import running_server, scratch_database

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip("Chromium is not installed (CI installs it)", allow_module_level=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    with scratch_database(tmp_path_factory.mktemp("docs")) as url, running_server(url) as base:
        yield base


def test_swagger_ui_renders_with_the_internet_cut_off(server):
    from playwright.sync_api import Route, sync_playwright

    assert CHROMIUM, "Chromium is required in CI"
    ours = urlsplit(server).netloc
    elsewhere: list[str] = []

    def offline(route: Route) -> None:
        if urlsplit(route.request.url).netloc == ours:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort("internetdisconnected")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--no-first-run"])
        try:
            page = browser.new_page()
            page.route("**/*", offline)
            page.goto(f"{server}/docs")
            title = page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
            assert title is not None and "Twinplan" in title.inner_text()
            # The operations are there, read from /openapi.json.
            assert page.wait_for_selector("#operations-events-list_events_api_v1_events_get",
                                          timeout=20_000) is not None
        finally:
            browser.close()
    assert elsewhere == [], f"the page asked other hosts for {elsewhere}"
