"""Crawls of the fixture web through the real command line (subprocesses): records against the
fixture's ground truth, the same records as the httpx path (`check`), counts that add up, Redis,
JSON Lines and Parquet, the progress line, resumption after kill, two distributed processes,
`scrapy crawl` from the repository root, and `demo`."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow.parquet as pq
import pytest
import redis

from reservation_crawler.cli import main as cli_main
from reservation_crawler.drivers import cache
from reservation_crawler.drivers.collect import policy_from_fetches, record_from_page
from reservation_crawler.drivers.fetch import Fetcher, FetchLimits
from reservation_crawler.scrapy.spider import ReservationsSpider
from reservation_crawler.testing import (
    FixtureWeb,
    every_variant,
    expected_decisions,
    generate_recipes,
)

REPO = Path(__file__).resolve().parents[1]
AGENTS = ("GPTBot", "ClaudeBot", "CCBot")
PAGES_PER_SITE = 5
TIMEOUT = 2.0
FAILED_OUTCOMES = ("unreachable", "error")

pytestmark = pytest.mark.timeout(240)


# --- helpers ------------------------------------------------------------------------------------


def cli_env(home: Path) -> dict[str, str]:
    """A child environment whose user data dir is ``home`` and that names no Redis server."""
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["XDG_DATA_HOME"] = str(home)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def crawl_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "reservation_crawler.cli", "crawl", *args]


def run_cli(args: Sequence[str], *, cwd: Path, home: Path, timeout: float = 180) -> Any:
    return subprocess.run(
        list(args),
        cwd=cwd,
        env=cli_env(home),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def read_records(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def write_targets(path: Path, web: FixtureWeb, sites: Sequence[int], paths: Sequence[str]) -> Path:
    path.write_text("".join(web.url(i, p) + "\n" for i in sites for p in paths), encoding="utf-8")
    return path


def truth_by_origin(web: FixtureWeb) -> dict[str, dict[str, Any]]:
    return {site["origin"]: site for site in web.ground_truth()}


def mismatches(records: Sequence[dict[str, Any]], truth: Sequence[dict[str, Any]]) -> list[str]:
    """Every asserted ground-truth cell the records contradict, and how many were checked."""
    expected = expected_decisions(truth)
    wrong = []
    for record in records:
        for agent, cells in expected[record["url"]].items():
            for purpose, want in cells.items():
                if want is None:
                    continue
                got = record["decisions"][agent][purpose]
                if got != want:
                    wrong.append(f"{record['url']} {agent} {purpose}: want {want}, got {got}")
    return wrong


def checked_cells(records: Sequence[dict[str, Any]], truth: Sequence[dict[str, Any]]) -> int:
    expected = expected_decisions(truth)
    return sum(
        want is not None
        for record in records
        for cells in expected[record["url"]].values()
        for want in cells.values()
    )


@pytest.fixture(scope="module")
def redis_db(_redis_test_db_checked: str) -> str:
    """The suite's test database, emptied, for this module's crawls (module-scoped twin of
    conftest's ``redis_url``)."""
    client = redis.Redis.from_url(_redis_test_db_checked)
    try:
        client.flushdb()
        client.set("rc:test:marker", "reservation-crawler test suite")
    finally:
        client.close()
    return _redis_test_db_checked


@pytest.fixture(scope="module")
def web() -> Iterator[FixtureWeb]:
    """Every variant of every fixture kind once, then a seeded mix (~300 sites)."""
    recipes = every_variant() + generate_recipes(180, seed=11)
    with FixtureWeb.from_recipes(recipes, slow_delay=30) as fixture_web:
        yield fixture_web


@pytest.fixture(scope="module")
def main_crawl(
    web: FixtureWeb, redis_db: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """One crawl of the whole fixture web, run from outside the repository."""
    work = tmp_path_factory.mktemp("crawl")
    targets = write_targets(work / "targets.txt", web, range(len(web)), ["/", "/img/1.jpg"])
    output = work / "records.jsonl"
    agent_args = [arg for agent in AGENTS for arg in ("--agent", agent)]
    started = time.monotonic()
    done = run_cli(
        crawl_command(
            "-i",
            str(targets),
            "-o",
            str(output),
            "--allow-private",
            "--redis",
            redis_db,
            "--max-pages-per-site",
            str(PAGES_PER_SITE),
            "--timeout",
            str(TIMEOUT),
            "--no-throttle",
            "--concurrency",
            "64",
            "--json",
            *agent_args,
        ),
        cwd=work,
        home=work / "home",
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-3000:]
    records = read_records(output)
    client = redis.Redis.from_url(redis_db)
    try:
        pipe = client.pipeline(transaction=False)
        for record in records:
            pipe.pttl(cache.record_key(record["url"]))
        for origin in web.origins():
            pipe.pttl(cache.policy_key(origin))
        ttls = pipe.execute()
        stored = cache.decode_value(client.get(cache.record_key(records[0]["url"])))
    finally:
        client.close()
    return {
        "summary": json.loads(done.stdout),
        "records": records,
        "record_ttls": dict(zip([r["url"] for r in records], ttls[: len(records)], strict=True)),
        "policy_ttls": dict(zip(web.origins(), ttls[len(records) :], strict=True)),
        "stored": stored,
        "elapsed": elapsed,
        "stderr": done.stderr,
    }


# --- the main crawl -------------------------------------------------------------------------------


def test_crawl_records_match_the_ground_truth(web: FixtureWeb, main_crawl: dict[str, Any]) -> None:
    truth = list(web.ground_truth())
    records = main_crawl["records"]
    assert mismatches(records, truth) == []
    assert checked_cells(records, truth) > 10_000  # the comparison is not vacuous


def test_crawl_records_say_what_the_origin_did(web: FixtureWeb, main_crawl: dict[str, Any]) -> None:
    """Access outcomes (docs/fetch.md) in the crawl's records, against the ground truth: the
    robots.txt of every site, and every page the crawl fetched."""
    truth = truth_by_origin(web)
    compared = Counter()
    for record in main_crawl["records"]:
        site = truth[record["origin"]]
        robots_access = record["sources"]["robots.txt"].get("access")
        assert robots_access == site["sources"]["robots.txt"]["access"], site["kind"]
        page = record["sources"]["page"]
        if page["outcome"] != "not-fetched":
            (want,) = [p["access"] for p in site["pages"] if p["url"] == record["url"]]
            assert page.get("access") == want, (site["kind"], site["variant"], record["url"])
            compared[want] += 1
    assert {"fetched", "challenge", "payment-required", "refused"} <= set(compared)
    reasons = main_crawl["summary"]["sites"]["failed_by_reason"]
    assert reasons.get("robots.txt:challenge") == len(
        [i for i in web.sites_of("access-challenge") if web.recipes[i].variant[0] != "p"]
    )


def test_crawl_writes_one_record_per_url(web: FixtureWeb, main_crawl: dict[str, Any]) -> None:
    records = main_crawl["records"]
    urls = [r["url"] for r in records]
    assert len(urls) == len(set(urls))
    truth = truth_by_origin(web)
    per_origin = Counter(r["origin"] for r in records)
    for origin, site in truth.items():
        got = {r["url"] for r in records if r["origin"] == origin}
        # the given URLs always get a record, fetched or not
        assert {origin + "/", origin + "/img/1.jpg"} <= got, site["kind"]
        assert per_origin[origin] <= PAGES_PER_SITE
        assert got <= {page["url"] for page in site["pages"]}
        healthy = site["reached"] and all(
            page["failure"] is None and page["crawler_may_fetch"] for page in site["pages"]
        )
        if healthy and site["sources"]["robots.txt"]["readings"] == ["ok"]:
            # breadth-first over same-origin links reaches every page
            assert got == {page["url"] for page in site["pages"]}, (site["kind"], site["variant"])


def test_crawl_counts_add_up(web: FixtureWeb, main_crawl: dict[str, Any]) -> None:
    summary = main_crawl["summary"]
    sites = summary["sites"]
    assert sites["total"] == len(web)
    assert sites["done"] + sites["failed"] == sites["total"]
    assert sites["unfinished"] == 0
    assert sum(sites["failed_by_reason"].values()) == sites["failed"]
    assert summary["records"]["written"] == len(main_crawl["records"])
    assert summary["exit_code"] == 0 and summary["close_reason"] == "finished"
    # sites whose robots.txt could not be read are the "robots.txt:" failures, one each
    homes = {r["origin"]: r for r in main_crawl["records"] if r["url"] == r["origin"] + "/"}
    robots_failed = sum(
        home["sources"]["robots.txt"]["outcome"] in FAILED_OUTCOMES for home in homes.values()
    )
    assert robots_failed == sum(
        n for reason, n in sites["failed_by_reason"].items() if reason.startswith("robots.txt:")
    )
    truth = truth_by_origin(web)
    for origin, home in homes.items():
        if truth[origin]["sources"]["robots.txt"]["readings"] == ["unreachable"]:
            assert home["sources"]["robots.txt"]["outcome"] in FAILED_OUTCOMES, origin
            assert home["decisions"]["*"] == dict.fromkeys(home["decisions"]["*"], "reserved")


def test_crawl_stores_records_and_policies_in_redis_with_ttls(
    web: FixtureWeb, main_crawl: dict[str, Any], redis_db: str
) -> None:
    day_ms = cache.DEFAULT_TTL * 1000
    for record in main_crawl["records"]:
        ttl = main_crawl["record_ttls"][record["url"]]
        assert 0 < ttl <= day_ms, record["url"]
        sources = record["sources"]
        if sources["robots.txt"]["outcome"] in FAILED_OUTCOMES or (
            sources["page"]["outcome"] in FAILED_OUTCOMES
        ):
            assert ttl <= cache.DEFAULT_FAILURE_TTL * 1000, record["url"]
    assert all(ttl > 0 for ttl in main_crawl["policy_ttls"].values())
    stored = main_crawl["stored"]
    first = main_crawl["records"][0]
    assert stored.data == first  # the record as written to the dataset
    server = urlsplit(redis_db)
    assert (server.path if server.scheme == "unix" else server.hostname) in (
        main_crawl["summary"]["redis"]
    )


def test_crawl_gives_the_same_records_as_the_httpx_path(
    web: FixtureWeb, main_crawl: dict[str, Any]
) -> None:
    """The spider and `check` share one path: for one site of every fixture variant, the home
    page's record from the crawl equals the one built from fetch.Fetcher's results."""
    by_url = {r["url"]: r for r in main_crawl["records"]}
    variants = len(every_variant())

    def via_httpx(fetcher: Fetcher, index: int) -> dict[str, Any]:
        url = web.url(index, "/")
        policy = policy_from_fetches(fetcher.fetch_policy_files(url))
        page = fetcher.fetch(url) if ReservationsSpider._may_fetch(policy, url) else None
        return record_from_page(url, AGENTS, policy, page).to_json()

    def comparable(record: dict[str, Any]) -> dict[str, Any]:
        # Header names reach page.py title-cased from Scrapy and as sent from httpx; page.py
        # lower-cases them, so locations must be identical.
        return {
            "sources": record["sources"],
            "decisions": record["decisions"],
            "evidence": record["evidence"],
            "findings": sorted(
                (f["code"], f["severity"], f.get("location") or "", f.get("line") or 0)
                for f in record["findings"]
            ),
        }

    with (
        Fetcher(allow_private=True, limits=FetchLimits(timeout=TIMEOUT)) as fetcher,
        ThreadPoolExecutor(16) as pool,
    ):
        expected = list(pool.map(lambda i: via_httpx(fetcher, i), range(variants)))
    differing = []
    for i, want in enumerate(expected):
        got = comparable(by_url[want["url"]])
        fields = [k for k in got if got[k] != comparable(want)[k]]
        if fields:
            differing.append((web.recipes[i].kind, web.recipes[i].variant, fields))
    assert differing == []


def test_crawl_turns_broken_sites_into_records(web: FixtureWeb, main_crawl: dict[str, Any]) -> None:
    by_url = {r["url"]: r for r in main_crawl["records"]}

    def source(kind: str, variant: str, name: str, path: str = "/") -> dict[str, Any]:
        index = web.sites_of(kind, variant)[0]
        return by_url[web.url(index, path)]["sources"][name]

    assert source("robots-timeout", "delay", "robots.txt")["error"] == "timeout"
    assert source("robots-reset", "reset", "robots.txt")["error"] == "reset"
    assert source("robots-redirects", "loop", "robots.txt")["error"] == "redirect-loop"
    assert source("robots-redirects", "too-many-6", "robots.txt")["error"] == "too-many-redirects"
    ok5 = source("robots-redirects", "ok-5", "robots.txt")
    assert ok5["outcome"] == "ok" and len(ok5["redirects"]) == 5
    assert source("robots-5xx", "503", "robots.txt")["outcome"] == "unreachable"
    bomb = source("page-broken", "gzip-bomb", "page", "/a/1.html")
    assert bomb["error"] == "decompression-bomb" and bomb["size"] == FetchLimits().max_bytes
    huge_index = web.sites_of("robots-huge")[0]
    huge = by_url[web.url(huge_index, "/")]
    assert huge["sources"]["robots.txt"]["size"] == FetchLimits().robots_max_bytes
    assert "fetch.truncated" in {f["code"] for f in huge["findings"]}
    home_timeout = source("page-broken", "home-timeout", "page")
    assert home_timeout["outcome"] == "unreachable" and home_timeout["error"] == "timeout"


# --- network failures ---------------------------------------------------------------------------


@contextlib.contextmanager
def self_signed_https_server(directory: Path) -> Iterator[int]:
    """An HTTPS server on 127.0.0.1 whose certificate no client trusts."""
    import datetime
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tls.localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("tls.localhost")]), False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_network_failures_become_records(web: FixtureWeb, tmp_path: Path) -> None:
    with self_signed_https_server(tmp_path) as tls_port:
        targets = [
            f"https://tls.localhost:{tls_port}/",
            f"http://127.0.0.1:{closed_port()}/",
            "http://no-such-host.invalid/",
        ]
        done = run_cli(
            crawl_command(
                *targets,
                "-o",
                str(tmp_path / "a.jsonl"),
                "--allow-private",
                "--no-redis",
                "--timeout",
                str(TIMEOUT),
                "--no-throttle",
                "--json",
            ),
            cwd=tmp_path,
            home=tmp_path / "home",
        )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert summary["sites"]["failed_by_reason"] == {
        "robots.txt:tls": 1,
        "robots.txt:connect": 1,
        "robots.txt:dns": 1,
    }
    records = {r["url"]: r for r in read_records(tmp_path / "a.jsonl")}
    assert set(records) == set(targets)
    errors = [records[url]["sources"]["robots.txt"]["error"] for url in targets]
    assert errors == ["tls", "connect", "dns"]
    for record in records.values():
        assert record["sources"]["page"]["outcome"] == "not-fetched"
        assert set(record["decisions"]["*"].values()) == {"reserved"}  # RFC 9309 §2.3.1.4

    # without --allow-private, the guard refuses the loopback fixture web
    before = web.request_count(0)
    guarded = run_cli(
        crawl_command(
            web.base_url(0),
            "-o",
            str(tmp_path / "b.jsonl"),
            "--no-redis",
            "--json",
        ),
        cwd=tmp_path,
        home=tmp_path / "home",
    )
    assert guarded.returncode == 0, guarded.stderr[-3000:]
    assert json.loads(guarded.stdout)["sites"]["failed_by_reason"] == {
        "robots.txt:blocked-address": 1
    }
    (record,) = read_records(tmp_path / "b.jsonl")
    assert record["sources"]["robots.txt"]["error"] == "blocked-address"
    assert "fetch.blocked-address" in {f["code"] for f in record["findings"]}
    assert web.request_count(0) == before  # nothing was sent


# --- Parquet, the progress line, usage ------------------------------------------------------------


def test_crawl_to_parquet_with_progress_on_a_terminal(
    web: FixtureWeb, main_crawl: dict[str, Any], tmp_path: Path
) -> None:
    sites = range(40)
    targets = write_targets(tmp_path / "t.txt", web, sites, ["/", "/img/1.jpg"])
    output = tmp_path / "records.parquet"
    agent_args = [arg for agent in AGENTS for arg in ("--agent", agent)]
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run(
            crawl_command(
                "-i",
                str(targets),
                "-o",
                str(output),
                "--allow-private",
                "--no-redis",
                "--max-pages-per-site",
                str(PAGES_PER_SITE),
                "--timeout",
                str(TIMEOUT),
                "--no-throttle",
                *agent_args,
            ),
            cwd=tmp_path,
            env=cli_env(tmp_path / "home"),
            stdout=subprocess.PIPE,
            stderr=terminal,
            text=True,
            timeout=120,
            check=False,
        )
        os.close(terminal)
        terminal = -1
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        if terminal >= 0:
            os.close(terminal)
        os.close(controller)
    assert done.returncode == 0, shown.decode(errors="replace")[-2000:]
    drawn = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown.decode())  # rich's colours
    # the progress bar: sites done / total, percentage, ETA
    assert f"{len(sites)}/{len(sites)}" in drawn and "100%" in drawn and "ETA" in drawn
    assert "dataset:" in done.stdout and str(output) in done.stdout
    rows = pq.read_table(output).to_pylist()
    from_jsonl = {r["url"]: r for r in main_crawl["records"]}
    assert {row["url"] for row in rows} == {
        url for url, r in from_jsonl.items() if int(r["origin"].split("//s")[1][:5]) in sites
    }
    for row in rows:
        want = from_jsonl[row["url"]]
        assert dict(row["decisions"]) == want["decisions"]
        assert [f["code"] for f in row["findings"]] == [f["code"] for f in want["findings"]]
        assert (
            dict(row["sources"])["robots.txt"]["outcome"]
            == (want["sources"]["robots.txt"]["outcome"])
        )
        assert dict(row["sources"])["robots.txt"]["access"] == (
            want["sources"]["robots.txt"].get("access")
        )
    # the manifest of a Parquet dataset: one row per record, and it agrees with its card
    manifest = tmp_path / "records.manifest.parquet"
    assert pq.read_table(manifest).column("url").to_pylist() == [row["url"] for row in rows]
    assert cli_main(["manifest", "verify", str(manifest)]) == 0


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["example.com", "-o", "out.csv"],
        ["example.com", "--job-dir", "j", "--distributed"],
        ["example.com", "--max-pages-per-site", "0"],
        ["example.com", "-i", "/nonexistent/targets.txt"],
    ],
)
def test_crawl_usage_errors_exit_2(
    args: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli_main(["crawl", *args]) == 2
    assert "reservation-crawler crawl:" in capsys.readouterr().err


def test_crawl_help_documents_the_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli_main(["crawl", "--help"])
    text = capsys.readouterr().out
    assert "exit status" in text and "--job-dir" in text and "--distributed" in text


# --- resumption -----------------------------------------------------------------------------------


def ledger_lines(job: Path) -> int:
    path = job / "records.jsonl"
    return path.read_bytes().count(b"\n") if path.exists() else 0


def interrupt_after(args: list[str], cwd: Path, home: Path, job: Path, more: int, sig: int) -> int:
    """Start a crawl, wait until ``more`` records reach the ledger, send ``sig``; exit status."""
    before = ledger_lines(job)
    process = subprocess.Popen(
        args, cwd=cwd, env=cli_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while ledger_lines(job) < before + more:
            assert process.poll() is None, process.communicate()[1][-2000:]
            assert time.monotonic() < deadline, "the crawl made no progress"
            time.sleep(0.05)
        process.send_signal(sig)
        process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode


def test_crawl_resumes_after_kill_and_ctrl_c(redis_db: str, tmp_path: Path) -> None:
    with FixtureWeb(80, seed=5, slow_delay=30) as small_web:
        targets = write_targets(tmp_path / "t.txt", small_web, range(len(small_web)), ["/"])
        job = tmp_path / "job"
        output = tmp_path / "out.jsonl"
        common = [
            "-i",
            str(targets),
            "-o",
            str(output),
            "--job-dir",
            str(job),
            "--allow-private",
            "--redis",
            redis_db,
            "--timeout",
            str(TIMEOUT),
            "--json",
            *[arg for agent in AGENTS for arg in ("--agent", agent)],
        ]
        slow = crawl_command(*common, "--concurrency", "2", "-s", "AUTOTHROTTLE_START_DELAY=0.2")
        home = tmp_path / "home"
        # 1. killed outright: nothing can be flushed or closed
        assert interrupt_after(slow, tmp_path, home, job, 10, signal.SIGKILL) == -signal.SIGKILL
        assert not output.exists()
        # 2. Ctrl-C: Scrapy stops gracefully; the command says it is incomplete
        assert interrupt_after(slow, tmp_path, home, job, 10, signal.SIGINT) == 1
        assert not output.exists()
        assert not (tmp_path / "out.manifest.parquet").exists()  # written when complete
        partial = ledger_lines(job)
        # 3. run to the end
        done = run_cli(
            crawl_command(*common, "--no-throttle", "--concurrency", "32"),
            cwd=tmp_path,
            home=home,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        summary = json.loads(done.stdout)
        truth = list(small_web.ground_truth())
    records = read_records(output)
    urls = [r["url"] for r in records]
    assert len(urls) == len(set(urls)), "a record was written twice"
    assert set(urls) == {site["origin"] + "/" for site in truth}, "a record was lost"
    assert mismatches(records, truth) == []
    assert summary["sites"]["total"] == len(truth)
    assert summary["sites"]["done"] + summary["sites"]["failed"] == len(truth)
    assert summary["sites"]["resumed"] > 0 and summary["records"]["previous_runs"] >= 20
    assert summary["records"]["written"] == len(records)
    assert partial >= 20
    sites_done = [json.loads(line)["origin"] for line in (job / "sites.jsonl").open()]
    assert sorted(sites_done) == sorted(site["origin"] for site in truth)
    # the resumed crawl's manifest holds every record of all three runs (docs/datasets.md)
    manifest = tmp_path / "out.manifest.parquet"
    assert pq.read_table(manifest).column("url").to_pylist() == urls
    card = json.loads((tmp_path / "out.card.json").read_text())
    assert card["complete"] is True and card["manifest"]["rows"] == len(records)
    assert summary["manifest"]["sha256"] == card["manifest"]["sha256"]
    assert cli_main(["manifest", "verify", str(manifest)]) == 0


def test_an_interrupted_crawl_without_job_dir_gets_the_manifest_of_its_records(
    tmp_path: Path,
) -> None:
    """Ctrl-C without --job-dir: the dataset holds the records written so far; the manifest
    holds exactly those, and the card says the crawl is incomplete (docs/datasets.md)."""
    with FixtureWeb(80, seed=5, slow_delay=30) as small_web:
        targets = write_targets(tmp_path / "t.txt", small_web, range(len(small_web)), ["/"])
        out_dir = tmp_path / "out"
        out_dir.mkdir()
        output = out_dir / "records.jsonl"  # watched as interrupt_after watches a ledger
        args = crawl_command(
            *("-i", str(targets), "-o", str(output), "--allow-private", "--no-redis"),
            *("--timeout", str(TIMEOUT), "--concurrency", "2", "--json"),
            *("-s", "AUTOTHROTTLE_START_DELAY=0.2"),
        )
        assert interrupt_after(args, tmp_path, tmp_path / "home", out_dir, 3, signal.SIGINT) == 1
    records = read_records(output)
    card = json.loads((out_dir / "records.card.json").read_text())
    assert card["complete"] is False
    assert 3 <= card["manifest"]["rows"] == len(records) < 80
    manifest = out_dir / "records.manifest.parquet"
    assert pq.read_table(manifest).column("url").to_pylist() == [r["url"] for r in records]
    assert cli_main(["manifest", "verify", str(manifest)]) == 0
    assert "incomplete" in (out_dir / "records.card.md").read_text()


# --- distributed ----------------------------------------------------------------------------------


def test_distributed_crawl_with_two_processes(redis_db: str, tmp_path: Path) -> None:
    with FixtureWeb(60, seed=9, profile="clean") as clean_web:
        targets = write_targets(tmp_path / "t.txt", clean_web, range(len(clean_web)), ["/"])
        crawl_id = f"test-{os.getpid()}-{time.time_ns()}"
        processes = []
        for n in (1, 2):
            args = crawl_command(
                "-i",
                str(targets),
                "-o",
                str(tmp_path / f"out{n}.jsonl"),
                "--distributed",
                "--crawl-id",
                crawl_id,
                "--redis",
                redis_db,
                "--allow-private",
                # a polite pace, so that each process is still running when the other starts
                "-s",
                "AUTOTHROTTLE_START_DELAY=0.2",
                # the end waits a lease (docs/crawler.md, "Workers that lose nothing")
                "-s",
                "RC_LEASE_SECONDS=10",
                "--concurrency",
                "4",
                "--timeout",
                str(TIMEOUT),
                "--json",
            )
            processes.append(
                subprocess.Popen(
                    args,
                    cwd=tmp_path,
                    env=cli_env(tmp_path / "home"),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        outputs = [p.communicate(timeout=200) for p in processes]
        for process, (_, err) in zip(processes, outputs, strict=True):
            assert process.returncode == 0, err[-3000:]
        robots_requests = [clean_web.request_count(i, "/robots.txt") for i in range(len(clean_web))]
        truth = list(clean_web.ground_truth())
    first, second = (read_records(tmp_path / f"out{n}.jsonl") for n in (1, 2))
    urls = [r["url"] for r in first + second]
    assert len(urls) == len(set(urls)), "a site was crawled by both processes"
    assert set(urls) == {site["origin"] + "/" for site in truth}, "the union is incomplete"
    assert robots_requests == [1] * len(truth)  # each site crawled once in all
    assert first and second, "both processes took part"
    summaries = [json.loads(out) for out, _ in outputs]
    assert sum(s["sites"]["total"] for s in summaries) == len(truth)
    assert all(s["crawl_id"] == crawl_id for s in summaries)
    client = redis.Redis.from_url(redis_db)
    try:
        keys = list(client.scan_iter(match=f"{cache.CRAWL_PREFIX}*:{crawl_id}:*"))
        assert keys and all(0 < client.ttl(k) <= 24 * 3600 for k in keys)
    finally:
        client.close()


# --- the Scrapy project and the demo -----------------------------------------------------------


def test_scrapy_crawl_from_the_repository_root(
    web: FixtureWeb, redis_db: str, tmp_path: Path
) -> None:
    output = tmp_path / "records.jsonl"
    targets = ",".join(web.base_url(i) for i in range(3))
    done = run_cli(
        [
            sys.executable,
            "-m",
            "scrapy",
            "crawl",
            "reservations",
            "-a",
            f"targets={targets}",
            "-a",
            "agents=GPTBot",
            "-s",
            "RC_ALLOW_PRIVATE=1",
            "-s",
            f"RC_REDIS_URL={redis_db}",
            "-O",
            str(output),
            "-L",
            "WARNING",
        ],
        cwd=REPO,
        home=tmp_path / "home",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    records = read_records(output)
    assert sorted(r["url"] for r in records) == sorted(web.url(i, "/") for i in range(3))
    assert all(r["schema"] == "reservation-record/1" for r in records)
    assert all(set(r["decisions"]) == {"*", "GPTBot"} for r in records)
    listed = run_cli([sys.executable, "-m", "scrapy", "list"], cwd=REPO, home=tmp_path / "home")
    assert listed.stdout.split() == ["reservations"]


def test_demo_runs_on_a_fresh_machine(tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = run_cli(
        [sys.executable, "-m", "reservation_crawler.cli", "demo", "--sites", "40", "--json"],
        cwd=tmp_path,
        home=home,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert summary["sites"]["total"] == 40
    assert summary["sites"]["done"] + summary["sites"]["failed"] == 40
    agreement = summary["ground_truth"]
    assert agreement["cells_checked"] > 500
    assert agreement["cells_matched"] == agreement["cells_checked"]
    data_dir = home / "reservation-crawler"
    assert Path(summary["output"]) == data_dir / "demo" / "reservations.jsonl"
    assert len(read_records(Path(summary["output"]))) == 40
    assert "embedded Redis" in summary["redis"] and str(data_dir / "redis") in summary["redis"]


def test_demo_text_names_no_stale_socket_and_ends_with_the_next_command(tmp_path: Path) -> None:
    done = run_cli(
        [sys.executable, "-m", "reservation_crawler.cli", "demo", "--sites", "20"],
        cwd=tmp_path,
        home=tmp_path / "home",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    text = done.stdout + done.stderr
    assert "socket" not in text and "rc-redis-" not in text  # gone once the demo exits
    last = [line for line in done.stderr.splitlines() if line.strip()][-1]
    assert last.startswith("next: reservation-crawler stats ")
    dataset = last.split()[3]
    stats = run_cli(
        [sys.executable, "-m", "reservation_crawler.cli", "stats", dataset],
        cwd=tmp_path,
        home=tmp_path / "home",
    )
    assert stats.returncode == 0, stats.stderr[-2000:]  # the suggested command works as given


# --- job directories made for other options ------------------------------------------------------


def test_job_dir_refuses_other_options_and_says_what_differs(redis_db: str, tmp_path: Path) -> None:
    with FixtureWeb(6, seed=3, profile="clean") as small_web:
        targets = write_targets(tmp_path / "t.txt", small_web, range(len(small_web)), ["/"])
        job = tmp_path / "job"
        home = tmp_path / "home"
        common = ["--job-dir", str(job), "--allow-private", "--redis", redis_db, "--json"]
        first = run_cli(
            crawl_command(
                "-i", str(targets), "-o", str(tmp_path / "a.jsonl"), *common, "--agent", "GPTBot"
            ),
            cwd=tmp_path,
            home=home,
        )
        assert first.returncode == 0, first.stderr[-3000:]
        recorded = json.loads((job / "job.json").read_text())
        assert recorded["agents"] == ["GPTBot"] and recorded["max_pages_per_site"] == 1
        # Another agent, more pages, other targets: each refused with exit 2, naming the option.
        other_targets = write_targets(tmp_path / "u.txt", small_web, range(3), ["/"])
        for extra, named in (
            (["-i", str(targets), "--agent", "CCBot"], "agents: [GPTBot] then, [CCBot] now"),
            (
                ["-i", str(targets), "--agent", "GPTBot", "--max-pages-per-site", "3"],
                "max_pages_per_site: 1 then, 3 now",
            ),
            (["-i", str(other_targets), "--agent", "GPTBot"], "targets: 6 origins"),
        ):
            again = run_cli(
                crawl_command(*extra, "-o", str(tmp_path / "b.jsonl"), *common),
                cwd=tmp_path,
                home=home,
            )
            assert again.returncode == 2, again.stderr[-2000:]
            assert named in again.stderr and "--job-dir" in again.stderr
            assert not (tmp_path / "b.jsonl").exists()
        # The same options resume (here: nothing left to crawl) and export the same dataset.
        same = run_cli(
            crawl_command(
                "-i", str(targets), "-o", str(tmp_path / "c.jsonl"), *common, "--agent", "GPTBot"
            ),
            cwd=tmp_path,
            home=home,
        )
        assert same.returncode == 0, same.stderr[-3000:]
        assert read_records(tmp_path / "c.jsonl") == read_records(tmp_path / "a.jsonl")


def test_job_dir_of_an_older_version_is_refused(tmp_path: Path) -> None:
    from reservation_crawler.scrapy.jobdir import JobMismatch, check_job_options

    job = tmp_path / "job"
    job.mkdir()
    (job / "records.jsonl").write_text('{"url": "https://a.example/"}\n')
    with pytest.raises(JobMismatch, match=r"no job\.json"):
        check_job_options(job, {"agents": []})


# --- progress where no terminal is, and on a terminal ----------------------------------------


def test_crawl_without_a_terminal_logs_progress_lines(redis_db: str, tmp_path: Path) -> None:
    with FixtureWeb(12, seed=4, profile="clean", slow_delay=30) as small_web:
        targets = write_targets(tmp_path / "t.txt", small_web, range(len(small_web)), ["/"])
        done = run_cli(
            crawl_command(
                "-i",
                str(targets),
                "-o",
                str(tmp_path / "o.jsonl"),
                "--allow-private",
                "--redis",
                redis_db,
                "--concurrency",
                "2",
                "-s",
                "AUTOTHROTTLE_START_DELAY=0.1",
                "-s",
                "RC_PROGRESS_LOG_INTERVAL=0.2",
            ),
            cwd=tmp_path,
            home=tmp_path / "home",
        )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stderr.splitlines() if " progress: sites " in line]
    assert len(lines) >= 2, done.stderr[-3000:]
    assert lines[-1].split(" progress: ")[1].startswith("sites 12/12 (100.0%), 0 failed")
    assert all("ETA" in line and "records/s" in line for line in lines)


# --- Redis Cluster -------------------------------------------------------------------------------


def test_crawl_writes_records_and_policies_to_a_redis_cluster(
    redis_cluster_url: str, tmp_path: Path
) -> None:
    client = cache.connect(redis_cluster_url)
    client.flushall()
    with FixtureWeb(30, seed=5, profile="clean") as clean_web:
        targets = write_targets(tmp_path / "t.txt", clean_web, range(len(clean_web)), ["/"])
        base = ["-i", str(targets), "--redis", redis_cluster_url, "--allow-private", "--json"]
        done = run_cli(
            crawl_command(*base, "-o", str(tmp_path / "out.jsonl"), "--timeout", str(TIMEOUT)),
            cwd=tmp_path,
            home=tmp_path / "home",
        )
        refused = run_cli(
            crawl_command(*base, "-o", str(tmp_path / "d.jsonl"), "--distributed"),
            cwd=tmp_path,
            home=tmp_path / "home",
        )
        origins = [site["origin"] for site in clean_web.ground_truth()]
    try:
        assert done.returncode == 0, done.stderr[-3000:]
        records = read_records(tmp_path / "out.jsonl")
        assert {r["url"] for r in records} == {origin + "/" for origin in origins}
        pipe = client.pipeline(transaction=False)
        for record in records:
            pipe.get(cache.record_key(record["url"]))
        for origin in origins:
            pipe.pttl(cache.policy_key(origin))
        replies = pipe.execute()
        stored = [cache.decode_value(raw).data["url"] for raw in replies[: len(records)]]
        assert stored == [r["url"] for r in records]
        assert all(ttl > 0 for ttl in replies[len(records) :])
        # The keys are spread over the three masters, not piled on one.
        assert all(client.dbsize(target_nodes=node) for node in client.get_primaries())
        assert json.loads(done.stdout)["redis"].startswith("redis+cluster://")
    finally:
        client.close()
    assert refused.returncode == 2 and "needs a single Redis server" in refused.stderr
