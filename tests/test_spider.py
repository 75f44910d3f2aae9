"""Unit tests of the Scrapy integration: targets, the fetch adapter (bodies, redirects, errors),
the resolver's guard, the spider's per-origin logic, items to Redis, Parquet, the job ledger,
the summary and the progress line. No reactor runs here; crawls are in test_crawl.py."""

from __future__ import annotations

import gzip
import io
import json
import zlib
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pyarrow.parquet as pq
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from scrapy import Request
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    NotConfigured,
    ResponseDataLossError,
    StopDownload,
)
from scrapy.http import Headers, Response
from scrapy.settings import Settings
from scrapy.signalmanager import SignalManager
from twisted.internet import defer
from twisted.internet import error as tx_error
from twisted.python.failure import Failure
from twisted.web._newclient import ParseError, ResponseFailed

from reservation_crawler.apps.crawl import (
    CrawlOptions,
    UsageError,
    crawl_id_of,
    export_ledger,
    output_format,
)
from reservation_crawler.core.policy import (
    AITXT,
    ROBOTS,
    TDMREP,
    OriginPolicy,
    PolicyFile,
    PolicyRequest,
    policy_requests,
)
from reservation_crawler.drivers import cache
from reservation_crawler.drivers.collect import record_from_page
from reservation_crawler.drivers.fetch import FetchLimits, FetchResult
from reservation_crawler.model.record import ReservationRecord
from reservation_crawler.scrapy import fetching
from reservation_crawler.scrapy.exporters import ParquetItemExporter, record_row, record_schema
from reservation_crawler.scrapy.extensions import CrawlSummary, Progress, summary_from_stats
from reservation_crawler.scrapy.items import PolicyItem, RecordItem, SiteItem
from reservation_crawler.scrapy.jobdir import JobLedger
from reservation_crawler.scrapy.pipelines import JobLedgerPipeline, RedisPipeline, record_failed
from reservation_crawler.scrapy.resolver import GuardedResolver, blocked_address
from reservation_crawler.scrapy.spider import ReservationsSpider
from reservation_crawler.scrapy.targets import iter_target_lines, read_targets, target_url

REDIS_BACKENDS = ("single", "cluster")  # conftest: each Redis test runs on both
ORIGIN = "http://example.test"


# --- helpers --------------------------------------------------------------------------------------


class FakeStats:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get_value(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set_value(self, key: str, value: Any) -> None:
        self.values[key] = value

    def inc_value(self, key: str, count: int = 1, start: int = 0) -> None:
        self.values[key] = self.values.get(key, start) + count

    def get_stats(self) -> dict[str, Any]:
        return dict(self.values)


def fake_crawler(**settings: Any) -> Any:
    return SimpleNamespace(
        settings=Settings(settings), stats=FakeStats(), signals=SignalManager(), engine=None
    )


def fetch_result(url: str, status: int | None = 200, body: bytes = b"", **kw: Any) -> FetchResult:
    values: dict[str, Any] = {
        "url": url,
        "final_url": url,
        "status": status,
        "headers": (("content-type", "text/plain"),) if status is not None else (),
        "body": body,
        "content_type": "text/plain" if status is not None else None,
        "error": None,
        "error_detail": None,
        "truncated": False,
        "redirects": (),
        "elapsed_ms": 1.0,
    }
    values.update(kw)
    return FetchResult(**values)


def origin_policy(robots_body: bytes | None, *, robots_status: int = 200) -> OriginPolicy:
    robots = fetch_result(f"{ORIGIN}/robots.txt", robots_status, robots_body or b"")
    return OriginPolicy(
        origin=ORIGIN,
        fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
        robots_file=PolicyFile.from_fetch(ROBOTS, robots),
        aitxt_file=PolicyFile.from_fetch(AITXT, fetch_result(f"{ORIGIN}/ai.txt", 404)),
        tdmrep_file=PolicyFile.from_fetch(
            TDMREP, fetch_result(f"{ORIGIN}/.well-known/tdmrep.json", 404)
        ),
    )


def response(url: str, status: int = 200, headers: dict[str, Any] | None = None, **kw: Any):
    return Response(url, status=status, headers=Headers(headers or {}), **kw)


def state(url: str, **kw: Any) -> dict[str, Any]:
    return {"url": url, "redirects": [], "started": 0.0, "cap": 1000, **kw}


# --- targets --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("example.com", "https://example.com/"),
        ("  Example.COM  ", "https://example.com/"),
        ("http://example.com", "http://example.com/"),
        ("http://Example.com:80/a/b?q=1#frag", "http://example.com/a/b?q=1"),
        ("https://example.com:8443", "https://example.com:8443/"),
        ("http://s00001.fixture.localhost:8080/", "http://s00001.fixture.localhost:8080/"),
        ("ftp://example.com/", None),
        ("not a host!", None),
        ("", None),
    ],
)
def test_target_url(raw: str, expected: str | None) -> None:
    assert target_url(raw) == expected


def test_target_url_bare_domain_takes_the_scheme() -> None:
    assert target_url("example.com", scheme="http") == "http://example.com/"


def test_iter_target_lines_reads_tranco_csv_and_plain_lists() -> None:
    tranco = "1,google.com\r\n2,example.org\r\n3,xn--bcher-kva.example\r\n"
    assert list(iter_target_lines(tranco)) == ["google.com", "example.org", "xn--bcher-kva.example"]
    plain = "# a comment\n\nexample.com\nhttps://example.org/page\nrank,domain\n"
    assert list(iter_target_lines(plain)) == ["example.com", "https://example.org/page"]


def test_read_targets_groups_by_origin_and_reports_invalid(tmp_path: Any) -> None:
    listing = tmp_path / "list.csv"
    listing.write_text("1,example.com\n2,example.org\n3,bad host\n", encoding="utf-8")
    targets = read_targets(
        ["https://example.com/a", "example.com", "https://example.com/a"], [listing]
    )
    assert list(targets.by_origin) == ["https://example.com", "https://example.org"]
    assert targets.by_origin["https://example.com"] == [
        "https://example.com/a",
        "https://example.com/",
    ]
    assert targets.invalid == ["bad host"]
    assert len(targets) == 2 and sum(map(len, targets.by_origin.values())) == 3


# --- the fetch adapter: bodies ------------------------------------------------------------------


def readers(cap: int = 1000) -> tuple[fetching.BodyReaders, Request]:
    url = f"{ORIGIN}/robots.txt"
    request = Request(url, meta={fetching.RC: state(url, cap=cap)})
    return fetching.BodyReaders(fake_crawler()), request


def feed(
    body_readers: fetching.BodyReaders, request: Request, headers: dict[str, Any], chunks: list
) -> bool:
    """Feed chunks as the download handler would; True when the download was stopped."""
    body_readers._headers_received(Headers(headers), 0, request, None)
    for chunk in chunks:
        try:
            body_readers._bytes_received(chunk, request, None)
        except StopDownload as stop:
            assert stop.fail is False  # the response is kept, with what was read
            return True
    return False


def test_body_reader_truncates_at_the_cap_and_stops_the_download() -> None:
    body_readers, request = readers()
    stopped = feed(body_readers, request, {}, [b"a" * 600, b"b" * 600, b"c" * 600])
    assert stopped
    reader = body_readers.pop(request)
    assert reader is not None and reader.truncated and len(reader.body) == 1000
    result = fetching.result_from_response(
        response(request.url, headers={"Content-Type": "text/plain; charset=utf-8"}),
        reader,
        request.meta[fetching.RC],
    )
    assert result.truncated and result.error is None and result.content_type == "text/plain"
    assert body_readers.pop(request) is None  # forgotten once popped


def test_body_reader_decodes_gzip_within_the_cap() -> None:
    body_readers, request = readers()
    payload = b"User-agent: *\nDisallow: /private/\n"
    compressed = gzip.compress(payload)
    stopped = feed(body_readers, request, {"Content-Encoding": "gzip"}, [compressed])
    assert not stopped
    reader = body_readers.pop(request)
    assert reader is not None and bytes(reader.body) == payload and not reader.truncated


def test_body_reader_reports_a_decompression_bomb() -> None:
    body_readers, request = readers(cap=200_000)
    bomb = zlib.compress(b"\0" * 2_000_000)  # ~2 KB that inflates 1000:1
    assert feed(body_readers, request, {"Content-Encoding": "deflate"}, [bomb])
    reader = body_readers.pop(request)
    assert reader is not None and reader.error == "decompression-bomb"
    assert len(reader.body) == 200_000


def test_body_reader_ignores_requests_that_are_not_the_spiders() -> None:
    body_readers = fetching.BodyReaders(fake_crawler())
    other = Request("http://example.test/other")
    assert not feed(body_readers, other, {}, [b"x" * 5000])
    assert body_readers.pop(other) is None


def test_dataloss_response_is_a_reset_with_the_partial_body() -> None:
    body_readers, request = readers()
    feed(body_readers, request, {}, [b"partial"])
    reader = body_readers.pop(request)
    result = fetching.result_from_response(
        response(request.url, flags=["dataloss"]), reader, request.meta[fetching.RC]
    )
    assert result.error == "reset" and result.body == b"partial" and result.status == 200


def test_headers_are_pairs_with_repeats_kept() -> None:
    resp = response(
        ORIGIN + "/", headers={"X-Robots-Tag": ["noai", "GPTBot: noimageai"], "Content-Usage": "x"}
    )
    pairs = fetching.headers_of(resp)
    assert ("X-Robots-Tag", "noai") in pairs and ("X-Robots-Tag", "GPTBot: noimageai") in pairs
    assert ("Content-Usage", "x") in pairs


# --- the fetch adapter: redirects (fetch.py's rules) ----------------------------------------------


def test_redirect_relative_location_is_followed() -> None:
    resp = response(f"{ORIGIN}/robots.txt", 301, {"Location": "/r/robots.txt#x"})
    assert fetching.redirect_target(resp, state(resp.url), FetchLimits()) == (
        f"{ORIGIN}/r/robots.txt",
        None,
    )


def test_redirect_cross_origin_is_followed() -> None:
    resp = response(f"{ORIGIN}/robots.txt", 302, {"Location": "https://other.test/robots.txt"})
    target, error = fetching.redirect_target(resp, state(resp.url), FetchLimits())
    assert target == "https://other.test/robots.txt" and error is None


def test_redirect_loop_is_detected() -> None:
    first = f"{ORIGIN}/robots.txt"
    resp = response(f"{ORIGIN}/a", 301, {"Location": "/robots.txt"})
    target, error = fetching.redirect_target(resp, state(first, redirects=[first]), FetchLimits())
    assert target is None and error is not None and error[0] == "redirect-loop"


def test_more_than_five_redirects_is_too_many() -> None:
    chain = [f"{ORIGIN}/{i}" for i in range(5)]
    resp = response(f"{ORIGIN}/5", 307, {"Location": "/6"})
    target, error = fetching.redirect_target(resp, state(chain[0], redirects=chain), FetchLimits())
    assert target is None and error is not None and error[0] == "too-many-redirects"
    # the fifth redirect itself is still followed
    resp = response(f"{ORIGIN}/4", 307, {"Location": "/5"})
    assert fetching.redirect_target(resp, state(chain[0], redirects=chain[:4]), FetchLimits())[0]


def test_redirect_to_another_scheme_is_an_invalid_url() -> None:
    resp = response(f"{ORIGIN}/robots.txt", 301, {"Location": "ftp://example.test/robots.txt"})
    target, error = fetching.redirect_target(resp, state(resp.url), FetchLimits())
    assert target is None and error is not None and error[0] == "invalid-url"
    failed = fetching.result_from_redirect_error(resp, state(resp.url), *error)
    assert failed.status == 301 and failed.error == "invalid-url" and failed.body == b""


@pytest.mark.parametrize(
    ("status", "headers"), [(200, {"Location": "/x"}), (301, {}), (304, {"Location": "/x"})]
)
def test_final_responses_are_not_redirects(status: int, headers: dict[str, str]) -> None:
    resp = response(f"{ORIGIN}/robots.txt", status, headers)
    assert fetching.redirect_target(resp, state(resp.url), FetchLimits()) is None


# --- the fetch adapter: failures -----------------------------------------------------------------


def failure_of(exc: BaseException) -> Failure:
    try:
        raise exc
    except BaseException:
        return Failure()


def wrapped(inner: BaseException, outer: type[BaseException]) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise outer(str(exc)) from exc
    except BaseException as exc:
        return exc


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (wrapped(tx_error.DNSLookupError("x"), CannotResolveHostError), "dns"),
        (DownloadTimeoutError("took too long"), "timeout"),
        (tx_error.TimeoutError(), "timeout"),
        (wrapped(tx_error.ConnectionRefusedError(), DownloadConnectionRefusedError), "connect"),
        (ResponseDataLossError(), "reset"),
        (tx_error.ConnectionLost(), "reset"),
        (ResponseFailed([failure_of(tx_error.ConnectionDone())]), "reset"),
        (ResponseFailed([failure_of(ParseError("wrong", b"HTTP/9"))]), "protocol"),
        (ValueError("invalid hostname: x"), "invalid-url"),
    ],
)
def test_classify_failure(exc: BaseException, code: str) -> None:
    assert fetching.classify_failure(failure_of(exc))[0] == code


def test_classify_failure_tls() -> None:
    from OpenSSL import SSL

    exc = ResponseFailed(
        [failure_of(SSL.Error([("SSL routines", "", "certificate verify failed")]))]
    )
    assert fetching.classify_failure(failure_of(exc))[0] == "tls"


def test_a_refused_address_is_blocked_not_dns() -> None:
    failure = failure_of(CannotResolveHostError("no results"))
    code, detail = fetching.classify_failure(failure, blocked="10.0.0.1")
    assert code == "blocked-address" and "10.0.0.1" in detail
    request = Request(f"{ORIGIN}/robots.txt")
    result = fetching.result_from_failure(failure, request, state(request.url), blocked="10.0.0.1")
    assert result.status is None and result.error == "blocked-address" and result.body == b""


# --- the resolver ---------------------------------------------------------------------------------


class Receiver:
    def __init__(self) -> None:
        self.addresses: list[Any] = []
        self.complete = False

    def resolutionBegan(self, resolution: Any) -> None:
        pass

    def addressResolved(self, address: Any) -> None:
        self.addresses.append(address)

    def resolutionComplete(self) -> None:
        self.complete = True


def test_resolver_answers_localhost_names_with_loopback_when_allowed() -> None:
    resolver = GuardedResolver(SimpleNamespace(), allow_private=True)
    receiver = Receiver()
    resolver.resolveHostName(receiver, "s00042.fixture.localhost", 8080)
    assert receiver.complete
    assert [(a.host, a.port) for a in receiver.addresses] == [("127.0.0.1", 8080)]


def test_resolver_guard_refuses_private_addresses_and_says_so() -> None:
    resolver = GuardedResolver(SimpleNamespace(), allow_private=False)
    for host in ("s00001.guarded.localhost", "10.1.2.3", "169.254.169.254"):
        receiver = Receiver()
        resolver.resolveHostName(receiver, host, 80)
        assert receiver.complete and receiver.addresses == []
        assert blocked_address(host) is not None
    assert blocked_address("never-resolved.example") is None


# --- the spider's per-origin logic ---------------------------------------------------------------


def spider(**kwargs: Any) -> ReservationsSpider:
    return ReservationsSpider(**{"agents": "GPTBot", **kwargs})


def site_state(policy: OriginPolicy, targets: list[str], **kw: Any) -> dict[str, Any]:
    return {
        "origin": ORIGIN,
        "fetched_at": policy.fetched_at,
        "policy": policy.to_json(),
        "targets": targets,
        "queue": targets,
        "seen": targets,
        "records": 0,
        "pages_fetched": 0,
        "failure": None,
        **kw,
    }


def test_pages_disallowed_for_our_token_get_records_without_a_fetch() -> None:
    body = b"User-agent: reservation-crawler\nDisallow: /private/\n"
    policy = origin_policy(body)
    targets = [f"{ORIGIN}/private/a", f"{ORIGIN}/public"]
    out = list(spider()._next_page(site_state(policy, targets), policy))
    record_item, request = out
    assert isinstance(record_item, RecordItem)
    record = ReservationRecord.from_json(record_item)
    assert record.url == f"{ORIGIN}/private/a"
    assert str(record.sources["page"].outcome) == "not-fetched"
    assert "page.not-fetched" in {f.code for f in record.findings}
    assert isinstance(request, Request) and request.url == f"{ORIGIN}/public"
    assert request.meta[fetching.RC]["records"] == 1
    assert request.meta["dont_redirect"] and request.meta["handle_httpstatus_all"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"User-agent: reservation-crawler\nDisallow: /private/\n", 200),
        (b"User-agent: *\nDisallow: /\nUser-agent: reservation-crawler\nAllow: /public\n", 200),
        (b"User-agent: *\nDisallow: /public\n", 200),
        (b"", 404),
        (b"", 503),
    ],
)
def test_the_spider_fetches_a_page_exactly_when_decide_lets_our_token_crawl_it(
    body: bytes, status: int
) -> None:
    """The spider's own politeness is decide()'s crawl cell for its product token."""
    policy = origin_policy(body, robots_status=status)
    for url in (f"{ORIGIN}/private/a", f"{ORIGIN}/public"):
        mine = spider(agents="reservation-crawler")
        out = list(mine._next_page(site_state(policy, [url]), policy))
        fetched = isinstance(out[0], Request)
        record = record_from_page(url, ["reservation-crawler"], policy, None)
        crawl = record.decision("reservation-crawler", "crawl")
        assert fetched == (str(crawl) != "reserved"), (body, status, url)
        if not fetched:  # the record it wrote instead is decide's origin-level one
            assert out[0]["decisions"] == record.to_json()["decisions"]


def test_unreachable_robots_means_no_page_is_fetched_and_the_site_failed() -> None:
    policy = origin_policy(b"", robots_status=503)
    reason = "robots.txt:http-503"
    out = list(spider()._next_page(site_state(policy, [f"{ORIGIN}/"], failure=reason), policy))
    assert [type(o) for o in out] == [RecordItem, SiteItem]
    assert out[1]["status"] == "failed" and out[1]["reason"] == reason
    assert out[0]["decisions"]["*"]["crawl"] == "reserved"


def test_page_links_are_followed_breadth_first_within_the_budget() -> None:
    policy = origin_policy(b"User-agent: *\nAllow: /\n")
    the_spider = spider(max_pages=3)
    the_spider._remember(policy)
    html = (
        b'<html><head></head><body><a href="/a">a</a> <a href="b#x">b</a>'
        b'<a href="https://elsewhere.test/">x</a> <a href="/c">c</a> <a href="/a">again</a>'
        b'<a href="mailto:x@example.test">m</a></body></html>'
    )
    page = fetch_result(
        f"{ORIGIN}/",
        body=html,
        headers=(("content-type", "text/html"),),
        content_type="text/html",
    )
    current = {**site_state(policy, [f"{ORIGIN}/"]), "stage": "page", "url": f"{ORIGIN}/"}
    current["queue"] = []
    out = list(the_spider._page_done(current, page))
    assert isinstance(out[0], RecordItem) and out[0]["url"] == f"{ORIGIN}/"
    request = out[1]
    assert request.url == f"{ORIGIN}/a"
    assert request.meta[fetching.RC]["queue"] == [f"{ORIGIN}/b"]  # budget 3: home, /a, /b
    assert request.meta[fetching.RC]["pages_fetched"] == 1


def test_a_failed_page_marks_the_site_failed_by_its_error() -> None:
    policy = origin_policy(b"User-agent: *\nAllow: /\n")
    the_spider = spider()
    current = {**site_state(policy, [f"{ORIGIN}/"]), "stage": "page", "url": f"{ORIGIN}/"}
    current["queue"] = []
    failed = fetch_result(f"{ORIGIN}/", None, error="timeout", error_detail="slow")
    out = list(the_spider._page_done(current, failed))
    assert out[-1]["status"] == "failed" and out[-1]["reason"] == "page:timeout"
    assert out[0]["sources"]["page"]["outcome"] == "unreachable"


def _planned(key: str) -> PolicyRequest:
    (request,) = [r for r in policy_requests(ORIGIN, FetchLimits(), {}) if r.key == key]
    return request


def test_policy_file_chain_runs_the_one_plan_one_file_at_a_time() -> None:
    """robots.txt, ai.txt, tdmrep.json, then /.well-known/ai.txt (ai.txt was 404) and /rsl.xml
    (no License: line): core.policy.policy_requests, as the httpx fetchers run it."""
    the_spider = spider()
    site = {"origin": ORIGIN, "targets": [f"{ORIGIN}/"], "files": {}, "fetched_at": "t"}
    first = the_spider._policy_request(site, _planned(ROBOTS))
    assert first.url == f"{ORIGIN}/robots.txt" and first.dont_filter
    chain = [first]
    out = list(the_spider._policy_file_done(first.meta[fetching.RC], fetch_result(first.url, 404)))
    while len(out) == 1:
        chain.append(out[0])
        state = out[0].meta[fetching.RC]
        out = list(the_spider._policy_file_done(state, fetch_result(out[0].url, 404)))
    assert [r.url for r in chain] == [
        f"{ORIGIN}{path}"
        for path in (
            "/robots.txt",
            "/ai.txt",
            "/.well-known/tdmrep.json",
            "/.well-known/ai.txt",
            "/rsl.xml",
        )
    ]
    assert chain[1].priority > chain[0].priority
    assert chain[1].meta[fetching.RC]["files"][ROBOTS]["source"]["outcome"] == "absent"
    policy_item, page_request = out
    assert isinstance(policy_item, PolicyItem) and policy_item["failed"] is False
    policy = OriginPolicy.from_json(policy_item["policy"])
    assert policy.origin == ORIGIN and policy.aitxt_file.source.url == f"{ORIGIN}/ai.txt"
    assert [f.source.url for f in policy.rsl_files] == [f"{ORIGIN}/rsl.xml"]
    assert page_request.url == f"{ORIGIN}/" and page_request.priority > chain[-1].priority


def test_distributed_mode_sends_only_the_first_request_through_the_filter() -> None:
    the_spider = spider()
    the_spider.distributed = True
    site = {"origin": ORIGIN, "targets": [f"{ORIGIN}/"], "files": {}, "fetched_at": "t"}
    assert not the_spider._policy_request(site, _planned(ROBOTS)).dont_filter
    assert the_spider._policy_request(site, _planned(AITXT)).dont_filter


def test_update_settings_applies_ours_and_limits_feeds_to_records() -> None:
    settings = Settings()
    settings.set("FEEDS", {"out.jsonl": {"format": "jsonlines"}}, priority="cmdline")
    settings.set("CONCURRENT_REQUESTS", 7, priority="cmdline")
    ReservationsSpider.update_settings(settings)
    assert settings.getdict("FEEDS")["out.jsonl"]["item_classes"] == [RecordItem]
    assert settings.getbool("ROBOTSTXT_OBEY") is False
    assert settings.getbool("COMPRESSION_ENABLED") is False
    assert settings.getint("CONCURRENT_REQUESTS") == 7  # explicit settings still win
    # the process settings applied again later (as `scrapy crawl -o` does) keep the filter
    settings.update(Settings({"FEEDS": {"out.jsonl": {"format": "jsonlines"}}}, priority="cmdline"))
    assert settings.getdict("FEEDS")["out.jsonl"]["item_classes"] == [RecordItem]


# --- items to Redis ------------------------------------------------------------------------------


def record_json(url: str, *, robots_outcome: str = "ok") -> dict[str, Any]:
    policy = origin_policy(b"User-agent: *\nAllow: /\n")
    data = record_from_page(url, ["GPTBot"], policy, None).to_json()
    data["fetched_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    data["sources"]["robots.txt"]["outcome"] = robots_outcome
    return data


def test_redis_pipeline_writes_records_and_policies_with_ttls(redis_url: str) -> None:
    crawler = fake_crawler(RC_REDIS_URL=redis_url, RC_REDIS_BATCH=2, RC_REDIS_FLUSH_INTERVAL=0)
    pipeline = RedisPipeline.from_crawler(crawler)
    pipeline._run = defer.maybeDeferred  # send inline: no reactor runs in this test
    good = RecordItem(record_json(f"{ORIGIN}/good"))
    bad = RecordItem(record_json(f"{ORIGIN}/bad", robots_outcome="unreachable"))
    policy = origin_policy(b"User-agent: *\nAllow: /\n")
    policy_item = PolicyItem(origin=ORIGIN, policy=policy.to_json(), failed=False)
    client = cache.connect(redis_url)
    try:
        assert pipeline.process_item(good) is good
        assert client.get(cache.record_key(good["url"])) is None  # queued, not yet sent
        pipeline.process_item(bad)  # the batch of 2 is sent
        assert client.get(cache.record_key(good["url"])) is not None
        pipeline.process_item(policy_item)
        pipeline.process_item(SiteItem(origin=ORIGIN, status="done"))  # not for Redis
        pipeline.drained()  # close_spider's work, inline (no reactor here)
        stored = cache.decode_value(client.get(cache.record_key(good["url"])))
        assert stored.data["url"] == good["url"] and not stored.failed
        good_ttl = client.ttl(cache.record_key(good["url"]))
        bad_ttl = client.ttl(cache.record_key(bad["url"]))
        assert 0 < bad_ttl <= cache.DEFAULT_FAILURE_TTL < good_ttl <= cache.DEFAULT_TTL
        policy_entry = cache.decode_value(client.get(cache.policy_key(ORIGIN)))
        assert OriginPolicy.from_json(policy_entry.data).origin == ORIGIN
        assert client.pttl(cache.policy_key(ORIGIN)) > 0
        assert crawler.stats.get_value("reservation/redis/records") == 2
        assert crawler.stats.get_value("reservation/redis/policies") == 1
    finally:
        client.close()


def test_redis_pipeline_keeps_items_flowing_when_redis_fails() -> None:
    crawler = fake_crawler()
    unreachable = redis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
    )
    pipeline = RedisPipeline(
        crawler, cache.ReservationCache(unreachable), batch=1, interval=0, run=defer.maybeDeferred
    )
    item = RecordItem(record_json(f"{ORIGIN}/x"))
    assert pipeline.process_item(item) is item  # not dropped: the dataset still gets it
    assert pipeline.process_item(RecordItem(record_json(f"{ORIGIN}/y")))["url"].endswith("/y")
    pipeline.drained()  # close_spider's work, inline (no reactor here)
    assert crawler.stats.get_value("reservation/redis/errors") == 2
    assert summary_from_stats(crawler.stats.get_stats())["redis_lost_writes"] > 0


def test_record_failed_reads_robots_and_page_outcomes() -> None:
    assert not record_failed({"sources": {"robots.txt": {"outcome": "ok"}}})
    assert record_failed({"sources": {"robots.txt": {"outcome": "unreachable"}}})
    assert record_failed({"sources": {"page": {"outcome": "error"}}})


def test_redis_pipeline_can_be_switched_off() -> None:
    with pytest.raises(NotConfigured):
        RedisPipeline.from_crawler(fake_crawler(RC_REDIS_ENABLED=False))


# --- Parquet -------------------------------------------------------------------------------------


def test_parquet_exporter_writes_the_record_schema() -> None:
    records = [record_json(f"{ORIGIN}/p{i}") for i in range(5)]
    buffer = io.BytesIO()
    exporter = ParquetItemExporter(buffer, batch_size=2)
    exporter.start_exporting()
    for record in records:
        exporter.export_item(RecordItem(record))
    exporter.finish_exporting()
    table = pq.read_table(io.BytesIO(buffer.getvalue()))
    assert table.schema.equals(record_schema())
    rows = table.to_pylist()
    assert [r["url"] for r in rows] == [r["url"] for r in records]
    first = rows[0]
    decisions = dict(first["decisions"])
    assert decisions["GPTBot"] == records[0]["decisions"]["GPTBot"]
    assert dict(first["sources"])["page"]["outcome"] == "not-fetched"
    assert [f["code"] for f in first["findings"]] == [f["code"] for f in records[0]["findings"]]
    assert record_row(records[1])["url"] == rows[1]["url"]


def test_parquet_exporter_writes_an_empty_file_with_the_schema() -> None:
    buffer = io.BytesIO()
    exporter = ParquetItemExporter(buffer)
    exporter.start_exporting()
    exporter.finish_exporting()
    table = pq.read_table(io.BytesIO(buffer.getvalue()))
    assert table.num_rows == 0 and table.schema.equals(record_schema())


# --- the job ledger ------------------------------------------------------------------------------


def test_job_ledger_drops_a_torn_last_line_and_dedupes(tmp_path: Any) -> None:
    ledger = JobLedger(tmp_path)
    assert not ledger.resuming
    assert ledger.write_record({"url": "u1", "x": 1})
    assert not ledger.write_record({"url": "u1", "x": 2})
    ledger.write_site({"origin": "o1", "status": "done", "records": 1})
    ledger.write_site({"origin": "o2", "status": "failed", "reason": "robots.txt:dns"})
    ledger.close()
    with open(tmp_path / "records.jsonl", "ab") as handle:
        handle.write(b'{"url": "u2", "tor')  # a kill in the middle of a write
    reopened = JobLedger(tmp_path)
    assert reopened.resuming and reopened.written_urls == {"u1"}
    assert reopened.done_origins == {"o1", "o2"}
    assert reopened.previous_counts() == {"done": 1, "failed/robots.txt:dns": 1}
    assert reopened.write_record({"url": "u2"})
    assert [r["url"] for r in reopened.iter_records()] == ["u1", "u2"]
    reopened.close()
    lines = (tmp_path / "records.jsonl").read_bytes().splitlines()
    assert [json.loads(line)["url"] for line in lines] == ["u1", "u2"]


@pytest.mark.parametrize("name", ["out.parquet", "out.jsonl"])
def test_export_ledger_writes_each_record_once(tmp_path: Any, name: str) -> None:
    ledger = JobLedger(tmp_path / "job")
    records = [record_json(f"{ORIGIN}/e{i}") for i in range(3)]
    for record in [*records, records[0]]:
        ledger.write_record(record)
    ledger.close()
    output = tmp_path / name
    assert export_ledger(str(tmp_path / "job"), str(output)) == 3
    if name.endswith(".parquet"):
        urls = [row["url"] for row in pq.read_table(output).to_pylist()]
    else:
        urls = [json.loads(line)["url"] for line in output.read_text().splitlines()]
    assert urls == [r["url"] for r in records]


def test_job_ledger_pipeline_drops_records_already_written(tmp_path: Any) -> None:
    from scrapy.exceptions import DropItem

    crawler = fake_crawler(RC_JOB_DIR=str(tmp_path))
    pipeline = JobLedgerPipeline.from_crawler(crawler)
    item = RecordItem(url="u1")
    assert pipeline.process_item(item) is item
    with pytest.raises(DropItem):
        pipeline.process_item(RecordItem(url="u1"))
    pipeline.process_item(SiteItem(origin="o", status="done"))
    pipeline.close_spider()
    assert crawler.stats.get_value("reservation/records/already-written") == 1
    assert (tmp_path / "sites.jsonl").read_text().count("\n") == 1
    with pytest.raises(NotConfigured):
        JobLedgerPipeline.from_crawler(fake_crawler())


# --- summary and progress ------------------------------------------------------------------------


def scraped(crawler: Any, items: list[Any]) -> None:
    from scrapy import signals

    for item in items:
        crawler.signals.send_catch_log(signals.item_scraped, item=item, response=None, spider=None)


def test_summary_counts_add_up() -> None:
    crawler = fake_crawler()
    summary_ext = CrawlSummary.from_crawler(crawler)
    summary_ext._spider_opened()
    crawler.stats.set_value("reservation/sites/total", 4)
    reserved = {
        "*": {
            "crawl": "allowed",
            "train-ai": "reserved",
            "ai-use": "allowed",
            "search": "unspecified",
        }
    }
    scraped(
        crawler,
        [
            RecordItem(url="a", decisions=reserved),
            RecordItem(url="b", decisions={}),
            SiteItem(origin="o1", status="done"),
            SiteItem(origin="o2", status="failed", reason="robots.txt:timeout"),
            SiteItem(origin="o3", status="failed", reason="robots.txt:timeout"),
            PolicyItem(origin="o1"),
        ],
    )
    summary_ext._spider_closed(reason="finished")
    summary = summary_from_stats(crawler.stats.get_stats())
    sites = summary["sites"]
    assert (sites["total"], sites["done"], sites["failed"], sites["unfinished"]) == (4, 1, 2, 1)
    assert sites["failed_by_reason"] == {"robots.txt:timeout": 2}
    assert sites["total"] == sites["done"] + sites["failed"] + sites["unfinished"]
    assert summary["records"]["written"] == 2
    assert summary["records"]["star_reserved_by_purpose"]["train-ai"] == 1
    assert summary["close_reason"] == "finished"


def test_progress_is_off_unless_asked_for() -> None:
    with pytest.raises(NotConfigured):
        Progress.from_crawler(fake_crawler())


def test_progress_log_line_shows_share_failures_records_rate_and_eta() -> None:
    crawler = fake_crawler(RC_PROGRESS="log")
    stream = io.StringIO()
    progress = Progress(crawler, stream=stream)
    stats = crawler.stats
    stats.set_value("reservation/sites/total", 10)
    stats.set_value("reservation/sites/done", 3)
    stats.set_value("reservation/sites/failed", 1)
    stats.set_value("reservation/records/written", 6)
    progress.draw()
    line = stream.getvalue()
    assert "progress: sites 4/10 (40.0%), 1 failed, records 6" in line
    assert "records/s" in line and "ETA " in line and line.endswith("\n")


def test_progress_setting_must_be_a_known_form() -> None:
    from reservation_crawler.errors import ConfigError

    with pytest.raises(ConfigError, match="RC_PROGRESS"):
        Progress.from_crawler(fake_crawler(RC_PROGRESS="fancy"))


# --- CLI helpers ----------------------------------------------------------------------------------


def test_output_format_from_the_suffix() -> None:
    assert output_format("x.jsonl") == "jsonlines"
    assert output_format("x.PARQUET") == "parquet"
    assert output_format("-") == "jsonlines"
    with pytest.raises(UsageError):
        output_format("x.csv")


def test_crawl_id_is_stable_for_the_same_crawl() -> None:
    one = crawl_id_of(CrawlOptions(agents=["GPTBot"]), "digest")
    assert one == crawl_id_of(CrawlOptions(agents=["GPTBot"]), "digest")
    assert one != crawl_id_of(CrawlOptions(agents=["CCBot"]), "digest")
    assert crawl_id_of(CrawlOptions(crawl_id="mine"), "digest") == "mine"
