"""Every table, imported in one place so Alembic and the tests see the whole schema."""

from app.accounts.models import (
    AccessEvent,
    Invitation,
    Membership,
    PasswordReset,
    User,
    UserSession,
)
from app.audit.models import AuditEntry, AuditEntryCity
from app.calendars.models import FeedState, FeedToken, FeedVersion
from app.changelog.models import ChangeAudience, ChangeEntry
from app.cities.models import City, Partnership, PartnershipStatusChange
from app.core.idempotency import IdempotencyKey
from app.core.ratelimit import RateLimitCounter
from app.documents.models import CityLetterhead
from app.events.models import Event, EventGuest
from app.events.proposal_models import EventProposal, EventProposalStep
from app.hosting.models import GuestNeeds, HostFamily, Placement, PlacementAssignment
from app.keys.models import ApiKey
from app.mirrors.models import ExternalCalendar
from app.notifications.models import Notification, NotificationAttempt, WebhookEndpoint
from app.participants.models import Participant, Registration
from app.programme.models import ProgrammeItem, ProgrammeItemPerson
from app.reminders.models import ReminderOptOut, ReminderRule
from app.travel.models import Journey, JourneyTraveller
from app.twins.models import CandidateModel, SearchCandidate, SearchStep, TwinSearch

__all__ = [
    "AccessEvent",
    "ApiKey",
    "AuditEntry",
    "AuditEntryCity",
    "CandidateModel",
    "ChangeAudience",
    "ChangeEntry",
    "City",
    "CityLetterhead",
    "Event",
    "EventGuest",
    "EventProposal",
    "EventProposalStep",
    "ExternalCalendar",
    "FeedState",
    "FeedToken",
    "FeedVersion",
    "GuestNeeds",
    "HostFamily",
    "IdempotencyKey",
    "Invitation",
    "Journey",
    "JourneyTraveller",
    "Membership",
    "Notification",
    "NotificationAttempt",
    "Participant",
    "PasswordReset",
    "ProgrammeItem",
    "ProgrammeItemPerson",
    "Placement",
    "PlacementAssignment",
    "Partnership",
    "PartnershipStatusChange",
    "RateLimitCounter",
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
