"""The cache service, written once as async in ``_async.py``; ``_sync.py`` is generated from
it by ``scripts/unasync.py`` (``--check`` in ``scripts/test.sh``). Docstrings serve both."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

import redis

from reservation_crawler.drivers.cache._core import (
    RECORD_PREFIX,
    AsyncCluster,
    AsyncLock,
    AsyncPipeline,
    AsyncRedis,
    CacheEntry,
    CacheMeta,
    Payload,
    When,
    _CacheBase,
    _decode_or_none,
    _fresh_raw,
    _translate,
    _translated_async,
    _Write,
    connect_async,
    logger,
    policy_key,
)

__all__ = ["AsyncReservationCache"]


class AsyncReservationCache(_CacheBase):
    """Policies and records in Redis, with TTLs, pipelining and a per-origin fetch lock.

    ``ttl``: freshness of a successful fetch (RFC 9309 §2.4: 24 h); ``failure_ttl``: how soon a
    failure is retried; ``stale_ttl``: how long a policy's last good copy is kept after that;
    ``lock_timeout`` / ``lock_wait``: the fetch lock's life and how long others wait for it;
    ``index``: also maintain the ``rc:v1:policies`` / ``rc:v1:records`` zsets (for counts);
    by default on a single server, not on a Redis Cluster.
    Every Redis error comes out as :class:`CacheUnavailable`.
    """

    client: AsyncRedis

    @classmethod
    async def connect(cls, url: str | None = None, **settings: Any) -> AsyncReservationCache:
        """A cache on :func:`connect`'s server (``url``, ``REDIS_URL`` or the embedded one)."""
        return cls(await connect_async(url), **settings)

    async def aclose(self) -> None:
        await self.client.aclose()

    # -- policies

    async def put_policy(
        self,
        origin: str,
        data: Payload,
        *,
        failed: bool = False,
        fetched_at: When = None,
        pipe: AsyncPipeline | None = None,
    ) -> CacheMeta:
        """Store an origin's policy (``OriginPolicy.to_json()``, or its JSON bytes as they are).

        Fresh for ``ttl`` from ``fetched_at`` (failures: ``failure_ttl`` from now); nothing is
        written when ``fetched_at`` is already older than the TTL. Returns the metadata stored.
        """
        meta, write = self._policy_write(origin, data, failed, fetched_at)
        await self._send(write, pipe)
        return meta

    async def keep_stale_policy(
        self, origin: str, entry: CacheEntry, *, pipe: AsyncPipeline | None = None
    ) -> CacheMeta:
        """After a failed refetch: keep the last good copy, marked failed + stale, retried soon.

        Its ``fetched_at`` stays that of the copy, so readers see its true age.
        """
        meta, write = self._policy_write(origin, entry.data, True, entry.fetched_at, stale=True)
        await self._send(write, pipe)
        return meta

    @_translated_async
    async def get_policy_raw(self, origin: str, *, stale: bool = False) -> bytes | None:
        """The stored bytes (JSON with its ``_cache`` member); with ``stale``, also a kept copy
        past its expiry."""
        # Our clients never decode responses: a value is bytes (redis-py types allow str too).
        raw = cast("bytes | None", await self.client.get(policy_key(origin)))
        return _fresh_raw(raw, stale=stale)

    @_translated_async
    async def get_policies_raw(
        self, origins: Sequence[str], *, stale: bool = False
    ) -> list[bytes | None]:
        """Many policies in one round trip (MGET), in the order asked; on a cluster, one MGET
        per slot, pipelined to each node."""
        values = await self._get_many([policy_key(o) for o in origins])
        return [_fresh_raw(v, stale=stale) for v in values]

    # -- records

    async def put_record(
        self,
        url: str,
        data: Payload,
        *,
        failed: bool = False,
        fetched_at: When = None,
        pipe: AsyncPipeline | None = None,
    ) -> CacheMeta:
        """Store a URL's record (``ReservationRecord.to_json()``, or its JSON bytes)."""
        meta, write = self._record_write(url, data, failed, fetched_at)
        await self._send(write, pipe)
        return meta

    def iter_records(self, *, batch_size: int = 500) -> AsyncIterator[CacheEntry]:
        """Every cached record: SCAN + MGET, streaming, in no order (a key may come twice)."""
        return self._iter(RECORD_PREFIX, batch_size, stale=False)

    async def _iter(
        self, prefix: str, batch_size: int, *, stale: bool
    ) -> AsyncIterator[CacheEntry]:
        try:
            # scan_iter: one server's cursor, or every primary's in turn on a cluster.
            keys: list[bytes] = []
            async for key in self.client.scan_iter(match=prefix + "*", count=batch_size):
                keys.append(key)
                if len(keys) >= batch_size:
                    for entry in await self._decode_many(keys, stale=stale):
                        yield entry
                    keys = []
            for entry in await self._decode_many(keys, stale=stale):
                yield entry
        except redis.RedisError as exc:
            raise _translate(exc, self.where) from exc

    async def _decode_many(self, keys: list[bytes], *, stale: bool) -> list[CacheEntry]:
        values = await self._get_many(keys)
        entries = (
            _decode_or_none(key.decode("utf-8", "replace"), raw, stale=stale)
            for key, raw in zip(keys, values, strict=True)
        )
        return [entry for entry in entries if entry is not None]

    # -- plumbing

    async def _get_many(self, keys: Sequence[Any]) -> list[bytes | None]:
        if not keys:
            return []
        if self.cluster:  # MGET cannot span slots
            values = await cast(AsyncCluster, self.client).mget_nonatomic(keys)
        else:
            values = await self.client.mget(keys)
        return cast("list[bytes | None]", values)  # never decoded: bytes or None

    @_translated_async
    async def ping(self) -> None:
        await self.client.ping()

    @contextlib.asynccontextmanager
    async def pipeline(self) -> AsyncIterator[AsyncPipeline]:
        """Queue writes (pass it as ``pipe=``); sent in one round trip when the block ends."""
        pipe = self.client.pipeline(transaction=False)
        try:
            yield pipe
            await pipe.execute()
        except redis.RedisError as exc:
            raise _translate(exc, self.where) from exc
        finally:
            await pipe.reset()

    @_translated_async
    async def _send(self, write: _Write | None, pipe: AsyncPipeline | None) -> None:
        if write is None:
            return
        if pipe is not None:
            self._queue(pipe, write)
        elif not self.index:
            await self.client.set(write.key, write.value, px=write.px)
        else:
            own = self.client.pipeline(transaction=False)
            self._queue(own, write)
            await own.execute()

    # -- the fetch lock

    @contextlib.asynccontextmanager
    async def origin_lock(
        self, origin: str, *, timeout: float | None = None, wait: float | None = None
    ) -> AsyncIterator[bool]:
        """Hold ``rc:v1:lock:{<origin>}`` (SET NX PX + token) while fetching its policy files.

        Yields True when held; False when ``wait`` seconds passed first (the caller may fetch
        anyway: a duplicate fetch is harmless). The lock expires after ``timeout`` seconds if its
        holder dies; releasing a lock that expired meanwhile is only logged.
        """
        lock = AsyncLock(self.client, **self._lock_args(origin, timeout))
        try:
            held = await lock.acquire(blocking_timeout=self.lock_wait if wait is None else wait)
        except redis.RedisError as exc:
            raise _translate(exc, self.where) from exc
        try:
            yield held
        finally:
            if held:
                await self._release(lock, origin)

    async def _release(self, lock: AsyncLock, origin: str) -> None:
        try:
            await lock.release()
        except redis.exceptions.LockError:
            logger.warning("fetch lock of %s expired before its holder released it", origin)
        except redis.RedisError as exc:
            raise _translate(exc, self.where) from exc
