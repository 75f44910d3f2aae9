"""Agent spellings through every user path (issue #11 item 1): ``GPTBot/1.1``, ``gptbot`` and a
whole User-Agent name GPTBot in ``robots``, ``check``, ``Checker.check`` and ``/v1/check`` — and a
string naming no crawler is refused (exit 2 / HTTP 400), never answered as ``*`` (fail-open)."""

from __future__ import annotations

import json

import httpx
import pytest

from reservation_crawler.apps.server import create_app
from reservation_crawler.cli import main
from reservation_crawler.drivers.fetch import FetchLimits
from reservation_crawler.drivers.lookup import AsyncChecker, Checker
from reservation_crawler.errors import ConfigError
from reservation_crawler.testing import FixtureWeb, recipe

OPENAI_UA = (
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.1; "
    "+https://openai.com/gptbot)"
)
SPELLINGS = ["GPTBot", "gptbot", "GPTBot/1.1", OPENAI_UA]
CHROME_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120"
ROBOTS = "User-agent: GPTBot\nDisallow: /\n\nUser-agent: *\nAllow: /\n"


@pytest.fixture(scope="module")
def web():
    # robots-block-all variants differ; a site whose robots.txt names GPTBot alone:
    with FixtureWeb.from_recipes([recipe("robots-ai-block")], corpus=False) as fixture:
        yield fixture


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_robots_command_reads_every_spelling(tmp_path, capsys, spelling):
    path = tmp_path / "robots.txt"
    path.write_text(ROBOTS)
    assert main(["robots", str(path), "--json", "--agent", spelling, "https://a.example/x"]) == 0
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert result["allowed"] is False and result["group"] == "GPTBot"
    assert result["agent"] == spelling and result["agent_token"] == "GPTBot"


def test_robots_command_refuses_a_browser_user_agent(tmp_path, capsys):
    path = tmp_path / "robots.txt"
    path.write_text(ROBOTS)
    assert main(["robots", str(path), "--agent", CHROME_UA, "https://a.example/x"]) == 2
    assert "names no crawler" in capsys.readouterr().err


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_check_command_reads_every_spelling_and_says_which_token(web, capsys, spelling):
    url = web.url(0, "/")
    assert main(["check", "--json", "--allow-private", "--agent", spelling, url]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["decisions"]["GPTBot"]["crawl"] == "reserved"
    if spelling == "GPTBot":
        assert "agent_tokens" not in record
    else:
        assert record["agent_tokens"] == {spelling: "GPTBot"}


def test_check_command_refuses_what_names_no_crawler(web, capsys):
    assert main(["check", "--allow-private", "--agent", CHROME_UA, web.url(0, "/")]) == 2
    assert "names no crawler" in capsys.readouterr().err


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_checker_reads_every_spelling(web, redis_url, spelling):
    with Checker(redis_url=redis_url, allow_private=True, limits=FetchLimits(timeout=5)) as c:
        verdict = c.check(web.url(0, "/"), spelling, "crawl")
        assert verdict.decision == "reserved"
        assert (verdict.agent, verdict.agent_token) == (spelling, "GPTBot")
        assert verdict.to_json()["agent_token"] == "GPTBot"
        with pytest.raises(ConfigError, match="names no crawler"):
            c.check(web.url(0, "/"), CHROME_UA)
        record = c.record(web.url(0, "/"), [spelling]).record
        assert record.decisions["GPTBot"]["crawl"] == "reserved"


@pytest.mark.parametrize("spelling", SPELLINGS)
async def test_http_api_reads_every_spelling_and_refuses_a_browser(web, redis_url, spelling):
    checker = AsyncChecker(redis_url=redis_url, allow_private=True, limits=FetchLimits(timeout=5))
    app = create_app(checker)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        url = web.url(0, "/")
        answer = await client.get("/v1/check", params={"url": url, "agent": spelling})
        assert answer.status_code == 200, answer.text
        assert answer.json()["agent_token"] == "GPTBot"
        refused = await client.get("/v1/check", params={"url": url, "agent": CHROME_UA})
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "invalid-agent"
    await checker.aclose()
