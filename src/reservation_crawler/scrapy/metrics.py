"""Prometheus metrics of a crawl worker (``crawl --metrics-port``): read from the crawl's stats
at each scrape, served by prometheus-client's HTTP server on its own thread."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from scrapy import signals
from scrapy.exceptions import NotConfigured

from reservation_crawler.scrapy.extensions import (
    RECORDS_WRITTEN,
    SITES_DONE,
    SITES_FAILED,
    SITES_TOTAL,
)

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

EXCEPTION_PREFIX = "downloader/exception_type_count/"


class CrawlCollector(Collector):
    """The crawl's stats as Prometheus metrics, read when scraped."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    def collect(self) -> Iterator[Metric]:
        stats = self.crawler.stats.get_stats().copy()  # one atomic copy: the crawl goes on
        pages = CounterMetricFamily(
            "rc_crawl_pages", "Responses received (robots.txt and policy files included)"
        )
        pages.add_metric([], int(stats.get("response_received_count", 0)))
        yield pages
        records = CounterMetricFamily("rc_crawl_records", "Reservation records written")
        records.add_metric([], int(stats.get(RECORDS_WRITTEN, 0)))
        yield records
        sites = CounterMetricFamily(
            "rc_crawl_sites", "Sites finished, by status", labels=["status"]
        )
        sites.add_metric(["done"], int(stats.get(SITES_DONE, 0)))
        sites.add_metric(["failed"], int(stats.get(SITES_FAILED, 0)))
        yield sites
        failures = CounterMetricFamily(
            "rc_crawl_site_failures", "Sites that failed, by reason", labels=["reason"]
        )
        errors = CounterMetricFamily(
            "rc_crawl_download_errors", "Requests that raised, by exception type", labels=["type"]
        )
        prefix = SITES_FAILED + "/"
        for key, value in sorted(stats.items()):
            if key.startswith(prefix):
                failures.add_metric([key[len(prefix) :]], int(value))
            elif key.startswith(EXCEPTION_PREFIX):
                errors.add_metric([key[len(EXCEPTION_PREFIX) :]], int(value))
        yield failures
        yield errors
        total = GaugeMetricFamily("rc_crawl_target_sites", "Sites this crawl was given")
        total.add_metric([], int(stats.get(SITES_TOTAL, 0)))
        yield total
        depth = GaugeMetricFamily(
            "rc_crawl_queue_depth",
            "Requests waiting in the scheduler (the shared frontier's length with --distributed)",
        )
        depth.add_metric([], self._queue_depth())
        yield depth

    def _queue_depth(self) -> int:
        engine = self.crawler.engine
        # Crawler.engine.scheduler is Scrapy 2.19's name; older ones have it on engine.slot.
        scheduler = getattr(engine, "scheduler", None)
        if scheduler is None:
            scheduler = getattr(getattr(engine, "slot", None), "scheduler", None)
        # Both Scrapy's scheduler and scrapy-redis's implement len(); 0 before start / after end.
        return len(scheduler) if scheduler is not None else 0


class PrometheusMetrics:
    """Serves ``/metrics`` on ``RC_METRICS_PORT`` (``RC_METRICS_HOST``) while the spider runs."""

    def __init__(self, crawler: Crawler, host: str, port: int) -> None:
        self.host = host
        self.port = port
        # Not auto-described: collect() reads the engine, which exists once the spider opened.
        self.registry = CollectorRegistry()
        self.registry.register(CrawlCollector(crawler))
        self._server: Any = None
        crawler.signals.connect(self._spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self._spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PrometheusMetrics:
        port = crawler.settings.get("RC_METRICS_PORT")
        if port in (None, ""):
            raise NotConfigured
        return cls(crawler, crawler.settings.get("RC_METRICS_HOST") or "0.0.0.0", int(port))

    def _spider_opened(self, spider: Any = None) -> None:
        self._server, _thread = start_http_server(self.port, self.host, registry=self.registry)

    def _spider_closed(self, spider: Any = None, reason: str = "") -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
