"""The console's overview: home, twinnings, cities and a city, as a coordinator uses them.

Also the promise of issue 12 that two quick clicks never show one city's data
under another's name, and that a late or failed answer never overwrites a newer view.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from typing import Any

from playwright.sync_api import expect

from tests.console.conftest import PHONE


def _soon(days: int) -> str:
    return (dt.date.today() + dt.timedelta(days=days)).isoformat()


def _card(page: Any, name: str) -> Any:
    """The twin's card (a list item) whose heading names ``name``."""
    return page.get_by_role("listitem").filter(
        has=page.get_by_role("heading", level=2, name=re.compile(rf"^{name}\b")))


def _hold(page: Any, pattern: Any) -> list[Any]:
    """Holds the answers to requests matching ``pattern`` (a glob) until released."""
    held: list[Any] = []
    page.route(pattern, lambda route: held.append(route))
    return held


def _wait_for(page: Any, held: list[Any]) -> None:
    for _ in range(100):
        if held:
            return
        page.wait_for_timeout(50)
    raise AssertionError("the request was never made")


def _release(held: list[Any]) -> None:
    for route in held:
        # The browser may have given up on it already (aborted): nothing to answer.
        with contextlib.suppress(Exception):
            route.continue_()


# ---------------------------------------------------------------------------
# Home
# ---------------------------------------------------------------------------


def test_home_counts_down_to_twin_cities_day_with_the_twinnings_planned(console, world):
    api = world.api("volgograd")
    volgograd = world.city_ids["Volgograd"]
    nxt = api.get("/api/v1/twin-cities-day/next", params={"tz": "Europe/Volgograd"}).json()
    plan = api.get(f"/api/v1/cities/{volgograd}/twin-cities-day",
                   params={"year": nxt["year"]}).json()
    # The demo's Twin Cities Day in Volgograd has all four twins as guests.
    assert {p["partner_name"] for p in plan["with_event"]} == {
        "Coventry", "Dijon", "Turin", "Ostrava"}
    assert plan["without_event"] == []

    tab = console("volgograd")
    page = tab.goto("/console/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Volgograd: overview")
    wtcd = page.get_by_role("region", name="World Twin Cities Day")
    expect(wtcd).to_contain_text(f"in {nxt['days_remaining']} days")
    expect(wtcd).to_contain_text(str(nxt["year"]))
    expect(wtcd).to_contain_text("Every twinning has something planned for the day.")
    expect(wtcd).to_contain_text("Planned with 4 twins: Coventry, Dijon, Ostrava, Turin")
    following = page.get_by_role("region", name="Next exchanges")
    expect(following.get_by_role("link").first).to_have_attribute(
        "href", re.compile(r"^/console/events/\d+$"))
    tab.snap("home")
    tab.axe()


def test_home_offers_to_plan_with_the_twins_that_have_nothing(console, world):
    ashgabat = world.city_ids["Ashgabat"]
    tab = console("admin")
    page = tab.goto("/console/")
    # An admin acts for no city: a choice of cities and the network.
    expect(page.get_by_role("heading", level=1)).to_have_text("The twin cities network")
    expect(page.get_by_role("region", name="The network")).to_contain_text("Twinnings")
    tab.snap("home-network")
    tab.axe()
    page.get_by_role("link", name="Ashgabat", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ashgabat: overview")
    wtcd = page.get_by_role("region", name="World Twin Cities Day")
    plan_links = wtcd.get_by_role("link", name=re.compile("^Plan one with"))
    expect(plan_links).to_have_count(11)
    link = wtcd.get_by_role("link", name="Plan one with Bamako")
    expect(link).to_have_attribute(
        "href", f"/console/events/new?host={ashgabat}&guest={world.city_ids['Bamako']}")
    tab.axe()


def test_home_lists_what_needs_attention_before_departure(console, world):
    api = world.api("volgograd")
    event = world.event("volgograd", title="Pupils to Coventry", kind="school_exchange",
                        status="planned", starts_at=f"{_soon(3)}T09:00",
                        ends_at=f"{_soon(6)}T17:00", capacity=30)
    draft = world.event("volgograd", title="A draft with nobody", status="draft",
                        kind="seminar", starts_at=f"{_soon(2)}T09:00", ends_at=f"{_soon(2)}T12:00")
    person = api.post("/api/v1/participants", json={
        "full_name": "Nadia Orlova", "home_city_id": world.city_ids["Volgograd"],
        "birth_date": "2013-03-09", "guardian_name": "Olga Orlova",
        "guardian_email": "olga@example.org"})
    assert person.status_code == 201, person.text
    reg = api.post(f"/api/v1/events/{event['id']}/registrations",
                   json={"participant_id": person.json()["id"], "role": "student"})
    assert reg.status_code == 201, reg.text
    assert reg.json()["status"] == "pending_consent"

    tab = console("volgograd")
    page = tab.goto("/console/")
    attention = page.get_by_role("region", name="Needs attention before departure")
    expect(attention.get_by_role("link", name="Pupils to Coventry")).to_be_visible()
    consent = attention.get_by_role(
        "link", name="Guardian's consent missing for 1 person: Nadia Orlova")
    expect(consent).to_have_attribute(
        "href", f"/console/events/{event['id']}?status=pending_consent")
    chaperones = attention.get_by_role("link", name="1 more adult chaperone is needed")
    expect(chaperones).to_have_attribute("href", f"/console/events/{event['id']}?role=chaperone")
    # A draft is never "ready", even with nothing to fix.
    expect(attention).not_to_contain_text("A draft with nobody")
    # The next exchanges show it in words: dates, kind, status.
    following = page.get_by_role("region", name="Next exchanges")
    expect(following.get_by_role("link", name="A draft with nobody")).to_be_visible()
    expect(following).to_contain_text("Draft")
    expect(following).to_contain_text("School exchange")
    tab.snap("home-attention")
    tab.axe()
    consent.click()
    expect(page).to_have_url(
        f"{world.base}/console/events/{event['id']}?status=pending_consent")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Pupils to Coventry")
    assert draft["status"] == "draft"


def test_home_reflows_on_a_phone(console):
    tab = console("volgograd", viewport=PHONE)
    page = tab.goto("/console/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Volgograd: overview")
    tab.no_overflow()


# ---------------------------------------------------------------------------
# Twinnings
# ---------------------------------------------------------------------------


def test_twinnings_of_ashgabat_show_status_dates_and_history(console, world):
    tab = console("volgograd")
    page = tab.goto(f"/console/cities/{world.city_ids['Ashgabat']}/partners")
    expect(page.get_by_role("heading", level=1)).to_have_text("Twinnings of Ashgabat")
    expect(page.get_by_role("heading", level=2)).to_have_count(12)
    tokyo = _card(page, "Tokyo")
    expect(tokyo).to_contain_text("Proposed")
    expect(tokyo).to_contain_text("Japan")
    # Nothing is known of when: no date at all (not the day the record was made).
    expect(tokyo).not_to_contain_text("Twinned since")
    bamako = _card(page, "Bamako")
    expect(bamako).to_contain_text("Twinned since1974")
    expect(bamako).to_contain_text("Mali")
    # The history of status changes shows on demand.
    history = tokyo.get_by_text("Proposed: April 2014")
    expect(history).to_be_hidden()
    tokyo.get_by_text(re.compile("^History of the status")).click()
    expect(history).to_be_visible()
    tab.snap("twinnings")
    tab.axe()


def test_twinnings_show_exchanges_and_who_hosted(console, world):
    api = world.api("volgograd")
    ids = world.city_ids
    events = api.get("/api/v1/events", params={"partnership_id": 15, "limit": 200}).json()["items"]
    going = [e for e in events if e["status"] != "cancelled"]
    hosted = {name: sum(e["host_city_id"] == ids[name] for e in going)
              for name in ("Volgograd", "Coventry")}
    tab = console("volgograd")
    page = tab.goto(f"/console/cities/{ids['Volgograd']}/partners")
    coventry = _card(page, "Coventry")
    expect(coventry).to_contain_text(
        f"Volgograd hosted {hosted['Volgograd']}, Coventry hosted {hosted['Coventry']}")
    expect(coventry).to_contain_text("Twinned since1944")
    expect(coventry.get_by_role("link", name="Twins of Coventry")).to_have_attribute(
        "href", f"/console/cities/{ids['Coventry']}/partners")
    feed = coventry.get_by_role("link", name="Calendar feed of Volgograd and Coventry")
    expect(feed).to_have_attribute("href", re.compile(r"/calendars/partnerships/15\.ics$"))
    dijon = _card(page, "Dijon")
    expect(dijon.get_by_role("definition").filter(
        has=page.get_by_role("link", name="World Twin Cities Day in Volgograd"))).to_contain_text(
        "25 Apr 2027")

    # Oryol and Mary: a date known to the day, as Intl writes it in the tab's en-GB.
    page = tab.goto(f"/console/cities/{ids['Oryol']}/partners")
    expect(_card(page, "Mary")).to_contain_text("Twinned since3 Nov 2017")


def test_twinnings_reflow_on_a_phone(console, world):
    tab = console("volgograd", viewport=PHONE)
    page = tab.goto(f"/console/cities/{world.city_ids['Ashgabat']}/partners")
    expect(page.get_by_role("heading", level=2)).to_have_count(12)
    tab.no_overflow()


# ---------------------------------------------------------------------------
# Cities and a city
# ---------------------------------------------------------------------------


def test_cities_search_ignores_accents_and_keeps_the_query_in_the_address(console, world):
    total = world.api("volgograd").get("/api/v1/cities").json()["total"]
    tab = console("volgograd")
    page = tab.goto("/console/cities")
    expect(page.get_by_role("status").filter(has_text="cities")).to_have_text(f"{total} cities")
    tab.snap("cities")
    tab.axe()
    search = page.get_by_label("Search cities by name")
    search.fill("orël")
    results = page.locator("main").get_by_role("list")
    expect(results.get_by_role("link")).to_have_count(1)
    expect(results.get_by_role("link", name="Oryol")).to_be_visible()
    expect(page).to_have_url(f"{world.base}/console/cities?q=or%C3%ABl")
    expect(page.get_by_text("1 city", exact=True)).to_be_visible()
    # The address holds the search: reload shows the same.
    page.reload()
    tab.settled()
    expect(page.get_by_label("Search cities by name")).to_have_value("orël")
    expect(page.locator("main").get_by_role("link", name="Oryol")).to_be_visible()
    page.get_by_label("Search cities by name").fill("zzz")
    expect(page.get_by_text("No city’s name starts with “zzz”.")).to_be_visible()

    page.get_by_label("Search cities by name").fill("orel")
    page.locator("main").get_by_role("link", name="Oryol").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Oryol")
    facts = page.get_by_role("region", name="Facts")
    expect(facts).to_contain_text("Russia")
    expect(facts).to_contain_text("Europe/Moscow")
    expect(page.get_by_role("link", name="Calendar", exact=True).last).to_have_attribute(
        "href", f"/console/cities/{world.city_ids['Oryol']}/calendar")
    tab.snap("city")
    tab.axe()


def test_city_shows_where_it_seeks_a_twin(console, world):
    tab = console("volgograd")
    page = tab.goto(f"/console/cities/{world.city_ids['Kostroma']}")
    facts = page.get_by_role("region", name="Facts")
    expect(facts).to_contain_text("Turkmenistan, Azerbaijan, and Uzbekistan")
    page.get_by_role("link", name="Twinnings", exact=True).last.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Twinnings of Kostroma")


def test_a_late_search_answer_never_overwrites_a_newer_one(console):
    tab = console("volgograd")
    page = tab.goto("/console/cities")
    held = _hold(page, re.compile(r"/api/v1/cities\?q=t&"))
    page.get_by_label("Search cities by name").fill("t")
    _wait_for(page, held)
    page.get_by_label("Search cities by name").fill("tu")
    results = page.locator("main").get_by_role("list")
    expect(results.get_by_role("link")).to_have_count(1)
    expect(results.get_by_role("link", name="Turin")).to_be_visible()
    _release(held)
    page.wait_for_timeout(500)
    expect(results.get_by_role("link")).to_have_count(1)
    expect(page.locator("main")).not_to_contain_text("Tashkent")


# ---------------------------------------------------------------------------
# Two quick clicks
# ---------------------------------------------------------------------------


def test_two_quick_clicks_never_show_one_citys_twins_under_anothers_name(console, world):
    ids = world.city_ids
    tab = console("volgograd")
    page = tab.goto(f"/console/cities/{ids['Volgograd']}/partners")
    # Coventry's twins (Ostrava, Volgograd) answer late; Dijon's (Volgograd) at once.
    held = _hold(page, f"**/api/v1/cities/{ids['Coventry']}/partners*")
    page.get_by_role("link", name="Twins of Coventry").click()
    _wait_for(page, held)
    page.get_by_role("link", name="Twins of Dijon").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Twinnings of Dijon")
    expect(page.get_by_role("heading", level=2)).to_have_count(1)
    expect(_card(page, "Volgograd")).to_be_visible()
    _release(held)
    page.wait_for_timeout(500)
    expect(page.get_by_role("heading", level=1)).to_have_text("Twinnings of Dijon")
    expect(page.locator("main")).not_to_contain_text("Ostrava")

    # The same on the city page, reached from the list of cities.
    page = tab.goto("/console/cities")
    held = _hold(page, f"**/api/v1/cities/{ids['Ashgabat']}/partners*")
    page.locator("main").get_by_role("link", name="Ashgabat").click()
    _wait_for(page, held)
    page.locator("main").get_by_role("link", name="Volgograd").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Volgograd")
    twins = page.get_by_role("region", name="4 twins")
    expect(twins.get_by_role("link", name="Coventry")).to_be_visible()
    _release(held)
    page.wait_for_timeout(500)
    expect(page.get_by_role("heading", level=1)).to_have_text("Volgograd")
    expect(page.locator("main")).not_to_contain_text("Tokyo")


def test_a_failed_answer_never_leaves_the_previous_citys_twins(console, world):
    ids = world.city_ids
    tab = console("volgograd")
    page = tab.goto(f"/console/cities/{ids['Volgograd']}/partners")
    expect(_card(page, "Dijon")).to_be_visible()
    page.route(f"**/api/v1/cities/{ids['Coventry']}/partners*", lambda route: route.fulfill(
        status=500, content_type="application/problem+json",
        body='{"type": "about:blank", "title": "Internal Server Error", "status": 500}'))
    page.get_by_role("link", name="Twins of Coventry").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Something went wrong")
    expect(page.locator("main")).not_to_contain_text("Dijon")
    expect(page.locator("main")).not_to_contain_text("Twinnings of Volgograd")
    tab.expect_problem(500)


def test_twinnings_in_russian(console, world):
    tab = console("coventry")
    page = tab.goto(f"/console/cities/{world.city_ids['Volgograd']}/partners")
    try:
        page.get_by_label("Language").select_option("ru")
        expect(page.get_by_role("heading", level=1)).to_have_text("Побратимы: Volgograd")
        expect(page.get_by_text("4 побратима", exact=True)).to_be_visible()
        coventry = _card(page, "Coventry")
        expect(coventry).to_contain_text("Великобритания")
        expect(coventry).to_contain_text("Побратимы с1944")
        expect(coventry).to_contain_text("Действует")
        tab.snap("twinnings-ru")
        tab.axe()
    finally:
        world.api("coventry").patch("/api/v1/me", json={"language": "en"})
