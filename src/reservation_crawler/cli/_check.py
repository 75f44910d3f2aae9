"""``reservation-crawler check URL... [--agent TOKEN]...``: the reservation record of each URL."""

from __future__ import annotations

import argparse
from typing import Any

from reservation_crawler.apps._exit import ExitCode
from reservation_crawler.cli._command import add_command
from reservation_crawler.cli._output import Output, add_json_flag
from reservation_crawler.core.fetching import DEFAULT_TIMEOUT

EXITS = {ExitCode.OK: "done", ExitCode.USAGE: "bad arguments or registry unusable"}


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = add_command(
        commands,
        "check",
        help="build the reservation record of URLs (every signal, explained)",
        description=(
            "Fetch robots.txt, /ai.txt, /.well-known/tdmrep.json and each URL, and print the "
            "decisions per agent and purpose with the evidence that decided each. Decisions "
            "are always given for '*' and every --agent. --json prints one record per line "
            "(docs/record.md)."
        ),
        exits=EXITS,
        run=run,
    )
    p.add_argument(
        "urls", metavar="URL", nargs="+", help="http(s) URL or bare host (https:// assumed)"
    )
    p.add_argument(
        "--agent",
        "-a",
        action="append",
        default=[],
        metavar="TOKEN",
        help="product token to decide for, besides '*' (repeatable)",
    )
    add_json_flag(p, help="one JSON record per line")
    p.add_argument(
        "--allow-private",
        action="store_true",
        help="allow private/loopback/link-local addresses (local test servers)",
    )
    p.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, help="per-request timeout, seconds"
    )
    p.add_argument(
        "--audit-log",
        metavar="DIR",
        help="append every decision to the hash-chained audit log in DIR (docs/audit.md)",
    )
    p.add_argument("--operator", default="", help="operator name recorded in the audit log")
    p.add_argument(
        "--registry",
        metavar="LOCATION",
        help="also consult this registry (a SQLite file, sqlite:///…, postgresql://…; "
        "'default' for <user data dir>/registry.sqlite3); docs/registry.md",
    )
    p.add_argument(
        "--registry-claimed",
        choices=("reserve", "evidence"),
        default="reserve",
        help="what an unverified (claimed) registration does: reserve (default: permission "
        "first) or only appear as evidence",
    )


def run(args: argparse.Namespace, out: Output) -> int:
    import dataclasses
    import functools

    from reservation_crawler.core.urls import target_url
    from reservation_crawler.drivers.collect import collect
    from reservation_crawler.drivers.fetch import Fetcher, FetchLimits
    from reservation_crawler.errors import InvalidOrigin
    from reservation_crawler.model.findings import listing
    from reservation_crawler.model.record import Outcome
    from reservation_crawler.signals.useragent import tokens_of

    try:  # every URL before the first fetch; a bare host gets https:// as validate and crawl do
        urls = [target_url(url) for url in args.urls]
    except InvalidOrigin as exc:
        out.message(str(exc))
        return ExitCode.USAGE
    agents, renamed, problems = tokens_of(args.agent)
    if problems:  # never answered as "*" (docs/agents.md, "Agent strings")
        for problem in problems:
            out.message(problem)
        return ExitCode.USAGE
    sink = None
    if args.audit_log:
        from reservation_crawler.drivers.audit import JsonlSink
        from reservation_crawler.errors import ConfigError

        try:
            sink = JsonlSink(args.audit_log, operator=args.operator)
        except (ConfigError, OSError) as exc:
            out.message(f"cannot open the audit log: {exc}")
            return ExitCode.USAGE
    registry = None
    if args.registry:
        from reservation_crawler.errors import RegistryUnavailable

        try:
            registry = _load_registry(args.registry)
        except RegistryUnavailable as exc:
            out.message(str(exc))
            return ExitCode.USAGE
    claimed_reserves = args.registry_claimed == "reserve"
    policies: dict = {}  # one fetch of the policy files per origin per invocation
    refused: list[str] = []
    try:
        with Fetcher(
            limits=FetchLimits(timeout=args.timeout), allow_private=args.allow_private
        ) as f:
            for url in urls:
                record = collect(
                    f,
                    url,
                    agents,
                    policies=policies,
                    registry=registry,
                    claimed_reserves=claimed_reserves,
                )
                if renamed:
                    record = dataclasses.replace(record, agent_tokens=renamed)
                if any(s.outcome is Outcome.REFUSED for s in record.sources.values()):
                    refused.append(record.origin)
                if sink is not None:  # on disk before the record is printed
                    for decided in record_decisions(record):
                        sink.record(decided, policies.get(record.origin), required=True)
                # Each record as soon as it is built: a reader of the pipe need not wait for all.
                out.emit(record.to_json(), functools.partial(render_record, record))
    finally:
        if sink is not None:
            sink.close()
    if refused:  # the answer is ours, not the site's: say how to get the site's
        origins = list(dict.fromkeys(refused))
        out.message(
            f"{len(origins)} origin(s) ({listing(origins, limit=3)}) are private, loopback or "
            "link-local addresses and were not fetched (outcome refused-by-configuration); "
            "pass --allow-private to check local servers"
        )
    return ExitCode.OK


def record_decisions(record: Any) -> list[Any]:
    """One audit row per agent x purpose of a record: its decision and the evidence for it."""
    from reservation_crawler.drivers.audit import Decided

    rows = []
    for agent, cells in record.decisions.items():
        for purpose, decision in cells.items():
            evidence = tuple(
                e for e in record.evidence if e.agent == agent and purpose in e.purposes
            )
            rows.append(Decided(record.url, agent, purpose, decision, evidence, "page"))
    return rows


def _load_registry(location: str) -> Any:
    from reservation_crawler.core.registry import RegistryIndex
    from reservation_crawler.drivers.registry import RegistryStore

    with RegistryStore(location) as store:
        return RegistryIndex(store.changes_since(0))


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
