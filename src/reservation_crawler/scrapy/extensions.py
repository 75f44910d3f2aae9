"""Crawl accounting and the progress line.

:class:`CrawlSummary` counts what was actually written (``item_scraped``, after every pipeline)
into slash-named stats, and :func:`summary_from_stats` turns them into the final summary, whose
counts add up: ``total = done + failed + unfinished`` (``unfinished`` is 0 for a completed
crawl). :class:`Progress` shows the crawl's progress on stderr (a bar on a terminal, log lines
elsewhere).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TextIO

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from reservation_crawler.errors import ConfigError
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


PROGRESS_MODES = ("bar", "log", "off")


class Progress:
    """Progress of a running crawl on stderr: sites done / total, failures, records, rate, ETA.

    ``RC_PROGRESS`` picks the form: ``bar`` (a rich progress bar, for a terminal), ``log`` (one
    timestamped line every ``RC_PROGRESS_LOG_INTERVAL`` seconds, for nohup, CI or a log file),
    ``off``. The CLI chooses ``bar`` when stderr is a terminal and ``log`` otherwise.
    """

    def __init__(self, crawler: Crawler, stream: TextIO | None = None) -> None:
        mode = crawler.settings.get("RC_PROGRESS") or "off"
        if mode is True or mode == "True":  # the 0.1 boolean setting
            mode = "bar"
        if mode in (False, "False"):
            mode = "off"
        if mode not in PROGRESS_MODES:
            raise ConfigError(f"RC_PROGRESS must be one of {', '.join(PROGRESS_MODES)}: {mode!r}")
        if mode == "off":
            raise NotConfigured
        self.mode = mode
        self.stats = crawler.stats
        self.stream = stream or sys.stderr
        if mode == "bar":
            self.interval = crawler.settings.getfloat("RC_PROGRESS_INTERVAL", 0.5)
        else:
            self.interval = crawler.settings.getfloat("RC_PROGRESS_LOG_INTERVAL", 30.0)
        self._timer: task.LoopingCall | None = None
        self._started = time.monotonic()
        self._sites_at_start = 0
        self._records_at_start = 0
        self._bar: Any = None
        crawler.signals.connect(self._spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self._spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Progress:
        return cls(crawler)

    def _spider_opened(self, spider: Any = None) -> None:
        self._started = time.monotonic()
        done, failed, _total, records = self._counts()
        self._sites_at_start = done + failed
        self._records_at_start = records
        if self.mode == "bar":
            self._bar = _RichBar(self.stream)
        self._timer = task.LoopingCall(self.draw)
        self._timer.start(self.interval, now=self.mode == "bar")

    def _counts(self) -> tuple[int, int, int, int]:
        get = self.stats.get_value
        return (
            int(get(SITES_DONE, 0) or 0),
            int(get(SITES_FAILED, 0) or 0),
            int(get(SITES_TOTAL, 0) or 0),
            int(get(RECORDS_WRITTEN, 0) or 0),
        )

    def snapshot(self) -> dict[str, Any]:
        """The figures both forms show (this run's rates; ETA from the site rate)."""
        done, failed, total, records = self._counts()
        elapsed = max(time.monotonic() - self._started, 1e-6)
        finished = done + failed
        site_rate = (finished - self._sites_at_start) / elapsed
        remaining = max(total - finished, 0)
        eta = remaining / site_rate if site_rate > 0 else None
        return {
            "finished": finished,
            "total": total,
            "failed": failed,
            "records": records,
            "records_per_s": (records - self._records_at_start) / elapsed,
            "sites_per_s": site_rate,
            "elapsed_s": elapsed,
            "eta_s": eta,
        }

    def line(self) -> str:
        s = self.snapshot()
        share = f" ({100 * s['finished'] / s['total']:.1f}%)" if s["total"] else ""
        eta = _duration(s["eta_s"]) if s["eta_s"] is not None else "unknown"
        return (
            f"sites {s['finished']}/{s['total']}{share}, {s['failed']} failed, "
            f"records {s['records']}, {s['records_per_s']:.1f} records/s, "
            f"elapsed {_duration(s['elapsed_s'])}, ETA {eta}"
        )

    def draw(self) -> None:
        if self._bar is not None:
            self._bar.update(self.snapshot())
            return
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.stream.write(f"{stamp} progress: {self.line()}\n")
        self.stream.flush()

    def _spider_closed(self, spider: Any = None, reason: str = "") -> None:
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        self.draw()
        if self._bar is not None:
            self._bar.stop()


class _RichBar:
    """rich's progress bar (percentage, ETA) for a crawl on a terminal."""

    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        self._progress = RichProgress(
            TextColumn("sites"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[failed]} failed, {task.fields[records]} records"),
            TextColumn("{task.fields[rate]:.1f} records/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(file=stream),
            auto_refresh=False,
            transient=False,
        )
        self._task = self._progress.add_task("crawl", total=None, failed=0, records=0, rate=0.0)
        self._progress.start()

    def update(self, snapshot: Mapping[str, Any]) -> None:
        self._progress.update(
            self._task,
            completed=snapshot["finished"],
            total=snapshot["total"] or None,
            failed=snapshot["failed"],
            records=snapshot["records"],
            rate=snapshot["records_per_s"],
        )
        self._progress.refresh()

    def stop(self) -> None:
        self._progress.stop()


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
