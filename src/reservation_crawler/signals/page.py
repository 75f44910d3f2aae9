"""What one HTTP response says: robots directives (noai / noimageai / noml, and the search
engines' own AI controls), TDMRep, usage headers, RSL.

Reads the response headers and, for HTML, only the document's ``<head>``: an lxml target parser
is fed the body in chunks and stopped at ``</head>`` or at the first body element, and never
sees more than :data:`MAX_HEAD_BYTES`. Our readings are in ``docs/tdmrep.md`` (TDMRep) and the
page section of ``docs/internals.md``.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import urljoin

import webencodings
from lxml import etree

from reservation_crawler.errors import ReservationCrawlerError
from reservation_crawler.model.findings import Finding, Severity, spec_maker
from reservation_crawler.model.record import Purpose
from reservation_crawler.signals.agents import get_agent
from reservation_crawler.signals.aipref import ContentUsage, parse_content_usage
from reservation_crawler.signals.contentsignal import ContentSignal, parse_content_signal
from reservation_crawler.signals.media import MediaSignals, is_media_type, read_media
from reservation_crawler.signals.sniff import looks_like_html
from reservation_crawler.signals.tdmrep import (
    TdmLayer,
    TdmRepValues,
    tdm_from_headers,
    tdm_from_meta,
)

__all__ = [
    "AI_TOKENS",
    "MAX_HEAD_BYTES",
    "OPERATOR_DIRECTIVES",
    "LicenseLink",
    "OperatorReading",
    "PageSignals",
    "RobotsDirective",
    "operator_directive_reserves",
    "parse_page",
]

# Heads carrying inline CSS/JS reach a few hundred KiB; signals after this are not read.
MAX_HEAD_BYTES = 512 * 1024
_FIRST_CHUNK = 2 * 1024
_MAX_CHUNK = 64 * 1024
_SNIFF_BYTES = 1024

RSL_MEDIA_TYPE = "application/rsl+xml"
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# Content types that say nothing about the body (WHATWG MIME Sniffing §7.1 "unknown").
_UNKNOWN_TYPES = frozenset({"", "unknown/unknown", "application/unknown", "*/*"})
_OCTET_STREAM = "application/octet-stream"

# Robots meta / X-Robots-Tag directives (Google's robots meta spec, Bing, and the DeviantArt
# noai family, signals.md §5). A name before ":" that is one of these is a directive with a
# value (max-snippet:-1, unavailable_after: <date>), not a user-agent prefix.
KNOWN_DIRECTIVES = frozenset(
    {
        "all",
        "none",
        "index",
        "noindex",
        "follow",
        "nofollow",
        "archive",
        "noarchive",
        "nocache",
        "snippet",
        "nosnippet",
        "translate",
        "notranslate",
        "imageindex",
        "noimageindex",
        "indexifembedded",
        "nositelinkssearchbox",
        "noodp",
        "noydir",
        "noyaca",
        "max-snippet",
        "max-image-preview",
        "max-video-preview",
        "unavailable_after",
        "noai",
        "noimageai",
        "noml",
    }
)
AI_TOKENS = frozenset({"noai", "noimageai", "noml"})
# Read as noai: train-ai and ai-use reserved (noml: "no machine learning", the spelling some
# publishers and img2dataset users ask for; signals.md §5, §14).
NOAI_TOKENS = frozenset({"noai", "noml"})
# Meta names that are never crawler names, even when their content happens to be "none"/"all".
_NOT_AGENT_META = frozenset(
    {
        "application-name",
        "author",
        "color-scheme",
        "copyright",
        "creator",
        "description",
        "format-detection",
        "generator",
        "keywords",
        "language",
        "publisher",
        "rating",
        "referrer",
        "subject",
        "theme-color",
        "viewport",
        "tdm-reservation",
        "tdm-policy",
    }
)
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
_WEEKDAYS = frozenset(
    {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
    | {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
)

_SOURCE = "page"


@dataclass(frozen=True, slots=True)
class OperatorReading:
    """How one search engine documents one of its own robots directives for AI use.

    It binds that operator's crawlers only (``agents``, case-folded product tokens); for any
    other agent the directive says nothing about AI use.
    """

    operator: str
    agents: frozenset[str]
    purposes: tuple[Purpose, ...]  # reserved for those agents
    meaning: str
    source: str


_BING_AGENTS = frozenset({"bingbot", "msnbot"})  # Bing's robots meta names
_BING_SOURCE = (
    "https://blogs.bing.com/webmaster/september-2023/Announcing-new-options-for-webmasters-to-"
    "control-usage-of-their-content-in-Bing-Chat (2023-09)"
)
_GOOGLE_AGENTS = frozenset({"googlebot"})
_GOOGLE_SOURCE = (
    "https://developers.google.com/search/docs/crawling-indexing/robots-meta-tag (nosnippet, "
    "max-snippet: also AI Overviews and AI Mode, since 2025-03)"
)
_BING_AI = (Purpose.TRAIN_AI, Purpose.AI_USE)
# The search engines' own AI readings of search directives (docs/record.md, "Search engines'
# own directives"). max-snippet reserves only as max-snippet:0 (Google: "equivalent to
# nosnippet"); another length only limits excerpts and is kept as evidence.
OPERATOR_DIRECTIVES: Mapping[str, OperatorReading] = MappingProxyType(
    {
        "noarchive": OperatorReading(
            "Microsoft Bing",
            _BING_AGENTS,
            _BING_AI,
            "not used in Bing Chat / Copilot answers, not used to train Microsoft's generative "
            "models (the page stays in Bing search)",
            _BING_SOURCE,
        ),
        "nocache": OperatorReading(
            "Microsoft Bing",
            _BING_AGENTS,
            _BING_AI,
            "only the URL, title and snippet may be shown in Copilot answers or used to train "
            "Microsoft's generative models (the page stays in Bing search)",
            _BING_SOURCE,
        ),
        "nosnippet": OperatorReading(
            "Google",
            _GOOGLE_AGENTS,
            (Purpose.AI_USE,),
            "no snippet in Google Search, and not used as direct input for AI Overviews and "
            "AI Mode (training is Google-Extended's robots.txt group)",
            _GOOGLE_SOURCE,
        ),
        "max-snippet": OperatorReading(
            "Google",
            _GOOGLE_AGENTS,
            (Purpose.AI_USE,),
            "max-snippet:0 is nosnippet; another length limits the excerpts Google Search and "
            "its AI features show",
            _GOOGLE_SOURCE,
        ),
    }
)


_spec = spec_maker(_SOURCE)


MALFORMED_ROBOTS_DIRECTIVE = _spec(
    "malformed-robots-directive",
    Severity.WARNING,
    "an X-Robots-Tag or robots meta entry cannot be read; it is ignored",
    "Entries are comma-separated directives (noindex, noai...), optionally after a crawler "
    "name and a colon (GPTBot: noai). An entry with an empty name, stray punctuation or a "
    "crawler name that is not a product token is ignored.",
    "Write directives separated by commas, e.g. X-Robots-Tag: noai, noimageai, or scope them "
    "to one crawler with X-Robots-Tag: GPTBot: noai.",
    "X-Robots-Tag: :, noai;",
)
UNKNOWN_ROBOTS_TOKEN = _spec(
    "unknown-robots-token",
    Severity.INFO,
    "an X-Robots-Tag or robots meta directive is not one we know",
    "The directive is kept as written but has no meaning for AI use. Known: the search "
    "directives (noindex, nofollow, noarchive, nosnippet, max-snippet...) and noai, noimageai.",
    "Check the spelling; robots directives are separated by commas, not semicolons.",
    '<meta name="robots" content="noindex; nofollow">',
)
SEARCH_ENGINE_AI_CONTROL = _spec(
    "search-engine-ai-control",
    Severity.INFO,
    "a search engine's own directive limits its AI use of the page, for its crawler only",
    "Bing reads noarchive and nocache, and Google nosnippet and max-snippet:0, as limits on "
    "using the page in their AI answers (and, for Bing, in training its generative models). "
    "They bind that search engine's crawler (bingbot, Googlebot) only: the record shows them "
    "as evidence for that agent, and other AI crawlers are not bound by them.",
    "To reserve AI use for every crawler, add noai (or robots.txt groups, Content-Usage or "
    "TDMRep); keep the search directive for the search engine it addresses.",
    '<meta name="robots" content="noarchive">',
)
MISSPELLED_AI_TOKEN = _spec(
    "misspelled-ai-token",
    Severity.WARNING,
    "a directive looks like noai or noimageai but is spelled differently; it is not read",
    "Readers of the noai convention look for the exact tokens noai and noimageai (any case). "
    "Variants such as no-ai or no_ai reserve nothing.",
    "Write noai or noimageai.",
    '<meta name="robots" content="no-ai">',
)
NOIMAGEAI_NOT_IMAGE = _spec(
    "noimageai-not-image",
    Severity.INFO,
    "noimageai on a response that is not an image: it reserves the page's images, not the page",
    "noimageai asks that the images of a page not be used for AI; it reserves nothing for the "
    "page itself. It is kept as evidence with effect unspecified for this URL; an image URL is "
    "reserved only by noai or noimageai on its own response (X-Robots-Tag), which is what we read.",
    "To reserve the page as well, write noai. To reserve each image, also send "
    "X-Robots-Tag: noimageai with the image responses.",
    '<meta name="robots" content="noimageai"> on an HTML page',
)
BINARY_BODY = _spec(
    "binary-body",
    Severity.WARNING,
    "the response is labelled as HTML but its body is binary; no meta tag is read",
    "The body starts with bytes that never occur in an HTML document (NUL bytes). It is "
    "probably an image, an archive or compressed data sent with the wrong Content-Type.",
    "Send the right Content-Type (and Content-Encoding) for the body.",
    "Content-Type: text/html with a gzip body but no Content-Encoding",
)
DECODE_ERROR = _spec(
    "decode-error",
    Severity.INFO,
    "the HTML head is not valid in its declared character encoding",
    "Some bytes could not be decoded; they were replaced, so meta tags containing them may "
    "read differently than intended.",
    "Declare the encoding actually used (Content-Type charset or <meta charset>), or save the "
    "page as UTF-8.",
    "Content-Type: text/html; charset=utf-8 with a Latin-1 body",
)
UNKNOWN_CHARSET = _spec(
    "unknown-charset",
    Severity.INFO,
    "the declared character encoding is unknown; the head is read as UTF-8",
    "The charset label in Content-Type or <meta charset> is not one of the WHATWG Encoding "
    "Standard's labels (the ones browsers know), so it is ignored.",
    "Use a standard label such as utf-8.",
    "Content-Type: text/html; charset=utf8mb4",
)
HEAD_TRUNCATED = _spec(
    "head-truncated",
    Severity.INFO,
    "the HTML head is longer than we read; later meta tags are not seen",
    f"Meta and link elements are read from the first {MAX_HEAD_BYTES // 1024} KiB of the "
    "document only. Large inline styles or scripts can push signals past that point.",
    "Put robots, tdm-reservation and licence tags at the top of <head>.",
    '<head> with 600 KiB of inline CSS before <meta name="robots" content="noai">',
)
HTML_PARSE_ERROR = _spec(
    "html-parse-error",
    Severity.WARNING,
    "the HTML head could not be parsed; meta tags may be missing",
    "The HTML parser gave up on the document; signals in it could not be read.",
    "Check that the page is HTML and well formed.",
    "a body that is not HTML at all, labelled text/html",
)
MALFORMED_LINK_HEADER = _spec(
    "malformed-link-header",
    Severity.INFO,
    "a Link header field value cannot be read (RFC 8288)",
    'A Link value is <URI> followed by ";"-separated parameters, e.g. '
    '<https://example.com/license.xml>; rel="license"; type="application/rsl+xml". '
    "Entries that do not start with <URI> are ignored.",
    "Enclose the URI in angle brackets and quote parameter values that contain spaces.",
    "Link: https://example.com/license.xml; rel=license",
)


@dataclass(frozen=True, slots=True)
class RobotsDirective:
    """One directive from X-Robots-Tag or a robots meta tag, with whom it addresses."""

    agent: str  # "*" or the product token as written (compare case-insensitively)
    token: str  # lower-cased directive name: "noai", "noimageai", "noindex", "max-snippet"...
    source: str  # "header" | "meta"
    raw: str  # the entry as written, e.g. "GPTBot: noai"
    location: str  # "header X-Robots-Tag" or 'meta name="robots"'
    value: str | None = None  # for directives with a value: max-snippet:-1 -> "-1"

    def applies_to(self, agent: str) -> bool:
        """Global directives apply to everyone; scoped ones to that token (case-insensitive)."""
        return self.agent == "*" or self.agent.casefold() == agent.casefold()


@dataclass(frozen=True, slots=True)
class LicenseLink:
    """A licence link: ``Link: <url>; rel="license"`` or ``<link rel="license" href>``."""

    url: str  # resolved against the page URL (and <base href>)
    media_type: str | None  # the `type` parameter / attribute, lower-cased
    source: str  # "header" | "html"
    raw: str
    location: str

    @property
    def is_rsl(self) -> bool:
        """Declared as an RSL document (``type="application/rsl+xml"``, RSL 1.0)."""
        return self.media_type == RSL_MEDIA_TYPE


def _empty_values(layer: TdmLayer) -> TdmRepValues:
    return TdmRepValues(layer=layer)


@dataclass(frozen=True, slots=True)
class PageSignals:
    """The signals of one response. ``findings`` holds every finding, including those of the
    nested TDMRep / Content-Usage / Content-Signal values (do not add those again)."""

    url: str
    status: int | None = None
    content_type: str | None = None  # media type, lower-cased, without parameters
    is_image: bool = False
    is_html: bool = False
    robots_directives: tuple[RobotsDirective, ...] = ()
    tdm_header: TdmRepValues = field(default_factory=lambda: _empty_values("header"))
    tdm_meta: TdmRepValues = field(default_factory=lambda: _empty_values("meta"))
    content_usage: tuple[ContentUsage, ...] = ()
    content_signal: tuple[ContentSignal, ...] = ()
    licenses: tuple[LicenseLink, ...] = ()
    findings: tuple[Finding, ...] = ()
    head_bytes: int = 0  # how many body bytes the head parser examined
    # Rights metadata embedded in an image or PDF (signals/media.py); empty for other types.
    media: MediaSignals = field(default_factory=MediaSignals)

    def image_only_reservations(self, agent: str) -> tuple[RobotsDirective, ...]:
        """noimageai for ``agent`` on a response that is not an image: it reserves that page's
        images, not the page (recorded as evidence with effect unspecified)."""
        if self.is_image:
            return ()
        return tuple(
            d for d in self.robots_directives if d.token == "noimageai" and d.applies_to(agent)
        )

    def ai_reservations(self, agent: str) -> tuple[RobotsDirective, ...]:
        """The noai / noml directives for ``agent`` ("*": global ones only), plus noimageai
        when the response is an image: each reserves train-ai and ai-use."""
        return tuple(
            d
            for d in self.robots_directives
            if (d.token in NOAI_TOKENS or (d.token == "noimageai" and self.is_image))
            and d.applies_to(agent)
        )

    def operator_readings(
        self, agent: str
    ) -> tuple[tuple[RobotsDirective, OperatorReading, bool], ...]:
        """The search-engine directives that bind ``agent`` (:data:`OPERATOR_DIRECTIVES`):
        (directive, reading, whether it reserves the reading's purposes). Empty for ``*`` and
        for every agent the operator does not run."""
        folded = agent.casefold()
        out = []
        for directive in self.robots_directives:
            reading = OPERATOR_DIRECTIVES.get(directive.token)
            if reading is None or folded not in reading.agents or not directive.applies_to(agent):
                continue
            out.append((directive, reading, operator_directive_reserves(directive)))
        return tuple(out)


def operator_directive_reserves(directive: RobotsDirective) -> bool:
    """max-snippet reserves only as max-snippet:0 (Google); the other directives always."""
    return directive.token != "max-snippet" or (directive.value or "").strip() == "0"


# --- entry point --------------------------------------------------------------------------------


def parse_page(
    url: str,
    status: int | None,
    headers: Sequence[tuple[str, str]] | Mapping[str, str] | None,
    body: bytes | None,
) -> PageSignals:
    """Read every signal of one response. Never raises on content; problems become findings."""
    pairs = _header_list(headers)
    findings: list[Finding] = []

    content_type_header = _first_header(pairs, "content-type")
    media_type, charset = _parse_content_type(content_type_header)
    body = body or b""
    is_image = media_type.startswith("image/") or (
        (media_type in _UNKNOWN_TYPES or media_type == _OCTET_STREAM) and _sniff_image(body)
    )
    is_html = media_type in _HTML_TYPES or (media_type in _UNKNOWN_TYPES and looks_like_html(body))

    directives: list[RobotsDirective] = []
    content_usage: list[ContentUsage] = []
    content_signal: list[ContentSignal] = []
    licenses: list[LicenseLink] = []
    for name, value in pairs:
        folded = name.strip().lower()
        where = f"header {name}"
        if folded == "x-robots-tag":
            directives.extend(_parse_directives(value, "*", "header", where, findings))
        elif folded == "content-usage":
            usage = parse_content_usage(value, location=where)
            content_usage.append(usage)
            findings.extend(usage.findings)
        elif folded == "content-signal":
            signal = parse_content_signal(value, location=where)
            content_signal.append(signal)
            findings.extend(signal.findings)
        elif folded == "link":
            licenses.extend(_license_links_from_header(value, url, where, findings))

    tdm_header = tdm_from_headers(pairs)
    findings.extend(tdm_header.findings)

    tdm_meta = _empty_values("meta")
    head_bytes = 0
    if is_html and body:
        head = _read_head(body, charset, findings)
        head_bytes = head.bytes_read
        base = _resolve(url, head.base_href) if head.base_href else url
        for name, content in head.meta:
            scope = _meta_scope(name, content)
            if scope is not None:
                directives.extend(
                    _parse_directives(content, scope, "meta", f'meta name="{name}"', findings)
                )
        tdm_meta = tdm_from_meta(head.meta_by_name())
        findings.extend(tdm_meta.findings)
        for rel, href, link_type in head.links:
            if "license" in rel.lower().split():
                raw = f'<link rel="{rel}" href="{href}"' + (
                    f' type="{link_type}">' if link_type is not None else ">"
                )
                licenses.append(
                    LicenseLink(
                        url=_resolve(base, href.strip()),
                        media_type=_lower_type(link_type),
                        source="html",
                        raw=raw,
                        location='link rel="license"',
                    )
                )

    for directive in directives:
        reading = OPERATOR_DIRECTIVES.get(directive.token)
        if reading is not None and operator_directive_reserves(directive):
            findings.append(
                SEARCH_ENGINE_AI_CONTROL(
                    f"{directive.location}: {directive.raw!r} is read by {reading.operator} as: "
                    f"{reading.meaning}; it binds {', '.join(sorted(reading.agents))} only",
                    location=directive.location,
                )
            )
    if not is_image:
        # Beside a noai for the same agents it says nothing more: no finding (the common pair).
        noai_scopes = {d.agent.casefold() for d in directives if d.token in NOAI_TOKENS}
        for directive in directives:
            if directive.token == "noimageai" and not noai_scopes & {
                "*",
                directive.agent.casefold(),
            }:
                findings.append(NOIMAGEAI_NOT_IMAGE(location=directive.location))
    media = MediaSignals()
    if body and (is_image or is_media_type(media_type)):
        media = read_media(media_type, body, location=url)
        findings.extend(media.findings)
    return PageSignals(
        url=url,
        status=status,
        content_type=media_type or None,
        is_image=is_image,
        is_html=is_html,
        robots_directives=tuple(directives),
        tdm_header=tdm_header,
        tdm_meta=tdm_meta,
        content_usage=tuple(content_usage),
        content_signal=tuple(content_signal),
        licenses=tuple(licenses),
        findings=tuple(findings),
        head_bytes=head_bytes,
        media=media,
    )


# --- headers ------------------------------------------------------------------------------------


def _header_list(headers: Any) -> list[tuple[str, str]]:
    """Header pairs with lower-cased names: locations in evidence and findings then read the
    same whichever client fetched the page (httpx keeps the server's case, Scrapy title-cases)."""
    if headers is None:
        return []
    multi_items = getattr(headers, "multi_items", None)  # httpx.Headers keeps repeats here
    if callable(multi_items):
        pairs = multi_items()
    elif isinstance(headers, Mapping):
        pairs = headers.items()
    else:
        pairs = headers
    return [(name.strip().lower(), value) for name, value in pairs]


def _first_header(pairs: Iterable[tuple[str, str]], wanted: str) -> str | None:
    for name, value in pairs:
        if name.strip().lower() == wanted:
            return value
    return None


def _parse_content_type(value: str | None) -> tuple[str, str | None]:
    """(media type lower-cased without parameters, charset label or None)."""
    if not value:
        return "", None
    media_type, _, params = value.partition(";")
    charset = None
    for param in params.split(";"):
        key, sep, param_value = param.partition("=")
        if sep and key.strip().lower() == "charset":
            charset = param_value.strip().strip('"').strip("'") or None
    return media_type.strip().lower(), charset


def _lower_type(value: str | None) -> str | None:
    if value is None:
        return None
    media_type = value.split(";", 1)[0].strip().lower()
    return media_type or None


def _resolve(base: str, href: str) -> str:
    try:
        return urljoin(base, href)
    except ValueError:
        return href


# --- robots directives --------------------------------------------------------------------------


def _is_product_token(text: str) -> bool:
    return bool(text) and all(char in _TOKEN_CHARS for char in text)


def _parse_directives(
    value: str, scope: str, source: str, location: str, findings: list[Finding]
) -> list[RobotsDirective]:
    """Split one X-Robots-Tag value or robots meta content into directives.

    ``name: rest`` switches the scope to crawler ``name`` for the rest of the value when
    ``name`` is not itself a directive (Google: "X-Robots-Tag: otherbot: noindex, nofollow"
    applies both to otherbot); ``max-snippet:-1`` and ``unavailable_after: <date>`` are
    directives with values.
    """
    out: list[RobotsDirective] = []
    for part in value.split(","):
        entry = part.strip()
        if not entry:
            continue
        head, colon, rest = entry.partition(":")
        name = head.strip()
        folded = name.lower()
        if colon and folded not in KNOWN_DIRECTIVES:
            last = out[-1] if out else None
            if last is not None and last.token == "unavailable_after" and _is_weekday(last.value):
                # "unavailable_after: Wednesday, 25-Jun-2025 15:00:00 GMT" (RFC 850 date)
                merged = f"{last.value}, {entry}"
                out[-1] = RobotsDirective(
                    last.agent, last.token, source, f"{last.raw}, {entry}", location, merged
                )
                continue
            if not _is_product_token(name):
                _report_malformed(entry, location, findings)
                continue
            scope = name
            entry = rest.strip()
            if not entry:
                continue  # "GPTBot:" alone scopes the entries that follow
            head, colon, rest = entry.partition(":")
            folded = head.strip().lower()
        directive_value = rest.strip() if colon else None
        token = folded
        if not _is_product_token(token):
            _report_malformed(part.strip(), location, findings)
            continue
        if token not in KNOWN_DIRECTIVES:
            _report_unknown_token(token, part.strip(), location, findings)
        out.append(RobotsDirective(scope, token, source, part.strip(), location, directive_value))
    return out


def _is_weekday(value: str | None) -> bool:
    return value is not None and value.strip().lower() in _WEEKDAYS


def _report_malformed(raw: str, location: str, findings: list[Finding]) -> None:
    lowered = raw.lower()
    hidden = [token for token in ("noimageai", "noai") if token in lowered]
    if hidden:
        findings.append(
            MISSPELLED_AI_TOKEN(
                f"{location}: {raw!r} contains {hidden[0]} but cannot be read as a directive "
                "(directives are separated by commas)",
                location=location,
            )
        )
        return
    findings.append(
        MALFORMED_ROBOTS_DIRECTIVE(
            f"{location}: cannot read {raw!r}; it is ignored", location=location
        )
    )


def _report_unknown_token(token: str, raw: str, location: str, findings: list[Finding]) -> None:
    squashed = token.replace("-", "").replace("_", "").replace(".", "")
    if squashed in AI_TOKENS:
        findings.append(
            MISSPELLED_AI_TOKEN(
                f"{location}: {raw!r} is not read as {squashed}; write {squashed}",
                location=location,
            )
        )
    else:
        findings.append(
            UNKNOWN_ROBOTS_TOKEN(f"{location}: unknown directive {raw!r}", location=location)
        )


_SEARCH_ENGINE_AGENTS = frozenset().union(*(r.agents for r in OPERATOR_DIRECTIVES.values()))


def _meta_scope(name: str, content: str) -> str | None:
    """Whom a meta tag addresses: "*" for robots, a crawler for <meta name="GPTBot">, else None.

    A name the agents registry knows (GPTBot, CCBot...) or a search engine's crawler name is a
    crawler. Any other meta name could be a crawler's too, so it counts as one only when it is
    a product token, is not a well-known non-robots name, and every entry of its content is a
    known robots directive (<meta name="ExampleBot" content="noindex">).
    """
    folded = name.strip().lower()
    if folded == "robots":
        return "*"
    if folded in _NOT_AGENT_META or not _is_product_token(name.strip()):
        return None
    if get_agent(folded) is not None or folded in _SEARCH_ENGINE_AGENTS:
        # A crawler we know by name (the agents registry, data/agents.json, or a search engine
        # whose own directives we read): its tag is read whatever it holds, unknown entries
        # reported (<meta name="GPTBot" content="noai, notrain">).
        return name.strip()
    entries = [entry.strip() for entry in content.split(",") if entry.strip()]
    if not entries:
        return None
    for entry in entries:
        directive = entry.partition(":")[0].strip().lower()
        if directive not in KNOWN_DIRECTIVES:
            return None
    return name.strip()


# --- Link header (RFC 8288) ---------------------------------------------------------------------


def _license_links_from_header(
    value: str, base: str, location: str, findings: list[Finding]
) -> list[LicenseLink]:
    links: list[LicenseLink] = []
    for target, params, raw in _parse_link_header(value, location, findings):
        rel = params.get("rel", "")
        if "license" not in rel.lower().split():
            continue
        links.append(
            LicenseLink(
                url=_resolve(base, target.strip()),
                media_type=_lower_type(params.get("type")),
                source="header",
                raw=raw,
                location=location,
            )
        )
    return links


def _parse_link_header(
    value: str, location: str, findings: list[Finding]
) -> list[tuple[str, dict[str, str], str]]:
    """RFC 8288 §3: ``<uri> *( ";" param )`` separated by commas; quoted values may hold ","."""
    out: list[tuple[str, dict[str, str], str]] = []
    length = len(value)
    pos = 0
    while pos < length:
        while pos < length and value[pos] in " \t,":
            pos += 1
        if pos >= length:
            break
        start = pos
        if value[pos] != "<":
            end = _skip_link_value(value, pos)
            findings.append(
                MALFORMED_LINK_HEADER(
                    f"{location}: {value[start:end].strip()!r} does not start with <URI>",
                    location=location,
                )
            )
            pos = end
            continue
        close = value.find(">", pos + 1)
        if close < 0:
            findings.append(
                MALFORMED_LINK_HEADER(f"{location}: unterminated <URI>", location=location)
            )
            break
        target = value[pos + 1 : close]
        pos = close + 1
        params: dict[str, str] = {}
        while True:
            while pos < length and value[pos] in " \t":
                pos += 1
            if pos >= length or value[pos] != ";":
                break
            pos += 1
            while pos < length and value[pos] in " \t":
                pos += 1
            name_start = pos
            while pos < length and value[pos] not in "=;, \t":
                pos += 1
            name = value[name_start:pos].lower()
            while pos < length and value[pos] in " \t":
                pos += 1
            param_value = ""
            if pos < length and value[pos] == "=":
                pos += 1
                while pos < length and value[pos] in " \t":
                    pos += 1
                if pos < length and value[pos] == '"':
                    param_value, pos = _quoted_string(value, pos)
                else:
                    value_start = pos
                    while pos < length and value[pos] not in ";, \t":
                        pos += 1
                    param_value = value[value_start:pos]
            if name and name not in params:  # RFC 8288 §3.3: later rel parameters are ignored
                params[name] = param_value
        end = _skip_link_value(value, pos)
        out.append((target, params, value[start:end].strip()))
        pos = end
    return out


def _quoted_string(value: str, pos: int) -> tuple[str, int]:
    """Read the quoted-string starting at ``value[pos] == '"'``; return (content, next pos)."""
    chars: list[str] = []
    pos += 1
    while pos < len(value):
        char = value[pos]
        if char == "\\" and pos + 1 < len(value):
            chars.append(value[pos + 1])
            pos += 2
            continue
        if char == '"':
            return "".join(chars), pos + 1
        chars.append(char)
        pos += 1
    return "".join(chars), pos


def _skip_link_value(value: str, pos: int) -> int:
    """Position of the next top-level "," (outside <...> and quotes), or the end."""
    in_quotes = in_uri = False
    while pos < len(value):
        char = value[pos]
        if in_quotes:
            if char == "\\":
                pos += 1
            elif char == '"':
                in_quotes = False
        elif in_uri:
            if char == ">":
                in_uri = False
        elif char == '"':
            in_quotes = True
        elif char == "<":
            in_uri = True
        elif char == ",":
            return pos
        pos += 1
    return pos


# --- sniffing -----------------------------------------------------------------------------------

_IMAGE_MAGIC = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"GIF87a",
    b"GIF89a",
)
# WHATWG MIME Sniffing §7.1: tags that identify HTML when the type is unknown.


def _sniff_image(body: bytes) -> bool:
    if body.startswith(_IMAGE_MAGIC):
        return True
    if body[:4] == b"RIFF" and body[8:12] == b"WEBP":
        return True
    return body[4:12] in (b"ftypavif", b"ftypavis")


# --- the <head> reader --------------------------------------------------------------------------


@dataclass(slots=True)
class _Head:
    meta: list[tuple[str, str]] = field(default_factory=list)  # (name as written, content)
    links: list[tuple[str, str, str | None]] = field(default_factory=list)  # (rel, href, type)
    base_href: str | None = None
    bytes_read: int = 0

    def meta_by_name(self) -> Mapping[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        for name, content in self.meta:
            grouped.setdefault(name, []).append(content)
        return MappingProxyType(grouped)


class _HeadOver(ReservationCrawlerError):
    """Raised by the parser target to stop libxml2 as soon as the head is over."""


class _HeadTarget:
    """lxml parser target: keeps <meta name>, <link>, <base>; stops the parse after the head."""

    def __init__(self, head: _Head) -> None:
        self.head = head
        self.done = False

    def start(self, tag: str, attrib: Mapping[str, str]) -> None:
        if tag == "body":  # libxml2 also emits an implied <body> at the first body element
            self.done = True
            raise _HeadOver
        if tag == "meta":
            name = attrib.get("name")
            if name is not None:
                self.head.meta.append((name, attrib.get("content") or ""))
        elif tag == "link":
            href = attrib.get("href")
            rel = attrib.get("rel")
            if href is not None and rel is not None:
                self.head.links.append((rel, href, attrib.get("type")))
        elif tag == "base" and self.head.base_href is None:
            self.head.base_href = attrib.get("href")

    def end(self, tag: str) -> None:
        if tag == "head":
            self.done = True
            raise _HeadOver

    def data(self, data: str) -> None:
        pass

    def comment(self, text: str) -> None:
        pass

    def close(self) -> None:
        return None


def _read_head(body: bytes, charset: str | None, findings: list[Finding]) -> _Head:
    head = _Head()
    window = body[:MAX_HEAD_BYTES]
    encoding = _choose_encoding(window, charset, findings)
    # NUL bytes mark a binary body (WHATWG MIME Sniffing §7.2), except in UTF-16 text.
    if b"\x00" in window[:_SNIFF_BYTES] and not encoding.name.startswith("utf-16"):
        findings.append(BINARY_BODY())
        return head
    decoder = encoding.incrementaldecoder(errors="strict")
    target = _HeadTarget(head)
    parser = etree.HTMLParser(target=target, recover=True, no_network=True)
    reported_decode_error = False
    # Most heads end within a few KiB: start small, double up to _MAX_CHUNK.
    start, size = 0, _FIRST_CHUNK
    try:
        while start < len(window):
            chunk = window[start : start + size]
            start += len(chunk)
            size = min(size * 2, _MAX_CHUNK)
            # The window may cut a multi-byte character in two only when the body goes on.
            final = start >= len(window) and len(body) <= MAX_HEAD_BYTES
            try:
                text = decoder.decode(chunk, final=final)
            except UnicodeDecodeError:
                if not reported_decode_error:
                    findings.append(DECODE_ERROR(f"the head is not valid {encoding.name}"))
                    reported_decode_error = True
                decoder = encoding.incrementaldecoder(errors="replace")
                text = decoder.decode(chunk, final=final)
            if text:
                parser.feed(text)
        if len(body) <= MAX_HEAD_BYTES:
            parser.close()  # not on a cut window: it would close the head and hide the cut
    except _HeadOver:
        pass
    except (etree.LxmlError, ValueError, TypeError, UnicodeError) as exc:
        findings.append(HTML_PARSE_ERROR(f"the HTML head could not be parsed ({exc})"))
    head.bytes_read = start
    if not target.done and len(body) > MAX_HEAD_BYTES:
        findings.append(HEAD_TRUNCATED())
    return head


def _choose_encoding(
    window: bytes, charset: str | None, findings: list[Finding]
) -> codecs.CodecInfo:
    """BOM, then the Content-Type charset, then a <meta charset> in the first KiB, else UTF-8.

    Labels are the WHATWG Encoding Standard's, as browsers read them (``webencodings``): Python
    codec names that are no web encoding (``zlib``, ``rot13``, ``utf-32``, ``cp037``) are
    unknown labels, never codecs to run over the page.
    """
    if window.startswith(b"\xef\xbb\xbf"):
        return codecs.lookup("utf-8-sig")
    if window.startswith((b"\xff\xfe", b"\xfe\xff")):
        return codecs.lookup("utf-16")
    label = charset or _prescan_charset(window[:_SNIFF_BYTES])
    if label is None:
        return codecs.lookup("utf-8")
    # Every WHATWG label is ASCII; webencodings.lookup() raises on anything else.
    encoding = webencodings.lookup(label) if label.isascii() else None
    if encoding is None or encoding.name == "replacement":
        shown = label.encode("ascii", "backslashreplace").decode("ascii")[:60]
        why = "names no web encoding" if encoding is None else "names the replacement encoding"
        findings.append(UNKNOWN_CHARSET(f"charset {shown!r} {why}; the head is read as UTF-8"))
        return codecs.lookup("utf-8")
    # WHATWG HTML §13.2.3.2 (prescan): a <meta> naming UTF-16 means UTF-8, x-user-defined
    # means windows-1252.
    if charset is None and encoding.name in ("utf-16be", "utf-16le"):
        return codecs.lookup("utf-8")
    if charset is None and encoding.name == "x-user-defined":
        return codecs.lookup("cp1252")
    return encoding.codec_info


def _prescan_charset(prefix: bytes) -> str | None:
    """The label of ``<meta charset=x>`` or ``content="...; charset=x"`` (a simplified prescan)."""
    lowered = prefix.lower()
    pos = lowered.find(b"charset")
    while pos >= 0:
        cursor = pos + len(b"charset")
        while cursor < len(lowered) and lowered[cursor] in b" \t\n\r":
            cursor += 1
        if cursor < len(lowered) and lowered[cursor : cursor + 1] == b"=":
            cursor += 1
            while cursor < len(lowered) and lowered[cursor] in b" \t\n\r\"'":
                cursor += 1
            end = cursor
            while end < len(lowered) and lowered[end] not in b" \t\n\r\"';>/":
                end += 1
            if end > cursor:
                return prefix[cursor:end].decode("ascii", "replace")
        pos = lowered.find(b"charset", pos + 1)
    return None
