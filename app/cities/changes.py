"""What a change to a twinning looks like to those who follow it."""

from __future__ import annotations

from dataclasses import dataclass

from app.cities.models import Partnership, PartnershipStatus
from app.core.changes import Change


@dataclass(frozen=True)
class PartnershipChanged(Change):
    """A twinning was created (``before`` is None) or changed; ``before`` and ``status``
    are its status on either side of the change."""

    partnership_id: int
    city_a_id: int
    city_b_id: int
    before: PartnershipStatus | None
    status: PartnershipStatus
    established_on: str | None

    @classmethod
    def of(cls, partnership: Partnership, before: PartnershipStatus | None) -> PartnershipChanged:
        assert partnership.id is not None
        return cls(
            partnership_id=partnership.id,
            city_a_id=partnership.city_a_id,
            city_b_id=partnership.city_b_id,
            before=before,
            status=PartnershipStatus(partnership.status),
            established_on=partnership.established_on,
        )
