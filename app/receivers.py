"""Connects every consumer of the domains' change facts (``app.core.changes``).

Importing this module is what makes the outbox, the messages to participants
(``app.reminders.participant_messages``), reminder planning, the
registration rules (an event's registrations follow the event), the
programme (an event's items move with it), host families (an erased guest's
needs go), the change
log (change sync) and the access audit (keys issued) hear about changes: each
consumer module connects its receivers when imported. The data audit
(``app.audit``) and the feed versions (``app.calendars.versions``) listen to every
session's flushes instead, from the same import.
The entry points (``app.main``, ``app.cli``) import it; so does anything that
runs services without them. ``tests/core/test_changes.py`` checks the wiring.
"""

from app.accounts import service as accounts
from app.audit import service as audit
from app.calendars import versions as feed_versions
from app.changelog import service as changelog
from app.hosting import service as hosting
from app.notifications import outbox
from app.participants import service as participants
from app.programme import service as programme
from app.reminders import participant_messages
from app.reminders import service as reminders

CONSUMERS = (accounts, audit, changelog, feed_versions, hosting, outbox, participants,
             participant_messages, programme, reminders)
