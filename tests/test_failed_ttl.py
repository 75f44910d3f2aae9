"""One definition of "failed" and of each TTL: the Checker and a Scrapy crawl store the same
policy with the same ``failed`` flag and the same TTL (core.policy.failed_fetch)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from reservation_crawler.core.policy import failed_fetch
from reservation_crawler.drivers import cache
from reservation_crawler.drivers.fetch import FetchLimits
from reservation_crawler.drivers.lookup import Checker
from reservation_crawler.testing import FixtureWeb, recipe

SITES = [
    recipe("plain"),  # every file answers: cached for the TTL
    recipe("aitxt-broken", "5xx"),  # ai.txt 503 (robots.txt fine): a failure, retried soon
    recipe("tdmrep-broken", "5xx"),  # tdmrep.json 500: a failure
    recipe("robots-5xx"),  # robots.txt 500: a failure (complete disallow)
    recipe("no-robots"),  # robots.txt 404: an absence, not a failure
]
EXPECTED_FAILED = [False, True, True, True, False]


@pytest.fixture(scope="module")
def web() -> Iterator[FixtureWeb]:
    with FixtureWeb.from_recipes(SITES, slow_delay=1.0, corpus=False) as fixture_web:
        yield fixture_web


def stored_policies(client: redis.Redis, origins: list[str]) -> list[tuple[bool, str]]:
    """(failed, which TTL) of each origin's stored policy."""
    out = []
    for origin in origins:
        raw = client.get(cache.policy_key(origin))
        assert raw is not None, origin
        meta = cache.read_meta(raw)
        lifetime = meta.expires_at - meta.fetched_at
        which = "failure_ttl" if lifetime < cache.DEFAULT_TTL / 2 else "ttl"
        out.append((meta.failed, which))
    return out


def test_rule_failed_fetch() -> None:
    assert failed_fetch("robots.txt", "unreachable") and failed_fetch("robots.txt", "error")
    assert failed_fetch("ai.txt", "unreachable") and not failed_fetch("ai.txt", "error")
    assert failed_fetch("page", "error") and not failed_fetch("page", "absent")
    assert not failed_fetch("robots.txt", "absent") and not failed_fetch("tdmrep.json", "ok")


def test_checker_and_scrapy_crawl_store_the_same_failed_flag_and_ttl(
    web: FixtureWeb, redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    origins = [web.base_url(i) for i in range(len(SITES))]
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["XDG_DATA_HOME"] = str(tmp_path / "home")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "reservation_crawler.cli",
            "crawl",
            *origins,
            "-o",
            str(tmp_path / "records.jsonl"),
            "--allow-private",
            "--redis",
            redis_url,
            "--timeout",
            "2",
            "--no-throttle",
            "--max-pages-per-site",
            "1",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    by_crawl = stored_policies(redis_client, origins)

    for origin in origins:
        redis_client.delete(cache.policy_key(origin))
    with Checker(redis_url=redis_url, allow_private=True, limits=FetchLimits(timeout=2)) as check:
        for origin in origins:
            assert check.check(origin + "/", "GPTBot").source == "fetch"
    by_checker = stored_policies(redis_client, origins)

    expected = [(f, "failure_ttl" if f else "ttl") for f in EXPECTED_FAILED]
    assert by_crawl == by_checker == expected
