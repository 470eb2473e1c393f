"""The migrations build the schema, tear it down and build it again, with no drift."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, inspect

from app.core import migrations
from tests.servers import scratch_database


@pytest.fixture
def scratch_url(tmp_path) -> Iterator[str]:
    """An empty database of the same kind as the suite's."""
    with scratch_database(tmp_path, migrate=False) as url:
        yield url


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
