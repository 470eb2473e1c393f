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
