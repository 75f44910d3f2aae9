"""The audit log (docs/audit.md): checks through Checker / AsyncChecker / `check` / `serve` land
in a hash chain; `audit verify` finds any altered, removed or reordered entry; crashes, rotation,
audit_required, the dropped counter, Redis Streams and signed bundles."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reservation_crawler.cli import main
from reservation_crawler.core import audit as chain
from reservation_crawler.drivers.audit import (
    JsonlSink,
    RedisStreamSink,
    log_files,
    read_files,
    read_streams,
)
from reservation_crawler.drivers.cache import connect
from reservation_crawler.drivers.fetch import FetchLimits
from reservation_crawler.drivers.lookup import AsyncChecker, Checker
from reservation_crawler.testing import FixtureWeb, recipe

FAST = FetchLimits(timeout=0.5)
AGENTS = ("GPTBot", "CCBot", "Googlebot")


@pytest.fixture(scope="module")
def web() -> Iterator[FixtureWeb]:
    recipes = [recipe("robots-ai-block"), recipe("tdmrep-file"), recipe("plain")]
    with FixtureWeb.from_recipes(recipes, slow_delay=1.0, corpus=False) as fixture_web:
        yield fixture_web


def urls(web: FixtureWeb, n: int) -> list[str]:
    return [web.url(i % 3, f"/page/{i}") for i in range(n)]


def run_checks(redis_url: str, web: FixtureWeb, log: Path, n: int = 30, **sink: Any) -> JsonlSink:
    audit = JsonlSink(log, operator="acme-ai", **sink)
    with Checker(redis_url=redis_url, allow_private=True, limits=FAST, audit=audit) as checker:
        for i, url in enumerate(urls(web, n)):
            checker.check(url, AGENTS[i % 3])
    audit.close()
    return audit


def entries(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line.text) for line in read_files([log]) if line.terminated]


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- the chain, through the Checker and `audit verify` --------------------------------------


def test_checks_are_logged_and_verify(redis_url, web, tmp_path, capsys):
    log = tmp_path / "audit"
    run_checks(redis_url, web, log, n=30)
    logged = entries(log)
    assert logged[0]["kind"] == "header" and logged[0]["prev"] == chain.GENESIS
    checks = logged[1:]
    assert len(checks) == 30
    first = checks[0]
    assert first["caller"] == {"operator": "acme-ai", "token": "reservation-crawler"}
    assert first["url"] == web.url(0, "/page/0") and first["agent"] == "GPTBot"
    assert first["decision"] == "reserved" and first["purpose"] == "train-ai"
    assert {p["kind"] for p in first["policy"]} == {"robots.txt", "ai.txt", "tdmrep.json"}
    robots = next(p for p in first["policy"] if p["kind"] == "robots.txt")
    assert len(robots["sha256"]) == 64 and robots["fetched_at"]
    assert any(e["signal"] == "robots" for e in first["evidence"])
    assert first["registry"] == [] and first["version"]
    # The hand-assembled line is the canonical JSON the verifier recomputes.
    for entry in checks:
        body = {k: v for k, v in entry.items() if k != "hash"}
        assert chain.canonical(body).decode()[:-1] + f',"hash":"{entry["hash"]}"}}' in (
            (log / "audit-000001.jsonl").read_text()
        )
    code, out, _ = cli(capsys, "audit", "verify", str(log), "--json")
    assert code == 0
    report = json.loads(out)
    assert report["ok"] and report["entries"] == 31 and report["torn"] == []


def _rewrite(path: Path, change) -> None:
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(change(lines)))


@pytest.mark.parametrize("how", ["alter", "delete", "reorder"])
@pytest.mark.parametrize("index", [1, 7, 30])
def test_tampering_with_any_line_fails_and_names_it(redis_url, web, tmp_path, capsys, how, index):
    log = tmp_path / "audit"
    run_checks(redis_url, web, log, n=30)
    path = log / "audit-000001.jsonl"
    original = path.read_text().splitlines(keepends=True)
    # The head recorded elsewhere (docs/audit.md "anchoring"): without it, a cut tail is invisible.
    anchor = json.loads(original[-1])["hash"]
    if how == "alter":

        def change(lines):
            entry = json.loads(lines[index])
            entry["decision"] = "allowed" if entry["decision"] != "allowed" else "reserved"
            return [*lines[:index], json.dumps(entry) + "\n", *lines[index + 1 :]]

    elif how == "delete":

        def change(lines):
            return [*lines[:index], *lines[index + 1 :]]

    else:

        def change(lines):
            a, b = (index, index + 1) if index + 1 < len(lines) else (index - 1, index)
            out = list(lines)
            out[a], out[b] = out[b], out[a]
            return out

    _rewrite(path, change)
    code, out, _ = cli(capsys, "audit", "verify", str(path), "--anchor", anchor)
    assert code == 1, out
    assert "BROKEN" in out
    broken_at = {"alter": index, "delete": index, "reorder": min(index, len(original) - 2)}[how]
    cut = how == "delete" and index == len(original) - 1
    where = f"after {path}:{index}" if cut else f"{path}:{broken_at + 1}"
    assert where in out  # the first line that no longer links
    code, out, _ = cli(capsys, "audit", "verify", str(path), "--json", "--anchor", anchor)
    report = json.loads(out)
    assert code == 1 and report["broken"]["position"] == broken_at
    reason = {"alter": "altered", "delete": "link", "reorder": "link"}[how]
    if cut:
        reason = "truncated"
    assert report["broken"]["reason"] == reason


def test_removing_the_last_entry_is_found_against_an_anchor(redis_url, web, tmp_path, capsys):
    """The chain alone cannot show a cut tail; a head recorded elsewhere (an anchor) does."""
    log = tmp_path / "audit"
    run_checks(redis_url, web, log, n=5)
    path = log / "audit-000001.jsonl"
    head = entries(log)[-1]["hash"]
    assert cli(capsys, "audit", "verify", str(log), "--anchor", head)[0] == 0
    _rewrite(path, lambda lines: lines[:-1])
    code, out, _ = cli(capsys, "audit", "verify", str(log), "--anchor", head)
    assert code == 1 and "removed from the end" in out


# --- crashes, rotation, durability, back-pressure --------------------------------------------

WORKER = textwrap.dedent(
    """
    import sys
    from reservation_crawler.drivers.audit import JsonlSink
    from reservation_crawler.drivers.fetch import FetchLimits
    from reservation_crawler.drivers.lookup import Checker

    redis_url, log, *urls = sys.argv[1:]
    sink = JsonlSink(log, operator="worker", batch_size=50, interval=0.001)
    with Checker(redis_url=redis_url, allow_private=True, limits=FetchLimits(timeout=0.5),
                 audit=sink) as checker:
        i = 0
        while True:  # until killed
            checker.check(urls[i % len(urls)] + f"?n={i}", "GPTBot")
            i += 1
    """
)


def test_a_worker_killed_mid_write_leaves_a_log_that_verifies(redis_url, web, tmp_path, capsys):
    log = tmp_path / "audit"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, redis_url, str(log), *urls(web, 3)], env=env
    )
    try:
        deadline = time.monotonic() + 60
        path = log / "audit-000001.jsonl"
        while not path.exists() or path.stat().st_size < 200_000:
            assert time.monotonic() < deadline and worker.poll() is None
            time.sleep(0.01)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    code, out, _ = cli(capsys, "audit", "verify", str(log), "--json")
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["entries"] > 100, report
    # The next writer resumes the chain (a new file when the tail is torn) and it still verifies.
    run_checks(redis_url, web, log, n=3)
    code, out, _ = cli(capsys, "audit", "verify", str(log), "--json")
    again = json.loads(out)
    assert code == 0 and again["entries"] >= report["entries"] + 3
    assert again["torn"] == report["torn"]


def test_a_torn_last_line_is_reported_as_torn_not_tampering(redis_url, web, tmp_path, capsys):
    log = tmp_path / "audit"
    run_checks(redis_url, web, log, n=4)
    path = log / "audit-000001.jsonl"
    whole = path.read_bytes()
    with path.open("ab") as f:  # what a write cut short by SIGKILL leaves: a line without "\n"
        f.write(whole.splitlines()[-1][:57])
    code, out, _ = cli(capsys, "audit", "verify", str(log))
    assert code == 0 and f"torn: {path}:6" in out and "ok:" in out
    # Not torn but altered: the same fragment followed by a newline is tampering.
    path.write_bytes(whole + whole.splitlines()[-1][:57] + b"\n")
    assert cli(capsys, "audit", "verify", str(log))[0] == 1
    path.write_bytes(whole + whole.splitlines()[-1][:57])
    run_checks(redis_url, web, log, n=2)  # resumes in a new file after the torn tail
    assert [p.name for p in log_files(log)] == ["audit-000001.jsonl", "audit-000002.jsonl"]
    code, out, _ = cli(capsys, "audit", "verify", str(log), "--json")
    report = json.loads(out)
    assert code == 0 and report["entries"] == 5 + 1 + 2 and report["torn"] == [f"{path}:6"]


def test_rotation_keeps_the_chain_across_files(redis_url, web, tmp_path, capsys):
    log = tmp_path / "audit"
    run_checks(redis_url, web, log, n=40, max_bytes=4096)
    files = log_files(log)
    assert len(files) >= 3
    for before, after in itertools.pairwise(files):
        last = json.loads(before.read_text().splitlines()[-1])
        header = json.loads(after.read_text().splitlines()[0])
        assert header["kind"] == "header" and header["prev"] == last["hash"]
        assert json.loads(after.read_text().splitlines()[1])["prev"] == header["hash"]
    code, out, _ = cli(capsys, "audit", "verify", *map(str, files), "--json")
    assert code == 0 and json.loads(out)["entries"] == 40 + len(files)
    # A file left out, or two swapped, breaks the link at the next file's header.
    code, out, _ = cli(capsys, "audit", "verify", str(files[0]), str(files[2]))
    assert code == 1 and f"{files[2]}:1" in out
    code, out, _ = cli(capsys, "audit", "verify", str(files[1]), str(files[0]))
    assert code == 1 and f"{files[1]}:1" in out


@pytest.mark.parametrize("shell", ["sync", "async"])
def test_audit_required_entries_are_on_disk_before_the_verdict(redis_url, web, tmp_path, shell):
    log = tmp_path / "audit"
    sink = JsonlSink(log, interval=3600)  # the writer never wakes by itself
    url = web.url(0, "/required")

    async def async_check(required: bool) -> Any:
        async with AsyncChecker(
            redis_url=redis_url,
            allow_private=True,
            limits=FAST,
            audit=sink,
            audit_required=required,
        ) as checker:
            return await checker.check(url, "GPTBot")

    def check(required: bool) -> Any:
        if shell == "async":
            import asyncio

            return asyncio.run(async_check(required))
        with Checker(
            redis_url=redis_url,
            allow_private=True,
            limits=FAST,
            audit=sink,
            audit_required=required,
        ) as checker:
            return checker.check(url, "GPTBot")

    try:
        check(False)
        assert [e["kind"] for e in entries(log)] == ["header"]  # queued, not yet written
        verdict = check(True)
        logged = entries(log)
        assert [e["kind"] for e in logged] == ["header", "check", "check"]  # the queue, in order
        assert logged[-1]["url"] == url and logged[-1]["decision"] == str(verdict.decision)
    finally:
        sink.close()


def test_a_full_queue_drops_and_counts(redis_url, web, tmp_path, capsys):
    log = tmp_path / "audit"
    sink = JsonlSink(log, queue_size=5, interval=3600)
    with Checker(redis_url=redis_url, allow_private=True, limits=FAST, audit=sink) as checker:
        for url in urls(web, 20):
            checker.check(url, "GPTBot")
        assert sink.dropped == 15 and sink.stats()["queued"] == 5
    sink.close()
    assert sink.stats() == {"written": 5, "dropped": 15, "queued": 0}
    assert len(entries(log)) == 1 + 5
    assert cli(capsys, "audit", "verify", str(log))[0] == 0


# --- check --audit-log, query, bundles, Redis Streams -----------------------------------------


def test_check_command_logs_every_decision(web, tmp_path, capsys):
    log = tmp_path / "audit"
    url = web.url(0, "/x")
    code, _, _ = cli(
        capsys,
        "check",
        url,
        "--allow-private",
        "--json",
        "--audit-log",
        str(log),
        "--operator",
        "me",
        "--agent",
        "GPTBot",
    )
    assert code == 0
    checks = entries(log)[1:]
    assert {(e["agent"], e["purpose"]) for e in checks} >= {("GPTBot", "train-ai"), ("*", "search")}
    assert all(e["caller"]["operator"] == "me" and e["level"] == "page" for e in checks)
    assert cli(capsys, "audit", "verify", str(log))[0] == 0


def test_query_export_and_bundle(redis_url, web, tmp_path, capsys):
    log = tmp_path / "audit"
    run_checks(redis_url, web, log, n=12)
    origin = web.url(1, "/").rstrip("/")
    code, out, _ = cli(capsys, "audit", "query", str(log), "--origin", origin, "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(rows) == 4 and {r["origin"] for r in rows} == {origin}
    code, out, _ = cli(capsys, "audit", "query", str(log), "--origin", origin, "--agent", "ccbot")
    assert code == 0 and len(out.splitlines()) == 4 and "CCBot" in out
    code, out, _ = cli(capsys, "audit", "query", str(log), "--origin", origin, "--since", "2999")
    assert code == 0 and out == ""
    key = tmp_path / "key"
    key.write_text("s3cret\n")
    bundle_path = tmp_path / "bundle.json"
    code, _, _ = cli(
        capsys,
        "audit",
        "export",
        str(log),
        "--origin",
        origin,
        "--key-file",
        str(key),
        "-o",
        str(bundle_path),
    )
    assert code == 0
    data = json.loads(bundle_path.read_text())
    assert len(data["entries"]) == 4 and data["heads"]["files"] == entries(log)[-1]["hash"]
    code, out, _ = cli(capsys, "audit", "verify-bundle", str(bundle_path), "--key-file", str(key))
    assert code == 0 and "signature valid" in out
    other = tmp_path / "other"
    other.write_text("another key")
    assert cli(capsys, "audit", "verify-bundle", str(bundle_path), "--key-file", str(other))[0] == 1
    data["entries"][0]["decision"] = "allowed"
    bundle_path.write_text(json.dumps(data))
    code, out, _ = cli(capsys, "audit", "verify-bundle", str(bundle_path), "--key-file", str(key))
    assert code == 1 and "signature does not match" in out and "entry 0 altered" in out


def test_redis_streams_one_chain_per_writer(redis_url, web, capsys):
    client = connect(redis_url)
    # w1 writes each entry as its own stream entry (batch_size=1), so one can be deleted.
    sinks = [
        RedisStreamSink(client, writer=f"w{i}", operator="fleet", batch_size=1 + 999 * (i == 0))
        for i in range(2)
    ]
    with (
        Checker(redis_url=redis_url, allow_private=True, limits=FAST, audit=sinks[0]) as a,
        Checker(redis_url=redis_url, allow_private=True, limits=FAST, audit=sinks[1]) as b,
    ):
        for i, url in enumerate(urls(web, 20)):
            (a if i % 2 else b).check(url, "GPTBot")
    for sink in sinks:
        sink.close()
    code, out, _ = cli(capsys, "audit", "verify", "--redis", redis_url, "--json")
    reports = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["entries"] for r in reports] == [11, 11]
    # audit_required through Redis: the entry is in the stream when the verdict returns.
    sink = RedisStreamSink(client, writer="w0", interval=3600)
    with Checker(
        redis_url=redis_url, allow_private=True, limits=FAST, audit=sink, audit_required=True
    ) as checker:
        checker.check(web.url(2, "/late"), "GPTBot")
        chains = dict(read_streams(client))
        assert len(chains["rc:v1:audit:w0"]) == 11 + 2  # its header, then the entry
    sink.close()
    assert cli(capsys, "audit", "verify", "--redis", redis_url)[0] == 0
    # Deleting one entry from a stream breaks that writer's chain.
    ids = [sid for sid, _ in client.xrange("rc:v1:audit:w1")]
    client.xdel("rc:v1:audit:w1", ids[4])
    code, out, _ = cli(capsys, "audit", "verify", "--redis", redis_url)
    assert code == 1 and "rc:v1:audit:w1#" in out and "ok: rc:v1:audit:w0" in out


# --- serve: on by default, GET /v1/audit behind an API key ------------------------------------


def _serve(*argv: str, env: dict[str, str]) -> Iterator[tuple[subprocess.Popen, str]]:
    command = [sys.executable, "-m", "reservation_crawler.cli", "serve", "--port", "0", *argv]
    with subprocess.Popen(
        command,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
    ) as process:
        try:
            assert process.stderr is not None
            line = process.stderr.readline()
            match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
            assert match, line + process.stderr.read()
            yield process, match.group(1)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def test_serve_keeps_an_audit_log_and_answers_v1_audit(redis_url, web, tmp_path, capsys):
    log = tmp_path / "audit"
    key = tmp_path / "api-key"
    key.write_text("let-me-in\n")
    origin = web.url(0, "/").rstrip("/")
    serving = _serve(
        "--redis",
        redis_url,
        "--allow-private",
        "--audit-log",
        str(log),
        "--operator",
        "acme",
        "--audit-api-key-file",
        str(key),
        "--audit-required",
        env={},
    )
    process, base = next(serving)
    with httpx.Client(base_url=base, timeout=30, trust_env=False) as client:
        for i in range(5):
            client.get("/v1/check", params={"url": web.url(i % 2, f"/p{i}"), "agent": "GPTBot"})
        client.post("/v1/check", json=[{"url": web.url(0, "/batch"), "agent": "CCBot"}])
        # --audit-required: the entries are in the file before the answers came back.
        assert len(entries(log)) == 1 + 6
        assert client.get("/v1/audit", params={"origin": origin}).status_code == 401
        wrong = {"X-API-Key": "nope"}
        assert client.get("/v1/audit", params={"origin": origin}, headers=wrong).status_code == 401
        good = {"X-API-Key": "let-me-in"}
        assert client.get("/v1/audit", headers=good).status_code == 400
        answer = client.get("/v1/audit", params={"origin": origin + "/"}, headers=good).json()
        assert answer["origin"] == origin and answer["dropped"] == 0
        assert [(e["agent"], e["caller"]["operator"]) for e in answer["entries"]] == [
            ("GPTBot", "acme")
        ] * 3 + [("CCBot", "acme")]
        assert all(chain["ok"] for chain in answer["chains"].values())
        since = answer["entries"][-1]["time"]
        later = client.get(
            "/v1/audit", params={"origin": origin, "agent": "ccbot", "since": since}, headers=good
        ).json()
        assert len(later["entries"]) == 1
    with pytest.raises(StopIteration):
        next(serving)
    assert process.returncode == 0
    assert cli(capsys, "audit", "verify", str(log))[0] == 0


def test_serve_audit_default_location_and_no_audit(redis_url, web, tmp_path):
    env = {"XDG_DATA_HOME": str(tmp_path), "RC_AUDIT_API_KEY": ""}
    serving = _serve("--redis", redis_url, "--allow-private", env=env)
    _, base = next(serving)
    port = base.rsplit(":", 1)[1]
    with httpx.Client(base_url=base, timeout=30, trust_env=False) as client:
        client.get("/v1/check", params={"url": web.url(0, "/d"), "agent": "GPTBot"})
        # No API key configured: the endpoint is off.
        assert client.get("/v1/audit", params={"origin": web.url(0)}).status_code == 404
    next(serving, None)
    log = tmp_path / "reservation-crawler" / "audit" / f"serve-127.0.0.1-{port}"
    assert [e["kind"] for e in entries(log)] == ["header", "check"]
    quiet = tmp_path / "quiet"
    serving = _serve(
        "--redis", redis_url, "--allow-private", "--no-audit", env={"XDG_DATA_HOME": str(quiet)}
    )
    _, base = next(serving)
    with httpx.Client(base_url=base, timeout=30, trust_env=False) as client:
        assert client.get("/v1/check", params={"url": web.url(0, "/d")}).status_code == 200
    next(serving, None)
    assert not (quiet / "reservation-crawler" / "audit").exists()


def test_audit_commands_read_serves_default_log_and_serve_logs_json(
    redis_url, web, tmp_path, capsys, monkeypatch
):
    """Without FILES, `audit query/verify` read the logs serve keeps by default; under
    --log-format json every line serve writes to stderr is JSON, its own messages too."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    code, _, err = cli(capsys, "audit", "query", "--origin", web.url(0))
    assert code == 2 and str(tmp_path / "reservation-crawler" / "audit") in err
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path), "RC_AUDIT_API_KEY": ""}
    command = [sys.executable, "-m", "reservation_crawler.cli", "serve", "--port", "0"]
    command += ["--redis", redis_url, "--allow-private", "--log-format", "json"]
    stderr = tmp_path / "stderr"
    with stderr.open("w") as sink, subprocess.Popen(command, stderr=sink, env=env) as process:
        try:
            deadline = time.monotonic() + 60
            while "listening on" not in stderr.read_text() and time.monotonic() < deadline:
                time.sleep(0.05)
            first = json.loads(stderr.read_text().splitlines()[0])
            base = re.search(r"http://127\.0\.0\.1:\d+", first["message"]).group(0)  # type: ignore[union-attr]
            with httpx.Client(base_url=base, timeout=30, trust_env=False) as client:
                for agent in ("GPTBot", "CCBot"):
                    client.get("/v1/check", params={"url": web.url(0, "/q"), "agent": agent})
                client.get("/v1/check", params={"url": web.url(1, "/other"), "agent": "GPTBot"})
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    lines = [json.loads(line) for line in stderr.read_text().splitlines() if line.strip()]
    ours = [ln["message"] for ln in lines if ln["logger"] == "reservation_crawler.serve"]
    assert any(m.startswith("audit log: ") and "serve-127.0.0.1-" in m for m in ours), ours

    code, out, _ = cli(capsys, "audit", "query", "--origin", web.url(0), "--json")
    found = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [e["agent"] for e in found] == ["GPTBot", "CCBot"]
    assert {e["origin"] for e in found} == {web.url(0).rstrip("/")}
    code, out, _ = cli(capsys, "audit", "verify")
    assert code == 0 and "ok: " in out and "serve-127.0.0.1-" in out


def test_a_scrapy_crawl_logs_its_checks(redis_url, web, tmp_path, capsys):
    import test_middleware  # its crawl(): the probe spider in a subprocess

    log = tmp_path / "audit"
    targets = [web.url(0, "/a"), web.url(1, "/b"), web.url(2, "/c")]
    _, stats = test_middleware.crawl(
        tmp_path,
        targets,
        {
            "RESERVATION_AGENT": "GPTBot",
            "RESERVATION_REDIS_URL": redis_url,
            "RESERVATION_AUDIT_LOG": str(log),
            "RESERVATION_AUDIT_OPERATOR": "crawler-co",
        },
    )
    logged = entries(log)[1:]
    assert (
        stats["reservation/audit/written"] == len(logged)
        and stats["reservation/audit/dropped"] == 0
    )
    assert {e["url"] for e in logged} >= {targets[0], targets[2]}
    assert all(e["caller"] == {"operator": "crawler-co", "token": "GPTBot"} for e in logged)
    assert {e["level"] for e in logged} == {"origin", "page"}
    assert cli(capsys, "audit", "verify", str(log))[0] == 0


def test_ed25519_bundle(redis_url, web, tmp_path, capsys):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
    )

    log = tmp_path / "audit"
    run_checks(redis_url, web, log, n=6)
    private = Ed25519PrivateKey.generate()
    (tmp_path / "signer.pem").write_bytes(
        private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    )
    (tmp_path / "signer.pub").write_bytes(
        private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    other = Ed25519PrivateKey.generate().public_key()
    (tmp_path / "other.pub").write_bytes(
        other.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    bundle_path = tmp_path / "bundle.json"
    origin = web.url(0, "/")
    argv = ["audit", "export", str(log), "--origin", origin, "-o", str(bundle_path)]
    assert cli(capsys, *argv, "--ed25519-key", str(tmp_path / "signer.pem"))[0] == 0
    data = json.loads(bundle_path.read_text())
    assert data["signature"]["alg"] == "Ed25519" and len(data["entries"]) == 2
    verify = ["audit", "verify-bundle", str(bundle_path), "--json", "--key-file"]
    code, out, _ = cli(capsys, *verify, str(tmp_path / "signer.pub"))
    assert code == 0 and json.loads(out)["ok"]
    code, out, _ = cli(capsys, *verify, str(tmp_path / "other.pub"))
    assert code == 1 and "signature does not match" in out
    data["heads"]["files"] = "0" * 64
    bundle_path.write_text(json.dumps(data))
    code, out, _ = cli(capsys, *verify, str(tmp_path / "signer.pub"))
    assert code == 1 and json.loads(out)["problems"] == [
        "signature does not match (altered, or another key)"
    ]
