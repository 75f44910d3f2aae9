"""``reservation-crawler robots FILE --agent TOKEN URL...``: one robots.txt, explained per URL."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reservation_crawler.apps._exit import ExitCode
from reservation_crawler.cli._command import add_command
from reservation_crawler.cli._output import Output, add_json_flag
from reservation_crawler.model import codec

EXITS = {
    ExitCode.OK: "done",
    ExitCode.UNREACHABLE: "the file could not be read (or, as a URL, was unreachable)",
}


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = add_command(
        commands,
        "robots",
        help="evaluate URLs against a robots.txt file (RFC 9309)",
        description=(
            "For each URL: allowed or disallowed for each --agent, the rule that decided (with "
            "its line), then the file's findings. FILE is a path, '-' for stdin, or an "
            "http(s) URL of a robots.txt."
        ),
        exits=EXITS,
        run=run,
    )
    p.add_argument("file", metavar="FILE", help="robots.txt path, '-' (stdin) or URL")
    p.add_argument("urls", metavar="URL", nargs="*", help="URLs or paths to evaluate")
    p.add_argument(
        "--agent",
        "-a",
        action="append",
        default=[],
        metavar="TOKEN",
        help="product token to evaluate for (repeatable; default '*')",
    )
    p.add_argument(
        "--profile",
        choices=("rfc9309", "google"),
        default="rfc9309",
        help="rfc9309 (default) or google (reproduce Google's parser exactly)",
    )
    add_json_flag(p)
    p.add_argument(
        "--allow-private",
        action="store_true",
        help="allow fetching from private/loopback addresses (FILE as URL)",
    )


def run(args: argparse.Namespace, out: Output) -> int:
    from reservation_crawler.signals import robots
    from reservation_crawler.signals.useragent import agent_token

    given = args.agent or ["*"]
    read = [agent_token(agent) for agent in given]
    refused = [found for found in read if found.token is None]
    if refused:  # never answered as "*" (docs/agents.md, "Agent strings")
        for found in refused:
            out.message(f"agent {found.given[:100]!r}: {found.problem}")
        return ExitCode.USAGE
    tokens = {found.given: found.token or "*" for found in read}
    agents = list(given)
    source = args.file
    fetch_note: dict[str, Any] | None = None
    if "://" in source:  # a URL (any scheme: ftp:// is refused here, not read as a file name)
        from reservation_crawler.core.policy import ROBOTS, classify
        from reservation_crawler.core.urls import target_url
        from reservation_crawler.errors import InvalidOrigin

        try:
            url = target_url(source)
        except InvalidOrigin as exc:
            out.message(str(exc))
            return ExitCode.USAGE
        from reservation_crawler.drivers.fetch import Fetcher
        from reservation_crawler.model.record import Outcome

        with Fetcher(allow_private=args.allow_private) as fetcher:
            result = fetcher.fetch(url, max_bytes=fetcher.limits.robots_max_bytes)
        outcome, fetch_findings = classify(ROBOTS, result)
        fetch_note = {
            "source": codec.to_json(outcome),
            "findings": [codec.to_json(f) for f in fetch_findings],
        }
        if outcome.outcome is not Outcome.OK:
            return _report_unfetched_robots(args, out, agents, outcome, fetch_findings)
        body: bytes = result.body
    elif source == "-":
        body = sys.stdin.buffer.read()
    else:
        try:
            body = Path(source).read_bytes()
        except OSError as exc:
            out.message(f"cannot read {source}: {exc.strerror}")
            return ExitCode.UNREACHABLE

    parsed = robots.parse(body, profile=args.profile)
    results = []
    for url in args.urls:
        for agent in agents:
            explanation = parsed.explain(url, tokens[agent])
            rule = explanation.rule
            results.append(
                {
                    "url": url,
                    "agent": agent,
                    "agent_token": tokens[agent],
                    "allowed": explanation.allowed,
                    "group": explanation.agent_group,
                    "group_lines": list(explanation.group_lines),
                    "rule": None if rule is None else {"line": rule.line, "text": rule.raw},
                    "reason": explanation.reason,
                }
            )
    if out.json:
        data: dict[str, Any] = {
            "file": source,
            "profile": args.profile,
            "results": results,
            "findings": [codec.to_json(f) for f in parsed.findings],
        }
        if fetch_note is not None:
            data["fetch"] = fetch_note
        out.json_line(data)
        return ExitCode.OK
    for row in results:
        verdict = "allowed   " if row["allowed"] else "DISALLOWED"
        rule = row["rule"]
        why = f"line {rule['line']}: {rule['text']}" if rule else row["reason"]
        group = row["group"] or "no group"
        out.report(
            f"{verdict}  {row['agent']:<20} {row['url']}\n            {why}  [group: {group}]"
        )
    _print_findings(out, parsed.findings)
    return ExitCode.OK


def _report_unfetched_robots(
    args: argparse.Namespace, out: Output, agents: list[str], outcome: Any, findings: Sequence[Any]
) -> int:
    from reservation_crawler.core.policy import robots_fallback

    # The answer and its reason are the core's (the same words as check's evidence).
    fallback = robots_fallback(outcome)
    assert fallback is not None, "called only for a robots.txt fetched but not read"
    everything_allowed, reason = fallback
    from reservation_crawler.signals.useragent import agent_token

    results = [
        {
            "url": url,
            "agent": agent,
            "agent_token": agent_token(agent).token,
            "allowed": everything_allowed,
            "reason": reason,
        }
        for url in args.urls
        for agent in agents
    ]
    if out.json:
        out.json_line(
            {
                "file": args.file,
                "fetch": {"source": codec.to_json(outcome)},
                "results": results,
                "findings": [codec.to_json(f) for f in findings],
            }
        )
    else:
        out.report(f"robots.txt: {reason}")
        for row in results:
            verdict = "allowed   " if row["allowed"] else "DISALLOWED"
            out.report(f"{verdict}  {row['agent']:<20} {row['url']}")
        _print_findings(out, findings)
    return ExitCode.OK if everything_allowed else ExitCode.UNREACHABLE


def _print_findings(out: Output, findings: Sequence[Any]) -> None:
    if not findings:
        return
    out.report("\nFindings:")
    for f in findings:
        where = f" line {f.line}" if f.line is not None else ""
        out.report(f"  {f.severity:<7} {f.code}{where}: {f.message}")
