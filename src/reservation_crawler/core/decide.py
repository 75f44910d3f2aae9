"""The decision table: (url, agents, origin policy, page signals) -> one ReservationRecord.

This is the only place that decides. The spider, the Checker, the middleware, the HTTP service,
``check``, ``validate`` and ``stats`` all read its output. Table (docs/record.md):

- robots.txt (RFC 9309, the agent's group or ``*``): disallowed -> every purpose reserved;
  allowed -> crawl allowed. 4xx (no file) -> crawl allowed. Unreachable -> everything reserved.
- Content-Signal (robots.txt group or header) and Content-Usage (robots.txt, path-scoped, or
  header): their purposes allowed/reserved -- only for URLs the agent may crawl.
- TDMRep effective value (file, header, meta layers): 1 -> train-ai and ai-use reserved,
  0 -> both allowed.
- ai.txt: the agent (or ``*``) disallowed -> train-ai reserved; explicitly allowed -> allowed.
- noai / noml (global or for the agent) -> train-ai and ai-use reserved; noimageai the same for
  images (on any other response it is evidence with effect unspecified: it reserves the page's
  images). A search engine's own directive for its crawler only (signals/page.py
  OPERATOR_DIRECTIVES): Bing noarchive/nocache -> train-ai, ai-use; Google nosnippet,
  max-snippet:0 -> ai-use.
- Content-Signal use= (a ceiling): immediate -> train-ai, ai-use, search reserved; reference ->
  train-ai, ai-use reserved; full -> evidence only.
- registry (docs/registry.md): a registration covering the URL or the page's bytes, for the agent
  or ``*`` -> its purposes reserved (a ``claimed`` one too, unless ``claimed_reserves`` is off).
- Per purpose: any reserved wins, else any allowed, else unspecified (aipref vocab §"Combining").

Also decided here, and only here: the conflicts (a purpose both reserved and allowed for an
agent: :class:`SignalConflict`; TDMRep layers that disagree: :class:`LayerConflict`) and
whether an origin-level answer is final (:func:`is_final`, the Checker's ``Verdict.final``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple

from reservation_crawler.core.policy import PAGE, PAGE_NOT_FETCHED, OriginPolicy, robots_fallback
from reservation_crawler.core.registry import (
    CLAIMED_RESERVES,
    registry_evidence,
    registry_findings,
)
from reservation_crawler.model.findings import Finding, FindingSpec, Severity
from reservation_crawler.model.record import (
    PURPOSES,
    Decision,
    Evidence,
    Outcome,
    Purpose,
    ReservationRecord,
    SourceOutcome,
)
from reservation_crawler.signals import tdmrep
from reservation_crawler.signals.aipref import VOCAB_REVISION

if TYPE_CHECKING:
    from reservation_crawler.core.policy import PolicyFile
    from reservation_crawler.model.registry import Registration
    from reservation_crawler.signals.aipref import ContentUsage
    from reservation_crawler.signals.aitxt import AiTxtMatch
    from reservation_crawler.signals.contentsignal import ContentSignal
    from reservation_crawler.signals.page import PageSignals, RobotsDirective
    from reservation_crawler.signals.robots import RobotsExplanation
    from reservation_crawler.signals.rsl import RslContent
    from reservation_crawler.signals.tdmrep import TdmLayerValue, TdmRepRule

DEFAULT_AGENT = "*"

ALL_PURPOSES = PURPOSES
AI_PURPOSES = (Purpose.TRAIN_AI, Purpose.AI_USE)  # what TDMRep and noai reserve

# Cloudflare Content Signals keys -> our purposes (signals.md §7; docs/record.md, "Purposes":
# ai-input, answer-time input to AI models, is aipref vocab-08's ai-use).
CONTENT_SIGNAL_PURPOSES = {
    "ai-train": Purpose.TRAIN_AI,
    "ai-input": Purpose.AI_USE,
    "search": Purpose.SEARCH,
}
# RSL 1.0 §3.4.1 usage leaves -> our purposes (all / ai-all are expanded by signals/rsl.py).
# ai-index (indexing that powers AI answers) is input to a model at answer time: AI_USE.
RSL_PURPOSES = {
    "ai-train": Purpose.TRAIN_AI,
    "ai-input": Purpose.AI_USE,
    "ai-index": Purpose.AI_USE,
    "search": Purpose.SEARCH,
}
# A grant's state -> effect: prohibited, and permitted only against a licence (a payment or a
# licence server), reserve; permitted free allows; permitted to some users or places only says
# nothing about a given crawler.
RSL_EFFECTS = {
    "prohibited": Decision.RESERVED,
    "licence-required": Decision.RESERVED,
    "free": Decision.ALLOWED,
    "conditional": Decision.UNSPECIFIED,
}
# Uses named by embedded media metadata (signals/media.py: IPTC plus:DataMining, C2PA / CAWG
# training-mining) -> our purposes. Data mining is every AI use, as TDMRep's reservation.
MEDIA_PURPOSES: Mapping[str, tuple[Purpose, ...]] = {
    "ai-training": (Purpose.TRAIN_AI,),
    "genai-training": (Purpose.TRAIN_AI,),
    "ai-inference": (Purpose.AI_USE,),
    "data-mining": (Purpose.TRAIN_AI, Purpose.AI_USE),
    "search-indexing": (Purpose.SEARCH,),
}
# Cloudflare's use= level (the most an AI system may do with the content) -> the purposes it
# rules out (docs/record.md, "Content-Signal use="): immediate = read for the task at hand,
# store and reuse nothing (no index, no training, no generated answers from it); reference =
# index, short excerpts, link back (no training, no generated answers); full = no limit.
# A ceiling, never a grant: what it does not rule out stays as other signals decide.
_USE_LIMITED = (Purpose.TRAIN_AI, Purpose.AI_USE, Purpose.SEARCH)  # what a use= level can limit
CONTENT_SIGNAL_USE_RESERVES: Mapping[str, tuple[Purpose, ...]] = MappingProxyType(
    {
        "immediate": _USE_LIMITED,
        "reference": (Purpose.TRAIN_AI, Purpose.AI_USE),
        "full": (),
    }
)
# IETF aipref vocabulary labels -> our purposes (draft-ietf-aipref-vocab-08 §4: train-ai,
# ai-use, search; search overrides the others for uses that qualify as Search, so the search
# cell is decided by search preferences only and never by train-ai=n or ai-use=n).
CONTENT_USAGE_PURPOSES = {
    "train-ai": Purpose.TRAIN_AI,
    "ai-use": Purpose.AI_USE,
    "search": Purpose.SEARCH,
}

DECISION_CONFLICT = FindingSpec(
    code="decision.conflict",
    severity=Severity.WARNING,
    source="decision",
    title="two signals contradict each other for the same agent and purpose",
    explanation=(
        "One signal reserves a use that another explicitly allows. The reservation wins (any "
        "reserved beats any allowed, the aipref combination rule), but the publisher probably "
        "did not mean to say both."
    ),
    fix="Make the signals agree: change or remove the one that does not say what you intend.",
    example="tdm-reservation: 0 on the page while robots.txt disallows GPTBot",
)


def decide(
    url: str,
    agents: Iterable[str],
    origin: OriginPolicy,
    page: PageSignals | None = None,
    *,
    page_source: SourceOutcome | None = None,
    page_findings: Sequence[Finding] = (),
    fetched_at: str | None = None,
    include_default: bool = True,
    registry: Sequence[Registration] = (),
    claimed_reserves: bool = CLAIMED_RESERVES,
) -> ReservationRecord:
    """Build the record of ``url`` for ``*`` (unless ``include_default``) and each agent.

    ``registry``: the registrations that cover the URL or the page's bytes (core/registry.py).
    """
    return _decide(
        url, agents, origin, page, page_source, page_findings, fetched_at, include_default,
        registry, claimed_reserves,
    )[0]  # fmt: skip


class Decided(NamedTuple):
    """:func:`decide_in_full`'s answer: the record, and the decisions and conflicts behind it."""

    record: ReservationRecord
    agents: tuple[AgentDecision, ...]  # one per agent of the record, in its order
    layer_conflict: LayerConflict | None  # TDMRep layers that disagree for the URL, if any


# jscpd:ignore-start - decide_in_full takes decide()'s parameters, spelled out (not **kwargs) so
# that help() and the type checker show them; both hand them to the one _decide().
def decide_in_full(
    url: str,
    agents: Iterable[str],
    origin: OriginPolicy,
    page: PageSignals | None = None,
    *,
    page_source: SourceOutcome | None = None,
    page_findings: Sequence[Finding] = (),
    fetched_at: str | None = None,
    include_default: bool = True,
    registry: Sequence[Registration] = (),
    claimed_reserves: bool = CLAIMED_RESERVES,
) -> Decided:
    """:func:`decide`, also returning each agent's :class:`AgentDecision` (its conflicts) and
    the TDMRep layer conflict, for reports that show them (``validate``)."""
    # jscpd:ignore-end
    record, verdicts, shared = _decide(
        url, agents, origin, page, page_source, page_findings, fetched_at, include_default,
        registry, claimed_reserves,
    )  # fmt: skip
    return Decided(record, verdicts, _layer_conflict(origin, shared))


def _decide(
    url: str,
    agents: Iterable[str],
    origin: OriginPolicy,
    page: PageSignals | None,
    page_source: SourceOutcome | None,
    page_findings: Sequence[Finding],
    fetched_at: str | None,
    include_default: bool,
    registry: Sequence[Registration] = (),
    claimed_reserves: bool = CLAIMED_RESERVES,
) -> tuple[ReservationRecord, tuple[AgentDecision, ...], _Shared]:
    shared = _agent_independent_evidence(
        origin, page, _tdm_rule(url, origin), _rsl_match(url, origin)
    )
    decisions: dict[str, Mapping[Purpose, Decision]] = {}
    evidence: list[Evidence] = []
    conflicts: list[Finding] = []
    verdicts: list[AgentDecision] = []
    for agent in _agent_list(agents, include_default):
        verdict = _decide_agent(agent, origin, page, _match(url, agent, origin), shared)
        if registry:
            verdict = with_registry(verdict, registry, claimed_reserves=claimed_reserves)
        verdicts.append(verdict)
        decisions[agent] = verdict.cells
        evidence.extend(verdict.evidence)
        conflicts.extend(verdict.conflicts())

    if page_source is None:
        page_source = SourceOutcome(url=url, outcome=Outcome.NOT_FETCHED)
    sources = origin.sources
    sources[PAGE] = page_source
    findings: list[Finding] = list(origin.findings)
    if page_source.outcome is Outcome.NOT_FETCHED and page is None:
        findings.append(PAGE_NOT_FETCHED(location=url))
    findings.extend(page_findings)
    if page is not None:
        findings.extend(page.findings)
    findings.extend(shared.findings)
    findings.extend(registry_findings(registry))
    findings.extend(conflicts)
    record = ReservationRecord(
        url=url,
        origin=origin.origin,
        fetched_at=fetched_at or origin.fetched_at or _now(),
        sources=sources,
        decisions=decisions,
        evidence=tuple(evidence),
        findings=tuple(findings),
        aipref_vocab=VOCAB_REVISION,
    )
    return record, tuple(verdicts), shared


class SignalConflict(NamedTuple):
    """For one agent and purpose, signals that reserve it and signals that allow it: the
    reservation wins (any reserved beats any allowed), reported as a ``decision.conflict``.
    (Named tuples, as the record's rows: built for every contested cell decided.)"""

    agent: str
    purpose: Purpose
    reserved_by: tuple[Evidence, ...]
    allowed_by: tuple[Evidence, ...]

    def finding(self) -> Finding:
        reserving = ", ".join(sorted({e.signal for e in self.reserved_by}))
        allowing = ", ".join(sorted({e.signal for e in self.allowed_by}))
        return DECISION_CONFLICT(
            f"{self.agent}: {self.purpose} is reserved by {reserving} but allowed by "
            f"{allowing}; the reservation wins",
            location=self.agent,
        )


class LayerConflict(NamedTuple):
    """TDMRep layers that set different tdm-reservation values for one URL (for every agent):
    ``layers`` in precedence order, tdmrep.json, then headers, then meta; the last one wins
    (TDMRep §4) and is the evidence the decision carries."""

    layers: tuple[Evidence, ...]

    @property
    def winner(self) -> Evidence:
        return self.layers[-1]


# The one layer a page can override: a tdmrep.json rule yields to a TDMRep header or meta
# (TDMRep §4); every other signal combines with "any reserved wins", so a page only adds.
_PAGE_OVERRIDABLE = ("tdmrep", "tdmrep.json")  # (signal, source)


def is_final(decision: Decision, evidence: Iterable[Evidence]) -> bool:
    """Whether no page signal can change an origin-level ``decision`` (``evidence``: the
    agent's rows for that purpose): it is reserved by a signal other than a tdmrep.json rule."""
    return decision is Decision.RESERVED and any(
        (e.signal, e.source) != _PAGE_OVERRIDABLE for e in evidence if e.effect is Decision.RESERVED
    )


class AgentDecision:
    """One agent's row of a record: its cells and the evidence behind them.

    What :func:`decide` computes per agent, without assembling the record (sources, findings):
    the Checker's fast path for a single agent goes through exactly this code.
    """

    __slots__ = ("_contested", "agent", "cells", "evidence")

    def __init__(
        self,
        agent: str,
        cells: Mapping[Purpose, Decision],
        evidence: tuple[Evidence, ...],
        contested: tuple[Purpose, ...],
    ) -> None:
        self.agent = agent
        self.cells = cells
        self.evidence = evidence
        self._contested = contested

    def conflicts(self) -> list[Finding]:
        """decision.conflict findings for the purposes some signal reserves and another allows."""
        if not self._contested:
            return []
        return [conflict.finding() for conflict in self.signal_conflicts()]

    def signal_conflicts(self) -> tuple[SignalConflict, ...]:
        """The purposes some signal reserves and another allows, with the rows on each side."""
        out = []
        for purpose in self._contested:
            reserved: list[Evidence] = []
            allowed: list[Evidence] = []
            for row in self.evidence:
                if purpose in row.purposes:
                    if row.effect is Decision.RESERVED:
                        reserved.append(row)
                    elif row.effect is Decision.ALLOWED:
                        allowed.append(row)
            out.append(SignalConflict(self.agent, purpose, tuple(reserved), tuple(allowed)))
        return tuple(out)

    def final(self, purpose: Purpose) -> bool:
        """Whether no page signal can change this purpose's origin-level decision
        (:func:`is_final`; docs/checker.md, "Origin level, page level")."""
        return is_final(self.cells[purpose], (e for e in self.evidence if purpose in e.purposes))


# Origin-level decisions kept per policy (see decide_agent; ~1 KB each); cleared when full;
# 0: none kept. Their number depends on the files' rules, not on how many URLs are checked.
AGENT_DECISIONS_PER_POLICY = 256


def decide_agent(
    url: str, agent: str, origin: OriginPolicy, page: PageSignals | None = None
) -> AgentDecision:
    """The decision for one agent (the same rows and rule as :func:`decide`), without a record.

    Without a page, the decision depends only on which rules of the origin's files matched the
    URL, so URLs that match the same rules share one (immutable) decision, kept on the policy.
    """
    tdm_rule = _tdm_rule(url, origin)
    rsl_match = _rsl_match(url, origin)
    matches = _match(url, agent, origin)
    if page is not None:
        shared = _agent_independent_evidence(origin, page, tdm_rule, rsl_match)
        return _decide_agent(agent, origin, page, matches, shared)
    explanation, usages, ai_match = matches
    # Everything the origin-level rows read from a match, named by what identifies it: the
    # robots.txt rule line (its verb decides; no rule: allowed), the Content-Usage rule lines,
    # the ai.txt rule line and the tdmrep.json rule index. The agent selects the groups (and is
    # copied into evidence).
    key = (
        agent,
        None if explanation is None or explanation.rule is None else explanation.rule.line,
        tuple([usage.line for usage in usages]) if usages else (),
        None if ai_match is None else ai_match.line,
        None if tdm_rule is None else tdm_rule.index,
        tuple([(id(f), content.index) for f, content in rsl_match]) if rsl_match else (),
    )
    memo: dict[tuple[object, ...], AgentDecision] = origin.agent_decisions
    decision = memo.get(key)
    if decision is None:
        shared = _agent_independent_evidence(origin, None, tdm_rule, rsl_match)
        decision = _decide_agent(agent, origin, None, matches, shared)
        if len(memo) >= AGENT_DECISIONS_PER_POLICY:
            memo.clear()
        if AGENT_DECISIONS_PER_POLICY:
            memo[key] = decision
    return decision


def with_registry(
    verdict: AgentDecision,
    registry: Sequence[Registration],
    *,
    claimed_reserves: bool = CLAIMED_RESERVES,
) -> AgentDecision:
    """``verdict`` with the registry's rows for its agent added and the cells recombined."""
    extra = registry_evidence(verdict.agent, registry, claimed_reserves=claimed_reserves)
    if not extra:
        return verdict
    rows = (*verdict.evidence, *extra)
    cells, contested = _combine_rows(rows)
    return AgentDecision(verdict.agent, cells, rows, contested)


def _decide_agent(
    agent: str,
    origin: OriginPolicy,
    page: PageSignals | None,
    matches: _Matches,
    shared: _Shared,
) -> AgentDecision:
    rows = tuple(_agent_evidence(agent, origin, page, matches, shared))
    cells, contested = _combine_rows(rows)
    return AgentDecision(agent, cells, rows, contested)


def _agent_list(agents: Iterable[str], include_default: bool) -> list[str]:
    out: list[str] = [DEFAULT_AGENT] if include_default else []
    seen = {a.casefold() for a in out}
    for agent in agents:
        agent = agent.strip()
        if agent and agent.casefold() not in seen:
            seen.add(agent.casefold())
            out.append(agent)
    return out


class _Row(NamedTuple):
    """Evidence before it is attached to an agent (shared by every agent): Evidence(agent, *row)."""

    purposes: tuple[Purpose, ...]
    effect: Decision
    signal: str
    source: str
    scope: str
    raw: str
    line: int | None = None
    location: str | None = None


class _Matches(NamedTuple):
    """The per-URL lookups in the origin's files for one agent, before any evidence is built."""

    explanation: RobotsExplanation | None  # None unless robots.txt was read (2xx)
    usages: tuple[ContentUsage, ...]  # robots.txt Content-Usage rules for the URL, if crawlable
    ai_match: AiTxtMatch | None


def _match(url: str, agent: str, origin: OriginPolicy) -> _Matches:
    robots_txt = origin.robots
    explanation = None
    usages: tuple[ContentUsage, ...] = ()
    if robots_txt is not None and origin.robots_file.source.outcome is Outcome.OK:
        explanation = robots_txt.explain(url, agent)
        if explanation.allowed:
            usages = robots_txt.content_usages(url, agent)
    ai_txt = origin.aitxt
    ai_match = ai_txt.match(url, agent) if ai_txt is not None and ai_txt.interpretable else None
    return _Matches(explanation, usages, ai_match)


def _tdm_rule(url: str, origin: OriginPolicy) -> TdmRepRule | None:
    tdm_file = origin.tdmrep
    return tdm_file.rule_for(url) if tdm_file is not None else None


class _Shared:
    """Evidence that does not depend on the agent: TDMRep and page headers/meta (unscoped)."""

    __slots__ = ("findings", "gated", "tdm_layers", "tdm_rule", "ungated")

    def __init__(
        self,
        gated: list[_Row],
        ungated: list[_Row],
        findings: list[Finding],
        tdm_rule: TdmRepRule | None = None,
        tdm_layers: tuple[TdmLayerValue, ...] = (),
    ) -> None:
        self.gated = gated  # only for crawlable URLs (Content-Signal / Content-Usage headers)
        self.ungated = ungated
        self.findings = findings
        # The TDMRep layers, kept only when they disagree (see _layer_conflict).
        self.tdm_rule = tdm_rule
        self.tdm_layers = tdm_layers


RslMatch = tuple[tuple["PolicyFile", "RslContent"], ...]


def _rsl_match(url: str, origin: OriginPolicy) -> RslMatch:
    """Per RSL document read, the ``<content>`` naming the URL (RSL 1.0 §3.2)."""
    if not origin.rsl_files:
        return ()
    found = []
    for rsl_file, document in origin.rsl_documents:
        content = document.content_for(url)
        if content is not None:
            found.append((rsl_file, content))
    return tuple(found)


def _rsl_rows(origin: OriginPolicy, matches: RslMatch) -> list[_Row]:
    """One row per usage leaf the matched licences address. A document found at /rsl.xml
    without a License: line is shown, effect unspecified (non-normative discovery)."""
    rows = []
    for rsl_file, content in matches:
        normative = origin.rsl_normative(rsl_file)
        source = "rsl" if normative else "rsl.xml"
        location = f"{rsl_file.source.url}#content[{content.index + 1}]"
        note = "" if normative else " (found at /rsl.xml, named by no License: line: not applied)"
        for grant in content.grants():
            effect = RSL_EFFECTS[grant.state] if normative else Decision.UNSPECIFIED
            raw = f'<content url="{content.url}">: {grant.why}{note}'
            purpose = RSL_PURPOSES[grant.token]
            rows.append(_Row((purpose,), effect, "rsl", source, DEFAULT_AGENT, raw, None, location))
    return rows


def _media_rows(page: PageSignals) -> list[_Row]:
    """Per metadata entry of an image or PDF: the purposes it reserves and allows. An entry of
    an Invalid C2PA manifest is shown, effect unspecified."""
    rows = []
    for entry in page.media.entries:
        for uses, effect in (
            (entry.prohibited, Decision.RESERVED),
            (entry.allowed, Decision.ALLOWED),
        ):
            purposes = tuple(dict.fromkeys(p for use in uses for p in MEDIA_PURPOSES[use]))
            if not purposes:
                continue
            if not entry.applies:
                effect = Decision.UNSPECIFIED
            location = f"{page.url} ({'XMP ' if entry.source == 'xmp' else 'C2PA '}{entry.key})"
            rows.append(_Row(purposes, effect, "media", entry.source, DEFAULT_AGENT, entry.raw,
                             None, location))  # fmt: skip
    return rows


def _agent_independent_evidence(
    origin: OriginPolicy,
    page: PageSignals | None,
    tdm_rule: TdmRepRule | None,
    rsl_match: RslMatch = (),
) -> _Shared:
    findings: list[Finding] = []
    tdm_rows, tdm_layers = _tdmrep_rows(origin, tdm_rule, page, findings)
    if rsl_match:
        tdm_rows = tdm_rows + _rsl_rows(origin, rsl_match)
    if page is None:
        return _Shared([], tdm_rows, findings, tdm_rule, tdm_layers)
    if page.media.entries:
        tdm_rows = tdm_rows + _media_rows(page)
    gated: list[_Row] = []
    for cs in page.content_signal:
        gated.extend(_content_signal_rows(cs, "header", "*", cs.location or "Content-Signal"))
    for cu in page.content_usage:
        gated.extend(_content_usage_rows(cu, "header", "*", cu.location or "Content-Usage"))
    return _Shared(gated, tdm_rows, findings, tdm_rule, tdm_layers)


def _agent_evidence(
    agent: str,
    origin: OriginPolicy,
    page: PageSignals | None,
    matches: _Matches,
    shared: _Shared,
) -> list[Evidence]:
    rows: list[_Row] = []
    crawlable, scope = _robots_rows(matches.explanation, origin, rows)
    if crawlable:
        robots_txt = origin.robots
        if matches.explanation is not None and robots_txt is not None:
            robots_url = origin.robots_file.source.url
            for cs in robots_txt.content_signals(agent):
                rows.extend(_content_signal_rows(cs, "robots.txt", scope, robots_url))
            for cu in matches.usages:
                rows.extend(_content_usage_rows(cu, "robots.txt", scope, robots_url))
        rows.extend(shared.gated)
    rows.extend(shared.ungated)
    rows.extend(_aitxt_rows(matches.ai_match, origin))
    if page is not None:
        rows.extend(_noai_rows(agent, page))
    return [Evidence(agent, *row) for row in rows]


def _robots_rows(
    explanation: RobotsExplanation | None, origin: OriginPolicy, rows: list[_Row]
) -> tuple[bool, str]:
    """Add the robots.txt evidence; return whether the agent may crawl the URL, and the group."""
    source = origin.robots_file.source
    location = source.url
    if explanation is not None:
        rule = explanation.rule
        raw = rule.raw if rule is not None else "no matching rule"
        line = rule.line if rule is not None else None
        scope = explanation.agent_group or DEFAULT_AGENT
        if explanation.allowed:
            rows.append(
                _Row(
                    (Purpose.CRAWL,),
                    Decision.ALLOWED,
                    "robots",
                    "robots.txt",
                    scope,
                    raw,
                    line,
                    location,
                )
            )
            return True, scope
        rows.append(
            _Row(
                ALL_PURPOSES, Decision.RESERVED, "robots", "robots.txt", scope, raw, line, location
            )
        )
        return False, scope
    fallback = robots_fallback(source)
    if fallback is None:
        return True, DEFAULT_AGENT  # not fetched: robots.txt says nothing either way
    purposes: tuple[Purpose, ...] = (Purpose.CRAWL,) if fallback.allowed else ALL_PURPOSES
    effect = Decision.ALLOWED if fallback.allowed else Decision.RESERVED
    rows.append(
        _Row(
            purposes,
            effect,
            "robots",
            "robots.txt",
            DEFAULT_AGENT,
            fallback.reason,
            None,
            location,
        )
    )
    return fallback.allowed, DEFAULT_AGENT


def _content_signal_rows(cs: ContentSignal, source: str, scope: str, location: str) -> list[_Row]:
    rows = _preference_rows(cs, "Content-Signal", CONTENT_SIGNAL_PURPOSES, source, scope, location)
    if cs.use is not None:
        # The use= level: its own signal, reserving what the level rules out; full (no limit)
        # is kept as evidence with effect unspecified, so the record shows it was read.
        reserved = CONTENT_SIGNAL_USE_RESERVES[cs.use]
        effect = Decision.RESERVED if reserved else Decision.UNSPECIFIED
        purposes = reserved or _USE_LIMITED
        raw = f"Content-Signal: {cs.raw}"
        rows.append(
            _Row(purposes, effect, "content-signal-use", source, scope, raw, cs.line, location)
        )
    for entry in cs.unknown:  # kept verbatim as evidence; no purpose is decided by it
        rows.append(
            _Row(
                (), Decision.UNSPECIFIED, "content-signal", source, scope, entry, cs.line, location
            )
        )
    return rows


def _content_usage_rows(cu: ContentUsage, source: str, scope: str, location: str) -> list[_Row]:
    rows = _preference_rows(cu, "Content-Usage", CONTENT_USAGE_PURPOSES, source, scope, location)
    raw = f"Content-Usage: {cu.raw}"
    for category, (allowed, _label) in cu.legacy.items():
        # A label of an earlier aipref draft, for a category the current labels leave unknown
        # (signals/aipref.py LEGACY_LABELS; the finding names the label and its draft).
        effect = Decision.ALLOWED if allowed else Decision.RESERVED
        purpose = CONTENT_USAGE_PURPOSES[category]
        rows.append(
            _Row((purpose,), effect, "content-usage-legacy", source, scope, raw, cu.line, location)
        )
    return rows


def _preference_rows(
    preference: ContentSignal | ContentUsage,
    field: str,
    purposes: Mapping[str, Purpose],
    source: str,
    scope: str,
    location: str,
) -> list[_Row]:
    """One row per key of a Content-Signal / Content-Usage line that names one of our purposes."""
    rows = []
    signal = field.lower()
    raw = f"{field}: {preference.raw}"
    for key, allowed in preference.values.items():
        purpose = purposes.get(key)
        if purpose is not None:
            effect = Decision.ALLOWED if allowed else Decision.RESERVED
            rows.append(
                _Row((purpose,), effect, signal, source, scope, raw, preference.line, location)
            )
    return rows


def _tdmrep_rows(
    origin: OriginPolicy, rule: TdmRepRule | None, page: PageSignals | None, findings: list[Finding]
) -> tuple[list[_Row], tuple[TdmLayerValue, ...]]:
    """The TDMRep row (the layer that won, if any), and the layers when they disagree."""
    header = page.tdm_header if page is not None else None
    meta = page.tdm_meta if page is not None else None
    if header is None and meta is None:
        # Origin-level checks (no page): the file rule alone, without merging layers. A policy
        # without a reservation is merged below, for its finding (TDMRep §4).
        if rule is None:
            return [], ()
        if rule.reservation is not None:
            effect = Decision.RESERVED if rule.reservation == 1 else Decision.ALLOWED
            return [_file_rule_row(origin, rule, effect)], ()
        if rule.policy is None:
            return [], ()
    effective = tdmrep.effective_tdm(rule, header, meta)
    findings.extend(effective.findings)
    layers = effective.reservations
    if not layers:
        return [], ()
    winner = layers[-1]
    disagree = any(layer.value != winner.value for layer in layers)
    return [_tdm_layer_row(origin, rule, winner)], layers if disagree else ()


def _layer_conflict(origin: OriginPolicy, shared: _Shared) -> LayerConflict | None:
    """The TDMRep layers that set different values, as evidence (built only when asked)."""
    if not shared.tdm_layers:
        return None
    rows = [_tdm_layer_row(origin, shared.tdm_rule, layer) for layer in shared.tdm_layers]
    return LayerConflict(tuple([Evidence(DEFAULT_AGENT, *row) for row in rows]))


def _tdm_layer_row(origin: OriginPolicy, rule: TdmRepRule | None, layer: TdmLayerValue) -> _Row:
    effect = Decision.RESERVED if layer.value == 1 else Decision.ALLOWED
    if layer.layer == "file" and rule is not None:
        return _file_rule_row(origin, rule, effect)
    source = "header" if layer.layer == "header" else "meta"
    return _Row(
        AI_PURPOSES, effect, "tdmrep", source, DEFAULT_AGENT, layer.raw, None, layer.location
    )


def _file_rule_row(origin: OriginPolicy, rule: TdmRepRule, effect: Decision) -> _Row:
    location = f"{origin.tdmrep_file.source.url}#{rule.pointer}"
    return _Row(
        AI_PURPOSES, effect, "tdmrep", "tdmrep.json", DEFAULT_AGENT, rule.raw, rule.line, location
    )


def _aitxt_rows(match: AiTxtMatch | None, origin: OriginPolicy) -> list[_Row]:
    if match is None:
        return []
    effect = Decision.ALLOWED if match.allowed else Decision.RESERVED
    # The source names the location read: "ai.txt", or "/.well-known/ai.txt" (the fallback).
    source = "/.well-known/ai.txt" if origin.aitxt_fallback_used else "ai.txt"
    return [
        _Row(
            (Purpose.TRAIN_AI,),
            effect,
            "ai.txt",
            source,
            match.agent_group,
            match.raw,
            match.line,
            origin.aitxt_file.source.url,
        )
    ]


def _noai_rows(agent: str, page: PageSignals) -> list[_Row]:
    # Which directives reserve (noai; noimageai on an image; global or for the agent) is the
    # noai reading, kept with its parser: PageSignals.ai_reservations.
    # noimageai on a page that is not an image reserves that page's images, not the page: it is
    # kept as evidence (effect unspecified) so the record, validate and stats show it was read.
    if not page.robots_directives:
        return []  # most pages: skip building the (empty) answer, once per agent
    rows: list[tuple[tuple[Purpose, ...], Decision, RobotsDirective]] = []
    rows.extend((AI_PURPOSES, Decision.RESERVED, d) for d in page.ai_reservations(agent))
    rows.extend((AI_PURPOSES, Decision.UNSPECIFIED, d) for d in page.image_only_reservations(agent))
    # A search engine's own directive (Bing noarchive/nocache, Google nosnippet/max-snippet),
    # for that engine's crawler only; max-snippet other than 0 is evidence, effect unspecified.
    for directive, reading, reserves in page.operator_readings(agent):
        effect = Decision.RESERVED if reserves else Decision.UNSPECIFIED
        rows.append((reading.purposes, effect, directive))
    return [
        _Row(
            purposes,
            effect,
            directive.token,
            directive.source,
            directive.agent,
            directive.raw,
            None,
            directive.location,
        )
        for purposes, effect, directive in rows
    ]


_BIT = {p: 1 << i for i, p in enumerate(PURPOSES)}
_MASKS: dict[tuple[Purpose, ...], int] = {}
_CELLS: dict[tuple[int, int], tuple[Mapping[Purpose, Decision], tuple[Purpose, ...]]] = {}


def _mask(purposes: tuple[Purpose, ...]) -> int:
    mask = _MASKS.get(purposes)
    if mask is None:
        mask = _MASKS[purposes] = sum(_BIT[p] for p in set(purposes))
    return mask


def _combine_rows(
    rows: Sequence[Evidence],
) -> tuple[Mapping[Purpose, Decision], tuple[Purpose, ...]]:
    """Per purpose: any reserved wins, else any allowed, else unspecified (the aipref rule),
    in one pass; also the purposes that some rows reserve and others allow.

    Purposes are bits, and the (read-only) cells of each of the 256 reserved/allowed pairs are
    built once: this runs for every URL a crawler checks.
    """
    reserved = allowed = 0
    for row in rows:
        if row.effect is Decision.RESERVED:
            reserved |= _mask(row.purposes)
        elif row.effect is Decision.ALLOWED:
            allowed |= _mask(row.purposes)
    known = _CELLS.get((reserved, allowed))
    if known is None:
        cells = MappingProxyType(
            {
                p: Decision.RESERVED
                if reserved & _BIT[p]
                else (Decision.ALLOWED if allowed & _BIT[p] else Decision.UNSPECIFIED)
                for p in PURPOSES
            }
        )
        contested = tuple(p for p in PURPOSES if reserved & allowed & _BIT[p])
        known = _CELLS[(reserved, allowed)] = (cells, contested)
    return known


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
