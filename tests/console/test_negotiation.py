"""A proposal between twins, negotiated from the event page: Coventry proposes a
school exchange hosted by Volgograd; Volgograd counters with other dates,
Coventry accepts; another proposal is declined with a reason."""

from __future__ import annotations

from itertools import count

from playwright.sync_api import expect

from tests.console.conftest import PHONE

_serial = count(1)


def propose(world, **fields):
    body = {
        "host_city_id": world.city_ids["Volgograd"], "kind": "school_exchange",
        "title": f"Coventry pupils in Volgograd {next(_serial)}",
        "starts_at": "2027-09-13T09:00", "ends_at": "2027-09-17T17:00",
        "message": "Our sixth form would love to come in September.",
    } | fields
    r = world.api("coventry").post("/api/v1/event-proposals", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def card(page):
    return page.get_by_role("region", name="Negotiation")


def test_a_counter_proposal_then_accepted_from_the_console(console, world):
    event = propose(world)

    # The host's turn: the proposal, its message, and the moves it may make.
    host = console("volgograd")
    page = host.goto(f"/console/events/{event['id']}")
    expect(page.locator(".badge").first).to_have_text("Proposed by a twin")
    negotiation = card(page)
    expect(negotiation.get_by_text("Coventry proposed")).to_be_visible()
    expect(negotiation.get_by_text("Our sixth form would love to come")).to_be_visible()
    expect(negotiation.get_by_text("It is your turn")).to_be_visible()
    # A proposal is negotiated, not edited, and takes no registrations yet.
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    expect(page.get_by_role("form", name="Someone new")).to_have_count(0)
    host.axe()
    host.snap("negotiation-host-turn")

    # Dates in the wrong order are refused beside the field, in words.
    counter = negotiation.get_by_role("form", name="Propose other dates")
    counter.get_by_label("Starts").fill("2027-10-08T09:00")
    counter.get_by_label("Ends").fill("2027-10-04T17:00")
    counter.get_by_role("button", name="Propose these dates").click()
    expect(counter.locator(".field-error:not([hidden]), .form-problem").first).to_be_visible()
    host.expect_problem(422)

    counter.get_by_label("Starts").fill("2027-10-04T09:00")
    counter.get_by_label("Ends").fill("2027-10-08T17:00")
    counter.get_by_label("Message").fill("October suits our school better.")
    counter.get_by_role("button", name="Propose these dates").click()
    expect(page.locator(".notice")).to_have_text(
        "Your dates are proposed; it is now the other city's turn.")
    negotiation = card(page)
    expect(negotiation.get_by_text("Volgograd proposed other dates")).to_be_visible()
    expect(negotiation.get_by_text("Waiting for Coventry to answer.")).to_be_visible()
    expect(negotiation.get_by_role("form", name="Accept the dates")).to_have_count(0)
    # The host may still decline while it waits.
    expect(negotiation.get_by_role("form", name="Decline the proposal")).to_be_visible()

    # The proposer's turn: it accepts, and the exchange is the host's draft.
    guest = console("coventry")
    page = guest.goto(f"/console/events/{event['id']}")
    negotiation = card(page)
    expect(negotiation.get_by_text("It is your turn")).to_be_visible()
    expect(negotiation.get_by_role("form", name="Withdraw the proposal")).to_be_visible()
    expect(negotiation.get_by_role("form", name="Decline the proposal")).to_have_count(0)
    # Only the host chooses what the event becomes.
    expect(negotiation.get_by_label("The event becomes")).to_have_count(0)
    negotiation.get_by_role("form", name="Accept the dates").get_by_role(
        "button", name="Accept").click()
    expect(page.locator(".notice")).to_have_text(
        "Accepted: the exchange is now on the host's calendar.")
    expect(page.locator(".badge").first).to_have_text("Draft")
    expect(card(page)).to_have_count(0)
    # The host edits its event; the guest city is not offered an edit it would be refused.
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    guest.snap("negotiation-accepted")

    r = world.api("volgograd").get(f"/api/v1/events/{event['id']}")
    assert (r.json()["status"], r.json()["starts_at"][:16]) == ("draft", "2027-10-04T09:00")
    steps = world.api("volgograd").get(f"/api/v1/events/{event['id']}/negotiation").json()["steps"]
    assert [s["action"] for s in steps] == ["proposed", "countered", "accepted"]


def test_the_host_declines_with_a_reason(console, world):
    event = propose(world)
    host = console("volgograd")
    page = host.goto(f"/console/events/{event['id']}")
    decline = card(page).get_by_role("form", name="Decline the proposal")
    decline.get_by_role("button", name="Decline").click()  # no reason: said beside the field
    expect(decline.locator("[data-field=reason] .field-error")).to_be_visible()
    host.expect_problem(422)
    decline.get_by_label("Reason").fill("Our school is closed for repairs that month.")
    decline.get_by_role("button", name="Decline").click()
    expect(page.locator(".notice")).to_have_text("The proposal is declined.")
    expect(page.locator(".badge").first).to_have_text("Cancelled")
    expect(page.get_by_text("Our school is closed for repairs that month.")).to_be_visible()
    r = world.api("coventry").get(f"/api/v1/events/{event['id']}")
    assert r.json()["status"] == "cancelled"


def test_a_city_that_only_takes_part_reads_no_negotiation(console, world):
    """Kostroma's coordinator (also Volgograd's) sees the moves as Volgograd, the city
    chosen in the switcher; an admin reads the moves without acting for either."""
    event = propose(world)
    admin = console("admin")
    page = admin.goto(f"/console/events/{event['id']}")
    negotiation = card(page)
    expect(negotiation.get_by_text("Waiting for Volgograd to answer.")).to_be_visible()
    expect(negotiation.get_by_role("button")).to_have_count(0)


def test_the_negotiation_card_on_a_phone_in_russian(console, world):
    event = propose(world)
    with world.speaking("volgograd", "ru"):
        tab = console("volgograd", viewport=PHONE, locale="ru-RU")
        page = tab.goto(f"/console/events/{event['id']}")
        negotiation = page.get_by_role("region", name="Согласование")
        expect(negotiation.get_by_text("Coventry: предложение")).to_be_visible()
        expect(negotiation.get_by_text("Ваша очередь")).to_be_visible()
        expect(negotiation.get_by_role("form", name="Предложить другие даты")).to_be_visible()
        expect(negotiation.get_by_role("button", name="Принять")).to_be_visible()
        tab.no_overflow()
        tab.axe()
        tab.snap("negotiation-ru")
