"""The audit writer process (``process=True``): the same chain as the in-process writer, written
by a child process; its failures and its parent's death lose nothing silently (docs/audit.md)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from typing import Any

import pytest
import test_audit
from test_audit import FAST, cli, entries, run_checks, urls

from reservation_crawler.drivers.audit import JsonlSink, RedisStreamSink, read_streams
from reservation_crawler.drivers.cache import connect
from reservation_crawler.drivers.lookup import Checker
from reservation_crawler.errors import AuditUnavailable, ConfigError

web = test_audit.web  # the same module-scoped fixture web (three sites)

VARYING = {"time", "hash", "prev", "writer"}  # what differs between two runs of the same checks


def _same_entries(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> bool:
    strip = [{k: v for k, v in e.items() if k not in VARYING} for e in a]
    return strip == [{k: v for k, v in e.items() if k not in VARYING} for e in b]


def test_the_writer_process_writes_the_same_chain(redis_url, web, tmp_path, capsys):
    run_checks(redis_url, web, tmp_path / "thread", n=30)
    sink = run_checks(redis_url, web, tmp_path / "process", n=30, process=True)
    assert sink.stats() == {"written": 30, "dropped": 0, "queued": 0}
    threaded, processed = entries(tmp_path / "thread"), entries(tmp_path / "process")
    assert len(processed) == 31 and _same_entries(threaded, processed)
    code, out, _ = cli(capsys, "audit", "verify", str(tmp_path / "process"), "--json")
    assert code == 0 and json.loads(out)["entries"] == 31
    # The chain resumes across writers: a second process-mode sink appends after the first.
    run_checks(redis_url, web, tmp_path / "process", n=5, process=True)
    code, out, _ = cli(capsys, "audit", "verify", str(tmp_path / "process"), "--json")
    assert code == 0 and json.loads(out)["entries"] == 31 + 5


def test_a_held_directory_is_refused_in_the_constructor(tmp_path):
    with JsonlSink(tmp_path / "log", process=True), pytest.raises(ConfigError, match="holds"):
        JsonlSink(tmp_path / "log", process=True)


def test_required_entries_are_durable_before_the_verdict(redis_url, web, tmp_path):
    log = tmp_path / "audit"
    sink = JsonlSink(log, interval=3600, process=True)  # the feeder never wakes by itself
    try:
        with Checker(
            redis_url=redis_url, allow_private=True, limits=FAST, audit=sink, audit_required=True
        ) as checker:
            verdict = checker.check(web.url(0, "/required"), "GPTBot")
            logged = entries(log)
            assert [e["kind"] for e in logged] == ["header", "check"]
            assert logged[-1]["decision"] == str(verdict.decision)
    finally:
        sink.close()


def test_a_killed_writer_process_is_never_silent(redis_url, web, tmp_path, capsys):
    log = tmp_path / "audit"
    sink = JsonlSink(log, interval=3600, process=True)
    with Checker(redis_url=redis_url, allow_private=True, limits=FAST, audit=sink) as checker:
        checker.check(web.url(0, "/before"), "GPTBot")
        sink.flush()
        assert sink._child is not None
        os.kill(sink._child[0].pid, signal.SIGKILL)
        sink._child[0].join(10)
        for url in urls(web, 4):
            checker.check(url, "GPTBot")  # queued: the writer's death is not known yet
        with pytest.raises(AuditUnavailable, match="writer process ended"):
            sink.flush()
        assert sink.dropped == 4  # counted, never silent
        with pytest.raises(AuditUnavailable):
            checker.check(web.url(1, "/after"), "GPTBot")  # every later check is told
    sink.close()
    assert len(entries(log)) == 2  # what was acknowledged is on disk, and it verifies
    assert cli(capsys, "audit", "verify", str(log))[0] == 0


PARENT = textwrap.dedent(
    """
    import sys
    from reservation_crawler.drivers.audit import JsonlSink
    from reservation_crawler.drivers.fetch import FetchLimits
    from reservation_crawler.drivers.lookup import Checker

    if __name__ == "__main__":
        redis_url, log, *urls = sys.argv[1:]
        sink = JsonlSink(log, operator="worker", batch_size=50, interval=0.001, process=True)
        with Checker(redis_url=redis_url, allow_private=True, limits=FetchLimits(timeout=0.5),
                     audit=sink) as checker:
            i = 0
            while True:  # until killed
                checker.check(urls[i % len(urls)] + f"?n={i}", "GPTBot")
                i += 1
    """
)


def test_a_killed_checking_process_leaves_a_log_that_verifies(redis_url, web, tmp_path, capsys):
    """kill -9 of the checking process: the writer process sees its pipe close, writes nothing
    half, and exits; the log verifies and the next writer resumes it."""
    log = tmp_path / "audit"
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    parent = subprocess.Popen(
        [sys.executable, str(script), redis_url, str(log), *urls(web, 3)], env=env
    )
    try:
        deadline = time.monotonic() + 60
        path = log / "audit-000001.jsonl"
        while not path.exists() or path.stat().st_size < 200_000:
            assert time.monotonic() < deadline and parent.poll() is None
            time.sleep(0.01)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 30
    while True:  # the writer process releases the directory's lock when it exits
        try:
            JsonlSink(log).close()
            break
        except ConfigError:
            assert time.monotonic() < deadline, "the writer process outlived its parent"
            time.sleep(0.05)
    code, out, _ = cli(capsys, "audit", "verify", str(log), "--json")
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["entries"] > 100 and report["torn"] == []
    run_checks(redis_url, web, log, n=3, process=True)
    code, out, _ = cli(capsys, "audit", "verify", str(log), "--json")
    assert code == 0 and json.loads(out)["entries"] == report["entries"] + 3


def test_redis_streams_from_a_writer_process(redis_url, web, capsys):
    client = connect(redis_url)
    with pytest.raises(ConfigError, match="URL"):
        RedisStreamSink(client, process=True)
    sink = RedisStreamSink(redis_url, writer="proc", operator="fleet", process=True)
    with Checker(redis_url=redis_url, allow_private=True, limits=FAST, audit=sink) as checker:
        for url in urls(web, 12):
            checker.check(url, "GPTBot")
    sink.close()
    chains = dict(read_streams(client))
    assert len(chains["rc:v1:audit:proc"]) == 1 + 12
    code, out, _ = cli(capsys, "audit", "verify", "--redis", redis_url, "--json")
    assert code == 0 and all(json.loads(line)["ok"] for line in out.splitlines())
    client.delete("rc:v1:audit:proc")
    client.srem("rc:v1:audit:writers", "proc")
