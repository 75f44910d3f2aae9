"""The fetcher against a real loopback server (tests/fetch_testserver.py): statuses, redirects,
deadlines, resets, caps, decompression bombs, the *.localhost resolver and the address guard,
through both the sync and the async shell."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import time
import tracemalloc
from collections.abc import Callable, Iterator

import httpcore
import pytest
from fetch_testserver import (
    BOMB_PLAIN_SIZE,
    GZIP_BOMB,
    SMALL_TEXT,
    VARIED_TEXT,
    FetchTestServer,
    _brotli_bomb,
)

from reservation_crawler import __version__
from reservation_crawler.drivers import fetch as fetch_module
from reservation_crawler.drivers.fetch import (
    ACCEPT_ENCODING,
    FETCH_ERRORS,
    PRODUCT_TOKEN,
    USER_AGENT,
    AddressGuard,
    AsyncFetcher,
    Fetcher,
    FetchLimits,
    FetchResult,
    PolicyFetches,
    is_blocked_address,
    is_localhost_name,
    is_public_address,
    origin_of,
    resolve_host,
)
from reservation_crawler.errors import ConfigError, InvalidOrigin, ReservationError

Fetch = Callable[..., FetchResult]


@pytest.fixture(scope="module")
def server() -> Iterator[FetchTestServer]:
    srv = FetchTestServer().start()
    yield srv
    srv.stop()


@pytest.fixture(params=["sync", "async"])
def fetch(request: pytest.FixtureRequest) -> Fetch:
    """One fetch by a fresh Fetcher or AsyncFetcher; loopback allowed unless a guard is given."""

    def run(url: str, *, max_bytes: int | None = None, **options: object) -> FetchResult:
        if "guard" not in options:
            options.setdefault("allow_private", True)
        if request.param == "sync":
            with Fetcher(**options) as fetcher:  # type: ignore[arg-type]
                return fetcher.fetch(url, max_bytes=max_bytes)

        async def go() -> FetchResult:
            async with AsyncFetcher(**options) as fetcher:  # type: ignore[arg-type]
                return await fetcher.fetch(url, max_bytes=max_bytes)

        return asyncio.run(go())

    return run


def short(timeout: float) -> FetchLimits:
    return FetchLimits(timeout=timeout)


# -- statuses, headers, content types ---------------------------------------------------------


@pytest.mark.parametrize("code", [200, 404, 500, 503])
def test_status_codes_are_reported_as_facts(fetch: Fetch, server: FetchTestServer, code: int):
    result = fetch(server.url(f"/status/{code}"))
    assert result.status == code
    assert result.error is None
    assert result.body == f"status {code}".encode()
    assert result.ok is (code == 200)
    assert result.final_url == result.url == server.url(f"/status/{code}")
    assert result.redirects == ()
    assert result.sha256 is not None and len(result.sha256) == 64
    assert result.elapsed_ms > 0


def test_headers_kept_in_received_order_with_repeats(fetch: Fetch, server: FetchTestServer):
    result = fetch(server.url("/headers"))
    names = [name.lower() for name, _ in result.headers]
    assert names.count("x-robots-tag") == 2
    robots_tags = [value for name, value in result.headers if name.lower() == "x-robots-tag"]
    assert robots_tags == ["noai", "GPTBot: noimageai"]
    assert result.header("TDM-Reservation") == "1"
    assert result.header("missing") is None


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("text/plain; charset=utf-8", "text/plain"),
        ("Text/HTML;charset=ISO-8859-1", "text/html"),
        ("application/ld+json", "application/ld+json"),
        (None, None),
    ],
)
def test_content_type_is_media_type_only(
    fetch: Fetch, server: FetchTestServer, sent: str | None, expected: str | None
):
    path = "/ctype" if sent is None else f"/ctype?t={sent.replace(' ', '%20').replace('+', '%2B')}"
    assert fetch(server.url(path)).content_type == expected


def test_project_user_agent_and_encodings_sent(fetch: Fetch, server: FetchTestServer):
    result = fetch(server.url("/echo"))
    sent = {k.lower(): v for k, v in json.loads(result.body)["headers"]}
    assert sent["user-agent"] == USER_AGENT
    assert USER_AGENT.startswith(f"{PRODUCT_TOKEN}/{__version__} (+https://")
    assert sent["accept-encoding"] == ACCEPT_ENCODING
    assert "gzip" in ACCEPT_ENCODING and "deflate" in ACCEPT_ENCODING
    assert "zstd" not in ACCEPT_ENCODING


def test_custom_user_agent(fetch: Fetch, server: FetchTestServer):
    result = fetch(server.url("/echo"), user_agent="TestBot/1.0")
    sent = {k.lower(): v for k, v in json.loads(result.body)["headers"]}
    assert sent["user-agent"] == "TestBot/1.0"


def test_cookies_are_never_stored_or_sent(server: FetchTestServer):
    # httpx's default jar would send "session=secret" back to 127.0.0.1 on the second request.
    with Fetcher(allow_private=True) as fetcher:
        assert fetcher.fetch(server.url("/cookie", host="127.0.0.1")).status == 200
        echoed = fetcher.fetch(server.url("/echo", host="127.0.0.1"))
    assert "cookie" not in {name.lower() for name, _ in json.loads(echoed.body)["headers"]}


# -- redirects -------------------------------------------------------------------------------


def test_one_redirect_followed(fetch: Fetch, server: FetchTestServer):
    result = fetch(server.url("/chain/1"))
    assert (result.status, result.body, result.error) == (200, b"end of chain", None)
    assert result.redirects == (server.url("/chain/1"),)
    assert result.final_url == server.url("/chain/0")


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_rfc9309_five_redirects_followed(fetch: Fetch, server: FetchTestServer, status: int):
    result = fetch(server.url(f"/chain/5?status={status}"))
    assert result.ok and result.body == b"end of chain"
    assert result.redirects == (
        server.url(f"/chain/5?status={status}"),
        server.url("/chain/4"),
        server.url("/chain/3"),
        server.url("/chain/2"),
        server.url("/chain/1"),
    )


def test_rfc9309_sixth_redirect_is_too_many(fetch: Fetch, server: FetchTestServer):
    result = fetch(server.url("/chain/6"))
    assert result.error == "too-many-redirects"
    assert not result.ok
    assert result.status == 302  # the redirect we refused to follow
    assert len(result.redirects) == 5
    assert result.final_url == server.url("/chain/1")
    assert "/chain/0" in (result.error_detail or "")


def test_max_redirects_is_configurable(fetch: Fetch, server: FetchTestServer):
    assert fetch(server.url("/chain/2"), limits=FetchLimits(max_redirects=1)).error == (
        "too-many-redirects"
    )
    assert fetch(server.url("/chain/1"), limits=FetchLimits(max_redirects=1)).ok


def test_redirect_loop(fetch: Fetch, server: FetchTestServer):
    result = fetch(server.url("/loop/a"))
    assert result.error == "redirect-loop"
    assert result.redirects == (server.url("/loop/a"),)
    assert result.final_url == server.url("/loop/b")


def test_redirect_to_itself_is_a_loop(fetch: Fetch, server: FetchTestServer):
    result = fetch(server.url("/self#frag"))
    assert result.error == "redirect-loop"
    assert result.redirects == () and result.status == 302
    assert result.final_url == server.url("/self#frag")


def test_relative_location_resolved(fetch: Fetch, server: FetchTestServer):
    result = fetch(server.url("/rel/dir/start"))
    assert result.ok
    assert result.final_url == server.url("/rel/target?x=1")
    assert result.body == b"relative target /rel/target"


def test_cross_host_redirect_keeps_new_host_header(fetch: Fetch, server: FetchTestServer):
    result = fetch(server.url("/cross", host="a.localhost"))
    assert result.ok
    assert result.final_url == server.url("/echo", host="b.localhost")
    assert json.loads(result.body)["host"] == f"b.localhost:{server.port}"
    assert result.redirects == (server.url("/cross", host="a.localhost"),)


def test_redirect_without_location_is_final(fetch: Fetch, server: FetchTestServer):
    result = fetch(server.url("/noloc"))
    assert (result.status, result.error, result.redirects) == (302, None, ())
    assert not result.ok


def test_redirect_to_other_scheme_is_invalid_url(fetch: Fetch, server: FetchTestServer):
    result = fetch(server.url("/to?url=ftp://example.com/robots.txt"))
    assert result.error == "invalid-url"
    assert result.status == 302
    assert "ftp://example.com/robots.txt" in (result.error_detail or "")


# -- deadlines, resets, broken HTTP ----------------------------------------------------------


def test_slow_server_times_out(fetch: Fetch, server: FetchTestServer):
    started = time.monotonic()
    result = fetch(server.url("/sleep?s=3"), limits=short(0.5))
    elapsed = time.monotonic() - started
    assert result.error == "timeout"
    assert result.status is None and result.sha256 is None
    assert 0.4 < elapsed < 1.5


def test_trickling_body_hits_total_deadline(fetch: Fetch, server: FetchTestServer):
    # One byte every 0.3 s never trips a per-read timeout; only the total deadline stops it.
    started = time.monotonic()
    result = fetch(server.url("/trickle-body?every=0.3"), limits=short(1.5))
    elapsed = time.monotonic() - started
    assert result.error == "timeout"
    assert result.status == 200  # the headers came; the body never finished
    assert 0 < len(result.body) < 10
    assert 1.4 < elapsed < 2.5


def test_trickling_headers_hit_total_deadline(fetch: Fetch, server: FetchTestServer):
    started = time.monotonic()
    result = fetch(server.url("/trickle-headers?every=0.3"), limits=short(1.5))
    assert result.error == "timeout"
    assert result.status is None
    assert 1.4 < time.monotonic() - started < 2.5


def test_deadline_covers_all_redirect_hops(server: FetchTestServer):
    # Each hop is fast, but the chain ends at a slow URL: the deadline is for the whole fetch.
    url = server.url("/to?url=/sleep%3Fs%3D2")
    started = time.monotonic()
    with Fetcher(allow_private=True, limits=short(0.6)) as fetcher:
        result = fetcher.fetch(url)
    assert result.error == "timeout"
    assert result.final_url == server.url("/sleep?s=2")
    assert time.monotonic() - started < 1.4


def test_connection_reset_before_response(fetch: Fetch, server: FetchTestServer):
    result = fetch(server.url("/reset"))
    assert result.error == "reset"
    assert result.status is None


def test_connection_reset_mid_body(fetch: Fetch, server: FetchTestServer):
    result = fetch(server.url("/reset-mid-body"))
    assert result.error == "reset"
    assert result.status == 200
    assert result.body == b"partial body"
    assert not result.ok


def test_connection_closed_mid_body(fetch: Fetch, server: FetchTestServer):
    result = fetch(server.url("/close-mid-body"))
    assert result.error == "reset"
    assert result.status == 200
    assert "peer closed" in (result.error_detail or "")


def test_malformed_response_is_protocol_error(fetch: Fetch, server: FetchTestServer):
    result = fetch(server.url("/garbage"))
    assert result.error == "protocol"
    assert result.status is None


def test_refused_connection(fetch: Fetch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = fetch(f"http://closed.localhost:{port}/")
    assert result.error == "connect"
    assert result.status is None


def test_tls_handshake_failure(fetch: Fetch, server: FetchTestServer):
    # https:// to a plain-HTTP port: the handshake fails.
    result = fetch(f"https://a.localhost:{server.port}/echo", limits=short(3))
    assert result.error == "tls"


def test_dns_failure(fetch: Fetch, monkeypatch: pytest.MonkeyPatch):
    fake_resolver(monkeypatch, {"no-such-host.test": None})
    result = fetch("http://no-such-host.test/robots.txt")
    assert result.error == "dns"
    assert "no-such-host.test" in (result.error_detail or "")


@pytest.mark.parametrize(
    "url",
    ["not a url", "ftp://example.com/", "http://", "http://exa mple.com/", "http://a.b:99999/", ""],
)
def test_invalid_urls_never_raise(fetch: Fetch, url: str):
    result = fetch(url)
    assert result.error == "invalid-url"
    assert result.url == url and result.status is None


# -- body caps and decompression -------------------------------------------------------------


def test_huge_body_truncated_at_cap_with_bounded_memory(server: FetchTestServer):
    cap = 1_000_000
    with Fetcher(allow_private=True) as fetcher:
        assert fetcher.fetch(server.url("/status/200")).ok  # warm up: imports, pool
        result, peak = traced_peak(lambda: fetcher.fetch(server.url("/huge"), max_bytes=cap))
    assert result.truncated and result.error is None and result.ok
    assert len(result.body) == cap
    assert peak < 3 * cap  # the body, one copy into bytes, a network chunk
    deadline = time.monotonic() + 5
    while "/huge" not in server.bytes_sent and time.monotonic() < deadline:
        time.sleep(0.05)  # the server notices the hang-up on its next write
    assert server.bytes_sent["/huge"] < 50_000_000  # we hung up long before the end


def test_huge_body_async_truncated(server: FetchTestServer):
    async def go() -> FetchResult:
        async with AsyncFetcher(allow_private=True) as fetcher:
            return await fetcher.fetch(server.url("/huge"), max_bytes=300_000)

    result = asyncio.run(go())
    assert result.truncated and len(result.body) == 300_000 and result.error is None


def test_over_cap_body_is_truncated_not_an_error(fetch: Fetch, server: FetchTestServer):
    # Content-Length a bit over the cap: RFC 9309 §2.5 lets a crawler parse the first part.
    result = fetch(server.url("/huge-a?n=700000&cl=700000"), max_bytes=600_000)
    assert (result.truncated, result.error, len(result.body)) == (True, None, 600_000)


def test_rfc9309_announced_huge_content_length_is_read_up_to_the_cap(
    fetch: Fetch, server: FetchTestServer
):
    # RFC 9309 §2.5: the first bytes up to the cap are read and used whatever the framing
    # (0.1 called an announced Content-Length over 10 x the cap "too-large": unreachable).
    result = fetch(server.url("/huge-b?n=2000000&cl=1000000000000"), max_bytes=100_000)
    assert result.error is None
    assert result.truncated and len(result.body) == 100_000
    assert result.status == 200 and result.ok


def test_body_at_exactly_the_cap_is_not_truncated(fetch: Fetch, server: FetchTestServer):
    result = fetch(server.url("/huge-c?n=5000&cl=5000"), max_bytes=5000)
    assert (result.truncated, result.error, len(result.body)) == (False, None, 5000)


def traced_peak(run: Callable[[], FetchResult]) -> tuple[FetchResult, int]:
    tracemalloc.start()
    try:
        result = run()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def check_bomb(result: FetchResult, peak: int, cap: int) -> None:
    assert result.error == "decompression-bomb"
    assert result.truncated
    assert result.body == b"\0" * cap
    assert peak < 4 * cap < BOMB_PLAIN_SIZE  # never near the 10 MB it inflates to


def test_gzip_bomb_detected_without_inflating_it(server: FetchTestServer):
    cap = 500_000
    assert len(GZIP_BOMB) * 500 < BOMB_PLAIN_SIZE  # it is a bomb: ~1000:1
    with Fetcher(allow_private=True) as fetcher:
        assert fetcher.fetch(server.url("/status/200")).ok  # warm up: imports, pool
        result, peak = traced_peak(
            lambda: fetcher.fetch(server.url("/enc/gzip-bomb"), max_bytes=cap)
        )
    check_bomb(result, peak, cap)


async def test_gzip_bomb_detected_without_inflating_it_async(server: FetchTestServer):
    cap = 500_000
    async with AsyncFetcher(allow_private=True) as fetcher:
        assert (await fetcher.fetch(server.url("/status/200"))).ok
        tracemalloc.start()
        try:
            result = await fetcher.fetch(server.url("/enc/gzip-bomb"), max_bytes=cap)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    check_bomb(result, peak, cap)


def test_brotli_bomb_detected(fetch: Fetch, server: FetchTestServer):
    if "br" not in ACCEPT_ENCODING:
        pytest.skip("installed brotli cannot bound its output")
    result = fetch(server.url("/enc/br-bomb"), max_bytes=200_000)
    assert result.error == "decompression-bomb"
    assert result.body == b"\0" * 200_000


def test_brotli_bomb_memory_bounded(server: FetchTestServer):
    if "br" not in ACCEPT_ENCODING:
        pytest.skip("installed brotli cannot bound its output")
    cap = 500_000
    _brotli_bomb()  # built by the server thread, which tracemalloc would count too
    with Fetcher(allow_private=True) as fetcher:
        assert fetcher.fetch(server.url("/status/200")).ok
        result, peak = traced_peak(lambda: fetcher.fetch(server.url("/enc/br-bomb"), max_bytes=cap))
    check_bomb(result, peak, cap)


def test_large_compressed_text_is_truncated_not_a_bomb(fetch: Fetch, server: FetchTestServer):
    result = fetch(server.url("/enc/gzip-varied"), max_bytes=1_000_000)
    assert result.error is None and result.truncated
    assert result.body == VARIED_TEXT[:1_000_000]


@pytest.mark.parametrize("name", ["gzip", "x-gzip", "deflate", "deflate-raw", "br", "identity"])
def test_content_encodings_decoded(fetch: Fetch, server: FetchTestServer, name: str):
    if name == "br" and "br" not in ACCEPT_ENCODING:
        pytest.skip("brotli not usable")
    result = fetch(server.url(f"/enc/{name}"))
    assert result.ok and not result.truncated
    assert result.body == SMALL_TEXT


def test_corrupt_gzip_is_protocol_error(fetch: Fetch, server: FetchTestServer):
    result = fetch(server.url("/enc/corrupt-gzip"))
    assert result.error == "protocol" and "gzip" in (result.error_detail or "")
    assert result.status == 200


def test_unrequested_encoding_is_protocol_error(fetch: Fetch, server: FetchTestServer):
    result = fetch(server.url("/enc/zstd"))
    assert result.error == "protocol"
    assert result.body == b""  # undecodable bytes are not passed on as content


def fake_resolver(monkeypatch: pytest.MonkeyPatch, answers: dict[str, str | None]) -> None:
    """Answer ``answers`` names (None: no such name); IP literals go to the real resolver."""
    real = socket.getaddrinfo

    def fake(host: str, port: object, *args: object, **kwargs: object) -> list[tuple[object, ...]]:
        if host not in answers:
            assert fetch_module._ip_literal(host) is not None, f"unexpected lookup of {host}"
            return real(host, port, *args, **kwargs)  # type: ignore[arg-type]
        address = answers[host]
        if address is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, 0))]

    monkeypatch.setattr(socket, "getaddrinfo", fake)


# -- resolver ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host", ["localhost", "LOCALHOST", "s00042.fixture.localhost", "A.B.Localhost."]
)
def test_rfc6761_localhost_names_resolve_to_loopback_without_dns(
    host: str, monkeypatch: pytest.MonkeyPatch
):
    def fail(*args: object, **kwargs: object) -> list[object]:
        raise AssertionError("the system resolver must not be asked")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    assert is_localhost_name(host)
    assert resolve_host(host) == ["127.0.0.1"]


@pytest.mark.parametrize("host", ["localhost.example", "notlocalhost", "localhostx"])
def test_rfc6761_only_the_localhost_domain_is_special(host: str):
    assert not is_localhost_name(host)


def test_resolve_host_literals_and_system_resolver(monkeypatch: pytest.MonkeyPatch):
    assert resolve_host("127.0.0.5") == ["127.0.0.5"]
    assert resolve_host("[::1]") == ["::1"]

    def fake(host: str, port: object, *args: object, **kwargs: object) -> list[tuple[object, ...]]:
        assert host == "example.test"
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2001:db8::1", 0, 0, 0)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 0)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 0)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    assert resolve_host("example.test") == ["2001:db8::1", "93.184.216.34"]


def test_fixture_site_names_reach_loopback_server_with_host_kept(
    fetch: Fetch, server: FetchTestServer
):
    result = fetch(server.url("/echo", host="s00042.fixture.localhost"))
    assert result.ok
    assert json.loads(result.body)["host"] == f"s00042.fixture.localhost:{server.port}"


def test_keep_alive_reuses_the_connection(server: FetchTestServer):
    with Fetcher(allow_private=True) as fetcher:
        first = json.loads(fetcher.fetch(server.url("/echo", host="ka.localhost")).body)
        second = json.loads(fetcher.fetch(server.url("/echo", host="ka.localhost")).body)
    assert first["client_port"] == second["client_port"]


async def test_keep_alive_reuses_the_connection_async(server: FetchTestServer):
    async with AsyncFetcher(allow_private=True) as fetcher:
        first = json.loads((await fetcher.fetch(server.url("/echo", host="ka.localhost"))).body)
        second = json.loads((await fetcher.fetch(server.url("/echo", host="ka.localhost"))).body)
    assert first["client_port"] == second["client_port"]


# -- address guard ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "blocked"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("10.0.0.1", True),
        ("172.16.5.4", True),
        ("192.168.1.1", True),
        ("169.254.169.254", True),
        ("100.64.0.1", True),  # shared address space (CGNAT)
        ("0.0.0.0", True),
        ("224.0.0.1", True),
        ("240.0.0.1", True),
        ("255.255.255.255", True),
        ("::1", True),
        ("::", True),
        ("fe80::1", True),
        ("fc00::1", True),
        ("ff02::1", True),
        ("::ffff:10.0.0.1", True),  # IPv4-mapped private
        ("::ffff:127.0.0.1", True),
        ("2002:0a00:0001::1", True),  # 6to4 wrapping 10.0.0.1
        ("2001:db8::1", True),  # documentation
        ("not-an-ip", True),
        ("93.184.216.34", False),
        ("8.8.8.8", False),
        ("2606:4700:4700::1111", False),
        ("::ffff:8.8.8.8", False),  # IPv4-mapped public
        ("2002:0808:0808::1", True),  # 6to4 (deprecated, RFC 7526) refused whole since 0.2
        ("fec0::1", True),  # deprecated site-local (RFC 3879): passed Python's flags in 0.1
        ("feff:ffff::1", True),
        ("64:ff9b::10.0.0.1", True),  # NAT64 to a private address
        ("64:ff9b::8.8.8.8", False),  # NAT64 to a public address
        ("3fff::1", True),  # documentation (RFC 9637)
        ("5f00::1", True),  # SRv6 SIDs (RFC 9602)
        ("192.0.0.9", True),  # IETF protocol assignments
        ("198.18.0.1", True),  # benchmarking
        ("2001:470:1:18::115", False),
    ],
)
def test_is_blocked_address(address: str, blocked: bool):
    assert is_blocked_address(address) is blocked
    assert is_public_address(address) is not blocked


def test_every_iana_special_purpose_range_is_refused_at_both_ends():
    from reservation_crawler.drivers.fetch import SPECIAL_PURPOSE_NETWORKS

    assert len(SPECIAL_PURPOSE_NETWORKS) >= 30
    for network in SPECIAL_PURPOSE_NETWORKS:
        for address in (network.network_address, network.broadcast_address):
            assert is_blocked_address(str(address)), (network, address)


def test_check_refuses_a_site_local_target_without_connecting(capsys):
    from reservation_crawler.cli import main

    assert main(["check", "--json", "http://[fec0::1]/"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["decisions"]["*"]["train-ai"] == "reserved"
    assert "blocked-address" in json.dumps(record["sources"])


def test_address_guard_policy():
    assert AddressGuard().blocks("127.0.0.1")
    assert not AddressGuard(allow_private=True).blocks("10.0.0.1")
    exempt = AddressGuard(allowed_networks=("127.0.0.1/32",))
    assert not exempt.blocks("127.0.0.1")
    assert exempt.blocks("127.0.0.2")
    assert not exempt.blocks("8.8.8.8")
    with pytest.raises(ConfigError):
        AddressGuard(allowed_networks=("not a network",))


def test_loopback_refused_by_default_without_connecting(server: FetchTestServer):
    before = server.connections
    with Fetcher() as fetcher:
        for url in (
            server.url("/echo", host="127.0.0.1"),
            server.url("/echo", host="a.localhost"),
            f"http://[::1]:{server.port}/echo",
        ):
            result = fetcher.fetch(url)
            assert result.error == "blocked-address", url
            assert result.status is None
    assert server.connections == before


async def test_loopback_refused_by_default_async(server: FetchTestServer):
    async with AsyncFetcher() as fetcher:
        result = await fetcher.fetch(server.url("/echo", host="127.0.0.1"))
    assert result.error == "blocked-address"


def test_loopback_allowed_with_allow_private(fetch: Fetch, server: FetchTestServer):
    assert fetch(server.url("/echo", host="127.0.0.1"), allow_private=True).ok


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.2:{port}/echo",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://[::1]:{port}/echo",
        "http://[::ffff:192.168.0.1]/",
    ],
)
def test_redirect_to_private_address_refused(fetch: Fetch, server: FetchTestServer, target: str):
    # The guard treats 127.0.0.1 (where the test server is) as public, nothing else private.
    guard = AddressGuard(allowed_networks=("127.0.0.1/32",))
    target = target.format(port=server.port)
    started = time.monotonic()
    result = fetch(server.url(f"/to?url={target}", host="127.0.0.1"), guard=guard)
    assert result.error == "blocked-address"
    assert result.status is None
    assert result.redirects == (server.url(f"/to?url={target}", host="127.0.0.1"),)
    assert time.monotonic() - started < 1.0  # refused, not attempted


def test_name_resolving_to_private_address_refused(
    fetch: Fetch, server: FetchTestServer, monkeypatch: pytest.MonkeyPatch
):
    fake_resolver(monkeypatch, {"internal.test": "10.1.2.3", "public.test": "127.0.0.1"})
    guard = AddressGuard(allowed_networks=("127.0.0.1/32",))
    ok = fetch(f"http://public.test:{server.port}/echo", guard=guard)
    assert ok.ok and json.loads(ok.body)["host"] == f"public.test:{server.port}"
    refused = fetch(
        f"http://public.test:{server.port}/to?url=http://internal.test:{server.port}/", guard=guard
    )
    assert refused.error == "blocked-address"
    assert "10.1.2.3" in (refused.error_detail or "")


class _RecordingBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self.hosts: list[str] = []

    def connect_tcp(self, host: str, port: int, **kwargs: object) -> httpcore.NetworkStream:
        self.hosts.append(host)
        raise httpcore.ConnectError("recorded")


def test_connects_to_the_checked_address_not_the_name(monkeypatch: pytest.MonkeyPatch):
    # No second lookup between check and connect (DNS rebinding): the socket gets the IP that was
    # checked, and private addresses in a mixed answer are never tried.
    def fake(host: str, port: object, *args: object, **kwargs: object) -> list[tuple[object, ...]]:
        assert host == "mixed.test"
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", 0)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 0)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    inner = _RecordingBackend()
    backend = fetch_module._GuardedBackend(AddressGuard(), inner)
    with pytest.raises(httpcore.ConnectError):
        backend.connect_tcp("mixed.test", 80, timeout=1.0)
    assert inner.hosts == ["93.184.216.34"]


def test_guard_and_allow_private_are_exclusive():
    with pytest.raises(ConfigError):
        Fetcher(allow_private=True, guard=AddressGuard())


# -- policy files, concurrency ---------------------------------------------------------------


def check_policy_files(policy: PolicyFetches, server: FetchTestServer, host: str) -> None:
    base = f"http://{host}:{server.port}"
    assert policy.origin == base
    assert policy.robots.url == f"{base}/robots.txt" and policy.robots.ok
    assert policy.robots.body.startswith(b"User-agent: *")
    assert f"# {host}".encode() in policy.robots.body
    assert policy.aitxt.url == f"{base}/ai.txt"
    assert (policy.aitxt.status, policy.aitxt.content_type) == (404, "text/html")
    assert policy.tdmrep.url == f"{base}/.well-known/tdmrep.json"
    assert policy.tdmrep.content_type == "application/json"
    assert json.loads(policy.tdmrep.body) == [{"location": "/", "tdm-reservation": 1}]


def test_fetch_policy_files_sync(server: FetchTestServer):
    with Fetcher(allow_private=True) as fetcher:
        policy = fetcher.fetch_policy_files(f"HTTP://Site1.Localhost:{server.port}/some/page?q")
    check_policy_files(policy, server, "site1.localhost")


async def test_fetch_policy_files_async_concurrently(server: FetchTestServer):
    started = time.monotonic()
    async with AsyncFetcher(allow_private=True) as fetcher:
        policy = await fetcher.fetch_policy_files(f"http://slow1.localhost:{server.port}")
    elapsed = time.monotonic() - started
    check_policy_files(policy, server, "slow1.localhost")
    assert elapsed < 1.0  # three 0.4 s responses at once, not one after the other


def test_policy_file_caps(server: FetchTestServer):
    limits = FetchLimits(robots_max_bytes=512_000)
    with Fetcher(allow_private=True, limits=limits) as fetcher:
        policy = fetcher.fetch_policy_files(f"http://big.localhost:{server.port}")
    assert policy.robots.truncated and len(policy.robots.body) == 512_000
    assert policy.robots.error is None and policy.robots.ok


def test_fetch_policy_files_rejects_non_http_origin():
    with Fetcher() as fetcher, pytest.raises(InvalidOrigin):
        fetcher.fetch_policy_files("ftp://example.com")


async def test_waiting_for_a_connection_slot_is_not_a_timeout(server: FetchTestServer):
    # 6 fetches, 2 slots, 0.4 s each: three waves (>= 1.2 s) under a 1 s limit, none times out.
    started = time.monotonic()
    async with AsyncFetcher(allow_private=True, max_connections=2, limits=short(1.0)) as fetcher:
        results = await asyncio.gather(
            *(fetcher.fetch(server.url("/sleep?s=0.4", host=f"w{i}.localhost")) for i in range(6))
        )
    assert all(r.ok for r in results), [r.error for r in results]
    assert time.monotonic() - started >= 1.15


# -- pure helpers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://Example.COM/path?q=1#f", "https://example.com"),
        ("http://example.com:80/", "http://example.com"),
        ("HTTPS://example.com:443", "https://example.com"),
        ("https://example.com:8443/x", "https://example.com:8443"),
        ("http://s00042.fixture.localhost:8080/robots.txt", "http://s00042.fixture.localhost:8080"),
        ("https://Bücher.de/", "https://xn--bcher-kva.de"),
        ("http://[::1]:8080/", "http://[::1]:8080"),
    ],
)
def test_origin_of(url: str, origin: str):
    assert origin_of(url) == origin


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/", "example.com", "http:///path", "mailto:x@y", "http://u:p@example.com/"],
)
def test_origin_of_rejects_non_http(url: str):
    with pytest.raises(ValueError):
        origin_of(url)
    with pytest.raises(ReservationError):
        origin_of(url)


def test_fetch_limits_defaults_and_validation():
    limits = FetchLimits()
    assert limits.max_redirects >= 5  # RFC 9309 §2.3.1.2
    assert limits.robots_max_bytes >= 512_000  # RFC 9309 §2.5: at least 500 KiB
    with pytest.raises(ConfigError):
        FetchLimits(timeout=0)
    with pytest.raises(ConfigError):
        FetchLimits(max_bytes=0)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# One real fetch per error code: (URL path or absolute URL, fetch options).
ERROR_SCENARIOS: dict[str, tuple[str, dict[str, object]]] = {
    "timeout": ("/sleep?s=1", {"limits": FetchLimits(timeout=0.2)}),
    "connect": ("http://closed.localhost:{closed}/", {}),
    "dns": ("http://no-such-host.test/", {}),
    "tls": ("https://a.localhost:{port}/", {}),
    "reset": ("/reset", {}),
    "too-many-redirects": ("/chain/6", {}),
    "redirect-loop": ("/loop/a", {}),
    "too-large": ("/gzip-tail?blocks=8", {"max_bytes": 50_000}),  # endless bytes after a member
    "decompression-bomb": ("/enc/gzip-bomb", {"max_bytes": 50_000}),
    "blocked-address": ("/to?url=http://10.0.0.1/", {"guard": "loopback-public"}),
    "invalid-url": ("/to?url=ftp://example.com/", {}),
    "protocol": ("/garbage", {}),
}


@pytest.mark.parametrize("code", FETCH_ERRORS)
def test_each_fetch_error_code_from_a_real_fetch(
    code: str, server: FetchTestServer, monkeypatch: pytest.MonkeyPatch
):
    path, options = ERROR_SCENARIOS[code]
    options = dict(options)
    if code == "dns":
        fake_resolver(monkeypatch, {"no-such-host.test": None})
    if options.pop("guard", None):
        options["guard"] = AddressGuard(allowed_networks=("127.0.0.1/32",))
    else:
        options["allow_private"] = True
    max_bytes = options.pop("max_bytes", None)
    url = path.format(port=server.port, closed=closed_port())
    url = url if url.startswith("http") else server.url(url, host="127.0.0.1")
    with Fetcher(**options) as fetcher:  # type: ignore[arg-type]
        result = fetcher.fetch(url, max_bytes=max_bytes)  # type: ignore[arg-type]
    assert result.error == code, result
    assert result.error_detail
    assert not result.ok


def test_gzip_bomb_fixture_is_what_it_says():
    assert gzip.decompress(GZIP_BOMB) == b"\0" * BOMB_PLAIN_SIZE
