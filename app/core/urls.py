"""Where the feeds live, as the API hands them out: ``https://...`` and ``webcal://...``."""

from __future__ import annotations

from app.core.settings import get_settings


def feed_url(path: str) -> str:
    """The absolute URL of a feed path (``/calendars/cities/42.ics``) under the public base."""
    return get_settings().public_base_url + path


def webcal_url(path: str) -> str:
    """The same feed with the ``webcal://`` scheme that makes calendar apps subscribe.

    webcal has no secure variant: clients fetch it over HTTPS when the server
    offers it, so the scheme replaces ``http://`` and ``https://`` alike.
    """
    url = feed_url(path)
    return "webcal://" + url.split("://", 1)[1]


def city_feed_path(city_id: int) -> str:
    return f"/calendars/cities/{city_id}.ics"


def partnership_feed_path(partnership_id: int) -> str:
    return f"/calendars/partnerships/{partnership_id}.ics"


def private_feed_path(token: str) -> str:
    return f"/calendars/private/{token}.ics"


TWIN_CITIES_DAY_PATH = "/calendars/twin-cities-day.ics"
