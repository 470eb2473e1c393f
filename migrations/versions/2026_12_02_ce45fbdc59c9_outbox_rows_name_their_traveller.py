"""The outbox names the traveller an email is written to (or to whose guardian), so
that erasing the person withdraws and blanks it. Emails already written name
their registration in their keys: those are traced to the person, and the
emails of people already erased are blanked as an erasure now blanks them.

Revision ID: ce45fbdc59c9
Revises: c69f6476980e
Create Date: 2026-12-02 07:01:31.067033
"""

from collections.abc import Sequence

import re

import sqlalchemy as sa
from alembic import op

revision: str = 'ce45fbdc59c9'
down_revision: str | Sequence[str] | None = 'c69f6476980e'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('participant_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_notification_participant_id'), ['participant_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_notification_participant_id_participant'), 'participant', ['participant_id'], ['id'], ondelete='SET NULL')
    _trace_and_blank(op.get_bind())


# "registration.changed:17:confirmed:...:email:a@b" and "...:registration:17:email:a@b".
_REGISTRATION = re.compile(r"^registration\.changed:(\d+):|:registration:(\d+):email:")


def _trace_and_blank(conn: sa.Connection) -> None:
    meta = sa.MetaData()
    notification = sa.Table("notification", meta, autoload_with=conn)
    registration = sa.Table("registration", meta, autoload_with=conn)
    participant = sa.Table("participant", meta, autoload_with=conn)
    attempt = sa.Table("notification_attempt", meta, autoload_with=conn)
    owner = dict(conn.execute(sa.select(registration.c.id, registration.c.participant_id)).all())
    rows = conn.execute(sa.select(notification.c.id, notification.c.key)
                        .where(notification.c.channel == "email")).all()
    for row_id, key in rows:
        found = _REGISTRATION.search(key)
        person = owner.get(int(found.group(1) or found.group(2))) if found else None
        if person is not None:
            conn.execute(sa.update(notification).where(notification.c.id == row_id)
                         .values(participant_id=person))
    erased = sa.select(participant.c.id).where(participant.c.erased_at.is_not(None))
    theirs = notification.c.participant_id.in_(erased)
    conn.execute(sa.update(notification).where(theirs).values(
        recipient="(erased)", payload={}, last_error=None,
        key=sa.literal("erased:", sa.String) + notification.c.message_id))
    conn.execute(sa.update(notification)
                 .where(theirs, notification.c.status.in_(["pending", "sending"]))
                 .values(status="withdrawn", claim_token=None, claimed_by=None,
                         last_error="its addressee was erased"))
    conn.execute(sa.update(attempt).where(attempt.c.notification_id.in_(
        sa.select(notification.c.id).where(theirs))).values(detail=None))


def downgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_notification_participant_id_participant'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_notification_participant_id'))
        batch_op.drop_column('participant_id')
