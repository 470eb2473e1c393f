"""Entity tags as clients send them back, in If-Match and If-None-Match."""

from __future__ import annotations


def entity_tags(header: str) -> set[str]:
    """The opaque tags of an If-Match / If-None-Match list, weak tags compared by
    their opaque part (``W/"x"`` is ``"x"``): proxies that compress responses weaken
    ETags, and the client still means this version. ``*`` comes back as ``"*"``,
    for the caller to read as "any"."""
    return {t.strip().removeprefix("W/") for t in header.split(",")}
