"""Real servers on loopback for the delivery tests: an SMTP server (aiosmtpd) and
an HTTP webhook receiver that can be told to fail, hang or answer 410."""

from __future__ import annotations

import email
import email.policy
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from standardwebhooks.webhooks import Webhook

from tests.servers import free_port


class SmtpSink:
    """An aiosmtpd handler that keeps every message; ``refuse`` maps an address to
    the reply its RCPT gets (e.g. ``"550 no such user"``)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: dict[str, str] = {}
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]


class SmtpServer:
    def __init__(self) -> None:
        self.sink = SmtpSink()
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=free_port())

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def port(self) -> int:
        return int(self.controller.port)


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    received_at: float

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def payload(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


# (delivery so far, attempt number of this webhook-id) -> status to answer
Policy = Callable[[Delivery, int], int]


def always(status: int) -> Policy:
    return lambda _d, _n: status


def fail_first(times: int, status: int = 500) -> Policy:
    return lambda _d, n: status if n <= times else 200


def fail_randomly(share: float, seed: int = 1962) -> Policy:
    rng = random.Random(seed)
    lock = threading.Lock()

    def decide(_d: Delivery, _n: int) -> int:
        with lock:
            return 503 if rng.random() < share else 200

    return decide


@dataclass
class Receiver:
    """A threaded HTTP server that records every request it answers."""

    policy: Policy = field(default_factory=lambda: always(200))
    delay: float = 0.0
    deliveries: list[Delivery] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:
                    # The sender went away mid-request (a worker killed while sending):
                    # a real server never hands such a request on, nor answers it.
                    self.close_connection = True
                    return
                headers = {k.lower(): v for k, v in self.headers.items()}
                if receiver.delay:
                    time.sleep(receiver.delay)
                delivery = Delivery(self.path, headers, body, 0, time.time())
                with receiver.lock:
                    wid = headers.get("webhook-id", "")
                    receiver.counts[wid] = receiver.counts.get(wid, 0) + 1
                    delivery.status = receiver.policy(delivery, receiver.counts[wid])
                    receiver.deliveries.append(delivery)
                try:
                    self.send_response(delivery.status)
                    self.send_header("content-length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender gave up waiting

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def accepted(self) -> list[Delivery]:
        with self.lock:
            return [d for d in self.deliveries if 200 <= d.status < 300]

    def all(self) -> list[Delivery]:
        with self.lock:
            return list(self.deliveries)


def verify(secret: str, delivery: Delivery) -> dict[str, Any]:
    """What a partner does: check the Standard Webhooks signature, get the payload."""
    return dict(Webhook(secret).verify(delivery.body, delivery.headers))
