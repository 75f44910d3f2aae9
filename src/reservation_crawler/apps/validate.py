"""``validate``: what a publisher's AI / TDM reservations say, and what is wrong with them.

One report per site: the signals found (with the lines that carry them), a matrix of what the
well-known AI agents may do per purpose, every finding (deduplicated across the site's pages, with
its explanation and fix from the catalogue) and the conflicts between signals. Decisions come from
the same core as ``check`` (``collect`` -> ``decide``); this module adds the checks no parser can
make alone (documents a signal points to, media types, control-only tokens) and presents.

The report model (:class:`ValidationReport`) is kept apart from its renderers
(:func:`render_text`, :func:`render_json`; the HTML page is ``apps/web``'s template, shared with
the web front). Readings: ``docs/validate.md``.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from reservation_crawler.apps._exit import ExitCode
from reservation_crawler.apps.catalogue import catalogue
from reservation_crawler.core.policy import (
    AITXT,
    PAGE,
    ROBOTS,
    RSL_UNREACHABLE,
    TDMREP,
    OriginPolicy,
    classify,
)
from reservation_crawler.core.urls import origin_of, target_url
from reservation_crawler.errors import InvalidOrigin
from reservation_crawler.model import codec
from reservation_crawler.model.codec import shape
from reservation_crawler.model.findings import Finding, FindingSpec, Severity
from reservation_crawler.model.record import (
    PURPOSES,
    Access,
    Decision,
    Evidence,
    Outcome,
    ReservationRecord,
    SourceOutcome,
)
from reservation_crawler.signals import tdmrep
from reservation_crawler.signals.agents import get_agent, well_known_agents
from reservation_crawler.signals.cloudflare import ManagedBlock, read_managed_block
from reservation_crawler.signals.contentsignal import KNOWN_KEYS, more_restrictive_use
from reservation_crawler.signals.robots import MAX_BYTES
from reservation_crawler.signals.rsl import NOT_RSL as RSL_NOT_RSL
from reservation_crawler.signals.rsl import RslDocument, parse_rsl

# fetch (httpx), collect, decide and page (lxml) are imported where used, so that reading a saved
# report (ValidationReport.from_json, the renderers) does not pay for them.
if TYPE_CHECKING:
    from reservation_crawler.core.decide import Decided
    from reservation_crawler.core.registry import RegistryIndex
    from reservation_crawler.drivers.fetch import Fetcher, FetchLimits, FetchResult
    from reservation_crawler.signals.page import PageSignals

__all__ = [
    "REPORT_SCHEMA",
    "VALIDATOR_FINDINGS",
    "Conflict",
    "MatrixRow",
    "Occurrence",
    "PageReport",
    "Reference",
    "ReportFinding",
    "Signal",
    "SignalRef",
    "SourceFile",
    "SourceLine",
    "ValidationReport",
    "build_report",
    "check_rsl_document",
    "check_tdm_policy",
    "exit_status",
    "purpose_verdict",
    "referenced_documents",
    "render_json",
    "render_text",
    "site_url",
    "source_files",
    "validate",
]

REPORT_SCHEMA = "validate-report/1"

# Documents a signal points to (tdm-policy, RSL licences) are small; a cap keeps hostile ones cheap.
REFERENCE_MAX_BYTES = 512_000
# A 2 MB tdmrep.json can name ~20,000 policy URLs: validate fetches at most REFERENCE_MAX_COUNT
# referenced documents (in the order the site names them), REFERENCE_CONCURRENCY at a time, all
# within REFERENCE_DEADLINE_TIMEOUTS fetch timeouts; the rest are reported as skipped.
REFERENCE_MAX_COUNT = 50
REFERENCE_CONCURRENCY = 16
REFERENCE_DEADLINE_TIMEOUTS = 2
# A group or file can run to thousands of lines; the report shows the first ones and a count.
MAX_SIGNAL_LINES = 12
MAX_NAMES_SHOWN = 8

RSL_NAMESPACE = "https://rslstandard.org/rsl"
TDMREP_PROFILE = "http://www.w3.org/ns/tdmrep"
TDM_MINE = "tdm:mine"
_JSON_SUFFIXES = (".json", ".jsonld")
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
_PURPOSE_NAMES = tuple(str(p) for p in PURPOSES)

# --- findings only the validator can produce (it fetches what the signals point to) ------------

TDM_POLICY_NOT_ODRL = FindingSpec(
    code="tdmrep.policy-not-odrl",
    severity=Severity.WARNING,
    source="tdmrep",
    title="the tdm-policy document is JSON but not a TDMRep ODRL policy",
    explanation=(
        "TDMRep §5 describes a machine-readable TDM Policy as an ODRL 2.2 offer in JSON-LD: "
        'an object with "profile": "http://www.w3.org/ns/tdmrep", an @context naming '
        "tdmrep.jsonld, and a permission whose action is tdm:mine. Agents that read policies "
        "cannot find the licensing terms in this document."
    ),
    fix=(
        "Publish the policy in the TDMRep ODRL form (see the example in the TDMRep report), or "
        "point tdm-policy at a page for humans (text/html)."
    ),
    example='tdm-policy: https://example.com/policy.json -> {"licence": "contact us"}',
)
REFERENCES_SKIPPED = FindingSpec(
    code="validate.references-skipped",
    severity=Severity.INFO,
    source="validate",
    title="some documents the site names (tdm-policy, RSL) were not fetched",
    explanation=(
        f"validate fetches at most {REFERENCE_MAX_COUNT} referenced documents, "
        f"{REFERENCE_CONCURRENCY} at a time, all within {REFERENCE_DEADLINE_TIMEOUTS} times the "
        "fetch timeout. The ones over the limit or still loading at the deadline are not checked; "
        "their signals are still read (a tdm-policy URL does not change a decision)."
    ),
    fix=(
        "Nothing to fix if the site means to name that many documents; point rules at one "
        "shared policy where possible, and serve the documents quickly."
    ),
    example="a tdmrep.json with 20,000 rules, each naming its own tdm-policy URL",
)

CLOUDFLARE_MANAGED_CONFLICT = FindingSpec(
    code="robots.cloudflare-managed-conflict",
    severity=Severity.WARNING,
    source="robots",
    title="Cloudflare's managed robots.txt block contradicts the site's own lines",
    explanation=(
        "With managed robots.txt on, Cloudflare prepends its own block (between '# BEGIN "
        "Cloudflare Managed content' and '# END Cloudflare Managed Content'): a User-agent: * "
        "group with Content-Signal: search=yes,ai-train=no,use=reference and Disallow: / groups "
        "for AI crawlers. RFC 9309 reads it as part of the file, so: a crawler the block names "
        "has a group of its own, which replaces the * group (§2.2.1) -- the site's * "
        "Content-Signal never reaches it and, disallowed, every purpose is reserved; the site's "
        "own group for the same crawler is merged with the block's, and Allow: / beats the "
        "equally long Disallow: / (§2.2.2); two Content-Signal lines for * combine, the most "
        "restrictive value winning. The message says which case applies and what wins."
    ),
    fix=(
        "Decide in one place: turn off managed robots.txt (or 'Block AI bots') in the "
        "Cloudflare dashboard if the site's own lines say what you mean, or remove the lines "
        "of your own file that contradict the block."
    ),
    example=(
        "managed 'User-agent: GPTBot / Disallow: /' above your own 'User-agent: * / "
        "Content-Signal: ai-train=yes'"
    ),
)

VALIDATOR_FINDINGS = (
    TDM_POLICY_NOT_ODRL,
    RSL_UNREACHABLE,
    RSL_NOT_RSL,
)  # the two rsl.* ones are declared by core/policy.py and signals/rsl.py (policies read them)


# --- the report model ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceLine:
    """One line that carries a signal: its number in the file (None for headers/meta) and text."""

    line: int | None
    text: str


# "scope" before "lines": the key order of 0.1's report.
@shape(order="family source location summary scope lines urls omitted")
@dataclass(frozen=True, slots=True)
class Signal:
    """One signal the site publishes, with the lines that carry it.

    ``family``: robots, content-signal, content-usage, tdmrep, ai.txt, noai, noimageai, rsl,
    licence. ``source``: robots.txt, ai.txt, tdmrep.json, header, meta, html. ``urls``: for
    page-level signals, the checked pages that carry it.
    """

    family: str
    source: str
    location: str
    summary: str
    lines: tuple[SourceLine, ...] = ()
    scope: str = "*"
    urls: tuple[str, ...] = ()
    omitted: int = 0  # lines of the signal not shown


@dataclass(frozen=True, slots=True)
class MatrixRow:
    """What one agent may do with one page, per purpose, and the evidence for each cell."""

    agent: str
    operator: str | None
    classes: tuple[str, ...]  # registry classes: training, search, user-fetch, control...
    control_only: bool
    registry: bool  # the token is in the agent registry
    decisions: Mapping[str, str]  # purpose -> reserved / allowed / unspecified
    reasons: Mapping[str, tuple[str, ...]]  # purpose -> one line per piece of evidence


@dataclass(frozen=True, slots=True)
class PageReport:
    """One checked URL: how it was fetched and the agent x purpose matrix."""

    url: str
    source: SourceOutcome
    matrix: tuple[MatrixRow, ...]


@dataclass(frozen=True, slots=True)
class Reference:
    """A document a signal points to (a tdm-policy, an RSL licence) and how fetching it went."""

    kind: str  # "tdm-policy" | "rsl"
    url: str
    source: SourceOutcome
    summary: str
    cited_by: tuple[str, ...] = ()  # where the site names it


@dataclass(frozen=True, slots=True)
class SignalRef:
    """A piece of evidence as a conflict shows it."""

    signal: str
    source: str
    scope: str
    raw: str
    line: int | None = None
    location: str | None = None

    def describe(self) -> str:
        where = self.source + (f" line {self.line}" if self.line is not None else "")
        return f"{self.signal} ({where}: {self.raw})"


@dataclass(frozen=True, slots=True)
class Conflict:
    """Signals that say opposite things about the same purposes.

    ``kind`` "signals": two signal families disagree for some agents (the reservation wins);
    "tdmrep-layers": TDMRep layers disagree (the later layer wins, TDMRep §4).
    """

    kind: str
    purposes: tuple[str, ...]
    agents: tuple[str, ...]
    urls: tuple[str, ...]
    reserved_by: tuple[SignalRef, ...]
    allowed_by: tuple[SignalRef, ...]
    resolution: str


@dataclass(frozen=True, slots=True)
class Occurrence:
    """Where one finding was seen; ``urls`` are the checked pages it concerns (none: site-wide)."""

    message: str
    location: str | None = None
    line: int | None = None
    urls: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A policy file as fetched, for showing in full: its name (robots.txt, ai.txt, tdmrep.json),
    URL and text lines (numbered as the parsers number them), at most ``MAX_FILE_LINES``."""

    name: str
    url: str
    lines: tuple[str, ...]
    omitted: int = 0  # lines past MAX_FILE_LINES, not kept


@dataclass(frozen=True, slots=True)
class ReportFinding:
    """One finding code with its catalogue entry and every place it was seen."""

    code: str
    severity: Severity
    source: str
    title: str
    explanation: str
    fix: str
    example: str
    occurrences: tuple[Occurrence, ...]


def _summary(report: ValidationReport) -> dict[str, int]:
    return {
        **report.counts,
        "exit_status": exit_status(report),
        "exit_status_strict": exit_status(report, strict=True),
    }


def _verdict(report: ValidationReport) -> str:
    return report.verdict


@shape(
    tag=REPORT_SCHEMA,
    # written for readers; from_json recomputes them
    computed={"verdict": _verdict, "summary": _summary},
    order="schema verdict target origin checked_at agents reachable summary sources pages "
    "signals references conflicts findings files",
    omit_default=("files",),  # kept only on request (validate(keep_files=True)): the web page
)
@dataclass(frozen=True, slots=True)
class ValidationReport:
    """Everything ``validate`` found about one site. Renderers read only this."""

    target: str
    origin: str
    checked_at: str
    agents: tuple[str, ...]  # the matrix rows: "*", the registry's well-known agents, --agent
    reachable: bool  # False: neither robots.txt nor any page produced an HTTP response
    sources: Mapping[str, SourceOutcome]  # robots.txt, ai.txt, tdmrep.json
    pages: tuple[PageReport, ...]
    signals: tuple[Signal, ...] = ()
    references: tuple[Reference, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    findings: tuple[ReportFinding, ...] = ()
    files: tuple[SourceFile, ...] = ()
    schema: str = field(default=REPORT_SCHEMA)

    @property
    def counts(self) -> dict[str, int]:
        """Findings per severity (codes, not occurrences)."""
        out = {str(s): 0 for s in Severity}
        for finding in self.findings:
            out[str(finding.severity)] += 1
        return out

    def exit_status(self, *, strict: bool = False) -> int:
        return exit_status(self, strict=strict)

    @property
    def verdict(self) -> str:
        """One line first in every rendering: who may train on the checked page, and the tally
        ("GPTBot may not train on this site; 2 errors, 1 warning")."""
        tally = _tally(self.counts)
        if not self.reachable:
            head = (
                "The site could not be reached: every AI use counts as reserved until robots.txt "
                "can be read"
            )
            hint = _plain_http_hint(self)
            return f"{head}; {tally}" + (f". {hint}" if hint else "")
        return f"{_training_verdict(self.pages[0] if self.pages else None)}; {tally}"

    @property
    def purpose_verdicts(self) -> dict[str, str]:
        """One sentence per purpose (``PURPOSES`` order) about the checked page, for the web
        page's head: "GPTBot may not train on this site"."""
        page = self.pages[0] if self.pages and self.reachable else None
        return {str(p): purpose_verdict(page, str(p)) for p in PURPOSES}

    def to_json(self) -> dict[str, Any]:
        """The ``validate --json`` form (``docs/validate.md``)."""
        return codec.to_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ValidationReport:
        """A report from its JSON form; ``errors.DecodeError`` when it is not one."""
        return codec.from_json(cls, data)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _tally(counts: Mapping[str, int]) -> str:
    errors, warnings = counts["error"], counts["warning"]
    if not errors and not warnings:
        return "no errors or warnings"
    return f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}"


# What each purpose's sentence says: (verb phrase for "may not ...", noun for "... is allowed").
# A purpose missing here (a vocabulary change) is named by its token, never dropped.
_PURPOSE_WORDING = {
    "train-ai": ("train on", "training"),
    "crawl": ("crawl", "crawling"),
    "search": ("index for search", "search indexing"),
    "ai-input": ("use as AI input", "use as AI input"),
    "ai-use": ("use as AI input", "use as AI input"),
}


def _training_verdict(page: PageReport | None) -> str:
    """Who may not train on the page, from its matrix (the ``train-ai`` column)."""
    return purpose_verdict(page, "train-ai")


def purpose_verdict(page: PageReport | None, purpose: str) -> str:
    """Who may not use the page for ``purpose``, from its matrix (that purpose's column)."""
    if page is None or not page.matrix:
        return "Nothing was decided"
    verb, noun = _PURPOSE_WORDING.get(purpose, (f"use for {purpose}", purpose))
    star = next((row for row in page.matrix if row.agent == "*"), None)
    named = [row for row in page.matrix if row.agent != "*"]
    reserved = [row.agent for row in named if row.decisions[purpose] == "reserved"]
    others = star.decisions[purpose] if star is not None else "unspecified"
    if reserved and len(reserved) == len(named) and others == "reserved":
        return f"No AI agent may {verb} this site"
    if others == "reserved":
        free = [row.agent for row in named if row.decisions[purpose] != "reserved"]
        return f"No AI agent may {verb} this site except {_names(free)}"
    if reserved:
        rest = "allowed" if others == "allowed" else "not reserved"
        return f"{_names(reserved)} may not {verb} this site (other agents: {rest})"
    if others == "allowed":
        return f"AI agents may {verb} this site ({noun} is allowed)"
    if purpose == "train-ai":  # the 0.2 wording of the report's first line
        return "This site does not reserve AI training (nor allow it explicitly)"
    return f"This site does not reserve {noun} (nor allow it explicitly)"


_TLS_WORDS = ("tls", "ssl", "handshake", "certificate")


def _plain_http_hint(report: ValidationReport) -> str | None:
    """'try http://' when TLS failed on an https port other than 443 (often a plain-HTTP one)."""
    parts = urlsplit(report.target)
    try:
        port = parts.port
    except ValueError:
        return None
    if parts.scheme != "https" or port in (None, 443):
        return None
    errors = [s.error or "" for s in report.sources.values()]
    errors += [p.source.error or "" for p in report.pages]
    if not any(word in error.lower() for error in errors for word in _TLS_WORDS):
        return None
    plain = urlunsplit(parts._replace(scheme="http"))
    return f"TLS failed on port {port}: if that port serves plain HTTP, try {plain}"


def exit_status(report: ValidationReport, *, strict: bool = False) -> int:
    """2 the site could not be reached; 1 errors (``strict``: or warnings) were found; else 0."""
    if not report.reachable:
        return ExitCode.UNREACHABLE
    failing = {Severity.ERROR, Severity.WARNING} if strict else {Severity.ERROR}
    if any(f.severity in failing for f in report.findings):
        return ExitCode.FINDINGS
    return ExitCode.OK


# --- fetching (the I/O edge) --------------------------------------------------------------------


def site_url(site: str) -> str:
    """The URL to check for SITE_OR_URL: ``example.com`` -> ``https://example.com/``.

    Raises :class:`InvalidOrigin` naming what is wrong (``core.urls.target_url``).
    """
    return target_url(site)


def _page_urls(start: str, extra: Iterable[str]) -> list[str]:
    """The start URL and the extra ones (paths or same-origin URLs), without repeats."""
    origin = origin_of(start)
    out = [start]
    for raw in extra:
        url = target_url(urljoin(origin + "/", raw.strip()))
        if origin_of(url) != origin:
            raise InvalidOrigin(f"{raw!r} is not on {origin}; validate checks one site at a time")
        if url not in out:
            out.append(url)
    return out


def validate(
    site: str,
    *,
    agents: Sequence[str] = (),
    urls: Sequence[str] = (),
    fetcher: Fetcher | None = None,
    allow_private: bool = False,
    limits: FetchLimits | None = None,
    registry: RegistryIndex | None = None,
    keep_files: bool = False,
) -> ValidationReport:
    """Fetch the site's policy files, its pages and the documents they point to; build the report.

    ``site``: a host name or URL (its page is checked); ``urls``: more pages of the same origin
    (paths allowed). ``registry``: registrations to consult (docs/registry.md); ``keep_files``:
    keep the policy files' text in the report (``files``, for the web page). Raises
    :class:`InvalidOrigin` for a bad site or a URL of another origin.
    """
    from reservation_crawler.drivers.collect import decide_read, policy_from_fetches, read_page
    from reservation_crawler.drivers.fetch import Fetcher, FetchLimits

    start = site_url(site)
    page_urls = _page_urls(start, urls)
    tokens = _agent_tokens(agents)
    own = fetcher is None
    if fetcher is None:
        fetcher = Fetcher(limits=limits or FetchLimits(), allow_private=allow_private)
    try:
        policy = policy_from_fetches(fetcher.fetch_policy_files(start))
        reads = [read_page(fetcher.fetch(url)) for url in page_urls]  # each page parsed once
        decided = [
            decide_read(url, tokens, policy, read, registry=registry)
            for url, read in zip(page_urls, reads, strict=True)
        ]
        signals = [read.signals for read in reads]
        wanted = referenced_documents(policy, [s for s in signals if s is not None])
        fetched = _fetch_references([url for url, _kind, _cited in wanted], fetcher)
    finally:
        if own:
            fetcher.close()
    report = build_report(start, policy, decided, signals, fetched, agents=tokens)
    return replace(report, files=source_files(policy)) if keep_files else report


def _fetch_references(urls: Sequence[str], fetcher: Fetcher) -> dict[str, FetchResult]:
    """The first REFERENCE_MAX_COUNT of ``urls``, fetched concurrently (with ``fetcher``'s limits
    and address guard) within the total deadline; the others are absent from the answer."""
    import anyio

    from reservation_crawler.drivers.fetch import AsyncFetcher

    fetched: dict[str, FetchResult] = {}

    async def fetch_all() -> None:
        async with AsyncFetcher(
            limits=fetcher.limits,
            guard=fetcher.guard,
            user_agent=fetcher.user_agent,
            max_connections=REFERENCE_CONCURRENCY,
        ) as client:

            async def one(url: str) -> None:
                fetched[url] = await client.fetch(url, max_bytes=REFERENCE_MAX_BYTES)

            with anyio.move_on_after(fetcher.limits.timeout * REFERENCE_DEADLINE_TIMEOUTS):
                async with anyio.create_task_group() as group:
                    for url in urls[:REFERENCE_MAX_COUNT]:
                        group.start_soon(one, url)

    if urls:
        anyio.run(fetch_all)
    return fetched


def _agent_tokens(extra: Iterable[str]) -> list[str]:
    """The registry's well-known agents, then each extra token not already listed."""
    tokens = [agent.token for agent in well_known_agents()]
    seen = {t.casefold() for t in tokens} | {"*"}
    for token in extra:
        token = token.strip()
        if token and token.casefold() not in seen:
            seen.add(token.casefold())
            tokens.append(token)
    return tokens


def referenced_documents(
    policy: OriginPolicy, pages: Iterable[PageSignals]
) -> list[tuple[str, str, tuple[str, ...]]]:
    """The tdm-policy and RSL URLs the site names: (url, kind, where each is named), once each."""
    found: dict[str, tuple[str, list[str]]] = {}

    def add(url: str, kind: str, where: str) -> None:
        entry = found.setdefault(url, (kind, []))
        if where not in entry[1]:
            entry[1].append(where)

    tdm_file = policy.tdmrep
    if tdm_file is not None:
        for rule in tdm_file.rules:
            if rule.policy is not None:
                add(rule.policy, "tdm-policy", f"tdmrep.json rule {rule.index}")
    # The RSL documents robots.txt names are fetched with the policy (policy.rsl_files): not
    # fetched again (build_report cites the pages naming them on those references).
    with_policy = {f.source.url for f in policy.rsl_files}
    for page in pages:
        for values in (page.tdm_header, page.tdm_meta):
            if values.policy is not None:
                add(values.policy, "tdm-policy", f"{values.policy_location} on {page.url}")
        for link in page.licenses:
            if link.is_rsl and link.url not in with_policy:
                add(link.url, "rsl", f"{link.location} on {page.url}")
    return [(url, kind, tuple(where)) for url, (kind, where) in found.items()]


def _page_citations(pages: Iterable[PageSignals]) -> dict[str, list[str]]:
    """Where the checked pages link to RSL documents, by URL."""
    cited: dict[str, list[str]] = {}
    for page in pages:
        for link in page.licenses:
            if link.is_rsl:
                where = f"{link.location} on {page.url}"
                if where not in cited.setdefault(link.url, []):
                    cited[link.url].append(where)
    return cited


# --- checks of referenced documents (pure) ------------------------------------------------------


def _outcome_of(kind: str, result: FetchResult) -> SourceOutcome:
    """How fetching a referenced document ended, in the terms used for ai.txt and the page."""
    return classify(kind, result)[0]


def _failure(result: FetchResult) -> str | None:
    """Why a document could not be read, or None when it answered 2xx."""
    if result.status is None or result.error is not None:
        detail = f": {result.error_detail}" if result.error_detail else ""
        return f"could not be fetched ({result.error or 'no response'}{detail})"
    if not 200 <= result.status < 300:
        return f"answered HTTP {result.status}"
    return None


def check_tdm_policy(
    url: str, result: FetchResult, cited_by: Sequence[str] = ()
) -> tuple[Reference, list[Finding]]:
    """Is the tdm-policy document there, and readable as what it claims to be?

    HTML is a policy for humans (TDMRep §2.2), unless the URL names a JSON file: then it is
    taken for an error page. Anything else must be JSON; JSON is checked for the ODRL shape.
    """
    where = f" (named by {', '.join(cited_by)})" if cited_by else ""
    findings: list[Finding] = []
    failure = _failure(result)
    media_type = result.content_type or ""
    json_expected = urlsplit(url).path.lower().endswith(_JSON_SUFFIXES)
    if failure is not None:
        summary = f"tdm-policy {failure}"
        findings.append(
            tdmrep.POLICY_UNREACHABLE(f"tdm-policy {url} {failure}{where}", location=url)
        )
    elif media_type in _HTML_TYPES or _looks_like_html(result.body):
        if json_expected:
            summary = "an HTML page where a JSON policy is expected (an error page?)"
            findings.append(
                tdmrep.POLICY_UNREACHABLE(
                    f"tdm-policy {url} names a JSON file but serves an HTML page, probably an "
                    f"error page{where}",
                    location=url,
                )
            )
        else:
            summary = "a policy for humans (HTML page)"
    else:
        try:
            document = json.loads(result.body.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            summary = "neither JSON nor an HTML page"
            served_as = media_type or "no Content-Type"
            findings.append(
                tdmrep.POLICY_UNREACHABLE(
                    f"tdm-policy {url} is neither JSON nor an HTML page ({served_as}); agents "
                    f"cannot read it{where}",
                    location=url,
                )
            )
        else:
            problems = _odrl_problems(document)
            if problems:
                summary = "JSON, but not a TDMRep ODRL policy"
                findings.append(
                    TDM_POLICY_NOT_ODRL(
                        f"tdm-policy {url}: {'; '.join(problems)}{where}", location=url
                    )
                )
            else:
                summary = "a machine-readable TDMRep policy (ODRL)"
    reference = Reference(
        "tdm-policy", url, _outcome_of("tdm-policy", result), summary, tuple(cited_by)
    )
    return reference, findings


def _odrl_problems(document: Any) -> list[str]:
    """What keeps a JSON document from being a TDMRep policy (TDMRep §5), leniently."""
    if not isinstance(document, dict):
        kind = "an array" if isinstance(document, list) else type(document).__name__
        return [f"the document is {kind}, not an object"]
    problems = []
    if document.get("profile") != TDMREP_PROFILE:
        problems.append(f'"profile" is not "{TDMREP_PROFILE}"')
    context = document.get("@context")
    contexts = context if isinstance(context, list) else [context]
    if not any(isinstance(c, str) and c.endswith("w3.org/ns/tdmrep.jsonld") for c in contexts):
        problems.append('"@context" does not name http://www.w3.org/ns/tdmrep.jsonld')
    permissions = document.get("permission")
    if not isinstance(permissions, list) or not any(
        isinstance(p, dict) and p.get("action") == TDM_MINE for p in permissions
    ):
        problems.append(f'no "permission" with "action": "{TDM_MINE}"')
    return problems


def check_rsl_document(
    url: str, result: FetchResult, cited_by: Sequence[str] = ()
) -> tuple[Reference, list[Finding]]:
    """Is the RSL licence there, and an RSL XML document (signals/rsl.py)? Summarizes its
    usage terms; its findings carry the fixes."""
    where = f" (named by {', '.join(cited_by)})" if cited_by else ""
    findings: list[Finding] = []
    failure = _failure(result)
    if failure is not None:
        summary = f"RSL licence {failure}"
        findings.append(RSL_UNREACHABLE(f"RSL licence {url} {failure}{where}", location=url))
        return Reference("rsl", url, _outcome_of("rsl", result), summary, tuple(cited_by)), findings
    document = parse_rsl(result.body, location=url)
    findings.extend(document.findings)
    summary = _rsl_summary(document)
    return Reference("rsl", url, _outcome_of("rsl", result), summary, tuple(cited_by)), findings


def _rsl_summary(document: RslDocument) -> str:
    if not document.readable:
        return "not an RSL document: " + "; ".join(f.message for f in document.findings[:1])
    return document.summary() or "an RSL document"


def _policy_rsl_references(
    policy: OriginPolicy, pages: Iterable[PageSignals] = ()
) -> list[Reference]:
    """The RSL documents fetched with the policy (License: lines, else /rsl.xml when found);
    their findings are the policy's."""
    parsed = {id(f): d for f, d in policy.rsl_documents}
    robots_txt = policy.robots
    lines = {lic.url: lic.line for lic in robots_txt.licenses} if robots_txt is not None else {}
    references = []
    page_links = _page_citations(pages)
    for rsl_file in policy.rsl_files:
        source = rsl_file.source
        normative = policy.rsl_normative(rsl_file)
        if not normative and source.outcome is not Outcome.OK:
            continue  # no /rsl.xml: nothing to show
        cited: tuple[str, ...] = (
            (f"robots.txt line {lines[source.url]}",)
            if source.url in lines
            else ("found at /rsl.xml (no License: line; not applied)",)
        )
        cited += tuple(page_links.get(source.url, ()))
        document = parsed.get(id(rsl_file))
        if document is None:
            summary = f"RSL licence could not be read ({source.error or f'HTTP {source.status}'})"
        else:
            summary = _rsl_summary(document)
        references.append(Reference("rsl", source.url, source, summary, cited))
    return references


def _looks_like_html(body: bytes) -> bool:
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


# --- building the report (pure) ------------------------------------------------------------------


def build_report(
    target: str,
    policy: OriginPolicy,
    decided: Sequence[Decided],
    page_signals: Sequence[PageSignals | None],
    referenced: Mapping[str, FetchResult] | None = None,
    *,
    agents: Sequence[str] = (),
) -> ValidationReport:
    """The report of one site from its origin policy, decide()'s answer per checked page (the
    record and the conflicts behind it), each page's signals (None when not fetched, the ones
    decide() read) and the fetched documents the signals point to (a named one missing from
    ``referenced`` was skipped: a finding says so; ``None``: none was fetched, none reported)."""
    fetched_references = referenced is not None  # None: the caller fetched none at all
    referenced = referenced or {}
    records = [d.record for d in decided]
    pages_present = [p for p in page_signals if p is not None]
    extra: list[tuple[Finding, tuple[str, ...]]] = []
    conflicts = _signal_conflicts(decided) + _layer_conflicts(decided)
    references: list[Reference] = _policy_rsl_references(policy, pages_present)
    wanted = referenced_documents(policy, pages_present)
    skipped = [url for url, _kind, _cited in wanted if url not in referenced]
    if skipped and fetched_references:
        extra.append((_references_skipped(len(wanted), skipped), ()))
    for url, kind, cited in wanted:
        result = referenced.get(url)
        if result is None:
            continue
        check = check_tdm_policy if kind == "tdm-policy" else check_rsl_document
        reference, found = check(url, result, cited)
        references.append(reference)
        extra.extend((f, ()) for f in found)

    extra.extend((f, ()) for f in cloudflare_managed_conflicts(policy))
    merged = _merge_conflicts(conflicts)
    # "Could not be reached": no HTTP response at all, neither for robots.txt nor for a page.
    reachable = policy.robots_file.source.status is not None or any(
        r.sources[PAGE].status is not None for r in records
    )
    return ValidationReport(
        target=target,
        origin=policy.origin,
        checked_at=policy.fetched_at,
        agents=("*", *agents),
        reachable=reachable,
        sources=policy.sources,
        pages=tuple(_page_report(record) for record in records),
        signals=tuple(_signals(policy, records, page_signals)),
        references=tuple(references),
        conflicts=tuple(merged),
        findings=tuple(_report_findings(policy, records, extra, merged)),
    )


def cloudflare_managed_conflicts(policy: OriginPolicy) -> list[Finding]:
    """Where Cloudflare's managed block and the site's own robots.txt lines disagree, and
    which one wins (RFC 9309 group selection and merging; Content-Signal combining)."""
    robots_txt = policy.robots
    if robots_txt is None:
        return []
    block = read_managed_block(robots_txt, _text_lines(policy.robots_file.body))
    if block is None:
        return []
    location = policy.robots_file.source.url
    return [
        CLOUDFLARE_MANAGED_CONFLICT(message, line=line, location=location)
        for line, message in (
            *_own_signal_never_read(block),
            *_own_allow_wins(block),
            *_star_signals_combined(block),
        )
    ]


def _blocked_names(block: ManagedBlock) -> str:
    return _names(list(dict.fromkeys(agent for agent, _line in block.blocked)))


def _own_signal_never_read(block: ManagedBlock) -> list[tuple[int, str]]:
    """The site's * Content-Signal grants a use; crawlers the block disallows never read it."""
    out = []
    for own in block.own_signals:
        granted = [f"{key}=yes" for key, allowed in own.signal.values.items() if allowed]
        if own.signal.use == "full":
            granted.append("use=full")
        if "*" not in own.agents or not granted or not block.blocked:
            continue
        out.append(
            (
                own.signal.line or block.end,
                f"your Content-Signal (line {own.signal.line}) grants {', '.join(granted)} to "
                f"every crawler, but Cloudflare's managed block (lines {block.begin}-{block.end}) "
                f"disallows {_blocked_names(block)}: the Disallow wins for them. A group naming a "
                "crawler replaces the * group (RFC 9309 §2.2.1), so they never read your line, "
                "and a disallowed URL has every purpose reserved",
            )
        )
    return out


def _own_allow_wins(block: ManagedBlock) -> list[tuple[int, str]]:
    """The site's own group allows / to a crawler the block disallows: merged, Allow wins."""
    return [
        (
            line,
            f"your group for {agent} (line {line}: {rule}) is merged with Cloudflare's managed "
            f"'Disallow: /' for it (RFC 9309 §2.2.1 merges groups naming the same crawler); the "
            f"two rules are equally long and Allow wins (§2.2.2): {agent} may crawl, the "
            "managed block has no effect for it",
        )
        for agent, line, rule in block.own_allows
    ]


def _star_signals_combined(block: ManagedBlock) -> list[tuple[int, str]]:
    """Managed and own Content-Signal lines for * that disagree: the most restrictive wins."""
    out = []
    for managed in block.managed_signals:
        if "*" not in managed.agents:
            continue
        for own in block.own_signals:
            if "*" not in own.agents:
                continue
            differ = [
                f"{key}: managed {_yes_no(managed.signal.values[key])}, yours "
                f"{_yes_no(own.signal.values[key])} -> no"
                for key in KNOWN_KEYS
                if key in managed.signal.values
                and key in own.signal.values
                and managed.signal.values[key] != own.signal.values[key]
            ]
            if managed.signal.use and own.signal.use and managed.signal.use != own.signal.use:
                winner = more_restrictive_use(managed.signal.use, own.signal.use)
                differ.append(
                    f"use: managed {managed.signal.use}, yours {own.signal.use} -> {winner}"
                )
            if differ:
                out.append(
                    (
                        own.signal.line or block.end,
                        f"Cloudflare's managed Content-Signal (line {managed.signal.line}) and "
                        f"yours (line {own.signal.line}) both apply to every crawler without a "
                        "group of its own (the * groups merge); the most restrictive value "
                        f"wins: {'; '.join(differ)}",
                    )
                )
    return out


def _yes_no(allowed: bool) -> str:
    return "yes" if allowed else "no"


def _references_skipped(named: int, skipped: Sequence[str]) -> Finding:
    over = max(0, named - REFERENCE_MAX_COUNT)
    late = len(skipped) - over
    why = []
    if over:
        why.append(f"{over} over the limit of {REFERENCE_MAX_COUNT}")
    if late:
        why.append(f"{late} not answered by the deadline")
    shown = ", ".join(skipped[:5]) + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
    return REFERENCES_SKIPPED(
        f"{len(skipped)} of {named} referenced documents were not checked "
        f"({'; '.join(why)}): {shown}"
    )


def _page_report(record: ReservationRecord) -> PageReport:
    rows = []
    for agent, cells in record.decisions.items():
        known = get_agent(agent) if agent != "*" else None
        rows.append(
            MatrixRow(
                agent=agent,
                operator=known.operator if known else None,
                classes=tuple(sorted(known.purposes)) if known else (),
                control_only=bool(known and known.control_only),
                registry=known is not None,
                decisions={str(p): str(cells[p]) for p in PURPOSES},
                reasons={
                    str(p): tuple(_describe_evidence(e) for e in record.evidence_for(agent, p))
                    for p in PURPOSES
                },
            )
        )
    return PageReport(url=record.url, source=record.sources[PAGE], matrix=tuple(rows))


def _describe_evidence(evidence: Evidence) -> str:
    where = evidence.source + (f" line {evidence.line}" if evidence.line is not None else "")
    if evidence.effect is Decision.UNSPECIFIED:  # read, but it reserves nothing for this URL
        return f"read, reserves nothing here: {evidence.signal} ({where}): {evidence.raw}"
    return f"{evidence.effect} by {evidence.signal} ({where}): {evidence.raw}"


# --- extra checks ----------------------------------------------------------------------------


# --- conflicts -------------------------------------------------------------------------------


def _ref(evidence: Evidence) -> SignalRef:
    return SignalRef(
        signal=evidence.signal,
        source=evidence.source,
        scope=evidence.scope,
        raw=evidence.raw,
        line=evidence.line,
        location=evidence.location,
    )


def _signal_conflicts(decided: Sequence[Decided]) -> list[Conflict]:
    """decide()'s conflicts: a purpose one signal reserves and another allows, per agent."""
    out = []
    for answer in decided:
        for agent in answer.agents:
            for conflict in agent.signal_conflicts():
                out.append(
                    Conflict(
                        kind="signals",
                        purposes=(str(conflict.purpose),),
                        agents=(conflict.agent,),
                        urls=(answer.record.url,),
                        reserved_by=tuple(dict.fromkeys(map(_ref, conflict.reserved_by))),
                        allowed_by=tuple(dict.fromkeys(map(_ref, conflict.allowed_by))),
                        resolution="reserved: any reservation wins over an allowance "
                        "(the aipref combination rule)",
                    )
                )
    return out


def _layer_conflicts(decided: Sequence[Decided]) -> list[Conflict]:
    """decide()'s TDMRep layer conflicts: layers giving different tdm-reservation values."""
    out = []
    for answer in decided:
        conflict = answer.layer_conflict
        if conflict is None:
            continue
        winner = conflict.winner
        verdict = "reserved" if winner.effect is Decision.RESERVED else "not reserved"
        out.append(
            Conflict(
                kind="tdmrep-layers",
                purposes=tuple(str(p) for p in winner.purposes),
                agents=(winner.agent,),
                urls=(answer.record.url,),
                reserved_by=tuple(
                    _ref(e) for e in conflict.layers if e.effect is Decision.RESERVED
                ),
                allowed_by=tuple(_ref(e) for e in conflict.layers if e.effect is Decision.ALLOWED),
                resolution=f"{verdict}: the {winner.source} layer wins, because each later "
                "TDMRep layer (tdmrep.json, then headers, then meta) overrides the earlier ones "
                "(TDMRep §4)",
            )
        )
    return out


def _merge_conflicts(conflicts: Iterable[Conflict]) -> list[Conflict]:
    """One conflict per pair of contradicting signals, with its purposes, agents and pages."""
    merged: dict[tuple, dict[str, list[str]]] = {}
    heads: dict[tuple, Conflict] = {}
    for conflict in conflicts:
        key = (conflict.kind, conflict.reserved_by, conflict.allowed_by)
        slot = merged.setdefault(key, {"purposes": [], "agents": [], "urls": []})
        heads.setdefault(key, conflict)
        for name in ("purposes", "agents", "urls"):
            for value in getattr(conflict, name):
                if value not in slot[name]:
                    slot[name].append(value)
    out = []
    for key, slot in merged.items():
        head = heads[key]
        purposes = tuple(p for p in _PURPOSE_NAMES if p in slot["purposes"])
        out.append(
            Conflict(
                kind=head.kind,
                purposes=purposes,
                agents=tuple(slot["agents"]),
                urls=tuple(slot["urls"]),
                reserved_by=head.reserved_by,
                allowed_by=head.allowed_by,
                resolution=head.resolution,
            )
        )
    return out


# --- findings --------------------------------------------------------------------------------


def _report_findings(
    policy: OriginPolicy,
    records: Sequence[ReservationRecord],
    extra: Iterable[tuple[Finding, tuple[str, ...]]],
    conflicts: Sequence[Conflict] = (),
) -> list[ReportFinding]:
    """Every finding once per (code, message, location, line), with the pages it concerns.

    decide() reports a conflict per agent and purpose; those become one occurrence per pair of
    contradicting signals (the merged conflicts), listing the agents.
    """
    site_wide = set(policy.findings)
    seen: list[tuple[Finding, tuple[str, ...]]] = []
    for record in records:
        for finding in record.findings:
            seen.append((finding, () if finding in site_wide else (record.url,)))
    seen.extend(extra)

    by_code: dict[str, dict[tuple, list[str]]] = {}
    first: dict[str, Finding] = {}
    for finding, urls in seen:
        occurrences = by_code.setdefault(finding.code, {})
        first.setdefault(finding.code, finding)
        key = (finding.message, finding.location, finding.line)
        pages = occurrences.setdefault(key, [])
        for url in urls:
            if url not in pages:
                pages.append(url)

    from reservation_crawler.core.decide import DECISION_CONFLICT

    merged_conflicts = {
        (_conflict_message(c), None, None): list(c.urls) for c in conflicts if c.kind == "signals"
    }
    if DECISION_CONFLICT.code in by_code and merged_conflicts:
        by_code[DECISION_CONFLICT.code] = merged_conflicts
    specs = {**catalogue(), **{spec.code: spec for spec in VALIDATOR_FINDINGS}}
    out = []
    for code, occurrences in by_code.items():
        sample = first[code]
        spec = specs.get(code)
        out.append(
            ReportFinding(
                code=code,
                severity=sample.severity,
                source=sample.source,
                title=spec.title if spec else sample.message,
                explanation=spec.explanation if spec else "",
                fix=spec.fix if spec else "",
                example=spec.example if spec else "",
                occurrences=tuple(
                    Occurrence(message, location, line, tuple(urls))
                    for (message, location, line), urls in occurrences.items()
                ),
            )
        )
    out.sort(key=lambda f: (_SEVERITY_ORDER[f.severity], f.code))
    return out


def _conflict_message(conflict: Conflict) -> str:
    reserving = ", ".join(sorted({r.signal for r in conflict.reserved_by}))
    allowing = ", ".join(sorted({r.signal for r in conflict.allowed_by}))
    agents = _names(list(conflict.agents))
    return (
        f"{', '.join(conflict.purposes)} reserved by {reserving} but allowed by {allowing} "
        f"for {agents}; the reservation wins"
    )


# --- signals ---------------------------------------------------------------------------------


def _signals(
    policy: OriginPolicy,
    records: Sequence[ReservationRecord],
    page_signals: Sequence[PageSignals | None],
) -> list[Signal]:
    out = _robots_signals(policy) + _aitxt_signals(policy) + _tdmrep_signals(policy)
    merged: dict[tuple, Signal] = {}
    for record, page in zip(records, page_signals, strict=True):
        if page is None:
            continue
        for signal in _page_signals(page):
            key = (signal.family, signal.source, signal.location, signal.scope, signal.lines)
            known = merged.get(key)
            urls = (*known.urls, record.url) if known else (record.url,)
            merged[key] = Signal(
                signal.family,
                signal.source,
                signal.location,
                signal.summary,
                signal.lines,
                signal.scope,
                tuple(dict.fromkeys(urls)),
            )
    return out + list(merged.values()) + _registry_signals(records)


def _registry_signals(records: Sequence[ReservationRecord]) -> list[Signal]:
    """Each registration that speaks to a checked page (docs/registry.md), once, with the pages."""
    found: dict[tuple[str, str], tuple[Evidence, list[str]]] = {}
    for record in records:
        for evidence in record.evidence:
            if evidence.signal != "registry":
                continue
            key = (evidence.location or "", evidence.scope)
            _first, urls = found.setdefault(key, (evidence, []))
            if record.url not in urls:
                urls.append(record.url)
    out = []
    for (location, scope), (evidence, urls) in found.items():
        purposes = ", ".join(str(p) for p in evidence.purposes)
        summary = f"{evidence.raw}; {purposes} for {scope}"
        out.append(Signal("registry", "registry", location, summary, (), scope, tuple(urls)))
    return out


def _text_lines(body: bytes | None) -> list[str]:
    """robots.txt as robots.py numbers its lines: the first 500 KiB, BOM dropped, CR/CRLF = LF."""
    if not body:
        return []
    text = body[:MAX_BYTES].decode("utf-8", "replace").removeprefix("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


MAX_FILE_LINES = 5000


def source_files(policy: OriginPolicy) -> tuple[SourceFile, ...]:
    """The policy files that answered with a body, as text lines (robots.py's numbering)."""
    out = []
    for name, fetched in (
        (ROBOTS, policy.robots_file),
        (AITXT, policy.aitxt_file),
        (TDMREP, policy.tdmrep_file),
    ):
        status = fetched.source.status
        lines = _text_lines(fetched.body) if status is not None and 200 <= status < 300 else []
        if lines and lines[-1] == "":
            lines.pop()  # the newline ending the last line starts no line of its own
        if lines:
            kept = tuple(lines[:MAX_FILE_LINES])
            out.append(SourceFile(name, fetched.source.url, kept, len(lines) - len(kept)))
    return tuple(out)


def _capped(lines: list[SourceLine]) -> tuple[tuple[SourceLine, ...], int]:
    if len(lines) <= MAX_SIGNAL_LINES:
        return tuple(lines), 0
    return tuple(lines[:MAX_SIGNAL_LINES]), len(lines) - MAX_SIGNAL_LINES


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(names[:MAX_NAMES_SHOWN])
    if len(names) > MAX_NAMES_SHOWN:
        shown += f" and {len(names) - MAX_NAMES_SHOWN} more"
    return shown


# robots.txt records shown as signals of their own (the family is the lower-cased key).
_EXTENSION_KEYS = frozenset({"content-signal", "content-usage"})


def _robots_signals(policy: OriginPolicy) -> list[Signal]:
    """The groups naming AI agents or ``*``, Content-Signal / Content-Usage lines, License lines."""
    robots_txt = policy.robots
    if robots_txt is None:
        return []
    location = policy.robots_file.source.url
    text = _text_lines(policy.robots_file.body)

    def line_text(number: int, fallback: str) -> str:
        return text[number - 1].strip() if 0 < number <= len(text) else fallback

    out: list[Signal] = []
    groups = robots_txt.groups
    for group in groups:
        values = [value for value, _line in group.agents]
        ai_names = [v for v in values if get_agent(v) is not None]
        if not ai_names and "*" not in values:
            continue
        numbered = [SourceLine(n, line_text(n, f"User-agent: {v}")) for v, n in group.agents]
        numbered += [SourceLine(r.line, line_text(r.line, r.raw)) for r in group.rules]
        numbered.sort(key=lambda s: s.line or 0)
        lines, omitted = _capped(numbered)
        rules = len(group.rules)
        if ai_names:
            summary = f"group for {_names(ai_names)} (AI agents)"
            others = [v for v in values if v not in ai_names]
            if others:
                summary += f", also naming {_names(others)}"
        else:
            summary = "the default group (User-agent: *), for every agent no group names"
        summary += f"; {rules} rule{'s' if rules != 1 else ''}"
        scope = ", ".join(ai_names) if ai_names else "*"
        out.append(Signal("robots", ROBOTS, location, summary, lines, scope, (), omitted))

    starts = [(g.line, [v for v, _ in g.agents]) for g in groups]
    for number, raw in enumerate(text, 1):
        key, colon, _value = raw.split("#", 1)[0].partition(":")
        family = key.strip().lower()
        if not colon or family not in _EXTENSION_KEYS:
            continue
        owner = [agents for start, agents in starts if start <= number]
        if owner:
            scope = ", ".join(owner[-1])
            summary = f"{raw.split(':', 1)[0].strip()} in the group for {_names(owner[-1])}"
        else:
            scope = "*"
            summary = f"{raw.split(':', 1)[0].strip()} before any User-agent line (ignored)"
        out.append(
            Signal(family, ROBOTS, location, summary, (SourceLine(number, raw.strip()),), scope)
        )
    for licence in robots_txt.licenses:
        summary = "RSL licence for the whole site (License: is global, in no group)"
        raw = line_text(licence.line, f"License: {licence.url}")
        out.append(Signal("rsl", ROBOTS, location, summary, (SourceLine(licence.line, raw),)))
    return out


def _aitxt_signals(policy: OriginPolicy) -> list[Signal]:
    ai_txt = policy.aitxt
    if ai_txt is None:
        return []
    location = policy.aitxt_file.source.url
    if not ai_txt.interpretable:
        summary = f"ai.txt in the {ai_txt.dialect} dialect: not read as rules (see findings)"
        return [Signal("ai.txt", AITXT, location, summary)]
    out = []
    for group in ai_txt.groups:
        numbered = [
            SourceLine(n, f"User-Agent: {agent}")
            for agent, n in zip(group.agents, group.lines, strict=False)
        ]
        numbered += [SourceLine(rule.line, rule.raw) for rule in group.rules]
        numbered.sort(key=lambda s: s.line or 0)
        lines, omitted = _capped(numbered)
        summary = (
            f"ai.txt ({ai_txt.dialect} dialect) group for {_names(list(group.agents))}; "
            f"{len(group.rules)} rule{'s' if len(group.rules) != 1 else ''} about AI training"
        )
        scope = ", ".join(group.agents) or "*"
        out.append(Signal("ai.txt", AITXT, location, summary, lines, scope, (), omitted))
    return out


_TDM_VALUE_NAMES: dict[int | None, str] = {1: "reserved (1)", 0: "not reserved (0)"}


def _tdmrep_signals(policy: OriginPolicy) -> list[Signal]:
    tdm_file = policy.tdmrep
    if tdm_file is None:
        return []
    url = policy.tdmrep_file.source.url
    out = []
    for rule in tdm_file.rules:
        value = _TDM_VALUE_NAMES.get(rule.reservation, "unset")
        summary = f"rule {rule.index}: {rule.location.raw} -> TDM rights {value}"
        if rule.policy:
            summary += f", policy {rule.policy}"
        raw = rule.raw or json.dumps({"location": rule.location.raw})
        out.append(
            Signal("tdmrep", TDMREP, f"{url}#/{rule.index}", summary, (SourceLine(rule.line, raw),))
        )
    return out


def _page_signals(page: PageSignals) -> list[Signal]:
    from reservation_crawler.signals.page import (
        AI_TOKENS,
        OPERATOR_DIRECTIVES,
        operator_directive_reserves,
    )

    out = []
    for values, source in ((page.tdm_header, "header"), (page.tdm_meta, "meta")):
        if not values.present:
            continue
        if source == "header":
            lines = [SourceLine(None, f"tdm-reservation: {v}") for v in values.raw_reservation]
            lines += [SourceLine(None, f"tdm-policy: {v}") for v in values.raw_policy]
        else:
            lines = [
                SourceLine(None, f'<meta name="tdm-reservation" content="{v}">')
                for v in values.raw_reservation
            ]
            lines += [
                SourceLine(None, f'<meta name="tdm-policy" content="{v}">')
                for v in values.raw_policy
            ]
        value = _TDM_VALUE_NAMES.get(values.reservation, "unset")
        where = "response header" if source == "header" else "HTML meta tag"
        summary = f"TDMRep {where}: TDM rights {value}"
        if values.policy:
            summary += f", policy {values.policy}"
        location = values.reservation_location or values.policy_location or source
        out.append(Signal("tdmrep", source, location, summary, tuple(lines)))
    for cs in page.content_signal:
        line = SourceLine(None, f"Content-Signal: {cs.raw}")
        read = [f"{k}={'yes' if v else 'no'}" for k, v in cs.values.items()]
        if cs.use is not None:
            read.append(f"use={cs.use} (the most an AI system may do with it)")
        read += [f"{entry} (unknown key, kept as evidence)" for entry in cs.unknown]
        summary = "Content-Signal response header: " + (", ".join(read) or "no value read")
        out.append(Signal("content-signal", "header", cs.location or "", summary, (line,)))
    for cu in page.content_usage:
        line = SourceLine(None, f"Content-Usage: {cu.raw}")
        read = [f"{k}={'y' if v else 'n'}" for k, v in cu.values.items()]
        read += [
            f"{category} {'allowed' if v else 'reserved'} by the earlier label {label!r}"
            for category, (v, label) in cu.legacy.items()
        ]
        summary = "Content-Usage response header: " + (", ".join(read) or "no value read")
        out.append(Signal("content-usage", "header", cu.location or "", summary, (line,)))
    for directive in page.robots_directives:
        reading = OPERATOR_DIRECTIVES.get(directive.token)
        if directive.token not in AI_TOKENS and reading is None:
            continue
        whom = "every agent" if directive.agent == "*" else directive.agent
        # Whether it reserves is the one noai rule's answer (the one decide() reads).
        if reading is not None and not operator_directive_reserves(directive):
            summary = (
                f"{directive.raw} for {whom}: limits the excerpts {reading.operator} shows; "
                f"reserves nothing (evidence for {', '.join(sorted(reading.agents))} only)"
            )
        elif reading is not None:
            summary = (
                f"{directive.token} for {whom}: {reading.operator} reads it as {reading.meaning}; "
                f"binds {', '.join(sorted(reading.agents))} only"
            )
        elif directive not in page.ai_reservations(directive.agent):
            summary = (
                f"noimageai for {whom}: reserves this page's images, not the page itself "
                "(recorded as evidence, effect unspecified)"
            )
        elif directive.token != "noimageai":
            summary = f"{directive.token} for {whom}: reserves AI training and AI use"
        else:
            summary = f"noimageai for {whom} on an image: reserves AI training and AI use"
        out.append(
            Signal(
                directive.token,
                directive.source,
                directive.location,
                summary,
                (SourceLine(None, directive.raw),),
                directive.agent,
            )
        )
    for link in page.licenses:
        family = "rsl" if link.is_rsl else "licence"
        kind = "RSL licence" if link.is_rsl else "licence link"
        summary = f"{kind} {link.url} ({'Link header' if link.source == 'header' else 'HTML'})"
        out.append(
            Signal(family, link.source, link.location, summary, (SourceLine(None, link.raw),))
        )
    return out


# --- rendering: text -------------------------------------------------------------------------

_WIDTH = 100
_FAMILY_TITLES = {
    "robots": "robots.txt groups",
    "content-signal": "Content-Signal",
    "content-usage": "Content-Usage (IETF aipref)",
    "tdmrep": "TDMRep",
    "ai.txt": "ai.txt",
    "noai": "noai",
    "noimageai": "noimageai",
    "rsl": "RSL licences",
    "licence": "Licence links",
    "registry": "Registry (reservations declared outside the site)",
}


_NOTED_ACCESS = frozenset({Access.CHALLENGE, Access.REFUSED, Access.PAYMENT_REQUIRED})


def _source_detail(source: SourceOutcome) -> str:
    parts = []
    if source.error:
        parts.append(source.error)
    else:
        if source.status is not None:
            parts.append(f"HTTP {source.status}")
        if source.content_type:
            parts.append(source.content_type)
        if source.size is not None and source.outcome is Outcome.OK:
            parts.append(f"{source.size:,} bytes")
    if source.access in _NOTED_ACCESS:
        # What the origin did (docs/fetch.md, "Access outcomes"), with what a 402 carried.
        parts.append(f"access: {source.access} ({source.access_rule})")
        parts.extend(
            f"{name} {value}"
            for name, value in (("price", source.price), ("licence", source.license_url))
            if value
        )
    return ", ".join(parts)


def _wrap(text: str, indent: str, hang: int = 2) -> list[str]:
    """``text`` wrapped at the report width; continuation lines indented ``hang`` more."""
    return textwrap.wrap(
        text,
        _WIDTH,
        initial_indent=indent,
        subsequent_indent=indent + " " * hang,
        break_on_hyphens=False,
        break_long_words=False,
    ) or [indent]


def _matrix_groups(report: ValidationReport) -> list[tuple[list[str], PageReport]]:
    """Pages with the same decisions share one matrix."""
    groups: list[tuple[list[str], PageReport]] = []
    for page in report.pages:
        cells = [(row.agent, tuple(row.decisions.items())) for row in page.matrix]
        for urls, head in groups:
            if [(row.agent, tuple(row.decisions.items())) for row in head.matrix] == cells:
                urls.append(page.url)
                break
        else:
            groups.append(([page.url], page))
    return groups


def render_text(report: ValidationReport) -> str:
    """The report for a person at a terminal."""
    out: list[str] = []
    counts = report.counts
    status = exit_status(report)
    out.extend(_wrap(report.verdict, "", 2))
    out.append("")
    out.append(f"validate {report.target}")
    out.append(f"  origin {report.origin}, checked {report.checked_at}")
    if not report.reachable:
        out.append("")
        out.append("The site could not be reached: neither robots.txt nor the page answered.")
        hint = _plain_http_hint(report)
        if hint:
            out.append(hint)
    summary = (
        f"  {counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} note(s)"
        f", {len(report.conflicts)} conflict(s); exit status {status}"
    )
    out.append(summary)

    out += ["", "Sources"]
    rows = [(name, s) for name, s in report.sources.items()]
    rows += [("page", p.source) for p in report.pages]
    rows += [(ref.kind, ref.source) for ref in report.references]
    for name, source in rows:
        out.append(f"  {name:<12} {source.outcome!s:<12} {_source_detail(source):<40} {source.url}")
    for ref in report.references:
        out.append(f"  {ref.kind} {ref.url}: {ref.summary}")

    out += ["", "Signals found"]
    if not report.signals:
        out.append(
            "  none: no robots.txt group, header, meta tag or file says anything about AI use"
        )
    for family in _FAMILY_TITLES:
        signals = [s for s in report.signals if s.family == family]
        if not signals:
            continue
        out.append(f"  {_FAMILY_TITLES[family]}")
        shown_location = None
        for run in _runs_of_alike_groups(signals):
            if len(run) > 1:
                out.extend(_text_group_run(run))
                continue
            signal = run[0]
            out.append(f"    {signal.summary}")
            if signal.location != shown_location:
                out.append(f"      {signal.source}: {signal.location}")
                shown_location = signal.location
            for line in signal.lines:
                number = f"{line.line:>5}  " if line.line is not None else "       "
                out.append(f"      {number}{line.text}")
            if signal.omitted:
                out.append(f"             ... {signal.omitted} more line(s)")
            if signal.urls and len(report.pages) > 1:
                out.append(f"      on {', '.join(signal.urls)}")

    for urls, page in _matrix_groups(report):
        out.append("")
        label = urls[0] if len(urls) == 1 else f"{len(urls)} pages: {', '.join(urls)}"
        out.append(f"What AI agents may do: {label}")
        out.extend(_text_matrix(page))

    out += ["", "Conflicts between signals"]
    if not report.conflicts:
        out.append("  none")
    for position, conflict in enumerate(report.conflicts, 1):
        purposes = ", ".join(conflict.purposes)
        agents = _names(list(conflict.agents))
        out.extend(_wrap(f"{position}. {purposes} for {agents}:", "  ", 3))
        for reserving in conflict.reserved_by:
            out.extend(_wrap(f"reserved by {reserving.describe()}", "       "))
        for allowing in conflict.allowed_by:
            out.extend(_wrap(f"allowed by {allowing.describe()}", "       "))
        out.extend(_wrap(f"-> {conflict.resolution}", "       "))
        if len(report.pages) > 1:
            out.extend(_wrap(f"on {', '.join(conflict.urls)}", "       "))

    out += ["", "Findings"]
    if not report.findings:
        out.append("  none")
    for finding in report.findings:
        out.append("")
        out.extend(
            _wrap(f"{str(finding.severity).upper()}  {finding.code}: {finding.title}", "  ", 4)
        )
        for occurrence in finding.occurrences:
            where = occurrence.location or ""
            if occurrence.line is not None:
                where += f" line {occurrence.line}"
            head = f"- {occurrence.message}" + (f" [{where.strip()}]" if where.strip() else "")
            out.extend(_wrap(head, "    "))
            if occurrence.urls and len(report.pages) > 1:
                out.extend(_wrap(f"on {', '.join(occurrence.urls)}", "      "))
        if finding.explanation:
            out.extend(_wrap(f"Why: {finding.explanation}", "    "))
        if finding.fix:
            out.extend(_wrap(f"Fix: {finding.fix}", "    "))
        if finding.example:
            # A generic snippet, not the site's: labelled, and without the line numbers the
            # site's own lines carry above.
            out.append(f"    {EXAMPLE_LABEL}")
            out.extend(f"      | {line}" for line in finding.example.splitlines())
    return "\n".join(out) + "\n"


EXAMPLE_LABEL = "Example (generic, not from this site):"


# Files that list many AI agents usually give each its own group with the same rules; the text
# report shows such a run as one entry. Runs shorter than this are shown group by group.
_MIN_RUN = 3


def _is_user_agent_line(text: str) -> bool:
    return text.replace(" ", "").casefold().startswith("user-agent:")


def _rule_texts(signal: Signal) -> tuple[str, ...] | None:
    """The rule lines of a robots.txt group signal (None: not a fully shown AI-agent group)."""
    if signal.family != "robots" or signal.scope == "*" or signal.omitted:
        return None
    return tuple(x.text for x in signal.lines if not _is_user_agent_line(x.text))


def _runs_of_alike_groups(signals: Sequence[Signal]) -> list[list[Signal]]:
    """Consecutive AI-agent groups with identical rules, together; everything else alone."""
    runs: list[list[Signal]] = []
    for signal in signals:
        rules = _rule_texts(signal)
        last = runs[-1] if runs else None
        if rules is not None and last is not None and _rule_texts(last[0]) == rules:
            last.append(signal)
        else:
            runs.append([signal])
    out: list[list[Signal]] = []
    for run in runs:
        out.extend([run] if len(run) >= _MIN_RUN else [[signal] for signal in run])
    return out


def _text_group_run(run: Sequence[Signal]) -> list[str]:
    rules = _rule_texts(run[0]) or ()
    out = [f"    {len(run)} groups for AI agents, each with the rules: {' | '.join(rules)}"]
    named = [
        f"{x.text.split(':', 1)[1].strip()} ({x.line})"
        for signal in run
        for x in signal.lines
        if _is_user_agent_line(x.text)
    ]
    out.extend(_wrap("User-agent (line): " + ", ".join(named), "      ", 4))
    return out


def _text_matrix(page: PageReport) -> list[str]:
    width = max(len(_agent_label(row)) for row in page.matrix) + 2
    operator_width = max(len(row.operator or "") for row in page.matrix) + 2
    head = "  " + "agent".ljust(width) + "operator".ljust(operator_width)
    head += "".join(p.ljust(13) for p in _PURPOSE_NAMES)
    lines = [head.rstrip()]
    for row in page.matrix:
        text = "  " + _agent_label(row).ljust(width) + (row.operator or "").ljust(operator_width)
        for purpose in _PURPOSE_NAMES:
            decision = row.decisions[purpose]
            text += (decision.upper() if decision == "reserved" else decision).ljust(13)
        lines.append(text.rstrip())
    if any(row.control_only for row in page.matrix):
        lines.append(
            "  (control) a control-only token: it never crawls; 'crawl' means its operator's "
            "crawler may fetch for it"
        )
    lines.append("  * = any agent that no robots.txt group or scoped directive names")
    return lines


def _agent_label(row: MatrixRow) -> str:
    return row.agent + (" (control)" if row.control_only else "")


# --- rendering: JSON and HTML ------------------------------------------------------------------


def render_json(report: ValidationReport) -> str:
    """The same content for machines: ``ValidationReport.from_json(json.loads(...))`` reads it."""
    return json.dumps(report.to_json(), ensure_ascii=False, indent=2) + "\n"
