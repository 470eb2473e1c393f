"""The planning view: a city's twinnings around World Twin Cities Day, with and
without something planned."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from app.cities.models import PartnershipStatus
from app.cities.service import get_city, partners_of
from app.core.actors import Actor
from app.events.models import EventStatus
from app.events.service import EventFilters, event_query, guest_ids_of
from app.events.wallclock import in_zone
from app.reminders.models import PartnerPlanPublic, PlannedEventPublic, TwinCitiesDayPlan
from app.twin_cities_day import last_sunday_of_april

# "On or around" World Twin Cities Day, for the planning view.
DEFAULT_WINDOW_DAYS = 7


def twin_cities_day_plan(
    session: Session,
    city_id: int,
    year: int,
    actor: Actor | None,
    window_days: int = DEFAULT_WINDOW_DAYS,
) -> TwinCitiesDayPlan:
    """The city's active twinnings, split by whether an event involves both cities
    on or around World Twin Cities Day (the day ± ``window_days``, in the city's
    timezone). Events the caller may not see do not count, and cancelled ones never."""
    city = get_city(session, city_id)
    day = last_sunday_of_april(year)
    lo, hi = day - timedelta(days=window_days), day + timedelta(days=window_days)
    events = [
        e for e in session.exec(
            event_query(
                session,
                EventFilters(city_id=city_id, window_from=lo, window_to=hi,
                             timezone=city.timezone),
                actor,
            )
        ).all()
        if e.status != EventStatus.cancelled
    ]
    guests = guest_ids_of(session, [e.id for e in events if e.id is not None])
    with_event: list[PartnerPlanPublic] = []
    without_event: list[PartnerPlanPublic] = []
    for partnership, other, _changed in partners_of(session, city_id, PartnershipStatus.active):
        assert partnership.id is not None and other.id is not None
        shared = [
            e for e in events
            if other.id in {e.host_city_id, *guests[e.id or 0]}
        ]
        plan = PartnerPlanPublic(
            partnership_id=partnership.id,
            partner_city_id=other.id,
            partner_name=other.name,
            partner_country_code=other.country_code,
            established_on=partnership.established_on,
            events=[
                PlannedEventPublic(
                    id=e.id or 0, title=e.title, kind=e.kind, status=e.status,
                    host_city_id=e.host_city_id,
                    starts_at=in_zone(e.starts_at_utc, ZoneInfo(e.timezone)),
                    ends_at=in_zone(e.ends_at_utc, ZoneInfo(e.timezone)),
                )
                for e in shared
            ],
        )
        (with_event if shared else without_event).append(plan)
    return TwinCitiesDayPlan(
        city_id=city_id, year=year, date=day, window_from=lo, window_to=hi,
        with_event=with_event, without_event=without_event,
    )
