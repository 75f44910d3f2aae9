"""The Checker's lookup sequence, sans-I/O: "in memory? in Redis? locked by another process?
fetch the three files, store them, keep a stale copy when robots.txt is unreachable".

Each flow is a generator over plain state (the Checker's in-process memory, a
:class:`LookupState`). It yields effect objects (:class:`ReadPolicy`, :class:`LockOrigin`,
:class:`FetchPolicyFiles`, ...) and receives their results through ``send()``; an effect that
failed is thrown back in with ``throw()`` (as httpx's ``auth_flow`` and h11 do). The sync and
async Checkers (``drivers/lookup.py``) each perform the effects in a few lines; neither holds a
rule of its own. A lock taken with :class:`LockOrigin` is held until the flow ends.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, TypeVar

from reservation_crawler.core.policy import OriginPolicy
from reservation_crawler.errors import CacheUnavailable

__all__ = [
    "FAIL_CLOSED",
    "FETCH",
    "MEMORY",
    "REDIS",
    "FetchPolicyFiles",
    "KeepStale",
    "LockOrigin",
    "LookupState",
    "ReadPolicies",
    "ReadPolicy",
    "Refresh",
    "Source",
    "StorePolicy",
    "lookup_many",
    "lookup_policy",
    "now_iso",
    "policy_from_fetches",
    "refresh_policy",
]

Source = Literal["memory", "redis", "fetch", "fail-closed"]
MEMORY: Source = "memory"
REDIS: Source = "redis"
FETCH: Source = "fetch"
FAIL_CLOSED: Source = "fail-closed"

# The state's entry type (a compiled policy with its stored bytes and metadata), and the cache's
# metadata type, passed through untouched.
E = TypeVar("E", covariant=True)
M = TypeVar("M", contravariant=True)

# --- effects: what a driver performs, and what it sends back ------------------------------------


@dataclass(frozen=True, slots=True)
class ReadPolicy:
    """Read ``rc:v1:policy:{<origin>}``, kept stale copies included. Result: bytes or None."""

    origin: str


@dataclass(frozen=True, slots=True)
class ReadPolicies:
    """:class:`ReadPolicy` for several origins in one round trip. Result: a list, in order."""

    origins: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LockOrigin:
    """Take the cross-process fetch lock of ``origin`` until the flow ends. Result: held?"""

    origin: str


@dataclass(frozen=True, slots=True)
class FetchPolicyFiles:
    """Fetch robots.txt, ai.txt and tdmrep.json of ``origin``. Result: their fetch results
    (anything with ``origin``, ``robots``, ``aitxt`` and ``tdmrep``)."""

    origin: str


@dataclass(frozen=True, slots=True)
class StorePolicy:
    """Store a freshly fetched policy (its JSON bytes). Result: the metadata stored."""

    origin: str
    body: bytes
    failed: bool
    fetched_at: str


@dataclass(frozen=True, slots=True)
class KeepStale:
    """Re-store the last good copy ``copy`` (a decoded cache entry) as stale. Result: metadata."""

    origin: str
    copy: Any


@dataclass(frozen=True, slots=True)
class Refresh:
    """Run :func:`refresh_policy` for each ``(origin, raw)`` once per process (concurrent
    callers share one run; a driver may run the origins concurrently). Result: a mapping
    origin -> (entry, source)."""

    misses: tuple[tuple[str, bytes | None], ...]


Effect = (
    ReadPolicy | ReadPolicies | LockOrigin | FetchPolicyFiles | StorePolicy | KeepStale | Refresh
)
Flow = Generator[Effect, Any, "tuple[E, Source]"]


class LookupState(Protocol[E, M]):
    """The in-process memory a flow reads and updates (no I/O: plain dictionaries)."""

    fail_closed: bool

    # Underscored: the Checker is the state, and these are not its public API.
    def _now(self) -> float: ...
    def _answer_from_memory(self, origin: str, now: float) -> E | None: ...
    def _from_raw(self, origin: str, raw: bytes | None, now: float) -> E | None:
        """A fresh stored policy as an entry (remembered), else None."""
        ...

    def _last_good(self, raw: bytes | None, now: float) -> Any | None:
        """The copy to keep serving while robots.txt is unreachable, if any."""
        ...

    def _kept_entry(self, origin: str, raw: bytes, meta: M, now: float) -> E: ...
    def _fetched_entry(
        self, origin: str, policy: OriginPolicy, body: bytes, meta: M, now: float
    ) -> E: ...
    def _unstored_entry(self, origin: str, policy: OriginPolicy, body: bytes, now: float) -> E:
        """An entry for a policy kept in this process only (never written to Redis)."""
        ...

    def _fail_closed_entry(self, origin: str, exc: Exception, now: float) -> E: ...


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def policy_from_fetches(fetches: Any, fetched_at: str | None = None) -> OriginPolicy:
    """The policy of one origin's three fetch results (``drivers.fetch.PolicyFetches``)."""
    return OriginPolicy.from_fetches(
        fetches.origin,
        fetched_at or now_iso(),
        fetches.robots,
        fetches.aitxt,
        fetches.tdmrep,
        others=getattr(fetches, "others", None),
    )


def _json_bytes(data: Mapping[str, Any]) -> bytes:
    """The stored form of a value without its ``_cache`` member (as ``cache.encode_value``)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


# --- flows ---------------------------------------------------------------------------------------


def lookup_policy(state: LookupState[E, Any], origin: str, now: float) -> Flow[E]:
    """One origin's policy: memory, else Redis, else a refresh (fail-closed on a dead cache)."""
    try:
        entry = state._answer_from_memory(origin, now)
        if entry is not None:
            return entry, MEMORY
        raw = yield ReadPolicy(origin)
        entry = state._from_raw(origin, raw, state._now())
        if entry is not None:
            return entry, REDIS
        refreshed = yield Refresh(((origin, raw),))
        return refreshed[origin]
    except CacheUnavailable as exc:
        if not state.fail_closed:
            raise
        return state._fail_closed_entry(origin, exc, now), FAIL_CLOSED


def lookup_many(
    state: LookupState[E, Any], origins: Sequence[str], now: float
) -> Generator[Effect, Any, dict[str, tuple[E, Source]]]:
    """The policies of distinct ``origins``: memory, then one MGET, then refreshes."""
    entries: dict[str, tuple[E, Source]] = {}
    wanted: list[str] = []
    for origin in origins:
        entry = state._answer_from_memory(origin, now)
        if entry is not None:
            entries[origin] = (entry, MEMORY)
        else:
            wanted.append(origin)
    if not wanted:
        return entries
    try:
        raws = yield ReadPolicies(tuple(wanted))
        misses: list[tuple[str, bytes | None]] = []
        for origin, raw in zip(wanted, raws, strict=True):
            entry = state._from_raw(origin, raw, now)
            if entry is not None:
                entries[origin] = (entry, REDIS)
            else:
                misses.append((origin, raw))
        if misses:
            entries.update((yield Refresh(tuple(misses))))
    except CacheUnavailable as exc:
        if not state.fail_closed:
            raise
        for origin in wanted:
            if origin not in entries:
                entries[origin] = (state._fail_closed_entry(origin, exc, now), FAIL_CLOSED)
    return entries


def refresh_policy(state: LookupState[E, Any], origin: str, raw: bytes | None) -> Flow[E]:
    """Fetch the policy files under the cross-process lock (or read what its holder stored).

    ``raw`` is what Redis held before (a last good copy to keep while robots.txt is
    unreachable, RFC 9309 §2.4).
    """
    entry = state._answer_from_memory(origin, state._now())
    if entry is not None:
        return entry, MEMORY  # another caller of this process loaded it meanwhile
    held = yield LockOrigin(origin)
    if held:
        raw = yield ReadPolicy(origin)
        entry = state._from_raw(origin, raw, state._now())
        if entry is not None:
            return entry, REDIS  # the lock's previous holder stored it
    policy = policy_from_fetches((yield FetchPolicyFiles(origin)))
    now = state._now()
    kept = state._last_good(raw, now) if policy.unreachable else None
    if kept is not None:
        meta = yield KeepStale(origin, kept)
        return state._kept_entry(origin, raw, meta, now), REDIS  # type: ignore[arg-type]
    body = _json_bytes(policy.to_json())
    if policy.refused:
        # Our configuration refused a file (the address guard): that says nothing about the
        # origin, so it is not stored as its policy; a Checker allowed to fetch it must not be
        # answered from a refusal (issue #11 item 2).
        return state._unstored_entry(origin, policy, body, now), FETCH
    meta = yield StorePolicy(origin, body, policy.failed, policy.fetched_at)
    return state._fetched_entry(origin, policy, body, meta, now), FETCH
