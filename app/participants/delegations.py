"""A city's delegation to an event, uploaded at once: matched, registered, reported.

Each person is found among the home city's participants by ``external_id``, then
by email, or created; then registered through ``service.register`` as if one at a
time, in the order sent (so the waitlist takes them in that order). Every row runs
in a savepoint of its own inside one savepoint for the whole delegation: a refused
row is reported and undone, and if any row is refused (or it is a dry run) the
whole delegation is undone, so a bad row never leaves half a delegation behind.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.cities.models import City
from app.core.actors import Actor
from app.core.errors import AppError, Forbidden, Unprocessable
from app.events import service as events_service
from app.participants import service
from app.participants.models import (
    DELEGATION_COLUMNS,
    DELEGATION_MAX,
    DelegateOutcome,
    DelegateResult,
    DelegateRow,
    DelegationResult,
    Participant,
    RegistrationCreate,
    default_language,
)

_TRUE = {"1", "true", "yes", "y", "x"}


class DelegationRefused(AppError):
    """A delegation with refused rows: nothing was stored; ``results`` says why."""

    status_code, slug, title = 422, "delegation-refused", "Delegation refused"


_FALSE = {"", "0", "false", "no", "n"}


def rows_from_csv(data: bytes) -> list[DelegateRow]:
    """The documented CSV (UTF-8, a header naming the columns) as rows; a 422 naming
    every bad cell by row and column otherwise."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unprocessable("the CSV must be UTF-8") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in reader.fieldnames or []]
    unknown = [h for h in header if h not in DELEGATION_COLUMNS]
    missing = [h for h in ("full_name", "role") if h not in header]
    if unknown or missing:
        raise Unprocessable(
            "the CSV header must name columns among " + ", ".join(DELEGATION_COLUMNS)
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
            + (f"; missing: {', '.join(missing)}" if missing else ""))
    reader.fieldnames = header
    rows: list[DelegateRow] = []
    errors: list[dict[str, Any]] = []
    for number, raw in enumerate(reader, start=1):
        if number > DELEGATION_MAX:
            raise Unprocessable(f"a delegation has at most {DELEGATION_MAX} people")
        if None in raw:  # more cells than the header names
            errors.append({"loc": ("body", "people", number - 1), "type": "value_error",
                           "msg": "more cells than the header has columns", "input": None})
            continue
        cells = {k: (v or "").strip() for k, v in raw.items()}
        leader = cells.pop("leader", "").lower()
        values: dict[str, Any] = {k: v for k, v in cells.items() if v}
        if leader not in _TRUE | _FALSE:
            errors.append({"loc": ("body", "people", number - 1, "leader"),
                           "type": "value_error", "msg": "leader is yes or no", "input": leader})
            continue
        values["leader"] = leader in _TRUE
        try:
            rows.append(DelegateRow.model_validate(values))
        except ValidationError as exc:
            errors += [{**e, "loc": ("body", "people", number - 1, *e["loc"])}
                       for e in exc.errors(include_url=False)]
    if errors:
        raise RequestValidationError(errors)
    if not rows:
        raise Unprocessable("the CSV holds nobody")
    return rows


def _match(session: Session, city_id: int, row: DelegateRow) -> tuple[Participant, str]:
    """The home city's participant this row is, or a new one."""
    def find(*where: Any) -> Participant | None:
        return session.exec(select(Participant).where(
            Participant.home_city_id == city_id, col(Participant.erased_at).is_(None), *where,
        ).order_by(col(Participant.id)).limit(1)).first()

    if row.external_id and (found := find(Participant.external_id == row.external_id)):
        return found, "external_id"
    if row.email and (found := find(Participant.email == row.email)):
        if row.external_id and found.external_id is None:
            found.external_id = row.external_id
            session.add(found)
        return found, "email"
    city = session.get(City, city_id)
    assert city is not None
    person = Participant(full_name=row.full_name, external_id=row.external_id,
                         email=row.email, phone=row.phone, home_city_id=city_id,
                         birth_date=row.birth_date, guardian_name=row.guardian_name,
                         guardian_email=row.guardian_email,
                         language=row.language or default_language(city.country_code))
    session.add(person)
    session.flush()
    return person, "created"


def upload(session: Session, event_id: int, city_id: int | None, rows: Sequence[DelegateRow],
           actor: Actor, *, dry_run: bool = False) -> DelegationResult:
    event = service.followed_event(session, event_id, actor)
    events_service.refuse_external(event)  # before anyone is matched or created
    home = city_id if city_id is not None else actor.city_id
    if home is None:
        raise Unprocessable("say whose delegation this is: city_id", field="city_id", where="query")
    if not (actor.is_admin or actor.is_system or actor.speaks_for(home)):
        raise Forbidden("a city uploads its own delegation")
    if home not in service.event_city_ids(session, event):
        raise Forbidden(f"city {home} does not take part in event {event_id}")
    if sum(r.leader for r in rows) > 1:
        raise Unprocessable("a delegation has at most one leader", field="people")

    results: list[DelegateResult] = []
    whole = session.begin_nested()
    for number, row in enumerate(rows, start=1):
        one = session.begin_nested()
        try:
            person, how = _match(session, home, row)
            registration = service.register(session, event_id, RegistrationCreate(
                participant_id=person.id or 0, role=row.role), actor)
            if row.leader:
                registration.is_leader = True
                session.add(registration)
                session.flush()
            one.commit()
        except (AppError, IntegrityError) as exc:
            one.rollback()
            reason = (exc.detail if isinstance(exc, AppError)
                      else "the person was created by another upload at the same moment; "
                      "send again")
            results.append(DelegateResult(row=number, full_name=row.full_name,
                                          outcome=DelegateOutcome.refused, reason=reason))
            continue
        results.append(DelegateResult(
            row=number, full_name=row.full_name,
            outcome=DelegateOutcome(str(registration.status)), matched_by=how,
            participant_id=person.id, registration_id=registration.id))
    refused = any(r.outcome is DelegateOutcome.refused for r in results)
    stored = not (refused or dry_run)
    positions = service.waitlist_positions(session, event_id)
    for r in results:
        if r.outcome is DelegateOutcome.waitlisted and r.registration_id is not None:
            r.waitlist_position = positions.get(r.registration_id)
        if not stored:
            r.registration_id = None
            if r.matched_by == "created":
                r.participant_id = None
    if stored:
        whole.commit()
    else:
        whole.rollback()
    return DelegationResult(event_id=event.id or 0, city_id=home, dry_run=dry_run,
                            stored=stored, results=results,
                            counts=dict(Counter(str(r.outcome) for r in results)))
