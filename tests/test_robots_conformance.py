"""robots.txt conformance against the test vectors of google/robotstxt, robotstxt-spec-test,
robotspy, protego and reppy (tests/data/conformance/, see its SOURCES.md).

``profile="google"`` must reproduce Google's answers exactly. The default profile must give the
RFC 9309 answer; every case where it differs is listed, with its reason, in
``docs/conformance.md``, and only those are expected to fail (strictly: a listed case that
starts passing fails too, so the list stays exact).
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest

from reservation_crawler.signals.robots import is_product_token, parse

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "conformance"
_LISTED = re.compile(r"^\| `([^`]+)` \| [^|]+ \| (.+?) \|$", re.MULTILINE)


def _load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text("utf-8"))


def _listed_deviations() -> dict[str, str]:
    """case id -> reason, from the tables of docs/conformance.md."""
    text = (ROOT / "docs" / "conformance.md").read_text("utf-8")
    return dict(_LISTED.findall(text))


GOOGLE = _load("google_robotstxt_cases.json")
SPEC = _load("google_robotstxt_spec_test_cases.json")
ROBOTSPY = _load("robotspy_cases.json")
PROTEGO = _load("protego_cases.json")
REPPY = _load("reppy_cases.json")
DEVIATIONS = _listed_deviations()


def _body(case: dict[str, Any]) -> bytes | str:
    if case.get("robots_txt_base64"):
        return base64.b64decode(case["robots_txt_base64"])
    return case.get("robots_txt") or ""


def _rfc9309_expected(case: dict[str, Any]) -> bool:
    """The extractor's plain RFC 9309 answer where given, else the implementation's."""
    expected = case.get("rfc9309_expected")
    return case["allowed"] if expected is None else expected


def _default_profile_params(cases: list[dict[str, Any]]) -> list[Any]:
    params = []
    for case in cases:
        reason = DEVIATIONS.get(case["id"])
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
        params.append(pytest.param(case, id=case["id"], marks=marks))
    return params


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [case["id"] for case in cases]


def test_deviation_list_names_real_cases() -> None:
    known = {c["id"] for suite in (GOOGLE, SPEC, ROBOTSPY, PROTEGO, REPPY) for c in suite["cases"]}
    assert DEVIATIONS, "docs/conformance.md lists no cases: the table format changed?"
    assert set(DEVIATIONS) <= known


def test_google_vector_counts() -> None:
    assert len(GOOGLE["cases"]) == 145
    assert len(SPEC["cases"]) == 400


@pytest.mark.parametrize("case", GOOGLE["cases"], ids=_ids(GOOGLE["cases"]))
def test_google_profile_robots_test_cc(case: dict[str, Any]) -> None:
    robots = parse(_body(case), profile="google")
    assert robots.allowed(case["url"], case["user_agent"]) is case["allowed"]


@pytest.mark.parametrize("case", SPEC["cases"], ids=_ids(SPEC["cases"]))
def test_google_profile_spec_test(case: dict[str, Any]) -> None:
    robots = parse(_body(case), profile="google")
    assert robots.allowed(case["url"], case["user_agent"]) is case["allowed"]


@pytest.mark.parametrize("case", _default_profile_params(GOOGLE["cases"]))
def test_rfc9309_google_robots_test_cc(case: dict[str, Any]) -> None:
    robots = parse(_body(case))
    assert robots.allowed(case["url"], case["user_agent"]) is _rfc9309_expected(case)


@pytest.mark.parametrize("case", _default_profile_params(SPEC["cases"]))
def test_rfc9309_google_spec_test(case: dict[str, Any]) -> None:
    robots = parse(_body(case))
    assert robots.allowed(case["url"], case["user_agent"]) is _rfc9309_expected(case)


@pytest.mark.parametrize("case", _default_profile_params(ROBOTSPY["cases"]))
def test_rfc9309_robotspy(case: dict[str, Any]) -> None:
    robots = parse(_body(case))
    assert robots.allowed(case["url"], case["user_agent"]) is case["allowed"]


@pytest.mark.parametrize("case", _default_profile_params(PROTEGO["cases"]))
def test_rfc9309_protego(case: dict[str, Any]) -> None:
    robots = parse(_body(case))
    assert robots.allowed(case["url"], case["user_agent"]) is case["allowed"]


@pytest.mark.parametrize("case", _default_profile_params(REPPY["cases"]))
def test_rfc9309_reppy(case: dict[str, Any]) -> None:
    robots = parse(_body(case))
    assert robots.allowed(case["url"], case["user_agent"]) is case["allowed"]


# -- the other vectors in the same files ------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    GOOGLE["valid_user_agent_cases"] + ROBOTSPY["valid_user_agent_cases"],
    ids=lambda c: repr(c["user_agent"]),
)
def test_google_is_valid_user_agent_to_obey(case: dict[str, Any]) -> None:
    assert is_product_token(case["user_agent"]) is case["valid"]


_LINE_COUNT_CASES = [c for c in GOOGLE["parse_stats_cases"] if "last_line_seen" in c["expected"]]


@pytest.mark.parametrize("profile", ["rfc9309", "google"])
@pytest.mark.parametrize("case", _LINE_COUNT_CASES, ids=lambda c: f"line{c['source_line']}")
def test_google_line_numbers_over_any_line_ending(case: dict[str, Any], profile: str) -> None:
    # "User-Agent: foo / Allow: /some/path / User-Agent: bar / / / Disallow: /" in LF, CRLF,
    # CR and mixed endings: the Disallow is on line 6 whatever the line endings.
    robots = parse(_body(case), profile=profile)
    lines = [(rule.line, rule.raw) for group in robots.groups for rule in group.rules]
    assert lines == [(2, "Allow: /some/path"), (6, "Disallow: /")]
    assert [g.agents for g in robots.groups] == [(("foo", 1),), (("bar", 3),)]


_BOM_CASES = [
    c for c in GOOGLE["parse_stats_cases"] if c["test"] == "ID_UTF8ByteOrderMarkIsSkipped"
]


@pytest.mark.parametrize("profile", ["rfc9309", "google"])
@pytest.mark.parametrize("case", _BOM_CASES, ids=lambda c: f"line{c['source_line']}")
def test_google_byte_order_mark_handling(case: dict[str, Any], profile: str) -> None:
    # Google counts user-agent/allow/disallow/sitemap lines as valid directives; a full or
    # partial BOM at the start is skipped, a broken one or a BOM later on spoils its line.
    robots = parse(_body(case), profile=profile)
    orphans = sum(f.code == "robots.rules-before-user-agent" for f in robots.findings)
    directives = sum(len(g.agents) + len(g.rules) for g in robots.groups) + orphans
    assert directives == case["expected"]["valid_directives"]


@pytest.mark.parametrize(
    "case",
    [c for c in GOOGLE["parse_stats_cases"] if "sitemap" in c["expected"]],
    ids=lambda c: f"line{c['source_line']}",
)
def test_google_sitemap_anywhere(case: dict[str, Any]) -> None:
    robots = parse(_body(case))
    assert robots.sitemaps == (case["expected"]["sitemap"],)
    # A Sitemap line does not end the group: "bar" still names the (empty) second group.
    assert [g.agents[-1][0] for g in robots.groups] == ["foo", "bar"]


_REPORTED_FLAGS = {
    "is_acceptable_typo": "robots.key-typo",
    "is_missing_colon_separator": "robots.missing-colon",
    "is_line_too_long": "robots.line-too-long",
}


@pytest.mark.parametrize(
    "case",
    [c for c in GOOGLE["reporting_cases"] if c.get("lines")],
    ids=lambda c: c["test"],
)
def test_google_reporting_flags_match_findings(case: dict[str, Any]) -> None:
    robots = parse(case["robots_txt"])
    expected = {
        (line["line_num"], code)
        for line in case["lines"]
        for flag, code in _REPORTED_FLAGS.items()
        if line["metadata"][flag]
    }
    found = {(f.line, f.code) for f in robots.findings if f.code in _REPORTED_FLAGS.values()}
    assert expected
    assert found == expected


@pytest.mark.parametrize(
    "case", PROTEGO["crawl_delay_cases"] + REPPY["crawl_delay_cases"], ids=lambda c: c["test"]
)
def test_rfc9309_crawl_delay(case: dict[str, Any]) -> None:
    robots = parse(case["robots_txt"])
    expected = case["crawl_delay"]
    if case["test"] == "RobotsTest.test_no_leading_user_agent":
        # reppy applies a Crawl-delay above every User-agent line to all agents (7); in RFC
        # 9309 it belongs to no group (docs/conformance.md), and we report it.
        expected = None
        codes = {f.code for f in robots.findings}
        assert "robots.extension-outside-group" in codes
    assert robots.crawl_delay(case["user_agent"]) == expected


@pytest.mark.parametrize(
    "case", PROTEGO["sitemap_cases"] + REPPY["sitemap_cases"], ids=lambda c: c["test"]
)
def test_rfc9309_sitemaps(case: dict[str, Any]) -> None:
    sitemaps = parse(case["robots_txt"]).sitemaps
    if "count" in case:
        assert len(sitemaps) == case["count"]
    elif "contains" in case:
        assert case["contains"] in sitemaps
    else:
        assert list(sitemaps) == case["sitemaps"]


@pytest.mark.parametrize("case", REPPY["bom_cases"], ids=lambda c: f"{c['note'][:20]}-{c['url']}")
def test_lenient_reppy_bom_cases(case: dict[str, Any]) -> None:
    robots = parse(_body(case))
    assert robots.allowed(case["url"], case["user_agent"]) is case["allowed"]
