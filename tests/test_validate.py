"""``validate``: crafted sites on the fixture web, one per finding a publisher must be told about;
the agent x purpose matrix of a known site; exit codes; the JSON form; the renderers."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from lxml import html as lxml_html

from reservation_crawler import cli
from reservation_crawler.apps.catalogue import catalogue
from reservation_crawler.apps.validate import (
    VALIDATOR_FINDINGS,
    ValidationReport,
    check_rsl_document,
    check_tdm_policy,
    exit_status,
    render_json,
    render_text,
    site_url,
    validate,
)
from reservation_crawler.apps.web.render import render_report_html as render_html
from reservation_crawler.drivers.fetch import Fetcher, FetchLimits, FetchResult
from reservation_crawler.errors import InvalidOrigin
from reservation_crawler.signals.agents import well_known_agents
from reservation_crawler.testing import FixtureWeb, Recipe
from reservation_crawler.testing.sites import ALLOW_ALL, group, robots

SLOW = 3.0  # the fixture web's delay for "timeout" responses
TIMEOUT = 0.5  # the client's timeout, below it
GPTBOT_BLOCK = group(["GPTBot"], [("disallow", "/")])


def _tdm(*rules: tuple[Any, ...], **extra: Any) -> dict[str, Any]:
    out = []
    for rule in rules:
        item = {"location": rule[0], "tdm-reservation": rule[1]}
        if len(rule) > 2:
            item["tdm-policy"] = rule[2]
        out.append(item)
    return {"rules": out, **extra}


# One crafted site per situation. "{origin}" is replaced by the site's origin when served.
SITES: dict[str, dict[str, Any]] = {
    "clean": {"robots": robots(ALLOW_ALL)},
    "known": {
        "robots": robots(
            GPTBOT_BLOCK,
            group(["*"], [("allow", "/")], content_signal="ai-train=no, search=yes"),
        ),
        "headers": {"html": [["X-Robots-Tag", "ClaudeBot: noai"]]},
    },
    # robots.txt fetch and body
    "robots-5xx": {"robots": {**robots(GPTBOT_BLOCK, ALLOW_ALL), "serve": {"status": 503}}},
    "robots-timeout": {"robots": {**robots(ALLOW_ALL), "serve": {"mode": "timeout"}}},
    "robots-soft404": {"robots": {"serve": {"mode": "soft404"}}},
    "robots-text-html": {
        "robots": {**robots(ALLOW_ALL), "serve": {"content_type": "text/html; charset=utf-8"}}
    },
    "robots-huge": {"robots": {**robots(GPTBOT_BLOCK, ALLOW_ALL), "pad_to": 600 * 1024}},
    "rules-before-user-agent": {
        "robots": robots(group([], [("disallow", "/private/")]), ALLOW_ALL)
    },
    "signal-before-user-agent": {
        "robots": robots(group([], content_signal="ai-train=no"), ALLOW_ALL)
    },
    "invalid-product-token": {
        "robots": robots(group(["GPTBot/1.1"], [("disallow", "/")]), ALLOW_ALL)
    },
    "key-typo": {"robots": robots(group(["*"], [("disalow", "/private/")]))},
    "group-drops-star": {
        "robots": robots(
            group(["GPTBot"], [("allow", "/")]), group(["*"], [("disallow", "/private/")])
        )
    },
    "control-only": {
        "robots": robots(
            group(["Google-Extended", "Applebot-Extended"], [("disallow", "/")]), ALLOW_ALL
        )
    },
    "one-group-per-ai-agent": {
        "robots": robots(
            *(group([a], [("disallow", "/")]) for a in ("GPTBot", "ClaudeBot", "CCBot")),
            group(["Bytespider"], [("disallow", "/a/")]),
            ALLOW_ALL,
        )
    },
    # tdmrep.json
    "tdmrep-not-json": {
        "robots": robots(ALLOW_ALL),
        "tdmrep": {"raw": '[{"location": "/", "tdm-reservation": 1'},
    },
    "tdmrep-not-array": {
        "robots": robots(ALLOW_ALL),
        "tdmrep": {"raw": '{"location": "/", "tdm-reservation": 1}'},
    },
    "tdmrep-served-as-html": {
        "robots": robots(ALLOW_ALL),
        "tdmrep": _tdm(("/", 1), serve={"content_type": "text/html; charset=utf-8"}),
    },
    "tdmrep-invalid-value": {"robots": robots(ALLOW_ALL), "tdmrep": _tdm(("/", "1"))},
    "tdmrep-shadowed": {"robots": robots(ALLOW_ALL), "tdmrep": _tdm(("/", 1), ("/b/", 0))},
    "tdm-policy-missing": {
        "robots": robots(ALLOW_ALL),
        "tdmrep": _tdm(("/", 1, "{origin}/policy/missing.json")),
    },
    "tdm-policy-not-json": {
        "robots": robots(ALLOW_ALL),
        "tdmrep": _tdm(("/", 1, "{origin}/license.xml")),
    },
    # The header names a JSON document that is no ODRL policy (the site's own tdmrep.json).
    "tdm-policy-not-odrl": {
        "robots": robots(ALLOW_ALL),
        "tdmrep": _tdm(("/", 1)),
        "headers": {"html": [["tdm-policy", "{origin}/.well-known/tdmrep.json"]]},
    },
    "tdm-policy-ok": {
        "robots": robots(ALLOW_ALL),
        "tdmrep": _tdm(("/", 1, "{origin}/policy/tdm.json")),
    },
    "tdm-layers": {
        "robots": robots(ALLOW_ALL),
        "tdmrep": _tdm(("/", 1)),
        "headers": {"html": [["tdm-reservation", "0"]]},
    },
    # Content-Usage / Content-Signal
    "content-usage-malformed": {
        "robots": robots(ALLOW_ALL),
        "headers": {"html": [["Content-Usage", "Train-AI=n"]]},
    },
    "content-signal-malformed": {
        "robots": robots(group(["*"], [("allow", "/")], content_signal="ai-train"))
    },
    # ai.txt
    "aitxt-markdown": {"robots": robots(ALLOW_ALL), "aitxt": {"dialect": "markdown"}},
    "aitxt-key-value": {"robots": robots(ALLOW_ALL), "aitxt": {"dialect": "key-value"}},
    "aitxt-spawning": {
        "robots": robots(ALLOW_ALL),
        "aitxt": {"dialect": "spawning", "groups": [group(["*"], [("disallow", "/")])]},
    },
    # signals that contradict each other
    "conflict": {"robots": robots(GPTBOT_BLOCK, ALLOW_ALL), "tdmrep": _tdm(("/", 0))},
    "conflict-everyone": {
        "robots": robots(ALLOW_ALL),
        "headers": {"html": [["Content-Signal", "ai-train=yes"]]},
        "meta": {"html": [["robots", "noai"]]},
    },
    # RSL
    "rsl-relative": {"robots": robots(ALLOW_ALL, license=["/license.xml"])},
    "rsl-missing": {"robots": robots(ALLOW_ALL, license=["{origin}/missing-license.xml"])},
    "rsl-not-rsl": {"robots": robots(ALLOW_ALL, license=["{origin}/policy/tdm.json"])},
    "rsl-ok": {
        "robots": robots(ALLOW_ALL, license=["{origin}/license.xml"]),
        "license_link_header": True,
    },
    # publisher text that must come out escaped in HTML
    "markup": {
        "robots": robots(
            group(["*"], [("allow", "/")], content_signal="<script>alert(1)</script>=no")
        )
    },
}
NAMES = list(SITES)

# Each finding the issue lists (and each one this module declares), and the site built for it.
TRIGGERS: list[tuple[str, str]] = [
    ("robots-5xx", "robots.unreachable"),
    ("robots-timeout", "robots.unreachable"),
    ("robots-soft404", "robots.html-body"),
    ("robots-text-html", "robots.wrong-media-type"),
    ("robots-huge", "robots.too-large"),
    ("rules-before-user-agent", "robots.rules-before-user-agent"),
    ("signal-before-user-agent", "robots.extension-outside-group"),
    ("invalid-product-token", "robots.invalid-product-token"),
    ("key-typo", "robots.key-typo"),
    ("group-drops-star", "robots.group-discards-global-rules"),
    ("control-only", "robots.control-only-token"),
    ("tdmrep-not-json", "tdmrep.not-json"),
    ("tdmrep-not-array", "tdmrep.not-an-array"),
    ("tdmrep-served-as-html", "tdmrep.served-as-html"),
    ("tdmrep-invalid-value", "tdmrep.invalid-reservation"),
    ("tdmrep-shadowed", "tdmrep.shadowed-rule"),
    ("tdm-policy-missing", "tdmrep.policy-unreachable"),
    ("tdm-policy-not-json", "tdmrep.policy-unreachable"),
    ("tdm-policy-not-odrl", "tdmrep.policy-not-odrl"),
    ("content-usage-malformed", "content-usage.malformed"),
    ("content-signal-malformed", "content-signal.malformed"),
    ("aitxt-markdown", "aitxt.markdown-dialect"),
    ("aitxt-key-value", "aitxt.key-value-dialect"),
    ("conflict", "decision.conflict"),
    ("conflict-everyone", "decision.conflict"),
    ("tdm-layers", "tdmrep.layer-override"),
    ("rsl-relative", "robots.license-not-absolute"),
    ("rsl-missing", "rsl.unreachable"),
    ("rsl-not-rsl", "rsl.not-rsl"),
]


@pytest.fixture(scope="module")
def web() -> Iterator[FixtureWeb]:
    recipes = [Recipe("validate", name, params) for name, params in SITES.items()]
    with FixtureWeb.from_recipes(recipes, corpus=False, slow_delay=SLOW) as fixture:
        yield fixture


@pytest.fixture(scope="module")
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(allow_private=True, limits=FetchLimits(timeout=TIMEOUT)) as f:
        yield f


@pytest.fixture(scope="module")
def reports(web: FixtureWeb, fetcher: Fetcher) -> dict[str, ValidationReport]:
    """Each site's report, built once (lazily) for the whole module."""
    cache: dict[str, ValidationReport] = {}

    class Reports(dict):
        def __missing__(self, name: str) -> ValidationReport:
            cache[name] = validate(web.url(NAMES.index(name)), fetcher=fetcher)
            self[name] = cache[name]
            return cache[name]

    return Reports()


def url_of(web: FixtureWeb, name: str, path: str = "/") -> str:
    return web.url(NAMES.index(name), path)


def codes(report: ValidationReport) -> set[str]:
    return {f.code for f in report.findings}


def finding(report: ValidationReport, code: str):
    return next(f for f in report.findings if f.code == code)


# --- every finding is triggered by a site built for it -----------------------------------------


@pytest.mark.parametrize(("site", "code"), TRIGGERS, ids=[f"{s}:{c}" for s, c in TRIGGERS])
def test_validate_reports_finding_on_crafted_site(reports, site: str, code: str):
    report = reports[site]
    assert code in codes(report)
    shown = finding(report, code)
    spec = {**catalogue(), **{s.code: s for s in VALIDATOR_FINDINGS}}[code]
    assert (shown.title, shown.explanation, shown.fix) == (spec.title, spec.explanation, spec.fix)
    assert shown.severity == spec.severity
    text = render_text(report)
    assert code in text and spec.fix.split()[0] in text


def test_validate_clean_site_has_no_findings(reports):
    report = reports["clean"]
    assert report.findings == ()
    assert report.conflicts == ()
    assert exit_status(report) == 0 and exit_status(report, strict=True) == 0


def test_every_validator_finding_has_a_trigger():
    triggered = {code for _site, code in TRIGGERS}
    assert {spec.code for spec in VALIDATOR_FINDINGS} <= triggered


def test_validator_findings_are_complete_catalogue_entries():
    others = catalogue()
    for spec in VALIDATOR_FINDINGS:
        source, _, name = spec.code.partition(".")
        assert source and name == name.lower()
        assert spec.title and spec.explanation and spec.fix and spec.example
        assert spec.code not in others or others[spec.code] is spec


def test_rfc9309_unreachable_robots_reserves_everything(reports):
    for site in ("robots-5xx", "robots-timeout"):
        page = reports[site].pages[0]
        assert all(
            decision == "reserved" for row in page.matrix for decision in row.decisions.values()
        ), site


def test_validate_does_not_double_report_an_html_robots_txt(reports):
    assert "robots.wrong-media-type" not in codes(reports["robots-soft404"])


def test_validate_clean_policy_and_licence_documents_pass(reports):
    policy = reports["tdm-policy-ok"]
    assert not {c for c in codes(policy) if c.startswith("tdmrep.policy")}
    (reference,) = policy.references
    assert (reference.kind, reference.source.status) == ("tdm-policy", 200)
    assert "ODRL" in reference.summary
    licence = reports["rsl-ok"]
    assert not {c for c in codes(licence) if c.startswith("rsl.")}
    (reference,) = licence.references  # named twice (robots.txt and Link), fetched once
    assert reference.kind == "rsl" and len(reference.cited_by) == 2
    assert "ai-train" in reference.summary


def test_referenced_documents_over_the_cap_are_reported_as_skipped(
    web: FixtureWeb, fetcher: Fetcher, monkeypatch: pytest.MonkeyPatch
):
    """The cap on referenced documents (tests/hostile/test_hostile_references.py runs 200 slow
    ones): over it, nothing is fetched and validate.references-skipped names what was not."""
    import reservation_crawler.apps.validate as validate_module

    name = "tdm-policy-ok"
    monkeypatch.setattr(validate_module, "REFERENCE_MAX_COUNT", 0)
    web.reset_counts()
    report = validate(url_of(web, name), fetcher=fetcher)
    assert web.request_count(NAMES.index(name), "/policy/tdm.json") == 0
    assert report.references == ()
    (skipped,) = [f for f in report.findings if f.code == "validate.references-skipped"]
    assert "1 of 1 referenced documents were not checked (1 over the limit of 0)" in str(
        skipped.occurrences[0].message
    )


def test_tdmrep_policy_fetched_once_per_url(web: FixtureWeb, fetcher: Fetcher):
    name = "tdm-policy-ok"
    web.reset_counts()
    report = validate(url_of(web, name), urls=["/a/1.html", "/a/2.html"], fetcher=fetcher)
    assert len(report.pages) == 3
    assert web.request_count(NAMES.index(name), "/policy/tdm.json") == 1


# --- referenced documents, checked without a network -------------------------------------------


def _result(url: str, status: int | None, content_type: str | None, body: bytes) -> FetchResult:
    return FetchResult(
        url=url,
        final_url=url,
        status=status,
        headers=(("Content-Type", content_type),) if content_type else (),
        body=body,
        content_type=content_type,
        error=None if status is not None else "connect",
        error_detail=None,
        truncated=False,
        redirects=(),
        elapsed_ms=1.0,
    )


ODRL = {
    "@context": ["http://www.w3.org/ns/odrl.jsonld", "http://www.w3.org/ns/tdmrep.jsonld"],
    "@type": "Offer",
    "profile": "http://www.w3.org/ns/tdmrep",
    "uid": "https://example.com/policy",
    "permission": [{"action": "tdm:mine", "duty": [{"action": "compensate"}]}],
}
PAGE = b"<!DOCTYPE html><html><head><title>x</title></head><body>Terms</body></html>"


@pytest.mark.parametrize(
    ("url", "status", "content_type", "body", "code"),
    [
        ("https://e.com/p.json", None, None, b"", "tdmrep.policy-unreachable"),
        ("https://e.com/p.json", 500, "text/html", PAGE, "tdmrep.policy-unreachable"),
        ("https://e.com/p.json", 200, "text/html", PAGE, "tdmrep.policy-unreachable"),
        ("https://e.com/terms", 200, "text/html", PAGE, None),
        ("https://e.com/p", 200, "application/json", b"{not json", "tdmrep.policy-unreachable"),
        ("https://e.com/p", 200, "application/ld+json", json.dumps(ODRL).encode(), None),
        (
            "https://e.com/p",
            200,
            "application/json",
            b'{"licence": "ask"}',
            "tdmrep.policy-not-odrl",
        ),
        ("https://e.com/p", 200, "application/json", b"[1]", "tdmrep.policy-not-odrl"),
    ],
    ids=[
        "no-response",
        "5xx",
        "html-at-json-url",
        "html-for-humans",
        "invalid-json",
        "odrl",
        "json-not-odrl",
        "json-array",
    ],
)
def test_tdmrep_policy_document_checks(url, status, content_type, body, code):
    reference, findings = check_tdm_policy(url, _result(url, status, content_type, body))
    assert [f.code for f in findings] == ([code] if code else [])
    assert reference.url == url and reference.source.status == status


@pytest.mark.parametrize(
    ("body", "codes"),
    [
        (
            b'<rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license/></content></rsl>',
            [],
        ),
        (
            b'<rss xmlns:rsl="https://rslstandard.org/rsl"><channel><item>'
            b'<rsl:content url="/a"><rsl:license/></rsl:content></item></channel></rss>',
            [],
        ),
        (
            b'<rsl xmlns="https://rslstandard.org/rsl"><content url="/"/></rsl>',
            ["rsl.content-without-license"],
        ),
        (b"<rsl><content url='/'/></rsl>", ["rsl.not-rsl"]),
        (PAGE, ["rsl.not-rsl"]),
        (
            b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><rsl>&e;</rsl>',
            ["rsl.forbidden-xml"],
        ),
    ],
    ids=["rsl", "feed", "no-licence", "no-namespace", "html", "external-entity"],
)
def test_rsl_document_checks(body: bytes, codes: list[str]):
    url = "https://e.com/license.xml"
    reference, findings = check_rsl_document(url, _result(url, 200, "application/xml", body))
    assert [f.code for f in findings] == codes
    assert "passwd" not in reference.summary


# --- the matrix --------------------------------------------------------------------------------


def test_validate_matrix_of_a_known_site(reports):
    page = reports["known"].pages[0]
    rows = {row.agent: row for row in page.matrix}
    assert list(rows) == ["*", *(a.token for a in well_known_agents())]
    # `*`: the default group allows crawling; its Content-Signal says ai-train=no, search=yes.
    expected_default = {
        "crawl": "allowed",
        "train-ai": "reserved",
        "ai-use": "unspecified",
        "search": "allowed",
    }
    assert rows["*"].decisions == expected_default
    # GPTBot's own group disallows everything: every purpose reserved.
    assert set(rows["GPTBot"].decisions.values()) == {"reserved"}
    # ClaudeBot follows `*` but a scoped X-Robots-Tag noai reserves AI training and input.
    assert rows["ClaudeBot"].decisions == {**expected_default, "ai-use": "reserved"}
    for token, row in rows.items():
        if token not in ("*", "GPTBot", "ClaudeBot"):
            assert row.decisions == expected_default, token
    assert rows["GPTBot"].operator == "OpenAI" and rows["GPTBot"].registry
    assert rows["Google-Extended"].control_only
    assert any("Disallow: /" in reason for reason in rows["GPTBot"].reasons["train-ai"])
    assert any("Content-Signal" in reason for reason in rows["*"].reasons["train-ai"])
    assert rows["*"].reasons["ai-use"] == ()


def test_validate_matrix_includes_asked_agents(web, fetcher):
    report = validate(url_of(web, "known"), agents=["ExampleBot", "gptbot"], fetcher=fetcher)
    rows = {row.agent: row for row in report.pages[0].matrix}
    assert "ExampleBot" in rows and not rows["ExampleBot"].registry
    assert [a for a in report.agents if a.casefold() == "gptbot"] == ["GPTBot"]
    assert rows["ExampleBot"].decisions == rows["*"].decisions


def test_validate_signals_carry_their_lines(reports, web, fetcher):
    report = reports["known"]
    body = fetcher.fetch(url_of(web, "known", "/robots.txt")).body.decode().split("\n")
    gptbot_line = body.index("User-agent: GPTBot") + 1
    signal_line = next(i for i, text in enumerate(body, 1) if text.startswith("Content-Signal"))
    (gptbot,) = [s for s in report.signals if s.family == "robots" and s.scope == "GPTBot"]
    assert (gptbot_line, "User-agent: GPTBot") in [(x.line, x.text) for x in gptbot.lines]
    assert (gptbot_line + 1, "Disallow: /") in [(x.line, x.text) for x in gptbot.lines]
    (content_signal,) = [s for s in report.signals if s.family == "content-signal"]
    assert content_signal.lines[0].line == signal_line and content_signal.scope == "*"
    (noai,) = [s for s in report.signals if s.family == "noai"]
    assert (noai.source, noai.scope, noai.lines[0].text) == (
        "header",
        "ClaudeBot",
        "ClaudeBot: noai",
    )
    text = render_text(report)
    assert f"{gptbot_line:>5}  User-agent: GPTBot" in text


def test_validate_text_shows_alike_groups_once(reports, web, fetcher):
    name = "one-group-per-ai-agent"
    report = reports[name]
    body = fetcher.fetch(url_of(web, name, "/robots.txt")).body.decode().split("\n")
    line = {
        token: body.index(f"User-agent: {token}") + 1 for token in ("GPTBot", "ClaudeBot", "CCBot")
    }
    groups = [s for s in report.signals if s.family == "robots"]
    assert [s.scope for s in groups] == ["GPTBot", "ClaudeBot", "CCBot", "Bytespider", "*"]
    text = render_text(report)
    assert "3 groups for AI agents, each with the rules: Disallow: /" in text
    assert (
        f"GPTBot ({line['GPTBot']}), ClaudeBot ({line['ClaudeBot']}), CCBot ({line['CCBot']})"
        in text
    )
    assert "group for Bytespider (AI agents); 1 rule" in text  # different rules: on its own


def test_validate_signal_families(reports):
    families = {name: {s.family for s in reports[name].signals} for name in SITES}
    assert "tdmrep" in families["tdm-layers"]
    assert {"tdmrep.json", "header"} <= {
        s.source for s in reports["tdm-layers"].signals if s.family == "tdmrep"
    }
    assert "ai.txt" in families["aitxt-spawning"] and "ai.txt" in families["aitxt-markdown"]
    assert "rsl" in families["rsl-ok"]
    assert families["clean"] == {"robots"}  # only the default group
    (orphan,) = [
        s for s in reports["signal-before-user-agent"].signals if s.family == "content-signal"
    ]
    assert orphan.summary.endswith("before any User-agent line (ignored)")


# --- conflicts ---------------------------------------------------------------------------------


def test_validate_conflict_between_signals_is_grouped(reports):
    report = reports["conflict"]
    (conflict,) = report.conflicts
    assert conflict.kind == "signals"
    assert conflict.agents == ("GPTBot",) and conflict.purposes == ("train-ai", "ai-use")
    assert [r.signal for r in conflict.reserved_by] == ["robots"]
    assert [r.signal for r in conflict.allowed_by] == ["tdmrep"]
    (occurrence,) = finding(report, "decision.conflict").occurrences
    assert "GPTBot" in occurrence.message


def test_validate_conflict_for_every_agent_is_one_entry(reports):
    report = reports["conflict-everyone"]
    (conflict,) = report.conflicts
    assert conflict.purposes == ("train-ai",)
    assert len(conflict.agents) == len(report.agents)  # `*` and every listed agent
    assert len(finding(report, "decision.conflict").occurrences) == 1


def test_tdmrep_layers_conflict_names_the_winner(reports):
    report = reports["tdm-layers"]
    (conflict,) = [c for c in report.conflicts if c.kind == "tdmrep-layers"]
    assert [r.source for r in conflict.reserved_by] == ["tdmrep.json"]
    assert [r.source for r in conflict.allowed_by] == ["header"]
    assert conflict.resolution.startswith("not reserved: the header layer wins")
    assert report.pages[0].matrix[0].decisions["train-ai"] == "allowed"


# --- several pages -----------------------------------------------------------------------------


def test_validate_deduplicates_findings_across_pages(web, fetcher):
    report = validate(
        url_of(web, "tdm-layers"), urls=["/a/1.html", "/img/1.jpg", "/a/1.html"], fetcher=fetcher
    )
    assert [p.url for p in report.pages] == [
        url_of(web, "tdm-layers", path) for path in ("/", "/a/1.html", "/img/1.jpg")
    ]
    (override,) = finding(report, "tdmrep.layer-override").occurrences
    assert override.urls == (url_of(web, "tdm-layers"), url_of(web, "tdm-layers", "/a/1.html"))
    # The image has no header: the file's 1 stands there.
    image = report.pages[2].matrix[0]
    assert image.decisions["train-ai"] == "reserved"
    typo = validate(url_of(web, "key-typo"), urls=["/a/1.html"], fetcher=fetcher)
    (occurrence,) = finding(typo, "robots.key-typo").occurrences
    assert occurrence.urls == ()  # site-wide: seen once, not once per page


def test_validate_rejects_a_url_of_another_origin(web, fetcher):
    with pytest.raises(InvalidOrigin):
        validate(url_of(web, "clean"), urls=[url_of(web, "known")], fetcher=fetcher)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("example.com", "https://example.com/"),
        ("http://example.com:8080", "http://example.com:8080/"),
        ("https://example.com/a/b?c", "https://example.com/a/b?c"),
        ("example.com?x=1", "https://example.com/?x=1"),
    ],
)
def test_site_url(given: str, expected: str):
    assert site_url(given) == expected


@pytest.mark.parametrize("given", ["ftp://example.com/", "https://", "http://exa mple.com:x/"])
def test_site_url_rejects(given: str):
    with pytest.raises(InvalidOrigin):
        site_url(given)


# --- JSON and HTML -----------------------------------------------------------------------------


@pytest.mark.parametrize("site", ["known", "tdm-layers", "rsl-ok", "robots-5xx", "aitxt-spawning"])
def test_validate_json_round_trips(reports, site: str):
    report = reports[site]
    data = json.loads(render_json(report))
    assert ValidationReport.from_json(data) == report
    assert data["summary"]["exit_status"] == exit_status(report)
    assert data["summary"]["error"] == sum(f["severity"] == "error" for f in data["findings"])


def test_validate_json_refuses_other_schema(reports):
    data = reports["clean"].to_json() | {"schema": "validate-report/0"}
    with pytest.raises(ValueError, match="schema"):
        ValidationReport.from_json(data)


def test_validate_html_escapes_publisher_text(reports):
    page = render_html(reports["markup"])
    assert "<script>alert" not in page
    document = lxml_html.fromstring(page)
    assert not document.xpath("//script")
    cells = document.xpath("//td[@class='reserved' or @class='allowed' or @class='unspecified']")
    assert len(cells) == len(reports["markup"].agents) * 4
    assert "&lt;script&gt;alert(1)&lt;/script&gt;=no" in page


def test_validate_html_shows_findings_and_fixes(reports):
    report = reports["tdmrep-shadowed"]
    document = lxml_html.fromstring(render_html(report))
    text = document.text_content()
    for shown in report.findings:
        assert shown.code in text and shown.fix in text


# --- the command line and its exit codes --------------------------------------------------------


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    status = cli.main(["validate", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_cli_exit_0_without_errors(web, capsys):
    status, out, _ = run_cli(capsys, url_of(web, "clean"), "--allow-private")
    assert status == 0 and "Findings\n  none" in out


def test_cli_exit_1_on_errors(web, capsys):
    status, out, _ = run_cli(capsys, url_of(web, "robots-soft404"), "--allow-private")
    assert status == 1 and "ERROR  robots.html-body" in out


def test_cli_strict_fails_on_warnings(web, capsys):
    site = url_of(web, "key-typo")
    assert run_cli(capsys, site, "--allow-private")[0] == 0
    status, out, _ = run_cli(capsys, site, "--allow-private", "--strict")
    assert status == 1 and "WARNING  robots.key-typo" in out


def test_cli_exit_2_when_nothing_answers(capsys):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    status, out, err = run_cli(capsys, f"http://127.0.0.1:{port}/", "--allow-private", "--json")
    assert status == 2 and "could not be reached" in err and "--allow-private" not in err
    data = json.loads(out)
    assert data["reachable"] is False and data["summary"]["exit_status"] == 2


def test_cli_exit_2_for_a_private_address_without_allow_private(web, capsys):
    status, _out, err = run_cli(capsys, url_of(web, "clean"))
    assert status == 2 and "--allow-private" in err


def test_cli_exit_2_on_bad_arguments(web, capsys):
    status, out, err = run_cli(capsys, "ftp://example.com/")
    assert status == 2 and out == "" and "invalid URL 'ftp://example.com/': the scheme" in err
    status, out, err = run_cli(
        capsys, url_of(web, "clean"), "--allow-private", "--url", url_of(web, "known")
    )
    assert status == 2 and out == "" and "one site at a time" in err


def test_cli_json_is_the_report(web, capsys):
    site = url_of(web, "conflict")
    status, out, _ = run_cli(
        capsys, site, "--allow-private", "--json", "--agent", "ExampleBot", "--url", "/a/1.html"
    )
    report = ValidationReport.from_json(json.loads(out))
    assert status == 0 and report.exit_status() == 0 and report.exit_status(strict=True) == 1
    assert "ExampleBot" in report.agents and len(report.pages) == 2
    assert {"decision.conflict"} <= codes(report)


def test_cli_html(web, capsys):
    status, out, _ = run_cli(capsys, url_of(web, "known"), "--allow-private", "--html")
    assert status == 0 and out.startswith("<!DOCTYPE html>")
    assert lxml_html.fromstring(out).xpath("//table")


def test_validate_shows_what_the_origin_did(capsys):
    """Access outcomes (docs/fetch.md): a challenge served as robots.txt is an error whose
    source line names the challenge; a 402 page shows its price and licence link."""
    from reservation_crawler.testing import recipe

    recipes = [
        recipe("access-challenge", "cloudflare-200"),
        recipe("access-payment", "pages-402"),
    ]
    with FixtureWeb.from_recipes(recipes, corpus=False) as fixture:
        status, out, _ = run_cli(capsys, fixture.base_url(0), "--allow-private")
        assert status == 1 and "ERROR  robots.challenge" in out
        (robots_line,) = [line for line in out.splitlines() if line.startswith("  robots.txt ")]
        assert "access: challenge (cloudflare:cf-mitigated)" in robots_line
        status, out, _ = run_cli(capsys, fixture.base_url(1), "--allow-private")
        (page_line,) = [line for line in out.splitlines() if line.startswith("  page ")]
        assert "access: payment-required (http:402)" in page_line
        assert "price USD 0.01 (crawler-price)" in page_line
        assert f"licence {fixture.base_url(1)}/license.xml" in page_line
