"""Every decision is made once, in core/decide.py, and every path presents that one answer.

Through the paths users take: ``validate --json`` and ``check --json`` (cli.main) over every
fixture-web site must show the same conflicts and the same TDMRep layer winner; the Checker's
``Verdict.final`` must be decide's ``AgentDecision.final`` for the same policy; validate must
decide from the one parse of each page.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from reservation_crawler.cli import main
from reservation_crawler.core.decide import decide_agent
from reservation_crawler.drivers.collect import policy_from_fetches
from reservation_crawler.drivers.fetch import Fetcher, FetchLimits
from reservation_crawler.drivers.lookup import Checker
from reservation_crawler.model.record import Purpose
from reservation_crawler.testing import AGENTS, PAGES, PURPOSES, FixtureWeb, every_variant, recipe

# Sites whose answers depend on timing are left out: two fetches must see the same site.
TIMED_KINDS = {"robots-timeout"}
CONFLICT = re.compile(
    r"^(?P<agent>.+): (?P<purpose>[a-z-]+) is reserved by (?P<reserving>.+) "
    r"but allowed by (?P<allowing>.+); the reservation wins$"
)
RESOLUTION = re.compile(r"^(?P<verdict>reserved|not reserved): the (?P<layer>\S+) layer wins")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def web() -> Iterator[FixtureWeb]:
    recipes = [r for r in every_variant() if r.kind not in TIMED_KINDS]
    with FixtureWeb.from_recipes(recipes, slow_delay=3.0, corpus=False) as fixture_web:
        yield fixture_web


def _run(argv: list[str]) -> tuple[int, str]:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(argv)
    return code, buffer.getvalue()


@pytest.fixture(scope="module")
def reports(web: FixtureWeb) -> list[dict[str, Any]]:
    """``validate --json`` of every site's home page."""
    out = []
    for index in range(len(web)):
        _code, text = _run(
            ["validate", "--json", "--allow-private", "--timeout", "2", web.url(index)]
        )
        out.append(json.loads(text))
    return out


@pytest.fixture(scope="module")
def records(web: FixtureWeb, reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``check --json`` of the same pages, for the agents validate decided for."""
    agents = [a for a in reports[0]["agents"] if a != "*"]
    argv = ["check", "--json", "--allow-private", "--timeout", "2"]
    argv += [web.url(index) for index in range(len(web))]
    for agent in agents:
        argv += ["--agent", agent]
    code, text = _run(argv)
    assert code == 0
    out = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert [r["url"] for r in out] == [web.url(index) for index in range(len(web))]
    return out


def _check_conflicts(record: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    """(agent, purpose, reserving signals, allowing signals) of check's decision.conflict."""
    out = set()
    for finding in record["findings"]:
        if finding["code"] == "decision.conflict":
            match = CONFLICT.match(finding["message"])
            assert match, finding["message"]
            assert match["agent"] == finding["location"]
            out.add((match["agent"], match["purpose"], match["reserving"], match["allowing"]))
    return out


def _signals(refs: list[dict[str, Any]]) -> str:
    return ", ".join(sorted({ref["signal"] for ref in refs}))


def test_validate_shows_the_conflicts_check_reports_on_every_fixture_site(
    web: FixtureWeb, reports: list[dict[str, Any]], records: list[dict[str, Any]]
) -> None:
    """validate merges decide()'s per-agent, per-purpose conflicts by pair of signals: every
    conflict check reports is in a merged one, and every merged one stands for check's."""
    sites_with_conflicts = 0
    for index, (report, record) in enumerate(zip(reports, records, strict=True)):
        where = (index, web.recipes[index].kind, web.recipes[index].variant)
        expected = _check_conflicts(record)
        shown = [c for c in report["conflicts"] if c["kind"] == "signals"]
        sites_with_conflicts += bool(expected)
        for agent, purpose, reserving, allowing in expected:
            assert any(
                agent in c["agents"]
                and purpose in c["purposes"]
                and _signals(c["reserved_by"]) == reserving
                and _signals(c["allowed_by"]) == allowing
                for c in shown
            ), (where, agent, purpose)
        for conflict in shown:
            assert conflict["urls"] == [record["url"]], where
            pairs = {
                (a, p)
                for a, p, r, al in expected
                if r == _signals(conflict["reserved_by"]) and al == _signals(conflict["allowed_by"])
            }
            assert {a for a, _ in pairs} == set(conflict["agents"]), where
            assert {p for _, p in pairs} == set(conflict["purposes"]), where
        # The findings section lists the same conflicts (one occurrence per merged one).
        codes = {f["code"]: f for f in report["findings"]}
        if expected:
            occurrences = codes["decision.conflict"]["occurrences"]
            assert len(occurrences) == len(shown), where
        else:
            assert "decision.conflict" not in codes and not shown, where
    assert sites_with_conflicts >= 3


def test_validate_tdmrep_layer_winner_is_the_layer_decide_chose(
    web: FixtureWeb, reports: list[dict[str, Any]], records: list[dict[str, Any]]
) -> None:
    """The layer validate says wins is the TDMRep evidence of check's record (the same layer
    and effect), and validate shows a layer conflict exactly where decide() reported that a
    later layer overrode another's tdm-reservation."""
    layer_sites = 0
    for index, (report, record) in enumerate(zip(reports, records, strict=True)):
        where = (index, web.recipes[index].kind, web.recipes[index].variant)
        shown = [c for c in report["conflicts"] if c["kind"] == "tdmrep-layers"]
        overrides = [
            f
            for f in record["findings"]
            if f["code"] == "tdmrep.layer-override" and f["message"].startswith("tdm-reservation")
        ]
        assert bool(shown) == bool(overrides), where
        if not shown:
            continue
        layer_sites += 1
        (conflict,) = shown
        tdm_rows = [e for e in record["evidence"] if e["agent"] == "*" and e["signal"] == "tdmrep"]
        (row,) = tdm_rows
        match = RESOLUTION.match(conflict["resolution"])
        assert match, conflict["resolution"]
        assert match["layer"] == row["source"], where
        assert (match["verdict"] == "reserved") == (row["effect"] == "reserved"), where
        assert sorted(conflict["purposes"]) == sorted(row["purposes"]), where
        # The winner is among the layers shown, on the side of its effect.
        side = conflict["reserved_by"] if row["effect"] == "reserved" else conflict["allowed_by"]
        assert any(ref["source"] == row["source"] and ref["raw"] == row["raw"] for ref in side)
    assert layer_sites >= 3


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


@pytest.fixture(scope="module")
def robots_web() -> Iterator[FixtureWeb]:
    recipes = [recipe("no-robots"), recipe("robots-5xx", "503")]
    with FixtureWeb.from_recipes(recipes, corpus=False) as fixture_web:
        yield fixture_web


def test_validate_parses_each_page_once_and_decides_from_that_parse(
    robots_web: FixtureWeb, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reservation_crawler.apps.validate import validate
    from reservation_crawler.drivers import collect
    from reservation_crawler.signals import page as page_module

    parsed: list[str] = []
    parse_page = collect.parse_page

    def counting(url: str, *args: Any, **kwargs: Any) -> Any:
        parsed.append(url)
        return parse_page(url, *args, **kwargs)

    # Wherever a caller takes parse_page from: the collect edge, or the signals module.
    monkeypatch.setattr(collect, "parse_page", counting)
    monkeypatch.setattr(page_module, "parse_page", counting)
    report = validate(robots_web.url(0), urls=[PAGES[1]], allow_private=True)
    pages = [page.url for page in report.pages]
    assert pages == [robots_web.url(0), robots_web.url(0, PAGES[1])]
    assert all(page.source.outcome == "ok" for page in report.pages)
    assert sorted(parsed) == sorted(pages)


def _signal_of(family: str) -> str:
    """stats' evidence family -> decide's signal name (robots-agent / robots-star, tdmrep-*)."""
    return family.split("-")[0] if family.startswith(("robots-", "tdmrep-")) else family


def test_stats_train_ai_disagreements_are_checks_conflicts(
    records: list[dict[str, Any]], tmp_path: Any
) -> None:
    """stats counts a site as disagreeing on train-ai exactly when check reported a train-ai
    decision.conflict there, and each pair of families it names is one of those conflicts'."""
    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    code, text = _run(["stats", "--json", str(path)])
    assert code == 0
    conflicts = json.loads(text)["conflicts"]
    expected = [
        {(r, a) for _agent, purpose, r, a in _check_conflicts(record) if purpose == "train-ai"}
        for record in records
    ]
    assert conflicts["sites_with_train_ai_disagreement"]["count"] == sum(map(bool, expected))
    assert sum(map(bool, expected)) >= 3
    for pair in conflicts["train_ai_disagreements"]:
        reserving, allowing = _signal_of(pair["reserved_by"]), _signal_of(pair["allowed_by"])
        assert any(
            reserving in r.split(", ") and allowing in a.split(", ")
            for site in expected
            for r, a in site
        ), pair
