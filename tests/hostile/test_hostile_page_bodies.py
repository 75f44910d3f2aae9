"""A page whose body fails after a 2xx head still counts its reservations (#12 item 1).

The headers always arrived and the part of the body that did is read up to the cap: an
``X-Robots-Tag: noai`` or a ``noai`` meta there reserves train-ai in `check`, `validate`, the
Checker and the crawl alike, and the fetch error is still reported.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_server import Cut, HostileServer, Scripted

from reservation_crawler.cli import main

pytestmark = pytest.mark.hostile

ROBOTS = Scripted(200, [("Content-Type", "text/plain")], b"User-agent: *\nAllow: /\n")
NOAI = [("Content-Type", "text/html"), ("X-Robots-Tag", "noai")]
HEAD = b'<html><head><meta name="robots" content="noai"><title>x</title></head><body>'
TIMEOUT = 4.0  # generous: a loaded machine must not turn the bomb into a timeout


def _bodies() -> dict[str, Scripted | Cut]:
    big = b"<html><head></head><body>" + b"<p>filler</p>\n" * 200_000  # 2.8 MB > the 2 MB cap
    bomb = gzip.compress(b"\0" * 60_000_000, 9)
    return {
        # (a) over the cap, announced with Content-Length
        "/over-cap": Scripted(200, NOAI, big),
        # (b) a gzip bomb
        "/bomb": Scripted(200, [*NOAI, ("Content-Encoding", "gzip")], bomb),
        # (c) the head, some bytes, then silence past the timeout
        "/stalled": Cut(Scripted(200, NOAI, big), sent=4_000, announce=len(big), hang=15.0),
        # (d) a reset mid-body; the reservation is in the part that arrived (no header)
        "/reset": Cut(
            Scripted(200, [("Content-Type", "text/html")], HEAD + b"<p>x</p>" * 10_000),
            sent=len(HEAD) + 400,
            announce=len(HEAD) + 80_000,
            hang=0.3,
            reset=True,
        ),
    }


EXPECTED_ERROR = {
    "/over-cap": None,  # read up to the cap: truncated, not an error (fetch.truncated)
    "/bomb": "decompression-bomb",
    "/stalled": "timeout",
    "/reset": "reset",
}
PATHS = sorted(EXPECTED_ERROR)


@pytest.fixture(scope="module")
def origin():
    with HostileServer({"/robots.txt": ROBOTS, **_bodies()}) as server:
        yield server


def _assert_reserved(record: dict, path: str) -> None:
    page = record["sources"]["page"]
    assert page["status"] == 200
    assert page["error"] == EXPECTED_ERROR[path], page
    assert record["decisions"]["*"]["train-ai"] == "reserved", record["decisions"]["*"]


@pytest.mark.parametrize("path", PATHS)
def test_check_reads_the_head_and_the_part_of_the_body_that_arrived(capsys, origin, path):
    argv = ["check", "--json", "--allow-private", "--timeout", str(TIMEOUT), origin.url(path)]
    assert main(argv) == 0
    _assert_reserved(json.loads(capsys.readouterr().out), path)


@pytest.mark.parametrize("path", PATHS)
def test_validate_reads_the_head_and_the_part_of_the_body_that_arrived(capsys, origin, path):
    argv = ["validate", "--json", "--allow-private", "--timeout", str(TIMEOUT), origin.url(path)]
    main(argv)
    (page,) = json.loads(capsys.readouterr().out)["pages"]
    assert page["source"]["status"] == 200
    assert page["source"]["error"] == EXPECTED_ERROR[path], page["source"]
    (default,) = [row for row in page["matrix"] if row["agent"] == "*"]
    assert default["decisions"]["train-ai"] == "reserved", default


def test_the_crawl_gives_the_record_check_gives(origin, redis_url, tmp_path: Path):
    out = tmp_path / "out.jsonl"
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["XDG_DATA_HOME"] = str(tmp_path / "home")
    command = [sys.executable, "-m", "reservation_crawler.cli", "crawl"]
    command += [origin.url(path) for path in PATHS]
    command += ["-o", str(out), "--allow-private", "--redis", redis_url, "--timeout", str(TIMEOUT)]
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    records = {json.loads(line)["url"]: json.loads(line) for line in out.read_text().splitlines()}
    assert sorted(records) == sorted(origin.url(path) for path in PATHS), done.stderr[-3000:]
    for path in PATHS:
        _assert_reserved(records[origin.url(path)], path)
