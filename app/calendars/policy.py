"""Who may manage private feed tokens, and what a private feed shows: every rule
about it, in one place.

Services call these and raise; routers check nothing. ``readable_feed_tokens``
is the SQL form of ``can_manage_feed_token``, so a list never loads a token its
caller may not see. Which events a reader may see is ``app.events.policy``'s.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_
from sqlmodel import Session, col, select

from app.calendars.models import FeedToken, FeedTokenKind
from app.core.actors import Actor, Role
from app.participants.models import Participant


def _speaks_for(actor: Actor, city_id: int) -> bool:
    """Admin, or the coordinator or partner system of this city."""
    return actor.is_admin or actor.speaks_for(city_id)


def can_manage_feed_token(session: Session, actor: Actor, token: FeedToken) -> bool:
    """Who may issue, see and revoke a token: the city's coordinator (city feeds),
    the person's home city (a person's agenda), or an admin."""
    if token.kind == FeedTokenKind.city:
        assert token.city_id is not None
        return actor.is_admin or actor.is_coordinator_of(token.city_id)
    participant = session.get(Participant, token.participant_id)
    return participant is not None and _speaks_for(actor, participant.home_city_id)


def readable_feed_tokens(actor: Actor) -> ColumnElement[bool] | None:
    """The SQL form of ``can_manage_feed_token``: all (admin), else its city's and its
    city's people's. None means no restriction."""
    if actor.is_admin:
        return None
    own = actor.city_id
    people = select(Participant.id).where(Participant.home_city_id == own)
    mine: list[ColumnElement[bool]] = [col(FeedToken.participant_id).in_(people)]
    if actor.role is Role.coordinator:
        mine.append(col(FeedToken.city_id) == own)
    return or_(*mine)


def feed_token_reader(token: FeedToken) -> Actor:
    """Whom a private city feed reads events as: it shows what the city's
    coordinators, who issue such tokens, may see (the partners-only events the city
    takes part in, the private ones it hosts). No key: nobody is calling."""
    assert token.kind == FeedTokenKind.city and token.city_id is not None
    return Actor(role=Role.coordinator, city_id=token.city_id)
