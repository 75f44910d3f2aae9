"""Every decision is made once, in core/decide.py, and every path presents that one answer.

Through the paths users take: the Checker's ``Verdict.final`` must be decide's
``AgentDecision.final`` for the same policy.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reservation_crawler.core.decide import decide_agent
from reservation_crawler.drivers.collect import policy_from_fetches
from reservation_crawler.drivers.fetch import Fetcher, FetchLimits
from reservation_crawler.drivers.lookup import Checker
from reservation_crawler.model.record import Purpose
from reservation_crawler.testing import AGENTS, PAGES, PURPOSES, FixtureWeb, every_variant

# Sites whose answers depend on timing are left out: two fetches must see the same site.
TIMED_KINDS = {"robots-timeout"}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def web() -> Iterator[FixtureWeb]:
    recipes = [r for r in every_variant() if r.kind not in TIMED_KINDS]
    with FixtureWeb.from_recipes(recipes, slow_delay=3.0, corpus=False) as fixture_web:
        yield fixture_web


def test_checker_final_is_decides_final(web: FixtureWeb, redis_url: str) -> None:
    """Verdict.final (what the Scrapy middleware drops on) is AgentDecision.final for the
    origin's policy, for every fixture site, page, agent and purpose."""
    seen = {(True, True): 0, (True, False): 0, (False, False): 0}
    limits = FetchLimits(timeout=2.0)
    with (
        Checker(redis_url=redis_url, allow_private=True, limits=limits) as checker,
        Fetcher(allow_private=True, limits=limits) as fetcher,
    ):
        for index in range(len(web)):
            policy = policy_from_fetches(fetcher.fetch_policy_files(web.base_url(index)))
            for path in PAGES:
                url = web.url(index, path)
                for agent in AGENTS:
                    decided = decide_agent(url, agent, policy)
                    for purpose in PURPOSES:
                        verdict = checker.check(url, agent, purpose)
                        final = decided.final(Purpose(purpose))
                        where = (web.recipes[index].kind, url, agent, purpose)
                        assert verdict.final == final, (where, verdict.evidence)
                        seen[(verdict.reserved, final)] += 1
    # Both kinds of reservation occur: final ones, and tdmrep.json-only ones a page may lift.
    assert all(count > 0 for count in seen.values()), seen
