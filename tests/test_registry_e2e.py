"""The registry through the user's path: register, verify against a loopback site, check,
withdraw, hash claims across origins, and a mirror answering the same -- on SQLite and
PostgreSQL."""

from __future__ import annotations

import hashlib
import json

import pytest
from registry_site import Site

from reservation_crawler import cli
from reservation_crawler.apps._exit import ExitCode

PAGE = "<html><head><title>art</title></head><body>a drawing</body></html>"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def add(capsys, db: str, *args: str) -> dict:
    code, out, err = run(capsys, "registry", "add", "--registry", db, "--json", *args)
    assert code == ExitCode.OK, err
    return json.loads(out)


def check(capsys, db: str, url: str, *extra: str) -> dict:
    code, out, err = run(
        capsys, "check", url, "--allow-private", "--json", "--registry", db, "-a", "GPTBot", *extra
    )
    assert code == ExitCode.OK, err
    return json.loads(out)


def registry_rows(record: dict, agent: str = "GPTBot") -> list[dict]:
    return [e for e in record["evidence"] if e["signal"] == "registry" and e["agent"] == agent]


@pytest.fixture
def site():
    with Site() as s:
        s.put("/", PAGE)
        s.put("/works/1", PAGE)
        yield s


def test_verified_registration_reserves_and_withdrawal_lifts_it(registry_url, site, capsys):
    url = site.origin + "/works/1"
    before = check(capsys, registry_url, url)
    assert before["decisions"]["GPTBot"]["train-ai"] == "unspecified"
    assert registry_rows(before) == []

    made = add(capsys, registry_url, "--contact", "me@x.test", "--origin", site.origin)
    rid = made["registration"]["id"]
    # Not served yet: verification fails, the registration stays claimed.
    code, out, _ = run(capsys, "registry", "verify", rid, "--registry", registry_url, "--json",
                       "--allow-private")  # fmt: skip
    assert code == ExitCode.REFUSED
    assert json.loads(out)["registration"]["status"] == "claimed"
    site.put(
        f"/.well-known/reservation-crawler-verification/{rid}.txt",
        made["verification"]["file_content"] + "\n",
        "text/plain",
    )
    code, out, _ = run(capsys, "registry", "verify", rid, "--registry", registry_url, "--json",
                       "--allow-private")  # fmt: skip
    assert code == ExitCode.OK
    assert json.loads(out)["verification"]["method"] == "file"

    record = check(capsys, registry_url, url)
    assert record["decisions"]["GPTBot"]["train-ai"] == "reserved"
    assert record["decisions"]["*"]["ai-use"] == "reserved"
    assert record["decisions"]["*"]["crawl"] == "allowed"  # not a purpose it registered
    (row,) = registry_rows(record)
    assert row["location"] == f"registry:{rid}" and row["raw"].startswith("verified registration")
    assert "created" in row["raw"] and row["source"] == "registry"
    assert not [f for f in record["findings"] if f["code"] == "registry.claimed"]

    code, _, _ = run(capsys, "registry", "withdraw", rid, "--secret", made["withdrawal_secret"],
                     "--registry", registry_url)  # fmt: skip
    assert code == ExitCode.OK
    after = check(capsys, registry_url, url)
    assert after["decisions"]["GPTBot"]["train-ai"] == "unspecified"
    assert registry_rows(after) == []


def test_meta_tag_verifies(registry_url, site, capsys):
    made = add(capsys, registry_url, "--contact", "me@x.test", "--prefix", site.origin + "/works/")
    site.put("/", PAGE.replace("<title>", made["verification"]["meta"] + "<title>"))
    rid = made["registration"]["id"]
    code, out, _ = run(capsys, "registry", "verify", rid, "--registry", registry_url, "--json",
                       "--allow-private")  # fmt: skip
    assert code == ExitCode.OK and json.loads(out)["verification"]["method"] == "meta"


def test_claimed_registration_reserves_by_default_with_a_finding(registry_url, site, capsys):
    url = site.origin + "/works/1"
    made = add(capsys, registry_url, "--contact", "c@x.test", "--url", url, "--agent", "GPTBot")
    rid = made["registration"]["id"]
    record = check(capsys, registry_url, url)
    assert record["decisions"]["GPTBot"]["train-ai"] == "reserved"
    assert record["decisions"]["*"]["train-ai"] == "unspecified"  # it names GPTBot only
    (row,) = registry_rows(record)
    assert row["effect"] == "reserved" and row["raw"].startswith("claimed registration")
    (finding,) = [f for f in record["findings"] if f["code"] == "registry.claimed"]
    assert finding["location"] == f"registry:{rid}"

    # The operator's setting: claimed registrations are evidence only.
    lenient = check(capsys, registry_url, url, "--registry-claimed", "evidence")
    assert lenient["decisions"]["GPTBot"]["train-ai"] == "unspecified"
    (row,) = registry_rows(lenient)
    assert row["effect"] == "unspecified"
    # Another URL of the origin is not covered by an exact-URL registration.
    assert registry_rows(check(capsys, registry_url, site.origin + "/")) == []


def test_hash_registration_follows_the_work_to_another_origin(registry_url, site, capsys, tmp_path):
    work = tmp_path / "page.html"
    work.write_text(PAGE)
    made = add(capsys, registry_url, "--contact", "artist@x.test", "--file", str(work))
    assert made["registration"]["target"] == hashlib.sha256(PAGE.encode()).hexdigest()
    with Site() as repost:
        repost.put("/copied", PAGE)
        repost.put("/other", PAGE + " ")
        record = check(capsys, registry_url, repost.origin + "/copied")
        assert record["sources"]["page"]["sha256"] == made["registration"]["target"]
        assert record["decisions"]["GPTBot"]["train-ai"] == "reserved"
        assert registry_rows(record)[0]["raw"].startswith("claimed registration")
        other = check(capsys, registry_url, repost.origin + "/other")
        assert other["decisions"]["GPTBot"]["train-ai"] == "unspecified"


def test_a_mirror_answers_the_same(registry_url, second_registry_url, site, capsys, tmp_path):
    add(capsys, registry_url, "--contact", "a@x.test", "--prefix", site.origin + "/works/",
        "--purpose", "search")  # fmt: skip
    add(capsys, registry_url, "--contact", "b@x.test", "--url", site.origin + "/", "--agent",
        "GPTBot")  # fmt: skip
    feed = tmp_path / "feed.jsonl"
    assert run(capsys, "registry", "export", "--registry", registry_url, "-o", str(feed))[0] == 0
    code, _, _ = run(capsys, "registry", "import", str(feed), "--registry", second_registry_url)
    assert code == 0
    for path in ("/", "/works/1"):
        here = check(capsys, registry_url, site.origin + path)
        there = check(capsys, second_registry_url, site.origin + path)
        assert here["decisions"] == there["decisions"]
        assert registry_rows(here) == registry_rows(there) != []


def test_a_registry_mirrors_another_through_serve(
    registry_url, second_registry_url, redis_url, site, capsys
):
    """serve --registry A over a socket; registry import of its feed URL into B; same answers."""
    import os
    import re
    import select
    import signal
    import subprocess
    import sys

    import httpx

    command = [sys.executable, "-m", "reservation_crawler.cli", "serve", "--port", "0",
               "--redis", redis_url, "--registry", registry_url]  # fmt: skip
    with subprocess.Popen(
        command,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as process:
        try:
            assert process.stderr is not None
            ready, _, _ = select.select([process.stderr], [], [], 60)
            line = process.stderr.readline() if ready else ""
            match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
            assert match, line
            with httpx.Client(base_url=match.group(1), timeout=30, trust_env=False) as client:
                created = client.post(
                    "/v1/registry",
                    json={"contact": "a@x.test", "kind": "prefix",
                          "target": site.origin + "/works/", "agents": ["GPTBot"]},
                )  # fmt: skip
                assert created.status_code == 201
            feed = match.group(1) + "/v1/registry/feed"
            code, out, err = run(capsys, "registry", "import", feed, "--allow-private",
                                 "--registry", second_registry_url, "--json")  # fmt: skip
            assert code == 0, err
            assert json.loads(out)["changed"] == 1
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    assert process.returncode == 0
    here = check(capsys, registry_url, site.origin + "/works/1")
    there = check(capsys, second_registry_url, site.origin + "/works/1")
    assert here["decisions"] == there["decisions"]
    assert here["decisions"]["GPTBot"]["train-ai"] == "reserved"
    assert registry_rows(here) == registry_rows(there) != []
