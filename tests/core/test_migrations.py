"""The migrations build the schema, tear it down and build it again, with no drift."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlmodel import Session

from app.core import migrations
from app.core.db import make_engine
from tests.factories import new_city, new_event, new_participant, new_registration
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


def test_emails_written_before_the_outbox_named_travellers_are_traced_to_them(scratch_url):
    """The migration that gave the outbox its ``participant_id`` finds the person of
    every email already written (by the registration its key names), and blanks and
    withdraws those of a person erased before it ran, as an erasure now does."""
    migrations.upgrade(scratch_url)
    engine = make_engine(scratch_url)
    try:
        with Session(engine) as session:
            host = new_city(session, "Kostroma")
            guest = new_city(session, "Ferrara", "IT", timezone="Europe/Rome")
            event = new_event(session, host, [guest])
            kept = new_participant(session, guest, email="kept@example.it")
            gone = new_participant(session, guest, email="gone@example.it",
                                   full_name="Gone Person")
            for person in (kept, gone):
                new_registration(session, event, person)
            session.commit()
            ids = {"kept": kept.id, "gone": gone.id}
        migrations.downgrade(scratch_url, "-1")  # as before: no participant_id
        with engine.begin() as conn:
            conn.execute(text("UPDATE participant SET erased_at = updated_at WHERE id = :id"),
                         {"id": ids["gone"]})
        migrations.upgrade(scratch_url)
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT participant_id, recipient, payload, status, key FROM notification "
                "WHERE channel = 'email'")).all()
    finally:
        engine.dispose()
    by_person = {pid: (recipient, status, key, str(payload))
                 for pid, recipient, payload, status, key in rows}
    assert set(by_person) == set(ids.values())
    recipient, status, key, payload = by_person[ids["gone"]]
    assert (recipient, status) == ("(erased)", "withdrawn")
    assert "gone@" not in key + payload and "Gone Person" not in payload
    recipient, status, _, payload = by_person[ids["kept"]]
    assert (recipient, status) == ("kept@example.it", "pending") and "kept@" in payload
