"""validate bounds the documents a site names (#12 item 4): a tdmrep.json naming 200 slow
tdm-policy URLs is checked within the deadline, and what was skipped is reported."""

from __future__ import annotations

import contextlib
import io
import json
import time

import pytest
from hostile_server import HostileServer, Scripted

from reservation_crawler.apps.validate import (
    REFERENCE_CONCURRENCY,
    REFERENCE_DEADLINE_TIMEOUTS,
    REFERENCE_MAX_COUNT,
)
from reservation_crawler.cli import main

pytestmark = pytest.mark.hostile

NAMED = 200
DELAY = 0.8  # each policy document answers after this long
TIMEOUT = 1.0  # --timeout: the deadline for all referenced documents is 2 timeouts
POLICY = {
    "@context": ["http://www.w3.org/ns/odrl.jsonld", "http://www.w3.org/ns/tdmrep.jsonld"],
    "@type": "Offer",
    "profile": "http://www.w3.org/ns/tdmrep",
    "uid": "https://example.com/policy",
    "permission": [{"target": "https://example.com/", "action": "tdm:mine"}],
}


def _slow_policy(request: bytes) -> bytes:
    time.sleep(DELAY)
    body = json.dumps(POLICY).encode()
    return Scripted(200, [("Content-Type", "application/json")], body).raw()


def test_validate_fetches_at_most_the_cap_concurrently_within_the_deadline():
    routes: dict = {f"/policy/{n}.json": _slow_policy for n in range(NAMED)}
    with HostileServer(routes) as server:
        rules = [
            {
                "location": f"/p{n}/*",
                "tdm-reservation": 1,
                "tdm-policy": server.url(f"/policy/{n}.json"),
            }
            for n in range(NAMED)
        ]
        routes["/.well-known/tdmrep.json"] = Scripted(
            200, [("Content-Type", "application/json")], json.dumps(rules).encode()
        )
        routes["/robots.txt"] = Scripted(
            200, [("Content-Type", "text/plain")], b"User-agent: *\nAllow: /\n"
        )
        buffer = io.StringIO()
        started = time.monotonic()
        with contextlib.redirect_stdout(buffer):
            main(
                [
                    "validate",
                    "--json",
                    "--allow-private",
                    "--timeout",
                    str(TIMEOUT),
                    server.url("/"),
                ]
            )
        elapsed = time.monotonic() - started
        asked = [p for p in server.requests if p.startswith("/policy/")]
    report = json.loads(buffer.getvalue())
    deadline = TIMEOUT * REFERENCE_DEADLINE_TIMEOUTS
    # One after another, 200 x 0.8 s would take 160 s.
    assert elapsed < deadline + 4 * TIMEOUT, elapsed
    assert len(asked) <= REFERENCE_MAX_COUNT
    assert len(asked) > REFERENCE_CONCURRENCY  # concurrently: more than one wave in the deadline
    checked = [r for r in report["references"] if r["kind"] == "tdm-policy"]
    assert REFERENCE_CONCURRENCY <= len(checked) < REFERENCE_MAX_COUNT
    skipped = next(f for f in report["findings"] if f["code"] == "validate.references-skipped")
    message = skipped["occurrences"][0]["message"]
    assert f"{NAMED - len(checked)} of {NAMED} referenced documents were not checked" in message
    assert f"{NAMED - REFERENCE_MAX_COUNT} over the limit of {REFERENCE_MAX_COUNT}" in message
    assert "not answered by the deadline" in message


def test_validate_reports_nothing_skipped_when_every_document_is_checked():
    routes: dict = {f"/policy/{n}.json": _slow_policy for n in range(3)}
    with HostileServer(routes) as server:
        rules = [
            {
                "location": f"/p{n}/*",
                "tdm-reservation": 1,
                "tdm-policy": server.url(f"/policy/{n}.json"),
            }
            for n in range(3)
        ]
        routes["/.well-known/tdmrep.json"] = Scripted(
            200, [("Content-Type", "application/json")], json.dumps(rules).encode()
        )
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            main(["validate", "--json", "--allow-private", "--timeout", "5", server.url("/")])
    report = json.loads(buffer.getvalue())
    assert len([r for r in report["references"] if r["kind"] == "tdm-policy"]) == 3
    assert not any(f["code"] == "validate.references-skipped" for f in report["findings"])
