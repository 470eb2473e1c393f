"""The key commands of the README, each in a process of its own as a newcomer runs
them (a process that loads one domain's models alone once failed here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# The installed entry point, as the README runs it.
TWINPLAN = [str(Path(sys.executable).with_name("twinplan"))]


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TWINPLAN, *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def test_create_list_and_revoke_a_key_from_the_command_line(tmp_path: Path) -> None:
    env = os.environ | {"TWINPLAN_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db",
                        "TWINPLAN_PUBLIC_BASE_URL": "https://twinplan.test"}
    assert run("migrate", env=env).returncode == 0
    created = run("create-api-key", "--role", "admin", "--name", "Kostroma city hall", env=env)
    assert created.returncode == 0, created.stderr
    assert len(created.stdout.strip()) >= 20  # the secret, alone on stdout
    listed = run("list-api-keys", env=env)
    assert listed.returncode == 0 and "Kostroma city hall" in listed.stdout
    key_id = listed.stdout.split("\t", 1)[0]
    revoked = run("revoke-api-key", key_id, env=env)
    assert revoked.returncode == 0, revoked.stderr
    assert "revoked" in run("list-api-keys", env=env).stdout
    unknown = run("create-api-key", "--role", "coordinator", "--name", "x", "--city", "999",
                  env=env)
    assert unknown.returncode == 1 and "999" in unknown.stderr


def test_the_first_admin_is_created_from_the_command_line_and_signs_in(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    env = os.environ | {"TWINPLAN_DATABASE_URL": url,
                        "TWINPLAN_PUBLIC_BASE_URL": "https://twinplan.test"}
    assert run("migrate", env=env).returncode == 0
    made = subprocess.run([*TWINPLAN, "create-user", "root@city.example", "--name", "Root",
                           "--admin", "--password-stdin"], input="a long enough secret\n",
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert made.returncode == 0, made.stderr
    assert "admin" in made.stdout
    short = subprocess.run([*TWINPLAN, "create-user", "x@city.example", "--name", "X",
                            "--admin", "--password-stdin"], input="short\n", env=env,
                           capture_output=True, text=True, timeout=120, check=False)
    assert short.returncode == 2 and "10 characters" in short.stderr

    # Signing in, in a process of its own on that database, as the service would.
    sign_in = """
from fastapi.testclient import TestClient
from app.main import create_app
with TestClient(create_app()) as client:
    r = client.post("/api/v1/session",
                    json={"email": "ROOT@city.example", "password": "a long enough secret"})
    print(r.status_code, r.json()["acting_as"]["role"])
"""
    signed = subprocess.run([sys.executable, "-c", sign_in], env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    assert signed.stdout.split() == ["200", "admin"], signed.stderr
