"""Spawning ai.txt (robots.txt syntax and matching, read as training permission) decisions that
mutation testing found unprotected (issue #18), and the dialect detection in front of them."""

from __future__ import annotations

import pytest

from reservation_crawler.signals.aitxt import parse


def decision(text: str, path: str, agent: str = "GPTBot") -> bool | None:
    """True allowed, False disallowed, None no rule applies."""
    match = parse(text).match("https://example.com" + path, agent)
    return None if match is None else match.allowed


# -- matching (RFC 9309 §2.2.2/§2.2.3, which ai.txt borrows) -------------------------------------


def test_aitxt_trailing_wildcard_matches_only_its_prefix() -> None:
    text = "User-Agent: *\nDisallow: /private*\n"
    assert decision(text, "/private/x") is False
    assert decision(text, "/private") is False
    assert decision(text, "/public") is None
    assert decision(text, "/") is None


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("/a*b*c", "/ac", None),
        ("/a*b*c", "/a/b/c", False),
        ("/*.jpg$", "/x.jpg", False),
        ("/*.jpg$", "/x.jpg.html", None),
        ("*.jpg", "/x.jpg.html", False),  # Spawning's own shape: no "$", so a substring
        ("/img/*.png", "/img/a.png", False),
        ("/img/*.png", "/other/a.png", None),
        ("/exact$", "/exact", False),
        ("/exact$", "/exact/more", None),
    ],
)
def test_aitxt_patterns_match_as_robots_txt_patterns(pattern, path, expected) -> None:
    assert decision(f"User-Agent: *\nDisallow: {pattern}\n", path) is expected


def test_aitxt_longest_match_wins_and_allow_wins_a_tie() -> None:
    text = (
        "User-Agent: *\nDisallow: /\nAllow: /open/\nDisallow: /open/secret\n"
        "Allow: /tie\nDisallow: /tie\n"
    )
    assert decision(text, "/x") is False
    assert decision(text, "/open/a") is True
    assert decision(text, "/open/secret/b") is False
    assert decision(text, "/tie") is True


def test_aitxt_inline_comment_ends_the_rule_value() -> None:
    text = "User-Agent: *\nDisallow: /x # no training on these\nAllow: /\n"
    assert decision(text, "/x/page") is False
    assert decision(text, "/y") is True
    match = parse(text).match("/x/page", "GPTBot")
    assert (match.line, match.pattern) == (2, "/x")


def test_aitxt_agent_group_replaces_star_case_insensitively() -> None:
    text = "User-Agent: *\nDisallow: /\n\nUser-Agent: gptbot\nAllow: /\n"
    assert decision(text, "/a", "GPTBot") is True
    assert decision(text, "/a", "GPTBot/1.2") is True
    assert decision(text, "/a", "CCBot") is False
    assert parse(text).match("/a", "GPTBot").agent_group == "gptbot"


# -- dialect: only robots-style rules are read as permissions -----------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "User-Agent: *\nDisallow:\n  - /private\n",  # YAML-style list, indented
        "User-Agent: *\nDisallow:\n- /private\n",  # YAML-style list, not indented
        "Allow:\n- images\nDisallow:\n- text\n",
    ],
)
def test_lenient_aitxt_yaml_style_list_is_not_read_as_rules(text: str) -> None:
    parsed = parse(text)
    assert parsed.dialect == "key-value"
    assert not parsed.interpretable
    assert parsed.match("/private/x", "GPTBot") is None
    (finding,) = parsed.findings
    assert finding.code == "aitxt.key-value-dialect"
    assert "has no path, so it matches nothing" in finding.message


def test_aitxt_empty_disallow_is_a_rule_that_matches_nothing() -> None:
    text = "User-Agent: *\nDisallow:\n\nUser-Agent: GPTBot\nDisallow: /\n"
    parsed = parse(text)
    assert parsed.dialect in ("robots", "spawning")
    assert decision(text, "/a", "CCBot") is None
    assert decision(text, "/a", "GPTBot") is False


def test_aitxt_spawning_generator_file_blocks_everything() -> None:
    text = (
        "# Spawning AI\n# Prevent datasets from using the following file types\n"
        "User-Agent: *\nDisallow: /\nDisallow: *\n"
    )
    parsed = parse(text)
    assert parsed.dialect == "spawning"
    assert decision(text, "/anything.jpg") is False
    assert decision(text, "/") is False


def test_aitxt_findings_name_the_line() -> None:
    parsed = parse(
        "Disallow: /early\n"  # 1
        "User-Agent: *\n"  # 2
        "/\n"  # 3: the WordPress plugin's stray line
        "Disallow: images\n"  # 4
        "Sitemap: https://example.com/s.xml\n"  # 5
        "Frobnicate: yes\n"  # 6
        "Disallow: /x\n"  # 7
    )
    got = [(f.code, f.line, f.message) for f in parsed.findings]
    assert ("aitxt.rules-before-user-agent", 1) in [(c, n) for c, n, _m in got]
    assert ("aitxt.stray-slash-line", 3) in [(c, n) for c, n, _m in got]
    assert (
        "aitxt.invalid-pattern",
        4,
        "'images' is not a path pattern; the rule matches nothing",
    ) in got
    assert (
        "aitxt.robots-txt-record",
        5,
        "'Sitemap: https://example.com/s.xml' is a robots.txt record; in ai.txt it is ignored",
    ) in got
    assert (
        "aitxt.unknown-directive",
        6,
        "'frobnicate' is not an ai.txt directive; the line is ignored",
    ) in got
    assert decision("User-Agent: *\n/\nDisallow: images\nDisallow: /x\n", "/x") is False
