"""Crawl throughput and memory on the fixture web, against the server's raw capacity.

    python bench/crawl_bench.py                       # 2,000 and 10,000 sites
    python bench/crawl_bench.py --sites 2000 --json   # one size, JSON on stdout

For each size N, the fixture web runs in its own process (``--profile clean``: no timeouts, so
the figures measure work, not waiting) and, against that same server:

1. **raw**: a plain asyncio + httpx fetcher makes the same requests the crawler makes for each
   site -- ``/robots.txt``, ``/ai.txt``, ``/.well-known/tdmrep.json``, ``/`` in sequence, with
   the same number of sites in flight -- and does nothing with the answers. Run before and
   after the crawl; the faster of the two is the server's capacity.
2. **crawl**: ``reservation-crawler crawl`` in a subprocess (the real command: Scrapy, the
   parsers, ``decide``, JSON Lines output and Redis writes to an embedded Redis), with
   ``--no-throttle`` (politeness delays would measure the delay, not the crawler).

Reported: sites/s and records/s of each, the crawl's share of the raw rate, CPU seconds per
1,000 sites of the crawler, the raw fetcher and the server (which side is the bottleneck), and
the crawler's peak resident memory (``ru_maxrss`` of the crawl process, from ``os.wait4``). A
warm-up pass first renders every site once, so neither run pays for it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from reservation_crawler.testing import FixtureWebProcess

# The crawler's requests per site (core.policy.policy_requests): robots.txt, ai.txt (then
# /.well-known/ai.txt when it answers 404/410), tdmrep.json, /rsl.xml (robots.txt names no
# License: on these sites), the home page.
POLICY_PATHS = ("/robots.txt", "/ai.txt", "/.well-known/tdmrep.json", "/rsl.xml", "/")
AITXT_FALLBACK = "/.well-known/ai.txt"


async def raw_fetch(port: int, sites: int, concurrency: int) -> dict[str, Any]:
    """The same requests as the crawler, as fast as asyncio + httpx can make them."""
    cpu_started = time.process_time()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    transport = httpx.AsyncHTTPTransport(limits=limits, retries=0)
    async with httpx.AsyncClient(transport=transport, timeout=30.0) as client:
        slots = asyncio.Semaphore(concurrency)
        errors = 0
        requests = 0

        async def site(index: int) -> None:
            nonlocal errors, requests
            host = f"s{index:05d}.fixture.localhost:{port}"
            async with slots:
                paths = list(POLICY_PATHS)
                while paths:
                    path = paths.pop(0)
                    requests += 1
                    try:
                        response = await client.get(
                            f"http://127.0.0.1:{port}{path}", headers={"Host": host}
                        )
                        await response.aread()
                    except httpx.HTTPError:
                        errors += 1
                        continue
                    if path == "/ai.txt" and response.status_code in (404, 410):
                        paths.insert(0, AITXT_FALLBACK)

        started = time.perf_counter()
        await asyncio.gather(*(site(i) for i in range(sites)))
        elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    return {
        "elapsed_s": round(elapsed, 3),
        "sites_per_s": round(sites / elapsed, 1),
        "requests_per_s": round(requests / elapsed, 1),
        "errors": errors,
        "cpu_s_per_1000_sites": round(cpu * 1000 / sites, 2),
    }


def run_crawl(port: int, sites: int, concurrency: int, work: Path) -> dict[str, Any]:
    """``reservation-crawler crawl`` over the fixture web; its summary, CPU and peak memory."""
    targets = work / f"targets-{sites}.txt"
    targets.write_text(
        "".join(f"http://s{i:05d}.fixture.localhost:{port}/\n" for i in range(sites)),
        encoding="utf-8",
    )
    output = work / f"records-{sites}.jsonl"
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["XDG_DATA_HOME"] = str(work / "data")  # a fresh embedded Redis
    command = [
        sys.executable, "-m", "reservation_crawler.cli", "crawl", "-i", str(targets),
        "-o", str(output), "--allow-private", "--no-throttle", "--concurrency",
        str(concurrency), "--json", "--agent", "GPTBot", "--agent", "ClaudeBot",
        "--agent", "CCBot",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None and process.stderr is not None
    out = process.stdout.read()
    err = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"crawl failed ({process.returncode}): {err.decode()[-2000:]}")
    summary = json.loads(out)
    elapsed = summary["elapsed_s"]
    cpu = usage.ru_utime + usage.ru_stime
    return {
        "elapsed_s": elapsed,
        "sites_per_s": round(sites / elapsed, 1),
        "records_per_s": round(summary["records"]["written"] / elapsed, 1),
        "records": summary["records"]["written"],
        "requests": summary["requests"],
        "sites_done": summary["sites"]["done"],
        "sites_failed": summary["sites"]["failed"],
        "cpu_s": round(cpu, 2),
        "cpu_s_per_1000_sites": round(cpu * 1000 / sites, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux: KiB
    }


def _server_cpu(server: psutil.Process) -> float:
    times = server.cpu_times()
    return times.user + times.system


def bench(sites: int, concurrency: int, seed: int) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="crawl-bench-") as tmp,
        FixtureWebProcess(sites, seed=seed, profile="clean") as web,
    ):
        work = Path(tmp)
        server = psutil.Process(web.ready["pid"])
        asyncio.run(raw_fetch(web.port, sites, concurrency))  # warm-up: render every site once
        cpu = _server_cpu(server)
        raw_before = asyncio.run(raw_fetch(web.port, sites, concurrency))
        raw_before["server_cpu_s_per_1000_sites"] = round(
            (_server_cpu(server) - cpu) * 1000 / sites, 2
        )
        cpu = _server_cpu(server)
        crawl = run_crawl(web.port, sites, concurrency, work)
        crawl["server_cpu_s_per_1000_sites"] = round((_server_cpu(server) - cpu) * 1000 / sites, 2)
        cpu = _server_cpu(server)
        raw_after = asyncio.run(raw_fetch(web.port, sites, concurrency))
        raw_after["server_cpu_s_per_1000_sites"] = round(
            (_server_cpu(server) - cpu) * 1000 / sites, 2
        )
    raw = max(raw_before, raw_after, key=lambda r: r["sites_per_s"])
    return {
        "sites": sites,
        "concurrency": concurrency,
        "raw": raw,
        "raw_runs_sites_per_s": [raw_before["sites_per_s"], raw_after["sites_per_s"]],
        "crawl": crawl,
        "crawl_share_of_raw": round(crawl["sites_per_s"] / raw["sites_per_s"], 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, action="append", help="default: 2000 and 10000")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    sizes = args.sites or [2000, 10000]
    results = []
    for sites in sizes:
        result = bench(sites, args.concurrency, args.seed)
        results.append(result)
        if not args.json:
            raw, crawl = result["raw"], result["crawl"]
            print(
                f"{sites:>6} sites: raw {raw['sites_per_s']:>7.1f} sites/s "
                f"({raw['requests_per_s']:.0f} req/s) | crawl {crawl['sites_per_s']:>7.1f} "
                f"sites/s, {crawl['records_per_s']:.1f} records/s = "
                f"{result['crawl_share_of_raw']:.0%} of raw | CPU s/1000 sites: crawler "
                f"{crawl['cpu_s_per_1000_sites']:.1f}, raw fetcher "
                f"{raw['cpu_s_per_1000_sites']:.1f}, server "
                f"{raw['server_cpu_s_per_1000_sites']:.1f} | peak RSS "
                f"{crawl['peak_rss_mb']:.0f} MB",
                flush=True,
            )
    report = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "results": results,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    elif len(results) > 1:
        first, last = results[0], results[-1]
        growth = last["crawl"]["peak_rss_mb"] / first["crawl"]["peak_rss_mb"]
        print(
            f"peak memory x{growth:.2f} for x{last['sites'] / first['sites']:.0f} sites "
            f"({first['crawl']['peak_rss_mb']:.0f} -> {last['crawl']['peak_rss_mb']:.0f} MB)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
