"""stats over records of the fixture web equals the fixture's ground truth (issue 6 proof)."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from reservation_crawler.cli import main
from reservation_crawler.testing import FixtureWeb

AGENTS = ("GPTBot", "ClaudeBot", "CCBot")
SITES = 120


def _reached(truth: dict) -> bool:
    """stats' definition (docs/stats.md): robots.txt or the page read (ok) or absent (4xx)."""
    robots = truth["sources"]["robots.txt"]["readings"]
    return set(robots) <= {"ok", "absent"} or truth["reached"]


@pytest.fixture(scope="module")
def crawl(tmp_path_factory):
    out = tmp_path_factory.mktemp("stats") / "records.jsonl"
    with FixtureWeb(SITES, seed=11, corpus=False, slow_delay=3.0) as web:
        truths = [web.truth(i) for i in range(SITES)]
        argv = ["check", "--json", "--allow-private", "--timeout", "0.5"]
        for agent in AGENTS:
            argv += ["--agent", agent]
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            assert main([*argv, *(t["summary"]["url"] for t in truths)]) == 0
    out.write_text(buffer.getvalue(), encoding="utf-8")
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["stats", "--json", str(out)]) == 0
    return truths, json.loads(buffer.getvalue())


def test_stats_counts_every_attempted_site(crawl):
    truths, report = crawl
    assert report["sites"]["attempted"] == SITES
    assert report["sites"]["reached"] == sum(_reached(t) for t in truths)


@pytest.mark.parametrize("agent", AGENTS)
def test_stats_train_ai_per_agent_equals_ground_truth(crawl, agent):
    truths, report = crawl
    row = next(a for a in report["agents"] if a["agent"] == agent)
    asserted = [t for t in truths if t["summary"]["reserved"][agent]["train-ai"] is not None]
    assert len(asserted) > SITES * 0.8
    unknown = [t for t in truths if _reached(t) and t not in asserted]
    want = sum(bool(t["summary"]["reserved"][agent]["train-ai"]) for t in asserted if _reached(t))
    got = row["train_ai_reserved"]["count"]
    assert want <= got <= want + len(unknown)
    crawl_want = sum(
        bool(t["summary"]["reserved"][agent]["crawl"])
        for t in truths
        if _reached(t) and t["summary"]["reserved"][agent]["crawl"] is not None
    )
    assert crawl_want <= row["crawl_reserved"]["count"] <= crawl_want + len(unknown)


def test_stats_families_present_equal_ground_truth(crawl):
    truths, report = crawl
    families = {f["family"]: f for f in report["families"]}
    reached = [t for t in truths if _reached(t)]
    checked = 0
    for family, truth_key in (
        ("content-signal", "content-signal"),
        ("noai", "noai"),
        ("noimageai", "noimageai"),
        ("tdmrep-header", "tdmrep-header"),
        ("tdmrep-meta", "tdmrep-meta"),
        ("noml", "noml"),
        ("content-signal-use", "content-signal-use"),
        ("content-usage-legacy", "content-usage-legacy"),
    ):
        present = families[family]["present"]["count"]
        publishing = sum(bool(t["families"][truth_key]) for t in reached)
        assert present <= publishing, family
        checked += present
    assert checked > 0
    assert report["conflicts"]["sites_with_conflict_finding"]["count"] == sum(
        1 for t in reached if t["summary"]["home_conflicts"]
    )


def test_stats_counts_access_outcomes_as_the_ground_truth(tmp_path):
    """stats' "access" table (docs/stats.md): sites per robots.txt access outcome, against the
    fixture's ground truth, on a web of every access kind (challenge, 402, refused) and more."""
    from collections import Counter

    from reservation_crawler.testing import KINDS, every_variant

    wanted = {"access-challenge", "access-payment", "access-refused", "robots-5xx", "plain"}
    recipes = [r for r in every_variant() if r.kind in wanted]
    assert {r.kind for r in recipes} == wanted and set(wanted) <= set(KINDS)
    with FixtureWeb.from_recipes(recipes, corpus=False) as web:
        truths = [web.truth(i) for i in range(len(recipes))]
        argv = ["check", "--json", "--allow-private", "--timeout", "3"]
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            assert main([*argv, *(t["summary"]["url"] for t in truths)]) == 0
    records = tmp_path / "records.jsonl"
    records.write_text(buffer.getvalue(), encoding="utf-8")
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["stats", "--json", str(records)]) == 0
    report = json.loads(buffer.getvalue())
    want = Counter(t["sources"]["robots.txt"]["access"] for t in truths)
    got = {k: v["count"] for k, v in report["access"]["robots.txt"].items()}
    assert got == {k: want.get(k, 0) for k in got}
    assert got["challenge"] == 4 and got["payment-required"] == 1 and got["refused"] == 1
    assert all(v["denominator"] == len(recipes) for v in report["access"]["robots.txt"].values())


def test_stats_counts_the_search_engine_directives_the_truth_publishes(crawl):
    """Bing's and Google's own directives bind bingbot / Googlebot only (not asked here): stats
    counts them through their finding, page.search-engine-ai-control, on the sites publishing
    them."""
    truths, report = crawl
    reached = [t for t in truths if _reached(t)]
    publishing = sum(bool(t["families"]["search-engine-ai-control"]) for t in reached)
    found = next(
        (f for f in report["findings"] if f["code"] == "page.search-engine-ai-control"), None
    )
    counted = found["sites"]["count"] if found is not None else 0
    assert counted <= publishing
    assert (counted > 0) is (publishing > 0)
