"""Workers that lose nothing (issue #15 item 3, docs/crawler.md "Workers that lose nothing").

Four ``reservation-crawler crawl --distributed`` processes crawl 3,000 fixture sites through the
Redis server the tests start; one is killed with SIGKILL mid-crawl and a second one during
reconciliation (once a worker has found the frontier empty and waits for the crawl to end).
Afterwards every site has exactly one record in the dataset (the union of the outputs the
workers committed) and in Redis, and the records are the fixture's ground truth.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import redis

from reservation_crawler.drivers import cache
from reservation_crawler.testing import FixtureWeb, expected_decisions
from reservation_crawler.testing.rediscluster import free_cluster_port

SITES = 3000
WORKERS = 4
LEASE_SECONDS = 15  # a loaded machine can delay a heartbeat by seconds

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["XDG_DATA_HOME"] = str(home)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _worker(n: int, targets: Path, redis_url: str, crawl_id: str, tmp: Path) -> Any:
    args = [
        sys.executable,
        "-m",
        "reservation_crawler.cli",
        "crawl",
        "-i",
        str(targets),
        "-o",
        str(tmp / f"out{n}.jsonl"),
        "--distributed",
        "--crawl-id",
        crawl_id,
        "--redis",
        redis_url,
        "--allow-private",
        "--no-throttle",
        "--concurrency",
        "16",
        "--timeout",
        "3",
        "--json",
        "--log-level",
        "INFO",
        "-s",
        f"RC_WORKER_ID=w{n}",
        "-s",
        f"RC_LEASE_SECONDS={LEASE_SECONDS}",
    ]
    return subprocess.Popen(
        args,
        cwd=tmp,
        env=_env(tmp / "home"),
        stdout=open(tmp / f"w{n}.out", "w"),
        stderr=open(tmp / f"w{n}.log", "w"),
    )


def _wait_for(condition: Any, what: str, processes: list[Any], timeout: float = 1500) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        if all(p.poll() is not None for p in processes):
            break
        time.sleep(0.1)
    raise AssertionError(f"never saw {what}")


def test_killed_workers_lose_nothing(_redis_test_db_checked: str, tmp_path: Path) -> None:
    redis_url = _redis_test_db_checked
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.set("rc:test:marker", "reservation-crawler test suite")
    crawl_id = f"leases-{os.getpid()}-{time.time_ns()}"
    prefix = f"{cache.CRAWL_PREFIX}reservations:{crawl_id}"
    processes: list[Any] = []
    try:
        with FixtureWeb(SITES, seed=15, profile="clean") as web:
            targets = tmp_path / "targets.txt"
            targets.write_text("".join(web.url(i) + "\n" for i in range(SITES)), encoding="utf-8")
            processes = [_worker(n, targets, redis_url, crawl_id, tmp_path) for n in range(WORKERS)]
            # 1. mid-crawl: w0 dies with records written and requests in flight
            _wait_for(
                lambda: client.hlen(f"{prefix}:claims") >= SITES // 5, "a fifth done", processes
            )
            assert processes[0].poll() is None
            processes[0].send_signal(signal.SIGKILL)
            # 2. during reconciliation: the first worker that found the frontier empty and
            # waits for the crawl to end (and has committed nothing yet) dies too
            idle = _wait_for(
                lambda: {m.decode() for m in client.smembers(f"{prefix}:idle")} - {"w0"},
                "a worker reconciling",
                processes,
            )
            second = int(sorted(idle)[0][1:])
            assert not client.smembers(f"{prefix}:finished")
            processes[second].send_signal(signal.SIGKILL)
            for process in processes:
                process.wait(timeout=900)
            truth = list(web.ground_truth())
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    killed = {0, second}
    survivors = [n for n in range(WORKERS) if n not in killed]
    logs = {n: (tmp_path / f"w{n}.log").read_text() for n in range(WORKERS)}
    for n in killed:
        assert processes[n].returncode == -signal.SIGKILL
        assert not (tmp_path / f"out{n}.jsonl").exists(), "a dead worker's output was committed"
        assert (tmp_path / f"out{n}.jsonl.partial").exists()
    for n in survivors:
        assert processes[n].returncode == 0, logs[n][-3000:]

    # The dataset: the union of the committed outputs holds every site exactly once.
    records = [
        json.loads(line)
        for n in survivors
        for line in (tmp_path / f"out{n}.jsonl").read_text().splitlines()
    ]
    wanted = {site["origin"] + "/" for site in truth}
    counts = Counter(r["url"] for r in records)
    assert [url for url, count in counts.items() if count > 1] == []
    assert set(counts) == wanted
    expected = expected_decisions(truth)
    checked = [
        (r["url"], purpose, want, r["decisions"]["*"][purpose])
        for r in records
        for purpose, want in expected[r["url"]]["*"].items()
        if want is not None
    ]
    assert checked and [c for c in checked if c[2] != c[3]] == []

    # Redis: one record per site, each claimed by a worker that finished.
    stored = {key.decode() for key in client.scan_iter(match=cache.RECORD_PREFIX + "*")}
    assert stored == {cache.record_key(url) for url in wanted}
    owners = Counter(v.decode() for v in client.hvals(f"{prefix}:claims"))
    assert sum(owners.values()) == SITES and set(owners) <= {f"w{n}" for n in survivors}

    # Both dead workers were declared dead and reaped (w0's reaper may be the second victim),
    # their origins crawled again; the survivors finished.
    names = {m.decode() for m in client.smembers(f"{prefix}:dead")}
    assert names == {"w0", f"w{second}"}
    assert {m.decode() for m in client.smembers(f"{prefix}:finished")} == {
        f"w{n}" for n in survivors
    }
    for name in names:
        for kind in ("claims", "origins", "inflight"):
            assert not client.exists(f"{prefix}:{kind}:{name}"), f"{name} still holds {kind}"
    summaries = [json.loads((tmp_path / f"w{n}.out").read_text()) for n in survivors]
    assert sum(s["distributed"].get("recrawled_origins", 0) for s in summaries) > 0
    assert sum(s["records"]["written"] for s in summaries) == SITES
    client.close()


# --- Redis outage ---------------------------------------------------------------------------


def _redis_server(port: int, directory: Path) -> subprocess.Popen[bytes]:
    """A redis-server that keeps its data across a restart (AOF, fsync always)."""
    args = ["--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory), "--save", ""]
    args += ["--appendonly", "yes", "--appendfsync", "always", "--logfile", "redis.log"]
    process = subprocess.Popen(["redis-server", *args])
    deadline = time.monotonic() + 20
    while True:
        try:
            redis.Redis(port=port, socket_timeout=1).ping()
            return process
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")
def test_a_redis_outage_loses_nothing(tmp_path: Path) -> None:
    """Redis stops mid-crawl and comes back 4 s later with its data: the workers wait, push and
    claim again what failed, and every site still has exactly one record."""
    sites = 150
    port = free_cluster_port()
    (tmp_path / "redis").mkdir()
    server = _redis_server(port, tmp_path / "redis")
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis(port=port, socket_timeout=2)
    prefix = f"{cache.CRAWL_PREFIX}reservations:outage"
    processes: list[Any] = []
    try:
        with FixtureWeb(sites, seed=16, profile="clean") as web:
            targets = tmp_path / "targets.txt"
            targets.write_text("".join(web.url(i) + "\n" for i in range(sites)), encoding="utf-8")
            processes = [_worker(n, targets, url, "outage", tmp_path) for n in range(2)]
            _wait_for(lambda: client.hlen(f"{prefix}:claims") >= sites // 4, "a quarter", processes)
            server.terminate()  # SIGTERM: redis-server writes its AOF and exits
            server.wait(timeout=30)
            time.sleep(4)
            server = _redis_server(port, tmp_path / "redis")
            for process in processes:
                process.wait(timeout=900)
            wanted = {web.url(i) for i in range(sites)}
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    try:
        logs = [(tmp_path / f"w{n}.log").read_text() for n in range(2)]
        assert [p.returncode for p in processes] == [0, 0], [log[-3000:] for log in logs]
        records = [
            json.loads(line)
            for n in range(2)
            for line in (tmp_path / f"out{n}.jsonl").read_text().splitlines()
        ]
        counts = Counter(r["url"] for r in records)
        assert set(counts) == wanted and max(counts.values()) == 1
        stored = {key.decode() for key in client.scan_iter(match=cache.RECORD_PREFIX + "*")}
        assert stored == {cache.record_key(u) for u in wanted}
        summaries = [json.loads((tmp_path / f"w{n}.out").read_text()) for n in range(2)]
        errors = [
            count
            for s in summaries
            for key, count in s["distributed"].items()
            if key.startswith("redis_errors_")
        ]
        assert sum(errors) > 0, "the outage went unnoticed"
    finally:
        client.close()
        server.terminate()
        server.wait(timeout=30)


# --- reconciliation -------------------------------------------------------------------------


def test_reconciliation_crawls_a_site_claimed_but_never_queued(
    _redis_test_db_checked: str, tmp_path: Path
) -> None:
    """A worker that died between the shared duplicate filter and the push left an origin
    claimed but queued nowhere: at the end, reconciliation finds its target without a record
    and crawls it."""
    import scrapy
    from scrapy_redis.dupefilter import RFPDupeFilter

    redis_url = _redis_test_db_checked
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.set("rc:test:marker", "reservation-crawler test suite")
    crawl_id = f"reconcile-{os.getpid()}-{time.time_ns()}"
    with FixtureWeb(20, seed=17, profile="clean") as web:
        targets = tmp_path / "targets.txt"
        targets.write_text("".join(web.url(i) + "\n" for i in range(20)), encoding="utf-8")
        robots = scrapy.Request(web.url(3, "/robots.txt"))
        fingerprint = RFPDupeFilter.request_fingerprint(None, robots)
        client.sadd(f"{cache.CRAWL_PREFIX}reservations:{crawl_id}:dupefilter", fingerprint)
        # an output committed by an earlier run (a restarted container) is never overwritten
        (tmp_path / "out0.jsonl").write_text("earlier\n", encoding="utf-8")
        worker = _worker(0, targets, redis_url, crawl_id, tmp_path)
        worker.wait(timeout=600)
        wanted = {web.url(i) for i in range(20)}
    client.close()
    assert worker.returncode == 0, (tmp_path / "w0.log").read_text()[-3000:]
    assert (tmp_path / "out0.jsonl").read_text() == "earlier\n"
    output = (tmp_path / "out0.w0.jsonl").read_text()
    assert sorted(json.loads(line)["url"] for line in output.splitlines()) == sorted(wanted)
    summary = json.loads((tmp_path / "w0.out").read_text())
    assert summary["output"] == str(tmp_path / "out0.w0.jsonl")
    assert summary["distributed"]["reconciled_origins"] == 1
    assert (
        "reconciliation: 1 target URLs of 1 sites have no record"
        in (tmp_path / "w0.log").read_text()
    )
