"""A Scrapy DNS resolver with the fetcher's semantics: ``*.localhost`` is loopback, non-public
addresses are refused unless allowed, results are cached (failures for a minute).

Installed with ``TWISTED_DNS_RESOLVER = "reservation_crawler.scrapy.resolver.GuardedResolver"``.
The guard lives here, not in a middleware, because the address checked must be the address
connected to (no DNS-rebinding gap). A refused host fails like an unknown one (Twisted's
``DNSLookupError``); :func:`blocked_address` tells the spider it was the guard.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from scrapy.utils.datatypes import LocalCache
from twisted.internet import threads
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import IHostnameResolver, IHostResolution, IResolutionReceiver
from zope.interface import implementer

from reservation_crawler.core.fetching import DEFAULT_TIMEOUT
from reservation_crawler.drivers.fetch import AddressGuard, is_localhost_name, resolve_host

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from twisted.internet.base import ReactorBase

# Hosts the guard refused, with the address that was refused: read by the spider to tell a
# "blocked-address" from a DNS failure. Bounded like the cache.
_blocked: LocalCache[str, str] = LocalCache(10_000)
NEGATIVE_TTL = 60.0  # seconds a failed lookup is remembered


def blocked_address(host: str) -> str | None:
    """The refused address when the guard refused ``host``, else None."""
    return _blocked.get(host.lower().rstrip("."))


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


@implementer(IHostResolution)
class _Resolution:
    def __init__(self, name: str) -> None:
        self.name = name

    def cancel(self) -> None:  # pragma: no cover - Twisted never cancels name resolution
        pass


@implementer(IHostnameResolver)
class GuardedResolver:
    """IPv4 + IPv6 resolver: RFC 6761 ``localhost`` names, an address guard, an LRU cache."""

    def __init__(
        self,
        reactor: ReactorBase,
        *,
        cache_size: int = 10_000,
        timeout: float = DEFAULT_TIMEOUT,
        allow_private: bool = False,
    ) -> None:
        self.reactor = reactor
        self.timeout = timeout
        self.allow_private = allow_private
        self.guard = AddressGuard(allow_private=allow_private)
        self._cache: LocalCache[str, tuple[str, ...]] = LocalCache(max(cache_size, 1))
        self._cache_enabled = cache_size > 0
        self._failed_at: LocalCache[str, float] = LocalCache(max(cache_size, 1))

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: ReactorBase) -> GuardedResolver:
        # ``crawler`` is the CrawlerProcess here: only its settings are read.
        settings = crawler.settings
        return cls(
            reactor,
            cache_size=settings.getint("DNSCACHE_SIZE")
            if settings.getbool("DNSCACHE_ENABLED")
            else 0,
            timeout=settings.getfloat("DNS_TIMEOUT"),
            allow_private=settings.getbool("RC_ALLOW_PRIVATE"),
        )

    def install_on_reactor(self) -> None:
        self.reactor.installNameResolver(self)

    def resolveHostName(
        self,
        resolutionReceiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type[Any]] | None = None,
        transportSemantics: str = "TCP",
    ) -> IHostResolution:
        host = hostName.lower().rstrip(".")
        resolution = _Resolution(hostName)
        resolutionReceiver.resolutionBegan(resolution)
        cached = self._cache.get(host) if self._cache_enabled else None
        failed_at = self._failed_at.get(host)
        if failed_at is not None and time.monotonic() - failed_at > NEGATIVE_TTL:
            cached = None  # a failed lookup is retried after a while
            self._failed_at.pop(host, None)
        if cached is not None:
            self._deliver(resolutionReceiver, cached, portNumber, addressTypes)
            return resolution
        if is_localhost_name(host) or _is_ip_literal(host):  # answered without I/O
            addresses = self._lookup(host)
            if self._cache_enabled:
                self._cache[host] = addresses
            self._deliver(resolutionReceiver, addresses, portNumber, addressTypes)
            return resolution
        d = threads.deferToThreadPool(
            self.reactor, self.reactor.getThreadPool(), self._lookup, host
        )
        d.addTimeout(self.timeout, self.reactor)

        def done(addresses: tuple[str, ...]) -> None:
            if self._cache_enabled:
                self._cache[host] = addresses
            self._deliver(resolutionReceiver, addresses, portNumber, addressTypes)

        def failed(_failure: object) -> None:
            # Remember the failure for a while: the origin's other files and pages would
            # each wait for the same lookup to fail again.
            if self._cache_enabled:
                self._cache[host] = ()
                self._failed_at[host] = time.monotonic()
            resolutionReceiver.resolutionComplete()

        d.addCallbacks(done, failed)
        return resolution

    def _lookup(self, host: str) -> tuple[str, ...]:
        """Resolve in a worker thread; drop (and remember) addresses the guard refuses."""
        addresses = tuple(resolve_host(host))
        if self.allow_private:
            return addresses
        allowed = tuple(a for a in addresses if not self.guard.blocks(a))
        if not allowed and addresses:
            _blocked[host] = addresses[0]
        return allowed

    @staticmethod
    def _deliver(
        receiver: IResolutionReceiver,
        addresses: tuple[str, ...],
        port: int,
        address_types: Sequence[type[Any]] | None,
    ) -> None:
        for address in addresses:
            cls = IPv6Address if ":" in address else IPv4Address
            if address_types is None or cls in address_types:
                receiver.addressResolved(cls("TCP", address, port))
        receiver.resolutionComplete()
