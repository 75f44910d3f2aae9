"""The one fetcher: httpx with capped bodies, a total deadline, checked redirects, an address guard.

It reports facts (status, headers, body, what went wrong) and interprets no protocol: the policy
layer turns a :class:`FetchResult` into "absent", "unreachable" and so on. :class:`Fetcher` and
:class:`AsyncFetcher` are thin I/O shells around one base holding everything else (URL checks,
the redirect policy, body limits, error classification). See ``docs/fetch.md``.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import functools
import hashlib
import ipaddress
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from types import TracebackType
from typing import Any, Self

import anyio
import httpcore
import httpx

from reservation_crawler._version import PRODUCT_TOKEN, USER_AGENT
from reservation_crawler.errors import ConfigError, InvalidOrigin

try:  # brotli ships with Scrapy; it is only used when it can bound its output (brotli >= 1.2).
    import brotli

    brotli.Decompressor().process(b"", output_buffer_limit=1)
except (ImportError, TypeError, AttributeError):  # pragma: no cover - depends on the install
    brotli = None

__all__ = [
    "ACCEPT_ENCODING",
    "FETCH_ERRORS",
    "PRODUCT_TOKEN",
    "USER_AGENT",
    "AddressGuard",
    "AsyncFetcher",
    "FetchLimits",
    "FetchResult",
    "Fetcher",
    "PolicyFetches",
    "classify_error",
    "is_blocked_address",
    "is_localhost_name",
    "is_public_address",
    "origin_of",
    "resolve_host",
]

FETCH_ERRORS = (
    "timeout",
    "connect",
    "dns",
    "tls",
    "reset",
    "too-many-redirects",
    "redirect-loop",
    "too-large",
    "decompression-bomb",
    "blocked-address",
    "invalid-url",
    "protocol",
)

# Only codings we can decode with a bound on the output size (see BodyReader).
ACCEPT_ENCODING = "gzip, deflate, br" if brotli is not None else "gzip, deflate"

# An over-cap compressed body is a bomb when it inflates by at least this factor. Zeros compress
# about 1,000:1 with gzip (far more with brotli); the most repetitive of the real robots.txt files
# we measured compresses 69:1, so 200 leaves a margin both ways.
BOMB_RATIO = 200
# An over-cap body whose Content-Length announces more than this many times the cap is reported
# as "too-large" (a plain over-cap body is only truncated: RFC 9309 §2.5 parses the first 500 KiB).
TOO_LARGE_FACTOR = 10

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
LOOPBACK = "127.0.0.1"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-._")
_BROTLI_SLICE = 1024  # brotli hides how much input it consumed; feed it this much at a time

# --------------------------------------------------------------------------------------------
# Results and limits


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one fetch (following redirects) observed.

    ``redirects`` holds the URLs that answered with a redirect we followed, in order, so the whole
    chain is ``redirects + (final_url,)``; ``status``, ``headers`` and ``body`` are those of
    ``final_url`` (``status`` is None when no response came from it).
    """

    url: str
    final_url: str
    status: int | None
    headers: tuple[tuple[str, str], ...]
    body: bytes
    content_type: str | None
    error: str | None
    error_detail: str | None
    truncated: bool
    redirects: tuple[str, ...]
    elapsed_ms: float

    @property
    def sha256(self) -> str | None:
        """Hex SHA-256 of the body; None when no response was obtained."""
        if self.status is None:
            return None
        return hashlib.sha256(self.body).hexdigest()

    @property
    def ok(self) -> bool:
        """A 2xx response read without error (a truncated body still counts)."""
        return self.error is None and self.status is not None and 200 <= self.status < 300

    def header(self, name: str) -> str | None:
        """The first value of a header (case-insensitive name), or None."""
        folded = name.lower()
        for key, value in self.headers:
            if key.lower() == folded:
                return value
        return None


@dataclass(frozen=True, slots=True)
class FetchLimits:
    timeout: float = 10.0  # per fetch, total wall-clock, all redirect hops included
    max_redirects: int = 5  # RFC 9309 §2.3.1.2: follow at least 5
    max_bytes: int = 2_000_000  # decompressed cap
    robots_max_bytes: int = 600_000  # >= 512,000 (RFC 9309 §2.5: 500 KiB parse limit) + margin

    def __post_init__(self) -> None:
        if not self.timeout > 0:
            raise ConfigError(f"FetchLimits.timeout must be > 0, got {self.timeout!r}")
        if self.max_redirects < 0:
            raise ConfigError(f"FetchLimits.max_redirects must be >= 0, got {self.max_redirects}")
        if self.max_bytes < 1 or self.robots_max_bytes < 1:
            raise ConfigError("FetchLimits byte caps must be >= 1")


@dataclass(frozen=True, slots=True)
class PolicyFetches:
    """The three origin-level policy files of one origin, as fetched."""

    origin: str
    robots: FetchResult
    aitxt: FetchResult
    tdmrep: FetchResult


# --------------------------------------------------------------------------------------------
# URLs and origins


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of an http(s) URL, lower-cased, default port dropped.

    The host is in its ASCII (IDNA) form, IPv6 literals bracketed. Raises ``InvalidOrigin`` (a
    ``ValueError``) for anything that is not an http(s) URL with a host.
    """
    scheme, host, port = _split_authority(url)
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}" if port == _DEFAULT_PORTS[scheme] else f"{scheme}://{shown}:{port}"


def _split_authority(url: str) -> tuple[str, str, int]:
    """(scheme, ASCII host, port) of an http(s) URL, or InvalidOrigin."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise InvalidOrigin(f"not a valid URL: {url!r} ({exc})") from exc
    scheme = parsed.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise InvalidOrigin(f"not an http(s) URL: {url!r}")
    host = parsed.raw_host.decode("ascii").lower()
    if not host:
        raise InvalidOrigin(f"URL has no host: {url!r}")
    if _ip_literal(host) is None and not set(host) <= _HOST_CHARS:
        raise InvalidOrigin(f"invalid host name in {url!r}")
    port = parsed.port if parsed.port is not None else _DEFAULT_PORTS[scheme]
    if not 0 < port < 65536:
        raise InvalidOrigin(f"invalid port in {url!r}")
    return scheme, host, port


def url_key(url: httpx.URL) -> tuple[str, str, int, bytes]:
    """What makes two URLs the same resource for loop detection (fragment ignored)."""
    scheme = url.scheme.lower()
    port = url.port if url.port is not None else _DEFAULT_PORTS.get(scheme, 0)
    return scheme, url.raw_host.decode("ascii").lower(), port, url.raw_path


# --------------------------------------------------------------------------------------------
# Resolver (RFC 6761 §6.3) and address guard


def is_localhost_name(host: str) -> bool:
    """True for ``localhost`` and every ``*.localhost`` name (RFC 6761 §6.3), any case."""
    name = host.rstrip(".").lower()
    return name == "localhost" or name.endswith(".localhost")


def _ip_literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def _resolve_without_dns(host: str) -> list[str] | None:
    """The addresses of an IP literal or a ``*.localhost`` name; None when DNS is needed."""
    literal = _ip_literal(host)
    if literal is not None:
        return [literal]
    if is_localhost_name(host):
        # RFC 6761 §6.3: resolvers should answer every localhost name with loopback themselves;
        # glibc does not, so we do, without asking the system resolver.
        return [LOOPBACK]
    return None


def resolve_host(host: str) -> list[str]:
    """The IP addresses to connect to for ``host``, in resolver order, without duplicates.

    IP literals and ``*.localhost`` names are answered without I/O; other names go through
    ``socket.getaddrinfo`` (which raises ``socket.gaierror`` when they do not resolve).
    """
    known = _resolve_without_dns(host)
    if known is not None:
        return known
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


# The ranges the guard refuses, from the IANA IPv4 and IPv6 Special-Purpose Address Registries
# (RFC 6890; as of 2025, with RFC 9637's 3fff::/20 and RFC 9602's 5f00::/16) and the IPv6
# Address Space registry's multicast and deprecated site-local blocks (RFC 3879). Every entry is
# refused whatever the registry's "globally reachable" column says: none of them is a web
# origin, and Python's ipaddress flags lag the registries (fec0::/10 passed them).
SPECIAL_PURPOSE_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        # IPv4
        "0.0.0.0/8",  # "this network" (RFC 791)
        "10.0.0.0/8",  # private-use (RFC 1918)
        "100.64.0.0/10",  # shared address space, CGNAT (RFC 6598)
        "127.0.0.0/8",  # loopback (RFC 1122)
        "169.254.0.0/16",  # link local (RFC 3927); cloud metadata services live here
        "172.16.0.0/12",  # private-use (RFC 1918)
        "192.0.0.0/24",  # IETF protocol assignments (RFC 6890)
        "192.0.2.0/24",  # documentation, TEST-NET-1 (RFC 5737)
        "192.31.196.0/24",  # AS112-v4 (RFC 7535)
        "192.52.193.0/24",  # AMT (RFC 7450)
        "192.88.99.0/24",  # deprecated 6to4 relay anycast (RFC 7526)
        "192.168.0.0/16",  # private-use (RFC 1918)
        "192.175.48.0/24",  # direct delegation AS112 service (RFC 7534)
        "198.18.0.0/15",  # benchmarking (RFC 2544)
        "198.51.100.0/24",  # documentation, TEST-NET-2 (RFC 5737)
        "203.0.113.0/24",  # documentation, TEST-NET-3 (RFC 5737)
        "224.0.0.0/4",  # multicast (RFC 5771)
        "240.0.0.0/4",  # reserved (RFC 1112), includes 255.255.255.255 limited broadcast
        # IPv6
        "::/128",  # unspecified (RFC 4291)
        "::1/128",  # loopback (RFC 4291)
        "::ffff:0:0/96",  # IPv4-mapped (RFC 4291): checked as the IPv4 address, see below
        "64:ff9b:1::/48",  # local-use IPv4/IPv6 translation (RFC 8215)
        "100::/64",  # discard-only (RFC 6666)
        "100:0:0:1::/64",  # dummy IPv6 prefix (RFC 9780)
        "2001::/23",  # IETF protocol assignments (RFC 2928), includes Teredo 2001::/32
        "2001:db8::/32",  # documentation (RFC 3849)
        "2002::/16",  # 6to4 (RFC 3056)
        "2620:4f:8000::/48",  # direct delegation AS112 service (RFC 7534)
        "3fff::/20",  # documentation (RFC 9637)
        "5f00::/16",  # segment routing SIDs (RFC 9602)
        "fc00::/7",  # unique local (RFC 4193)
        "fe80::/10",  # link-local unicast (RFC 4291)
        "fec0::/10",  # site-local, deprecated (RFC 3879)
        "ff00::/8",  # multicast (RFC 4291)
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known NAT64 prefix (RFC 6052)


def is_blocked_address(address: str) -> bool:
    """True when ``address`` is not a public unicast address (SSRF guard).

    Blocked: every range of ``SPECIAL_PURPOSE_NETWORKS`` and whatever Python's ``ipaddress``
    does not call global; IPv4 embedded in IPv4-mapped and NAT64 IPv6 addresses is
    checked as IPv4 (6to4, deprecated, is refused whole). Anything that does not parse as an IP
    address is blocked too.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d is a.b.c.d on the wire
            return is_blocked_address(str(ip.ipv4_mapped))
        if ip in _NAT64:  # a NAT64 gateway forwards to the embedded IPv4 address
            return is_blocked_address(str(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)))
    if any(ip in network for network in SPECIAL_PURPOSE_NETWORKS):
        return True
    return (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def is_public_address(address: str) -> bool:
    """The guard's default verdict: True only for public unicast addresses."""
    return not is_blocked_address(address)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class AddressGuard:
    """Which resolved addresses the fetcher may connect to.

    By default only public addresses (:func:`is_blocked_address`). ``allow_private`` lifts the
    guard (tests, the fixture web, ``serve --allow-private``); ``allowed_networks`` exempts a
    few networks only (e.g. one internal mirror, or in tests 127.0.0.1 but not 127.0.0.2).
    """

    allow_private: bool = False
    allowed_networks: tuple[Network | str, ...] = ()  # strings are parsed into networks

    def __post_init__(self) -> None:
        try:
            networks = tuple(ipaddress.ip_network(n) for n in self.allowed_networks)
        except ValueError as exc:
            raise ConfigError(f"invalid network in allowed_networks: {exc}") from exc
        object.__setattr__(self, "allowed_networks", networks)

    def blocks(self, address: str) -> bool:
        if self.allow_private:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return True
        if any(ip in network for network in self.allowed_networks):
            return False
        return is_blocked_address(address)


class _BlockedAddress(Exception):
    """Raised inside the connection layer; becomes ``error="blocked-address"``."""


class _ResolveError(Exception):
    """Raised inside the connection layer; becomes ``error="dns"``."""


def _usable_addresses(host: str, addresses: list[str], guard: AddressGuard) -> list[str]:
    if not addresses:
        raise _ResolveError(f"{host} has no address")
    usable = [address for address in addresses if not guard.blocks(address)]
    if not usable:
        raise _BlockedAddress(f"{host} resolves to {', '.join(addresses)}, which is not public")
    return usable


# --------------------------------------------------------------------------------------------
# Total deadline. httpx bounds each connect / read / write, not the whole request: a server that
# sends one byte per second never trips a read timeout. Every socket operation below clamps its
# timeout to the time left before the fetch's deadline, held in a context variable so pooled
# connections (shared between fetches) always see the deadline of the fetch using them.

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "reservation_crawler_fetch_deadline", default=None
)


def _remaining() -> float | None:
    deadline = _DEADLINE.get()
    return None if deadline is None else deadline - time.monotonic()


def _clamp(timeout: float | None, timeout_error: type[Exception]) -> float | None:
    remaining = _remaining()
    if remaining is None:
        return timeout
    if remaining <= 0:
        raise timeout_error("total time limit of the fetch exceeded")
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _clamp(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _AsyncDeadlineStream(httpcore.AsyncNetworkStream):
    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._stream.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._stream.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        timeout = _clamp(timeout, httpcore.ConnectTimeout)
        stream = await self._stream.start_tls(ssl_context, server_hostname, timeout)
        return _AsyncDeadlineStream(stream)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


# --------------------------------------------------------------------------------------------
# Network backends: resolve (with *.localhost), check the addresses, connect to the checked
# address itself (no second lookup, so no DNS-rebinding gap). TLS still verifies and sends SNI
# for the original name, and the Host header is untouched: only the socket address changes.

_dns_pool: concurrent.futures.ThreadPoolExecutor | None = None
_dns_pool_lock = threading.Lock()


def _dns_executor() -> concurrent.futures.ThreadPoolExecutor:
    global _dns_pool
    with _dns_pool_lock:
        if _dns_pool is None:
            _dns_pool = concurrent.futures.ThreadPoolExecutor(8, thread_name_prefix="rc-dns")
        return _dns_pool


def _resolve_sync(host: str) -> list[str]:
    known = _resolve_without_dns(host)
    if known is not None:
        return known
    # getaddrinfo has no timeout of its own; run it aside so the deadline holds.
    future = _dns_executor().submit(resolve_host, host)
    try:
        return future.result(timeout=_clamp(None, httpcore.ConnectTimeout))
    except concurrent.futures.TimeoutError as exc:
        raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
    except (OSError, UnicodeError) as exc:
        raise _ResolveError(f"{host}: {exc}") from exc


async def _resolve_async(host: str) -> list[str]:
    known = _resolve_without_dns(host)
    if known is not None:
        return known
    remaining = _clamp(None, httpcore.ConnectTimeout)
    try:
        with anyio.fail_after(remaining):
            return await anyio.to_thread.run_sync(resolve_host, host, abandon_on_cancel=True)
    except TimeoutError as exc:
        raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
    except (OSError, UnicodeError) as exc:
        raise _ResolveError(f"{host}: {exc}") from exc


class _GuardedBackend(httpcore.NetworkBackend):
    def __init__(self, guard: AddressGuard, inner: httpcore.NetworkBackend | None = None) -> None:
        self._guard = guard
        self._inner = inner if inner is not None else httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = _usable_addresses(host, _resolve_sync(host), self._guard)
        failure: Exception | None = None
        for address in addresses:
            try:
                stream = self._inner.connect_tcp(
                    address,
                    port,
                    timeout=_clamp(timeout, httpcore.ConnectTimeout),
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:  # try the next address; timeouts end the fetch
                failure = exc
                continue
            return _DeadlineStream(stream)
        assert failure is not None
        raise failure

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("the fetcher does not use unix sockets")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _AsyncGuardedBackend(httpcore.AsyncNetworkBackend):
    def __init__(
        self, guard: AddressGuard, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self._guard = guard
        self._inner = inner if inner is not None else httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = _usable_addresses(host, await _resolve_async(host), self._guard)
        failure: Exception | None = None
        for address in addresses:
            try:
                stream = await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=_clamp(timeout, httpcore.ConnectTimeout),
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                failure = exc
                continue
            return _AsyncDeadlineStream(stream)
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("the fetcher does not use unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@dataclass(frozen=True, slots=True)
class _PoolConfig:
    max_connections: int
    max_keepalive_connections: int
    keepalive_expiry: float

    def pool_kwargs(self, ssl_context: ssl.SSLContext) -> dict[str, Any]:
        return {
            "ssl_context": ssl_context,
            "max_connections": self.max_connections,
            "max_keepalive_connections": self.max_keepalive_connections,
            "keepalive_expiry": self.keepalive_expiry,
            "http1": True,
            "http2": False,
            "retries": 0,
        }


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One verifying context (certifi roots) shared by every fetcher: loading it takes ~40 ms."""
    return httpx.create_ssl_context(trust_env=False)


class _GuardedTransport(httpx.HTTPTransport):
    """httpx's own transport (request/response mapping, exception translation), whose pool uses
    our network backend: ``HTTPTransport`` accepts no resolver or backend argument."""

    def __init__(self, guard: AddressGuard, pool: _PoolConfig) -> None:
        ssl_context = _ssl_context()
        super().__init__(verify=ssl_context, trust_env=False)
        if not hasattr(self, "_pool"):  # pragma: no cover - guards against an httpx redesign
            raise RuntimeError("httpx.HTTPTransport no longer keeps its pool in _pool")
        self._pool = httpcore.ConnectionPool(
            network_backend=_GuardedBackend(guard), **pool.pool_kwargs(ssl_context)
        )


class _AsyncGuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, guard: AddressGuard, pool: _PoolConfig) -> None:
        ssl_context = _ssl_context()
        super().__init__(verify=ssl_context, trust_env=False)
        if not hasattr(self, "_pool"):  # pragma: no cover
            raise RuntimeError("httpx.AsyncHTTPTransport no longer keeps its pool in _pool")
        self._pool = httpcore.AsyncConnectionPool(
            network_backend=_AsyncGuardedBackend(guard), **pool.pool_kwargs(ssl_context)
        )


# --------------------------------------------------------------------------------------------
# Bodies: decoded by us from the raw stream so the decompressed size is bounded *while*
# decoding (httpx's decoders inflate a whole network chunk at once: 64 KiB of gzip is 64 MB).


class _DecodeError(Exception):
    pass


class _ZlibDecoder:
    """gzip, or deflate (zlib-wrapped, or raw as some servers send it)."""

    def __init__(self, coding: str) -> None:
        self._coding = coding
        self._wbits = zlib.MAX_WBITS | 16 if coding == "gzip" else zlib.MAX_WBITS
        self._obj = zlib.decompressobj(self._wbits)
        self._started = False

    def decode(self, data: bytes, limit: int) -> tuple[bytes, int]:
        """At most ``limit`` bytes of output, and how many input bytes were consumed."""
        try:
            out = self._obj.decompress(data, limit)
        except zlib.error as exc:
            if self._coding == "deflate" and not self._started:
                self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
                self._started = True
                return self.decode(data, limit)
            raise _DecodeError(f"corrupt {self._coding} body: {exc}") from exc
        self._started = True
        return out, len(data) - len(self._obj.unconsumed_tail)


class _BrotliDecoder:
    def __init__(self) -> None:
        assert brotli is not None
        self._obj = brotli.Decompressor()

    def decode(self, data: bytes, limit: int) -> tuple[bytes, int]:
        pieces: list[bytes] = []
        produced = consumed = 0
        view = memoryview(data)
        try:
            while consumed < len(data) and produced < limit:
                piece = view[consumed : consumed + _BROTLI_SLICE]
                pieces.append(self._obj.process(piece, output_buffer_limit=limit - produced))
                produced += len(pieces[-1])
                consumed += len(piece)
                while produced < limit and not self._obj.can_accept_more_data():
                    pieces.append(self._obj.process(b"", output_buffer_limit=limit - produced))
                    produced += len(pieces[-1])
        except brotli.error as exc:
            raise _DecodeError(f"corrupt br body: {exc}") from exc
        out = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        return out, consumed


def _decoder_for(content_encoding: str | None) -> _ZlibDecoder | _BrotliDecoder | None:
    """The decoder for a Content-Encoding value; None for identity; _DecodeError otherwise."""
    codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip() != ""]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return None
    if len(codings) == 1:
        coding = {"x-gzip": "gzip"}.get(codings[0], codings[0])
        if coding in ("gzip", "deflate"):
            return _ZlibDecoder(coding)
        if coding == "br" and brotli is not None:
            return _BrotliDecoder()
    raise _DecodeError(f"unsupported Content-Encoding: {content_encoding}")


class BodyReader:
    """Accumulates a decoded body up to ``cap`` bytes, then stops (``truncated``)."""

    def __init__(self, cap: int, content_encoding: str | None, content_length: str | None) -> None:
        self.cap = cap
        self.body = bytearray()
        self.truncated = False
        self.error: str | None = None
        self.detail: str | None = None
        self._raw_consumed = 0
        self._announced = _content_length(content_length)
        self._encoded = False
        try:
            self._decoder = _decoder_for(content_encoding)
            self._encoded = self._decoder is not None
        except _DecodeError as exc:
            self._decoder = None
            self.fail("protocol", str(exc))

    @property
    def done(self) -> bool:
        return self.truncated or self.error is not None

    def fail(self, code: str, detail: str) -> None:
        if self.error is None:
            self.error, self.detail = code, detail

    def feed(self, raw: bytes) -> bool:
        """Take one raw chunk; False once no more input is wanted."""
        if self.done:
            return False
        if self._decoder is None:
            self._raw_consumed += len(raw)
            self._append(raw)
            return not self.done
        try:
            out, consumed = self._decoder.decode(raw, self.cap - len(self.body) + 1)
        except _DecodeError as exc:
            self.fail("protocol", str(exc))
            return False
        self._raw_consumed += consumed
        self._append(out)
        return not self.done

    def _append(self, data: bytes) -> None:
        room = self.cap - len(self.body)
        if len(data) <= room:
            self.body += data
            return
        inflated = len(self.body) + len(data)
        self.body += memoryview(data)[:room]  # no copy of the part thrown away
        self.truncated = True
        if self._encoded and inflated >= BOMB_RATIO * max(self._raw_consumed, 1):
            self.fail(
                "decompression-bomb",
                f"more than {self.cap} bytes decompressed from {self._raw_consumed} "
                f"(ratio {inflated // max(self._raw_consumed, 1)}:1); stopped at the cap",
            )
        elif self._announced is not None and self._announced > TOO_LARGE_FACTOR * self.cap:
            self.fail(
                "too-large",
                f"Content-Length {self._announced} exceeds {TOO_LARGE_FACTOR} x the cap of "
                f"{self.cap} bytes; read the first {self.cap}",
            )


def _content_length(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def media_type(value: str | None) -> str | None:
    """``Text/HTML; charset=utf-8`` -> ``text/html``; None when absent or empty."""
    if value is None:
        return None
    media = value.split(";", 1)[0].strip().lower()
    return media or None


# --------------------------------------------------------------------------------------------
# Errors at the boundary


_FETCH_EXCEPTIONS: tuple[type[BaseException], ...] = (
    httpx.HTTPError,
    httpx.InvalidURL,
    _BlockedAddress,
    _ResolveError,
    OSError,
)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def classify_error(exc: BaseException) -> tuple[str, str]:
    """The ``FETCH_ERRORS`` code and a readable detail for an exception met while fetching."""
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, _BlockedAddress):
        return "blocked-address", detail
    if isinstance(exc, _ResolveError):
        return "dns", detail
    if isinstance(exc, httpx.TimeoutException):
        return "timeout", detail
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return "invalid-url", detail
    chain = list(_causes(exc))
    tls = next((c for c in chain if isinstance(c, ssl.SSLError | ssl.CertificateError)), None)
    if tls is not None:
        return "tls", str(tls) or detail
    if any(
        isinstance(c, ConnectionResetError | BrokenPipeError | ConnectionAbortedError)
        for c in chain
    ):
        return "reset", detail
    if isinstance(exc, httpx.ConnectError):
        return "connect", detail
    if isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.CloseError):
        return "reset", detail
    if isinstance(exc, httpx.RemoteProtocolError):
        # h11: "Server disconnected without sending a response." / "peer closed connection
        # without sending complete message body" are premature closes, not malformed HTTP.
        lowered = detail.lower()
        if "disconnected" in lowered or "peer closed" in lowered:
            return "reset", detail
        return "protocol", detail
    if isinstance(exc, socket.gaierror):
        return "dns", detail
    if isinstance(exc, OSError):
        return "connect", detail
    return "protocol", detail


# --------------------------------------------------------------------------------------------
# The shared, I/O-free part of both fetchers


@dataclass(slots=True)
class _Attempt:
    """The mutable state of one fetch while it runs."""

    url: str
    cap: int
    started: float
    deadline: float
    current: str
    redirects: list[str] = field(default_factory=list)

    def _elapsed_ms(self) -> float:
        return (time.monotonic() - self.started) * 1000.0

    def failed(self, code: str, detail: str) -> FetchResult:
        """No response from ``current``."""
        return FetchResult(
            url=self.url,
            final_url=self.current,
            status=None,
            headers=(),
            body=b"",
            content_type=None,
            error=code,
            error_detail=detail,
            truncated=False,
            redirects=tuple(self.redirects),
            elapsed_ms=self._elapsed_ms(),
        )

    def answered(
        self,
        response: httpx.Response,
        reader: BodyReader | None = None,
        error: tuple[str, str] | None = None,
    ) -> FetchResult:
        headers = tuple(
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in response.headers.raw
        )
        code, detail = error if error is not None else (None, None)
        if reader is not None and reader.error is not None and code is None:
            code, detail = reader.error, reader.detail
        return FetchResult(
            url=self.url,
            final_url=self.current,
            status=response.status_code,
            headers=headers,
            body=bytes(reader.body) if reader is not None else b"",
            content_type=media_type(response.headers.get("content-type")),
            error=code,
            error_detail=detail,
            truncated=reader.truncated if reader is not None else False,
            redirects=tuple(self.redirects),
            elapsed_ms=self._elapsed_ms(),
        )


_FOLLOW = object()


class _FetcherBase:
    """Everything both fetchers share that is not I/O."""

    def __init__(
        self,
        *,
        limits: FetchLimits,
        allow_private: bool,
        user_agent: str,
        guard: AddressGuard | None,
        max_connections: int,
        max_keepalive_connections: int,
        keepalive_expiry: float,
    ) -> None:
        if guard is not None and allow_private:
            raise ConfigError("give either allow_private or guard, not both")
        if max_connections < 1 or max_keepalive_connections < 0:
            raise ConfigError("max_connections must be >= 1, max_keepalive_connections >= 0")
        self.limits = limits
        self.guard = guard if guard is not None else AddressGuard(allow_private=allow_private)
        self.user_agent = user_agent
        self.max_connections = max_connections
        self._pool_config = _PoolConfig(
            max_connections, max_keepalive_connections, keepalive_expiry
        )

    def _client_options(self) -> dict[str, Any]:
        # Cookies off: a crawl-wide jar would grow with every site and leak between origins.
        no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
        return {
            "headers": {
                "User-Agent": self.user_agent,
                "Accept": "*/*",
                "Accept-Encoding": ACCEPT_ENCODING,
            },
            "timeout": httpx.Timeout(self.limits.timeout),
            "follow_redirects": False,
            "trust_env": False,
            "cookies": no_cookies,
        }

    def _begin(self, url: str, max_bytes: int | None) -> _Attempt:
        cap = self.limits.max_bytes if max_bytes is None else max_bytes
        if cap < 1:
            raise ConfigError(f"max_bytes must be >= 1, got {cap}")
        now = time.monotonic()
        return _Attempt(
            url=url, cap=cap, started=now, deadline=now + self.limits.timeout, current=url
        )

    def _refusal(self, url: str) -> tuple[str, str] | None:
        """Why ``url`` must not be requested at all (checked before every hop), or None."""
        try:
            _, host, _ = _split_authority(url)
        except InvalidOrigin as exc:
            return "invalid-url", str(exc)
        known = _resolve_without_dns(host)
        if known is not None and all(self.guard.blocks(address) for address in known):
            return "blocked-address", f"{host} is not a public address"
        return None

    def _redirect(
        self, attempt: _Attempt, response: httpx.Response
    ) -> object | tuple[str, str] | None:
        """Follow (``_FOLLOW``, ``attempt`` advanced), stop with an error, or None (final)."""
        if response.status_code not in REDIRECT_STATUSES:
            return None
        location = response.headers.get("location", "").strip()
        if not location:
            return None  # a 3xx without Location is the final response
        try:
            target = response.url.join(location)
        except httpx.InvalidURL as exc:
            return "invalid-url", f"redirect to {location!r}: {exc}"
        target_url = str(target.copy_with(fragment=None))
        try:
            _split_authority(target_url)
        except InvalidOrigin as exc:
            return "invalid-url", f"redirect to {location!r}: {exc}"
        key = url_key(target)
        if any(url_key(httpx.URL(u)) == key for u in (*attempt.redirects, attempt.current)):
            return "redirect-loop", f"{attempt.current} redirects back to {target_url}"
        if len(attempt.redirects) >= self.limits.max_redirects:
            return (
                "too-many-redirects",
                f"more than {self.limits.max_redirects} redirects (next: {target_url})",
            )
        attempt.redirects.append(attempt.current)
        attempt.current = target_url
        return _FOLLOW

    def _reader(self, attempt: _Attempt, response: httpx.Response) -> BodyReader:
        return BodyReader(
            attempt.cap,
            response.headers.get("content-encoding"),
            response.headers.get("content-length"),
        )

    def _policy_urls(self, origin: str) -> tuple[str, tuple[tuple[str, int], ...]]:
        base = origin_of(origin)
        return base, (
            (f"{base}/robots.txt", self.limits.robots_max_bytes),
            (f"{base}/ai.txt", self.limits.robots_max_bytes),
            (f"{base}/.well-known/tdmrep.json", self.limits.max_bytes),
        )


class Fetcher(_FetcherBase):
    """Synchronous fetcher on ``httpx.Client``; thread-safe, one per process is enough."""

    def __init__(
        self,
        *,
        limits: FetchLimits = FetchLimits(),
        allow_private: bool = False,
        user_agent: str = USER_AGENT,
        transport: httpx.BaseTransport | None = None,
        guard: AddressGuard | None = None,
        max_connections: int = 100,
        max_keepalive_connections: int = 20,
        keepalive_expiry: float = 5.0,
    ) -> None:
        super().__init__(
            limits=limits,
            allow_private=allow_private,
            user_agent=user_agent,
            guard=guard,
            max_connections=max_connections,
            max_keepalive_connections=max_keepalive_connections,
            keepalive_expiry=keepalive_expiry,
        )
        if transport is None:
            transport = _GuardedTransport(self.guard, self._pool_config)
        self._client = httpx.Client(transport=transport, **self._client_options())
        # The deadline starts once a connection slot is free, so waiting is never a timeout.
        self._slots = threading.BoundedSemaphore(max_connections)

    def fetch(self, url: str, *, max_bytes: int | None = None) -> FetchResult:
        """GET ``url``, following redirects; never raises for network or content problems."""
        with self._slots:
            attempt = self._begin(url, max_bytes)
            token = _DEADLINE.set(attempt.deadline)
            try:
                return self._run(attempt)
            finally:
                _DEADLINE.reset(token)

    def _run(self, attempt: _Attempt) -> FetchResult:
        while True:
            refusal = self._refusal(attempt.current)
            if refusal is not None:
                return attempt.failed(*refusal)
            try:
                request = self._client.build_request("GET", attempt.current)
                response = self._client.send(request, stream=True)
            except _FETCH_EXCEPTIONS as exc:
                return attempt.failed(*classify_error(exc))
            try:
                step = self._redirect(attempt, response)
                if step is _FOLLOW:
                    continue
                if step is not None:
                    return attempt.answered(response, error=step)  # type: ignore[arg-type]
                reader = self._reader(attempt, response)
                try:
                    for chunk in response.iter_raw():
                        if not reader.feed(chunk):
                            break
                except _FETCH_EXCEPTIONS as exc:
                    reader.fail(*classify_error(exc))
                return attempt.answered(response, reader)
            finally:
                response.close()

    def fetch_policy_files(self, origin: str) -> PolicyFetches:
        """robots.txt, /ai.txt and /.well-known/tdmrep.json of ``origin`` (any URL on it)."""
        base, targets = self._policy_urls(origin)
        robots, aitxt, tdmrep = (self.fetch(url, max_bytes=cap) for url, cap in targets)
        return PolicyFetches(origin=base, robots=robots, aitxt=aitxt, tdmrep=tdmrep)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncFetcher(_FetcherBase):
    """Asynchronous fetcher on ``httpx.AsyncClient`` (asyncio or trio, through anyio)."""

    def __init__(
        self,
        *,
        limits: FetchLimits = FetchLimits(),
        allow_private: bool = False,
        user_agent: str = USER_AGENT,
        transport: httpx.AsyncBaseTransport | None = None,
        guard: AddressGuard | None = None,
        max_connections: int = 100,
        max_keepalive_connections: int = 20,
        keepalive_expiry: float = 5.0,
    ) -> None:
        super().__init__(
            limits=limits,
            allow_private=allow_private,
            user_agent=user_agent,
            guard=guard,
            max_connections=max_connections,
            max_keepalive_connections=max_keepalive_connections,
            keepalive_expiry=keepalive_expiry,
        )
        if transport is None:
            transport = _AsyncGuardedTransport(self.guard, self._pool_config)
        self._client = httpx.AsyncClient(transport=transport, **self._client_options())
        self._slots = anyio.Semaphore(max_connections)

    async def fetch(self, url: str, *, max_bytes: int | None = None) -> FetchResult:
        """GET ``url``, following redirects; never raises for network or content problems."""
        async with self._slots:
            attempt = self._begin(url, max_bytes)
            token = _DEADLINE.set(attempt.deadline)
            try:
                return await self._run(attempt)
            finally:
                _DEADLINE.reset(token)

    async def _run(self, attempt: _Attempt) -> FetchResult:
        while True:
            refusal = self._refusal(attempt.current)
            if refusal is not None:
                return attempt.failed(*refusal)
            try:
                request = self._client.build_request("GET", attempt.current)
                response = await self._client.send(request, stream=True)
            except _FETCH_EXCEPTIONS as exc:
                return attempt.failed(*classify_error(exc))
            try:
                step = self._redirect(attempt, response)
                if step is _FOLLOW:
                    continue
                if step is not None:
                    return attempt.answered(response, error=step)  # type: ignore[arg-type]
                reader = self._reader(attempt, response)
                try:
                    async for chunk in response.aiter_raw():
                        if not reader.feed(chunk):
                            break
                except _FETCH_EXCEPTIONS as exc:
                    reader.fail(*classify_error(exc))
                return attempt.answered(response, reader)
            finally:
                await response.aclose()

    async def fetch_policy_files(self, origin: str) -> PolicyFetches:
        """robots.txt, /ai.txt and /.well-known/tdmrep.json of ``origin``, fetched concurrently."""
        base, targets = self._policy_urls(origin)
        results: list[FetchResult | None] = [None] * len(targets)

        async def fetch_one(index: int, url: str, cap: int) -> None:
            results[index] = await self.fetch(url, max_bytes=cap)

        async with anyio.create_task_group() as group:
            for index, (url, cap) in enumerate(targets):
                group.start_soon(fetch_one, index, url, cap)
        robots, aitxt, tdmrep = results
        assert robots is not None and aitxt is not None and tdmrep is not None
        return PolicyFetches(origin=base, robots=robots, aitxt=aitxt, tdmrep=tdmrep)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
