"""The migrations build the schema, tear it down and build it again, with no drift."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from app.core import migrations
from tests.conftest import IS_POSTGRES, TEST_DATABASE_URL


@pytest.fixture
def scratch_url(tmp_path) -> Iterator[str]:
    """An empty database of the same kind as the suite's."""
    if not IS_POSTGRES:
        yield f"sqlite:///{tmp_path}/migrations.db"
        return
    name = f"twinplan_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(TEST_DATABASE_URL).set(database=name).render_as_string(
            hide_password=False
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade_and_no_drift(scratch_url):
    migrations.upgrade(scratch_url)
    built = _tables(scratch_url)
    assert {"city", "partnership", "partnership_status_change", "api_key"} <= built
    migrations.check(scratch_url)

    migrations.downgrade(scratch_url, "base")
    assert _tables(scratch_url) == set()

    migrations.upgrade(scratch_url)
    assert _tables(scratch_url) == built
    migrations.check(scratch_url)
