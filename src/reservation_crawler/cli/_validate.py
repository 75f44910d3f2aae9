"""``reservation-crawler validate SITE``: a publisher's report on their site's reservations."""

from __future__ import annotations

import argparse

from reservation_crawler.apps._exit import ExitCode
from reservation_crawler.cli._command import add_command
from reservation_crawler.cli._output import Output, add_json_flag
from reservation_crawler.core.fetching import DEFAULT_TIMEOUT

EXITS = {
    ExitCode.OK: "no errors",
    ExitCode.FINDINGS: "errors found (--strict: warnings too)",
    ExitCode.UNREACHABLE: "the site could not be reached, or bad arguments",
}


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = add_command(
        commands,
        "validate",
        help="check a site's AI / TDM reservations and report what is wrong (for publishers)",
        description=(
            "Fetch robots.txt, /ai.txt, /.well-known/tdmrep.json, the page (and each --url), "
            "and the tdm-policy and RSL documents they name; print the signals found with their "
            "lines, what the well-known AI agents may do per purpose, every finding with how to "
            "fix it, and the conflicts between signals."
        ),
        exits=EXITS,
        run=run,
    )
    p.add_argument("site", metavar="SITE_OR_URL", help="host name (example.com) or URL")
    p.add_argument(
        "--agent",
        "-a",
        action="append",
        default=[],
        metavar="TOKEN",
        help="add a product token to the matrix (repeatable)",
    )
    p.add_argument(
        "--url",
        dest="urls",
        action="append",
        default=[],
        metavar="URL",
        help="another page of the site to check (path or URL; repeatable)",
    )
    form = p.add_mutually_exclusive_group()
    add_json_flag(form, help="the report as JSON")
    form.add_argument("--html", action="store_true", help="the report as an HTML page")
    p.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    p.add_argument(
        "--allow-private",
        action="store_true",
        help="allow private/loopback/link-local addresses (local test servers)",
    )
    p.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, help="per-request timeout, seconds"
    )


def run(args: argparse.Namespace, out: Output) -> int:
    from reservation_crawler.apps.validate import (
        exit_status,
        render_json,
        render_text,
        validate,
    )
    from reservation_crawler.apps.web.render import render_report_html
    from reservation_crawler.drivers.fetch import FetchLimits

    try:
        limits = FetchLimits(timeout=args.timeout)
        report = validate(
            args.site,
            agents=args.agent,
            urls=args.urls,
            allow_private=args.allow_private,
            limits=limits,
            keep_files=args.html,  # the page shows the files, each finding on its line
        )
    except ValueError as exc:  # InvalidOrigin, ConfigError
        out.message(str(exc))
        return ExitCode.USAGE
    # The JSON report is indented (docs/validate.md), so it is rendered here, not by emit().
    render = render_json if out.json else render_report_html if args.html else render_text
    out.report(render(report), end="")
    status = exit_status(report, strict=args.strict)
    if status == ExitCode.UNREACHABLE:
        errors = {s.error for s in report.sources.values()} | {p.source.error for p in report.pages}
        blocked = "blocked-address" in errors
        hint = " (a local or private address needs --allow-private)" if blocked else ""
        out.message(f"{report.origin} could not be reached{hint}")
    return status
