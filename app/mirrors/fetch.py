"""Fetching a partner's calendar without letting its address point anywhere else.

A registered URL names a host, and a name can point anywhere: at the city
hall's own network, at a cloud's metadata service, and somewhere else again
after registration. So every connection (the first and each redirect's)
resolves the name here, refuses unless every address is globally routable
(``TWINPLAN_EXTERNAL_CALENDARS_ALLOW_PRIVATE`` lifts that, for tests and
intranets), and connects to one of the addresses it checked. The answer is
read as a stream and dropped past ``TWINPLAN_EXTERNAL_CALENDAR_MAX_BYTES``; a
server that trickles bytes is cut off at the same deadline as a silent one.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import ip_address
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from app.core.settings import get_settings
from app.notifications.webhooks import is_public_address

USER_AGENT = "Twinplan-Calendar-Mirror/1"
MAX_REDIRECTS = 5


class FetchError(Exception):
    """The calendar could not be fetched; the message says why, for its status."""


@dataclass(frozen=True)
class Fetched:
    """A 200 (``body``) or a 304 (``body`` None), with the validators to send next time."""

    body: bytes | None
    etag: str | None
    last_modified: str | None


def check_scheme(url: str) -> tuple[str, int]:
    """The host and port of an http(s) URL without credentials; FetchError otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"{url[:200]} is not an http:// or https:// URL")
    if parts.username or parts.password:
        raise FetchError("the URL must not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise FetchError(f"bad port in {url[:200]}") from exc
    return parts.hostname, port


def resolve_routable(host: str, port: int) -> list[str]:
    """The host's addresses, each checked: FetchError if one is not globally
    routable (unless allowed) or the name does not resolve."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"cannot resolve {host}: {exc}") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    if not addresses:
        raise FetchError(f"{host} resolves to nothing")
    if not get_settings().external_calendars_allow_private:
        for address in addresses:
            if not is_public_address(ip_address(address.split("%", 1)[0])):
                raise FetchError(
                    f"{host} resolves to {address}, which is not a public address "
                    "(TWINPLAN_EXTERNAL_CALENDARS_ALLOW_PRIVATE allows it)"
                )
    return addresses


class _RoutableNetwork(httpcore.SyncBackend):
    """Connects only to the addresses ``resolve_routable`` has checked."""

    def connect_tcp(
        self, host: str, port: int, timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = resolve_routable(host, port)
        except FetchError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        failure: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout=timeout,
                                           local_address=local_address,
                                           socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure


def client(timeout: float) -> httpx.Client:
    """An httpx client that connects through ``_RoutableNetwork``, ignores the
    environment's proxies (a proxy would resolve names unchecked) and follows no
    redirect by itself (``fetch`` checks each one)."""
    transport = httpx.HTTPTransport()
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=10,
        max_keepalive_connections=0,
        network_backend=_RoutableNetwork(),
    )
    return httpx.Client(transport=transport, timeout=timeout, trust_env=False,
                        follow_redirects=False, headers={"User-Agent": USER_AGENT})


def fetch(http: httpx.Client, url: str, *, etag: str | None, last_modified: str | None,
          timeout: float, max_bytes: int) -> Fetched:
    """GET the calendar, conditionally; FetchError with the reason on any failure."""
    deadline = time.monotonic() + timeout
    headers = {"Accept": "text/calendar, */*;q=0.5"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    for _ in range(MAX_REDIRECTS + 1):
        check_scheme(url)
        try:
            with http.stream("GET", url, headers=headers) as response:
                if response.is_redirect and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                if response.status_code == 304:
                    return Fetched(None, etag, last_modified)
                if response.status_code != 200:
                    raise FetchError(f"the server answered {response.status_code}")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise FetchError(f"the calendar is {declared} bytes, over the "
                                     f"limit of {max_bytes} bytes")
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise FetchError(f"the calendar is over the limit of {max_bytes} bytes")
                    if time.monotonic() > deadline:
                        raise FetchError(f"the server took over {timeout:g} s to send it")
                return Fetched(bytes(body), response.headers.get("etag"),
                               response.headers.get("last-modified"))
        except httpx.TimeoutException as exc:
            raise FetchError(f"no answer within {timeout:g} s ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise FetchError(f"cannot fetch it: {exc or type(exc).__name__}") from exc
    raise FetchError(f"more than {MAX_REDIRECTS} redirects")
