"""Who may see candidates and work a city's search for a twin: every rule, in one place.

Services call these; routers check nothing.

* A city's **candidates** (``GET /cities/{id}/candidates``) are public, like the
  twinnings they are computed from: anyone may read them, without a key.
* A city's **searches** are the council's working record (who was contacted, who
  declined, notes): its coordinators and partner systems read them, admins and the
  system too. Only its coordinators, admins and the system change them.
* A city's **twinnings' health** is computed from the events the caller may read;
  the **whole network's dormant twinnings** are for admins (and the system).
"""

from __future__ import annotations

from app.core.actors import Actor


def can_read_candidates(actor: Actor | None) -> bool:
    """Suggestions are computed from public twinnings: anyone, no key needed."""
    return True


def can_read_searches(actor: Actor, city_id: int) -> bool:
    """A city's searches: its coordinators and partner systems, admins, the system."""
    return actor.is_system or actor.is_admin or actor.speaks_for(city_id)


def can_work_searches(actor: Actor, city_id: int) -> bool:
    """Open, change and work a city's search (shortlist, contact, decline, propose):
    its coordinators, admins, the system. Partner systems only read."""
    return actor.is_system or actor.is_admin or actor.is_coordinator_of(city_id)


def can_list_dormant_twinnings(actor: Actor) -> bool:
    """The whole network's dormant twinnings: admins and the system. (A city sees
    the health of its own twinnings through its own view.)"""
    return actor.is_system or actor.is_admin
