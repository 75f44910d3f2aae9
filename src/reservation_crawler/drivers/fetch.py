"""The one fetcher: httpx with capped bodies, a total deadline, checked redirects, an address guard.

It reports facts (status, headers, body, what went wrong) and interprets no protocol: the policy
layer turns a :class:`FetchResult` into "absent", "unreachable" and so on. The fetch rules (limits,
redirects, bodies, the result) live in ``core/fetching.py``; :class:`Fetcher` and
:class:`AsyncFetcher` are thin I/O shells that run its ``fetch_flow`` with httpx, around one base
holding the URL parsing, the address guard and error classification. See ``docs/fetch.md``.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import functools
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import anyio
import anyio.abc
import httpcore
import httpx

from reservation_crawler._version import PRODUCT_TOKEN, USER_AGENT
from reservation_crawler.core.fetching import (
    ACCEPT_ENCODING,
    BOMB_RATIO,
    FETCH_ERRORS,
    READ_BODY,
    REDIRECT_STATUSES,
    BodyReader,
    FetchLimits,
    FetchResult,
    Head,
    Observed,
    PolicyFetches,
    UrlRules,
    fetch_flow,
    media_type,
    origin_unreachable,
    skip_after_robots,
)
from reservation_crawler.core.policy import (
    AITXT,
    POLICY_PATHS,
    ROBOTS,
    TDMREP,
    PolicyFile,
    PolicyRequest,
    kind_of,
    policy_requests,
)
from reservation_crawler.core.urls import DEFAULT_PORTS, origin_of, split_origin
from reservation_crawler.errors import ConfigError, InvalidOrigin, ReservationCrawlerError

__all__ = [
    "ACCEPT_ENCODING",
    "BOMB_RATIO",
    "FETCH_ERRORS",
    "PRODUCT_TOKEN",
    "REDIRECT_STATUSES",
    "URL_RULES",
    "USER_AGENT",
    "AddressGuard",
    "AsyncFetcher",
    "BodyReader",
    "FetchLimits",
    "FetchResult",
    "Fetcher",
    "PolicyFetches",
    "classify_error",
    "is_blocked_address",
    "is_localhost_name",
    "is_public_address",
    "media_type",
    "origin_of",
    "resolve_host",
    "url_key",
]

LOOPBACK = "127.0.0.1"
_DEFAULT_LIMITS = FetchLimits()
TransportT = TypeVar("TransportT", httpx.BaseTransport, httpx.AsyncBaseTransport)

# --------------------------------------------------------------------------------------------
# URLs and origins


def url_key(url: str | httpx.URL) -> Hashable:
    """What makes two URLs the same resource for loop detection (fragment ignored)."""
    url = httpx.URL(url) if isinstance(url, str) else url
    scheme = url.scheme.lower()
    port = url.port if url.port is not None else DEFAULT_PORTS.get(scheme, 0)
    return scheme, url.raw_host.decode("ascii").lower(), port, url.raw_path


def join_location(current: str, location: str) -> str:
    """A Location resolved against ``current`` (RFC 3986), without fragment; ``InvalidOrigin``
    unless it is an http(s) URL with a valid host and port."""
    try:
        target = str(httpx.URL(current).join(location).copy_with(fragment=None))
    except httpx.InvalidURL as exc:
        raise InvalidOrigin(str(exc)) from exc
    split_origin(target)
    return target


# httpx's URL parser, for the redirect rules of core.fetching (the Scrapy spider uses it too).
URL_RULES = UrlRules(join=join_location, key=url_key)


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


class _BlockedAddress(ReservationCrawlerError):
    """Raised inside the connection layer; becomes ``error="blocked-address"``."""


class _ResolveError(ReservationCrawlerError):
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

    # jscpd:ignore-start -- httpcore's sync and async backend interfaces: the same steps, one
    # awaiting (the rules they apply, _usable_addresses and _clamp, are written once above)
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

    # jscpd:ignore-end

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

    # jscpd:ignore-start -- httpcore's sync and async backend interfaces: the same steps, one
    # awaiting (the rules they apply, _usable_addresses and _clamp, are written once above)
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

    # jscpd:ignore-end

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
            raise ReservationCrawlerError("httpx.HTTPTransport no longer keeps its pool in _pool")
        self._pool = httpcore.ConnectionPool(
            network_backend=_GuardedBackend(guard), **pool.pool_kwargs(ssl_context)
        )


class _AsyncGuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, guard: AddressGuard, pool: _PoolConfig) -> None:
        ssl_context = _ssl_context()
        super().__init__(verify=ssl_context, trust_env=False)
        if not hasattr(self, "_pool"):  # pragma: no cover
            raise ReservationCrawlerError(
                "httpx.AsyncHTTPTransport no longer keeps its pool in _pool"
            )
        self._pool = httpcore.AsyncConnectionPool(
            network_backend=_AsyncGuardedBackend(guard), **pool.pool_kwargs(ssl_context)
        )


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
# The two shells: each runs core.fetching.fetch_flow, doing only the I/O it asks for.


class _FetcherBase(Generic[TransportT]):
    """What both fetchers share that is not the I/O itself, their constructor included."""

    def __init__(
        self,
        *,
        limits: FetchLimits = _DEFAULT_LIMITS,
        allow_private: bool = False,
        user_agent: str = USER_AGENT,
        transport: TransportT | None = None,
        guard: AddressGuard | None = None,
        max_connections: int = 100,
        max_keepalive_connections: int = 20,
        keepalive_expiry: float = 5.0,
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
        self._open(transport)

    def _open(self, transport: TransportT | None) -> None:
        """Create the client (on ``transport``, or our guarded one) and the connection slots."""
        raise NotImplementedError

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

    def _flow(self, url: str, max_bytes: int | None) -> tuple[Any, int, float]:
        """The flow of one fetch, its body cap, and its deadline (which starts now)."""
        cap = self.limits.cap(max_bytes)
        started = time.monotonic()
        flow = fetch_flow(
            url, cap, self.limits, URL_RULES, lambda: (time.monotonic() - started) * 1000.0
        )
        return flow, cap, started + self.limits.timeout

    def _refusal(self, url: str) -> tuple[str, str] | None:
        """Why ``url`` must not be requested at all (checked before every hop), or None."""
        try:
            _, host, _ = split_origin(url)
        except InvalidOrigin as exc:
            return "invalid-url", str(exc)
        known = _resolve_without_dns(host)
        if known is not None and all(self.guard.blocks(address) for address in known):
            return "blocked-address", f"{host} is not a public address"
        return None

    def _plan(
        self, base: str, results: dict[str, FetchResult], files: dict[str, PolicyFile]
    ) -> tuple[PolicyRequest, ...]:
        """What core.policy.policy_requests says to fetch next, given ``results`` so far."""
        for key, result in results.items():
            if key not in files:
                files[key] = PolicyFile.from_fetch(kind_of(key), result)
        return policy_requests(base, self.limits, files)

    @staticmethod
    def _policy_fetches(base: str, results: dict[str, FetchResult]) -> PolicyFetches:
        """The fetched files, with ai.txt and tdmrep.json not fetched after a dead robots.txt."""
        robots = results[ROBOTS]
        urls = [base + POLICY_PATHS[AITXT], base + POLICY_PATHS[TDMREP]]
        skipped = skip_after_robots(robots, urls)
        if skipped is not None:
            aitxt, tdmrep = skipped
            return PolicyFetches(origin=base, robots=robots, aitxt=aitxt, tdmrep=tdmrep)
        main = (ROBOTS, AITXT, TDMREP)
        others = {key: result for key, result in results.items() if key not in main}
        return PolicyFetches(
            origin=base, robots=robots, aitxt=results[AITXT], tdmrep=results[TDMREP],
            others=others,
        )  # fmt: skip


def _head(response: httpx.Response) -> Head:
    pairs = tuple(
        (name.decode("latin-1"), value.decode("latin-1")) for name, value in response.headers.raw
    )
    return Head(response.status_code, pairs)


class Fetcher(_FetcherBase[httpx.BaseTransport]):
    """Synchronous fetcher on ``httpx.Client``; thread-safe, one per process is enough."""

    def _open(self, transport: httpx.BaseTransport | None) -> None:
        if transport is None:
            transport = _GuardedTransport(self.guard, self._pool_config)
        self._client = httpx.Client(transport=transport, **self._client_options())
        # The deadline starts once a connection slot is free, so waiting is never a timeout.
        self._slots = threading.BoundedSemaphore(self.max_connections)

    def fetch(self, url: str, *, max_bytes: int | None = None) -> FetchResult:
        """GET ``url``, following redirects; never raises for network or content problems."""
        # jscpd:ignore-start -- the sync and async twins drive core.fetching.fetch_flow, which
        # holds the control flow; what is left is the same few lines with and without await
        with self._slots:
            flow, cap, deadline = self._flow(url, max_bytes)
            token = _DEADLINE.set(deadline)
            response: httpx.Response | None = None
            try:
                step = next(flow)
                while True:  # until the flow returns its FetchResult (StopIteration)
                    if response is not None:
                        response.close()
                    response, seen = self._send(step)
                    step = flow.send(seen)
                    if step == READ_BODY:
                        assert response is not None
                        flow.send(self._read(response, seen, cap))
            except StopIteration as done:
                return done.value
            finally:
                if response is not None:
                    response.close()
                _DEADLINE.reset(token)
        # jscpd:ignore-end

    def _send(self, url: str) -> tuple[httpx.Response | None, Observed]:
        refusal = self._refusal(url)
        if refusal is not None:
            return None, refusal
        try:
            response = self._client.send(self._client.build_request("GET", url), stream=True)
        except _FETCH_EXCEPTIONS as exc:
            return None, classify_error(exc)
        return response, _head(response)

    @staticmethod
    def _read(response: httpx.Response, head: Observed, cap: int) -> BodyReader:
        assert isinstance(head, Head)
        reader = BodyReader.for_head(cap, head)
        try:
            for chunk in response.iter_raw():
                if not reader.feed(chunk):
                    break
        except _FETCH_EXCEPTIONS as exc:
            reader.fail(*classify_error(exc))
        return reader

    def fetch_policy_files(self, origin: str) -> PolicyFetches:
        """robots.txt, /ai.txt and /.well-known/tdmrep.json of ``origin`` (any URL on it), and
        what they lead to (core.policy.policy_requests), one after the other."""
        base = origin_of(origin)
        results: dict[str, FetchResult] = {}
        files: dict[str, PolicyFile] = {}
        while requests := self._plan(base, results, files):
            request = requests[0]
            results[request.key] = self.fetch(request.url, max_bytes=request.cap)
        return self._policy_fetches(base, results)

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


class AsyncFetcher(_FetcherBase[httpx.AsyncBaseTransport]):
    """Asynchronous fetcher on ``httpx.AsyncClient`` (asyncio or trio, through anyio)."""

    def _open(self, transport: httpx.AsyncBaseTransport | None) -> None:
        if transport is None:
            transport = _AsyncGuardedTransport(self.guard, self._pool_config)
        self._client = httpx.AsyncClient(transport=transport, **self._client_options())
        self._slots = anyio.Semaphore(self.max_connections)

    async def fetch(self, url: str, *, max_bytes: int | None = None) -> FetchResult:
        """GET ``url``, following redirects; never raises for network or content problems."""
        # jscpd:ignore-start -- the sync and async twins drive core.fetching.fetch_flow, which
        # holds the control flow; what is left is the same few lines with and without await
        async with self._slots:
            flow, cap, deadline = self._flow(url, max_bytes)
            token = _DEADLINE.set(deadline)
            response: httpx.Response | None = None
            try:
                step = next(flow)
                while True:  # until the flow returns its FetchResult (StopIteration)
                    if response is not None:
                        await response.aclose()
                    response, seen = await self._send(step)
                    step = flow.send(seen)
                    if step == READ_BODY:
                        assert response is not None
                        flow.send(await self._read(response, seen, cap))
            except StopIteration as done:
                return done.value
            finally:
                if response is not None:
                    await response.aclose()
                _DEADLINE.reset(token)
        # jscpd:ignore-end

    async def _send(self, url: str) -> tuple[httpx.Response | None, Observed]:
        refusal = self._refusal(url)
        if refusal is not None:
            return None, refusal
        try:
            request = self._client.build_request("GET", url)
            response = await self._client.send(request, stream=True)
        except _FETCH_EXCEPTIONS as exc:
            return None, classify_error(exc)
        return response, _head(response)

    @staticmethod
    async def _read(response: httpx.Response, head: Observed, cap: int) -> BodyReader:
        assert isinstance(head, Head)
        reader = BodyReader.for_head(cap, head)
        try:
            async for chunk in response.aiter_raw():
                if not reader.feed(chunk):
                    break
        except _FETCH_EXCEPTIONS as exc:
            reader.fail(*classify_error(exc))
        return reader

    async def fetch_policy_files(self, origin: str) -> PolicyFetches:
        """robots.txt, /ai.txt and /.well-known/tdmrep.json of ``origin``, fetched concurrently,
        then what they lead to (core.policy.policy_requests), each round concurrently."""
        base = origin_of(origin)
        results: dict[str, FetchResult] = {}
        files: dict[str, PolicyFile] = {}

        async def fetch_one(request: PolicyRequest, group: anyio.abc.TaskGroup) -> None:
            result = results[request.key] = await self.fetch(request.url, max_bytes=request.cap)
            if request.key == ROBOTS and origin_unreachable(result) is not None:
                group.cancel_scope.cancel()  # the others would wait for their own timeouts

        while requests := self._plan(base, results, files):
            async with anyio.create_task_group() as group:
                for request in requests:
                    group.start_soon(fetch_one, request, group)
        return self._policy_fetches(base, results)

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
