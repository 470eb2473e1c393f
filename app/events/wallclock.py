"""Wall-clock times in an IANA zone, and the instants they stand for.

A naive ``datetime`` is read as local time in the event's zone. Two kinds of
local time do not name exactly one instant, and both are refused rather than
guessed: one inside a spring-forward gap (it never happens) and one inside a
fall-back overlap (it happens twice). PEP 495's ``fold`` tells them apart: the
two folds of such a time have different UTC offsets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.core.errors import Unprocessable


@dataclass(frozen=True)
class Moment:
    """One point of a schedule: the wall-clock time as planned and its instant."""

    local: datetime  # naive, in the event's zone
    utc: datetime  # aware, UTC


def _offset(delta: timedelta | None) -> str:
    minutes = int((delta or timedelta()).total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


def _duration(delta: timedelta) -> str:
    minutes = int(abs(delta).total_seconds() // 60)
    hours, mins = divmod(minutes, 60)
    return f"{hours}:{mins:02d}"


def _iso_minutes(value: datetime) -> str:
    return value.isoformat(timespec="minutes" if value.second == 0 else "seconds")


def resolve(value: datetime, zone: ZoneInfo, field: str) -> Moment:
    """The moment ``value`` names in ``zone``; 422 if a naive value is not one instant.

    A value with an offset is an instant already: it is converted to the zone.
    """
    if value.tzinfo is not None and value.utcoffset() is not None:
        instant = value.astimezone(UTC)
        return Moment(local=instant.astimezone(zone).replace(tzinfo=None), utc=instant)
    naive = value.replace(tzinfo=None)
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    before, after = first.utcoffset(), second.utcoffset()
    if before != after:
        round_trip = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
        shown = _iso_minutes(naive)
        if round_trip != naive:
            jump = _duration((after or timedelta()) - (before or timedelta()))
            raise Unprocessable(
                f"{field} {shown} does not exist in {zone.key}: the clocks jump forward "
                f"by {jump} that night (daylight saving time). Choose a time outside the "
                "gap.",
                field=field,
            )
        raise Unprocessable(
            f"{field} {shown} is ambiguous in {zone.key}: it happens twice as the clocks "
            f"go back. Give an offset: {shown}{_offset(before)} for the first, "
            f"{shown}{_offset(after)} for the second.",
            field=field,
        )
    return Moment(local=naive, utc=first.astimezone(UTC))


def start_of_day(day: date, zone: ZoneInfo) -> Moment:
    """Local midnight of ``day``: where an all-day event's day begins.

    A few zones move their clocks at midnight. Inside such a gap ``fold=0`` uses
    the offset from before the jump, which names the instant the day begins.
    """
    local = datetime.combine(day, time())
    return Moment(local=local, utc=local.replace(tzinfo=zone, fold=0).astimezone(UTC))


def lenient_instant(value: datetime | date, zone: ZoneInfo) -> datetime:
    """The instant of a search bound: dates are their local midnight, naive times
    their first occurrence. A window edge is not an appointment, so no 422."""
    if isinstance(value, datetime):
        if value.tzinfo is not None and value.utcoffset() is not None:
            return value.astimezone(UTC)
        return value.replace(tzinfo=zone, fold=0).astimezone(UTC)
    return start_of_day(value, zone).utc


def in_zone(instant: datetime, zone: ZoneInfo) -> datetime:
    """The instant as local time in ``zone``, carrying its offset."""
    return instant.astimezone(zone)
