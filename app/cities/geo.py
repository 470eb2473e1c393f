"""Countries and timezones, from the IANA tz database shipped in ``tzdata``.

ISO 3166-1 codes come from ``iso3166.tab``; the zones of each country and the
coordinates of each zone's principal city from ``zone.tab`` and
``zone1970.tab``. Coordinates are resolved to a zone with timezonefinder's
boundary polygons, which know that Albuquerque keeps Denver's time, not
Phoenix's (the nearest principal city would say Phoenix).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from zoneinfo import available_timezones


@dataclass(frozen=True)
class ZoneEntry:
    country: str
    name: str
    lat: float
    lng: float


class TimezoneNotDerivable(ValueError):
    pass


def _tab_lines(filename: str) -> list[list[str]]:
    text = resources.files("tzdata.zoneinfo").joinpath(filename).read_text("utf-8")
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


def _iso6709(coord: str) -> tuple[float, float]:
    """'+4043-07400' or '+404251-0740023' to decimal degrees."""
    split = max(coord.rfind("+"), coord.rfind("-"))
    lat, lng = coord[:split], coord[split:]

    def degrees(part: str, deg_digits: int) -> float:
        sign = -1 if part[0] == "-" else 1
        digits = part[1:]
        d = int(digits[:deg_digits])
        m = int(digits[deg_digits : deg_digits + 2])
        s = int(digits[deg_digits + 2 : deg_digits + 4] or 0)
        return sign * (d + m / 60 + s / 3600)

    return degrees(lat, 2), degrees(lng, 3)


@cache
def countries() -> dict[str, str]:
    """ISO 3166-1 alpha-2 code to English short name."""
    return {code: name for code, name, *_ in _tab_lines("iso3166.tab")}


# In the zone database's files but not zones a place keeps its clocks by: the
# machine's own zone, tzdata's placeholder, and the POSIX rules template.
NOT_PLACES = frozenset({"localtime", "Factory", "posixrules"})


@cache
def timezone_names() -> frozenset[str]:
    """IANA zone names (links such as ``Europe/Kiev`` included), nothing else."""
    return frozenset(
        name for name in available_timezones()
        if name not in NOT_PLACES and not name.startswith(("posix/", "right/"))
    )


@cache
def zones_by_country() -> dict[str, list[ZoneEntry]]:
    out: dict[str, list[ZoneEntry]] = {}
    for code, coord, name, *_ in _tab_lines("zone.tab"):
        lat, lng = _iso6709(coord)
        out.setdefault(code, []).append(ZoneEntry(code, name, lat, lng))
    return out


@cache
def _principal_zones() -> dict[str, list[str]]:
    """Zones whose zone1970.tab line lists the country first (its own, not borrowed)."""
    out: dict[str, list[str]] = {}
    for codes, _coord, name, *_ in _tab_lines("zone1970.tab"):
        out.setdefault(codes.split(",")[0], []).append(name)
    return out


@cache
def _finder() -> object:
    from timezonefinder import TimezoneFinder

    return TimezoneFinder(in_memory=True)


def is_country_code(code: str) -> bool:
    return code in countries()


def is_timezone(name: str) -> bool:
    return name in timezone_names()


def _great_circle(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * math.asin(min(1.0, math.sqrt(a)))


def derive_timezone(country_code: str, lat: float | None, lng: float | None) -> str:
    """The IANA zone of a place, from its country and (optionally) coordinates.

    With coordinates: the zone whose boundary contains the point, if that zone
    belongs to the country; otherwise (a point at sea, on a border) the zone
    of the nearest principal city in the country. Without: the country's only
    zone. Raises ``TimezoneNotDerivable`` with a reason a user can act on.
    """
    zones = zones_by_country().get(country_code, [])
    if not zones:
        raise TimezoneNotDerivable(f"country {country_code} has no zone in the tz database")
    names = {z.name for z in zones}
    if lat is not None and lng is not None:
        found = _finder().timezone_at(lat=lat, lng=lng)  # type: ignore[attr-defined]
        if found in names:
            return str(found)
        return min(zones, key=lambda z: _great_circle(lat, lng, z.lat, z.lng)).name
    if len(zones) == 1:
        return zones[0].name
    own = [name for name in _principal_zones().get(country_code, []) if name in names]
    if len(own) == 1:
        return own[0]
    listed = ", ".join(sorted(names)[:6]) + (", ..." if len(names) > 6 else "")
    raise TimezoneNotDerivable(
        f"country {country_code} spans several timezones ({listed}); "
        "give `timezone` or the city's coordinates (`latitude`, `longitude`)"
    )
