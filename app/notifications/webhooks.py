"""Webhook endpoints (registration, secrets, rotation) and signed delivery.

Signatures follow the Standard Webhooks specification, made with the
``standardwebhooks`` package that receivers verify with:

* ``webhook-id``: the notification's ``message_id``, the same on every retry,
  so a receiver drops a copy it has already processed;
* ``webhook-timestamp``: seconds since the epoch when this attempt was sent;
* ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``,
  and a second one with the previous secret while a rotation's grace lasts.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import secrets
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from urllib.request import getproxies

import httpcore
import httpx
from sqlmodel import Session, col, select
from standardwebhooks.webhooks import Webhook

from app.cities.models import City
from app.core import clock
from app.core.actors import Actor
from app.core.errors import Forbidden, NotFound, Unprocessable
from app.core.settings import get_settings
from app.notifications import policy
from app.notifications.models import (
    WebhookEndpoint,
    WebhookEndpointCreate,
    WebhookEndpointUpdate,
)
from app.notifications.outbox import withdraw_for_endpoint

log = logging.getLogger("twinplan.webhooks")

SECRET_PREFIX = "whsec_"
# How long the old secret keeps signing after a rotation.
ROTATION_GRACE = timedelta(hours=24)
USER_AGENT = "Twinplan-Webhooks/1"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


# Registration ----------------------------------------------------------------------


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Unprocessable("url must be an absolute http:// or https:// URL", field="url")
    if parts.username or parts.password:
        raise Unprocessable("url must not carry credentials; verify signatures instead",
                            field="url")
    if not get_settings().webhook_allow_private_urls and _is_private_host(parts.hostname):
        raise Unprocessable(
            f"{parts.hostname} is a private or loopback address; webhooks go to public "
            "endpoints (set TWINPLAN_WEBHOOK_ALLOW_PRIVATE_URLS=true for local testing)",
            field="url",
        )
    return url


def _is_private_host(host: str) -> bool:
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    address = _as_address(host)
    # A name is checked where it is resolved, at each delivery.
    return address is not None and not is_public_address(address)


# IPv6 prefixes whose last 32 bits are an IPv4 address: IPv4-compatible,
# IPv4-mapped, IPv4-translated, and the NAT64 prefixes (RFC 6052, RFC 8215).
_IPV4_IN_LAST_32_BITS = tuple(ipaddress.IPv6Network(n) for n in (
    "::/96", "::ffff:0:0/96", "::ffff:0:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48",
))


def _as_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a URL's host denotes, in any of its spellings, or None for a name.

    Besides the usual forms, the resolver reads IPv4 written short or in other
    bases (``127.1``, ``0x7f.0.0.1``, ``2130706433``) as an address too.
    """
    text = host.strip("[]").split("%", 1)[0]  # no IPv6 zone
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if text and all(c in "0123456789abcdefxABCDEFX." for c in text):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address an IPv6 address carries, and could be routed to."""
    found = [a for a in (address.ipv4_mapped, address.sixtofour) if a is not None]
    if address.teredo is not None:
        found += address.teredo
    if any(address in net for net in _IPV4_IN_LAST_32_BITS):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF))
    return found


def is_public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Globally routable unicast, and so is every IPv4 address it embeds."""
    candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        candidates += _embedded_ipv4(address)
    return all(a.is_global and not a.is_multicast for a in candidates)


def _is_private_address(text: str) -> bool:
    address = _as_address(text)
    return address is None or not is_public_address(address)


class _PublicNetwork(httpcore.SyncBackend):
    """Connects to public addresses only.

    A partner registers a name, and a name can point anywhere: at the city
    hall's own network, at a cloud's metadata service, and somewhere else
    again a second later. So the name is resolved here, every address it
    has is checked, and the connection goes to one of those checked
    addresses. TLS still verifies the certificate against the name (httpcore
    hands it to ``start_tls`` as ``server_hostname``).
    """

    def connect_tcp(
        self, host: str, port: int, timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
        private = [a for a in addresses if _is_private_address(a)]
        if private or not addresses:
            raise httpcore.ConnectError(
                f"{host} resolves to {private[0] if private else 'nothing'}: webhooks go "
                "to public addresses only (TWINPLAN_WEBHOOK_ALLOW_PRIVATE_URLS)")
        failure: Exception | None = None
        for address in addresses:  # in the resolver's order, as socket.create_connection
            try:
                return super().connect_tcp(address, port, timeout=timeout,
                                           local_address=local_address,
                                           socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure


def public_transport() -> httpx.HTTPTransport | None:
    """httpx's transport, connecting through ``_PublicNetwork``; None where an HTTP
    proxy is configured (``HTTPS_PROXY`` and the like): the proxy resolves and
    connects then, and only literal private addresses are refused, at registration.

    httpx takes no network backend of its own (0.28); its connection pool,
    httpcore's, does, and is rebuilt here as httpx builds it by default.
    """
    if getproxies():
        log.warning("webhooks go through the HTTP proxy of the environment; names that "
                    "resolve to private addresses are the proxy's to refuse")
        return None
    transport = httpx.HTTPTransport()
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=100,
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=_PublicNetwork(),
    )
    return transport


def create_endpoint(
    session: Session, data: WebhookEndpointCreate, actor: Actor
) -> WebhookEndpoint:
    if not policy.can_manage_webhooks(actor, data.city_id):
        raise Forbidden(f"this key may not register webhooks for city {data.city_id}")
    if session.get(City, data.city_id) is None:
        raise Unprocessable(f"city {data.city_id} does not exist", field="city_id")
    endpoint = WebhookEndpoint(
        city_id=data.city_id,
        url=_check_url(data.url),
        description=data.description,
        event_types=sorted({str(t) for t in data.event_types}),
        secret=new_secret(),
        created_at=clock.now(),
        updated_at=clock.now(),
    )
    session.add(endpoint)
    session.flush()
    return endpoint


def get_endpoint(session: Session, endpoint_id: int, actor: Actor) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or not policy.can_manage_webhooks(actor, endpoint.city_id):
        raise NotFound(f"webhook endpoint {endpoint_id} does not exist")
    return endpoint


def endpoint_query(actor: Actor, city_id: int | None) -> Any:
    """Endpoints of the caller's city (admins: all, or those of ``city_id``)."""
    if not (actor.is_system or actor.is_admin) and actor.city_id is None:
        raise Forbidden("this key belongs to no city")
    query = select(WebhookEndpoint)
    readable = policy.readable_endpoints(actor)
    if readable is not None:
        query = query.where(readable)
    if city_id is not None:
        query = query.where(WebhookEndpoint.city_id == city_id)
    return query.order_by(col(WebhookEndpoint.id))


def update_endpoint(
    session: Session, endpoint_id: int, data: WebhookEndpointUpdate, actor: Actor
) -> WebhookEndpoint:
    endpoint = get_endpoint(session, endpoint_id, actor)
    changes = data.model_dump(exclude_unset=True)
    for field in ("url", "event_types", "enabled"):
        if field in changes and changes[field] is None:
            raise Unprocessable(f"{field} cannot be removed", field=field)
    if "url" in changes:
        endpoint.url = _check_url(changes["url"])
    if "event_types" in changes:
        endpoint.event_types = sorted({str(t) for t in changes["event_types"]})
    if "description" in changes:
        endpoint.description = changes["description"]
    if changes.get("enabled") is True and not endpoint.enabled:
        endpoint.enabled = True
        endpoint.disabled_at = endpoint.disabled_reason = None
    elif changes.get("enabled") is False and endpoint.enabled:
        disable(session, endpoint, "disabled by its owner")
    endpoint.updated_at = clock.now()
    session.add(endpoint)
    session.flush()
    return endpoint


def disable(session: Session, endpoint: WebhookEndpoint, reason: str) -> None:
    """Stop sending to an endpoint and withdraw what was queued for it."""
    assert endpoint.id is not None
    endpoint.enabled = False
    endpoint.disabled_at = endpoint.updated_at = clock.now()
    endpoint.disabled_reason = reason[:500]
    session.add(endpoint)
    withdraw_for_endpoint(session, endpoint.id, f"endpoint disabled: {reason}"[:1000])


def delete_endpoint(session: Session, endpoint_id: int, actor: Actor) -> None:
    endpoint = get_endpoint(session, endpoint_id, actor)
    assert endpoint.id is not None
    withdraw_for_endpoint(session, endpoint.id, "endpoint deleted")
    session.delete(endpoint)
    session.flush()


def rotate_secret(session: Session, endpoint_id: int, actor: Actor) -> WebhookEndpoint:
    """A new secret; the old one keeps signing (as a second signature) for a day."""
    endpoint = get_endpoint(session, endpoint_id, actor)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = clock.now() + ROTATION_GRACE
    endpoint.secret = new_secret()
    endpoint.updated_at = clock.now()
    session.add(endpoint)
    session.flush()
    return endpoint


# Delivery -------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """What the worker needs of an endpoint, read before the (slow) request."""

    endpoint_id: int
    url: str
    secrets: tuple[str, ...]


def target_of(endpoint: WebhookEndpoint, now: datetime) -> Target:
    keys = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        keys.append(endpoint.previous_secret)
    assert endpoint.id is not None
    return Target(endpoint_id=endpoint.id, url=endpoint.url, secrets=tuple(keys))


def sign(secrets_: tuple[str, ...], message_id: str, sent_at: datetime, body: str) -> str:
    """The ``webhook-signature`` header: one ``v1,...`` signature per live secret."""
    return " ".join(Webhook(s).sign(message_id, sent_at, body) for s in secrets_)


def encode(payload: dict[str, Any]) -> str:
    # Receivers verify the exact bytes; compact, stable JSON.
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True)
class WebhookResult:
    ok: bool
    gone: bool
    status: int | None
    detail: str


def send(client: httpx.Client, target: Target, message_id: str, payload: dict[str, Any]
         ) -> WebhookResult:
    """POST one signed delivery; any 2xx is success, 410 means the endpoint is gone."""
    body = encode(payload)
    # The receiver checks this timestamp against its own clock to refuse replays,
    # so it is the real moment of sending, not the (injectable) business clock.
    sent_at = datetime.fromtimestamp(int(time.time()), UTC)
    headers = {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": sign(target.secrets, message_id, sent_at, body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
    try:
        response = client.post(target.url, content=body.encode("utf-8"), headers=headers)
    except httpx.TimeoutException:
        return WebhookResult(False, False, None, f"no answer within {client.timeout.read} s")
    except httpx.HTTPError as exc:
        return WebhookResult(False, False, None, f"{type(exc).__name__}: {exc}"[:1000])
    status = response.status_code
    if 200 <= status < 300:
        return WebhookResult(True, False, status, f"HTTP {status}")
    snippet = response.text[:200].strip()
    detail = f"HTTP {status}" + (f": {snippet}" if snippet else "")
    return WebhookResult(False, status == 410, status, detail[:1000])
