"""``reservation-crawler stats RECORDS...`` and ``stats diff A B``: adoption tables."""

from __future__ import annotations

import argparse
from pathlib import Path

from reservation_crawler.apps._exit import ExitCode
from reservation_crawler.cli._command import add_command
from reservation_crawler.cli._output import Output, add_json_flag

EXITS = {ExitCode.OK: "done", ExitCode.USAGE: "an input could not be read"}


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = add_command(
        commands,
        "stats",
        help="adoption tables over crawl output (stats RECORDS... | stats diff A B)",
        description=(
            "Read crawl output (JSON Lines, .gz, Parquet, directories of them, or the Redis "
            "cache: 'redis' or redis://...) as a stream and print adoption tables: sites "
            "reserving train-ai, per signal family, per agent, conflicts, with counts and "
            "denominators. 'stats diff A B' compares two crawls site by site. Definitions: "
            "docs/stats.md."
        ),
        exits=EXITS,
        run=run,
        messages="stats",
    )
    p.add_argument(
        "records",
        metavar="RECORDS",
        nargs="+",
        help="record files or directories, 'redis' or redis://URL; or: diff A B",
    )
    add_json_flag(p, help="print the numbers as JSON")
    p.add_argument("--plot", metavar="DIR", type=Path, help="write PNG charts into DIR")
    p.add_argument(
        "--agent",
        "-a",
        action="append",
        default=None,
        metavar="TOKEN",
        help="consider only these agents besides '*' (repeatable; default: every agent found)",
    )
    p.add_argument(
        "--redis",
        action="append",
        default=[],
        metavar="URL",
        help="also read the records cached in this Redis (repeatable)",
    )
    p.add_argument(
        "--home-page",
        action="store_true",
        help="count only the home-page record of each site",
    )
    p.add_argument(
        "--limit",
        type=int,
        default=50,
        metavar="N",
        help="diff: list at most N changed sites (0: all; --json lists all)",
    )


def run(args: argparse.Namespace, out: Output) -> int:
    """``stats RECORDS...``; ``stats diff A B`` goes to :func:`run_diff`."""
    from reservation_crawler.apps import stats

    if args.records and args.records[0] == "diff":
        return run_diff(args, out)
    try:
        crawl = stats.read_crawl(
            args.records,
            redis_urls=args.redis,
            agents=args.agent,
            progress=out.stderr if out.interactive else None,
        )
    except stats.InputError as exc:
        out.message(str(exc))
        return ExitCode.USAGE
    for line in stats.malformed_messages(crawl.malformed):
        out.message(line)
    report = stats.build_report(
        crawl.stats,
        home_page=args.home_page,
        inputs=crawl.inputs,
        malformed=crawl.malformed,
        agents_asked=args.agent,
    )
    out.emit(report, lambda: stats.format_report(report), end="")
    if args.plot is not None:
        for path in stats.write_plots(report, args.plot):
            out.message(f"wrote {path}")
    return ExitCode.OK


def run_diff(args: argparse.Namespace, out: Output) -> int:
    """``stats diff A B``: A and B are each one file, directory or Redis URL."""
    from reservation_crawler.apps import stats

    operands = args.records[1:]
    if len(operands) != 2 or args.redis:
        out.message("give exactly two crawls: stats diff A B", prefix="stats diff")
        return ExitCode.USAGE
    features = stats.Features()  # shared, so the two crawls' sites compare bit by bit
    crawls = []
    try:
        for operand in operands:
            crawl = stats.read_crawl(
                [operand],
                agents=args.agent,
                features=features,
                progress=out.stderr if out.interactive else None,
            )
            for line in stats.malformed_messages(crawl.malformed):
                out.message(line)
            crawls.append(crawl)
    except stats.InputError as exc:
        out.message(str(exc), prefix="stats diff")
        return ExitCode.USAGE
    a, b = crawls
    diff = stats.build_diff(a.stats, b.stats, home_page=args.home_page, inputs=(a.inputs, b.inputs))
    out.emit(diff, lambda: stats.format_diff(diff, limit=args.limit), end="")
    if args.plot is not None:
        for path in stats.write_diff_plot(diff, args.plot):
            out.message(f"wrote {path}")
    return ExitCode.OK
