"""Fetch what one URL needs and hand it to the pure core: the I/O edge shared by ``check``,
``validate`` and the Checker's cache-miss path (the spider does the same through Scrapy)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from reservation_crawler.core.decide import decide
from reservation_crawler.core.lookup import now_iso, policy_from_fetches
from reservation_crawler.core.policy import PAGE, OriginPolicy, classify
from reservation_crawler.drivers.fetch import (
    Fetcher,
    FetchResult,
    origin_of,
)
from reservation_crawler.model.record import Outcome, ReservationRecord
from reservation_crawler.signals.page import parse_page

# now_iso and policy_from_fetches live in the core (the lookup flow uses them); named here too.
__all__ = ["collect", "now_iso", "policy_from_fetches", "record_from_page"]


def record_from_page(
    url: str, agents: Iterable[str], policy: OriginPolicy, result: FetchResult | None
) -> ReservationRecord:
    """Decide ``url`` from its origin policy and (optionally) the fetched page."""
    if result is None:
        return decide(url, agents, policy)
    page_source, page_findings = classify(PAGE, result)
    page = None
    if page_source.outcome is Outcome.OK:
        page = parse_page(result.final_url, result.status, result.headers, result.body)
    return decide(url, agents, policy, page, page_source=page_source, page_findings=page_findings)


def collect(
    fetcher: Fetcher,
    url: str,
    agents: Sequence[str],
    *,
    fetch_page: bool = True,
    policies: dict[str, OriginPolicy] | None = None,
) -> ReservationRecord:
    """Fetch the origin's policy files (once per origin in ``policies``) and the page."""
    origin = origin_of(url)
    policy = policies.get(origin) if policies is not None else None
    if policy is None:
        policy = policy_from_fetches(fetcher.fetch_policy_files(origin))
        if policies is not None:
            policies[origin] = policy
    result = fetcher.fetch(url) if fetch_page else None
    return record_from_page(url, agents, policy, result)
