"""The follow-up policy files (issue #17): /.well-known/ai.txt when /ai.txt is absent, the RSL
documents robots.txt names (else /rsl.xml). The three drivers run one plan
(core.policy.policy_requests): the httpx Fetcher, the AsyncFetcher and a real crawl (the
command line, in a subprocess) must fetch the same files and report the same sources."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from reservation_crawler.drivers.collect import collect, policy_from_fetches
from reservation_crawler.drivers.fetch import AsyncFetcher, Fetcher, FetchLimits
from reservation_crawler.testing import FixtureWeb, recipe

LIMITS = FetchLimits(timeout=5.0)
RECIPES = [
    recipe("aitxt-spawning", "well-known"),  # 0: only /.well-known/ai.txt
    recipe("aitxt-spawning", "both-locations"),  # 1: /ai.txt wins
    recipe("rsl", "robots-license"),  # 2: License: -> /license.xml
    recipe("rsl", "paid-ai"),  # 3
    recipe("rsl", "rsl-xml-only"),  # 4: /rsl.xml, no License:
    recipe("plain"),  # 5: nothing: /ai.txt 404 -> fallback 404, /rsl.xml 404
    recipe("robots-5xx"),  # 6: robots.txt 500: the other files are still fetched
]


@pytest.fixture(scope="module")
def web() -> Iterator[FixtureWeb]:
    with FixtureWeb.from_recipes(RECIPES, corpus=False) as fixture_web:
        yield fixture_web


def _files(policy_json: dict[str, Any]) -> dict[str, Any]:
    files = policy_json["files"]
    strip = {"sha256"}

    def clean(f: dict[str, Any]) -> dict[str, Any]:
        return {**f, "source": {k: v for k, v in f["source"].items() if k not in strip}}

    return {
        key: [clean(f) for f in value] if isinstance(value, list) else clean(value)
        for key, value in files.items()
    }


@pytest.fixture(scope="module")
def sync_policies(web: FixtureWeb) -> list[dict[str, Any]]:
    with Fetcher(allow_private=True, limits=LIMITS) as fetcher:
        return [
            _files(policy_from_fetches(fetcher.fetch_policy_files(web.base_url(i))).to_json())
            for i in range(len(RECIPES))
        ]


def test_sync_and_async_fetchers_fetch_the_same_files(
    web: FixtureWeb, sync_policies: list[dict[str, Any]]
) -> None:
    async def run() -> list[dict[str, Any]]:
        async with AsyncFetcher(allow_private=True, limits=LIMITS) as fetcher:
            out = []
            for i in range(len(RECIPES)):
                fetched = await fetcher.fetch_policy_files(web.base_url(i))
                out.append(_files(policy_from_fetches(fetched).to_json()))
            return out

    assert anyio.run(run) == sync_policies


def test_the_location_of_ai_txt_and_the_rsl_documents(
    web: FixtureWeb, sync_policies: list[dict[str, Any]]
) -> None:
    well_known, both, licensed, paid, guessed, plain, dead = sync_policies
    assert well_known["ai.txt"]["source"]["url"] == web.url(0, "/.well-known/ai.txt")
    assert well_known["ai.txt"]["source"]["outcome"] == "ok"
    assert both["ai.txt"]["source"]["url"] == web.url(1, "/ai.txt")
    assert plain["ai.txt"]["source"]["url"] == web.url(5, "/ai.txt")  # both absent: /ai.txt
    assert [f["source"]["url"] for f in licensed["rsl"]] == [web.url(2, "/license.xml")]
    assert [f["source"]["outcome"] for f in paid["rsl"]] == ["ok"]
    assert [f["source"]["url"] for f in guessed["rsl"]] == [web.url(4, "/rsl.xml")]
    assert [f["source"]["outcome"] for f in plain["rsl"]] == ["absent"]
    assert dead["robots.txt"]["source"]["status"] == 500
    assert dead["ai.txt"]["source"]["outcome"] != "not-fetched"  # an answer, even a 5xx


def test_each_site_is_asked_once_per_file(web: FixtureWeb) -> None:
    web.reset_counts()
    with Fetcher(allow_private=True, limits=LIMITS) as fetcher:
        fetcher.fetch_policy_files(web.base_url(0))
    assert web.request_count(0, "/ai.txt") == 1
    assert web.request_count(0, "/.well-known/ai.txt") == 1
    assert web.request_count(0, "/rsl.xml") == 1
    assert web.request_count(0, "/license.xml") == 0


def test_a_crawl_reports_the_same_sources_and_decisions(web: FixtureWeb, tmp_path: Path) -> None:
    targets = tmp_path / "targets.txt"
    targets.write_text("".join(web.url(i, "/") + "\n" for i in range(len(RECIPES))))
    output = tmp_path / "records.jsonl"
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["XDG_DATA_HOME"] = str(tmp_path / "home")
    done = subprocess.run(
        [sys.executable, "-m", "reservation_crawler.cli", "crawl", "-i", str(targets), "-o",
         str(output), "--allow-private", "--no-redis", "--no-throttle", "--timeout", "5",
         "--agent", "GPTBot"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr[-3000:]
    crawled = {
        r["url"]: r for r in map(json.loads, output.read_text().splitlines()) if r.get("url")
    }
    with Fetcher(allow_private=True, limits=LIMITS) as fetcher:
        for i in range(len(RECIPES)):
            url = web.url(i, "/")
            direct = collect(fetcher, url, ["GPTBot"]).to_json()
            record = crawled[url]
            assert record["decisions"] == direct["decisions"], url
            for name, source in direct["sources"].items():
                if name == "page":  # collect() fetches a page robots.txt bars: the crawl does not
                    continue
                assert record["sources"][name]["url"] == source["url"], (url, name)
                assert record["sources"][name]["outcome"] == source["outcome"], (url, name)
            assert set(record["sources"]) == set(direct["sources"]), url


def test_the_fallback_location_is_named_in_the_record_and_by_validate(web: FixtureWeb) -> None:
    from reservation_crawler.apps.validate import validate

    with Fetcher(allow_private=True, limits=LIMITS) as fetcher:
        record = collect(fetcher, web.url(0, "/"), ["GPTBot"])
        report = validate(web.base_url(0), fetcher=fetcher)
        both = collect(fetcher, web.url(1, "/"), [])
    fallback = web.url(0, "/.well-known/ai.txt")
    assert record.sources["ai.txt"].url == fallback
    rows = [e for e in record.evidence_for("GPTBot", "train-ai") if e.signal == "ai.txt"]
    assert [(e.source, e.location, str(e.effect)) for e in rows] == [
        ("/.well-known/ai.txt", fallback, "reserved")
    ]
    assert "aitxt.well-known-location" in {f.code for f in record.findings}
    assert report.sources["ai.txt"].url == fallback
    assert "aitxt.well-known-location" in {f.code for f in report.findings}
    assert both.sources["ai.txt"].url == web.url(1, "/ai.txt")
    assert "aitxt.well-known-location" not in {f.code for f in both.findings}


def test_validate_lists_the_rsl_documents_and_their_terms(web: FixtureWeb) -> None:
    from reservation_crawler.apps.validate import validate

    with Fetcher(allow_private=True, limits=LIMITS) as fetcher:
        licensed = validate(web.base_url(3), fetcher=fetcher)
        guessed = validate(web.base_url(4), fetcher=fetcher)
    (reference,) = [r for r in licensed.references if r.kind == "rsl"]
    assert reference.url == web.url(3, "/license.xml")
    assert reference.cited_by[0].startswith("robots.txt line ")
    assert "permits usage: ai-train, ai-input" in reference.summary
    (reference,) = [r for r in guessed.references if r.kind == "rsl"]
    assert reference.url == web.url(4, "/rsl.xml")
    assert "no License: line" in reference.cited_by[0]
    assert "rsl.discovered-without-license" in {f.code for f in guessed.findings}
