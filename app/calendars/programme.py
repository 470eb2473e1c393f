"""Which programme items (``app.programme``) a feed shows beside its events.

A city's private feed shows every item of its events; a person's agenda, the
items that concern the person (for everyone, for their role at the event, or
naming them); a public feed, the items marked public of public events. An
item's change bumps its event's version, so the feeds' fingerprints and stamps
see it as they see an edit of the event (``app.calendars.state``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import Session, col, select

from app.calendars.render import ItemRecord
from app.events.models import Event, Visibility
from app.participants.models import HOLDING, Registration
from app.programme.models import Audience, ProgrammeItem, ProgrammeItemPerson


@dataclass(frozen=True)
class ItemScope:
    """Which items of its events a feed shows: all, the public ones, or one person's."""

    public_only: bool = False
    participant_id: int | None = None


ALL_ITEMS = ItemScope()
PUBLIC_ITEMS = ItemScope(public_only=True)


def _holding(participant_id: int) -> ColumnElement[bool]:
    return and_(col(Registration.participant_id) == participant_id,
                col(Registration.status).in_([str(s) for s in HOLDING]))


def _concerns(participant_id: int) -> ColumnElement[bool]:
    """The item is for everyone, for the person's role at its event, or names them."""
    roles = select(Registration.role).where(
        col(Registration.event_id) == col(ProgrammeItem.event_id), _holding(participant_id))
    named = select(ProgrammeItemPerson.item_id).where(
        col(ProgrammeItemPerson.item_id) == col(ProgrammeItem.id),
        ProgrammeItemPerson.participant_id == participant_id,
    ).exists()
    return or_(
        col(ProgrammeItem.audience) == Audience.everyone,
        and_(col(ProgrammeItem.audience) == Audience.role, col(ProgrammeItem.role).in_(roles)),
        and_(col(ProgrammeItem.audience) == Audience.people, named),
    )


def _condition(scope: ItemScope) -> ColumnElement[bool] | None:
    if scope.public_only:
        return and_(col(ProgrammeItem.public).is_(True),
                    col(Event.visibility) == Visibility.public)
    if scope.participant_id is not None:
        return _concerns(scope.participant_id)
    return None


def item_records(session: Session, scope: ItemScope, event_ids: Sequence[int]) -> list[ItemRecord]:
    """The items of these events that the scope shows, by event, start and id."""
    query = (
        select(ProgrammeItem, Event)
        .join(Event, col(Event.id) == ProgrammeItem.event_id)
        .where(col(ProgrammeItem.event_id).in_(list(event_ids)))
        .order_by(col(ProgrammeItem.event_id), col(ProgrammeItem.starts_at_utc),
                  col(ProgrammeItem.id))
    )
    condition = _condition(scope)
    if condition is not None:
        query = query.where(condition)
    return [
        ItemRecord(
            item.id or 0, item.event_id, item.title, item.notes, item.place, event.timezone,
            item.starts_at_local, item.ends_at_local, item.starts_at_utc, item.ends_at_utc,
            item.public, item.sequence, item.created_at, item.updated_at, event.title,
            event.status, event.visibility == Visibility.public,
        )
        for item, event in session.exec(query).all()
    ]


def roles_held(session: Session, participant_id: int) -> str:
    """The person's roles at the events they hold a place at, as text: a person's agenda
    shows the items of their role, so a new role is a new agenda."""
    rows = session.exec(select(Registration.event_id, Registration.role)
                        .where(_holding(participant_id))
                        .order_by(col(Registration.event_id), col(Registration.role))).all()
    return ";".join(f"{event_id}:{role}" for event_id, role in rows)
