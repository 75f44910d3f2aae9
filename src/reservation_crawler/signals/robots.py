"""RFC 9309 robots.txt: parse once, ask many times.

``parse`` tokenizes the file into groups (cheap); everything else is computed on first use and
kept: the compiled, priority-sorted rules of each agent, the extension records, the findings.
Matching is RFC 9309 §2.2.2 longest match (allow wins ties) through :mod:`.patterns`.

Our readings of the places where RFC 9309 and Google differ are in ``docs/robots.md``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Final

from reservation_crawler.errors import ConfigError
from reservation_crawler.model.findings import Finding, Severity, listing, spec_maker
from reservation_crawler.signals.aipref import (
    ContentUsage,
    parse_content_usage,
    split_robots_content_usage,
)
from reservation_crawler.signals.contentsignal import ContentSignal, parse_content_signal
from reservation_crawler.signals.patterns import (
    MATCH_WORK_LIMIT,
    PROFILES,
    WORK_LIMIT_EXCEEDED,
    PathPattern,
    PatternSet,
    _compile_cached,
    _normalize_plain,
    _plain_http_url,
    normalize_url_path,
    normalize_url_path_rfc9309,
    path_params_query,
)

__all__ = [
    "MAX_BYTES",
    "LicenseLine",
    "RobotsExplanation",
    "RobotsGroup",
    "RobotsRule",
    "RobotsTxt",
    "is_product_token",
    "parse",
]

# RFC 9309 §2.5: crawlers MUST parse at least 500 KiB.
MAX_BYTES: Final = 512_000
# google/robotstxt keeps 2083 * 8 - 1 bytes of a line (kMaxLineLen minus the final NUL).
GOOGLE_MAX_LINE_BYTES: Final = 2083 * 8 - 1
_LOCATION: Final = "robots.txt"
_SOURCE: Final = "robots.txt"
_WHITESPACE: Final = " \t\n\v\f\r"

# Line kinds.
_USER_AGENT, _ALLOW, _DISALLOW, _SITEMAP, _CRAWL_DELAY = 1, 2, 3, 4, 5
_CONTENT_SIGNAL, _CONTENT_USAGE, _LICENSE, _UNKNOWN = 6, 7, 8, 9
_KEYS: Final = {
    "user-agent": _USER_AGENT,
    "allow": _ALLOW,
    "disallow": _DISALLOW,
    "sitemap": _SITEMAP,
    "crawl-delay": _CRAWL_DELAY,
    "content-signal": _CONTENT_SIGNAL,
    "content-usage": _CONTENT_USAGE,
    "license": _LICENSE,
}
# The typos google/robotstxt accepts (robots.cc KeyIs*; kAllowFrequentTypos). None for allow.
_TYPOS: Final = {
    "useragent": _USER_AGENT,
    "user agent": _USER_AGENT,
    "dissallow": _DISALLOW,
    "dissalow": _DISALLOW,
    "disalow": _DISALLOW,
    "diasllow": _DISALLOW,
    "disallaw": _DISALLOW,
    "site-map": _SITEMAP,
}
_GOOGLE_PREFIXES: Final = (
    (("user-agent", "useragent", "user agent"), _USER_AGENT),
    (("allow",), _ALLOW),
    (("disallow", "dissallow", "dissalow", "disalow", "diasllow", "disallaw"), _DISALLOW),
    (("sitemap", "site-map"), _SITEMAP),
)
_CANONICAL: Final = {
    _USER_AGENT: "user-agent",
    _ALLOW: "allow",
    _DISALLOW: "disallow",
    _SITEMAP: "sitemap",
}
_PRODUCT_TOKEN = re.compile(r"[A-Za-z_-]+", re.ASCII)
_GOOGLE_AGENT_PREFIX = re.compile(r"[A-Za-z_-]*")
_HTML_MARKERS = ("<!doctype html", "<html", "<head", "<body", "<title", "<script")


_spec = spec_maker(_SOURCE, "robots")


RULES_BEFORE_USER_AGENT = _spec(
    "rules-before-user-agent",
    Severity.WARNING,
    "Allow/Disallow rule before any User-agent line is ignored",
    "RFC 9309 rules belong to the group opened by the User-agent lines above them. A rule "
    "with no User-agent line before it applies to no crawler; Google ignores it too.",
    "Put 'User-agent: *' (or the crawler's token) above the rule.",
    "Disallow: /private/\nUser-agent: *\nAllow: /",
)
KEY_TYPO = _spec(
    "key-typo",
    Severity.WARNING,
    "Misspelt key accepted",
    "The key is a misspelling that Google accepts (such as 'disalow' or 'user agent'). We "
    "read it as the intended key because that is what the author meant, but strict RFC 9309 "
    "parsers ignore the line.",
    "Spell the key as in RFC 9309: User-agent, Allow, Disallow, Sitemap.",
    "User-agent: *\nDisalow: /private/",
)
MISSING_COLON = _spec(
    "missing-colon",
    Severity.WARNING,
    "Line without ':' read as key and value",
    "RFC 9309 requires a ':' between key and value. Like Google, we accept a line of exactly "
    "two words as key and value; strict parsers ignore it.",
    "Write 'Disallow: /path' with a colon.",
    "User-agent *\nDisallow /private/",
)
INVALID_PRODUCT_TOKEN = _spec(
    "invalid-product-token",
    Severity.WARNING,
    "User-agent value is not a valid RFC 9309 product token",
    "RFC 9309 product tokens are letters, '-' and '_' only (or '*'). Values with digits, "
    "spaces, dots or '/version' are read differently by different parsers: Google cuts the "
    "value at the first other character ('AI2Bot' becomes 'AI', 'Foo Bar' becomes 'Foo'). "
    "We match the full value, or the part before a '/'.",
    "Use the crawler's product token exactly, without version or spaces (GPTBot, not GPTBot/1.1).",
    "User-agent: GPTBot/1.1\nDisallow: /",
)
PATTERN_NOT_ROOTED = _spec(
    "pattern-not-rooted",
    Severity.WARNING,
    "Rule path does not start with '/' or '*'",
    "A rule path is matched from the first character of the URL path, which is always '/'. "
    "A pattern such as 'private/' or a full URL never matches anything.",
    "Start the pattern with '/' (or '*' for a suffix such as '*.pdf').",
    "User-agent: *\nDisallow: private/",
)
HTML_BODY = _spec(
    "html-body",
    Severity.ERROR,
    "The robots.txt body is an HTML page",
    "The server answered /robots.txt with HTML, usually an error or landing page sent with "
    "status 200. Its lines are not rules, so crawlers see no (or garbled) restrictions.",
    "Serve a plain-text robots.txt, or status 404 when there is none.",
    "<!DOCTYPE html><html><head><title>Not found</title>...",
)
TOO_LARGE = _spec(
    "too-large",
    Severity.WARNING,
    "File larger than 500 KiB; the rest is ignored",
    "RFC 9309 lets crawlers stop at 500 KiB (512,000 bytes), and Google does. Rules after "
    "that point are ignored.",
    "Shorten the file: merge rules with wildcards, drop duplicates.",
    "(a robots.txt of 600,000 bytes)",
)
INVALID_UTF8 = _spec(
    "invalid-utf8",
    Severity.WARNING,
    "Bytes that are not UTF-8 were replaced",
    "RFC 9309 files are UTF-8. Bytes in another encoding (often Latin-1) were replaced by "
    "U+FFFD, so patterns containing them match nothing.",
    "Save the file as UTF-8, or percent-encode non-ASCII characters in paths.",
    "Disallow: /caf\\xe9/ (Latin-1 byte)",
)
GROUP_DISCARDS_GLOBAL_RULES = _spec(
    "group-discards-global-rules",
    Severity.WARNING,
    "A crawler's own group drops the '*' restrictions",
    "A crawler named in a group follows only that group (RFC 9309 §2.2.1): the rules of "
    "'User-agent: *' no longer apply to it. A group with no Disallow rule (empty, only "
    "Allow, or only Crawl-delay) therefore lets that crawler fetch what '*' forbids.",
    "Repeat the '*' Disallow rules in the crawler's group, or remove the group.",
    "User-agent: GPTBot\nAllow: /\n\nUser-agent: *\nDisallow: /private/",
)
EXTENSION_OUTSIDE_GROUP = _spec(
    "extension-outside-group",
    Severity.WARNING,
    "Content-Signal, Content-Usage or Crawl-delay before any User-agent line",
    "These records belong to a user-agent group. Before the first User-agent line they apply "
    "to no crawler and are ignored.",
    "Move the line below 'User-agent: *' (or the crawler's group).",
    "Content-Signal: ai-train=no\nUser-agent: *\nAllow: /",
)
UNKNOWN_KEY = _spec(
    "unknown-key",
    Severity.INFO,
    "Key not defined by RFC 9309 or a known extension is ignored",
    "Keys such as Noindex, Host, Request-rate or Clean-param are not part of RFC 9309; "
    "crawlers that follow the RFC ignore them.",
    "Remove the line, or use the mechanism meant for it (noindex is a meta tag or header).",
    "User-agent: *\nNoindex: /private/",
)
INVALID_LINE = _spec(
    "invalid-line",
    Severity.INFO,
    "Line is neither a rule, a comment nor blank",
    "The line has no 'key: value' form and is ignored.",
    "Remove the line or make it a comment with '#'.",
    "User-agent: *\nDisallow /a /b",
)
GROUPS_MERGED = _spec(
    "groups-merged",
    Severity.INFO,
    "The same crawler is named in several groups; their rules are merged",
    "RFC 9309 §2.2.1 merges all groups that name the same product token. Often this comes "
    "from a block prepended by a CDN (Cloudflare's managed robots.txt) and may not be what "
    "the author expects.",
    "Keep one group per crawler.",
    "User-agent: GPTBot\nDisallow: /\n\nUser-agent: GPTBot\nAllow: /blog/",
)
INVALID_CRAWL_DELAY = _spec(
    "invalid-crawl-delay",
    Severity.WARNING,
    "Crawl-delay value is not a non-negative number",
    "Crawl-delay (not in RFC 9309) is read as seconds between requests; this value is not a "
    "number and is ignored.",
    "Write a number of seconds, e.g. 'Crawl-delay: 10'.",
    "User-agent: *\nCrawl-delay: ten",
)
USER_AGENTS_JOINED = _spec(
    "user-agents-joined",
    Severity.WARNING,
    "User-agent lines separated only by Crawl-delay/Content-Signal/Content-Usage share a group",
    "A group runs from its User-agent lines to its rules; Crawl-delay, Content-Signal and "
    "Content-Usage lines do not end the list of User-agent lines (RFC 9309 §2.2.4, and Google "
    "reads it so). 'User-agent: A / Crawl-delay: 5 / User-agent: B / Disallow: /x' is one group "
    "for A and B: both get 'Disallow: /x' and the Crawl-delay.",
    "If the crawlers were meant to have separate groups, give each group its own Allow or "
    "Disallow rule before the next User-agent line.",
    "User-agent: Googlebot\nCrawl-delay: 10\n\nUser-agent: *\nDisallow: /private/",
)
LICENSE_NOT_ABSOLUTE = _spec(
    "license-not-absolute",
    Severity.WARNING,
    "RSL License: value is not an absolute URL",
    "The RSL 'License:' line must give a fully qualified URL of the RSL document.",
    "Write the full URL, e.g. 'License: https://example.com/license.xml'.",
    "License: /license.xml",
)
LINE_TOO_LONG = _spec(
    "line-too-long",
    Severity.WARNING,
    "Line longer than Google's 16,664-byte limit",
    "google/robotstxt cuts every line after 16,663 bytes, so Google reads a shorter pattern "
    "than the one written.",
    "Shorten the line.",
    "Disallow: /aaaa... (20,000 characters)",
)


@dataclass(frozen=True, slots=True)
class RobotsRule:
    """One Allow/Disallow line, compiled."""

    allow: bool
    pattern: PathPattern
    line: int
    raw: str


@dataclass(frozen=True, slots=True)
class RobotsExplanation:
    """What decided ``allowed(url, agent)``."""

    allowed: bool
    agent_group: str | None
    group_lines: tuple[int, ...]
    rule: RobotsRule | None
    reason: str


@dataclass(frozen=True, slots=True)
class LicenseLine:
    """An RSL ``License:`` line (global, not tied to a group)."""

    url: str
    line: int


@dataclass(frozen=True, slots=True)
class RobotsGroup:
    """One group as written: its user-agent values with line numbers, and its rules."""

    agents: tuple[tuple[str, int], ...]
    rules: tuple[RobotsRule, ...]
    line: int


# One compiled rule, shaped for the matching loop:
# (rank, literal prefix, plain prefix rule?, needle, pattern, allow, value, line).
# rank = 2 * priority + allow orders rules best first: longest pattern, then Allow before
# Disallow on equal length (RFC 9309 §2.2.2). "needle" is a literal the path must contain for
# a wildcard rule to match; "needle in path" runs in C and rejects most of them cheaply.
# A plain rule only needs its prefix, so its PathPattern (None here) is compiled from "value"
# only when explain() reports it: most rules are site-specific, compiled once, never shown.
_Entry = tuple[int, str, bool, str, PathPattern | None, bool, str, int]
_RANK = itemgetter(0)
# Above this many rules, rules are indexed by the character after the leading "/".
_INDEX_THRESHOLD = 16
# Above this many rules, or this many wildcard pieces in all, a group's rules go into a
# PatternSet (an index whose cost per URL does not grow with the rules, and a bounded one);
# below, the scan in _Rules.best is cheaper and its worst case already small.
_PATTERN_SET_RULES = 256
_PATTERN_SET_PIECES = 512
# The answer when matching would exceed MATCH_WORK_LIMIT: disallowed (fail closed). Line 0
# marks it (no file line); its text is the evidence.
_LIMIT_TEXT = (
    f"more than {MATCH_WORK_LIMIT:,} wildcard pattern pieces would have to be examined to "
    "decide this URL; disallowed (fail closed)"
)
_OVER_LIMIT: _Entry = (-1, "", False, "", None, False, "", 0)


# The line-independent part of an entry, shared by every file with the same rule: one cache
# per profile and Allow/Disallow, in two generations so that memory stays bounded while the
# rules that recur across sites ("/wp-admin/") stay cached. _NEVER marks a pattern that cannot
# match a path (it does not start with "/" or "*"; reported as a finding).
_NEVER: Final = ()
_HEADS_LIMIT: Final = 32_768
_HeadCache = tuple[dict[str, Any], dict[str, Any]]  # Disallow heads, Allow heads
_HEADS: Final[dict[str, _HeadCache]] = {profile: ({}, {}) for profile in PROFILES}
_OLD_HEADS: Final[dict[str, _HeadCache]] = {profile: ({}, {}) for profile in PROFILES}


def _new_head(value: str, allow: bool, profile: str) -> tuple:
    """A head not in the young generation: promoted from the old one, or computed."""
    old = _OLD_HEADS[profile][allow]
    head = old.get(value)
    if head is None:
        if value[0] != "/" and value[0] != "*":
            head = _NEVER
        elif "*" in value or "$" in value:
            head = _head(_compile_cached(value, profile), allow, value)
        else:  # a plain prefix: normalized like compile_pattern, without building the object
            prefix = _normalize_plain(value, profile)
            priority = len(prefix) if prefix.isascii() else len(prefix.encode("utf-8"))
            head = (2 * priority + allow, prefix, True, "", None, allow, value)
    young = _HEADS[profile][allow]
    if len(young) >= _HEADS_LIMIT:
        old.clear()
        old.update(young)
        young.clear()
    young[value] = head
    return head


def _head(pattern: PathPattern, allow: bool, value: str) -> tuple:
    # A pattern without "*" (or ending in its only "*") and without "$" is a plain prefix.
    pieces = pattern.pieces
    plain = not pattern.anchored and not pieces
    needle = max(pieces, key=len) if pieces else ""
    return (2 * pattern.priority + allow, pattern.prefix, plain, needle, pattern, allow, value)


class _Group:
    """A group as tokenized, with its rules compiled (in file order); sorted on first use."""

    __slots__ = ("agents", "compiled", "entries", "extensions", "rules")

    def __init__(self) -> None:
        self.agents: list[tuple[str, int]] = []
        # (allow, value, line) as written
        self.rules: list[tuple[bool, str, int]] = []
        # (kind, value, line)
        self.extensions: list[tuple[int, str, int]] = []
        # entries in file order; patterns that cannot match a path are left out
        self.compiled: list[_Entry] = []
        self.entries: list[_Entry] | None = None

    def add_rule(self, allow: bool, value: str, line: int, profile: str) -> None:
        self.rules.append((allow, value, line))
        if not value:
            return  # an empty value matches nothing (RFC 9309; Google priority 0)
        head = _HEADS[profile][allow].get(value) or _new_head(value, allow, profile)
        if head:
            self.compiled.append((*head, line))
        if allow and profile == "google":
            # Google: "Allow: /d/index.htm(l)" also allows "/d/" (robots.cc HandleAllow).
            slash = value.rfind("/")
            if slash >= 0 and value.startswith("/index.htm", slash):
                directory_value = value[: slash + 1] + "$"
                directory = _compile_cached(directory_value, profile)
                self.compiled.append((*_head(directory, True, directory_value), line))

    def compile(self) -> list[_Entry]:
        """The group's rules, best first."""
        entries = self.entries
        if entries is None:
            entries = sorted(self.compiled, key=_RANK, reverse=True)  # stable among equals
            self.entries = entries
        return entries


class _Rules:
    """The rules of one set of groups, arranged so that ``best(path)`` tries few of them.

    - Plain rules (a literal prefix) are tested all at once by ``path.startswith(tuple)`` in C
      and scanned, best first, only when one matches; a large set is indexed instead by the
      character after the leading "/" (a long tuple makes ``startswith`` slow).
    - Wildcard and "$" rules are grouped by their longest literal piece after a "*" (the
      "needle"), so one ``in`` test rules out a whole group.
    - The scan stops as soon as nothing left can outrank the match in hand.
    """

    __slots__ = (
        "best",
        "entries",
        "plain",
        "plain_index",
        "plain_prefixes",
        "plain_short",
        "special",
    )

    def __init__(self, entries: list[_Entry]) -> None:
        self.entries = entries
        self.best: Callable[[str], _Entry | None] = self._scan
        pieces = sum(
            len(entry[4].pieces or ()) for entry in entries if not entry[2] and entry[4] is not None
        )
        if len(entries) > _PATTERN_SET_RULES or pieces > _PATTERN_SET_PIECES:
            self.best = _indexed(entries)
        plain: list[_Entry] = []
        grouped: dict[str, list[_Entry]] = {}
        for entry in entries:
            if entry[2]:
                plain.append(entry)
                continue
            members = grouped.get(entry[3])
            if members is None:
                grouped[entry[3]] = [entry]
            else:
                members.append(entry)
        self.plain = plain
        self.plain_index: dict[str, list[_Entry]] | None = None
        self.plain_short: list[_Entry] = []
        if len(plain) <= _INDEX_THRESHOLD:
            self.plain_prefixes = tuple(entry[1] for entry in plain)
        else:
            self.plain_prefixes = ()
            index: dict[str, list[_Entry]] = {}
            for entry in plain:
                prefix = entry[1]
                if len(prefix) <= 1:
                    self.plain_short.append(entry)
                else:
                    bucket = index.get(prefix[1])
                    if bucket is None:
                        index[prefix[1]] = [entry]
                    else:
                        bucket.append(entry)
            self.plain_index = index
        # (best rank in the group, needle, members best first), best group first
        special = [(members[0][0], needle, members) for needle, members in grouped.items()]
        special.sort(key=_RANK, reverse=True)
        self.special = special

    def _scan(self, path: str) -> _Entry | None:
        """The matching rule of highest rank (RFC 9309 §2.2.2), or None."""
        best: _Entry | None = None
        best_rank = -1
        index = self.plain_index
        if index is None:
            if path.startswith(self.plain_prefixes):
                for entry in self.plain:
                    if path.startswith(entry[1]):
                        best, best_rank = entry, entry[0]
                        break
        else:
            for entry in index.get(path[1:2], ()):
                if path.startswith(entry[1]):
                    best, best_rank = entry, entry[0]
                    break
            for entry in self.plain_short:
                if entry[0] <= best_rank:
                    break
                if path.startswith(entry[1]):
                    best, best_rank = entry, entry[0]
                    break
        for group_rank, needle, members in self.special:
            if group_rank <= best_rank:
                break  # groups are sorted: nothing further can outrank the match in hand
            if needle in path:
                for entry in members:
                    if entry[0] <= best_rank:
                        break
                    pattern = entry[4]
                    if pattern is not None and pattern.matches(path):
                        best, best_rank = entry, entry[0]
                        break
        return best


def _indexed(entries: list[_Entry]) -> Callable[[str], _Entry | None]:
    """``_Rules.best`` through a PatternSet of the entries (best first); _OVER_LIMIT past its
    work limit."""
    patterns = [entry[4] if entry[4] is not None else _plain_pattern(entry) for entry in entries]
    first = PatternSet(patterns).first

    def best(path: str) -> _Entry | None:
        index = first(path)
        if index is None:
            return None
        if index is WORK_LIMIT_EXCEEDED:
            return _OVER_LIMIT
        return entries[index]  # type: ignore[index]

    return best


def _plain_pattern(entry: _Entry) -> PathPattern:
    """The PathPattern of a plain entry (a literal prefix), without the profile's compile."""
    return PathPattern(entry[6], entry[1], entry[0] // 2, entry[1], None, False)


class _Selection:
    """What one agent follows: the label and groups for ``explain``, and the rules to match."""

    __slots__ = (
        "agent_group",
        "best",
        "described",
        "empty",
        "explanations",
        "groups",
        "parsed",
        "rules",
        "token",
    )

    def __init__(
        self, agent_group: str | None, token: str, groups: tuple[_Group, ...], rules: _Rules
    ) -> None:
        self.agent_group = agent_group
        self.token = token
        self.groups = groups
        self.rules = rules
        self.empty = not rules.entries
        self.best = rules.best
        # Explanations depend only on the winning rule, so each is built once: id(entry) -> it
        # (0: no rule matched, 1: /robots.txt). Entries live as long as this selection.
        self.explanations: dict[int, RobotsExplanation] = {}
        self.described: tuple[tuple[int, ...], str] | None = None  # (group lines, wording)
        # the groups' Content-Signal lines and Content-Usage rules, parsed on first use, by kind
        self.parsed: dict[int, tuple[Any, ...]] = {}  # ContentSignal or ContentUsage, by kind


_NO_SELECTION = _Selection(None, "", (), _Rules([]))
_SELECTIONS_KEPT = 512  # queried agent spellings (and their tokens) remembered per file


def parse(body: bytes | str, *, profile: str = "rfc9309") -> RobotsTxt:
    """Parse a robots.txt body (bytes are decoded as UTF-8). Never raises on content."""
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}; expected one of {PROFILES}")
    findings: list[Finding] = []
    text, truncated = _decode(body, profile, findings)
    return RobotsTxt(text, profile, findings, truncated)


def _decode(body: bytes | str, profile: str, findings: list[Finding]) -> tuple[str, bool]:
    """Text of the first MAX_BYTES bytes, BOM skipped, invalid UTF-8 replaced and reported."""
    truncated = False
    if isinstance(body, str):
        if body.startswith("\ufeff"):
            body = body[1:]
        if len(body) <= MAX_BYTES // 4 or (body.isascii() and len(body) <= MAX_BYTES):
            return body, False
        data = body.encode("utf-8", "surrogatepass")
        if len(data) <= MAX_BYTES:
            return body, False
        body = data
    data = bytes(body)
    # Google skips a BOM, or any leading part of one (robots.cc Parse()).
    bom = 0
    while bom < 3 and bom < len(data) and data[bom] == b"\xef\xbb\xbf"[bom]:
        bom += 1
    if bom:
        data = data[bom:]
        if bom < 3:
            findings.append(INVALID_UTF8("truncated UTF-8 byte-order mark skipped", line=1))
    if len(data) > MAX_BYTES:
        size = len(data) + bom
        data = data[:MAX_BYTES]
        # Drop the partial last line: a cut pattern would match more (or less) than written.
        cut = max(data.rfind(b"\n"), data.rfind(b"\r"))
        if cut >= 0:
            data = data[: cut + 1]
        truncated = True
        findings.append(
            TOO_LARGE(
                f"file is {size:,} bytes; only the first {len(data) + bom:,} bytes "
                f"(whole lines within 512,000) are read",
                line=data.count(b"\n") + 1 if b"\n" in data else None,
            )
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        text = data.decode("utf-8", "replace")
        bad = text.count("\ufffd") - data.decode("utf-8", "ignore").count("\ufffd")
        first_line = data[: error.start].count(b"\n") + 1
        findings.append(
            INVALID_UTF8(
                f"{bad} invalid UTF-8 sequence(s) replaced by U+FFFD, the first on line "
                f"{first_line}",
                line=first_line,
            )
        )
    return text, truncated


# A "key: value" line (group 1, 2) or Google's colon-less "key value" (group 3, 4). Every
# quantifier is possessive, so the expression never backtracks: linear on any input.
_LINE = re.compile(
    r"[ \t\v\f]*+(?:([^:#]*+):([^#]*+)|([^ \t:#]++)[ \t]++([^ \t:#]++)[ \t\v\f]*+(?:#.*+)?$)",
    re.DOTALL,
)
_line_match = _LINE.match
_LONG_LINE = re.compile(r"[^\n]{" + str(GOOGLE_MAX_LINE_BYTES // 4 + 1) + ",}")


def _google_truncate(line: str) -> str:
    """google/robotstxt keeps the first 16,663 bytes of a line."""
    if len(line) <= GOOGLE_MAX_LINE_BYTES // 4:
        return line
    encoded = line.encode("utf-8", "surrogatepass")
    if len(encoded) <= GOOGLE_MAX_LINE_BYTES:
        return line
    return encoded[:GOOGLE_MAX_LINE_BYTES].decode("utf-8", "ignore")


def _key_kind(lower: str, google: bool) -> int:
    kind = _google_key(lower) if google else _KEYS.get(lower)
    if kind is None:
        kind = _TYPOS.get(lower, _UNKNOWN)
    return kind


def _google_key(lower: str) -> int:
    for prefixes, kind in _GOOGLE_PREFIXES:
        for prefix in prefixes:
            if lower.startswith(prefix):
                return kind
    return _KEYS.get(lower, _UNKNOWN)


class RobotsTxt:
    """A parsed robots.txt. Immutable from outside; per-agent answers are computed once."""

    __slots__ = (
        "_cache",
        "_early_findings",
        "_findings",
        "_global_groups",
        "_google",
        "_groups",
        "_index",
        "_joined",
        "_licenses",
        "_normalize",
        "_orphans",
        "_profile",
        "_rules",
        "_selections",
        "_sitemaps",
        "_text",
        "_truncated",
        "_unknown",
    )

    def __init__(self, text: str, profile: str, findings: list[Finding], truncated: bool) -> None:
        self._text = text
        self._profile = profile
        self._google = profile == "google"
        self._normalize = path_params_query if profile == "google" else normalize_url_path_rfc9309
        self._truncated = truncated
        self._early_findings = findings
        self._findings: tuple[Finding, ...] | None = None
        self._selections: dict[str, _Selection] = {}
        self._rules: dict[tuple[int, ...], _Rules] = {}
        self._cache: dict[int, object] = {}
        self._tokenize(text, profile, findings)

    # -- parsing ---------------------------------------------------------------------------

    def _tokenize(self, text: str, profile: str, findings: list[Finding]) -> None:
        google = profile == "google"
        if "\r" in text:  # RFC 9309 EOL: CR, LF or CRLF
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if google and len(text) > GOOGLE_MAX_LINE_BYTES // 4 and _LONG_LINE.search(text):
            lines = text.split("\n")
            kept = [_google_truncate(line) for line in lines]
            # Reported here: the findings are computed later from the text Google reads.
            findings.extend(
                LINE_TOO_LONG(line=number)
                for number, (line, cut) in enumerate(zip(lines, kept, strict=True), 1)
                if cut != line
            )
            text = "\n".join(kept)
        self._text = text
        groups: list[_Group] = []
        index: dict[str, list[_Group]] = {}
        global_groups: list[_Group] = []
        sitemaps: list[str] = []
        licenses: list[LicenseLine] = []
        unknown: list[tuple[str, int]] = []
        orphans: list[tuple[int, int]] = []  # (kind, line) of group lines before any group
        joined: list[tuple[tuple[str, int], tuple[str, int]]] = []  # (first agent, joining one)
        current: _Group | None = None
        collecting_agents = False  # the last group line was a User-agent line
        keys = _KEYS
        white = _WHITESPACE
        heads = _HEADS[profile]
        # One linear regular expression reads every "key: value" line (and Google's colon-less
        # "key value"); it gives None for blank lines, comments and anything else.
        for number, match in enumerate(map(_line_match, text.split("\n")), 1):
            if match is None:
                continue
            key, value, bare_key, bare_value = match.groups()
            if key is not None:
                key = key.strip(white)
                if not key:
                    continue  # ": value" (reported lazily as an invalid line)
                value = value.strip(white)
                missing_colon = False
            else:
                key = bare_key
                value = bare_value.strip(white)
                missing_colon = True
            lower = key.lower()
            kind = _google_key(lower) if google else keys.get(lower)
            if kind is None:
                kind = _TYPOS.get(lower, _UNKNOWN)
            if missing_colon and kind == _UNKNOWN:
                continue  # two words of prose, not a forgotten colon (reported lazily)
            if kind != _UNKNOWN and (missing_colon or lower not in keys):
                if lower not in keys:
                    canonical = _CANONICAL[kind]
                    findings.append(KEY_TYPO(f"'{key}' read as '{canonical}'", line=number))
                if missing_colon:
                    findings.append(
                        MISSING_COLON(f"'{key} {value}' read as '{key}: {value}'", line=number)
                    )
            if kind == _USER_AGENT:
                if current is None or not collecting_agents:
                    current = _Group()
                    groups.append(current)
                    collecting_agents = True
                elif current.extensions:
                    joined.append((current.agents[0], (value, number)))
                current.agents.append((value, number))
                if value == "*" or (value[:1] == "*" and value[1:2].isspace()):
                    if not global_groups or global_groups[-1] is not current:
                        global_groups.append(current)
                    continue
                for token in _agent_keys(value, google):
                    bucket = index.setdefault(token, [])
                    if not bucket or bucket[-1] is not current:
                        bucket.append(current)
            elif kind in (_ALLOW, _DISALLOW):
                if current is None:
                    orphans.append((kind, number))
                    continue
                collecting_agents = False
                allow = kind == _ALLOW
                if value and not google:  # (inlined _Group.add_rule: the common case)
                    current.rules.append((allow, value, number))
                    head = heads[allow].get(value) or _new_head(value, allow, profile)
                    if head:
                        current.compiled.append((*head, number))
                else:
                    current.add_rule(allow, value, number, profile)
            elif kind == _SITEMAP:
                if value:
                    sitemaps.append(value)
            elif kind == _LICENSE:
                if value:
                    licenses.append(LicenseLine(value, number))
            elif kind == _UNKNOWN:
                unknown.append((key, number))
            elif current is None:  # Crawl-delay, Content-Signal, Content-Usage
                orphans.append((kind, number))
            else:
                current.extensions.append((kind, value, number))
                if kind == _CONTENT_USAGE and not google:
                    # aipref-attach §4: "rule =/ content-usage". A rule ends the group's
                    # User-agent lines, so a User-agent line after it starts a new group
                    # (RFC 9309 §2.1), unlike Crawl-delay or Content-Signal.
                    collecting_agents = False
        self._groups = groups
        self._index = index
        self._global_groups = global_groups
        self._sitemaps = tuple(sitemaps)
        self._licenses = tuple(licenses)
        self._unknown = unknown
        self._orphans = orphans
        self._joined = joined

    # -- public properties -----------------------------------------------------------------

    @property
    def profile(self) -> str:
        return self._profile

    @property
    def truncated(self) -> bool:
        """Whether the file was longer than MAX_BYTES (the rest was ignored and reported)."""
        return self._truncated

    @property
    def sitemaps(self) -> tuple[str, ...]:
        return self._sitemaps

    @property
    def licenses(self) -> tuple[LicenseLine, ...]:
        return self._licenses

    @property
    def groups(self) -> tuple[RobotsGroup, ...]:
        """Every group as written, in file order (groups naming the same token not merged).

        Rules are the Allow/Disallow lines with a value, in file order, including patterns that
        can never match (reported as ``robots.pattern-not-rooted``).
        """
        profile = self._profile
        return tuple(
            RobotsGroup(
                tuple(g.agents),
                tuple(
                    RobotsRule(allow, _compile_cached(value, profile), line, self._line_text(line))
                    for allow, value, line in g.rules
                    if value
                ),
                g.agents[0][1],
            )
            for g in self._groups
        )

    @property
    def user_agents(self) -> tuple[str, ...]:
        """Every User-agent value as written, first occurrence order, duplicates removed."""
        return tuple(dict.fromkeys(value for g in self._groups for value, _ in g.agents))

    @property
    def findings(self) -> tuple[Finding, ...]:
        if self._findings is None:
            self._findings = tuple(
                sorted(self._all_findings(), key=lambda f: (f.line or 0, f.code))
            )
        return self._findings

    # -- questions -------------------------------------------------------------------------

    def allowed(self, url: str, agent: str) -> bool:
        """Whether ``agent`` (a product token such as ``GPTBot``) may fetch ``url``."""
        selection = self._selections.get(agent) or self._select(agent)
        if selection.empty:
            return True
        plain = _plain_http_url(url) if self._google is False else None
        path = (plain[1] or "/") if plain is not None else self._normalize(url)
        if path.startswith("/robots.txt") and not self._google and _is_robots_txt(path):
            return True  # RFC 9309 §2.2.2: /robots.txt is implicitly allowed
        best = selection.best(path)
        return True if best is None else best[5]

    def explain(self, url: str, agent: str) -> RobotsExplanation:
        """The decision for ``url`` and ``agent`` with the group and rule that made it."""
        selection = self._selections.get(agent) or self._select(agent)
        if selection.agent_group is None:
            return RobotsExplanation(
                True,
                None,
                (),
                None,
                f"no group names {agent!r} and there is no 'User-agent: *' group: allowed",
            )
        path = self._normalize(url)
        if path.startswith("/robots.txt") and not self._google and _is_robots_txt(path):
            best, key = None, 1
        else:
            best = selection.best(path)
            key = 0 if best is None else id(best)
        explanation = selection.explanations.get(key)
        if explanation is None:
            explanation = self._explanation(selection, best, key)
            selection.explanations[key] = explanation
        return explanation

    def _explanation(
        self, selection: _Selection, best: _Entry | None, key: int
    ) -> RobotsExplanation:
        label = selection.agent_group
        described = selection.described
        if described is None:
            lines = self._group_lines(selection)
            described = selection.described = (lines, _describe_group(label or "*", lines))
        lines, where = described
        if key == 1:
            reason = "/robots.txt itself is always allowed (RFC 9309 §2.2.2)"
            return RobotsExplanation(True, label, lines, None, reason)
        if best is None:
            return RobotsExplanation(True, label, lines, None, f"no rule in {where} matches")
        if best is _OVER_LIMIT:
            rule = RobotsRule(False, _compile_cached("/", self._profile), 0, _LIMIT_TEXT)
            return RobotsExplanation(False, label, lines, rule, f"{_LIMIT_TEXT} in {where}")
        _rank, _prefix, _plain, _needle, pattern, allow, value, line = best
        if pattern is None:
            pattern = _compile_cached(value, self._profile)
        rule = RobotsRule(allow, pattern, line, self._line_text(line))
        verb = "allows" if allow else "disallows"
        reason = f"'{rule.raw}' (line {line}) {verb} it: the longest matching rule in {where}"
        return RobotsExplanation(allow, label, lines, rule, reason)

    def content_signals(self, agent: str) -> tuple[ContentSignal, ...]:
        """The Content-Signal lines of the group(s) ``agent`` follows, in file order."""
        selection = self._selections.get(agent) or self._select(agent)
        return self._parsed(selection, _CONTENT_SIGNAL)

    def content_usages(self, url: str, agent: str) -> tuple[ContentUsage, ...]:
        """The Content-Usage rules of ``agent``'s group(s) that apply to ``url``.

        Longest path match wins; a rule without a path matches everything with priority 0;
        ties are all returned (the caller combines them, most restrictive first). Whether the
        URL may be crawled at all is not checked here.
        """
        selection = self._selections.get(agent) or self._select(agent)
        usages: tuple[ContentUsage, ...] = self._parsed(selection, _CONTENT_USAGE)
        if not usages:
            return ()
        path = normalize_url_path(url)
        best = -1
        chosen: list[ContentUsage] = []
        for usage in usages:
            if usage.path is None:
                priority = 0
            elif usage.path.matches(path):
                priority = usage.path.priority
            else:
                continue
            if priority > best:
                best, chosen = priority, [usage]
            elif priority == best:
                chosen.append(usage)
        return tuple(chosen)

    def crawl_delay(self, agent: str) -> float | None:
        """The first valid Crawl-delay below ``agent``'s own User-agent line(s), in seconds.

        A Crawl-delay line applies to the User-agent lines directly above it, as protego,
        reppy, crawler-commons, texting_robots and robots-parser read it (docs/robots.md,
        "Crawl-delay"), though RFC 9309 puts all those lines in one group.
        """
        selection = self._selections.get(agent) or self._select(agent)
        own = set(self._group_lines(selection))
        for group in selection.groups:
            for above, value in _crawl_delays(group):
                if own.intersection(above):
                    delay = _parse_delay(value)
                    if delay is not None:
                        return delay
        return None

    # -- internals -------------------------------------------------------------------------

    def _select(self, agent: str) -> _Selection:
        if len(self._selections) > _SELECTIONS_KEPT - 3:  # one question adds up to 3 keys
            self._selections.clear()  # many agent spellings asked (an open API): stay bounded
        token = agent.lower()
        selection = self._selections.get(token)
        if selection is None:
            groups = self._index.get(token) if token != "*" else None
            if groups:
                selection = self._selection(self._spelling(token, groups), token, groups)
            else:  # RFC 9309 §2.2.1: no group names the agent, so the "*" groups apply
                selection = self._selections.get("*")
                if selection is None:
                    selection = self._selection("*", "*", self._global_groups)
                    self._selections["*"] = selection
            self._selections[token] = selection
        self._selections[agent] = selection
        return selection

    def _selection(self, label: str, token: str, groups: list[_Group]) -> _Selection:
        if not groups:
            return _NO_SELECTION
        # Agents that follow the same groups share one arrangement of their rules.
        key = tuple(map(id, groups))
        rules = self._rules.get(key)
        if rules is None:
            if len(groups) == 1:
                entries = groups[0].compile()
            else:  # merged groups (RFC 9309 §2.2.1)
                entries = [entry for group in groups for entry in group.compile()]
                entries.sort(key=_RANK, reverse=True)
            rules = _Rules(entries)
            self._rules[key] = rules
        return _Selection(label, token, tuple(groups), rules)

    def _spelling(self, token: str, groups: list[_Group]) -> str:
        """The token as the file first writes it ("GPTBot" for "User-agent: GPTBot/1.1")."""
        google = self._profile == "google"
        for group in groups:
            for value, _line in group.agents:
                if token in _agent_keys(value, google):
                    return value if value.lower() == token else value[: len(token)]
        return token

    def _group_lines(self, selection: _Selection) -> tuple[int, ...]:
        """The User-agent lines that selected the group(s): naming the token, or "*"."""
        google = self._profile == "google"
        token = selection.token
        return tuple(
            line
            for group in selection.groups
            for value, line in group.agents
            if (value[:1] == "*" if token == "*" else token in _agent_keys(value, google))
        )

    def _agent_keys(self, value: str) -> tuple[str, ...]:
        return _agent_keys(value, self._profile == "google")

    def _line_text(self, line: int) -> str:
        """Line ``line`` as written, without its comment and surrounding whitespace."""
        lines = self._cache.get(0)
        if not isinstance(lines, list):
            lines = self._text.split("\n")
            self._cache[0] = lines
        return lines[line - 1].split("#", 1)[0].strip(_WHITESPACE)

    def _parsed(self, selection: _Selection, kind: int) -> tuple[Any, ...]:
        """The selected groups' lines of one kind, parsed, in file order (kept on the selection)."""
        parsed = selection.parsed.get(kind)
        if parsed is None:
            read = self._content_signal if kind == _CONTENT_SIGNAL else self._content_usage
            parsed = selection.parsed[kind] = tuple(
                read(value, line)
                for line_kind, value, line in _extensions(selection.groups)
                if line_kind == kind
            )
        return parsed

    def _content_signal(self, value: str, line: int) -> ContentSignal:
        signal = self._cache.get(line)
        if not isinstance(signal, ContentSignal):
            signal = parse_content_signal(value, line=line, location=_LOCATION)
            self._cache[line] = signal
        return signal

    def _content_usage(self, value: str, line: int) -> ContentUsage:
        usage = self._cache.get(line)
        if not isinstance(usage, ContentUsage):
            path, preference = split_robots_content_usage(value)
            usage = parse_content_usage(preference, line=line, location=_LOCATION, path=path)
            self._cache[line] = usage
        return usage

    def _all_findings(self) -> Iterator[Finding]:
        yield from self._early_findings
        yield from _html_findings(self._text)
        for kind, line in self._orphans:
            if kind in (_ALLOW, _DISALLOW):
                yield RULES_BEFORE_USER_AGENT(line=line)
            else:
                name = {
                    _CRAWL_DELAY: "Crawl-delay",
                    _CONTENT_SIGNAL: "Content-Signal",
                    _CONTENT_USAGE: "Content-Usage",
                }[kind]
                yield EXTENSION_OUTSIDE_GROUP(
                    f"{name} before any User-agent line applies to no crawler", line=line
                )
        yield from self._token_findings()
        for (first, first_line), (value, line) in self._joined:
            yield USER_AGENTS_JOINED(
                f"'User-agent: {value}' (line {line}) joins the group of 'User-agent: {first}' "
                f"(line {first_line}): only Crawl-delay/Content-Signal/Content-Usage lines "
                "separate them, so both follow the same rules",
                line=line,
            )
        for group in self._groups:
            for _allow, value, line in group.rules:
                if value and value[0] not in "/*":
                    raw = self._line_text(line)
                    hint = (
                        "a rule takes a path, not a full URL"
                        if "://" in value
                        else "paths start with '/'"
                    )
                    yield PATTERN_NOT_ROOTED(f"'{raw}' never matches: {hint}", line=line)
            for kind, value, line in group.extensions:
                if kind == _CONTENT_SIGNAL:
                    yield from self._content_signal(value, line).findings
                elif kind == _CONTENT_USAGE:
                    yield from self._content_usage(value, line).findings
                elif kind == _CRAWL_DELAY and _parse_delay(value) is None:
                    yield INVALID_CRAWL_DELAY(f"Crawl-delay {value!r} is not a number", line=line)
        yield from self._discard_findings()
        for licence in self._licenses:
            if "://" not in licence.url:
                yield LICENSE_NOT_ABSOLUTE(
                    f"License {licence.url!r} is not an absolute URL", line=licence.line
                )
        yield from _summarize(
            [(key, line) for key, line in self._unknown if key],
            lambda key, first, count: UNKNOWN_KEY(
                f"unknown key '{key}' ignored" + (f" ({count} lines)" if count > 1 else ""),
                line=first,
            ),
        )
        invalid: list[int] = []
        for number, text in enumerate(self._text.split("\n"), 1):
            if len(text) > GOOGLE_MAX_LINE_BYTES // 4 and (
                len(text.encode("utf-8", "surrogatepass")) > GOOGLE_MAX_LINE_BYTES
            ):
                yield LINE_TOO_LONG(line=number)
            content = text.split("#", 1)[0].strip(_WHITESPACE)
            if (content and not _LINE.match(content)) or content.startswith(":"):
                invalid.append(number)
            elif content and ":" not in content:
                # str.split() also splits on separators such as \x1c that _WHITESPACE keeps:
                # a line of only those has no first word (hypothesis found b"\x1c\t\x1c").
                words = content.split(None, 1)
                word = words[0].lower() if words else ""
                if _key_kind(word, self._profile == "google") == _UNKNOWN:
                    invalid.append(number)  # two words that are not a key and a value
        if invalid:
            more = f" (and {len(invalid) - 1} more)" if len(invalid) > 1 else ""
            yield INVALID_LINE(f"line is not 'key: value'; ignored{more}", line=invalid[0])

    def _token_findings(self) -> Iterator[Finding]:
        google = self._profile == "google"
        lines_by_token: dict[str, list[int]] = {}
        for group in self._groups:
            for value, line in group.agents:
                if value == "*":
                    continue
                message = _product_token_problem(value, google)
                if message:
                    yield INVALID_PRODUCT_TOKEN(message, line=line)
        for token, groups in self._index.items():
            if len(groups) > 1:
                lines_by_token[token] = [
                    line
                    for g in groups
                    for value, line in g.agents
                    if token in self._agent_keys(value)
                ]
        for token, lines in lines_by_token.items():
            distinct = sorted(set(lines))
            yield GROUPS_MERGED(
                f"'{token}' is named in {len(distinct)} groups (lines "
                f"{listing(distinct)}); their rules are merged",
                line=min(lines),
            )

    def _discard_findings(self) -> Iterator[Finding]:
        global_rules = [
            rule
            for group in self._global_groups
            for rule in group.rules
            if not rule[0] and rule[1]  # non-empty Disallow
        ]
        if not global_rules:
            return
        reported: set[int] = set()
        for token, groups in self._index.items():
            first_line = min(
                line for g in groups for value, line in g.agents if token in self._agent_keys(value)
            )
            if first_line in reported:
                continue
            if any(not allow and value for g in groups for allow, value, _l in g.rules):
                continue  # the group restricts something itself
            own = {rule[2] for g in groups for rule in g.rules}
            lost = [rule for rule in global_rules if rule[2] not in own]
            if not lost:
                continue
            reported.add(first_line)
            shown = listing(
                (f"'{self._line_text(line)}' (line {line})" for _a, _v, line in lost), limit=3
            )
            kind = "has no rules" if not any(g.rules for g in groups) else "has only Allow rules"
            name = next(v for g in groups for v, _l in g.agents if token in self._agent_keys(v))
            yield GROUP_DISCARDS_GLOBAL_RULES(
                f"the group for '{name}' {kind}, so '{name}' ignores the '*' rules: {shown}",
                line=first_line,
            )


def is_product_token(token: str) -> bool:
    """Whether ``token`` is a valid RFC 9309 product token: letters, ``-`` and ``_`` only."""
    return _PRODUCT_TOKEN.fullmatch(token) is not None


def _is_robots_txt(path: str) -> bool:
    return path.startswith("/robots.txt") and (len(path) == 11 or path[11] == "?")


def _agent_keys(value: str, google: bool) -> tuple[str, ...]:
    """The lower-case tokens a User-agent value selects (see docs/robots.md)."""
    if google:
        # robots.cc ExtractUserAgent: the leading [A-Za-z_-]* run ("Foo/1.0", "Foo Bar" -> "foo").
        prefix = _GOOGLE_AGENT_PREFIX.match(value)
        token = prefix.group(0).lower() if prefix else ""
        return (token,) if token else ()
    # The full value first, so that a registry token with digits ("AI2Bot") selects its own
    # line; then Google's reading ("GPTBot/1.1" -> "gptbot", "Foo Bar" -> "foo").
    lower = value.lower()
    prefix = _GOOGLE_AGENT_PREFIX.match(lower)
    token = prefix.group(0) if prefix else ""
    if token and token != lower:
        return (lower, token)
    return (lower,) if lower else ()


def _product_token_problem(value: str, google: bool) -> str | None:
    if _PRODUCT_TOKEN.fullmatch(value):
        return None
    if not value:
        return "empty User-agent value: the group applies to no crawler"
    if value[:1] == "*" and value[1:2].isspace():  # the tokenizer's test for the "*" group
        return f"'{value}' read as '*' (text after '*' ignored)"
    google_token = _GOOGLE_AGENT_PREFIX.match(value)
    google_reading = google_token.group(0) if google_token else ""
    if google:
        return (
            f"'{value}' is not a valid product token; read as '{google_reading}' (Google cuts at "
            "the first character other than a letter, '-' or '_')"
            if google_reading
            else f"'{value}' is not a valid product token and matches no crawler"
        )
    ours = _agent_keys(value, False)
    reading = " or ".join(f"'{token}'" for token in ours)
    google_note = (
        f"Google reads it as '{google_reading}'" if google_reading else "Google ignores it"
    )
    return (
        f"'{value}' is not a valid product token (letters, '-' and '_' only); we match {reading}, "
        f"{google_note}"
    )


def _extensions(groups: tuple[_Group, ...]) -> list[tuple[int, str, int]]:
    if len(groups) == 1:
        return groups[0].extensions
    return sorted((e for g in groups for e in g.extensions), key=lambda e: e[2])


def _parse_delay(value: str) -> float | None:
    try:
        delay = float(value)
    except ValueError:
        return None
    if delay != delay or delay < 0 or delay == float("inf"):
        return None
    return delay


def _crawl_delays(group: _Group) -> list[tuple[tuple[int, ...], str]]:
    """(the User-agent lines directly above it, value) for each Crawl-delay line of ``group``."""
    lines = sorted(
        [(line, _USER_AGENT, "") for _value, line in group.agents]
        + [(line, kind, value) for kind, value, line in group.extensions]
    )
    above: list[int] = []
    after_agent = False
    delays = []
    for line, kind, value in lines:
        if kind == _USER_AGENT:
            if not after_agent:
                above = []
            above.append(line)
            after_agent = True
            continue
        after_agent = False
        if kind == _CRAWL_DELAY:
            delays.append((tuple(above), value))
    return delays


def _describe_group(label: str, lines: tuple[int, ...]) -> str:
    where = listing(lines)
    noun = "line" if len(lines) == 1 else "lines"
    if label == "*":
        return f"the 'User-agent: *' group ({noun} {where})"
    return f"the group for '{label}' ({noun} {where})"


def _html_findings(text: str) -> Iterator[Finding]:
    """An HTML page served as robots.txt: it starts with markup, or a line opens a page tag."""
    head = text[:8192].lower()
    stripped = head.lstrip()
    if stripped.startswith(("<!doctype", "<html", "<?xml")) or any(
        line.lstrip().startswith(_HTML_MARKERS) for line in head.split("\n")
    ):
        yield HTML_BODY(
            "the body looks like an HTML page, not a robots.txt; its lines are not rules", line=1
        )


def _summarize(items, make) -> Iterator[Finding]:
    """One finding per distinct key: first line and count."""
    firsts: dict[str, int] = {}
    counts: dict[str, int] = {}
    for key, line in items:
        folded = key.lower()
        if folded not in firsts:
            firsts[folded] = line
            counts[folded] = 0
        counts[folded] += 1
    seen: set[str] = set()
    for key, _line in items:
        folded = key.lower()
        if folded in seen:
            continue
        seen.add(folded)
        yield make(key, firsts[folded], counts[folded])
