"""Wall-clock resolution without HTTP: gaps, overlaps, odd zones, midnight."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from app.core.errors import Unprocessable
from app.events.wallclock import lenient_instant, resolve, start_of_day

BERLIN = ZoneInfo("Europe/Berlin")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "local", "says"),
    [
        ("Europe/Berlin", "2027-03-28T02:30", "jump forward by 1:00"),
        ("America/New_York", "2027-03-14T02:15", "jump forward by 1:00"),
        # Lord Howe Island moves its clocks by half an hour.
        ("Australia/Lord_Howe", "2027-10-03T02:15", "jump forward by 0:30"),
    ],
)
def test_gap_is_refused(zone, local, says):
    with pytest.raises(Unprocessable) as err:
        resolve(datetime.fromisoformat(local), ZoneInfo(zone), "starts_at")
    assert "does not exist" in err.value.detail and says in err.value.detail


@pytest.mark.parametrize(
    ("zone", "local", "first", "second"),
    [
        ("Europe/Berlin", "2027-10-31T02:30", "+02:00", "+01:00"),
        ("America/New_York", "2027-11-07T01:30", "-04:00", "-05:00"),
        ("Australia/Lord_Howe", "2027-04-04T01:45", "+11:00", "+10:30"),
    ],
)
def test_overlap_is_refused_with_both_offsets_offered(zone, local, first, second):
    with pytest.raises(Unprocessable) as err:
        resolve(datetime.fromisoformat(local), ZoneInfo(zone), "ends_at")
    detail = err.value.detail
    assert "ambiguous" in detail
    assert f"{local}{first}" in detail and f"{local}{second}" in detail


def test_zone_without_dst_takes_every_time():
    moment = resolve(datetime(2027, 3, 28, 2, 30), ZoneInfo("Asia/Ashgabat"), "starts_at")
    assert moment.utc == utc("2027-03-27T21:30")


def test_offset_input_is_an_instant_shown_in_the_zone():
    moment = resolve(datetime.fromisoformat("2027-10-31T00:30Z"), BERLIN, "starts_at")
    assert moment.local == datetime(2027, 10, 31, 2, 30)
    assert moment.utc == utc("2027-10-31T00:30")


def test_midnight_that_does_not_exist_starts_the_day_when_clocks_jump():
    # Chile moved its clocks from 00:00 to 01:00 on 2022-09-11.
    day = start_of_day(date(2022, 9, 11), ZoneInfo("America/Santiago"))
    assert day.utc == utc("2022-09-11T04:00")
    assert day.utc.astimezone(ZoneInfo("America/Santiago")).hour == 1


def test_window_edges_are_lenient():
    assert lenient_instant(datetime(2027, 3, 28, 2, 30), BERLIN) == utc("2027-03-28T01:30")
    assert lenient_instant(datetime(2027, 10, 31, 2, 30), BERLIN) == utc("2027-10-31T00:30")
    assert lenient_instant(date(2027, 5, 1), BERLIN) == utc("2027-04-30T22:00")
