"""Who is acting: the one actor model every policy reads.

An ``Actor`` is whoever a service works for: a caller holding an API key in a
role (``admin``; ``coordinator`` or ``partner`` of one city), or the system
itself (reminders, the worker, feed builds, the command line run on the
server). Domains decide what an actor may do in their own ``policy`` module;
nothing here knows any domain.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    admin = "admin"
    coordinator = "coordinator"
    partner = "partner"


# Roles that act for one city. (An admin acts for none and may do everything.)
CITY_ROLES = frozenset({Role.coordinator, Role.partner})


@dataclass(frozen=True)
class Actor:
    """A caller in a role, scoped to a city unless an admin; or the system.

    ``key_id`` names the API key the caller authenticated with, if any;
    ``user_id`` the person (signed in, ``session_id``, or holding a personal key).
    A person with no membership to act in has no role and may only read.
    """

    role: Role | None
    city_id: int | None = None
    key_id: int | None = None
    is_system: bool = False
    user_id: int | None = None
    session_id: int | None = None
    # The client address the request came from (audit records), if a request.
    address: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.admin

    def is_coordinator_of(self, city_id: int) -> bool:
        return self.role is Role.coordinator and self.city_id == city_id

    @classmethod
    def readers_in(cls, city_id: int) -> Actor:
        """A city's coordinators as the readers of a message written to them (a
        reminder): what it may show is what they may see."""
        return cls(role=Role.coordinator, city_id=city_id)

    @property
    def label(self) -> str:
        """Who this is, for the records a change leaves (e.g. who recorded a consent)."""
        if self.is_system:
            return "system"
        role = self.role or "no role"
        if self.user_id is not None:
            who = f"{role} user {self.user_id}"
        elif self.key_id is not None:
            who = f"{role} key {self.key_id}"
        else:
            who = str(self.role or "anonymous")
        return f"{who} of city {self.city_id}" if self.city_id is not None else who

    def speaks_for(self, city_id: int) -> bool:
        """A coordinator or partner system of this very city."""
        return self.role in CITY_ROLES and self.city_id == city_id


# Work the system does on its own: reminders, the worker, feed builds, the
# command line. Its rights are written in each domain's policy, by name.
SYSTEM = Actor(role=None, is_system=True)

# Nobody signed in: who a request without credentials writes as (a sign-in, say).
ANONYMOUS = Actor(role=None)

_ACTING = "twinplan.actor"


def bind(session: Any, actor: Actor | None) -> None:
    """Remember who this session's writes are done for (the request's caller).

    The key lookup binds every request's actor to the request's session, which
    the endpoint then writes with, so the data audit knows who wrote without
    any service passing it along. A session nobody bound (the worker, the
    command line) writes as the system.
    """
    session.info[_ACTING] = actor or ANONYMOUS


def acting(session: Any) -> Actor:
    """Who this session's writes are done for: the bound actor, else the system."""
    actor = session.info.get(_ACTING)
    return actor if isinstance(actor, Actor) else SYSTEM


def unbind(session: Any) -> None:
    """Forget the bound actor: the session's next writes are the system's again."""
    session.info.pop(_ACTING, None)
