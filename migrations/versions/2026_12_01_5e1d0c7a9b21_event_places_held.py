"""An event's count of the places its registrations hold, kept as they move.

Registering checks capacity against it (one row) instead of counting the event's
registrations (a row per person). Filled here from the registrations as they are.
Added in place (ADD COLUMN on both databases, the check inline): no table is rebuilt.

Revision ID: 5e1d0c7a9b21
Revises: 7b3e51c0a9d4
Create Date: 2026-12-01 18:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '5e1d0c7a9b21'
down_revision: str | Sequence[str] | None = '7b3e51c0a9d4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# app.participants.models.HOLDING, as it stands at this revision.
HOLDING = ('confirmed', 'pending_consent', 'awaiting_chaperone', 'attended', 'no_show')


def upgrade() -> None:
    op.add_column('event', sa.Column(
        'places_held', sa.Integer(),
        sa.CheckConstraint('places_held >= 0', name=op.f('ck_event_places_held_not_negative')),
        server_default='0', nullable=False))
    held = ", ".join(f"'{s}'" for s in HOLDING)
    op.execute(
        "UPDATE event SET places_held = (SELECT count(*) FROM registration"
        f" WHERE registration.event_id = event.id AND registration.status IN ({held}))")


def downgrade() -> None:
    with op.batch_alter_table('event') as batch_op:
        batch_op.drop_constraint(op.f('ck_event_places_held_not_negative'), type_='check')
        batch_op.drop_column('places_held')
