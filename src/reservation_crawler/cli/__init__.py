"""The ``reservation-crawler`` command line, composed here from one module per command.

Each ``cli/_<command>.py`` declares its parser, its exit statuses and a ``run(args, out)`` that
calls plain functions of apps/ (or drivers/). Reports go to stdout and messages to stderr, both
through one :class:`~reservation_crawler.cli._output.Output`; exit statuses are the
:class:`~reservation_crawler.apps._exit.ExitCode` enum. Command modules import their heavy
dependencies (httpx, Scrapy, Redis, Starlette) inside ``run``, so ``robots`` and ``check``
start fast and every ``--help`` works without them.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from reservation_crawler._version import __version__
from reservation_crawler.apps._exit import ExitCode
from reservation_crawler.cli import (
    _audit,
    _check,
    _crawl,
    _demo,
    _manifest,
    _recheck,
    _registry,
    _robots,
    _serve,
    _stats,
    _validate,
)
from reservation_crawler.cli._output import Output

__all__ = ["COMMANDS", "ExitCode", "build_parser", "main"]

# In the order ``--help`` lists them.
COMMANDS = (
    _robots,
    _check,
    _crawl,
    _demo,
    _manifest,
    _recheck,
    _serve,
    _validate,
    _stats,
    _audit,
    _registry,
)


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
    run = getattr(args, "run", None)
    if run is None:
        parser.print_help(Output("").stderr)
        return ExitCode.USAGE
    out = Output(args.messages, json=bool(getattr(args, "json", False)))
    try:
        return int(run(args, out))
    except KeyboardInterrupt:
        Output("").message("interrupted")
        return ExitCode.INTERRUPTED
    except BrokenPipeError:  # the reader went away (| head): what it read was complete
        return ExitCode.OK


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
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(commands)
    return parser
