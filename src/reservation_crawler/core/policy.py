"""Per-origin policy: robots.txt, ai.txt and tdmrep.json with how each was fetched.

Pure: it classifies fetch results in each protocol's terms and parses bodies lazily. The JSON
form (``origin-policy/1``) keeps the raw bodies, so Redis stores one value per origin and every
worker re-parses once into its in-process cache.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

from reservation_crawler.core.fetching import (
    NOT_FETCHED,
    FetchLimits,
    FetchResult,
    access_of,
    fetch_result,
    origin_unreachable,
)
from reservation_crawler.model import codec
from reservation_crawler.model.codec import shape
from reservation_crawler.model.findings import Finding, FindingSpec, Severity
from reservation_crawler.model.record import Access, Outcome, SourceOutcome
from reservation_crawler.signals import aitxt, robots, rsl, tdmrep
from reservation_crawler.signals.agents import get_agent
from reservation_crawler.signals.robots import RobotsTxt

if TYPE_CHECKING:
    from reservation_crawler.signals.aitxt import AiTxt
    from reservation_crawler.signals.rsl import RslDocument
    from reservation_crawler.signals.tdmrep import TdmRepFile

POLICY_SCHEMA = "origin-policy/1"

ROBOTS = "robots.txt"
AITXT = "ai.txt"
TDMREP = "tdmrep.json"
PAGE = "page"

RSL = "rsl"
# Keys of the follow-up fetches (see policy_requests): ai.txt's fallback location, and one per
# RSL licence document ("rsl <url>").
AITXT_FALLBACK = "ai.txt@.well-known"

POLICY_PATHS: Mapping[str, str] = {
    ROBOTS: "/robots.txt",
    AITXT: "/ai.txt",
    TDMREP: "/.well-known/tdmrep.json",
    AITXT_FALLBACK: "/.well-known/ai.txt",
}
# A de-facto location of RSL documents (~0.8% of hosts, 2026), not the spec's discovery (a
# robots.txt License: line, RSL 1.0 §4.1): fetched only when robots.txt names no licence.
RSL_DISCOVERY_PATH = "/rsl.xml"
# At most this many License: documents per origin are fetched (the first ones, in file order).
MAX_RSL_DOCUMENTS = 3
# ai.txt answered with one of these: the origin has no /ai.txt; /.well-known/ai.txt is tried.
AITXT_FALLBACK_STATUSES = frozenset({404, 410})

# Fetch errors that mean "the server could not be reached" rather than "it answered badly".
_NETWORK_ERRORS = frozenset({"timeout", "connect", "dns", "tls", "reset", "protocol"})
# RFC 9309 §2.3.1.2 allows treating > 5 redirects as "unavailable" (allow all); we fail closed
# instead: a loop or an endless chain is a broken server, not an absent file.
_REDIRECT_ERRORS = frozenset({"too-many-redirects", "redirect-loop"})

ROBOTS_UNREACHABLE = FindingSpec(
    code="robots.unreachable",
    severity=Severity.ERROR,
    source=ROBOTS,
    title="robots.txt could not be fetched: crawlers must treat the whole site as disallowed",
    explanation=(
        "RFC 9309 §2.3.1.4: when robots.txt is unreachable (server error 5xx, timeout, network "
        "error) a crawler must assume complete disallow. Every purpose is reserved for every "
        "agent until the file can be read."
    ),
    fix="Serve /robots.txt with status 200 (or 404 if you have none) reliably and quickly.",
    example="GET /robots.txt -> 503 Service Unavailable",
)
ROBOTS_RATE_LIMITED = FindingSpec(
    code="robots.rate-limited",
    severity=Severity.WARNING,
    source=ROBOTS,
    title="robots.txt answered 429 Too Many Requests: treated as unreachable (complete disallow)",
    explanation=(
        "RFC 9309 classes 4xx as 'unavailable' (allow all), but a 429 says 'come back later', "
        "not 'there is no file'. Like Google, we treat it as unreachable and disallow everything."
    ),
    fix="Do not rate-limit /robots.txt; crawlers need it before anything else.",
    example="GET /robots.txt -> 429 Too Many Requests",
)
ROBOTS_ACCESS_DENIED = FindingSpec(
    code="robots.access-denied",
    severity=Severity.WARNING,
    source=ROBOTS,
    title="robots.txt answered 401/403: RFC 9309 reads that as 'no robots.txt' (allow all)",
    explanation=(
        "RFC 9309 §2.3.1.3: any 4xx for robots.txt, including 401 and 403, means the file is "
        "unavailable and crawlers may access everything. Older parsers (urllib.robotparser) "
        "disallow everything instead, so crawlers will disagree about this site."
    ),
    fix="Serve /robots.txt publicly with status 200, with the rules you intend.",
    example="GET /robots.txt -> 403 Forbidden",
)
ROBOTS_REDIRECTS = FindingSpec(
    code="robots.too-many-redirects",
    severity=Severity.ERROR,
    source=ROBOTS,
    title="robots.txt redirects more than 5 times or in a loop: treated as unreachable",
    explanation=(
        "RFC 9309 §2.3.1.2: crawlers follow at least five consecutive redirects. Beyond that, or "
        "in a loop, the file cannot be read; we fail closed (complete disallow)."
    ),
    fix="Redirect /robots.txt at most once, to the final file.",
    example="/robots.txt -> /a -> /b -> /c -> /d -> /e -> /f",
)
ROBOTS_CHALLENGE = FindingSpec(
    code="robots.challenge",
    severity=Severity.ERROR,
    source=ROBOTS,
    title="a bot challenge page was served instead of robots.txt: the policy is unknown",
    explanation=(
        "The origin (or its CDN) answered /robots.txt with a Cloudflare, DataDome or Akamai "
        "challenge or block page, whatever its status. That page is not the site's robots.txt: "
        "reading it as a file with no rules would say 'everything allowed' for a site whose "
        "rules nobody could read. We read it as RFC 9309 §2.3.1.4 reads a robots.txt the "
        "crawler cannot reach: complete disallow, every purpose reserved, until it can be read "
        "(docs/fetch.md, 'Access outcomes')."
    ),
    fix="Exempt /robots.txt (and /ai.txt, /.well-known/tdmrep.json) from bot challenges.",
    example="GET /robots.txt -> 403, cf-mitigated: challenge, <title>Just a moment...</title>",
)
FETCH_CHALLENGE = FindingSpec(
    code="fetch.challenge",
    severity=Severity.WARNING,
    source="fetch",
    title="a bot challenge page was served instead of the file or page: its signals are unknown",
    explanation=(
        "The response is a Cloudflare, DataDome or Akamai challenge or block page, not the "
        "resource: nothing in it is read as the publisher's signal (docs/fetch.md, 'Access "
        "outcomes')."
    ),
    fix="Exempt policy files and crawlers you accept from bot challenges.",
    example="GET /ai.txt -> 200 with a Cloudflare 'Just a moment...' page",
)
FETCH_PAYMENT_REQUIRED = FindingSpec(
    code="fetch.payment-required",
    severity=Severity.INFO,
    source="fetch",
    title="the origin answered 402 Payment Required (pay per crawl, x402 or a licence server)",
    explanation=(
        "HTTP 402: access is offered against payment. The record keeps the price "
        "(Cloudflare's crawler-price header, an x402 payment requirement) and the licence link "
        '(Link: rel="license") it carried. For robots.txt a 402 is a 4xx: RFC 9309 §2.3.1.3 '
        "reads it as no robots.txt."
    ),
    fix="Nothing to fix if intended; publish the terms in robots.txt (RSL License:) too.",
    example="GET /a.html -> 402, crawler-price: USD 0.01",
)
FETCH_BLOCKED_ADDRESS = FindingSpec(
    code="fetch.blocked-address",
    severity=Severity.ERROR,
    source="fetch",
    title="the host resolves to a private, loopback or link-local address and was not fetched",
    explanation=(
        "For safety the fetcher refuses non-public addresses unless started with "
        "--allow-private. Nothing could be read, so robots.txt counts as unreachable."
    ),
    fix="Check the host name; run with --allow-private to check an internal site on purpose.",
    example="http://127.0.0.1/ without --allow-private",
)
FETCH_FAILED = FindingSpec(
    code="fetch.failed",
    severity=Severity.WARNING,
    source="fetch",
    title="a policy file or the page could not be fetched",
    explanation=(
        "The request failed (timeout, connection error, redirect loop, oversized or "
        "malformed response). The signal it may carry is unknown."
    ),
    fix="Make the file reachable with a plain GET, status 200, within a few seconds.",
    example="GET /ai.txt -> connection reset",
)
FETCH_TRUNCATED = FindingSpec(
    code="fetch.truncated",
    severity=Severity.WARNING,
    source="fetch",
    title="the response was larger than the limit and was cut",
    explanation=(
        "Bodies are capped (decompressed size included). Only the first part was read; any "
        "signal after the cut is ignored."
    ),
    fix="Keep policy files small (robots.txt well under 500 KiB).",
    example="a 2 MB robots.txt",
)
FETCH_DECOMPRESSION_BOMB = FindingSpec(
    code="fetch.decompression-bomb",
    severity=Severity.ERROR,
    source="fetch",
    title="the compressed response expands far beyond the limit (a decompression bomb)",
    explanation="Reading stopped at the cap; the content is treated as unusable.",
    fix="Serve the file uncompressed or with a sane compression ratio.",
    example="10 MB of zeros gzip-compressed to 10 KB",
)
PAGE_NOT_FETCHED = FindingSpec(
    code="page.not-fetched",
    severity=Severity.INFO,
    source=PAGE,
    title="the page itself was not fetched (robots.txt disallows it for our crawler)",
    explanation=(
        "The record is built from the origin-level signals only (robots.txt, ai.txt, "
        "tdmrep.json); page-level signals (headers, meta) are unknown."
    ),
    fix="Nothing to fix: this is how a polite crawler behaves.",
    example="Disallow: / for reservation-crawler",
)


AITXT_WELL_KNOWN = FindingSpec(
    code="aitxt.well-known-location",
    severity=Severity.INFO,
    source=AITXT,
    title="ai.txt was read from /.well-known/ai.txt (the site has no /ai.txt)",
    explanation=(
        "Spawning's ai.txt lives at the site root (/ai.txt). When /ai.txt answers 404 or 410 "
        "the file at /.well-known/ai.txt (RFC 8615's place for site-wide metadata) is read "
        "instead. Readers that only know /ai.txt will not find it."
    ),
    fix="Serve the same file at /ai.txt too (or redirect /ai.txt to it).",
    example="GET /ai.txt -> 404; GET /.well-known/ai.txt -> 200",
)
RSL_UNREACHABLE = FindingSpec(
    code="rsl.unreachable",
    severity=Severity.WARNING,
    source=RSL,
    title="the RSL licence document could not be fetched",
    explanation=(
        "A robots.txt License: line or a licence link points at an RSL document, but the URL "
        "answered with an error (4xx, 5xx) or not at all. Crawlers that honour RSL cannot learn "
        "the licensing terms."
    ),
    fix="Publish the RSL document at that URL with status 200, or correct the URL.",
    example="License: https://example.com/license.xml -> 404",
)
RSL_DISCOVERED = FindingSpec(
    code="rsl.discovered-without-license",
    severity=Severity.WARNING,
    source=RSL,
    title="an RSL document is served at /rsl.xml but robots.txt names no License",
    explanation=(
        "RSL 1.0 §4 discovers licences through a robots.txt License: line (or licence links); "
        "/rsl.xml is a common location, not the spec's. Crawlers that follow the spec never see "
        "this document. Its terms are shown as evidence with effect unspecified: they change "
        "no decision."
    ),
    fix="Add 'License: https://<your site>/rsl.xml' to robots.txt (outside any group).",
    example="GET /robots.txt -> no License: line; GET /rsl.xml -> an RSL document",
)


# In the evidence of an answer that rests on a fetch our own configuration refused; edges that
# hint at the flag (check, crawl, the middleware) look for it.
REFUSED_NOTE = "refused by our configuration"


def rests_on_refusal(evidence: Iterable[Any]) -> bool:
    """Whether an answer's evidence rows include a robots.txt our configuration refused."""
    return any(REFUSED_NOTE in row.raw for row in evidence)


class RobotsFallback(NamedTuple):
    """RFC 9309's answer for a robots.txt that could not be read: may the agent crawl, and why."""

    allowed: bool
    reason: str


ROBOTS_WRONG_MEDIA_TYPE = FindingSpec(
    code="robots.wrong-media-type",
    severity=Severity.WARNING,
    source=ROBOTS,
    title="robots.txt is served with a media type other than text/plain",
    explanation=(
        "RFC 9309 §2.3 says robots.txt is a text/plain file. Google and most crawlers read the "
        "rules anyway, but a text/html type usually means a CMS or framework route answers "
        "/robots.txt, and stricter readers (or a future change of that route) may not."
    ),
    fix="Serve /robots.txt with Content-Type: text/plain; charset=utf-8.",
    example="GET /robots.txt -> 200 Content-Type: text/html (with valid rules in the body)",
)
CONTROL_ONLY_TOKEN = FindingSpec(
    code="robots.control-only-token",
    severity=Severity.INFO,
    source=ROBOTS,
    title="a control-only token is named: it governs AI use, not crawling or Search",
    explanation=(
        "Google-Extended and Applebot-Extended never fetch anything: no request carries these "
        "names, so they never show up in server logs. Googlebot and Applebot still crawl the "
        "pages, and Google Search and Apple's search features are unaffected. A Disallow for the "
        "control token only tells the operator not to use the content for its AI models "
        "(training, and grounding for Google)."
    ),
    fix=(
        "Nothing to fix if that is what you want. To keep pages out of search, address the "
        "crawler itself (User-agent: Googlebot / Applebot) or use noindex."
    ),
    example="User-agent: Google-Extended\nDisallow: /",
)


def robots_fallback(source: SourceOutcome) -> RobotsFallback | None:
    """The answer when robots.txt was not read: 4xx, no file, crawl anything (RFC 9309
    §2.3.1.3); unreachable, complete disallow (§2.3.1.4). None when read or not fetched."""
    outcome = source.outcome
    if outcome is Outcome.ABSENT:
        return RobotsFallback(
            True,
            f"HTTP {source.status}: no robots.txt, everything may be crawled (RFC 9309 §2.3.1.3)",
        )
    if outcome is Outcome.REFUSED:
        return RobotsFallback(
            False,
            f"{source.error}: robots.txt not fetched, {REFUSED_NOTE} (a private, loopback or "
            "link-local address; --allow-private / allow_private=True fetches it); complete "
            "disallow until it can be read (RFC 9309 §2.3.1.4)",
        )
    if source.access is Access.CHALLENGE:
        return RobotsFallback(
            False,
            f"{source.access_detail}: robots.txt unknown, complete disallow until it can be "
            "read (RFC 9309 §2.3.1.4)",
        )
    if outcome in (Outcome.UNREACHABLE, Outcome.ERROR):
        why = source.error or f"HTTP {source.status}"
        return RobotsFallback(
            False, f"{why}: robots.txt unreachable, complete disallow (RFC 9309 §2.3.1.4)"
        )
    return None


def classify(kind: str, result: FetchResult) -> tuple[SourceOutcome, tuple[Finding, ...]]:
    """Turn one fetch result into the protocol's outcome (and fetch-level findings).

    robots.txt follows RFC 9309 §2.3.1: 2xx parse, 4xx unavailable (absent), 5xx and network
    errors unreachable (complete disallow). For ai.txt, tdmrep.json and the page every failure
    only means "no signal from this source".
    """
    findings: list[Finding] = []
    location = result.url
    status = result.status
    error = result.error
    if error == NOT_FETCHED:  # skipped on purpose (fetching.skip_after_robots): not a failure
        source = SourceOutcome(url=location, outcome=Outcome.NOT_FETCHED, error=result.error_detail)
        return source, ()
    access = access_of(result)
    if access.access is Access.CHALLENGE:
        # Not the resource, whatever the status: robots.txt unknown (complete disallow, RFC 9309
        # §2.3.1.4 as for an unreachable file), any other source unusable.
        outcome = Outcome.UNREACHABLE if kind == ROBOTS else Outcome.ERROR
        rule = ROBOTS_CHALLENGE if kind == ROBOTS else FETCH_CHALLENGE
        findings.append(rule(f"{kind}: {access.detail}", location=location))
    else:
        outcome = _outcome(kind, result)
        findings.extend(_failure_findings(kind, outcome, result))
    if access.access is Access.PAYMENT_REQUIRED:
        findings.append(FETCH_PAYMENT_REQUIRED(f"{kind}: {access.detail}", location=location))
    if result.truncated and error != "decompression-bomb":
        findings.append(
            FETCH_TRUNCATED(f"{kind} was cut at {len(result.body)} bytes", location=location)
        )

    has_response = status is not None
    source = SourceOutcome(
        url=result.url,
        outcome=outcome,
        status=status,
        content_type=result.content_type,
        size=len(result.body) if has_response else None,
        sha256=hashlib.sha256(result.body).hexdigest() if has_response else None,
        error=error,
        redirects=tuple(result.redirects),
        access=access.access,
        access_rule=access.rule,
        access_detail=access.detail,
        price=access.price,
        license_url=access.license_url,
    )
    return source, tuple(findings)


def _outcome(kind: str, result: FetchResult) -> Outcome:
    """The protocol outcome of a response that is not a challenge page (RFC 9309 §2.3.1 for
    robots.txt; any failure of another source only means "no signal")."""
    status, error = result.status, result.error
    if error in _NETWORK_ERRORS:
        return Outcome.UNREACHABLE
    if error in _REDIRECT_ERRORS:
        return Outcome.UNREACHABLE if kind == ROBOTS else Outcome.ERROR
    if error == "blocked-address":
        return Outcome.REFUSED
    if error is not None or status is None:
        return Outcome.ERROR
    if 200 <= status < 300:
        return Outcome.OK
    if status == 429:
        return Outcome.UNREACHABLE if kind == ROBOTS else Outcome.ABSENT
    if 300 <= status < 500:
        # 4xx: unavailable; a redirect the fetcher could not follow (no Location): no document.
        return Outcome.ABSENT
    return Outcome.UNREACHABLE


def _failure_findings(kind: str, outcome: Outcome, result: FetchResult) -> list[Finding]:
    """The findings of a fetch that failed or was refused (not a challenge page)."""
    location, status, error = result.url, result.status, result.error
    if error == "blocked-address":
        return [FETCH_BLOCKED_ADDRESS(location=location)]
    bomb = error == "decompression-bomb"
    found = [FETCH_DECOMPRESSION_BOMB(location=location)] if bomb else []
    failed = outcome in (Outcome.UNREACHABLE, Outcome.ERROR)
    if kind != ROBOTS:
        if failed and not bomb:
            found.append(FETCH_FAILED(f"{kind}: {_why(result)}", location=location))
        return found
    if not failed:
        return [ROBOTS_ACCESS_DENIED(location=location)] if status in (401, 403) else []
    why = _why(result)
    if error in _REDIRECT_ERRORS:
        found.append(ROBOTS_REDIRECTS(f"robots.txt: {why}", location=location))
    elif status == 429:
        found.append(ROBOTS_RATE_LIMITED(location=location))
    else:
        found.append(
            ROBOTS_UNREACHABLE(
                f"robots.txt could not be fetched ({why}): the whole site counts as disallowed",
                location=location,
            )
        )
    return found


def _why(result: FetchResult) -> str:
    if result.error:
        detail = f": {result.error_detail}" if result.error_detail else ""
        return f"{result.error}{detail}"
    return f"HTTP {result.status}"


# The body as text when it is UTF-8, else base64 under "body_b64"; kept raw (parsed on demand).
@shape(omit_default=("body",), order=("source", "findings", "body"))
@dataclass(frozen=True, slots=True)
class PolicyFile:
    """One origin-level file: how it was fetched, and its body when there is one to read."""

    source: SourceOutcome
    body: bytes | None = None
    findings: tuple[Finding, ...] = ()

    @classmethod
    def from_fetch(cls, kind: str, result: FetchResult) -> PolicyFile:
        source, findings = classify(kind, result)
        body = result.body if source.outcome is Outcome.OK else None
        return cls(source=source, body=body, findings=findings)

    @classmethod
    def not_fetched(cls, url: str) -> PolicyFile:
        return cls(source=SourceOutcome(url=url, outcome=Outcome.NOT_FETCHED))


class PolicyRequest(NamedTuple):
    """One origin-level file to fetch: its key in the files fetched so far, the kind that
    classifies it (:func:`classify`), its URL and its body cap."""

    key: str
    kind: str
    url: str
    cap: int


def _request(origin: str, key: str, limits: FetchLimits) -> PolicyRequest:
    path = POLICY_PATHS[key]
    kind = AITXT if key == AITXT_FALLBACK else key
    return PolicyRequest(key, kind, origin + path, limits.policy_cap(path))


def rsl_key(url: str) -> str:
    """The key of an RSL document's fetch among an origin's files."""
    return f"{RSL} {url}"


# A robots.txt without this word has no License: line: its parse is skipped while planning.
_MAY_NAME_LICENCE = re.compile(rb"(?i)license").search


def licence_urls(robots_body: bytes | None) -> tuple[str, ...]:
    """The RSL documents a robots.txt names (absolute License: URLs, first-seen order, at most
    ``MAX_RSL_DOCUMENTS``); relative ones are reported by the robots.txt parser."""
    if robots_body is None or _MAY_NAME_LICENCE(robots_body) is None:
        return ()
    return _licences_of_body(robots_body)


@lru_cache(maxsize=64)
def _licences_of_body(robots_body: bytes) -> tuple[str, ...]:
    """(The spider plans after each file of an origin: the robots.txt is parsed once.)"""
    return _absolute_licences(robots.parse(robots_body))


def _absolute_licences(robots_txt: RobotsTxt) -> tuple[str, ...]:
    found: list[str] = []
    for licence in robots_txt.licenses:
        if "://" in licence.url and licence.url not in found:
            found.append(licence.url)
    return tuple(found[:MAX_RSL_DOCUMENTS])


def policy_requests(
    origin: str, limits: FetchLimits, files: Mapping[str, PolicyFile]
) -> tuple[PolicyRequest, ...]:
    """The one fetch plan of an origin's files: what to fetch next, given the files fetched so
    far (by key). Empty: done (:meth:`OriginPolicy.from_files` assembles them).

    robots.txt comes first; a driver may fetch the others of the same answer concurrently
    (sequential ones take the first). Once robots.txt is in: nothing more when it found the
    origin unreachable; else ai.txt and tdmrep.json, then ``/.well-known/ai.txt`` when /ai.txt
    answered 404 or 410, and the RSL documents robots.txt names in License: lines (else
    ``/rsl.xml``, non-normative discovery).
    """
    robots_file = files.get(ROBOTS)
    if robots_file is None:
        return tuple(_request(origin, key, limits) for key in (ROBOTS, AITXT, TDMREP))
    if origin_unreachable(robots_file.source) is not None:
        return ()
    wanted = [_request(origin, key, limits) for key in (AITXT, TDMREP) if key not in files]
    aitxt_file = files.get(AITXT)
    if (
        aitxt_file is not None
        and aitxt_file.source.error is None
        and aitxt_file.source.status in AITXT_FALLBACK_STATUSES
        and AITXT_FALLBACK not in files
    ):
        wanted.append(_request(origin, AITXT_FALLBACK, limits))
    named = licence_urls(robots_file.body)
    for url in named or (origin + RSL_DISCOVERY_PATH,):
        if rsl_key(url) not in files:
            wanted.append(PolicyRequest(rsl_key(url), RSL, url, rsl.MAX_BYTES))
    return tuple(wanted)


def failed_fetch(kind: str, outcome: Outcome | str) -> bool:
    """Whether one source's fetch counts as a failure: cached for the failure TTL (retried soon)
    instead of the full TTL. The one definition, for the Checker, the spider and the pipeline.

    Any source unreachable (5xx, timeout, network error: transient, not an absence); robots.txt
    or the page also when unusable (robots.txt: complete disallow; the page: no page signals).
    """
    outcome = Outcome(outcome)
    if outcome is Outcome.UNREACHABLE:
        return True
    return outcome is Outcome.ERROR and kind in (ROBOTS, PAGE)


def sources_failed(outcomes: Mapping[str, Outcome | str]) -> bool:
    """Whether a record or policy with these source outcomes (by source name) is a failure."""
    return any(failed_fetch(kind, outcome) for kind, outcome in outcomes.items())


@shape(
    tag=POLICY_SCHEMA,
    rename={"robots_file": ROBOTS, "aitxt_file": AITXT, "tdmrep_file": TDMREP, "rsl_files": RSL},
    nest={"files": ("robots_file", "aitxt_file", "tdmrep_file", "rsl_files")},
    omit_default=("rsl_files",),
)
@dataclass(frozen=True)
class OriginPolicy:
    """What a crawler needs before fetching anything from an origin. Parsed lazily, once.

    ``aitxt_file`` is the location used (``/ai.txt``, or ``/.well-known/ai.txt`` when /ai.txt
    answered 404/410 and the fallback answered); ``rsl_files`` the RSL documents fetched: those
    robots.txt names, else ``/rsl.xml`` (see :func:`policy_requests`).
    """

    origin: str
    fetched_at: str
    robots_file: PolicyFile
    aitxt_file: PolicyFile
    tdmrep_file: PolicyFile
    rsl_files: tuple[PolicyFile, ...] = ()

    @classmethod
    def from_fetches(
        cls,
        origin: str,
        fetched_at: str,
        robots_result: FetchResult,
        aitxt_result: FetchResult,
        tdmrep_result: FetchResult,
        *,
        others: Mapping[str, FetchResult] | None = None,
    ) -> OriginPolicy:
        """The policy from fetch results; ``others``: the follow-up fetches by key
        (:func:`policy_requests`: ai.txt's fallback, RSL documents)."""
        results = {ROBOTS: robots_result, AITXT: aitxt_result, TDMREP: tdmrep_result}
        results.update(others or {})
        files = {
            key: PolicyFile.from_fetch(kind_of(key), result) for key, result in results.items()
        }
        return cls.from_files(origin, fetched_at, files)

    @classmethod
    def from_files(
        cls, origin: str, fetched_at: str, files: Mapping[str, PolicyFile]
    ) -> OriginPolicy:
        """The policy from the files :func:`policy_requests` planned, by key. When robots.txt
        found the origin unreachable, the others count as not fetched (whatever a concurrent
        fetch of them gave: ``fetching.skip_after_robots``)."""
        robots_file = files[ROBOTS]
        why = origin_unreachable(robots_file.source)
        if why is not None:
            aitxt_url, tdmrep_url = origin + POLICY_PATHS[AITXT], origin + POLICY_PATHS[TDMREP]
            not_fetched = (NOT_FETCHED, why)
            return cls(
                origin,
                fetched_at,
                robots_file,
                PolicyFile.from_fetch(AITXT, fetch_result(aitxt_url, aitxt_url, error=not_fetched)),
                PolicyFile.from_fetch(
                    TDMREP, fetch_result(tdmrep_url, tdmrep_url, error=not_fetched)
                ),
            )
        aitxt_file = files[AITXT]
        fallback = files.get(AITXT_FALLBACK)
        if fallback is not None and fallback.source.outcome not in (
            Outcome.ABSENT,
            Outcome.NOT_FETCHED,
        ):
            aitxt_file = fallback
        rsl_files = tuple(f for key, f in files.items() if key.startswith(f"{RSL} "))
        return cls(origin, fetched_at, robots_file, aitxt_file, files[TDMREP], rsl_files)

    @property
    def aitxt_fallback_used(self) -> bool:
        """Whether ai.txt was read from ``/.well-known/ai.txt``."""
        return self.aitxt_file.source.url == self.origin + POLICY_PATHS[AITXT_FALLBACK]

    @cached_property
    def licence_urls(self) -> tuple[str, ...]:
        """The RSL documents robots.txt names (fetched); empty: ``/rsl.xml`` was tried."""
        robots_txt = self.robots
        return _absolute_licences(robots_txt) if robots_txt is not None else ()

    @cached_property
    def rsl_documents(self) -> tuple[tuple[PolicyFile, RslDocument], ...]:
        """The RSL documents read (2xx), parsed, with their files, in fetch order."""
        return tuple(
            (f, rsl.parse_rsl(f.body, location=f.source.url))
            for f in self.rsl_files
            if f.body is not None
        )

    def rsl_normative(self, policy_file: PolicyFile) -> bool:
        """Whether an RSL document was found the spec's way (a License: line), not at
        ``/rsl.xml`` by guess."""
        return policy_file.source.url in self.licence_urls

    @cached_property
    def robots(self) -> RobotsTxt | None:
        """The parsed robots.txt when it was fetched with 2xx, else None."""
        if self.robots_file.body is None:
            return None
        return robots.parse(self.robots_file.body)

    @cached_property
    def aitxt(self) -> AiTxt | None:
        if self.aitxt_file.body is None:
            return None
        return aitxt.parse(self.aitxt_file.body, content_type=self.aitxt_file.source.content_type)

    @cached_property
    def tdmrep(self) -> TdmRepFile | None:
        if self.tdmrep_file.body is None:
            return None
        return tdmrep.parse_tdmrep_json(self.tdmrep_file.body)

    @cached_property
    def agent_decisions(self) -> dict[tuple[object, ...], Any]:
        """``decide.decide_agent``'s origin-level decisions, by matched rules (owned by it).

        Values are ``decide.AgentDecision``; typed ``Any`` so this module needs no import of
        ``decide`` (which imports it): the layering test forbids the cycle.
        """
        return {}

    @property
    def robots_outcome(self) -> Outcome:
        return self.robots_file.source.outcome

    @property
    def unreachable(self) -> bool:
        """True when robots.txt could not be read: RFC 9309 complete disallow."""
        return self.robots_outcome in (Outcome.UNREACHABLE, Outcome.ERROR, Outcome.REFUSED)

    @property
    def refused(self) -> bool:
        """Some file was refused by our own configuration (the address guard): the policy says
        nothing about the origin and is never stored as its policy (core/lookup.py)."""
        return any(s.outcome is Outcome.REFUSED for s in self.sources.values())

    @property
    def failed(self) -> bool:
        """Cached as a failure (see :func:`failed_fetch`): robots.txt could not be read, or
        ai.txt / tdmrep.json was unreachable."""
        return sources_failed({kind: source.outcome for kind, source in self.sources.items()})

    @property
    def sources(self) -> dict[str, SourceOutcome]:
        """How each file was fetched: robots.txt, ai.txt, tdmrep.json; with ``rsl`` (the first
        RSL document, ``rsl 2``... the next) when one was fetched."""
        out = {
            ROBOTS: self.robots_file.source,
            AITXT: self.aitxt_file.source,
            TDMREP: self.tdmrep_file.source,
        }
        shown = [
            f.source
            for f in self.rsl_files
            if self.rsl_normative(f)
            or f.source.outcome not in (Outcome.ABSENT, Outcome.NOT_FETCHED)
        ]  # /rsl.xml is a guess: its absence is not worth a line in every record
        for number, source in enumerate(shown, 1):
            out[RSL if number == 1 else f"{RSL} {number}"] = source
        return out

    @cached_property
    def findings(self) -> tuple[Finding, ...]:
        """Fetch findings, every parser's findings (each tagged with its file's URL) and the checks
        of the files as served (media type, control-only tokens): check and validate read these."""
        out: list[Finding] = []
        for policy_file, parsed in (
            (self.robots_file, self.robots),
            (self.aitxt_file, self.aitxt),
            (self.tdmrep_file, self.tdmrep),
        ):
            out.extend(policy_file.findings)
            if parsed is not None:
                url = policy_file.source.url
                out.extend(
                    f if f.location is not None else _with_location(f, url) for f in parsed.findings
                )
        out.extend(self._media_type_findings())
        out.extend(self._rsl_findings())
        if self.aitxt_fallback_used:
            out.append(AITXT_WELL_KNOWN(location=self.aitxt_file.source.url))
        return tuple(out)

    def _rsl_findings(self) -> list[Finding]:
        """Fetch and parse findings of the RSL documents; an unreachable License: document;
        a document found at /rsl.xml without a License: line."""
        found: list[Finding] = []
        for rsl_file in self.rsl_files:
            normative = self.rsl_normative(rsl_file)
            source = rsl_file.source
            if normative or source.outcome is Outcome.OK:
                found.extend(rsl_file.findings)
            if normative and source.outcome is not Outcome.OK:
                why = source.error or f"HTTP {source.status}"
                found.append(
                    RSL_UNREACHABLE(f"RSL licence {source.url} could not be read ({why})",
                                    location=source.url)
                )  # fmt: skip
        for rsl_file, document in self.rsl_documents:
            found.extend(document.findings)
            if document.readable and not self.rsl_normative(rsl_file):
                found.append(RSL_DISCOVERED(location=rsl_file.source.url))
        return found

    def _media_type_findings(self) -> list[Finding]:
        found: list[Finding] = []
        source = self.tdmrep_file.source
        if source.outcome is Outcome.OK and source.content_type == "text/html":
            found.append(tdmrep.SERVED_AS_HTML(location=source.url))
        found.extend(_robots_media_type_findings(self))
        found.extend(_control_only_findings(self))
        return found

    def to_json(self) -> dict[str, Any]:
        """The stored form (schema ``origin-policy/1``, ``docs/redis.md``)."""
        return codec.to_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OriginPolicy:
        """A policy from its stored form; ``errors.DecodeError`` when it is not one."""
        return codec.from_json(cls, data)


def kind_of(key: str) -> str:
    """The kind that classifies a planned file (:func:`classify`), from its key."""
    if key == AITXT_FALLBACK:
        return AITXT
    return RSL if key.startswith(f"{RSL} ") else key


def _robots_media_type_findings(policy: OriginPolicy) -> list[Finding]:
    """robots.txt served as something other than text/plain (RFC 9309 §2.3)."""
    source = policy.robots_file.source
    if source.outcome is not Outcome.OK or source.content_type in (None, "text/plain"):
        return []
    robots_txt = policy.robots
    if robots_txt is not None and any(f.code == robots.HTML_BODY.code for f in robots_txt.findings):
        return []  # an HTML page, already reported as such
    return [
        ROBOTS_WRONG_MEDIA_TYPE(
            f"robots.txt is served as {source.content_type}, not text/plain", location=source.url
        )
    ]


# The crawler whose fetches a control-only token governs (signals.md §3).
_CONTROLLED_CRAWLERS = {"Google-Extended": "Googlebot", "Applebot-Extended": "Applebot"}


def _control_only_findings(policy: OriginPolicy) -> list[Finding]:
    robots_txt = policy.robots
    if robots_txt is None:
        return []
    findings = []
    seen: set[str] = set()
    for group in robots_txt.groups:
        for value, line in group.agents:
            agent = get_agent(value)
            if agent is None or not agent.control_only or agent.token in seen:
                continue
            seen.add(agent.token)
            crawler = _CONTROLLED_CRAWLERS.get(agent.token, "its operator's crawler")
            operator = agent.operator or "its operator"
            findings.append(
                CONTROL_ONLY_TOKEN(
                    f"'{value}' (line {line}) is a control token of {operator}: it never crawls, "
                    f"so this group does not stop {crawler} from crawling nor keep pages out of "
                    "search; it only governs use for AI models",
                    line=line,
                    location=policy.robots_file.source.url,
                )
            )
    return findings


def _with_location(finding: Finding, location: str) -> Finding:
    return Finding(
        code=finding.code,
        severity=finding.severity,
        source=finding.source,
        message=finding.message,
        line=finding.line,
        location=location,
    )
