"""The one JSON codec (``model.codec``): golden strings, round trips, refusals.

Records go to JSON Lines, Parquet and Redis; policies to Redis, where workers of other versions
read them. So their JSON is pinned byte for byte (``tests/golden/record.json`` and
``origin-policy.json``, written by 0.1's hand-written ``to_json`` before the codec replaced it),
and every value the codec writes must read back equal.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reservation_crawler import (
    Decision,
    DecodeError,
    Evidence,
    Finding,
    OriginPolicy,
    Outcome,
    Purpose,
    ReservationCrawlerError,
    ReservationRecord,
    Severity,
    SourceOutcome,
)
from reservation_crawler.core.decide import decide
from reservation_crawler.core.policy import PolicyFile
from reservation_crawler.drivers.fetch import FetchResult

GOLDEN = Path(__file__).parent / "golden"
ORIGIN = "https://news.example"
FETCHED_AT = "2026-11-22T10:00:00Z"
ROBOTS_TXT = (
    b"User-agent: GPTBot\nDisallow: /\n\nUser-agent: *\n"
    b"Content-Signal: search=yes, ai-train=no\nAllow: /\nCrawl-delay: x\n"
)


def fetched(path: str, status: int, body: bytes, content_type: str) -> FetchResult:
    url = ORIGIN + path
    return FetchResult(
        url=url,
        final_url=url,
        status=status,
        headers=(("Content-Type", content_type),),
        body=body,
        content_type=content_type,
        error=None,
        error_detail=None,
        truncated=False,
        redirects=(),
        elapsed_ms=1.0,
    )


def news_policy(robots_txt: bytes = ROBOTS_TXT) -> OriginPolicy:
    return OriginPolicy.from_fetches(
        ORIGIN,
        FETCHED_AT,
        fetched("/robots.txt", 200, robots_txt, "text/plain"),
        fetched("/ai.txt", 404, b"not here", "text/html"),
        fetched(
            "/.well-known/tdmrep.json",
            200,
            b'[{"location": "/news/*", "tdm-reservation": 1}]',
            "application/json",
        ),
    )


def dumps(data: object) -> str:
    return json.dumps(data, ensure_ascii=False)  # as check --json and the JSONL exporter write


# --- golden strings -----------------------------------------------------------------------------


def test_record_json_is_the_golden_string():
    record = decide(ORIGIN + "/news/a", ["GPTBot"], news_policy(), fetched_at=FETCHED_AT)
    assert dumps(record.to_json()) == (GOLDEN / "record.json").read_text().strip()


def test_policy_json_is_the_golden_string_older_workers_read():
    golden = (GOLDEN / "origin-policy.json").read_text().strip()
    assert dumps(news_policy().to_json()) == golden
    assert dumps(OriginPolicy.from_json(json.loads(golden)).to_json()) == golden


def test_a_body_that_is_not_utf8_is_stored_as_base64():
    policy = news_policy(b"User-agent: *\nDisallow: /\xff\n")
    files = policy.to_json()["files"]
    assert "body" not in files["robots.txt"]
    assert files["robots.txt"]["body_b64"] == "VXNlci1hZ2VudDogKgpEaXNhbGxvdzogL/8K"
    assert "body" not in files["ai.txt"] and "body_b64" not in files["ai.txt"]  # 404: no body
    assert OriginPolicy.from_json(json.loads(dumps(policy.to_json()))) == policy


# --- round trips ----------------------------------------------------------------------------------

text = st.text(max_size=12)
maybe_int = st.none() | st.integers(min_value=0, max_value=10**6)
maybe_text = st.none() | text
purposes = st.lists(st.sampled_from(list(Purpose)), max_size=4, unique=True).map(tuple)

sources = st.builds(
    SourceOutcome,
    url=text,
    outcome=st.sampled_from(list(Outcome)),
    status=maybe_int,
    content_type=maybe_text,
    size=maybe_int,
    sha256=maybe_text,
    error=maybe_text,
    redirects=st.lists(text, max_size=3).map(tuple),
)
findings = st.builds(
    Finding,
    code=text,
    severity=st.sampled_from(list(Severity)),
    source=text,
    message=text,
    line=maybe_int,
    location=maybe_text,
)
evidence = st.builds(
    Evidence,
    agent=text,
    purposes=purposes,
    effect=st.sampled_from(list(Decision)),
    signal=text,
    source=text,
    scope=text,
    raw=text,
    line=maybe_int,
    location=maybe_text,
)
cells = st.dictionaries(st.sampled_from(list(Purpose)), st.sampled_from(list(Decision)))
records = st.builds(
    ReservationRecord,
    url=text,
    origin=text,
    fetched_at=text,
    sources=st.dictionaries(text, sources, max_size=4),
    decisions=st.dictionaries(text, cells, max_size=3),
    evidence=st.lists(evidence, max_size=4).map(tuple),
    findings=st.lists(findings, max_size=3).map(tuple),
)
policy_files = st.builds(
    PolicyFile,
    source=sources,
    body=st.none() | st.binary(max_size=40) | text.map(str.encode),
    findings=st.lists(findings, max_size=3).map(tuple),
)
policies = st.builds(
    OriginPolicy,
    origin=text,
    fetched_at=text,
    robots_file=policy_files,
    aitxt_file=policy_files,
    tdmrep_file=policy_files,
)


@settings(max_examples=200, deadline=None)
@given(records)
def test_every_record_reads_back_equal(record: ReservationRecord):
    data = json.loads(dumps(record.to_json()))
    assert ReservationRecord.from_json(data) == record
    assert next(iter(data)) == "schema" and data["schema"] == "reservation-record/1"


@settings(max_examples=200, deadline=None)
@given(policies)
def test_every_policy_reads_back_equal(policy: OriginPolicy):
    data = json.loads(dumps(policy.to_json()))
    assert OriginPolicy.from_json(data) == policy
    assert list(data) == ["schema", "origin", "fetched_at", "files"]
    assert list(data["files"]) == ["robots.txt", "ai.txt", "tdmrep.json"]


# --- refusals -----------------------------------------------------------------------------------


def test_another_schema_is_refused_with_a_decode_error():
    data = news_policy().to_json() | {"schema": "origin-policy/0"}
    with pytest.raises(DecodeError, match="schema"):
        OriginPolicy.from_json(data)
    record = json.loads((GOLDEN / "record.json").read_text()) | {"schema": "x/1"}
    with pytest.raises(DecodeError, match="schema"):
        ReservationRecord.from_json(record)


@pytest.mark.parametrize(
    "broken",
    [
        lambda d: d.pop("url"),  # a missing key
        lambda d: d.update(sources=[]),  # a list where an object belongs
        lambda d: d["decisions"]["*"].update({"crawl": "maybe"}),  # not a Decision
        lambda d: d["evidence"][0].update(purposes=None),  # null where a list belongs
    ],
)
def test_a_broken_record_is_a_decode_error_not_a_wrong_record(broken):
    data = json.loads((GOLDEN / "record.json").read_text())
    broken(data)
    with pytest.raises(DecodeError) as info:
        ReservationRecord.from_json(data)
    assert isinstance(info.value, ValueError) and isinstance(info.value, ReservationCrawlerError)


def test_unknown_keys_are_ignored():
    data = json.loads((GOLDEN / "record.json").read_text()) | {"_cache": {}, "later": 1}
    assert ReservationRecord.from_json(data).url == ORIGIN + "/news/a"
