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
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from heapq import heapify, heappop, heappush, heapreplace
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


# The most work one question to a PatternSet may take, in pattern pieces examined, where
# reading the path counts 1 per started 256 characters: searching for a needle counts one
# reading, trying a wildcard pattern one per piece plus one reading (its pieces are found left
# to right, so all together read the path at most once). Real files need
# at most ~130 for URLs made from their own rules (all 11,890 corpus files, docs/robots.md);
# a file built so that thousands of wildcard patterns almost match a long URL would need
# millions. Past the limit the question is answered WORK_LIMIT_EXCEEDED and the caller fails
# closed.
MATCH_WORK_LIMIT: Final = 512
# A candidate's needle (a literal its path must contain: the end of its longest piece) is cut
# to one of these lengths, so that at most this many needles end at any one position of a path
# and the Aho-Corasick scan reports at most this many times the path's length in matches,
# however the patterns were written.
_NEEDLE_LENGTHS: Final = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
# PatternSet.first tests the wildcard patterns one by one, in order, while most of them turn
# out to be candidates (as in a file built to be costly); after this many that are not, the
# rest are found through the Aho-Corasick scan instead (as in a real file: few candidates).
_WALK_MISSES: Final = 16
# The kinds of key a wildcard pattern is found by (PatternSet).
_PREFIX, _SUFFIX, _NEEDLE = 0, 1, 2


class _WorkLimitExceeded:
    __slots__ = ()

    def __repr__(self) -> str:
        return "WORK_LIMIT_EXCEEDED"


WORK_LIMIT_EXCEEDED: Final = _WorkLimitExceeded()


def _needle(pieces: tuple[str, ...]) -> str:
    """The end of the longest piece, cut to the longest of _NEEDLE_LENGTHS that fits."""
    piece = max(pieces, key=len)
    cut = max(length for length in _NEEDLE_LENGTHS if length <= len(piece))
    return piece[-cut:]


class _Needles:
    """Which of many literals occur in a path: one Aho-Corasick scan (linear, no backtracking).

    ``present(path)`` lists the literals found, in the order given, as an iterator read only
    as far as ``PatternSet.first`` needs.
    """

    __slots__ = ("_find", "_literals", "_number")

    def __init__(self, literals: Sequence[str]) -> None:
        self._literals = tuple(literals)
        self._number = {literal: number for number, literal in enumerate(self._literals)}
        automaton = AhoCorasick(self._literals, store_patterns=True)
        self._find = automaton.find_matches_as_strings

    def present(self, path: str) -> Iterator[str]:
        found = set(self._find(path, overlapping=True))  # the stored strings: no copies
        literals = self._literals
        if len(found) * 16 >= len(literals):  # many found: skip the others in C, in order
            return filter(found.__contains__, literals)
        numbers = sorted(map(self._number.__getitem__, found))
        return map(literals.__getitem__, numbers)


class PatternSet:
    """Patterns in order of preference; ``first(path)`` is the index of the first that matches.

    The cost of a question grows with the path, not with the number of patterns:

    - plain prefixes ("/a/", "/a/*") are looked up in a dict, once per distinct prefix length;
    - "$"-anchored paths without "*" in a dict of exact paths;
    - a wildcard pattern is a candidate only if the path starts with its literal prefix (when
      that is its longest literal), else, "$"-anchored, ends with its last piece, else contains
      its needle (the end of its longest piece); candidates are tried in index order (literal
      prefix, then pieces) until one matches or none can beat the best so far;
    - candidates are found by testing the wildcard patterns in order while most of them are
      candidates, then through dicts of prefixes and last pieces (one lookup per distinct
      length) and one Aho-Corasick scan of the path for the needles (``_Needles``);
    - the work is bounded by ``work_limit`` (see MATCH_WORK_LIMIT): past it ``first`` returns
      ``WORK_LIMIT_EXCEEDED`` (never a partial answer).
    """

    __slots__ = (
        "_exact",
        "_lengths",
        "_members",
        "_needles",
        "_patterns",
        "_plain",
        "_prefix_lengths",
        "_prefixes",
        "_suffix_lengths",
        "_suffixes",
        "_wild",
        "_work_limit",
    )

    def __init__(
        self, patterns: Sequence[PathPattern], *, work_limit: int = MATCH_WORK_LIMIT
    ) -> None:
        self._patterns = tuple(patterns)
        self._work_limit = work_limit
        plain: dict[str, int] = {}
        exact: dict[str, int] = {}
        # The wildcard patterns in order, as (index, kind, key, anchored, literal prefix,
        # pieces): the key is the last piece of an anchored pattern (kind _SUFFIX), else its
        # needle (_NEEDLE), unless the literal prefix is longer (_PREFIX).
        wild: list[tuple[int, int, str, bool, str, tuple[str, ...]]] = []
        tables: tuple[dict[str, list[int]], ...] = ({}, {}, {})  # by kind: key -> indices
        for index, pattern in enumerate(self._patterns):
            pieces = pattern.pieces
            if not pieces:  # no "*" (plain or anchored), or only trailing "*": a prefix
                table = exact if pattern.anchored and pieces is None else plain
                table.setdefault(pattern.prefix, index)
                continue
            anchored = pattern.anchored
            # where a literal must stand (start, end) says more than a longer one anywhere
            kind, key = (_SUFFIX, pieces[-1]) if anchored else (_NEEDLE, _needle(pieces))
            if len(pattern.prefix) > max(1, len(key)):
                kind, key = _PREFIX, pattern.prefix
            tables[kind].setdefault(key, []).append(index)
            wild.append((index, kind, key, anchored, pattern.prefix, pieces))
        self._plain = plain
        self._exact = exact
        self._lengths = tuple(sorted({len(prefix) for prefix in plain}))
        self._wild = tuple(wild)
        self._prefixes = tables[_PREFIX]
        self._prefix_lengths = tuple(sorted({len(key) for key in tables[_PREFIX]}))
        self._suffixes = tables[_SUFFIX]
        self._suffix_lengths = tuple(sorted({len(key) for key in tables[_SUFFIX]}))
        self._members = tables[_NEEDLE]
        self._needles = _Needles(list(tables[_NEEDLE])) if tables[_NEEDLE] else None

    def __len__(self) -> int:
        return len(self._patterns)

    def first(self, path: str) -> int | _WorkLimitExceeded | None:
        """The smallest index whose pattern matches ``path`` (normalized), else None."""
        none = best = len(self._patterns)
        found = self._exact.get(path)
        if found is not None:
            best = found
        plain = self._plain
        size = len(path)
        for length in self._lengths:
            if length > size:
                break
            found = plain.get(path[:length])
            if found is not None and found < best:
                best = found
        if not best:
            return 0 if none else None
        read = 1 + (size >> 8)  # the cost of one search through the path
        limit = self._work_limit
        work = 0
        misses = 0
        walked = -1  # the last index tested by the walk
        # The walk: each wildcard pattern in order, its key tested directly (the tests that
        # fail are not counted: at most _WALK_MISSES of them).
        for index, kind, key, anchored, prefix, pieces in self._wild:
            if index >= best:
                return None if best == none else best
            if kind == _NEEDLE:
                candidate = key in path
            else:
                candidate = path.endswith(key) if kind == _SUFFIX else path.startswith(key)
            if candidate:
                work += read + 1 if kind == _NEEDLE else 2
                if path.startswith(prefix):
                    work += read + len(pieces)
                    if work > limit:
                        return WORK_LIMIT_EXCEEDED
                    if _match_pieces(path, len(prefix), pieces, anchored):
                        return index
            elif misses == _WALK_MISSES:
                walked = index
                break
            else:
                misses += 1
            if work > limit:
                return WORK_LIMIT_EXCEEDED
        else:
            return None if best == none else best
        return self._indexed_first(path, best, walked, work)

    def _indexed_first(
        self, path: str, best: int, walked: int, work: int
    ) -> int | _WorkLimitExceeded | None:
        """``first`` for the wildcard patterns after index ``walked``, found through the dicts
        of prefixes and last pieces and the needle scan, merged in index order by a heap of
        (index, sorted indices, position in them)."""
        none = len(self._patterns)
        size = len(path)
        heap: list[tuple[int, list[int], int]] = []
        for table, lengths, from_end in (
            (self._prefixes, self._prefix_lengths, False),
            (self._suffixes, self._suffix_lengths, True),
        ):
            for length in lengths:
                if length > size:
                    break
                listed = table.get(path[size - length :] if from_end else path[:length])
                if listed is not None:
                    at = bisect_right(listed, walked)
                    if at < len(listed):
                        heap.append((listed[at], listed, at))
        heapify(heap)
        # The needles found in the path, in the order of their first index; each joins the
        # heap only when its first index may come next (its later ones come later still).
        needles = self._needles
        waiting = needles.present(path) if needles is not None else iter(())
        members_of = self._members
        joining = next(waiting, None)
        patterns = self._patterns
        read = 1 + (size >> 8)
        limit = self._work_limit
        while True:
            while joining is not None and (members := members_of[joining])[0] < (
                heap[0][0] if heap else best
            ):
                at = bisect_right(members, walked)
                if at < len(members):
                    heappush(heap, (members[at], members, at))
                joining = next(waiting, None)
            if not heap:
                break
            index, members, at = heap[0]
            if index >= best:
                break
            pattern = patterns[index]
            pieces: tuple[str, ...] = pattern.pieces  # type: ignore[assignment]
            work += 1
            if path.startswith(pattern.prefix):
                work += read + len(pieces)
                if work > limit:
                    return WORK_LIMIT_EXCEEDED
                if _match_pieces(path, len(pattern.prefix), pieces, pattern.anchored):
                    best = index
                    break
            at += 1
            if at < len(members):
                heapreplace(heap, (members[at], members, at))
            else:
                heappop(heap)
        return None if best == none else best
