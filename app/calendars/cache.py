"""In-process caches for feed bytes.

Safe without coordination between workers because what they hold is a pure
function of its key: an event's VEVENT is keyed by the event's id and
version (and the cities' stamp), an assembled feed by the feed's
fingerprint. A worker that has nothing cached builds the same bytes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ByteBudgetLRU(Generic[K, V]):
    """A thread-safe LRU that evicts by the summed size of its values, not their count."""

    def __init__(self, budget: int, size_of: Callable[[V], int]) -> None:
        self._budget = budget
        self._size_of = size_of
        self._items: OrderedDict[K, V] = OrderedDict()
        self._used = 0
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def get_many(self, keys: Iterable[K]) -> list[V | None]:
        """Many values at once, without refreshing their recency: a feed asks for
        thousands, and they all stay as recent as the feed itself is."""
        with self._lock:
            get = self._items.get
            return [get(key) for key in keys]

    def put(self, key: K, value: V) -> None:
        size = self._size_of(value)
        if size > self._budget:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._used -= self._size_of(old)
            self._items[key] = value
            self._used += size
            while self._used > self._budget:
                _, evicted = self._items.popitem(last=False)
                self._used -= self._size_of(evicted)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._used = 0

    def __len__(self) -> int:
        return len(self._items)


class KeyedLocks:
    """One lock per key, so that a changed feed is built once while its readers wait."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()

    def __call__(self, key: Hashable) -> threading.Lock:
        with self._guard:
            lock = self._locks.get(key)
            if lock is None:
                if len(self._locks) > 10_000:
                    self._locks = {k: v for k, v in self._locks.items() if v.locked()}
                lock = self._locks[key] = threading.Lock()
            return lock
