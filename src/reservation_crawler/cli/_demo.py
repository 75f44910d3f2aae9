"""``reservation-crawler demo``: crawl a local fixture web of simulated sites."""

from __future__ import annotations

import argparse

from reservation_crawler.apps._exit import ExitCode
from reservation_crawler.apps.crawl import DEMO_SITES, UsageError
from reservation_crawler.cli._command import add_command
from reservation_crawler.cli._crawl import (
    EXITS,
    add_common_options,
    progress_style,
    report_summary,
)
from reservation_crawler.cli._output import Output


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = add_command(
        commands,
        "demo",
        help="crawl a local fixture web of simulated sites (nothing leaves this machine)",
        description=(
            "Start a local fixture web of simulated sites on 127.0.0.1 (a seeded mix of "
            "signals, some sites deliberately broken), crawl it into Redis (the embedded one "
            "unless REDIS_URL or --redis is given) and a JSON Lines dataset, print the summary, "
            "where the data is, and how the records compare with the fixture's ground truth."
        ),
        exits=EXITS,
        run=run,
    )
    p.add_argument(
        "--sites", type=int, default=DEMO_SITES, help=f"simulated sites (default {DEMO_SITES})"
    )
    p.add_argument("--seed", type=int, default=1, help="fixture seed (default 1)")
    add_common_options(p, output_default="<user data dir>/demo/reservations.jsonl", timeout=3.0)


def run(args: argparse.Namespace, out: Output) -> int:
    from reservation_crawler.apps.crawl import run_demo

    if args.sites >= 1 and not out.json:
        out.message(
            f"starting a fixture web of {args.sites} simulated sites on 127.0.0.1 ...", prefix=""
        )
    try:
        result = run_demo(
            sites=args.sites,
            seed=args.seed,
            output=args.output,
            agents=args.agent,
            redis_url=args.redis,
            max_pages=args.max_pages_per_site,
            concurrency=args.concurrency,
            timeout=args.timeout,
            progress=progress_style(out),
            log_level=args.log_level,
        )
    except UsageError as exc:
        out.message(str(exc))
        return ExitCode.USAGE
    report_summary(out, result)
    if not out.json and result.output not in (None, "-"):
        out.message(
            f"next: reservation-crawler stats {result.output}   (adoption tables of this crawl; "
            "then try 'reservation-crawler check --allow-private URL' on one of its sites)",
            prefix="",
        )
    return result.exit_code
