"""Finding a twin: the candidate model kept fresh and served, and a city's searches.

**The model.** ``build_model`` learns from the whole network (``app.twins.model``):
every city is a node (id, name, country, coordinates, population), and every
twinning that is ``active`` or ``suspended`` is a link. Proposed and negotiating
partnerships are not links: they are not twinnings yet, and a reason such as
"twinned with 3 of Kostroma's twins" must be true; ended ones no longer are.
(A city's partnerships in *every* status, ended included, are still kept out of
its own candidates: see ``partnered_city_ids``.)

**Fresh, never built by a request.** ``network_fingerprint`` (how many cities and
partnerships, and when each last changed: one query) is stored with each model;
the worker compares it with the newest model's every minute and builds a new one
when they differ (``rebuild_if_stale``; ``twinplan build-candidates`` builds now).
Until a first model exists the candidate endpoints answer 503 with
``Retry-After``; a city added after the newest model was built likewise, until
the worker has caught up. Requests never build: learning from 5,500 cities takes
seconds to tens of seconds, and a request that did it would hold its connection
(and on SQLite the write lock) all that time. Between a change and the next build
the served model is at most a minute or two old; what a city is partnered with is
always read from the database, so a new partnership leaves the city's candidates
at once.

**Served from memory.** Each process keeps the newest model it has loaded; a
request asks the database for the newest model's id (one small query) and loads
the payload only when it changed.

**Searches.** A city's search for a twin (countries, notes, status) and the cities
it takes up: shortlisted (with the model's score and reasons at that moment),
contacted, declined, or proposed (a ``proposed`` partnership created through
``app.cities.service.create_partnership``, with its own rules, history and change
facts). Every change appends a ``SearchStep``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_
from sqlalchemy import select as columns
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.cities.models import City, Partnership, PartnershipCreate, PartnershipStatus
from app.cities.service import create_partnership, get_city
from app.core import clock
from app.core.actors import Actor
from app.core.errors import AppError, Conflict, Forbidden, NotFound, Unprocessable
from app.core.pagination import Page, PageParams, paginate
from app.twins import policy
from app.twins.model import FORMAT, Candidate, Model, Node
from app.twins.models import (
    CANDIDATE_TRANSITIONS,
    SEARCH_TRANSITIONS,
    WORKABLE,
    CandidateItem,
    CandidateList,
    CandidateModel,
    CandidateReason,
    CandidateState,
    CandidateUpdate,
    CityRef,
    Proposal,
    SearchCandidate,
    SearchCandidatePublic,
    SearchStatus,
    SearchStep,
    SearchStepPublic,
    Shortlisting,
    StepKind,
    SuggestionList,
    TwinSearch,
    TwinSearchCreate,
    TwinSearchDetail,
    TwinSearchPublic,
    TwinSearchUpdate,
)

# Twinnings the model learns from: the ones that are (still) twinnings.
LINK_STATUSES = (PartnershipStatus.active, PartnershipStatus.suspended)
# Seconds a caller is asked to wait while the worker builds the model.
MODEL_RETRY_AFTER = 60
# Times the model is asked again when candidates were deleted since it was built.
MAX_ASKS = 3
MAX_CANDIDATES = 50

NOT_READY = ("the candidate model is being built; the worker builds it (within a minute "
             "of starting, and again after every change to the network), or run "
             "`twinplan build-candidates`")


class ModelNotReady(AppError):
    """503: no candidate model yet, or none that knows the city; ``Retry-After`` says when
    to try again."""

    status_code, slug, title = 503, "candidates-not-ready", "Candidates not ready yet"

    def __init__(self, detail: str = NOT_READY) -> None:
        super().__init__(detail, retry_after=MODEL_RETRY_AFTER)


# The network and its fingerprint --------------------------------------------------


@dataclass(frozen=True)
class Network:
    """What a model is built from, and the fingerprint of the state it was read in."""

    fingerprint: str
    nodes: list[Node]
    links: list[tuple[int, int]]


def _stamp(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def network_fingerprint(session: Session) -> str:
    """How many cities and partnerships there are and when each last changed: any
    change a model would learn from (a city added, moved or deleted, a twinning
    created or its status changed) changes it; so does a new model format (the
    stored model is then rebuilt, not served). One query."""
    cities = columns(func.count()).select_from(City).scalar_subquery()
    city_changed = columns(func.max(col(City.updated_at))).scalar_subquery()
    partnerships = columns(func.count()).select_from(Partnership).scalar_subquery()
    partnership_changed = columns(func.max(col(Partnership.updated_at))).scalar_subquery()
    n, changed, m, p_changed = session.execute(
        columns(cities, city_changed, partnerships, partnership_changed)).one()
    return (f"model {FORMAT}; cities {n} {_stamp(changed)}; "
            f"partnerships {m} {_stamp(p_changed)}")


def node_of(city: City) -> Node:
    """A city as the model sees it."""
    assert city.id is not None
    return Node(id=city.id, name=city.name, country=city.country_code or "",
                lat=city.latitude, lon=city.longitude, population=city.population)


def read_network(session: Session) -> Network:
    """Every city as a node, and the active and suspended twinnings as links.

    The fingerprint is read first: a change that lands while the rest is read is
    then in the model but not in its fingerprint, and only costs one more build
    (the other order could miss it for good)."""
    fingerprint = network_fingerprint(session)
    nodes = [node_of(city) for city in session.exec(select(City).order_by(col(City.id)))]
    links = [
        (int(a), int(b)) for a, b in session.execute(
            columns(col(Partnership.city_a_id), col(Partnership.city_b_id))
            .where(col(Partnership.status).in_(LINK_STATUSES))
            .order_by(col(Partnership.id)))
    ]
    return Network(fingerprint=fingerprint, nodes=nodes, links=links)


def fit_network(network: Network) -> Model:
    """Learn the model (pure computation: call it outside any transaction)."""
    return Model.fit(network.nodes, network.links, seed=0)


def store_model(session: Session, network: Network, model: Model) -> CandidateModel:
    """Store a built model as the newest, and delete the older ones."""
    row = CandidateModel(built_at=clock.now(), cities=len(network.nodes),
                         links=len(network.links), fingerprint=network.fingerprint[:200],
                         payload=model.to_bytes())
    session.add(row)
    session.flush()
    session.execute(delete(CandidateModel).where(col(CandidateModel.id) < row.id))
    return row


@dataclass(frozen=True)
class Built:
    row: CandidateModel
    read_seconds: float
    learn_seconds: float
    store_seconds: float


def build_in_steps(sessions: Callable[[], AbstractContextManager[Session]], *,
                   if_stale: bool = False) -> Built | None:
    """Read the network, learn from it, store the model: three steps, so that no
    transaction is open while the model learns (seconds to tens of seconds at
    5,500 cities; on SQLite a write transaction would hold the database's write
    lock all along). With ``if_stale``, nothing when the network has not changed
    since the newest model. The worker and ``twinplan build-candidates`` use it."""
    started = time.perf_counter()
    with sessions() as session:
        if if_stale and not is_stale(session):
            return None
        network = read_network(session)
    read = time.perf_counter()
    model = fit_network(network)
    learnt = time.perf_counter()
    with sessions() as session:
        row = store_model(session, network, model)
        session.commit()
    return Built(row, read - started, learnt - read, time.perf_counter() - learnt)


def build_model(session: Session) -> CandidateModel:
    """Read the network, learn from it and store the model, in ``session``'s
    transaction (tests, small networks); see ``build_in_steps`` for big ones."""
    network = read_network(session)
    return store_model(session, network, fit_network(network))


def newest_fingerprint(session: Session) -> str | None:
    return session.exec(
        select(CandidateModel.fingerprint).order_by(col(CandidateModel.id).desc()).limit(1)
    ).first()


def is_stale(session: Session) -> bool:
    """No model yet, or the network changed since the newest was built."""
    stored = newest_fingerprint(session)
    return stored is None or stored != network_fingerprint(session)


def rebuild_if_stale(session: Session) -> bool:
    """Build a model if the network changed since the newest (or there is none)."""
    if not is_stale(session):
        return False
    build_model(session)
    return True


# Serving ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedModel:
    id: int
    built_at: datetime
    model: Model


_loaded: LoadedModel | None = None
_loading = threading.Lock()


def current_model(session: Session) -> LoadedModel:
    """The newest stored model, loaded once per process; 503 while there is none.

    One small query per call (the newest id); the payload is read and unpacked
    only when a newer model was stored. Keyed by id and build time, so a model
    stored under a reused id (SQLite, once every row was deleted) is not mistaken
    for the one in memory."""
    global _loaded
    for _ in range(3):  # the newest can be replaced between the two reads
        newest = session.execute(
            columns(col(CandidateModel.id), col(CandidateModel.built_at))
            .order_by(col(CandidateModel.id).desc()).limit(1)
        ).first()
        if newest is None:
            raise ModelNotReady()
        model_id, built_at = newest
        loaded = _loaded
        if loaded is not None and (loaded.id, loaded.built_at) == (model_id, built_at):
            return loaded
        with _loading:  # one thread unpacks; the others wait for it and reuse it
            loaded = _loaded
            if loaded is not None and (loaded.id, loaded.built_at) == (model_id, built_at):
                return loaded
            payload = session.exec(
                select(CandidateModel.payload).where(CandidateModel.id == model_id)
            ).first()
            if payload is None:
                continue
            try:
                model = Model.from_bytes(payload)
            except ValueError:  # an older format: the worker rebuilds it (fingerprint)
                raise ModelNotReady() from None
            _loaded = LoadedModel(id=model_id, built_at=built_at, model=model)
            return _loaded
    raise ModelNotReady()


def forget_loaded_model() -> None:
    """Drop the model this process holds (tests; a process that must free the memory)."""
    global _loaded
    with _loading:
        _loaded = None


def partnered_city_ids(session: Session, city_id: int) -> set[int]:
    """Every city ``city_id`` has a partnership with, in any status, ended included."""
    rows = session.execute(
        columns(col(Partnership.city_a_id), col(Partnership.city_b_id)).where(
            or_(col(Partnership.city_a_id) == city_id, col(Partnership.city_b_id) == city_id))
    ).all()
    return {b if a == city_id else a for a, b in rows}


def _ref(city: City) -> CityRef:
    assert city.id is not None
    return CityRef(id=city.id, name=city.name, country_code=city.country_code)


def _rank(
    session: Session, loaded: LoadedModel, city: City, countries: Sequence[str] | None,
    limit: int, exclude: Collection[int],
) -> list[CandidateItem]:
    """The model's best ``limit`` for ``city``, as the database knows them now.

    A candidate deleted since the model was built, or moved to a country not
    asked for, is left out and the model asked again without it (rare: the
    worker rebuilds within a minute). Asking for more than ``limit`` up front
    would cost every request the reasons of the extra candidates."""
    assert city.id is not None
    wanted = list(dict.fromkeys(countries)) if countries else None
    left_out = set(exclude)
    # A city added since the model was built: ranked from what is known of it.
    model = loaded.model.with_node(node_of(city))
    for _ in range(MAX_ASKS):
        found = model.rank(city.id, countries=wanted, limit=limit, exclude=left_out)
        ids = [c.city_id for c in found]
        cities = {c.id: c for c in session.exec(select(City).where(col(City.id).in_(ids)))}
        gone = {i for i in ids if i not in cities
                or (wanted is not None and cities[i].country_code not in wanted)}
        if not gone or len(found) < limit:
            break
        left_out |= gone
    return [
        CandidateItem(
            city=_ref(cities[c.city_id]), score=c.score,
            reasons=[CandidateReason(code=r.code, weight=r.weight, text=r.text,
                                     params=dict(r.params)) for r in c.reasons])
        for c in found if c.city_id not in gone
    ]


def city_candidates(
    session: Session, city_id: int, actor: Actor | None, *,
    countries: Sequence[str] | None = None, limit: int = 10,
) -> CandidateList:
    """The best ``limit`` cities for ``city_id`` to twin with (of ``countries`` if
    given), with their reasons; never the city itself or a city it has a
    partnership with in any status."""
    if not policy.can_read_candidates(actor):  # pragma: no cover - public today
        raise Forbidden("this key may not read candidates")
    city = get_city(session, city_id)
    loaded = current_model(session)
    items = _rank(session, loaded, city, countries, limit,
                  partnered_city_ids(session, city_id))
    return CandidateList(city_id=city_id, model_built_at=loaded.built_at, items=items)


def _pair(session: Session, city: City, other: City) -> Candidate | None:
    """The model's score and reasons for one pair, if it has them (no model yet, or
    the other city newer than it: None)."""
    assert city.id is not None and other.id is not None
    try:
        loaded = current_model(session)
    except ModelNotReady:
        return None
    # The model ranks; ranking its country with every other city of it left out
    # scores the one pair.
    others = session.exec(select(City.id).where(
        City.country_code == other.country_code, City.id != other.id)).all()
    try:
        found = loaded.model.with_node(node_of(city)).rank(
            city.id, countries=[other.country_code], limit=1,
            exclude=[i for i in others if i is not None])
    except KeyError:
        return None
    return found[0] if found and found[0].city_id == other.id else None


# Searches ---------------------------------------------------------------------------


def _countries(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _listed(countries: Sequence[str]) -> str:
    return ", ".join(countries) if countries else "anywhere"


def _step(
    session: Session, search: TwinSearch, actor: Actor, what: StepKind, *,
    city_id: int | None = None, from_state: str | None = None, to_state: str | None = None,
    note: str | None = None,
) -> None:
    assert search.id is not None
    session.add(SearchStep(
        search_id=search.id, city_id=city_id, what=what, from_state=from_state,
        to_state=to_state, note=note[:1000] if note else note, actor=actor.label[:200],
        at=clock.now()))


def _touch(session: Session, search: TwinSearch) -> None:
    search.updated_at = clock.now()
    session.add(search)


def _readable_search(session: Session, search_id: int, actor: Actor, *,
                     lock: bool = False) -> TwinSearch:
    search = session.get(TwinSearch, search_id, with_for_update=True if lock else None)
    if search is None:
        raise NotFound(f"twin search {search_id} does not exist")
    if not policy.can_read_searches(actor, search.city_id):
        raise Forbidden(f"this key may not see city {search.city_id}'s searches")
    return search


def _workable_search(session: Session, search_id: int, actor: Actor) -> TwinSearch:
    """The search, locked for the change, if ``actor`` may work it."""
    search = _readable_search(session, search_id, actor, lock=True)
    if not policy.can_work_searches(actor, search.city_id):
        raise Forbidden(f"this key may not change city {search.city_id}'s searches")
    return search


def _open_for_work(search: TwinSearch) -> None:
    if search.status not in WORKABLE:
        raise Conflict(f"twin search {search.id} is {search.status}; reopen it "
                       "(status open) to work its candidates")


def create_search(session: Session, city_id: int, data: TwinSearchCreate,
                  actor: Actor) -> TwinSearch:
    """Open a search for a twin for ``city_id`` (its coordinators, admins)."""
    city = get_city(session, city_id)
    if not policy.can_work_searches(actor, city_id):
        raise Forbidden(f"this key may not open searches for city {city_id}")
    countries = _countries(data.countries if data.countries is not None
                           else city.seeking_twin_in)
    now = clock.now()
    search = TwinSearch(city_id=city_id, countries=countries, notes=data.notes,
                        status=SearchStatus.open, created_by=actor.label[:200],
                        created_at=now, updated_at=now)
    session.add(search)
    session.flush()
    _step(session, search, actor, StepKind.opened, to_state=SearchStatus.open,
          note=_listed(countries))
    session.flush()
    return search


def list_searches(session: Session, city_id: int, actor: Actor,
                  page: PageParams) -> Page[TwinSearchPublic]:
    """A city's searches, newest first."""
    get_city(session, city_id)
    if not policy.can_read_searches(actor, city_id):
        raise Forbidden(f"this key may not see city {city_id}'s searches")
    query = (select(TwinSearch).where(TwinSearch.city_id == city_id)
             .order_by(col(TwinSearch.created_at).desc(), col(TwinSearch.id).desc()))
    rows, total = paginate(session, query, page)
    return Page(items=[TwinSearchPublic.model_validate(r) for r in rows], total=total,
                limit=page.limit, offset=page.offset)


def search_detail(session: Session, search_id: int, actor: Actor) -> TwinSearchDetail:
    """A search with its candidates and its history."""
    search = _readable_search(session, search_id, actor)
    return _detail(session, search)


def _detail(session: Session, search: TwinSearch) -> TwinSearchDetail:
    candidates = session.exec(select(SearchCandidate).where(
        SearchCandidate.search_id == search.id).order_by(col(SearchCandidate.id))).all()
    steps = session.exec(select(SearchStep).where(
        SearchStep.search_id == search.id).order_by(col(SearchStep.id))).all()
    ids = {c.city_id for c in candidates} | {s.city_id for s in steps if s.city_id}
    cities = {c.id: c for c in session.exec(select(City).where(col(City.id).in_(ids)))}
    return TwinSearchDetail(
        **TwinSearchPublic.model_validate(search).model_dump(),
        candidates=[_candidate_public(c, cities[c.city_id]) for c in candidates],
        history=[SearchStepPublic(
            what=s.what, city=_ref(cities[s.city_id]) if s.city_id in cities else None,
            from_state=s.from_state, to_state=s.to_state, note=s.note, actor=s.actor,
            at=s.at) for s in steps],
    )


def _candidate_public(candidate: SearchCandidate, city: City) -> SearchCandidatePublic:
    return SearchCandidatePublic(
        city=_ref(city), state=candidate.state, note=candidate.note, score=candidate.score,
        reasons=list(candidate.reasons), partnership_id=candidate.partnership_id,
        created_at=candidate.created_at, updated_at=candidate.updated_at)


def update_search(session: Session, search_id: int, data: TwinSearchUpdate,
                  actor: Actor) -> TwinSearchDetail:
    """Change where a search looks, its notes or its status; each change is a step."""
    search = _workable_search(session, search_id, actor)
    fields = data.model_dump(exclude_unset=True)
    changed = False
    if "countries" in fields:
        countries = _countries(fields["countries"] or [])
        if countries != list(search.countries):
            search.countries = countries
            _step(session, search, actor, StepKind.countries_changed, note=_listed(countries))
            changed = True
    if "notes" in fields and fields["notes"] != search.notes:
        search.notes = fields["notes"]
        _step(session, search, actor, StepKind.notes_changed)
        changed = True
    status = fields.get("status")
    if status is not None and status != search.status:
        previous = SearchStatus(search.status)
        if status not in SEARCH_TRANSITIONS[previous]:
            allowed = ", ".join(sorted(SEARCH_TRANSITIONS[previous]))
            raise Conflict(f"a search cannot go from {previous} to {status}; "
                           f"allowed next: {allowed}")
        search.status = status
        _step(session, search, actor, StepKind.status_changed, from_state=previous,
              to_state=status)
        changed = True
    if changed:
        _touch(session, search)
    session.flush()
    return _detail(session, search)


def search_suggestions(session: Session, search_id: int, actor: Actor,
                       limit: int) -> SuggestionList:
    """The model's candidates in the search's countries (anywhere if none), without
    the cities the search has taken up or the city is partnered with."""
    search = _readable_search(session, search_id, actor)
    assert search.id is not None
    city = get_city(session, search.city_id)
    loaded = current_model(session)
    taken = set(session.exec(select(SearchCandidate.city_id).where(
        SearchCandidate.search_id == search.id)).all())
    exclude = partnered_city_ids(session, search.city_id) | taken
    items = _rank(session, loaded, city, search.countries or None, limit, exclude)
    return SuggestionList(city_id=search.city_id, search_id=search.id,
                          model_built_at=loaded.built_at, items=items)


def shortlist(session: Session, search_id: int, data: Shortlisting,
              actor: Actor) -> SearchCandidatePublic:
    """Take a city up in the search, with the model's score and reasons at this moment."""
    search = _workable_search(session, search_id, actor)
    _open_for_work(search)
    assert search.id is not None
    if data.city_id == search.city_id:
        raise Unprocessable("a city cannot be its own twin", field="city_id")
    other = session.get(City, data.city_id)
    if other is None:
        raise Unprocessable(f"city {data.city_id} does not exist", field="city_id")
    taken = session.exec(select(SearchCandidate).where(
        SearchCandidate.search_id == search.id, SearchCandidate.city_id == data.city_id)).first()
    if taken is not None:
        raise Conflict(f"city {data.city_id} is already {taken.state} in twin search "
                       f"{search.id}")
    partnered = session.exec(select(Partnership).where(
        Partnership.city_a_id == min(search.city_id, data.city_id),
        Partnership.city_b_id == max(search.city_id, data.city_id))).first()
    if partnered is not None:
        raise Conflict(f"cities {search.city_id} and {data.city_id} already have partnership "
                       f"{partnered.id} ({partnered.status})", partnership_id=partnered.id)
    city = get_city(session, search.city_id)
    scored = _pair(session, city, other)
    now = clock.now()
    candidate = SearchCandidate(
        search_id=search.id, city_id=data.city_id, state=CandidateState.shortlisted,
        note=data.note, score=scored.score if scored else None,
        reasons=[r.text for r in scored.reasons] if scored else [],
        created_at=now, updated_at=now)
    try:
        with session.begin_nested():
            session.add(candidate)
            session.flush()
    except IntegrityError:
        # Another request took the same city up between our check and our insert.
        raise Conflict(f"city {data.city_id} is already in twin search {search.id}") from None
    _step(session, search, actor, StepKind.shortlisted, city_id=data.city_id,
          to_state=CandidateState.shortlisted, note=data.note)
    _touch(session, search)
    session.flush()
    return _candidate_public(candidate, other)


def _taken_up(session: Session, search: TwinSearch, city_id: int) -> SearchCandidate:
    candidate = session.exec(select(SearchCandidate).where(
        SearchCandidate.search_id == search.id, SearchCandidate.city_id == city_id
    ).with_for_update()).first()
    if candidate is None:
        raise NotFound(f"city {city_id} is not a candidate of twin search {search.id}; "
                       "shortlist it first")
    return candidate


def _move(candidate: SearchCandidate, to: CandidateState) -> CandidateState:
    previous = CandidateState(candidate.state)
    if to not in CANDIDATE_TRANSITIONS[previous]:
        allowed = ", ".join(sorted(CANDIDATE_TRANSITIONS[previous])) or "none (it is final)"
        raise Conflict(f"city {candidate.city_id} is {previous} in this search and cannot "
                       f"become {to}; allowed next: {allowed}")
    candidate.state = to
    candidate.updated_at = clock.now()
    return previous


def update_candidate(session: Session, search_id: int, city_id: int, data: CandidateUpdate,
                     actor: Actor) -> SearchCandidatePublic:
    """Record that a candidate was contacted, or declined."""
    search = _workable_search(session, search_id, actor)
    _open_for_work(search)
    candidate = _taken_up(session, search, city_id)
    to = CandidateState(data.state)
    previous = _move(candidate, to)
    if data.note is not None:
        candidate.note = data.note
    session.add(candidate)
    _step(session, search, actor, StepKind(to.value), city_id=city_id, from_state=previous,
          to_state=to, note=data.note)
    _touch(session, search)
    session.flush()
    return _candidate_public(candidate, get_city(session, city_id))


def propose(session: Session, search_id: int, city_id: int, data: Proposal | None,
            actor: Actor) -> SearchCandidatePublic:
    """Turn a candidate into a ``proposed`` partnership, through the cities' own
    service: its rules, its status history and its change facts apply."""
    search = _workable_search(session, search_id, actor)
    _open_for_work(search)
    candidate = _taken_up(session, search, city_id)
    previous = _move(candidate, CandidateState.proposed)
    note = data.note if data else None
    partnership = create_partnership(session, PartnershipCreate(
        city_a_id=search.city_id, city_b_id=city_id, status=PartnershipStatus.proposed,
        notes=note), actor)
    candidate.partnership_id = partnership.id
    session.add(candidate)
    _step(session, search, actor, StepKind.proposed, city_id=city_id, from_state=previous,
          to_state=CandidateState.proposed,
          note=note or f"partnership {partnership.id} proposed")
    _touch(session, search)
    session.flush()
    return _candidate_public(candidate, get_city(session, city_id))

