"""Crawl accounting and the progress line.

:class:`CrawlSummary` counts what was actually written (``item_scraped``, after every pipeline)
into slash-named stats, and :func:`summary_from_stats` turns them into the final summary, whose
counts add up: ``total = done + failed + unfinished`` (``unfinished`` is 0 for a completed
crawl). :class:`Progress` draws one line on stderr while a crawl runs on a terminal.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TextIO

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from reservation_crawler.model.record import PURPOSES
from reservation_crawler.scrapy.items import SITE_DONE, RecordItem, SiteItem
from reservation_crawler.scrapy.jobdir import ledger_for

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

SITES_TOTAL = "reservation/sites/total"
SITES_DONE = "reservation/sites/done"
SITES_FAILED = "reservation/sites/failed"
RECORDS_WRITTEN = "reservation/records/written"
RESERVED_PREFIX = "reservation/reserved/"  # + purpose: records whose "*" decision is reserved


class CrawlSummary:
    """Counts sites done / failed (by reason) and records written, as Scrapy stats."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        crawler.signals.connect(self._item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(self._spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self._spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlSummary:
        return cls(crawler)

    def _spider_opened(self, spider: Any = None) -> None:
        self.stats.set_value("reservation/started", time.time())
        for name in (SITES_DONE, SITES_FAILED, RECORDS_WRITTEN):
            self.stats.set_value(name, 0)
        ledger = ledger_for(self.crawler)
        if ledger is not None and ledger.resuming:
            # Sites and records of earlier runs of this job count toward the whole crawl.
            for key, count in ledger.previous_counts().items():
                self.stats.inc_value(f"reservation/sites/{key}", count)
                if key.startswith("failed/"):
                    self.stats.inc_value(SITES_FAILED, count)
            self.stats.set_value("reservation/records/previous", ledger.previous_records)
            self.stats.inc_value(RECORDS_WRITTEN, ledger.previous_records)

    def _item_scraped(self, item: Any, response: Any = None, spider: Any = None) -> None:
        if isinstance(item, RecordItem):
            self.stats.inc_value(RECORDS_WRITTEN)
            cells = item.get("decisions", {}).get("*", {})
            for purpose in PURPOSES:
                if cells.get(str(purpose)) == "reserved":
                    self.stats.inc_value(RESERVED_PREFIX + str(purpose))
        elif isinstance(item, SiteItem):
            if item["status"] == SITE_DONE:
                self.stats.inc_value(SITES_DONE)
            else:
                self.stats.inc_value(SITES_FAILED)
                self.stats.inc_value(f"{SITES_FAILED}/{item.get('reason') or 'unknown'}")

    def _spider_closed(self, spider: Any = None, reason: str = "") -> None:
        self.stats.set_value("reservation/finished", time.time())
        self.stats.set_value("reservation/close_reason", reason)


def summary_from_stats(stats: Mapping[str, Any]) -> dict[str, Any]:
    """The crawl summary (JSON-ready) from a finished crawler's stats."""
    total = int(stats.get(SITES_TOTAL, 0))
    done = int(stats.get(SITES_DONE, 0))
    failed = int(stats.get(SITES_FAILED, 0))
    prefix = SITES_FAILED + "/"
    by_reason = {
        key[len(prefix) :]: int(value)
        for key, value in sorted(stats.items())
        if key.startswith(prefix)
    }
    started = stats.get("reservation/started")
    finished = stats.get("reservation/finished") or time.time()
    elapsed = max(finished - started, 1e-9) if started else None
    written = int(stats.get(RECORDS_WRITTEN, 0))
    previous_records = int(stats.get("reservation/records/previous", 0))
    this_run_sites = done + failed - int(stats.get("reservation/sites/resumed", 0))
    reserved = {str(p): int(stats.get(RESERVED_PREFIX + str(p), 0)) for p in PURPOSES}
    return {
        "sites": {
            "total": total,
            "done": done,
            "failed": failed,
            "failed_by_reason": by_reason,
            "unfinished": total - done - failed,
            "resumed": int(stats.get("reservation/sites/resumed", 0)),
        },
        "records": {
            "written": written,
            "previous_runs": previous_records,
            "already_written": int(stats.get("reservation/records/already-written", 0)),
            "star_reserved_by_purpose": reserved,
        },
        "invalid_targets": int(stats.get("reservation/targets/invalid", 0)),
        "requests": int(stats.get("downloader/request_count", 0)),
        "elapsed_s": round(elapsed, 3) if elapsed else None,
        "sites_per_s": round(this_run_sites / elapsed, 2) if elapsed else None,
        "records_per_s": round((written - previous_records) / elapsed, 2) if elapsed else None,
        "close_reason": stats.get("reservation/close_reason"),
        "redis": stats.get("reservation/redis"),
        "redis_lost_writes": int(stats.get("reservation/redis/lost_writes", 0)),
    }


class Progress:
    """``sites 120/200 (3 failed)  records 118  45.2 records/s`` on stderr, redrawn in place.

    On only when ``RC_PROGRESS`` is true (the CLI sets it when stderr is a terminal and
    ``--json`` is not given).
    """

    def __init__(self, crawler: Crawler, stream: TextIO | None = None) -> None:
        if not crawler.settings.getbool("RC_PROGRESS"):
            raise NotConfigured
        self.stats = crawler.stats
        self.stream = stream or sys.stderr
        self.interval = crawler.settings.getfloat("RC_PROGRESS_INTERVAL", 0.5)
        self._timer: task.LoopingCall | None = None
        self._started = time.monotonic()
        crawler.signals.connect(self._spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self._spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Progress:
        return cls(crawler)

    def _spider_opened(self, spider: Any = None) -> None:
        self._started = time.monotonic()
        self._records_at_start = int(self.stats.get_value(RECORDS_WRITTEN, 0) or 0)
        self._timer = task.LoopingCall(self.draw)
        self._timer.start(self.interval, now=True)

    def line(self) -> str:
        get = self.stats.get_value
        total = int(get(SITES_TOTAL, 0) or 0)
        done = int(get(SITES_DONE, 0) or 0)
        failed = int(get(SITES_FAILED, 0) or 0)
        records = int(get(RECORDS_WRITTEN, 0) or 0)
        elapsed = max(time.monotonic() - self._started, 1e-6)
        rate = (records - self._records_at_start) / elapsed
        return (
            f"sites {done + failed}/{total} ({failed} failed)  records {records}  "
            f"{rate:.1f} records/s  {int(elapsed)}s"
        )

    def draw(self) -> None:
        self.stream.write("\r\x1b[K" + self.line())
        self.stream.flush()

    def _spider_closed(self, spider: Any = None, reason: str = "") -> None:
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        self.draw()
        self.stream.write("\n")
        self.stream.flush()
