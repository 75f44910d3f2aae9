"""reservation_crawler.signals.robots: RFC 9309 behaviour, our tolerances, the Google profile,
explain, extension records and findings."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from reservation_crawler.apps.catalogue import catalogue
from reservation_crawler.model.findings import FindingSpec, Severity
from reservation_crawler.signals import robots
from reservation_crawler.signals.aipref import combine_content_usages
from reservation_crawler.signals.contentsignal import combine_content_signals
from reservation_crawler.signals.robots import MAX_BYTES, parse

SIGNALS = Path(__file__).parent / "data" / "signals"


def codes(text: bytes | str, **kwargs: str) -> list[str]:
    return [f.code for f in parse(text, **kwargs).findings]


# -- group selection (RFC 9309 §2.2.1) ---------------------------------------------------------


def test_rfc9309_product_token_matches_case_insensitively() -> None:
    txt = parse("User-agent: gptbot\nDisallow: /\n")
    assert not txt.allowed("https://example.com/a", "GPTBot")
    assert not txt.allowed("https://example.com/a", "GPTBOT")


def test_rfc9309_product_token_is_never_a_substring() -> None:
    txt = parse("User-agent: ClaudeBot\nDisallow: /\n\nUser-agent: Claude\nAllow: /\n")
    assert txt.allowed("/page", "Claude")
    assert not txt.allowed("/page", "ClaudeBot")
    other = parse("User-agent: ClaudeBot\nDisallow: /\n")
    assert other.allowed("/page", "Claude")
    assert other.allowed("/page", "Bot")


def test_lenient_versioned_token_selects_its_product() -> None:
    txt = parse("User-agent: GPTBot/1.1\nDisallow: /\n")
    assert not txt.allowed("/page", "GPTBot")
    assert txt.allowed("/page", "GPTBot-Image")


def test_lenient_registry_token_with_digits_selects_its_own_line() -> None:
    txt = parse("User-agent: AI2Bot\nDisallow: /private/\n\nUser-agent: *\nDisallow: /\n")
    assert txt.allowed("/public", "AI2Bot")
    assert not txt.allowed("/private/x", "AI2Bot")
    assert txt.explain("/public", "ai2bot").agent_group == "AI2Bot"  # as the file writes it


def test_rfc9309_groups_naming_the_same_token_are_merged() -> None:
    txt = parse(
        "User-agent: ExampleBot\nDisallow: /foo\nDisallow: /bar\n\n"
        "User-agent: *\nDisallow: /other\n\n"
        "User-agent: examplebot\nDisallow: /baz\n"
    )
    for path in ("/foo", "/bar", "/baz"):
        assert not txt.allowed(path, "ExampleBot")
    assert txt.allowed("/other", "ExampleBot")
    assert txt.explain("/baz", "ExampleBot").group_lines == (1, 8)


def test_rfc9309_consecutive_user_agent_lines_share_a_group_across_blank_lines() -> None:
    txt = parse("User-agent: GPTBot\n\n# comment\n\nUser-agent: CCBot\nDisallow: /\n")
    assert not txt.allowed("/x", "GPTBot")
    assert not txt.allowed("/x", "CCBot")


@pytest.mark.parametrize(
    "line",
    [
        "Sitemap: https://example.com/sitemap.xml",
        "Crawl-delay: 5",
        "Content-Signal: ai-train=no",
        # not Content-Usage: aipref makes it a rule (signals/test_robots_group_boundaries.py)
        "License: https://example.com/license.xml",
        "Noindex: /foo",
        "Host: example.com",
    ],
)
def test_rfc9309_other_records_do_not_close_a_group(line: str) -> None:
    txt = parse(f"User-agent: GPTBot\n{line}\nUser-agent: CCBot\nDisallow: /\n")
    assert not txt.allowed("/x", "GPTBot")
    assert not txt.allowed("/x", "CCBot")


def test_rfc9309_user_agent_after_a_rule_starts_a_new_group() -> None:
    txt = parse("User-agent: A\nDisallow: /a\nUser-agent: B\nDisallow: /b\n")
    assert txt.allowed("/b", "A")
    assert txt.allowed("/a", "B")


def test_rfc9309_rules_before_any_user_agent_are_ignored_and_reported() -> None:
    txt = parse("Disallow: /\nUser-agent: *\nDisallow: /private\n")
    assert txt.allowed("/public", "GPTBot")
    found = [f for f in txt.findings if f.code == "robots.rules-before-user-agent"]
    assert [f.line for f in found] == [1]


def test_rfc9309_star_group_only_when_no_group_names_the_agent() -> None:
    txt = parse("User-agent: GPTBot\nAllow: /\n\nUser-agent: *\nDisallow: /\n")
    assert txt.allowed("/x", "GPTBot")
    assert not txt.allowed("/x", "CCBot")
    assert txt.explain("/x", "CCBot").agent_group == "*"


def test_rfc9309_an_empty_specific_group_still_replaces_star() -> None:
    txt = parse("User-agent: GPTBot\n\nUser-agent: *\nDisallow: /\n")
    # The two user-agent lines share one group (blank lines do not end it) ...
    assert not txt.allowed("/x", "GPTBot")
    # ... but a group that only holds a Crawl-delay replaces "*" for its agent.
    txt = parse("User-agent: GPTBot\nCrawl-delay: 3\nDisallow:\n\nUser-agent: *\nDisallow: /\n")
    assert txt.allowed("/x", "GPTBot")


def test_rfc9309_no_group_and_no_star_allows_everything() -> None:
    txt = parse("User-agent: GPTBot\nDisallow: /\n")
    explanation = txt.explain("/x", "CCBot")
    assert txt.allowed("/x", "CCBot")
    assert explanation.agent_group is None
    assert explanation.rule is None
    assert "no group names" in explanation.reason


def test_rfc9309_empty_file_allows_everything() -> None:
    assert parse("").allowed("/x", "GPTBot")
    assert parse(b"").findings == ()


# -- matching (RFC 9309 §2.2.2, §2.2.3) --------------------------------------------------------


@pytest.mark.parametrize(
    ("rules", "path", "expected"),
    [
        ("Disallow: /\nAllow: /p", "/page", True),  # longer Allow wins
        ("Allow: /folder\nDisallow: /folder", "/folder/page", True),  # tie: Allow wins
        ("Allow: /page\nDisallow: /*.htm", "/page.htm", False),  # 6 < 7 octets
        ("Allow: /$\nDisallow: /", "/", True),
        ("Allow: /$\nDisallow: /", "/page.html", False),
        ("Disallow: /*.php$", "/a/b.php", False),
        ("Disallow: /*.php$", "/a.php?x=1", True),
        ("Disallow: /tmp*", "/tmp", False),
        ("Disallow:", "/anything", True),  # an empty rule matches nothing
        ("Disallow: /private", "/Private", True),  # case-sensitive
    ],
)
def test_rfc9309_longest_match_and_wildcards(rules: str, path: str, expected: bool) -> None:
    assert parse(f"User-agent: *\n{rules}\n").allowed(path, "bot") is expected


def test_rfc9309_percent_encoding_is_normalized() -> None:
    txt = parse("User-agent: *\nDisallow: /\nAllow: /foo/bar/%62%61%7A\nAllow: /caf%c3%a9\n")
    assert txt.allowed("/foo/bar/baz", "bot")
    assert txt.allowed("https://example.com/caf\u00e9", "bot")
    txt = parse("User-agent: *\nDisallow: /\nAllow: /foo/bar/\u30c4\n")
    assert txt.allowed("http://foo.bar/foo/bar/%E3%83%84", "bot")
    assert txt.allowed("http://foo.bar/foo/bar/\u30c4", "bot")


def test_rfc9309_query_matched_and_fragment_ignored() -> None:
    txt = parse("User-agent: *\nDisallow: /*?sessionid=\nDisallow: /page#top\n")
    assert not txt.allowed("https://example.com/a?sessionid=3", "bot")
    assert txt.allowed("https://example.com/a?id=3", "bot")
    # "#" starts a comment in robots.txt, so the rule is "/page"; the URL fragment is dropped.
    assert not txt.allowed("https://example.com/page#section", "bot")


def test_rfc9309_robots_txt_is_always_allowed() -> None:
    txt = parse("User-agent: *\nDisallow: /\n")
    assert txt.allowed("https://example.com/robots.txt", "bot")
    assert not txt.allowed("https://example.com/robots.txt.bak", "bot")
    explanation = txt.explain("https://example.com/robots.txt", "bot")
    assert explanation.allowed and explanation.rule is None
    # Google's library has no such rule; the google profile follows it.
    assert not parse("User-agent: *\nDisallow: /\n", profile="google").allowed(
        "https://example.com/robots.txt", "bot"
    )


def test_rfc9309_many_rules_use_the_index_and_still_pick_the_longest() -> None:
    lines = [f"Disallow: /section{i}/" for i in range(40)]
    lines += ["Allow: /section7/open/", "Disallow: /*.pdf$", "Allow: /*/public/*.pdf$"]
    txt = parse("User-agent: *\n" + "\n".join(lines) + "\n")
    assert not txt.allowed("/section7/x", "bot")
    assert txt.allowed("/section7/open/x", "bot")
    assert not txt.allowed("/doc.pdf", "bot")
    assert txt.allowed("/a/public/doc.pdf", "bot")
    # "Allow: /*/public/*.pdf$" (20 octets) beats "Disallow: /section12/" (11 octets).
    explanation = txt.explain("/section12/public/doc.pdf", "bot")
    assert txt.allowed("/section12/public/doc.pdf", "bot") and explanation.allowed
    assert explanation.rule is not None and explanation.rule.raw == "Allow: /*/public/*.pdf$"
    assert not txt.allowed("/section12/private/doc.pdf", "bot")
    assert txt.allowed("/elsewhere", "bot")


def test_pathological_pattern_answers_fast() -> None:
    txt = parse("User-agent: *\nDisallow: /*a*a*a*a*a*a*a*a*a*b\n")
    url = "/" + "a" * 10_000
    assert txt.allowed(url, "bot")
    start = time.perf_counter()
    for _ in range(50):
        txt.allowed(url, "bot")
    assert (time.perf_counter() - start) / 50 < 0.001


def test_answers_are_cached_per_agent_and_stable() -> None:
    txt = parse("User-agent: *\nDisallow: /a\n\nUser-agent: GPTBot\nDisallow: /b\n")
    first = [txt.allowed(p, a) for p in ("/a", "/b") for a in ("GPTBot", "gptbot", "CCBot")]
    second = [txt.allowed(p, a) for p in ("/a", "/b") for a in ("GPTBot", "gptbot", "CCBot")]
    assert first == second == [True, True, False, False, False, True]


# -- decoding and size -------------------------------------------------------------------------


def test_rfc9309_bom_is_skipped() -> None:
    txt = parse(b"\xef\xbb\xbfUser-agent: *\nDisallow: /x\n")
    assert not txt.allowed("/x", "bot")
    assert "robots.invalid-utf8" not in codes(b"\xef\xbb\xbfUser-agent: *\n")


def test_lenient_invalid_utf8_is_replaced_and_reported() -> None:
    txt = parse(b"User-agent: *\nDisallow: /caf\xe9/\nDisallow: /private\n")
    assert not txt.allowed("/private", "bot")
    found = [f for f in txt.findings if f.code == "robots.invalid-utf8"]
    assert len(found) == 1 and found[0].line == 2
    assert txt.groups[0].rules[0].pattern.raw == "/caf\ufffd/"


def test_rfc9309_first_512000_bytes_parsed_rest_ignored_and_reported() -> None:
    filler = b"# " + b"x" * 998 + b"\n"
    head = b"User-agent: *\nDisallow: /early\n"
    body = head + filler * (MAX_BYTES // len(filler) + 1) + b"Disallow: /late\n"
    assert len(body) > MAX_BYTES
    txt = parse(body)
    assert not txt.allowed("/early", "bot")
    assert txt.allowed("/late", "bot")
    assert txt.truncated
    assert "robots.too-large" in {f.code for f in txt.findings}
    # A file of exactly the limit is read whole.
    exact = head + b"#" * (MAX_BYTES - len(head) - len(b"\nDisallow: /end")) + b"\nDisallow: /end"
    assert len(exact) == MAX_BYTES
    assert not parse(exact).allowed("/end", "bot")
    assert not parse(exact).truncated


def test_rfc9309_cr_only_and_crlf_line_endings() -> None:
    for eol in ("\r", "\r\n", "\n"):
        txt = parse(eol.join(["User-agent: *", "Disallow: /x", "Allow: /x/y"]))
        assert not txt.allowed("/x", "bot")
        assert txt.allowed("/x/y", "bot")
        assert [r.line for r in txt.groups[0].rules] == [2, 3]


# -- Google's tolerated mistakes (accepted by default, reported) -------------------------------


@pytest.mark.parametrize(
    ("key", "canonical"),
    [
        ("useragent", "user-agent"),
        ("user agent", "user-agent"),
        ("User Agent", "user-agent"),
        ("dissallow", "disallow"),
        ("dissalow", "disallow"),
        ("disalow", "disallow"),
        ("diasllow", "disallow"),
        ("disallaw", "disallow"),
    ],
)
def test_lenient_key_typos_are_accepted_and_reported(key: str, canonical: str) -> None:
    if canonical == "user-agent":
        body = f"{key}: GPTBot\nDisallow: /\n"
    else:
        body = f"User-agent: GPTBot\n{key}: /\n"
    txt = parse(body)
    assert not txt.allowed("/x", "GPTBot")
    found = [f for f in txt.findings if f.code == "robots.key-typo"]
    assert len(found) == 1 and canonical in found[0].message


def test_lenient_site_map_typo_is_a_sitemap() -> None:
    txt = parse("Site-map: https://example.com/s.xml\n")
    assert txt.sitemaps == ("https://example.com/s.xml",)
    assert codes("Site-map: https://example.com/s.xml\n") == ["robots.key-typo"]


def test_lenient_missing_colon_is_accepted_and_reported() -> None:
    txt = parse("User-agent GPTBot\nDisallow /private\n")
    assert not txt.allowed("/private/x", "GPTBot")
    assert [f.line for f in txt.findings if f.code == "robots.missing-colon"] == [1, 2]


def test_lenient_three_words_without_colon_are_not_a_rule() -> None:
    txt = parse("User-agent: *\nDisallow /a /b\n")
    assert txt.allowed("/a", "bot")
    assert "robots.invalid-line" in codes("User-agent: *\nDisallow /a /b\n")


def test_lenient_star_followed_by_text_is_the_global_group() -> None:
    txt = parse("User-agent: * everyone else\nDisallow: /\n")
    assert not txt.allowed("/x", "bot")


def test_rfc9309_prefix_keys_are_not_keys_by_default() -> None:
    # Google matches keys by prefix ("disallowed" is "disallow"); RFC 9309 keys are exact.
    body = "User-agent: *\nDisallowed: /x\n"
    assert parse(body).allowed("/x", "bot")
    assert not parse(body, profile="google").allowed("/x", "bot")


# -- profile="google" --------------------------------------------------------------------------


def test_google_index_html_stands_for_its_directory() -> None:
    body = "User-agent: *\nAllow: /dir/index.html\nDisallow: /\n"
    assert parse(body, profile="google").allowed("/dir/", "bot")
    assert not parse(body).allowed("/dir/", "bot")


def test_google_unreserved_escapes_are_not_decoded() -> None:
    body = "User-agent: *\nDisallow: /\nAllow: /%62az\n"
    assert parse(body).allowed("/baz", "bot")
    assert not parse(body, profile="google").allowed("/baz", "bot")


def test_google_lines_are_cut_at_16663_bytes() -> None:
    pattern = "/x/" + "a" * 20_000
    body = f"User-agent: *\nDisallow: {pattern}\n"
    url = "/x/" + "a" * 17_000  # shorter than the rule, longer than Google's cut
    assert parse(body).allowed(url, "bot")
    assert not parse(body, profile="google").allowed(url, "bot")
    assert "robots.line-too-long" in codes(body)


def test_google_user_agent_cut_at_first_other_character() -> None:
    body = "User-agent: AI2Bot\nDisallow: /\n"
    assert parse(body, profile="google").allowed("/x", "AI2Bot")
    assert not parse(body, profile="google").allowed("/x", "AI")
    assert not parse(body).allowed("/x", "AI2Bot")


def test_unknown_profile_is_an_error() -> None:
    with pytest.raises(ValueError, match="profile"):
        parse("", profile="bing")


# -- explain -----------------------------------------------------------------------------------


def test_explain_names_the_group_and_the_winning_rule() -> None:
    txt = parse(
        "User-agent: *\nDisallow: /\n\n"
        "User-agent: GPTBot\nUser-agent: CCBot\nDisallow: /private/  # keep out\n"
        "Allow: /private/press/\n"
    )
    explanation = txt.explain("https://example.com/private/press/a.html", "GPTBot")
    assert explanation.allowed is True
    assert explanation.agent_group == "GPTBot"
    assert explanation.group_lines == (4,)
    assert explanation.rule is not None
    assert (explanation.rule.line, explanation.rule.raw) == (7, "Allow: /private/press/")
    assert explanation.rule.allow and explanation.rule.pattern.raw == "/private/press/"
    assert "line 7" in explanation.reason and "GPTBot" in explanation.reason
    denied = txt.explain("/private/x", "CCBot")
    assert (denied.allowed, denied.rule.line, denied.group_lines) == (False, 6, (5,))
    assert denied.rule.raw == "Disallow: /private/"


def test_explain_no_matching_rule() -> None:
    txt = parse("User-agent: *\nDisallow: /private\n")
    explanation = txt.explain("/public", "bot")
    assert explanation.allowed and explanation.rule is None
    assert explanation.agent_group == "*" and explanation.group_lines == (1,)
    assert "no rule" in explanation.reason


@pytest.mark.parametrize("profile", ["rfc9309", "google"])
def test_explain_agrees_with_allowed(profile: str) -> None:
    txt = parse(
        "User-agent: *\nDisallow: /a\nAllow: /a/b\nDisallow: /*.pdf$\nAllow: /$\n", profile=profile
    )
    for path in ("/", "/a", "/a/b", "/a/b.pdf", "/x.pdf", "/zzz", "/robots.txt"):
        assert txt.explain(path, "bot").allowed is txt.allowed(path, "bot")


# -- extension records -------------------------------------------------------------------------


def test_content_signal_in_the_selected_group() -> None:
    txt = parse(
        "User-Agent: *\nContent-Signal: search=yes, ai-train=no\nAllow: /\n\n"
        "User-agent: GPTBot\nContent-signal: ai-train=yes\nAllow: /\n"
    )
    star = txt.content_signals("CCBot")
    assert [dict(s.values) for s in star] == [{"search": True, "ai-train": False}]
    assert star[0].line == 2 and star[0].location == "robots.txt"
    # GPTBot has its own group, so it does not see the "*" signals (RFC 9309 group selection).
    assert [dict(s.values) for s in txt.content_signals("GPTBot")] == [{"ai-train": True}]


def test_content_signal_one_key_per_line_accumulates() -> None:
    txt = parse(
        "User-agent: *\nContent-Signal: ai-train=yes\nContent-Signal: ai-inference=yes\n"
        "Content-Signal: ai-input=yes\nContent-Signal: search=yes\nAllow: /\n"
    )
    combined = combine_content_signals(txt.content_signals("bot"))
    assert combined == {"ai-train": True, "ai-inference": True, "ai-input": True, "search": True}
    assert "content-signal.unknown-key" in {f.code for f in txt.findings}


def test_content_signal_problems_are_file_findings() -> None:
    found = {
        f.code
        for f in parse(
            "User-agent: *\nContent-Signal: ai-train=n, search=disallow, AI-Input=No\n"
        ).findings
    }
    assert {"content-signal.invalid-value", "content-signal.not-lowercase"} <= found


def _attach_example() -> dict:
    data = json.loads((SIGNALS / "aipref_content_usage.json").read_text("utf-8"))
    return next(e for e in data["attach_examples"] if "expectations" in e)


@pytest.mark.parametrize("expectation", _attach_example()["expectations"], ids=lambda e: e["path"])
def test_aipref_attach_robots_example(expectation: dict) -> None:
    txt = parse(_attach_example()["text"])
    agent = expectation["user_agent"]
    assert txt.allowed(expectation["path"], agent) is expectation["crawl"]
    if not expectation["crawl"]:
        return  # preferences apply only to crawlable paths: the decision checks that
    usages = txt.content_usages(expectation["path"], agent)
    assert usages
    wanted = {
        label: value == "y"
        for label, value in (item.split("=") for item in expectation["usage"].split(", "))
    }
    assert combine_content_usages(usages) == wanted


def test_content_usage_longest_path_and_ties() -> None:
    txt = parse(
        "User-agent: *\n"
        "Content-Usage: train-ai=n\n"
        "Content-Usage: /blog/ train-ai=y\n"
        "Content-Usage: /blog/ search=n\n"
        "Content-Usage: /blog/ train-ai=n\n"
    )
    assert [u.line for u in txt.content_usages("/about", "bot")] == [2]
    tied = txt.content_usages("https://example.com/blog/post", "bot")
    assert [u.line for u in tied] == [3, 4, 5]
    assert tied[0].path is not None and tied[0].path.raw == "/blog/"
    assert combine_content_usages(tied) == {"train-ai": False, "search": False}
    assert txt.content_usages("/about", "bot")[0].path is None


def test_content_usage_problems_are_file_findings() -> None:
    found = codes("User-agent: *\nContent-Usage: Train-AI=n\nContent-Usage: ai=y\n")
    assert "content-usage.malformed" in found and "content-usage.unknown-label" in found


def test_crawl_delay_sitemaps_and_licenses() -> None:
    txt = parse(
        "Sitemap: https://example.com/a.xml\n"
        "License: https://example.com/license.xml\n"
        "User-agent: *\nCrawl-delay: 2.5\nDisallow: /x\n"
        "User-agent: GPTBot\nCrawl-delay: ten\nCrawl-delay: 10\n"
        "Sitemap: https://example.com/b.xml\n"
        "License: https://example.com/other.xml\n"
    )
    assert txt.crawl_delay("bot") == 2.5
    assert txt.crawl_delay("GPTBot") == 10.0
    assert txt.sitemaps == ("https://example.com/a.xml", "https://example.com/b.xml")
    assert [(lic.url, lic.line) for lic in txt.licenses] == [
        ("https://example.com/license.xml", 2),
        ("https://example.com/other.xml", 10),
    ]
    # License lines are global: they do not end or join a group.
    assert not txt.allowed("/x", "bot")


def test_user_agents_lists_every_value_once() -> None:
    txt = parse("User-agent: GPTBot\nUser-agent: *\nDisallow: /\nUser-agent: GPTBot\n")
    assert txt.user_agents == ("GPTBot", "*")


def test_groups_as_written() -> None:
    txt = parse(
        "User-agent: A\nDisallow: private/  # oops\nDisallow:\nAllow: /x\n"
        "User-agent: A\nDisallow: /y\n"
    )
    first, second = txt.groups
    assert first.agents == (("A", 1),) and first.line == 1
    assert [(r.allow, r.pattern.raw, r.line, r.raw) for r in first.rules] == [
        (False, "private/", 2, "Disallow: private/"),
        (True, "/x", 4, "Allow: /x"),
    ]
    assert [r.line for r in second.rules] == [6]


# -- findings ----------------------------------------------------------------------------------

FINDING_TRIGGERS = {
    "robots.rules-before-user-agent": "Disallow: /x\nUser-agent: *\n",
    "robots.key-typo": "User-agent: *\nDisalow: /x\n",
    "robots.missing-colon": "User-agent: *\nDisallow /x\n",
    "robots.invalid-product-token": "User-agent: GPTBot/1.1\nDisallow: /\n",
    "robots.pattern-not-rooted": "User-agent: *\nDisallow: https://example.com/private\n",
    "robots.html-body": "<!DOCTYPE html>\n<html><head><title>404</title></head></html>\n",
    "robots.too-large": "User-agent: *\n" + ("# filler\n" * 60_000),
    "robots.invalid-utf8": b"User-agent: *\nDisallow: /\xff\n",
    "robots.group-discards-global-rules": "User-agent: GPTBot\nAllow: /\n\n"
    "User-agent: *\nDisallow: /private/\n",
    "robots.extension-outside-group": "Content-Signal: ai-train=no\nUser-agent: *\n",
    "robots.unknown-key": "User-agent: *\nNoindex: /x\n",
    "robots.invalid-line": "User-agent: *\nthis is not a rule\n",
    "robots.groups-merged": "User-agent: GPTBot\nDisallow: /a\nUser-agent: *\nDisallow: /\n"
    "User-agent: GPTBot\nDisallow: /b\n",
    "robots.invalid-crawl-delay": "User-agent: *\nCrawl-delay: soon\n",
    "robots.license-not-absolute": "License: /license.xml\n",
    "robots.user-agents-joined": "User-agent: Googlebot\nCrawl-delay: 10\n\n"
    "User-agent: *\nDisallow: /private/\n",
    "robots.line-too-long": "User-agent: *\nDisallow: /" + "a" * 17_000 + "\n",
}


def test_every_robots_finding_code_has_a_trigger() -> None:
    declared = {v.code for v in vars(robots).values() if isinstance(v, FindingSpec)}
    assert declared == set(FINDING_TRIGGERS)


@pytest.mark.parametrize(("code", "body"), FINDING_TRIGGERS.items(), ids=list(FINDING_TRIGGERS))
def test_finding_is_reported(code: str, body: str | bytes) -> None:
    found = [f for f in parse(body).findings if f.code == code]
    assert found, f"{code} not reported"
    finding = found[0]
    assert finding.source == "robots.txt" and finding.message
    assert finding.line is not None and finding.line >= 1


def test_findings_are_catalogued_with_text_for_publishers() -> None:
    specs = catalogue()
    for code in FINDING_TRIGGERS:
        spec = specs[code]
        assert spec.title and spec.explanation and spec.fix and spec.example
    assert specs["robots.html-body"].severity is Severity.ERROR


def test_group_discarding_global_rules_names_the_lost_rules() -> None:
    txt = parse(
        "User-agent: GPTBot\nCrawl-delay: 5\n\n"
        "User-agent: *\nDisallow: /private/\nDisallow: /admin/\nAllow: /\n"
    )
    # (GPTBot and * share one group here: a Crawl-delay does not end the user-agent lines.)
    assert "robots.group-discards-global-rules" not in {f.code for f in txt.findings}
    txt = parse(
        "User-agent: GPTBot\nDisallow:\n\nUser-agent: *\nDisallow: /private/\nDisallow: /admin/\n"
    )
    (finding,) = [f for f in txt.findings if f.code == "robots.group-discards-global-rules"]
    assert finding.line == 1
    assert "Disallow: /private/" in finding.message and "(line 5)" in finding.message
    assert "Disallow: /admin/" in finding.message
    # A group with its own Disallow rules is a deliberate choice: not reported.
    txt = parse("User-agent: GPTBot\nDisallow: /\n\nUser-agent: *\nDisallow: /private/\n")
    assert "robots.group-discards-global-rules" not in {f.code for f in txt.findings}


def test_user_agents_joined_across_a_crawl_delay_is_one_group_and_reported() -> None:
    txt = parse(
        "User-agent: Googlebot\nCrawl-delay: 10\n\nUser-agent: Bingbot\nCrawl-delay: 10\n\n"
        "User-agent: *\nDisallow: /wp-admin/\n"
    )
    # RFC 9309 and Google: one group for all three, so Googlebot is kept out of /wp-admin/.
    assert not txt.allowed("/wp-admin/x", "Googlebot")
    # Each Crawl-delay is for the User-agent lines directly above it (docs/robots.md).
    assert txt.crawl_delay("Googlebot") == txt.crawl_delay("Bingbot") == 10.0
    assert txt.crawl_delay("CCBot") is None
    found = [f for f in txt.findings if f.code == "robots.user-agents-joined"]
    assert [f.line for f in found] == [4, 7]
    assert "'User-agent: Googlebot' (line 1)" in found[0].message
    # Blank lines alone between User-agent lines are the normal way to list several agents.
    assert "robots.user-agents-joined" not in codes("User-agent: A\n\nUser-agent: B\nDisallow: /\n")


def test_invalid_product_token_message_says_how_it_is_read() -> None:
    (finding,) = parse("User-agent: AI2Bot\nDisallow: /\n").findings
    assert "'ai2bot'" in finding.message and "'AI'" in finding.message


def test_html_detected_from_the_body() -> None:
    assert "robots.html-body" in codes("\n\n  <html>\n<body>Not found</body></html>")
    assert "robots.html-body" not in codes("User-agent: *\nDisallow: /<html>\n")


def test_clean_file_has_no_findings() -> None:
    body = (
        "# robots.txt\nUser-agent: GPTBot\nUser-agent: CCBot\nDisallow: /\n\n"
        "User-agent: *\nContent-Signal: search=yes, ai-train=no\n"
        "Content-Usage: train-ai=n\nAllow: /\nDisallow: /private/\n\n"
        "Sitemap: https://example.com/sitemap.xml\n"
    )
    assert parse(body).findings == ()


def test_findings_are_sorted_by_line() -> None:
    lines = [f.line or 0 for f in parse("Disalow: /a\nUser-agent: A2\nFoo: x\n").findings]
    assert lines == sorted(lines)


def test_many_agent_spellings_are_answered_within_a_bound():
    parsed = robots.parse("User-agent: GPTBot\nDisallow: /\n\nUser-agent: *\nDisallow: /private\n")
    for round_ in range(2):
        for i in range(robots._SELECTIONS_KEPT + 100):
            assert parsed.allowed("/page", f"Bot{i}")
            assert not parsed.allowed("/private/x", f"Bot{i}")
            assert not parsed.allowed("/page", "GPTBOT" if i % 2 else "gptbot"), (round_, i)
            assert parsed.explain("/page", f"Other{i}").agent_group == "*"
            assert len(parsed._selections) <= robots._SELECTIONS_KEPT


def test_a_line_of_unicode_separators_is_an_invalid_line_not_a_crash() -> None:
    # Found by tests/test_robots_properties.py (hypothesis): str.split() splits on \x1c.
    from reservation_crawler.signals.robots import parse

    robots = parse(b"\x1c\t\x1c")
    assert robots.allowed("/", "GPTBot")
    assert [f.code for f in robots.findings] == ["robots.invalid-line"]
