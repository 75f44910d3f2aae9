"""Prometheus metrics and JSON log lines: ``serve``'s ``/metrics`` scraped from a real process
after some checks, and a crawl worker's ``--metrics-port`` scraped while it crawls."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from reservation_crawler.apps.server import create_app
from reservation_crawler.drivers.lookup import AsyncChecker
from reservation_crawler.testing import FixtureWeb, recipe


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition: (name, labels) -> value."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(scraped: dict[Any, float], name: str, **labels: str) -> float:
    return scraped.get((name, frozenset(labels.items())), 0.0)


def child_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    return {**env, "XDG_DATA_HOME": str(home), "PYTHONUNBUFFERED": "1"}


@pytest.fixture(scope="module")
def web() -> Iterator[FixtureWeb]:
    recipes = [recipe("robots-ai-block"), recipe("plain"), recipe("robots-5xx")]
    with FixtureWeb.from_recipes(recipes, corpus=False) as fixture_web:
        yield fixture_web


def test_serve_metrics_count_requests_sources_and_fetches_and_logs_json(
    web: FixtureWeb, redis_url: str, tmp_path: Path
) -> None:
    command = [
        *(sys.executable, "-m", "reservation_crawler.cli", "serve"),
        *("--host", "127.0.0.1", "--port", "0", "--redis", redis_url, "--allow-private"),
        *("--log-format", "json", "--log-level", "info", "--no-audit"),
    ]
    process = subprocess.Popen(
        command,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=child_env(tmp_path),
    )
    try:
        assert process.stderr is not None
        ready, _, _ = select.select([process.stderr], [], [], 60)
        line = process.stderr.readline() if ready else ""
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        assert match, line
        check = {"url": web.url(0, "/"), "agent": "GPTBot", "purpose": "crawl"}
        with httpx.Client(base_url=match.group(1), timeout=30, trust_env=False) as client:
            assert client.get("/v1/check", params=check).json()["source"] == "fetch"
            assert client.get("/v1/check", params=check).json()["source"] == "memory"
            batch = [{"url": web.url(1, f"/{n}")} for n in range(3)]
            batch.append({"url": web.url(2, "/")})  # robots.txt 5xx: fetched, reserved
            assert client.post("/v1/check", json=batch).status_code == 200
            assert client.get("/v1/check", params={"url": "ftp://x"}).status_code == 400
            assert client.get("/no/such/path").status_code == 404
            scraped = samples(client.get("/metrics").text)
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err[-3000:]

    requests = "rc_http_requests_total"
    assert value(scraped, requests, route="/v1/check", method="GET", status="200") == 2
    assert value(scraped, requests, route="/v1/check", method="POST", status="200") == 1
    assert value(scraped, requests, route="/v1/check", method="GET", status="400") == 1
    assert value(scraped, requests, route="other", method="GET", status="404") == 1
    latency = "rc_http_request_duration_seconds_count"
    assert value(scraped, latency, route="/v1/check", method="GET") == 3
    checks = {s: value(scraped, "rc_checks_total", source=s) for s in ("memory", "fetch", "redis")}
    assert sum(checks.values()) == 6 and checks["memory"] >= 1 and checks["fetch"] >= 3
    # One fetch per origin: sites 0, 1 and 2, however many checks each answered.
    assert value(scraped, "rc_policy_fetches_total", outcome="fetched") == 3
    assert value(scraped, "rc_fail_closed_answers_total") == 0
    assert scraped[("rc_audit_dropped_events_total", frozenset())] == 0  # no audit log attached

    lines = [json.loads(line) for line in err.splitlines() if line.strip()]
    access = [ln for ln in lines if ln["logger"] == "reservation_crawler.access"]
    assert {(ln["method"], ln["path"], ln["status"]) for ln in access} >= {
        ("GET", "/v1/check", 200),
        ("POST", "/v1/check", 200),
        ("GET", "/no/such/path", 404),
    }
    assert all(ln["level"] == "info" and ln["duration_ms"] >= 0 for ln in access)
    assert any(ln["logger"].startswith("uvicorn") for ln in lines)


async def test_fail_closed_answers_are_counted(web: FixtureWeb) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    checker = AsyncChecker(redis_url=dead, allow_private=True, fail_closed=True)
    app = create_app(checker)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        params = {"url": web.url(1, "/"), "agent": "GPTBot"}
        verdict = (await client.get("/v1/check", params=params)).json()
        scraped = samples((await client.get("/metrics")).text)
    await checker.aclose()
    assert verdict["source"] == "fail-closed" and verdict["decision"] == "reserved"
    assert value(scraped, "rc_fail_closed_answers_total") == 1
    assert value(scraped, "rc_checks_total", source="fail-closed") == 1


async def test_audit_drops_are_read_from_the_audit_writer_at_each_scrape() -> None:
    checker = AsyncChecker(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    app = create_app(checker)
    drops = [0]
    app.state.service.metrics.count_audit_drops(lambda: drops[0])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        before = samples((await client.get("/metrics")).text)
        drops[0] = 7
        after = samples((await client.get("/metrics")).text)
    await checker.aclose()
    assert value(before, "rc_audit_dropped_events_total") == 0
    assert value(after, "rc_audit_dropped_events_total") == 7


def test_crawl_worker_serves_metrics_while_crawling(redis_url: str, tmp_path: Path) -> None:
    port = free_port()
    with FixtureWeb(25, seed=3, profile="clean") as clean_web:
        targets = tmp_path / "t.txt"
        targets.write_text("".join(clean_web.url(i, "/") + "\n" for i in range(len(clean_web))))
        command = [
            *(sys.executable, "-m", "reservation_crawler.cli", "crawl", "-i", str(targets)),
            *("-o", str(tmp_path / "out.jsonl"), "--redis", redis_url, "--allow-private"),
            *("--metrics-port", str(port), "-s", "RC_METRICS_HOST=127.0.0.1", "--json"),
            # one request at a time, so that the crawl is still running while it is scraped
            *("--concurrency", "1", "--no-throttle", "-s", "DOWNLOAD_DELAY=0.05"),
        ]
        process = subprocess.Popen(
            command,
            cwd=tmp_path,
            env=child_env(tmp_path / "home"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        during: list[dict[Any, float]] = []
        try:
            deadline = time.monotonic() + 120
            with httpx.Client(timeout=5, trust_env=False) as client:
                while process.poll() is None and time.monotonic() < deadline:
                    try:
                        text = client.get(f"http://127.0.0.1:{port}/metrics").text
                    except httpx.TransportError:
                        time.sleep(0.05)  # not listening yet
                        continue
                    during.append(samples(text))
                    time.sleep(0.1)
            out, err = process.communicate(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert process.returncode == 0, err[-3000:]
    summary = json.loads(out)
    assert summary["sites"]["done"] == 25
    assert len(during) >= 3, "the crawl ended before its metrics could be scraped"
    pages = [value(s, "rc_crawl_pages_total") for s in during]
    records = [value(s, "rc_crawl_records_total") for s in during]
    assert pages == sorted(pages) and records == sorted(records)  # counters only grow
    assert 0 < records[-1] <= 25 and pages[-1] > records[-1]  # robots.txt etc. are pages too
    assert any(value(s, "rc_crawl_queue_depth") > 0 for s in during)
    assert value(during[-1], "rc_crawl_target_sites") == 25
    done = [value(s, "rc_crawl_sites_total", status="done") for s in during]
    assert done[-1] > done[0] or done[0] > 0
