"""The path a rule is matched against (RFC 9309 §2.2.2: path, params and query; the fragment
never counts) and Google's pattern escaping, at the edges mutation testing found unprotected."""

from __future__ import annotations

import pytest

from reservation_crawler.signals.patterns import (
    MATCH_WORK_LIMIT,
    WORK_LIMIT_EXCEEDED,
    PatternSet,
    compile_pattern,
    normalize_url_path,
    path_params_query,
)
from reservation_crawler.signals.robots import parse


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://example.com#frag", "/"),
        ("https://example.com/#frag", "/"),
        ("http://example.com/a#b#c", "/a"),
        ("http://example.com/a?x=1#y#z", "/a?x=1"),
        ("HTTP://example.com/a#b#c", "/a"),  # not the fast path
        ("example.com/a#b#c", "/a"),
        ("example.com#a/b", "/"),  # the "/" is in the fragment
        ("/a#b", "/a"),
        ("?a", "/?a"),
        ("?a;b", "/?a;b"),
        (";p/x", "/;p/x"),
        ("://a/b", "/b"),
        ("ftp:///x", "/x"),
        ("ftp://host/a?u=ftp://b/c", "/a?u=ftp://b/c"),
        ("//host/a#b", "/a"),
        # google/robotstxt GetPathParamsQuery: "://" after the first "/", "?" or ";" (searched
        # from after a leading "//") is not a scheme's end.
        ("//a://b/c", "/c"),
        ("?a://b/c", "/?a://b/c"),
        (";a://b/c", "/;a://b/c"),
    ],
)
def test_rfc9309_rules_match_path_params_and_query_never_the_fragment(url, expected) -> None:
    assert path_params_query(url) == expected


def test_rfc9309_network_path_reference_is_matched_by_its_path() -> None:
    """RFC 3986 §4.2: "//host/path" names a host; RFC 9309 §2.2.2 matches its path only."""
    assert normalize_url_path("//example.com/private/x?y") == "/private/x?y"
    assert normalize_url_path("//example.com") == "/"
    txt = parse("User-agent: *\nDisallow: /private/\nDisallow: /example.com\n")
    assert not txt.allowed("//example.com/private/x", "AnyBot")
    assert txt.allowed("//example.com/public", "AnyBot")


def test_rfc9309_a_fragment_never_decides() -> None:
    txt = parse("User-agent: *\nDisallow: /*frag\nDisallow: /a$\n")
    assert txt.allowed("https://example.com/x#frag", "AnyBot")
    assert not txt.allowed("https://example.com/a#b#c", "AnyBot")
    assert normalize_url_path("HTTP://example.com/a b#c") == "/a%20b"


def test_lenient_google_profile_escapes_every_non_ascii_octet_of_a_pattern() -> None:
    assert compile_pattern("/\x80", profile="google").normalized == "/%C2%80"
    assert compile_pattern("/é", profile="google").normalized == "/%C3%A9"
    assert compile_pattern("/\x7f", profile="google").normalized == "/\x7f"
    # A lone surrogate (from undecodable input) is escaped, never an exception.
    assert compile_pattern("/\ud800", profile="google").normalized == "/%ED%A0%80"
    assert compile_pattern("/%c3%a9", profile="google").normalized == "/%C3%A9"
    assert compile_pattern("/%zz", profile="google").normalized == "/%zz"


# -- the rule index (PatternSet): bounded work, never a different answer below the bound --------


def test_index_work_limit_gives_the_answer_or_says_it_stopped() -> None:
    """Below the work a question needs, the answer is WORK_LIMIT_EXCEEDED, never a guess; from
    that work on, the answer."""
    patterns = [compile_pattern("/*a*b")]
    answers = [PatternSet(patterns, work_limit=limit).first("/ab") for limit in range(40)]
    needed = answers.index(0)
    assert needed > 0
    assert answers[:needed] == [WORK_LIMIT_EXCEEDED] * needed
    assert answers[needed:] == [0] * (40 - needed)
    assert repr(WORK_LIMIT_EXCEEDED) == "WORK_LIMIT_EXCEEDED"


def test_index_tries_only_patterns_whose_longest_piece_occurs() -> None:
    """Every piece of a wildcard pattern must occur in a matching path (RFC 9309 §2.2.2), so
    the index looks patterns up by their longest (rarest) piece: a URL holding only a short
    piece common to many rules is not failed closed for the work of trying them all."""
    words = [f"a{i:07d}" for i in range(300)]
    rules = [f"/*x*{word}$" for word in words]
    index = PatternSet([compile_pattern(rule) for rule in rules])
    assert MATCH_WORK_LIMIT < 300 * 3  # trying every rule would exceed the limit
    assert index.first("/x/y") is None
    assert index.first(f"/x/{words[7]}") == 7
    txt = parse("User-agent: *\n" + "".join(f"Disallow: {rule}\n" for rule in rules))
    assert txt.allowed("https://example.com/x/y", "GPTBot")
    assert not txt.allowed(f"https://example.com/x/{words[7]}", "GPTBot")


def _work_needed(patterns: list[str], path: str) -> int:
    """The smallest work limit under which PatternSet answers, not WORK_LIMIT_EXCEEDED."""
    compiled = [compile_pattern(p) for p in patterns]
    for limit in range(MATCH_WORK_LIMIT):
        if PatternSet(compiled, work_limit=limit).first(path) is not WORK_LIMIT_EXCEEDED:
            return limit
    raise AssertionError("no answer within MATCH_WORK_LIMIT")


@pytest.mark.parametrize(("length", "reading"), [(100, 1), (300, 2)])
def test_index_work_counts_each_candidate_tried(length: int, reading: int) -> None:
    """MATCH_WORK_LIMIT's unit: trying a wildcard pattern costs one, plus one per piece, plus
    one reading of the path per started 256 characters; the work of every candidate tried adds
    up. Seventeen rules that are no candidate come first, so the index (not the walk) answers."""
    misses = [f"/nomatch{i:02d}*x" for i in range(17)]
    path = "/abbbbbb" + "c" * (length - 9) + "z"
    assert len(path) == length

    def needed(tried: int) -> int:
        failing = [f"/abbbbbb*q{i}" for i in range(tried)]
        assert PatternSet([compile_pattern(p) for p in misses + failing]).first(path) is None
        return _work_needed([*misses, *failing, "/abbbbbb*z"], path)

    per_candidate = 1 + reading + 1
    # The limit is inclusive: a question needing exactly the limit is answered.
    assert [needed(tried) for tried in range(5)] == [
        (tried + 1) * per_candidate for tried in range(5)
    ]


@pytest.mark.parametrize(("length", "reading"), [(100, 1), (300, 2)])
def test_index_walk_work_of_a_needle_and_of_a_prefix_candidate(length: int, reading: int) -> None:
    """MATCH_WORK_LIMIT's unit in the walk: a pattern found by its needle (its longest piece is
    not its prefix) costs a search of the path, one reading plus one; one found by its literal
    prefix costs 2; then trying it, one reading plus one per piece."""
    needle_path = "/" + "x" * (length - 5) + "abcz"
    prefix_path = "/abcdef" + "x" * (length - 8) + "z"
    assert _work_needed(["/*abc*z"], needle_path) == (reading + 1) + (reading + 2)
    assert _work_needed(["/abcdef*z"], prefix_path) == 2 + (reading + 1)
