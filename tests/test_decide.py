"""One test per row of the decision table (docs/record.md), through the real parsers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reservation_crawler.apps import catalogue as catalogue_module
from reservation_crawler.core import decide as decide_module
from reservation_crawler.core.decide import decide, decide_agent
from reservation_crawler.core.policy import OriginPolicy, classify
from reservation_crawler.drivers.fetch import FetchResult
from reservation_crawler.model.record import Decision, Outcome, Purpose, ReservationRecord
from reservation_crawler.signals.page import parse_page

ORIGIN = "https://example.com"
R, A, U = Decision.RESERVED, Decision.ALLOWED, Decision.UNSPECIFIED
CRAWL, TRAIN, INPUT, SEARCH = Purpose.CRAWL, Purpose.TRAIN_AI, Purpose.AI_USE, Purpose.SEARCH


def result(
    path: str,
    status: int | None = 200,
    body: bytes | str = b"",
    content_type: str | None = "text/plain",
    error: str | None = None,
    headers: tuple[tuple[str, str], ...] = (),
) -> FetchResult:
    url = ORIGIN + path
    data = body.encode() if isinstance(body, str) else body
    return FetchResult(
        url=url,
        final_url=url,
        status=status,
        headers=headers,
        body=data,
        content_type=content_type,
        error=error,
        error_detail=None,
        truncated=False,
        redirects=(),
        elapsed_ms=1.0,
    )


def missing(path: str) -> FetchResult:
    return result(path, status=404, body=b"not found", content_type="text/html")


def policy(
    robots: FetchResult | str | None = None,
    aitxt: FetchResult | str | None = None,
    tdmrep: FetchResult | str | None = None,
) -> OriginPolicy:
    def make(value: FetchResult | str | None, path: str, ctype: str) -> FetchResult:
        if value is None:
            return missing(path)
        if isinstance(value, str):
            return result(path, body=value, content_type=ctype)
        return value

    return OriginPolicy.from_fetches(
        ORIGIN,
        "2026-11-22T00:00:00Z",
        make(robots, "/robots.txt", "text/plain"),
        make(aitxt, "/ai.txt", "text/plain"),
        make(tdmrep, "/.well-known/tdmrep.json", "application/json"),
    )


def page(
    path: str = "/",
    headers: tuple[tuple[str, str], ...] = (),
    body: str = "<html><head><title>t</title></head><body>x</body></html>",
    content_type: str = "text/html; charset=utf-8",
):
    all_headers = (("Content-Type", content_type), *headers)
    return parse_page(ORIGIN + path, 200, all_headers, body.encode())


def cells(record: ReservationRecord, agent: str) -> tuple[Decision, ...]:
    return tuple(record.decision(agent, p) for p in (CRAWL, TRAIN, INPUT, SEARCH))


def codes(record: ReservationRecord) -> set[str]:
    return {f.code for f in record.findings}


# --- robots.txt rows --------------------------------------------------------------------


def test_robots_disallowed_reserves_every_purpose_for_that_agent():
    origin = policy(robots="User-agent: GPTBot\nDisallow: /\n")
    record = decide(ORIGIN + "/a", ["GPTBot", "ClaudeBot"], origin)
    assert cells(record, "GPTBot") == (R, R, R, R)
    assert cells(record, "ClaudeBot") == (A, U, U, U)
    assert cells(record, "*") == (A, U, U, U)
    (ev,) = record.evidence_for("GPTBot", TRAIN)
    assert (ev.signal, ev.source, ev.scope, ev.raw, ev.line) == (
        "robots",
        "robots.txt",
        "GPTBot",
        "Disallow: /",
        2,
    )


def test_robots_allowed_allows_crawl_only():
    origin = policy(robots="User-agent: *\nDisallow: /private/\n")
    record = decide(ORIGIN + "/public", ["GPTBot"], origin)
    assert cells(record, "GPTBot") == (A, U, U, U)
    assert cells(decide(ORIGIN + "/private/x", [], origin), "*") == (R, R, R, R)


def test_robots_absent_4xx_allows_crawl():
    record = decide(ORIGIN + "/", ["GPTBot"], policy())
    assert cells(record, "GPTBot") == (A, U, U, U)
    assert record.sources["robots.txt"].outcome is Outcome.ABSENT


@pytest.mark.parametrize(
    ("fetched", "code"),
    [
        (result("/robots.txt", status=503), "robots.unreachable"),
        (result("/robots.txt", status=500), "robots.unreachable"),
        (result("/robots.txt", status=None, error="timeout"), "robots.unreachable"),
        (result("/robots.txt", status=None, error="connect"), "robots.unreachable"),
        (result("/robots.txt", status=None, error="reset"), "robots.unreachable"),
        (result("/robots.txt", status=429), "robots.rate-limited"),
        (
            result("/robots.txt", status=None, error="too-many-redirects"),
            "robots.too-many-redirects",
        ),
        (result("/robots.txt", status=None, error="redirect-loop"), "robots.too-many-redirects"),
        (result("/robots.txt", status=None, error="blocked-address"), "fetch.blocked-address"),
    ],
)
def test_rfc9309_robots_unreachable_reserves_everything(fetched, code):
    record = decide(ORIGIN + "/", ["GPTBot"], policy(robots=fetched))
    assert cells(record, "*") == (R, R, R, R)
    assert cells(record, "GPTBot") == (R, R, R, R)
    assert code in codes(record)
    (ev,) = record.evidence_for("*", CRAWL)
    assert "complete disallow" in ev.raw


def test_rfc9309_robots_403_is_unavailable_not_disallow():
    record = decide(ORIGIN + "/", [], policy(robots=result("/robots.txt", status=403)))
    assert cells(record, "*") == (A, U, U, U)
    assert "robots.access-denied" in codes(record)


def test_rfc9309_robots_txt_itself_always_allowed():
    origin = policy(robots="User-agent: *\nDisallow: /\n")
    assert decide(ORIGIN + "/robots.txt", [], origin).decision("*", CRAWL) is A


# --- Content-Signal ---------------------------------------------------------------------


def test_content_signal_in_robots_group_maps_to_purposes():
    origin = policy(
        robots="User-agent: *\nContent-Signal: ai-train=no, search=yes, ai-input=yes\nAllow: /\n"
    )
    record = decide(ORIGIN + "/x", ["GPTBot"], origin)
    assert cells(record, "GPTBot") == (A, R, A, A)
    ev = record.evidence_for("GPTBot", TRAIN)
    assert [(e.signal, e.source, e.line) for e in ev] == [("content-signal", "robots.txt", 2)]


def test_content_signal_follows_group_selection():
    origin = policy(
        robots=(
            "User-agent: *\nContent-Signal: ai-train=no\nAllow: /\n\n"
            "User-agent: ExampleBot\nAllow: /\n"
        )
    )
    record = decide(ORIGIN + "/x", ["ExampleBot"], origin)
    assert record.decision("*", TRAIN) is R
    assert record.decision("ExampleBot", TRAIN) is U


def test_content_signal_header():
    p = page(headers=(("Content-Signal", "ai-train=yes, search=no"),))
    record = decide(ORIGIN + "/", [], policy(), p, page_source=None)
    assert record.decision("*", TRAIN) is A
    assert record.decision("*", SEARCH) is R
    assert {e.source for e in record.evidence_for("*", TRAIN)} == {"header"}


def test_usage_signals_ignored_where_the_agent_may_not_crawl():
    origin = policy(robots="User-agent: GPTBot\nContent-Signal: ai-train=yes\nDisallow: /\n")
    p = page(headers=(("Content-Usage", "train-ai=y"),))
    record = decide(ORIGIN + "/", ["GPTBot"], origin, p)
    assert cells(record, "GPTBot") == (R, R, R, R)
    assert not [
        e
        for e in record.evidence
        if e.signal in ("content-signal", "content-usage") and e.agent == "GPTBot"
    ]
    assert "decision.conflict" not in codes(record)


# --- Content-Usage ----------------------------------------------------------------------


def test_aipref_content_usage_robots_path_scoped_longest_match():
    origin = policy(
        robots=(
            "User-Agent: *\nAllow: /\nDisallow: /never/\n"
            "Content-Usage: train-ai=n\nContent-Usage: /ai-ok/ train-ai=y\n\n"
            "User-Agent: ExampleBot\nAllow: /\nContent-Usage: train-ai=y\n"
        )
    )
    assert decide(ORIGIN + "/test", [], origin).decision("*", TRAIN) is R
    assert decide(ORIGIN + "/ai-ok/test", [], origin).decision("*", TRAIN) is A
    never = decide(ORIGIN + "/never/test", [], origin)
    assert cells(never, "*") == (R, R, R, R)
    assert not [e for e in never.evidence if e.signal == "content-usage"]
    assert decide(ORIGIN + "/test", ["ExampleBot"], origin).decision("ExampleBot", TRAIN) is A


def test_aipref_content_usage_header():
    p = page(headers=(("Content-Usage", "train-ai=n, search=y"),))
    record = decide(ORIGIN + "/", ["GPTBot"], policy(), p)
    assert cells(record, "GPTBot") == (A, R, U, A)


# --- TDMRep -----------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [(1, R), (0, A)])
def test_tdmrep_file_value(value, expected):
    origin = policy(tdmrep=json.dumps([{"location": "/", "tdm-reservation": value}]))
    record = decide(ORIGIN + "/a", ["GPTBot"], origin)
    assert record.decision("GPTBot", TRAIN) is expected
    assert record.decision("GPTBot", INPUT) is expected
    assert record.decision("GPTBot", SEARCH) is U
    (ev,) = record.evidence_for("GPTBot", TRAIN)
    assert ev.source == "tdmrep.json" and ev.location.endswith("#/0")


def test_tdmrep_layers_header_overrides_file_and_meta_overrides_header():
    origin = policy(tdmrep=json.dumps([{"location": "/", "tdm-reservation": 1}]))
    header0 = page(headers=(("tdm-reservation", "0"),))
    assert decide(ORIGIN + "/", [], origin, header0).decision("*", TRAIN) is A
    meta1 = page(
        headers=(("tdm-reservation", "0"),),
        body='<html><head><meta name="tdm-reservation" content="1"></head></html>',
    )
    record = decide(ORIGIN + "/", [], origin, meta1)
    assert record.decision("*", TRAIN) is R
    assert [e.source for e in record.evidence_for("*", TRAIN)] == ["meta"]


def test_tdmrep_absence_in_later_layer_does_not_reset():
    origin = policy(tdmrep=json.dumps([{"location": "/", "tdm-reservation": 1}]))
    only_policy = page(headers=(("tdm-policy", "https://example.com/policy.json"),))
    assert decide(ORIGIN + "/", [], origin, only_policy).decision("*", TRAIN) is R


def test_tdmrep_first_matching_rule_wins():
    origin = policy(
        tdmrep=json.dumps(
            [{"location": "/", "tdm-reservation": 1}, {"location": "/open/", "tdm-reservation": 0}]
        )
    )
    assert decide(ORIGIN + "/open/x", [], origin).decision("*", TRAIN) is R


# --- ai.txt -----------------------------------------------------------------------------


def test_aitxt_disallowed_reserves_train_ai():
    origin = policy(aitxt="# Spawning AI\nUser-Agent: *\nDisallow: /\n")
    record = decide(ORIGIN + "/a.html", ["GPTBot"], origin)
    assert cells(record, "GPTBot") == (A, R, U, U)
    (ev,) = record.evidence_for("GPTBot", TRAIN)
    assert ev.signal == "ai.txt" and ev.line == 3


def test_aitxt_explicit_allow():
    origin = policy(aitxt="User-agent: *\nAllow: *.jpg\nDisallow: /\n")
    assert decide(ORIGIN + "/p/a.jpg", [], origin).decision("*", TRAIN) is A
    assert decide(ORIGIN + "/p/a.html", [], origin).decision("*", TRAIN) is R


def test_aitxt_other_dialect_is_never_a_permission():
    origin = policy(aitxt="# About this site\n\nWe love AI. Please cite us.\n")
    record = decide(ORIGIN + "/", [], origin)
    assert record.decision("*", TRAIN) is U


# --- noai / noimageai -------------------------------------------------------------------


def test_noai_meta_global():
    p = page(body='<html><head><meta name="robots" content="index, NoAI"></head></html>')
    record = decide(ORIGIN + "/", ["GPTBot"], policy(), p)
    assert cells(record, "*") == (A, R, R, U)
    assert cells(record, "GPTBot") == (A, R, R, U)


def test_noai_scoped_to_agent():
    p = page(headers=(("X-Robots-Tag", "GPTBot: noai"),))
    record = decide(ORIGIN + "/", ["GPTBot", "ClaudeBot"], policy(), p)
    assert record.decision("GPTBot", TRAIN) is R
    assert record.decision("ClaudeBot", TRAIN) is U
    assert record.decision("*", TRAIN) is U


def test_noimageai_applies_to_images_only():
    html = page(headers=(("X-Robots-Tag", "noimageai"),))
    assert decide(ORIGIN + "/", [], policy(), html).decision("*", TRAIN) is U
    image = page(
        "/a.jpg", headers=(("X-Robots-Tag", "noimageai"),), body="\xff", content_type="image/jpeg"
    )
    record = decide(ORIGIN + "/a.jpg", [], policy(), image)
    assert cells(record, "*") == (A, R, R, U)


# --- combination ------------------------------------------------------------------------


def test_reserved_wins_and_conflict_is_reported():
    origin = policy(
        robots="User-agent: GPTBot\nDisallow: /\n",
        tdmrep=json.dumps([{"location": "/", "tdm-reservation": 0}]),
    )
    record = decide(ORIGIN + "/", ["GPTBot"], origin)
    assert record.decision("GPTBot", TRAIN) is R
    assert record.decision("*", TRAIN) is A
    conflicts = [f for f in record.findings if f.code == "decision.conflict"]
    assert {f.location for f in conflicts} == {"GPTBot"}
    assert any("train-ai" in f.message and "tdmrep" in f.message for f in conflicts)


def test_content_signal_yes_with_noai_conflict():
    origin = policy(robots="User-agent: *\nContent-Signal: ai-train=yes\nAllow: /\n")
    p = page(body='<html><head><meta name="robots" content="noai"></head></html>')
    record = decide(ORIGIN + "/", [], origin, p)
    assert record.decision("*", TRAIN) is R
    assert "decision.conflict" in codes(record)


def test_unspecified_when_nothing_says_anything():
    record = decide(ORIGIN + "/", ["GPTBot"], policy(robots="User-agent: *\nAllow: /\n"))
    assert cells(record, "GPTBot") == (A, U, U, U)
    assert "decision.conflict" not in codes(record)


# --- record plumbing --------------------------------------------------------------------


def test_decisions_always_cover_default_and_each_agent_once():
    record = decide(ORIGIN + "/", ["GPTBot", "gptbot", " ClaudeBot "], policy())
    assert list(record.decisions) == ["*", "GPTBot", "ClaudeBot"]


def test_page_not_fetched_is_said():
    record = decide(ORIGIN + "/", [], policy())
    assert record.sources["page"].outcome is Outcome.NOT_FETCHED
    assert "page.not-fetched" in codes(record)


def test_page_fetch_failure_is_a_finding():
    failed = result("/", status=None, error="reset")
    source, page_findings = classify("page", failed)
    record = decide(
        ORIGIN + "/", [], policy(), None, page_source=source, page_findings=page_findings
    )
    assert record.sources["page"].outcome is Outcome.UNREACHABLE
    assert "fetch.failed" in codes(record)


def test_record_and_policy_json_round_trip():
    origin = policy(
        robots="User-agent: GPTBot\nDisallow: /\n",
        aitxt=result("/ai.txt", body=b"\xff\xfe garbage", content_type="text/plain"),
        tdmrep=json.dumps([{"location": "/", "tdm-reservation": 1}]),
    )
    again = OriginPolicy.from_json(json.loads(json.dumps(origin.to_json())))
    assert again.robots_file == origin.robots_file
    assert again.aitxt_file.body == b"\xff\xfe garbage"
    record = decide(ORIGIN + "/", ["GPTBot"], again, page())
    data = json.loads(json.dumps(record.to_json()))
    assert ReservationRecord.from_json(data) == record
    assert data["schema"] == "reservation-record/1"


def test_every_finding_code_is_catalogued_once():
    catalogue = catalogue_module.catalogue()
    for code in ("decision.conflict", "robots.unreachable", "page.not-fetched"):
        assert code in catalogue


def test_tdmrep_header_evidence_names_the_header_once():
    record = decide(ORIGIN + "/", [], policy(), page(headers=(("TDM-Reservation", "1"),)))
    (ev,) = record.evidence_for("*", TRAIN)
    assert ev.raw == "tdm-reservation: 1"
    assert ev.source == "header" and ev.location == "header tdm-reservation"


# --- decide_agent's origin-level memo (URLs matching the same rules share one decision) ---------

DATA = Path(__file__).parent / "data"
MEMO_AGENTS = ("*", "GPTBot", "Googlebot", "CCBot", "anthropic-ai", "Bytespider", "gptbot")
MEMO_ROBOTS = sorted((DATA / "fixtureweb" / "robots").glob("*.txt"))
MEMO_TDMREP = sorted((DATA / "tdmrep" / "sites").iterdir())[:3] + sorted(
    (DATA / "tdmrep" / "spec").glob("*tdmrep-example-*.json")
)
MEMO_AITXT = [
    (DATA / "aitxt" / "ai-robots-txt-readme__spawning-example-ai.txt").read_text("utf-8"),
    "User-agent: GPTBot\nDisallow: /private/\nAllow: /private/ok\nUser-agent: *\nDisallow: *.jpg\n",
]
USAGE_ROBOTS = (
    "User-agent: *\nDisallow: /admin/\nContent-Usage: train-ai=n\n"
    "Content-Usage: /blog/ train-ai=y\nContent-Signal: search=yes, ai-train=no\n"
    "User-agent: GPTBot\nDisallow: /private\nContent-Usage: /docs/ train-ai=n, search=y\n"
)


def memo_urls(robots_text: str) -> list[str]:
    """Paths made from the file's own rules (so that rules really match), plus common ones."""
    paths = ["/", "/index.html", "/a/b.jpg", "/blog/x", "/docs/y", "/private/ok", "/robots.txt"]
    for line in robots_text.splitlines():
        field, _, value = line.partition(":")
        value = value.split("#")[0].strip()
        if field.strip().lower() in ("allow", "disallow") and value.startswith("/"):
            path = value.rstrip("$").replace("*", "x")
            paths += [path, path.rstrip("/") + "/page.html?id=7"]
    return [ORIGIN + p for p in paths[:80]]


USAGE_TDMREP = json.dumps(
    [
        {"location": "/blog/*", "tdm-reservation": 0},
        {"location": "/docs/*", "tdm-reservation": 1, "tdm-policy": "https://example.com/p.json"},
        {"location": "/private/*", "tdm-reservation": 1},
        {"location": "/*", "tdm-reservation": 0},
    ]
)


def memo_cases() -> list[tuple[str, str, str]]:
    cases = [(USAGE_ROBOTS, MEMO_AITXT[1], USAGE_TDMREP)]
    for index, path in enumerate(MEMO_ROBOTS):
        robots_text = path.read_text("utf-8", "replace")
        tdmrep_text = MEMO_TDMREP[index % len(MEMO_TDMREP)].read_text("utf-8", "replace")
        cases.append((robots_text, MEMO_AITXT[index % len(MEMO_AITXT)], tdmrep_text))
    return cases


@pytest.mark.parametrize("case", range(len(MEMO_ROBOTS) + 1))
def test_memoized_decide_agent_equals_decide_for_every_url_and_agent(case):
    robots_text, aitxt_text, tdmrep_text = memo_cases()[case]
    origin = policy(robots=robots_text, aitxt=aitxt_text, tdmrep=tdmrep_text)
    urls = memo_urls(robots_text)
    asked = 0
    for _ in range(2):  # the second pass answers from the memo only
        for url in urls:
            for agent in MEMO_AGENTS:
                memoized = decide_agent(url, agent, origin)
                record = decide(url, [agent], origin, include_default=agent == "*")
                assert dict(memoized.cells) == dict(record.decisions[agent]), (url, agent)
                assert memoized.evidence == tuple(e for e in record.evidence if e.agent == agent), (
                    url,
                    agent,
                )
                assert memoized.conflicts() == [
                    f for f in record.findings if f.code == "decision.conflict"
                ], (url, agent)
                asked += 1
    # Distinct rule combinations, not URLs, fill the memo.
    assert 0 < len(origin.agent_decisions) < asked // 2


def test_decide_agent_memo_is_bounded(monkeypatch):
    monkeypatch.setattr(decide_module, "AGENT_DECISIONS_PER_POLICY", 3)
    origin = policy(robots="User-agent: *\n" + "".join(f"Disallow: /d{i}/\n" for i in range(10)))
    for i in range(10):
        url = f"{ORIGIN}/d{i}/x"
        assert decide_agent(url, "GPTBot", origin).cells[TRAIN] is R
        assert len(origin.agent_decisions) <= 3
    assert decide_agent(ORIGIN + "/free", "GPTBot", origin).cells[CRAWL] is A


def test_decide_agent_shares_one_decision_between_urls_matching_the_same_rules():
    origin = policy(robots="User-agent: *\nDisallow: /private/\n")
    first = decide_agent(ORIGIN + "/private/a", "GPTBot", origin)
    assert decide_agent(ORIGIN + "/private/b?x=1", "GPTBot", origin) is first
    assert decide_agent(ORIGIN + "/public", "GPTBot", origin) is not first
    assert decide_agent(ORIGIN + "/private/a", "CCBot", origin) is not first


def test_page_level_decide_agent_is_not_memoized():
    origin = policy(robots="User-agent: *\nAllow: /\n")
    reserved = decide_agent(
        ORIGIN + "/", "GPTBot", origin, page(headers=(("tdm-reservation", "1"),))
    )
    allowed = decide_agent(
        ORIGIN + "/", "GPTBot", origin, page(headers=(("tdm-reservation", "0"),))
    )
    assert (reserved.cells[TRAIN], allowed.cells[TRAIN]) == (R, A)
    assert origin.agent_decisions == {}


def test_decide_agent_memo_can_be_turned_off(monkeypatch):
    monkeypatch.setattr(decide_module, "AGENT_DECISIONS_PER_POLICY", 0)
    origin = policy(robots="User-agent: *\nDisallow: /private/\n")
    first = decide_agent(ORIGIN + "/private/a", "GPTBot", origin)
    again = decide_agent(ORIGIN + "/private/a", "GPTBot", origin)
    assert first is not again and first.evidence == again.evidence
    assert origin.agent_decisions == {}


# --- issue #17 rows: ai.txt at /.well-known, RSL licences, media metadata -----------------------

RSL_NS = 'xmlns="https://rslstandard.org/rsl"'
RSL_DOC = f"""<rsl {RSL_NS}>
  <content url="/"><license><prohibits type="usage">ai-train</prohibits></license></content>
  <content url="/paid/"><license><permits type="usage">ai-all</permits>
    <payment type="subscription"/></license></content>
  <content url="/server/" server="https://rsl.example/api"><license>
    <permits type="usage">search</permits></license></content>
  <content url="/free/"><license><permits type="usage">all</permits></license></content>
  <content url="/users/"><license><permits type="usage">ai-input</permits>
    <permits type="user">education</permits></license></content>
</rsl>"""


def rsl_policy(robots: str, rsl_path: str, document: str = RSL_DOC) -> OriginPolicy:
    return OriginPolicy.from_fetches(
        ORIGIN,
        "2026-11-22T00:00:00Z",
        result("/robots.txt", body=robots),
        missing("/ai.txt"),
        missing("/.well-known/tdmrep.json"),
        others={
            f"rsl {ORIGIN}{rsl_path}": result(
                rsl_path, body=document, content_type="application/rsl+xml"
            )
        },
    )


LICENSED = rsl_policy(f"User-agent: *\nAllow: /\nLicense: {ORIGIN}/license.xml\n", "/license.xml")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", (A, R, U, U)),  # prohibits ai-train
        ("/paid/x", (A, R, R, U)),  # ai-all against a payment: a licence is required
        ("/server/x", (A, U, U, R)),  # a licence server: required even if free
        ("/free/x", (A, A, A, A)),  # all, free (ai-input and ai-index both -> ai-use)
        ("/users/x", (A, U, U, U)),  # permitted to some users only: unspecified
    ],
)
def test_rsl_licence_rows(path, expected):
    record = decide(ORIGIN + path, ["GPTBot"], LICENSED)
    assert cells(record, "GPTBot") == expected
    rows = [e for e in record.evidence if e.signal == "rsl" and e.agent == "GPTBot"]
    assert rows and {e.source for e in rows} == {"rsl"} and {e.scope for e in rows} == {"*"}


def test_rsl_is_read_where_robots_txt_disallows_crawling():
    origin = rsl_policy(
        f"User-agent: GPTBot\nDisallow: /\nUser-agent: *\nAllow: /\nLicense: {ORIGIN}/l.xml\n",
        "/l.xml",
    )
    record = decide(ORIGIN + "/free/x", ["GPTBot"], origin)
    assert record.decision("*", TRAIN) is A
    assert record.decision("GPTBot", TRAIN) is R  # robots.txt disallow wins; both are evidence
    assert "decision.conflict" in codes(record)


def test_rsl_xml_without_license_line_row():
    origin = rsl_policy("User-agent: *\nAllow: /\n", "/rsl.xml")
    record = decide(ORIGIN + "/", [], origin)
    assert cells(record, "*") == (A, U, U, U)
    assert {(e.source, e.effect) for e in record.evidence if e.signal == "rsl"} == {("rsl.xml", U)}
    assert "rsl.discovered-without-license" in codes(record)


def test_memoized_decide_agent_equals_decide_with_an_rsl_licence():
    for url in ("/", "/paid/a", "/server/b", "/free/c", "/users/d", "/x/y"):
        for agent in ("*", "GPTBot"):
            memoized = decide_agent(ORIGIN + url, agent, LICENSED)
            record = decide(ORIGIN + url, [agent], LICENSED, include_default=agent == "*")
            assert dict(memoized.cells) == dict(record.decisions[agent]), (url, agent)


def test_aitxt_well_known_fallback_row():
    fallback = result("/.well-known/ai.txt", body="User-agent: *\nDisallow: /\n")
    origin = OriginPolicy.from_fetches(
        ORIGIN,
        "2026-11-22T00:00:00Z",
        result("/robots.txt", body="User-agent: *\nAllow: /\n"),
        missing("/ai.txt"),
        missing("/.well-known/tdmrep.json"),
        others={"ai.txt@.well-known": fallback},
    )
    record = decide(ORIGIN + "/", ["GPTBot"], origin)
    assert record.decision("GPTBot", TRAIN) is R
    (row,) = [e for e in record.evidence_for("GPTBot", TRAIN) if e.signal == "ai.txt"]
    assert (row.source, row.location) == ("/.well-known/ai.txt", ORIGIN + "/.well-known/ai.txt")
    assert record.sources["ai.txt"].url == ORIGIN + "/.well-known/ai.txt"
    assert "aitxt.well-known-location" in codes(record)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-AIMLTRAINING", (A, R, U, U)),
        ("Prohibited for Generative AI/ML training", (A, R, U, U)),
        ("DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING", (A, R, R, A)),
        ("DMI-PROHIBITED-SEELINKEDRIGHTSEXPR", (A, R, R, R)),
        ("DMI-ALLOWED", (A, A, A, A)),
    ],
)
def test_media_iptc_data_mining_rows(value, expected):
    from reservation_crawler.testing.media import jpeg_with_xmp, xmp_packet

    body = jpeg_with_xmp(xmp_packet(value))
    image = parse_page(ORIGIN + "/i.jpg", 200, [("Content-Type", "image/jpeg")], body)
    record = decide(ORIGIN + "/i.jpg", ["GPTBot"], policy("User-agent: *\nAllow: /\n"), image)
    assert cells(record, "GPTBot") == expected
    assert {e.source for e in record.evidence if e.signal == "media"} == {"xmp"}


def test_media_c2pa_training_mining_row():
    from reservation_crawler.testing.media import c2pa_jpeg, training_mining

    body = c2pa_jpeg(
        training_mining("cawg.training-mining", {"cawg.ai_training": {"use": "notAllowed"}})
    )
    image = parse_page(ORIGIN + "/i.jpg", 200, [("Content-Type", "image/jpeg")], body)
    record = decide(ORIGIN + "/i.jpg", [], policy("User-agent: *\nAllow: /\n"), image)
    assert cells(record, "*") == (A, R, U, U)
