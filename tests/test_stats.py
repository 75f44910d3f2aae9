"""``stats`` and ``stats diff``: numbers from crafted crawls equal hand-computed expectations.

The crafted crawl A has twelve sites (docs/stats.md, "Worked example"); every expected number
below is counted by hand from the table in ``crawl_a`` and its comments, not by the code.
Records are built with the real record types (``ReservationRecord.to_json``), decisions with the
combination rule decide() applies (``decide._combine_rows``) and conflict findings the way
``decide`` makes them.
"""

from __future__ import annotations

import gzip
import io
import json
import struct
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from reservation_crawler import cli
from reservation_crawler.apps import stats
from reservation_crawler.core.decide import DECISION_CONFLICT, _combine_rows
from reservation_crawler.drivers.cache import ReservationCache
from reservation_crawler.model.findings import Finding, Severity
from reservation_crawler.model.record import (
    PURPOSES,
    Decision,
    Evidence,
    Outcome,
    Purpose,
    ReservationRecord,
    SourceOutcome,
)

AGENTS = ("*", "GPTBot", "CCBot")
ALL = PURPOSES
AI_USE = (Purpose.TRAIN_AI, Purpose.AI_USE)
TRAIN = (Purpose.TRAIN_AI,)
R, A = Decision.RESERVED, Decision.ALLOWED
OK, ABSENT, UNREACHABLE, ERROR, NOT_FETCHED = (
    Outcome.OK,
    Outcome.ABSENT,
    Outcome.UNREACHABLE,
    Outcome.ERROR,
    Outcome.NOT_FETCHED,
)


def ev(
    signal: str,
    source: str,
    effect: Decision,
    purposes: Sequence[Purpose],
    *,
    scope: str = "*",
    agents: Sequence[str] = AGENTS,
) -> list[Evidence]:
    """The same signal seen by each of ``agents``."""
    return [
        Evidence(agent, tuple(purposes), effect, signal, source, scope, f"{signal} {effect}")
        for agent in agents
    ]


def make_record(
    origin: str,
    path: str = "/",
    *,
    robots: Outcome = OK,
    page: Outcome = OK,
    aitxt: Outcome = ABSENT,
    tdmrep: Outcome = ABSENT,
    evidence: Sequence[Evidence] = (),
    findings: Sequence[Finding] = (),
) -> dict[str, Any]:
    """A record as decide() would shape it: robots evidence for every agent, decisions by the
    aipref rule, a decision.conflict per agent and purpose that is both reserved and allowed."""
    rows = list(evidence)
    for agent in AGENTS:
        if any(e.agent == agent and e.signal == "robots" for e in rows):
            continue
        if robots in (UNREACHABLE, ERROR):
            rows += ev("robots", "robots.txt", R, ALL, agents=[agent])
        elif robots in (OK, ABSENT):
            rows += ev("robots", "robots.txt", A, (Purpose.CRAWL,), agents=[agent])
    decisions = {}
    conflicts = []
    for agent in AGENTS:
        mine = [e for e in rows if e.agent == agent]
        decisions[agent] = dict(_combine_rows(mine)[0])
        for p in ALL:
            effects = {e.effect for e in mine if p in e.purposes}
            if {R, A} <= effects:
                conflicts.append(DECISION_CONFLICT(f"{agent}: {p}", location=agent))
    url = origin + path
    record = ReservationRecord(
        url=url,
        origin=origin,
        fetched_at="2026-11-22T10:00:00Z",
        sources={
            "robots.txt": SourceOutcome(origin + "/robots.txt", robots),
            "ai.txt": SourceOutcome(origin + "/ai.txt", aitxt),
            "tdmrep.json": SourceOutcome(origin + "/.well-known/tdmrep.json", tdmrep),
            "page": SourceOutcome(url, page),
        },
        decisions=decisions,
        evidence=tuple(rows),
        findings=(*findings, *conflicts),
    )
    return record.to_json()


UNREACHABLE_FINDING = Finding("robots.unreachable", Severity.ERROR, "robots.txt", "5xx")


def crawl_a() -> list[dict[str, Any]]:
    """Twelve sites, ten reached (s8, s9 not). Agents *, GPTBot, CCBot."""
    gpt_blocked = ev("robots", "robots.txt", R, ALL, scope="GPTBot", agents=["GPTBot"])
    return [
        # s1: robots.txt group for GPTBot disallows everything; two pages.
        make_record("https://s1.example", "/", evidence=gpt_blocked),
        make_record("https://s1.example", "/x", evidence=gpt_blocked),
        # s2: Content-Signal ai-train=no, search=yes in robots.txt (* group).
        make_record(
            "https://s2.example",
            evidence=ev("content-signal", "robots.txt", R, TRAIN)
            + ev("content-signal", "robots.txt", A, (Purpose.SEARCH,)),
        ),
        # s3: tdmrep.json reserves /a only: the site reserves, its home page does not.
        make_record("https://s3.example", "/", tdmrep=OK),
        make_record(
            "https://s3.example", "/a", tdmrep=OK, evidence=ev("tdmrep", "tdmrep.json", R, AI_USE)
        ),
        # s4: tdm-reservation: 1 header on the home page, meta tdm-reservation 0 on /b.
        make_record("https://s4.example", evidence=ev("tdmrep", "header", R, AI_USE)),
        make_record("https://s4.example", "/b", evidence=ev("tdmrep", "meta", A, AI_USE)),
        # s5: ai.txt disallows everyone.
        make_record("https://s5.example", aitxt=OK, evidence=ev("ai.txt", "ai.txt", R, TRAIN)),
        # s6: noai on the home page, noimageai on an image.
        make_record("https://s6.example", evidence=ev("noai", "meta", R, AI_USE)),
        make_record(
            "https://s6.example", "/img.png", evidence=ev("noimageai", "header", R, AI_USE)
        ),
        # s7: tdmrep.json allows (0) while robots.txt blocks GPTBot: a conflict for GPTBot
        # (train-ai and ai-use: two findings, one record).
        make_record(
            "https://s7.example",
            tdmrep=OK,
            evidence=gpt_blocked + ev("tdmrep", "tdmrep.json", A, AI_USE),
        ),
        # s8: robots.txt unreachable, page not fetched: attempted, not reached.
        make_record(
            "https://s8.example",
            robots=UNREACHABLE,
            page=NOT_FETCHED,
            aitxt=UNREACHABLE,
            findings=[UNREACHABLE_FINDING],
        ),
        # s9: robots.txt and page unusable (error): not reached.
        make_record("https://s9.example", robots=ERROR, page=ERROR),
        # s10: nothing reserved.
        make_record("https://s10.example"),
        # s11: robots.txt "User-agent: * / Disallow: /"; our crawler did not fetch the page.
        make_record(
            "https://s11.example",
            page=NOT_FETCHED,
            evidence=ev("robots", "robots.txt", R, ALL),
        ),
        # s12: Content-Usage train-ai=n header; a CCBot group that allows (present, no reserve).
        make_record(
            "https://s12.example",
            evidence=ev("content-usage", "header", R, TRAIN)
            + ev("robots", "robots.txt", A, (Purpose.CRAWL,), scope="CCBot", agents=["CCBot"]),
        ),
    ]


def crawl_b() -> list[dict[str, Any]]:
    """Crawl A a month later: s1 drops its GPTBot group, s5 swaps ai.txt for noai, s10 adds
    Content-Signal, s8 comes back, s12 is gone and s13 is new."""
    changed = {
        "https://s1.example": [
            make_record("https://s1.example", "/"),
            make_record("https://s1.example", "/x"),
        ],
        "https://s5.example": [
            make_record("https://s5.example", evidence=ev("noai", "meta", R, AI_USE))
        ],
        "https://s10.example": [
            make_record(
                "https://s10.example", evidence=ev("content-signal", "robots.txt", R, TRAIN)
            )
        ],
        "https://s8.example": [make_record("https://s8.example")],
        "https://s12.example": [],
    }
    out: list[dict[str, Any]] = []
    done: set[str] = set()
    for record in crawl_a():
        origin = record["origin"]
        if origin in changed:
            if origin not in done:
                out += changed[origin]
                done.add(origin)
        else:
            out.append(record)
    out.append(make_record("https://s13.example"))
    return out


# --- writing the crafted crawls in every format ------------------------------------------------


def write_jsonl(path: Path, records: Sequence[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def write_jsonl_gz(path: Path, records: Sequence[dict[str, Any]]) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.writelines(json.dumps(r) + "\n" for r in records)
    return path


def write_parquet_nested(path: Path, records: Sequence[dict[str, Any]]) -> Path:
    """pyarrow's own inference: nested objects become structs, absent fields null."""
    pq.write_table(pa.Table.from_pylist(list(records)), path)
    return path


def write_parquet_json_text(path: Path, records: Sequence[dict[str, Any]]) -> Path:
    """Nested columns as JSON text, as a feed exporter that serializes them would write."""
    rows = [
        {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in r.items()}
        for r in records
    ]
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=5)
    return path


def write_parquet_maps(path: Path, records: Sequence[dict[str, Any]]) -> Path:
    """decisions as map<string, map<string, string>> and sources as a map of structs."""
    source_type = pa.struct([("url", pa.string()), ("outcome", pa.string())])
    schema = pa.schema(
        [
            ("schema", pa.string()),
            ("url", pa.string()),
            ("origin", pa.string()),
            ("fetched_at", pa.string()),
            ("sources", pa.map_(pa.string(), source_type)),
            ("decisions", pa.map_(pa.string(), pa.map_(pa.string(), pa.string()))),
            ("evidence", pa.string()),
            ("findings", pa.string()),
        ]
    )
    rows = [
        {
            "schema": r["schema"],
            "url": r["url"],
            "origin": r["origin"],
            "fetched_at": r.get("fetched_at"),
            "sources": [
                (k, {"url": v["url"], "outcome": v["outcome"]}) for k, v in r["sources"].items()
            ],
            "decisions": [(a, list(cells.items())) for a, cells in r["decisions"].items()],
            "evidence": json.dumps(r["evidence"]),
            "findings": json.dumps(r["findings"]),
        }
        for r in records
    ]
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


def write_parquet_crawler(path: Path, records: Sequence[dict[str, Any]]) -> Path:
    """The crawler's own Parquet layout (scrapy.exporters.RECORD_SCHEMA: maps of structs)."""
    from reservation_crawler.scrapy.exporters import RECORD_SCHEMA, record_row

    rows = [record_row(r) for r in records]
    pq.write_table(pa.Table.from_pylist(rows, schema=RECORD_SCHEMA), path, row_group_size=4)
    return path


# --- running the command -----------------------------------------------------------------------


def run(argv: Sequence[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(["stats", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def report_of(argv: Sequence[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code, out, err = run([*argv, "--json"], capsys)
    assert code == 0, err
    return json.loads(out)


def count(share: dict[str, Any]) -> tuple[int, int]:
    return share["count"], share["denominator"]


def family(report: dict[str, Any], name: str) -> dict[str, tuple[int, int]]:
    (row,) = [f for f in report["families"] if f["family"] == name]
    return {
        k: count(row[k]) for k in ("present", "reserves", "reserves_train_ai", "allows_train_ai")
    }


def agent(report: dict[str, Any], token: str) -> dict[str, Any]:
    (row,) = [a for a in report["agents"] if a["agent"] == token]
    return row


@pytest.fixture
def crawl_a_jsonl(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "a.jsonl", crawl_a())


# --- the numbers -----------------------------------------------------------------------------


def test_sites_attempted_and_reached(crawl_a_jsonl: Path, capsys: pytest.CaptureFixture[str]):
    report = report_of([str(crawl_a_jsonl)], capsys)
    assert report["records"]["read"] == 16
    assert report["records"]["home_page"] == 12
    assert report["records"]["malformed"] == 0
    assert report["sites"] == {"attempted": 12, "reached": 10, "not_reached": 2}


def test_train_ai_headline(crawl_a_jsonl: Path, capsys: pytest.CaptureFixture[str]):
    train = report_of([str(crawl_a_jsonl)], capsys)["train_ai"]
    # any agent: s1 s2 s3 s4 s5 s6 s7 s11 s12 (s10 reserves nothing; s8, s9 not reached)
    assert count(train["any_agent"]) == (9, 10)
    assert train["any_agent"]["share"] == 0.9
    # every agent: s1 and s7 reserve for GPTBot only
    assert count(train["all_agents"]) == (7, 10)
    # home pages: s3 reserves on /a only
    assert count(train["home_page_any_agent"]) == (8, 10)


def test_purposes(crawl_a_jsonl: Path, capsys: pytest.CaptureFixture[str]):
    purposes = report_of([str(crawl_a_jsonl)], capsys)["purposes"]
    assert {p: count(v["any_agent"]) for p, v in purposes.items()} == {
        "crawl": (3, 10),  # s1, s7 (GPTBot), s11
        "train-ai": (9, 10),
        "ai-use": (6, 10),  # s1, s7 (robots), s3, s4 (TDMRep), s6 (noai), s11
        "search": (3, 10),  # robots.txt disallows reserve every purpose
    }
    assert {p: count(v["all_agents"]) for p, v in purposes.items()} == {
        "crawl": (1, 10),
        "train-ai": (7, 10),
        "ai-use": (4, 10),
        "search": (1, 10),
    }


def test_signal_families(crawl_a_jsonl: Path, capsys: pytest.CaptureFixture[str]):
    report = report_of([str(crawl_a_jsonl)], capsys)
    keys = ("present", "reserves", "reserves_train_ai", "allows_train_ai")

    def row(*numbers: int) -> dict[str, tuple[int, int]]:
        return {k: (n, 10) for k, n in zip(keys, numbers, strict=True)}

    assert family(report, "robots-agent") == row(3, 2, 2, 0)  # s1, s7 GPTBot; s12 CCBot allows
    assert family(report, "robots-star") == row(10, 1, 1, 0)  # every reached site; s11 reserves
    assert family(report, "content-signal") == row(1, 1, 1, 0)
    assert family(report, "content-usage") == row(1, 1, 1, 0)
    assert family(report, "tdmrep") == row(3, 2, 2, 2)  # s3, s4 reserve; s4 (meta), s7 allow
    assert family(report, "tdmrep-file") == row(2, 1, 1, 1)
    assert family(report, "tdmrep-header") == row(1, 1, 1, 0)
    assert family(report, "tdmrep-meta") == row(1, 0, 0, 1)
    assert family(report, "ai.txt") == row(1, 1, 1, 0)
    assert family(report, "noai") == row(1, 1, 1, 0)
    assert family(report, "noimageai") == row(1, 1, 1, 0)
    assert [f["family"] for f in report["families"]] == [f for f, _ in stats.FAMILIES]


def test_agents(crawl_a_jsonl: Path, capsys: pytest.CaptureFixture[str]):
    report = report_of([str(crawl_a_jsonl)], capsys)
    assert [a["agent"] for a in report["agents"]] == ["GPTBot", "CCBot"]  # by crawl disallowed
    gpt = agent(report, "GPTBot")
    assert gpt["evaluated"] == 10
    assert gpt["in_registry"] and gpt["operator"] == "OpenAI"
    assert count(gpt["crawl_reserved"]) == (3, 10)
    assert count(gpt["train_ai_reserved"]) == (9, 10)
    assert count(gpt["named_in_robots_txt"]) == (2, 10)
    ccbot = agent(report, "CCBot")
    assert count(ccbot["crawl_reserved"]) == (1, 10)
    assert count(ccbot["train_ai_reserved"]) == (7, 10)
    assert count(ccbot["named_in_robots_txt"]) == (0, 10)  # its group allows
    registry = report["registry"]
    assert registry["available"]
    assert "GPTBot" not in registry["not_evaluated"]
    assert "ClaudeBot" in registry["not_evaluated"]
    assert len(registry["not_evaluated"]) == registry["agents"] - 2


def test_conflicts(crawl_a_jsonl: Path, capsys: pytest.CaptureFixture[str]):
    conflicts = report_of([str(crawl_a_jsonl)], capsys)["conflicts"]
    assert count(conflicts["sites_with_conflict_finding"]) == (1, 10)  # s7
    assert conflicts["records_with_conflict_finding"] == 1
    # s4's header reserve and meta allow are on different pages: not a disagreement
    assert count(conflicts["sites_with_train_ai_disagreement"]) == (1, 10)
    assert conflicts["train_ai_disagreements"] == [
        {
            "reserved_by": "robots-agent",
            "allowed_by": "tdmrep-file",
            "sites": {"count": 1, "denominator": 10, "share": 0.1},
        }
    ]


def test_sources_and_findings_count_attempted_sites(
    crawl_a_jsonl: Path, capsys: pytest.CaptureFixture[str]
):
    report = report_of([str(crawl_a_jsonl)], capsys)
    sources = {
        name: {o: v["count"] for o, v in outcomes.items() if v["count"]}
        for name, outcomes in report["sources"].items()
    }
    assert sources == {
        "robots.txt": {"ok": 10, "unreachable": 1, "error": 1},
        "ai.txt": {"ok": 1, "absent": 10, "unreachable": 1},
        "tdmrep.json": {"ok": 2, "absent": 10},
        "page": {"ok": 9, "not-fetched": 2, "error": 1},
    }
    assert all(v["denominator"] == 12 for o in report["sources"].values() for v in o.values())
    assert {f["code"]: count(f["sites"]) for f in report["findings"]} == {
        "decision.conflict": (1, 12),
        "robots.unreachable": (1, 12),
    }


def test_agent_option_restricts_agents(crawl_a_jsonl: Path, capsys: pytest.CaptureFixture[str]):
    report = report_of([str(crawl_a_jsonl), "--agent", "ccbot", "--agent", "NoSuchBot"], capsys)
    assert report["agents_considered"] == ["*", "ccbot", "nosuchbot"]
    # GPTBot-only reservations (s1, s7) no longer count
    assert count(report["train_ai"]["any_agent"]) == (7, 10)
    assert [a["agent"] for a in report["agents"]] == ["CCBot"]
    assert family(report, "robots-agent")["present"] == (1, 10)  # s12's CCBot group
    # s7's conflict is about GPTBot
    assert count(report["conflicts"]["sites_with_conflict_finding"]) == (0, 10)
    assert report["registry"]["asked_but_absent"] == ["NoSuchBot"]


def test_conflict_code_is_the_one_decide_declares():
    assert DECISION_CONFLICT.code == stats.CONFLICT_CODE


def test_home_page_view(crawl_a_jsonl: Path, capsys: pytest.CaptureFixture[str]):
    report = report_of([str(crawl_a_jsonl), "--home-page"], capsys)
    assert report["view"] == "home-page"
    assert report["sites"] == {"attempted": 12, "reached": 10, "not_reached": 2}
    assert count(report["train_ai"]["any_agent"]) == (8, 10)
    assert "home_page_any_agent" not in report["train_ai"]
    assert family(report, "tdmrep-file")["present"] == (1, 10)  # s7; s3's rule is on /a
    assert family(report, "noimageai")["present"] == (0, 10)  # on /img.png


def test_home_page_is_origin_with_or_without_slash():
    site = stats.SiteStats()
    for url in ("https://h.example", "https://h.example/", "https://h.example/?q"):
        record = make_record("https://h.example")
        record["url"] = url
        site.add(stats.normalize_record(record))
    assert site.home_records == 2


def test_text_report(crawl_a_jsonl: Path, capsys: pytest.CaptureFixture[str]):
    code, out, err = run([str(crawl_a_jsonl)], capsys)
    assert code == 0
    assert err == ""  # no progress line when stderr is not a terminal
    assert "Sites: 12 attempted, 10 reached (83.3%), 2 not reached." in out
    lines = out.splitlines()
    (headline,) = [line for line in lines if "by any signal, for at least one agent" in line]
    assert headline.split()[-2:] == ["9", "90.0%"]
    gpt, rates = [line for line in lines if line.strip().startswith("GPTBot")]
    # The per-agent robots.txt table (rfc9309 definition) follows the adoption tables.
    assert rates.split()[1] == "12"
    assert gpt.split()[1:] == ["OpenAI", "10", "3", "30.0%", "9", "90.0%", "2", "20.0%"]


def test_agent_rates_worked_example(crawl_a_jsonl: Path, capsys: pytest.CaptureFixture[str]):
    """docs/stats.md, per-agent rates: counted by hand on crawl A."""

    def rates(*definition: str) -> dict[str, dict[str, Any]]:
        report = report_of([str(crawl_a_jsonl), *definition], capsys)
        return {r["agent"]: r for r in report["agent_rates"]["agents"]}

    def verdicts(row: dict[str, Any]) -> tuple[int, ...]:
        keys = ("full_disallow", "partial_disallow", "open", "unknown", "mentioned")
        return tuple(row[k]["count"] for k in keys)

    fallback = rates()
    # GPTBot: full on s1 (its group, both pages), s7 (its group), s11 ('*' Disallow: /);
    # unknown on s8 (robots.txt unreachable) and s9 (error); named on s1 and s7.
    assert verdicts(fallback["GPTBot"]) == (3, 0, 7, 2, 2)
    assert count(fallback["GPTBot"]["full_disallow"]) == (3, 12)
    # CCBot: only s11 blocks it, through '*'; s12 names it in a group that allows.
    assert verdicts(fallback["CCBot"]) == (1, 0, 9, 2, 1)
    named = rates("--definition", "named-groups")
    assert verdicts(named["GPTBot"]) == (2, 0, 8, 2, 2)
    assert verdicts(named["CCBot"]) == (0, 0, 10, 2, 1)
    home = rates("--definition", "home-page")
    assert verdicts(home["GPTBot"]) == (3, 0, 7, 2, 2)
    report = report_of([str(crawl_a_jsonl), "--home-page"], capsys)
    assert report["agent_rates"]["definition"]["pages"] == "home-page"


def test_policy_unknown_finding_makes_the_rates_unknown(monkeypatch: pytest.MonkeyPatch):
    """A finding listed in POLICY_UNKNOWN_FINDINGS (issue 16 item 2: a challenge served as
    robots.txt) turns the site's verdict to unknown under every definition."""
    from reservation_crawler.apps import stats_research as research

    monkeypatch.setattr(stats, "POLICY_UNKNOWN_FINDINGS", frozenset({"robots.challenge-test"}))
    site = stats.SiteStats()
    for origin, findings in (("https://a.example", []), ("https://b.example", ["x"])):
        record = make_record(origin)
        record["findings"] = [
            {"code": "robots.challenge-test", "severity": "error", "source": "robots.txt"}
            for _ in findings
        ]
        site.add(stats.normalize_record(record))
    for name in research.DEFINITIONS:
        rates = research.agent_rates(site, research.parse_definition(name))
        (gpt,) = [r for r in rates["agents"] if r["agent"] == "GPTBot"]
        assert gpt["unknown"]["count"] == 1, name


# --- formats ---------------------------------------------------------------------------------


def _numbers(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k != "inputs"}


@pytest.mark.parametrize(
    "writer, name",
    [
        (write_jsonl_gz, "a.jsonl.gz"),
        (write_parquet_nested, "a.parquet"),
        (write_parquet_json_text, "a-text.parquet"),
        (write_parquet_maps, "a-maps.parquet"),
        (write_parquet_crawler, "a-crawler.parquet"),
    ],
)
def test_formats_give_identical_numbers(
    writer: Any,
    name: str,
    crawl_a_jsonl: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
):
    expected = _numbers(report_of([str(crawl_a_jsonl)], capsys))
    path = writer(tmp_path / name, crawl_a())
    assert _numbers(report_of([str(path)], capsys)) == expected


def test_several_files_and_directories(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    records = crawl_a()
    expected = _numbers(report_of([str(write_jsonl(tmp_path / "all.jsonl", records))], capsys))
    parts = tmp_path / "parts"
    (parts / "deep").mkdir(parents=True)
    # a site split across files and formats still counts once
    write_jsonl(parts / "one.jsonl", records[:5])
    write_parquet_nested(parts / "deep" / "two.parquet", records[5:11])
    write_jsonl_gz(tmp_path / "three.jsonl.gz", records[11:])
    (parts / "notes.txt").write_text("not records")
    report = report_of([str(parts), str(tmp_path / "three.jsonl.gz")], capsys)
    assert len(report["inputs"]) == 3
    assert _numbers(report) == expected


def test_redis_source(redis_url: str, redis_client: Any, tmp_path: Path, capsys, monkeypatch):
    expected = _numbers(report_of([str(write_jsonl(tmp_path / "a.jsonl", crawl_a()))], capsys))
    cache = ReservationCache(redis_client)
    pipe = redis_client.pipeline()
    for record in crawl_a():
        cache.put_record(record["url"], record, pipe=pipe)
    pipe.execute()
    assert _numbers(report_of([redis_url], capsys)) == expected
    assert (
        _numbers(report_of([str(tmp_path / "a.jsonl"), "--redis", redis_url], capsys))["sites"]
        == expected["sites"]
    )  # the same sites twice still count once
    monkeypatch.setenv("REDIS_URL", redis_url)
    assert _numbers(report_of(["redis"], capsys)) == expected


def test_redis_unreachable_is_exit_2(capsys: pytest.CaptureFixture[str]):
    code, out, err = run(["redis://127.0.0.1:1/0"], capsys)
    assert code == 2
    assert out == ""
    assert err.startswith("stats: redis://127.0.0.1:1/0:")
    assert "Traceback" not in err


# --- bad input -----------------------------------------------------------------------------------


def test_malformed_lines_are_counted_not_fatal(tmp_path: Path, capsys):
    good = crawl_a()
    wrong_schema = dict(good[0], schema="reservation-record/9")
    no_origin = {k: v for k, v in good[0].items() if k != "origin"}
    bad_evidence = dict(good[0], evidence=[{"agent": ["a", "list"], "signal": "robots"}])
    lines = [json.dumps(r) for r in good]
    lines[3:3] = [
        "{not json",
        "[1, 2]",
        "",
        json.dumps(wrong_schema),
        json.dumps(no_origin),
        json.dumps(bad_evidence),
        json.dumps(dict(good[0], evidence="[]", decisions=7)),
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(("\n".join(lines) + "\n").encode() + b"\xff\xfe\n")
    code, out, err = run([str(path), "--json"], capsys)
    assert code == 0
    report = json.loads(out)
    assert report["records"]["read"] == 16
    assert report["records"]["malformed"] == 7
    assert report["sites"]["attempted"] == 12
    positions = [e["position"] for e in report["records"]["malformed_examples"]]
    assert positions == ["line 4", "line 5", "line 7", "line 8", "line 9", "line 10", "line 24"]
    reasons = [e["reason"] for e in report["records"]["malformed_examples"]]
    assert reasons[0].startswith("not JSON")
    assert reasons[1] == "not a JSON object"
    assert "reservation-record/9" in reasons[2]
    assert reasons[3] == "no origin"
    assert reasons[4].startswith("bad field")
    assert reasons[5] == "decisions is not an object"
    assert f"stats: {path}: line 4: skipped: not JSON" in err
    assert "2 more malformed records skipped" in err
    assert "Traceback" not in err


def test_file_without_any_record_is_exit_2(tmp_path: Path, capsys):
    path = tmp_path / "domains.csv"
    path.write_text("rank,domain\n1,example.com\n")
    code, out, err = run([str(path)], capsys)
    assert (code, out) == (2, "")
    assert (
        err
        == f"stats: {path}: line 1: no reservation record could be read (not JSON ("
        + (err.split("(not JSON (", 1)[1])
    )


def test_missing_file_is_exit_2(tmp_path: Path, capsys):
    code, out, err = run([str(tmp_path / "nope.jsonl")], capsys)
    assert (code, out) == (2, "")
    assert err.startswith(f"stats: {tmp_path / 'nope.jsonl'}: cannot read:")


def test_truncated_gzip_is_exit_2_naming_the_line(tmp_path: Path, capsys):
    whole = write_jsonl_gz(tmp_path / "whole.jsonl.gz", crawl_a() * 20).read_bytes()
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(whole[: len(whole) * 2 // 3])
    code, out, err = run([str(path)], capsys)
    assert (code, out) == (2, "")
    assert err.startswith(f"stats: {path}: line ")
    assert "cannot read" in err and "Traceback" not in err


def test_corrupt_parquet_is_exit_2(tmp_path: Path, capsys):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"PAR1" + b"\x00" * 64)
    code, out, err = run([str(path)], capsys)
    assert (code, out) == (2, "")
    assert err.startswith(f"stats: {path}: not a readable Parquet file")


def test_parquet_of_something_else_is_exit_2(tmp_path: Path, capsys):
    path = tmp_path / "other.parquet"
    pq.write_table(pa.table({"domain": ["example.com"]}), path)
    code, _out, err = run([str(path)], capsys)
    assert code == 2
    assert "not reservation records: no column url, origin, sources, decisions" in err


def test_empty_directory_is_exit_2(tmp_path: Path, capsys):
    code, _out, err = run([str(tmp_path)], capsys)
    assert code == 2
    assert "directory holds no record files" in err


def test_empty_file_is_zero_sites(tmp_path: Path, capsys):
    path = tmp_path / "empty.jsonl"
    path.write_text("")
    report = report_of([str(path)], capsys)
    assert report["sites"] == {"attempted": 0, "reached": 0, "not_reached": 0}
    assert report["train_ai"]["any_agent"] == {"count": 0, "denominator": 0, "share": None}
    code, out, _err = run([str(path)], capsys)
    assert code == 0 and "0 attempted" in out


def test_lenient_unknown_signal_and_missing_outcome(tmp_path: Path, capsys):
    """A signal family added later gets its own row; a source without an outcome is counted."""
    record = make_record(
        "https://future.example", evidence=ev("future-signal", "robots.txt", R, TRAIN, agents=["*"])
    )
    del record["sources"]["ai.txt"]["outcome"]
    report = report_of([str(write_jsonl(tmp_path / "r.jsonl", [record]))], capsys)
    assert report["families"][-1]["family"] == "future-signal"
    assert family(report, "future-signal") == {
        "present": (1, 1),
        "reserves": (1, 1),
        "reserves_train_ai": (1, 1),
        "allows_train_ai": (0, 1),
    }
    assert report["sources"]["ai.txt"]["missing"]["count"] == 1
    code, out, _err = run([str(tmp_path / "r.jsonl")], capsys)
    assert code == 0 and "missing" in out


def test_new_signal_families_are_counted_apart(tmp_path: Path, capsys):
    """RSL applied (License:) and shown (/rsl.xml), ai.txt at its fallback location, media."""
    records = [
        make_record("https://a.example", evidence=ev("rsl", "rsl", R, TRAIN, agents=["*"])),
        make_record(
            "https://b.example",
            evidence=ev("rsl", "rsl.xml", Decision.UNSPECIFIED, TRAIN, agents=["*"]),
        ),
        make_record(
            "https://c.example",
            evidence=ev("ai.txt", "/.well-known/ai.txt", R, TRAIN, agents=["*"]),
        ),
        make_record("https://d.example", evidence=ev("media", "xmp", R, TRAIN, agents=["*"])),
    ]
    report = report_of([str(write_jsonl(tmp_path / "r.jsonl", records))], capsys)
    assert family(report, "rsl")["present"] == (1, 4)
    assert family(report, "rsl-xml")["present"] == (1, 4)
    assert family(report, "rsl-xml")["reserves"] == (0, 4)
    assert family(report, "ai.txt")["present"] == (1, 4)
    assert family(report, "ai.txt-well-known")["present"] == (1, 4)
    assert family(report, "media")["reserves_train_ai"] == (1, 4)


def test_malformed_parquet_rows_are_named_by_row(tmp_path: Path, capsys):
    records = crawl_a()
    records[2] = dict(records[2], schema="something-else")
    path = write_parquet_json_text(tmp_path / "rows.parquet", records)
    report = report_of([str(path)], capsys)
    assert report["records"]["read"] == 15
    assert report["records"]["malformed_examples"] == [
        {
            "input": str(path),
            "position": "row 3",
            "reason": "schema is 'something-else', want 'reservation-record/1'",
        }
    ]


# --- diff ------------------------------------------------------------------------------------


@pytest.fixture
def crawls(tmp_path: Path) -> tuple[Path, Path]:
    return (
        write_jsonl(tmp_path / "a.jsonl", crawl_a()),
        write_parquet_nested(tmp_path / "b.parquet", crawl_b()),
    )


def test_diff_counts(crawls: tuple[Path, Path], capsys: pytest.CaptureFixture[str]):
    a, b = crawls
    diff = report_of(["diff", str(a), str(b)], capsys)
    assert diff["sites"] == {
        "in_a": 12,
        "in_b": 12,  # s12 gone, s13 new
        "in_both": 11,
        "only_in_a": 1,
        "only_in_b": 1,
        "compared": 9,  # s1-s7, s10, s11
        "reached_only_in_a": 0,
        "reached_only_in_b": 1,  # s8
    }
    any_agent = diff["train_ai"]["any_agent"]
    assert any_agent["reservation_added"] == 1  # s10
    assert any_agent["reservation_dropped"] == 1  # s1
    assert any_agent["unchanged"] == 7
    assert any_agent["transitions"] == [
        {"a": "reserved", "b": "unspecified", "sites": 1},
        {"a": "unspecified", "b": "reserved", "sites": 1},
    ]
    every = diff["train_ai"]["all_agents"]
    assert (every["reservation_added"], every["reservation_dropped"]) == (1, 0)
    moved = {
        f["family"]: (f["added"], f["dropped"])
        for f in diff["families"]
        if any((f["added"], f["dropped"]))
    }
    assert moved == {
        "robots-agent": (0, 1),
        "content-signal": (1, 0),
        "ai.txt": (0, 1),
        "noai": (1, 0),
    }
    assert diff["changed_sites"] == 3
    assert diff["sites_changed"] == [
        {
            "origin": "https://s1.example",
            "train_ai_any_agent": {"a": "reserved", "b": "unspecified"},
            "families_added": [],
            "families_dropped": ["robots-agent"],
        },
        {
            "origin": "https://s10.example",
            "train_ai_any_agent": {"a": "unspecified", "b": "reserved"},
            "train_ai_all_agents": {"a": "unspecified", "b": "reserved"},
            "families_added": ["content-signal"],
            "families_dropped": [],
        },
        {
            "origin": "https://s5.example",
            "families_added": ["noai"],
            "families_dropped": ["ai.txt"],
        },
    ]


def test_diff_of_a_crawl_with_itself_is_empty(crawls: tuple[Path, Path], capsys):
    a, _b = crawls
    diff = report_of(["diff", str(a), str(a)], capsys)
    assert diff["changed_sites"] == 0
    assert diff["train_ai"]["any_agent"]["unchanged"] == 10
    assert all(f["added"] == f["dropped"] == 0 for f in diff["families"])


def test_diff_text_and_limit(crawls: tuple[Path, Path], capsys: pytest.CaptureFixture[str]):
    a, b = crawls
    code, out, _err = run(["diff", str(a), str(b), "--limit", "2"], capsys)
    assert code == 0
    assert "Sites that changed: 3" in out
    assert "  https://s1.example  train-ai reserved -> unspecified; -robots-agent" in out
    assert "https://s5.example" not in out
    assert "... 1 more" in out


def test_diff_text_without_changes(crawls: tuple[Path, Path], capsys):
    a, _b = crawls
    code, out, _err = run(["diff", str(a), str(a)], capsys)
    assert code == 0
    assert "  no change in any family" in out
    assert "Sites that changed: 0" in out


def test_diff_needs_two_crawls(crawls: tuple[Path, Path], capsys: pytest.CaptureFixture[str]):
    a, _b = crawls
    code, out, err = run(["diff", str(a)], capsys)
    assert (code, out) == (2, "")
    assert "exactly two crawls" in err


def test_diff_bad_input_is_exit_2(crawls: tuple[Path, Path], tmp_path: Path, capsys):
    a, _b = crawls
    code, _out, err = run(["diff", str(a), str(tmp_path / "missing.parquet")], capsys)
    assert code == 2
    assert "missing.parquet: cannot read" in err


def test_build_diff_refuses_unshared_features():
    with pytest.raises(ValueError):
        stats.build_diff(stats.SiteStats(), stats.SiteStats())


# --- charts, CLI wiring, progress ----------------------------------------------------------------


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    assert data[-8:-4] == b"IEND"
    return struct.unpack(">II", data[16:24])


def test_plot_writes_pngs(crawl_a_jsonl: Path, tmp_path: Path, capsys):
    out_dir = tmp_path / "charts"
    code, out, err = run([str(crawl_a_jsonl), "--plot", str(out_dir)], capsys)
    assert code == 0 and "Sites:" in out
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == ["agents.png", "conflicts.png", "families.png", "purposes.png"]
    for path in out_dir.iterdir():
        width, height = png_size(path)
        assert width >= 800 and height >= 200
        assert f"stats: wrote {path}" in err


def test_diff_plot(crawls: tuple[Path, Path], tmp_path: Path, capsys):
    a, b = crawls
    code, _out, _err = run(["diff", str(a), str(b), "--plot", str(tmp_path / "d")], capsys)
    assert code == 0
    png_size(tmp_path / "d" / "diff-families.png")


def test_cli_registers_stats(crawl_a_jsonl: Path, capsys: pytest.CaptureFixture[str]):
    assert cli.main(["stats", str(crawl_a_jsonl), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sites"]["reached"] == 10


def test_module_main(crawl_a_jsonl: Path):
    """``python -m reservation_crawler.cli stats`` (bench/stats_bench.py runs it so)."""
    done = subprocess.run(
        [sys.executable, "-m", "reservation_crawler.cli", "stats", str(crawl_a_jsonl), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["sites"]["attempted"] == 12


def test_progress_line_only_when_enabled(crawl_a_jsonl: Path):
    sources = stats.resolve_sources([str(crawl_a_jsonl)])
    shown = io.StringIO()
    stats.read_sources(sources, stats.SiteStats(), progress=stats._Progress(True, shown, 1))
    assert shown.getvalue().startswith("\r")
    assert "16 records  12 sites  0 malformed" in shown.getvalue()
    hidden = io.StringIO()
    stats.read_sources(sources, stats.SiteStats(), progress=stats._Progress(False, hidden, 1))
    assert hidden.getvalue() == ""
