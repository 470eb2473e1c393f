"""The data audit records journeys: the host and the travellers' home city read the
entries, another guest city does not; who meets them is recorded as changed only."""

from __future__ import annotations

from tests.travel.conftest import journey_body, record


def _entries(client, key, entity):
    r = client.get("/api/v1/audit", headers=key, params={"entity": entity})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_a_journey_and_its_travellers_are_audited_for_the_two_cities(client, world):
    w = world
    journey = record(client, w, journey_body(w, "karen", met_by="Maral Orazova's family"))
    [entry] = _entries(client, w.keys["admin"], f"journey:{journey['id']}")
    assert entry["action"] == "created"
    assert entry["after"]["number"] == "TK 2800" and entry["after"]["met_by"] == "***"
    travellers = _entries(client, w.keys["admin"], "journey_traveller")
    assert [e["after"]["participant_id"] for e in travellers] == [w.pid("karen")]
    for city, seen in (("ashgabat", 1), ("albuquerque", 1), ("tashkent", 0)):
        assert len(_entries(client, w.key(city), f"journey:{journey['id']}")) == seen
        assert len(_entries(client, w.key(city), "journey_traveller")) == seen
    assert client.delete(f"/api/v1/journeys/{journey['id']}",
                         headers=w.key("albuquerque")).status_code == 204
    actions = [e["action"] for e in _entries(client, w.key("ashgabat"), "journey_traveller")]
    assert actions == ["deleted", "created"]
