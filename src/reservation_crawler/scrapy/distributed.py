"""Workers that lose nothing: the shared state of a distributed crawl (``crawl --distributed``).

scrapy-redis shares the frontier (a sorted set of requests) and the duplicate filter; a request
popped by a worker that then dies was gone. This module adds, under the crawl's keys
``rc:v1:crawl:reservations:<crawl-id>:`` (docs/crawler.md, "Workers that lose nothing"):

- **leases**: a worker that pops a request records the request's origin in ``origins:<worker>``
  (atomically, one Lua script), and its heartbeat keeps ``workers`` (a sorted set: worker ->
  lease deadline, on the server's clock) ``RC_LEASE_SECONDS`` ahead. A worker whose deadline
  passes is declared dead (``dead``); its claims are dropped and every origin it held is
  crawled again from its robots.txt by the others (``reap``).
- **claims** (exactly once at the output): a record enters a worker's dataset and Redis only if
  its URL is claimed first (``HSETNX claims <url> <worker>``; ``claims:<worker>`` lists them).
  A worker's dataset is ``<output>.partial`` until the worker finishes cleanly, then renamed to
  ``<output>``: a dead worker's file is never part of the dataset, and its URLs are claimed again
  by whoever re-crawls them. The dataset is the union of the finished workers' outputs: one
  record per URL, and one ``rc:v1:record:<url>`` in Redis.
- **reconciliation**: when the frontier is empty and every live worker is idle, one worker at a
  time (``lock``) checks that every target URL has a claim, and re-enqueues the origins of those
  that have none; the crawl ends when none is missing.
- **Redis outage**: nothing is dropped silently. A request that cannot be pushed, or a record
  that cannot be claimed or stored, is remembered and its origin re-enqueued once Redis answers;
  a worker that cannot pop waits. If Redis loses the crawl's keys (``epoch`` changed) or declared
  this worker dead, the worker stops (exit 1) and leaves its ``.partial`` file, whose work the
  others redo.

scrapy-redis has no Redis Cluster client, so all of this lives on one Redis server (the Lua
scripts name keys they build, which a cluster would refuse).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import redis
from scrapy import Request, signals
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy.utils.defer import deferred_from_coro
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler
from twisted.internet import task

from reservation_crawler.drivers import cache
from reservation_crawler.errors import CacheUnavailable, ReservationCrawlerError
from reservation_crawler.scrapy.fetching import RC
from reservation_crawler.scrapy.items import RecordItem
from reservation_crawler.scrapy.pipelines import record_failed, refused

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 30.0
LEASE = "rc_lease"  # request.meta: the origin whose lease this request (or its successor) holds
LEASE_LOST = "lease-lost"  # the spider's close reason when this worker was declared dead
_ATTR = "_rc_frontier"
_SEP = b"\n"  # queue members are b"<origin>\n<serialized request>"
_BATCH = 1000
POLL_SECONDS = 0.5  # an idle worker looks at the shared frontier this often

# KEYS: queue, idle, inflight:<w>, dead, epoch, workers; ARGV: worker, epoch, lease ms. The
# lease: the popped request's origin is counted in flight at this worker until released; a pop
# also renews the worker's deadline (a worker that works is alive).
_POP = """
if redis.call('GET', KEYS[5]) ~= ARGV[2] then return redis.error_reply('LOST crawl state') end
if redis.call('SISMEMBER', KEYS[4], ARGV[1]) == 1 then return redis.error_reply('DEAD') end
local top = redis.call('ZRANGE', KEYS[1], 0, 0)
if #top == 0 then return false end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[6], 'XX', now + tonumber(ARGV[3]), ARGV[1])
redis.call('ZREM', KEYS[1], top[1])
local cut = string.find(top[1], '\\n', 1, true)
redis.call('HINCRBY', KEYS[3], string.sub(top[1], 1, cut - 1), 1)
redis.call('SREM', KEYS[2], ARGV[1])
return top[1]
"""
# KEYS: inflight:<w>, queue; ARGV: origin, [score, member]. Pushes the request that continues
# the origin's chain (if any) and releases the lease, atomically.
_RELEASE = """
if #ARGV > 1 then redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3]) end
if redis.call('HINCRBY', KEYS[1], ARGV[1], -1) <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 1
"""
# KEYS: workers, dead, epoch; ARGV: worker, lease ms, epoch. Returns the live workers' count.
_HEARTBEAT = """
if redis.call('GET', KEYS[3]) ~= ARGV[3] then return redis.error_reply('LOST crawl state') end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return redis.error_reply('DEAD') end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return redis.call('ZCARD', KEYS[1])
"""
# KEYS: workers, dead, idle. Declares every worker whose deadline passed dead; returns them.
_EXPIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for _, w in ipairs(expired) do
  redis.call('ZREM', KEYS[1], w)
  redis.call('SREM', KEYS[3], w)
  redis.call('SADD', KEYS[2], w)
end
return expired
"""
# KEYS: claims, claims:<w>, origins:<w>, dead, epoch; ARGV: worker, url, origin, epoch
_CLAIM = """
if redis.call('GET', KEYS[5]) ~= ARGV[4] then return redis.error_reply('LOST crawl state') end
if redis.call('SISMEMBER', KEYS[4], ARGV[1]) == 1 then return redis.error_reply('DEAD') end
if redis.call('HSETNX', KEYS[1], ARGV[2], ARGV[1]) == 0 then return 0 end
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[3])
return 1
"""
# KEYS: claims, claims:<w>; ARGV: worker, urls... Drops the worker's claims on these URLs.
_UNCLAIM = """
for i = 2, #ARGV do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[1] then redis.call('HDEL', KEYS[1], ARGV[i]) end
  redis.call('SREM', KEYS[2], ARGV[i])
end
return #ARGV - 1
"""
# KEYS: claims, claims:<dead w>; ARGV: dead worker. Drops a batch of a dead worker's claims.
_DROP_CLAIMS = """
local urls = redis.call('SPOP', KEYS[2], 1000)
for _, u in ipairs(urls) do
  if redis.call('HGET', KEYS[1], u) == ARGV[1] then redis.call('HDEL', KEYS[1], u) end
end
return #urls
"""
# KEYS: origins:<dead w> (a set) or inflight:<dead w> (a hash), queue; ARGV: "set" or "hash",
# then (origin, score, member)... Moves each origin the dead worker still holds to the queue as
# a new request, once (SREM / HDEL decides), atomically.
_REQUEUE = """
local moved = 0
local take = ARGV[1] == 'set' and 'SREM' or 'HDEL'
for i = 2, #ARGV, 3 do
  if redis.call(take, KEYS[1], ARGV[i]) == 1 and ARGV[i + 2] ~= '' then
    redis.call('ZADD', KEYS[2], ARGV[i + 1], ARGV[i + 2])
    moved = moved + 1
  end
end
return moved
"""


class LeaseLost(ReservationCrawlerError):
    """This worker was declared dead, or Redis lost the crawl's state: its output is void."""


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


def _translate(exc: redis.ResponseError) -> Exception:
    message = str(exc)
    if message.startswith(("DEAD", "LOST")):
        return LeaseLost(message)
    return exc


class Frontier:
    """This worker's view of the crawl's shared state (one per crawler: ``frontier_for``)."""

    def __init__(
        self, client: Any, prefix: str, *, worker: str, lease_seconds: float, epoch: str
    ) -> None:
        self.client: Any = client  # redis.Redis (bytes); scrapy-redis has no cluster client
        self.prefix = prefix
        self.worker = worker
        self.lease_ms = int(lease_seconds * 1000)
        self.epoch = epoch
        self.queue = prefix + ":requests"
        self.workers = prefix + ":workers"
        self.idle = prefix + ":idle"
        self.dead = prefix + ":dead"
        self.finished = prefix + ":finished"
        self.claims = prefix + ":claims"
        self.lock = prefix + ":lock"
        self.epoch_key = prefix + ":epoch"
        self._pop = client.register_script(_POP)
        self._heartbeat = client.register_script(_HEARTBEAT)
        self._expire = client.register_script(_EXPIRE)
        self._claim = client.register_script(_CLAIM)
        self._unclaim = client.register_script(_UNCLAIM)
        self._drop_claims = client.register_script(_DROP_CLAIMS)
        self._requeue = client.register_script(_REQUEUE)
        self._release = client.register_script(_RELEASE)
        # Origins (and the URLs this worker may have claimed for them) to crawl again once
        # Redis answers: what a failed push, claim or store would otherwise have lost.
        self.lost: dict[str, set[str]] = {}
        self.live_workers = 1

    def origins_of(self, worker: str) -> str:
        """The origins of the records ``worker`` claimed (a set)."""
        return f"{self.prefix}:origins:{worker}"

    def inflight_of(self, worker: str) -> str:
        """The origins ``worker`` holds a lease on: origin -> requests in flight (a hash)."""
        return f"{self.prefix}:inflight:{worker}"

    def claims_of(self, worker: str) -> str:
        return f"{self.prefix}:claims:{worker}"

    def _call(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            return script(keys=keys, args=args)
        except redis.ResponseError as exc:
            raise _translate(exc) from exc

    # -- this worker

    def join(self) -> None:
        """Adopt the crawl's epoch (the first worker sets it): if Redis ever loses the crawl's
        keys, the epoch goes with them and every worker's next call says so."""
        self.client.set(self.epoch_key, self.epoch, nx=True)
        self.epoch = (self.client.get(self.epoch_key) or b"").decode()
        self.heartbeat()

    def heartbeat(self) -> None:
        """Extend this worker's lease (registers it the first time)."""
        keys = [self.workers, self.dead, self.epoch_key]
        args = [self.worker, self.lease_ms, self.epoch]
        self.live_workers = int(self._call(self._heartbeat, keys, args))

    def pop(self) -> bytes | None:
        """The next request (serialized) and a lease on its origin, or None."""
        keys = [
            self.queue,
            self.idle,
            self.inflight_of(self.worker),
            self.dead,
            self.epoch_key,
            self.workers,
        ]
        member = self._call(self._pop, keys, [self.worker, self.epoch, self.lease_ms])
        if not member:
            return None
        return bytes(member).split(_SEP, 1)[1]

    def release(self, origin: str, entry: tuple[float, bytes] | None = None) -> None:
        """Give up the lease on one request of ``origin``, pushing ``entry`` (the request that
        continues the origin's chain) in the same step."""
        args: list[Any] = [origin, *(entry or ())]
        self._release(keys=[self.inflight_of(self.worker), self.queue], args=args)

    def claim(self, url: str, origin: str) -> bool:
        """True when this worker is the one to write ``url``'s record."""
        keys = [
            self.claims,
            self.claims_of(self.worker),
            self.origins_of(self.worker),
            self.dead,
            self.epoch_key,
        ]
        return bool(self._call(self._claim, keys, [self.worker, url, origin, self.epoch]))

    def remember_lost(self, origin: str, url: str | None = None) -> None:
        urls = self.lost.setdefault(origin, set())
        if url is not None:
            urls.add(url)

    def set_idle(self, idle: bool) -> None:
        (self.client.sadd if idle else self.client.srem)(self.idle, self.worker)

    def finish(self) -> None:
        """This worker finished cleanly: its claims stay valid, it holds no lease any more."""
        pipe = self.client.pipeline(transaction=True)
        pipe.zrem(self.workers, self.worker)
        pipe.srem(self.idle, self.worker)
        pipe.sadd(self.finished, self.worker)
        pipe.delete(self.origins_of(self.worker), self.inflight_of(self.worker))
        pipe.execute()

    def wait_for_others(self, poll: float) -> list[str]:
        """After this worker finished: wait until no other worker is live (each finished, or
        declared dead); the dead ones that still hold work (their sites must be crawled again
        by a worker that runs the same command: it reaps them)."""
        while True:
            self.expire_workers()
            if not self.client.zcard(self.workers):
                return self.dead_with_work()
            time.sleep(poll)

    def abandon(self) -> None:
        """This worker stops without finishing: let the others reap it at once."""
        self.client.zadd(self.workers, {self.worker: 0})

    # -- requests

    @staticmethod
    def member(origin: str, data: bytes) -> bytes:
        return origin.encode() + _SEP + data

    def push_many(self, entries: Iterable[tuple[float, bytes]]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for score, member in entries:
            pipe.zadd(self.queue, {member: score})
        pipe.execute()

    def requeue_lost(self, encode: Any) -> int:
        """Crawl again the origins whose request, claim or store failed (Redis was down)."""
        if not self.lost:
            return 0
        lost = dict(self.lost)
        for urls in lost.values():
            if urls:
                keys = [self.claims, self.claims_of(self.worker)]
                self._call(self._unclaim, keys, [self.worker, *sorted(urls)])
        self.push_many(encode(origin) for origin in lost)
        for origin in lost:
            self.lost.pop(origin, None)
        return len(lost)

    # -- other workers

    def expire_workers(self) -> list[str]:
        found = self._expire(keys=[self.workers, self.dead, self.idle])
        return [w.decode() if isinstance(w, bytes) else str(w) for w in found]

    def dead_with_work(self) -> list[str]:
        dead = [w.decode() for w in self.client.smembers(self.dead)]
        if not dead:
            return []
        pipe = self.client.pipeline(transaction=False)
        for worker in dead:
            pipe.exists(self.claims_of(worker), self.origins_of(worker), self.inflight_of(worker))
        return [w for w, n in zip(dead, pipe.execute(), strict=True) if n]

    def reap(self, worker: str, encode: Any) -> int:
        """Void a dead worker's claims, then queue every origin it held again (crash-safe:
        each step is atomic and a later reaper continues where this one stopped)."""
        while self._drop_claims(keys=[self.claims, self.claims_of(worker)], args=[worker]):
            pass
        moved = 0
        for kind, key in (("set", self.origins_of(worker)), ("hash", self.inflight_of(worker))):
            while True:
                if kind == "set":
                    found = self.client.srandmember(key, _BATCH) or []
                else:
                    found = self.client.hkeys(key)[:_BATCH]
                if not found:
                    break
                args: list[Any] = [kind]
                for origin in (o.decode() for o in found):
                    score, member = encode(origin)
                    args += [origin, score, member]
                moved += int(self._requeue(keys=[key, self.queue], args=args))
        return moved

    def live_workers_busy(self) -> bool:
        """Whether a live worker is not idle (it may still push requests)."""
        pipe = self.client.pipeline(transaction=False)
        pipe.zrange(self.workers, 0, -1)
        pipe.smembers(self.idle)
        live, idle = pipe.execute()
        return bool(set(live) - set(idle))

    def unclaimed(self, urls: list[str]) -> list[str]:
        """The URLs no worker has claimed."""
        missing: list[str] = []
        for start in range(0, len(urls), _BATCH):
            chunk = urls[start : start + _BATCH]
            found = self.client.hmget(self.claims, chunk)
            missing += [url for url, owner in zip(chunk, found, strict=True) if owner is None]
        return missing

    def acquire_lock(self) -> bool:
        return bool(self.client.set(self.lock, self.worker, nx=True, px=self.lease_ms))

    def release_lock(self) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.watch(self.lock)
        try:
            if pipe.get(self.lock) == self.worker.encode():
                pipe.multi()
                pipe.delete(self.lock)
                pipe.execute()
        except redis.WatchError:
            pass
        finally:
            pipe.reset()


def frontier_for(crawler: Crawler) -> Frontier | None:
    """The crawler's frontier (created once), or None without ``RC_DISTRIBUTED``."""
    frontier = getattr(crawler, _ATTR, None)
    if frontier is None:
        settings = crawler.settings
        if not settings.getbool("RC_DISTRIBUTED"):
            return None
        client = cache.connect(settings.get("REDIS_URL"))
        frontier = Frontier(
            client,
            settings.get("RC_CRAWL_KEY"),
            worker=settings.get("RC_WORKER_ID") or default_worker_id(),
            lease_seconds=settings.getfloat("RC_LEASE_SECONDS", DEFAULT_LEASE_SECONDS),
            epoch=secrets.token_hex(8),
        )
        setattr(crawler, _ATTR, frontier)
    return frontier


def _origin_of(request: Any) -> str:
    return str(request.meta[RC]["origin"])


class LeasedQueue(PriorityQueue):  # scrapy-redis is untyped (Any)
    """scrapy-redis' priority queue whose pop takes a lease on the request's origin."""

    def __init__(self, server: Any, spider: Any, key: str, serializer: Any = None) -> None:
        super().__init__(server, spider, key, serializer)
        frontier = frontier_for(spider.crawler)
        assert frontier is not None, "LeasedQueue needs RC_DISTRIBUTED"
        self.frontier = frontier

    def encode(self, request: Any) -> tuple[float, bytes]:
        member = self.frontier.member(_origin_of(request), self._encode_request(request))
        return -request.priority, member

    def push(self, request: Any) -> None:
        entry = self.encode(request)
        origin = request.meta.pop(LEASE, None)
        if origin is not None:  # continues a leased request (or retries it): release it
            self.frontier.release(origin, entry)
        else:
            self.server.execute_command("ZADD", self.key, *entry)

    def pop(self, timeout: int = 0) -> Any:
        data = self.frontier.pop()
        if data is None:
            return None
        request = self._decode_request(data)
        request.meta[LEASE] = _origin_of(request)
        return request


class LeasedScheduler(Scheduler):
    """scrapy-redis' scheduler that loses no request when Redis fails: a request that cannot
    be pushed is remembered (its origin is crawled again once Redis answers), and a pop that
    fails is an empty frontier for now."""

    def enqueue_request(self, request: Any) -> bool:
        try:
            return bool(super().enqueue_request(request))
        except Exception as exc:  # Redis failed (or a bug): the origin is crawled again later
            frontier = frontier_for(self.spider.crawler)
            assert frontier is not None
            frontier.remember_lost(_origin_of(request))
            if not isinstance(exc, redis.RedisError):
                logger.exception("distributed crawl: pushing %s failed", request.url)
            _redis_failed(self.stats, "push", exc)
            return True  # kept (for later), not filtered

    _length = 0

    def __len__(self) -> int:
        """The shared frontier's length (the last one known while Redis does not answer)."""
        try:
            self._length = len(self.queue)
        except redis.RedisError as exc:
            _redis_failed(self.stats, "length", exc)
        return self._length

    def has_pending_requests(self) -> bool:
        """While Redis does not answer, there may be requests: the worker is not idle."""
        try:
            return len(self.queue) > 0
        except redis.RedisError:
            return True

    def next_request(self) -> Any:
        try:
            return super().next_request()
        except LeaseLost:
            return None  # the heartbeat stops the crawl
        except redis.RedisError as exc:
            _redis_failed(self.stats, "pop", exc)
            return None


_warned: set[str] = set()


def _redis_failed(stats: Any, what: str, exc: Exception) -> None:
    if stats is not None:
        stats.inc_value(f"reservation/distributed/redis_errors/{what}")
    if what not in _warned:
        _warned.add(what)
        logger.error("distributed crawl: Redis failed (%s): %s; nothing is dropped", what, exc)


class WorkerLease:
    """The extension that keeps this worker's lease, reaps dead workers, reconciles at the end,
    and stops the worker when its lease was lost."""

    def __init__(self, crawler: Crawler, frontier: Frontier) -> None:
        self.crawler = crawler
        self.frontier = frontier
        self.stats = crawler.stats
        self.interval = max(frontier.lease_ms / 3000, 0.2)
        self._timer: task.LoopingCall | None = None
        self._poll: task.LoopingCall | None = None
        self._checked = float("-inf")
        self._complete_since: float | None = None
        self.lost_lease: str | None = None
        crawler.signals.connect(self._opened, signal=signals.spider_opened)
        crawler.signals.connect(self._idle, signal=signals.spider_idle)
        crawler.signals.connect(self._closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WorkerLease:
        frontier = frontier_for(crawler)
        if frontier is None:
            raise NotConfigured
        return cls(crawler, frontier)

    def _opened(self, spider: Any = None) -> None:
        self.frontier.join()  # registers before the first pop
        self.stats.set_value("reservation/distributed/worker", self.frontier.worker)
        self._timer = task.LoopingCall(self.beat)
        self._timer.start(self.interval, now=False)
        self._poll = task.LoopingCall(self._poll_frontier)
        self._poll.start(POLL_SECONDS, now=False)

    def _poll_frontier(self) -> None:
        """Ask the engine for requests: an idle Scrapy engine looks at its scheduler only every
        5 s, while other workers keep filling the shared frontier."""
        slot = getattr(self.crawler.engine, "_slot", None)  # Scrapy internals, 2.13+
        nextcall = getattr(slot, "nextcall", None)
        if nextcall is not None:
            nextcall.schedule()

    def _encode_origin(self, origin: str) -> tuple[float, bytes]:
        """A new chain for ``origin``, ready for the queue; ``(0, b"")`` (dropped) for an
        origin this worker's target list does not have (workers given different targets
        under one --crawl-id: logged, counted)."""
        spider: Any = self.crawler.spider
        if origin not in spider.load_targets().by_origin:
            logger.error("distributed crawl: %s is not among this worker's targets", origin)
            self.stats.inc_value("reservation/distributed/unknown_origins")
            return 0.0, b""
        queue = self.crawler.engine.scheduler.queue  # type: ignore[union-attr]
        return queue.encode(spider.recrawl_request(origin))

    def beat(self) -> None:
        """Heartbeat, re-queue what a Redis failure held back, reap dead workers (never
        raises: a LoopingCall stops at its first exception)."""
        try:
            self.frontier.heartbeat()
            requeued = self.frontier.requeue_lost(self._encode_origin)
            if requeued:
                self.stats.inc_value("reservation/distributed/requeued_after_redis_error", requeued)
            self._reap()
        except LeaseLost as exc:
            self._lease_lost(exc)
        except redis.RedisError as exc:
            _redis_failed(self.stats, "heartbeat", exc)
        except Exception:
            logger.exception("distributed crawl: the heartbeat failed")

    def _reap(self) -> None:
        for worker in self.frontier.expire_workers():
            logger.warning("distributed crawl: worker %s stopped renewing its lease", worker)
        dead = self.frontier.dead_with_work()
        if not dead or not self.frontier.acquire_lock():
            return
        try:
            for worker in dead:
                moved = self.frontier.reap(worker, self._encode_origin)
                self.stats.inc_value("reservation/distributed/reaped_workers")
                self.stats.inc_value("reservation/distributed/recrawled_origins", moved)
                logger.warning(
                    "distributed crawl: worker %s is dead; its output is void and its %d "
                    "origins are crawled again",
                    worker,
                    moved,
                )
        finally:
            self.frontier.release_lock()

    def _lease_lost(self, exc: Exception) -> None:
        if self.lost_lease is not None:
            return
        self.lost_lease = str(exc)
        logger.error(
            "distributed crawl: this worker (%s) lost its lease (%s): it stops; its output "
            "stays .partial and the other workers crawl its origins again",
            self.frontier.worker,
            exc,
        )
        self.stats.set_value("reservation/distributed/lease_lost", str(exc))
        engine = self.crawler.engine
        if engine is not None:
            deferred_from_coro(engine.close_spider_async(reason=LEASE_LOST))

    def _idle(self, spider: Any = None) -> None:
        """The end of the crawl, for this worker: only once the whole crawl has been complete
        for longer than a lease (so that a worker killed while the others wait is declared dead,
        and its work redone, before anyone leaves)."""
        if self.lost_lease is not None:
            return  # closing
        now = time.monotonic()
        try:
            if now - self._checked >= self.interval:
                self._checked = now
                complete = self.complete()
                if complete is False:
                    self._complete_since = None
                elif complete and self._complete_since is None:
                    self._complete_since = now
        except LeaseLost as exc:
            self._lease_lost(exc)
            return
        except redis.RedisError as exc:
            _redis_failed(self.stats, "reconcile", exc)
            self._complete_since = None
            raise DontCloseSpider from exc
        settle = self.frontier.lease_ms / 1000 + 2 * self.interval
        if self._complete_since is None or now - self._complete_since < settle:
            raise DontCloseSpider

    def complete(self) -> bool | None:
        """Reconciliation: True when nothing is queued, no live worker is busy, no dead worker
        holds work, and every target URL has a claimed record; else re-enqueues what is
        missing (under the crawl's lock, one worker at a time) and returns False; None when
        another worker holds the lock."""
        frontier = self.frontier
        frontier.set_idle(True)
        if frontier.lost:
            return False
        self.beat()
        if frontier.client.zcard(frontier.queue) or frontier.live_workers_busy():
            return False
        if frontier.dead_with_work():
            return False
        if not frontier.acquire_lock():
            return None
        try:
            self.stats.inc_value("reservation/distributed/reconciliations")
            targets = self.crawler.spider.load_targets()  # type: ignore[union-attr]
            urls = [url for found in targets.by_origin.values() for url in found]
            missing = frontier.unclaimed(urls)
            if not missing:
                logger.info("reconciliation: all %d target URLs have a record", len(urls))
                return True
            origin_of = {u: o for o, found in targets.by_origin.items() for u in found}
            origins = sorted({origin_of[url] for url in missing})
            logger.warning(
                "reconciliation: %d target URLs of %d sites have no record; crawling them again",
                len(missing),
                len(origins),
            )
            frontier.push_many(self._encode_origin(origin) for origin in origins)
            self.stats.inc_value("reservation/distributed/reconciled_origins", len(origins))
            return False
        finally:
            frontier.release_lock()

    def _closed(self, spider: Any = None, reason: str = "") -> None:
        for timer in (self._timer, self._poll):
            if timer is not None and timer.running:
                timer.stop()


class LeasedOutput:
    """What a leased request's callback yields, made exactly-once: a record is kept (for the
    dataset, and stored in Redis at once) only by the worker that claims its URL first; the
    request that continues the origin's chain releases the lease when it is pushed, else the
    lease is released once the callback is done. A failure to claim or store is remembered and
    the origin crawled again."""

    def __init__(self, crawler: Crawler, frontier: Frontier, store: cache.ReservationCache):
        self.crawler = crawler
        self.frontier = frontier
        self.store = store

    def filter(self, request: Any, outputs: Iterable[Any]) -> Iterator[Any]:
        origin = request.meta.get(LEASE)
        try:
            for output in outputs:
                if isinstance(output, RecordItem):
                    if self._claimed(output):
                        yield output
                    continue
                if origin is not None and isinstance(output, Request):
                    output.meta[LEASE] = origin  # released when pushed
                    origin = None
                yield output
        finally:
            if origin is not None:
                try:
                    self.frontier.release(origin)
                except redis.RedisError as exc:  # held until this worker ends: nothing lost
                    _redis_failed(self.crawler.stats, "release", exc)

    def _claimed(self, item: RecordItem) -> bool:
        url, origin = item["url"], item["origin"]
        stats = self.crawler.stats
        try:
            if not self.frontier.claim(url, origin):
                stats.inc_value("reservation/records/claimed_by_another_worker")
                return False
            if not refused(item):  # RedisPipeline's rule: not stored when our guard refused
                self.store.put_record(
                    url, item, failed=record_failed(item), fetched_at=item.get("fetched_at")
                )
        except LeaseLost:
            return False  # this worker's output is void; the heartbeat stops it
        except (redis.RedisError, CacheUnavailable) as exc:
            self.frontier.remember_lost(origin, url)
            _redis_failed(stats, "claim", exc)
            return False
        return True


def leased_output_for(crawler: Crawler) -> LeasedOutput | None:
    """The distributed crawl's output filter, or None without ``RC_DISTRIBUTED``."""
    frontier = frontier_for(crawler)
    if frontier is None:
        return None
    settings = crawler.settings
    store = cache.ReservationCache(
        frontier.client,
        ttl=settings.getfloat("RC_TTL", cache.DEFAULT_TTL),
        failure_ttl=settings.getfloat("RC_FAILURE_TTL", cache.DEFAULT_FAILURE_TTL),
    )
    return LeasedOutput(crawler, frontier, store)


def partial_path(output: str) -> str:
    """Where a worker writes its dataset until it finishes cleanly."""
    return output + ".partial"
