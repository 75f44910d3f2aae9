"""Crawl and demo: run the ``reservations`` spider in this process (cli/_crawl.py, _demo.py).

``crawl`` reads origins, domains or URLs, writes one reservation record per URL to a dataset
(JSON Lines or Parquet, Scrapy feed exports) and to Redis (records and per-origin policies, with
TTLs), and prints a summary whose counts add up. ``demo`` does the same on a local fixture web
it starts itself. See docs/crawler.md.

``CrawlResult.exit_code``: 0 the crawl completed (every site has its records; sites that failed
are counted by reason and are data, not errors); 1 the crawl was interrupted (Ctrl-C, SIGTERM) or
left sites unfinished -- with ``--job-dir``, run the same command again to resume. Bad usage,
or Redis / the output that cannot be used, raise :class:`UsageError` (exit status 2).
"""

from __future__ import annotations

import contextlib
import hashlib
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reservation_crawler._version import APP_NAME
from reservation_crawler.apps._exit import ExitCode
from reservation_crawler.core.fetching import DEFAULT_TIMEOUT
from reservation_crawler.errors import UsageError

OUTPUT_FORMATS = {
    ".jsonl": "jsonlines",
    ".jsonlines": "jsonlines",
    ".ndjson": "jsonlines",
    ".parquet": "parquet",
}
DEFAULT_OUTPUT = "reservations.jsonl"
DEMO_SITES = 200
SPIDER_NAME = "reservations"  # ReservationsSpider.name, in the distributed crawl's keys
CRAWL_KEY_TTL = 24 * 3600  # the distributed frontier and duplicate filter outlive a crawl this long


@dataclass
class CrawlOptions:
    """Everything ``crawl`` needs; the CLI, ``demo`` and the benchmark build one."""

    targets: Sequence[str] = ()
    input_files: Sequence[str] = ()
    output: str | None = DEFAULT_OUTPUT
    max_pages: int = 1
    redis_url: str | None = None
    use_redis: bool = True
    job_dir: str | None = None
    distributed: bool = False
    crawl_id: str | None = None
    agents: Sequence[str] = ()
    allow_private: bool = False
    concurrency: int = 64
    timeout: float = DEFAULT_TIMEOUT
    scheme: str = "https"
    throttle: bool = True
    progress: str = "off"  # "bar", "log" or "off" (scrapy.extensions.Progress)
    log_level: str = "WARNING"
    metrics_port: int | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    manifest: bool = True  # write the manifest and card beside the dataset (docs/datasets.md)


@dataclass
class CrawlResult:
    summary: dict[str, Any]
    exit_code: ExitCode
    output: str | None
    redis: str | None
    job_dir: str | None = None
    messages: list[str] = field(default_factory=list)


def output_format(path: str) -> str:
    if path == "-":
        return "jsonlines"
    suffix = Path(path).suffix.lower()
    try:
        return OUTPUT_FORMATS[suffix]
    except KeyError:
        known = ", ".join(sorted(OUTPUT_FORMATS))
        raise UsageError(f"cannot tell the format of {path!r}: use one of {known}") from None


def crawl_id_of(options: CrawlOptions, targets_digest: str) -> str:
    """The distributed crawl's name: given, or derived from what is crawled (so processes
    started with the same arguments join the same crawl)."""
    if options.crawl_id:
        return options.crawl_id
    parts = [targets_digest, str(options.max_pages), ",".join(options.agents), options.scheme]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def build_settings(options: CrawlOptions, *, redis_url_for_scheduler: str | None = None) -> Any:
    """Scrapy settings for one crawl: the package defaults plus the options."""
    from scrapy.settings import Settings

    from reservation_crawler.scrapy import settings as defaults
    from reservation_crawler.scrapy.distributed import partial_path
    from reservation_crawler.scrapy.items import RecordItem

    settings = Settings()
    settings.setmodule(defaults, priority="project")
    overrides: dict[str, Any] = {
        "CONCURRENT_REQUESTS": options.concurrency,
        "DOWNLOAD_TIMEOUT": options.timeout,
        "DNS_TIMEOUT": options.timeout,
        "AUTOTHROTTLE_ENABLED": options.throttle,
        "RC_ALLOW_PRIVATE": options.allow_private,
        "RC_AGENTS": list(options.agents),
        "RC_REDIS_ENABLED": options.use_redis,
        "RC_REDIS_URL": options.redis_url,
        "RC_JOB_DIR": options.job_dir,
        "RC_PROGRESS": options.progress,
        "RC_DISTRIBUTED": options.distributed,
        "LOG_LEVEL": options.log_level,
        "RC_METRICS_PORT": options.metrics_port,
    }
    if options.output is not None and options.job_dir is None:
        # --distributed: a worker's dataset is <output>.partial until the worker finishes
        # cleanly (then renamed), so a worker that dies leaves nothing in the dataset.
        written = partial_path(options.output) if options.distributed else options.output
        uri = "stdout:" if options.output == "-" else Path(written).absolute().as_uri()
        overrides["FEEDS"] = {
            uri: {
                "format": output_format(options.output),
                "item_classes": [RecordItem],
                "overwrite": options.output != "-",
                "encoding": "utf-8",
            }
        }
    if options.distributed:
        assert redis_url_for_scheduler is not None
        overrides.update(distributed_settings(redis_url_for_scheduler, options.crawl_id or ""))
    settings.setdict(overrides, priority="cmdline")
    settings.setdict(dict(options.settings), priority="cmdline")
    return settings


def distributed_settings(redis_url: str, crawl_id: str) -> dict[str, Any]:
    """scrapy-redis: a shared frontier and duplicate filter under ``rc:v1:crawl:<id>:``."""
    from reservation_crawler.drivers import cache

    keys = cache.scrapy_redis_settings(redis_url)
    # One crawl's keys: the cache module's layout, with the crawl's name after the spider's.
    keys = {k: v.replace("%(spider)s", f"%(spider)s:{crawl_id}") for k, v in keys.items()}
    return {
        **keys,
        # Leases, claims and reconciliation on top of scrapy-redis (scrapy/distributed.py).
        "RC_CRAWL_KEY": f"{cache.CRAWL_PREFIX}{SPIDER_NAME}:{crawl_id}",
        "SCHEDULER": "reservation_crawler.scrapy.distributed.LeasedScheduler",
        "SCHEDULER_QUEUE_CLASS": "reservation_crawler.scrapy.distributed.LeasedQueue",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        # Never clear the shared frontier when one process finishes: the others still use it.
        "SCHEDULER_PERSIST": True,
        "SCHEDULER_IDLE_BEFORE_CLOSE": 0,
    }


def run_crawl(options: CrawlOptions) -> CrawlResult:
    """Run one crawl in this process (Scrapy's reactor can run once per process)."""
    from scrapy.crawler import CrawlerProcess

    from reservation_crawler.drivers import cache
    from reservation_crawler.errors import CacheUnavailable, ConfigError
    from reservation_crawler.scrapy.extensions import summary_from_stats
    from reservation_crawler.scrapy.spider import ReservationsSpider
    from reservation_crawler.scrapy.targets import read_targets

    if options.max_pages < 1:
        raise UsageError("--max-pages-per-site must be at least 1")
    if options.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    if options.job_dir and options.distributed:
        raise UsageError("--job-dir and --distributed cannot be combined")
    if options.distributed and not options.use_redis:
        raise UsageError("--distributed needs Redis")
    if options.output is not None:
        output_format(options.output)
    if options.distributed and options.output == "-":
        raise UsageError(
            "--distributed writes its dataset to a file (committed when the worker finishes); "
            "-o - cannot be taken back when a worker dies"
        )
    try:
        targets = read_targets(options.targets, options.input_files, scheme=options.scheme)
    except OSError as exc:
        raise UsageError(f"cannot read the input: {exc}") from exc
    if not targets.by_origin:
        raise UsageError("no usable target (give origins, domains or URLs, or -i FILE)")

    if options.job_dir:
        _check_job_dir(options, targets.by_origin)

    redis_where = None
    scheduler_url = None
    if options.use_redis:
        try:
            client = cache.connect(options.redis_url)
        except (CacheUnavailable, ConfigError) as exc:
            raise UsageError(str(exc)) from exc
        redis_where = cache.describe(client)
        scheduler_url = cache.redis_url_of(client)
        if options.distributed and cache.is_cluster(client):
            # scrapy-redis 0.9 builds a plain redis.Redis from REDIS_URL: no cluster client.
            raise UsageError(
                f"--distributed needs a single Redis server for the shared frontier, not the "
                f"Redis Cluster {redis_where}; the cache alone (without --distributed) can use "
                "a cluster (docs/redis.md)"
            )
    if options.distributed:
        digest = hashlib.sha256("\n".join(targets.by_origin).encode()).hexdigest()
        options.crawl_id = crawl_id_of(options, digest)

    settings = build_settings(options, redis_url_for_scheduler=scheduler_url)
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(ReservationsSpider)
    started = time.time()
    process.crawl(
        crawler,
        targets=list(options.targets),
        input=list(options.input_files),
        agents=list(options.agents),
        max_pages=options.max_pages,
        scheme=options.scheme,
    )
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats is not None else {}
    stats.setdefault("reservation/started", started)
    summary = summary_from_stats(stats)
    if redis_where and not summary.get("redis"):
        summary["redis"] = redis_where
    messages: list[str] = []
    if options.distributed and options.crawl_id:
        summary["crawl_id"] = options.crawl_id
        messages += _end_worker(crawler, options, summary)
        _expire_crawl_keys(scheduler_url, options.crawl_id)

    complete = summary["close_reason"] == "finished" and summary["sites"]["unfinished"] == 0
    if options.distributed:
        # This process reports its own share; the other processes crawled the rest.
        sites = summary["sites"]
        summary["targets_in_crawl"] = sites["total"]
        sites["total"] = sites["done"] + sites["failed"]
        sites["unfinished"] = 0
        complete = summary["close_reason"] == "finished"
    result = CrawlResult(
        summary=summary,
        exit_code=ExitCode.OK if complete else ExitCode.INCOMPLETE,
        output=options.output,
        redis=summary.get("redis"),
        job_dir=options.job_dir,
        messages=messages,
    )
    if options.distributed and not complete:
        result.output = None
    if options.job_dir:
        if complete and options.output is not None:
            written = export_ledger(options.job_dir, options.output)
            result.messages.append(f"{written} records exported from the job ledger")
        elif not complete:
            result.output = None
            result.messages.append(
                f"interrupted: run the same command again to resume (job dir {options.job_dir}); "
                "the dataset and its manifest are written when it completes"
            )
    if options.manifest and result.output not in (None, "-"):
        _write_manifest(options, targets, result, complete)
    return result


def _write_manifest(
    options: CrawlOptions, targets: Any, result: CrawlResult, complete: bool
) -> None:
    """The manifest and card of the dataset, read back from the dataset file (docs/datasets.md):
    complete for a resumed crawl (its dataset is exported whole from the job ledger), and for
    an interrupted crawl without --job-dir exactly the records its dataset holds."""
    from reservation_crawler.apps.datasets import write_manifest
    from reservation_crawler.errors import InputError

    assert result.output is not None
    dataset = Path(result.output)
    if not dataset.exists():
        return
    listed = "\n".join(sorted(targets.by_origin))
    inputs = {
        "origins": len(targets.by_origin),
        "origins_sha256": hashlib.sha256(listed.encode()).hexdigest(),
        "targets_given": len(options.targets),
        "input_files": [
            {"file": name, "sha256": _file_sha256(name)} for name in options.input_files
        ],
    }
    recorded = {
        "agents": list(options.agents),
        "max_pages_per_site": options.max_pages,
        "scheme": options.scheme,
        "allow_private": options.allow_private,
        "timeout": options.timeout,
        "concurrency": options.concurrency,
        "throttle": options.throttle,
        "job_dir": options.job_dir is not None,
        "distributed": options.distributed,
        "redis": options.use_redis,
    }
    try:
        paths, card = write_manifest(dataset, options=recorded, complete=complete, inputs=inputs)
    except (InputError, OSError) as exc:
        result.messages.append(f"warning: no manifest written: {exc}")
        return
    result.summary["manifest"] = {
        "manifest": str(paths.manifest.absolute()),
        "card": str(paths.card_json.absolute()),
        "card_markdown": str(paths.card_md.absolute()),
        "sha256": card["manifest"]["sha256"],
        "rows": card["manifest"]["rows"],
    }
    result.messages.append(
        f"manifest: {paths.manifest.absolute()} ({card['manifest']['rows']} rows, sha256 "
        f"{card['manifest']['sha256']}); card: {paths.card_json.absolute()}, {paths.card_md.name}"
    )


def _file_sha256(name: str) -> str | None:
    if name == "-":
        return None  # stdin: read once, nothing to digest again
    try:
        from reservation_crawler.apps.datasets import sha256_of

        return sha256_of(Path(name))
    except OSError:
        return None


def _end_worker(crawler: Any, options: CrawlOptions, summary: dict[str, Any]) -> list[str]:
    """A distributed worker's end: commit its dataset (rename ``.partial``) and give up its
    lease when it finished cleanly; else leave the ``.partial`` file for the others to redo."""
    import redis

    from reservation_crawler.scrapy.distributed import frontier_for, partial_path

    frontier = frontier_for(crawler)
    stats = crawler.stats.get_stats() if crawler.stats is not None else {}
    summary["distributed"] = {
        "worker": frontier.worker if frontier else None,
        **{
            key[len("reservation/distributed/") :].replace("/", "_"): value
            for key, value in sorted(stats.items())
            if key.startswith("reservation/distributed/") and not key.endswith("/worker")
        },
        "claimed_by_another_worker": int(
            stats.get("reservation/records/claimed_by_another_worker", 0)
        ),
    }
    partial = partial_path(options.output) if options.output else None
    if summary["close_reason"] == "finished":
        messages = []
        if partial is not None and options.output is not None and Path(partial).exists():
            target = Path(options.output)
            if target.exists() and frontier is not None:
                # Never over another committed output (a restarted container's earlier run):
                # it holds records this crawl counts as written.
                target = target.with_name(f"{target.stem}.{frontier.worker}{target.suffix}")
                options.output = str(target)
                messages.append(f"{Path(target).name}: the output existed, kept beside it")
            Path(partial).replace(target)
        if frontier is None:
            return messages
        try:
            frontier.finish()
            # A worker killed after the others saw the crawl complete is declared dead only when
            # its lease runs out: the last workers stay until then, and say so if its work
            # remains to be redone (by any worker running the same command).
            orphaned = frontier.wait_for_others(poll=frontier.lease_ms / 3000)
        except redis.RedisError as exc:
            return [*messages, f"warning: could not give up this worker's lease in Redis: {exc}"]
        if orphaned:
            summary["close_reason"] = "orphaned-work"
            messages.append(
                f"worker(s) {', '.join(orphaned)} died before committing their output, after "
                "this worker's crawl ended: run the same command again to crawl their sites"
            )
        return messages
    if frontier is not None and summary["close_reason"] != "lease-lost":
        with contextlib.suppress(redis.RedisError):
            frontier.abandon()
    return [
        f"this worker stopped before the crawl ended ({summary['close_reason']}): its output "
        f"{partial} is not part of the dataset; the other workers crawl its sites again"
    ]


def _check_job_dir(options: CrawlOptions, by_origin: Mapping[str, Sequence[str]]) -> None:
    """Refuse a job directory made for other options (a different dataset, not a resume)."""
    from reservation_crawler.scrapy.jobdir import JobMismatch, check_job_options

    assert options.job_dir is not None
    listed = "\n".join(f"{origin} {' '.join(urls)}" for origin, urls in sorted(by_origin.items()))
    digest = hashlib.sha256(listed.encode()).hexdigest()
    recorded = {
        "targets": f"{len(by_origin)} origins, sha256 {digest}",
        "agents": sorted(options.agents),
        "max_pages_per_site": options.max_pages,
        "scheme": options.scheme,
        "allow_private": options.allow_private,
    }
    try:
        check_job_options(options.job_dir, recorded)
    except JobMismatch as exc:
        raise UsageError(str(exc)) from exc


def _expire_crawl_keys(redis_url: str | None, crawl_id: str) -> None:
    """Let the distributed crawl's frontier and filter expire a day after its last process."""
    if redis_url is None:
        return
    from reservation_crawler.drivers import cache

    with contextlib.suppress(Exception):
        client = cache.connect(redis_url)
        for key in client.scan_iter(match=f"{cache.CRAWL_PREFIX}*:{crawl_id}:*"):
            client.expire(key, CRAWL_KEY_TTL)


def export_ledger(job_dir: str, output: str) -> int:
    """Write the job ledger's records to ``output`` with the feed exporters (JSONL / Parquet)."""
    from scrapy.exporters import JsonLinesItemExporter

    from reservation_crawler.scrapy.exporters import ParquetItemExporter
    from reservation_crawler.scrapy.jobdir import JobLedger

    ledger = JobLedger(job_dir)
    count = 0
    try:
        if output == "-":
            handle: Any = sys.stdout.buffer
            close = False
        else:
            handle = open(output, "wb")  # noqa: SIM115 - closed below
            close = True
        exporter: Any
        if output_format(output) == "parquet":
            exporter = ParquetItemExporter(handle)
        else:
            exporter = JsonLinesItemExporter(handle, encoding="utf-8", ensure_ascii=False)
        exporter.start_exporting()
        for record in ledger.iter_records():
            exporter.export_item(record)
            count += 1
        exporter.finish_exporting()
        handle.flush()
        if close:
            handle.close()
    finally:
        ledger.close()
    return count


# --- output -------------------------------------------------------------------------------------


def render_summary(result: CrawlResult) -> str:
    s = result.summary
    sites = s["sites"]
    records = s["records"]
    lines = []
    elapsed = s.get("elapsed_s")
    rate = f" ({s['sites_per_s']} sites/s)" if s.get("sites_per_s") is not None else ""
    when = f" in {elapsed:.1f} s{rate}" if elapsed else ""
    lines.append(
        f"sites: {sites['total']} total{when}: {sites['done']} done, {sites['failed']} failed"
        + (f", {sites['unfinished']} unfinished" if sites["unfinished"] else "")
        + (f" ({sites['resumed']} finished in earlier runs)" if sites["resumed"] else "")
    )
    if sites["failed_by_reason"]:
        reasons = ", ".join(
            f"{reason} {count}"
            for reason, count in sorted(sites["failed_by_reason"].items(), key=lambda kv: -kv[1])
        )
        lines.append(f"  failed by reason: {reasons}")
    rec_rate = f" ({s['records_per_s']}/s)" if s.get("records_per_s") is not None else ""
    lines.append(f"records: {records['written']} written{rec_rate}")
    reserved = records["star_reserved_by_purpose"]
    lines.append(
        "  reserved for agents no robots.txt group names ('*'), this run: "
        + ", ".join(f"{purpose} {count}" for purpose, count in reserved.items())
    )
    if s.get("invalid_targets"):
        lines.append(f"invalid targets skipped: {s['invalid_targets']} (see the warnings above)")
    if s.get("redis_lost_writes"):
        lines.append(
            f"warning: {s['redis_lost_writes']} Redis writes failed (see the log); the dataset "
            "is complete"
        )
    if result.redis:
        lines.append(
            f"Redis: {result.redis} (keys rc:v1:record:<url>, rc:v1:policy:{{<origin>}}; "
            "docs/redis.md)"
        )
    if result.output:
        where = "stdout" if result.output == "-" else str(Path(result.output).absolute())
        lines.append(f"dataset: {where}")
    if result.job_dir:
        lines.append(f"job dir: {Path(result.job_dir).absolute()}")
    if s.get("crawl_id"):
        lines.append(
            f"distributed crawl {s['crawl_id']}: this process crawled {sites['total']} of the "
            f"{s.get('targets_in_crawl')} sites; the other processes crawled the rest"
        )
    lines.extend(result.messages)
    return "\n".join(lines)


def summary_json(result: CrawlResult) -> dict[str, Any]:
    """The summary as ``--json`` prints it: the counts, where the data went, the exit code."""
    return {
        **result.summary,
        "output": None if result.output in (None, "-") else str(Path(result.output).absolute()),
        "job_dir": result.job_dir,
        "messages": result.messages,
        "exit_code": int(result.exit_code),
    }


# --- demo ---------------------------------------------------------------------------------------


def demo_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME)) / "demo"


def compare_with_truth(records_path: Path, truth: list[dict[str, Any]]) -> dict[str, int]:
    """How many asserted ground-truth cells the records match (for the demo and tests)."""
    from reservation_crawler.apps.datasets import iter_records
    from reservation_crawler.testing import expected_decisions

    expected = expected_decisions(truth)
    checked = matched = 0
    for record in iter_records(records_path):  # JSON Lines or Parquet (demo -o x.parquet)
        cells = expected.get(record["url"])
        if cells is None:
            continue
        for agent, purposes in cells.items():
            got = record["decisions"].get(agent)
            if got is None:
                continue
            for purpose, want in purposes.items():
                if want is None:
                    continue
                checked += 1
                matched += got.get(purpose) == want
    return {"cells_checked": checked, "cells_matched": matched}


def run_demo(
    *,
    sites: int = DEMO_SITES,
    seed: int = 1,
    output: str | None = None,
    agents: Sequence[str] = (),
    redis_url: str | None = None,
    max_pages: int = 1,
    concurrency: int = 64,
    timeout: float = 3.0,
    progress: str = "off",
    log_level: str = "WARNING",
) -> CrawlResult:
    """Start a fixture web of ``sites`` simulated sites, crawl it, compare with its ground truth.

    ``output`` defaults to the user data directory; ``agents`` to the fixture's AI agents.
    """
    from reservation_crawler.testing import AGENTS, FixtureWeb, read_ground_truth

    if sites < 1:
        raise UsageError("--sites must be at least 1")
    directory = demo_dir()
    directory.mkdir(parents=True, exist_ok=True)
    output = output or str(directory / "reservations.jsonl")
    agents = agents or [a for a in AGENTS if a != "*"]
    truth_path = directory / "ground-truth.jsonl"
    with FixtureWeb(sites, seed=seed, slow_delay=max(timeout * 3, 10.0)) as web:
        web.write_ground_truth(truth_path)
        options = CrawlOptions(
            targets=web.origins(),
            output=output,
            max_pages=max_pages,
            redis_url=redis_url,
            agents=agents,
            allow_private=True,
            concurrency=concurrency,
            timeout=timeout,
            scheme="http",
            progress=progress,
            log_level=log_level,
        )
        result = run_crawl(options)
    if output != "-" and Path(output).exists():
        agreement = compare_with_truth(Path(output), read_ground_truth(truth_path))
        result.summary["ground_truth"] = {**agreement, "file": str(truth_path)}
        result.messages.append(
            f"ground truth: {agreement['cells_matched']} of {agreement['cells_checked']} "
            f"asserted decision cells match ({truth_path})"
        )
    return result
