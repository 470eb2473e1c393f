from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.core.settings import Settings, SettingsError, describe_settings_error, get_settings


def test_defaults_run_on_a_laptop(monkeypatch):
    for var in ("DATABASE_URL", "PORT", "HOST", "PUBLIC_BASE_URL", "LOG_LEVEL"):
        monkeypatch.delenv(f"TWINPLAN_{var}", raising=False)
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.database_url == "sqlite:///data/twinplan.db"
    assert (s.host, s.port) == ("127.0.0.1", 8000)
    assert s.public_base_url == "http://127.0.0.1:8000"


def test_unset_the_public_base_url_is_where_the_service_listens(monkeypatch):
    monkeypatch.delenv("TWINPLAN_PUBLIC_BASE_URL", raising=False)
    monkeypatch.setenv("TWINPLAN_PORT", "8765")
    assert Settings(_env_file=None).public_base_url == "http://127.0.0.1:8765"  # type: ignore[call-arg]
    # No .env: `twinplan serve` may have recorded its address in the project's.
    assert Settings(_env_file=None, host="0.0.0.0", port=9000).public_base_url == "http://127.0.0.1:9000"  # type: ignore[call-arg]
    assert Settings(_env_file=None, host="::1").public_base_url == "http://[::1]:8765"  # type: ignore[call-arg]
    told = Settings(public_base_url="https://twinplan.example.org/", port=9000)  # type: ignore[call-arg]
    assert told.public_base_url == "https://twinplan.example.org"


def test_calendar_uids_take_the_base_urls_host_unless_told_otherwise():
    moved = Settings(public_base_url="https://exchanges.kostroma.example")  # type: ignore[call-arg]
    assert moved.calendar_uid_domain == "exchanges.kostroma.example"
    pinned = Settings(  # type: ignore[call-arg]
        public_base_url="https://exchanges.kostroma.example", uid_domain=" Twinplan.Kostroma.RU ")
    assert pinned.calendar_uid_domain == "twinplan.kostroma.ru"
    blank = Settings(  # type: ignore[call-arg]
        public_base_url="https://exchanges.kostroma.example", uid_domain=" ")
    assert blank.calendar_uid_domain == "exchanges.kostroma.example"


def test_postgres_url_is_accepted():
    s = Settings(database_url="postgresql+psycopg://u@localhost/db")  # type: ignore[call-arg]
    assert not s.is_sqlite


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TWINPLAN_PORT": "eighty"}, "TWINPLAN_PORT"),
        ({"TWINPLAN_PORT": "70000"}, "TWINPLAN_PORT"),
        ({"TWINPLAN_DATABASE_URL": "mysql://x/y"}, "unsupported driver"),
        ({"TWINPLAN_DATABASE_URL": "not a url"}, "TWINPLAN_DATABASE_URL"),
        ({"TWINPLAN_PUBLIC_BASE_URL": "example.org"}, "http://"),
        ({"TWINPLAN_LOG_LEVEL": "LOUD"}, "log level"),
        ({"TWINPLAN_UID_DOMAIN": "twinplan example"}, "not a domain name"),
        ({"TWINPLAN_UID_DOMAIN": "evil\r\nBEGIN:VEVENT"}, "not a domain name"),
    ],
)
def test_unusable_values_are_refused_in_one_line(monkeypatch, env, message):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    try:
        with pytest.raises(SettingsError) as exc:
            get_settings()
    finally:
        get_settings.cache_clear()
    text = str(exc.value)
    assert message in text and "\n" not in text


def test_cli_refuses_to_start_with_a_one_line_message():
    env = {"TWINPLAN_PORT": "abc", "PATH": "/usr/bin:/bin"}
    twinplan = str(Path(sys.executable).with_name("twinplan"))
    r = subprocess.run([twinplan, "migrate"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "twinplan: invalid configuration: TWINPLAN_PORT: Input should be a valid integer, "
        "unable to parse string as an integer"
    ]


def test_describe_names_the_variable():
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as exc:
        Settings(port=0)  # type: ignore[call-arg]
    assert describe_settings_error(exc.value).startswith("invalid configuration: TWINPLAN_PORT")
