"""The crawl ignores http_proxy / https_proxy: a proxy would defeat the address guard.

Issue #12 item 5.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_server import HostileServer, Scripted

from reservation_crawler.testing import FixtureWeb, recipe

pytestmark = pytest.mark.hostile


def test_crawl_does_not_send_requests_to_an_environment_proxy(redis_url: str, tmp_path: Path):
    proxy_answer = Scripted(200, [("Content-Type", "text/plain")], b"User-agent: *\nAllow: /\n")
    with (
        FixtureWeb.from_recipes([recipe("robots-ai-block")], corpus=False) as web,
        HostileServer({}) as proxy,
    ):
        proxy.routes = {path: proxy_answer for path in ("/", "/robots.txt")}
        env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        env.update(
            http_proxy=proxy.url(""),
            https_proxy=proxy.url(""),
            HTTP_PROXY=proxy.url(""),
            XDG_DATA_HOME=str(tmp_path / "home"),
        )
        out = tmp_path / "out.jsonl"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "reservation_crawler.cli",
                "crawl",
                web.url(0, "/"),
                "-o",
                str(out),
                "--allow-private",
                "--redis",
                redis_url,
                "--agent",
                "GPTBot",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert proxy.requests == []
        assert web.request_count(0, "/robots.txt") == 1
    (record,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert record["sources"]["robots.txt"]["status"] == 200
    assert record["decisions"]["GPTBot"]["crawl"] == "reserved"
