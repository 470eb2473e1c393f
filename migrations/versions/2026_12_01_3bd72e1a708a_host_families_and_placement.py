"""Host families of a city, guests' needs at an event, and the placement of guests
with families (app.hosting): one placement per event, one assignment per guest.

Revision ID: 3bd72e1a708a
Revises: f0ff6cbd097d
Create Date: 2026-12-01 10:07:45.540356
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import app.core.db

revision: str = '3bd72e1a708a'
down_revision: str | Sequence[str] | None = 'f0ff6cbd097d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('host_family',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('city_id', sa.Integer(), nullable=False),
    sa.Column('household_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('places', sa.Integer(), nullable=False),
    sa.Column('pets', sa.Boolean(), nullable=False),
    sa.Column('smoking', sa.Boolean(), nullable=False),
    sa.Column('diets', sa.JSON(), nullable=False),
    sa.Column('notes', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('places >= 1', name=op.f('ck_host_family_places_positive')),
    sa.ForeignKeyConstraint(['city_id'], ['city.id'], name=op.f('fk_host_family_city_id_city'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_host_family'))
    )
    with op.batch_alter_table('host_family', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_host_family_city_id'), ['city_id'], unique=False)

    op.create_table('guest_needs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('allergies', sa.JSON(), nullable=False),
    sa.Column('diets', sa.JSON(), nullable=False),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('prefers_with_id', sa.Integer(), nullable=True),
    sa.Column('sibling_of_id', sa.Integer(), nullable=True),
    sa.Column('medical_notes', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True),
    sa.Column('updated_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_guest_needs_event_id_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], name=op.f('fk_guest_needs_participant_id_participant'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['prefers_with_id'], ['participant.id'], name=op.f('fk_guest_needs_prefers_with_id_participant'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sibling_of_id'], ['participant.id'], name=op.f('fk_guest_needs_sibling_of_id_participant'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guest_needs')),
    sa.UniqueConstraint('event_id', 'participant_id', name='uq_guest_needs_event_participant')
    )
    with op.batch_alter_table('guest_needs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_guest_needs_participant_id'), ['participant_id'], unique=False)

    op.create_table('placement',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('min_minors_per_family', sa.Integer(), nullable=False),
    sa.Column('include_adults', sa.Boolean(), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('confirmed_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.CheckConstraint('min_minors_per_family IN (1, 2)', name=op.f('ck_placement_min_minors_one_or_two')),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_placement_event_id_event'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_placement'))
    )
    op.create_table('placement_assignment',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('family_id', sa.Integer(), nullable=False),
    sa.Column('pinned', sa.Boolean(), nullable=False),
    sa.Column('updated_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['placement.event_id'], name=op.f('fk_placement_assignment_event_id_placement'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['family_id'], ['host_family.id'], name=op.f('fk_placement_assignment_family_id_host_family'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], name=op.f('fk_placement_assignment_participant_id_participant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('event_id', 'participant_id', name=op.f('pk_placement_assignment'))
    )
    with op.batch_alter_table('placement_assignment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_placement_assignment_family_id'), ['family_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('placement_assignment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_placement_assignment_family_id'))

    op.drop_table('placement_assignment')
    op.drop_table('placement')
    with op.batch_alter_table('guest_needs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_guest_needs_participant_id'))

    op.drop_table('guest_needs')
    with op.batch_alter_table('host_family', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_host_family_city_id'))

    op.drop_table('host_family')
