"""Who recorded a guardian's consent (registration.consent_recorded_by).

The new status awaiting_chaperone needs no change: statuses are strings.

Revision ID: 766cf46596b1
Revises: f6ab4769bf2d
Create Date: 2026-11-30 15:40:37.155946
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = '766cf46596b1'
down_revision: str | Sequence[str] | None = 'f6ab4769bf2d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent_recorded_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.drop_column('consent_recorded_by')

