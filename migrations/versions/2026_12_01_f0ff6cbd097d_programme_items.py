"""Programme items: an event's day-by-day programme (app.programme), with the
people named for an item in programme_item_person.

Revision ID: f0ff6cbd097d
Revises: d371eaf881ec
Create Date: 2026-12-01 10:01:12.829296
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import app.core.db

revision: str = 'f0ff6cbd097d'
down_revision: str | Sequence[str] | None = 'd371eaf881ec'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('programme_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('notes', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True),
    sa.Column('place', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('starts_at_local', sa.DateTime(), nullable=False),
    sa.Column('ends_at_local', sa.DateTime(), nullable=False),
    sa.Column('starts_at_utc', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at_utc', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('audience', sa.String(length=20), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=True),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(audience = 'role') = (role IS NOT NULL)", name=op.f('ck_programme_item_role_iff_audience')),
    sa.CheckConstraint('ends_at_utc > starts_at_utc', name=op.f('ck_programme_item_ends_after_start')),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_programme_item_event_id_event'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programme_item'))
    )
    with op.batch_alter_table('programme_item', schema=None) as batch_op:
        batch_op.create_index('ix_programme_item_event_id_starts_at_utc', ['event_id', 'starts_at_utc'], unique=False)

    op.create_table('programme_item_person',
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['programme_item.id'], name=op.f('fk_programme_item_person_item_id_programme_item'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], name=op.f('fk_programme_item_person_participant_id_participant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id', 'participant_id', name=op.f('pk_programme_item_person'))
    )
    with op.batch_alter_table('programme_item_person', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_programme_item_person_participant_id'), ['participant_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('programme_item_person', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_programme_item_person_participant_id'))

    op.drop_table('programme_item_person')
    with op.batch_alter_table('programme_item', schema=None) as batch_op:
        batch_op.drop_index('ix_programme_item_event_id_starts_at_utc')

    op.drop_table('programme_item')
