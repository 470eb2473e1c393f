"""Which events each feed holds: a city's, a twinning's, a private token's.

A ``FeedSpec`` names a feed (its key in ``feed_state``) and makes, only when
needed, its header, the query for its members, and the same rule as a condition
on one event row, which merging the events changed since a last reading asks of
those alone. Who may see which events is ``app.events.policy``'s; what a private
city feed shows is ``app.calendars.policy``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, or_
from sqlmodel import Session, col, select

from app.calendars import policy, render
from app.calendars.models import FeedToken, FeedTokenKind
from app.calendars.programme import ALL_ITEMS, PUBLIC_ITEMS, ItemScope, roles_held
from app.calendars.render import FeedHeader
from app.cities.models import City, Partnership
from app.core import clock
from app.core.actors import Actor
from app.core.errors import Gone, NotFound
from app.core.urls import city_feed_path, feed_url, partnership_feed_path
from app.events.models import Event, EventGuest, EventKind, EventStatus
from app.events.policy import readable_by_city, readable_events
from app.events.service import EventFilters, event_query
from app.participants.models import HOLDING, Participant, Registration

# A cancelled event stays in feeds this long, as STATUS:CANCELLED, so that
# subscribed clients learn of it and remove it; then it drops out.
CANCELLED_KEPT_FOR = timedelta(days=90)


def fetch_rows(session: Session, query: Any) -> list[Any]:
    return list(session.connection().execute(query).all())


@dataclass(frozen=True)
class FeedSpec:
    """One feed: its key in ``feed_state``, and how to make its header and the query
    for its members (made only when needed: most requests need neither)."""

    key: str
    make_header: Callable[[], FeedHeader]
    make_members: Callable[[], Select[Any]]
    # The same rule for one ``event`` row, as a condition: merging the events changed
    # since the last reading asks it of those alone, not of all members.
    make_member_rule: Callable[[], ColumnElement[bool]] | None = None
    # The feed's subject, ("city", id) or ("partnership", id): its cities' feed
    # versions are the feed's stamp, and its existence is asked in the same query
    # as the stamp and the state; ``missing`` is the 404's detail.
    subject: tuple[str, int] | None = None
    missing: str = ""
    private: bool = False
    # Whether its cities' feed versions can vouch for this feed between checks (not
    # for a person's agenda: registrations move no feed version, and an agenda is
    # small enough to check every time).
    stamped: bool = True
    # Which programme items of its events the feed shows (``app.calendars.programme``).
    items: ItemScope = PUBLIC_ITEMS
    # What else the bytes depend on, beyond the members' versions: a person's roles,
    # which decide the items of their agenda. Read at each check.
    make_variant: Callable[[], str] | None = None


def _listed() -> ColumnElement[bool]:
    """Members only: never drafts nor proposals under negotiation; cancelled events
    for 90 days after cancellation."""
    cutoff = clock.now() - CANCELLED_KEPT_FOR
    return and_(
        col(Event.status).not_in([EventStatus.draft, EventStatus.proposed]),
        or_(
            col(Event.status) != EventStatus.cancelled,
            and_(col(Event.cancelled_at).is_not(None), col(Event.cancelled_at) > cutoff),
        ),
    )


def member_state() -> list[Any]:
    """(id, version, cancelled_at if cancelled): what a feed's fingerprint and expiry
    are made of; integers, mostly, so that reading 5,000 of them costs little."""
    cancelled = case((col(Event.status) == EventStatus.cancelled, col(Event.cancelled_at)))
    return [col(Event.id), col(Event.version), cancelled]


def _member_columns(query: Any) -> Select[Any]:
    """The members' state, by id."""
    return (query.with_only_columns(*member_state()).order_by(None)
            .where(_listed()).order_by(col(Event.id)))


def _takes_part(city_id: int) -> ColumnElement[bool]:
    """The city hosts the event or is a guest: ``EventFilters(city_id=...)`` for one row."""
    as_guest = (
        select(EventGuest.event_id)
        .where(col(EventGuest.event_id) == col(Event.id), EventGuest.city_id == city_id)
        .exists()
    )
    return or_(col(Event.host_city_id) == city_id, as_guest)


def _member_rule(
    kinds: Sequence[EventKind], actor: Actor | None, *cities: int
) -> ColumnElement[bool]:
    """Whether one event belongs to the feed of these cities (all of them take part),
    this viewer and these kinds: the feed's query, as a condition on one row."""
    rule = [*map(_takes_part, cities), _listed()]
    visible = readable_events(actor)
    if visible is not None:
        rule.append(visible)
    if kinds:
        rule.append(col(Event.kind).in_([str(k) for k in kinds]))
    return and_(*rule)


def _kinds_key(kinds: Sequence[EventKind]) -> tuple[str, str]:
    """The kinds filter as part of the feed key, and as the query string of its URL."""
    unique = sorted({str(k) for k in kinds})
    if not unique:
        return "", ""
    return ":kinds=" + ",".join(unique), "?" + "&".join(f"kind={k}" for k in unique)


def _kinds_title(kinds: Sequence[EventKind]) -> str:
    # No commas in calendar names: clients read X-WR-CALNAME without unescaping "\,".
    unique = sorted({str(k) for k in kinds})
    return " (" + " / ".join(render.kind_label(k).lower() for k in unique) + ")" if unique else ""


def _city(session: Session, city_id: int) -> Any:
    found = fetch_rows(session, select(City.id, City.name, City.country_code, City.timezone)
                  .where(City.id == city_id))
    if not found:
        raise NotFound(f"city {city_id} does not exist")
    return found[0]


def city_feed(
    session: Session, city_id: int, kinds: Sequence[EventKind] = (), *,
    token: FeedToken | None = None,
) -> FeedSpec:
    """A city's events, as host or guest. Public ones; with a coordinator's token, also
    the partners-only events it takes part in and the private ones it hosts."""
    key_suffix, query_string = _kinds_key(kinds)
    filters = EventFilters(city_id=city_id, kinds=tuple(kinds))
    if token is None:

        def public_header() -> FeedHeader:
            city = _city(session, city_id)
            return FeedHeader(
                name=f"{city.name}: twin city exchanges{_kinds_title(kinds)}",
                description=f"Public exchange events that {city.name} ({city.country_code}) "
                "hosts or takes part in (Twinplan).",
                timezone=city.timezone,
                source_url=feed_url(city_feed_path(city_id)) + query_string,
            )

        return FeedSpec(
            key=f"city:{city_id}{key_suffix}",
            make_header=public_header,
            make_members=lambda: _member_columns(event_query(session, filters, None)),
            make_member_rule=lambda: _member_rule(kinds, None, city_id),
            subject=("city", city_id),
            missing=f"city {city_id} does not exist",
            items=PUBLIC_ITEMS,
        )

    def private_header() -> FeedHeader:
        city = _city(session, city_id)
        return FeedHeader(
            name=f"{city.name}: all exchanges{_kinds_title(kinds)}",
            description=f"Every exchange event of {city.name} ({city.country_code}) "
            "including partners-only and private ones. Do not share this link.",
            timezone=city.timezone,
        )

    reader = policy.feed_token_reader(token)
    return FeedSpec(
        key=f"token:{token.id}{key_suffix}",
        make_header=private_header,
        make_members=lambda: _member_columns(event_query(session, filters, reader)),
        make_member_rule=lambda: _member_rule(kinds, reader, city_id),
        subject=("city", city_id),
        missing=f"city {city_id} does not exist",
        private=True,
        items=ALL_ITEMS,
    )


def partnership_feed(
    session: Session, partnership_id: int, kinds: Sequence[EventKind] = ()
) -> FeedSpec:
    """Public events that both cities of a twinning take part in."""
    key_suffix, query_string = _kinds_key(kinds)
    filters = EventFilters(partnership_id=partnership_id, kinds=tuple(kinds))

    @cache
    def pair() -> tuple[int, int]:
        found = fetch_rows(session, select(Partnership.city_a_id, Partnership.city_b_id)
                      .where(Partnership.id == partnership_id))
        if not found:
            raise NotFound(f"partnership {partnership_id} does not exist")
        return found[0].city_a_id, found[0].city_b_id

    def header() -> FeedHeader:
        a, b = (_city(session, c) for c in pair())
        return FeedHeader(
            name=f"{a.name} – {b.name}: twin city exchanges{_kinds_title(kinds)}",
            description=f"Public exchange events of the twinning of {a.name} "
            f"({a.country_code}) and {b.name} ({b.country_code}) (Twinplan).",
            timezone=a.timezone,
            source_url=feed_url(partnership_feed_path(partnership_id)) + query_string,
        )

    return FeedSpec(
        key=f"partnership:{partnership_id}{key_suffix}",
        make_header=header,
        make_members=lambda: _member_columns(event_query(session, filters, None)),
        make_member_rule=lambda: _member_rule(kinds, None, *pair()),
        subject=("partnership", partnership_id),
        missing=f"partnership {partnership_id} does not exist",
        items=PUBLIC_ITEMS,
    )


def participant_feed(
    session: Session, token: FeedToken, kinds: Sequence[EventKind] = ()
) -> FeedSpec:
    """One person's agenda: the events they hold a place at (confirmed, awaiting
    consent or chaperones, attended) that their home city may see. No name in it:
    the link may travel."""
    participant = session.get(Participant, token.participant_id)
    if participant is None or participant.erased_at is not None:
        raise Gone("this feed's participant was erased")
    home = session.get(City, participant.home_city_id)
    key_suffix, _ = _kinds_key(kinds)
    holding = (
        select(Registration.event_id)
        .where(
            Registration.participant_id == participant.id,
            col(Registration.status).in_([str(s) for s in HOLDING]),
        )
    )
    # What the person's own city may see: an event kept from the city is kept
    # from the link the city hands out too.
    query = select(Event).where(
        col(Event.id).in_(holding), readable_by_city(participant.home_city_id)
    )
    if kinds:
        query = query.where(col(Event.kind).in_([str(k) for k in kinds]))
    header = FeedHeader(
        name=f"My exchange agenda{_kinds_title(kinds)}",
        description="The exchange events you hold a place at (Twinplan). "
        "Do not share this link.",
        timezone=home.timezone if home else None,
    )
    return FeedSpec(
        key=f"token:{token.id}{key_suffix}",
        make_header=lambda: header,
        make_members=lambda: _member_columns(query),
        private=True,
        stamped=False,
        items=ItemScope(participant_id=participant.id),
        make_variant=cache(lambda: roles_held(session, participant.id or 0)),
    )


def token_feed(session: Session, token: FeedToken, kinds: Sequence[EventKind] = ()) -> FeedSpec:
    if token.kind == FeedTokenKind.city:
        assert token.city_id is not None
        return city_feed(session, token.city_id, kinds, token=token)
    return participant_feed(session, token, kinds)
