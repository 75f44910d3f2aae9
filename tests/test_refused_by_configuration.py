"""Refusals by our own configuration (issue #11 items 2 and 3): a private target refused because
private addresses were not allowed is never cached as the origin's policy, has its own outcome
(``refused-by-configuration``), and every path says which flag fetches it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis as redis_py
from test_middleware import crawl

from reservation_crawler.cli import main
from reservation_crawler.drivers import cache
from reservation_crawler.drivers.fetch import FetchLimits
from reservation_crawler.drivers.lookup import Checker
from reservation_crawler.testing import FixtureWeb, recipe

FAST = FetchLimits(timeout=5)


@pytest.fixture(scope="module")
def web():
    with FixtureWeb.from_recipes([recipe("plain"), recipe("robots-ai-block")], corpus=False) as w:
        yield w


def test_a_refusal_is_not_cached_so_allowing_private_answers_for_real(web, redis_url):
    url = web.url(0, "/")
    with Checker(redis_url=redis_url, limits=FAST) as guarded:
        refused = guarded.check(url, "GPTBot", "crawl")
    assert refused.decision == "reserved"
    assert any("refused by our configuration" in e.raw for e in refused.evidence)
    client = redis_py.Redis.from_url(redis_url)
    try:
        assert client.get(cache.policy_key(web.base_url(0))) is None  # nothing stored
    finally:
        client.close()
    with Checker(redis_url=redis_url, allow_private=True, limits=FAST) as allowed:
        real = allowed.check(url, "GPTBot", "crawl")
    assert real.source == "fetch" and real.decision != "reserved"


def test_check_says_refused_by_configuration_and_names_the_flag(web, capsys):
    assert main(["check", "--json", web.url(0, "/")]) == 0
    captured = capsys.readouterr()
    record = json.loads(captured.out)
    assert {s["outcome"] for s in record["sources"].values()} == {"refused-by-configuration"}
    assert "--allow-private" in captured.err and "refused-by-configuration" in captured.err
    assert main(["check", "--json", "--allow-private", web.url(0, "/")]) == 0
    assert "--allow-private" not in capsys.readouterr().err


def test_crawl_hints_at_the_flag_and_a_later_allowed_crawl_is_not_served_the_refusal(
    web, redis_url, tmp_path: Path
):
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["XDG_DATA_HOME"] = str(tmp_path / "home")
    base = [sys.executable, "-m", "reservation_crawler.cli", "crawl", web.url(1, "/")]
    base += ["--redis", redis_url, "--agent", "GPTBot", "--json"]
    first = subprocess.run(  # with a job ledger: the dataset keeps the refused record
        [*base, "-o", str(tmp_path / "a.jsonl"), "--job-dir", str(tmp_path / "job")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert first.returncode == 0, first.stderr[-2000:]
    assert "--allow-private" in first.stderr and "refused" in first.stderr
    (refused,) = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert refused["sources"]["robots.txt"]["outcome"] == "refused-by-configuration"
    second = subprocess.run(
        [*base, "-o", str(tmp_path / "b.jsonl"), "--allow-private"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert second.returncode == 0, second.stderr[-2000:]
    (record,) = [json.loads(line) for line in (tmp_path / "b.jsonl").read_text().splitlines()]
    assert record["sources"]["robots.txt"]["outcome"] == "ok"
    assert record["decisions"]["GPTBot"]["crawl"] == "reserved"  # robots-ai-block: GPTBot out
    assert record["decisions"]["*"]["crawl"] == "allowed"


def test_middleware_warns_once_per_origin_when_its_guard_refuses(web, redis_url, tmp_path):
    urls = [web.url(0, p) for p in ("/", "/a/1.html", "/a/2.html")]
    logs: list[str] = []
    rows, stats = crawl(
        tmp_path,
        urls,
        {
            "RESERVATION_AGENT": "GPTBot",
            "RESERVATION_REDIS_URL": redis_url,
            "RESERVATION_ALLOW_PRIVATE": False,
        },
        logs=logs,
    )
    assert {row["outcome"] for row in rows.values()} == {"ignored"}
    warnings = [line for line in logs[0].splitlines() if "RESERVATION_ALLOW_PRIVATE" in line]
    assert len(warnings) == 1 and "WARNING" in warnings[0]
    assert stats["reservation/refused_by_configuration"] == 1
