"""A stalled Redis: explicit socket timeouts, and a crawl that keeps going (#12 item 8).

redis-py before 8 has no default timeout, and ``pyproject.toml`` allows ``redis>=5``: a stalled
Redis hung the Checker, ``serve`` and the crawl. Every client now has explicit socket and
connect timeouts (``drivers.cache.DEFAULT_SOCKET_TIMEOUT``; a URL's own query wins), and the
crawl writes to Redis from a worker thread so a stall slows no fetch.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from stall_proxy import StallProxy

from reservation_crawler.drivers import cache
from reservation_crawler.drivers.fetch import FetchLimits
from reservation_crawler.drivers.lookup import Checker
from reservation_crawler.errors import CacheUnavailable
from reservation_crawler.testing import FixtureWeb

pytestmark = pytest.mark.hostile


def test_clients_get_explicit_timeouts_and_a_url_can_set_its_own():
    client = cache.connect("redis://127.0.0.1:1/0", check=False)
    kwargs = client.connection_pool.connection_kwargs
    assert kwargs["socket_timeout"] == cache.DEFAULT_SOCKET_TIMEOUT
    assert kwargs["socket_connect_timeout"] == cache.DEFAULT_CONNECT_TIMEOUT
    client = cache.connect("redis://127.0.0.1:1/0?socket_timeout=0.25", check=False)
    assert client.connection_pool.connection_kwargs["socket_timeout"] == 0.25


def test_a_stalled_redis_does_not_hang_the_checker(redis_url: str):
    proxy = StallProxy(redis_url)
    try:
        url = proxy.url(socket_timeout=0.5, socket_connect_timeout=0.5)
        with Checker(redis_url=url, fail_closed=True, limits=FetchLimits(timeout=0.5)) as checker:
            proxy.stall()
            started = time.monotonic()
            verdict = checker.check("http://stalled.example/x", "GPTBot")
            elapsed = time.monotonic() - started
        assert elapsed < 5, elapsed  # bounded by the socket timeout, not hanging
        assert verdict.source == "fail-closed" and verdict.decision == "reserved"
        with (
            Checker(redis_url=url, limits=FetchLimits(timeout=0.5)) as checker,
            pytest.raises(CacheUnavailable),
        ):
            checker.check("http://stalled.example/y", "GPTBot")
    finally:
        proxy.close()


def test_the_crawl_keeps_writing_records_while_redis_stalls(redis_url: str, tmp_path: Path):
    proxy = StallProxy(redis_url)
    with FixtureWeb(30, seed=11, profile="clean", slow_delay=30) as web:
        targets = tmp_path / "t.txt"
        targets.write_text("".join(web.url(i, "/") + "\n" for i in range(len(web))))
        job = tmp_path / "job"
        env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        env["XDG_DATA_HOME"] = str(tmp_path / "home")
        command = [sys.executable, "-m", "reservation_crawler.cli", "crawl", "-i", str(targets)]
        command += ["-o", str(tmp_path / "o.jsonl"), "--job-dir", str(job), "--allow-private"]
        command += ["--redis", proxy.url(socket_timeout=1), "--concurrency", "2"]
        command += ["-s", "AUTOTHROTTLE_START_DELAY=0.1", "-s", "RC_REDIS_BATCH=1", "--json"]
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            records = job / "records.jsonl"
            deadline = time.monotonic() + 60
            while not records.exists() or len(records.read_bytes().splitlines()) < 3:
                assert process.poll() is None, process.communicate()[1][-2000:]
                assert time.monotonic() < deadline
                time.sleep(0.05)
            proxy.stall()
            before = len(records.read_bytes().splitlines())
            time.sleep(4)  # Redis answers nothing for 4 s
            during = len(records.read_bytes().splitlines())
            proxy.resume()
            _out, err = process.communicate(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
            proxy.close()
    assert process.returncode == 0, err[-2000:]
    assert during > before + 3, (before, during)  # fetching and writing went on
    assert len(records.read_bytes().splitlines()) == 30
