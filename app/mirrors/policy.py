"""Who may mirror a calendar into a city, and who may see how it goes.

Mirrored events are filed as the city's own events, in its lists and feeds,
so only those who speak for the city may add a calendar to it: its
coordinators (and admins). A twin's coordinator may not register Ferrara's
calendar for Ferrara, though it is public: that would put events into a
city's plans in its name, which is the city's call; a twin can ask. The
city's keys (coordinator and partner systems) read the calendars' status.
"""

from __future__ import annotations

from app.core.actors import Actor


def can_manage_calendars(actor: Actor, city_id: int) -> bool:
    """Register, delete and poll the city's calendars."""
    return actor.is_system or actor.is_admin or actor.is_coordinator_of(city_id)


def can_read_calendars(actor: Actor, city_id: int) -> bool:
    """See the city's calendars, their addresses and how their polls went."""
    return actor.is_system or actor.is_admin or actor.speaks_for(city_id)
