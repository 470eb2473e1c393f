"""Finding a twin in the console: Kostroma's search in Turkmenistan, Azerbaijan and
Uzbekistan, the model's suggestions with their reasons, a city shortlisted,
contacted and proposed a twinning, and the history the council reads."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.console.conftest import PHONE


def test_kostroma_searches_shortlists_and_proposes(console, world):
    kostroma = world.city_ids["Kostroma"]
    tab = console("kostroma")
    page = tab.goto(f"/console/cities/{kostroma}")
    page.get_by_role("link", name="Find a twin").click()
    tab.settled()
    expect(page.get_by_role("heading", level=1)).to_have_text("Finding a twin for Kostroma")
    expect(page.get_by_text("This city has no search for a twin yet.")).to_be_visible()
    form = page.get_by_role("form", name="Start another search")
    expect(form.get_by_label("Countries to look in")).to_have_value("TM, AZ, UZ")  # the city's
    form.get_by_label("Notes").fill("The council wants a partner in Central Asia.")
    form.get_by_role("button", name="Start the search").click()

    expect(page.get_by_role("heading", name=re.compile(
        r"^Looking in Turkmenistan, Azerbaijan,? and Uzbekistan$"))).to_be_visible()
    suggestions = page.get_by_role("region", name="Suggestions").locator(".suggestion")
    expect(suggestions.first).to_be_visible()
    first = suggestions.first
    name = first.get_by_role("heading").get_by_role("link").inner_text()
    expect(first.locator(".reasons li").first).to_be_visible()  # the reasons in words
    first.get_by_role("button", name=f"Shortlist {name}").click()

    taken = page.get_by_role("region", name="Cities taken up").locator("tbody tr")
    expect(taken).to_have_count(1)
    expect(taken).to_contain_text(name)
    expect(taken).to_contain_text("Shortlisted")
    # Taken up: no longer among the suggestions.
    expect(page.get_by_role("region", name="Suggestions").get_by_role(
        "heading", name=name)).to_have_count(0)
    taken.get_by_role("button", name=f"Contacted: {name}").click()
    expect(taken).to_contain_text("Contacted")
    taken.get_by_role("button", name=f"Propose twinning: {name}").click()
    expect(taken).to_contain_text("Twinning proposed")

    history = page.get_by_role("region", name="History")
    expect(history.locator("li")).to_have_count(4)
    expect(history).to_contain_text(f"Twinning proposed to {name}")
    # The proposed twinning is one of Kostroma's partnerships now.
    partners = world.api("kostroma").get(f"/api/v1/cities/{kostroma}/partners").json()
    assert any(p["city"]["name"] == name and p["status"] == "proposed"
               for p in partners["items"])
    tab.snap("twin-search")
    tab.axe()

    # Another city's coordinator is not offered the search.
    other = console("coventry")
    page = other.goto(f"/console/cities/{kostroma}")
    expect(page.get_by_role("link", name="Find a twin")).to_have_count(0)


def test_the_search_on_a_phone_in_russian(console, world):
    volgograd = world.city_ids["Volgograd"]
    client = world.api("volgograd")
    r = client.post(f"/api/v1/cities/{volgograd}/twin-searches", json={"countries": []})
    assert r.status_code == 201, r.text
    with world.speaking("volgograd", "ru"):
        tab = console("volgograd", viewport=PHONE, locale="ru-RU")
        page = tab.goto(f"/console/cities/{volgograd}/twin-search")
        expect(page.get_by_role("heading", name="Поиск: любая страна")).to_be_visible()
        first = page.get_by_role("region", name="Предложения").locator(".suggestion").first
        expect(first).to_be_visible()
        # The reasons in Russian, worded from their codes and numbers.
        expect(first.locator(".reasons")).to_contain_text("расстояние")
        expect(first.locator(".reasons")).not_to_contain_text("km away")
        tab.no_overflow()
        tab.snap("twin-search-ru")
        tab.axe()
