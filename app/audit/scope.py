"""What the audit records of a row, and whose it is: the per-table rules.

Three decisions live here, by table name (the audit knows no domain module):

* which tables are not audited: the audit itself and bookkeeping that records
  or caches what other tables already say (the change log, the outbox, the
  idempotency keys, sign-in sessions, the access audit, feed state, the twin
  candidate model, password-reset tokens, which the access audit records);
* which values are never copied: secrets (any column named like a hash, a
  secret, a token or a password) and a participant's personal data. An audit
  entry outlives an erasure (``erase_participant`` blanks the row, not the
  history), so a traveller's name, contacts, birth date and (medical) notes
  are recorded as changed, never as values: the entry still says who changed
  them and when;
* which cities' coordinators may read an entry: the city the row belongs to
  (an event's host, a participant's home city, both cities of a twinning, a
  registration's host and home city...), looked up through the parent row
  where the row itself names no city. Rows of no city (people's accounts,
  reminder opt-outs, admin keys) are for admins only.
"""

from __future__ import annotations

import re

# Bookkeeping: writes that record or cache what the audited tables already say.
NOT_AUDITED = frozenset({
    "audit_entry", "audit_entry_city",
    "change_log", "change_audience",
    "notification", "notification_attempt",
    "idempotency_key",
    "user_session", "password_reset",
    "access_event",
    "feed_state",
    "twin_candidate_model",
    "rate_limit_counter",
})

REDACTED = "***"
_SECRET = re.compile(r"hash|secret|token|password|csrf", re.IGNORECASE)

# Personal data that must not survive an erasure in the audit.
PERSONAL = {
    "participant": frozenset({"full_name", "external_id", "email", "phone", "birth_date",
                              "guardian_name", "guardian_email", "notes",
                              "passport_number", "passport_expiry", "nationality"}),
    "registration": frozenset({"consent_by"}),
    # Who meets a traveller names people ("Maral Orazova's family"); notes may too.
    "journey": frozenset({"met_by", "notes"}),
    # A household's identity and whereabouts; a guest's health and beliefs (diets).
    "host_family": frozenset({"household_name", "address", "email", "phone", "notes"}),
    "guest_needs": frozenset({"allergies", "diets", "medical_notes"}),
}


def is_withheld(table: str, column: str) -> bool:
    return bool(_SECRET.search(column)) or column in PERSONAL.get(table, ())


# The row names its cities itself.
OWN_CITIES: dict[str, tuple[str, ...]] = {
    "city": ("id",),
    "partnership": ("city_a_id", "city_b_id"),
    "event": ("host_city_id",),
    "participant": ("home_city_id",),
    "api_key": ("city_id",),
    "membership": ("city_id",),
    "invitation": ("city_id",),
    "webhook_endpoint": ("city_id",),
    "feed_token": ("city_id",),
    "reminder_rule": ("city_id",),
    "twin_search": ("city_id",),
    "external_calendar": ("city_id",),
    # A proposal is the two cities' negotiation: both read its history.
    "event_proposal": ("proposer_city_id",),
    "event_proposal_step": ("city_id",),
    # A journey is its travellers' home city's, and the host's (below).
    "journey": ("city_id",),
    "city_letterhead": ("city_id",),
    "host_family": ("city_id",),
}

# The row's cities are its parent's: (column here, parent table, the parent's city columns).
PARENT_CITIES: dict[str, tuple[tuple[str, str, tuple[str, ...]], ...]] = {
    # A guest city sees the event as the event's rules allow; its guest list is the host's.
    "event_guest": (("event_id", "event", ("host_city_id",)),),
    "registration": (("event_id", "event", ("host_city_id",)),
                     ("participant_id", "participant", ("home_city_id",))),
    "event_proposal": (("event_id", "event", ("host_city_id",)),),
    "event_proposal_step": (("event_id", "event", ("host_city_id",)),),
    "journey": (("event_id", "event", ("host_city_id",)),),
    "journey_traveller": (("journey_id", "journey", ("city_id",)),
                          ("event_id", "event", ("host_city_id",))),
    # The programme is the host's; a named person's home city sees who was named.
    "programme_item": (("event_id", "event", ("host_city_id",)),),
    "programme_item_person": (("participant_id", "participant", ("home_city_id",)),),
    # A guest's needs and placement are the host's and the guest's home city's.
    "guest_needs": (("event_id", "event", ("host_city_id",)),
                    ("participant_id", "participant", ("home_city_id",))),
    "placement": (("event_id", "event", ("host_city_id",)),),
    "placement_assignment": (("event_id", "event", ("host_city_id",)),
                             ("participant_id", "participant", ("home_city_id",))),
    "partnership_status_change": (("partnership_id", "partnership", ("city_a_id", "city_b_id")),),
    # ``city_id`` there is the candidate, not the searching city.
    "twin_search_candidate": (("search_id", "twin_search", ("city_id",)),),
    "twin_search_step": (("search_id", "twin_search", ("city_id",)),),
}
