"""Robots meta and X-Robots-Tag beyond noai: noml, meta tags named for an agent, and the search
engines' own AI readings (Bing noarchive/nocache, Google nosnippet/max-snippet), each bound to
that engine's crawler only. Cases: tests/data/headers/search_engine_directives.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_decide import ORIGIN, page, policy

from reservation_crawler.core.decide import decide
from reservation_crawler.model.record import Decision, Purpose
from reservation_crawler.signals.page import OPERATOR_DIRECTIVES

DATA = json.loads(
    (Path(__file__).parent / "data" / "headers" / "search_engine_directives.json").read_text(
        "utf-8"
    )
)
R, A, U = Decision.RESERVED, Decision.ALLOWED, Decision.UNSPECIFIED
ROBOTS = "User-agent: *\nAllow: /\n"


def _html(*metas: tuple[str, str]) -> str:
    tags = "".join(f'<meta name="{n}" content="{c}">' for n, c in metas)
    return f"<html><head>{tags}</head><body>x</body></html>"


def _reserved(record, agent: str) -> set[str]:
    return {str(p) for p, d in record.decisions[agent].items() if d is R}


@pytest.mark.parametrize("case", DATA["cases"], ids=lambda c: f"{c['meta']}-{c['agent']}")
def test_search_engine_directives_bind_their_own_crawler_only(case: dict) -> None:
    name, content = case["meta"]
    record = decide(
        ORIGIN + "/", [case["agent"]], policy(ROBOTS), page(body=_html((name, content)))
    )
    assert _reserved(record, case["agent"]) == set(case["reserves"])
    assert _reserved(record, "*") == set()  # never for an agent no one named


def test_the_readings_cite_their_operator_and_source() -> None:
    assert {t: r.operator for t, r in OPERATOR_DIRECTIVES.items()} == {
        "noarchive": "Microsoft Bing",
        "nocache": "Microsoft Bing",
        "nosnippet": "Google",
        "max-snippet": "Google",
    }
    assert all(r.source.startswith("https://") for r in OPERATOR_DIRECTIVES.values())
    assert DATA["sources"]["bing"].startswith(OPERATOR_DIRECTIVES["noarchive"].source[:60])


def test_search_engine_directive_is_evidence_and_a_finding() -> None:
    signals = page(headers=(("X-Robots-Tag", "bingbot: nocache"),))
    record = decide(ORIGIN + "/", ["bingbot", "GPTBot"], policy(ROBOTS), signals)
    (row,) = [e for e in record.evidence if e.signal == "nocache"]
    assert (row.agent, row.scope, row.effect, row.source) == ("bingbot", "bingbot", R, "header")
    assert row.purposes == (Purpose.TRAIN_AI, Purpose.AI_USE) and row.raw == "bingbot: nocache"
    (finding,) = [f for f in record.findings if f.code == "page.search-engine-ai-control"]
    assert "Microsoft Bing" in finding.message and "bingbot, msnbot only" in finding.message
    assert _reserved(record, "GPTBot") == set()


def test_max_snippet_other_than_zero_is_evidence_only() -> None:
    signals = page(body=_html(("robots", "max-snippet:50")))
    record = decide(ORIGIN + "/", ["Googlebot"], policy(ROBOTS), signals)
    (row,) = [e for e in record.evidence if e.signal == "max-snippet"]
    assert row.effect is U and row.purposes == (Purpose.AI_USE,)
    assert not [f for f in record.findings if f.code == "page.search-engine-ai-control"]


@pytest.mark.parametrize(
    "signals",
    [
        page(body=_html(("robots", "noml"))),
        page(headers=(("X-Robots-Tag", "NoML"),)),
        page(headers=(("X-Robots-Tag", "GPTBot: noml"),)),
    ],
)
def test_noml_is_read_like_noai(signals) -> None:
    record = decide(ORIGIN + "/", ["GPTBot"], policy(ROBOTS), signals)
    assert _reserved(record, "GPTBot") == {"train-ai", "ai-use"}
    rows = [e for e in record.evidence if e.signal == "noml" and e.agent == "GPTBot"]
    assert rows and all(e.purposes == (Purpose.TRAIN_AI, Purpose.AI_USE) for e in rows)


def test_meta_named_for_an_agent_is_scoped_to_that_agent() -> None:
    signals = page(body=_html(("GPTBot", "noai"), ("CCBot", "nofollow")))
    record = decide(ORIGIN + "/", ["GPTBot", "CCBot", "ClaudeBot"], policy(ROBOTS), signals)
    assert _reserved(record, "GPTBot") == {"train-ai", "ai-use"}
    assert _reserved(record, "CCBot") == set()  # nofollow: no AI meaning, kept as a directive
    assert _reserved(record, "ClaudeBot") == set() and _reserved(record, "*") == set()
    assert ("CCBot", "nofollow") in {(d.agent, d.token) for d in signals.robots_directives}


def test_registry_agent_meta_with_an_unknown_entry_is_read_and_reported() -> None:
    signals = page(body=_html(("ClaudeBot", "noml, notrain")))
    record = decide(ORIGIN + "/", ["ClaudeBot"], policy(ROBOTS), signals)
    assert _reserved(record, "ClaudeBot") == {"train-ai", "ai-use"}
    assert "page.unknown-robots-token" in {f.code for f in record.findings}


def test_a_misspelled_noml_is_reported() -> None:
    signals = page(body=_html(("robots", "no-ml")))
    assert [f.code for f in signals.findings] == ["page.misspelled-ai-token"]
