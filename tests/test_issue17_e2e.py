"""Issue #17 items 1, 2 and 4 end to end on the fixture web: `check --json` for the agents the
new signals bind (Googlebot and bingbot too) against the independently derived ground truth,
`stats --json` counting each new signal, and `validate --json` explaining Cloudflare's managed
block where it contradicts the site's own lines."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from reservation_crawler.cli import main
from reservation_crawler.testing import PAGES, FixtureWeb, recipe
from reservation_crawler.testing.truth import SiteModel

NEW = [
    ("content-signal-robots", "cloudflare-managed-2026"),
    ("content-signal-robots", "use-reference"),
    ("content-signal-robots", "use-immediate"),
    ("content-signal-robots", "use-full-unknown-key"),
    ("content-usage-robots", "vocab-08"),
    ("content-usage-robots", "legacy-bots"),
    ("content-usage-header", "ai-use-n"),
    ("content-usage-header", "legacy-labels"),
    ("noai", "noml-meta"),
    ("noai", "noml-header"),
    ("noai", "registry-agent-meta"),
    ("search-engine", "bing-noarchive"),
    ("search-engine", "bing-nocache-scoped"),
    ("search-engine", "google-nosnippet"),
    ("search-engine", "google-max-snippet-0"),
    ("search-engine", "google-max-snippet-50"),
]
AGENTS = ("GPTBot", "ClaudeBot", "CCBot", "Googlebot", "bingbot")


def _run(argv: list[str]) -> tuple[int, str]:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(argv)
    return code, buffer.getvalue()


@pytest.fixture(scope="module")
def web():
    with FixtureWeb.from_recipes([recipe(k, v) for k, v in NEW], corpus=False) as fixture_web:
        yield fixture_web


@pytest.fixture(scope="module")
def checked(web, tmp_path_factory):
    urls = [web.url(i, path) for i in range(len(web)) for path in PAGES]
    argv = ["check", "--json", "--allow-private", "--timeout", "3"]
    for agent in AGENTS:
        argv += ["--agent", agent]
    code, out = _run([*argv, *urls])
    assert code == 0
    path = tmp_path_factory.mktemp("issue17") / "records.jsonl"
    path.write_text(out, encoding="utf-8")
    return {json.loads(line)["url"]: json.loads(line) for line in out.splitlines()}, path


def test_check_json_matches_the_ground_truth_for_every_agent(web, checked):
    records, _ = checked
    mismatches, asserted = [], 0
    for index, (kind, variant) in enumerate(NEW):
        model = SiteModel(web.recipes[index])
        for path in PAGES:
            record = records[web.url(index, path)]
            assert record["aipref_vocab"] == "draft-ietf-aipref-vocab-08"
            for agent in ("*", *AGENTS):
                want, _evidence = model.cells(path, agent)
                for purpose, value in want.items():
                    if value is None:
                        continue
                    asserted += 1
                    got = record["decisions"][agent][purpose]
                    if got != value:
                        mismatches.append(
                            f"{kind}/{variant} {path} {agent} {purpose}: {got} != {value}"
                        )
    assert not mismatches, "\n".join(mismatches)
    assert asserted == len(NEW) * len(PAGES) * (1 + len(AGENTS)) * 4


def test_the_new_signals_decide_what_their_sources_say(web, checked):
    records, _ = checked

    def cells(variant: str, agent: str, path: str = "/") -> tuple[str, ...]:
        index = next(i for i, (_k, v) in enumerate(NEW) if v == variant)
        row = records[web.url(index, path)]["decisions"][agent]
        return tuple(row[p] for p in ("crawl", "train-ai", "ai-use", "search"))

    # Cloudflare's managed block vs the site's own lines (RFC 9309 merging).
    assert cells("cloudflare-managed-2026", "CCBot") == ("reserved",) * 4
    assert cells("cloudflare-managed-2026", "GPTBot")[0] == "allowed"  # own Allow: / wins the tie
    assert cells("cloudflare-managed-2026", "*")[1:] == ("reserved", "reserved", "allowed")
    assert cells("use-immediate", "*")[1:] == ("reserved",) * 3
    assert cells("vocab-08", "GPTBot")[1:] == ("reserved", "reserved", "allowed")  # search override
    assert cells("legacy-bots", "*")[1:] == ("reserved", "reserved", "allowed")
    assert cells("legacy-labels", "*")[1:3] == ("reserved", "allowed")
    assert cells("noml-header", "ClaudeBot", "/img/1.jpg")[1:3] == ("reserved", "reserved")
    assert cells("registry-agent-meta", "ClaudeBot")[1:3] == ("reserved", "reserved")
    assert cells("registry-agent-meta", "CCBot")[1:3] == ("unspecified", "unspecified")
    assert cells("bing-noarchive", "bingbot")[1:3] == ("reserved", "reserved")
    assert cells("bing-noarchive", "GPTBot")[1:3] == ("unspecified", "unspecified")
    assert cells("google-nosnippet", "Googlebot")[1:3] == ("unspecified", "reserved")
    assert cells("google-max-snippet-0", "Googlebot", "/img/1.jpg")[2] == "reserved"
    assert cells("google-max-snippet-50", "Googlebot")[2] == "unspecified"


def test_stats_counts_each_new_signal(web, checked):
    _, path = checked
    code, out = _run(["stats", "--json", str(path)])
    assert code == 0
    report = json.loads(out)
    families = {f["family"]: f["present"]["count"] for f in report["families"]}
    truths = [web.truth(i) for i in range(len(web))]
    for family in ("noml", "content-signal-use", "content-usage-legacy"):
        assert families[family] == sum(bool(t["families"][family]) for t in truths), family
    # bingbot and Googlebot were asked, so their engines' directives are evidence families too
    expected = {"noarchive": 1, "nocache": 1, "nosnippet": 1, "max-snippet": 2}
    assert {f: families[f] for f in expected} == expected
    findings = {f["code"]: f["sites"]["count"] for f in report["findings"]}
    assert findings["page.search-engine-ai-control"] == sum(
        bool(t["families"]["search-engine-ai-control"]) for t in truths
    )


def test_validate_explains_the_managed_block_and_what_wins(web):
    index = NEW.index(("content-signal-robots", "cloudflare-managed-2026"))
    code, out = _run(["validate", "--json", "--allow-private", "--timeout", "3", web.url(index)])
    report = json.loads(out)
    (finding,) = [
        f for f in report["findings"] if f["code"] == "robots.cloudflare-managed-conflict"
    ]
    messages = [o["message"] for o in finding["occurrences"]]
    assert len(messages) == 3, messages
    never_read, allow_wins, combined = sorted(
        messages, key=lambda m: ("your Content" not in m, "your group" not in m)
    )
    assert "grants ai-train=yes, ai-input=yes" in never_read
    assert "CCBot, ClaudeBot, GPTBot" in never_read and "§2.2.1" in never_read
    assert "your group for GPTBot" in allow_wins and "Allow wins (§2.2.2)" in allow_wins
    assert "ai-train: managed no, yours yes -> no" in combined
    assert finding["severity"] == "warning" and code in (0, 1)


@pytest.mark.parametrize(
    ("variant", "wanted"),
    [
        ("bing-noarchive", "noarchive for every agent: Microsoft Bing reads it as not used in"),
        ("noml-meta", "noml for every agent: reserves AI training and AI use"),
        ("google-max-snippet-50", "max-snippet:50 for every agent: limits the excerpts Google"),
        ("use-reference", None),
    ],
)
def test_validate_lists_each_new_signal(web, variant, wanted):
    index = next(i for i, (_k, v) in enumerate(NEW) if v == variant)
    _code, out = _run(["validate", "--json", "--allow-private", "--timeout", "3", web.url(index)])
    summaries = [s["summary"] for s in json.loads(out)["signals"]]
    lines = [line["text"] for s in json.loads(out)["signals"] for line in s["lines"]]
    if wanted is not None:
        assert any(summary.startswith(wanted) for summary in summaries), summaries
    else:
        assert "Content-Signal: search=yes,ai-train=no,use=reference" in lines
