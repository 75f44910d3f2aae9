"""IETF aipref Content-Usage: the vocabulary (RFC 9651 dictionary via http-sf) and the
robots.txt rule form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reservation_crawler.model.findings import FindingSpec
from reservation_crawler.signals import aipref
from reservation_crawler.signals.aipref import (
    combine_content_usages,
    parse_content_usage,
    split_robots_content_usage,
)

DATA = json.loads(
    (Path(__file__).parent / "data" / "signals" / "aipref_content_usage.json").read_text("utf-8")
)
_STATE = {"allow": True, "disallow": False}


@pytest.mark.parametrize("case", DATA["vocab_cases"], ids=lambda c: c["input"])
def test_aipref_vocab_cases(case: dict) -> None:
    usage = parse_content_usage(case["input"], location="header")
    expected = {k: _STATE[v] for k, v in case["expected"].items() if v in _STATE}
    assert dict(usage.values) == expected
    assert usage.location == "header" and usage.path is None


@pytest.mark.parametrize("example", DATA["observed_lines"], ids=lambda e: e["line"])
def test_aipref_observed_lines(example: dict) -> None:
    usage = parse_content_usage(example["line"].split(":", 1)[1])
    labels = {item.split("=")[0].strip() for item in example["line"].split(":", 1)[1].split(",")}
    known = labels & set(aipref.KNOWN_LABELS)
    assert set(usage.values) == known
    unknown = any(f.code == "content-usage.unknown-label" for f in usage.findings)
    assert unknown is bool(labels - known)


def test_aipref_legacy_labels_are_explained() -> None:
    (finding,) = parse_content_usage("ai=y").findings
    assert finding.code == "content-usage.unknown-label" and "-01" in finding.message


def test_aipref_uppercase_key_fails_the_whole_dictionary() -> None:
    usage = parse_content_usage("Train-AI=n, search=y", line=4)
    assert dict(usage.values) == {}
    (finding,) = usage.findings
    assert finding.code == "content-usage.malformed" and finding.line == 4
    assert "lower-case" in finding.message


@pytest.mark.parametrize("value", ["train-ai=no", 'train-ai="n"', "train-ai", "train-ai=1"])
def test_aipref_values_other_than_y_n_are_unknown(value: str) -> None:
    usage = parse_content_usage(value)
    assert dict(usage.values) == {}
    assert [f.code for f in usage.findings] == ["content-usage.invalid-value"]


def test_aipref_duplicate_label_last_wins() -> None:
    usage = parse_content_usage("train-ai=n, train-ai=y")
    assert dict(usage.values) == {"train-ai": True}
    assert [f.code for f in usage.findings] == ["content-usage.duplicate-label"]


def test_aipref_empty_value_is_malformed() -> None:
    assert [f.code for f in parse_content_usage("  ").findings] == ["content-usage.malformed"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("train-ai=n", (None, "train-ai=n")),
        ("/ai-ok/ train-ai=y", ("/ai-ok/", "train-ai=y")),
        ("/a\ttrain-ai=y, search=n", ("/a", "train-ai=y, search=n")),
        ("/only-a-path", ("/only-a-path", "")),
    ],
)
def test_aipref_attach_robots_rule_split(value: str, expected: tuple) -> None:
    assert split_robots_content_usage(value) == expected


def test_aipref_path_is_compiled_with_the_shared_matcher() -> None:
    usage = parse_content_usage("train-ai=y", path="/ai-ok/*.html$")
    assert usage.path is not None and usage.path.matches("/ai-ok/a/b.html")
    assert not usage.path.matches("/ai-ok/a.htm")


def test_aipref_combining_any_n_wins() -> None:
    usages = [parse_content_usage("train-ai=y, search=y"), parse_content_usage("train-ai=n")]
    assert combine_content_usages(usages) == {"train-ai": False, "search": True}
    assert combine_content_usages([parse_content_usage("bogus")]) == {}


def test_every_content_usage_code_is_tested() -> None:
    declared = {v.code for v in vars(aipref).values() if isinstance(v, FindingSpec)}
    assert declared == {
        "content-usage.malformed",
        "content-usage.invalid-value",
        "content-usage.unknown-label",
        "content-usage.duplicate-label",
    }
