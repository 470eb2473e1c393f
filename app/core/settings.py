"""Configuration, read once from the environment (prefix ``TWINPLAN_``) or a ``.env`` file."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field, ValidationError
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
    log_level: Annotated[str, AfterValidator(_check_log_level)] = "INFO"
    max_page_size: int = Field(default=200, ge=1, le=10_000)
    # Per worker process. Keep workers * (pool + overflow) below PostgreSQL's
    # max_connections (100 by default); extra requests wait for a connection.
    db_pool_size: int = Field(default=5, ge=1, le=100)
    db_max_overflow: int = Field(default=10, ge=0, le=100)
    # Seconds a request waits for a free connection before it is answered 503.
    db_pool_timeout: float = Field(default=30, gt=0, le=600)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


class SettingsError(SystemExit):
    """Raised at start-up when the environment holds an unusable value."""


def describe_settings_error(exc: ValidationError) -> str:
    """One line per bad value, naming the environment variable to fix."""
    parts = []
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else "?"
        msg = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"TWINPLAN_{field.upper()}: {msg}")
    return "invalid configuration: " + "; ".join(parts)


@lru_cache
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(describe_settings_error(exc)) from None
