"""Alembic environment: Twinplan's models, its settings' URL, batch mode for SQLite
(run with SQLite's foreign keys off, see ``_sqlite_foreign_keys_off``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers every table on SQLModel.metadata)
from app.core.db import make_engine
from app.core.settings import get_settings

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = SQLModel.metadata


def _url() -> str:
    return (
        context.get_x_argument(as_dictionary=True).get("url")
        or config.attributes.get("url")
        or get_settings().database_url
    )


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=True,
    )


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        compare_type=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


@contextmanager
def _sqlite_foreign_keys_off(connection: Connection) -> Iterator[None]:
    """Run the migrations with SQLite's foreign keys off, then check them (Alembic's
    batch.rst, "Dealing with Referencing Foreign Keys").

    A batch operation that recreates a table drops the old one, and with foreign
    keys on, SQLite's DROP TABLE first deletes every row: ON DELETE CASCADE empties
    the child tables (an event's guests and registrations), RESTRICT fails. The
    pragma is a no-op inside a transaction, so it goes to the driver's connection
    before Alembic begins one; ``app.core.db`` turns the keys on again only for
    new connections, so they are turned back on here. PostgreSQL is left alone.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    if connection.in_transaction():
        raise RuntimeError("migrate SQLite on a connection with no transaction open: "
                           "foreign keys can only be turned off outside one")
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute("PRAGMA foreign_keys = OFF")
    try:
        if driver.execute("PRAGMA foreign_keys").fetchone()[0]:
            raise RuntimeError("SQLite's foreign keys stayed on: migrating could delete "
                               "the rows of child tables")
        yield
        if connection.in_transaction():
            connection.rollback()  # Alembic committed each revision; only reads are left
        broken = driver.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(
                "the migrations left rows whose foreign keys point nowhere "
                f"(table, rowid, parent table, key): {broken[:20]}")
    finally:
        if connection.in_transaction():
            connection.rollback()
        driver.execute("PRAGMA foreign_keys = ON")


def _migrate(connection: Connection) -> None:
    with _sqlite_foreign_keys_off(connection):
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = make_engine(_url())
    with engine.connect() as conn:
        _migrate(conn)
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
