"""The one place that asks what time it is, so tests can set it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_source: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    """The current instant, timezone-aware (UTC)."""
    return _source()


@contextmanager
def frozen_at(instant: datetime) -> Iterator[None]:
    """Make ``now()`` answer ``instant`` inside the block (tests, simulations)."""
    global _source
    if instant.tzinfo is None:
        raise ValueError("frozen_at needs an aware datetime")
    previous, _source = _source, (lambda: instant)
    try:
        yield
    finally:
        _source = previous
