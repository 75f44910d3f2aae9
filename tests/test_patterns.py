"""The shared RFC 9309 path matcher: normalization, `*` / `$`, priority, linear time."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reservation_crawler.signals.patterns import (
    PathPattern,
    compile_pattern,
    normalize_url_path,
    path_params_query,
)

DATA = Path(__file__).parent / "data" / "conformance"
GOOGLE = json.loads((DATA / "google_robotstxt_cases.json").read_text("utf-8"))


@pytest.mark.parametrize(
    "case", GOOGLE["path_params_query_cases"], ids=lambda c: f"line{c['source_line']}"
)
def test_google_get_path_params_query(case: dict) -> None:
    assert path_params_query(case["url"]) == case["expected_path"]


@pytest.mark.parametrize(
    "case", GOOGLE["escape_pattern_cases"], ids=lambda c: f"line{c['source_line']}"
)
def test_google_maybe_escape_pattern(case: dict) -> None:
    assert compile_pattern(case["pattern"], profile="google").normalized == case["expected"]


# RFC 9309 §2.2.2, the example table: path as written -> path to match.
@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/foo/bar?baz=quz", "/foo/bar?baz=quz"),
        ("/foo/bar?baz=https://foo.bar", "/foo/bar?baz=https%3A%2F%2Ffoo.bar"),
        ("/foo/bar/\u30c4", "/foo/bar/%E3%83%84"),
        ("/foo/bar/%E3%83%84", "/foo/bar/%E3%83%84"),
        ("/foo/bar/%62%61%7A", "/foo/bar/baz"),
    ],
)
def test_rfc9309_encoding_table(path: str, expected: str) -> None:
    assert normalize_url_path(path) == expected
    assert compile_pattern(path).normalized == expected


def test_rfc9309_reserved_escapes_are_kept_and_uppercased() -> None:
    # %2f is a reserved character: decoding it would turn data into a path separator.
    assert normalize_url_path("/a%2fb") == "/a%2Fb"
    assert normalize_url_path("/a%7eb") == "/a~b"


def test_rfc9309_fragment_dropped_and_empty_is_root() -> None:
    assert normalize_url_path("https://example.com/a/b?x=1#frag") == "/a/b?x=1"
    assert normalize_url_path("https://example.com") == "/"
    assert normalize_url_path("") == "/"


def test_lenient_characters_invalid_in_uris_are_escaped() -> None:
    assert normalize_url_path("/a b") == "/a%20b"
    assert normalize_url_path("/100%") == "/100%25"
    assert compile_pattern("/a b").normalized == "/a%20b"


def test_rfc9309_literal_star_and_dollar_are_written_escaped() -> None:
    # RFC 9309 §2.2.3: a literal "*" or "$" in a pattern is written %2A / %24.
    star = compile_pattern("/a%2Ab")
    assert star.matches(normalize_url_path("/a*b"))
    assert not star.matches(normalize_url_path("/aXb"))
    dollar = compile_pattern("/price%24")
    assert dollar.matches(normalize_url_path("/price$"))
    # A "$" that is not last is a literal too (as Google reads it).
    assert compile_pattern("/a$b").matches(normalize_url_path("/a$b"))


def test_google_profile_leaves_urls_alone() -> None:
    assert normalize_url_path("/foo/bar/\u30c4", profile="google") == "/foo/bar/\u30c4"
    assert normalize_url_path("/a%7eb", profile="google") == "/a%7eb"
    assert compile_pattern("/a%7eb", profile="google").normalized == "/a%7Eb"


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("/", "/anything", True),
        ("/fish", "/fish.html", True),
        ("/fish", "/Fish.asp", False),
        ("/fish/", "/fish", False),
        ("/*.php", "/folder/filename.php?parameters", True),
        ("/*.php", "/php/", False),
        ("/*.php$", "/filename.php", True),
        ("/*.php$", "/filename.php?parameters", False),
        ("/*.php$", "/filename.php5", False),
        ("/fish*.php", "/fishheads/catfish.php?parameters", True),
        ("/fish*.php", "/Fish.PHP", False),
        ("/$", "/", True),
        ("/$", "/page", False),
        ("/tmp*", "/tmp", True),
        ("/a*$", "/a/anything", True),
        ("/a*b*$", "/a-b-c", True),
        ("*.jpg", "/x/y.jpg", True),
        ("*", "/", True),
        ("/a**b", "/a-b", True),
        ("/a*b*c$", "/abxc", True),
        ("/a*b*c$", "/abcx", False),
        ("foo", "/foo", False),
        ("", "/anything", True),
    ],
)
def test_rfc9309_wildcards(pattern: str, path: str, expected: bool) -> None:
    assert compile_pattern(pattern).matches(normalize_url_path(path)) is expected


def test_rfc9309_priority_is_length_in_octets() -> None:
    assert compile_pattern("/fish").priority == 5
    assert compile_pattern("/*.php$").priority == 7
    # Non-ASCII counts as its percent-encoded octets, as RFC 9309 compares them.
    assert compile_pattern("/\u30c4").priority == len("/%E3%83%84")


def test_pattern_is_immutable_and_cached() -> None:
    pattern = compile_pattern("/private/")
    assert isinstance(pattern, PathPattern)
    with pytest.raises(AttributeError):
        pattern.raw = "/x"  # type: ignore[misc]
    assert compile_pattern("/private/") is pattern


def test_pathological_pattern_is_linear() -> None:
    pattern = compile_pattern("/*a*a*a*a*a*a*a*a*a*b")
    path = "/" + "a" * 10_000
    assert not pattern.matches(path)
    start = time.perf_counter()
    for _ in range(100):
        pattern.matches(path)
    per_call = (time.perf_counter() - start) / 100
    assert per_call < 0.001


def _brute_force(pattern: str, path: str) -> bool:
    """Reference matcher: Google's position-set algorithm (robots.cc ``Matches``)."""
    positions = [0]
    for index, char in enumerate(pattern):
        if char == "$" and index == len(pattern) - 1:
            return positions[-1] == len(path)
        if char == "*":
            positions = list(range(positions[0], len(path) + 1))
        else:
            positions = [p + 1 for p in positions if p < len(path) and path[p] == char]
            if not positions:
                return False
    return True


@given(
    st.text(alphabet="/ab*$", max_size=12),
    st.text(alphabet="/ab", max_size=12),
)
def test_matcher_agrees_with_position_set_reference(pattern: str, path: str) -> None:
    compiled = compile_pattern(pattern, profile="google")
    assert compiled.matches(path) is _brute_force(pattern, path)


@given(st.text(max_size=40))
def test_normalization_never_raises_and_is_idempotent(text: str) -> None:
    once = normalize_url_path(text)
    assert once.startswith("/")
    assert normalize_url_path(once) == once


@given(st.text(max_size=30).filter(lambda t: "*" not in t and "$" not in t))
def test_plain_pattern_shortcut_normalizes_like_compile_pattern(raw: str) -> None:
    from reservation_crawler.signals.patterns import _normalize_plain

    for profile in ("rfc9309", "google"):
        assert _normalize_plain(raw, profile) == compile_pattern(raw, profile=profile).normalized
