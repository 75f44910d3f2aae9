"""Prometheus metrics and JSON log lines for ``serve`` (prometheus-client).

Every metric lives in its own registry per app (no process-global state: tests and several apps
in one process do not mix counts). ``/metrics`` is served in the text exposition format.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

from reservation_crawler.drivers.lookup import Verdict

access_logger = logging.getLogger("reservation_crawler.access")

# Seconds: a memory hit answers in well under a millisecond, a fetch in up to the fetch timeout.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
OTHER_ROUTE = "other"  # label of every path that is not a route: bounded label values


class ServeMetrics:
    """The counters and histograms of one ``serve`` app."""

    def __init__(self, routes: Iterable[str]) -> None:
        self.routes = frozenset(routes)
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "rc_http_requests",
            "HTTP requests answered, by route, method and status",
            ["route", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "rc_http_request_duration_seconds",
            "Time to answer an HTTP request, by route and method",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.checks = Counter(
            "rc_checks",
            "Checks answered, by where the origin's policy came from (the Verdict's source: "
            "memory, redis, fetch, fail-closed)",
            ["source"],
            registry=r,
        )
        self.policy_fetches = Counter(
            "rc_policy_fetches",
            "Origin policies fetched to answer a check, by outcome (fetched; stale-copy: the "
            "refetch failed and the last good copy was served)",
            ["outcome"],
            registry=r,
        )
        self.fail_closed = Counter(
            "rc_fail_closed_answers",
            "Checks answered 'reserved' because Redis was unavailable (--fail-closed)",
            registry=r,
        )
        # The audit log's writer counts its own drops (AuditSink.dropped): read at each scrape.
        self._audit_dropped: Callable[[], int] = lambda: 0
        r.register(_AuditDrops(self))

    def count_audit_drops(self, dropped: Callable[[], int]) -> None:
        """Export ``dropped()`` (e.g. ``lambda: sink.dropped``) as
        ``rc_audit_dropped_events_total``; 0 while no audit log is attached."""
        self._audit_dropped = dropped

    def route_of(self, path: str) -> str:
        return path if path in self.routes else OTHER_ROUTE

    def observe_verdicts(self, verdicts: Iterable[Verdict]) -> None:
        """Count checks by source; one policy fetch per origin fetched for these verdicts."""
        fetched: dict[str, str] = {}
        for verdict in verdicts:
            self.checks.labels(verdict.source).inc()
            if verdict.source == "fail-closed":
                self.fail_closed.inc()
            elif verdict.source == "fetch":
                origin = verdict.url.split("/", 3)[:3]
                fetched["/".join(origin)] = "stale-copy" if verdict.stale else "fetched"
        for outcome in fetched.values():
            self.policy_fetches.labels(outcome).inc()

    def exposition(self) -> tuple[bytes, str]:
        """The ``/metrics`` body and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _AuditDrops(Collector):
    def __init__(self, metrics: ServeMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "rc_audit_dropped_events",
            "Audit log entries dropped instead of written (the writer's queue was full)",
            value=self.metrics._audit_dropped(),
        )


class MetricsMiddleware:
    """ASGI middleware: counts and times every HTTP request, and logs it at INFO on
    ``reservation_crawler.access`` (one JSON line with ``--log-format json``)."""

    def __init__(self, app: Any, metrics: ServeMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception that escapes every handler is answered 500 by the server

        async def send_and_note(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            elapsed = time.perf_counter() - started
            route = self.metrics.route_of(scope["path"])
            method = scope["method"]
            self.metrics.requests.labels(route, method, str(status)).inc()
            self.metrics.latency.labels(route, method).observe(elapsed)
            access_logger.info(
                "%s %s %d %.1f ms",
                method,
                scope["path"],
                status,
                elapsed * 1000,
                extra={
                    "method": method,
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 3),
                },
            )


# --- JSON log lines ------------------------------------------------------------------------------

_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per log record: time, level, logger, message, and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update((k, v) for k, v in vars(record).items() if k not in _RECORD_FIELDS)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


JsonFormatter.converter = time.gmtime  # UTC, as the "Z" says


def log_config(log_format: str, level: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for serve: uvicorn's and our loggers, text or JSON, on
    stderr."""
    formatter: dict[str, Any] = (
        {"()": JsonFormatter}
        if log_format == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    )
    handler = {"class": "logging.StreamHandler", "formatter": "main", "stream": "ext://sys.stderr"}
    names = ("uvicorn", "uvicorn.error", "reservation_crawler")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "handlers": {"main": handler},
        "loggers": {
            name: {"handlers": ["main"], "level": level.upper(), "propagate": False}
            for name in names
        },
    }
