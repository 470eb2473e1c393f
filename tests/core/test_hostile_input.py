"""No input gives a 500: each class of hostile input, tried by hypothesis where the
input is the variable, answers a problem (or is ignored, where HTTP says so)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.cities.geo import timezone_names
from app.core.settings import get_settings
from tests.conftest import assert_problem

FIXTURES = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


# HTTP dates ---------------------------------------------------------------------------


@FIXTURES
@given(year=st.integers(min_value=10_000, max_value=10**30),
       zone=st.sampled_from(["GMT", "+0000", "-1200", "+1400"]))
def test_if_modified_since_from_beyond_year_9999_is_ignored(client, year, zone):
    response = client.get("/calendars/twin-cities-day.ics",
                          headers={"If-Modified-Since": f"Sun, 06 Nov {year} 08:49:37 {zone}"})
    assert response.status_code == 200


@FIXTURES
@given(value=st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60))
def test_any_if_modified_since_is_ignored_or_honoured(client, value):
    response = client.get("/calendars/twin-cities-day.ics", headers={"If-Modified-Since": value})
    assert response.status_code in (200, 304)


# Numbers beyond what the database stores ----------------------------------------------

LISTS = [
    "/api/v1/cities?offset={n}",
    "/api/v1/partnerships?city_id={n}",
    "/api/v1/events?city_id={n}",
    "/api/v1/events?offset={n}",
    "/api/v1/participants?home_city_id={n}",
    "/api/v1/participants?offset={n}",
    "/api/v1/webhook-endpoints?city_id={n}",
    "/api/v1/notifications?city_id={n}",
    "/api/v1/feed-tokens?participant_id={n}",
    "/api/v1/cities/{n}",
    "/api/v1/events/{n}/registrations",
]


@pytest.mark.parametrize("template", LISTS)
@FIXTURES
@given(n=st.one_of(st.integers(min_value=2**31, max_value=2**80),
                   st.integers(max_value=-1, min_value=-(2**80))))
def test_integers_beyond_the_range_are_422(client, admin, template, n):
    response = client.get(template.format(n=n), headers=admin)
    assert_problem(response, 422)


# Names that grow when folded ------------------------------------------------------------


@FIXTURES
@given(name=st.text(alphabet="北京東京ﷺ㍿Ǆß", min_size=1, max_size=200),
       others=st.lists(st.text(alphabet="北京ﷺ㍿", min_size=1, max_size=200), max_size=20))
def test_names_of_any_script_and_length_are_stored_and_found(client, admin, name, others):
    created = client.post("/api/v1/cities", headers=admin, json={
        "name": name, "country_code": "CN", "timezone": "Asia/Shanghai",
        "alternate_names": others})
    assert created.status_code == 201, created.text
    found = client.get("/api/v1/cities", params={"q": name[:50], "country_code": "CN"}).json()
    assert created.json()["id"] in {c["id"] for c in found["items"]}
    assert client.delete(f"/api/v1/cities/{created.json()['id']}",
                         headers=admin).status_code == 204


# Bodies too large -------------------------------------------------------------------------


def test_a_body_announced_too_large_is_413_before_authentication(client):
    limit = get_settings().max_body_bytes
    response = client.post("/api/v1/cities", content=b"x" * (limit + 1),
                           headers={"content-type": "application/json"})
    assert_problem(response, 413, contains=f"{limit:,} bytes")


def test_a_chunked_body_is_cut_off_at_the_limit(client, admin):
    limit = get_settings().max_body_bytes

    def chunks() -> Any:
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536

    response = client.post("/api/v1/cities", content=chunks(), headers=admin)
    assert_problem(response, 413)


def test_a_body_within_the_limit_is_read(client, admin):
    response = client.post("/api/v1/cities", headers=admin, json={
        "name": "Ferrara", "country_code": "IT", "notes": "x" * 4000})
    assert response.status_code == 201


# Webhook addresses ------------------------------------------------------------------------

NOT_PUBLIC_V4 = st.sampled_from(["127.0.0.1", "10.1.2.3", "192.168.0.1", "169.254.169.254",
                                 "100.64.0.1", "0.0.0.0", "224.0.0.1", "239.255.255.250",
                                 "172.16.5.4", "255.255.255.255"])


def _spellings(v4: str) -> list[str]:
    """Every way a URL's host can denote this IPv4 address."""
    n = int(ipaddress.IPv4Address(v4))
    a, b, c, d = (int(x) for x in v4.split("."))
    sixtofour = ipaddress.IPv6Address((0x2002 << 112) | (n << 80))
    return [
        v4, str(n), f"0x{n:x}", f"{a}.{(b << 16) | (c << 8) | d}", f"0x{a:x}.{b}.{c}.{d}",
        f"[::{v4}]", f"[::ffff:{v4}]", f"[::ffff:0:{v4}]", f"[64:ff9b::{v4}]",
        f"[64:ff9b:1::{v4}]", f"[{sixtofour}]",
    ]


@FIXTURES
@given(v4=NOT_PUBLIC_V4, spelling=st.integers(min_value=0, max_value=10))
def test_webhooks_refuse_every_spelling_of_a_private_address(client, make_city, make_key, v4,
                                                             spelling):
    city = make_city("Kostroma")
    host = _spellings(v4)[spelling]
    response = client.post("/api/v1/webhook-endpoints", headers=make_key("coordinator", city),
                           json={"city_id": city.id, "url": f"https://{host}/hook",
                                 "event_types": ["event.created"]})
    assert_problem(response, 422, contains="private")


@pytest.mark.parametrize("host", ["[ff0e::1]", "[ff02::1]", "[2001:db8::1]", "[fc00::1]",
                                  "[::1]", "[::]", "localhost", "a.localhost"])
def test_webhooks_refuse_multicast_and_special_ipv6(client, make_city, make_key, host):
    city = make_city("Kostroma")
    response = client.post("/api/v1/webhook-endpoints", headers=make_key("coordinator", city),
                           json={"city_id": city.id, "url": f"https://{host}/hook",
                                 "event_types": ["event.created"]})
    assert_problem(response, 422)


@pytest.mark.parametrize("host", ["8.8.8.8", "[2606:4700:4700::1111]", "[::ffff:8.8.8.8]",
                                  "[64:ff9b::8.8.8.8]", "hooks.example.org"])
def test_webhooks_take_public_unicast(client, make_city, make_key, host):
    city = make_city("Kostroma")
    response = client.post("/api/v1/webhook-endpoints", headers=make_key("coordinator", city),
                           json={"city_id": city.id, "url": f"https://{host}/hook",
                                 "event_types": ["event.created"]})
    assert response.status_code == 201, response.text


# Timezones and dates -----------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["localtime", "Factory", "posixrules", "posix/Europe/Rome",
                                  "right/UTC", "Europe/Nowhere", ""])
def test_only_iana_zone_names_are_timezones(client, admin, zone):
    response = client.post("/api/v1/cities", headers=admin,
                           json={"name": "Ferrara", "country_code": "IT", "timezone": zone})
    assert_problem(response, 422)


def test_iana_names_and_their_links_are_timezones():
    names = timezone_names()
    assert {"Europe/Rome", "Asia/Ashgabat", "UTC", "Europe/Kiev", "Europe/Kyiv"} <= names
    assert not names & {"localtime", "Factory", "posixrules"}


@FIXTURES
@given(year=st.text(alphabet=st.characters(categories=["Nd"]), min_size=4, max_size=4))
def test_established_on_takes_ascii_years_from_0001_only(client, admin, make_city, year):
    a, b = make_city("Kostroma"), make_city("Ferrara", "IT")
    response = client.post("/api/v1/partnerships", headers=admin, json={
        "city_a_id": a.id, "city_b_id": b.id, "established_on": year})
    if year.isascii() and year != "0000":
        assert response.status_code == 201, response.text
    else:
        assert_problem(response, 422)


# Keys --------------------------------------------------------------------------------------


def _readable_paths(client: Any) -> list[str]:
    spec = client.get("/openapi.json").json()["paths"]
    return sorted(re.sub(r"\{[^}]+\}", "1", p) for p, ops in spec.items() if "get" in ops)


@pytest.fixture
def no_failed_auth_limit(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Off: a test that sends a wrong key to every endpoint passes the 30 failures a
    minute an address may make (tests/core/test_rate_limits.py tests that limit)."""
    monkeypatch.setenv("TWINPLAN_RATE_LIMIT_FAILED_AUTH", "0")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.mark.parametrize("key", ["Bearer tp_unknown", "bearer made-up"])
def test_an_invalid_key_is_401_on_every_endpoint_public_reads_included(
        client, key, no_failed_auth_limit):
    for path in [*_readable_paths(client), "/health", "/calendars/twin-cities-day.ics"]:
        response = client.get(path, headers={"Authorization": key})
        assert_problem(response, 401)
