"""Golden outputs: `check --json`, `validate --json` and `stats --json` over the fixture web.

Captured before the layering move (0.1.0) and compared on every run, so a refactor that changes
any answer fails here. Volatile values (ports, times, durations, digests of timed bodies) are
normalized first. A deliberate change regenerates the files with ``RC_GOLDEN_UPDATE=1`` and is
listed in CHANGELOG.md.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from reservation_crawler.cli import main
from reservation_crawler.testing import FixtureWeb, every_variant

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("RC_GOLDEN_UPDATE") == "1"
AGENTS = ("GPTBot", "ClaudeBot", "CCBot")
# sha256: bodies carry the fixture port. inputs: the temporary records path.
VOLATILE_KEYS = {
    "fetched_at",
    "fetched_at_range",  # stats: the first and last fetched_at of the records
    "checked_at",
    "elapsed_ms",
    "age",
    "expires_at",
    "generated_at",
    "duration",
    "sha256",
    "inputs",
}
# Sites whose answers depend on timing (timeouts, trickles) are left out of the golden files.
TIMED_KINDS = {"robots-timeout"}

pytestmark = pytest.mark.slow


def _normalize(value: Any, port: int) -> Any:
    if isinstance(value, dict):
        return {
            k: ("<volatile>" if k in VOLATILE_KEYS else _normalize(v, port))
            for k, v in sorted(value.items())
        }
    if isinstance(value, list):
        return [_normalize(v, port) for v in value]
    if isinstance(value, str):
        return re.sub(rf":{port}\b", ":PORT", value)
    return value


def _run(argv: list[str]) -> tuple[int, str]:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(argv)
    return code, buffer.getvalue()


@pytest.fixture(scope="module")
def web():
    recipes = [r for r in every_variant(corpus=None) if r.kind not in TIMED_KINDS]
    with FixtureWeb.from_recipes(recipes, slow_delay=3.0, corpus=False) as w:
        yield w


def _compare(name: str, produced: Any) -> None:
    path = GOLDEN / name
    text = json.dumps(produced, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    if UPDATE or not path.exists():
        if os.environ.get("CI") and not UPDATE:
            pytest.fail(f"golden file {path} is missing")
        path.write_text(text, encoding="utf-8")
        return
    want = json.loads(path.read_text(encoding="utf-8"))
    assert produced == want, f"{name} differs from the golden output (see {path})"


@pytest.fixture(scope="module")
def check_records(web, tmp_path_factory):
    urls = [url for i in range(len(web)) for url in web.truth(i)["expected"]]
    argv = ["check", "--json", "--allow-private", "--timeout", "2", *urls]
    for agent in AGENTS:
        argv += ["--agent", agent]
    code, out = _run(argv)
    assert code == 0
    records = [json.loads(line) for line in out.splitlines() if line.strip()]
    path = tmp_path_factory.mktemp("golden") / "records.jsonl"
    path.write_text(out, encoding="utf-8")
    return records, path


def test_golden_check_json(web, check_records):
    records, _ = check_records
    produced = {r["url"].replace(f":{web.port}", ":PORT"): r for r in records}
    _compare("check.json", _normalize(produced, web.port))


def test_golden_validate_json(web):
    produced = {}
    for i in range(len(web)):
        code, out = _run(["validate", "--json", "--allow-private", "--timeout", "2", web.url(i)])
        recipe = web.recipes[i]
        produced[f"{i:03d} {recipe.kind}/{recipe.variant}"] = {
            "exit": code,
            "report": _normalize(json.loads(out), web.port),
        }
    _compare("validate.json", produced)


def test_golden_stats_json(web, check_records):
    _, path = check_records
    code, out = _run(["stats", "--json", str(path)])
    assert code == 0
    _compare("stats.json", _normalize(json.loads(out), web.port))
