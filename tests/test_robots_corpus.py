"""Every real robots.txt of the shared corpus (about 11,890 files, read in place, never copied):
parses without an exception, answers consistently, and HTML bodies are recognised."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from reservation_crawler.signals.robots import parse

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "robots"
AGENTS = ("GPTBot", "Googlebot", "ClaudeBot", "*")
COMMON = ("/", "/index.html", "/search?q=x", "/robots.txt", "/wp-admin/admin-ajax.php")

pytestmark = pytest.mark.skipif(
    not (CORPUS / "INDEX.tsv").is_file(), reason="shared robots.txt corpus not present"
)


def _index() -> list[dict[str, str]]:
    with (CORPUS / "INDEX.tsv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _urls(txt) -> list[str]:
    """A few common paths plus paths built from the file's own rules."""
    paths = list(COMMON)
    for group in txt.groups[:3]:
        for rule in group.rules[:4]:
            raw = rule.pattern.raw
            if raw.startswith("/"):
                paths.append(raw.rstrip("$").replace("*", "x") + "z")
    return ["https://www.example.com" + path for path in paths]


@pytest.mark.slow
def test_every_corpus_file_parses_and_answers() -> None:
    rows = _index()
    assert len(rows) > 11_000
    checked = 0
    for number, row in enumerate(rows):
        data = (CORPUS / row["file"]).read_bytes()
        profiles = ("rfc9309", "google") if number % 10 == 0 else ("rfc9309",)
        for profile in profiles:
            txt = parse(data, profile=profile)
            findings = txt.findings
            assert all(f.code.startswith(("robots.", "content-")) for f in findings)
            if row["html"] == "True":
                assert "robots.html-body" in {f.code for f in findings}, row["file"]
            for url in _urls(txt):
                for agent in AGENTS:
                    allowed = txt.allowed(url, agent)
                    explanation = txt.explain(url, agent)
                    assert explanation.allowed is allowed, (row["file"], url, agent)
                    # no real file needs more than MATCH_WORK_LIMIT (line 0: fail closed)
                    assert explanation.rule is None or explanation.rule.line > 0, row["file"]
                    checked += 1
            if profile == "rfc9309":
                assert txt.allowed("https://www.example.com/robots.txt", "GPTBot")
                txt.content_signals("GPTBot")
                txt.content_usages("https://www.example.com/", "GPTBot")
                txt.crawl_delay("GPTBot")
    assert checked > 400_000


def test_memoized_decisions_equal_decide_on_a_corpus_sample() -> None:
    """decide_agent shares one decision between URLs that match the same rules; on 400 real
    files (every one with Content-Signal / Content-Usage lines, the rest a seeded sample), each
    URL's shared decision must be exactly what decide() builds for it alone."""
    import random

    from reservation_crawler.core.decide import decide, decide_agent
    from reservation_crawler.core.policy import OriginPolicy
    from reservation_crawler.drivers.fetch import FetchResult

    def result(path: str, status: int, body: bytes) -> FetchResult:
        url = "https://www.example.com" + path
        return FetchResult(url, url, status, (), body, "text/plain", None, None, False, (), 1.0)

    files = sorted(p for p in CORPUS.iterdir() if p.name != "INDEX.tsv" and p.is_file())
    preference = [p for p in files if b"Content-Usage" in p.read_bytes()]
    preference += [p for p in files if b"Content-Signal" in p.read_bytes()]
    preference = list(dict.fromkeys(preference))
    sample = preference + random.Random(7).sample(files, 400 - len(preference))
    shared = 0
    for path in sample:
        body = path.read_bytes()
        origin = OriginPolicy.from_fetches(
            "https://www.example.com",
            "2026-11-22T00:00:00Z",
            result("/robots.txt", 200, body),
            result("/ai.txt", 404, b""),
            result("/.well-known/tdmrep.json", 404, b""),
        )
        txt = origin.robots
        assert txt is not None
        urls = _urls(txt) + [u + "/deeper/page.html?x=1" for u in _urls(txt)]
        for agent in AGENTS:
            for url in urls:
                memoized = decide_agent(url, agent, origin)
                record = decide(url, [agent], origin, include_default=agent == "*")
                assert dict(memoized.cells) == dict(record.decisions[agent]), (path.name, url)
                assert memoized.evidence == tuple(e for e in record.evidence if e.agent == agent)
        shared += len(urls) * len(AGENTS) - len(origin.agent_decisions)
    assert shared > 0  # the memo was really exercised
