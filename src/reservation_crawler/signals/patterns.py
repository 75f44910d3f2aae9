"""The one RFC 9309 path matcher, shared by robots.txt, ai.txt, tdmrep.json and Content-Usage.

URLs and patterns go through the same normalization (RFC 9309 §2.2.2) so that equivalent
spellings compare equal; matching splits a pattern on ``*`` and walks the path with
``str.find``, so it is linear in practice and never backtracks (no regular expression is ever
built from publisher input).

Two profiles:

- ``"rfc9309"`` (default): non-ASCII, characters that may not appear in a URI and reserved
  characters outside their syntactic role are percent-encoded, ``%xx`` hex is upper-cased and
  percent-encoded unreserved characters (``%7E`` -> ``~``) are decoded.
- ``"google"``: what google/robotstxt does: patterns get non-ASCII octets percent-encoded and
  ``%xx`` upper-cased; URLs are compared as given (the caller must escape them).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from heapq import heapify, heappop, heapreplace
from operator import itemgetter
from typing import Final

from ahocorasick_rs import AhoCorasick

__all__ = [
    "MATCH_WORK_LIMIT",
    "PROFILES",
    "WORK_LIMIT_EXCEEDED",
    "PathPattern",
    "PatternSet",
    "compile_pattern",
    "normalize_url_path",
    "path_params_query",
]

PROFILES = ("rfc9309", "google")

_HEXDIGITS = frozenset("0123456789abcdefABCDEF")
# RFC 3986 §2.3 unreserved characters: the only ones whose escapes are decoded.
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# ASCII characters that can stand as they are in a URI path (RFC 3986 pchar + "/"), minus
# "*" and "$", which robots.txt patterns use as operators (a literal one is written %2A / %24).
_PATH_PLAIN = frozenset(_UNRESERVED | set("!&'()+,;=:@/"))
# In the query, the gen-delims ":", "/", "?" and "@" are data, not delimiters: RFC 9309
# §2.2.2 (its example table encodes "?baz=https://foo.bar" as "?baz=https%3A%2F%2Ffoo.bar").
_QUERY_PLAIN = frozenset(_UNRESERVED | set("!&'()+,;="))

# Fast paths: strings made only of characters that need no work. These expressions have no
# nested quantifiers, so they run in linear time on any input.
_HTTP_AUTHORITY_RE = re.compile(r"[Hh][Tt][Tt][Pp][Ss]?://[^/?;#]*")
_URL_PLAIN_RE = re.compile(r"[A-Za-z0-9\-._~!&'()+,;=:@/]*(?:\?[A-Za-z0-9\-._~!&'()+,;=]*)?")
# An http(s) URL with no fragment and nothing to normalize: group 1 is the answer. (No
# IGNORECASE: it makes the match several times slower; "HTTP://" takes the general path.)
_plain_http_url = re.compile(
    r"https?://[^/?;#]*(/[A-Za-z0-9\-._~!&'()+,;=:@/]*(?:\?[A-Za-z0-9\-._~!&'()+,;=]*)?)?"
).fullmatch
_plain_path = _URL_PLAIN_RE.fullmatch
_PATTERN_PLAIN_RE = re.compile(
    r"[A-Za-z0-9\-._~!&'()+,;=:@/*]*(?:\?[A-Za-z0-9\-._~!&'()+,;=*]*)?\$?"
)


def path_params_query(url: str) -> str:
    """Path, ``;params`` and ``?query`` of a URL (or of a bare path); fragment dropped.

    Follows google/robotstxt ``GetPathParamsQuery`` exactly: the result always starts with
    ``/``, and ``""``, ``"http://example.com"`` and ``"example.com"`` all give ``"/"``.
    """
    if url[:1] == "/" and url[1:2] != "/":
        hash_pos = url.find("#")
        return url if hash_pos < 0 else url[:hash_pos]
    authority = _HTTP_AUTHORITY_RE.match(url)
    if authority is not None:  # the common case, answered without the general walk below
        start = authority.end()
        if start == len(url) or url[start] == "#":
            return "/"
        hash_pos = url.find("#", start)
        path = url[start:] if hash_pos < 0 else url[start:hash_pos]
        return path if path[0] == "/" else "/" + path
    search_start = 2 if url[:2] == "//" else 0
    early_path = _find_first_of(url, "/?;", search_start)
    protocol_end = url.find("://", search_start)
    if protocol_end < 0 or (early_path >= 0 and early_path < protocol_end):
        protocol_end = search_start
    else:
        protocol_end += 3
    path_start = _find_first_of(url, "/?;", protocol_end)
    if path_start < 0:
        return "/"
    hash_pos = url.find("#", search_start)
    if 0 <= hash_pos < path_start:
        return "/"
    path = url[path_start:] if hash_pos < 0 else url[path_start:hash_pos]
    return path if path[0] == "/" else "/" + path


def _find_first_of(text: str, chars: str, start: int) -> int:
    found = -1
    for char in chars:
        index = text.find(char, start)
        if index >= 0 and (found < 0 or index < found):
            found = index
    return found


def normalize_url_path(url: str, *, profile: str = "rfc9309") -> str:
    """The path + params + query of ``url``, normalized for matching (see module docstring)."""
    if profile == "google":
        return path_params_query(url)
    return normalize_url_path_rfc9309(url)


def normalize_url_path_rfc9309(url: str) -> str:
    """``normalize_url_path(url)`` for the default profile, without keyword handling (hot path)."""
    # The common cases, answered by one linear regular expression over the URL.
    plain = _plain_http_url(url)
    if plain is not None:
        return plain[1] or "/"
    if url[:1] == "/" and url[1:2] != "/" and _plain_path(url) is not None:
        return url
    path = path_params_query(url)
    if _plain_path(path) is not None:
        return path
    return _normalize(path, pattern=False)


def _normalize(text: str, *, pattern: bool) -> str:
    """RFC 9309 §2.2.2 normalization of a URL path (``pattern=False``) or a rule pattern.

    Characters that need no work are copied by the regular-expression engine; only escapes and
    characters to encode reach Python (``_escape``).
    """
    anchored = pattern and text.endswith("$")
    if anchored:
        text = text[:-1]
    path, question, query = text.partition("?")
    path_re, query_re = (
        (_PATTERN_PATH_WORK, _PATTERN_QUERY_WORK) if pattern else (_PATH_WORK, _QUERY_WORK)
    )
    out = path_re.sub(_escape, path)
    if question:
        out += "?" + query_re.sub(_escape, query)
    return out + "$" if anchored else out


# What needs work: a %xx escape (group 1), or a character outside the plain set of its part.
_PATH_WORK = re.compile(r"%([0-9A-Fa-f]{2})|[^A-Za-z0-9\-._~!&'()+,;=:@/]")
_QUERY_WORK = re.compile(r"%([0-9A-Fa-f]{2})|[^A-Za-z0-9\-._~!&'()+,;=]")
_PATTERN_PATH_WORK = re.compile(r"%([0-9A-Fa-f]{2})|[^A-Za-z0-9\-._~!&'()+,;=:@/*]")
_PATTERN_QUERY_WORK = re.compile(r"%([0-9A-Fa-f]{2})|[^A-Za-z0-9\-._~!&'()+,;=*]")


def _escape(match: re.Match[str]) -> str:
    hex_pair = match.group(1)
    if hex_pair is not None:
        hex_pair = hex_pair.upper()
        decoded = chr(int(hex_pair, 16))
        return decoded if decoded in _UNRESERVED else "%" + hex_pair
    char = match.group(0)
    if char < "\x80":
        return f"%{ord(char):02X}"  # includes a lone "%" -> "%25": it stands for itself
    return "".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))


def _google_escape_pattern(text: str) -> str:
    """google/robotstxt ``MaybeEscapePattern``: escape non-ASCII octets, upper-case ``%xx``."""
    if text.isascii() and "%" not in text:
        return text
    out: list[str] = []
    last = len(text) - 1
    i = 0
    while i <= last:
        char = text[i]
        if (
            char == "%"
            and i + 2 <= last
            and text[i + 1] in _HEXDIGITS
            and text[i + 2] in _HEXDIGITS
        ):
            out.append("%" + text[i + 1 : i + 3].upper())
            i += 3
            continue
        if char < "\x80":
            out.append(char)
        else:
            out.append("".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass")))
        i += 1
    return "".join(out)


@dataclass(frozen=True, slots=True)
class PathPattern:
    """A compiled robots.txt path pattern (``*`` = any run of characters, final ``$`` = end)."""

    raw: str
    normalized: str
    priority: int
    # The literal text before the first "*" (the whole pattern when it has none, minus "$").
    prefix: str = field(repr=False, compare=False)
    # The literal pieces after the first "*", empty pieces dropped; None for a plain pattern.
    pieces: tuple[str, ...] | None = field(repr=False, compare=False)
    anchored: bool = field(repr=False, compare=False)

    def matches(self, path: str) -> bool:
        """Whether the pattern matches ``path`` (already normalized) from its first octet."""
        if not path.startswith(self.prefix):
            return False
        pieces = self.pieces
        if pieces is None:
            return not self.anchored or len(path) == len(self.prefix)
        return _match_pieces(path, len(self.prefix), pieces, self.anchored)


def _match_pieces(path: str, pos: int, pieces: tuple[str, ...], anchored: bool) -> bool:
    """Match ``*``-separated literal pieces from ``pos``: leftmost-first is optimal for globs."""
    if not pieces:  # the pattern ended with "*"
        return True
    find = path.find
    for piece in pieces[:-1]:
        index = find(piece, pos)
        if index < 0:
            return False
        pos = index + len(piece)
    final = pieces[-1]
    if anchored:
        return len(path) - len(final) >= pos and path.endswith(final)
    return find(final, pos) >= 0


def _normalize_plain(raw: str, profile: str) -> str:
    """The normalized form of a pattern without "*" or "$" (as compile_pattern would give)."""
    if profile == "google":
        return _google_escape_pattern(raw)
    if _PATTERN_PLAIN_RE.fullmatch(raw):
        return raw
    return _normalize(raw, pattern=True)


def compile_pattern(raw: str, *, profile: str = "rfc9309") -> PathPattern:
    """Compile one pattern as written in a file (surrounding whitespace already removed).

    Patterns repeat across files (``/wp-admin/``...), so compiled ones are cached.
    """
    return _compile_cached(raw, profile)


@lru_cache(maxsize=65536)
def _compile_cached(raw: str, profile: str) -> PathPattern:
    if profile == "google":
        normalized = _google_escape_pattern(raw)
    elif _PATTERN_PLAIN_RE.fullmatch(raw):
        normalized = raw
    else:
        normalized = _normalize(raw, pattern=True)
    priority = len(normalized) if normalized.isascii() else len(normalized.encode("utf-8"))
    anchored = normalized.endswith("$")
    body = normalized[:-1] if anchored else normalized
    star = body.find("*")
    if star < 0:
        return PathPattern(raw, normalized, priority, body, None, anchored)
    pieces = tuple(piece for piece in body[star + 1 :].split("*") if piece)
    if anchored and body.endswith("*"):
        anchored = False  # "/a*$": a "$" right after a "*" constrains nothing
    return PathPattern(raw, normalized, priority, body[:star], pieces, anchored)


# The most work one question to a PatternSet may take, in pattern pieces examined (a wildcard
# pattern costs 1 + its pieces). A real file needs a few dozen even for its worst URL; a file
# built so that thousands of wildcard patterns almost match one URL would need millions. Past
# the limit the question is answered WORK_LIMIT_EXCEEDED and the caller fails closed.
MATCH_WORK_LIMIT: Final = 512
_FIRST = itemgetter(0)


class _WorkLimitExceeded:
    __slots__ = ()

    def __repr__(self) -> str:
        return "WORK_LIMIT_EXCEEDED"


WORK_LIMIT_EXCEEDED: Final = _WorkLimitExceeded()


class PatternSet:
    """Patterns in order of preference; ``first(path)`` is the index of the first that matches.

    The cost of a question grows with the path, not with the number of patterns:

    - plain prefixes ("/a/", "/a/*") are looked up in a dict, once per distinct prefix length;
    - "$"-anchored paths without "*" in a dict of exact paths;
    - wildcard patterns are found through one Aho-Corasick automaton over their longest literal
      piece (a linear scan of the path, no backtracking), so only the patterns whose piece
      occurs in the path are tried, best first, until one matches;
    - trying patterns is bounded by ``work_limit`` pieces: past it ``first`` returns
      ``WORK_LIMIT_EXCEEDED`` (never a partial answer).
    """

    __slots__ = (
        "_automaton",
        "_exact",
        "_lengths",
        "_members",
        "_patterns",
        "_plain",
        "_work_limit",
    )

    def __init__(
        self, patterns: Sequence[PathPattern], *, work_limit: int = MATCH_WORK_LIMIT
    ) -> None:
        self._patterns = tuple(patterns)
        self._work_limit = work_limit
        plain: dict[str, int] = {}
        exact: dict[str, int] = {}
        by_needle: dict[str, list[int]] = {}
        for index, pattern in enumerate(self._patterns):
            pieces = pattern.pieces
            if not pieces:  # no "*" (plain or anchored), or only trailing "*": a prefix
                table = exact if pattern.anchored and pieces is None else plain
                table.setdefault(pattern.prefix, index)
            else:  # every piece must occur in a matching path, the longest is the rarest
                by_needle.setdefault(max(pieces, key=len), []).append(index)
        self._plain = plain
        self._exact = exact
        self._lengths = tuple(sorted({len(prefix) for prefix in plain}))
        self._members = tuple(by_needle.values())
        self._automaton = AhoCorasick(list(by_needle)) if by_needle else None

    def __len__(self) -> int:
        return len(self._patterns)

    def first(self, path: str) -> int | _WorkLimitExceeded | None:
        """The smallest index whose pattern matches ``path`` (normalized), else None."""
        none = best = len(self._patterns)
        found = self._exact.get(path)
        if found is not None and found < best:
            best = found
        plain = self._plain
        size = len(path)
        for length in self._lengths:
            if length > size:
                break
            found = plain.get(path[:length])
            if found is not None and found < best:
                best = found
        automaton = self._automaton
        if automaton is not None and best:
            members = self._members
            hits = set(map(_FIRST, automaton.find_matches_as_indexes(path, overlapping=True)))
            patterns = self._patterns
            work = 0
            limit = self._work_limit
            # the patterns of every needle found, in index order, read only as far as needed:
            # a heap of (index, needle, position in the needle's sorted members)
            heap = [(members[hit][0], hit, 0) for hit in hits]
            heapify(heap)
            while heap:
                index, hit, at = heap[0]
                if index >= best:
                    break
                pattern = patterns[index]
                work += 1 + len(pattern.pieces)
                if work > limit:
                    return WORK_LIMIT_EXCEEDED
                if pattern.matches(path):
                    best = index
                    break
                at += 1
                if at < len(members[hit]):
                    heapreplace(heap, (members[hit][at], hit, at))
                else:
                    heappop(heap)
        return None if best == none else best
