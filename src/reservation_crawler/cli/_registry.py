"""``reservation-crawler registry add|list|show|withdraw|verify|export|import``: the registry
of reservations declared outside the site (docs/registry.md)."""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path
from typing import Any

# jscpd:ignore-start - every command module starts with these imports (cli/_command.py's pattern)
from reservation_crawler.apps._exit import ExitCode
from reservation_crawler.cli._command import add_command
from reservation_crawler.cli._output import Output, add_json_flag

# jscpd:ignore-end

EXITS = {
    ExitCode.OK: "done",
    ExitCode.REFUSED: "no such registration, wrong secret, or verification not proved",
    ExitCode.USAGE: "bad arguments or input, or the registry database cannot be used",
}
TARGETS = ("url", "prefix", "origin", "sha256")


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = add_command(
        commands,
        "registry",
        help="the registry of reservations declared outside the site (add, verify, export...)",
        description=(
            "Register a reservation for a URL, a URL prefix, an origin or a work's SHA-256, "
            "verify control of the origin, withdraw it, and export or import the public feed. "
            "The database is --registry (a SQLite file, sqlite:///… or postgresql://…; default "
            "<user data dir>/registry.sqlite3). Every action takes --json. See docs/registry.md."
        ),
        exits=EXITS,
        run=_no_action,
    )
    actions = p.add_subparsers(title="actions", metavar="ACTION")

    add = _action(actions, "add", "register a reservation (prints the withdrawal secret once)")
    what = add.add_mutually_exclusive_group(required=True)
    for kind in TARGETS:
        what.add_argument(f"--{kind}", metavar=kind.upper(), help=f"the {kind} reserved")
    what.add_argument("--file", metavar="PATH", help="a work: reserve the SHA-256 of its bytes")
    add.add_argument("--contact", required=True, help="how to reach the registrant (not public)")
    add.add_argument("--name", help="public name of the rights holder")
    add.add_argument("--agent", action="append", default=[], metavar="TOKEN", help="default: '*'")
    add.add_argument(
        "--purpose",
        action="append",
        default=[],
        metavar="PURPOSE",
        help=(
            "crawl, train-ai, ai-use, search (repeatable; default: train-ai and ai-use; "
            "ai-input is read as ai-use)"
        ),
    )
    add.add_argument("--jurisdiction", help="e.g. EU, KR, JP (free text)")
    add.add_argument("--note", help="free text, public")
    add.set_defaults(run=run_add)

    listing = _action(actions, "list", "list registrations")
    listing.add_argument("--status", choices=("claimed", "verified", "withdrawn"))
    listing.add_argument("--origin", help="only those on this origin")
    listing.set_defaults(run=run_list)

    show = _action(actions, "show", "show one registration")
    show.add_argument("id")
    show.set_defaults(run=run_show)

    withdraw = _action(actions, "withdraw", "withdraw a registration with its secret")
    withdraw.add_argument("id")
    withdraw.add_argument("--secret", required=True, help="the secret printed by add")
    withdraw.set_defaults(run=run_withdraw)

    verify = _action(actions, "verify", "fetch the proof from the origin and mark it verified")
    verify.add_argument("id")
    verify.add_argument(
        "--allow-private",
        action="store_true",
        help="allow private/loopback/link-local addresses (local test servers)",
    )
    verify.add_argument("--timeout", type=float, default=10.0, help="per-request timeout, s")
    verify.set_defaults(run=run_verify)

    export = _action(actions, "export", "print the public feed (JSON Lines, no contacts)")
    export.add_argument("--since", type=int, default=0, help="changes after this number")
    export.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    export.set_defaults(run=run_export)

    imported = _action(actions, "import", "mirror a feed (a file, '-' or an http(s) URL)")
    imported.add_argument("source", metavar="SOURCE")
    imported.add_argument(
        "--allow-private",
        action="store_true",
        help="allow private/loopback/link-local addresses (local test servers)",
    )
    imported.set_defaults(run=run_import)


def _action(actions: argparse._SubParsersAction, name: str, help: str) -> argparse.ArgumentParser:
    parser = actions.add_parser(name, help=help, description=help)
    parser.add_argument(
        "--registry",
        metavar="LOCATION",
        help="database: a SQLite file, sqlite:///…, postgresql://…",
    )
    add_json_flag(parser)
    parser.set_defaults(messages=f"reservation-crawler registry {name}")
    return parser


def _no_action(args: argparse.Namespace, out: Output) -> int:
    out.message("an action is required: add, list, show, withdraw, verify, export or import")
    return ExitCode.USAGE


def _guarded(run: Any) -> Any:
    """The registry's errors as exit statuses and one message (never a traceback)."""

    def wrapper(args: argparse.Namespace, out: Output) -> int:
        from reservation_crawler.errors import (
            InvalidRegistration,
            RegistrationNotFound,
            RegistryUnavailable,
            WrongSecret,
        )

        try:
            return int(run(args, out))
        except (RegistrationNotFound, WrongSecret) as exc:
            out.message(str(exc))
            return ExitCode.REFUSED
        except (InvalidRegistration, RegistryUnavailable) as exc:
            out.message(str(exc))
            return ExitCode.USAGE

    return wrapper


def _store(args: argparse.Namespace) -> Any:
    from reservation_crawler.drivers.registry import RegistryStore

    return RegistryStore(args.registry)


@_guarded
def run_add(args: argparse.Namespace, out: Output) -> int:
    from reservation_crawler.drivers.registry.verify import instructions

    kind = next((k for k in TARGETS if getattr(args, k)), None)
    if kind is None:
        try:
            target = hashlib.sha256(Path(args.file).read_bytes()).hexdigest()
        except OSError as exc:
            out.message(f"--file {args.file}: {exc.strerror or exc}")
            return ExitCode.USAGE
        kind = "sha256"
    else:
        target = getattr(args, kind)
    with _store(args) as store:
        registration, secret = store.create(
            contact=args.contact,
            kind=kind,
            target=target,
            agents=args.agent or ["*"],
            purposes=args.purpose or ["train-ai", "ai-use"],
            name=args.name,
            jurisdiction=args.jurisdiction,
            note=args.note,
        )
    how = instructions(registration)
    data = {
        "registration": registration.to_json(),
        "withdrawal_secret": secret,
        "verification": how,
    }
    out.emit(data, lambda: _render_created(registration, secret, how))
    return ExitCode.OK


def _render_created(registration: Any, secret: str, how: dict[str, str] | None) -> str:
    lines = [
        _render(registration),
        "",
        f"withdrawal secret (shown only now, keep it): {secret}",
    ]
    if how is None:
        lines.append("a hash claim names a work, not an origin: it stays 'claimed'")
    else:
        lines += [
            "to verify control of the origin, either serve",
            f"  {how['file']}",
            f"  containing exactly: {how['file_content']}",
            f"or put on {how['meta_page']}",
            f"  {how['meta']}",
            f"then run: reservation-crawler registry verify {registration.id}",
        ]
    return "\n".join(lines)


def _render(registration: Any) -> str:
    r = registration
    lines = [
        f"{r.id}  {r.status}",
        f"  {r.target.kind:<8} {r.target.value}",
        f"  agents   {', '.join(r.agents)}",
        f"  purposes {', '.join(str(p) for p in r.purposes)}",
        f"  created  {r.created_at}  updated {r.updated_at}"
        + (f"  withdrawn {r.withdrawn_at}" if r.withdrawn_at else ""),
    ]
    for label, value in (
        ("name", r.name),
        ("contact", r.contact),
        ("jurisdiction", r.jurisdiction),
        ("note", r.note),
    ):
        if value:
            lines.append(f"  {label:<8} {value}")
    return "\n".join(lines)


@_guarded
def run_list(args: argparse.Namespace, out: Output) -> int:
    from reservation_crawler.model.registry import Status, make_target

    status = Status(args.status) if args.status else None
    origin = make_target("origin", args.origin).value if args.origin else None
    with _store(args) as store:
        found = store.list(status=status, origin=origin)
    if out.json:
        for registration in found:
            out.json_line(registration.to_json())
    else:
        out.report("\n".join(_render(r) for r in found) if found else "no registrations")
    return ExitCode.OK


@_guarded
def run_show(args: argparse.Namespace, out: Output) -> int:
    with _store(args) as store:
        registration = store.get(args.id)
    out.emit(registration.to_json(), lambda: _render(registration))
    return ExitCode.OK


@_guarded
def run_withdraw(args: argparse.Namespace, out: Output) -> int:
    with _store(args) as store:
        registration = store.withdraw(args.id, args.secret)
    out.emit(registration.to_json(), lambda: _render(registration))
    return ExitCode.OK


@_guarded
def run_verify(args: argparse.Namespace, out: Output) -> int:
    from reservation_crawler.drivers.fetch import Fetcher, FetchLimits
    from reservation_crawler.drivers.registry.verify import check_proof
    from reservation_crawler.model.registry import Status

    with _store(args) as store:
        registration = store.get(args.id)
        limits = FetchLimits(timeout=args.timeout)
        with Fetcher(limits=limits, allow_private=args.allow_private) as fetcher:
            found = check_proof(fetcher, registration)
        if found.verified:
            registration = store.set_status(registration.id, Status.VERIFIED)
    out.emit(
        {"registration": registration.to_json(), "verification": found.to_json()},
        lambda: _render(registration) + f"\n{found.detail}",
    )
    return ExitCode.OK if found.verified else ExitCode.REFUSED


@_guarded
def run_export(args: argparse.Namespace, out: Output) -> int:
    from reservation_crawler.drivers.registry.feed import feed_lines

    # The feed is JSON Lines whatever --json says: it is the data.
    with _store(args) as store:
        lines = list(feed_lines(store, args.since))
    if args.output:
        Path(args.output).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        out.message(f"{len(lines) - 1} registrations written to {args.output}")
    else:
        for line in lines:
            out.report(line)
    return ExitCode.OK


@_guarded
def run_import(args: argparse.Namespace, out: Output) -> int:
    from reservation_crawler.drivers.fetch import Fetcher
    from reservation_crawler.drivers.registry.adapter import FeedAdapter, mirror

    with Fetcher(allow_private=args.allow_private) as fetcher, _store(args) as store:
        read, changed, cursor = mirror(FeedAdapter(args.source, fetcher=fetcher), store)
    last = int(cursor or 0)
    data = {"read": read, "changed": changed, "seq": last}
    out.emit(data, lambda: f"{read} read, {changed} new or changed (feed seq {last})")
    return ExitCode.OK
