"""Every table, imported in one place so Alembic and the tests see the whole schema."""

from app.cities.models import City, Partnership, PartnershipStatusChange
from app.events.models import Event, EventGuest
from app.keys.models import ApiKey
from app.participants.models import Participant, Registration

__all__ = [
    "ApiKey",
    "City",
    "Event",
    "EventGuest",
    "Participant",
    "Partnership",
    "PartnershipStatusChange",
    "Registration",
]
