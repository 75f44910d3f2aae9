"""The ``reservation-crawler`` command line.

Reports go to stdout, messages to stderr. Every command takes ``--json``. Exit codes are listed
in each command's ``--help`` and in README.md. Heavy modules are imported by the command that
needs them, so ``robots`` and ``check`` start fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reservation_crawler._version import __version__

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_UNREACHABLE = 2
EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    # argparse cannot take positionals after options once the first positional is consumed
    # ("robots FILE --agent X URL..."), so leftovers that are not options join the URL list.
    args, extra = parser.parse_known_args(argv)
    if extra:
        if hasattr(args, "urls") and not any(item.startswith("-") for item in extra):
            args.urls = [*args.urls, *extra]
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reservation-crawler",
        description=(
            "Read every machine-readable AI / TDM rights reservation (robots.txt, Content-Signal, "
            "Content-Usage, TDMRep, ai.txt, noai, RSL) and say, per URL, agent and purpose, "
            "whether use is reserved, allowed or unspecified — and why."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_robots(sub)
    _add_check(sub)
    _add_optional_commands(sub)
    return parser


def _add_optional_commands(sub: argparse._SubParsersAction) -> None:
    """Commands whose modules register themselves (crawl, demo, serve, validate, stats)."""
    import importlib

    for module_name in ("crawl", "server", "validate", "stats"):
        try:
            module = importlib.import_module(f"reservation_crawler.apps.{module_name}")
        except Exception as exc:  # one broken command must not take the others down
            print(
                f"reservation-crawler: the {module_name} command is unavailable: {exc!r}",
                file=sys.stderr,
            )
            continue
        register = getattr(module, "add_cli_commands", None)
        if register is not None:
            register(sub)


# --- robots -------------------------------------------------------------------------------


def _add_robots(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "robots",
        help="evaluate URLs against a robots.txt file (RFC 9309)",
        description=(
            "For each URL: allowed or disallowed for each --agent, the rule that decided (with "
            "its line), then the file's findings. FILE is a path, '-' for stdin, or an "
            "http(s) URL of a robots.txt. Exit status: 0 done, 2 the file could not be read."
        ),
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
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument(
        "--allow-private",
        action="store_true",
        help="allow fetching from private/loopback addresses (FILE as URL)",
    )
    p.set_defaults(func=_run_robots)


def _run_robots(args: argparse.Namespace) -> int:
    from reservation_crawler.signals import robots

    agents = args.agent or ["*"]
    source = args.file
    fetch_note: dict[str, Any] | None = None
    if source.startswith(("http://", "https://")):
        from reservation_crawler.core.policy import ROBOTS, classify
        from reservation_crawler.drivers.fetch import Fetcher
        from reservation_crawler.model.record import Outcome

        with Fetcher(allow_private=args.allow_private) as fetcher:
            result = fetcher.fetch(source, max_bytes=fetcher.limits.robots_max_bytes)
        outcome, fetch_findings = classify(ROBOTS, result)
        fetch_note = {
            "source": outcome.to_json(),
            "findings": [f.to_json() for f in fetch_findings],
        }
        if outcome.outcome is not Outcome.OK:
            return _report_unfetched_robots(args, agents, outcome, fetch_findings)
        body: bytes = result.body
    elif source == "-":
        body = sys.stdin.buffer.read()
    else:
        try:
            body = Path(source).read_bytes()
        except OSError as exc:
            print(
                f"reservation-crawler robots: cannot read {source}: {exc.strerror}", file=sys.stderr
            )
            return EXIT_USAGE

    parsed = robots.parse(body, profile=args.profile)
    results = []
    for url in args.urls:
        for agent in agents:
            explanation = parsed.explain(url, agent)
            rule = explanation.rule
            results.append(
                {
                    "url": url,
                    "agent": agent,
                    "allowed": explanation.allowed,
                    "group": explanation.agent_group,
                    "group_lines": list(explanation.group_lines),
                    "rule": None if rule is None else {"line": rule.line, "text": rule.raw},
                    "reason": explanation.reason,
                }
            )
    if args.json:
        out: dict[str, Any] = {
            "file": source,
            "profile": args.profile,
            "results": results,
            "findings": [f.to_json() for f in parsed.findings],
        }
        if fetch_note is not None:
            out["fetch"] = fetch_note
        print(json.dumps(out, ensure_ascii=False))
        return EXIT_OK
    for row in results:
        verdict = "allowed   " if row["allowed"] else "DISALLOWED"
        rule = row["rule"]
        why = f"line {rule['line']}: {rule['text']}" if rule else row["reason"]
        group = row["group"] or "no group"
        print(f"{verdict}  {row['agent']:<20} {row['url']}\n            {why}  [group: {group}]")
    _print_findings(parsed.findings)
    return EXIT_OK


def _report_unfetched_robots(
    args: argparse.Namespace, agents: list[str], outcome: Any, findings: Sequence[Any]
) -> int:
    from reservation_crawler.model.record import Outcome

    everything_allowed = outcome.outcome is Outcome.ABSENT
    why = outcome.error or f"HTTP {outcome.status}"
    reason = (
        f"{why}: no robots.txt, everything allowed (RFC 9309 §2.3.1.3)"
        if everything_allowed
        else f"{why}: robots.txt unreachable, complete disallow (RFC 9309 §2.3.1.4)"
    )
    results = [
        {"url": url, "agent": agent, "allowed": everything_allowed, "reason": reason}
        for url in args.urls
        for agent in agents
    ]
    if args.json:
        print(
            json.dumps(
                {
                    "file": args.file,
                    "fetch": {"source": outcome.to_json()},
                    "results": results,
                    "findings": [f.to_json() for f in findings],
                }
            )
        )
    else:
        print(f"robots.txt: {reason}")
        for row in results:
            verdict = "allowed   " if row["allowed"] else "DISALLOWED"
            print(f"{verdict}  {row['agent']:<20} {row['url']}")
        _print_findings(findings)
    return EXIT_OK if everything_allowed else EXIT_UNREACHABLE


def _print_findings(findings: Sequence[Any]) -> None:
    if not findings:
        return
    print("\nFindings:")
    for f in findings:
        where = f" line {f.line}" if f.line is not None else ""
        print(f"  {f.severity:<7} {f.code}{where}: {f.message}")


# --- check --------------------------------------------------------------------------------


def _add_check(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check",
        help="build the reservation record of URLs (every signal, explained)",
        description=(
            "Fetch robots.txt, /ai.txt, /.well-known/tdmrep.json and each URL, and print the "
            "decisions per agent and purpose with the evidence that decided each. Decisions "
            "are always given for '*' and every --agent. --json prints one record per line "
            "(docs/record.md). Exit status: 0 done, 2 bad arguments."
        ),
    )
    p.add_argument("urls", metavar="URL", nargs="+")
    p.add_argument(
        "--agent",
        "-a",
        action="append",
        default=[],
        metavar="TOKEN",
        help="product token to decide for, besides '*' (repeatable)",
    )
    p.add_argument("--json", action="store_true", help="one JSON record per line")
    p.add_argument(
        "--allow-private",
        action="store_true",
        help="allow private/loopback/link-local addresses (local test servers)",
    )
    p.add_argument("--timeout", type=float, default=10.0, help="per-request timeout, seconds")
    p.set_defaults(func=_run_check)


def _run_check(args: argparse.Namespace) -> int:
    from reservation_crawler.drivers.collect import collect
    from reservation_crawler.drivers.fetch import Fetcher, FetchLimits

    for url in args.urls:
        if not url.startswith(("http://", "https://")):
            print(f"reservation-crawler check: not an http(s) URL: {url}", file=sys.stderr)
            return EXIT_USAGE
    policies: dict = {}  # one fetch of the policy files per origin per invocation
    with Fetcher(limits=FetchLimits(timeout=args.timeout), allow_private=args.allow_private) as f:
        for url in args.urls:
            record = collect(f, url, args.agent, policies=policies)
            if args.json:
                print(json.dumps(record.to_json(), ensure_ascii=False), flush=True)
            else:
                print(render_record(record), flush=True)
    return EXIT_OK


def render_record(record: Any) -> str:
    """A readable table of agent x purpose decisions, with the evidence behind each cell."""
    from reservation_crawler.model.record import PURPOSES

    lines = [f"{record.url}", f"  origin {record.origin}  fetched {record.fetched_at}"]
    for name, source in record.sources.items():
        detail = source.error or (f"HTTP {source.status}" if source.status is not None else "")
        lines.append(f"  {name:<12} {source.outcome:<12} {detail}")
    width = max(len(a) for a in record.decisions) + 2
    header = "  " + "agent".ljust(width) + "".join(str(p).ljust(13) for p in PURPOSES)
    lines += ["", header]
    for agent, cells in record.decisions.items():
        row = "  " + agent.ljust(width)
        row += "".join(
            str(cells[p]).upper().ljust(13) if cells[p] == "reserved" else str(cells[p]).ljust(13)
            for p in PURPOSES
        )
        lines.append(row)
    lines.append("")
    lines.append("  evidence:")
    for agent in record.decisions:
        for e in record.evidence:
            if e.agent != agent:
                continue
            where = f"{e.source}" + (f" line {e.line}" if e.line is not None else "")
            purposes = ",".join(str(p) for p in e.purposes)
            lines.append(
                f"    {agent:<{width}} {e.effect:<9} {purposes:<30} {e.signal:<15} {where}: {e.raw}"
            )
    if record.findings:
        lines.append("")
        lines.append("  findings:")
        for f in record.findings:
            where = f" line {f.line}" if f.line is not None else ""
            lines.append(f"    {f.severity:<7} {f.code}{where}: {f.message}")
    return "\n".join(lines) + "\n"
