"""RSL 1.0 (Really Simple Licensing) documents: parse, validate, and say what one URL's licence
grants per usage token.

Implemented revision: RSL-SPEC-1.0, Recommendation of 2025-11-06 (rslstandard.org/rsl), with
its errata to 2026-05-27 (none changes the vocabularies: the 2026-01-16 entry consolidates them
in §3.4.1 "without changing their meaning or effect"). Readings: ``docs/rsl.md``.

Pure. XML is parsed with ``defusedxml`` (DTDs, entity declarations and external references are
refused, so no entity-expansion bomb and no fetch), within :data:`MAX_BYTES` and
:data:`MAX_CONTENT_ELEMENTS`. Never raises on content: a document that cannot be read has
``readable`` False and a finding saying why.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from reservation_crawler.model.findings import Finding, Severity, listing, spec_maker
from reservation_crawler.signals.patterns import PathPattern, compile_pattern, normalize_url_path

__all__ = [
    "NAMESPACE",
    "PAYMENT_TYPES",
    "USAGE_TOKENS",
    "USER_TOKENS",
    "Grant",
    "RslContent",
    "RslDocument",
    "parse_rsl",
]

NAMESPACE: Final = "https://rslstandard.org/rsl"
MEDIA_TYPE: Final = "application/rsl+xml"
MAX_BYTES: Final = 512_000  # the fetch cap of a licence document (core/policy.py)
MAX_CONTENT_ELEMENTS: Final = 1_000  # <content> elements read; the rest ignored (a finding)

# §3.4.1 usage vocabulary. The leaves, and the two tokens that stand for several of them.
USAGE_LEAVES: Final = ("ai-train", "ai-input", "ai-index", "search")
_USAGE_GROUPS: Final[Mapping[str, tuple[str, ...]]] = {
    "all": USAGE_LEAVES,
    "ai-all": ("ai-train", "ai-input", "ai-index"),
}
USAGE_TOKENS: Final = ("all", "ai-all", *USAGE_LEAVES)
# §3.4.1 user vocabulary; geo values are ISO 3166-1 alpha-2 codes.
USER_TOKENS: Final = ("commercial", "non-commercial", "education", "government", "personal")
PERMISSION_TYPES: Final = ("usage", "user", "geo")
# §3.6 <payment type>; no <payment> element means the licence is free.
PAYMENT_TYPES: Final = (
    "purchase",
    "subscription",
    "training",
    "crawl",
    "use",
    "contribution",
    "attribution",
    "free",
)
# Payments that cost nothing: the use is granted as it is (attribution is a duty, not a price).
_FREE_PAYMENTS: Final = frozenset({"free", "attribution"})

_SOURCE = "rsl"
_HTML_DOCTYPE = re.compile(rb"(?:\xef\xbb\xbf)?\s*<!doctype\s+html[\s>]", re.IGNORECASE)


_spec = spec_maker(_SOURCE)  # codes "rsl.<name>", the one helper (model/findings.py)


NOT_RSL = _spec(
    "not-rsl",
    Severity.WARNING,
    "the RSL licence document is not an RSL XML document",
    'An RSL document is XML 1.0 with the root <rsl xmlns="https://rslstandard.org/rsl"> (or an '
    "RSS feed using that namespace, RSL 1.0 §2). This document is not XML, or uses another root "
    "or namespace, so RSL readers cannot read its terms: none is applied.",
    'Serve the licence as XML with <rsl xmlns="https://rslstandard.org/rsl"> as the root '
    "element (media type application/rsl+xml).",
    "License: https://example.com/license.xml -> an HTML page, or JSON",
)
FORBIDDEN_XML = _spec(
    "forbidden-xml",
    Severity.ERROR,
    "the RSL document declares a DTD or entities, which are not read",
    "Entity declarations allow expansion bombs and external references make readers fetch "
    "other URLs. RSL needs neither; the document is refused as a whole and none of its terms "
    "is applied.",
    "Remove the <!DOCTYPE> and <!ENTITY> declarations from the document.",
    '<!DOCTYPE rsl [<!ENTITY a "aaaa">]><rsl xmlns="https://rslstandard.org/rsl">…',
)
NO_CONTENT = _spec(
    "no-content",
    Severity.WARNING,
    "the RSL document has no <content> element with a url",
    "RSL 1.0 §3.2: <rsl> holds one or more <content url=…> elements, each naming the assets a "
    "licence covers. Without one the document licenses nothing.",
    'Add <content url="/"> (or the paths you license) around each <license>.',
    '<rsl xmlns="https://rslstandard.org/rsl"><license>…</license></rsl>',
)
MISSING_URL = _spec(
    "content-without-url",
    Severity.WARNING,
    "a <content> element has no url attribute",
    "RSL 1.0 §3.2: url is required; it says which assets the licence covers. This element is "
    "ignored.",
    'Add url="/path/" (RFC 9309 pattern) or a full URL.',
    "<content><license>…</license></content>",
)
BAD_URL = _spec(
    "invalid-content-url",
    Severity.WARNING,
    "a <content url> is neither a full http(s) URL nor a path starting with '/'",
    "RSL 1.0 §3.2: the value is a full URL or a server path following RFC 9309 matching "
    "(with * and $). This element is ignored.",
    'Write a path from the site root ("/articles/*") or a full URL.',
    '<content url="articles/*">',
)
NO_LICENSE = _spec(
    "content-without-license",
    Severity.WARNING,
    "a <content> element has no <license>",
    "RSL 1.0 §3.3: the licence states what is permitted and prohibited. Without one the "
    "element says nothing about use.",
    "Add a <license> with <permits> / <prohibits> and, if it is not free, a <payment>.",
    '<content url="/"></content>',
)
UNKNOWN_TOKEN = _spec(
    "unknown-token",
    Severity.WARNING,
    "a <permits> / <prohibits> value is not in the RSL 1.0 vocabulary",
    "RSL 1.0 §3.4.1 defines the usage tokens all, ai-all, ai-train, ai-input, ai-index and "
    "search, and the user tokens commercial, non-commercial, education, government and "
    "personal; geo values are ISO 3166-1 alpha-2 codes. Unknown values are ignored (drafts "
    "before 1.0 used 'tdm').",
    "Use the RSL 1.0 tokens, separated by commas.",
    '<prohibits type="usage">tdm</prohibits>',
)
UNKNOWN_TYPE = _spec(
    "unknown-permission-type",
    Severity.WARNING,
    "a <permits> / <prohibits> type is not usage, user or geo",
    "RSL 1.0 §3.4–3.5: type is usage (what may be done), user (who may do it) or geo "
    "(where). The element is ignored.",
    'Write type="usage", type="user" or type="geo".',
    '<permits type="purpose">search</permits>',
)
UNKNOWN_PAYMENT = _spec(
    "unknown-payment-type",
    Severity.WARNING,
    "a <payment> type is not in the RSL 1.0 list",
    "RSL 1.0 §3.6 lists purchase, subscription, training, crawl, use, contribution, "
    "attribution and free. An unknown type is read as a payment (the use needs a licence).",
    "Use one of the RSL 1.0 payment types.",
    '<payment type="per-click">',
)
TOO_MANY_CONTENT = _spec(
    "too-many-content",
    Severity.WARNING,
    f"the RSL document has more than {MAX_CONTENT_ELEMENTS} <content> elements",
    "Only the first ones are read; assets named later get no licence terms from this document.",
    "Cover assets with patterns (/articles/*) instead of one <content> per page.",
    "a licence listing 50,000 article URLs",
)


@dataclass(frozen=True, slots=True)
class Grant:
    """What one licence document says about one usage leaf for one asset.

    ``state``: ``prohibited`` (a licence prohibits it), ``free`` (permitted without payment
    or condition), ``licence-required`` (permitted against a payment, or through a licence
    server: RSL 1.0 §3.2 ``server`` means a licence must be obtained even if free),
    ``conditional`` (permitted only to some users or places: whether it applies to a given
    crawler is unknown). ``why`` says it in words.
    """

    token: str
    state: str
    why: str


@dataclass(frozen=True, slots=True)
class _License:
    permits: Mapping[str, tuple[str, ...]]  # type -> tokens as written (lower-cased)
    prohibits: Mapping[str, tuple[str, ...]]
    payments: tuple[str, ...]  # payment types ("" for a <payment> without type)


@dataclass(frozen=True, slots=True)
class RslContent:
    """One ``<content>`` element: the assets it names and its licences."""

    index: int  # 0-based, in document order
    url: str  # as written
    pattern: PathPattern
    host: str | None  # scheme://host[:port] of a full URL, lower-cased; None for a path
    server: str | None
    licenses: tuple[_License, ...]

    def matches(self, url: str) -> bool:
        """Whether the asset ``url`` (absolute) is named (RFC 9309 matching, same origin)."""
        if self.host is not None and _origin(url) != self.host:
            return False
        return self.pattern.matches(normalize_url_path(url))

    def grants(self) -> tuple[Grant, ...]:
        """Per usage leaf the licences address: the best grant among the licences (they are
        alternatives) that do not prohibit it; prohibited when none grants it and one
        prohibits it. Leaves no licence addresses are left out (unspecified)."""
        best: dict[str, Grant] = {}
        prohibited: dict[str, Grant] = {}
        for number, licence in enumerate(self.licenses, 1):
            banned = _expand(licence.prohibits.get("usage", ()))
            for leaf in banned:
                prohibited.setdefault(
                    leaf, Grant(leaf, "prohibited", f"licence {number} prohibits {leaf}")
                )
            # Only the uses a licence names are evidence: a licence without
            # <permits type="usage"> grants nothing we could point at (docs/rsl.md).
            permitted = _expand(licence.permits.get("usage", ()))
            for leaf in permitted:
                if leaf in banned:
                    continue
                grant = self._grant(leaf, number, licence)
                if leaf not in best or _RANK[grant.state] < _RANK[best[leaf].state]:
                    best[leaf] = grant
        out = {**prohibited, **best}
        return tuple(out[leaf] for leaf in USAGE_LEAVES if leaf in out)

    def _grant(self, leaf: str, number: int, licence: _License) -> Grant:
        restricted = [
            f"{verb} {kind}: {', '.join(tokens)}"
            for verb, table in (("permits", licence.permits), ("prohibits", licence.prohibits))
            for kind, tokens in table.items()
            if kind in ("user", "geo")
        ]
        if restricted:
            return Grant(
                leaf, "conditional", f"licence {number} permits {leaf} only where it "
                f"{'; '.join(restricted)}",
            )  # fmt: skip
        paid = [p or "unnamed" for p in licence.payments if p not in _FREE_PAYMENTS]
        if paid:
            return Grant(
                leaf, "licence-required", f"licence {number} permits {leaf} against payment "
                f"({', '.join(paid)})",
            )  # fmt: skip
        if self.server is not None:
            return Grant(
                leaf, "licence-required", f"licence {number} permits {leaf} through the licence "
                f"server {self.server} (a licence must be obtained even if free, RSL 1.0 §3.2)",
            )  # fmt: skip
        return Grant(leaf, "free", f"licence {number} permits {leaf} free of charge")


_RANK = {"free": 0, "conditional": 1, "licence-required": 2}


@dataclass(frozen=True, slots=True)
class RslDocument:
    """One parsed RSL document (licence file or feed)."""

    readable: bool  # XML in the RSL namespace; False: no term is applied
    contents: tuple[RslContent, ...]
    findings: tuple[Finding, ...]

    def content_for(self, url: str) -> RslContent | None:
        """The ``<content>`` naming ``url``: the longest matching pattern (RFC 9309's rule for
        overlapping paths), the first in document order on a tie; None when none names it."""
        found: RslContent | None = None
        path = normalize_url_path(url)
        for content in self.contents:
            if content.host is not None and _origin(url) != content.host:
                continue
            if content.pattern.matches(path) and (
                found is None or content.pattern.priority > found.pattern.priority
            ):
                found = content
        return found

    def summary(self) -> str:
        """``prohibits usage: ai-train; permits usage: search`` over the whole document."""
        terms: list[str] = []
        for content in self.contents:
            for licence in content.licenses:
                for verb, table in (("permits", licence.permits), ("prohibits", licence.prohibits)):
                    for kind, tokens in table.items():
                        term = f"{verb} {kind}: {', '.join(tokens)}"
                        if term not in terms:
                            terms.append(term)
        return "; ".join(terms[:6])


def _origin(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _expand(tokens: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for token in tokens:
        for leaf in _USAGE_GROUPS.get(token, (token,) if token in USAGE_LEAVES else ()):
            if leaf not in out:
                out.append(leaf)
    return tuple(out)


def _local(element: Element) -> tuple[str | None, str]:
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return namespace, name
    return None, tag


def parse_rsl(body: bytes | str, *, location: str | None = None) -> RslDocument:
    """Parse one RSL document; never raises. ``location`` goes into findings."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    findings: list[Finding] = []
    try:
        root = fromstring(data[:MAX_BYTES], forbid_dtd=True)
    except DefusedXmlException as exc:
        if _HTML_DOCTYPE.match(data) is not None:  # an HTML page (an error page?), not a DTD
            findings.append(NOT_RSL("the RSL document is an HTML page", location=location))
        else:
            findings.append(FORBIDDEN_XML(f"{type(exc).__name__}: {exc}", location=location))
        return RslDocument(False, (), tuple(findings))
    except (ParseError, ValueError, RecursionError) as exc:
        findings.append(NOT_RSL(f"the RSL document is not XML ({exc})", location=location))
        return RslDocument(False, (), tuple(findings))
    namespace, name = _local(root)
    elements = [e for e in root.iter(f"{{{NAMESPACE}}}content")]
    if (namespace, name) != (NAMESPACE, "rsl") and not (name == "rss" and elements):
        shown = f"{{{namespace}}}{name}" if namespace else name
        findings.append(
            NOT_RSL(
                f"the root element is <{shown}>, not <rsl> in the namespace {NAMESPACE}",
                location=location,
            )
        )
        return RslDocument(False, (), tuple(findings))
    if len(elements) > MAX_CONTENT_ELEMENTS:
        findings.append(
            TOO_MANY_CONTENT(
                f"{len(elements)} <content> elements; only the first {MAX_CONTENT_ELEMENTS} "
                "are read",
                location=location,
            )
        )
        elements = elements[:MAX_CONTENT_ELEMENTS]
    contents = []
    for index, element in enumerate(elements):
        content = _content(index, element, findings, location)
        if content is not None:
            contents.append(content)
    if not contents and not any(f.code != NO_CONTENT.code for f in findings):
        findings.append(NO_CONTENT(location=location))
    return RslDocument(True, tuple(contents), tuple(findings))


def _content(
    index: int, element: Element, findings: list[Finding], location: str | None
) -> RslContent | None:
    where = f"<content> {index + 1}"
    raw_url = (element.get("url") or "").strip()
    if not raw_url:
        findings.append(MISSING_URL(f"{where} has no url attribute", location=location))
        return None
    host = None
    path = raw_url
    if "://" in raw_url:
        host = _origin(raw_url)
        scheme = raw_url.split("://", 1)[0].lower()
        if host is None or scheme not in ("http", "https"):
            findings.append(BAD_URL(f"{where}: url={raw_url!r}", location=location))
            return None
        path = raw_url[len(raw_url.split("://", 1)[0]) + 3 :]
        slash = path.find("/")
        path = path[slash:] if slash >= 0 else "/"
    elif not raw_url.startswith("/"):
        findings.append(BAD_URL(f"{where}: url={raw_url!r}", location=location))
        return None
    licenses = tuple(
        _license(f"{where}, <license> {n}", lic, findings, location)
        for n, lic in enumerate(element.findall(f"{{{NAMESPACE}}}license"), 1)
    )
    if not licenses:
        findings.append(
            NO_LICENSE(f"{where} (url={raw_url!r}) has no <license>", location=location)
        )
    server = (element.get("server") or "").strip() or None
    return RslContent(index, raw_url, compile_pattern(path), host, server, licenses)


def _license(
    where: str, element: Element, findings: list[Finding], location: str | None
) -> _License:
    tables: dict[str, dict[str, list[str]]] = {"permits": {}, "prohibits": {}}
    for verb, table in tables.items():
        for child in element.findall(f"{{{NAMESPACE}}}{verb}"):
            kind = (child.get("type") or "usage").strip().lower()
            if kind not in PERMISSION_TYPES:
                findings.append(UNKNOWN_TYPE(f'{where}: <{verb} type="{kind}">', location=location))
                continue
            tokens = [t.strip().lower() for t in (child.text or "").split(",") if t.strip()]
            unknown = [t for t in tokens if not _known(kind, t)]
            if unknown:
                findings.append(
                    UNKNOWN_TOKEN(
                        f'{where}: <{verb} type="{kind}"> {listing(unknown)}', location=location
                    )
                )
            table.setdefault(kind, []).extend(t for t in tokens if _known(kind, t))
    payments = []
    for child in element.findall(f"{{{NAMESPACE}}}payment"):
        kind = (child.get("type") or "").strip().lower()
        if kind and kind not in PAYMENT_TYPES:
            findings.append(UNKNOWN_PAYMENT(f'{where}: <payment type="{kind}">', location=location))
        payments.append(kind)
    return _License(
        permits={k: tuple(v) for k, v in tables["permits"].items()},
        prohibits={k: tuple(v) for k, v in tables["prohibits"].items()},
        payments=tuple(payments),
    )


def _known(kind: str, token: str) -> bool:
    if kind == "usage":
        return token in USAGE_TOKENS
    if kind == "user":
        return token in USER_TOKENS
    return len(token) == 2 and token.isascii() and token.isalpha()
