"""Cloudflare Content-Signal use= (immediate < reference < full) through the parser and
decide(), with Cloudflare's managed robots.txt of 2026 as the conformance example."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from test_decide import ORIGIN, page, policy

from reservation_crawler.core.decide import CONTENT_SIGNAL_USE_RESERVES, decide
from reservation_crawler.model.record import Decision, Purpose
from reservation_crawler.signals import contentsignal
from reservation_crawler.signals.contentsignal import (
    USE_LEVELS,
    more_restrictive_use,
    parse_content_signal,
)

DATA = json.loads(
    (Path(__file__).parent / "data" / "signals" / "content_signal_use.json").read_text("utf-8")
)
R, A, U = Decision.RESERVED, Decision.ALLOWED, Decision.UNSPECIFIED
TRAIN, USE, SEARCH = Purpose.TRAIN_AI, Purpose.AI_USE, Purpose.SEARCH


@pytest.mark.parametrize("case", DATA["cases"], ids=lambda c: c["value"])
def test_use_levels_are_read(case: dict) -> None:
    signal = parse_content_signal(case["value"], line=2)
    assert signal.use == case["use"]
    assert dict(signal.values) == case["values"]
    assert list(signal.unknown) == case["unknown"]
    codes = {f.code for f in signal.findings}
    assert ("content-signal.invalid-use" in codes) is (case["value"] == "use=partial")
    assert ("content-signal.unknown-key" in codes) is bool(case["unknown"])


def test_levels_are_ordered_as_cloudflare_orders_them() -> None:
    assert USE_LEVELS == tuple(DATA["levels_in_order"]) == contentsignal.USE_LEVELS
    assert more_restrictive_use("full", "reference") == "reference"
    assert more_restrictive_use("immediate", "full") == "immediate"
    assert more_restrictive_use(None, "full") == "full"
    assert more_restrictive_use(None, None) is None
    # each level rules out at least what the next one does (a ceiling)
    for lower, higher in itertools.pairwise(USE_LEVELS):
        assert set(CONTENT_SIGNAL_USE_RESERVES[higher]) <= set(CONTENT_SIGNAL_USE_RESERVES[lower])


def _decide(robots: str, agents: tuple[str, ...] = ()) -> dict:
    record = decide(ORIGIN + "/a", list(agents), policy(robots))
    return {"record": record, **{a: dict(record.decisions[a]) for a in ("*", *agents)}}


def test_the_managed_robots_txt_of_2026() -> None:
    decided = _decide(DATA["managed_block"], ("GPTBot", "PerplexityBot"))
    star = decided["*"]
    # search=yes, ai-train=no, use=reference: ai-use is beyond reference (generated answers)
    assert (star[TRAIN], star[USE], star[SEARCH]) == (R, R, A)
    assert set(decided["GPTBot"].values()) == {R}  # its own managed group: Disallow: /
    assert decided["PerplexityBot"] == star  # not named: the * group
    rows = [e for e in decided["record"].evidence if e.signal == "content-signal-use"]
    assert {(e.agent, e.purposes, e.effect) for e in rows} == {
        ("*", (TRAIN, USE), R),
        ("PerplexityBot", (TRAIN, USE), R),
    }
    assert rows[0].raw == "Content-Signal: search=yes,ai-train=no,use=reference"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("use=immediate", (R, R, R)),
        ("use=reference", (R, R, U)),
        ("use=full", (U, U, U)),
        ("ai-input=yes, search=yes, use=full", (U, A, A)),
        ("use=reference, ai-input=yes", (R, R, U)),  # the ceiling wins: a conflict finding
    ],
)
def test_use_is_a_ceiling_never_a_grant(value: str, expected: tuple) -> None:
    star = _decide(f"User-agent: *\nContent-Signal: {value}\nAllow: /\n")["*"]
    assert (star[TRAIN], star[USE], star[SEARCH]) == expected
    assert star[Purpose.CRAWL] is A  # use= never changes Allow/Disallow


def test_use_full_is_evidence_and_unknown_keys_are_kept_verbatim() -> None:
    record = decide(
        ORIGIN + "/", [], policy("User-agent: *\nAllow: /\n"),
        page(headers=(("Content-Signal", "use=full, ai-inference=no"),)),
    )  # fmt: skip
    rows = {(e.signal, e.effect, e.purposes, e.raw) for e in record.evidence if e.agent == "*"}
    assert (
        "content-signal-use",
        U,
        (TRAIN, USE, SEARCH),
        "Content-Signal: use=full, ai-inference=no",
    ) in rows
    assert ("content-signal", U, (), "ai-inference=no") in rows


def test_use_on_a_disallowed_path_says_nothing() -> None:
    star = _decide("User-agent: *\nContent-Signal: use=immediate\nDisallow: /a\n")["*"]
    assert set(star.values()) == {R}  # the robots.txt Disallow; use= adds no evidence
    record = _decide("User-agent: *\nContent-Signal: use=immediate\nDisallow: /a\n")["record"]
    assert not [e for e in record.evidence if e.signal == "content-signal-use"]
