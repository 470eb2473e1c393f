"""The delivery fixtures (SMTP server, receiver, worker, clock) serve the reminder tests too."""

from tests.notifications.conftest import (  # noqa: F401
    _loopback_webhooks,
    clock,
    make_worker,
    receiver,
    smtp,
)
