"""Who may write a letterhead and download the papers: every rule, in one place.

Papers hold personal data (birth dates, passport numbers), so they go to fewer
people than the data itself: a person's papers to the coordinators of the host
city and of the person's home city, admins, and the person or their guardian
(a signed-in account whose email is the one on record for them); a delegation
list to the host's coordinators (every guest) and a guest city's coordinators
(their own delegation). A guest city's partner system may take its own
delegation's list as CSV: it already reads those people's data through the API,
and the CSV is how a city's registry keeps in step. The host's partner systems,
other cities and anonymous callers get nothing.
"""

from __future__ import annotations

from app.accounts.models import normalized_email
from app.core.actors import Actor, Role
from app.events.models import Event
from app.participants.models import Participant


def _trusted(actor: Actor) -> bool:
    return actor.is_system or actor.is_admin


def can_write_letterhead(actor: Actor, city_id: int) -> bool:
    """The city's own coordinators (and admins): it is their office's data."""
    return _trusted(actor) or actor.is_coordinator_of(city_id)


def is_person_or_guardian(account_email: str | None, participant: Participant) -> bool:
    """The signed-in account is the person's own, or their guardian's (by the email on
    record: an account's email was proven by its invitation or single sign-on)."""
    if not account_email:
        return False
    on_record = {normalized_email(e) for e in (participant.email, participant.guardian_email)
                 if e}
    return normalized_email(account_email) in on_record


def can_download_papers(actor: Actor, event: Event, participant: Participant,
                        account_email: str | None) -> bool:
    """A person's invitation letter or consent form."""
    return (_trusted(actor) or actor.is_coordinator_of(event.host_city_id)
            or actor.is_coordinator_of(participant.home_city_id)
            or is_person_or_guardian(account_email, participant))


def can_download_list(actor: Actor, event: Event, city_id: int | None, *, csv: bool) -> bool:
    """A delegation list: every guest (``city_id`` None) or one city's delegation."""
    if _trusted(actor) or actor.is_coordinator_of(event.host_city_id):
        return True
    own = city_id is not None and actor.city_id == city_id and city_id != event.host_city_id
    return own and (actor.role is Role.coordinator or (csv and actor.role is Role.partner))
