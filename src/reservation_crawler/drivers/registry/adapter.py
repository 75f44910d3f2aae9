"""Adapters to external registries: the one class to implement to mirror another registry.

An adapter turns whatever an external service publishes into :class:`Registration` objects
and a cursor to resume from; :func:`mirror` stores what it returns. :class:`FeedAdapter`, the
adapter for another reservation-crawler registry's feed, is the reference implementation.
No adapter to a closed service ships with the project.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from urllib.parse import urlencode

from reservation_crawler.drivers.fetch import Fetcher
from reservation_crawler.drivers.registry import RegistryStore
from reservation_crawler.drivers.registry.feed import read_feed
from reservation_crawler.model.registry import Registration

__all__ = ["FeedAdapter", "RegistryAdapter", "mirror"]


class RegistryAdapter(ABC):
    """An external registry, read incrementally.

    Implement :meth:`changes`: given the cursor returned last time (None the first time),
    return the registrations created, changed or withdrawn since, and the next cursor. Each
    registration needs a stable ``id`` (prefix it with the adapter's ``name`` to avoid
    collisions), a target, agents, purposes, a status and ISO 8601 ``created_at`` /
    ``updated_at`` (a newer ``updated_at`` replaces the copy held). Leave ``contact``, ``token``
    and ``secret_hash`` empty: verification and withdrawal happen at the source. Raise
    :class:`~reservation_crawler.errors.RegistryUnavailable` when the source cannot be read and
    :class:`~reservation_crawler.errors.InvalidRegistration` when what it sent is unusable.
    """

    name: str = "external"

    @abstractmethod
    def changes(self, cursor: str | None) -> tuple[list[Registration], str | None]:
        """(registrations changed since ``cursor``, the cursor to pass next time)."""


class FeedAdapter(RegistryAdapter):
    """Another registry's public feed: a file, ``-``, or the URL of ``/v1/registry/feed``."""

    name = "feed"

    def __init__(self, source: str, *, fetcher: Fetcher | None = None) -> None:
        self.source = source
        self.fetcher = fetcher

    def changes(self, cursor: str | None) -> tuple[list[Registration], str | None]:
        source = self.source
        if cursor and source.startswith(("http://", "https://")):
            source += ("&" if "?" in source else "?") + urlencode({"since": cursor})
        last, registrations = read_feed(source, fetcher=self.fetcher)
        return registrations, str(last)


def mirror(
    adapter: RegistryAdapter, store: RegistryStore, cursor: str | None = None
) -> tuple[int, int, str | None]:
    """Store what ``adapter`` reports since ``cursor``: (read, new or changed, next cursor)."""
    registrations, next_cursor = adapter.changes(cursor)
    return len(registrations), store.import_registrations(registrations), next_cursor
