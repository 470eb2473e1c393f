"""Configuration, read once from the environment (prefix ``TWINPLAN_``) or a ``.env`` file.

The ``.env`` file is read from the directory the command runs in (the project
directory under ``make``); the environment wins over it. It is also where
``twinplan serve`` records the address it listens at when nobody has set
``TWINPLAN_PUBLIC_BASE_URL``, so that ``twinplan worker``, started from the same
directory, builds the same links (``record_public_base_url``).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
from collections.abc import Mapping, MutableMapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from app.core.actors import Role

DEFAULT_DATA_DIR = Path("data")
# Read from the working directory, like the default SQLite path.
ENV_FILE = Path(".env")
BASE_URL_VAR = "TWINPLAN_PUBLIC_BASE_URL"
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
    value = value.strip()
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises on a port that is not a number in range)
    except ValueError as exc:
        raise ValueError(f"not a URL: {value!r}") from exc
    if not parts.hostname:
        raise ValueError(f"names no host: {value!r} (like https://twinplan.example.org)")
    if parts.query or parts.fragment or "?" in value or "#" in value:
        raise ValueError("must not carry a query or a fragment: paths are appended to it")
    if _is_unspecified(parts.hostname):
        raise ValueError(
            f"{parts.hostname} is where a server listens, not an address to open; "
            "use this machine's name or address"
        )
    return value.rstrip("/")


def _is_unspecified(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def derived_base_url(host: str, port: int | str) -> str:
    """The address of a server listening at ``host:port``, as this machine opens it
    (``0.0.0.0`` and ``::``, every interface, are opened on the loopback)."""
    host = host or "127.0.0.1"
    host = "127.0.0.1" if _is_unspecified(host) else host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}"


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


# Single sign-on: the rule that maps an identity provider's claims to memberships --


class OidcMembershipRule(BaseModel):
    """One line of ``TWINPLAN_OIDC_MEMBERSHIPS``: whom it matches, what it grants.

    ``{"email_domain": "kostroma.example", "role": "coordinator", "city_id": 1}``
    matches a verified email at exactly that domain;
    ``{"claim": "groups", "value": "twinning-admins", "role": "admin"}`` a claim
    (``a.b`` reads a nested one) that equals the value or, being a list,
    contains it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    email_domain: str | None = None
    claim: str | None = None
    value: str | None = None
    role: Role
    city_id: int | None = Field(default=None, ge=1)

    @field_validator("email_domain")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        if value is None:
            return None
        domain = value.strip().lower().removeprefix("@")
        if not _DOMAIN.fullmatch(domain) or "." not in domain:
            raise ValueError(f"not a domain name: {value!r} (like kostroma.example)")
        return domain

    @model_validator(mode="after")
    def _one_match_and_a_scope(self) -> OidcMembershipRule:
        if (self.email_domain is None) == (self.claim is None):
            raise ValueError('give either "email_domain" or "claim" (with "value")')
        if self.claim is not None and not self.value:
            raise ValueError(f'"claim": "{self.claim}" needs a "value" to match')
        if self.email_domain is not None and self.value is not None:
            raise ValueError('"value" goes with "claim", not with "email_domain"')
        if self.role is Role.admin and self.city_id is not None:
            raise ValueError('an admin is not a member of a city: omit "city_id"')
        if self.role is not Role.admin and self.city_id is None:
            raise ValueError(f'a {self.role} needs "city_id"')
        return self


def _parse_membership_rules(value: Any) -> Any:
    """JSON (from the environment or .env) into rules, each checked with its number
    in the message: ``rule 2: a coordinator needs "city_id"``."""
    if isinstance(value, str):
        if not value.strip():
            return ()
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not JSON: {exc}") from None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list | tuple):
        raise ValueError("must be a JSON list of rules like "
                         '{"email_domain": "city.example", "role": "coordinator", "city_id": 1}')
    rules = []
    for number, item in enumerate(value, start=1):
        try:
            rules.append(OidcMembershipRule.model_validate(item))
        except ValidationError as exc:
            problems = []
            for err in exc.errors():
                where = ".".join(str(part) for part in err["loc"])
                msg = str(err["msg"]).removeprefix("Value error, ")
                problems.append(f"{where}: {msg}" if where else msg)
            raise ValueError(f"rule {number}: " + "; ".join(problems)) from None
    return tuple(rules)


def _check_issuer(value: str | None) -> str | None:
    """An https:// URL (http:// only on this machine's loopback, for tests)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        parts = urlsplit(value)
    except ValueError as exc:
        raise ValueError(f"not a URL: {value!r}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an issuer URL: {value!r} (like https://login.city.example)")
    if parts.query or parts.fragment:
        raise ValueError("an issuer URL has no query and no fragment")
    if parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1", "::1"):
        raise ValueError("must be https:// (http:// only on localhost, for tests)")
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TWINPLAN_", env_file=".env", extra="ignore", frozen=True
    )

    database_url: Annotated[str, AfterValidator(_check_database_url)] = (
        f"sqlite:///{DEFAULT_DATA_DIR}/twinplan.db"
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # Unset (in the environment and .env), it is derived from host and port: see
    # _base_url_where_it_listens and public_base_url_is_set.
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
    # Fifteen kept open, none beyond: an overflow connection is closed as soon as
    # it is returned, so with more requests in flight than the pool a new one was
    # opened every few requests (bench.throughput: /health 314 -> 481 req/s on
    # SQLite with the pool fixed at the same ceiling).
    db_pool_size: int = Field(default=15, ge=1, le=100)
    db_max_overflow: int = Field(default=0, ge=0, le=100)
    # Endpoints a worker process runs at once, in threads; the others wait their
    # turn in the event loop. Python runs one thread at a time: more threads than
    # there is waiting on the database to overlap fight over the interpreter lock
    # (bench.throughput, 2 CPUs, reads: 40 threads -> 4, +20-60% requests a second
    # on SQLite and PostgreSQL). Raise it for endpoints that wait long on I/O.
    threads: int = Field(default=4, ge=1, le=200)
    # Seconds a request waits for a free connection before it is answered 503.
    db_pool_timeout: float = Field(default=30, gt=0, le=600)
    # How long a POST's Idempotency-Key is remembered (its answer replayed) after
    # the first request with it (app.core.idempotency).
    idempotency_key_hours: int = Field(default=24, ge=1, le=30 * 24)
    # Rate limits (app.core.ratelimit): per window of this many seconds, writes per
    # API key, writes per person (across their keys and sessions) and failed
    # authentications per client address; 0 turns a limit off. High enough that a
    # coordinator or a partner's batch job is never stopped: they stop runaways.
    rate_limit_window_seconds: int = Field(default=60, ge=1, le=3600)
    rate_limit_key_writes: int = Field(default=300, ge=0, le=1_000_000)
    rate_limit_user_writes: int = Field(default=600, ge=0, le=1_000_000)
    rate_limit_failed_auth: int = Field(default=30, ge=0, le=1_000_000)

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
    # Mirrored partner calendars (app.mirrors): how often the worker polls each,
    # how long one fetch may take in all, and how large a calendar may be. Hosts
    # that are not globally routable are refused unless allowed (tests, intranets).
    external_calendar_poll_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    external_calendar_timeout: float = Field(default=20, gt=0, le=300)
    external_calendar_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024,
                                             le=200 * 1024 * 1024)
    external_calendars_allow_private: bool = False
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
    # A twinning with no exchange in this many years is dormant: its city's health
    # view says since when, and admins find it in GET /api/v1/dormant-partnerships.
    dormant_years: int = Field(default=3, ge=1, le=100)
    # Signed-in sessions end after this long without a request, and at the latest
    # this long after signing in.
    session_idle_minutes: int = Field(default=240, ge=5, le=7 * 24 * 60)
    session_max_hours: int = Field(default=72, ge=1, le=90 * 24)
    # Single sign-on through a city hall's OpenID Connect provider (README, "Single
    # sign-on"). Unset issuer: no single sign-on. The client is registered at the
    # provider with the redirect URI {public_base_url}/api/v1/sso/callback.
    oidc_issuer: Annotated[str | None, AfterValidator(_check_issuer)] = None
    oidc_client_id: str | None = Field(default=None, max_length=300)
    oidc_client_secret: SecretStr | None = None
    oidc_scopes: str = "openid email profile"
    # Which memberships the provider's claims grant: a JSON list of rules
    # (OidcMembershipRule). A person whose claims match none is refused.
    oidc_memberships: Annotated[
        tuple[OidcMembershipRule, ...], NoDecode, BeforeValidator(_parse_membership_rules)
    ] = ()

    _base_url_derived: bool = PrivateAttr(default=False)

    @model_validator(mode="wrap")
    @classmethod
    def _base_url_where_it_listens(
        cls, data: Any, handler: ModelWrapValidatorHandler[Settings]
    ) -> Settings:
        """Unset, the public base URL is where ``twinplan serve`` listens (on every
        interface: this machine's loopback), so feed links work on any port. The
        settings remember that it was derived: a worker cannot know where a server
        listens, and says so (``app.worker.base_url_notice``)."""
        derived = isinstance(data, dict) and not str(data.get("public_base_url") or "").strip()
        if derived:
            data = {
                **data,
                # A port that is not a number is reported as itself, not twice.
                "public_base_url": derived_base_url(
                    str(data.get("host") or "127.0.0.1"),
                    port if str(port := data.get("port") or 8000).isdigit() else 8000,
                ),
            }
        settings = handler(data)
        settings._base_url_derived = derived
        return settings

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

    @model_validator(mode="after")
    def _oidc_complete(self) -> Settings:
        """Single sign-on is configured whole or not at all."""
        given = {
            "TWINPLAN_OIDC_ISSUER": self.oidc_issuer,
            "TWINPLAN_OIDC_CLIENT_ID": self.oidc_client_id,
            "TWINPLAN_OIDC_CLIENT_SECRET": self.oidc_client_secret,
            "TWINPLAN_OIDC_MEMBERSHIPS": self.oidc_memberships or None,
        }
        if all(value is None for value in given.values()):
            return self
        missing = [name for name, value in given.items() if value is None]
        if missing:
            raise ValueError(
                "single sign-on needs " + ", ".join(missing) + " too (or, to turn it "
                "off, unset " + ", ".join(name for name in given if name not in missing) + ")"
            )
        if "openid" not in self.oidc_scopes.split():
            raise ValueError(f'TWINPLAN_OIDC_SCOPES must include "openid" '
                             f"(it is {self.oidc_scopes!r})")
        return self

    @property
    def oidc_enabled(self) -> bool:
        return self.oidc_issuer is not None

    @property
    def public_base_url_is_set(self) -> bool:
        """Whether someone said where the service is reached (the environment, .env,
        or ``twinplan serve`` recording where it listens), rather than it being
        derived from this process's host and port."""
        return not self._base_url_derived

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


# The public base URL, agreed between `twinplan serve` and `twinplan worker` -------
#
# A worker cannot know where a server listens. When nobody has set
# TWINPLAN_PUBLIC_BASE_URL, `twinplan serve` writes the address it listens at into
# .env, under this comment, and rewrites that line whenever it listens elsewhere;
# every command started from the same directory reads it. A value of the user's
# own (in the environment, or a line of .env without this comment) wins, and
# serve never touches it.

RECORDED_MARK = "# Written by `twinplan serve`: where it listens, which the worker's links use."
_RECORDED_HELP = "# To set your own address, edit the next line and delete these two comments."
_ASSIGNMENT = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=(.*)")

BaseUrlOrigin = Literal["environment", "env_file", "recorded", "unset"]


def _assigned_value(line: str) -> str | None:
    """The value of ``TWINPLAN_PUBLIC_BASE_URL=...`` on a line of .env (None: not it)."""
    match = _ASSIGNMENT.fullmatch(line.rstrip("\n"))
    if not match or match[1].upper() != BASE_URL_VAR:
        return None
    value = match[2].strip()
    if value[:1] in ("'", '"'):
        return value[1:].split(value[0], 1)[0].strip()
    return value.split(" #", 1)[0].strip() if not value.startswith("#") else ""


def _read_lines(env_file: Path) -> list[str]:
    try:
        return env_file.read_text(encoding="utf-8").splitlines()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return []  # no file there: the settings skip it too


def _recorded_block(lines: list[str]) -> tuple[int, int] | None:
    """Where serve's block is in .env: [start, end) over its comments and its line."""
    for start, line in enumerate(lines):
        if line.strip() == RECORDED_MARK:
            end = start + 1
            if end < len(lines) and lines[end].strip() == _RECORDED_HELP:
                end += 1
            if end < len(lines) and _assigned_value(lines[end]) is not None:
                end += 1
            return start, end
    return None


def public_base_url_origin(
    env_file: Path = ENV_FILE, environ: Mapping[str, str] | None = None
) -> BaseUrlOrigin:
    """Who set ``TWINPLAN_PUBLIC_BASE_URL``: the environment, the user's line in
    ``env_file``, ``twinplan serve`` (its recorded line), or nobody. Names are
    matched ignoring case and an empty value is unset, as the settings read them."""
    environ = os.environ if environ is None else environ
    if any(k.upper() == BASE_URL_VAR and v.strip() for k, v in environ.items()):
        return "environment"
    lines = _read_lines(env_file)
    block = _recorded_block(lines)
    recorded = False
    for number, line in enumerate(lines):
        value = _assigned_value(line)
        if not value:
            continue
        if block and block[0] <= number < block[1]:
            recorded = True
        else:
            return "env_file"
    return "recorded" if recorded else "unset"


def _write_lines(env_file: Path, lines: list[str]) -> None:
    """Replace ``env_file`` at once (a reader never sees half of it), keeping its mode."""
    target = env_file.resolve()
    temporary = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    temporary.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    try:
        if target.exists():
            os.chmod(temporary, target.stat().st_mode & 0o7777)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def record_public_base_url(url: str, env_file: Path = ENV_FILE) -> bool:
    """Write ``url`` as serve's recorded ``TWINPLAN_PUBLIC_BASE_URL`` in ``env_file``
    (created if missing; other lines kept as they are). False: it was already there."""
    lines = _read_lines(env_file)
    block = [RECORDED_MARK, _RECORDED_HELP, f"{BASE_URL_VAR}={url}"]
    where = _recorded_block(lines)
    if where is None:
        new = [*lines, *([""] if lines and lines[-1].strip() else []), *block]
    else:
        new = [*lines[: where[0]], *block, *lines[where[1]:]]
    if new == lines:
        return False
    _write_lines(env_file, new)
    return True


def forget_recorded_base_url(env_file: Path = ENV_FILE) -> bool:
    """Remove serve's recorded line from ``env_file``, so that the user's own wins
    wherever it stands (.env's last assignment wins). False: there was none."""
    lines = _read_lines(env_file)
    where = _recorded_block(lines)
    if where is None:
        return False
    start, end = where
    if start and not lines[start - 1].strip():
        start -= 1  # the blank line that record_public_base_url put before it
    _write_lines(env_file, [*lines[:start], *lines[end:]])
    return True


def agree_on_public_base_url(
    host: str,
    port: int,
    env_file: Path = ENV_FILE,
    environ: MutableMapping[str, str] | None = None,
) -> str:
    """For ``twinplan serve`` listening at ``host:port``: make sure every process
    started from this directory builds links to the same public base URL.

    Set by the user (environment or .env): kept. Otherwise it is where this server
    listens; it goes into ``environ`` (this server's own workers) and into
    ``env_file`` (a worker started later). Returns where the value comes from, to
    be shown at start; call ``get_settings.cache_clear()`` afterwards.
    """
    environ = os.environ if environ is None else environ
    origin = public_base_url_origin(env_file, environ)
    if origin == "environment":
        return f"{BASE_URL_VAR} in the environment"
    if origin == "env_file":
        try:
            forget_recorded_base_url(env_file)
        except OSError as exc:
            return (f"{BASE_URL_VAR} in {env_file}; could not remove the line serve wrote "
                    f"there earlier ({exc.strerror or exc}): delete it, or it may win")
        return f"{BASE_URL_VAR} in {env_file}"
    url = derived_base_url(host, port)
    environ[BASE_URL_VAR] = url
    try:
        record_public_base_url(url, env_file)
    except OSError as exc:
        return (
            f"where this server listens; could not record it in {env_file} "
            f"({exc.strerror or exc}): start the worker with {BASE_URL_VAR}={url}"
        )
    return f"where this server listens, recorded in {env_file} for the worker"
