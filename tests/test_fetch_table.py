"""One table of fetch cases, run through the three fetchers the project has: ``Fetcher`` (httpx,
sync), ``AsyncFetcher`` (httpx, async) and the Scrapy spider (a real crawl in a subprocess, with
the crawl command's settings). Every row has ONE expected result, the same for all three: the
fetch rules live once, in ``core/fetching.py`` (docs/fetch.md).

Rows are served by the loopback server of ``fetch_testserver.py``, one host per row so that the
spider's per-origin chain (robots.txt, ai.txt, tdmrep.json, then the page) does not mix rows.
The limits are the defaults (caps of 2,000,000 and 600,000 bytes, 5 redirects).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import anyio
import pytest
from fetch_testserver import ACCESS_BODIES, GZIP_VARIED, SMALL_TEXT, VARIED_TEXT, FetchTestServer

from reservation_crawler.core.fetching import (
    ACCEPT_ENCODING,
    DEFAULT_MAX_BYTES,
    DEFAULT_ROBOTS_MAX_BYTES,
    FetchResult,
    access_of,
)
from reservation_crawler.drivers.fetch import AsyncFetcher, Fetcher

CAP = DEFAULT_MAX_BYTES
ROBOTS_CAP = DEFAULT_ROBOTS_MAX_BYTES
ROBOTS_TXT = b"User-agent: *\nDisallow: /private/\n"
FIELDS = ("url", "final_url", "status", "content_type", "error", "truncated", "redirects")
UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class Case:
    """One row: what to fetch, and what every fetcher must report."""

    name: str
    path: str  # on the row's own host; "{port}" is filled in
    status: int | None
    body: bytes | int  # the exact body, or its length (then ``prefix`` checks its start)
    error: str | None = None
    truncated: bool = False
    content_type: str | None = "text/plain"
    final: str | None = None  # the final URL's path (or absolute URL); default: ``path``
    hops: int = 0  # len(redirects)
    host: str = ""  # default: the row's name
    prefix: bytes = b""
    access: str = "fetched"  # what the origin did (core.fetching.access_of, docs/fetch.md)
    access_rule: str | None = None


def to(location: str) -> str:
    return "/to?url=" + quote(location, safe="{}")  # {port} is filled in later


CASES = (
    # -- redirects
    Case("chain-5", "/chain/5", 200, b"end of chain", final="/chain/0", hops=5),
    Case(
        "chain-6",
        "/chain/6",
        302,
        b"",
        error="too-many-redirects",
        final="/chain/1",
        hops=5,
        access=UNREACHABLE,
        access_rule="fetch:too-many-redirects",
    ),
    Case("chain-308", "/chain/2?status=308", 200, b"end of chain", final="/chain/0", hops=2),
    Case(
        "loop",
        "/loop/a",
        302,
        b"",
        error="redirect-loop",
        final="/loop/b",
        hops=1,
        access=UNREACHABLE,
        access_rule="fetch:redirect-loop",
    ),
    Case(
        "self-loop",
        "/self",
        302,
        b"",
        error="redirect-loop",
        access=UNREACHABLE,
        access_rule="fetch:redirect-loop",
    ),
    Case(
        "relative",
        "/rel/dir/start",
        200,
        b"relative target /rel/target",
        final="/rel/target?x=1",
        hops=1,
    ),
    Case(
        "cross-origin",
        to("http://other.localhost:{port}/status/200"),
        200,
        b"status 200",
        final="http://other.localhost:{port}/status/200",
        hops=1,
    ),
    Case("fragment", to("/status/203#part"), 203, b"status 203", final="/status/203", hops=1),
    Case("to-ftp", to("ftp://example.com/robots.txt"), 302, b"", error="invalid-url"),
    Case("no-location", "/noloc", 302, b"redirect without location"),
    # -- status classes (reported, never interpreted here)
    Case("s200", "/status/200", 200, b"status 200"),
    Case("s403", "/status/403", 403, b"status 403", access="refused", access_rule="http:403"),
    Case("s404", "/status/404", 404, b"status 404"),
    Case("s429", "/status/429", 429, b"status 429", access=UNREACHABLE, access_rule="http:429"),
    Case("s500", "/status/500", 500, b"status 500", access=UNREACHABLE, access_rule="http:500"),
    Case("s503", "/status/503", 503, b"status 503", access=UNREACHABLE, access_rule="http:503"),
    # -- sizes and truncation
    Case("small-chunked", "/huge?n=1000", 200, 1000, prefix=b"a" * 1000),
    Case("over-cap-chunked", "/huge?n=2500000", 200, CAP, truncated=True, prefix=b"aaaa"),
    Case("over-cap-length", "/huge?n=2500000&cl=2500000", 200, CAP, truncated=True, prefix=b"aaaa"),
    # RFC 9309 §2.5: read up to the cap whatever the framing (0.1 called this one too-large)
    Case("announced-huge", "/huge?n=2500000&cl=25000000", 200, CAP, truncated=True, prefix=b"aaaa"),
    # -- response heads
    Case("header-16k", "/long-header?n=16000", 200, b"long header"),
    # Twisted (the crawl) drops a head with a line over 16 KiB; the httpx fetchers do the same
    Case(
        "header-over-16k",
        "/long-header?n=17000",
        None,
        b"",
        error="reset",
        content_type=None,
        access=UNREACHABLE,
        access_rule="fetch:reset",
    ),
    # -- content codings and bombs
    Case("gzip", "/enc/gzip", 200, SMALL_TEXT),
    Case("x-gzip", "/enc/x-gzip", 200, SMALL_TEXT),
    Case("deflate", "/enc/deflate", 200, SMALL_TEXT),
    Case("deflate-raw", "/enc/deflate-raw", 200, SMALL_TEXT),
    Case("gzip-two-members", "/enc/gzip-multi", 200, SMALL_TEXT + b"second member\n"),
    Case("gzip-over-cap", "/enc/gzip-varied", 200, CAP, truncated=True, prefix=VARIED_TEXT[:CAP]),
    Case("gzip-bomb", "/enc/gzip-bomb", 200, CAP, error="decompression-bomb", truncated=True),
    Case("corrupt-gzip", "/enc/corrupt-gzip", 200, b"", error="protocol"),
    Case("zstd", "/enc/zstd", 200, b"", error="protocol"),
    Case("two-codings", "/two-codings", 200, SMALL_TEXT),
    # 10 MiB after the end of a gzip member: stopped at 4 x the cap of raw bytes
    Case("gzip-tail", "/gzip-tail", 200, SMALL_TEXT, error="too-large"),
    # -- content types
    Case("ctype-plain", "/ctype?t=text/plain", 200, b"{}"),
    Case(
        "ctype-params",
        "/ctype?t=" + quote("Text/HTML; charset=UTF-8"),
        200,
        b"{}",
        content_type="text/html",
    ),
    Case("ctype-missing", "/ctype", 200, b"{}", content_type=None),
    Case("ctype-twice", "/two-types", 200, b"{}", content_type="text/html"),
    # -- robots.txt (its own cap)
    Case("robots", "/robots.txt", 200, ROBOTS_TXT + b"# plain.localhost\n", host="plain"),
    Case(
        "robots-html",
        "/robots.txt",
        200,
        b"<html><body>Welcome</body></html>",
        host="html",
        content_type="text/html",
    ),
    Case("robots-untyped", "/robots.txt", 200, ROBOTS_TXT, host="notype", content_type=None),
    Case(
        "robots-over-cap",
        "/robots.txt",
        200,
        ROBOTS_CAP,
        host="big",
        truncated=True,
        prefix=b"User-agent: *\nDisallow: /x\n",
    ),
)
# -- access outcomes: challenge pages, 402, refusals (docs/fetch.md, "Access outcomes")
_CHALLENGE = "challenge"
CASES += (
    Case(
        "cf-mitigated",
        "/access/cf-mitigated",
        403,
        ACCESS_BODIES["cf-mitigated"],
        content_type="text/html",
        access=_CHALLENGE,
        access_rule="cloudflare:cf-mitigated",
    ),
    Case(
        "cf-challenge-200",
        "/access/cf-body-200",
        200,
        ACCESS_BODIES["cf-body-200"],
        content_type="text/html",
        access=_CHALLENGE,
        access_rule="cloudflare:challenge-body",
    ),
    Case(
        "cf-server-503",
        "/access/cf-server",
        503,
        ACCESS_BODIES["cf-server"],
        content_type="text/html",
        access=_CHALLENGE,
        access_rule="cloudflare:challenge-page",
    ),
    # Cloudflare's JavaScript detections script on an ordinary page is no challenge.
    Case("cf-jsd-page", "/access/cf-jsd", 200, ACCESS_BODIES["cf-jsd"], content_type="text/html"),
    Case(
        "datadome-403",
        "/access/datadome",
        403,
        ACCESS_BODIES["datadome"],
        content_type="text/html",
        access=_CHALLENGE,
        access_rule="datadome:blocked",
    ),
    Case(
        "akamai-403",
        "/access/akamai",
        403,
        ACCESS_BODIES["akamai"],
        content_type="text/html",
        access=_CHALLENGE,
        access_rule="akamai:access-denied",
    ),
    Case(
        "pay-402",
        "/access/pay",
        402,
        ACCESS_BODIES["pay"],
        access="payment-required",
        access_rule="http:402",
    ),
    Case("s401", "/status/401", 401, b"status 401", access="refused", access_rule="http:401"),
    Case(
        "robots-challenge-200",
        "/robots.txt",
        200,
        ACCESS_BODIES["cf-body-200"],
        host="challenge",
        content_type="text/html",
        access=_CHALLENGE,
        access_rule="cloudflare:cf-mitigated",
    ),
)
if "br" in ACCEPT_ENCODING:
    CASES += (
        Case("br", "/enc/br", 200, SMALL_TEXT),
        Case("br-bomb", "/enc/br-bomb", 200, CAP, error="decompression-bomb", truncated=True),
    )
assert len({case.name for case in CASES}) == len(CASES)
assert len(GZIP_VARIED) < CAP < len(VARIED_TEXT)  # an honest over-cap body, not a bomb


def host_of(case: Case) -> str:
    return f"{case.host or case.name}.localhost"


def url_of(case: Case, port: int) -> str:
    return f"http://{host_of(case)}:{port}{case.path.format(port=port)}"


def cap_of(case: Case) -> int:
    return ROBOTS_CAP if case.path == "/robots.txt" else CAP


def view(result: FetchResult) -> dict[str, Any]:
    """What the three fetchers must agree on (headers differ only in the case of their names,
    error details in the wording of transport errors; both are checked elsewhere)."""
    out = {name: getattr(result, name) for name in FIELDS}
    out["redirects"] = list(out["redirects"])
    out["body_len"] = len(result.body)
    out["sha256"] = result.sha256
    reading = access_of(result)
    out["access"] = None if reading.access is None else str(reading.access)
    out["access_rule"] = reading.rule
    out["access_detail"] = reading.detail  # records carry it: the same from every driver
    return out


def expected(case: Case, port: int) -> dict[str, Any]:
    url = url_of(case, port)
    final = case.final.format(port=port) if case.final is not None else None
    if final is None:
        final = url
    elif final.startswith("/"):
        final = f"http://{host_of(case)}:{port}{final}"
    return {
        "url": url,
        "final_url": final,
        "status": case.status,
        "content_type": case.content_type,
        "error": case.error,
        "truncated": case.truncated,
        "hops": case.hops,
        "body": case.body,
        "prefix": case.prefix,
    }


def check(case: Case, port: int, got: dict[str, Any], body: bytes | None) -> None:
    """``got`` (a view) against the row; ``body`` when the caller has it (not from Scrapy)."""
    want = expected(case, port)
    assert got["url"] == want["url"]
    assert got["final_url"] == want["final_url"], case.name
    assert got["status"] == want["status"], case.name
    assert got["content_type"] == want["content_type"], case.name
    assert got["error"] == want["error"], case.name
    assert got["truncated"] == want["truncated"], case.name
    assert len(got["redirects"]) == want["hops"], case.name
    assert (got["access"], got["access_rule"]) == (case.access, case.access_rule), case.name
    if isinstance(case.body, bytes) and not case.prefix:
        assert got["body_len"] == len(case.body), case.name
        no_response = case.status is None  # nothing was read: no digest of a body
        want_digest = None if no_response else hashlib.sha256(case.body).hexdigest()
        assert got["sha256"] == want_digest, case.name
    elif isinstance(case.body, int):
        assert got["body_len"] == case.body, case.name
    if body is not None:
        assert body.startswith(case.prefix), case.name


@pytest.fixture(scope="module")
def server() -> Iterator[FetchTestServer]:
    srv = FetchTestServer().start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def sync_views(server: FetchTestServer) -> dict[str, tuple[dict[str, Any], bytes]]:
    with Fetcher(allow_private=True) as fetcher:
        results = {
            case.name: fetcher.fetch(url_of(case, server.port), max_bytes=cap_of(case))
            for case in CASES
        }
    return {name: (view(result), result.body) for name, result in results.items()}


@pytest.fixture(scope="module")
def async_views(server: FetchTestServer) -> dict[str, tuple[dict[str, Any], bytes]]:
    results: dict[str, FetchResult] = {}

    async def run() -> None:
        async with AsyncFetcher(allow_private=True) as fetcher:

            async def one(case: Case) -> None:
                url = url_of(case, server.port)
                results[case.name] = await fetcher.fetch(url, max_bytes=cap_of(case))

            async with anyio.create_task_group() as group:
                for case in CASES:
                    group.start_soon(one, case)

    anyio.run(run)
    return {name: (view(result), result.body) for name, result in results.items()}


# The spider as ``reservation-crawler crawl`` configures it (apps.crawl.build_settings), with one
# observer: each FetchResult the spider hands to the core is written out as the view above.
SPIDER_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from scrapy.crawler import CrawlerProcess
    from reservation_crawler.core.fetching import access_of
    from reservation_crawler.apps.crawl import CrawlOptions, build_settings
    from reservation_crawler.scrapy.spider import ReservationsSpider

    FIELDS = {fields!r}
    out = open(sys.argv[1], "w")

    class Observed(ReservationsSpider):
        name = "observed"

        def _advance(self, state, result):
            row = {{name: getattr(result, name) for name in FIELDS}}
            row.update(stage=state["stage"], body_len=len(result.body), sha256=result.sha256)
            reading = access_of(result)
            row.update(access=reading.access and str(reading.access), access_rule=reading.rule)
            row.update(access_detail=reading.detail)
            row["prefix"] = result.body[:64].hex()
            out.write(json.dumps(row) + "\\n")
            out.flush()
            yield from super()._advance(state, result)

    options = CrawlOptions(
        output=None, use_redis=False, allow_private=True, throttle=False, log_level="ERROR"
    )
    process = CrawlerProcess(build_settings(options))
    process.crawl(Observed, targets=sys.argv[2:], scheme="http")
    process.start()
    """
).format(fields=FIELDS)


@pytest.fixture(scope="module")
def spider_views(
    server: FetchTestServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[dict[str, Any], None]]:
    work = tmp_path_factory.mktemp("spider")
    out = work / "results.jsonl"
    urls = [url_of(case, server.port) for case in CASES]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", SPIDER_SCRIPT, str(out), *urls],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    views: dict[str, tuple[dict[str, Any], None]] = {}
    for case in CASES:
        stage = "robots.txt" if case.path == "/robots.txt" else "page"
        url = url_of(case, server.port)
        found = [r for r in rows if r["url"] == url and r["stage"] == stage]
        assert len(found) == 1, (case.name, found)
        row = found[0]
        assert bytes.fromhex(row.pop("prefix")).startswith(case.prefix[:64]), case.name
        del row["stage"]
        views[case.name] = (row, None)
    return views


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
@pytest.mark.parametrize("fetcher", ["sync", "async", "scrapy"])
def test_fetch_table(
    case: Case, fetcher: str, server: FetchTestServer, request: pytest.FixtureRequest
) -> None:
    views = request.getfixturevalue(f"{'spider' if fetcher == 'scrapy' else fetcher}_views")
    got, body = views[case.name]
    check(case, server.port, got, body)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_fetch_table_identical_results(
    case: Case,
    sync_views: dict[str, Any],
    async_views: dict[str, Any],
    spider_views: dict[str, Any],
) -> None:
    """Beyond the row's expectations: the three views are equal field by field (body hash too)."""
    sync, _ = sync_views[case.name]
    assert async_views[case.name][0] == sync
    assert spider_views[case.name][0] == sync


def test_the_table_covers_every_rule_family() -> None:
    errors = {case.error for case in CASES}
    assert {"too-many-redirects", "redirect-loop", "invalid-url", "too-large"} <= errors
    assert {"decompression-bomb", "protocol", None} <= errors
    assert {case.status // 100 for case in CASES if case.status} == {2, 3, 4, 5}
    assert 429 in {case.status for case in CASES}
    accesses = {case.access for case in CASES}
    assert accesses == {"fetched", "refused", "challenge", "payment-required", "unreachable"}
    assert any(case.truncated and case.path == "/robots.txt" for case in CASES)
