"""The figures docs/scaling.md sizes a deployment from: Redis bytes per origin policy and per
record, and crawler CPU per site and per page.

Run from the repository root:

    python bench/scaling_bench.py                   # 500 sites, 1 and 5 pages per site (~2 min)
    python bench/scaling_bench.py --sites 2000 --json
    python bench/scaling_bench.py --redis redis://127.0.0.1:6379/14   # a spare db: it is FLUSHED

The fixture web (``--profile clean``: real robots.txt bodies from ``../shared/corpus/robots``
when present, no deliberately broken sites) runs in its own process; ``reservation-crawler
crawl`` crawls it into Redis exactly as a user would (``--no-throttle``, agents GPTBot,
ClaudeBot, CCBot). Then every key the crawl wrote is measured with ``MEMORY USAGE key SAMPLES 0``
(the key, its value and Redis's per-key overhead) and the whole database with ``INFO memory``
(which adds the indexes, the hash table and the allocator's rounding).

Without ``--redis`` a private ``redis-server`` is started on a free loopback port and stopped at
the end. With ``--redis`` the given database is flushed before each crawl: give a spare one.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis

from reservation_crawler.testing.fixtureweb import FixtureWebProcess

AGENTS = ("GPTBot", "ClaudeBot", "CCBot")


@contextmanager
def private_redis() -> Iterator[str]:
    """A throwaway ``redis-server`` on a free loopback port, no persistence."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server not found: install it or pass --redis URL")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url)
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def crawl(port: int, sites: int, pages: int, redis_url: str, work: Path) -> dict[str, Any]:
    """``reservation-crawler crawl`` over the fixture web: its summary and CPU seconds."""
    targets = work / "targets.txt"
    targets.write_text(
        "".join(f"http://s{i:05d}.fixture.localhost:{port}/\n" for i in range(sites)),
        encoding="utf-8",
    )
    output = work / f"records-{pages}.jsonl"
    command = [
        sys.executable, "-m", "reservation_crawler.cli", "crawl", "-i", str(targets),
        "-o", str(output), "--redis", redis_url, "--allow-private", "--no-throttle",
        "--max-pages-per-site", str(pages), "--timeout", "5", "--json",
        *(arg for agent in AGENTS for arg in ("--agent", agent)),
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    process = subprocess.Popen(command, cwd=work, env=env, stdout=subprocess.PIPE)
    assert process.stdout is not None
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"crawl failed: {' '.join(command)}")
    summary = json.loads(out)
    lines = output.read_bytes().splitlines()
    cpu = usage.ru_utime + usage.ru_stime
    records = summary["records"]["written"]
    return {
        "pages_per_site": pages,
        "sites": sites,
        "records": records,
        "requests": summary["requests"],
        "elapsed_s": summary["elapsed_s"],
        "cpu_s": round(cpu, 2),
        "cpu_ms_per_site": round(cpu * 1000 / sites, 2),
        "cpu_ms_per_record": round(cpu * 1000 / records, 2),
        "cpu_ms_per_request": round(cpu * 1000 / summary["requests"], 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "jsonl_bytes_per_record": round(sum(len(line) + 1 for line in lines) / len(lines)),
    }


def key_sizes(client: redis.Redis, pattern: str) -> dict[str, Any]:
    """``MEMORY USAGE`` and value length of every key matching ``pattern``."""
    usage: list[int] = []
    length: list[int] = []
    bodies: list[int] = []  # policy files' bodies (robots.txt, ai.txt, tdmrep.json) as stored
    for key in client.scan_iter(match=pattern, count=1000):
        usage.append(int(client.memory_usage(key, samples=0) or 0))
        raw = client.get(key) or b""
        length.append(len(raw))
        files = json.loads(raw).get("files", {})
        bodies.append(
            sum(len(f.get("body", f.get("body_b64", "")).encode()) for f in files.values())
        )
    if not usage:
        return {"keys": 0}
    usage.sort()
    return {
        "body_bytes_mean": round(statistics.fmean(bodies)),
        "keys": len(usage),
        "memory_usage_mean": round(statistics.fmean(usage)),
        "memory_usage_p50": usage[len(usage) // 2],
        "memory_usage_p90": usage[int(len(usage) * 0.9)],
        "memory_usage_max": usage[-1],
        "value_bytes_mean": round(statistics.fmean(length)),
    }


def measure(redis_url: str, port: int, sites: int, pages: int, work: Path) -> dict[str, Any]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    before = int(client.info("memory")["used_memory"])
    figures = crawl(port, sites, pages, redis_url, work)
    after = int(client.info("memory")["used_memory"])
    figures["policies"] = key_sizes(client, "rc:v1:policy:*")
    figures["records_in_redis"] = key_sizes(client, "rc:v1:record:*")
    figures["index_bytes"] = {
        name: int(client.memory_usage(f"rc:v1:{name}", samples=0) or 0)
        for name in ("policies", "records")
    }
    figures["used_memory_delta"] = after - before
    figures["used_memory_per_site"] = round((after - before) / sites)
    client.flushdb()
    return figures


def redis_get_rate(redis_url: str, value_bytes: int) -> dict[str, Any] | None:
    """``redis-benchmark`` GETs of values the size of a stored policy (client and server share
    this machine, so a lower bound for one Redis core)."""
    binary = shutil.which("redis-benchmark")
    parts = urlsplit(redis_url)
    if binary is None or parts.scheme != "redis":
        return None
    rates = {}
    for pipeline in (1, 16):
        out = subprocess.run(
            [binary, "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 6379),
             "--dbnum", parts.path.strip("/") or "0", "-t", "set,get", "-d", str(value_bytes),
             "-n", "200000", "-c", "32", "-P", str(pipeline), "--csv"],
            capture_output=True, text=True, check=True, timeout=300,
        ).stdout  # fmt: skip
        row = next(csv.reader(line for line in out.splitlines() if line.startswith('"GET')))
        rates[f"pipeline_{pipeline}"] = round(float(row[1]))
    return {"value_bytes": value_bytes, "get_per_s": rates}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=500)
    parser.add_argument(
        "--pages", type=int, action="append", help="pages per site (repeatable; default 1 and 5)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--corpus", help="robots.txt corpus folder (default: the fixture web's, if present)"
    )
    parser.add_argument("--redis", help="use this Redis database: it is FLUSHED")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    pages = args.pages or [1, 5]

    runs = []
    with (
        tempfile.TemporaryDirectory(prefix="scaling-bench-") as tmp,
        FixtureWebProcess(args.sites, seed=args.seed, profile="clean", corpus=args.corpus) as web,
        private_redis() if args.redis is None else _given(args.redis) as redis_url,
    ):
        info = redis.Redis.from_url(redis_url).info()
        for count in pages:
            runs.append(measure(redis_url, web.port, args.sites, count, Path(tmp)))
        get_rate = None
        if args.redis is None:  # never load a server that is not ours
            get_rate = redis_get_rate(redis_url, runs[0]["policies"]["value_bytes_mean"])
            redis.Redis.from_url(redis_url).flushdb()
    result = {
        "machine": f"Python {platform.python_version()}, {platform.system()} "
        f"{platform.machine()}, {os.cpu_count()} CPUs",
        "redis": f"{info['redis_version']} ({info['mem_allocator']})",
        "corpus": web.ready.get("corpus"),
        "runs": runs,
        "redis_get": get_rate,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        report(result)
    return 0


@contextmanager
def _given(url: str) -> Iterator[str]:
    yield url


def report(result: dict[str, Any]) -> None:
    print(f"{result['machine']}; Redis {result['redis']}; robots corpus {result['corpus']}")
    if result["redis_get"]:
        get = result["redis_get"]
        print(
            f"redis-benchmark GET of {get['value_bytes']} B values, 32 clients: "
            f"{get['get_per_s']['pipeline_1']:,}/s, pipelined by 16: "
            f"{get['get_per_s']['pipeline_16']:,}/s"
        )
    for run in result["runs"]:
        p, r = run["policies"], run["records_in_redis"]
        print(
            f"\n{run['sites']} sites x {run['pages_per_site']} page(s): {run['records']} records, "
            f"{run['requests']} requests, {run['elapsed_s']} s, crawler CPU {run['cpu_s']} s "
            f"({run['cpu_ms_per_site']} ms/site, {run['cpu_ms_per_record']} ms/record, "
            f"{run['cpu_ms_per_request']} ms/request), peak RSS {run['peak_rss_mb']} MB"
        )
        print(
            f"  policy keys: {p['keys']}, MEMORY USAGE mean {p['memory_usage_mean']} B "
            f"(p50 {p['memory_usage_p50']}, p90 {p['memory_usage_p90']}, max "
            f"{p['memory_usage_max']}), value mean {p['value_bytes_mean']} B, of which policy "
            f"file bodies {p['body_bytes_mean']} B"
        )
        print(
            f"  record keys: {r['keys']}, MEMORY USAGE mean {r['memory_usage_mean']} B "
            f"(p50 {r['memory_usage_p50']}, p90 {r['memory_usage_p90']}, max "
            f"{r['memory_usage_max']}), value mean {r['value_bytes_mean']} B; "
            f"JSON Lines {run['jsonl_bytes_per_record']} B/record"
        )
        print(
            f"  indexes: policies {run['index_bytes']['policies']} B, records "
            f"{run['index_bytes']['records']} B; used_memory grew {run['used_memory_delta']} B "
            f"= {run['used_memory_per_site']} B per site"
        )


if __name__ == "__main__":
    sys.exit(main())
