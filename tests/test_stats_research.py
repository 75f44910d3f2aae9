"""Per-agent robots.txt rates, grouping and trends of ``stats`` (issue 16 item 3), through the CLI
on a fixture-web crawl whose ground truth says, page by page, what robots.txt allows each agent."""

from __future__ import annotations

import contextlib
import csv
import io
import json

import pytest

from reservation_crawler.apps import stats_research as research
from reservation_crawler.cli import main
from reservation_crawler.testing import FixtureWeb

AGENTS = ("GPTBot", "ClaudeBot", "CCBot")
SITES = 72
MIX = {  # on top of the default profile's weights (total ~111)
    "robots-ai-block": 30,
    "robots-paths": 20,
    "robots-block-all": 8,
    "robots-soft404": 8,
    "robots-5xx": 5,
    "robots-timeout": 0,  # a 3 s wait each; robots-5xx gives the unknown sites
}
FLAGS = {"DE": "\U0001f1e9\U0001f1ea", "FR": "\U0001f1eb\U0001f1f7", "JP": "JP", "": ""}


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _check(urls: list[str], agents: tuple[str, ...] = AGENTS) -> str:
    argv = ["check", "--json", "--allow-private", "--timeout", "0.5"]
    for agent in agents:
        argv += ["--agent", agent]
    code, out, _err = _run([*argv, *urls])
    assert code == 0
    return out


@pytest.fixture(scope="module")
def crawl(tmp_path_factory):
    """Every page of every site checked (all pages), the home pages alone, and the input list."""
    tmp = tmp_path_factory.mktemp("research")
    with FixtureWeb(SITES, seed=16, corpus=False, mix=MIX, slow_delay=3.0) as web:
        truths = [web.truth(i) for i in range(SITES)]
        pages = [p["url"] for t in truths for p in t["pages"] if p["type"] == "html"]
        (tmp / "all.jsonl").write_text(_check(pages), encoding="utf-8")
        homes = [t["summary"]["url"] for t in truths]
        (tmp / "home.jsonl").write_text(_check(homes, AGENTS[:2]), encoding="utf-8")
    countries = list(FLAGS)
    with open(tmp / "targets.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["rank", "origin", "panel", "country"])
        for i, t in enumerate(truths):
            writer.writerow([i + 1, t["origin"], f"panel-{i % 3}", FLAGS[countries[i % 4]]])
    return tmp, truths


def _truth_verdict(truth: dict, agent: str, urls: list[str]) -> str:
    """RFC 9309 over ``urls``: full / partial / open from the truth's expected crawl cells."""
    if not set(truth["sources"]["robots.txt"]["readings"]) <= {"ok", "absent"}:
        return "unknown"
    cells = [truth["expected"][u][agent]["crawl"] for u in urls]
    disallowed = sum(c == "reserved" for c in cells)
    if not disallowed:
        return "open"
    return "full" if disallowed == len(cells) else "partial"


def _html_pages(truth: dict) -> list[str]:
    return [p["url"] for p in truth["pages"] if p["type"] == "html"]


def _counts(truths, agent, view) -> dict[str, int]:
    """Verdict counts of the sites whose robots.txt has one acceptable reading."""
    counts = dict.fromkeys(research.VERDICTS, 0)
    for t in truths:
        if len(t["sources"]["robots.txt"]["readings"]) == 1:
            urls = _html_pages(t) if view == "all" else [t["summary"]["url"]]
            counts[_truth_verdict(t, agent, urls)] += 1
    return counts


def _ambiguous(truths) -> int:
    """Sites where the truth accepts two readings (e.g. a robots.txt typed text/html)."""
    return sum(len(t["sources"]["robots.txt"]["readings"]) > 1 for t in truths)


def _assert_within(got: int, want: int, truths) -> None:
    assert want <= got <= want + _ambiguous(truths)


def _rates(path, *extra) -> dict:
    code, out, err = _run(["stats", "--json", str(path), *extra])
    assert code == 0, err
    return json.loads(out)


def _row(rows, agent):
    return next(r for r in rows if r["agent"] == agent)


@pytest.mark.parametrize("agent", AGENTS)
def test_rfc9309_rates_equal_the_truth_page_by_page(crawl, agent):
    tmp, truths = crawl
    report = _rates(tmp / "all.jsonl")
    assert report["agent_rates"]["definition"]["name"] == "rfc9309"
    row = _row(report["agent_rates"]["agents"], agent)
    want = _counts(truths, agent, "all")
    assert want["partial"] > 0 and want["full"] > 0 and want["unknown"] > 0  # the test can fail
    got = {v: row[f"{v}_disallow" if v in ("full", "partial") else v]["count"] for v in want}
    for verdict in want:
        _assert_within(got[verdict], want[verdict], truths)
    assert _ambiguous(truths) <= SITES // 8
    assert row["sites"] == SITES
    named = sum(agent.casefold() in t["families"]["robots-ai-groups"] for t in truths)
    assert row["mentioned"]["count"] == named


@pytest.mark.parametrize("agent", AGENTS[:2])
def test_home_page_definition_reads_the_home_page_only(crawl, agent):
    tmp, truths = crawl
    for records in ("all.jsonl", "home.jsonl"):  # the same answer from a deep or a home crawl
        row = _row(
            _rates(tmp / records, "--definition", "home-page")["agent_rates"]["agents"], agent
        )
        want = _counts(truths, agent, "home")
        assert want["partial"] == 0
        assert row["partial_disallow"]["count"] == 0
        _assert_within(row["full_disallow"]["count"], want["full"], truths)
        _assert_within(row["open"]["count"], want["open"], truths)
        _assert_within(row["unknown"]["count"], want["unknown"], truths)


def test_named_groups_and_no_rules_axes(crawl):
    tmp, truths = crawl
    fallback = _rates(tmp / "all.jsonl")["agent_rates"]["agents"]
    named = _rates(tmp / "all.jsonl", "--definition", "named-groups")["agent_rates"]["agents"]
    strict = _rates(tmp / "all.jsonl", "--definition", "rfc9309,no_rules=unknown")
    assert strict["agent_rates"]["definition"]["no_rules"] == "unknown"
    soft404 = sum(t["kind"] == "robots-soft404" for t in truths)
    assert soft404
    for agent in AGENTS:
        f, n = _row(fallback, agent), _row(named, agent)
        s = _row(strict["agent_rates"]["agents"], agent)
        # '*' groups count only under fallback: sites that block the agent through '*' alone
        # (no group names it) are open under named-groups.
        star_only = sum(
            _truth_verdict(t, agent, _html_pages(t)) in ("full", "partial")
            and agent.casefold() not in t["families"]["robots-ai-groups"]
            for t in truths
            if len(t["sources"]["robots.txt"]["readings"]) == 1
        )
        assert star_only > 0
        blocked_f = f["full_disallow"]["count"] + f["partial_disallow"]["count"]
        blocked_n = n["full_disallow"]["count"] + n["partial_disallow"]["count"]
        _assert_within(blocked_f - blocked_n, star_only, truths)
        assert n["unknown"] == f["unknown"]
        # An HTML page served as robots.txt: open by RFC 9309, unknown when asked.
        assert s["unknown"]["count"] == f["unknown"]["count"] + soft404
    code, _out, err = _run(["stats", str(tmp / "all.jsonl"), "--definition", "everything"])
    assert code == 2 and "rfc9309" in err
    code, _out, err = _run(["stats", str(tmp / "all.jsonl"), "--definition", "pages=some"])
    assert code == 2 and "pages=all-pages|home-page" in err


def test_operator_and_purpose_groups(crawl):
    tmp, _truths = crawl
    rates = _rates(tmp / "all.jsonl")["agent_rates"]
    agents = {r["agent"]: r for r in rates["agents"]}
    openai = next(r for r in rates["operators"] if r["operator"] == "OpenAI")
    assert openai["agents"] == ["GPTBot"]
    for key in ("full_disallow", "partial_disallow", "open", "unknown", "mentioned"):
        assert openai[key] == agents["GPTBot"][key]
    training = next(r for r in rates["purposes"] if r["purpose"] == "training")
    members = [agents[a] for a in training["agents"]]
    assert len(members) >= 2
    # A site counts as "full" for the group when it fully disallows at least one member.
    assert training["full_disallow"]["count"] >= max(m["full_disallow"]["count"] for m in members)
    assert training["unknown"]["count"] <= min(m["unknown"]["count"] for m in members)


def test_group_by_input_column_partitions_the_sites(crawl):
    tmp, truths = crawl
    report = _rates(tmp / "all.jsonl", "--targets", str(tmp / "targets.csv"), "--group-by", "panel")
    (groups,) = report["groups"]
    assert groups["by"] == "panel"
    assert sorted(g["group"] for g in groups["groups"]) == ["panel-0", "panel-1", "panel-2"]
    assert sum(g["sites"]["attempted"] for g in groups["groups"]) == SITES
    for g in groups["groups"]:
        members = [t for i, t in enumerate(truths) if f"panel-{i % 3}" == g["group"]]
        want = _counts(members, "GPTBot", "all")
        got = _row(g["agents"], "GPTBot")["full_disallow"]["count"]
        _assert_within(got, want["full"], members)


def test_group_by_rank_band_of_a_tranco_list(crawl):
    """The headerless rank,domain list given to crawl, as --targets: rank_band is derived."""
    tmp, truths = crawl
    tranco = tmp / "tranco.csv"
    tranco.write_text(
        "".join(f"{i + 1},{t['origin'].split('://')[1]}\n" for i, t in enumerate(truths)),
        encoding="utf-8",
    )
    report = _rates(tmp / "all.jsonl", "--targets", str(tranco), "--group-by", "rank_band")
    bands = {g["group"]: g["sites"]["attempted"] for g in report["groups"][0]["groups"]}
    assert bands == {"top-10": 10, "top-100": SITES - 10}


def test_group_by_country_and_region(crawl):
    tmp, _truths = crawl
    targets = str(tmp / "targets.csv")
    report = _rates(
        tmp / "all.jsonl",
        *("--targets", targets, "--country-column", "country"),
        *("--group-by", "country", "--group-by", "region"),
    )
    countries, regions = report["groups"]
    by_country = {g["group"]: g["sites"]["attempted"] for g in countries["groups"]}
    quarter = SITES // 4
    assert by_country == {"DE": quarter, "FR": quarter, "JP": quarter, "(no country)": quarter}
    by_region = {g["group"]: g["sites"]["attempted"] for g in regions["groups"]}
    assert by_region["EU"] == by_region["EEA"] == 2 * quarter
    assert by_region["G7"] == 3 * quarter  # DE, FR, JP
    assert "ASEAN" not in by_region
    plots = tmp / "group-plots"
    code, out, _err = _run(
        [
            "stats",
            str(tmp / "all.jsonl"),
            *("--targets", targets, "--group-by", "region", "--country-column", "country"),
            *("--plot", str(plots), "--plot-format", "svg"),
        ]
    )
    assert code == 0 and "By region" in out and "EU" in out
    svg = (plots / "groups-region.svg").read_text(encoding="utf-8")
    assert "full disallow by region" in svg and "EU (n = " in svg
    code, _out, err = _run(["stats", str(tmp / "all.jsonl"), "--group-by", "panel"])
    assert code == 2 and "--targets" in err
    code, _out, err = _run(
        ["stats", str(tmp / "all.jsonl"), "--targets", targets, "--group-by", "nope"]
    )
    assert code == 2 and "panel" in err


@pytest.mark.parametrize(
    ("origin", "country"),
    [
        ("https://www.bbc.co.uk", "GB"),
        ("https://example.de:8443", "DE"),
        ("https://news.example.com.my", "MY"),
        ("https://example.com", None),
        ("https://europa.eu", None),
        ("https://www.france.tv", None),  # a country code used generically
        ("https://example.io", None),
        ("http://s00001.fixture.localhost:1234", None),
    ],
)
def test_country_of_origin_from_the_public_suffix_list(origin, country):
    assert research.country_of_origin(origin) == country


def test_trend_over_crawls_table_json_and_line_plot(crawl, tmp_path):
    tmp, truths = crawl
    code, out, err = _run(
        [
            "stats",
            "trend",
            f"deep={tmp / 'all.jsonl'}",
            str(tmp / "home.jsonl"),
            "--json",
            "--plot",
            str(tmp_path),
            "--plot-format",
            "png,svg,pdf",
        ]
    )
    assert code == 0, err
    trend = json.loads(out)
    assert trend["schema"] == research.TREND_SCHEMA
    deep, home = trend["crawls"]
    assert deep["label"] == "deep"
    assert home["label"] == home["fetched_at_range"]["last"][:10]  # the crawl's date
    got = _row(deep["agents"], "GPTBot")["full_disallow"]["count"]
    _assert_within(got, _counts(truths, "GPTBot", "all")["full"], truths)
    assert trend["agents"] == ["CCBot", "ClaudeBot", "GPTBot"]
    for fmt in ("png", "svg", "pdf"):
        assert (tmp_path / f"trend-agents.{fmt}").stat().st_size > 1000
    code, out, _err = _run(["stats", "trend", str(tmp / "all.jsonl"), str(tmp / "home.jsonl")])
    assert code == 0 and "full-disallow share per agent" in out
    code, _out, err = _run(["stats", "trend", str(tmp / "all.jsonl")])
    assert code == 2 and "two crawls" in err


def test_diff_warns_when_depth_or_agents_differ_and_draws_transitions(crawl, tmp_path):
    tmp, _truths = crawl
    code, out, err = _run(
        [
            "stats",
            "diff",
            str(tmp / "all.jsonl"),
            str(tmp / "home.jsonl"),
            "--json",
            "--plot",
            str(tmp_path),
            "--plot-format",
            "svg",
        ]
    )
    assert code == 0
    diff = json.loads(out)
    depth, agents = diff["warnings"]
    assert "differ in depth" in depth and "differ in agents" in agents and "CCBot" in agents
    assert "warning: the crawls differ in depth" in err
    assert diff["fetched_at_range"]["a"]["first"] <= diff["fetched_at_range"]["a"]["last"]
    svg = (tmp_path / "diff-transitions.svg").read_text()
    assert "train-ai site decision" in svg or "<svg" in svg
    assert (tmp_path / "diff-families.svg").exists()
    code, out, err = _run(["stats", "diff", str(tmp / "all.jsonl"), str(tmp / "all.jsonl")])
    assert code == 0 and "warning" not in err


def test_plots_in_every_format_with_input_and_date_in_the_title(crawl, tmp_path):
    tmp, _truths = crawl
    code, _out, err = _run(
        ["stats", str(tmp / "all.jsonl"), "--plot", str(tmp_path), "--plot-format", "svg,pdf,png"]
    )
    assert code == 0, err
    for stem in ("purposes", "families", "agents", "conflicts"):
        for fmt in ("png", "svg", "pdf"):
            assert (tmp_path / f"{stem}.{fmt}").stat().st_size > 1000
    svg = (tmp_path / "purposes.svg").read_text()
    assert "all.jsonl" in svg and "fetched 20" in svg
    assert "#e69f00" in svg.lower()  # Okabe-Ito orange, the first series
    code, _out, err = _run(["stats", str(tmp / "all.jsonl"), "--plot-format", "gif"])
    assert code == 2 and "png, svg, pdf" in err
