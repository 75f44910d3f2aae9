"""noimageai on an HTML page (issue 11 item 6): read, kept as evidence, counted, shown.

It reserves the page's images, not the page: the page's decisions stay what the ground truth
says (unspecified), but the record carries the directive as evidence (effect unspecified) and a
page.noimageai-not-image finding, validate shows it and stats counts the family.
"""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from reservation_crawler.cli import main
from reservation_crawler.testing import FixtureWeb, every_variant

AGENTS = ("GPTBot", "CCBot")


def _run(argv: list[str]) -> tuple[int, str]:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(argv)
    return code, buffer.getvalue()


@pytest.fixture(scope="module")
def web():
    recipes = [r for r in every_variant(corpus=None) if r.kind in ("noai", "plain")]
    with FixtureWeb.from_recipes(recipes, corpus=False) as w:
        yield w


def _site(web, variant: str) -> int:
    return next(i for i, r in enumerate(web.recipes) if r.variant == variant)


@pytest.fixture(scope="module")
def records(web):
    urls = [url for i in range(len(web)) for url in web.truth(i)["expected"]]
    argv = ["check", "--json", "--allow-private", *urls]
    for agent in AGENTS:
        argv += ["--agent", agent]
    code, out = _run(argv)
    assert code == 0
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_noimageai_meta_is_evidence_with_effect_unspecified_in_check(web, records):
    home = web.url(_site(web, "noimageai-meta"))
    record = next(r for r in records if r["url"] == home)
    noimageai = [e for e in record["evidence"] if e["signal"] == "noimageai"]
    assert {e["agent"] for e in noimageai} >= set(AGENTS)
    assert {(e["effect"], e["source"], e["raw"]) for e in noimageai} == {
        ("unspecified", "meta", "noimageai")
    }
    assert any(f["code"] == "page.noimageai-not-image" for f in record["findings"])
    # The decisions are the ground truth's: the page itself is not reserved.
    truth = web.truth(_site(web, "noimageai-meta"))["expected"][home]
    for agent in AGENTS:
        assert record["decisions"][agent] == truth[agent]
        assert record["decisions"][agent]["train-ai"] == "unspecified"


def test_noimageai_on_an_image_still_reserves(web, records):
    site = _site(web, "noimageai-image")
    image = next(u for u in web.truth(site)["expected"] if u.endswith(".jpg"))
    record = next(r for r in records if r["url"] == image)
    assert record["decisions"]["GPTBot"]["train-ai"] == "reserved"
    assert not any(f["code"] == "page.noimageai-not-image" for f in record["findings"])


def test_stats_counts_noimageai_like_the_ground_truth(web, records, tmp_path):
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    code, out = _run(["stats", "--json", str(path)])
    assert code == 0
    families = {f["family"]: f for f in json.loads(out)["families"]}
    publishing = sum(bool(web.truth(i)["families"]["noimageai"]) for i in range(len(web)))
    assert publishing == 3  # meta (noai, noimageai), noimageai-image, noimageai-meta
    assert families["noimageai"]["present"]["count"] == publishing


def test_validate_shows_noimageai_meta(web):
    code, out = _run(
        ["validate", "--json", "--allow-private", web.url(_site(web, "noimageai-meta"))]
    )
    report = json.loads(out)
    assert code == 0
    assert [f["code"] for f in report["findings"]] == ["page.noimageai-not-image"]
    signals = [s for s in report["signals"] if s["family"] == "noimageai"]
    assert signals and "not the page itself" in signals[0]["summary"]
    code, text = _run(["validate", "--allow-private", web.url(_site(web, "noimageai-meta"))])
    assert "Findings: none" not in text
    assert "page.noimageai-not-image" in text


def test_noimageai_beside_noai_is_evidence_without_a_finding(web, records):
    home = web.url(_site(web, "meta"))  # <meta name="robots" content="noai, noimageai">
    record = next(r for r in records if r["url"] == home)
    assert record["decisions"]["GPTBot"]["train-ai"] == "reserved"
    assert any(e["signal"] == "noimageai" for e in record["evidence"])
    assert not any(f["code"] == "page.noimageai-not-image" for f in record["findings"])
