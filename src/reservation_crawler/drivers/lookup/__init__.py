"""Fetch-time permission checks: is this URL reserved for this agent and purpose, and why?

:class:`Checker` (sync) and :class:`AsyncChecker` answer from three tiers, fastest first:

1. **memory** -- a bounded LRU of compiled :class:`~reservation_crawler.core.policy.OriginPolicy`
   objects keyed by origin (scheme + host + port), each answering for ``memory_ttl`` seconds and
   never past the policy's own expiry; decisions are memoized per (URL path, agent) inside it;
2. **redis** -- the policy every worker shares (``rc:v1:policy:{<origin>}``, ``cache.py``); a
   compiled policy whose stored JSON did not change is reused, not parsed again;
3. **fetch** -- robots.txt, ai.txt and tdmrep.json fetched once per origin across all processes
   (the cache's origin lock), stored for the others.

Every decision comes from the decision table in ``decide.py``: the origin-level verdict is
``decide_agent(url, agent, policy)`` (the per-agent step of ``decide()``, without assembling a
record), the page-level one goes through ``collect.record_from_page``. See ``docs/checker.md``.
"""

from reservation_crawler.drivers.lookup._async import AsyncChecker
from reservation_crawler.drivers.lookup._core import (
    DEFAULT_MAX_STALE,
    DEFAULT_MEMO_SIZE,
    DEFAULT_MEMORY_SIZE,
    DEFAULT_MEMORY_TTL,
    MEMO_PER_ORIGIN,
    ORIGIN_PREFIXES,
    CheckedRecord,
    Verdict,
)
from reservation_crawler.drivers.lookup._sync import Checker

__all__ = [
    "DEFAULT_MAX_STALE",
    "DEFAULT_MEMORY_SIZE",
    "DEFAULT_MEMORY_TTL",
    "DEFAULT_MEMO_SIZE",
    "MEMO_PER_ORIGIN",
    "ORIGIN_PREFIXES",
    "AsyncChecker",
    "CheckedRecord",
    "Checker",
    "Verdict",
]
