"""``reservation-crawler recheck MANIFEST [--agent TOKEN]... [-o DIR]``: the then/now diff."""

from __future__ import annotations

import argparse

from reservation_crawler.apps._exit import ExitCode
from reservation_crawler.cli._command import add_command
from reservation_crawler.cli._output import Output, add_json_flag
from reservation_crawler.core import fetching

EXITS = {
    ExitCode.OK: "every URL re-checked",
    ExitCode.INCOMPLETE: "interrupted (run the same command again to resume)",
    ExitCode.USAGE: "bad arguments, an unreadable manifest, or Redis unusable",
}


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = add_command(
        commands,
        "recheck",
        help="re-check every URL of a dataset manifest: the then/now diff and a drop list",
        description=(
            "Re-check every URL of a manifest written by crawl through the Checker and its "
            "cache (politely: one request at a time per origin), and write to DIR the then/now "
            "diff (diff.jsonl: newly-reserved, lifted, unchanged, changed, unreachable-now per "
            "URL, agent and purpose), the drop list (drop-list.txt: the URLs a training run "
            "must exclude, train-ai reserved now or unknown for an agent) and summary.json. "
            "Resumable: a rerun with the same -o skips the URLs done (docs/datasets.md)."
        ),
        exits=EXITS,
        run=run,
    )
    p.add_argument("manifest", metavar="MANIFEST", help="the manifest (.manifest.parquet)")
    p.add_argument(
        "--agent",
        "-a",
        action="append",
        default=[],
        metavar="TOKEN",
        help="agent to re-check (repeatable; default: every agent of the manifest)",
    )
    p.add_argument(
        "-o", "--output", metavar="DIR", default="recheck", help="output directory (./recheck)"
    )
    p.add_argument(
        "--redis",
        metavar="URL",
        help="the Checker's Redis cache (default $REDIS_URL, else the embedded one)",
    )
    p.add_argument(
        "--max-age",
        type=float,
        metavar="SECONDS",
        help="refetch policies the cache fetched more than SECONDS before the re-check started "
        "(0: fetch every origin again); default: the cache's TTLs decide",
    )
    p.add_argument(
        "--concurrency",
        type=int,
        default=16,
        metavar="N",
        help="origins re-checked at a time (each origin's URLs one after the other; default 16)",
    )
    p.add_argument(
        "--timeout", type=float, default=fetching.DEFAULT_TIMEOUT, help="per-request timeout"
    )
    p.add_argument(
        "--allow-private",
        action="store_true",
        help="allow private, loopback and link-local addresses (local test sites)",
    )
    add_json_flag(p, help="the summary as JSON; no progress line")


def run(args: argparse.Namespace, out: Output) -> int:
    from pathlib import Path

    from reservation_crawler.apps.datasets import RecheckOptions, format_recheck, recheck
    from reservation_crawler.errors import CacheUnavailable, ConfigError, InputError, UsageError

    options = RecheckOptions(
        manifest=Path(args.manifest),
        output=Path(args.output),
        agents=args.agent,
        redis_url=args.redis,
        concurrency=args.concurrency,
        allow_private=args.allow_private,
        timeout=args.timeout,
        max_age=args.max_age,
        progress=not args.json,
    )
    try:
        result = recheck(options, stderr=out.stderr)
    except (UsageError, InputError, CacheUnavailable, ConfigError, OSError) as exc:
        out.message(str(exc))
        return ExitCode.USAGE
    out.emit(result.summary, lambda: format_recheck(result.summary))
    return ExitCode.OK if result.complete else ExitCode.INCOMPLETE
