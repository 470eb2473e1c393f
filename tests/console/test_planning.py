"""Planning in the console: the event form (create, times that do not exist, a
stale edit) and the city calendar (month, agenda, subscribe)."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from tests.console.conftest import PHONE


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:6]}"


def entry(scope, page, title: str):
    """The innermost list item that links to the event called ``title``."""
    return (
        scope.get_by_role("listitem")
        .filter(has=page.get_by_role("link", name=title, exact=True))
        .filter(has_not=page.get_by_role("list"))
    )


def test_plan_an_exchange_through_the_form(console, world):
    tab = console("volgograd")
    # As the home page's "Plan one with Coventry" link opens it: Coventry ticked.
    page = tab.goto(f"/console/events/new?guest={world.city_ids['Coventry']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("New event")
    title = unique("Volgograd and Coventry schools")
    page.get_by_label("Kind").select_option(label="School exchange")
    page.get_by_label("Title").fill(title)
    expect(page.get_by_label("Coventry")).to_be_checked()
    expect(page.get_by_label("Dijon")).not_to_be_checked()
    start = page.get_by_label("Start")
    expect(start).to_have_attribute("type", "datetime-local")
    start.fill("2027-04-20T09:00")
    page.get_by_label("End").fill("2027-04-24T17:00")
    # The zone is said beside the times, with its offset then.
    expect(start).to_have_accessible_description(re.compile(r"Europe/Volgograd, UTC\+3"))
    page.get_by_label("Status").select_option(label="Planned")
    tab.snap("event-form")
    tab.axe()
    page.get_by_role("button", name="Create event").click()
    expect(page).to_have_url(re.compile(r"/console/events/\d+$"))
    event_id = int(page.url.rsplit("/", 1)[1])
    saved = world.api("volgograd").get(f"/api/v1/events/{event_id}").json()
    assert saved["title"] == title
    assert saved["kind"] == "school_exchange"
    assert saved["status"] == "planned"
    assert saved["timezone"] == "Europe/Volgograd"
    assert saved["starts_at"].startswith("2027-04-20T09:00:00+03:00")
    assert saved["guest_city_ids"] == [world.city_ids["Coventry"]]


def test_a_time_in_the_spring_forward_gap_is_refused(console):
    tab = console("volgograd")
    page = tab.goto("/console/events/new")
    page.get_by_label("Title").fill(unique("Berlin night"))
    page.get_by_label("Coventry").check()
    page.get_by_label("Time zone of the event").select_option("Europe/Berlin")
    page.get_by_label("Start").fill("2027-03-28T02:30")
    page.get_by_label("End").fill("2027-03-28T18:00")
    page.get_by_role("button", name="Create event").click()
    start = page.get_by_label("Start")
    expect(start).to_have_attribute("aria-invalid", "true")
    expect(start).to_have_accessible_description(
        re.compile(r"does not exist in Europe/Berlin.*2:00.*3:00")
    )
    expect(page).to_have_url(re.compile(r"/console/events/new"))
    # An end before the start passes the browser's check; the API's 422 is shown
    # beside the end.
    page.get_by_label("Start").fill("2027-03-28T10:00")
    page.get_by_label("End").fill("2027-03-28T09:00")
    page.get_by_role("button", name="Create event").click()
    end = page.get_by_label("End")
    expect(end).to_have_attribute("aria-invalid", "true")
    expect(end).to_have_accessible_description(re.compile("The end must be after the start"))
    tab.expect_problem(422)
    expect(start).not_to_have_attribute("aria-invalid", "true")
    tab.snap("event-form-errors")


def test_a_stale_edit_shows_the_conflict_and_can_reapply(console, world):
    event = world.event("volgograd", title=unique("Choir exchange"))
    tab = console("volgograd")
    page = tab.goto(f"/console/events/{event['id']}/edit")
    expect(page.get_by_label("Title")).to_have_value(event["title"])
    mine = unique("Choir exchange, mine")
    page.get_by_label("Title").fill(mine)
    page.get_by_label("Places").fill("30")
    # Meanwhile someone else saves a change.
    client = world.api("volgograd")
    etag = client.get(f"/api/v1/events/{event['id']}").headers["ETag"]
    theirs = unique("Choir exchange, theirs")
    r = client.patch(
        f"/api/v1/events/{event['id']}",
        headers={"If-Match": etag},
        json={"title": theirs, "venue": "Town hall"},
    )
    assert r.status_code == 200, r.text
    page.get_by_role("button", name="Save changes").click()
    conflict = page.get_by_role("alert").filter(has_text="Someone changed this event")
    expect(conflict).to_be_visible()
    tab.expect_problem(412)
    table = conflict.get_by_role("table")
    expect(table.get_by_role("columnheader", name="Their value (now)")).to_be_visible()
    title_row = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Title"))
    expect(title_row).to_contain_text(mine)
    expect(title_row).to_contain_text(theirs)
    expect(table.get_by_role("row").filter(has_text="Venue")).to_contain_text("Town hall")
    tab.snap("event-form-conflict")
    tab.axe()
    page.get_by_role("button", name="Apply my changes on top").click()
    expect(page).to_have_url(re.compile(rf"/console/events/{event['id']}$"))
    now = client.get(f"/api/v1/events/{event['id']}").json()
    assert now["title"] == mine
    assert now["capacity"] == 30
    assert now["venue"] == "Town hall"  # theirs, kept


def test_calendar_month_agenda_and_navigation(console, world):
    volgograd = world.city_ids["Volgograd"]
    shown = world.event(
        "volgograd",
        title=unique("June school exchange"),
        starts_at="2027-06-14T09:00",
        ends_at="2027-06-16T17:00",
    )
    london = world.event(
        "volgograd",
        title=unique("London-time call"),
        kind="seminar",
        timezone="Europe/London",
        starts_at="2027-06-21T10:00",
        ends_at="2027-06-21T11:00",
    )
    gone = world.event(
        "volgograd",
        title=unique("Cancelled football"),
        kind="sports",
        starts_at="2027-06-22T10:00",
        ends_at="2027-06-22T12:00",
    )
    r = world.api("volgograd").post(
        f"/api/v1/events/{gone['id']}/cancel", json={"reason": "Pitch flooded"}
    )
    assert r.status_code == 200, r.text
    tab = console("volgograd")
    base = f"/console/cities/{volgograd}/calendar"
    page = tab.goto(f"{base}?view=month&month=2027-06")
    expect(page.get_by_role("heading", level=2, name="June 2027")).to_be_visible()
    day = page.get_by_role("listitem").filter(has=page.locator('time[datetime="2027-06-15"]'))
    item = entry(day, page, shown["title"])
    expect(item).to_contain_text("School exchange")
    expect(item).to_contain_text("Continues")
    first = page.get_by_role("listitem").filter(has=page.locator('time[datetime="2027-06-14"]'))
    expect(entry(first, page, shown["title"])).to_contain_text("9:00")
    # Shown in Volgograd's time and in the event's own zone.
    expect(entry(page, page, london["title"])).to_contain_text(
        re.compile(r"12:00.*10:00.*Europe/London")
    )
    cancelled = entry(page, page, gone["title"])
    expect(cancelled).to_have_class(re.compile("cancelled"))
    expect(cancelled).to_contain_text("Cancelled")
    expect(cancelled.get_by_role("link")).to_have_attribute("href", f"/console/events/{gone['id']}")
    tab.snap("calendar-month")
    tab.axe()

    page.get_by_role("link", name=re.compile("July 2027")).click()
    expect(page).to_have_url(re.compile(r"month=2027-07"))
    expect(page.get_by_role("heading", level=2, name="July 2027")).to_be_visible()
    page.go_back()
    expect(page).to_have_url(re.compile(r"month=2027-06"))
    expect(page.get_by_role("heading", level=2, name="June 2027")).to_be_visible()
    page.go_forward()
    expect(page.get_by_role("heading", level=2, name="July 2027")).to_be_visible()

    page.get_by_role("link", name="Agenda").click()
    expect(page).to_have_url(re.compile(r"view=agenda"))
    day = page.locator("section").filter(
        has=page.get_by_role("heading", name=re.compile("June 14, 2027|14 June 2027"))
    )
    expect(entry(day, page, shown["title"])).to_be_visible()
    tab.settled()
    tab.snap("calendar-agenda")
    tab.axe()


def test_subscribe_copies_the_feed_and_shows_a_qr_code(console, world):
    volgograd = world.city_ids["Volgograd"]
    tab = console("volgograd")
    tab.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = tab.goto(f"/console/cities/{volgograd}/calendar")
    page.get_by_text("Subscribe", exact=True).click()
    webcal = re.sub(r"^https?:", "webcal:", world.base) + f"/calendars/cities/{volgograd}.ics"
    expect(page.get_by_label("Link for calendar apps (webcal)")).to_have_value(webcal)
    expect(page.get_by_label("Web link (https)")).to_have_value(
        f"{world.base}/calendars/cities/{volgograd}.ics"
    )
    expect(page.get_by_role("img", name="QR code of the calendar's web link")).to_be_visible()
    page.get_by_role("button", name="Copy").first.click()
    expect(page.get_by_role("status").filter(has_text="Copied").first).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == webcal
    expect(page.get_by_text("Thunderbird", exact=True)).to_be_visible()
    tab.snap("calendar-subscribe")
    tab.axe()


def test_planning_views_reflow_on_a_phone(console, world):
    volgograd = world.city_ids["Volgograd"]
    world.event(
        "volgograd",
        title=unique("Phone-width exchange with a long title to wrap"),
        starts_at="2027-06-10T09:00",
        ends_at="2027-06-11T17:00",
    )
    tab = console("volgograd", viewport=PHONE)
    page = tab.goto(f"/console/cities/{volgograd}/calendar?view=month&month=2027-06")
    expect(page.get_by_text("Phone-width exchange", exact=False).first).to_be_visible()
    tab.no_overflow()
    page.get_by_text("Subscribe", exact=True).click()
    expect(page.get_by_role("img", name="QR code of the calendar's web link")).to_be_visible()
    tab.no_overflow()
    page.set_viewport_size({"width": 320, "height": 700})
    tab.no_overflow()
    tab.axe()
    tab.goto("/console/events/new")
    tab.no_overflow()
    tab.axe()
