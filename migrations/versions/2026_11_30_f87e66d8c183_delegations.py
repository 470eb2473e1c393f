"""Delegation uploads: participant.external_id (unique per home city) and
registration.is_leader.

Revision ID: f87e66d8c183
Revises: f5d46cdea0ec
Create Date: 2026-11-30 23:55:21.934963
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import app.core.db

revision: str = 'f87e66d8c183'
down_revision: str | Sequence[str] | None = 'f5d46cdea0ec'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
        batch_op.create_unique_constraint('uq_participant_city_external_id', ['home_city_id', 'external_id'])

    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_leader', sa.Boolean(), server_default='0', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.drop_column('is_leader')

    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.drop_constraint('uq_participant_city_external_id', type_='unique')
        batch_op.drop_column('external_id')

