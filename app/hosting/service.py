"""Host families, guests' needs and placements: the rules, one transaction per request.

Who may do what is ``app.hosting.policy``'s; the solver and the explanations are
``app.hosting.placement``'s, fed here with plain values read from the tables.

The guests of an event are the people of its guest cities holding a place
(confirmed, awaiting consent or chaperones; not waitlisted or cancelled) who are
minors, or every such person when the placement includes adults.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, delete, select

from app.cities.models import City
from app.core import changes, clock
from app.core.actors import Actor
from app.core.errors import AppError, Conflict, Forbidden, NotFound, Unprocessable
from app.events import service as events_service
from app.events.models import Event, EventKind
from app.hosting import placement, policy
from app.hosting.models import (
    Explanation,
    FamilyPlacement,
    GuestMove,
    GuestNeeds,
    GuestNeedsPublic,
    GuestNeedsWrite,
    GuestPlacement,
    HostFamily,
    HostFamilyCreate,
    HostFamilyUpdate,
    Placement,
    PlacementAssignment,
    PlacementPublic,
    PlacementRequest,
    PlacementStatus,
    UnplacedGuest,
)
from app.participants import policy as participants_policy
from app.participants.changes import ParticipantErased
from app.participants.models import HOLDING, Participant, Registration

HOSTED_KINDS = frozenset({EventKind.youth_exchange, EventKind.school_exchange})


class PlacementInfeasible(AppError):
    """No placement respects every hard rule; ``unplaced`` says who and why."""

    status_code, slug, title = 409, "placement-infeasible", "No placement possible"


class MoveRefused(AppError):
    """A coordinator's move would break a hard rule; ``reasons`` says which."""

    status_code, slug, title = 409, "placement-rule-broken", "Move breaks a placement rule"


# Families ---------------------------------------------------------------------------


def _require_families_of(session: Session, city_id: int, actor: Actor) -> None:
    if session.get(City, city_id) is None:
        raise NotFound(f"city {city_id} does not exist")
    if not policy.can_keep_families(actor, city_id):
        raise Forbidden("only the city's coordinators (or an admin) keep its host families")


def create_family(session: Session, city_id: int, data: HostFamilyCreate,
                  actor: Actor) -> HostFamily:
    _require_families_of(session, city_id, actor)
    family = HostFamily.model_validate(data, update={"city_id": city_id})
    family.languages = sorted(set(data.languages))
    family.diets = sorted({str(d) for d in data.diets})
    session.add(family)
    session.flush()
    return family


def families_query(session: Session, city_id: int, actor: Actor) -> Any:
    _require_families_of(session, city_id, actor)
    return select(HostFamily).where(HostFamily.city_id == city_id).order_by(col(HostFamily.id))


def get_family(session: Session, family_id: int, actor: Actor) -> HostFamily:
    """A family this caller keeps; 404 otherwise (a family's existence is its city's)."""
    family = session.get(HostFamily, family_id)
    if family is None or not policy.can_keep_families(actor, family.city_id):
        raise NotFound(f"host family {family_id} does not exist")
    return family


def update_family(session: Session, family_id: int, data: HostFamilyUpdate,
                  actor: Actor) -> HostFamily:
    family = get_family(session, family_id, actor)
    changes = data.model_dump(exclude_unset=True)
    for required in ("household_name", "places", "languages", "diets", "pets", "smoking"):
        if required in changes and changes[required] is None:
            raise Unprocessable(f"{required} cannot be removed", field=required)
    for listed in ("languages", "diets"):
        if listed in changes:
            changes[listed] = sorted({str(v) for v in changes[listed]})
    family.sqlmodel_update(changes)
    family.updated_at = clock.now()
    session.add(family)
    session.flush()
    return family


def delete_family(session: Session, family_id: int, actor: Actor) -> None:
    family = get_family(session, family_id, actor)
    hosting = session.exec(select(PlacementAssignment.event_id).where(
        PlacementAssignment.family_id == family_id)).first()
    if hosting is not None:
        raise Conflict(f"host family {family_id} is in the placement of event {hosting}; "
                       "move its guests first", event_id=hosting)
    session.delete(family)
    session.flush()


# Guests and their needs ---------------------------------------------------------------


@dataclass(frozen=True)
class EventGuest:
    registration: Registration
    participant: Participant


def _guests(session: Session, event: Event, *, include_adults: bool) -> list[EventGuest]:
    """The people to place: guest cities' people holding a place (minors only unless
    adults are included), in participant id order."""
    query = (
        select(Registration, Participant)
        .join(Participant, col(Participant.id) == Registration.participant_id)
        .where(Registration.event_id == event.id,
               col(Registration.status).in_(list(HOLDING)),
               Participant.home_city_id != event.host_city_id)
        .order_by(col(Participant.id))
    )
    if not include_adults:
        query = query.where(col(Registration.is_minor).is_(True))
    return [EventGuest(r, p) for r, p in session.exec(query).all()]


def _guest_of(session: Session, event: Event, participant_id: int, actor: Actor
              ) -> Participant:
    """A person registered for the event from one of its guest cities; 404 when not,
    or when the caller may not see the person."""
    found = session.exec(
        select(Participant)
        .join(Registration, col(Registration.participant_id) == Participant.id)
        .where(Registration.event_id == event.id, Participant.id == participant_id,
               Participant.home_city_id != event.host_city_id)
    ).first()
    if found is None or not participants_policy.can_read_participant(session, actor, found):
        raise NotFound(f"participant {participant_id} is not a guest of event {event.id}")
    return found


def _needs_row(session: Session, event_id: int, participant_id: int) -> GuestNeeds | None:
    return session.exec(select(GuestNeeds).where(
        GuestNeeds.event_id == event_id, GuestNeeds.participant_id == participant_id)).first()


def read_needs(session: Session, event_id: int, participant_id: int, actor: Actor
               ) -> GuestNeedsPublic:
    event = events_service.get_event(session, event_id, actor)
    participant = _guest_of(session, event, participant_id, actor)
    if not policy.can_read_needs(actor, event, participant):
        raise Forbidden("a guest's needs are for the coordinators of the two cities")
    row = _needs_row(session, event_id, participant_id)
    if row is None:
        return GuestNeedsPublic(event_id=event_id, participant_id=participant_id, allergies=[],
                                diets=[], languages=[], prefers_with_id=None,
                                sibling_of_id=None, medical_notes=None, updated_at=None)
    return GuestNeedsPublic.model_validate(row)


def _check_other_guest(session: Session, event: Event, participant_id: int,
                       other_id: int | None, field: str) -> None:
    if other_id is None:
        return
    if other_id == participant_id:
        raise Unprocessable(f"{field} names the guest themself", field=field)
    registered = session.exec(
        select(Registration.id)
        .join(Participant, col(Participant.id) == Registration.participant_id)
        .where(Registration.event_id == event.id, Registration.participant_id == other_id,
               Participant.home_city_id != event.host_city_id)
    ).first()
    if registered is None:
        raise Unprocessable(f"{field}: participant {other_id} is not a guest of event "
                            f"{event.id}", field=field)


def write_needs(session: Session, event_id: int, participant_id: int, data: GuestNeedsWrite,
                actor: Actor) -> GuestNeedsPublic:
    event = events_service.get_event(session, event_id, actor)
    participant = _guest_of(session, event, participant_id, actor)
    if not policy.can_write_needs(actor, participant):
        raise Forbidden("a guest's needs are recorded by the guest's home city")
    _check_other_guest(session, event, participant_id, data.prefers_with_id, "prefers_with_id")
    _check_other_guest(session, event, participant_id, data.sibling_of_id, "sibling_of_id")
    row = _needs_row(session, event_id, participant_id) or GuestNeeds(
        event_id=event_id, participant_id=participant_id)
    row.allergies = sorted({str(a) for a in data.allergies})
    row.diets = sorted({str(d) for d in data.diets})
    row.languages = sorted(set(data.languages))
    row.prefers_with_id, row.sibling_of_id = data.prefers_with_id, data.sibling_of_id
    row.medical_notes = data.medical_notes
    row.updated_at = clock.now()
    session.add(row)
    session.flush()
    return GuestNeedsPublic.model_validate(row)


# Placement ------------------------------------------------------------------------------


def _as_family(family: HostFamily) -> placement.Family:
    assert family.id is not None
    return placement.Family(
        id=family.id, name=family.household_name, places=family.places, pets=family.pets,
        smoking=family.smoking, diets=frozenset(family.diets),
        languages=frozenset(family.languages))


def _as_guests(session: Session, event: Event, guests: Sequence[EventGuest],
               pins: dict[int, int]) -> list[placement.Guest]:
    ids = [g.participant.id for g in guests]
    needs = {n.participant_id: n for n in session.exec(select(GuestNeeds).where(
        GuestNeeds.event_id == event.id, col(GuestNeeds.participant_id).in_(ids))).all()}
    out = []
    for g in guests:
        assert g.participant.id is not None
        n = needs.get(g.participant.id)
        out.append(placement.Guest(
            id=g.participant.id, name=g.participant.full_name,
            is_minor=g.registration.is_minor,
            allergies=frozenset(n.allergies) if n else frozenset(),
            diets=frozenset(n.diets) if n else frozenset(),
            languages=frozenset(n.languages) if n else frozenset(),
            prefers_with=n.prefers_with_id if n else None,
            sibling_of=n.sibling_of_id if n else None,
            pinned_family=pins.get(g.participant.id)))
    return out


def _hosted_event(session: Session, event_id: int, actor: Actor) -> Event:
    """The event, for placing its guests: the host's coordinators only."""
    event = events_service.get_event(session, event_id, actor)
    if not policy.can_place(actor, event):
        raise Forbidden("only the host city's coordinators (or an admin) place guests")
    if event.kind not in HOSTED_KINDS:
        raise Conflict(f"event {event_id} is a {event.kind}; guests stay with host families "
                       "at youth and school exchanges only")
    return event


def _families_for(session: Session, event: Event, family_ids: list[int] | None
                  ) -> list[HostFamily]:
    query = select(HostFamily).where(HostFamily.city_id == event.host_city_id)
    if family_ids is not None:
        query = query.where(col(HostFamily.id).in_(family_ids))
    families = list(session.exec(query.order_by(col(HostFamily.id))).all())
    missing = sorted(set(family_ids or ()) - {f.id for f in families})
    if missing:
        raise Unprocessable(f"not host families of city {event.host_city_id}: "
                            f"{', '.join(map(str, missing))}", field="family_ids")
    return families


def _assignments(session: Session, event_id: int) -> list[PlacementAssignment]:
    return list(session.exec(select(PlacementAssignment).where(
        PlacementAssignment.event_id == event_id)).all())


def propose(session: Session, event_id: int, request: PlacementRequest, actor: Actor
            ) -> PlacementPublic:
    """Place the event's guests afresh, keeping pinned guests where they are; refused
    (409) once the placement is confirmed, or when no placement keeps every rule."""
    event = _hosted_event(session, event_id, actor)
    current = session.get(Placement, event_id)
    if current is not None and current.status == PlacementStatus.confirmed:
        raise Conflict("the placement is confirmed; move guests one at a time (PUT), or "
                       "open it again (PATCH status proposed)")
    guests = _guests(session, event, include_adults=request.include_adults)
    families = _families_for(session, event, request.family_ids)
    before = _assignments(session, event_id)
    pins = {a.participant_id: a.family_id for a in before if a.pinned and request.keep_pinned}
    solver_guests = _as_guests(session, event, guests, pins)
    rules = placement.Rules(request.min_minors_per_family, request.time_limit_seconds)
    outcome = placement.solve(solver_guests, [_as_family(f) for f in families], rules,
                              previous={a.participant_id: a.family_id for a in before})
    if not outcome.feasible:
        names = {g.id: g.name for g in solver_guests}
        unplaced = [UnplacedGuest(participant_id=g, name=names[g], reasons=why)
                    for g, why in sorted(outcome.unplaced.items())]
        raise PlacementInfeasible(
            f"{len(unplaced)} of {len(solver_guests)} guests cannot be placed: "
            + "; ".join(f"{u.name}: {', '.join(u.reasons)}" for u in unplaced[:5]),
            unplaced=[u.model_dump() for u in unplaced])
    now = clock.now()
    row = current or Placement(event_id=event_id, created_at=now)
    row.min_minors_per_family, row.include_adults = (request.min_minors_per_family,
                                                     request.include_adults)
    row.updated_at = now
    session.add(row)
    session.flush()
    session.execute(delete(PlacementAssignment).where(
        col(PlacementAssignment.event_id) == event_id))
    for guest_id, family_id in sorted(outcome.assignment.items()):
        session.add(PlacementAssignment(event_id=event_id, participant_id=guest_id,
                                        family_id=family_id, pinned=guest_id in pins,
                                        updated_at=now))
    session.flush()
    return _public(session, event, row, actor, solver=outcome.status)


def _placement_of(session: Session, event: Event) -> Placement:
    row = session.get(Placement, event.id)
    if row is None:
        raise NotFound(f"event {event.id} has no placement yet; propose one (POST)")
    return row


@dataclass
class _State:
    """A placement as the solver's values: guests, families, rules, assignment."""

    guests: list[placement.Guest]
    families: dict[int, HostFamily]
    rules: placement.Rules
    assignment: dict[int, int]
    people: dict[int, EventGuest]


def _state(session: Session, event: Event, row: Placement) -> _State:
    guests = _guests(session, event, include_adults=row.include_adults)
    assignments = {a.participant_id: a for a in _assignments(session, event.id or 0)}
    pins = {g: a.family_id for g, a in assignments.items() if a.pinned}
    families = {f.id or 0: f for f in session.exec(select(HostFamily).where(
        HostFamily.city_id == event.host_city_id)).all()}
    return _State(
        guests=_as_guests(session, event, guests, pins), families=families,
        rules=placement.Rules(row.min_minors_per_family),
        assignment={g: a.family_id for g, a in assignments.items()},
        people={g.participant.id or 0: g for g in guests})


def _problems(state: _State) -> dict[int, list[str]]:
    found = placement.violations(state.assignment, state.guests,
                                 [_as_family(f) for f in state.families.values()], state.rules)
    return {g: [r for r in why if r != "has no family"] for g, why in found.items()}


def _public(session: Session, event: Event, row: Placement, actor: Actor,
            solver: str | None = None) -> PlacementPublic:
    state = _state(session, event, row)
    city = policy.placement_city(actor, event)
    problems = _problems(state)
    visible = [g for g in state.guests
               if city is None or state.people[g.id].participant.home_city_id == city]
    guests, unplaced = [], []
    hosting: dict[int, list[int]] = {}
    for g in visible:
        family = state.families.get(state.assignment.get(g.id, 0))
        if family is None:
            unplaced.append(g.id)
        else:
            hosting.setdefault(family.id or 0, []).append(g.id)
        words = ([] if family is None else
                 placement.explain(g, _as_family(family), state.assignment, state.guests))
        guests.append(GuestPlacement(
            participant_id=g.id, name=g.name,
            home_city_id=state.people[g.id].participant.home_city_id, is_minor=g.is_minor,
            family_id=family.id if family else None,
            household_name=family.household_name if family else None,
            pinned=g.pinned_family is not None,
            explanations=[Explanation(code=w.code, en=w.en, ru=w.ru) for w in words],
            problems=problems.get(g.id, [])))
    families = [FamilyPlacement(family_id=f.id or 0, household_name=f.household_name,
                                address=f.address, email=f.email, phone=f.phone,
                                places=f.places, guest_ids=hosting[f.id or 0])
                for f in sorted(state.families.values(), key=lambda f: f.id or 0)
                if (f.id or 0) in hosting]
    return PlacementPublic(
        event_id=row.event_id, status=row.status,
        min_minors_per_family=row.min_minors_per_family, include_adults=row.include_adults,
        created_at=row.created_at, updated_at=row.updated_at, confirmed_at=row.confirmed_at,
        families=families, guests=guests, unplaced=unplaced, solver=solver)


def read(session: Session, event_id: int, actor: Actor) -> PlacementPublic:
    """The host's side reads every guest; a guest city's coordinators their own."""
    event = events_service.get_event(session, event_id, actor)
    guest_cities = events_service.guest_ids_of(session, [event_id])[event_id]
    if not policy.can_read_placement(actor, event, set(guest_cities)):
        raise Forbidden("a placement is read by the coordinators of the cities taking part")
    return _public(session, event, _placement_of(session, event), actor)


def move(session: Session, event_id: int, participant_id: int, data: GuestMove,
         actor: Actor) -> PlacementPublic:
    """Put a guest (and their siblings, who stay together) with a family, pinned unless
    said otherwise; refused (409, with the reasons) if it breaks a hard rule that
    held before."""
    event = _hosted_event(session, event_id, actor)
    row = _placement_of(session, event)
    state = _state(session, event, row)
    if participant_id not in state.people:
        raise NotFound(f"participant {participant_id} is not among the guests to place at "
                       f"event {event_id}")
    if data.family_id not in state.families:
        raise Unprocessable(f"host family {data.family_id} is not a family of city "
                            f"{event.host_city_id}", field="family_id")
    group = next((g for g in placement.sibling_groups(state.guests) if participant_id in g),
                 [participant_id])
    before = _problems(state)
    state.assignment.update(dict.fromkeys(group, data.family_id))
    broken = {g: sorted(set(why) - set(before.get(g, [])))
              for g, why in _problems(state).items()}
    broken = {g: why for g, why in broken.items() if why}
    if broken:
        names = {g.id: g.name for g in state.guests}
        raise MoveRefused(
            "the move breaks a rule: " + "; ".join(
                f"{names[g]}: {', '.join(why)}" for g, why in sorted(broken.items())),
            reasons=[{"participant_id": g, "name": names[g], "reasons": why}
                     for g, why in sorted(broken.items())])
    now = clock.now()
    for member in group:
        assignment = session.get(PlacementAssignment, (event_id, member)) or \
            PlacementAssignment(event_id=event_id, participant_id=member, family_id=0)
        assignment.family_id, assignment.pinned = data.family_id, data.pinned
        assignment.updated_at = now
        session.add(assignment)
    row.updated_at = now
    session.add(row)
    session.flush()
    return _public(session, event, row, actor)


def set_status(session: Session, event_id: int, status: PlacementStatus, actor: Actor
               ) -> PlacementPublic:
    """Confirm the placement (every guest placed, no rule broken: 409 otherwise), or
    open it again as proposed."""
    event = _hosted_event(session, event_id, actor)
    row = _placement_of(session, event)
    if status == PlacementStatus.confirmed:
        _check_complete(_state(session, event, row))
    if row.status != status:
        confirmed = status == PlacementStatus.confirmed
        row.status = status
        row.updated_at = clock.now()
        row.confirmed_at = row.updated_at if confirmed else None
        row.confirmed_by = actor.label[:200] if confirmed else None
        session.add(row)
        session.flush()
    return _public(session, event, row, actor)


def _check_complete(state: _State) -> None:
    missing = [g.name for g in state.guests if g.id not in state.assignment]
    problems = _problems(state)
    if missing or any(problems.values()):
        names = {g.id: g.name for g in state.guests}
        why = [f"{n}: no family yet" for n in missing] + [
            f"{names[g]}: {', '.join(r)}" for g, r in sorted(problems.items()) if r]
        raise Conflict("the placement cannot be confirmed: " + "; ".join(why))


@changes.receiver(ParticipantErased)
def forget_erased_guest(change: ParticipantErased, session: Session) -> None:
    """An erased person's needs (allergies, diets, medical notes) go with their other
    personal data, at every event; their upcoming places are already given up."""
    session.execute(delete(GuestNeeds).where(
        col(GuestNeeds.participant_id) == change.participant_id))
