"""Item pipelines: records and policies to Redis (pipelined, with TTLs), and the job ledger.

Enabled in ``settings.ITEM_PIPELINES``; each raises ``NotConfigured`` when switched off.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import redis
from scrapy import signals
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import task, threads
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from reservation_crawler.core.policy import sources_failed
from reservation_crawler.drivers import cache
from reservation_crawler.model.record import Outcome
from reservation_crawler.scrapy.items import PolicyItem, RecordItem, SiteItem
from reservation_crawler.scrapy.jobdir import ledger_for

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

# Batches waiting for Redis at most (each RC_REDIS_BATCH writes); older ones are counted lost.
MAX_BACKLOG = 64


def record_failed(record: dict[str, Any]) -> bool:
    """A record is a failure (shorter TTL) by ``core.policy.failed_fetch``'s one definition."""
    sources = record.get("sources", {})
    return sources_failed({name: source["outcome"] for name, source in sources.items()})


def refused(item: Any) -> bool:
    """A record or policy with a source our own configuration refused (the address guard)."""
    if isinstance(item, RecordItem):
        sources = item.get("sources", {})
    elif isinstance(item, PolicyItem):
        files = item["policy"].get("files", {})
        # "rsl" holds a list of files (the RSL documents), the others one file each.
        listed = [
            f for value in files.values() for f in (value if isinstance(value, list) else [value])
        ]
        sources = {str(n): f.get("source", {}) for n, f in enumerate(listed)}
    else:
        return False
    return any(s.get("outcome") == Outcome.REFUSED for s in sources.values())


class RedisPipeline:
    """Writes ``RecordItem`` and ``PolicyItem`` to Redis through ``cache.ReservationCache``.

    Writes are queued on one Redis pipeline and sent every ``RC_REDIS_BATCH`` items or every
    ``RC_REDIS_FLUSH_INTERVAL`` seconds, whichever comes first, and when the spider closes.
    TTLs: ``RC_TTL`` (24 h, RFC 9309 §2.4) and ``RC_FAILURE_TTL`` for failures.
    """

    def __init__(
        self,
        crawler: Crawler,
        reservation_cache: cache.ReservationCache,
        *,
        batch: int,
        interval: float,
        run: Callable[[Callable[[], Any]], Deferred[Any]] = threads.deferToThread,
    ) -> None:
        self.crawler = crawler
        self.cache = reservation_cache
        self.batch = max(1, batch)
        self.interval = interval
        self._pipe = reservation_cache.client.pipeline(transaction=False)
        self._queued = 0
        self._records = 0
        self._policies = 0
        self._timer: task.LoopingCall | None = None
        self._warned = False
        self._run = run  # where a batch is sent: a worker thread (a test may run it inline)
        self._backlog: deque[tuple[Any, int]] = deque()
        self._sending: Deferred[Any] | None = None
        # --distributed: distributed.LeasedOutput stores each record when it claims it.
        self.records_stored_elsewhere = crawler.settings.getbool("RC_DISTRIBUTED")
        crawler.signals.connect(self._spider_opened, signal=signals.spider_opened)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedisPipeline:
        settings = crawler.settings
        if not settings.getbool("RC_REDIS_ENABLED", True):
            raise NotConfigured
        client = cache.connect(settings.get("RC_REDIS_URL") or None)
        reservation_cache = cache.ReservationCache(
            client,
            ttl=settings.getfloat("RC_TTL", cache.DEFAULT_TTL),
            failure_ttl=settings.getfloat("RC_FAILURE_TTL", cache.DEFAULT_FAILURE_TTL),
        )
        crawler.stats.set_value("reservation/redis", reservation_cache.where)
        return cls(
            crawler,
            reservation_cache,
            batch=settings.getint("RC_REDIS_BATCH", 500),
            interval=settings.getfloat("RC_REDIS_FLUSH_INTERVAL", 1.0),
        )

    def _spider_opened(self, spider: Any = None) -> None:
        if self.interval > 0:
            self._timer = task.LoopingCall(self.flush)
            self._timer.start(self.interval, now=False)

    def process_item(self, item: Any, spider: Any = None) -> Any:
        if refused(item):  # refused by our configuration: says nothing about the origin
            self.crawler.stats.inc_value("reservation/redis/refused_not_stored")
            return item
        if isinstance(item, RecordItem):
            if self.records_stored_elsewhere:
                return item
            self.cache.put_record(
                item["url"],
                item,
                failed=record_failed(item),
                fetched_at=item.get("fetched_at"),
                pipe=self._pipe,
            )
            self._records += 1
            self._queued += 1
        elif isinstance(item, PolicyItem):
            self.cache.put_policy(
                item["origin"],
                item["policy"],
                failed=bool(item.get("failed")),
                fetched_at=item["policy"].get("fetched_at"),
                pipe=self._pipe,
            )
            self._policies += 1
            self._queued += 1
        if self._queued >= self.batch:
            self.flush()
        return item

    def flush(self) -> None:
        """Hand the queued writes to the sender. Never blocks the crawl: the writes go out from
        a worker thread, one batch at a time, so a stalled Redis (up to its socket timeout per
        batch) slows no fetch. A Redis error is logged and counted, never raised: the dataset
        (feeds, job ledger) must not lose records because the cache is down or slow."""
        if not self._queued:
            return
        self._backlog.append((self._pipe, self._queued))
        self._pipe = self.cache.client.pipeline(transaction=False)
        self._queued = 0
        while len(self._backlog) > MAX_BACKLOG:  # Redis far behind: bounded memory
            _pipe, lost = self._backlog.popleft()
            self._lost(lost, "the write backlog is full (Redis too slow)")
        if self._sending is None:
            self._send_next()

    def _send_next(self) -> None:
        if not self._backlog:
            self._sending = None
            return
        pipe, queued = self._backlog.popleft()
        started = time.monotonic()
        sending = self._sending = self._run(pipe.execute)
        sending.addCallbacks(
            self._sent, self._failed, callbackArgs=(queued, started), errbackArgs=(queued,)
        )
        sending.addBoth(lambda _: self._send_next())  # may run at once if already fired

    def _sent(self, _result: Any, queued: int, started: float) -> None:
        stats = self.crawler.stats
        stats.set_value("reservation/redis/records", self._records)
        stats.set_value("reservation/redis/policies", self._policies)
        stats.inc_value("reservation/redis/flushes")
        stats.inc_value("reservation/redis/flush_ms", int((time.monotonic() - started) * 1000))

    def _failed(self, failure: Failure, queued: int) -> None:
        if not failure.check(redis.RedisError):
            logger.error("writing to Redis failed: %s", failure.getTraceback())
        self.crawler.stats.inc_value("reservation/redis/errors")
        self._lost(queued, failure.getErrorMessage())

    def _lost(self, queued: int, why: str) -> None:
        self.crawler.stats.inc_value("reservation/redis/lost_writes", queued)
        if not self._warned:
            logger.error("cannot write to Redis at %s: %s", self.cache.where, why)
            self._warned = True

    async def close_spider(self, spider: Any = None) -> None:
        """Send what is left; the crawl closes once the last batch is written or has failed."""
        await maybe_deferred_to_future(self.drained())

    def drained(self) -> Deferred[None]:
        """Fires once every queued batch has been written or has failed (flushing first)."""
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        self.flush()
        done: Deferred[None] = Deferred()
        if self._sending is None:
            done.callback(None)
            return done

        def check(_: Any = None) -> None:
            if self._sending is None:  # _send_next ran first in the chain: nothing left
                done.callback(None)
            else:
                self._sending.addBoth(check)

        self._sending.addBoth(check)
        return done


class JobLedgerPipeline:
    """With ``RC_JOB_DIR``: appends each record to the ledger once, drops records the ledger
    already holds (a resumed crawl re-crawls unfinished origins), and marks origins finished."""

    def __init__(self, crawler: Crawler) -> None:
        ledger = ledger_for(crawler)
        if ledger is None:
            raise NotConfigured
        self.ledger = ledger
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> JobLedgerPipeline:
        return cls(crawler)

    def process_item(self, item: Any, spider: Any = None) -> Any:
        if isinstance(item, RecordItem):
            if not self.ledger.write_record(item):
                self.crawler.stats.inc_value("reservation/records/already-written")
                raise DropItem(f"already in the job ledger: {item['url']}", log_level="DEBUG")
        elif isinstance(item, SiteItem):
            self.ledger.write_site(item)
        return item

    def close_spider(self, spider: Any = None) -> None:
        self.ledger.close()
