"""Connects every consumer of the domains' change facts (``app.core.changes``).

Importing this module is what makes the outbox, reminder planning, the
registration rules (an event's registrations follow the event) and the access
audit (keys issued) hear about changes: each consumer module connects its receivers when imported.
The entry points (``app.main``, ``app.cli``) import it; so does anything that
runs services without them. ``tests/core/test_changes.py`` checks the wiring.
"""

from app.accounts import service as accounts
from app.notifications import outbox
from app.participants import service as participants
from app.reminders import service as reminders

CONSUMERS = (accounts, outbox, participants, reminders)
