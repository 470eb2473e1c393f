"""The health of twinnings: when the two cities last met and next meet, who hosted,
how long a twinning has slept, its next round anniversary, and what to do about it.

The rules, stated once (the endpoints' descriptions repeat them):

* An **exchange** of two cities is an event both take part in, as host or guest
  (two guests of a third city's event count too), that is not cancelled. Drafts
  count: a draft in the diary is a plan being made.
* The **last** exchange is the one that ended most recently, before now; the
  **next** is the soonest that is running or has not started yet.
* **Hosted in the last five years**: exchanges that started in the five years up
  to now, counted for each of the two cities by who hosted them (an event hosted
  by a third city counts in the total only).
* A twinning is **dormant** when it is active or suspended and the two cities have
  not met for ``dormant_years`` years (``TWINPLAN_DORMANT_YEARS``): the last
  exchange ended that long ago or more, or, if they never met, the twinning was
  established that long ago or more, or its date is unknown. Proposed,
  negotiating and ended twinnings are never dormant.
* A **round anniversary** is 5, 10, 15, 20 or 25 years, then every 10 years, and
  every 25 (30, 40, 50, 60, 70, 75, 80, 90, 100, 110, 120, 125...), counted from
  ``established_on`` with its precision: a date known to the year has its
  anniversaries in a year, one known to the day on a day (29 February on the
  28th in other years).
* What the caller sees decides everything: only events the caller may read
  (``app.events.policy.readable_events``) are exchanges, so an anonymous caller's
  view is built from public events alone, and nothing private leaks through a
  count or a date.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field
from sqlalchemy import ColumnElement, and_, func, or_, union_all
from sqlalchemy import select as columns
from sqlalchemy.orm import aliased
from sqlmodel import Session, SQLModel, col, select

from app.cities.models import City, Partnership, PartnershipStatus
from app.cities.service import fold, get_city, partnership_query
from app.core import clock
from app.core.actors import Actor
from app.core.errors import Forbidden
from app.core.pagination import Page, PageParams
from app.core.settings import get_settings
from app.events.models import Event, EventGuest, EventStatus
from app.events.policy import readable_events
from app.twin_cities_day import next_twin_cities_day
from app.twins import policy
from app.twins.models import CityRef

RECENT_YEARS = 5
# An anniversary this close (or closer) is worth preparing now.
CELEBRATION_NOTICE = timedelta(days=366)
# Twinnings that can be dormant: the others are not (yet, or any more) a living twinning.
LIVING = (PartnershipStatus.active, PartnershipStatus.suspended)
# How a city's twinnings are listed: the living first, ended last.
STATUS_ORDER = {
    PartnershipStatus.active: 0,
    PartnershipStatus.suspended: 1,
    PartnershipStatus.negotiating: 2,
    PartnershipStatus.proposed: 3,
    PartnershipStatus.ended: 4,
}


# Who may see what ----------------------------------------------------------------


# API shapes -----------------------------------------------------------------------


class ExchangeRef(SQLModel):
    """An exchange of the two cities: an event both take part in."""

    id: int = Field(description="The event's id (`GET /api/v1/events/{id}`).")
    title: str
    status: EventStatus = Field(description="Never `cancelled`: cancelled events are ignored.")
    starts_at: datetime = Field(description="Local time in the event's zone, with its offset.")
    ends_at: datetime = Field(description="Local time in the event's zone, with its offset.")
    host_city_id: int = Field(description="One of the two cities, or a third city that "
                                          "invited both.")


class HostCount(SQLModel):
    city_id: int
    hosted: int = Field(description="Exchanges with the other city that this city hosted and "
                                    "that started in the last five years.")


class Anniversary(SQLModel):
    years: int = Field(description="5, 10, 15, 20, 25, then every 10 and every 25 years.")
    year: int
    on: str = Field(description="The day, month or year of the anniversary, as precise as "
                                "`established_on`: `2027-05-20`, `2027-05` or `2027`.")


class ActionCode(StrEnum):
    propose_exchange = "propose_exchange"
    plan_twin_cities_day = "plan_twin_cities_day"
    celebrate_anniversary = "celebrate_anniversary"
    reply_to_proposal = "reply_to_proposal"
    review_suspension = "review_suspension"


class Action(SQLModel):
    code: ActionCode = Field(description=(
        "`propose_exchange`: dormant or never met, and nothing planned. "
        "`plan_twin_cities_day`: nothing together on the next World Twin Cities Day. "
        "`celebrate_anniversary`: a round anniversary within a year. "
        "`reply_to_proposal`: the twinning is proposed or being negotiated. "
        "`review_suspension`: the twinning is suspended."))
    text: str = Field(description="The same, in words.")


class TwinningHealth(SQLModel):
    """How one twinning is doing."""

    partnership_id: int
    status: PartnershipStatus
    established_on: str | None = Field(description="As recorded: `1993-05-20`, `1993-05`, "
                                                   "`1993`, or unknown.")
    last_exchange: ExchangeRef | None = Field(
        description="The exchange that ended most recently, before now.")
    next_exchange: ExchangeRef | None = Field(
        description="The soonest exchange that is running now or has not started yet.")
    exchanges_last_five_years: int = Field(
        description="Exchanges that started in the last five years, whoever hosted them.")
    hosted_last_five_years: list[HostCount] = Field(
        description="Of those, how many each of the two cities hosted.")
    never_met: bool = Field(description="No exchange has taken place (or started) yet.")
    years_without_exchange: int | None = Field(
        description="Whole years since the last exchange ended (0 while one runs); if they "
        "never met, since the twinning was established; null when that is unknown.")
    dormant: bool = Field(description="Active or suspended, and no exchange in "
                                      "`dormant_years` years (never met: established that long "
                                      "ago, or on an unknown date).")
    dormant_since: int | None = Field(
        description="When dormant: the year of the last exchange, or if they never met the "
        "year the twinning was established (null when unknown).")
    next_anniversary: Anniversary | None = Field(
        description="The next round anniversary of `established_on`, today's included; null "
        "when the date is unknown or the twinning has ended.")
    actions: list[Action] = Field(description="What to do about it, most pressing first.")


class TwinHealth(TwinningHealth):
    twin: CityRef = Field(description="The other city of the twinning.")


class CityPartnershipsHealth(SQLModel):
    city: CityRef
    as_of: datetime = Field(description="The instant the view was computed for (UTC).")
    dormant_years: int = Field(description="Years without an exchange that make a twinning "
                                           "dormant (`TWINPLAN_DORMANT_YEARS`).")
    twin_cities_day: date = Field(description="The next World Twin Cities Day, in the "
                                              "city's timezone.")
    twinnings: list[TwinHealth] = Field(
        description="Every twinning of the city in every status: active, suspended, "
        "negotiating, proposed, then ended ones; by the twin's name within each.")


class DormantTwinning(TwinningHealth):
    city_a: CityRef
    city_b: CityRef


# Dates ----------------------------------------------------------------------------

_PARTIAL = re.compile(r"^([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?$")


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _instant_years_before(instant: datetime, years: int) -> datetime:
    return datetime.combine(_years_before(instant.date(), years), instant.timetz())


def _whole_years(since: date, today: date) -> int:
    if since > today:
        return 0
    return today.year - since.year - ((today.month, today.day) < (since.month, since.day))


@dataclass(frozen=True)
class PartialDay:
    """A date known to the day, the month or only the year (``established_on``)."""

    year: int
    month: int | None = None
    day: int | None = None

    @classmethod
    def parse(cls, text: str | None) -> PartialDay | None:
        match = _PARTIAL.match(text or "")
        if not match:
            return None
        year, month, day = (int(g) if g else None for g in match.groups())
        assert year is not None
        return cls(year, month, day)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month or 1, self.day or 1)

    def plus_years(self, years: int) -> PartialDay:
        year = self.year + years
        day = self.day
        if self.month == 2 and day == 29 and not _is_leap(year):
            day = 28
        return PartialDay(year, self.month, day)

    def not_before(self, today: date) -> bool:
        """Whether it is today or later, as far as its precision tells."""
        if self.day is not None:
            return self.first_day >= today
        if self.month is not None:
            return (self.year, self.month) >= (today.year, today.month)
        return self.year >= today.year

    def __str__(self) -> str:
        text = f"{self.year:04d}"
        if self.month is not None:
            text += f"-{self.month:02d}"
            if self.day is not None:
                text += f"-{self.day:02d}"
        return text


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def is_round_anniversary(years: int) -> bool:
    """5, 10, 15, 20, 25, then every 10 years and every 25: 30, 40, 50, 60, 70, 75, 80..."""
    return years > 0 and years % 5 == 0 and (years <= 25 or years % 10 == 0 or years % 25 == 0)


def next_round_anniversary(established_on: str | None, today: date) -> Anniversary | None:
    """The first round anniversary of ``established_on`` that is today or later."""
    start = PartialDay.parse(established_on)
    if start is None:
        return None
    years = 5
    while start.year + years <= 9999:
        if is_round_anniversary(years):
            on = start.plus_years(years)
            if on.not_before(today):
                return Anniversary(years=years, year=on.year, on=str(on))
        years += 5
    return None


# Exchanges ------------------------------------------------------------------------


@dataclass(frozen=True)
class Exchange:
    id: int
    title: str
    status: EventStatus
    starts_at_utc: datetime
    ends_at_utc: datetime
    host_city_id: int
    timezone: str
    cities: frozenset[int]  # the host and every guest

    def ref(self) -> ExchangeRef:
        zone = ZoneInfo(self.timezone)
        return ExchangeRef(
            id=self.id, title=self.title, status=self.status,
            starts_at=self.starts_at_utc.astimezone(zone),
            ends_at=self.ends_at_utc.astimezone(zone), host_city_id=self.host_city_id,
        )


def events_of_cities(
    session: Session, city_ids: Collection[int], visible: ColumnElement[bool] | None
) -> list[Exchange]:
    """Every event, not cancelled and ``visible``, that any of ``city_ids`` takes part
    in, with all its cities: two queries, however many cities and events."""
    if not city_ids:
        return []
    ids = sorted(city_ids)
    guest_of = select(EventGuest.event_id).where(col(EventGuest.city_id).in_(ids))
    conditions = [
        or_(col(Event.host_city_id).in_(ids), col(Event.id).in_(guest_of)),
        col(Event.status) != EventStatus.cancelled,
    ]
    if visible is not None:
        conditions.append(visible)
    # Only the columns shown (more than sqlmodel's select types).
    events = session.execute(
        columns(*(col(c) for c in (Event.id, Event.title, Event.status, Event.starts_at_utc,
                                   Event.ends_at_utc, Event.host_city_id, Event.timezone)))
        .where(*conditions)
    ).all()
    # An alias, so that the subqueries above (which read event_guest themselves)
    # are not correlated with this query's guest rows.
    guest = aliased(EventGuest)
    guests: defaultdict[int, set[int]] = defaultdict(set)
    for event_id, city_id in session.exec(
        select(guest.event_id, guest.city_id)
        .join(Event, col(Event.id) == guest.event_id)
        .where(*conditions)
    ):
        guests[event_id].add(city_id)
    return [
        Exchange(id=e_id, title=title, status=EventStatus(status), starts_at_utc=starts,
                 ends_at_utc=ends, host_city_id=host, timezone=zone,
                 cities=frozenset({host, *guests.get(e_id, ())}))
        for e_id, title, status, starts, ends, host, zone in events
    ]


def exchanges_by_partnership(
    exchanges: Iterable[Exchange], partnerships: Sequence[Partnership]
) -> dict[int, list[Exchange]]:
    """Each partnership's exchanges: the events both its cities take part in."""
    twins: defaultdict[int, list[tuple[int, int]]] = defaultdict(list)
    out: dict[int, list[Exchange]] = {}
    for p in partnerships:
        assert p.id is not None
        out[p.id] = []
        twins[p.city_a_id].append((p.city_b_id, p.id))
    for exchange in exchanges:
        for city in exchange.cities:
            for other, partnership_id in twins.get(city, ()):
                if other in exchange.cities:
                    out[partnership_id].append(exchange)
    return out


# One twinning's health ----------------------------------------------------------


@dataclass(frozen=True)
class Moment:
    """When the health is judged: now, today where the reader is, and the settings."""

    now: datetime
    today: date
    dormant_years: int
    twin_cities_day: date

    @classmethod
    def at(cls, now: datetime, timezone: str, dormant_years: int) -> Moment:
        day = next_twin_cities_day(now, timezone)
        return cls(now=now, today=day.today, dormant_years=dormant_years,
                   twin_cities_day=day.day)

    def day_window(self, day: date, timezone: str) -> tuple[datetime, datetime]:
        zone = ZoneInfo(timezone)
        start = datetime.combine(day, time(), zone)
        end = datetime.combine(day + timedelta(days=1), time(), zone)
        return start.astimezone(UTC), end.astimezone(UTC)


def assess(
    partnership: Partnership, exchanges: Sequence[Exchange], moment: Moment, timezone: str
) -> TwinningHealth:
    """The health of one twinning from its exchanges, as of ``moment``; the World
    Twin Cities Day is the day in ``timezone`` (the reading city's)."""
    assert partnership.id is not None
    now = moment.now
    past = [e for e in exchanges if e.ends_at_utc <= now]
    coming = [e for e in exchanges if e.ends_at_utc > now]
    last = max(past, key=lambda e: (e.ends_at_utc, e.starts_at_utc, e.id), default=None)
    upcoming = min(coming, key=lambda e: (e.starts_at_utc, e.id), default=None)
    running = any(e.starts_at_utc <= now for e in coming)

    recent_from = _instant_years_before(now, RECENT_YEARS)
    recent = [e for e in exchanges if recent_from <= e.starts_at_utc <= now]
    hosted = Counter(e.host_city_id for e in recent)
    pair = (partnership.city_a_id, partnership.city_b_id)

    met_until = now if running else (last.ends_at_utc if last else None)
    established = PartialDay.parse(partnership.established_on)
    living = partnership.status in LIVING
    since: int | None
    if met_until is not None:
        years_without = _whole_years(met_until.date(), moment.today)
        dormant = living and met_until <= _instant_years_before(now, moment.dormant_years)
        since = met_until.year
    elif established is not None:
        years_without = _whole_years(established.first_day, moment.today)
        dormant = living and established.first_day <= _years_before(
            moment.today, moment.dormant_years)
        since = established.year
    else:
        years_without, dormant, since = None, living, None

    anniversary = (None if partnership.status == PartnershipStatus.ended
                   else next_round_anniversary(partnership.established_on, moment.today))
    window = moment.day_window(moment.twin_cities_day, timezone)
    on_twin_day = any(e.starts_at_utc < window[1] and e.ends_at_utc > window[0]
                      for e in exchanges)
    return TwinningHealth(
        partnership_id=partnership.id,
        status=partnership.status,
        established_on=partnership.established_on,
        last_exchange=last.ref() if last else None,
        next_exchange=upcoming.ref() if upcoming else None,
        exchanges_last_five_years=len(recent),
        hosted_last_five_years=[HostCount(city_id=c, hosted=hosted[c]) for c in pair],
        never_met=met_until is None,
        years_without_exchange=years_without,
        dormant=dormant,
        dormant_since=since if dormant else None,
        next_anniversary=anniversary,
        actions=_actions(partnership.status, met_until, established, dormant,
                         upcoming is not None, on_twin_day, anniversary, moment),
    )


def _actions(
    status: PartnershipStatus,
    met_until: datetime | None,
    established: PartialDay | None,
    dormant: bool,
    planned: bool,
    on_twin_day: bool,
    anniversary: Anniversary | None,
    moment: Moment,
) -> list[Action]:
    if status == PartnershipStatus.proposed:
        return [Action(code=ActionCode.reply_to_proposal,
                       text="The twinning is proposed: reply to the proposal.")]
    if status == PartnershipStatus.negotiating:
        return [Action(code=ActionCode.reply_to_proposal,
                       text="The twinning is being negotiated: agree on it, or end it.")]
    if status == PartnershipStatus.suspended:
        return [Action(code=ActionCode.review_suspension,
                       text="The twinning is suspended: resume it, or end it.")]
    if status != PartnershipStatus.active:
        return []
    actions = []
    if not planned and (dormant or met_until is None):
        if met_until is not None:
            text = f"No exchange since {met_until.year}: propose one."
        elif established is not None:
            text = f"No exchange since the twinning ({established.year}): propose a first one."
        else:
            text = "No exchange recorded yet: propose a first one."
        actions.append(Action(code=ActionCode.propose_exchange, text=text))
    if not on_twin_day:
        actions.append(Action(
            code=ActionCode.plan_twin_cities_day,
            text=f"Nothing planned together for World Twin Cities Day "
                 f"({moment.twin_cities_day.isoformat()}): plan something.",
        ))
    if anniversary is not None:
        first_day = PartialDay.parse(anniversary.on)
        assert first_day is not None
        if first_day.first_day <= moment.today + CELEBRATION_NOTICE:
            when = f"on {anniversary.on}" if len(anniversary.on) == 10 else f"in {anniversary.on}"
            actions.append(Action(
                code=ActionCode.celebrate_anniversary,
                text=f"{anniversary.years} years of twinning {when}: prepare the celebration.",
            ))
    return actions


def _ref(city: City) -> CityRef:
    assert city.id is not None
    return CityRef(id=city.id, name=city.name, country_code=city.country_code)


# The services ---------------------------------------------------------------------


def city_partnerships_health(
    session: Session, city_id: int, actor: Actor | None
) -> CityPartnershipsHealth:
    """The health of every twinning of a city, from the events ``actor`` may see.

    Five queries whatever the number of twins: the city, its partnerships, the
    twins, and the events the city takes part in with their guests."""
    city = get_city(session, city_id)
    settings = get_settings()
    moment = Moment.at(clock.now(), city.timezone, settings.dormant_years)
    partnerships = list(session.exec(partnership_query(city_id, None)).all())
    twin_ids = [p.city_b_id if p.city_a_id == city_id else p.city_a_id for p in partnerships]
    twins = {c.id: c for c in session.exec(select(City).where(col(City.id).in_(twin_ids)))}
    exchanges = exchanges_by_partnership(
        events_of_cities(session, [city_id], readable_events(actor)), partnerships)
    rows = []
    for p, twin_id in zip(partnerships, twin_ids, strict=True):
        assert p.id is not None
        health = assess(p, exchanges[p.id], moment, city.timezone)
        rows.append(TwinHealth(**dict(health), twin=_ref(twins[twin_id])))
    rows.sort(key=lambda r: (STATUS_ORDER[r.status], fold(r.twin.name), r.partnership_id))
    return CityPartnershipsHealth(
        city=_ref(city), as_of=moment.now, dormant_years=moment.dormant_years,
        twin_cities_day=moment.twin_cities_day, twinnings=rows,
    )


def _last_meetings(now: datetime) -> Any:
    """The last moment each pair of cities met: one aggregate over every event.

    A pair met at an event both take part in (host or guest), not cancelled,
    that has started; the moment is its end (still to come while it runs)."""
    started = and_(col(Event.status) != EventStatus.cancelled, col(Event.starts_at_utc) <= now)
    taking_part = union_all(
        select(col(Event.id).label("event_id"), col(Event.host_city_id).label("city_id"),
               col(Event.ends_at_utc).label("ends_at")).where(started),
        select(col(EventGuest.event_id).label("event_id"),
               col(EventGuest.city_id).label("city_id"),
               col(EventGuest.ends_at_utc).label("ends_at"))
        .join(Event, col(Event.id) == col(EventGuest.event_id)).where(started),
    ).cte("taking_part")
    one, two = taking_part.alias("one"), taking_part.alias("two")
    return (
        select(one.c.city_id.label("city_a_id"), two.c.city_id.label("city_b_id"),
               func.max(one.c.ends_at).label("last_end"))
        .select_from(one)
        .join(two, and_(two.c.event_id == one.c.event_id, one.c.city_id < two.c.city_id))
        .group_by(one.c.city_id, two.c.city_id)
        .subquery("last_meeting")
    )


def dormant_twinnings(
    session: Session, actor: Actor, years: int | None, page: PageParams
) -> Page[DormantTwinning]:
    """Every dormant twinning of the network (admins): no exchange between its two
    cities in ``years`` years (default ``TWINPLAN_DORMANT_YEARS``), dormant longest first.

    One aggregate query finds every pair's last meeting and keeps the dormant
    twinnings; they are ordered here (the year they fell asleep, then the exact
    moment; those never met whose date is unknown come last), and only the page
    is read in full: its partnerships, their cities, and the events of those cities
    (four queries)."""
    if not policy.can_list_dormant_twinnings(actor):
        raise Forbidden("only admins may list the network's dormant twinnings")
    settings = get_settings()
    years = years or settings.dormant_years
    moment = Moment.at(clock.now(), "UTC", years)
    cutoff = _instant_years_before(moment.now, years)
    cutoff_day = _years_before(moment.today, years).isoformat()
    last = _last_meetings(moment.now)
    established = col(Partnership.established_on)
    candidates = session.exec(
        select(Partnership.id, Partnership.established_on, last.c.last_end)
        .outerjoin(last, and_(last.c.city_a_id == Partnership.city_a_id,
                              last.c.city_b_id == Partnership.city_b_id))
        .where(
            col(Partnership.status).in_(LIVING),
            or_(
                last.c.last_end <= cutoff,
                and_(last.c.last_end.is_(None),
                     # Partial dates compare as their first day: "2019" < "2019-05-01".
                     or_(established.is_(None), established <= cutoff_day)),
            ),
        )
    ).all()

    def asleep_since(row: tuple[int | None, str | None, datetime | None]) -> tuple[Any, ...]:
        partnership_id, established_on, last_end = row
        # Within a year, those that never met (since the twinning) come first.
        if last_end is not None:
            return (0, last_end.year, 1, last_end, partnership_id)
        if established_on is not None:
            return (0, int(established_on[:4]), 0, established_on, partnership_id)
        return (1, partnership_id)

    ordered = [row[0] for row in sorted(candidates, key=asleep_since)]
    page_ids = ordered[page.offset:page.offset + page.limit]
    by_id = {p.id: p for p in session.exec(
        select(Partnership).where(col(Partnership.id).in_(page_ids)))}
    window = [by_id[i] for i in page_ids]
    city_ids = {c for p in window for c in (p.city_a_id, p.city_b_id)}
    cities = {c.id: c for c in session.exec(select(City).where(col(City.id).in_(city_ids)))}
    exchanges = exchanges_by_partnership(
        events_of_cities(session, city_ids, readable_events(actor)), window)
    items = []
    for p in window:
        assert p.id is not None
        a, b = cities[p.city_a_id], cities[p.city_b_id]
        health = assess(p, exchanges[p.id], moment, a.timezone)
        items.append(DormantTwinning(**dict(health), city_a=_ref(a), city_b=_ref(b)))
    return Page(items=items, total=len(ordered), limit=page.limit, offset=page.offset)
