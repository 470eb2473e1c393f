"""Host families in the console: the host proposes a placement, sees why each guest
is where they are, a move that breaks a rule is refused with the reason, the
placement is confirmed; a guest city reads its own guests' families."""

from __future__ import annotations

from itertools import count

from playwright.sync_api import expect

from tests.console.conftest import PHONE

_serial = count(1)


def school_exchange(world):
    """Volgograd hosts three Coventry pupils; Oliver is allergic to pets, and only
    the Petrov family (two places) keeps a dog."""
    n = next(_serial)
    host, guest = world.api("volgograd"), world.api("coventry")
    families = {}
    for name, places, pets, languages in ((f"Petrov family {n}", 2, True, ["ru", "en"]),
                                          (f"Ivanova family {n}", 1, False, ["ru"]),
                                          (f"Smirnov family {n}", 2, False, ["en"])):
        r = host.post(f"/api/v1/cities/{world.city_ids['Volgograd']}/host-families", json={
            "household_name": name, "places": places, "pets": pets, "languages": languages,
            "phone": "+7 8442 000000"})
        assert r.status_code == 201, r.text
        families[name.rsplit(" ", 1)[0]] = r.json()["id"]
    event = world.event("volgograd", title=f"Coventry pupils in Volgograd {n}",
                        kind="school_exchange", chaperone_ratio=10)
    pupils = {}
    for name, birth, needs in (
            ("Emily Carter", "1980-01-01", None),
            ("Oliver Brown", "2012-04-04", {"allergies": ["pets"], "languages": ["en"]}),
            ("Amelia Green", "2012-06-06", {"languages": ["en"]}),
            ("Harry Jones", "2012-08-08", {"languages": ["en"]})):
        person = guest.post("/api/v1/participants", json={
            "full_name": name, "home_city_id": world.city_ids["Coventry"], "birth_date": birth,
            "guardian_name": "A guardian" if needs else None})
        assert person.status_code == 201, person.text
        pid = person.json()["id"]
        role = "student" if needs else "chaperone"
        reg = guest.post(f"/api/v1/events/{event['id']}/registrations",
                         json={"participant_id": pid, "role": role})
        assert reg.status_code == 201, reg.text
        if needs:
            consent = guest.post(f"/api/v1/registrations/{reg.json()['id']}/consent",
                                 json={"guardian_name": "A guardian"})
            assert consent.status_code == 200, consent.text
            r = guest.put(f"/api/v1/events/{event['id']}/guests/{pid}/needs", json=needs)
            assert r.status_code == 200, r.text
        pupils[name] = pid
    return event, families, pupils


def family(page, name):
    return page.locator(".placement-family").filter(
        has=page.get_by_role("heading", name=name))


def test_the_host_proposes_moves_and_confirms_a_placement(console, world):
    event, families, _ = school_exchange(world)
    n = event["title"].rsplit(" ", 1)[1]
    tab = console("volgograd")
    page = tab.goto(f"/console/events/{event['id']}")
    page.get_by_role("link", name="Host families").click()
    tab.settled()
    tab.expect_problem(404)  # no placement yet: the page offers to propose one
    expect(page.get_by_text("No placement yet.")).to_be_visible()

    page.get_by_role("button", name="Propose a placement").click()
    expect(page.get_by_text("3 of 3 guests placed.")).to_be_visible()
    petrov = family(page, f"Petrov family {n}")
    expect(petrov).not_to_contain_text("Oliver Brown")  # the dog
    oliver = page.locator(".placement-guest").filter(has_text="Oliver Brown")
    expect(oliver).to_have_count(1)

    # Moving Oliver to the dog's family breaks a rule: refused, with the reason.
    oliver.get_by_label("Move Oliver Brown to another family").select_option(
        label=f"Petrov family {n}")
    oliver.get_by_role("button", name="Move").click()
    expect(page.locator(".placement-notice .problem")).to_contain_text("Oliver Brown")
    tab.expect_problem(409)
    expect(petrov).not_to_contain_text("Oliver Brown")

    # Any family of the city is offered, not only those the proposal used.
    amelia = page.locator(".placement-guest").filter(has_text="Amelia Green")
    amelia.get_by_label("Move Amelia Green to another family").select_option(
        label=f"Ivanova family {n}")
    amelia.get_by_role("button", name="Move").click()
    moved = family(page, f"Ivanova family {n}").locator(".placement-guest")
    expect(moved).to_contain_text("Amelia Green")
    expect(moved).to_contain_text("pinned")

    page.get_by_role("button", name="Confirm the placement").click()
    expect(page.get_by_text("Confirmed", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Open it again")).to_be_visible()
    tab.snap("event-placement")
    tab.axe()

    guest = console("coventry")
    page = guest.goto(f"/console/events/{event['id']}/placement")
    expect(page.locator(".placement-guest")).to_have_count(3)
    expect(page.get_by_role("button", name="Move")).to_have_count(0)
    expect(page.get_by_role("button", name="Propose a placement")).to_have_count(0)


def test_the_placement_on_a_phone_in_russian(console, world):
    event, _, _ = school_exchange(world)
    host = world.api("volgograd")
    r = host.post(f"/api/v1/events/{event['id']}/placement", json={})
    assert r.status_code == 200, r.text
    with world.speaking("volgograd", "ru"):
        tab = console("volgograd", viewport=PHONE, locale="ru-RU")
        page = tab.goto(f"/console/events/{event['id']}/placement")
        expect(page.get_by_role("heading", name="Семьи", exact=True)).to_be_visible()
        expect(page.get_by_text("Размещено 3 гостя из 3.")).to_be_visible()
        tab.no_overflow()
        tab.snap("event-placement-ru")
        tab.axe()



def test_the_guest_city_records_its_pupils_needs_and_the_placement_keeps_them(console, world):
    event, _, pupils = school_exchange(world)
    tab = console("coventry")
    page = tab.goto(f"/console/events/{event['id']}/placement")
    tab.expect_problem(404)  # no placement yet
    needs = page.get_by_role("region", name="Our guests' needs")
    def of(name):
        return needs.locator("details").filter(has=page.locator("summary", has_text=name))

    oliver = of("Oliver Brown")
    expect(oliver.locator(".needs-summary")).to_have_text("Allergic to pets · English")
    harry = of("Harry Jones")
    harry.locator("summary").click()
    form = harry.get_by_role("form", name="Needs of Harry Jones")
    form.get_by_label("Allergic to smoke").check()
    form.get_by_label("Brother or sister of").select_option(label="Amelia Green")
    form.get_by_label("Medical notes").fill("Carries an inhaler.")
    form.get_by_role("button", name="Save").click()
    expect(harry.locator(".needs-summary")).to_have_text("Allergic to smoke · English")
    tab.snap("event-placement-needs")
    tab.axe()

    # The host's proposal puts the siblings together.
    placement = world.api("volgograd").post(f"/api/v1/events/{event['id']}/placement", json={})
    assert placement.status_code == 200, placement.text
    family_of = {g["participant_id"]: g["family_id"] for g in placement.json()["guests"]}
    assert family_of[pupils["Harry Jones"]] == family_of[pupils["Amelia Green"]]
    needs = world.api("volgograd").get(
        f"/api/v1/events/{event['id']}/guests/{pupils['Harry Jones']}/needs").json()
    assert needs["medical_notes"] == "Carries an inhaler." and needs["allergies"] == ["smoke"]
