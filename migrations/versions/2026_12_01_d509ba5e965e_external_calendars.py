"""External calendars: a city's partner iCal URLs that the worker mirrors
(app.mirrors), and on event the calendar and source UID of a mirrored event
(unique together; the events go with their calendar).

Revision ID: d509ba5e965e
Revises: 1f40eac408c5
Create Date: 2026-12-01 04:16:03.511634
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import app.core.db

revision: str = 'd509ba5e965e'
down_revision: str | Sequence[str] | None = '1f40eac408c5'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('external_calendar',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('visibility', sa.String(length=20), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('city_id', sa.Integer(), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('etag', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('last_modified', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('event_count', sa.Integer(), nullable=False),
    sa.Column('next_poll_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_polled_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_changed_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['city_id'], ['city.id'], name=op.f('fk_external_calendar_city_id_city'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_external_calendar'))
    )
    with op.batch_alter_table('external_calendar', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_external_calendar_city_id'), ['city_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_external_calendar_next_poll_at'), ['next_poll_at'], unique=False)

    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_calendar_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('external_uid', sqlmodel.sql.sqltypes.AutoString(length=600), nullable=True))
        batch_op.create_index('uq_event_external_calendar_id_external_uid', ['external_calendar_id', 'external_uid'], unique=True)
        batch_op.create_foreign_key(batch_op.f('fk_event_external_calendar_id_external_calendar'), 'external_calendar', ['external_calendar_id'], ['id'], ondelete='CASCADE')



def downgrade() -> None:
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_event_external_calendar_id_external_calendar'), type_='foreignkey')
        batch_op.drop_index('uq_event_external_calendar_id_external_uid')
        batch_op.drop_column('external_uid')
        batch_op.drop_column('external_calendar_id')

    with op.batch_alter_table('external_calendar', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_external_calendar_next_poll_at'))
        batch_op.drop_index(batch_op.f('ix_external_calendar_city_id'))

    op.drop_table('external_calendar')
