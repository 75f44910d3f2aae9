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


# -- more edges found by the mutation run ----------------------------------------------------------

EXTENSIONS = "".join(f"Disallow: *.{ext}\n" for ext in ("png", "gif", "mp3", "txt", "jpeg"))


def test_aitxt_extension_rules_then_a_root_rule_all_apply() -> None:
    for extra in ("", EXTENSIONS):  # one "*.ext" rule, and a run answered by one lookup
        text = f"User-Agent: *\nAllow: *.jpg\n{extra}Disallow: /\n"
        assert decision(text, "/photo.jpg") is True
        assert decision(text, "/page") is False
        assert decision(text, "/a.png.jpg") is True  # equal length: allow wins
        if extra:
            assert decision(text, "/song.mp3") is False
            assert decision(text, "/x.jpeg") is False  # ".jpeg" (5) outranks ".jpg" (4)
            assert decision(text, "/a.b.c.txt") is False
            assert parse(text).match("/song.mp3", "GPTBot").line == 5


def test_aitxt_start_wildcard_patterns_match_anywhere_or_at_the_end() -> None:
    text = "User-Agent: *\nDisallow: *.jpg$\nDisallow: *private\n"
    assert decision(text, "/x.jpg") is False
    assert decision(text, "/x.jpg.html") is None
    assert decision(text, "/a/private/b") is False
    assert decision(text, "/public") is None


def test_lenient_aitxt_user_agent_starting_with_star_is_the_default_group() -> None:
    assert decision("User-Agent: *bots\nDisallow: /\n", "/a") is False


def test_spawning_generator_pair_without_header_is_the_spawning_dialect() -> None:
    assert parse("User-Agent: *\nDisallow: /\nDisallow: *\n").dialect == "spawning"
    assert parse("User-Agent: *\nDisallow: /\n").dialect == "robots"


def test_aitxt_spawning_comment_header_names_the_dialect_and_comments_are_no_findings() -> None:
    parsed = parse("# Spawning AI\n# a comment\nUser-Agent: *\nDisallow: /private/\n")
    assert parsed.dialect == "spawning"
    assert parsed.findings == ()
    heading = parse("## Spawning AI\nUser-Agent: *\nDisallow: /private/\n")
    assert heading.dialect == "spawning"
    assert heading.findings == ()


def test_aitxt_list_after_an_empty_field_in_a_rules_file_is_reported_once() -> None:
    parsed = parse("User-Agent: *\nDisallow: /a\nAllow:\n  - /b\n")
    assert [(f.code, f.line) for f in parsed.findings] == [("aitxt.invalid-line", 4)]
    assert decision("User-Agent: *\nDisallow: /a\nAllow:\n  - /b\n", "/a/x") is False


def test_aitxt_quote_or_table_line_does_not_stop_the_rules() -> None:
    text = "> note\n| a | b |\nUser-Agent: *\nDisallow: /x\n"
    assert decision(text, "/x/y") is False


@pytest.mark.parametrize(
    ("content_type", "dialect"),
    [
        ("text/plain; charset=utf-8", "robots"),
        ("TEXT/HTML; charset=utf-8", "html"),
        (None, "robots"),
    ],
)
def test_aitxt_media_type_html_is_never_read_as_rules(content_type, dialect) -> None:
    parsed = parse("User-Agent: *\nDisallow: /\n", content_type=content_type)
    assert parsed.dialect == dialect
    if dialect == "html":
        assert [f.message for f in parsed.findings] == ["/ai.txt is served as text/html"]


@pytest.mark.parametrize(
    ("body", "dialect", "message"),
    [
        ("\ufeffUser-Agent: *\nDisallow: /\n", "robots", None),
        (b"\xef\xbb\xbfUser-Agent: *\nDisallow: /\n", "robots", None),
        (
            "\x01\x02\x03\x04\x05\x06 User-Agent: *\nDisallow: /\n",
            "unknown",
            "ai.txt holds binary data, not text",
        ),
        ('<?xml version="1.0"?><ai/>', "unknown", "ai.txt holds an XML document"),
        (
            '<?xml version="1.0"?><html><body>x</body></html>',
            "html",
            "/ai.txt holds an HTML document",
        ),
        (
            "<!doctype html><html><body>User-Agent: *</body></html>",
            "html",
            "/ai.txt holds an HTML document",
        ),
    ],
)
def test_aitxt_content_is_sniffed_before_it_is_read(body, dialect, message) -> None:
    parsed = parse(body)
    assert parsed.dialect == dialect
    if message is None:
        assert parsed.match("/a", "GPTBot").allowed is False
    else:
        assert [f.message for f in parsed.findings] == [message]


def test_lenient_aitxt_markdown_lists_after_a_blank_line_are_markdown() -> None:
    parsed = parse("Title: My site\n\n- first point\n- second point\n- third point\n")
    assert parsed.dialect == "markdown"
    (finding,) = parsed.findings
    assert finding.message == (
        "ai.txt is a Markdown/prose document (e.g. line 3: '- first point'), not ai.txt rules"
    )
    long = parse("- " + "x" * 80 + "\n- b\n")
    assert long.findings[0].message == (
        "ai.txt is a Markdown/prose document (e.g. line 1: '- " + "x" * 57 + "…'), not ai.txt rules"
    )


def test_aitxt_key_value_policy_names_four_keys_then_counts_the_rest() -> None:
    four = parse("A: 1\nB: 2\nC: 3\nD: 4\n")
    assert (
        four.findings[0].message == "ai.txt is a Key: value policy (a, b, c, d), not ai.txt rules"
    )
    five = parse("A: 1\nB: 2\nC: 3\nD: 4\nE: 5\n")
    assert five.findings[0].message == (
        "ai.txt is a Key: value policy (a, b, c, d and 1 more), not ai.txt rules"
    )


@pytest.mark.parametrize(
    ("text", "shown"),
    [("> A quote\n> more\nsome words here\n", "> A quote"), ("```\ncode\n```\n", "```")],
)
def test_lenient_aitxt_quotes_and_code_fences_are_markdown(text: str, shown: str) -> None:
    parsed = parse(text)
    assert parsed.dialect == "markdown"
    assert [(f.line, f.message) for f in parsed.findings] == [
        (1, f"ai.txt is a Markdown/prose document (e.g. line 1: '{shown}'), not ai.txt rules")
    ]


def test_aitxt_versioned_user_agent_value_selects_its_product_token() -> None:
    text = "User-Agent: GPTBot/1.1\nDisallow: /\n\nUser-Agent: *\nAllow: /\n"
    assert decision(text, "/a", "GPTBot") is False
    assert decision(text, "/a", "CCBot") is True
    assert parse(text).agent_group("GPTBot") == "GPTBot/1.1"


def test_aitxt_agent_group_is_none_when_no_group_applies() -> None:
    assert parse("User-Agent: GPTBot\nDisallow: /\n").agent_group("CCBot") is None
    assert parse("# Title\n\nSome prose here.\n").agent_group("GPTBot") is None


def test_aitxt_empty_field_on_the_last_line_without_newline() -> None:
    parsed = parse("User-Agent: *\nDisallow: /x\nDisallow:")
    assert parsed.dialect == "robots"
    assert decision("User-Agent: *\nDisallow: /x\nDisallow:", "/x") is False


def test_aitxt_match_evidence_is_the_rule_as_written() -> None:
    match = parse("User-Agent: *\nDisallow: /x  # no training\n").match("/x/1", "GPTBot")
    assert (match.raw, match.line, match.agent_group) == ("Disallow: /x  # no training", 2, "*")


# -- found by the re-run on the 0.2 code (SEED=18) -------------------------------------------------


def test_aitxt_html_media_type_with_several_parameters_is_not_read() -> None:
    """RFC 9110 §8.3.1: the media type is what precedes the *first* ';' of Content-Type."""
    parsed = parse(
        "User-Agent: *\nDisallow: /\n", content_type="text/html; charset=utf-8; profile=x"
    )
    assert parsed.dialect == "html"
    assert parsed.match("/a", "GPTBot") is None
    assert [(f.code, f.message) for f in parsed.findings] == [
        ("aitxt.html-content", "/ai.txt is served as text/html")
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "ai.txt is empty"),
        (" \n\t\x0b\r\n", "ai.txt is empty"),
        ("# Spawning AI\n# nothing reserved yet\n", "ai.txt holds only comments"),
    ],
)
def test_aitxt_file_without_rules_is_reported_empty(body: str, message: str) -> None:
    """Spawning's generator writes rules under '# Spawning AI': comments alone state nothing
    (neither a Markdown document nor a reservation)."""
    parsed = parse(body)
    assert (parsed.dialect, parsed.interpretable) == ("empty", False)
    assert [(f.code, f.severity.value, f.line, f.message) for f in parsed.findings] == [
        ("aitxt.empty-file", "info", None, message)
    ]


def test_lenient_aitxt_rules_after_a_yaml_list_are_still_read() -> None:
    text = "User-Agent: *\nAllow:\n  - /b\nDisallow: /a\n"
    assert decision(text, "/a/x") is False
    assert decision(text, "/b/x") is None  # the list item is not a rule
    assert [(f.code, f.line) for f in parse(text).findings] == [("aitxt.invalid-line", 3)]


def test_lenient_aitxt_yaml_list_of_user_agents_is_not_read() -> None:
    """A 'User-Agent:' whose value is a YAML list names no agent (the list is not robots.txt
    syntax, RFC 9309 §2.2): its rules apply to no one, and the parser does not raise."""
    parsed = parse("User-Agent:\n  - GPTBot\nDisallow: /x\n")
    assert parsed.match("/x/1", "GPTBot") is None
    assert parsed.agent_group("GPTBot") is None
    assert [(f.code, f.line, f.message) for f in parsed.findings] == [
        ("aitxt.invalid-line", 2, "line 2 is not a directive")
    ]


def test_lenient_aitxt_ini_section_line_does_not_stop_the_rules() -> None:
    text = "[ai.txt]\nUser-Agent: *\nDisallow: /x\n"
    assert decision(text, "/x/y") is False
    assert [(f.code, f.line) for f in parse(text).findings] == [("aitxt.invalid-line", 1)]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("[AI policy]\nNo training please.\n", "[AI policy]"),
        ("| Use | Allowed |\n|---|---|\n| Training | no |\n", "| Use | Allowed |"),
    ],
)
def test_lenient_aitxt_ini_sections_and_tables_are_documents(text: str, shown: str) -> None:
    parsed = parse(text)
    assert parsed.dialect == "markdown"
    assert [(f.code, f.line, f.message) for f in parsed.findings] == [
        (
            "aitxt.markdown-dialect",
            1,
            f"ai.txt is a Markdown/prose document (e.g. line 1: '{shown}'), not ai.txt rules",
        )
    ]


@pytest.mark.parametrize(
    "text", ["We do not allow AI training on this site.\n", "https://example.com/ai-policy\n"]
)
def test_aitxt_prose_or_a_bare_url_is_an_unknown_dialect(text: str) -> None:
    """A URL's 'https:' is not a field name: a file of prose or links is neither rules nor a
    Key: value policy."""
    parsed = parse(text)
    assert (parsed.dialect, parsed.interpretable) == ("unknown", False)
    assert [(f.code, f.severity.value, f.line, f.message) for f in parsed.findings] == [
        (
            "aitxt.unknown-dialect",
            "error",
            1,
            "ai.txt holds text without rules, fields or structure",
        )
    ]


def test_aitxt_value_starting_with_a_letter_is_not_a_pattern() -> None:
    """RFC 9309 §2.2.2: a path pattern starts with '/' (ai.txt also accepts Spawning's '*')."""
    parsed = parse("User-Agent: *\nDisallow: /a\nDisallow: X-files\n")
    assert [(f.code, f.severity.value, f.line, f.message) for f in parsed.findings] == [
        (
            "aitxt.invalid-pattern",
            "warning",
            3,
            "'X-files' is not a path pattern; the rule matches nothing",
        )
    ]
    assert [len(group.rules) for group in parsed.groups] == [1]


def test_spawning_extension_rules_match_at_any_dot_of_the_path() -> None:
    """Spawning's '*.mp3' has no '$': it matches wherever '.mp3' occurs (signals.md §4.1),
    also before the last dot, and also when a run of extension rules is looked up at once."""
    text = "User-Agent: *\n" + "".join(f"Disallow: *.{e}\n" for e in ("png", "gif", "mp3", "txt"))
    assert decision(text, "/song.mp3/download.html") is False
    assert decision(text, "/a.b/c.txt") is False
    assert decision(text, "/a.html") is None


def test_aitxt_product_token_starting_with_a_digit_names_its_group() -> None:
    """RFC 9309 §2.2.1 matches the User-Agent value case-insensitively; a value that is not a
    letter-led token (360Spider) still names its own group."""
    text = "User-Agent: 360Spider\nDisallow: /\n\nUser-Agent: *\nAllow: /\n"
    assert decision(text, "/a", "360Spider") is False
    assert decision(text, "/a", "360spider/2.0") is False
    assert decision(text, "/a", "GPTBot") is True


def test_aitxt_many_rules_through_the_index_keep_their_evidence() -> None:
    """More than 256 rules are matched through the rule index: same longest-match answer
    (RFC 9309 §2.2.2), same line and group as the plain scan."""
    rules = "".join(f"Disallow: /dir{i}/\n" for i in range(300))
    text = f"User-Agent: GPTBot\n{rules}Allow: /dir7/open\n"
    parsed = parse(text)
    closed = parsed.match("https://example.com/dir7/x", "GPTBot")
    assert (closed.allowed, closed.line, closed.agent_group, closed.raw) == (
        False,
        9,
        "GPTBot",
        "Disallow: /dir7/",
    )
    opened = parsed.match("https://example.com/dir7/open/y", "GPTBot")
    assert (opened.allowed, opened.line, opened.pattern) == (True, 302, "/dir7/open")
    assert parsed.match("https://example.com/other", "GPTBot") is None
    assert parsed.match("https://example.com/dir7/x", "CCBot") is None


def test_aitxt_work_limit_answer_fails_closed_on_no_file_line() -> None:
    from reservation_crawler.signals.patterns import MATCH_WORK_LIMIT
    from reservation_crawler.testing import adversarial

    parsed = parse(adversarial.ai_txt(2000))
    match = parsed.match("https://example.com" + adversarial.url_paths(1)[0], "GPTBot")
    assert (match.allowed, match.line, match.agent_group) == (False, 0, "*")
    assert match.raw.startswith(f"more than {MATCH_WORK_LIMIT:,} wildcard pattern pieces")
    assert match.raw.endswith("disallowed (fail closed)")
