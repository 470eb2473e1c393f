"""HTTP endpoints: World Twin Cities Day, a city's planning view, reminder rules, and
the kinds of reminder a person chose to receive."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import AfterValidator

from app.cities.models import TimezoneName
from app.core import clock
from app.core.db import SessionDep
from app.core.openapi import problems
from app.core.routing import Router
from app.core.types import PathId
from app.keys.auth import CurrentActor, MaybeActor
from app.reminders import plan, recipients, service
from app.reminders.models import (
    NextTwinCitiesDayPublic,
    ReminderRulesPublic,
    ReminderRulesUpdate,
    TwinCitiesDayPlan,
    TwinCitiesDayPublic,
)
from app.reminders.recipients import MyReminders, ReminderKind, ReminderSwitch
from app.twin_cities_day import (
    FIRST_YEAR,
    LAST_YEAR,
    last_sunday_of_april,
    next_twin_cities_day,
)

router = Router(prefix="/api/v1", tags=["twin cities day"])


def _since_1962(year: int) -> int:
    if year < FIRST_YEAR:
        raise ValueError(
            f"World Twin Cities Day did not exist yet in {year}: the World Federation of "
            f"Twin Cities instituted it in {FIRST_YEAR} (the last Sunday of April)"
        )
    return year


Year = Annotated[
    int,
    # The minimum is stated in the schema and checked by `_since_1962`, which says why.
    Query(le=LAST_YEAR, json_schema_extra={"minimum": FIRST_YEAR},
          description=f"{FIRST_YEAR} or later (default: this year, UTC)."),
    AfterValidator(_since_1962),
]


def _day(year: int) -> TwinCitiesDayPublic:
    day = last_sunday_of_april(year)
    return TwinCitiesDayPublic(year=year, date=day, weekday=f"{day:%A}")


@router.get("/twin-cities-day", response_model=TwinCitiesDayPublic)
def twin_cities_day(year: Year | None = None) -> object:
    """The date of World Twin Cities Day (the last Sunday of April) in `year`."""
    return _day(year if year is not None else clock.now().year)


@router.get("/twin-cities-day/next", response_model=NextTwinCitiesDayPublic)
def next_day(
    tz: Annotated[
        TimezoneName,
        Query(description="Whose today: near midnight it differs between zones."),
    ] = "UTC",
) -> object:
    """The next World Twin Cities Day on or after today in `tz`, and the days until it."""
    found = next_twin_cities_day(clock.now(), tz)
    return NextTwinCitiesDayPublic(
        **_day(found.day.year).model_dump(),
        timezone=tz,
        today=found.today,
        days_remaining=found.days_remaining,
    )


@router.get(
    "/cities/{city_id}/twin-cities-day", response_model=TwinCitiesDayPlan, tags=["cities"]
)
def twin_cities_day_plan(
    city_id: PathId,
    session: SessionDep,
    actor: MaybeActor,
    year: Year | None = None,
    window_days: Annotated[
        int, Query(ge=0, le=30, description="'Around' the day: this many days either side.")
    ] = plan.DEFAULT_WINDOW_DAYS,
) -> object:
    """A city's active twinnings around World Twin Cities Day: which have an event
    involving both cities on or around the day, and which have none.

    Only events the caller may see count (anonymous callers: public events).
    """
    return plan.twin_cities_day_plan(
        session, city_id, year if year is not None else clock.now().year, actor,
        window_days,
    )


@router.get(
    "/cities/{city_id}/reminder-rules", response_model=ReminderRulesPublic, tags=["reminders"],
    responses=problems(403),
)
def read_reminder_rules(
    city_id: PathId, session: SessionDep, actor: CurrentActor
) -> object:
    """Who hears what, and when: the city's rules, defaults filled in."""
    return service.get_rules(session, city_id, actor)


@router.patch(
    "/cities/{city_id}/reminder-rules", response_model=ReminderRulesPublic, tags=["reminders"],
    responses=problems(403),
)
def update_reminder_rules(
    city_id: PathId,
    body: ReminderRulesUpdate,
    session: SessionDep,
    actor: CurrentActor,
) -> object:
    """Change the city's rules (admin, or the city's coordinator); its reminders are
    planned again at once. An empty list turns that reminder off.

    Defaults: World Twin Cities Day 60, 30 and 7 days before; events 14 and 2
    days before; anniversaries (5, 10, 20, 25, 30... years) 30 days before; at
    09:00 in the city's timezone.
    """
    return service.update_rules(session, city_id, body, actor)


NOT_A_PERSON = (403, "The caller is not a person: a machine's API key has no reminders to "
                     "choose (sign in, or use a personal key).")


@router.get(
    "/me/reminders", response_model=MyReminders, tags=["reminders"],
    responses=problems(NOT_A_PERSON),
)
def my_reminders(session: SessionDep, actor: CurrentActor) -> object:
    """Which kinds of reminder reach you, the signed-in person (or the owner of a
    personal key): as a coordinator of a city, or because a city's rules list your
    address. Each comes in your language."""
    return recipients.my_reminders(session, actor)


@router.put(
    "/me/reminders/{kind}", response_model=MyReminders, tags=["reminders"],
    responses=problems(NOT_A_PERSON),
)
def set_my_reminder(
    kind: ReminderKind, body: ReminderSwitch, session: SessionDep, actor: CurrentActor
) -> object:
    """Stop (`{"enabled": false}`) or resume (`true`) one kind of reminder for
    yourself, in every city you hear from. Your city's other coordinators, and its
    webhooks, still receive it. With the session cookie, send `X-CSRF-Token`."""
    return recipients.set_my_reminder(session, actor, kind, body.enabled)
