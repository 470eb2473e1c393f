"""Who may register, read, poll and delete a city's external calendars: two twinned
cities and an unrelated third, each with a coordinator's and a partner system's
key, plus an admin and an anonymous caller."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session

from app.core.actors import SYSTEM, Role
from app.events.models import Event, EventKind, EventStatus, Visibility
from app.mirrors.models import ExternalCalendarCreate
from app.mirrors.service import register_calendar
from tests.factories import new_city, new_key, new_partnership

URL = "https://93.184.215.14/ferrara.ics"


@pytest.fixture
def scoped(session: Session) -> dict[str, Any]:
    ferrara, kassel, far = (new_city(session, "Ferrara", "IT", timezone="Europe/Rome"),
                            new_city(session, "Kassel", "DE"),
                            new_city(session, "Lanzhou", "CN", timezone="Asia/Shanghai"))
    new_partnership(session, ferrara, kassel)
    calendar = register_calendar(session, ferrara.id or 0, ExternalCalendarCreate(
        name="Ferrara", url=URL), SYSTEM)
    hidden = ExternalCalendarCreate(name="Ferrara (partners)", url=URL,
                                    visibility=Visibility.partners)
    partners_only = register_calendar(session, ferrara.id or 0, hidden, SYSTEM)
    for cal, title in ((calendar, "Public mirrored"), (partners_only, "Partners mirrored")):
        session.add(Event(
            host_city_id=ferrara.id or 0, kind=EventKind.culture, title=title,
            status=EventStatus.confirmed, visibility=cal.visibility, timezone="Europe/Rome",
            starts_at_local=datetime(2027, 5, 1, 10), ends_at_local=datetime(2027, 5, 1, 12),
            starts_at_utc=datetime(2027, 5, 1, 8, tzinfo=UTC),
            ends_at_utc=datetime(2027, 5, 1, 10, tzinfo=UTC),
            external_calendar_id=cal.id, external_uid=f"{title}@example.org"))
    headers = {"anonymous": {}, "admin": new_key(session, Role.admin)}
    for name, city in (("ferrara", ferrara), ("kassel", kassel), ("far", far)):
        headers[f"{name}_coordinator"] = new_key(session, Role.coordinator, city)
        headers[f"{name}_partner"] = new_key(session, Role.partner, city)
    session.commit()
    return {"ferrara": ferrara.id, "calendar": calendar.id, "headers": headers}


CALLERS = ["anonymous", "admin", "ferrara_coordinator", "ferrara_partner",
           "kassel_coordinator", "kassel_partner", "far_coordinator", "far_partner"]


def _matrix(admin: int, own_coordinator: int, own_partner: int, others: int
            ) -> dict[str, int]:
    return {"anonymous": 401, "admin": admin, "ferrara_coordinator": own_coordinator,
            "ferrara_partner": own_partner, **dict.fromkeys(
                ("kassel_coordinator", "kassel_partner", "far_coordinator", "far_partner"),
                others)}


ENDPOINTS = [
    ("register", "POST", "/api/v1/cities/{ferrara}/external-calendars",
     {"name": "Again", "url": URL}, _matrix(201, 201, 403, 403)),
    ("list", "GET", "/api/v1/cities/{ferrara}/external-calendars", None,
     _matrix(200, 200, 200, 403)),
    ("read", "GET", "/api/v1/external-calendars/{calendar}", None,
     _matrix(200, 200, 200, 404)),
    ("poll now", "POST", "/api/v1/external-calendars/{calendar}/poll", None,
     _matrix(202, 202, 403, 404)),
    ("delete", "DELETE", "/api/v1/external-calendars/{calendar}", None,
     _matrix(204, 204, 403, 404)),
]


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("name", "method", "path", "body", "expected"), ENDPOINTS,
                         ids=[e[0] for e in ENDPOINTS])
def test_calendar_endpoints_by_caller(client, scoped, caller, name, method, path, body,
                                      expected):
    url = path.format(ferrara=scoped["ferrara"], calendar=scoped["calendar"])
    r = client.request(method, url, json=body, headers=scoped["headers"][caller])
    assert r.status_code == expected[caller], f"{name} as {caller}: {r.text}"
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("caller", CALLERS)
def test_mirrored_events_are_read_as_their_calendar_says(client, scoped, caller):
    """A public calendar's events are everyone's to read; a calendar mirrored as
    `partners` shows to the city's own keys (they have no guests) and admins."""
    r = client.get("/api/v1/events", params={"city_id": scoped["ferrara"]},
                   headers=scoped["headers"][caller])
    assert r.status_code == 200
    titles = {e["title"] for e in r.json()["items"]}
    sees_all = caller in ("admin", "ferrara_coordinator", "ferrara_partner")
    assert titles == ({"Public mirrored", "Partners mirrored"} if sees_all
                      else {"Public mirrored"})
    assert all(e["external"] is not None for e in r.json()["items"])
