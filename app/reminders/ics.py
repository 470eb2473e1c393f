"""One event as an iCalendar (RFC 5545) file, for the attachment of a reminder email."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar
from icalendar import Event as VEvent

from app.core.settings import get_settings
from app.events.models import Event, EventStatus


def event_uid(event: Event) -> str:
    """The UID the calendar feeds give the event, so a client that has both the
    feed and this attachment sees one event, not two."""
    return f"twinplan-event-{event.id}@{get_settings().calendar_uid_domain}"


def event_calendar(event: Event, host_name: str | None, now: datetime) -> str:
    """A VCALENDAR with one VEVENT (and its VTIMEZONE), in the event's own zone."""
    calendar = Calendar()
    calendar.add("prodid", "-//Twinplan//Reminders//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    vevent = VEvent()
    vevent.add("uid", event_uid(event))
    vevent.add("dtstamp", now)
    vevent.add("sequence", event.sequence)
    vevent.add("summary", event.title)
    if event.all_day:
        vevent.add("dtstart", event.first_day)
        vevent.add("dtend", event.ends_at_local.date())  # exclusive
    else:
        zone = ZoneInfo(event.timezone)
        vevent.add("dtstart", event.starts_at_utc.astimezone(zone))
        vevent.add("dtend", event.ends_at_utc.astimezone(zone))
    location = ", ".join(p for p in (event.venue, host_name) if p)
    if location:
        vevent.add("location", location)
    if event.description:
        vevent.add("description", event.description)
    vevent.add(
        "status",
        {EventStatus.confirmed: "CONFIRMED", EventStatus.cancelled: "CANCELLED"}.get(
            EventStatus(event.status), "TENTATIVE"
        ),
    )
    base = get_settings().public_base_url
    vevent.add("url", f"{base}/api/v1/events/{event.id}")
    calendar.add_component(vevent)
    calendar.add_missing_timezones()
    return calendar.to_ical().decode("utf-8")
