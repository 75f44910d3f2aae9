"""``reservation-crawler stats RECORDS...`` and ``stats diff A B``: adoption tables."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from reservation_crawler.apps._exit import ExitCode
from reservation_crawler.cli._command import add_command
from reservation_crawler.cli._output import Output, add_json_flag

if TYPE_CHECKING:
    from reservation_crawler.apps import stats_research as research

EXITS = {ExitCode.OK: "done", ExitCode.USAGE: "an input could not be read"}


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = add_command(
        commands,
        "stats",
        help="adoption tables over crawl output (stats RECORDS... | diff A B | trend A B...)",
        description=(
            "Read crawl output (JSON Lines, .gz, Parquet, directories of them, or the Redis "
            "cache: 'redis' or redis://...) as a stream and print adoption tables: sites "
            "reserving train-ai, per signal family, per agent, conflicts, with counts and "
            "denominators, per-agent robots.txt rates under a named --definition, grouped by "
            "country, region or a column of the input list. 'stats diff A B' compares two "
            "crawls site by site; 'stats trend A B C...' follows the per-agent rates over "
            "several crawls. Definitions: docs/stats.md."
        ),
        exits=EXITS,
        run=run,
        messages="stats",
    )
    p.add_argument(
        "records",
        metavar="RECORDS",
        nargs="+",
        help="record files or directories, 'redis' or redis://URL; or: diff A B; or: "
        "trend [LABEL=]CRAWL... (each CRAWL one file or directory)",
    )
    add_json_flag(p, help="print the numbers as JSON")
    p.add_argument("--plot", metavar="DIR", type=Path, help="write charts into DIR")
    p.add_argument(
        "--plot-format",
        default="png",
        metavar="FMT[,FMT]",
        help="chart formats, comma-separated: png, svg, pdf (default png)",
    )
    p.add_argument(
        "--definition",
        default=None,
        metavar="NAME[,AXIS=VALUE]",
        help="how per-agent robots.txt rates are read: rfc9309 (default), home-page, "
        "named-groups, named-home-strict; override an axis with pages=, groups=, no_rules= "
        "(docs/stats.md)",
    )
    p.add_argument(
        "--group-by",
        action="append",
        default=[],
        metavar="KEY",
        help="also tabulate per group: country, region, tld, or a column of --targets (repeatable)",
    )
    p.add_argument(
        "--targets",
        metavar="CSV",
        help="the input list (CSV with a header and an origin/url/domain column) whose columns "
        "--group-by can name",
    )
    p.add_argument(
        "--country-column",
        metavar="COLUMN",
        help="the --targets column giving the country (ISO code or flag) of generic-TLD sites",
    )
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
    from reservation_crawler.apps import stats_research as research

    if args.records and args.records[0] == "diff":
        return run_diff(args, out)
    if args.records and args.records[0] == "trend":
        return run_trend(args, out)
    try:
        formats = plot_formats(args.plot_format)
        definition = rates_definition(args)
        # Only the columns grouped by are kept: memory per site stays a small tuple.
        wanted = [by for by in args.group_by if by not in research.GROUP_KINDS]
        if args.country_column:
            wanted.append(args.country_column)
        targets = research.read_targets(args.targets, wanted) if args.targets else None
        groupers = [
            (by, research.grouper(by, targets, args.country_column)) for by in args.group_by
        ]
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
    report["agent_rates"] = research.agent_rates(crawl.stats, definition)
    if groupers:
        report["groups"] = [
            research.grouped_report(crawl.stats, by, key, definition) for by, key in groupers
        ]

    def text() -> str:
        parts = [stats.format_report(report), research.format_rates(report["agent_rates"])]
        parts += [research.format_groups(g) for g in report.get("groups", ())]
        return "\n".join(parts)

    out.emit(report, text, end="")
    if args.plot is not None:
        written = stats.write_plots(report, args.plot, formats=formats)
        written += research.write_group_plots(report, args.plot, formats=formats)
        for path in written:
            out.message(f"wrote {path}")
    return ExitCode.OK


def rates_definition(args: argparse.Namespace) -> research.Definition:
    """``--definition``; ``--home-page`` alone means ``rfc9309,pages=home-page``."""
    from reservation_crawler.apps import stats_research as research

    if args.definition is None and args.home_page:
        return research.parse_definition("rfc9309,pages=home-page")
    return research.parse_definition(args.definition)


def plot_formats(text: str) -> tuple[str, ...]:
    """``png,svg`` -> ("png", "svg"); raises InputError for a format not offered."""
    from reservation_crawler.apps import stats

    formats = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    bad = [f for f in formats if f not in stats.PLOT_FORMATS]
    if bad or not formats:
        raise stats.InputError(
            f"--plot-format {text!r}: choose from {', '.join(stats.PLOT_FORMATS)}"
        )
    return formats


def run_trend(args: argparse.Namespace, out: Output) -> int:
    """``stats trend [LABEL=]A [LABEL=]B...``: the per-agent rates of each crawl, in order."""
    from reservation_crawler.apps import stats
    from reservation_crawler.apps import stats_research as research

    operands = args.records[1:]
    if len(operands) < 2 or args.redis:
        out.message("give two crawls or more: stats trend A B [C...]", prefix="stats trend")
        return ExitCode.USAGE
    points = []
    try:
        formats = plot_formats(args.plot_format)
        definition = rates_definition(args)
        for operand in operands:
            label, sep, location = operand.partition("=")
            if not sep or Path(operand).exists():
                label, location = "", operand
            crawl = stats.read_crawl(
                [location],
                agents=args.agent,
                progress=out.stderr if out.interactive else None,
            )
            for line in stats.malformed_messages(crawl.malformed):
                out.message(line, prefix="stats trend")
            label = label or research.crawl_label(crawl.stats, location)
            points.append(research.trend_point(crawl.stats, label, crawl.inputs, definition))
            del crawl  # one crawl's sites in memory at a time
    except stats.InputError as exc:
        out.message(str(exc), prefix="stats trend")
        return ExitCode.USAGE
    trend = research.build_trend(points, definition)
    out.emit(trend, lambda: research.format_trend(trend), end="")
    if args.plot is not None:
        for path in research.write_trend_plot(trend, args.plot, formats=formats):
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
        formats = plot_formats(args.plot_format)
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
    for warning in diff["warnings"]:
        out.message(f"warning: {warning}", prefix="stats diff")
    out.emit(diff, lambda: stats.format_diff(diff, limit=args.limit), end="")
    if args.plot is not None:
        for path in stats.write_diff_plot(diff, args.plot, formats=formats):
            out.message(f"wrote {path}")
    return ExitCode.OK
