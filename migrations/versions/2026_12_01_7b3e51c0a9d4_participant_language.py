"""The language of the messages a participant (and a minor's guardian) is sent.

Revision ID: 7b3e51c0a9d4
Revises: 3bd72e1a708a
Create Date: 2026-12-01 10:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '7b3e51c0a9d4'
down_revision: str | Sequence[str] | None = '3bd72e1a708a'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('participant') as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), server_default='en',
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('participant') as batch_op:
        batch_op.drop_column('language')
