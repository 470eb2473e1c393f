"""Email delivery against a real aiosmtpd server that requires a login."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pydantic import SecretStr

from app.notifications import outbox as outbox_module
from app.notifications.models import Channel, NotificationStatus, Topic
from tests.notifications.conftest import outbox
from tests.notifications.fakes import SmtpSink
from tests.servers import free_port

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


class AuthSmtp:
    def __init__(self) -> None:
        self.sink = SmtpSink()
        self.logins: list[tuple[str, str]] = []

        def authenticate(server, session, envelope, mechanism, auth_data):
            assert isinstance(auth_data, LoginPassword)
            login, password = auth_data.login.decode(), auth_data.password.decode()
            self.logins.append((login, password))
            return AuthResult(success=(login, password) == ("twinplan", "s3cret"))

        self.port = free_port()
        self.controller = Controller(
            self.sink, hostname="127.0.0.1", port=self.port, authenticator=authenticate,
            auth_required=True, auth_require_tls=False,
        )


@pytest.fixture
def auth_smtp() -> Iterator[AuthSmtp]:
    server = AuthSmtp()
    server.controller.start()
    yield server
    server.controller.stop()


def _queue_mail(session, key="mail:1"):
    outbox_module.enqueue(
        session, key=key, channel=Channel.email, topic=Topic.reminder_due,
        recipient="exchange@kostroma.ru",
        payload={"to": "exchange@kostroma.ru", "subject": "World Twin Cities Day is in 7 days",
                 "text": "Sunday 25 April 2027."},
    )
    session.commit()


def test_credentials_are_used(session, auth_smtp, make_worker):
    _queue_mail(session)
    make_worker(smtp_port=auth_smtp.port, smtp_user="twinplan", smtp_password=SecretStr("s3cret"),
                smtp_sender="Twinplan <noreply@twinplan.test>").run_once()
    (message,) = auth_smtp.sink.messages
    assert auth_smtp.logins == [("twinplan", "s3cret")]
    assert message["From"] == "Twinplan <noreply@twinplan.test>"
    assert message["Subject"] == "World Twin Cities Day is in 7 days"
    assert message.get_body(("plain",)).get_content().strip() == "Sunday 25 April 2027."
    assert statuses_of(session) == [NotificationStatus.delivered]


def test_a_refused_login_is_retried_not_dead(session, auth_smtp, make_worker):
    _queue_mail(session)
    make_worker(smtp_port=auth_smtp.port, smtp_user="twinplan", smtp_password=SecretStr("wrong"),
                smtp_timeout=1).run_once()
    (row,) = outbox(session)
    assert row.status == NotificationStatus.pending  # a configuration error, not the message's
    assert row.attempts == 1 and row.last_error
    assert auth_smtp.sink.messages == []


def statuses_of(session):
    return [NotificationStatus(r.status) for r in outbox(session)]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", key, "-out", cert, "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_smtp(certificate) -> Iterator[AuthSmtp]:
    """An SMTP server that refuses to log anyone in before STARTTLS."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    server = AuthSmtp()
    server.controller = Controller(
        server.sink, hostname="127.0.0.1", port=server.port,
        authenticator=server.controller.SMTP_kwargs["authenticator"],
        auth_required=True, auth_require_tls=True, require_starttls=True, tls_context=context,
    )
    server.controller.start()
    yield server
    server.controller.stop()


def test_starttls_then_login(session, tls_smtp, certificate, make_worker):
    _queue_mail(session)
    make_worker(smtp_port=tls_smtp.port, smtp_starttls=True, smtp_ca_file=certificate[0],
                smtp_user="twinplan", smtp_password=SecretStr("s3cret")).run_once()
    assert tls_smtp.logins == [("twinplan", "s3cret")]
    assert len(tls_smtp.sink.messages) == 1
    assert statuses_of(session) == [NotificationStatus.delivered]


def test_an_untrusted_certificate_is_not_used(session, tls_smtp, make_worker):
    _queue_mail(session)
    make_worker(smtp_port=tls_smtp.port, smtp_starttls=True, smtp_user="twinplan",
                smtp_password=SecretStr("s3cret"), smtp_timeout=2).run_once()
    (row,) = outbox(session)
    assert row.status == NotificationStatus.pending and "CERTIFICATE" in row.last_error.upper()
    assert tls_smtp.logins == [] and tls_smtp.sink.messages == []
