"""The registry in memory for a long-running reader (the Checker, ``serve``): an index loaded
once and refreshed with the store's changes since its last ``seq``, at most every
``refresh`` seconds."""

from __future__ import annotations

import threading
import time

from reservation_crawler.core.registry import DEFAULT_REFRESH, RegistryIndex
from reservation_crawler.drivers.registry import RegistryStore

__all__ = ["DEFAULT_REFRESH", "RegistryMirror"]


class RegistryMirror:
    """An up-to-date :class:`RegistryIndex` of ``store``. Thread-safe: a refresh builds a new
    index and swaps it in, so a reader never sees one half-updated.

    A failed refresh raises :class:`RegistryUnavailable` (no answer from an index of unknown
    age is given silently) and is retried on the next call. ``inline=False`` (the async
    Checker): :meth:`index` never queries the store; the owner calls :meth:`update_if_due`
    off the event loop first.
    """

    def __init__(
        self, store: RegistryStore, *, refresh: float = DEFAULT_REFRESH, inline: bool = True
    ) -> None:
        self.store = store
        self.refresh = refresh
        self.inline = inline
        self._index = RegistryIndex(store.changes_since(0))
        self._next = time.monotonic() + refresh
        self._guard = threading.Lock()

    def index(self) -> RegistryIndex:
        """The index, first refreshed when ``refresh`` seconds have passed (when ``inline``)."""
        if self.inline:
            self.update_if_due()
        return self._index

    def due(self) -> bool:
        """Whether the next :meth:`index` / :meth:`update_if_due` queries the store."""
        return time.monotonic() >= self._next

    def update_if_due(self) -> None:
        """Apply the store's changes when ``refresh`` seconds have passed (a database query:
        the async Checker runs it on a worker thread)."""
        if self.due():
            with self._guard:
                if self.due():
                    self._update()

    def index_now(self) -> RegistryIndex:
        """The index with every change stored so far (a page showing a registration just made)."""
        with self._guard:
            self._update()
        return self._index

    def _update(self) -> None:
        changes = self.store.changes_since(self._index.seq)
        if changes:
            index = self._index.copy()
            index.apply(changes)
            self._index = index
        self._next = time.monotonic() + self.refresh

    def close(self) -> None:
        self.store.close()
