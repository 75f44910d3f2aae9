"""The Checkers' shared, non-generated part: verdicts, the in-process memory and memo, and each
shell's own construction and single-flight (``docs/checker.md``)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeVar

from reservation_crawler.core.decide import (
    AgentDecision,
    decide,
    decide_agent,
    is_final,
    with_registry,
)
from reservation_crawler.core.fetching import fetch_result
from reservation_crawler.core.lookup import (
    MEMORY,
    Source,
    now_iso,
    refresh_policy,
)
from reservation_crawler.core.policy import (
    AITXT,
    POLICY_PATHS,
    ROBOTS,
    TDMREP,
    OriginPolicy,
    PolicyFile,
)
from reservation_crawler.core.registry import CLAIMED_RESERVES, DEFAULT_REFRESH, RegistryIndex
from reservation_crawler.core.urls import target_url
from reservation_crawler.drivers.audit import AuditSink
from reservation_crawler.drivers.cache import (
    AsyncReservationCache,
    CacheEntry,
    CacheMeta,
    ReservationCache,
    connect,
    connect_async,
    decode_value,
    read_meta,
    splice_meta,
    strip_meta,
)
from reservation_crawler.drivers.collect import record_from_page
from reservation_crawler.drivers.fetch import (
    USER_AGENT,
    AsyncFetcher,
    Fetcher,
    FetchLimits,
    origin_of,
)
from reservation_crawler.errors import ConfigError
from reservation_crawler.model import codec
from reservation_crawler.model.codec import shape
from reservation_crawler.model.record import (
    PURPOSE_ALIASES,
    PURPOSES,
    Decision,
    Evidence,
    Outcome,
    Purpose,
    ReservationRecord,
    SourceOutcome,
)
from reservation_crawler.signals.useragent import agent_token, tokens_of

DEFAULT_MEMORY_SIZE = 4096  # compiled origin policies kept in process
DEFAULT_MEMORY_TTL = 300.0  # seconds an in-process policy answers before Redis is asked again
# RFC 9309 §2.3.1.4 lets a crawler keep a cached robots.txt while the origin is unreachable, and
# names 30 days as a long outage; past that the origin counts as unreachable (complete disallow).
DEFAULT_MAX_STALE = 30 * 86400.0
# Memoized answers ((path, agent) -> cells, ~185 bytes each) over all origins in memory: each
# origin's memo is cleared when it reaches its share, between 64 and 4,096 answers.
DEFAULT_MEMO_SIZE = 262_144
MEMO_PER_ORIGIN = (64, 4096)
ORIGIN_PREFIXES = 65536  # "scheme://authority" -> origin spellings remembered

if TYPE_CHECKING:
    from reservation_crawler.drivers.registry.mirror import RegistryMirror

_T = TypeVar("_T")
# Current names, and the earlier ones still read (ai-input -> ai-use; docs/record.md).
_PURPOSE_OF: dict[str, Purpose] = {**{str(p): p for p in PURPOSES}, **PURPOSE_ALIASES}


# --- results ------------------------------------------------------------------------------------


def _round_age(age: float | None) -> float | None:
    return None if age is None else round(age, 3)


# The key order of 0.1's JSON (docs/checker.md), which is not the field order.
@shape(
    convert={"age": (_round_age, None)},
    order="url agent agent_token purpose decision level final decisions evidence source age "
    "fetched_at stale",
)
class Verdict(NamedTuple):
    """The answer for one (url, agent, purpose). Immutable (a named tuple: cheap to build on
    the hot path).

    ``level`` is ``"origin"`` (policy files only) or ``"page"`` (a response was weighed too).
    ``final`` says no page signal can change an origin-level answer: an origin-level
    ``reserved`` is final unless it rests only on a tdmrep.json rule (a TDMRep header or meta
    overrides the file layer); ``allowed`` / ``unspecified`` never are. ``source`` is where the
    origin's policy came from; ``age`` its age in seconds; ``stale`` marks a last good copy served
    because the origin is unreachable (RFC 9309 §2.4).
    """

    url: str
    agent: str
    purpose: Purpose
    decision: Decision
    evidence: tuple[Evidence, ...]
    decisions: Mapping[Purpose, Decision]
    source: Source
    age: float | None
    fetched_at: str | None
    level: Literal["origin", "page"] = "origin"
    final: bool = True
    stale: bool = False
    agent_token: str = ""  # the product token ``agent`` names (signals.useragent), decided for

    @property
    def reserved(self) -> bool:
        return self.decision is Decision.RESERVED

    def to_json(self) -> dict[str, Any]:
        return codec.to_json(self)


@shape(convert={"age": (_round_age, None)})
@dataclass(frozen=True, slots=True)
class CheckedRecord:
    """A full :class:`ReservationRecord` (origin level) and where its policy came from."""

    record: ReservationRecord
    source: Source
    age: float | None
    stale: bool = False

    def to_json(self) -> dict[str, Any]:
        return codec.to_json(self)


# --- the in-process cache --------------------------------------------------------------------


class _Cells:
    """One agent's decided cells; each purpose's (decision, evidence, final) built on first use."""

    __slots__ = ("_built", "_evidence", "_extra", "agent", "decisions")

    def __init__(
        self,
        agent: str,
        decisions: Mapping[Purpose, Decision],
        evidence: tuple[Evidence, ...],
        extra: tuple[Evidence, ...],
    ) -> None:
        self._evidence = evidence
        self._extra = extra
        self._built: dict[Purpose, tuple[Decision, tuple[Evidence, ...], bool]] = {}
        self.agent = agent
        self.decisions: Mapping[Purpose, Decision] = (
            decisions if isinstance(decisions, MappingProxyType) else MappingProxyType(decisions)
        )

    @classmethod
    def of_record(
        cls, record: ReservationRecord, agent: str, extra: tuple[Evidence, ...]
    ) -> _Cells:
        return cls(agent, record.decisions[agent], record.evidence, extra)

    def cell(self, purpose: Purpose) -> tuple[Decision, tuple[Evidence, ...], bool]:
        built = self._built.get(purpose)
        if built is None:
            agent = self.agent
            rows = [e for e in self._evidence if purpose in e.purposes and e.agent == agent]
            decision = self.decisions[purpose]
            final = is_final(decision, rows)
            if self._extra:
                rows += [e for e in self._extra if purpose in e.purposes]
            built = self._built[purpose] = (decision, tuple(rows), final)
        return built


class _PolicyEntry:
    """A compiled origin policy, the stored bytes it was read from, and its memo.

    ``raw`` (metadata included) recognizes an unchanged Redis value without parsing anything,
    and, metadata stripped, an unchanged policy whose metadata was rewritten.
    """

    __slots__ = ("answer_until", "cells", "memo", "meta", "policy", "raw")

    def __init__(
        self,
        policy: OriginPolicy,
        raw: bytes,
        meta: CacheMeta,
        answer_until: float,
        reuse: _PolicyEntry | None = None,
    ) -> None:
        self.policy = policy
        self.raw = raw
        self.meta = meta
        self.answer_until = answer_until
        # (path, agent) -> cells, and the cells of each decision (URLs matching the same rules
        # share one AgentDecision, see decide_agent): both depend only on policy and staleness.
        self.memo: dict[tuple[str, str], _Cells] = {} if reuse is None else reuse.memo
        self.cells: dict[AgentDecision, _Cells] = {} if reuse is None else reuse.cells

    @property
    def stale(self) -> bool:
        return self.meta.stale

    def age(self, now: float) -> float | None:
        return None if self.meta.fetched_at is None else max(0.0, now - self.meta.fetched_at)


class _Item(NamedTuple):
    """One parsed question (a tuple: built on every check)."""

    url: str
    origin: str
    path: str
    agent: str  # the product token
    purpose: Purpose
    given: str  # the agent as the caller wrote it


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _header_pairs(headers: Any) -> tuple[tuple[str, str], ...]:
    """(name, value) pairs from a sequence of pairs or a mapping (values may be lists, bytes)."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    pairs: list[tuple[str, str]] = []
    for name, value in items:
        values = value if isinstance(value, list | tuple) else [value]
        key = name.decode("latin-1") if isinstance(name, bytes) else str(name)
        for one in values:
            text = one.decode("latin-1") if isinstance(one, bytes) else str(one)
            pairs.append((key, text))
    return tuple(pairs)


class _CheckerBase:
    """Everything both checkers share that is not I/O: memory, memo, verdicts."""

    _registry_inline = True  # the registry mirror queries its store when due, in index()

    def __init__(
        self,
        *,
        fail_closed: bool,
        memory_size: int,
        memory_ttl: float,
        max_stale: float,
        memo_size: int,
        audit: AuditSink | None = None,
        audit_required: bool = False,
        registry: str | None = None,
        registry_refresh: float = DEFAULT_REFRESH,
        registry_claimed_reserves: bool = CLAIMED_RESERVES,
    ) -> None:
        if memory_size < 0 or memory_ttl < 0 or max_stale < 0 or memo_size < 0:
            raise ConfigError("memory_size, memory_ttl, max_stale and memo_size must be >= 0")
        self.fail_closed = fail_closed
        self.memory_size = memory_size
        self.memo_size = memo_size
        self.memory_ttl = memory_ttl
        self.max_stale = max_stale
        # A stored policy fetched before this Unix time is not answered from: it is fetched
        # again (``recheck --max-age``, docs/datasets.md). None: the cache's TTLs alone decide.
        self.not_before: float | None = None
        self._memory: OrderedDict[str, _PolicyEntry] = OrderedDict()
        self._share = self._memo_share()  # each origin's memo size; follows len(self._memory)
        self._memory_guard = threading.Lock()
        self._origins: dict[str, str] = {}
        # The audit log (drivers/audit.py): off unless a sink is given; with audit_required a
        # verdict is returned only once its entry is durable.
        self.audit = audit
        self.audit_required = audit_required
        # Optional: the registry (docs/registry.md), in memory, refreshed incrementally.
        self.registry_claimed_reserves = registry_claimed_reserves
        self._registry: RegistryMirror | None = None
        if registry:
            # Imported here: SQLAlchemy and Alembic load only when a registry is configured.
            from reservation_crawler.drivers.registry import RegistryStore
            from reservation_crawler.drivers.registry.mirror import RegistryMirror

            # The async shell refreshes it on a worker thread (_AsyncShell._decided): a database
            # query must not block the event loop (Scrapy's reactor, serve).
            self._registry = RegistryMirror(
                RegistryStore(registry),
                refresh=registry_refresh,
                inline=self._registry_inline,
            )

    def registry_index(self, *, fresh: bool = False) -> RegistryIndex | None:
        """The registry's index (None without a registry); ``fresh``: with every stored change
        read now, not at the next refresh. Reads the database: call it off the event loop."""
        if self._registry is None:
            return None
        return self._registry.index_now() if fresh else self._registry.index()

    def _close_registry(self) -> None:
        if self._registry is not None:
            self._registry.close()

    @staticmethod
    def _now() -> float:
        return time.time()

    # -- parsing arguments

    def _split(self, url: str) -> tuple[str, str]:
        """(origin, path-and-query) of ``url`` or a bare host; InvalidOrigin naming what is wrong.

        The authority ends at the first "/", "?" or "#" (RFC 3986 §3.2); the origin of each
        distinct "scheme://authority" prefix is computed once by ``fetch.origin_of``.
        """
        start = url.find("://") + 3 if isinstance(url, str) else 0
        if start < 3:  # a bare host (https:// assumed, as everywhere) or not a URL at all
            url = target_url(url)  # raises InvalidOrigin
            start = url.find("://") + 3
        end = url.find("/", start)
        if end < 0:
            end = len(url)
        query = url.find("?", start, end)
        if query >= 0:
            end = query
        fragment = url.find("#", start, end)
        if fragment >= 0:
            end = fragment
        prefix = url[:end]
        origin = self._origins.get(prefix)
        if origin is None:
            origin = origin_of(url)
            if len(self._origins) >= ORIGIN_PREFIXES:
                self._origins.clear()
            self._origins[prefix] = origin
        fragment = url.find("#", end)
        path = url[end:fragment] if fragment >= 0 else url[end:]
        return origin, path or "/"

    @staticmethod
    def _agent(agent: str) -> str:
        """The product token ``agent`` names (a token, Token/version or a whole User-Agent);
        ConfigError when it names no crawler: never read as ``*`` (docs/agents.md)."""
        if not isinstance(agent, str):
            raise ConfigError(f"agent must be a string, not {type(agent).__name__}")
        found = agent_token(agent)
        if found.token is None:
            raise ConfigError(f"agent {agent[:100]!r}: {found.problem}")
        return found.token

    @staticmethod
    def _purpose(purpose: Purpose | str) -> Purpose:
        found = _PURPOSE_OF.get(purpose)
        if found is None:
            raise ConfigError(
                f"unknown purpose {purpose!r}; one of {', '.join(str(p) for p in PURPOSES)}"
            )
        return found

    def _item(self, url: str, agent: str, purpose: Purpose | str) -> _Item:
        origin, path = self._split(url)
        return _Item(url, origin, path, self._agent(agent), self._purpose(purpose), agent)

    def _items(self, items: Iterable[Any]) -> list[_Item]:
        out = []
        for item in items:
            if isinstance(item, Mapping):
                out.append(
                    self._item(item["url"], item.get("agent", "*"), item.get("purpose", "train-ai"))
                )
            else:
                url, agent, *rest = item
                out.append(self._item(url, agent, rest[0] if rest else Purpose.TRAIN_AI))
        return out

    # -- memory

    def _answer_from_memory(self, origin: str, now: float) -> _PolicyEntry | None:
        entry = self._memory.get(origin)
        if entry is None or now >= entry.answer_until:
            return None
        try:  # noqa: SIM105 - the hot path; contextlib.suppress costs a context manager
            self._memory.move_to_end(origin)
        except KeyError:  # evicted by another thread meanwhile: still a valid answer
            pass
        return entry

    def _remember(self, origin: str, entry: _PolicyEntry) -> None:
        if self.memory_size == 0:
            return
        with self._memory_guard:
            self._memory[origin] = entry
            self._memory.move_to_end(origin)
            while len(self._memory) > self.memory_size:
                self._memory.popitem(last=False)
            self._share = self._memo_share()

    @property
    def memoized(self) -> int:
        """Answers memoized in process, over all origins in memory (bounded by ``memo_size``)."""
        return sum(len(entry.memo) for entry in list(self._memory.values()))

    def forget(self, origin: str | None = None) -> None:
        """Drop one origin's (or every) compiled policy from memory; Redis is untouched."""
        with self._memory_guard:
            if origin is None:
                self._memory.clear()
            else:
                self._memory.pop(origin_of(origin), None)
            self._share = self._memo_share()

    def _answer_until(self, meta: CacheMeta, now: float) -> float:
        until = now + self.memory_ttl
        if meta.expires_at is not None:
            until = min(until, meta.expires_at)
        return until

    def _compile(self, origin: str, raw: bytes, meta: CacheMeta, now: float) -> _PolicyEntry | None:
        """An entry for a stored value; the compiled policy is reused when its JSON is unchanged.

        None when the value is not an origin policy (the caller refetches and overwrites it).
        """
        body = strip_meta(raw)
        old = self._memory.get(origin)
        until = self._answer_until(meta, now)
        if old is not None and old.meta.stale == meta.stale and strip_meta(old.raw) == body:
            entry = _PolicyEntry(old.policy, raw, meta, until, reuse=old)
        else:
            try:
                policy = OriginPolicy.from_json(json.loads(body))
            except (ValueError, KeyError, TypeError, AttributeError):
                return None
            entry = _PolicyEntry(policy, raw, meta, until)
        self._remember(origin, entry)
        return entry

    def _fetched_entry(
        self, origin: str, policy: OriginPolicy, body: bytes, meta: CacheMeta, now: float
    ) -> _PolicyEntry:
        raw = splice_meta(body, meta)  # byte for byte what put_policy stored
        entry = _PolicyEntry(policy, raw, meta, self._answer_until(meta, now))
        self._remember(origin, entry)
        return entry

    def _unstored_entry(
        self, origin: str, policy: OriginPolicy, body: bytes, now: float
    ) -> _PolicyEntry:
        """A refused fetch's policy: answered from memory for ``memory_ttl`` (this Checker's
        configuration refuses it again anyway), never written to Redis."""
        meta = CacheMeta(fetched_at=now, expires_at=now + self.memory_ttl, failed=True)
        return self._fetched_entry(origin, policy, body, meta, now)

    def _kept_entry(self, origin: str, raw: bytes, meta: CacheMeta, now: float) -> _PolicyEntry:
        """The entry of a last good copy just re-stored with ``meta`` (stale, retried soon)."""
        stored = splice_meta(strip_meta(raw), meta)
        entry = self._compile(origin, stored, meta, now)
        assert entry is not None  # _last_good parsed it already
        return entry

    @staticmethod
    def _stored_meta(raw: bytes | None) -> CacheMeta | None:
        if raw is None:
            return None
        try:
            return read_meta(raw)
        except ValueError:
            return None

    def _from_raw(self, origin: str, raw: bytes | None, now: float) -> _PolicyEntry | None:
        """A fresh stored policy as an entry, else None (absent, expired, not a policy)."""
        if raw is None:
            return None
        old = self._memory.get(origin)
        if old is not None and old.raw == raw:  # unchanged in Redis: nothing to parse
            if not old.meta.is_fresh(now) or self._too_old(old.meta):
                return None
            old.answer_until = self._answer_until(old.meta, now)
            try:  # noqa: SIM105 - as in _answer_from_memory
                self._memory.move_to_end(origin)
            except KeyError:
                pass
            return old
        meta = self._stored_meta(raw)
        if meta is None or not meta.is_fresh(now) or self._too_old(meta):
            return None
        return self._compile(origin, raw, meta, now)

    def _too_old(self, meta: CacheMeta) -> bool:
        """Fetched before ``not_before`` (or at an unknown time while it is set)."""
        if self.not_before is None:
            return False
        return meta.fetched_at is None or meta.fetched_at < self.not_before

    # -- the fetch outcome

    def _last_good(self, raw: bytes | None, now: float) -> CacheEntry | None:
        """The copy to keep serving while robots.txt is unreachable (RFC 9309 §2.4), if any."""
        meta = self._stored_meta(raw)
        if meta is None or (meta.failed and not meta.stale):
            return None
        age = meta.age(now)
        if age is None or age > self.max_stale:
            return None
        try:
            entry = decode_value(raw)  # type: ignore[arg-type]
            OriginPolicy.from_json(entry.data)
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        return entry

    # -- verdicts

    def _cells(self, entry: _PolicyEntry, url: str, path: str, agent: str) -> _Cells:
        key = (path, agent)
        memo = entry.memo
        cells = memo.get(key)
        if cells is None:
            decision = decide_agent(url, agent, entry.policy)
            known = entry.cells
            cells = known.get(decision)
            share = self._share
            if cells is None:
                extra = self._stale_rows(entry, agent)
                cells = _Cells(agent, decision.cells, decision.evidence, extra)
                if len(known) >= share:
                    known.clear()
                if share:
                    known[decision] = cells
            if len(memo) >= share:
                memo.clear()
            if share:
                memo[key] = cells
        return cells

    def _memo_share(self) -> int:
        """How many answers each origin's memo may hold: ``memo_size`` split over the origins
        in memory, so that the memos of a long crawl stay within about ``memo_size`` answers."""
        if not self.memo_size:
            return 0
        low, high = MEMO_PER_ORIGIN
        return min(high, max(low, self.memo_size // (len(self._memory) or 1)))

    @staticmethod
    def _stale_rows(entry: _PolicyEntry, agent: str) -> tuple[Evidence, ...]:
        if not entry.stale:
            return ()
        fetched = _iso(entry.meta.fetched_at) or "an unknown time"
        return (
            Evidence(
                agent=agent,
                purposes=PURPOSES,
                effect=Decision.UNSPECIFIED,
                signal="cache",
                source="cache",
                scope="*",
                raw=(
                    "robots.txt could not be refetched (origin unreachable); serving the last "
                    f"good copy, fetched {fetched} (RFC 9309 §2.4)"
                ),
                location=entry.policy.robots_file.source.url,
            ),
        )

    def _verdict(self, entry: _PolicyEntry, item: _Item, source: Source, now: float) -> Verdict:
        url, origin, path, agent, purpose, given = item
        registry = self._registry
        matched = registry.index().matching_at(origin, path) if registry is not None else ()
        if matched:  # rare: not memoized, the registry changes independently of the policy
            verdict = with_registry(
                decide_agent(url, agent, entry.policy),
                matched,
                claimed_reserves=self.registry_claimed_reserves,
            )
            cells = _Cells(agent, verdict.cells, verdict.evidence, self._stale_rows(entry, agent))
        else:
            cells = self._cells(entry, url, path, agent)
        decision, evidence, final = cells.cell(purpose)
        meta = entry.meta
        fetched = meta.fetched_at
        return Verdict(  # positional: this runs for every check
            url,
            given,
            purpose,
            decision,
            evidence,
            cells.decisions,
            source,
            None if fetched is None else max(0.0, now - fetched),
            entry.policy.fetched_at,
            "origin",
            final,
            meta.stale,
            agent,
        )

    def _verdicts(
        self, items: Sequence[_Item], entries: Mapping[str, tuple[_PolicyEntry, Source]], now: float
    ) -> list[Verdict]:
        out = []
        for item in items:
            entry, source = entries[item.origin]
            out.append(self._verdict(entry, item, source, now))
        return out

    def _page_verdicts(
        self,
        entry: _PolicyEntry,
        items: Sequence[_Item],
        source: Source,
        now: float,
        status: int | None,
        headers: Any,
        body: bytes | None,
    ) -> list[Verdict]:
        """Page-level verdicts of one response (one record) for the purposes of ``items``."""
        first = items[0]
        pairs = _header_pairs(headers)
        result = fetch_result(
            first.url,
            first.url,
            status=status,
            headers=pairs,
            body=body or b"",
            error=None if status is not None else ("protocol", "no response"),
        )
        record = record_from_page(
            first.url,
            (first.agent,),
            entry.policy,
            result,
            registry=self._registry.index() if self._registry is not None else None,
            claimed_reserves=self.registry_claimed_reserves,
        )
        cells = _Cells.of_record(record, first.agent, self._stale_rows(entry, first.agent))
        verdicts = []
        for item in items:
            decision, evidence, _ = cells.cell(item.purpose)
            verdicts.append(
                Verdict(
                    url=item.url,
                    agent=item.given,
                    purpose=item.purpose,
                    decision=decision,
                    evidence=evidence,
                    decisions=cells.decisions,
                    source=source,
                    age=entry.age(now),
                    fetched_at=entry.policy.fetched_at,
                    level="page",
                    final=True,
                    stale=entry.stale,
                    agent_token=item.agent,
                )
            )
        return verdicts

    def _checked_record(
        self, entry: _PolicyEntry, url: str, agents: Sequence[str], source: Source, now: float
    ) -> CheckedRecord:
        tokens, renamed, _ = tokens_of(agents)  # the caller refused strings naming no crawler
        matched = self._registry.index().matching(url) if self._registry is not None else ()
        record = decide(
            url,
            tokens,
            entry.policy,
            registry=matched,
            claimed_reserves=self.registry_claimed_reserves,
        )
        if renamed:
            record = replace(record, agent_tokens=renamed)
        return CheckedRecord(record, source, entry.age(now), entry.stale)

    def _fail_closed_entry(self, origin: str, exc: Exception, now: float) -> _PolicyEntry:
        """A policy whose robots.txt could not be obtained, so decide() reserves everything."""
        why = f"cache unavailable ({exc}); fail_closed is set"
        robots = PolicyFile(
            source=SourceOutcome(
                url=origin + POLICY_PATHS[ROBOTS], outcome=Outcome.ERROR, error=why
            )
        )
        policy = OriginPolicy(
            origin=origin,
            fetched_at=now_iso(),
            robots_file=robots,
            aitxt_file=PolicyFile.not_fetched(origin + POLICY_PATHS[AITXT]),
            tdmrep_file=PolicyFile.not_fetched(origin + POLICY_PATHS[TDMREP]),
        )
        meta = CacheMeta(fetched_at=None, expires_at=now)
        return _PolicyEntry(policy, b"", meta, now)


# --- what differs between the shells: construction, the connection, in-process single-flight ---
#
# The shells' shared body (the public API and the driver of the lookup flows) is written once as
# AsyncChecker in _async.py; Checker in _sync.py is generated from it by scripts/unasync.py.


class _SyncShell(_CheckerBase):
    """Checker's own part: the cache connected in the constructor, threads single-flighted."""

    _run: Callable[..., Any]  # the generated or hand-written shell's flow driver

    # jscpd:ignore-start - the two public signatures share most parameters but differ in the
    # cache and fetcher types (and max_concurrent_fetches); spelled out for help() and typing.
    def __init__(
        self,
        cache: ReservationCache | None = None,
        *,
        redis_url: str | None = None,
        fetcher: Fetcher | None = None,
        allow_private: bool = False,
        limits: FetchLimits | None = None,
        user_agent: str = USER_AGENT,
        fail_closed: bool = False,
        memory_size: int = DEFAULT_MEMORY_SIZE,
        memory_ttl: float = DEFAULT_MEMORY_TTL,
        max_stale: float = DEFAULT_MAX_STALE,
        memo_size: int = DEFAULT_MEMO_SIZE,
        audit: AuditSink | None = None,
        audit_required: bool = False,
        registry: str | None = None,
        registry_refresh: float = DEFAULT_REFRESH,
        registry_claimed_reserves: bool = CLAIMED_RESERVES,
    ) -> None:
        super().__init__(
            fail_closed=fail_closed,
            memory_size=memory_size,
            memory_ttl=memory_ttl,
            max_stale=max_stale,
            memo_size=memo_size,
            audit=audit,
            audit_required=audit_required,
            registry=registry,
            registry_refresh=registry_refresh,
            registry_claimed_reserves=registry_claimed_reserves,
        )
        # jscpd:ignore-end
        self._owns_cache = cache is None
        self.cache = (
            cache if cache is not None else ReservationCache(connect(redis_url, check=False))
        )
        self._owns_fetcher = fetcher is None
        self.fetcher = (
            fetcher
            if fetcher is not None
            else Fetcher(
                limits=limits or FetchLimits(), allow_private=allow_private, user_agent=user_agent
            )
        )
        self._loading: dict[str, threading.Lock] = {}

    def _connected(self) -> ReservationCache:
        return self.cache

    def _decided(self, step: Callable[..., _T], *args: Any) -> _T:
        """``step(*args)``: a decision step (AsyncChecker may run it elsewhere)."""
        return step(*args)

    def _audited(self, pairs: Sequence[tuple[Verdict, OriginPolicy]]) -> None:
        sink = self.audit
        if sink is not None:
            for verdict, policy in pairs:
                sink.record(verdict, policy, self.audit_required)

    def close(self) -> None:
        self._close_registry()
        if self._owns_fetcher:
            self.fetcher.close()
        if self._owns_cache:
            self.cache.client.close()

    def _refresh_all(
        self, misses: Sequence[tuple[str, bytes | None]]
    ) -> dict[str, tuple[_PolicyEntry, Source]]:
        return {origin: self._refresh_once(origin, raw) for origin, raw in misses}

    def _refresh_once(self, origin: str, raw: bytes | None) -> tuple[_PolicyEntry, Source]:
        """One refresh per origin in this process; the other threads wait, then use its result."""
        lock = self._loading.get(origin) or self._loading.setdefault(origin, threading.Lock())
        with lock:
            try:
                return self._run(refresh_policy(self, origin, raw))
            finally:
                self._loading.pop(origin, None)


class _AsyncShell(_CheckerBase):
    """AsyncChecker's own part: the cache connected on first use, tasks single-flighted."""

    _registry_inline = False  # refreshed on a worker thread in _decided

    _run: Callable[..., Any]  # AsyncChecker._run: drives a flow, performing its effects

    # jscpd:ignore-start - the two public signatures share most parameters but differ in the
    # cache and fetcher types (and max_concurrent_fetches); spelled out for help() and typing.
    def __init__(
        self,
        cache: AsyncReservationCache | None = None,
        *,
        redis_url: str | None = None,
        fetcher: AsyncFetcher | None = None,
        allow_private: bool = False,
        limits: FetchLimits | None = None,
        user_agent: str = USER_AGENT,
        fail_closed: bool = False,
        memory_size: int = DEFAULT_MEMORY_SIZE,
        memory_ttl: float = DEFAULT_MEMORY_TTL,
        max_stale: float = DEFAULT_MAX_STALE,
        memo_size: int = DEFAULT_MEMO_SIZE,
        max_concurrent_fetches: int = 16,
        audit: AuditSink | None = None,
        audit_required: bool = False,
        registry: str | None = None,
        registry_refresh: float = DEFAULT_REFRESH,
        registry_claimed_reserves: bool = CLAIMED_RESERVES,
    ) -> None:
        super().__init__(
            fail_closed=fail_closed,
            memory_size=memory_size,
            memory_ttl=memory_ttl,
            max_stale=max_stale,
            memo_size=memo_size,
            audit=audit,
            audit_required=audit_required,
            registry=registry,
            registry_refresh=registry_refresh,
            registry_claimed_reserves=registry_claimed_reserves,
        )
        # jscpd:ignore-end
        if max_concurrent_fetches < 1:
            raise ConfigError("max_concurrent_fetches must be >= 1")
        self._cache = cache
        self._owns_cache = cache is None
        self.redis_url = redis_url
        self._owns_fetcher = fetcher is None
        self.fetcher = (
            fetcher
            if fetcher is not None
            else AsyncFetcher(
                limits=limits or FetchLimits(), allow_private=allow_private, user_agent=user_agent
            )
        )
        self.max_concurrent_fetches = max_concurrent_fetches
        # Runs the decision step (matching and evidence: CPU only) of every answer; None runs
        # it inline on the event loop. ``serve`` sets a bounded thread pool (apps/server.py),
        # so that a costly origin does not stall the loop. The step is thread-safe, as in
        # Checker.
        self.offload: Callable[..., Awaitable[Any]] | None = None
        self._loading: dict[str, asyncio.Future[tuple[_PolicyEntry, Source]]] = {}
        self._connecting: asyncio.Lock | None = None

    async def cache(self) -> AsyncReservationCache:
        """The cache, connected on first use (CacheUnavailable if the embedded one cannot start)."""
        if self._cache is None:
            if self._connecting is None:
                self._connecting = asyncio.Lock()
            async with self._connecting:
                if self._cache is None:
                    client = await connect_async(self.redis_url, check=False)
                    self._cache = AsyncReservationCache(client)
        return self._cache

    async def _connected(self) -> AsyncReservationCache:
        return await self.cache()

    async def _decided(self, step: Callable[..., _T], *args: Any) -> _T:
        """``step(*args)``, a decision step, through ``offload`` when one is set; the registry's
        due refresh (a database query) first, on a worker thread."""
        registry = self._registry
        if registry is not None and registry.due():
            await asyncio.to_thread(registry.update_if_due)
        if self.offload is None:
            return step(*args)
        return await self.offload(step, *args)

    async def _audited(self, pairs: Sequence[tuple[Verdict, OriginPolicy]]) -> None:
        sink = self.audit
        if sink is None:
            return
        if not self.audit_required:
            for verdict, policy in pairs:
                sink.record(verdict, policy)
            return
        # Waiting for durability blocks: off the event loop.
        for verdict, policy in pairs:
            await asyncio.to_thread(sink.record, verdict, policy, True)

    async def aclose(self) -> None:
        self._close_registry()
        if self._owns_fetcher:
            await self.fetcher.aclose()
        if self._owns_cache and self._cache is not None:
            await self._cache.aclose()
            self._cache = None

    async def _refresh_all(
        self, misses: Sequence[tuple[str, bytes | None]]
    ) -> dict[str, tuple[_PolicyEntry, Source]]:
        """Refresh several origins concurrently, at most ``max_concurrent_fetches`` at a time."""
        if len(misses) == 1:
            origin, raw = misses[0]
            return {origin: await self._coalesced(origin, raw)}
        limit = asyncio.Semaphore(self.max_concurrent_fetches)
        out: dict[str, tuple[_PolicyEntry, Source]] = {}

        async def load(origin: str, raw: bytes | None) -> None:
            async with limit:
                out[origin] = await self._coalesced(origin, raw)

        await asyncio.gather(*(load(o, r) for o, r in misses))
        return out

    async def _coalesced(self, origin: str, raw: bytes | None) -> tuple[_PolicyEntry, Source]:
        """One refresh per origin in this process; concurrent callers await the same result."""
        while (pending := self._loading.get(origin)) is not None:
            try:
                entry, _ = await asyncio.shield(pending)
                return entry, MEMORY  # another task of this process loaded it
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if pending.cancelled() and task is not None and not task.cancelling():
                    continue  # the loader was cancelled, not us: load it ourselves
                raise
        future: asyncio.Future[tuple[_PolicyEntry, Source]] = (
            asyncio.get_running_loop().create_future()
        )
        self._loading[origin] = future
        try:
            result = await self._run(refresh_policy(self, origin, raw))
        except BaseException as exc:
            if isinstance(exc, Exception):
                future.set_exception(exc)
                future.exception()  # retrieved: waiters re-raise it, nobody else must
            else:
                future.cancel()
            raise
        else:
            future.set_result(result)
            return result
        finally:
            self._loading.pop(origin, None)
