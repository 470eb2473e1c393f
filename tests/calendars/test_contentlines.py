"""Escaping and folding: user text cannot break a feed, whatever it holds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.calendars.contentlines import duration, escape_text, fold, utc_offset
from app.calendars.render import CityLabel, EventRecord, FeedHeader, assemble, render_event
from app.events.models import Event
from tests.calendars.conftest import city_path, get_feed
from tests.calendars.parsers import read_with_icalendar, read_with_icaljs, read_with_vobject

NEWLINES = ("\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


def as_clients_read_it(text: str) -> str:
    """What a client must get back: newlines normalised, other controls gone."""
    for newline in NEWLINES:
        text = text.replace(newline, "\n")
    return "".join(c for c in text if c in "\t\n" or not (ord(c) < 0x20 or ord(c) == 0x7F))


def physical_lines(body: bytes) -> list[bytes]:
    assert body.endswith(b"\r\n")
    return body[:-2].split(b"\r\n")


def assert_well_folded(body: bytes) -> None:
    for line in physical_lines(body):
        assert len(line) <= 75, line
        line.decode("utf-8")  # never cut inside a character
        assert b"\r" not in line and b"\n" not in line


def test_escaping_of_text_values():
    assert escape_text("a,b;c\\d") == "a\\,b\\;c\\\\d"
    assert escape_text("one\r\ntwo\rthree\nfour") == "one\\ntwo\\nthree\\nfour"
    assert escape_text("bell\x07 nul\x00 tab\t") == "bell nul tab\t"
    assert escape_text("line\u2028sep") == "line\\nsep"


def test_folding_counts_octets_and_keeps_characters_whole():
    for text in ("Кострома — Ашхабад " * 10, "Aşgabat, Türkmenistanyň paýtagty " * 5,
                 "兰州市与阿什哈巴德结为友好城市" * 8, "🎻🎺🥁" * 40, "x" * 300):
        body = fold("SUMMARY:" + text)
        assert_well_folded(body)
        unfolded = body.replace(b"\r\n ", b"")
        assert unfolded == ("SUMMARY:" + text).encode() + b"\r\n"
    short = fold("X:" + "a" * 73)
    assert short == b"X:" + b"a" * 73 + b"\r\n"  # exactly 75 octets: no fold
    assert fold("X:" + "a" * 74).count(b"\r\n ") == 1


def test_value_forms():
    assert utc_offset(-(datetime(2000, 1, 1, 9, 30) - datetime(2000, 1, 1))) == "-0930"
    assert utc_offset(datetime(2000, 1, 1, 2, 30, 17) - datetime(2000, 1, 1)) == "+023017"
    assert utc_offset(datetime(2000, 1, 1) - datetime(2000, 1, 1)) == "+0000"
    assert duration(datetime(2000, 1, 2, 2) - datetime(2000, 1, 1)) == "P1DT2H"
    assert duration(datetime(2000, 1, 1) - datetime(2000, 1, 31)) == "-P30D"


def _feed_with(title: str, description: str, venue: str) -> bytes:
    event = Event(
        id=7, kind="culture", title=title, description=description, host_city_id=1,
        venue=venue, status="confirmed", visibility="public", timezone="Europe/Moscow",
        all_day=False, starts_at_local=datetime(2027, 5, 20, 10),
        ends_at_local=datetime(2027, 5, 20, 12),
        starts_at_utc=datetime(2027, 5, 20, 7, tzinfo=UTC),
        ends_at_utc=datetime(2027, 5, 20, 9, tzinfo=UTC), sequence=0,
        created_at=datetime(2027, 1, 1, tzinfo=UTC), updated_at=datetime(2027, 1, 2, tzinfo=UTC),
    )
    rendered = render_event(EventRecord.of(event), CityLabel("Kostroma", "RU"),
                            [CityLabel("Lanzhou", "CN")],
                            base_url="https://twinplan.test", uid_domain="twinplan.test")
    return assemble(FeedHeader("Test", "Test feed", "Europe/Moscow"), [rendered]).body


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300), st.text(max_size=600), st.text(max_size=120))
def test_any_text_round_trips_and_stays_one_event(title, description, venue):
    body = _feed_with(title, description, venue)
    assert_well_folded(body)
    calendar = read_with_icalendar(body)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    assert str(events[0]["SUMMARY"]) == as_clients_read_it(title)
    assert str(events[0]["LOCATION"]) == as_clients_read_it(", ".join(
        p for p in (venue, "Kostroma") if p))
    assert as_clients_read_it(description).strip() in str(events[0]["DESCRIPTION"])


INJECTIONS = [
    "Visit\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:evil\r\nSUMMARY:Injected",
    "Visit\nBEGIN:VEVENT",
    "Visit\rBEGIN:VALARM\rACTION:AUDIO",
    "Visit\u2028END:VCALENDAR",
    "Visit\x85BEGIN:VEVENT\\n;,:\"'<>",
]


@pytest.mark.parametrize("title", INJECTIONS)
def test_a_title_cannot_inject_a_component(client, world, make_event, title):
    event = make_event(world.kostroma, [world.mary], title=title,
                       description=title + "\n" + "Кострома, Aşgabat, 阿什哈巴德 " * 20,
                       venue=title)
    body = get_feed(client, city_path(world.kostroma)).content
    assert_well_folded(body)
    assert physical_lines(body).count(b"BEGIN:VEVENT") == 1
    js = read_with_icaljs(body)["events"]
    assert len(js) == 1 and js[0]["summary"] == as_clients_read_it(title)
    assert js[0]["uid"] == f"twinplan-event-{event.id}@twinplan.test"
    vevents = read_with_vobject(body).vevent_list
    assert len(vevents) == 1 and vevents[0].summary.value == as_clients_read_it(title)
    assert not hasattr(vevents[0], "valarm")


def test_names_in_many_scripts_survive_every_parser(client, make_city, make_partnership,
                                                     make_event):
    ashgabat = make_city("Aşgabat", "TM", alternate_names=["Ашхабад"])
    lanzhou = make_city("兰州市", "CN", timezone="Asia/Shanghai")
    kostroma = make_city("Кострома")
    make_partnership(ashgabat, lanzhou)
    make_partnership(ashgabat, kostroma)
    title = "Дни культуры Туркменистана — Türkmenistanyň medeniýet günleri — 土库曼斯坦文化日"
    event = make_event(ashgabat, [lanzhou, kostroma], title=title, kind="culture",
                       venue="Magtymguly adyndaky Milli sazly drama teatry")
    body = get_feed(client, city_path(ashgabat)).content
    assert_well_folded(body)
    seen = read_with_icaljs(body)["events"][0]
    assert seen["summary"] == title
    assert seen["description"] == (
        "Culture hosted by Aşgabat (TM), with 兰州市 (CN), Кострома (RU)."
    )
    assert read_with_vobject(body).vevent.summary.value == title
    assert str(read_with_icalendar(body).walk("VEVENT")[0]["UID"]).startswith(
        f"twinplan-event-{event.id}@")
