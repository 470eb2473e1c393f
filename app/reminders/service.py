"""Reminder rules, when each reminder is due, and what it says when it is.

A reminder is planned as one ``reminder`` row in the outbox per recipient city
(``wtcd:2027:city:42:30d``, ``event:17:14d:city:42:2027-05-06``,
``anniversary:7:80y:city:42:30d``), due at the city's reminder hour (09:00 by
default) in the city's own timezone. At that moment the worker calls
``expand_reminder``, which checks the plan still holds, and writes one email
per recipient (the city's coordinators' accounts, each in their language, and
the addresses in its rules: ``app.reminders.recipients``) and one webhook per
subscribed endpoint.

Plans are kept in step with what they depend on:

* an event's reminders are re-planned in the transaction that creates, moves,
  re-guests or cancels it (``replan_event`` receives its ``EventChanged``);
* World Twin Cities Day and anniversaries are planned a year ahead by the
  worker's hourly pass (``schedule_reminders``) for every city someone hears
  from (``reminder_cities``: a city whose first coordinator account just
  appeared is planned at the next pass), and again when a city changes its
  rules;
* whatever changed without telling us (a city's timezone, say) is caught at
  expansion, which recomputes the plan: a reminder that moved waits for its new
  moment, one no longer planned is withdrawn.

A reminder whose moment passed more than a day before a worker got to it (the
worker was down) is recorded as ``missed`` and not sent: "in 14 days" is wrong
on day 11.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_
from sqlmodel import Session, col, select

from app.cities.models import City, Partnership, PartnershipStatus
from app.core import changes, clock
from app.core.actors import SYSTEM, Actor
from app.core.errors import Forbidden, NotFound, Unprocessable
from app.events.changes import EventChanged
from app.events.models import Event, EventStatus
from app.events.policy import can_city_read
from app.events.service import EventFilters, event_query, guest_ids_of
from app.notifications import outbox
from app.notifications.models import (
    AttemptOutcome,
    Channel,
    Notification,
    NotificationStatus,
    Topic,
    WebhookEndpoint,
)
from app.reminders import messages, participant_messages, policy, recipients
from app.reminders.models import (
    ReminderRule,
    ReminderRulesPublic,
    ReminderRulesUpdate,
)
from app.reminders.rules import Rules, rules_for
from app.twin_cities_day import FIRST_YEAR, last_sunday_of_april

MISSED_AFTER = timedelta(days=1)
# Calendar reminders are planned this far ahead, so that one whose moment comes
# while no worker runs exists, and is recorded as missed, rather than never being.
HORIZON = timedelta(days=400)
REMINDED_STATUSES = frozenset({EventStatus.planned, EventStatus.confirmed})


def is_round_anniversary(years: int) -> bool:
    """5, 10, then every ten years, and the quarter centuries (25, 75, 125...)."""
    return years == 5 or (years > 0 and (years % 10 == 0 or years % 25 == 0))


# Rules ------------------------------------------------------------------------------


def _require_rules_rights(actor: Actor, city_id: int) -> None:
    if not policy.can_manage_rules(actor, city_id):
        raise Forbidden(f"this key may not change city {city_id}'s data")


def get_rules(session: Session, city_id: int, actor: Actor) -> ReminderRulesPublic:
    """Who hears what, and when: the city's rules, defaults filled in."""
    _require_rules_rights(actor, city_id)
    rules = rules_for(session, [city_id]).get(city_id)
    if rules is None:
        raise NotFound(f"city {city_id} does not exist")
    return ReminderRulesPublic(
        city_id=city_id,
        coordinator_emails=list(rules.coordinator_emails),
        hour=rules.hour,
        timezone=rules.timezone,
        wtcd_days_before=list(rules.wtcd_days),
        event_days_before=list(rules.event_days),
        anniversary_days_before=list(rules.anniversary_days),
    )


def update_rules(
    session: Session, city_id: int, data: ReminderRulesUpdate, actor: Actor
) -> ReminderRulesPublic:
    """Change a city's rules and re-plan its reminders in the same transaction."""
    _require_rules_rights(actor, city_id)
    if session.get(City, city_id) is None:
        raise NotFound(f"city {city_id} does not exist")
    row = session.get(ReminderRule, city_id) or ReminderRule(city_id=city_id)
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is None and field != "hour":
            raise Unprocessable(f"{field} cannot be removed; send [] to turn it off",
                                field=field)
        if isinstance(value, list):
            value = sorted(set(value), reverse=field != "coordinator_emails")
        setattr(row, field, value)
    row.updated_at = clock.now()
    session.add(row)
    session.flush()
    replan_city(session, city_id, clock.now())
    return get_rules(session, city_id, actor)


# Moments -----------------------------------------------------------------------------


def local_moment(day: date, hour: int, timezone: str) -> datetime:
    """``hour``:00 on ``day`` in ``timezone``, as a UTC instant.

    An hour the clocks skip (a spring-forward gap) is read with the offset before
    the change, so it lands an hour later in local terms; an ambiguous hour takes
    its first occurrence.
    """
    return datetime.combine(day, time(hour), tzinfo=ZoneInfo(timezone)).astimezone(
        ZoneInfo("UTC")
    )


@dataclass(frozen=True)
class Spec:
    """A reminder as planned: its key, whose it is, when, and what it refers to."""

    key: str
    city_id: int
    subject: str
    due_at: datetime
    payload: dict[str, Any]


def event_specs(session: Session, event: Event) -> list[Spec]:
    """Reminders for an event: for each of its cities, at each lead of that city's rules."""
    if event.status not in REMINDED_STATUSES or event.id is None:
        return []
    guests = guest_ids_of(session, [event.id])[event.id]
    cities = [c for c in [event.host_city_id, *guests] if can_city_read(c, event, guests)]
    specs = []
    for rules in rules_for(session, cities).values():
        for lead in rules.event_days:
            day = event.first_day - timedelta(days=lead)
            specs.append(Spec(
                key=f"event:{event.id}:{lead}d:city:{rules.city_id}:{day.isoformat()}",
                city_id=rules.city_id,
                subject=f"event:{event.id}",
                due_at=local_moment(day, rules.hour, rules.timezone),
                payload={"kind": "event", "event_id": event.id, "days_before": lead,
                         "city_id": rules.city_id},
            ))
    return specs


def _years(now: datetime) -> range:
    return range(max(FIRST_YEAR, now.year - 1), now.year + 2)


def wtcd_specs(rules: Rules, now: datetime) -> list[Spec]:
    specs = []
    for year in _years(now):
        day = last_sunday_of_april(year)
        for lead in rules.wtcd_days:
            specs.append(Spec(
                key=f"wtcd:{year}:city:{rules.city_id}:{lead}d",
                city_id=rules.city_id,
                subject=f"wtcd:city:{rules.city_id}",
                due_at=local_moment(day - timedelta(days=lead), rules.hour, rules.timezone),
                payload={"kind": "wtcd", "year": year, "days_before": lead,
                         "city_id": rules.city_id},
            ))
    return specs


def anniversary_on(established_on: str, year: int) -> date:
    """The anniversary's day in ``year``: the date established, or its month's or
    year's first day when only those are known (29 February falls on the 28th)."""
    parts = [int(p) for p in established_on.split("-")]
    month = parts[1] if len(parts) > 1 else 1
    day = parts[2] if len(parts) > 2 else 1
    try:
        return date(year, month, day)
    except ValueError:
        return date(year, month, day - 1)


def anniversary_specs(partnership: Partnership, rules: Rules, now: datetime) -> list[Spec]:
    if partnership.status != PartnershipStatus.active or not partnership.established_on:
        return []
    founded = int(partnership.established_on[:4])
    specs = []
    for year in range(now.year - 1, now.year + 3):
        years = year - founded
        if not is_round_anniversary(years):
            continue
        day = anniversary_on(partnership.established_on, year)
        for lead in rules.anniversary_days:
            specs.append(Spec(
                key=f"anniversary:{partnership.id}:{years}y:city:{rules.city_id}:{lead}d",
                city_id=rules.city_id,
                subject=f"partnership:{partnership.id}",
                due_at=local_moment(day - timedelta(days=lead), rules.hour, rules.timezone),
                payload={"kind": "anniversary", "partnership_id": partnership.id,
                         "years": years, "date": day.isoformat(), "days_before": lead,
                         "city_id": rules.city_id},
            ))
    return specs


# Keeping plans in step ------------------------------------------------------------------


def sync(
    session: Session,
    subject: str,
    specs: Sequence[Spec],
    now: datetime,
    *,
    city_id: int | None = None,
    horizon: datetime | None = None,
) -> int:
    """Make the planned reminders of ``subject`` (and ``city_id``) match ``specs``.

    Unsent reminders no longer planned are withdrawn; moved ones take their new
    moment (or are withdrawn if that has passed); new ones are added if their
    moment is still ahead (and within ``horizon``). Returns how many were added.
    """
    query = select(Notification).where(
        Notification.channel == Channel.reminder, Notification.subject == subject
    )
    if city_id is not None:
        query = query.where(Notification.city_id == city_id)
    existing = {row.key: row for row in session.exec(query)}
    wanted = {spec.key: spec for spec in specs}
    for row in existing.values():
        if row.status == NotificationStatus.pending and row.key not in wanted:
            _set_status(row, NotificationStatus.withdrawn, now, "no longer planned")
            session.add(row)
    added = 0
    for spec in wanted.values():
        found = existing.get(spec.key)
        ahead = spec.due_at > now and (horizon is None or spec.due_at <= horizon)
        if found is None:
            if ahead:
                added += outbox.enqueue(
                    session, key=spec.key, channel=Channel.reminder, topic=Topic.reminder_due,
                    recipient=f"city:{spec.city_id}", payload=spec.payload,
                    due_at=spec.due_at, city_id=spec.city_id, subject=spec.subject,
                )
        elif found.status == NotificationStatus.withdrawn and ahead:
            found.status = NotificationStatus.pending
            found.attempts = 0
            found.last_error = None
            found.due_at = found.available_at = spec.due_at
            found.updated_at = now
            session.add(found)
        elif found.status == NotificationStatus.pending and found.due_at != spec.due_at:
            if spec.due_at > now:
                found.due_at = found.available_at = spec.due_at
                found.updated_at = now
            else:
                _set_status(found, NotificationStatus.withdrawn, now,
                            "moved to a moment that has already passed")
            session.add(found)
    session.flush()
    return added


def _set_status(row: Notification, status: NotificationStatus, now: datetime, why: str) -> None:
    row.status = status
    row.last_error = why
    row.updated_at = now


def on_event_changed(session: Session, event: Event) -> None:
    """Re-plan an event's reminders after it was created, moved, re-guested or cancelled."""
    sync(session, f"event:{event.id}", event_specs(session, event), clock.now())


@changes.receiver(EventChanged)
def replan_event(change: EventChanged, session: Session) -> None:
    """Every recorded change to an event re-plans its reminders, in the same transaction."""
    event = session.get(Event, change.after.id)
    if event is not None:
        on_event_changed(session, event)


def reminder_cities(session: Session) -> list[int]:
    """Cities someone would hear from: coordinators with accounts, coordinators named
    in rules, or a ``reminder.due`` hook."""
    with_rules = set(session.exec(select(ReminderRule.city_id)).all())
    with_people = recipients.cities_with_coordinators(session)
    hooks = session.exec(
        select(WebhookEndpoint.city_id, WebhookEndpoint.event_types).where(
            col(WebhookEndpoint.enabled)
        )
    ).all()
    with_hooks = {city for city, types in hooks if Topic.reminder_due in types}
    return sorted(with_rules | with_people | with_hooks)


def _partnerships_of(session: Session, city_ids: Sequence[int]) -> list[Partnership]:
    if not city_ids:
        return []
    return list(session.exec(
        select(Partnership).where(or_(
            col(Partnership.city_a_id).in_(city_ids), col(Partnership.city_b_id).in_(city_ids)
        )).order_by(col(Partnership.id))
    ).all())


def _plan_calendar(session: Session, city_ids: Sequence[int], now: datetime) -> int:
    """World Twin Cities Day and anniversary reminders of these cities."""
    rules = rules_for(session, city_ids)
    horizon = now + HORIZON
    added = 0
    for city_rules in rules.values():
        added += sync(session, f"wtcd:city:{city_rules.city_id}", wtcd_specs(city_rules, now),
                      now, city_id=city_rules.city_id, horizon=horizon)
    for partnership in _partnerships_of(session, list(rules)):
        for city_id in (partnership.city_a_id, partnership.city_b_id):
            if city_id in rules:
                added += sync(session, f"partnership:{partnership.id}",
                              anniversary_specs(partnership, rules[city_id], now), now,
                              city_id=city_id, horizon=horizon)
    return added


def schedule_reminders(session: Session, now: datetime) -> int:
    """The worker's pass: plan World Twin Cities Day and anniversaries a year ahead."""
    return _plan_calendar(session, reminder_cities(session), now)


def replan_city(session: Session, city_id: int, now: datetime) -> None:
    """After a city's rules changed: its calendar reminders and its upcoming events'."""
    _plan_calendar(session, [city_id], now)
    upcoming = session.exec(
        event_query(session, EventFilters(city_id=city_id, window_from=now), SYSTEM)
    ).all()
    for event in upcoming:
        if event.status in REMINDED_STATUSES:
            on_event_changed(session, event)


# Expansion, when a reminder is due ----------------------------------------------------------


@dataclass(frozen=True)
class Expansion:
    outcome: AttemptOutcome
    detail: str
    moved_to: datetime | None = None


def _current_spec(session: Session, row: Notification, now: datetime) -> Spec | None:
    payload = row.payload
    kind = payload.get("kind")
    city_id = int(payload.get("city_id") or row.city_id or 0)
    specs: list[Spec] = []
    if kind == "event":
        event = session.get(Event, int(payload["event_id"]))
        specs = event_specs(session, event) if event is not None else []
    else:
        rules = rules_for(session, [city_id]).get(city_id)
        if rules is not None and kind == "wtcd":
            specs = wtcd_specs(rules, row.due_at)
        elif rules is not None and kind == "anniversary":
            partnership = session.get(Partnership, int(payload["partnership_id"]))
            if partnership is not None:
                specs = anniversary_specs(partnership, rules, row.due_at)
    return next((s for s in specs if s.key == row.key), None)


def expand_reminder(session: Session, row: Notification, now: datetime) -> Expansion:
    """Turn a due reminder into its recipients' messages, or say why not."""
    spec = _current_spec(session, row, now)
    if spec is None:
        return Expansion(AttemptOutcome.withdrawn, "no longer planned (its event or rules changed)")
    if spec.due_at != row.due_at and spec.due_at > now:
        return Expansion(AttemptOutcome.withdrawn,
                         f"moved to {spec.due_at.isoformat()}", moved_to=spec.due_at)
    late = now - spec.due_at
    if late > MISSED_AFTER:
        return Expansion(
            AttemptOutcome.missed,
            f"due at {spec.due_at.isoformat()}, {_hours(late)} ago, while no worker ran; "
            "not sent late",
        )
    rules = rules_for(session, [spec.city_id])[spec.city_id]
    kind = recipients.kind_of(spec.payload.get("kind"))
    people = (recipients.recipients_of(session, spec.city_id, kind, rules.coordinator_emails)
              if kind is not None else [])
    content = messages.render(session, spec.payload, rules, people, now)
    if content is None:
        return Expansion(AttemptOutcome.withdrawn, "what it was about no longer exists")
    assert row.id is not None
    emails = hooks = 0
    for address, mail in content.emails.items():
        emails += outbox.enqueue(
            session, key=f"{row.key}:email:{address.lower()}", channel=Channel.email,
            topic=Topic.reminder_due, recipient=mail["to"], payload=mail, city_id=row.city_id,
            subject=row.subject, parent_id=row.id,
        )
    if spec.payload.get("kind") == "event":
        event, city = (session.get(Event, int(spec.payload["event_id"])),
                       session.get(City, spec.city_id))
        if event is not None and city is not None:
            emails += participant_messages.upcoming(
                session, key=row.key, parent_id=row.id, event=event, city=city, now=now,
                skip={address.lower() for address in content.emails})
    envelope = outbox.webhook_envelope(Topic.reminder_due, content.webhook_data)
    for endpoint in outbox.endpoints_for(session, [spec.city_id], Topic.reminder_due):
        hooks += outbox.enqueue(
            session, key=f"{row.key}:webhook:{endpoint.id}", channel=Channel.webhook,
            topic=Topic.reminder_due, recipient=str(endpoint.id), payload=envelope,
            city_id=row.city_id, subject=row.subject, parent_id=row.id,
        )
    return Expansion(AttemptOutcome.delivered,
                     f"queued {emails} email(s) and {hooks} webhook(s)")


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f} hours" if hours < 72 else f"{hours / 24:.0f} days"
