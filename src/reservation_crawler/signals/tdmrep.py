"""W3C TDMRep (TDM Reservation Protocol, CG Final Report 2024-05-10): file, headers, meta.

Three layers say whether text-and-data-mining rights are reserved for a URL:
``/.well-known/tdmrep.json`` (first matching rule wins), the ``tdm-reservation`` /
``tdm-policy`` response headers, and the HTML ``<meta>`` tags. :func:`effective_tdm` merges
them in the spec's order (file, then headers, then meta; per property; absence never resets).
Our readings of the open points are in ``docs/tdmrep.md``.
"""

from __future__ import annotations

import json
from bisect import insort
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, NamedTuple, TypeVar
from urllib.parse import urlsplit

from reservation_crawler.model.findings import Finding, Severity, listing, spec_maker
from reservation_crawler.signals.patterns import (
    MATCH_WORK_LIMIT,
    WORK_LIMIT_EXCEEDED,
    PathPattern,
    PatternSet,
    compile_pattern,
    normalize_url_path,
)

__all__ = [
    "TdmLayer",
    "TdmLayerValue",
    "TdmRepEffective",
    "TdmRepFile",
    "TdmRepRule",
    "TdmRepValues",
    "effective_tdm",
    "parse_tdmrep_json",
    "tdm_from_headers",
    "tdm_from_meta",
]

TdmLayer = Literal["file", "header", "meta"]
_T = TypeVar("_T")

RESERVATION = "tdm-reservation"
POLICY = "tdm-policy"
LOCATION = "location"
_RULE_KEYS = frozenset({LOCATION, RESERVATION, POLICY})
# An early name of tdm-reservation, still in techniques/technique-http-headers.md.
_OBSOLETE_HEADERS = frozenset({"tdm-a"})
_JSON_WS = " \t\n\r"
_UTF8_BOM = b"\xef\xbb\xbf"

_SOURCE = "tdmrep"


_spec = spec_maker(_SOURCE)


# --- tdmrep.json: the document as a whole -------------------------------------------------------
NOT_JSON = _spec(
    "not-json",
    Severity.ERROR,
    "tdmrep.json is not valid JSON; no rule in it is read",
    "TDMRep agents read /.well-known/tdmrep.json as JSON (RFC 8259, UTF-8). A syntax error such "
    "as a trailing comma, a comment, single quotes or bytes that are not UTF-8 makes the whole "
    "file unreadable, so the origin has no file-level reservation.",
    "Validate the file with a JSON linter and remove trailing commas and comments.",
    '[ { "location": "/", "tdm-reservation": 1, } ]',
)
BOM = _spec(
    "bom",
    Severity.WARNING,
    "tdmrep.json starts with a UTF-8 byte order mark",
    "RFC 8259 §8.1 forbids a byte order mark in JSON sent over the network; parsers may ignore it "
    "and we do, but strict parsers (JSON.parse in a browser, Python's json.loads on bytes "
    "decoded as UTF-8) reject the file.",
    "Save the file as UTF-8 without BOM.",
    '\\xef\\xbb\\xbf[ { "location": "/", "tdm-reservation": 1 } ]',
)
NOT_AN_ARRAY = _spec(
    "not-an-array",
    Severity.ERROR,
    "tdmrep.json is not a JSON array of rules; the file is not read",
    "TDMRep §3.2 requires the file to be an array of rule objects, brackets included even for a "
    "single rule. A single object, or the rules wrapped in another object, is not a TDMRep file: "
    "agents treat the origin as not implementing the file technique.",
    'Put the rules in a top-level array and give each a "location", e.g. '
    '[ { "location": "/", "tdm-reservation": 1 } ].',
    '{ "tdm-reservation": 1, "tdm-policy": "https://example.com/policy.json" }',
)
NO_RULES = _spec(
    "no-rules",
    Severity.INFO,
    "tdmrep.json is an empty array: it reserves nothing",
    "An empty array is valid but has no rule, so no URL of the origin gets a value from the file.",
    'Add a rule such as { "location": "/", "tdm-reservation": 1 }, or remove the file.',
    "[]",
)

# --- tdmrep.json: one rule ----------------------------------------------------------------------
RULE_NOT_OBJECT = _spec(
    "rule-not-object",
    Severity.ERROR,
    "tdmrep.json array entry is not an object; it is ignored",
    "Each entry of the array must be an object with location and tdm-reservation.",
    'Write each rule as { "location": "/path/", "tdm-reservation": 1 }.',
    '[ "/", 1 ]',
)
MISSING_LOCATION = _spec(
    "missing-location",
    Severity.ERROR,
    'tdmrep.json rule has no "location"; it applies to nothing',
    'TDMRep §3.2: "location" is mandatory. Without it the rule cannot match any URL, so its '
    "reservation is never applied.",
    'Add "location": "/" (whole site) or the path the rule is meant for.',
    '[ { "tdm-reservation": 1 } ]',
)
INVALID_LOCATION = _spec(
    "invalid-location",
    Severity.ERROR,
    'tdmrep.json "location" is not a path pattern; the rule applies to nothing',
    "location is a robots.txt-style path pattern: a string starting with '/', where '*' matches "
    "any characters and a final '$' anchors the end. A full URL, a relative path or a "
    "non-string cannot match a URL path, so the rule is ignored.",
    'Write the path only, starting with "/": "https://example.com/blog/" becomes "/blog/".',
    '[ { "location": "https://example.com/", "tdm-reservation": 1 } ]',
)
LOCATION_WILDCARD_START = _spec(
    "location-wildcard-start",
    Severity.WARNING,
    'tdmrep.json "location" starts with "*" instead of "/"',
    "Path patterns start with '/'. We read a leading '*' the way Google's robots.txt matcher does "
    '(it matches any path, so "*" means the whole site), but strict RFC 9309 readers drop such '
    "patterns and would ignore the rule.",
    'Write "/" or "/*" for the whole site, "/*.jpg" for a file type.',
    '[ { "location": "*", "tdm-reservation": 1 } ]',
)
MISSING_RESERVATION = _spec(
    "missing-reservation",
    Severity.ERROR,
    'tdmrep.json rule has no "tdm-reservation"; URLs it matches get no value from the file',
    'TDMRep §3.2: "tdm-reservation" is mandatory. The rule still matches (first match wins), so '
    "later rules cannot apply to its URLs, but it gives them no reservation.",
    'Add "tdm-reservation": 1 (rights reserved) or 0 (not reserved).',
    '[ { "location": "/", "tdm-policy": "https://example.com/policy.json" } ]',
)
INVALID_RESERVATION = _spec(
    "invalid-reservation",
    Severity.ERROR,
    "tdm-reservation is neither 0 nor 1; it is treated as unset",
    "TDMRep §2.1: the only values are 1 (rights reserved) and 0 (not reserved). Any other value — "
    '2, "yes", true, or "1" written as a JSON string in tdmrep.json — is a protocol error and '
    "agents must treat the property as unset, so the reservation you meant is not expressed.",
    "Use the number 1 or 0 in tdmrep.json (no quotes), and the text 1 or 0 in headers and meta.",
    '[ { "location": "/", "tdm-reservation": "1" } ]',
)
INVALID_POLICY = _spec(
    "invalid-policy",
    Severity.ERROR,
    "tdm-policy is not an absolute http(s) URL; it is ignored",
    "TDMRep §2.2: tdm-policy holds the URL of a TDM Policy (an ODRL JSON-LD document, or a page "
    "for humans). Other text — a word such as not-allowed, a relative path, an unrendered "
    "template — gives agents no licensing path.",
    "Give the full URL of the policy, e.g. https://example.com/tdm-policy.json.",
    '<meta name="tdm-policy" content="not-allowed">',
)
UNKNOWN_KEY = _spec(
    "unknown-key",
    Severity.INFO,
    "tdmrep.json rule has a key TDMRep does not define; it is ignored",
    'Only "location", "tdm-reservation" and "tdm-policy" are defined. Other keys are ignored; '
    'spellings such as "tdm_reservation" look like a typo of a defined key and have no effect.',
    'Remove the key, or fix its spelling ("tdm-reservation", "tdm-policy", with hyphens).',
    '[ { "location": "/", "tdm_reservation": 1 } ]',
)
DUPLICATE_KEY = _spec(
    "duplicate-key",
    Severity.WARNING,
    "tdmrep.json rule repeats a key; the last one is used",
    "JSON parsers disagree on repeated keys (RFC 8259 §4 says names SHOULD be unique). We keep "
    "the last value, as most parsers do.",
    "Keep one occurrence of each key per rule.",
    '[ { "location": "/", "tdm-reservation": 0, "tdm-reservation": 1 } ]',
)
SHADOWED_RULE = _spec(
    "shadowed-rule",
    Severity.WARNING,
    "tdmrep.json rule can never apply: an earlier rule matches every URL it matches",
    "TDMRep takes the FIRST rule in array order whose location matches (not the longest match "
    'as in robots.txt). A broad rule such as "/" listed before a narrower one hides the '
    "narrower one completely.",
    'List the most specific rules first and the catch-all rule ("/") last.',
    '[ { "location": "/", "tdm-reservation": 1 }, { "location": "/open/", "tdm-reservation": 0 } ]',
)
POLICY_WITH_RESERVATION_0 = _spec(
    "policy-with-reservation-0",
    Severity.INFO,
    "tdm-policy is given while tdm-reservation is 0; agents do not process it",
    "TDMRep §2.2: with tdm-reservation 0 mining is allowed without a licence, so the policy is "
    "not an error but agents should not process it.",
    "Remove tdm-policy, or set tdm-reservation to 1 if the policy states licensing conditions.",
    '[ { "location": "/", "tdm-reservation": 0, "tdm-policy": "https://example.com/p.json" } ]',
)
POLICY_WITHOUT_RESERVATION = _spec(
    "policy-without-reservation",
    Severity.INFO,
    "tdm-policy is given but no tdm-reservation applies; the policy has no effect",
    "A TDM Policy only matters when rights are reserved (tdm-reservation 1). Without any "
    "reservation at any layer the URL is unset and agents do not look at the policy.",
    "Add tdm-reservation: 1 next to the policy.",
    "tdm-policy: https://example.com/policy.json",
)

# --- headers and meta ---------------------------------------------------------------------------
DUPLICATE_VALUE = _spec(
    "duplicate-value",
    Severity.INFO,
    "tdm-reservation or tdm-policy is given more than once with the same value",
    "Repeated header fields or meta tags with equal values are harmless, but usually mean two "
    "configurations (server, CDN, CMS) set the same signal; they can drift apart.",
    "Set each property in one place.",
    "tdm-reservation: 1\ntdm-reservation: 1",
)
CONFLICTING_VALUES = _spec(
    "conflicting-values",
    Severity.ERROR,
    "tdm-reservation or tdm-policy is given more than once with different values; treated as unset",
    'Two header fields (or two meta tags, or one header combined by a proxy as "1, 0") give '
    "different values. TDMRep defines a single value per layer; a contradiction is a protocol "
    "error, so we treat the property as unset at that layer.",
    "Remove the duplicate from the server, CDN or CMS configuration so one value remains.",
    "tdm-reservation: 1\ntdm-reservation: 0",
)
OBSOLETE_HEADER = _spec(
    "obsolete-header",
    Severity.INFO,
    "TDM-a header is an obsolete name of tdm-reservation; it is ignored",
    "Early drafts (and the Apache/nginx snippets still in the W3C techniques page) used TDM-a. "
    "The Final Report defines tdm-reservation; agents do not read TDM-a.",
    "Rename the header to tdm-reservation.",
    'Header set TDM-a "1"',
)
NONSTANDARD_NAME = _spec(
    "nonstandard-name",
    Severity.INFO,
    "a TDMRep-like header or meta name that TDMRep does not define; it is ignored",
    "Only the header fields tdm-reservation and tdm-policy and the meta names tdm-reservation and "
    "tdm-policy are defined for HTTP and HTML (tdm:reservation is the EPUB form). Variants such "
    "as X-TDM-Policy or tdm_reservation are not read by agents.",
    "Use tdm-reservation and tdm-policy exactly.",
    'X-TDM-Policy: "Not Allowed"',
)
LAYER_OVERRIDE = _spec(
    "layer-override",
    Severity.INFO,
    "a later TDMRep layer overrides a different value from an earlier one",
    "TDMRep §4 evaluates tdmrep.json, then the response headers, then HTML meta; each later "
    "layer overrides earlier values property by property. Different values at different layers "
    "are legal but usually unintended (the spec asks publishers to use one technique).",
    "Publish each property in one technique, or make the layers agree.",
    'tdmrep.json "tdm-reservation": 1 with response header tdm-reservation: 0',
)

# --- declared here for the fetch and validate layers, which detect them -----------------------
SERVED_AS_HTML = _spec(
    "served-as-html",
    Severity.ERROR,
    "tdmrep.json is served as text/html; it is probably an error page",
    "A 200 response with an HTML body at /.well-known/tdmrep.json is usually a soft 404 or a "
    "framework's catch-all route. TDMRep mandates no media type, but JSON is expected; the body "
    "is not read as rules.",
    "Serve the JSON file with Content-Type: application/json, and make missing files return 404.",
    "GET /.well-known/tdmrep.json -> 200 Content-Type: text/html",
)
POLICY_UNREACHABLE = _spec(
    "policy-unreachable",
    Severity.WARNING,
    "the tdm-policy URL could not be fetched",
    "TDMRep §2.2: an unreachable or unparseable policy is not a protocol error, but agents then "
    "have no known way to license the content.",
    "Publish the policy at the URL given in tdm-policy, or correct the URL.",
    "tdm-policy: https://example.com/missing.json -> 404",
)


# --- types --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TdmRepRule:
    """One rule of tdmrep.json; ``reservation`` is None when missing or invalid (unset)."""

    index: int  # 0-based position in the array
    location: PathPattern
    reservation: int | None
    policy: str | None
    line: int | None = None
    raw: str = ""  # the rule object re-serialized compactly, for evidence

    def matches(self, path: str) -> bool:
        """Whether the rule's location matches a normalized URL path."""
        return self.location.matches(path)

    @property
    def pointer(self) -> str:
        """JSON Pointer (RFC 6901) of the rule in the file."""
        return f"/{self.index}"


@dataclass(frozen=True, slots=True)
class TdmRepFile:
    """A parsed ``/.well-known/tdmrep.json``: the usable rules in array order, and findings."""

    rules: tuple[TdmRepRule, ...] = ()
    findings: tuple[Finding, ...] = ()
    readable: bool = True  # False when the body is not a JSON array (no rule is read)
    # rule_for's index of many rules, built on first use (see _pattern_set)
    _pattern_set: dict[int, PatternSet] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def rule_for(self, url: str) -> TdmRepRule | None:
        """The FIRST rule in array order whose location matches the URL (TDMRep §3.2)."""
        rules = self.rules
        if not rules:
            return None
        path = normalize_url_path(url)
        if len(rules) <= _PATTERN_SET_RULES:
            for rule in rules:
                if rule.location.matches(path):
                    return rule
            return None
        index = _pattern_set(self).first(path)
        if index is None:
            return None
        if index is WORK_LIMIT_EXCEEDED:
            return _OVER_LIMIT
        return rules[index]  # type: ignore[index]


# Above this many rules, rule_for looks them up in a PatternSet (cost per URL independent of
# the rule count, bounded work), built on first use and kept per file.
_PATTERN_SET_RULES = 64
# The rule rule_for answers when matching would exceed MATCH_WORK_LIMIT: reserved (fail closed).
_OVER_LIMIT = TdmRepRule(
    index=-1,
    location=compile_pattern("/*"),
    reservation=1,
    policy=None,
    raw=(
        f"more than {MATCH_WORK_LIMIT:,} wildcard pattern pieces would have to be examined to "
        "find this URL's rule; reserved (fail closed)"
    ),
)


def _pattern_set(file: TdmRepFile) -> PatternSet:
    """The file's PatternSet, built on first use (two threads may both build it: same result)."""
    found = file._pattern_set.get(0)
    if found is None:
        found = file._pattern_set[0] = PatternSet([rule.location for rule in file.rules])
    return found


@dataclass(frozen=True, slots=True)
class TdmRepValues:
    """What one layer (response headers or HTML meta) says; None means unset at this layer."""

    layer: TdmLayer
    reservation: int | None = None
    policy: str | None = None
    raw_reservation: tuple[str, ...] = ()  # every value seen, as written
    raw_policy: tuple[str, ...] = ()
    reservation_location: str | None = None  # e.g. "header TDM-Reservation", 'meta name="..."'
    policy_location: str | None = None
    findings: tuple[Finding, ...] = ()

    @property
    def present(self) -> bool:
        """Whether the layer mentions either property at all (even invalidly)."""
        return bool(self.raw_reservation or self.raw_policy)


class TdmLayerValue(NamedTuple):
    """The tdm-reservation one layer set, as :func:`effective_tdm` merged it (a named tuple:
    built for every page decided)."""

    value: int
    layer: TdmLayer
    raw: str
    location: str


@dataclass(frozen=True, slots=True)
class TdmRepEffective:
    """The TDMRep values for one URL after the layer order, and which layer set each.

    ``reservations``: every layer that set tdm-reservation, in precedence order (the last wins).
    """

    reservation: int | None = None
    reservation_layer: TdmLayer | None = None
    reservation_raw: str | None = None
    reservation_location: str | None = None
    policy: str | None = None
    policy_layer: TdmLayer | None = None
    policy_raw: str | None = None
    policy_location: str | None = None
    findings: tuple[Finding, ...] = ()
    reservations: tuple[TdmLayerValue, ...] = ()

    @property
    def reserved(self) -> bool | None:
        """True (1), False (0) or None (unset)."""
        return None if self.reservation is None else self.reservation == 1

    @property
    def policy_applies(self) -> bool:
        """Agents process the policy only when rights are reserved (TDMRep §2.2)."""
        return self.reservation == 1 and self.policy is not None


# --- tdmrep.json --------------------------------------------------------------------------------


class _JsonObject(dict[str, Any]):
    """A decoded JSON object that remembers the keys it saw more than once."""

    duplicate_keys: tuple[str, ...] = ()


def _object_pairs(pairs: list[tuple[str, Any]]) -> _JsonObject:
    obj = _JsonObject(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        dups: list[str] = []
        for key, _ in pairs:
            if key in seen and key not in dups:
                dups.append(key)
            seen.add(key)
        obj.duplicate_keys = tuple(dups)
    return obj


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(object_pairs_hook=_object_pairs, parse_constant=_reject_constant)


def parse_tdmrep_json(body: bytes | str) -> TdmRepFile:
    """Parse a tdmrep.json body; never raises, problems become findings."""
    findings: list[Finding] = []
    text = _decode_body(body, findings)
    if text is None:
        return TdmRepFile(findings=tuple(findings), readable=False)
    try:
        document = _DECODER.decode(text)
    except (ValueError, RecursionError) as exc:
        line = getattr(exc, "lineno", None)
        detail = getattr(exc, "msg", None) or str(exc)
        hint = _not_json_hint(text)
        findings.append(NOT_JSON(f"tdmrep.json is not valid JSON ({detail}){hint}", line=line))
        return TdmRepFile(findings=tuple(findings), readable=False)

    if not isinstance(document, list):
        findings.extend(_diagnose_non_array(document))
        return TdmRepFile(findings=tuple(findings), readable=False)
    if not document:
        findings.append(NO_RULES(line=1))
        return TdmRepFile(findings=tuple(findings))

    lines = _element_lines(text, len(document))
    rules: list[TdmRepRule] = []
    for index, entry in enumerate(document):
        rule = _read_rule(index, entry, lines[index], findings)
        if rule is not None:
            rules.append(rule)
    findings.extend(_shadowing(rules))
    return TdmRepFile(rules=tuple(rules), findings=tuple(findings))


def _decode_body(body: bytes | str, findings: list[Finding]) -> str | None:
    if isinstance(body, str):
        if body.startswith("\ufeff"):
            findings.append(BOM(line=1))
            return body[1:]
        return body
    if body.startswith(_UTF8_BOM):
        # RFC 8259 §8.1 lets a parser ignore a BOM; we tolerate it and warn.
        findings.append(BOM(line=1))
        body = body[len(_UTF8_BOM) :]
    elif body.startswith((b"\xff\xfe", b"\xfe\xff")):
        findings.append(NOT_JSON("tdmrep.json is UTF-16 encoded; JSON must be UTF-8", line=1))
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        findings.append(
            NOT_JSON(f"tdmrep.json is not UTF-8 (invalid byte at offset {exc.start})", line=line)
        )
        return None


def _not_json_hint(text: str) -> str:
    stripped = text.lstrip()
    if not stripped:
        return ": the file is empty"
    if stripped[:1] == "<":
        return ": it looks like HTML (an error page?)"
    if _has_trailing_comma(text):
        return ": remove the trailing comma"
    return ""


def _has_trailing_comma(text: str) -> bool:
    """A ',' followed (after whitespace) by ']' or '}' outside strings."""
    in_string = escaped = False
    pending_comma = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
            pending_comma = False
        elif char == ",":
            pending_comma = True
        elif char in "]}":
            if pending_comma:
                return True
        elif char not in _JSON_WS:
            pending_comma = False
    return False


def _diagnose_non_array(document: Any) -> list[Finding]:
    if not isinstance(document, dict):
        kind = type(document).__name__ if document is not None else "null"
        return [NOT_AN_ARRAY(f"tdmrep.json is a JSON {_json_kind(kind)}, not an array of rules")]
    wrapped = [key for key, value in document.items() if isinstance(value, list)]
    looks_like_rule = any(_canonical_key(key) in _RULE_KEYS for key in document)
    if looks_like_rule:
        findings = [
            NOT_AN_ARRAY(
                "tdmrep.json is a single object; TDMRep requires an array of rules "
                '([ { "location": "/", ... } ]). The file is not read.',
            )
        ]
        # Diagnose the object as the rule it was probably meant to be, so the publisher sees
        # every fix at once; none of it is applied.
        scratch: list[Finding] = []
        _read_rule(0, document, None, scratch, pointer="")
        findings.extend(scratch)
        return findings
    if len(wrapped) == 1 and len(document) == 1:
        return [
            NOT_AN_ARRAY(
                f'tdmrep.json wraps its rules in an object under "{wrapped[0]}"; the array of '
                "rules must be the top-level value. The file is not read.",
            )
        ]
    if "@context" in document or "permission" in document:
        return [
            NOT_AN_ARRAY(
                "tdmrep.json is a JSON-LD object (a TDM Policy or another vocabulary), not an "
                "array of rules; a policy belongs at the URL given in tdm-policy. The file is "
                "not read.",
            )
        ]
    return [NOT_AN_ARRAY("tdmrep.json is a JSON object, not an array of rules")]


def _json_kind(python_kind: str) -> str:
    return {"str": "string", "int": "number", "float": "number", "bool": "boolean"}.get(
        python_kind, python_kind
    )


def _element_lines(text: str, count: int) -> list[int | None]:
    """Line number of each top-level array element (the text is known to be a valid array)."""
    lines: list[int | None] = []
    pos = text.index("[") + 1
    line = text.count("\n", 0, pos) + 1
    last = pos
    for _ in range(count):
        while text[pos] in _JSON_WS:
            pos += 1
        line += text.count("\n", last, pos)
        last = pos
        lines.append(line)
        _, pos = _DECODER.raw_decode(text, pos)
        while text[pos] in _JSON_WS:
            pos += 1
        pos += 1  # the ',' (or the closing ']')
    return lines


def _canonical_key(key: str) -> str:
    return key.strip().lower().replace("_", "-").replace(":", "-")


def _read_rule(
    index: int,
    entry: Any,
    line: int | None,
    findings: list[Finding],
    *,
    pointer: str | None = None,
) -> TdmRepRule | None:
    where = f"/{index}" if pointer is None else pointer
    if not isinstance(entry, dict):
        findings.append(
            RULE_NOT_OBJECT(
                f"array entry {index} is a JSON {_json_kind(type(entry).__name__)}, not a rule "
                "object; it is ignored",
                line=line,
                location=where,
            )
        )
        return None
    for key in getattr(entry, "duplicate_keys", ()):
        findings.append(
            DUPLICATE_KEY(
                f'rule repeats the key "{key}"; the last value is used',
                line=line,
                location=f"{where}/{key}",
            )
        )
    for key in entry:
        if key in _RULE_KEYS:
            continue
        canonical = _canonical_key(key)
        if canonical in _RULE_KEYS:
            message = f'unknown key "{key}" is ignored; did you mean "{canonical}"?'
        else:
            message = f'unknown key "{key}" is ignored'
        findings.append(UNKNOWN_KEY(message, line=line, location=f"{where}/{key}"))

    reservation = _file_reservation(entry, line, where, findings)
    policy = _file_policy(entry, line, where, findings)
    if reservation == 0 and policy is not None:
        findings.append(POLICY_WITH_RESERVATION_0(line=line, location=f"{where}/{POLICY}"))

    pattern = _file_location(entry, line, where, findings)
    if pattern is None:
        return None
    raw = json.dumps(entry, ensure_ascii=False, separators=(", ", ": "))
    return TdmRepRule(index, pattern, reservation, policy, line=line, raw=raw)


def _file_location(
    entry: Mapping[str, Any], line: int | None, where: str, findings: list[Finding]
) -> PathPattern | None:
    if LOCATION not in entry:
        findings.append(MISSING_LOCATION(line=line, location=where or None))
        return None
    value = entry[LOCATION]
    at = f"{where}/{LOCATION}"
    if not isinstance(value, str) or not value.strip():
        findings.append(
            INVALID_LOCATION(
                f'"location" is {json.dumps(value)}, not a path pattern; the rule is ignored',
                line=line,
                location=at,
            )
        )
        return None
    pattern_text = value.strip()
    if pattern_text.startswith("/"):
        return compile_pattern(pattern_text)
    if pattern_text.startswith("*"):
        findings.append(LOCATION_WILDCARD_START(line=line, location=at))
        # "*x" and "/*x" match the same paths, since every path starts with "/".
        return replace(compile_pattern("/" + pattern_text), raw=pattern_text)
    message = f'"location" {json.dumps(value)} does not start with "/"; the rule is ignored'
    try:
        parts = urlsplit(pattern_text)
    except ValueError:
        parts = None
    if parts is not None and parts.scheme and parts.netloc:
        path = parts.path or "/"
        message = (
            f'"location" {json.dumps(value)} is a full URL; write the path only '
            f'("{path}"). The rule is ignored'
        )
    findings.append(INVALID_LOCATION(message, line=line, location=at))
    return None


def _file_reservation(
    entry: Mapping[str, Any], line: int | None, where: str, findings: list[Finding]
) -> int | None:
    if RESERVATION not in entry:
        findings.append(MISSING_RESERVATION(line=line, location=where or None))
        return None
    value = entry[RESERVATION]
    # bool is an int subclass in Python: true must not read as 1.
    if isinstance(value, bool) or not isinstance(value, int | float):
        findings.append(
            INVALID_RESERVATION(
                f'"tdm-reservation" is {json.dumps(value)}; only the numbers 0 and 1 are valid, '
                "so it is unset",
                line=line,
                location=f"{where}/{RESERVATION}",
            )
        )
        return None
    if value in (0, 1):  # 1.0 is the same JSON number as 1 (RFC 8259 §6)
        return int(value)
    findings.append(
        INVALID_RESERVATION(
            f'"tdm-reservation" is {json.dumps(value)}; only 0 and 1 are valid, so it is unset',
            line=line,
            location=f"{where}/{RESERVATION}",
        )
    )
    return None


def _file_policy(
    entry: Mapping[str, Any], line: int | None, where: str, findings: list[Finding]
) -> str | None:
    if POLICY not in entry:
        return None
    value = entry[POLICY]
    if isinstance(value, str) and _is_policy_url(value.strip()):
        return value.strip()
    findings.append(
        INVALID_POLICY(
            f'"tdm-policy" {json.dumps(value)} is not an absolute http(s) URL; it is ignored',
            line=line,
            location=f"{where}/{POLICY}",
        )
    )
    return None


def _is_policy_url(value: str) -> bool:
    if not value or any(char.isspace() for char in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _literal_prefix(pattern: str) -> str:
    """The part of a normalized pattern before its first '*' or '$'."""
    cut = len(pattern)
    for special in ("*", "$"):
        found = pattern.find(special)
        if found != -1:
            cut = min(cut, found)
    return pattern[:cut]


def _plain_core(normalized: str) -> str | None:
    """The prefix a pattern matches when it is a plain prefix ("/blog/", "/", "/*"), else None."""
    core = normalized.rstrip("*")
    if "*" in core or "$" in core:
        return None
    return core


def _shadowing(rules: Sequence[TdmRepRule]) -> list[Finding]:
    """Rules whose every match is caught by an earlier rule (the common, provable cases).

    Detected: a pattern identical to an earlier one; an earlier plain prefix (optionally ending
    in '*'), such as "/" or "/*" or "/blog/", that begins the later pattern's literal prefix
    (its text before the first '*' or '$'). Earlier patterns with inner wildcards or '$' are
    not analysed, so there are no false positives. Linear in the number of rules.
    """
    findings: list[Finding] = []
    first_with_pattern: dict[str, TdmRepRule] = {}
    first_with_core: dict[str, TdmRepRule] = {}
    core_lengths: list[int] = []  # sorted
    for later in rules:
        normalized = later.location.normalized
        earlier = first_with_pattern.get(normalized)
        if earlier is None and first_with_core:
            literal = _literal_prefix(normalized)
            for length in core_lengths:
                if length > len(literal):
                    break
                earlier = first_with_core.get(literal[:length])
                if earlier is not None:
                    break
        if earlier is not None:
            same = earlier.reservation == later.reservation and earlier.policy == later.policy
            consequence = (
                "it is redundant (same values)" if same else "its values never apply to any URL"
            )
            findings.append(
                SHADOWED_RULE(
                    f'rule {later.index} ("{later.location.raw}") is hidden by rule '
                    f'{earlier.index} ("{earlier.location.raw}") listed before it, because the '
                    f"first matching rule wins; {consequence}",
                    line=later.line,
                    location=later.pointer,
                )
            )
        first_with_pattern.setdefault(normalized, later)
        core = _plain_core(normalized)
        if core is not None and core not in first_with_core:
            first_with_core[core] = later
            if len(core) not in core_lengths:
                insort(core_lengths, len(core))
    return findings


# --- headers and meta ---------------------------------------------------------------------------


def _header_pairs(headers: Any) -> Iterable[tuple[str, str]]:
    if headers is None:
        return ()
    multi_items = getattr(headers, "multi_items", None)  # httpx.Headers keeps repeats here
    if callable(multi_items):
        return multi_items()
    if isinstance(headers, Mapping):
        return headers.items()
    return headers


def tdm_from_headers(headers: Any) -> TdmRepValues:
    """The ``tdm-reservation`` / ``tdm-policy`` response headers (names case-insensitive).

    ``headers`` is a sequence of (name, value) pairs in received order (a mapping or an
    ``httpx.Headers`` also works).
    """
    reservations: list[tuple[str, str]] = []
    policies: list[tuple[str, str]] = []
    findings: list[Finding] = []
    for name, value in _header_pairs(headers):
        folded = name.strip().lower()
        if folded == RESERVATION:
            reservations.extend((part, f"header {name}") for part in _split_field(value))
        elif folded == POLICY:
            policies.extend((part, f"header {name}") for part in _split_field(value))
        elif folded in _OBSOLETE_HEADERS:
            findings.append(
                OBSOLETE_HEADER(
                    f"header {name}: {value.strip()} uses an obsolete name; it is ignored "
                    "(use tdm-reservation)",
                    location=f"header {name}",
                )
            )
        elif _looks_like_tdm_name(folded):
            findings.append(
                NONSTANDARD_NAME(
                    f"header {name} is not a TDMRep header; it is ignored "
                    f"(did you mean {_suggest_name(folded)}?)",
                    location=f"header {name}",
                )
            )
    return _layer_values("header", reservations, policies, findings)


def tdm_from_meta(meta: Mapping[str, Sequence[str]]) -> TdmRepValues:
    """The ``<meta name="tdm-reservation">`` / ``tdm-policy`` values of an HTML document.

    ``meta`` maps each meta name as written to its content values in document order.
    """
    reservations: list[tuple[str, str]] = []
    policies: list[tuple[str, str]] = []
    findings: list[Finding] = []
    for name, contents in meta.items():
        folded = name.strip().lower()
        where = f'meta name="{name}"'
        if folded == RESERVATION:
            reservations.extend((content, where) for content in contents)
        elif folded == POLICY:
            policies.extend((content, where) for content in contents)
        elif _looks_like_tdm_name(folded):
            findings.append(
                NONSTANDARD_NAME(
                    f'<meta name="{name}"> is not a TDMRep meta name for HTML; it is ignored '
                    f"(did you mean {_suggest_name(folded)}?)",
                    location=where,
                )
            )
    return _layer_values("meta", reservations, policies, findings)


def _split_field(value: str) -> list[str]:
    # A proxy may combine repeated fields into one comma-separated line (RFC 9110 §5.3).
    parts = [part.strip() for part in value.split(",")]
    return parts if any(parts) else [value.strip()]


def _looks_like_tdm_name(folded: str) -> bool:
    """X-TDM-Policy, tdm_reservation, tdm:reservation...: near-misses of the two names."""
    return folded not in (RESERVATION, POLICY) and folded.removeprefix("x-").startswith("tdm")


def _suggest_name(folded: str) -> str:
    return POLICY if "pol" in folded else RESERVATION


def _layer_values(
    layer: TdmLayer,
    reservations: Sequence[tuple[str, str]],
    policies: Sequence[tuple[str, str]],
    findings: list[Finding],
) -> TdmRepValues:
    valid_reservations: list[tuple[int, str]] = []
    for raw, where in reservations:
        if raw.strip() in ("0", "1"):
            valid_reservations.append((int(raw.strip()), where))
        else:
            findings.append(
                INVALID_RESERVATION(
                    f"{where}: tdm-reservation {raw!r} is neither 0 nor 1, so it is unset",
                    location=where,
                )
            )
    valid_policies: list[tuple[str, str]] = []
    for raw, where in policies:
        if _is_policy_url(raw.strip()):
            valid_policies.append((raw.strip(), where))
        else:
            findings.append(
                INVALID_POLICY(
                    f"{where}: tdm-policy {raw!r} is not an absolute http(s) URL; it is ignored",
                    location=where,
                )
            )
    reservation = _single_value(RESERVATION, valid_reservations, findings)
    policy = _single_value(POLICY, valid_policies, findings)
    if reservation == 0 and policy is not None:
        findings.append(POLICY_WITH_RESERVATION_0(location=valid_policies[0][1]))
    return TdmRepValues(
        layer=layer,
        reservation=reservation,
        policy=policy,
        raw_reservation=tuple(raw for raw, _ in reservations),
        raw_policy=tuple(raw for raw, _ in policies),
        reservation_location=valid_reservations[0][1] if reservation is not None else None,
        policy_location=valid_policies[0][1] if policy is not None else None,
        findings=tuple(findings),
    )


def _single_value(
    prop: str, values: Sequence[tuple[_T, str]], findings: list[Finding]
) -> _T | None:
    if not values:
        return None
    distinct = list(dict.fromkeys(value for value, _ in values))
    where = values[0][1]
    if len(distinct) > 1:
        shown = listing(distinct)
        findings.append(
            CONFLICTING_VALUES(
                f"{prop} is given {len(values)} times with different values ({shown}); "
                "treated as unset",
                location=where,
            )
        )
        return None
    if len(values) > 1:
        findings.append(
            DUPLICATE_VALUE(f"{prop} is given {len(values)} times (same value)", location=where)
        )
    return distinct[0]


# --- layer order --------------------------------------------------------------------------------


def effective_tdm(
    file_rule: TdmRepRule | None,
    header: TdmRepValues | None = None,
    meta: TdmRepValues | None = None,
) -> TdmRepEffective:
    """Merge the layers in TDMRep §4 order: file, then headers, then meta.

    Each later layer overrides an earlier value per property; a layer that leaves a property
    unset (absent or invalid) never resets it.
    """
    reservation: TdmLayerValue | None = None
    policy: tuple[str, TdmLayer, str, str] | None = None
    # The reservation the policy's own layer gives (that layer reports its own 0 + policy).
    policy_layer_reservation: int | None = None
    findings: list[Finding] = []
    reservations: list[TdmLayerValue] = []

    if file_rule is not None:
        where = f"tdmrep.json rule {file_rule.index}"
        if file_rule.reservation is not None:
            reservation = TdmLayerValue(file_rule.reservation, "file", file_rule.raw, where)
            reservations.append(reservation)
        if file_rule.policy is not None:
            policy = (file_rule.policy, "file", file_rule.raw, where)
            policy_layer_reservation = file_rule.reservation

    for values in (header, meta):
        if values is None:
            continue
        if values.reservation is not None:
            raw = f"tdm-reservation: {values.reservation}"
            where = values.reservation_location or _layer_location(values.layer, RESERVATION)
            if reservation is not None and reservation[0] != values.reservation:
                findings.append(
                    LAYER_OVERRIDE(
                        f"tdm-reservation {values.reservation} from the {values.layer} "
                        f"overrides {reservation[0]} from the {reservation[1]}",
                        location=where,
                    )
                )
            reservation = TdmLayerValue(values.reservation, values.layer, raw, where)
            reservations.append(reservation)
        if values.policy is not None:
            raw = f"tdm-policy: {values.policy}"
            where = values.policy_location or _layer_location(values.layer, POLICY)
            if policy is not None and policy[0] != values.policy:
                findings.append(
                    LAYER_OVERRIDE(
                        f"tdm-policy {values.policy} from the {values.layer} overrides "
                        f"{policy[0]} from the {policy[1]}",
                        location=where,
                    )
                )
            policy = (values.policy, values.layer, raw, where)
            policy_layer_reservation = values.reservation

    if policy is not None:
        # Only when the combination arises across layers: each layer reports its own.
        if reservation is None:
            findings.append(POLICY_WITHOUT_RESERVATION(location=policy[3]))
        elif reservation[0] == 0 and reservation[1] != policy[1] and policy_layer_reservation != 0:
            findings.append(
                POLICY_WITH_RESERVATION_0(
                    f"tdm-policy from the {policy[1]} meets tdm-reservation 0 from the "
                    f"{reservation[1]}; agents do not process the policy",
                    location=policy[3],
                )
            )

    return TdmRepEffective(
        reservation=reservation[0] if reservation else None,
        reservation_layer=reservation[1] if reservation else None,
        reservation_raw=reservation[2] if reservation else None,
        reservation_location=reservation[3] if reservation else None,
        policy=policy[0] if policy else None,
        policy_layer=policy[1] if policy else None,
        policy_raw=policy[2] if policy else None,
        policy_location=policy[3] if policy else None,
        findings=tuple(findings),
        reservations=tuple(reservations),
    )


def _layer_location(layer: TdmLayer, prop: str) -> str:
    return f"header {prop}" if layer == "header" else f'meta name="{prop}"'
