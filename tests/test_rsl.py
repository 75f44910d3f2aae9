"""RSL 1.0 documents: the parser (signals/rsl.py) on the spec's own examples and hostile input,
the fetch plan that brings them in with the policy, and the rows decide() builds from them."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from reservation_crawler.core.decide import decide
from reservation_crawler.core.fetching import FetchLimits, FetchResult, fetch_result
from reservation_crawler.core.policy import (
    AITXT,
    ROBOTS,
    TDMREP,
    OriginPolicy,
    PolicyFile,
    policy_requests,
    rsl_key,
)
from reservation_crawler.model.record import Decision, Purpose
from reservation_crawler.signals.rsl import MAX_CONTENT_ELEMENTS, parse_rsl

DATA = Path(__file__).parent / "data" / "rsl"
EXPECTED = json.loads((DATA / "expected.json").read_text())
ORIGIN = "https://example.com"
NS = 'xmlns="https://rslstandard.org/rsl"'
BAD_URL = "rsl.invalid-content-url"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_conformance_cases_from_the_spec(name: str) -> None:
    case = EXPECTED[name]
    document = parse_rsl((DATA / name).read_bytes(), location=name)
    assert document.readable
    assert [f.code for f in document.findings] == case["findings"]
    content = document.content_for(case["url"])
    assert content is not None
    assert {g.token: g.state for g in content.grants()} == case["grants"]


def test_every_data_file_has_an_expectation() -> None:
    assert {p.name for p in DATA.glob("*.xml")} == set(EXPECTED)


def test_longest_content_url_wins_and_dollar_anchors() -> None:
    document = parse_rsl((DATA / "free-and-paid.xml").read_bytes())
    exact = document.content_for("https://example.com/open/")
    assert exact is not None and exact.url == "/open/$"
    assert {g.token: g.state for g in exact.grants()} == dict.fromkeys(
        ("ai-train", "ai-input", "ai-index", "search"), "free"
    )
    below = document.content_for("https://example.com/open/page")
    assert below is not None and below.url == "/"


def test_a_full_url_content_names_only_its_own_origin() -> None:
    document = parse_rsl((DATA / "feed.xml").read_bytes())
    assert document.content_for("https://example.com/articles/1") is not None
    assert document.content_for("https://other.example/articles/1") is None
    assert document.content_for("http://example.com/articles/1") is None  # another origin
    assert document.content_for("https://example.com/articles/") is None


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (f"<rsl {NS}><content><license/></content></rsl>", "rsl.content-without-url"),
        (f'<rsl {NS}><content url="articles/*"><license/></content></rsl>', BAD_URL),
        (f'<rsl {NS}><content url="ftp://e.com/"><license/></content></rsl>', BAD_URL),
        (f'<rsl {NS}><content url="/"/></rsl>', "rsl.content-without-license"),
        (f"<rsl {NS}></rsl>", "rsl.no-content"),
        (
            f'<rsl {NS}><content url="/"><license><prohibits type="usage">tdm</prohibits>'
            "</license></content></rsl>",
            "rsl.unknown-token",
        ),
        (
            f'<rsl {NS}><content url="/"><license><permits type="purpose">search</permits>'
            "</license></content></rsl>",
            "rsl.unknown-permission-type",
        ),
        (
            f'<rsl {NS}><content url="/"><license><permits type="usage">search</permits>'
            '<payment type="per-click"/></license></content></rsl>',
            "rsl.unknown-payment-type",
        ),
        ("<rsl><content url='/'/></rsl>", "rsl.not-rsl"),
        ("<html><body>not found</body></html>", "rsl.not-rsl"),
        ("{}", "rsl.not-rsl"),
    ],
    ids=[
        "no-url", "relative-url", "ftp-url", "no-licence", "no-content", "tdm-token",
        "unknown-type", "unknown-payment", "no-namespace", "html", "json",
    ],
)  # fmt: skip
def test_mistakes_are_findings_with_fixes(body: str, code: str) -> None:
    document = parse_rsl(body, location="https://e.com/license.xml")
    assert code in [f.code for f in document.findings]
    assert all(f.location == "https://e.com/license.xml" for f in document.findings)


def test_unknown_payment_still_requires_a_licence() -> None:
    document = parse_rsl(
        f'<rsl {NS}><content url="/"><license><permits type="usage">search</permits>'
        '<payment type="per-click"/></license></content></rsl>'
    )
    content = document.content_for("https://e.com/x")
    assert content is not None
    assert [g.state for g in content.grants()] == ["licence-required"]


def test_too_many_content_elements_are_capped() -> None:
    items = "".join(
        f'<content url="/p{i}"><license><permits type="usage">search</permits></license></content>'
        for i in range(MAX_CONTENT_ELEMENTS + 5)
    )
    document = parse_rsl(f"<rsl {NS}>{items}</rsl>")
    assert len(document.contents) == MAX_CONTENT_ELEMENTS
    assert [f.code for f in document.findings] == ["rsl.too-many-content"]


# --- hostile XML: defusedxml refuses DTDs, so no entity bomb and no external fetch -------------

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    + f']><rsl {NS}><content url="/">&lol9;</content></rsl>'
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE rsl [<!ENTITY ext SYSTEM "http://127.0.0.1:9/leak">]>'
    f'<rsl {NS}><content url="/">&ext;</content></rsl>'
)
EXTERNAL_DTD = f'<!DOCTYPE rsl SYSTEM "http://127.0.0.1:9/rsl.dtd"><rsl {NS}/>'


@pytest.mark.parametrize(
    "body", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD], ids=["bomb", "entity", "dtd"]
)
def test_entity_bombs_and_external_references_are_refused(body: str) -> None:
    started = time.perf_counter()
    document = parse_rsl(body.encode())
    assert time.perf_counter() - started < 1.0  # nothing was expanded or fetched
    assert not document.readable and document.contents == ()
    assert [f.code for f in document.findings] == ["rsl.forbidden-xml"]


# --- the fetch plan and the decision -----------------------------------------------------------


def _result(path: str, status: int, body: bytes = b"", ctype: str = "text/plain") -> FetchResult:
    url = ORIGIN + path if path.startswith("/") else path
    return fetch_result(url, url, status=status, headers=(("Content-Type", ctype),), body=body)


def _plan(files: dict[str, FetchResult]) -> list[str]:
    classified = {
        key: PolicyFile.from_fetch(key.split(" ")[0] if key.startswith("rsl ") else key, r)
        for key, r in files.items()
    }
    return [r.url for r in policy_requests(ORIGIN, FetchLimits(), classified)]


def test_the_plan_follows_license_lines_and_guesses_rsl_xml_only_without_one() -> None:
    assert _plan({}) == [ORIGIN + p for p in ("/robots.txt", "/ai.txt", "/.well-known/tdmrep.json")]
    named = _result(
        "/robots.txt", 200, b"User-agent: *\nAllow: /\nLicense: https://l.example/a.xml\n"
    )
    files = {ROBOTS: named, AITXT: _result("/ai.txt", 200), TDMREP: _result("/x", 404)}
    assert _plan(files) == ["https://l.example/a.xml"]
    files[rsl_key("https://l.example/a.xml")] = _result("https://l.example/a.xml", 404)
    assert _plan(files) == []
    plain = _result("/robots.txt", 200, b"User-agent: *\nAllow: /\n")
    assert _plan({ROBOTS: plain, AITXT: _result("/ai.txt", 404), TDMREP: _result("/x", 404)}) == [
        ORIGIN + "/.well-known/ai.txt",
        ORIGIN + "/rsl.xml",
    ]
    dead = fetch_result(ORIGIN + "/robots.txt", ORIGIN + "/robots.txt", error=("timeout", "slow"))
    assert _plan({ROBOTS: dead}) == []


def _policy(robots: bytes, rsl_path: str, rsl_body: bytes, status: int = 200) -> OriginPolicy:
    return OriginPolicy.from_fetches(
        ORIGIN,
        "2026-12-02T00:00:00Z",
        _result("/robots.txt", 200, robots),
        _result("/ai.txt", 404),
        _result("/.well-known/tdmrep.json", 404),
        others={
            rsl_key(ORIGIN + rsl_path): _result(rsl_path, status, rsl_body, "application/rsl+xml")
        },
    )


ROBOTS_WITH_LICENSE = f"User-agent: *\nAllow: /\nLicense: {ORIGIN}/license.xml\n".encode()


def test_decision_rows_from_a_license_document() -> None:
    policy = _policy(ROBOTS_WITH_LICENSE, "/license.xml", (DATA / "free-and-paid.xml").read_bytes())
    record = decide(ORIGIN + "/page", ["GPTBot"], policy)
    assert record.decision("GPTBot", Purpose.TRAIN_AI) is Decision.RESERVED
    assert record.decision("GPTBot", Purpose.AI_USE) is Decision.RESERVED  # ai-index, paid
    assert record.decision("GPTBot", Purpose.SEARCH) is Decision.ALLOWED
    rows = [e for e in record.evidence_for("GPTBot", Purpose.TRAIN_AI) if e.signal == "rsl"]
    assert len(rows) == 1 and rows[0].source == "rsl"
    assert rows[0].location == ORIGIN + "/license.xml#content[1]"
    assert "payment (training)" in rows[0].raw
    assert record.sources["rsl"].url == ORIGIN + "/license.xml"
    opened = decide(ORIGIN + "/open/", ["GPTBot"], policy)
    assert opened.decision("GPTBot", Purpose.TRAIN_AI) is Decision.ALLOWED


def test_rsl_xml_without_a_license_line_is_shown_not_applied() -> None:
    body = (DATA / "spec-prohibit-ai-all.xml").read_bytes()
    policy = _policy(b"User-agent: *\nAllow: /\n", "/rsl.xml", body)
    record = decide(ORIGIN + "/page", [], policy)
    assert record.decision("*", Purpose.TRAIN_AI) is Decision.UNSPECIFIED
    rows = [e for e in record.evidence if e.signal == "rsl"]
    assert rows and {(e.effect, e.source) for e in rows} == {(Decision.UNSPECIFIED, "rsl.xml")}
    assert "rsl.discovered-without-license" in {f.code for f in record.findings}


def test_an_unreachable_license_document_is_a_finding() -> None:
    policy = _policy(ROBOTS_WITH_LICENSE, "/license.xml", b"gone", status=404)
    record = decide(ORIGIN + "/page", [], policy)
    assert "rsl.unreachable" in {f.code for f in record.findings}
    assert record.sources["rsl"].status == 404
    assert not [e for e in record.evidence if e.signal == "rsl"]


def test_a_missing_rsl_xml_is_not_listed() -> None:
    policy = _policy(b"User-agent: *\nAllow: /\n", "/rsl.xml", b"", status=404)
    record = decide(ORIGIN + "/page", [], policy)
    assert "rsl" not in record.sources
    assert not {f.code for f in record.findings if f.code.startswith("rsl.")}


def test_the_policy_keeps_its_rsl_documents_through_json() -> None:
    policy = _policy(ROBOTS_WITH_LICENSE, "/license.xml", (DATA / "free-and-paid.xml").read_bytes())
    again = OriginPolicy.from_json(json.loads(json.dumps(policy.to_json())))
    assert again.rsl_files == policy.rsl_files
    assert (
        decide(ORIGIN + "/page", [], again).decisions
        == decide(ORIGIN + "/page", [], policy).decisions
    )


def test_a_hostile_license_document_decides_nothing_and_says_why() -> None:
    policy = _policy(ROBOTS_WITH_LICENSE, "/license.xml", BILLION_LAUGHS.encode())
    record = decide(ORIGIN + "/page", [], policy)
    assert "rsl.forbidden-xml" in {f.code for f in record.findings}
    assert not [e for e in record.evidence if e.signal == "rsl"]


def test_license_documents_are_capped_in_size_and_number() -> None:
    lines = "".join(f"License: https://l{i}.example/a.xml\n" for i in range(10))
    robots = _result("/robots.txt", 200, f"User-agent: *\nAllow: /\n{lines}".encode())
    files = {
        ROBOTS: PolicyFile.from_fetch(ROBOTS, robots),
        AITXT: PolicyFile.from_fetch(AITXT, _result("/ai.txt", 200)),
        TDMREP: PolicyFile.from_fetch(TDMREP, _result("/x", 404)),
    }
    requests = policy_requests(ORIGIN, FetchLimits(), files)
    assert [r.url for r in requests] == [f"https://l{i}.example/a.xml" for i in range(3)]
    assert {r.cap for r in requests} == {512_000}
