"""Cloudflare Content Signals: the value syntax as used in robots.txt and HTTP headers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reservation_crawler.model.findings import FindingSpec
from reservation_crawler.signals import contentsignal
from reservation_crawler.signals.contentsignal import (
    ContentSignal,
    combine_content_signals,
    parse_content_signal,
)

DATA = json.loads(
    (Path(__file__).parent / "data" / "signals" / "content_signal_examples.json").read_text("utf-8")
)
OBSERVED = DATA["observed"] + DATA["reported_in_third_party_text"]


def _value(line: str) -> str:
    return line.split(":", 1)[1]


@pytest.mark.parametrize("example", OBSERVED, ids=lambda e: e["line"])
def test_contentsignal_real_lines_are_read(example: dict) -> None:
    signal = parse_content_signal(_value(example["line"]), line=3, location="robots.txt")
    entries = [e.strip().split("=") for e in _value(example["line"]).split(",")]
    expected = {k.lower(): v.lower() == "yes" for k, v in entries if v.lower() in ("yes", "no")}
    assert dict(signal.values) == expected
    assert signal.raw == _value(example["line"]) and signal.line == 3
    assert signal.location == "robots.txt"
    unknown = {k for k, _v in entries} - {*contentsignal.KNOWN_KEYS, contentsignal.USE_KEY}
    assert bool(unknown) is any(f.code == "content-signal.unknown-key" for f in signal.findings)


def test_contentsignal_policy_example() -> None:
    signal = parse_content_signal(" search=yes, ai-train=no ")
    assert dict(signal.values) == {"search": True, "ai-train": False}
    assert signal.findings == ()
    assert isinstance(signal, ContentSignal)


def test_contentsignal_no_space_after_commas() -> None:
    signal = parse_content_signal("search=yes,ai-input=no,ai-train=no")
    assert dict(signal.values) == {"search": True, "ai-input": False, "ai-train": False}


def test_contentsignal_use_key_is_read_as_a_level() -> None:
    # Cloudflare's managed robots.txt line (2026): use= is a key of its own, not an unknown one.
    signal = parse_content_signal("search=yes,ai-train=no,use=reference")
    assert dict(signal.values) == {"search": True, "ai-train": False}
    assert signal.use == "reference" and signal.findings == () and signal.unknown == ()


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("ai-train=n", "y/n"),
        ("ai-train=disallow", "allow/disallow"),
        ('ai-train="no"', "quotes"),
        ("ai-train=maybe", "yes or no"),
    ],
)
def test_lenient_invalid_values_are_ignored_and_explained(value: str, hint: str) -> None:
    signal = parse_content_signal(value, line=7)
    assert dict(signal.values) == {}
    (finding,) = signal.findings
    assert finding.code == "content-signal.invalid-value"
    assert hint in finding.message and finding.line == 7


def test_lenient_uppercase_is_read_and_reported() -> None:
    signal = parse_content_signal("AI-Train=No, Search=YES")
    assert dict(signal.values) == {"ai-train": False, "search": True}
    assert {f.code for f in signal.findings} == {"content-signal.not-lowercase"}


@pytest.mark.parametrize("value", ["", "search", "=yes", "ai-train="])
def test_malformed_entries(value: str) -> None:
    signal = parse_content_signal(value)
    assert dict(signal.values) == {}
    assert [f.code for f in signal.findings] == ["content-signal.malformed"]


def test_conflicting_values_read_as_no() -> None:
    signal = parse_content_signal("ai-train=yes, ai-train=no, search=yes, search=yes")
    assert dict(signal.values) == {"ai-train": False, "search": True}
    assert [f.code for f in signal.findings] == ["content-signal.conflicting-values"]


def test_combine_accumulates_lines_and_no_wins() -> None:
    lines = [
        parse_content_signal("ai-train=yes"),
        parse_content_signal("search=yes"),
        parse_content_signal("ai-train=no"),
    ]
    assert combine_content_signals(lines) == {"ai-train": False, "search": True}
    assert combine_content_signals([]) == {}


def test_every_content_signal_code_is_tested() -> None:
    declared = {v.code for v in vars(contentsignal).values() if isinstance(v, FindingSpec)}
    assert declared == {
        "content-signal.malformed",
        "content-signal.unknown-key",
        "content-signal.invalid-value",
        "content-signal.not-lowercase",
        "content-signal.conflicting-values",
        "content-signal.invalid-use",  # tests/test_content_signal_use.py
    }
