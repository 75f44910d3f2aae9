"""Fetch what one URL needs and hand it to the pure core: the I/O edge shared by ``check``,
``validate`` and the Checker's cache-miss path (the spider does the same through Scrapy)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from reservation_crawler.core.decide import Decided, decide_in_full
from reservation_crawler.core.lookup import now_iso, policy_from_fetches
from reservation_crawler.core.policy import PAGE, OriginPolicy, classify
from reservation_crawler.core.registry import CLAIMED_RESERVES, RegistryIndex
from reservation_crawler.drivers.fetch import (
    Fetcher,
    FetchResult,
    origin_of,
)
from reservation_crawler.model.findings import Finding
from reservation_crawler.model.record import ReservationRecord, SourceOutcome
from reservation_crawler.signals.page import PageSignals, parse_page

# now_iso and policy_from_fetches live in the core (the lookup flow uses them); named here too.
__all__ = [
    "PageRead",
    "collect",
    "decide_read",
    "now_iso",
    "policy_from_fetches",
    "read_page",
    "record_from_page",
]


class PageRead(NamedTuple):
    """A fetched page as decide() takes it: how the fetch ended, its findings, its signals."""

    source: SourceOutcome
    findings: tuple[Finding, ...]
    signals: PageSignals | None  # parsed whenever a 2xx response head arrived


def read_page(result: FetchResult) -> PageRead:
    """Classify a page fetch and parse the page (once) whenever a 2xx response head arrived.

    Whatever happened to the body afterwards (over the cap, a bomb, a timeout, a reset), its
    headers and the part of the body that was read (up to the cap) still carry reservations:
    dropping them would turn a ``noai`` into "unspecified" (fail-open). The outcome keeps the error.
    """
    page_source, page_findings = classify(PAGE, result)
    page = None
    if result.status is not None and 200 <= result.status < 300:
        page = parse_page(result.final_url, result.status, result.headers, result.body)
    return PageRead(page_source, page_findings, page)


def decide_read(
    url: str,
    agents: Iterable[str],
    policy: OriginPolicy,
    page: PageRead | None,
    *,
    registry: RegistryIndex | None = None,
    claimed_reserves: bool = CLAIMED_RESERVES,
) -> Decided:
    """Decide ``url`` from its origin policy, (optionally) the page read, and the registrations
    that cover the URL or the page's bytes (``registry``), in full."""
    sha256 = page.source.sha256 if page is not None else None
    matched = registry.matching(url, sha256) if registry is not None else ()
    if page is None:
        return decide_in_full(
            url, agents, policy, registry=matched, claimed_reserves=claimed_reserves
        )
    return decide_in_full(
        url,
        agents,
        policy,
        page.signals,
        page_source=page.source,
        page_findings=page.findings,
        registry=matched,
        claimed_reserves=claimed_reserves,
    )


def record_from_page(
    url: str,
    agents: Iterable[str],
    policy: OriginPolicy,
    result: FetchResult | None,
    *,
    registry: RegistryIndex | None = None,
    claimed_reserves: bool = CLAIMED_RESERVES,
) -> ReservationRecord:
    """Decide ``url`` from its origin policy, (optionally) the fetched page, and the registry."""
    page = None if result is None else read_page(result)
    return decide_read(
        url, agents, policy, page, registry=registry, claimed_reserves=claimed_reserves
    ).record


def collect(
    fetcher: Fetcher,
    url: str,
    agents: Sequence[str],
    *,
    fetch_page: bool = True,
    policies: dict[str, OriginPolicy] | None = None,
    registry: RegistryIndex | None = None,
    claimed_reserves: bool = CLAIMED_RESERVES,
) -> ReservationRecord:
    """Fetch the origin's policy files (once per origin in ``policies``) and the page."""
    origin = origin_of(url)
    policy = policies.get(origin) if policies is not None else None
    if policy is None:
        policy = policy_from_fetches(fetcher.fetch_policy_files(origin))
        if policies is not None:
            policies[origin] = policy
    # Fetched even when robots.txt timed out: a host whose robots.txt alone is slow still
    # answers for the page, and stats counts that site as reached (docs/stats.md).
    result = fetcher.fetch(url) if fetch_page else None
    return record_from_page(
        url, agents, policy, result, registry=registry, claimed_reserves=claimed_reserves
    )
