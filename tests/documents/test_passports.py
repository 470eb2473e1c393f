"""Passports: personal data on the participant, and readiness flags a guest's passport
that expires within six months of the return, or is missing for travel abroad."""

from __future__ import annotations

from datetime import date

import pytest

from app.participants.service import months_after


@pytest.mark.parametrize(("day", "months", "expected"), [
    (date(2027, 5, 22), 6, date(2027, 11, 22)),
    (date(2027, 8, 31), 6, date(2028, 2, 29)),
    (date(2027, 12, 31), 2, date(2028, 2, 29)),
    (date(2027, 11, 30), 1, date(2027, 12, 30)),
])
def test_months_after_keeps_the_day_or_the_months_last(day, months, expected):
    assert months_after(day, months) == expected


def _problems(client, world, key: str = "kc") -> list[dict]:
    r = client.get(f"/api/v1/events/{world.event.id}/readiness", headers=world.keys[key])
    assert r.status_code == 200, r.text
    return [p for p in r.json()["problems"] if p["kind"].startswith("passport")]


def _patch(client, world, name: str, **fields) -> dict:
    r = client.patch(f"/api/v1/participants/{world.person(name)}", headers=world.keys["mc"],
                     json=fields)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_a_passport_expiring_within_six_months_of_the_return_is_flagged(client, world):
    assert _problems(client, world) == []
    # The exchange ends on 22 May 2027: five months later is too soon, seven is fine.
    _patch(client, world, "ayna", passport_expiry="2027-10-22")
    [flag] = _problems(client, world)
    assert flag["kind"] == "passport_expiring" and flag["name"] == "Aýna Ňazarowa"
    assert flag["participant_id"] == world.person("ayna")
    assert flag["detail"] == ("the passport expires on 2027-10-22, within 6 months of the "
                              "return (2027-05-22)")
    assert _problems(client, world, "mc") == [flag]  # Mary's own delegation
    assert _problems(client, world, "fc") == []  # Ferrara's has no such problem
    _patch(client, world, "ayna", passport_expiry="2027-12-22")
    assert _problems(client, world) == []
    _patch(client, world, "ayna", passport_expiry="2027-11-21")
    assert [p["kind"] for p in _problems(client, world)] == ["passport_expiring"]
    _patch(client, world, "ayna", passport_expiry="2027-11-22")
    assert _problems(client, world) == []


def test_the_hosts_own_people_and_guests_without_an_expiry_are_not_flagged(client, world):
    r = client.patch(f"/api/v1/participants/{world.person('ivan')}", headers=world.keys["kc"],
                     json={"passport_number": "4510 123456", "passport_expiry": "2027-06-01"})
    assert r.status_code == 200, r.text
    _patch(client, world, "satlyk", passport_expiry=None)
    assert _problems(client, world) == []


def test_passport_data_is_personal(client, world):
    body = _patch(client, world, "ayna", passport_number="N 99887766", nationality="TM")
    assert body["passport_number"] == "N 99887766" and body["passport_expiry"] == "2031-03-01"
    r = client.patch(f"/api/v1/participants/{world.person('ayna')}", headers=world.keys["mc"],
                     json={"nationality": "Turkmenistan"})
    assert r.status_code == 422
    r = client.get("/api/v1/audit", headers=world.keys["mc"],
                   params={"entity": f"participant:{world.person('ayna')}"})
    updated = next(e for e in r.json()["items"] if e["action"] == "updated")
    assert updated["after"]["passport_number"] == "***"
    assert updated["before"]["passport_number"] == "***"
    # Erasure blanks the passport with the rest.
    assert client.delete(f"/api/v1/participants/{world.person('ayna')}",
                         headers=world.keys["mc"]).status_code in (200, 204)
    r = client.get(f"/api/v1/participants/{world.person('ayna')}", headers=world.keys["mc"])
    assert (r.json()["passport_number"], r.json()["passport_expiry"],
            r.json()["nationality"]) == (None, None, None)
