"""draft-ietf-aipref-vocab-08 through the parser and decide(): the three categories, the search
override, only y/n, unknown labels ignored, earlier drafts' labels read where vocab-08 is
silent, and every record naming the revision it applied (``aipref_vocab``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_decide import ORIGIN, page, policy

from reservation_crawler.core.decide import decide
from reservation_crawler.model.record import Decision, Purpose, ReservationRecord
from reservation_crawler.signals import aipref
from reservation_crawler.signals.aipref import VOCAB_REVISION, parse_content_usage

DATA = json.loads(
    (Path(__file__).parent / "data" / "signals" / "aipref_vocab08.json").read_text("utf-8")
)
_STATE = {"allow": True, "disallow": False}
R, A, U = Decision.RESERVED, Decision.ALLOWED, Decision.UNSPECIFIED


def _legacy(case: dict) -> dict[str, bool]:
    return {k: _STATE[v] for k, v in case.get("legacy", {}).items()}


@pytest.mark.parametrize("case", DATA["vocab_cases"], ids=lambda c: c["input"])
def test_vocab08_cases(case: dict) -> None:
    usage = parse_content_usage(case["input"])
    assert dict(usage.values) == {k: _STATE[v] for k, v in case["expected"].items()}
    assert {k: v for k, (v, _label) in usage.legacy.items()} == _legacy(case)


@pytest.mark.parametrize("case", DATA["legacy_cases"], ids=lambda c: c["input"])
def test_earlier_labels_fill_only_what_vocab08_leaves_unknown(case: dict) -> None:
    usage = parse_content_usage(case["input"])
    assert dict(usage.values) == {k: _STATE[v] for k, v in case.get("expected", {}).items()}
    assert {k: v for k, (v, _label) in usage.legacy.items()} == _legacy(case)
    assert not set(usage.legacy) & set(usage.values)  # a current label always wins


def test_the_revision_is_named_and_the_categories_are_vocab08s() -> None:
    assert VOCAB_REVISION == DATA["revision"] == "draft-ietf-aipref-vocab-08"
    assert aipref.KNOWN_LABELS == ("train-ai", "ai-use", "search")
    # every label of -01 ... -07 that -08 dropped is read, none of the current ones
    assert set(aipref.LEGACY_LABELS) == {
        "tdm", "all", "bots", "ai", "ai-output", "genai", "train-genai", "inference",
    }  # fmt: skip
    assert not set(aipref.LEGACY_LABELS) & set(aipref.KNOWN_LABELS)


def test_a_legacy_label_is_reported_with_its_draft_and_reading() -> None:
    (finding,) = parse_content_usage("bots=n, search=y", line=7).findings
    assert finding.code == "content-usage.unknown-label" and finding.line == 7
    assert "-03/-04" in finding.message and VOCAB_REVISION in finding.message
    assert "train-ai, ai-use, search" in finding.message


def _cells(record: ReservationRecord, agent: str = "*") -> dict[Purpose, Decision]:
    return dict(record.decisions[agent])


def test_decide_reads_ai_use_from_content_usage_header() -> None:
    record = decide(
        ORIGIN + "/", [], policy("User-agent: *\nAllow: /\n"),
        page(headers=(("Content-Usage", "ai-use=n"),)),
    )  # fmt: skip
    assert _cells(record)[Purpose.AI_USE] is R
    (row,) = [e for e in record.evidence if e.signal == "content-usage"]
    assert row.purposes == (Purpose.AI_USE,) and row.raw == "Content-Usage: ai-use=n"


def test_search_override_search_allowed_is_not_reserved_by_train_ai_or_ai_use_n() -> None:
    # vocab-08 §4.3: a use that qualifies as Search is governed by the search preference alone.
    robots = "User-agent: *\nAllow: /\nContent-Usage: train-ai=n, ai-use=n, search=y\n"
    record = decide(ORIGIN + "/a", [], policy(robots))
    cells = _cells(record)
    assert (cells[Purpose.TRAIN_AI], cells[Purpose.AI_USE], cells[Purpose.SEARCH]) == (R, R, A)
    search_rows = [e for e in record.evidence if Purpose.SEARCH in e.purposes]
    assert [(e.signal, e.effect) for e in search_rows] == [("content-usage", A)]


def test_most_restrictive_wins_across_header_and_robots() -> None:
    robots = "User-agent: *\nAllow: /\nContent-Usage: ai-use=y, search=y\n"
    record = decide(
        ORIGIN + "/", [], policy(robots), page(headers=(("Content-Usage", "ai-use=n"),))
    )
    assert _cells(record)[Purpose.AI_USE] is R and _cells(record)[Purpose.SEARCH] is A
    assert [f.code for f in record.findings if f.code == "decision.conflict"] == [
        "decision.conflict"
    ]


def test_decide_reads_earlier_labels_as_their_own_signal() -> None:
    robots = "User-agent: *\nAllow: /\nContent-Usage: bots=n, search=y\n"
    record = decide(ORIGIN + "/", ["GPTBot"], policy(robots))
    cells = _cells(record, "GPTBot")
    assert (cells[Purpose.TRAIN_AI], cells[Purpose.AI_USE], cells[Purpose.SEARCH]) == (R, R, A)
    legacy = [e for e in record.evidence if e.signal == "content-usage-legacy" and e.agent == "*"]
    assert {p for e in legacy for p in e.purposes} == {Purpose.TRAIN_AI, Purpose.AI_USE}
    assert all(e.line == 3 and e.raw == "Content-Usage: bots=n, search=y" for e in legacy)


def test_unknown_labels_and_other_values_decide_nothing() -> None:
    robots = 'User-agent: *\nAllow: /\nContent-Usage: notrain=n, ai-use="n", search=yes\n'
    record = decide(ORIGIN + "/", [], policy(robots))
    assert set(_cells(record).values()) == {A, U}
    assert not [e for e in record.evidence if e.signal.startswith("content-usage")]


def test_every_record_names_the_vocabulary_revision_it_applied() -> None:
    record = decide(ORIGIN + "/", [], policy("User-agent: *\nAllow: /\n"))
    assert record.aipref_vocab == VOCAB_REVISION
    data = record.to_json()
    assert data["aipref_vocab"] == "draft-ietf-aipref-vocab-08"
    assert ReservationRecord.from_json(data).aipref_vocab == VOCAB_REVISION
    # a record written before 0.3.0 has no such field: read as "not stated", never as -08
    del data["aipref_vocab"]
    assert ReservationRecord.from_json(data).aipref_vocab is None
