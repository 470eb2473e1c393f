"""Who gets which paper, and the audit entry every download leaves."""

from __future__ import annotations

import pytest

from app.core.actors import Role
from tests.conftest import assert_problem

# A person's papers: the host's and the home city's coordinators, admins, the person
# and their guardian. Those who may read the person but not have their papers: 403;
# those who may not even know them: 404.
PERSON_PAPERS = {
    "admin": 200, "kc": 200, "mc": 200, "ayna": 200,
    "mp": 403,  # the home city's partner system reads the data, gets no papers
    "kp": 404, "fc": 404, "fp": 404, "gc": 404, "gp": 404,
    "guardian": 404,  # of another child
    "anonymous": 401,
}
# Lists: the host's coordinators (all guests), a guest city's (its own), admins; a
# guest's partner system its own as CSV.
LISTS = {
    "admin": (200, 200), "kc": (200, 200), "mc": (200, 200), "fc": (200, 200),
    "mp": (403, 200), "fp": (403, 200), "kp": (403, 403), "gc": (403, 403),
    "gp": (403, 403), "ayna": (403, 403), "anonymous": (401, 401),
}


def _url(world, path: str) -> str:
    return f"/api/v1/events/{world.event.id}/documents/{path}"


@pytest.mark.parametrize(("who", "status"), sorted(PERSON_PAPERS.items()))
def test_who_may_download_a_persons_invitation(client, world, who, status):
    r = client.get(_url(world, f"invitations/{world.person('ayna')}.pdf"),
                   headers=world.keys[who])
    if status == 200:
        assert r.status_code == 200, r.text
        assert r.content.startswith(b"%PDF-")
    else:
        assert_problem(r, status)


@pytest.mark.parametrize(("who", "status"), [("guardian", 200), ("ayna", 404), ("mc", 200),
                                             ("kc", 200), ("fc", 404), ("mp", 403)])
def test_who_may_download_a_minors_consent_form(client, world, who, status):
    r = client.get(_url(world, f"consent-forms/{world.person('satlyk')}.pdf"),
                   headers=world.keys[who])
    assert r.status_code == status, r.text


@pytest.mark.parametrize(("who", "statuses"), sorted(LISTS.items()))
def test_who_may_download_a_delegation_list(client, world, who, statuses):
    for fmt, status in zip(("pdf", "csv"), statuses, strict=True):
        r = client.get(_url(world, f"delegation-list.{fmt}"), headers=world.keys[who])
        if status == 200:
            assert r.status_code == 200, (fmt, r.text)
        else:
            assert_problem(r, status)


def test_a_hidden_event_is_not_found(client, world, make_event, make_key):
    hidden = make_event(world.cities["kostroma"], [world.cities["mary"]], title="Closed",
                        visibility="private", starts_at="2027-08-01T10:00",
                        ends_at="2027-08-02T10:00")
    for path in (f"invitations/{world.person('ayna')}.pdf", "delegation-list.csv"):
        r = client.get(f"/api/v1/events/{hidden.id}/documents/{path}", headers=world.keys["mc"])
        assert_problem(r, 404)
        r = client.get(f"/api/v1/events/{hidden.id}/documents/{path}", headers=world.keys["kc"])
        assert r.status_code == (404 if path.startswith("invitations") else 200), r.text


def test_a_person_without_a_place_has_no_papers(client, world, make_participant):
    stranger = make_participant(world.cities["mary"], full_name="Not Registered")
    r = client.get(_url(world, f"invitations/{stranger.id}.pdf"), headers=world.keys["mc"])
    assert_problem(r, 404, contains="holds no place")


def test_every_download_is_audited_for_the_cities_concerned(client, world):
    key = world.keys["mc"]
    assert client.get(_url(world, f"invitations/{world.person('ayna')}.pdf"),
                      headers=key).status_code == 200
    assert client.get(_url(world, f"consent-forms/{world.person('satlyk')}.pdf"),
                      headers=world.keys["guardian"], params={"lang": "ru"}).status_code == 200
    assert client.get(_url(world, "delegation-list.csv"),
                      headers=world.keys["mp"]).status_code == 200

    def entries(who: str, entity: str) -> list[dict]:
        r = client.get("/api/v1/audit", headers=world.keys[who], params={"entity": entity})
        assert r.status_code == 200, r.text
        return [e for e in r.json()["items"] if e["action"] == "downloaded"]

    ayna = f"participant:{world.person('ayna')}"
    for who in ("mc", "kc", "admin"):
        [entry] = entries(who, ayna)
        assert entry["after"] == {"document": "invitation", "event_id": world.event.id,
                                  "languages": ["en", "ru"]}
        assert entry["before"] is None and entry["actor"].startswith("coordinator key")
    assert entries("fc", ayna) == []  # Ferrara has no business with Aýna
    [consent] = entries("mc", f"participant:{world.person('satlyk')}")
    assert consent["actor_user_id"] is not None and consent["actor_key_id"] is None
    assert consent["after"]["document"] == "consent_form"
    assert consent["after"]["languages"] == ["ru"]
    [listed] = entries("kc", f"event:{world.event.id}")
    assert listed["after"] == {"document": "delegation_list", "format": "csv",
                               "city_id": world.city("mary"), "people": 2}
    assert listed["actor"].startswith("partner key")
    assert entries("mc", f"event:{world.event.id}") == [listed]
    assert entries("fc", f"event:{world.event.id}") == []


def test_a_refused_download_leaves_no_entry(client, world, session):
    r = client.get(_url(world, f"invitations/{world.person('ayna')}.pdf"),
                   headers=world.keys["mp"])
    assert_problem(r, 403)
    r = client.get("/api/v1/audit", headers=world.keys["admin"],
                   params={"entity": f"participant:{world.person('ayna')}"})
    assert all(e["action"] != "downloaded" for e in r.json()["items"])


def test_only_the_citys_coordinators_write_its_letterhead(client, world, make_key):
    url = f"/api/v1/cities/{world.city('kostroma')}/letterhead"
    body = {"office_name": "Kostroma City Hall", "address_lines": ["ul. Sovetskaya 1"],
            "signatory_name": "Elena Smirnova"}
    for who in ("kp", "mc", "anonymous"):
        assert_problem(client.put(url, headers=world.keys[who], json=body),
                       401 if who == "anonymous" else 403)
    r = client.put(url, headers=world.keys["kc"], json=body)
    assert r.status_code == 200, r.text
    assert r.json()["is_set"] and r.json()["office_name"] == "Kostroma City Hall"
    r = client.put(url, headers=make_key(Role.admin), json=body | {"website": "ftp://x"})
    assert_problem(r, 422)
    assert client.get(url).json()["signatory_name"] == "Elena Smirnova"
    r = client.get("/api/v1/audit", headers=world.keys["kc"],
                   params={"entity": f"city_letterhead:{world.city('kostroma')}"})
    assert [e["action"] for e in r.json()["items"]] == ["created"]
    assert_problem(client.get("/api/v1/cities/999999/letterhead"), 404)
