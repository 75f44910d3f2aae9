"""What every command module shares: how it registers, and how its --help states exit statuses."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping

from reservation_crawler.apps._exit import ExitCode
from reservation_crawler.cli._output import Output

__all__ = ["Run", "add_command", "exit_help"]

Run = Callable[[argparse.Namespace, Output], int]


def exit_help(exits: Mapping[ExitCode, str]) -> str:
    """``exit status: 0 done; 2 bad arguments.``: the codes a command documents, in order."""
    return "exit status: " + "; ".join(f"{int(code)} {why}" for code, why in exits.items()) + "."


def add_command(
    commands: argparse._SubParsersAction,
    name: str,
    *,
    help: str,
    description: str,
    exits: Mapping[ExitCode, str],
    run: Run,
    messages: str | None = None,
    note: str = "",
) -> argparse.ArgumentParser:
    """Register ``name``; its messages start with ``messages`` (``reservation-crawler NAME``)."""
    parser = commands.add_parser(
        name,
        help=help,
        description=description,
        epilog=exit_help(exits) + (f" {note}" if note else ""),
    )
    parser.set_defaults(run=run, messages=messages or f"reservation-crawler {name}")
    return parser
