"""``reservation-crawler audit verify|query|export|verify-bundle``: the audit log of checks."""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reservation_crawler.apps._exit import ExitCode
from reservation_crawler.cli._command import add_command
from reservation_crawler.cli._output import Output, add_json_flag

EXITS = {
    ExitCode.OK: "the chain holds (a torn last line is reported, not a failure)",
    ExitCode.FINDINGS: "an entry was altered, removed or reordered (the first broken link is "
    "printed), or the bundle does not verify",
    ExitCode.USAGE: "bad arguments, unreadable files, no key, or Redis cannot be used",
}
KEY_ENV = "RC_AUDIT_KEY"


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = add_command(
        commands,
        "audit",
        help="verify, query and export the hash-chained audit log of checks",
        description="The audit log records every fetch-time decision in a hash chain "
        "(docs/audit.md). FILES are audit-NNNNNN.jsonl files or directories holding them. "
        "Every subcommand takes --json (one JSON document per line).",
        exits=EXITS,
        run=_usage,
    )
    sub = p.add_subparsers(title="subcommands", metavar="SUBCOMMAND")

    def sources(q: argparse.ArgumentParser) -> None:
        q.add_argument(
            "files",
            metavar="FILE",
            nargs="*",
            help="audit files or directories (default: every log under <user data dir>/audit, "
            "where serve keeps its own; each directory is a chain of its own)",
        )
        q.add_argument("--redis", metavar="URL", help="read the Redis Streams sink instead")
        add_json_flag(q)

    v = sub.add_parser("verify", help="check the chain; exit 1 at the first broken link")
    sources(v)
    v.add_argument(
        "--anchor",
        metavar="HASH",
        help="a hash recorded outside the log (a bundle's head, a published head): the log "
        "must contain it, so entries removed from the end are found too",
    )
    v.set_defaults(run=run_verify)

    q = sub.add_parser("query", help="the checks of one origin: who checked, when, what")
    sources(q)
    q.add_argument("--origin", required=True, help="scheme://host[:port]")
    q.add_argument("--since", help="ISO time (UTC), e.g. 2026-12-01 or 2026-12-01T10:00:00Z")
    q.add_argument("--agent", help="only this agent token")
    q.set_defaults(run=run_query)

    e = sub.add_parser("export", help="a signed bundle of one origin's entries")
    sources(e)
    e.add_argument("--origin", required=True)
    e.add_argument("--since")
    e.add_argument("--agent")
    signing = e.add_mutually_exclusive_group()
    signing.add_argument("--key-file", help=f"HMAC-SHA256 key file (default: ${KEY_ENV})")
    signing.add_argument(
        "--ed25519-key", metavar="PEM", help="sign with Ed25519 instead: a PEM private key file"
    )
    e.add_argument("-o", "--output", default="-", help="bundle file (default stdout)")
    e.set_defaults(run=run_export)

    b = sub.add_parser("verify-bundle", help="check a bundle's signature and entries")
    b.add_argument("bundle", metavar="BUNDLE")
    b.add_argument(
        "--key-file",
        help=f"HMAC key file (default: ${KEY_ENV}), or for an Ed25519 bundle the signer's PEM "
        "public key",
    )
    add_json_flag(b)
    b.set_defaults(run=run_verify_bundle)


def _usage(args: argparse.Namespace, out: Output) -> int:
    out.message("a subcommand is required: verify, query, export, verify-bundle")
    return ExitCode.USAGE


def _chains(args: argparse.Namespace, out: Output) -> Iterator[tuple[str, list[Any]]] | None:
    """The chains to read: the files (one chain across them), or each Redis writer's stream."""
    from reservation_crawler.drivers import audit as sink

    if args.redis:
        from reservation_crawler.drivers.cache import connect

        return sink.read_streams(connect(args.redis))
    if not args.files:  # every log kept in the default place (serve's), each its own chain
        directories = sink.default_chains()
        if not directories:
            out.message(f"no audit log in {sink.default_root()}: give FILES or --redis URL")
            return None
        return iter([(str(d), list(sink.read_files([d]))) for d in directories])
    missing = [f for f in args.files if not Path(f).exists()]
    if missing:
        out.message(f"no such file: {missing[0]}")
        return None
    return iter([("files", list(sink.read_files(args.files)))])


def run_verify(args: argparse.Namespace, out: Output) -> int:
    from reservation_crawler.core.audit import verify

    chains = _chains(args, out)
    if chains is None:
        return ExitCode.USAGE
    status = ExitCode.OK
    for name, lines in chains:
        result = verify(lines, anchor=args.anchor)
        data = {"chain": name, **result.to_json()}
        out.emit(data, functools.partial(_render, name, result))
        if not result.ok:
            status = ExitCode.FINDINGS
    return status


def _render(name: str, result: Any) -> str:
    lines = []
    for where in result.torn:
        lines.append(f"torn: {where} (a write cut short by a crash; never confirmed)")
    if result.broken is None:
        lines.append(f"ok: {name}: {result.entries} entries, head {result.head}")
    else:
        b = result.broken
        what = ""
        if b.entry is not None:
            what = f" ({b.entry.get('time')} {b.entry.get('url') or b.entry.get('kind')})"
        reason = {
            "altered": "its content does not match its hash",
            "link": "its prev is not the previous entry's hash (an entry removed or reordered)",
            "unreadable": "not an audit entry",
            "truncated": "the anchored entry is missing: entries were removed from the end",
        }[b.reason]
        place = b.where if b.where.startswith("after ") else f"at {b.where}"
        lines.append(f"BROKEN: entry {b.position} {place}{what}: {reason}")
    return "\n".join(lines)


def _selected(args: argparse.Namespace, out: Output) -> tuple[list[dict], dict[str, str]] | None:
    """The matching check entries and each chain's head; None when the sources are unusable."""
    from reservation_crawler.drivers.audit import select
    from reservation_crawler.drivers.fetch import origin_of
    from reservation_crawler.errors import InvalidOrigin

    try:
        origin = origin_of(args.origin)
    except InvalidOrigin as exc:
        out.message(f"--origin: {exc}")
        return None
    chains = _chains(args, out)
    if chains is None:
        return None
    found = select(chains, origin, args.since, args.agent)
    heads = {}
    for name, result in found["chains"].items():
        heads[name] = result["head"]
        if not result["ok"]:
            out.message(f"warning: {name}: the chain is broken at {result['broken']['where']}")
    return found["entries"], heads


def run_query(args: argparse.Namespace, out: Output) -> int:
    selected = _selected(args, out)
    if selected is None:
        return ExitCode.USAGE
    for entry in selected[0]:
        out.emit(entry, functools.partial(_row, entry))
    return ExitCode.OK


def _row(e: dict[str, Any]) -> str:
    """One check entry as a line: when, who, what was asked, what was decided."""
    return (
        f"{e['time']}  {e['caller']['operator'] or '-'} {e['caller']['token']}  "
        f"{e['agent']} {e['purpose']}  {e['decision'].upper()}  {e['url']}"
    )


def _key(args: argparse.Namespace, out: Output) -> bytes | None:
    if args.key_file:
        try:
            return Path(args.key_file).read_bytes().strip()
        except OSError as exc:
            out.message(f"cannot read the key: {exc}")
            return None
    key = os.environ.get(KEY_ENV)
    if not key:
        out.message(f"no signing key: give --key-file or set {KEY_ENV}")
        return None
    return key.encode()


def run_export(args: argparse.Namespace, out: Output) -> int:
    import time

    from reservation_crawler.core.audit import BUNDLE_ALG, ED25519, bundle, iso_time, sign_bundle

    alg = BUNDLE_ALG
    if args.ed25519_key:
        alg = ED25519
        try:
            key: bytes | None = Path(args.ed25519_key).read_bytes()
        except OSError as exc:
            out.message(f"cannot read the key: {exc}")
            return ExitCode.USAGE
    else:
        key = _key(args, out)
    if key is None:
        return ExitCode.USAGE
    selected = _selected(args, out)
    if selected is None:
        return ExitCode.USAGE
    entries, heads = selected
    unsigned = bundle(entries, origin=args.origin, heads=heads, created=iso_time(time.time()))
    try:
        signed = sign_bundle(unsigned, key, alg)
    except ValueError as exc:  # not a PEM Ed25519 private key
        out.message(f"cannot sign: {exc}")
        return ExitCode.USAGE
    text = json.dumps(signed, ensure_ascii=False, indent=1) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, "utf-8")
        out.message(f"{len(entries)} entries -> {args.output}")
    return ExitCode.OK


def run_verify_bundle(args: argparse.Namespace, out: Output) -> int:
    from reservation_crawler.core.audit import check_bundle

    key = _key(args, out)
    if key is None:
        return ExitCode.USAGE
    try:
        data = json.loads(Path(args.bundle).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        out.message(f"cannot read the bundle: {exc}")
        return ExitCode.USAGE
    problems = check_bundle(data, key) if isinstance(data, dict) else ["not a bundle"]
    count = len(data.get("entries", ())) if isinstance(data, dict) else 0
    out.emit(
        {"ok": not problems, "entries": count, "problems": problems},
        lambda: "\n".join(problems) if problems else f"ok: {count} entries, signature valid",
    )
    return ExitCode.FINDINGS if problems else ExitCode.OK
