"""The change log (GET /api/v1/changes): one row per change, and who may see it.

change_log.txid is the writing transaction's id on PostgreSQL (0 on SQLite).

Revision ID: f5d46cdea0ec
Revises: 886955a4276c
Create Date: 2026-11-30 23:19:43.447279
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import app.core.db

revision: str = 'f5d46cdea0ec'
down_revision: str | Sequence[str] | None = '886955a4276c'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('change_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('txid', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=False),
    sa.Column('changed', sa.JSON(), nullable=False),
    sa.Column('recorded_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_log'))
    )
    with op.batch_alter_table('change_log', schema=None) as batch_op:
        batch_op.create_index('ix_change_log_txid_id', ['txid', 'id'], unique=False)

    op.create_table('change_audience',
    sa.Column('change_id', sa.Integer(), nullable=False),
    sa.Column('city_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['change_id'], ['change_log.id'], name=op.f('fk_change_audience_change_id_change_log'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('change_id', 'city_id', name=op.f('pk_change_audience'))
    )
    with op.batch_alter_table('change_audience', schema=None) as batch_op:
        batch_op.create_index('ix_change_audience_city_id_change_id', ['city_id', 'change_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('change_audience', schema=None) as batch_op:
        batch_op.drop_index('ix_change_audience_city_id_change_id')

    op.drop_table('change_audience')
    with op.batch_alter_table('change_log', schema=None) as batch_op:
        batch_op.drop_index('ix_change_log_txid_id')

    op.drop_table('change_log')
