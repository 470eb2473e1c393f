"""An event as an email attachment (iTIP, RFC 5546): the feeds' own VEVENT, so that a
client holding the feed and the email sees one event, updated or cancelled.

PUBLISH tells a calendar the event's new state (a higher SEQUENCE replaces the
old one); CANCEL takes it out. Both name an ORGANIZER (the host city, at the
service's sender address), and CANCEL the ATTENDEE it is sent to, as RFC 5546
asks of those methods.
"""

from __future__ import annotations

from collections.abc import Callable
from email.utils import parseaddr
from typing import Literal

from sqlmodel import Session, col, select

from app.calendars.contentlines import fold, lines
from app.calendars.render import (
    CALENDAR_END,
    PRODID,
    CityLabel,
    EventRecord,
    render_event,
    timezones_for,
)
from app.cities.models import City
from app.core.settings import get_settings
from app.events.models import Event, EventGuest

Method = Literal["PUBLISH", "CANCEL"]
_BEGIN = b"BEGIN:VEVENT\r\n"


def _labels(session: Session, event: Event) -> tuple[CityLabel, list[CityLabel]]:
    guests = session.exec(
        select(City).join(EventGuest, col(EventGuest.city_id) == City.id)
        .where(EventGuest.event_id == event.id).order_by(col(City.id))
    ).all()
    host = session.get(City, event.host_city_id)
    assert host is not None
    return (CityLabel(host.name, host.country_code),
            [CityLabel(g.name, g.country_code) for g in guests])


def _quoted(value: str) -> str:
    """A parameter value (RFC 5545 3.2): quoted, without the quotes it may not hold."""
    return '"' + value.replace('"', "'") + '"'


def event_messages(session: Session, event: Event, method: Method) -> Callable[[str], str]:
    """The VCALENDAR for each attendee: ``method`` and the event's VEVENT as the feeds
    render it (rendered once), plus ORGANIZER, and ATTENDEE for CANCEL."""
    settings = get_settings()
    host, guests = _labels(session, event)
    rendered = render_event(EventRecord.of(event), host, guests,
                            base_url=settings.public_base_url,
                            uid_domain=settings.calendar_uid_domain)
    assert rendered.data.startswith(_BEGIN)
    sender = parseaddr(settings.smtp_sender)[1] or "twinplan@localhost"
    head = lines(["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}",
                  "CALSCALE:GREGORIAN", f"METHOD:{method}"]) + timezones_for([rendered])
    organizer = fold(f"ORGANIZER;CN={_quoted(host.name)}:mailto:{sender}")
    rest = rendered.data[len(_BEGIN):] + CALENDAR_END

    def to(attendee: str) -> str:
        parties = organizer
        if method == "CANCEL":
            parties += fold(f"ATTENDEE;RSVP=FALSE:mailto:{attendee}")
        return (head + _BEGIN + parties + rest).decode("utf-8")

    return to
