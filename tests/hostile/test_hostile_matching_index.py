"""The rule index (PatternSet) never changes an answer: property tests against a plain linear
scan, for robots.txt (longest match, Allow wins ties), ai.txt and tdmrep.json (first match in
array order), with rule sets large enough to be indexed and full of wildcards (#12 item 3)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reservation_crawler.signals import aitxt, robots, tdmrep
from reservation_crawler.signals.patterns import (
    MATCH_WORK_LIMIT,
    WORK_LIMIT_EXCEEDED,
    PatternSet,
    compile_pattern,
    normalize_url_path,
)
from reservation_crawler.testing.truth import longest_match, pattern_matches

pytestmark = pytest.mark.hostile

# A small alphabet, so that pieces occur in paths and wildcard patterns nearly match.
PIECE = st.text(alphabet="ab/", min_size=0, max_size=4)
PATTERNS = st.builds(
    lambda pieces, anchored: "/" + "*".join(pieces) + ("$" if anchored else ""),
    st.lists(PIECE, min_size=1, max_size=5),
    st.booleans(),
)
PATHS = st.text(alphabet="ab/", max_size=40).map(lambda p: "/" + p)
FAST = settings(max_examples=300, deadline=None)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _linear_first(patterns: list[str], path: str) -> int | None:
    return next((i for i, p in enumerate(patterns) if pattern_matches(p, path)), None)


@FAST
@given(st.lists(PATTERNS, max_size=80), st.lists(PATHS, min_size=1, max_size=10))
def test_pattern_set_first_is_the_linear_first(patterns: list[str], paths: list[str]):
    index = PatternSet([compile_pattern(p) for p in patterns], work_limit=10**9)
    for path in paths:
        assert index.first(path) == _linear_first(patterns, path)


@FAST
@given(st.lists(PATTERNS, max_size=80), PATHS, st.integers(min_value=0, max_value=40))
def test_a_work_limit_gives_the_answer_or_says_it_stopped(
    patterns: list[str], path: str, limit: int
):
    answer = PatternSet([compile_pattern(p) for p in patterns], work_limit=limit).first(path)
    assert answer is WORK_LIMIT_EXCEEDED or answer == _linear_first(patterns, path)


def _robots_body(rules: list[tuple[bool, str]]) -> str:
    lines = ["User-agent: *"]
    lines += [f"{'Allow' if allow else 'Disallow'}: {pattern}" for allow, pattern in rules]
    return "\n".join(lines)


# Enough rules (> 256) to take the indexed path of robots.py and aitxt.py.
MANY_RULES = st.lists(st.tuples(st.booleans(), PATTERNS), min_size=257, max_size=320)


@SETTINGS
@given(MANY_RULES, st.lists(PATHS, min_size=1, max_size=8))
def test_rfc9309_longest_match_through_the_index(rules, paths):
    parsed = robots.parse(_robots_body(rules))
    for path in paths:
        explanation = parsed.explain("https://example.com" + path, "GPTBot")
        expected = longest_match(rules, path)
        if explanation.rule is not None and explanation.rule.line == 0:
            assert not explanation.allowed  # past the work limit: fail closed
            continue
        assert explanation.allowed == (expected is None or expected[0])
        if expected is not None:
            assert explanation.rule is not None
            assert len(explanation.rule.pattern.normalized) == len(expected[1])
        assert parsed.allowed("https://example.com" + path, "GPTBot") == explanation.allowed


@SETTINGS
@given(MANY_RULES, st.lists(PATHS, min_size=1, max_size=8))
def test_aitxt_longest_match_through_the_index(rules, paths):
    # ai.txt reads a value starting with "//" as a comment, not a rule (docs/aitxt.md)
    rules = [(allow, pattern) for allow, pattern in rules if not pattern.startswith("//")]
    parsed = aitxt.parse(_robots_body(rules).replace("User-agent", "User-Agent"))
    for path in paths:
        found = parsed.match("https://example.com" + path, "GPTBot")
        expected = longest_match(rules, path)
        if found is not None and found.line == 0:
            assert not found.allowed
            continue
        if expected is None:
            assert found is None
        else:
            assert found is not None
            assert (found.allowed, len(found.pattern)) == (expected[0], len(expected[1]))


@SETTINGS
@given(st.lists(PATTERNS, min_size=65, max_size=200), st.lists(PATHS, min_size=1, max_size=8))
def test_tdmrep_first_match_in_array_order_through_the_index(patterns, paths):
    body = json.dumps([{"location": p, "tdm-reservation": i % 2} for i, p in enumerate(patterns)])
    parsed = tdmrep.parse_tdmrep_json(body)
    for path in paths:
        rule = parsed.rule_for("https://example.com" + path)
        expected = _linear_first(patterns, normalize_url_path("https://example.com" + path))
        if rule is not None and rule.index == -1:
            assert rule.reservation == 1  # past the work limit: fail closed
            continue
        assert (None if rule is None else rule.index) == expected


# Patterns that are never candidates for PATHS (a needle, prefix or last piece of "z"s), so
# that PatternSet.first's walk gives up after _WALK_MISSES of them and finds the rest through
# its dicts and needle scan: both ways must give the linear answer.
NEVER = st.sampled_from(["/*zz*a", "/zz*a", "/*a*zzz", "/*zz$", "/a*zz$", "/zzz*"])


@FAST
@given(
    st.lists(st.one_of(PATTERNS, NEVER), max_size=80),
    st.integers(min_value=0, max_value=40),
    st.lists(PATHS, min_size=1, max_size=10),
)
def test_the_walk_and_the_indexed_search_give_the_linear_first(
    patterns: list[str], never: int, paths: list[str]
):
    patterns = ["/zz*a"] * never + patterns  # enough misses to leave the walk early, or not
    index = PatternSet([compile_pattern(p) for p in patterns], work_limit=10**9)
    for path in paths:
        assert index.first(path) == _linear_first(patterns, path)


# Patterns and URLs as written by publishers: percent-escapes (of unreserved characters and
# not), non-ASCII, reserved characters, "$" and several "*"; compared after RFC 9309
# normalization with the plain matcher, pattern by pattern.
RAW_PIECE = st.lists(
    st.sampled_from(["a", "b", "/", "%41", "%2f", "%2F", "é", "~", "%7e", "?", "=", "%"]),
    max_size=4,
).map("".join)
RAW_PATTERNS = st.builds(
    lambda head, pieces, anchored: head + "*".join(pieces) + ("$" if anchored else ""),
    st.sampled_from(["/", "*", "/a", "/é"]),
    st.lists(RAW_PIECE, min_size=1, max_size=5),
    st.booleans(),
)
RAW_URLS = st.lists(
    st.sampled_from(["a", "b", "/", "%41", "%2F", "é", "~", "%7E", "?", "=", "%", "#"]),
    max_size=30,
).map(lambda parts: "https://example.com/" + "".join(parts))


@FAST
@given(st.lists(RAW_PATTERNS, max_size=60), st.lists(RAW_URLS, min_size=1, max_size=8))
def test_the_index_agrees_with_the_plain_matcher_on_escapes_and_non_ascii(
    raw: list[str], urls: list[str]
):
    compiled = [compile_pattern(p) for p in raw]
    index = PatternSet(compiled, work_limit=10**9)
    for url in urls:
        path = normalize_url_path(url)
        expected = next((i for i, p in enumerate(compiled) if p.matches(path)), None)
        assert index.first(path) == expected


def test_the_first_adversarial_origin_is_answered_exactly():
    """Its "$"-anchored rules end with letters, its URLs with "/": no rule can match, which
    the index sees from the last pieces, without trying any rule (so no work limit)."""
    from reservation_crawler.testing import adversarial

    parsed = robots.parse(adversarial.robots_txt(2000, anchored=True))
    for path in adversarial.url_paths(3):
        explanation = parsed.explain("https://example.com" + path, "GPTBot")
        assert explanation.allowed and explanation.rule is None


def test_the_work_limit_is_documented_in_the_answer():
    from reservation_crawler.testing import adversarial

    parsed = robots.parse(adversarial.robots_txt(2000))
    explanation = parsed.explain("https://example.com" + adversarial.url_paths(1)[0], "GPTBot")
    assert not explanation.allowed
    assert f"more than {MATCH_WORK_LIMIT:,}" in explanation.reason
