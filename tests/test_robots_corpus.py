"""Every real robots.txt of the shared corpus (about 11,890 files, read in place, never copied):
parses without an exception, answers consistently, and HTML bodies are recognised."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from reservation_crawler.robots import parse

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
                    assert txt.explain(url, agent).allowed is allowed, (row["file"], url, agent)
                    checked += 1
            if profile == "rfc9309":
                assert txt.allowed("https://www.example.com/robots.txt", "GPTBot")
                txt.content_signals("GPTBot")
                txt.content_usages("https://www.example.com/", "GPTBot")
                txt.crawl_delay("GPTBot")
    assert checked > 400_000
