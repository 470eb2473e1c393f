"""A counter per city of the changes its feeds show (app.calendars.versions).

Feeds compare their cities' counters instead of the newest updated_at of all
events and cities, which moved with every write anywhere. Empty at first: every
feed's stored stamp differs from the new ones, so each is checked once, by
reading its members, and then trusts the counters.

Revision ID: c69f6476980e
Revises: 5e1d0c7a9b21
Create Date: 2026-12-01 20:15:01.046268
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'c69f6476980e'
down_revision: str | Sequence[str] | None = '5e1d0c7a9b21'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'feed_version',
        sa.Column('city_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('city_id', name=op.f('pk_feed_version')),
    )


def downgrade() -> None:
    op.drop_table('feed_version')
