"""Targets longer than Scrapy's URL length limit get a record like any other (#12 item 6)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reservation_crawler.testing import FixtureWeb, recipe

pytestmark = pytest.mark.hostile


def test_a_target_over_2083_characters_gets_its_record(redis_url: str, tmp_path: Path):
    with FixtureWeb.from_recipes([recipe("robots-ai-block"), recipe("plain")], corpus=False) as web:
        long_url = web.url(0, "/" + "a" * 3000)
        targets = tmp_path / "targets.txt"
        targets.write_text(f"{long_url}\n{web.url(1, '/')}\n")
        env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        env["XDG_DATA_HOME"] = str(tmp_path / "home")
        out = tmp_path / "out.jsonl"
        command = [sys.executable, "-m", "reservation_crawler.cli", "crawl", "-i", str(targets)]
        command += ["-o", str(out), "--allow-private", "--redis", redis_url, "--json"]
        command += ["--job-dir", str(tmp_path / "job")]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert summary["sites"]["unfinished"] == 0 and summary["sites"]["total"] == 2
    records = {r["url"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert set(records) == {long_url, web.url(1, "/")}
    assert records[long_url]["sources"]["page"]["status"] == 404
