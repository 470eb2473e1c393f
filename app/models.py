"""Every table, imported in one place so Alembic and the tests see the whole schema."""

from app.calendars.models import FeedState, FeedToken
from app.cities.models import City, Partnership, PartnershipStatusChange
from app.events.models import Event, EventGuest
from app.keys.models import ApiKey
from app.notifications.models import Notification, NotificationAttempt, WebhookEndpoint
from app.participants.models import Participant, Registration
from app.reminders.models import ReminderRule

__all__ = [
    "ApiKey",
    "City",
    "Event",
    "EventGuest",
    "FeedState",
    "FeedToken",
    "Notification",
    "NotificationAttempt",
    "Participant",
    "Partnership",
    "PartnershipStatusChange",
    "Registration",
    "ReminderRule",
    "WebhookEndpoint",
]
