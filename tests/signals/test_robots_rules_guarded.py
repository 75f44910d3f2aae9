"""RFC 9309 decisions that mutation testing found unprotected (issue #18), written from the RFC
(and attach-05 for Content-Usage, google/robotstxt for the Google profile), plus the wording of
the findings a publisher reads: code, severity, line and the key fragment of the message."""

from __future__ import annotations

import pytest

from reservation_crawler.model.findings import Severity
from reservation_crawler.signals.aipref import combine_content_usages
from reservation_crawler.signals.patterns import compile_pattern
from reservation_crawler.signals.robots import MAX_BYTES, parse


def only(findings, code):
    """The one finding with ``code`` (fails when there are none or several)."""
    (finding,) = [f for f in findings if f.code == code]
    return finding


# -- RFC 9309 §2.2.2: longest match, whatever the number of rules ------------------------------

# More than a handful of plain rules: real files list dozens of directories. The answer must not
# depend on how many rules the group has.
MANY_DIRECTORIES = "".join(f"Disallow: /d{i}/\n" for i in range(40))


@pytest.mark.parametrize("extra", ["", MANY_DIRECTORIES], ids=["few-rules", "many-rules"])
def test_rfc9309_disallow_root_blocks_every_path_not_allowed_by_a_longer_rule(extra: str) -> None:
    txt = parse(f"User-agent: *\nDisallow: /\nAllow: /p3\nAllow: /*.css\n{extra}")
    assert not txt.allowed("/zzz", "AnyBot")
    assert not txt.allowed("/", "AnyBot")
    assert not txt.allowed("/d7/x", "AnyBot")
    assert txt.allowed("/p3/x", "AnyBot")  # "/p3" (3 octets) outranks "/" (1)
    assert txt.allowed("/theme/site.css", "AnyBot")  # "/*.css" (6) outranks "/"
    assert not txt.allowed("/theme/site.js", "AnyBot")


@pytest.mark.parametrize("extra", ["", MANY_DIRECTORIES], ids=["few-rules", "many-rules"])
def test_rfc9309_longest_rule_wins_over_shorter_prefixes(extra: str) -> None:
    txt = parse(f"User-agent: *\nAllow: /\nDisallow: /a\nAllow: /ab\nDisallow: /abc\n{extra}")
    assert txt.allowed("/x", "AnyBot")
    assert not txt.allowed("/a", "AnyBot")
    assert txt.allowed("/ab", "AnyBot")
    assert not txt.allowed("/abc/d", "AnyBot")
    assert txt.allowed("/d39/x", "AnyBot") is (extra == "")  # the 40th directory, if any
    explanation = txt.explain("/abc/d", "AnyBot")
    assert (explanation.rule.raw, explanation.rule.line) == ("Disallow: /abc", 5)


def test_rfc9309_equal_length_allow_wins_with_many_rules() -> None:
    txt = parse("User-agent: *\nDisallow: /shop\nAllow: /shop\n" + MANY_DIRECTORIES)
    assert txt.allowed("/shop/cart", "AnyBot")
    assert not txt.allowed("/d0/", "AnyBot")


# -- RFC 9309 §2.2.3: "*" and "$" ---------------------------------------------------------------


def test_rfc9309_every_literal_piece_between_wildcards_must_occur_in_order() -> None:
    pattern = compile_pattern("/a*b*c")
    assert pattern.matches("/abc")
    assert pattern.matches("/a-x-b-y-c-z")
    assert not pattern.matches("/ac")  # no "b" between "a" and "c"
    assert not pattern.matches("/acb")  # "b" present, but not before "c"
    txt = parse("User-agent: *\nDisallow: /a*b*c\n")
    assert txt.allowed("/ac", "AnyBot")
    assert not txt.allowed("/a/b/c", "AnyBot")


def test_rfc9309_dollar_anchors_the_end_after_a_wildcard() -> None:
    assert compile_pattern("/a*b$").matches("/ab")  # "*" matches the empty string
    assert compile_pattern("/a*b$").matches("/axxb")
    assert not compile_pattern("/a*b$").matches("/abx")
    # The piece after "*" must fit after the prefix: "/ab" + "b" needs three octets after "/".
    assert not compile_pattern("/ab*b$").matches("/ab")
    assert compile_pattern("/ab*b$").matches("/abb")
    txt = parse("User-agent: *\nDisallow: /*.php$\n")
    assert not txt.allowed("/d/b.php", "AnyBot")
    assert txt.allowed("/a.php?x=1", "AnyBot")  # RFC 9309 §2.2.3 example


def test_rfc9309_anchored_non_ascii_pattern_keeps_its_path() -> None:
    pattern = compile_pattern("/café$")
    assert pattern.normalized == "/caf%C3%A9$"
    assert pattern.matches("/caf%C3%A9")
    assert not pattern.matches("/")
    assert not pattern.matches("/caf%C3%A9/x")
    txt = parse("User-agent: *\nDisallow: /café$\n")
    assert not txt.allowed("https://example.com/café", "AnyBot")
    assert txt.allowed("https://example.com/", "AnyBot")
    assert txt.allowed("https://example.com/other", "AnyBot")


# -- attach-05: Content-Usage path rules (longest match, like Allow/Disallow) -------------------


def test_aipref_content_usage_rule_for_another_path_does_not_hide_the_matching_one() -> None:
    txt = parse(
        "User-agent: *\nAllow: /\n"
        "Content-Usage: /docs/ train-ai=y\n"
        "Content-Usage: /blog/ train-ai=n\n"
        "Content-Usage: /shop/ search=n\n"
    )
    assert combine_content_usages(txt.content_usages("/blog/post", "AnyBot")) == {"train-ai": False}
    assert combine_content_usages(txt.content_usages("/shop/x", "AnyBot")) == {"search": False}
    assert txt.content_usages("/other", "AnyBot") == ()
    (usage,) = txt.content_usages("/blog/post", "AnyBot")
    assert usage.line == 4


def test_aipref_content_usage_longest_path_wins_and_ties_are_all_returned() -> None:
    txt = parse(
        "User-Agent: *\nAllow: /\n"
        "Content-Usage: train-ai=n\n"
        "Content-Usage: /ai-ok/ train-ai=y\n"
        "Content-Usage: /ai-ok/ search=n\n"
    )
    assert combine_content_usages(txt.content_usages("/test", "AnyBot")) == {"train-ai": False}
    assert [u.line for u in txt.content_usages("/ai-ok/test", "AnyBot")] == [4, 5]


# -- RFC 9309 §2.5: the 500 KiB limit, whole lines kept ------------------------------------------


def _oversized(newline: str) -> tuple[str, int]:
    """A file whose last whole line within 512,000 bytes disallows /kept-last; the line cut
    at the limit would disallow /cut-off. Returns the text and the kept line's number."""
    head = "User-agent: *\n".replace("\n", newline)
    filler_line = "Disallow: /filler-" + "x" * 60 + newline
    kept = "Disallow: /kept-last" + newline
    count = (MAX_BYTES - len(head) - len(kept) - 10) // len(filler_line)
    body = head + filler_line * count + kept
    body += "Disallow: /cut-off-" + "y" * (MAX_BYTES + 100 - len(body)) + newline
    assert len(body.encode()) > MAX_BYTES
    return body, 1 + count + 1


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
@pytest.mark.parametrize("as_bytes", [True, False], ids=["bytes", "str"])
def test_rfc9309_oversized_file_keeps_its_last_whole_line_exactly(
    newline: str, as_bytes: bool
) -> None:
    body, kept_line = _oversized(newline)
    txt = parse(body.encode() if as_bytes else body)
    assert txt.truncated
    assert not txt.allowed("/kept-last", "AnyBot")
    assert txt.allowed("/kept-las", "AnyBot")  # not one character lost from the pattern
    assert txt.explain("/kept-last", "AnyBot").rule.line == kept_line
    assert txt.allowed("/cut-off-yyy", "AnyBot")  # the partial line is not read
    finding = only(txt.findings, "robots.too-large")
    assert finding.severity is Severity.WARNING
    assert f"file is {len(body.encode()):,} bytes" in finding.message
    assert "whole lines within 512,000" in finding.message
    if newline != "\r":
        assert finding.line == kept_line + 1  # the first line not read


def test_rfc9309_file_of_exactly_the_limit_is_read_whole() -> None:
    body = "User-agent: *\nDisallow: /z\n"
    body += "#" * (MAX_BYTES - len(body))
    assert len(body) == MAX_BYTES
    txt = parse(body.encode())
    assert not txt.truncated
    assert not txt.allowed("/z", "AnyBot")
    assert "robots.too-large" not in {f.code for f in txt.findings}


# -- Google profile: "Allow: /d/index.html" also allows "/d/" (robots.cc HandleAllow) ---------


@pytest.mark.parametrize("index", ["index.html", "index.htm"])
def test_lenient_google_index_html_allow_also_allows_its_directory(index: str) -> None:
    text = f"User-agent: *\nDisallow: /d/\nAllow: /d/{index}\n"
    google = parse(text, profile="google")
    assert google.allowed(f"/d/{index}", "AnyBot")
    assert google.allowed("/d/", "AnyBot")
    assert not google.allowed("/d/other", "AnyBot")  # only the directory itself ("/d/$")
    assert not google.allowed("/d/x/", "AnyBot")
    rfc = parse(text)
    assert not rfc.allowed("/d/", "AnyBot")  # RFC 9309 has no such rule


def test_lenient_google_index_html_rule_needs_the_exact_file_name() -> None:
    google = parse("User-agent: *\nDisallow: /d/\nAllow: /d/myindex.html\n", profile="google")
    assert not google.allowed("/d/", "AnyBot")
    root = parse("User-agent: *\nDisallow: /\nAllow: /index.html\n", profile="google")
    assert root.allowed("/", "AnyBot")
    assert not root.allowed("/x", "AnyBot")


# -- RFC 9309 §2.2.1: a crawler's own group replaces "*"; the finding that says so -------------


def test_rfc9309_empty_disallow_in_star_group_restricts_nothing_so_no_discard_finding() -> None:
    # The most common shape on the web: "User-agent: *" + "Disallow:" (allow all).
    txt = parse("User-agent: GPTBot\nAllow: /\n\nUser-agent: *\nDisallow:\n")
    assert "robots.group-discards-global-rules" not in {f.code for f in txt.findings}
    assert txt.allowed("/x", "OtherBot")


def test_rfc9309_every_group_that_drops_the_star_rules_is_reported() -> None:
    txt = parse(
        "User-agent: *\nDisallow: /private/\nDisallow: /tmp/\n\n"
        "User-agent: GPTBot\nAllow: /\n\n"
        "User-agent: CCBot\nDisallow: /x/\n\n"
        "User-agent: ClaudeBot\n"
    )
    found = [f for f in txt.findings if f.code == "robots.group-discards-global-rules"]
    assert [(f.line, f.severity) for f in found] == [(5, Severity.WARNING), (11, Severity.WARNING)]
    gpt, claude = found
    assert gpt.message == (
        "the group for 'GPTBot' has only Allow rules, so 'GPTBot' ignores the '*' rules: "
        "'Disallow: /private/' (line 2), 'Disallow: /tmp/' (line 3)"
    )
    assert claude.message.startswith("the group for 'ClaudeBot' has no rules, so 'ClaudeBot'")
    assert txt.allowed("/private/a", "GPTBot")  # what the finding warns about
    assert txt.allowed("/private/a", "ClaudeBot")
    assert not txt.allowed("/private/a", "OtherBot")


def test_rfc9309_discard_finding_shows_three_rules_then_counts_the_rest() -> None:
    star = "".join(f"Disallow: /p{i}/\n" for i in range(5))
    txt = parse(f"User-agent: *\n{star}\nUser-agent: GPTBot\nAllow: /\n")
    finding = only(txt.findings, "robots.group-discards-global-rules")
    assert finding.message.endswith(
        "'Disallow: /p0/' (line 2), 'Disallow: /p1/' (line 3), 'Disallow: /p2/' (line 4) and 2 more"
    )


# -- findings a publisher reads: code, severity, line, message ----------------------------------


def test_rfc9309_findings_name_the_line_and_the_problem() -> None:
    txt = parse(
        "Disallow: /early\n"  # 1
        "User-agent: GPTBot\n"  # 2
        "Disallow: private/\n"  # 3
        "Disallow: https://example.com/x\n"  # 4
        "Crawl-delay: soon\n"  # 5
        "Frobnicate: 1\n"  # 6
        "just words here\n"  # 7
        "User-agent: gptbot\n"  # 8
        "Disallow: /y\n"  # 9
        "License: /license.xml\n"  # 10
    )
    got = {f.code: (f.severity, f.line, f.message) for f in txt.findings}
    assert got["robots.rules-before-user-agent"][1] == 1
    local, url = [f for f in txt.findings if f.code == "robots.pattern-not-rooted"]
    assert (local.line, local.message) == (
        3,
        "'Disallow: private/' never matches: paths start with '/'",
    )
    assert (url.line, url.message) == (
        4,
        "'Disallow: https://example.com/x' never matches: a rule takes a path, not a full URL",
    )
    assert local.severity is Severity.WARNING
    assert got["robots.invalid-crawl-delay"][1:] == (5, "Crawl-delay 'soon' is not a number")
    assert got["robots.unknown-key"][1:] == (6, "unknown key 'Frobnicate' ignored")
    assert got["robots.invalid-line"][1:] == (7, "line is not 'key: value'; ignored")
    assert got["robots.groups-merged"][1:] == (
        2,
        "'gptbot' is named in 2 groups (lines 2, 8); their rules are merged",
    )
    assert got["robots.license-not-absolute"][1:] == (
        10,
        "License '/license.xml' is not an absolute URL",
    )


def test_rfc9309_extension_outside_group_names_the_record_and_line() -> None:
    txt = parse("Content-Signal: ai-train=no\n\nUser-agent: *\nAllow: /\n")
    finding = only(txt.findings, "robots.extension-outside-group")
    assert (finding.line, finding.message) == (
        1,
        "Content-Signal before any User-agent line applies to no crawler",
    )


# -- more RFC 9309 edges found by the mutation run ------------------------------------------------


@pytest.mark.parametrize("anchor", ["", "$"])
def test_rfc9309_equal_length_wildcard_rules_allow_wins(anchor: str) -> None:
    for order in (
        "Disallow: /*.pdf{a}\nAllow: /*.pdf{a}\n",
        "Allow: /*.pdf{a}\nDisallow: /*.pdf{a}\n",
    ):
        txt = parse("User-agent: *\n" + order.format(a=anchor))
        assert txt.allowed("/doc/a.pdf", "AnyBot")
        assert txt.explain("/doc/a.pdf", "AnyBot").rule.allow


def test_rfc9309_explain_names_the_first_of_identical_wildcard_rules() -> None:
    txt = parse("User-agent: *\nDisallow: /*.pdf\nDisallow: /*.pdf\n")
    assert txt.explain("/a.pdf", "AnyBot").rule.line == 2


@pytest.mark.parametrize("separator", [": ", " "], ids=["colon", "missing-colon"])
def test_rfc9309_only_space_and_tab_are_whitespace_around_a_value(separator: str) -> None:
    # RFC 9309 ABNF: WS is SP / HTAB. A trailing no-break space belongs to the path.
    txt = parse(f"User-agent: *\nDisallow{separator}/x\u00a0\t\n")
    assert txt.allowed("/xyz", "AnyBot")
    assert not txt.allowed("/x%C2%A0", "AnyBot")


def test_rfc9309_invalid_lines_are_counted_from_the_first() -> None:
    txt = parse("User-agent: *\nhello world\nfoo bar baz\nqux quux\nDisallow: /\n")
    finding = only(txt.findings, "robots.invalid-line")
    assert (finding.line, finding.message) == (2, "line is not 'key: value'; ignored (and 2 more)")
    assert not txt.allowed("/a", "AnyBot")


def test_rfc9309_html_body_is_reported_on_line_1() -> None:
    txt = parse("<!DOCTYPE html><html><body>Not found</body></html>")
    finding = only(txt.findings, "robots.html-body")
    assert (finding.line, finding.message) == (
        1,
        "the body looks like an HTML page, not a robots.txt; its lines are not rules",
    )


def test_rfc9309_record_and_explanation_wording() -> None:
    txt = parse(
        "Crawl-delay: 5\n"  # 1
        "Content-Usage: train-ai=n\n"  # 2
        "User-agent: GPTBot\n"  # 3
        "User-agent: ClaudeBot\n"  # 4
        "Disallow /x\n"  # 5
        "Foo: 1\n"  # 6
        "foo: 2\n"  # 7
    )
    got = [(f.code, f.line, f.message) for f in txt.findings]
    assert (
        "robots.extension-outside-group",
        1,
        "Crawl-delay before any User-agent line applies to no crawler",
    ) in got
    assert (
        "robots.extension-outside-group",
        2,
        "Content-Usage before any User-agent line applies to no crawler",
    ) in got
    assert ("robots.missing-colon", 5, "'Disallow /x' read as 'Disallow: /x'") in got
    assert ("robots.unknown-key", 6, "unknown key 'Foo' ignored (2 lines)") in got
    assert "robots.invalid-line" not in [code for code, _l, _m in got]  # "Disallow /x" is read
    assert txt.explain("/x", "GPTBot").reason == (
        "'Disallow /x' (line 5) disallows it: the longest matching rule in the group for 'GPTBot' "
        "(line 3)"
    )
    star = parse("User-agent: *\nUser-agent: CCBot\nDisallow: /\n")
    assert star.explain("/robots.txt", "AnyBot").reason == (
        "/robots.txt itself is always allowed (RFC 9309 §2.2.2)"
    )
    assert "(lines 1, 2)" not in star.explain("/a", "AnyBot").reason
    assert star.explain("/a", "AnyBot").reason.endswith("(line 1)")


def test_lenient_google_profile_names_the_group_as_the_file_writes_it() -> None:
    google = parse("User-agent: GPTBot/1.1\nDisallow: /x\n", profile="google")
    assert google.explain("/x", "gptbot").agent_group == "GPTBot"


def test_lenient_star_then_text_is_the_star_group_only_after_whitespace() -> None:
    # google/robotstxt: "*" followed by whitespace and junk is the global group; "*junk" is not.
    spaced = parse("User-agent: * junk\nDisallow: /\n")
    assert not spaced.allowed("/a", "AnyBot")
    (finding,) = spaced.findings
    assert (finding.line, finding.message) == (1, "'* junk' read as '*' (text after '*' ignored)")
    glued = parse("User-agent: *junk\nDisallow: /\n")
    assert glued.allowed("/a", "AnyBot")
    (finding,) = glued.findings
    assert finding.code == "robots.invalid-product-token"
    assert "read as '*'" not in finding.message
    assert finding.message.endswith("we match '*junk', Google ignores it")


# -- found by the re-run on the 0.2 code (SEED=18) -------------------------------------------------


def test_rfc9309_merged_groups_of_a_token_with_digits_are_reported_by_their_lines() -> None:
    """§2.2.1: groups naming the same product token are merged; a value with digits (AI2Bot)
    is matched whole, so its own lines are the ones reported."""
    txt = parse("User-agent: AI2Bot\nDisallow: /a\n\nUser-agent: AI2Bot\nDisallow: /b\n")
    merged = [f for f in txt.findings if f.code == "robots.groups-merged"]
    assert (merged[0].severity, merged[0].line, merged[0].message) == (
        Severity.INFO,
        1,
        "'ai2bot' is named in 2 groups (lines 1, 4); their rules are merged",
    )
    assert not txt.allowed("/a/1", "AI2Bot") and not txt.allowed("/b/1", "AI2Bot")


def test_rfc9309_allow_only_group_of_a_token_with_digits_drops_the_star_rules() -> None:
    txt = parse("User-agent: AI2Bot\nAllow: /a\n\nUser-agent: *\nDisallow: /b\n")
    finding = only(txt.findings, "robots.group-discards-global-rules")
    assert (finding.severity, finding.line, finding.message) == (
        Severity.WARNING,
        1,
        "the group for 'AI2Bot' has only Allow rules, so 'AI2Bot' ignores the '*' rules: "
        "'Disallow: /b' (line 5)",
    )
    assert txt.allowed("/b/1", "AI2Bot") and not txt.allowed("/b/1", "GPTBot")


def test_rfc9309_every_user_agent_line_of_a_star_group_is_checked() -> None:
    txt = parse("User-agent: *\nUser-agent: GPTBot/1.1\nDisallow: /\n")
    finding = only(txt.findings, "robots.invalid-product-token")
    assert finding.line == 2
    assert finding.message.startswith("'GPTBot/1.1' is not a valid product token")


def test_rfc9309_empty_user_agent_value_is_reported() -> None:
    finding = only(parse("User-agent:\nDisallow: /\n").findings, "robots.invalid-product-token")
    assert (finding.severity, finding.line, finding.message) == (
        Severity.WARNING,
        1,
        "empty User-agent value: the group applies to no crawler",
    )


def test_crawl_delay_zero_is_a_valid_delay() -> None:
    """Crawl-delay (not in RFC 9309) is a non-negative number of seconds: 0 is valid."""
    txt = parse("User-agent: *\nCrawl-delay: 0\nDisallow: /x\n")
    assert txt.crawl_delay("GPTBot") == 0.0
    assert [f.code for f in txt.findings] == []


def test_rfc9309_html_tag_in_a_comment_is_not_an_html_body() -> None:
    txt = parse("# see the <title> of each page\nUser-agent: *\nDisallow: /x # no <head>\n")
    assert txt.findings == ()
    assert not txt.allowed("/x", "GPTBot")


@pytest.mark.parametrize("profile", ["rfc9309", "google"])
def test_lenient_google_line_limit_counts_bytes_not_characters(profile: str) -> None:
    """google/robotstxt cuts a line after 16,663 bytes (reported in both profiles, read cut
    in Google's): a 5,000-byte line is read whole."""
    body = "User-agent: *\nDisallow: /" + "a" * 5000 + "\nDisallow: /" + "b" * 17000 + "\n"
    txt = parse(body, profile=profile)
    finding = only(txt.findings, "robots.line-too-long")
    assert (finding.severity, finding.line) == (Severity.WARNING, 3)
    assert finding.message == "Line longer than Google's 16,664-byte limit"
    assert not txt.allowed("/" + "a" * 5000, "GPTBot")
    cut = txt.explain("/" + "b" * 17000, "GPTBot").rule
    assert cut is not None and len(cut.pattern.normalized) == (
        16663 - len("Disallow: ") if profile == "google" else 17001
    )


def test_lenient_google_key_prefix_without_colon_is_not_an_invalid_line() -> None:
    """google/robotstxt accepts any key starting with 'disallow' and a colon-less line of two
    words: both are reported as such, not as a line that is ignored."""
    txt = parse("User-agent: *\nDisallowed /x\n", profile="google")
    assert [(f.code, f.line, f.message) for f in txt.findings] == [
        ("robots.key-typo", 2, "'Disallowed' read as 'disallow'"),
        ("robots.missing-colon", 2, "'Disallowed /x' read as 'Disallowed: /x'"),
    ]
    assert not txt.allowed("/x", "GPTBot")


def test_rfc9309_work_limit_answer_is_on_no_file_line() -> None:
    from reservation_crawler.testing import adversarial

    txt = parse(adversarial.robots_txt(2000))
    explanation = txt.explain("https://example.com" + adversarial.url_paths(1)[0], "GPTBot")
    assert explanation.allowed is False
    assert explanation.rule is not None and explanation.rule.line == 0
    assert explanation.reason.endswith("in the 'User-agent: *' group (line 1)")


def test_rfc9309_only_space_and_tab_are_whitespace_around_a_key() -> None:
    """RFC 9309 §2.2 grammar: optional whitespace is SP / HTAB; 'Disallow<NBSP>' is another
    key, ignored as unknown, not a Disallow."""
    txt = parse("User-agent: *\nDisallow\u00a0: /x\nDisallow: /y\n")
    assert txt.allowed("/x", "GPTBot")
    assert not txt.allowed("/y", "GPTBot")
    finding = only(txt.findings, "robots.unknown-key")
    assert (finding.severity, finding.line, finding.message) == (
        Severity.INFO,
        2,
        "unknown key 'Disallow\u00a0' ignored",
    )


def test_rfc9309_a_line_without_key_does_not_end_the_file() -> None:
    """§2.2: lines that are not records are ignored; the records after them still count."""
    txt = parse("User-agent: *\n: stray value\nDisallow: /x\n")
    assert not txt.allowed("/x", "GPTBot")
    finding = only(txt.findings, "robots.invalid-line")
    assert (finding.line, finding.message) == (2, "line is not 'key: value'; ignored")


def test_bounded_work_applies_to_a_few_rules_with_many_wildcard_pieces() -> None:
    """Matching is bounded by pieces examined, not only by the number of rules (#12): 40 rules
    of 20 wildcard pieces each that almost match a URL are answered fail-closed."""
    from reservation_crawler.testing import adversarial

    txt = parse(adversarial.robots_txt(40))
    url = "https://example.com" + adversarial.url_paths(1)[0]
    explanation = txt.explain(url, "GPTBot")
    assert explanation.allowed is False
    assert explanation.rule is not None and explanation.rule.line == 0
    assert "disallowed (fail closed)" in explanation.reason
    assert txt.allowed(url, "GPTBot") is False


# -- Findings and evidence the re-run on the final code found unprotected (session 4) ----------


def test_google_profile_explains_an_invalid_token_as_google_reads_it() -> None:
    """google/robotstxt cuts a User-agent value at the first character other than a letter, '-'
    or '_'; the Google profile's finding says so, the RFC 9309 reading names our matches."""
    text = "User-agent: GoogleBot/2.1\nDisallow: /a\n"
    google = only(parse(text, profile="google").findings, "robots.invalid-product-token")
    assert google.line == 1 and google.severity is Severity.WARNING
    assert "read as 'GoogleBot' (Google cuts at the first character" in google.message
    ours = only(parse(text).findings, "robots.invalid-product-token")
    assert "we match 'googlebot/2.1' or 'googlebot', Google reads it as 'GoogleBot'" in (
        ours.message
    )


def test_a_rules_evidence_keeps_a_trailing_no_break_space() -> None:
    """RFC 9309 §2.2: only space and tab are whitespace around a value; a no-break space ends the
    path (percent-encoded when matching) and the evidence quotes the line as written."""
    txt = parse("User-agent: *\nDisallow: /a\xa0\n")
    explanation = txt.explain("/a%C2%A0", "AnyBot")
    assert not explanation.allowed
    assert explanation.rule.raw == "Disallow: /a\xa0" and explanation.rule.line == 2
