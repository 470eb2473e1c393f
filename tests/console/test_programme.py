"""An event's programme in the console: the host plans it day by day in the event's
local time, a mistake is shown beside its field, a guest city reads it."""

from __future__ import annotations

from itertools import count

from playwright.sync_api import expect

from tests.console.conftest import PHONE

_serial = count(1)


def choir_visit(world):
    return world.event("volgograd", title=f"Coventry choir week {next(_serial)}",
                       kind="culture", starts_at="2027-06-14T09:00",
                       ends_at="2027-06-18T17:00")


def add(page, title, starts, ends, place="", audience="Everyone"):
    form = page.get_by_role("form", name="Add to the programme")
    form.get_by_label("What").fill(title)
    form.get_by_label("Starts").fill(starts)
    form.get_by_label("Ends").fill(ends)
    form.get_by_label("Where").fill(place)
    form.get_by_label("For").select_option(label=audience)
    form.get_by_role("button", name="Add").click()
    return form


def test_the_host_plans_the_programme_and_a_guest_reads_it(console, world):
    event = choir_visit(world)
    tab = console("volgograd")
    page = tab.goto(f"/console/events/{event['id']}")
    page.get_by_role("link", name="Programme").click()
    tab.settled()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Programme: {event['title']}")
    expect(page.get_by_text("Nothing is in the programme yet.")).to_be_visible()

    add(page, "Welcome at the city hall", "2027-06-14T10:00", "2027-06-14T11:30", "City hall")
    day = page.get_by_role("region", name="Monday, 14 June 2027")
    expect(day.locator(".programme-item")).to_have_count(1)
    item = day.locator(".programme-item")
    expect(item).to_contain_text("10:00–11:30")
    expect(item.get_by_role("heading")).to_have_text("Welcome at the city hall")
    expect(item).to_contain_text("City hall · Everyone")

    add(page, "Rehearsal", "2027-06-15T15:00", "2027-06-15T17:00", "Philharmonic",
        audience="Artist")
    expect(page.get_by_role("region", name="Tuesday, 15 June 2027")).to_contain_text(
        "Philharmonic · Artist")

    # Outside the event: refused, the reason beside the field, nothing added.
    form = add(page, "Farewell dinner", "2027-06-20T19:00", "2027-06-20T22:00")
    expect(form.locator(".field-error:visible, .form-problem")).not_to_have_count(0)
    expect(page.locator(".programme-item")).to_have_count(2)
    tab.expect_problem(422)

    # The rehearsal moves to the evening; then a stale copy is refused, not lost.
    page.get_by_role("button", name="Change Rehearsal").click()
    edit = page.get_by_role("form", name="Change Rehearsal")
    expect(edit.get_by_label("What")).to_have_value("Rehearsal")
    expect(edit.get_by_label("For")).to_have_value("role:artist")
    edit.get_by_label("Starts").fill("2027-06-15T18:00")
    edit.get_by_label("Ends").fill("2027-06-15T20:00")
    edit.get_by_role("button", name="Save the changes").click()
    expect(page.get_by_role("region", name="Tuesday, 15 June 2027")).to_contain_text("18:00–20:00")
    page.get_by_role("button", name="Change Rehearsal").click()
    # The form shows once the page has read the item (and its ETag): only then
    # does the change through the API come "meanwhile".
    expect(page.get_by_role("form", name="Change Rehearsal").get_by_label("Starts")
           ).to_have_value("2027-06-15T18:00")
    items = world.api("volgograd").get(f"/api/v1/events/{event['id']}/programme").json()
    rehearsal = next(i for i in items["items"] if i["title"] == "Rehearsal")
    etag = world.api("volgograd").get(f"/api/v1/programme-items/{rehearsal['id']}").headers["ETag"]
    r = world.api("volgograd").patch(f"/api/v1/programme-items/{rehearsal['id']}",
                                     json={"place": "Concert hall"}, headers={"If-Match": etag})
    assert r.status_code == 200, r.text  # someone else's change meanwhile
    edit = page.get_by_role("form", name="Change Rehearsal")
    edit.get_by_label("Where").fill("Philharmonic, small hall")
    edit.get_by_role("button", name="Save the changes").click()
    expect(edit.locator(".form-problem")).to_be_visible()
    tab.expect_problem(412)
    edit.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("form", name="Add to the programme")).to_be_visible()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove Welcome at the city hall").click()
    expect(page.get_by_role("region", name="Monday, 14 June 2027")).to_have_count(0)
    expect(page.locator(".programme-item")).to_have_count(1)
    tab.snap("event-programme")
    tab.axe()

    guest = console("coventry")
    page = guest.goto(f"/console/events/{event['id']}/programme")
    expect(page.locator(".programme-item")).to_have_count(1)
    expect(page.get_by_role("form", name="Add to the programme")).to_have_count(0)
    expect(page.get_by_role("button", name="Remove Rehearsal")).to_have_count(0)
    expect(page.locator(".programme-item")).to_contain_text("Concert hall")


def test_the_programme_on_a_phone_in_russian(console, world):
    event = choir_visit(world)
    host = world.api("volgograd")
    r = host.post(f"/api/v1/events/{event['id']}/programme", json={
        "title": "Экскурсия по Мамаеву кургану", "starts_at": "2027-06-16T09:30",
        "ends_at": "2027-06-16T13:00", "place": "Мамаев курган"})
    assert r.status_code == 201, r.text
    with world.speaking("volgograd", "ru"):
        tab = console("volgograd", viewport=PHONE, locale="ru-RU")
        page = tab.goto(f"/console/events/{event['id']}/programme")
        expect(page.get_by_role("heading", name="среда, 16 июня 2027 г.")).to_be_visible()
        expect(page.locator(".programme-item")).to_contain_text("Мамаев курган · Все")
        expect(page.get_by_role("form", name="Добавить в программу")).to_be_visible()
        tab.no_overflow()
        tab.snap("event-programme-ru")
        tab.axe()

