"""A dead host's policy files cost one timeout, not three (#11 item 11).

When robots.txt gets no answer at all (connection refused, or a timeout on a host that accepts
and never answers), ai.txt and tdmrep.json are not fetched: their sources say ``not-fetched``
with "origin unreachable (robots.txt: ...)", and the robots.txt failure decides (complete
disallow) — in `check`, the Checker (sync and async) and the crawl.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile_server import HostileServer, Scripted, SilentServer, dead_port

from reservation_crawler.cli import main
from reservation_crawler.core.fetching import FetchLimits
from reservation_crawler.drivers.lookup import AsyncChecker, Checker

pytestmark = pytest.mark.hostile

TIMEOUT = 1.5
LATER = ("ai.txt", "tdmrep.json")


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    with SilentServer() as server:
        yield server


def _assert_dead(record: dict, error: str) -> None:
    sources = record["sources"]
    assert sources["robots.txt"]["outcome"] == "unreachable"
    assert sources["robots.txt"]["error"] == error
    for name in LATER:
        assert sources[name]["outcome"] == "not-fetched", sources[name]
        assert sources[name]["error"] == f"origin unreachable (robots.txt: {error})"
    assert set(record["decisions"]["*"].values()) == {"reserved"}  # complete disallow


def _check(capsys, url: str) -> tuple[dict, float]:
    argv = ["check", "--json", "--allow-private", "--timeout", str(TIMEOUT), url]
    start = time.perf_counter()
    assert main(argv) == 0
    elapsed = time.perf_counter() - start
    return json.loads(capsys.readouterr().out), elapsed


def test_check_a_refused_connection_skips_ai_txt_and_tdmrep_json(capsys):
    record, _ = _check(capsys, f"http://127.0.0.1:{dead_port()}/page")
    _assert_dead(record, "connect")


def test_check_a_host_that_never_answers_costs_one_timeout_per_url(capsys, silent):
    record, elapsed = _check(capsys, silent.url("/page"))
    _assert_dead(record, "timeout")
    # robots.txt, then the page (check reads it: a host whose robots.txt alone is slow still
    # answers for it); not ai.txt and tdmrep.json. Was four timeouts.
    assert len(silent.accepted) == 2
    assert elapsed < 3 * TIMEOUT, elapsed


def test_an_http_error_on_robots_txt_still_fetches_the_other_files(capsys):
    routes = {"/robots.txt": Scripted(503, [("Content-Type", "text/plain")], b"down\n")}
    with HostileServer(routes) as server:
        record, _ = _check(capsys, server.url("/page"))
        assert {"/ai.txt", "/.well-known/tdmrep.json"} <= set(server.requests)
    for name in LATER:
        assert record["sources"][name]["outcome"] == "absent"


def test_the_checker_skips_the_other_files_of_a_dead_host(redis_url, silent):
    limits = FetchLimits(timeout=TIMEOUT)
    with Checker(redis_url=redis_url, allow_private=True, limits=limits) as checker:
        start = time.perf_counter()
        checked = checker.record(silent.url("/page"))
        elapsed = time.perf_counter() - start
    _assert_dead(checked.record.to_json(), "timeout")
    assert elapsed < 2 * TIMEOUT, elapsed


async def test_the_async_checker_skips_the_other_files_of_a_dead_host(redis_url, silent):
    limits = FetchLimits(timeout=TIMEOUT)
    async with AsyncChecker(redis_url=redis_url, allow_private=True, limits=limits) as checker:
        checked = await checker.record(silent.url("/page"))
    _assert_dead(checked.record.to_json(), "timeout")


def test_the_crawl_skips_the_other_files_of_a_dead_host(redis_url, silent, tmp_path: Path):
    out = tmp_path / "out.jsonl"
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["XDG_DATA_HOME"] = str(tmp_path / "home")
    refused = f"http://127.0.0.1:{dead_port()}/page"
    command = [sys.executable, "-m", "reservation_crawler.cli", "crawl", silent.url("/page")]
    command += [refused, "-o", str(out), "--allow-private", "--redis", redis_url]
    command += ["--timeout", str(TIMEOUT)]
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    records = {json.loads(line)["url"]: json.loads(line) for line in out.read_text().splitlines()}
    assert len(records) == 2, done.stderr[-3000:]
    _assert_dead(records[silent.url("/page")], "timeout")
    _assert_dead(records[refused], "connect")
    assert len(silent.accepted) == 1  # robots.txt only
