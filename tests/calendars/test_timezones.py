"""Our VTIMEZONEs place wall-clock times where the tz database does, as ical.js reads them.

ical.js knows no zone but the ones a feed defines, so this checks the
definitions themselves: hours either side of every change, in zones with
ordinary DST, half-hour DST, southern-hemisphere DST, Ramadan pauses, DST
abolished or made permanent, and none at all.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from app.calendars.contentlines import lines, local_stamp
from app.calendars.timezones import vtimezone
from tests.calendars.parsers import read_with_icaljs, unfolded_lines

ZONES = {
    "Europe/Berlin": (2024, 2028),
    "Europe/London": (2026, 2027),
    "America/Denver": (2005, 2009),  # the US rules changed in 2007
    "America/Sao_Paulo": (2016, 2020),  # DST abolished in 2019
    "Australia/Lord_Howe": (2026, 2027),  # half an hour of DST
    "Europe/Moscow": (2009, 2015),  # DST made permanent, then undone
    "Africa/Casablanca": (2024, 2026),  # DST paused for Ramadan
    "Asia/Ashgabat": (2027, 2027),
    "Pacific/Chatham": (2026, 2027),  # +12:45 / +13:45
    "America/Santiago": (2022, 2024),
    "Asia/Tehran": (2021, 2023),  # DST abolished in 2022
    "Europe/Dublin": (2026, 2027),  # "negative DST" in the tz database
}


def _exists_once(local: datetime, zone: ZoneInfo) -> bool:
    """Not in a gap, not in an overlap."""
    first = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    back = first.astimezone(zone).replace(tzinfo=None)
    return first == second and back == local


def _probes(tzid: str, first_year: int, last_year: int) -> list[datetime]:
    zone = ZoneInfo(tzid)
    probes = [datetime(y, m, 15, 12) for y in range(first_year, last_year + 1)
              for m in range(1, 13)]
    start = datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    t, offset = start, start.astimezone(zone).utcoffset()
    while t < end:  # hourly: find every change and probe around it
        nxt = t + timedelta(hours=1)
        if nxt.astimezone(zone).utcoffset() != offset:
            for delta in (-3, -2, -1, 1, 2, 3):
                probes.append((nxt + timedelta(hours=delta)).astimezone(zone).replace(
                    tzinfo=None, minute=0, second=0))
            offset = nxt.astimezone(zone).utcoffset()
        t = nxt
    return sorted({p for p in probes if _exists_once(p, zone)})


def test_vtimezones_agree_with_the_tz_database_in_ical_js():
    content: list[str] = []
    expected: dict[str, str] = {}
    zones = b""
    for tzid, (first_year, last_year) in ZONES.items():
        zones += vtimezone(tzid, first_year, last_year)
        for i, local in enumerate(_probes(tzid, first_year, last_year)):
            uid = f"{tzid}-{i}"
            content += ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20270101T000000Z",
                        f"DTSTART;TZID={tzid}:{local_stamp(local)}", "END:VEVENT"]
            instant = local.replace(tzinfo=ZoneInfo(tzid)).astimezone(UTC)
            expected[uid] = instant.strftime("%Y-%m-%dT%H:%M:%SZ")
    body = (lines(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN"]) + zones
            + lines(content) + lines(["END:VCALENDAR"]))
    seen = {e["uid"]: e["start"]["utc"] for e in read_with_icaljs(body)["events"]}
    wrong = {uid: (seen[uid], utc) for uid, utc in expected.items() if seen[uid] != utc}
    assert not wrong, f"{len(wrong)} of {len(expected)} misplaced, e.g. {list(wrong.items())[:5]}"
    assert len(expected) > 500


def test_rules_in_force_recur_without_end_and_onsets_read_in_the_old_offset():
    text = vtimezone("Europe/Berlin", 2027, 2027).decode()
    lines_ = unfolded_lines(text.encode())
    # 02:00 CET, as RFC 5545 and tzurl.org write it (not 03:00, the first CEST time).
    assert "DTSTART:20260329T020000" in lines_
    assert "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU" in lines_
    assert "DTSTART:20261025T030000" in lines_
    assert "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU" in lines_
    assert text.count("BEGIN:STANDARD") == 1 and text.count("BEGIN:DAYLIGHT") == 1
    us = unfolded_lines(vtimezone("America/Denver", 2006, 2008))
    assert "RRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU;UNTIL=20060402T090000Z" in us
    assert "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU" in us
    no_dst = unfolded_lines(vtimezone("Asia/Ashgabat", 2027, 2027))
    assert "TZOFFSETFROM:+0500" in no_dst and "TZOFFSETTO:+0500" in no_dst
    assert not any(line.startswith("RRULE") for line in no_dst)
