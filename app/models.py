"""Every table, imported in one place so Alembic and the tests see the whole schema."""

from app.accounts.models import (
    AccessEvent,
    Invitation,
    Membership,
    PasswordReset,
    User,
    UserSession,
)
from app.calendars.models import FeedState, FeedToken
from app.cities.models import City, Partnership, PartnershipStatusChange
from app.events.models import Event, EventGuest
from app.keys.models import ApiKey
from app.notifications.models import Notification, NotificationAttempt, WebhookEndpoint
from app.participants.models import Participant, Registration
from app.reminders.models import ReminderOptOut, ReminderRule
from app.twins.models import CandidateModel, SearchCandidate, SearchStep, TwinSearch

__all__ = [
    "AccessEvent",
    "ApiKey",
    "CandidateModel",
    "City",
    "Event",
    "EventGuest",
    "FeedState",
    "FeedToken",
    "Invitation",
    "Membership",
    "Notification",
    "NotificationAttempt",
    "Participant",
    "PasswordReset",
    "Partnership",
    "PartnershipStatusChange",
    "Registration",
    "ReminderOptOut",
    "ReminderRule",
    "SearchCandidate",
    "SearchStep",
    "TwinSearch",
    "User",
    "UserSession",
    "WebhookEndpoint",
]
