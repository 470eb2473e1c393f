"""Documents: a city's letterhead (one row per city, office data printed on its
papers) and a participant's passport number, expiry and nationality (personal data).

Revision ID: d371eaf881ec
Revises: 6b63eebe770b
Create Date: 2026-12-01 10:01:11.628832
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import app.core.db

revision: str = 'd371eaf881ec'
down_revision: str | Sequence[str] | None = '6b63eebe770b'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('city_letterhead',
    sa.Column('city_id', sa.Integer(), nullable=False),
    sa.Column('office_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('address_lines', sa.JSON(), nullable=False),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('website', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('signatory_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('signatory_title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('updated_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['city_id'], ['city.id'], name=op.f('fk_city_letterhead_city_id_city'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('city_id', name=op.f('pk_city_letterhead'))
    )
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('passport_number', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.add_column(sa.Column('passport_expiry', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('nationality', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.drop_column('nationality')
        batch_op.drop_column('passport_expiry')
        batch_op.drop_column('passport_number')

    op.drop_table('city_letterhead')
