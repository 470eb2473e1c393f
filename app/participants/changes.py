"""What a change to a registration looks like to those who follow it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.core.changes import Change
from app.participants.models import Registration, RegistrationRole, RegistrationStatus


@dataclass(frozen=True)
class RegistrationChanged(Change):
    """A registration was made (``before`` is None) or moved from ``before`` to ``status``:
    confirmed, waitlisted, moved up, consented, cancelled, checked in."""

    registration_id: int
    event_id: int
    participant_id: int
    role: RegistrationRole
    before: RegistrationStatus | None
    status: RegistrationStatus
    is_minor: bool
    updated_at: datetime

    @classmethod
    def of(
        cls, registration: Registration, before: RegistrationStatus | None
    ) -> RegistrationChanged:
        assert registration.id is not None
        return cls(
            registration_id=registration.id,
            event_id=registration.event_id,
            participant_id=registration.participant_id,
            role=RegistrationRole(registration.role),
            before=before,
            status=RegistrationStatus(registration.status),
            is_minor=registration.is_minor,
            updated_at=registration.updated_at,
        )


@dataclass(frozen=True)
class ParticipantErased(Change):
    """A person's personal data was erased (``erase_participant``): whatever other
    domains keep about them (a guest's needs and medical notes) must go too."""

    participant_id: int
