"""Rate limit counters: one row per bucket (an API key, a person, a client address)
and fixed window, charged with one upsert (app.core.ratelimit). Finished windows
are deleted by the worker through the index on window_start.

Revision ID: ce458cba37c2
Revises: 181244e4c95e
Create Date: 2026-12-01 04:15:09.510002
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import app.core.db

revision: str = 'ce458cba37c2'
down_revision: str | Sequence[str] | None = '181244e4c95e'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('rate_limit_counter',
    sa.Column('bucket', sa.String(length=80), nullable=False),
    sa.Column('window_start', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('bucket', 'window_start', name=op.f('pk_rate_limit_counter'))
    )
    with op.batch_alter_table('rate_limit_counter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rate_limit_counter_window_start'), ['window_start'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('rate_limit_counter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rate_limit_counter_window_start'))

    op.drop_table('rate_limit_counter')
