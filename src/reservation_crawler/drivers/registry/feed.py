"""The public feed: registrations changed since a change number, as JSON Lines without
contacts, tokens or secrets; and reading one back (a file, ``-`` or an http(s) URL)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

from reservation_crawler.drivers.fetch import Fetcher
from reservation_crawler.drivers.registry import RegistryStore
from reservation_crawler.errors import InvalidRegistration, RegistryUnavailable
from reservation_crawler.model.registry import Registration, feed_header, parse_feed

__all__ = ["feed_lines", "read_feed"]


def feed_lines(store: RegistryStore, since: int = 0) -> Iterator[str]:
    """The header, then each registration changed after ``since`` (public form), one per line."""
    changes = store.changes_since(since)
    last = changes[-1].seq if changes else max(since, 0)
    yield json.dumps(feed_header(since, last), ensure_ascii=False)
    for registration in changes:
        yield json.dumps(registration.to_json(public=True), ensure_ascii=False)


def read_feed(source: str, *, fetcher: Fetcher | None = None) -> tuple[int, list[Registration]]:
    """(last change number, registrations) of a feed at ``source``: a path, ``-``, or a URL."""
    if source.startswith(("http://", "https://")):
        if fetcher is None:
            raise InvalidRegistration("source", "a feed URL needs a fetcher")
        result = fetcher.fetch(source)
        if not result.ok:
            why = result.error or f"HTTP {result.status}"
            raise RegistryUnavailable(f"feed {source}: {why}")
        if result.truncated:
            raise RegistryUnavailable(f"feed {source}: larger than the fetch limit")
        text = result.body.decode("utf-8")
    elif source == "-":
        text = sys.stdin.read()
    else:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidRegistration("source", f"{source}: {exc.strerror or exc}") from exc
    return parse_feed(text.splitlines())
