"""The data audit (GET /api/v1/audit): one row per written row, and the cities
whose coordinators may read it.

Revision ID: a4d17e3c9b52
Revises: d509ba5e965e
Create Date: 2026-12-01 04:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import app.core.db

revision: str = 'a4d17e3c9b52'
down_revision: str | Sequence[str] | None = 'd509ba5e965e'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('actor_key_id', sa.Integer(), nullable=True),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('client_address', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('entity_type', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('entity_id', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entry'))
    )
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.create_index('ix_audit_entry_actor_key_id', ['actor_key_id'], unique=False)
        batch_op.create_index('ix_audit_entry_actor_user_id', ['actor_user_id'], unique=False)
        batch_op.create_index('ix_audit_entry_at', ['at'], unique=False)
        batch_op.create_index('ix_audit_entry_entity_type_entity_id_id',
                              ['entity_type', 'entity_id', 'id'], unique=False)

    op.create_table('audit_entry_city',
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('city_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['audit_entry.id'], name=op.f('fk_audit_entry_city_entry_id_audit_entry'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('entry_id', 'city_id', name=op.f('pk_audit_entry_city'))
    )
    with op.batch_alter_table('audit_entry_city', schema=None) as batch_op:
        batch_op.create_index('ix_audit_entry_city_city_id_entry_id', ['city_id', 'entry_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_entry_city', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_entry_city_city_id_entry_id')

    op.drop_table('audit_entry_city')
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_entry_entity_type_entity_id_id')
        batch_op.drop_index('ix_audit_entry_at')
        batch_op.drop_index('ix_audit_entry_actor_user_id')
        batch_op.drop_index('ix_audit_entry_actor_key_id')

    op.drop_table('audit_entry')
