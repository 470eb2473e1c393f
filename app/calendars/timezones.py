"""VTIMEZONE components from the tz database, as RFC 5545 (3.6.5) defines them.

Outlook shifts or drops events whose TZID has no VTIMEZONE, and ical.js uses
nothing else to place them, so every zone a feed uses gets one that is right
for the years the feed's events span.

icalendar 7's ``Timezone.from_tzid`` is not used: it writes the onset of
daylight time as the first wall-clock time *after* the change (03:00 for
Europe/Berlin) while RFC 5545 reads DTSTART in the offset before it (02:00),
which puts the change an hour late, and it lists every year as an RDATE.
Here the transitions are found by scanning the zone, and yearly ones that
follow a rule (last Sunday of March, second Sunday of March, ...) become
one observance with an RRULE, as tzurl.org and the big calendar services
write them; the rule still in force at the end is left open.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import repeat
from zoneinfo import ZoneInfo

from app.calendars.contentlines import lines, local_stamp, utc_offset, utc_stamp

_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class _State:
    offset: timedelta
    dst: bool
    name: str


def _state_at(zone: ZoneInfo, timestamp: int) -> _State:
    local = datetime.fromtimestamp(timestamp, zone)
    offset = local.utcoffset() or timedelta()
    return _State(offset, bool(local.dst()), local.tzname() or utc_offset(offset))


@dataclass(frozen=True)
class _Transition:
    at: datetime  # UTC
    before: _State
    after: _State

    @property
    def onset(self) -> datetime:
        """The wall-clock time of the change, read in the offset before it (RFC 5545)."""
        return (self.at + self.before.offset).replace(tzinfo=None)


@lru_cache(maxsize=8192)
def _transitions_in(tzid: str, year: int) -> tuple[_Transition, ...]:
    """Every change of offset, DST flag or abbreviation in one local year.

    Probes the zone once a day (in bulk, ``map`` over C methods: a feed built
    from nothing waits for this) and bisects each day where the key (offset,
    DST, name) differs, to the second; after a change it bisects on from
    there, so a second change the same day is found too. (A week's step would
    be faster and wrong: Brazil began and revoked daylight time within a week
    in 2000.)
    """
    zone = ZoneInfo(tzid)

    def key(timestamp: int) -> tuple[timedelta | None, timedelta | None, str | None]:
        local = datetime.fromtimestamp(timestamp, zone)
        return local.utcoffset(), local.dst(), local.tzname()

    begin = int(datetime(year, 1, 1, tzinfo=zone).timestamp())
    end = int(datetime(year + 1, 1, 1, tzinfo=zone).timestamp())
    probes = [*range(begin - 1, end, 86400), end]
    local = list(map(datetime.fromtimestamp, probes, repeat(zone)))
    keys = list(zip(map(datetime.utcoffset, local), map(datetime.dst, local),
                    map(datetime.tzname, local), strict=True))
    found = []
    t, k = probes[0], keys[0]
    for probe, k_probe in zip(probes[1:], keys[1:], strict=True):
        while k != k_probe:  # one change or more after t, by this probe
            lo, hi = t, probe  # key(lo) == k != key(hi)
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if key(mid) == k:
                    lo = mid
                else:
                    hi = mid
            if hi < end:
                found.append(_Transition(
                    datetime.fromtimestamp(hi, UTC), _state_at(zone, lo), _state_at(zone, hi)
                ))
            t, k = hi, key(hi)
        t = probe
    return tuple(found)


def _rules(day: datetime) -> set[tuple[int, int, int]]:
    """(month, weekday, n) descriptions of a day: its n-th weekday, and -1 in the last week."""
    n = (day.day - 1) // 7 + 1
    rules = {(day.month, day.weekday(), n)}
    if day.day + 7 > calendar.monthrange(day.year, day.month)[1]:
        rules.add((day.month, day.weekday(), -1))
    return rules


@dataclass
class _Run:
    """Transitions of one kind in consecutive years that follow one yearly rule."""

    members: list[_Transition]
    rules: set[tuple[int, int, int]]

    def accepts(self, t: _Transition) -> bool:
        last = self.members[-1]
        return (
            t.onset.year == last.onset.year + 1
            and t.onset.time() == last.onset.time()
            and bool(self.rules & _rules(t.onset))
        )


def _runs(transitions: list[_Transition]) -> list[_Run]:
    by_kind: dict[tuple[_State, _State], list[_Run]] = {}
    for t in transitions:
        runs = by_kind.setdefault((t.before, t.after), [])
        if runs and runs[-1].accepts(t):
            runs[-1].members.append(t)
            runs[-1].rules &= _rules(t.onset)
        else:
            runs.append(_Run([t], _rules(t.onset)))
    return sorted((r for rs in by_kind.values() for r in rs), key=lambda r: r.members[0].at)


def _observance(
    dtstart: datetime, before: _State, after: _State, rrule: str | None = None
) -> list[str]:
    kind = "DAYLIGHT" if after.dst else "STANDARD"
    out = [f"BEGIN:{kind}", f"DTSTART:{local_stamp(dtstart)}"]
    if rrule:
        out.append(f"RRULE:{rrule}")
    out += [
        f"TZNAME:{after.name}",
        f"TZOFFSETFROM:{utc_offset(before.offset)}",
        f"TZOFFSETTO:{utc_offset(after.offset)}",
        f"END:{kind}",
    ]
    return out


@lru_cache(maxsize=512)
def vtimezone(tzid: str, first_year: int, last_year: int) -> bytes:
    """A VTIMEZONE for ``tzid`` valid for local times in ``first_year``..``last_year``.

    The zone is scanned from a year earlier, so that by 1 January of
    ``first_year`` a recurring observance has begun and none needs a
    starting point of its own, to a year later: a rule followed for three
    years or more up to then is taken to be in force and written without an
    end, so clients that look past the feed's last event still get it right.
    """
    zone = ZoneInfo(tzid)
    scan_from = datetime(first_year - 1, 1, 1, tzinfo=zone)
    transitions = [
        t for year in range(first_year - 1, last_year + 2) for t in _transitions_in(tzid, year)
    ]

    body = ["BEGIN:VTIMEZONE", f"TZID:{tzid}", f"X-LIC-LOCATION:{tzid}"]
    range_begins = datetime(first_year, 1, 1, tzinfo=zone)
    if not transitions or transitions[0].at > range_begins:
        # Nothing recurring has begun by the first day needed: state the zone as
        # it stands then, from the start of the scan.
        initial = _state_at(zone, int(scan_from.timestamp()))
        body += _observance(scan_from.replace(tzinfo=None), initial, initial)
    for run in _runs(transitions):
        first, last = run.members[0], run.members[-1]
        if len(run.members) == 1:
            body += _observance(first.onset, first.before, first.after)
            continue
        month, weekday, n = max(run.rules, key=lambda r: r[2] == -1)  # prefer "last"
        rrule = f"FREQ=YEARLY;BYMONTH={month};BYDAY={n}{_WEEKDAYS[weekday]}"
        years = {t.onset.year for t in run.members}
        in_force = len(run.members) >= 3 and {last_year, last_year + 1} <= years
        if not in_force:
            rrule += f";UNTIL={utc_stamp(last.at)}"
        body += _observance(first.onset, first.before, first.after, rrule)
    body.append("END:VTIMEZONE")
    return lines(body)


def clear_cache() -> None:
    """Forget computed zones (tests and benchmarks measure a fresh worker)."""
    vtimezone.cache_clear()
    _transitions_in.cache_clear()
