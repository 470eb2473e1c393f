"""People who sign in: the worker and a real SMTP server (aiosmtpd) deliver their
invitations and reset links."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.notifications.conftest import (  # noqa: F401  (the worker and SMTP fixtures)
    _loopback_webhooks,
    clock,
    make_worker,
    smtp,
)

LINK = re.compile(r"https?://\S+\?token=(\S+)")


def token_in(message: Any) -> str:
    """The secret of the (first) link in an email."""
    match = LINK.search(message.get_body(("plain",)).get_content())
    assert match, "no link in the email"
    return match.group(1)


class Browser:
    """A person's browser: the session cookie, the CSRF token, the console's Origin."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.cookie: str | None = None
        self.csrf: str | None = None

    def remember(self, response: Any) -> Any:
        if response.status_code == 200 and "twinplan_session" in response.cookies:
            self.cookie = response.cookies["twinplan_session"]
            self.csrf = response.json()["csrf_token"]
        return response

    def headers(self, *, csrf: bool = True, origin: str = "https://twinplan.test"
                ) -> dict[str, str]:
        out = {"Origin": origin}
        if self.cookie:
            out["Cookie"] = f"twinplan_session={self.cookie}"
        if csrf and self.csrf:
            out["X-CSRF-Token"] = self.csrf
        return out

    def sign_in(self, email: str, password: str, **extra: Any) -> Any:
        return self.remember(self.client.post(
            "/api/v1/session", json={"email": email, "password": password, **extra}))

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, headers=self.headers(), **kw)

    def request(self, method: str, path: str, *, csrf: bool = True,
                origin: str = "https://twinplan.test", **kw: Any) -> Any:
        return self.client.request(method, path, headers=self.headers(csrf=csrf, origin=origin)
                                   | kw.pop("headers", {}), **kw)


@pytest.fixture
def browser(client: Any) -> Browser:
    return Browser(client)


@pytest.fixture
def other_browser(client: Any) -> Browser:
    return Browser(client)
