"""Exchanges proposed between twins: Kostroma's school group proposes to visit Ferrara.

Kostroma and Ferrara are twinned; Gabrovo is Ferrara's twin too, but no party to
Kostroma's proposals and no twin of Kostroma. Each city has a coordinator and a
partner key (``kc``, ``kp``, ``fc``, ``fp``, ``gc``, ``gp``), and there are an
admin and anonymous callers. Notifications go through the real outbox and worker
to a real SMTP server and a real webhook receiver (tests/notifications).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, func, select

from app.accounts.models import Language
from app.accounts.service import add_membership, create_user
from app.cities.models import PartnershipStatus
from app.core.actors import Role
from app.core.changes import change_recorded
from app.events.changes import ProposalMoved
from app.events.models import Event
from app.notifications.models import Channel, Topic
from tests.conftest import assert_problem
from tests.factories import event_body
from tests.notifications.conftest import (  # noqa: F401  (fixtures)
    _loopback_webhooks,
    make_worker,
    outbox,
    receiver,
    smtp,
)
from tests.notifications.fakes import verify

PROPOSALS = "/api/v1/event-proposals"


class World:
    def __init__(self, cities: dict[str, Any], keys: dict[str, dict[str, str]]) -> None:
        self.cities, self.keys = cities, keys

    def id(self, name: str) -> int:
        return int(self.cities[name].id)


@pytest.fixture
def world(make_city, make_partnership, make_key) -> World:
    kostroma = make_city("Kostroma")
    ferrara = make_city("Ferrara", "IT", timezone="Europe/Rome")
    gabrovo = make_city("Gabrovo", "BG", timezone="Europe/Sofia")
    make_partnership(kostroma, ferrara)
    make_partnership(ferrara, gabrovo)
    cities = {"kostroma": kostroma, "ferrara": ferrara, "gabrovo": gabrovo}
    keys = {"anonymous": {}, "admin": make_key(Role.admin)}
    for name, city in cities.items():
        keys[f"{name[0]}c"] = make_key(Role.coordinator, city)
        keys[f"{name[0]}p"] = make_key(Role.partner, city)
    return World(cities, keys)


def proposal(w: World, **fields: Any) -> dict[str, Any]:
    return {"kind": "school_exchange", "title": "Liceo visit", "host_city_id": w.id("ferrara"),
            "starts_at": "2027-05-20T10:00", "ends_at": "2027-05-27T18:00",
            "message": "Twenty pupils and two teachers would like to come in May."} | fields


def propose(client, w: World, who: str = "kc", **fields: Any) -> dict[str, Any]:
    r = client.post(PROPOSALS, json=proposal(w, **fields), headers=w.keys[who])
    assert r.status_code == 201, r.text
    return dict(r.json())


def move(client, w: World, who: str, event_id: int, action: str, **body: Any):
    return client.post(f"/api/v1/events/{event_id}/{action}", json=body, headers=w.keys[who])


def negotiation(client, w: World, event_id: int, who: str = "kc") -> dict[str, Any]:
    r = client.get(f"/api/v1/events/{event_id}/negotiation", headers=w.keys[who])
    assert r.status_code == 200, r.text
    return dict(r.json())


def _coordinator(session: Session, city: Any, email: str, language: Language) -> None:
    user = create_user(session, email=email, display_name=email.split("@")[0], password=None,
                       language=language)
    add_membership(session, user, Role.coordinator, city.id)
    session.commit()


def _endpoint(client, w: World, city: str, url: str, types: list[str]) -> str:
    r = client.post("/api/v1/webhook-endpoints", headers=w.keys[f"{city[0]}c"],
                    json={"city_id": w.id(city), "url": url, "event_types": types})
    assert r.status_code == 201, r.text
    return str(r.json()["secret"])


# The whole story -------------------------------------------------------------------------


def _delivery(request) -> tuple[Any, Any, Any]:
    """The notification tests' real SMTP server, webhook receiver and worker."""
    return tuple(request.getfixturevalue(name)  # type: ignore[return-value]
                 for name in ("receiver", "smtp", "make_worker"))


def test_kostroma_proposes_ferrara_counters_kostroma_accepts(client, session, world, request):
    hooks, mail, worker = _delivery(request)
    w = world
    _coordinator(session, w.cities["ferrara"], "scambi@comune.fe.it", Language.en)
    _coordinator(session, w.cities["ferrara"], "ivanova@comune.fe.it", Language.ru)
    _coordinator(session, w.cities["kostroma"], "obmen@kostroma.ru", Language.ru)
    _coordinator(session, w.cities["gabrovo"], "twins@gabrovo.bg", Language.en)
    ferrara_secret = _endpoint(client, w, "ferrara", hooks.url + "/ferrara",
                               ["event.proposal"])
    _endpoint(client, w, "kostroma", hooks.url + "/kostroma",
              ["event.proposal", "event.created", "event.updated"])
    _endpoint(client, w, "gabrovo", hooks.url + "/gabrovo",
              ["event.proposal", "event.created", "event.updated"])

    # Kostroma proposes: the event is Ferrara's, proposed, Kostroma its guest.
    event = propose(client, w)
    assert event["status"] == "proposed"
    assert event["host_city_id"] == w.id("ferrara")
    assert event["guest_city_ids"] == [w.id("kostroma")]
    assert event["visibility"] == "partners"
    assert event["timezone"] == "Europe/Rome"

    # Ferrara is told: its endpoint gets event.proposal, its coordinators an email each,
    # in their language; Kostroma (its own move) and Gabrovo hear nothing of the move.
    worker().run_once()
    to_ferrara = [d for d in hooks.accepted() if d.path.endswith("/ferrara")]
    assert [d.payload["type"] for d in to_ferrara] == ["event.proposal"]
    sent = verify(ferrara_secret, to_ferrara[0])
    assert sent["data"]["action"] == "proposed"
    assert sent["data"]["turn_city_id"] == w.id("ferrara")
    assert sent["data"]["event"]["id"] == event["id"]
    assert sent["data"]["message"].startswith("Twenty pupils")
    (english,) = mail.sink.to("scambi@comune.fe.it")
    assert english["Subject"] == "'Liceo visit': proposed by Kostroma"
    text = english.get_body(("plain",)).get_content()
    assert "Dear coordinators of Ferrara," in text
    assert "Kostroma proposes an exchange hosted by Ferrara: 'Liceo visit'" in text
    assert "Twenty pupils" in text and "It is your turn to answer" in text
    (russian,) = mail.sink.to("ivanova@comune.fe.it")
    assert "Уважаемые координаторы города Ferrara!" in russian.get_body(("plain",)).get_content()
    assert mail.sink.to("obmen@kostroma.ru") == []
    assert mail.sink.to("twins@gabrovo.bg") == []
    # The event itself is followed as any event: Kostroma, its guest, hears it was created.
    to_kostroma = [d.payload["type"] for d in hooks.accepted() if d.path.endswith("/kostroma")]
    assert to_kostroma == ["event.created"]
    assert [d for d in hooks.accepted() if d.path.endswith("/gabrovo")] == []

    # Ferrara counters with other dates: the event takes them, it is Kostroma's turn.
    r = move(client, w, "fc", event["id"], "counter", starts_at="2027-06-03T09:00",
             ends_at="2027-06-10T17:00", message="June suits our school better.")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "proposed"
    assert r.json()["starts_at"] == "2027-06-03T09:00:00+02:00"
    assert negotiation(client, w, event["id"])["turn_city_id"] == w.id("kostroma")

    worker().run_once()
    (counter_mail,) = mail.sink.to("obmen@kostroma.ru")
    body = counter_mail.get_body(("plain",)).get_content()
    assert "Ferrara предлагает другие даты" in body and "June suits" in body
    assert [d.payload["data"]["action"] for d in hooks.accepted()
            if d.path.endswith("/kostroma")
            and d.payload["type"] == "event.proposal"] == ["countered"]

    # Kostroma accepts the counter: the event is Ferrara's draft, on Ferrara's dates,
    # with the visibility proposed (public by default).
    r = move(client, w, "kc", event["id"], "accept", message="June it is.")
    assert r.status_code == 200, r.text
    accepted = r.json()
    assert accepted["status"] == "draft" and accepted["visibility"] == "public"
    assert accepted["starts_at"] == "2027-06-03T09:00:00+02:00"
    assert accepted["ends_at"] == "2027-06-10T17:00:00+02:00"
    assert accepted["host_city_id"] == w.id("ferrara")

    worker().run_once()
    assert len(mail.sink.to("scambi@comune.fe.it")) == 2  # proposed, accepted
    last = mail.sink.to("scambi@comune.fe.it")[-1].get_body(("plain",)).get_content()
    assert "Kostroma accepted 'Liceo visit'" in last and "The event is draft" in last

    # The whole negotiation is kept on the event, for both cities.
    log = negotiation(client, w, event["id"], "fp")
    assert log["state"] == "accepted" and log["turn_city_id"] is None
    assert log["closed_at"] is not None
    assert log["proposer_city_id"] == w.id("kostroma")
    assert log["host_city_id"] == w.id("ferrara")
    assert [(s["action"], s["city_id"]) for s in log["steps"]] == [
        ("proposed", w.id("kostroma")),
        ("countered", w.id("ferrara")),
        ("accepted", w.id("kostroma")),
    ]
    assert log["steps"][0]["starts_at"] == "2027-05-20T10:00:00+02:00"
    assert log["steps"][1]["starts_at"] == "2027-06-03T09:00:00+02:00"
    assert log["steps"][1]["message"] == "June suits our school better."
    assert log["steps"][2]["actor"].startswith("coordinator key")

    # Accepted and public: anyone sees the event, but the negotiation stays the two
    # cities' (403 for Gabrovo, which may see the event; 404 would hide nothing; and
    # never public).
    assert client.get(f"/api/v1/events/{event['id']}").status_code == 200
    assert_problem(client.get(f"/api/v1/events/{event['id']}/negotiation",
                              headers=w.keys["gc"]), 403)
    assert_problem(client.get(f"/api/v1/events/{event['id']}/negotiation"), 401)

    # From now on the host plans it as any event of its own.
    r = client.patch(f"/api/v1/events/{event['id']}", json={"status": "confirmed"},
                     headers={**w.keys["fc"], "If-Match": "*"})
    assert r.status_code == 200, r.text
    assert_problem(move(client, w, "fc", event["id"], "counter", starts_at="2027-07-01T10:00",
                        ends_at="2027-07-02T10:00"), 409, contains="over")


def test_the_host_declines_with_a_reason(client, session, world, request):
    _, mail, worker = _delivery(request)
    w = world
    _coordinator(session, w.cities["kostroma"], "obmen@kostroma.ru", Language.en)
    event = propose(client, w)
    assert_problem(move(client, w, "fc", event["id"], "decline"), 422)
    assert_problem(move(client, w, "fc", event["id"], "decline", reason=""), 422)

    r = move(client, w, "fc", event["id"], "decline", reason="Our school is closed in May.")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"
    assert r.json()["cancel_reason"] == "Declined by the host: Our school is closed in May."

    log = negotiation(client, w, event["id"])
    assert log["state"] == "declined" and log["turn_city_id"] is None
    assert [s["action"] for s in log["steps"]] == ["proposed", "declined"]
    assert log["steps"][1]["message"] == "Our school is closed in May."
    assert log["steps"][1]["starts_at"] is None

    worker().run_once()
    (mail,) = mail.sink.to("obmen@kostroma.ru")
    text = mail.get_body(("plain",)).get_content()
    assert "Ferrara declined the proposed exchange 'Liceo visit'." in text
    assert "Our school is closed in May." in text

    # Over: no more moves, and a declined proposal never becomes anyone else's business.
    for action, who, body in (("accept", "fc", {}), ("withdraw", "kc", {"reason": "x"}),
                              ("decline", "fc", {"reason": "again"})):
        assert_problem(move(client, w, who, event["id"], action, **body), 409, contains="over")
    assert client.get(f"/api/v1/events/{event['id']}").status_code == 404
    assert client.get(f"/api/v1/events/{event['id']}", headers=w.keys["gc"]).status_code == 404


def test_the_proposer_withdraws(client, world):
    w = world
    event = propose(client, w)
    assert_problem(move(client, w, "fc", event["id"], "withdraw", reason="not ours"), 403)
    r = move(client, w, "kc", event["id"], "withdraw", reason="The school trip was cancelled.")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"
    assert r.json()["cancel_reason"].startswith("Withdrawn by the proposer: ")
    log = negotiation(client, w, event["id"], "fc")
    assert log["state"] == "withdrawn"
    assert [(s["action"], s["city_id"]) for s in log["steps"]] == [
        ("proposed", w.id("kostroma")), ("withdrawn", w.id("kostroma"))]


# Who may propose to whom -------------------------------------------------------------------


@pytest.mark.parametrize(("status", "allowed"), [
    (PartnershipStatus.active, True),
    (PartnershipStatus.proposed, True),  # a first visit
    (PartnershipStatus.negotiating, True),
    (PartnershipStatus.suspended, False),
    (PartnershipStatus.ended, False),
])
def test_only_twins_may_propose(client, make_city, make_partnership, make_key, status, allowed):
    kostroma, ferrara = make_city("Kostroma"), make_city("Ferrara", "IT")
    make_partnership(kostroma, ferrara, status=status)
    body = {"kind": "culture", "title": "Film week", "host_city_id": ferrara.id,
            "starts_at": "2027-05-20T10:00", "ends_at": "2027-05-22T18:00"}
    r = client.post(PROPOSALS, json=body, headers=make_key(Role.coordinator, kostroma))
    if allowed:
        assert r.status_code == 201, r.text
    else:
        problem = assert_problem(r, 422, contains=str(status))
        assert problem["partnership_id"]


def test_an_unrelated_city_may_not_propose(client, world):
    w = world
    # Gabrovo is Ferrara's twin, not Kostroma's.
    body = proposal(w, host_city_id=w.id("kostroma"))
    assert_problem(client.post(PROPOSALS, json=body, headers=w.keys["gc"]), 422,
                   contains="not twinned")
    # Nor may a city propose for another, nor to itself.
    body = proposal(w, proposer_city_id=w.id("kostroma"))
    assert_problem(client.post(PROPOSALS, json=body, headers=w.keys["gc"]), 403)
    body = proposal(w, host_city_id=w.id("kostroma"))
    assert_problem(client.post(PROPOSALS, json=body, headers=w.keys["kc"]), 422)
    # An admin names the proposing city.
    assert_problem(client.post(PROPOSALS, json=proposal(w), headers=w.keys["admin"]), 422,
                   contains="proposer_city_id")
    r = client.post(PROPOSALS, json=proposal(w, proposer_city_id=w.id("kostroma")),
                    headers=w.keys["admin"])
    assert r.status_code == 201, r.text
    assert r.json()["guest_city_ids"] == [w.id("kostroma")]


def test_bad_proposals_are_422(client, world):
    w = world
    for fields in ({"ends_at": "2027-05-19T10:00"}, {"starts_at": None},
                   {"all_day": True}, {"host_city_id": 999_999}, {"visibility": "secret"}):
        body = {k: v for k, v in proposal(w, **fields).items() if v is not None}
        assert_problem(client.post(PROPOSALS, json=body, headers=w.keys["kc"]), 422)


# Turns ---------------------------------------------------------------------------------


def test_whose_turn_it_is_is_enforced(client, world):
    w = world
    event = propose(client, w)
    eid = event["id"]
    # The host moves first.
    assert_problem(move(client, w, "kc", eid, "accept"), 409, contains="turn")
    assert_problem(move(client, w, "kc", eid, "counter", starts_at="2027-06-01T10:00",
                        ends_at="2027-06-02T10:00"), 409, contains="turn")
    r = move(client, w, "fc", eid, "counter", all_day=True, start_date="2027-06-01",
             end_date="2027-06-05")
    assert r.status_code == 200, r.text
    assert r.json()["all_day"] and r.json()["end_date"] == "2027-06-05"
    # Now the proposer's.
    assert_problem(move(client, w, "fc", eid, "accept"), 409, contains="turn")
    assert_problem(move(client, w, "fc", eid, "counter", starts_at="2027-06-01T10:00",
                        ends_at="2027-06-02T10:00"), 409, contains="turn")
    # The proposer's acceptance makes a draft; only the host confirms at once.
    assert_problem(move(client, w, "kc", eid, "accept", status="confirmed"), 422)
    r = move(client, w, "kc", eid, "counter", starts_at="2027-06-02T10:00",
             ends_at="2027-06-04T16:00", message="Two days fewer?")
    assert r.status_code == 200, r.text
    assert not r.json()["all_day"]
    # Ending needs no turn, but the right side: the proposer cannot decline, the host
    # cannot withdraw.
    assert_problem(move(client, w, "kc", eid, "decline", reason="x"), 403)
    assert_problem(move(client, w, "fc", eid, "withdraw", reason="x"), 403)
    r = move(client, w, "fc", eid, "accept", status="confirmed")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "confirmed"
    log = negotiation(client, w, eid)
    assert [s["action"] for s in log["steps"]] == [
        "proposed", "countered", "countered", "accepted"]
    assert log["steps"][1]["start_date"] == "2027-06-01"
    assert log["steps"][1]["end_date"] == "2027-06-05"
    assert log["steps"][3]["starts_at"] == "2027-06-02T10:00:00+02:00"


def test_a_stale_etag_is_refused(client, world):
    w = world
    event = propose(client, w)
    r = client.post(f"/api/v1/events/{event['id']}/accept", json={},
                    headers={**w.keys["fc"], "If-Match": '"1-999"'})
    assert_problem(r, 412)


def test_a_proposal_changes_only_through_its_negotiation(client, world, make_participant):
    w = world
    event = propose(client, w)
    eid = event["id"]
    headers = {**w.keys["fc"], "If-Match": "*"}
    assert_problem(client.patch(f"/api/v1/events/{eid}", json={"title": "Other"},
                                headers=headers), 409, contains="negotiation")
    assert_problem(client.post(f"/api/v1/events/{eid}/cancel", json={"reason": "no"},
                               headers=w.keys["fc"]), 409, contains="decline")
    # Registrations wait for the host's acceptance.
    person = make_participant(w.cities["kostroma"])
    r = client.post(f"/api/v1/events/{eid}/registrations", headers=w.keys["kc"],
                    json={"participant_id": person.id, "role": "delegate"})
    assert_problem(r, 409, contains="proposal")
    assert move(client, w, "fc", eid, "accept").status_code == 200
    r = client.post(f"/api/v1/events/{eid}/registrations", headers=w.keys["kc"],
                    json={"participant_id": person.id, "role": "delegate"})
    assert r.status_code == 201, r.text
    # A plainly planned event has no negotiation.
    r = client.post("/api/v1/events", headers=w.keys["fc"],
                    json=event_body(w.cities["ferrara"], [w.cities["kostroma"]]))
    assert r.status_code == 201, r.text
    assert_problem(move(client, w, "fc", r.json()["id"], "accept"), 404)
    assert_problem(client.get(f"/api/v1/events/{r.json()['id']}/negotiation",
                              headers=w.keys["fc"]), 404)


# Visibility ------------------------------------------------------------------------------


def test_a_proposal_is_in_no_public_list_or_feed(client, world):
    w = world
    event = propose(client, w, title="Secret liceo visit", visibility="public")

    def listed(who: str, **params: Any) -> list[int]:
        r = client.get("/api/v1/events", params=params, headers=w.keys[who])
        assert r.status_code == 200, r.text
        return [e["id"] for e in r.json()["items"]]

    for who in ("anonymous", "gc", "gp"):
        assert event["id"] not in listed(who)
        assert event["id"] not in listed(who, city_id=w.id("ferrara"))
    for who in ("kc", "kp", "fc", "fp", "admin"):
        assert event["id"] in listed(who, status="proposed")
    for city in ("ferrara", "kostroma"):
        feed = client.get(f"/calendars/cities/{w.id(city)}.ics")
        assert feed.status_code == 200
        assert "Secret liceo visit" not in feed.text

    # Accepted and confirmed, it is public like any event (feeds never list drafts).
    assert move(client, w, "fc", event["id"], "accept", status="confirmed").status_code == 200
    assert event["id"] in listed("anonymous")
    assert "Secret liceo visit" in client.get(f"/calendars/cities/{w.id('ferrara')}.ics").text


# The scope matrix ----------------------------------------------------------------------

CALLERS = ["anonymous", "admin", "kc", "kp", "fc", "fp", "gc", "gp"]


def _row(anonymous: int, admin: int, kc: int, kp: int, fc: int, fp: int, gc: int,
         gp: int) -> dict[str, int]:
    return dict(zip(CALLERS, (anonymous, admin, kc, kp, fc, fp, gc, gp), strict=True))


# (name, method, path under the proposal's event or None for POST /proposals, body)
MATRIX: list[tuple[str, str, str | None, dict[str, Any] | None, dict[str, int]]] = [
    ("read the event", "GET", "", None, _row(404, 200, 200, 200, 200, 200, 404, 404)),
    ("read the negotiation", "GET", "/negotiation", None,
     _row(401, 200, 200, 200, 200, 200, 404, 404)),
    ("propose for Kostroma", "POST", None, {"proposer_city_id": "kostroma"},
     _row(401, 201, 201, 403, 403, 403, 403, 403)),
    # The host's turn: Kostroma's coordinator may move, but not now (409).
    ("accept", "POST", "/accept", {}, _row(401, 200, 409, 403, 200, 403, 404, 404)),
    ("counter", "POST", "/counter",
     {"starts_at": "2027-06-03T09:00", "ends_at": "2027-06-10T17:00"},
     _row(401, 200, 409, 403, 200, 403, 404, 404)),
    ("decline", "POST", "/decline", {"reason": "full"},
     _row(401, 200, 403, 403, 200, 403, 404, 404)),
    ("withdraw", "POST", "/withdraw", {"reason": "ill"},
     _row(401, 200, 200, 403, 403, 403, 404, 404)),
]


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("name", "method", "path", "body", "expected"), MATRIX,
                         ids=[m[0] for m in MATRIX])
def test_scope_matrix(client, world, caller, name, method, path, body, expected):
    w = world
    headers = w.keys[caller]
    if path is None:
        filled = proposal(w, **{k: w.id(v) for k, v in (body or {}).items()})
        r = client.request(method, PROPOSALS, json=filled, headers=headers)
    else:
        event = propose(client, w)
        r = client.request(method, f"/api/v1/events/{event['id']}{path}", json=body,
                           headers=headers)
    want = expected[caller]
    assert r.status_code == want, f"{name} as {caller}: {r.status_code} {r.text}"
    if want >= 400:
        assert r.headers["content-type"].startswith("application/problem+json")


def test_a_move_writes_one_webhook_and_one_email_per_coordinator(client, session, world):
    """The outbox rows themselves: keyed by the step, addressed to the other side."""
    w = world
    _coordinator(session, w.cities["ferrara"], "scambi@comune.fe.it", Language.en)
    _endpoint(client, w, "ferrara", "https://ferrara.example/hooks", ["event.proposal"])
    event = propose(client, w)
    rows = outbox(session, topic=Topic.event_proposal)
    assert sorted((r.channel, r.city_id) for r in rows) == [
        (Channel.email, w.id("ferrara")), (Channel.webhook, w.id("ferrara"))]
    assert all(r.subject == f"event:{event['id']}" for r in rows)


def test_a_failing_consumer_of_a_move_rolls_the_proposal_back(client, session, world):
    """The move's notice commits with the move, or neither does."""
    def explode(_sender: Any, **_: Any) -> None:
        raise RuntimeError("consumer down")

    w = world
    count = session.exec(select(func.count()).select_from(Event)).one()
    with change_recorded.connected_to(explode, sender=ProposalMoved):
        r = client.post(PROPOSALS, json=proposal(w), headers=w.keys["kc"])
    assert_problem(r, 500)
    assert session.exec(select(func.count()).select_from(Event)).one() == count
    assert outbox(session, topic=Topic.event_proposal) == []
