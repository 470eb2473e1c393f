"""Email over SMTP: plain text, plus an ``.ics`` attachment for event reminders."""

from __future__ import annotations

import email.policy
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from app.core import clock
from app.core.settings import Settings

_POLICY = email.policy.SMTP.clone(max_line_length=998)


def build_message(
    settings: Settings, message_id: str, payload: dict[str, Any]
) -> EmailMessage:
    """The message a notification's payload describes.

    ``payload``: ``to``, ``subject``, ``text`` and optionally ``ics`` (the
    calendar text) with ``ics_filename`` and ``ics_method`` (its iTIP METHOD, for
    the part's Content-Type; PUBLISH unless given). The ``Message-ID`` is derived from the
    notification's stable id, so a copy sent again after a crash is recognisable.
    """
    # Headers folded at RFC 5322's hard limit (998) rather than its advice (78):
    # Python 3.11 and 3.12 drop the space at the fold of a long non-ASCII subject
    # ("через 30 дней (воскресенье" arrived as "дней(воскресенье").
    message = EmailMessage(policy=_POLICY)
    message["From"] = settings.smtp_sender
    message["To"] = payload["to"]
    message["Subject"] = payload["subject"]
    message["Date"] = format_datetime(clock.now())
    message["Message-ID"] = f"<{message_id}@twinplan>" if message_id else make_msgid()
    message["X-Twinplan-Notification"] = message_id
    message.set_content(payload["text"])
    if payload.get("ics"):
        message.add_attachment(
            payload["ics"].encode("utf-8"),
            maintype="text",
            subtype="calendar",
            filename=payload.get("ics_filename") or "event.ics",
            params={"method": payload.get("ics_method") or "PUBLISH", "charset": "utf-8"},
        )
    return message


@dataclass(frozen=True)
class EmailResult:
    ok: bool
    permanent: bool
    code: int | None
    detail: str


def send(settings: Settings, message: EmailMessage) -> EmailResult:
    """Hand one message to the SMTP server. A 5xx refusal of the recipient or the
    message is final; everything else (connection, 4xx, login) is retried."""
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port,
                          timeout=settings.smtp_timeout) as smtp:
            if settings.smtp_starttls:
                # Verify the server's certificate and name, as smtplib does not by default.
                cafile = str(settings.smtp_ca_file) if settings.smtp_ca_file else None
                smtp.starttls(context=ssl.create_default_context(cafile=cafile))
            if settings.smtp_user:
                password = settings.smtp_password.get_secret_value() if (
                    settings.smtp_password) else ""
                smtp.login(settings.smtp_user, password)
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        permanent = all(500 <= c < 600 for c in codes)
        return EmailResult(False, permanent, codes[0] if codes else None,
                           f"recipient refused: {exc.recipients}"[:1000])
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(
            exc.smtp_error, bytes) else str(exc.smtp_error)
        # Only the message itself can be refused for good; a refused login or
        # sender is our configuration, and the message waits until it is fixed.
        permanent = isinstance(exc, smtplib.SMTPDataError) and 500 <= exc.smtp_code < 600
        return EmailResult(False, permanent, exc.smtp_code,
                           f"SMTP {exc.smtp_code}: {text}"[:1000])
    except (smtplib.SMTPException, OSError) as exc:
        return EmailResult(False, False, None, f"{type(exc).__name__}: {exc}"[:1000])
    return EmailResult(True, False, 250, "accepted by the SMTP server")
