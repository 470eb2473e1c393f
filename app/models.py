"""Every table, imported in one place so Alembic and the tests see the whole schema."""

from app.cities.models import City, Partnership, PartnershipStatusChange
from app.keys.models import ApiKey

__all__ = ["ApiKey", "City", "Partnership", "PartnershipStatusChange"]
