"""Rules for cities and partnerships: plain functions over a session."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar
from unidecode import unidecode

from app.cities import geo, policy
from app.cities.changes import PartnershipChanged
from app.cities.models import (
    ALLOWED_TRANSITIONS,
    SEARCH_KEY_LENGTH,
    City,
    CityCreate,
    CityUpdate,
    Partnership,
    PartnershipCreate,
    PartnershipStatus,
    PartnershipStatusChange,
    PartnershipUpdate,
)
from app.core import changes
from app.core.actors import Actor, Role
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, Unprocessable

ADMIN_ONLY = "this action needs an admin key"


def fold(text: str) -> str:
    """Lower-case ASCII form of a name: 'Orël' and 'Орёл' both become 'orel'."""
    return " ".join(unidecode(text).lower().split())


def search_key(names: Sequence[str]) -> str:
    """The folded names, searchable by word prefix. Transliteration can make a name
    several times longer (one Chinese character becomes a syllable); names that no
    longer fit the column are left out of the key, the first (the city's own name)
    never: a city stays findable by it, and nothing a caller sends overflows."""
    # A leading space lets "LIKE '% q%'" match the start of any word of any name.
    key = ""
    for folded in (fold(n) for n in names if n):
        longer = (key + " | " if key else " ") + folded
        if len(longer) > SEARCH_KEY_LENGTH:
            if not key:
                return longer[:SEARCH_KEY_LENGTH]
            break
        key = longer
    return key


def resolve_timezone(
    country_code: str, timezone: str | None, lat: float | None, lng: float | None
) -> str:
    if timezone:
        return timezone
    try:
        return geo.derive_timezone(country_code, lat, lng)
    except geo.TimezoneNotDerivable as exc:
        raise Unprocessable(f"cannot derive the timezone: {exc}") from None


def get_city(session: Session, city_id: int) -> City:
    city = session.get(City, city_id)
    if city is None:
        raise NotFound(f"city {city_id} does not exist")
    return city


def create_city(session: Session, data: CityCreate, actor: Actor) -> City:
    if not policy.can_manage_cities(actor):
        raise Forbidden(ADMIN_ONLY)
    city = City.model_validate(
        data,
        update={
            "timezone": resolve_timezone(
                data.country_code, data.timezone, data.latitude, data.longitude
            ),
            "search_key": search_key([data.name, *data.alternate_names]),
        },
    )
    if data.wikidata_id and _wikidata_taken(session, data.wikidata_id):
        raise Conflict(f"a city with wikidata_id {data.wikidata_id} already exists")
    session.add(city)
    session.flush()
    return city


def _wikidata_taken(session: Session, wikidata_id: str, but: int | None = None) -> bool:
    query = select(City.id).where(City.wikidata_id == wikidata_id)
    if but is not None:
        query = query.where(City.id != but)
    return session.exec(query).first() is not None


def update_city(session: Session, city_id: int, data: CityUpdate, actor: Actor) -> City:
    city = get_city(session, city_id)
    if not policy.can_edit_city(actor, city_id):
        raise Forbidden(f"this key may not change city {city_id}'s data")
    fields: dict[str, Any] = data.model_dump(exclude_unset=True)
    for required in ("name", "country_code", "require_totp"):
        if required in fields and fields[required] is None:
            raise Unprocessable(f"{required} cannot be removed")
    if fields.get("wikidata_id") and _wikidata_taken(session, fields["wikidata_id"], city.id):
        raise Conflict(f"a city with wikidata_id {fields['wikidata_id']} already exists")
    for list_field in ("alternate_names", "seeking_twin_in"):
        if list_field in fields and fields[list_field] is None:
            fields[list_field] = []
    moved = {"country_code", "latitude", "longitude"} & fields.keys()
    if fields.get("timezone") is None and moved:
        # The place moved and no zone was given: derive it again.
        fields.pop("timezone", None)
        fields["timezone"] = resolve_timezone(
            fields.get("country_code", city.country_code),
            None,
            fields.get("latitude", city.latitude),
            fields.get("longitude", city.longitude),
        )
    elif "timezone" in fields and fields["timezone"] is None:
        fields.pop("timezone")
    city.sqlmodel_update(fields)
    if (city.latitude is None) != (city.longitude is None):
        raise Unprocessable("give both latitude and longitude, or neither")
    city.search_key = search_key([city.name, *city.alternate_names])
    city.updated_at = utcnow()
    session.add(city)
    session.flush()
    return city


def delete_city(session: Session, city_id: int, actor: Actor) -> None:
    """Delete a city nothing refers to; 409 while partnerships, keys or events do."""
    if not policy.can_manage_cities(actor):
        raise Forbidden(ADMIN_ONLY)
    city = get_city(session, city_id)
    try:
        with session.begin_nested():
            session.delete(city)
            session.flush()
    except IntegrityError:
        raise Conflict(
            f"city {city.id} is still referenced (partnerships, API keys or events); "
            "remove those first"
        ) from None


def city_query(q: str | None = None, country_code: str | None = None) -> SelectOfScalar[City]:
    query = select(City)
    if q:
        folded = fold(q).replace("\\", "").replace("%", "").replace("_", "")
        if folded:
            query = query.where(col(City.search_key).like(f"% {folded}%"))
    if country_code:
        query = query.where(City.country_code == country_code.upper())
    return query.order_by(col(City.name), col(City.id))


# Partnerships ---------------------------------------------------------------


def ordered_pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def get_partnership(session: Session, partnership_id: int) -> Partnership:
    partnership = session.get(Partnership, partnership_id)
    if partnership is None:
        raise NotFound(f"partnership {partnership_id} does not exist")
    return partnership


def find_partnership(session: Session, city_x: int, city_y: int) -> Partnership | None:
    a, b = ordered_pair(city_x, city_y)
    return session.exec(
        select(Partnership).where(Partnership.city_a_id == a, Partnership.city_b_id == b)
    ).first()


def _record_status(
    session: Session,
    partnership: Partnership,
    previous: PartnershipStatus | None,
    changed_on: str | None,
    note: str | None = None,
) -> None:
    assert partnership.id is not None
    session.add(
        PartnershipStatusChange(
            partnership_id=partnership.id,
            from_status=previous,
            to_status=partnership.status,
            changed_on=changed_on or date.today().isoformat(),
            note=note,
        )
    )


def _require_partnership_rights(actor: Actor, city_a_id: int, city_b_id: int) -> None:
    if actor.role is Role.partner:
        raise Forbidden("partner keys cannot create or change partnerships")
    if not policy.can_change_partnership(actor, city_a_id, city_b_id):
        raise Forbidden(
            "this key may only change data of its own city "
            f"(this involves cities {city_a_id}, {city_b_id})"
        )


def create_partnership(session: Session, data: PartnershipCreate, actor: Actor) -> Partnership:
    _require_partnership_rights(actor, data.city_a_id, data.city_b_id)
    for city_id in (data.city_a_id, data.city_b_id):
        if session.get(City, city_id) is None:
            raise Unprocessable(f"city {city_id} does not exist")
    a, b = ordered_pair(data.city_a_id, data.city_b_id)
    existing = find_partnership(session, a, b)
    if existing is not None:
        raise Conflict(
            f"cities {a} and {b} already have partnership {existing.id}",
            partnership_id=existing.id,
        )
    partnership = Partnership(
        city_a_id=a,
        city_b_id=b,
        status=data.status,
        established_on=data.established_on,
        notes=data.notes,
    )
    try:
        with session.begin_nested():
            session.add(partnership)
            session.flush()
    except IntegrityError:
        # Another request created the same pair between our check and our insert.
        raise Conflict(f"cities {a} and {b} already have a partnership") from None
    _record_status(
        session, partnership, None, data.status_changed_on or data.established_on
    )
    session.flush()
    changes.record(session, PartnershipChanged.of(partnership, before=None))
    return partnership


def update_partnership(
    session: Session, partnership_id: int, data: PartnershipUpdate, actor: Actor
) -> Partnership:
    partnership = get_partnership(session, partnership_id)
    _require_partnership_rights(actor, partnership.city_a_id, partnership.city_b_id)
    fields = data.model_dump(exclude_unset=True)
    new_status = fields.pop("status", None)
    changed_on = fields.pop("status_changed_on", None)
    note = fields.pop("status_note", None)
    before = PartnershipStatus(partnership.status)
    partnership.sqlmodel_update(fields)
    if new_status is not None and new_status != partnership.status:
        previous = partnership.status
        if new_status not in ALLOWED_TRANSITIONS[previous]:
            allowed = ", ".join(sorted(ALLOWED_TRANSITIONS[previous])) or "none (it is final)"
            raise Conflict(
                f"a partnership cannot go from {previous} to {new_status}; "
                f"allowed next: {allowed}"
            )
        partnership.status = new_status
        _record_status(session, partnership, previous, changed_on, note)
    partnership.updated_at = utcnow()
    session.add(partnership)
    session.flush()
    changes.record(session, PartnershipChanged.of(partnership, before=before))
    return partnership


def status_history(session: Session, partnership_ids: Sequence[int]) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = {pid: [] for pid in partnership_ids}
    if not partnership_ids:
        return out
    rows = session.exec(
        select(PartnershipStatusChange)
        .where(col(PartnershipStatusChange.partnership_id).in_(partnership_ids))
        .order_by(col(PartnershipStatusChange.id))
    ).all()
    for row in rows:
        out[row.partnership_id].append(row)
    return out


def partnership_query(
    city_id: int | None = None, status: PartnershipStatus | None = None
) -> SelectOfScalar[Partnership]:
    query = select(Partnership)
    if city_id is not None:
        query = query.where(
            or_(col(Partnership.city_a_id) == city_id, col(Partnership.city_b_id) == city_id)
        )
    if status is not None:
        query = query.where(Partnership.status == status)
    return query.order_by(col(Partnership.id))


def partners_of(
    session: Session, city_id: int, status: PartnershipStatus | None = None
) -> list[tuple[Partnership, City, str | None]]:
    """A city's twins: (partnership, the other city, date of the current status),
    by the other city's name."""
    return partner_page(session, city_id, status)[0]


def partner_page(
    session: Session, city_id: int, status: PartnershipStatus | None = None,
    offset: int = 0, limit: int | None = None,
) -> tuple[list[tuple[Partnership, City, str | None]], int]:
    """One page of ``partners_of``, and how many there are in all: the twins are
    ordered by name, read alone; only the page's cities are read whole."""
    partnerships = session.exec(partnership_query(city_id, status)).all()
    other_ids = [p.city_b_id if p.city_a_id == city_id else p.city_a_id for p in partnerships]
    names = dict(session.exec(select(City.id, City.name).where(col(City.id).in_(other_ids))).all())
    ordered = sorted(zip(partnerships, other_ids, strict=True),
                     key=lambda pair: fold(names[pair[1]]))
    window = ordered[offset:None if limit is None else offset + limit]
    shown = [other_id for _, other_id in window]
    cities = {c.id: c for c in session.exec(select(City).where(col(City.id).in_(shown)))}
    # The date of each one's newest status change: two columns, not whole rows.
    latest: dict[int, str | None] = {}
    ids = [p.id for p, _ in window if p.id is not None]
    if ids:
        for partnership_id, changed_on in session.exec(
            select(PartnershipStatusChange.partnership_id, PartnershipStatusChange.changed_on)
            .where(col(PartnershipStatusChange.partnership_id).in_(ids))
            .order_by(col(PartnershipStatusChange.id))
        ):
            latest[partnership_id] = changed_on
    return [(p, cities[other_id], latest.get(p.id or 0)) for p, other_id in window], len(ordered)
