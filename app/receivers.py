"""Connects every consumer of the domains' change facts (``app.core.changes``).

Importing this module is what makes the outbox and reminder planning hear
about changes: each consumer module connects its receivers when imported.
The entry points (``app.main``, ``app.cli``) import it; so does anything that
runs services without them. ``tests/core/test_changes.py`` checks the wiring.
"""

from app.notifications import outbox
from app.reminders import service as reminders

CONSUMERS = (outbox, reminders)
