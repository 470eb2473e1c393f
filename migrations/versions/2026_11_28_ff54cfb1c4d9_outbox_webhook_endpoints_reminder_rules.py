"""outbox, webhook endpoints, reminder rules

notification (the outbox, unique key, leased by the worker), notification_attempt
(each delivery attempt and its outcome), webhook_endpoint (per city, with the
signing secret and the previous one during a rotation), reminder_rule (a city's
reminder leads, hour and coordinator addresses).

Revision ID: ff54cfb1c4d9
Revises: 20f8f53d3929
Create Date: 2026-11-28 15:04:06.680225
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import app.core.db

revision: str = 'ff54cfb1c4d9'
down_revision: str | Sequence[str] | None = '20f8f53d3929'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('topic', sa.String(length=40), nullable=False),
    sa.Column('recipient', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('city_id', sa.Integer(), nullable=True),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('due_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('available_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claim_token', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('claimed_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('delivered_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['city_id'], ['city.id'], name=op.f('fk_notification_city_id_city'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['parent_id'], ['notification.id'], name=op.f('fk_notification_parent_id_notification'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification')),
    sa.UniqueConstraint('key', name=op.f('uq_notification_key')),
    sa.UniqueConstraint('message_id', name=op.f('uq_notification_message_id'))
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_city_id_status', ['city_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index('ix_notification_status_available_at', ['status', 'available_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_subject'), ['subject'], unique=False)

    op.create_table('reminder_rule',
    sa.Column('city_id', sa.Integer(), nullable=False),
    sa.Column('coordinator_emails', sa.JSON(), nullable=False),
    sa.Column('hour', sa.Integer(), nullable=True),
    sa.Column('wtcd_days_before', sa.JSON(), nullable=False),
    sa.Column('event_days_before', sa.JSON(), nullable=False),
    sa.Column('anniversary_days_before', sa.JSON(), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['city_id'], ['city.id'], name=op.f('fk_reminder_rule_city_id_city'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('city_id', name=op.f('pk_reminder_rule'))
    )
    op.create_table('webhook_endpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('city_id', sa.Integer(), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('event_types', sa.JSON(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('disabled_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('disabled_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('secret', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('previous_secret', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('previous_secret_expires_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['city_id'], ['city.id'], name=op.f('fk_webhook_endpoint_city_id_city'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoint'))
    )
    with op.batch_alter_table('webhook_endpoint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_endpoint_city_id'), ['city_id'], unique=False)

    op.create_table('notification_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notification_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('worker', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('started_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('response_status', sa.Integer(), nullable=True),
    sa.Column('detail', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.ForeignKeyConstraint(['notification_id'], ['notification.id'], name=op.f('fk_notification_attempt_notification_id_notification'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_attempt'))
    )
    with op.batch_alter_table('notification_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_attempt_notification_id'), ['notification_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('notification_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_attempt_notification_id'))

    op.drop_table('notification_attempt')
    with op.batch_alter_table('webhook_endpoint', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_endpoint_city_id'))

    op.drop_table('webhook_endpoint')
    op.drop_table('reminder_rule')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_subject'))
        batch_op.drop_index('ix_notification_status_available_at')
        batch_op.drop_index(batch_op.f('ix_notification_parent_id'))
        batch_op.drop_index('ix_notification_city_id_status')

    op.drop_table('notification')
