"""Sites that change their signals between a crawl and a re-check, and the truth of the change.

``CHANGES`` is a fixed list of (name, before, after) recipes. Serve the ``before`` recipes, crawl,
then ``FixtureWeb.replace_site(i, after)`` each site, re-check: :func:`change_truth` says, from
the two sites' ground truths alone (``truth.site_truth``), what a re-check must report for every
URL, agent and purpose (docs/fixture-web.md, "Changed sites"; docs/datasets.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reservation_crawler.testing.sites import Recipe, recipe

NEWLY_RESERVED = "newly-reserved"
LIFTED = "lifted"
UNCHANGED = "unchanged"
CHANGED = "changed"
UNREACHABLE_NOW = "unreachable-now"


def _changes() -> list[tuple[str, Recipe, Recipe]]:
    plain = recipe("plain")
    return [
        # robots.txt now disallows the training bots
        ("robots-block-added", plain, recipe("robots-ai-block", "one-bot")),
        # `Disallow: /` for everyone removed
        ("block-all-lifted", recipe("robots-block-all", "star"), plain),
        # a page signal appears (noai in the page's meta): read from the page itself
        ("noai-meta-added", plain, recipe("noai", "meta")),
        # robots.txt answers 503 now: the policy is unknown
        ("robots-now-503", recipe("robots-ai-block", "one-bot"), recipe("robots-5xx", "503")),
        # a bot challenge now answers for robots.txt
        ("challenge-now", plain, recipe("access-challenge", "cloudflare-200")),
        # the pages answer 503 now: their own signals (the noai meta) are unknown
        (
            "pages-now-503",
            recipe("noai", "meta"),
            recipe("noai", "meta", serve={p: {"status": 503} for p in ("/", "/a/1.html")}),
        ),
        # nothing changes
        ("unchanged-noai", recipe("noai", "header"), recipe("noai", "header")),
        ("unchanged-tdmrep", recipe("tdmrep-file"), recipe("tdmrep-file")),
    ]


CHANGES: list[tuple[str, Recipe, Recipe]] = _changes()


def _unknown(truth: Mapping[str, Any]) -> bool:
    """robots.txt cannot be read (every reading unreachable): the policy is unknown."""
    return truth["sources"]["robots.txt"]["readings"] == ["unreachable"]


def change_truth(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> dict[tuple[str, str, str], str]:
    """(url, agent, purpose) -> the change a re-check must report, from the two ground truths
    of one site (cells either truth leaves open are left out)."""
    out: dict[tuple[str, str, str], str] = {}
    site_unknown = _unknown(after)
    pages = {
        page["url"]: (page, now_page)
        for page, now_page in zip(before["pages"], after["pages"], strict=True)
    }
    for url, per_agent in before["expected"].items():
        then_page, now_page = pages[url]
        # read then (fetched, no failure), not readable now: the page's own signals are unknown
        unknown = site_unknown or (
            then_page["failure"] is None
            and then_page["crawler_may_fetch"] is True
            and (now_page["failure"] is not None or now_page["crawler_may_fetch"] is False)
        )
        for agent, cells in per_agent.items():
            for purpose, then in cells.items():
                now = after["expected"][url][agent][purpose]
                if unknown:
                    out[(url, agent, purpose)] = UNREACHABLE_NOW
                elif then is None or now is None:
                    continue
                elif then == now:
                    out[(url, agent, purpose)] = UNCHANGED
                elif now == "reserved":
                    out[(url, agent, purpose)] = NEWLY_RESERVED
                elif then == "reserved":
                    out[(url, agent, purpose)] = LIFTED
                else:
                    out[(url, agent, purpose)] = CHANGED
    return out
