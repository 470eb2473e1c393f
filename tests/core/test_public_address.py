"""The server and the worker agree on the public base URL without being told.

Unset, ``twinplan serve`` records where it listens in ``.env``; ``twinplan
worker``, started from the same directory, reads it there; a worker that finds
no address at all refuses to start and says what to set (issue 10, part 5).
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from sqlmodel import Session

from app.core.db import make_engine
from app.core.settings import (
    BASE_URL_VAR,
    RECORDED_MARK,
    Settings,
    agree_on_public_base_url,
    public_base_url_origin,
    record_public_base_url,
)
from app.worker import base_url_notice
from tests.factories import new_city
from tests.servers import free_port, scratch_database, stop_process

ROOT = Path(__file__).resolve().parents[2]
TWINPLAN = str(Path(sys.executable).with_name("twinplan"))
# What a newcomer's shell holds: nothing of Twinplan's about where it is served.
UNSET = {"TWINPLAN_PUBLIC_BASE_URL", "TWINPLAN_HOST", "TWINPLAN_PORT"}


@pytest.fixture
def no_address(monkeypatch):
    """The process environment without the variables that place the service."""
    for name in list(os.environ):
        if name.upper() in UNSET:
            monkeypatch.delenv(name)


def assignments(env_file: Path) -> list[str]:
    return [line for line in env_file.read_text().splitlines()
            if line.upper().startswith(BASE_URL_VAR + "=")]


# Settings ----------------------------------------------------------------------------


def test_the_settings_know_whether_anyone_set_the_address(no_address, tmp_path):
    guessed = Settings(_env_file=None)
    assert guessed.public_base_url == "http://127.0.0.1:8000"
    assert not guessed.public_base_url_is_set
    told = Settings(_env_file=None, public_base_url="https://twinplan.example.org")
    assert told.public_base_url_is_set
    empty = Settings(_env_file=None, public_base_url=" ")
    assert not empty.public_base_url_is_set

    env_file = tmp_path / ".env"
    record_public_base_url("http://127.0.0.1:8123", env_file)
    recorded = Settings(_env_file=env_file)
    assert recorded.public_base_url == "http://127.0.0.1:8123"
    assert recorded.public_base_url_is_set


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://0.0.0.0:8000", "where a server listens"),
        ("http://[::]:8000", "where a server listens"),
        ("https://", "names no host"),
        ("https://twinplan.example.org/?x=1", "query"),
        ("https://twinplan.example.org/#top", "fragment"),
        ("http://127.0.0.1:99999", "not a URL"),
    ],
)
def test_a_base_url_nobody_can_open_is_refused(url, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        Settings(_env_file=None, public_base_url=url)


def test_a_base_url_under_a_path_is_fine():
    s = Settings(_env_file=None, public_base_url="https://city.example/twinplan/")
    assert s.public_base_url == "https://city.example/twinplan"


# What serve records ------------------------------------------------------------------


def test_serve_records_where_it_listens_and_follows_it_when_it_moves(no_address, tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("# mine\nTWINPLAN_MAX_PAGE_SIZE=50\n")
    environ: dict[str, str] = {}

    said = agree_on_public_base_url("127.0.0.1", 8123, env_file, environ)
    assert "recorded in" in said
    assert environ == {BASE_URL_VAR: "http://127.0.0.1:8123"}
    assert env_file.read_text() == (
        "# mine\nTWINPLAN_MAX_PAGE_SIZE=50\n\n"
        f"{RECORDED_MARK}\n"
        "# To set your own address, edit the next line and delete these two comments.\n"
        "TWINPLAN_PUBLIC_BASE_URL=http://127.0.0.1:8123\n"
    )
    assert public_base_url_origin(env_file, {}) == "recorded"

    # The same address again: the file is not rewritten.
    before = env_file.stat().st_mtime_ns
    time.sleep(0.01)
    assert not record_public_base_url("http://127.0.0.1:8123", env_file)
    assert env_file.stat().st_mtime_ns == before

    # Elsewhere (every interface, another port): the recorded line follows, in place.
    env_file.write_text(env_file.read_text() + "TWINPLAN_SMTP_PORT=2525\n")
    agree_on_public_base_url("0.0.0.0", 9001, env_file, {})
    assert assignments(env_file) == ["TWINPLAN_PUBLIC_BASE_URL=http://127.0.0.1:9001"]
    lines = env_file.read_text().splitlines()
    assert lines[:2] == ["# mine", "TWINPLAN_MAX_PAGE_SIZE=50"]
    assert lines[-1] == "TWINPLAN_SMTP_PORT=2525"
    worker = Settings(_env_file=env_file)
    assert (worker.public_base_url, worker.max_page_size, worker.smtp_port) == (
        "http://127.0.0.1:9001", 50, 2525)


def test_an_address_of_the_users_own_is_never_touched(no_address, tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("TWINPLAN_MAX_PAGE_SIZE=50\n")
    record_public_base_url("http://127.0.0.1:8123", env_file)
    # The user adds their own above serve's line, which would otherwise win (the
    # last assignment in .env does): serve drops its own.
    env_file.write_text("TWINPLAN_PUBLIC_BASE_URL=https://twinplan.example.org\n"
                        + env_file.read_text())
    environ: dict[str, str] = {}
    said = agree_on_public_base_url("127.0.0.1", 8124, env_file, environ)
    assert said == f"{BASE_URL_VAR} in {env_file}"
    assert environ == {}
    assert env_file.read_text() == (
        "TWINPLAN_PUBLIC_BASE_URL=https://twinplan.example.org\nTWINPLAN_MAX_PAGE_SIZE=50\n")
    settings = Settings(_env_file=env_file)
    assert settings.public_base_url == "https://twinplan.example.org"

    # In the environment (any case, as the settings read it): .env is not even read.
    other = tmp_path / "other.env"
    said = agree_on_public_base_url("127.0.0.1", 8124, other,
                                    {"twinplan_public_base_url": "https://a.example"})
    assert said == f"{BASE_URL_VAR} in the environment"
    assert not other.exists()


@pytest.mark.parametrize(
    ("content", "origin"),
    [
        ("", "unset"),
        ("TWINPLAN_PUBLIC_BASE_URL=\n", "unset"),
        ("TWINPLAN_PUBLIC_BASE_URL=''  # later\n", "unset"),
        ("# TWINPLAN_PUBLIC_BASE_URL=https://a.example\n", "unset"),
        ("export twinplan_public_base_url = \"https://a.example\"  # ours\n", "env_file"),
        ("TWINPLAN_PUBLIC_BASE_URL=https://a.example # ours\n", "env_file"),
        ("TWINPLAN_PUBLIC_BASE_URL_X=https://a.example\n", "unset"),
    ],
)
def test_env_lines_are_read_as_the_settings_read_them(no_address, tmp_path, content, origin):
    env_file = tmp_path / ".env"
    env_file.write_text(content)
    assert public_base_url_origin(env_file, {}) == origin
    assert Settings(_env_file=env_file).public_base_url_is_set == (origin != "unset")


def test_when_env_cannot_be_written_serve_says_what_the_worker_needs(no_address, tmp_path):
    env_file = tmp_path / ".env"
    env_file.mkdir()  # not a file: unreadable and unwritable
    environ: dict[str, str] = {}
    said = agree_on_public_base_url("127.0.0.1", 8125, env_file, environ)
    assert "could not record it" in said
    assert f"{BASE_URL_VAR}=http://127.0.0.1:8125" in said
    assert environ == {BASE_URL_VAR: "http://127.0.0.1:8125"}
    assert list(tmp_path.iterdir()) == [env_file]  # no temporary file left


# What the worker says at start -------------------------------------------------------


def test_the_worker_says_where_its_links_point(no_address):
    level, line = base_url_notice(Settings(_env_file=None))
    assert level == logging.ERROR
    assert "TWINPLAN_PUBLIC_BASE_URL is not set" in line and "twinplan serve" in line

    for loopback in ("http://127.0.0.1:8123", "http://localhost:8000", "http://[::1]:8000"):
        level, line = base_url_notice(
            Settings(_env_file=None, public_base_url=loopback))
        assert level == logging.WARNING, loopback
        assert loopback in line and "only on this machine" in line

    level, line = base_url_notice(
        Settings(_env_file=None, public_base_url="https://twinplan.example.org"))
    assert (level, line) == (logging.INFO,
                             "links in reminders point to https://twinplan.example.org")


# The real commands -------------------------------------------------------------------


def newcomer_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.upper() not in UNSET}
    return env | {"TWINPLAN_DATABASE_URL": database_url, "TWINPLAN_LOG_LEVEL": "INFO"}


@contextmanager
def serving(project: Path, env: dict[str, str], port: int) -> Iterator[tuple[str, str]]:
    """``twinplan serve --port PORT`` run from ``project``; yields its base and output."""
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen([TWINPLAN, "serve", "--port", str(port)], cwd=project,
                                env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    raise AssertionError(f"server exited: {log.read()[-3000:]}")
                try:
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "server did not become healthy in 60 s"
                time.sleep(0.2)
            log.seek(0)
            yield base, log.read()
        finally:
            stop_process(proc)


def run_worker(project: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TWINPLAN, "worker", "--once", "--no-plan"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_server_on_another_port_and_the_worker_agree_on_links(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    with scratch_database(tmp_path) as url:
        engine = make_engine(url)
        with Session(engine) as session:
            city_id = new_city(session, "Kostroma").id
            session.commit()
        engine.dispose()
        env = newcomer_env(url)

        # Before any server ran here, a worker cannot know: it refuses, and says why.
        refused = run_worker(project, env)
        assert refused.returncode == 2, refused.stderr
        assert refused.stderr.startswith("twinplan worker: TWINPLAN_PUBLIC_BASE_URL is not set")
        assert "twinplan serve" in refused.stderr

        for port in (free_port(), free_port()):  # the second run moves elsewhere
            with serving(project, env, port) as (base, output):
                assert base != "http://127.0.0.1:8000"
                assert (f"twinplan: links point to {base} (where this server listens, "
                        "recorded in .env for the worker)") in output
                city = httpx.get(f"{base}/api/v1/cities/{city_id}").json()
                assert city["feed_url"] == f"{base}/calendars/cities/{city_id}.ics"
                # The worker, started from the same directory with the same (empty)
                # idea of where the server is, builds the same links.
                worker = run_worker(project, env)
                assert worker.returncode == 0, worker.stderr
                assert f"links in reminders point to {base}," in worker.stderr
                assert "handled 0 notification(s)" in worker.stderr
            assert assignments(project / ".env") == [f"TWINPLAN_PUBLIC_BASE_URL={base}"]


def test_the_example_env_and_the_readme_name_every_setting():
    example = (ROOT / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    for field in Settings.model_fields:
        name = f"TWINPLAN_{field.upper()}"
        assert f"# {name}=" in example, name
        assert f"`{name}`" in readme, name
