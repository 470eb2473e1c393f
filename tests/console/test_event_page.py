"""The event page: a delegation registered, consent, the waitlist, a cancelled
place and who moved up, check-in, the CSV and the printable delegation list."""

from __future__ import annotations

import re
from datetime import date, timedelta
from itertools import count
from pathlib import Path

from playwright.sync_api import expect

from tests.console.conftest import PHONE

_serial = count(1)


def started_exchange(world, **fields):
    """A school exchange Volgograd hosts for Coventry that began yesterday (so that
    people can be checked in) and runs all week."""
    today = date.today()
    return world.event(
        "volgograd", host="Volgograd", guests=["Coventry"],
        title=f"Volgograd school exchange {next(_serial)}", capacity=3,
        venue="Lyceum No. 5, Volgograd", description="Pupils of both schools meet.",
        starts_at=f"{today - timedelta(days=1)}T09:00",
        ends_at=f"{today + timedelta(days=5)}T17:00", **fields)


def register_new(page, name, birth, role="Delegate", guardian=None, email=None):
    form = page.get_by_role("form", name="Someone new")
    form.get_by_label("Full name").fill(name)
    form.get_by_label("Birth date").fill(birth)
    form.get_by_label("Role").select_option(label=role)
    if email:
        form.get_by_label("Email", exact=True).fill(email)
    if guardian:
        form.get_by_label("Guardian's name").fill(guardian)
    form.get_by_role("button", name="Add and register").click()
    return form


def row(page, name):
    return page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=name))


def test_a_delegation_from_registration_to_check_in(console, world):
    event = started_exchange(world)
    volgograd = world.city_ids["Volgograd"]
    known = world.api("volgograd").post("/api/v1/participants", json={
        "full_name": "Sergei Known", "home_city_id": volgograd, "birth_date": "1985-02-02",
        "email": "sergei@volgograd.example"})
    assert known.status_code == 201, known.text

    tab = console("volgograd")
    page = tab.goto(f"/console/events/{event['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(event["title"])
    expect(page.locator(".kind")).to_have_text("School exchange")
    expect(page.get_by_text("0 of 3 places")).to_be_visible()
    expect(page.get_by_role("link", name="Coventry")).to_have_attribute(
        "href", f"/console/cities/{world.city_ids['Coventry']}/partners")

    # A bad email is refused next to its field, in words.
    form = register_new(page, "Olga Petrova", "1980-03-01", role="Chaperone", email="olga@")
    email = form.get_by_label("Email", exact=True)
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(form.locator("[data-field=email] .field-error")).to_be_visible()
    tab.expect_problem(422)
    email.fill("olga@volgograd.example")
    form.get_by_role("button", name="Add and register").click()
    expect(page.locator(".notice")).to_have_text("Olga Petrova is registered and confirmed.")

    # A minor cannot be a chaperone: said beside the role; then as a student.
    form = register_new(page, "Dmitri Volkov", "2012-05-10", role="Chaperone",
                        guardian="Irina Volkova")
    expect(form.locator("[data-field=role] .field-error")).to_contain_text(
        "A chaperone must be an adult")
    tab.expect_problem(422)
    form.get_by_label("Role").select_option(label="Student")
    form.get_by_role("button", name="Add and register").click()
    expect(page.locator(".notice")).to_have_text(
        "Dmitri Volkov is registered and awaits the guardian's consent.")
    expect(row(page, "Dmitri Volkov")).to_contain_text("Awaiting consent")

    # Consent by a guardian who is not the one on record needs the box ticked.
    page.get_by_role("button", name="Record consent (Dmitri Volkov)").click()
    dialog = page.get_by_role("dialog")
    guardian = dialog.get_by_label("Guardian's name")
    expect(guardian).to_have_value("Irina Volkova")
    guardian.fill("Irina Smirnova")
    dialog.get_by_role("button", name="Record consent").click()
    expect(dialog.locator("[data-field=guardian_name] .field-error")).to_contain_text(
        "not the guardian on record")
    dialog.get_by_label("The guardian has changed").check()
    dialog.get_by_role("button", name="Record consent").click()
    expect(page.locator(".notice")).to_have_text("Consent recorded: Dmitri Volkov is confirmed.")
    expect(row(page, "Dmitri Volkov")).to_contain_text("Given by Irina Smirnova")

    # The event fills; the next ones wait, numbered in arrival order.
    register_new(page, "Boris Kuznetsov", "1979-07-07")
    expect(page.locator(".notice")).to_have_text("Boris Kuznetsov is registered and confirmed.")
    register_new(page, "Anna Ivanova", "1991-01-15")
    expect(page.locator(".notice")).to_have_text(
        "Anna Ivanova is on the waitlist at position 1.")
    register_new(page, "Maria Lebedeva", "1993-09-09")
    expect(page.locator(".notice")).to_have_text(
        "Maria Lebedeva is on the waitlist at position 2.")
    existing = page.get_by_role("form", name="Someone already known")
    existing.get_by_label("Find a person").fill("serg")
    expect(existing.get_by_label("Person", exact=True)).to_have_value(str(known.json()["id"]))
    existing.get_by_role("button", name="Register").click()
    expect(page.locator(".notice")).to_have_text("Sergei Known is on the waitlist at position 3.")
    expect(row(page, "Anna Ivanova")).to_contain_text("No. 1")
    expect(row(page, "Maria Lebedeva")).to_contain_text("No. 2")
    expect(page.get_by_text("3 of 3 places · 3 on the waitlist")).to_be_visible()

    # Readiness names people to reach; each problem leads to the person's row.
    problem = page.get_by_role("link", name="Boris Kuznetsov: no way to reach them", exact=False)
    problem.click()
    expect(row(page, "Boris Kuznetsov")).to_be_focused()
    tab.axe()
    tab.snap("event-page")

    # A cancelled place goes to the first on the waitlist, and the page says so.
    page.get_by_role("button", name="Cancel place (Boris Kuznetsov)").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel the place").click()
    expect(page.locator(".notice")).to_have_text(
        "The place of Boris Kuznetsov is cancelled. "
        "Anna Ivanova moved up from the waitlist and is now confirmed.")
    expect(row(page, "Anna Ivanova")).to_contain_text("Confirmed")
    expect(row(page, "Maria Lebedeva")).to_contain_text("No. 1")

    # On the day: check in.
    page.get_by_role("button", name="Check in (Olga Petrova)").click()
    expect(page.locator(".notice")).to_have_text("Olga Petrova is checked in.")
    expect(row(page, "Olga Petrova")).to_contain_text("Attended")

    # The CSV: a BOM for Excel, a header row, quoted where needed.
    with page.expect_download() as info:
        page.get_by_role("button", name="Export CSV").click()
    download = info.value
    assert download.suggested_filename == f"event-{event['id']}-participants.csv"
    raw = Path(download.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Name,Home city,Role,Status,Waitlist position,Birth date")
    assert len(lines) == 7
    dmitri = next(line for line in lines if line.startswith("Dmitri Volkov"))
    assert "Volgograd,Student,Confirmed,,2012-05-10,Minor,Irina Smirnova" in dmitri
    assert any(line.startswith("Maria Lebedeva,Volgograd,Delegate,Waitlisted,1,") for line in lines)

    # Filters and sort live in the address: a reload shows the same.
    page.get_by_label("Status", exact=True).select_option(label="Waitlisted")
    page.get_by_role("button", name="Name").click()
    expect(page).to_have_url(re.compile(r"status=waitlisted.*sort=name"))
    page.reload()
    tab.settled()
    expect(page.get_by_label("Status", exact=True)).to_have_value("waitlisted")
    expect(page.locator("th[aria-sort=ascending]")).to_contain_text("Name")
    expect(page.locator("table.participants tbody tr")).to_have_count(2)
    page.get_by_label("Name contains").fill("mar")
    expect(page.locator("table.participants tbody tr")).to_have_count(1)

    # The printable list: who is going, by home city, without the frame.
    page.get_by_role("link", name="Printable list").click()
    tab.settled()
    expect(page.get_by_role("heading", level=1)).to_have_text(event["title"])
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    going = page.locator(".delegation-city tbody tr")
    expect(going).to_have_count(3)  # Olga (attended), Dmitri, Anna; not Boris, not the waitlist
    expect(page.locator(".delegation-city")).to_contain_text("Irina Smirnova")
    expect(page.locator(".delegation-city")).not_to_contain_text("Boris")
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    page.emulate_media(media="screen")
    tab.axe()
    tab.snap("event-delegation-list")


def test_event_page_on_a_phone_in_russian(console, world):
    event = started_exchange(world)
    client = world.api("volgograd")
    for name, birth, role, guardian in (
            ("Ольга Петрова", "1980-03-01", "chaperone", None),
            ("Дмитрий Волков", "2012-05-10", "student", "Ирина Волкова"),
            ("Борис Кузнецов", "1979-07-07", "delegate", None),
            ("Анна Иванова", "1991-01-15", "delegate", None)):
        person = client.post("/api/v1/participants", json={
            "full_name": name, "home_city_id": world.city_ids["Volgograd"], "birth_date": birth,
            "guardian_name": guardian})
        assert person.status_code == 201, person.text
        reg = client.post(f"/api/v1/events/{event['id']}/registrations",
                          json={"participant_id": person.json()["id"], "role": role})
        assert reg.status_code == 201, reg.text

    with world.speaking("volgograd", "ru"):
        tab = console("volgograd", viewport=PHONE, locale="ru-RU")
        page = tab.goto(f"/console/events/{event['id']}")
        expect(page.get_by_role("heading", name="Участники")).to_be_visible()
        expect(page.get_by_text("3 из 3 мест · 1 в листе ожидания")).to_be_visible()
        expect(row(page, "Анна Иванова")).to_contain_text("№ 1")
        tab.no_overflow()
        tab.axe()
        tab.snap("event-page-ru")
        page = tab.goto(f"/console/events/{event['id']}/list")
        expect(page.get_by_role("button", name="Печать")).to_be_visible()
        expect(page.locator(".delegation-city tbody tr")).to_have_count(2)
        tab.no_overflow()
        tab.snap("event-delegation-list-ru")

def test_a_guest_city_sees_its_own_people_without_readiness(console, world):
    event = started_exchange(world)
    tab = console("coventry")
    page = tab.goto(f"/console/events/{event['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(event["title"])
    expect(page.get_by_role("heading", name="Before departure")).to_have_count(0)
    expect(page.get_by_text("In Coventry time")).to_be_visible()
    form = page.get_by_role("form", name="Someone new")
    expect(form.get_by_label("Home city")).to_have_value(str(world.city_ids["Coventry"]))
    register_new(page, "Emily Carter", "1988-04-04", email="emily@coventry.example")
    expect(page.locator(".notice")).to_have_text("Emily Carter is registered and confirmed.")
    expect(row(page, "Emily Carter")).to_contain_text("Coventry")


def test_a_cancelled_all_day_event_is_never_ready(console, world):
    event = world.event("volgograd", title="Twin Cities Day fair", kind="culture",
                        status="planned", all_day=True, starts_at=None, ends_at=None,
                        start_date="2027-04-24", end_date="2027-04-25")
    client = world.api("volgograd")
    r = client.post(f"/api/v1/events/{event['id']}/cancel", json={"reason": "Flooded square"},
                    headers={"If-Match": f'"{event["version"]}"'})
    if r.status_code == 412:  # the API's own ETag form
        etag = client.get(f"/api/v1/events/{event['id']}").headers["etag"]
        r = client.post(f"/api/v1/events/{event['id']}/cancel",
                        json={"reason": "Flooded square"}, headers={"If-Match": etag})
    assert r.status_code == 200, r.text
    tab = console("volgograd")
    page = tab.goto(f"/console/events/{event['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_class("cancelled")
    expect(page.locator(".kind")).to_have_text("Culture")
    expect(page.locator(".event-page .badge.cancelled")).to_have_text("Cancelled")
    # Days as Intl words them in the tab's locale (en-GB): no times for an all-day event.
    expect(page.get_by_text("24 – 25 April 2027").or_(page.get_by_text("24–25 Apr 2027"))
           ).to_be_visible()
    expect(page.get_by_text("Ready", exact=True)).to_have_count(0)
    expect(page.get_by_text("Flooded square")).to_be_visible()
    expect(page.get_by_role("heading", name="Register a person")).to_have_count(0)
