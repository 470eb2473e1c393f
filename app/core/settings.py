"""Configuration, read once from the environment (prefix ``TWINPLAN_``) or a ``.env`` file."""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATA_DIR = Path("data")
SUPPORTED_DRIVERS = ("sqlite", "postgresql+psycopg")


def _check_database_url(value: str) -> str:
    try:
        url = make_url(value)
    except ArgumentError as exc:
        raise ValueError(f"not a database URL: {value!r}") from exc
    if url.drivername not in SUPPORTED_DRIVERS:
        raise ValueError(
            f"unsupported driver {url.drivername!r}; use sqlite:///PATH or postgresql+psycopg://..."
        )
    return value


def _check_base_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value.rstrip("/")


_DOMAIN = re.compile(r"[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?")


def _check_uid_domain(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None  # unset, or set to nothing: the default
    domain = value.strip().lower()
    if not _DOMAIN.fullmatch(domain):
        raise ValueError(f"not a domain name: {value!r} (like twinplan.example.org)")
    return domain


def _check_log_level(value: str) -> str:
    level = value.upper()
    if level not in logging.getLevelNamesMapping():
        raise ValueError(f"unknown log level {value!r}; use DEBUG, INFO, WARNING or ERROR")
    return level


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TWINPLAN_", env_file=".env", extra="ignore", frozen=True
    )

    database_url: Annotated[str, AfterValidator(_check_database_url)] = (
        f"sqlite:///{DEFAULT_DATA_DIR}/twinplan.db"
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_base_url: Annotated[str, AfterValidator(_check_base_url)] = "http://127.0.0.1:8000"
    # The domain in every calendar UID (twinplan-event-7@DOMAIN); default: the host of
    # public_base_url. A UID must never change: when the service moves to another
    # address, set this to the old host, or calendars and invitations that already
    # hold the events take every one of them for a new event.
    uid_domain: Annotated[str | None, AfterValidator(_check_uid_domain)] = None
    log_level: Annotated[str, AfterValidator(_check_log_level)] = "INFO"
    max_page_size: int = Field(default=200, ge=1, le=10_000)
    # Requests with a larger body are answered 413 before it is read.
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=1_073_741_824)
    # Per worker process. Keep workers * (pool + overflow) below PostgreSQL's
    # max_connections (100 by default); extra requests wait for a connection.
    db_pool_size: int = Field(default=5, ge=1, le=100)
    db_max_overflow: int = Field(default=10, ge=0, le=100)
    # Seconds a request waits for a free connection before it is answered 503.
    db_pool_timeout: float = Field(default=30, gt=0, le=600)

    # Email (reminders). STARTTLS upgrades the connection before credentials are sent.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_starttls: bool = False
    # A CA bundle to trust for STARTTLS (a private relay); default: the system's.
    smtp_ca_file: Path | None = None
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_sender: str = Field(default="Twinplan <twinplan@localhost>", max_length=320)
    smtp_timeout: float = Field(default=10, gt=0, le=120)
    # Webhooks: seconds a partner's endpoint has to answer; private or loopback
    # targets (127.0.0.1, 10.x, localhost) are refused unless allowed here.
    webhook_timeout: float = Field(default=5, gt=0, le=30)
    webhook_allow_private_urls: bool = False
    # The delivery worker. A claimed row is leased: if the worker dies, the row is
    # retried once the lease expires, so the lease must outlast a whole batch.
    worker_batch_size: int = Field(default=10, ge=1, le=1000)
    # Deliveries of a batch in flight at once, each in its own thread and
    # transaction: one slow partner must not hold up the others.
    worker_concurrency: int = Field(default=4, ge=1, le=64)
    worker_lease_seconds: float = Field(default=120, gt=0, le=86_400)
    worker_poll_seconds: float = Field(default=2, gt=0, le=3600)
    worker_backoff_seconds: float = Field(default=30, gt=0, le=86_400)
    worker_backoff_max_seconds: float = Field(default=6 * 3600, gt=0, le=7 * 86_400)
    worker_max_attempts: int = Field(default=8, ge=1, le=100)
    # Reminders go out at this local hour in the recipient city's timezone.
    reminder_hour: int = Field(default=9, ge=0, le=23)

    @model_validator(mode="before")
    @classmethod
    def _base_url_where_it_listens(cls, data: Any) -> Any:
        """Unset, the public base URL is where ``twinplan serve`` listens (on every
        interface: this machine's loopback), so feed links work on any port."""
        if isinstance(data, dict) and not data.get("public_base_url"):
            host = str(data.get("host") or "127.0.0.1")
            host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
            host = f"[{host}]" if ":" in host else host
            data = {**data, "public_base_url": f"http://{host}:{data.get('port') or 8000}"}
        return data

    @model_validator(mode="after")
    def _lease_outlasts_a_batch(self) -> Settings:
        slowest = max(self.smtp_timeout, self.webhook_timeout)
        if self.worker_lease_seconds <= self.worker_batch_size * slowest:
            raise ValueError(
                f"TWINPLAN_WORKER_LEASE_SECONDS ({self.worker_lease_seconds:g}) must exceed "
                f"TWINPLAN_WORKER_BATCH_SIZE × the slowest of TWINPLAN_SMTP_TIMEOUT and "
                f"TWINPLAN_WEBHOOK_TIMEOUT ({self.worker_batch_size} × {slowest:g} s), "
                "or a slow batch is delivered twice"
            )
        if self.worker_backoff_max_seconds < self.worker_backoff_seconds:
            raise ValueError(
                "TWINPLAN_WORKER_BACKOFF_MAX_SECONDS must not be below "
                "TWINPLAN_WORKER_BACKOFF_SECONDS"
            )
        if self.worker_concurrency > self.db_pool_size + self.db_max_overflow:
            raise ValueError(
                "TWINPLAN_WORKER_CONCURRENCY must not exceed TWINPLAN_DB_POOL_SIZE + "
                "TWINPLAN_DB_MAX_OVERFLOW: every delivery in flight records its outcome "
                "on its own connection"
            )
        loopback = self.smtp_host in ("127.0.0.1", "::1", "localhost")
        if self.smtp_password is not None and not self.smtp_starttls and not loopback:
            raise ValueError(
                "TWINPLAN_SMTP_PASSWORD would cross the network in clear text; set "
                "TWINPLAN_SMTP_STARTTLS=true"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def calendar_uid_domain(self) -> str:
        return self.uid_domain or urlsplit(self.public_base_url).hostname or "twinplan"


class SettingsError(SystemExit):
    """Raised at start-up when the environment holds an unusable value."""


def describe_settings_error(exc: ValidationError) -> str:
    """One line per bad value, naming the environment variable to fix."""
    parts = []
    for err in exc.errors():
        msg = str(err["msg"]).removeprefix("Value error, ")
        # Checks across several values name their variables in the message.
        parts.append(f"TWINPLAN_{str(err['loc'][0]).upper()}: {msg}" if err["loc"] else msg)
    return "invalid configuration: " + "; ".join(parts)


@lru_cache
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(describe_settings_error(exc)) from None
