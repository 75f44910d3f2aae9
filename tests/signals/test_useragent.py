"""Agent strings: a product token, a versioned token or a whole User-Agent name the same crawler.

RFC 9309 §2.2.1 and RFC 9110 §10.1.5; our reading is in docs/agents.md ("Agent strings").
"""

from __future__ import annotations

import pytest

from reservation_crawler.signals.useragent import agent_token

OPENAI_UA = (
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.1; "
    "+https://openai.com/gptbot)"
)
CHROME_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)


@pytest.mark.parametrize(
    ("given", "token", "reading"),
    [
        ("GPTBot", "GPTBot", "product-token"),
        ("gptbot", "GPTBot", "registry"),
        ("  GPTBot  ", "GPTBot", "product-token"),
        ("GPTBot/1.1", "GPTBot", "versioned"),
        (OPENAI_UA, "GPTBot", "registry"),
        ("CCBot/2.0 (https://commoncrawl.org/faq/)", "CCBot", "registry"),
        (
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Googlebot",
            "compatible",
        ),
        ("Mozilla/5.0 (compatible; MyBot/1.0)", "MyBot", "compatible"),
        ("MyAIBot/2.0 (+https://example.com/bot)", "MyAIBot", "first-product"),
        ("Mozilla/5.0 (Linux) NewBot/1.0", "NewBot", "first-product"),
        ("MyAIBot", "MyAIBot", "product-token"),
        ("AI2Bot", "AI2Bot", "product-token"),
        ("ChatGPT Agent", "ChatGPT Agent", "product-token"),
        ("*", "*", "any-agent"),
    ],
)
def test_rfc9309_product_token_of_an_agent_string(given, token, reading):
    result = agent_token(given)
    assert (result.token, result.reading, result.problem) == (token, reading, None)


def test_a_registry_name_inside_a_url_is_not_the_crawler():
    # "+https://openai.com/gptbot" names a page, not a product: the product is MyBot.
    assert agent_token("MyBot/1.0 (+https://openai.com/gptbot)").token == "MyBot"


def test_the_earliest_registry_name_wins():
    assert agent_token("Mozilla/5.0 (compatible; ClaudeBot/1.0; GPTBot/1.1)").token == "ClaudeBot"


@pytest.mark.parametrize(
    ("given", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (CHROME_UA, "names no crawler"),
        ("Mozilla/5.0", "names no crawler"),
        ("123", "names no crawler"),
        ("a\x00b", "characters"),
        ("GPTBöt", "characters"),
        ("x" * 600, "longer than 512"),
    ],
)
def test_strings_naming_no_crawler_are_refused_never_read_as_star(given, fragment):
    result = agent_token(given)
    assert result.token is None and result.reading == "refused"
    assert fragment in (result.problem or "")
