"""Where a robots.txt group ends, whose Crawl-delay is whose, and bounded finding messages.

Issue #11 items 7-9, through the library and the ``robots`` command a publisher or crawler uses.
"""

from __future__ import annotations

import json

import pytest

from reservation_crawler.cli import main
from reservation_crawler.model.findings import MAX_MESSAGE_CHARS
from reservation_crawler.signals import robots

CONTENT_USAGE_THEN_GROUP = (
    "User-Agent: *\nContent-Usage: train-ai=n\n\nUser-Agent: GPTBot\nDisallow: /\n"
)


def _robots_json(tmp_path, capsys, body: str, *args: str) -> dict:
    path = tmp_path / "robots.txt"
    path.write_text(body, encoding="utf-8")
    assert main(["robots", str(path), "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_aipref_content_usage_is_a_rule_that_ends_the_group(tmp_path, capsys):
    # aipref-attach: "rule =/ content-usage", so "User-Agent: GPTBot" starts its own group and
    # its Disallow does not reach other crawlers.
    report = _robots_json(
        tmp_path,
        capsys,
        CONTENT_USAGE_THEN_GROUP,
        "--agent",
        "OtherBot",
        "--agent",
        "GPTBot",
        "https://a.example/page",
    )
    verdicts = {r["agent"]: r for r in report["results"]}
    assert verdicts["OtherBot"]["allowed"] is True
    assert verdicts["OtherBot"]["group"] == "*"
    assert verdicts["GPTBot"]["allowed"] is False
    assert verdicts["GPTBot"]["group_lines"] == [4]
    rules = robots.parse(CONTENT_USAGE_THEN_GROUP)
    assert [u.values for u in rules.content_usages("https://a.example/", "OtherBot")] == [
        {"train-ai": False}
    ]
    assert rules.content_usages("https://a.example/", "GPTBot") == ()


def test_google_profile_still_ignores_content_usage():
    # Google's parser does not know the key: it does not end the group, so both lines share it.
    rules = robots.parse(CONTENT_USAGE_THEN_GROUP, profile="google")
    assert rules.allowed("https://a.example/page", "OtherBot") is False


def test_crawl_delay_does_not_end_a_group_but_belongs_to_the_lines_above_it():
    body = "User-agent: A\nCrawl-delay: 5\nUser-agent: B\nCrawl-delay: 10\nDisallow: /x\n"
    rules = robots.parse(body)
    # RFC 9309 §2.1: one group (Crawl-delay is not a rule), so the Disallow applies to A too.
    assert rules.allowed("https://a.example/x", "A") is False
    assert rules.allowed("https://a.example/x", "B") is False
    # The common reading of Crawl-delay: each line is for the User-agent lines directly above.
    assert rules.crawl_delay("A") == 5.0
    assert rules.crawl_delay("B") == 10.0


@pytest.mark.parametrize(
    ("body", "a", "b"),
    [
        ("User-agent: A\nUser-agent: B\nCrawl-delay: 5\nDisallow: /x\n", 5.0, 5.0),
        ("User-agent: A\nCrawl-delay: 5\nUser-agent: B\nDisallow: /x\n", 5.0, None),
        ("User-agent: A\nCrawl-delay: nope\nCrawl-delay: 3\n", 3.0, None),
        ("User-agent: B\nDisallow: /\n\nUser-agent: A\nUser-agent: B\nCrawl-delay: 7\n", 7.0, 7.0),
    ],
)
def test_crawl_delay_reading(body, a, b):
    rules = robots.parse(body)
    assert rules.crawl_delay("A") == a
    assert rules.crawl_delay("B") == b


def test_crawl_delay_of_the_star_group_for_an_unnamed_agent():
    rules = robots.parse("User-agent: *\nCrawl-delay: 2\n\nUser-agent: A\nCrawl-delay: 9\n")
    assert rules.crawl_delay("Other") == 2.0
    assert rules.crawl_delay("A") == 9.0


def test_finding_messages_stay_bounded_for_an_agent_named_in_13000_groups(tmp_path, capsys):
    body = "".join(f"User-agent: GPTBot\nDisallow: /p{i}\n\n" for i in range(13_000))
    report = _robots_json(tmp_path, capsys, body, "--agent", "GPTBot", "https://a.example/p7")
    merged = [f for f in report["findings"] if f["code"] == "robots.groups-merged"]
    assert len(merged) == 1
    message = merged[0]["message"]
    assert "named in 13000 groups" in message
    assert message.endswith("and 12990 more); their rules are merged")
    assert len(message) < 300
    assert all(len(f["message"]) <= MAX_MESSAGE_CHARS + 40 for f in report["findings"])
    reason = report["results"][0]["reason"]
    assert "and 12990 more" in reason and len(reason) < 400


def test_every_finding_message_is_cut_at_the_bound():
    from reservation_crawler.signals.robots import GROUPS_MERGED

    finding = GROUPS_MERGED("x" * 50_000, line=1)
    assert len(finding.message) < MAX_MESSAGE_CHARS + 40
    assert finding.message.endswith("(49000 more characters)")
