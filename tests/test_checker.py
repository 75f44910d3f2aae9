"""Checker / AsyncChecker: verdicts against the fixture web's ground truth, the three tiers
(memory, Redis, fetch), once-per-origin fetching, failure and stale-copy handling, Redis down."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from shells import SHELLS, build

from reservation_crawler.drivers.cache import (
    AsyncReservationCache,
    ReservationCache,
    connect,
    connect_async,
    decode_value,
)
from reservation_crawler.drivers.fetch import Fetcher, FetchLimits
from reservation_crawler.drivers.lookup import MEMO_PER_ORIGIN, AsyncChecker, Checker, Verdict
from reservation_crawler.errors import CacheUnavailable, ConfigError, InvalidOrigin
from reservation_crawler.model.record import Decision, Purpose
from reservation_crawler.testing import AGENTS, PAGES, PURPOSES, FixtureWeb, every_variant, recipe

REDIS_BACKENDS = ("single", "cluster")  # conftest: each Redis test runs on both
FAST = FetchLimits(timeout=1.5)  # generous: a loaded machine must not turn a site into a timeout


@pytest.fixture(scope="module")
def web() -> Iterator[FixtureWeb]:
    """One site of every fixture variant (timeouts answer after 3 s; we wait 1.5 s)."""
    with FixtureWeb.from_recipes(every_variant(), slow_delay=3.0, corpus=False) as fixture_web:
        yield fixture_web


@pytest.fixture
def small_web() -> Iterator[FixtureWeb]:
    recipes = [
        recipe("robots-ai-block"),  # 0: GPTBot / CCBot disallowed, * allowed
        recipe("tdmrep-file"),  # 1: tdmrep.json reserves /
        recipe("robots-5xx"),  # 2: robots.txt 500
        recipe("no-robots"),  # 3: robots.txt 404, nothing else
        recipe("plain"),  # 4: allow all
    ]
    with FixtureWeb.from_recipes(recipes, slow_delay=1.0, corpus=False) as fixture_web:
        yield fixture_web


SHELL = "sync"  # the shell checker() builds; set per test by the parametrized fixture below


@pytest.fixture(autouse=True, params=SHELLS)
def shell(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every test built on checker() runs against Checker and AsyncChecker alike."""
    global SHELL
    if request.param != "sync" and request.node.get_closest_marker("one_shell"):
        pytest.skip("this test builds its shell itself")
    SHELL = request.param
    yield SHELL
    SHELL = "sync"


def checker(redis_url: str, *, cache: dict[str, float] | None = None, **kwargs: Any) -> Any:
    """A Checker, or an AsyncChecker behind a blocking adapter; ``cache``: its TTL settings."""
    kwargs.setdefault("allow_private", True)
    kwargs.setdefault("limits", FAST)
    if SHELL == "sync":
        own = ReservationCache(connect(redis_url), **cache) if cache else None
        return Checker(own, redis_url=redis_url, **kwargs)

    async def make() -> AsyncChecker:
        own = AsyncReservationCache(await connect_async(redis_url), **cache) if cache else None
        return AsyncChecker(own, redis_url=redis_url, **kwargs)

    return build(make)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the decisions: every fixture variant, every agent and purpose ---------------------------


def test_verdicts_match_ground_truth_on_every_fixture_variant(
    web: FixtureWeb, redis_url: str
) -> None:
    """Origin level: a final ``reserved`` is reserved in the truth; page level (the response
    fetched here and handed to check_response_many) equals the truth cell by cell."""
    compared = 0
    with checker(redis_url) as check, Fetcher(allow_private=True, limits=FAST) as fetcher:
        for index in range(len(web)):
            truth = web.truth(index)["expected"]
            for path in PAGES:
                url = web.url(index, path)
                response = fetcher.fetch(url)
                status = response.status if response.error is None else None
                for agent in AGENTS:
                    origin = [check.check(url, agent, p) for p in PURPOSES]
                    page = check.check_response_many(
                        url, status, response.headers, response.body, agent, PURPOSES
                    )
                    for purpose, at_origin, at_page in zip(PURPOSES, origin, page, strict=True):
                        expected = truth[url][agent][purpose]
                        if expected is None:  # the spec leaves readers a choice here
                            continue
                        compared += 1
                        where = (web.recipes[index].kind, web.recipes[index].variant, url, agent)
                        assert at_page.decision == expected, (where, purpose, at_page.evidence)
                        assert at_page.level == "page"
                        if at_origin.reserved and at_origin.final:
                            assert expected == "reserved", (where, purpose, at_origin.evidence)
    assert compared > 9000


def test_origin_verdict_is_decide_without_the_default_agent(
    small_web: FixtureWeb, redis_url: str
) -> None:
    from reservation_crawler.core.decide import decide
    from reservation_crawler.drivers.collect import policy_from_fetches

    url = small_web.url(0, "/a/1.html")
    with checker(redis_url) as check, Fetcher(allow_private=True, limits=FAST) as fetcher:
        verdicts = {p: check.check(url, "GPTBot", p) for p in PURPOSES}
        policy = policy_from_fetches(fetcher.fetch_policy_files(url))
    record = decide(url, ["GPTBot"], policy, None, include_default=False)
    assert list(record.decisions) == ["GPTBot"]
    for purpose, verdict in verdicts.items():
        assert verdict.decision == record.decision("GPTBot", purpose)
        assert verdict.evidence == record.evidence_for("GPTBot", purpose)
        assert dict(verdict.decisions) == dict(record.decisions["GPTBot"])


def test_verdict_json(small_web: FixtureWeb, redis_url: str) -> None:
    with checker(redis_url) as check:
        verdict = check.check(small_web.url(0, "/"), "GPTBot", "train-ai")
    data = verdict.to_json()
    assert data["decision"] == "reserved" and data["purpose"] == "train-ai"
    assert data["decisions"] == {
        "crawl": "reserved",
        "train-ai": "reserved",
        "ai-use": "reserved",
        "search": "reserved",
    }
    assert data["evidence"][0]["raw"] == "Disallow: /"
    assert data["evidence"][0]["signal"] == "robots"
    assert data["source"] == "fetch" and data["level"] == "origin" and data["final"] is True
    assert 0 <= data["age"] < 5 and data["fetched_at"].endswith("Z")


# --- finality: what a page can still change ----------------------------------------------------


def test_tdmrep_header_overrides_file_layer_so_origin_reservation_is_not_final(
    small_web: FixtureWeb, redis_url: str
) -> None:
    """TDMRep §3.4 processing order: file, then header, then meta, each overriding."""
    url = small_web.url(1, "/a/1.html")
    with checker(redis_url) as check:
        at_origin = check.check(url, "GPTBot", "train-ai")
        lifted = check.check_response(
            url, 200, [("Content-Type", "text/html"), ("tdm-reservation", "0")], b"", "GPTBot"
        )
        kept = check.check_response(url, 200, [("Content-Type", "text/html")], b"", "GPTBot")
        meta = check.check_response(
            url,
            200,
            {"Content-Type": "text/html; charset=utf-8"},
            b'<html><head><meta name="tdm-reservation" content="0"></head><body></body></html>',
            "GPTBot",
        )
    assert at_origin.reserved and not at_origin.final
    assert [e.source for e in at_origin.evidence] == ["tdmrep.json"]
    assert lifted.decision is Decision.ALLOWED
    assert [e.source for e in lifted.evidence] == ["header"]
    assert kept.decision is Decision.RESERVED
    assert meta.decision is Decision.ALLOWED and meta.evidence[0].source == "meta"


def test_robots_reservation_is_final_and_allowed_is_not(
    small_web: FixtureWeb, redis_url: str
) -> None:
    with checker(redis_url) as check:
        blocked = check.check(small_web.url(0, "/"), "GPTBot", "crawl")
        open_ = check.check(small_web.url(0, "/"), "SomeBot", "crawl")
        unspecified = check.check(small_web.url(4, "/"), "SomeBot", "train-ai")
        noai = check.check_response(
            small_web.url(4, "/"), 200, [("X-Robots-Tag", "noai")], b"", "SomeBot", "train-ai"
        )
    assert blocked.reserved and blocked.final
    assert open_.decision is Decision.ALLOWED and not open_.final
    assert unspecified.decision is Decision.UNSPECIFIED and not unspecified.final
    assert noai.decision is Decision.RESERVED and noai.evidence[0].signal == "noai"


# --- tiers: memory, Redis, fetch ----------------------------------------------------------


def test_sources_fetch_then_memory_then_redis_for_another_process(
    small_web: FixtureWeb, redis_url: str
) -> None:
    url = small_web.url(0, "/")
    with checker(redis_url) as first:
        assert first.check(url, "GPTBot").source == "fetch"
        assert first.check(url, "GPTBot").source == "memory"
        assert first.check(small_web.url(0, "/b/1.html"), "CCBot").source == "memory"
    with checker(redis_url) as second:  # a fresh process: Redis has it
        verdict = second.check(url, "GPTBot")
        assert verdict.source == "redis" and verdict.reserved
        assert second.check(url, "GPTBot").source == "memory"
    assert small_web.request_count(0, "/robots.txt") == 1


def test_memory_ttl_zero_reads_redis_every_time_but_reuses_the_compiled_policy(
    small_web: FixtureWeb, redis_url: str
) -> None:
    url = small_web.url(0, "/")
    with checker(redis_url) as warm:
        warm.check(url, "GPTBot")
    with checker(redis_url, memory_ttl=0) as check:
        assert [check.check(url, "GPTBot").source for _ in range(3)] == ["redis"] * 3
        compiled = check._memory[small_web.base_url(0)].policy
        check.check(url, "GPTBot")
        assert check._memory[small_web.base_url(0)].policy is compiled  # same JSON: not reparsed
        cache = ReservationCache(connect(redis_url))
        entry = decode_value(cache.get_policy_raw(small_web.base_url(0)))
        cache.put_policy(small_web.base_url(0), entry.data)  # a refetch with the same content
        assert check.check(url, "GPTBot").reserved
        assert check._memory[small_web.base_url(0)].policy is compiled  # only _cache changed


def test_changed_policy_in_redis_is_recompiled(small_web: FixtureWeb, redis_url: str) -> None:
    origin = small_web.base_url(0)
    url = small_web.url(0, "/")
    with checker(redis_url, memory_ttl=0) as check:
        assert check.check(url, "GPTBot").reserved
        cache = ReservationCache(connect(redis_url))
        data = decode_value(cache.get_policy_raw(origin)).data
        data["files"]["robots.txt"]["body"] = "User-agent: *\nAllow: /\n"
        cache.put_policy(origin, data)
        verdict = check.check(url, "GPTBot", "crawl")
        assert verdict.decision is Decision.ALLOWED and verdict.source == "redis"


def test_memory_is_a_bounded_lru(small_web: FixtureWeb, redis_url: str) -> None:
    with checker(redis_url, memory_size=2) as check:
        for index in (0, 1, 3):
            check.check(small_web.url(index, "/"), "GPTBot")
        assert check.check(small_web.url(3, "/"), "GPTBot").source == "memory"
        assert check.check(small_web.url(1, "/"), "GPTBot").source == "memory"
        assert check.check(small_web.url(0, "/"), "GPTBot").source == "redis"  # evicted first
        assert len(check._memory) == 2


def test_memory_expires_after_memory_ttl(small_web: FixtureWeb, redis_url: str) -> None:
    url = small_web.url(3, "/")
    with checker(redis_url, memory_ttl=0.2) as check:
        assert check.check(url, "CCBot").source == "fetch"
        assert check.check(url, "CCBot").source == "memory"
        time.sleep(0.25)
        assert check.check(url, "CCBot").source == "redis"


def test_in_process_cache_is_keyed_by_scheme_host_and_port(redis_url: str) -> None:
    with (
        PolicyServer("User-agent: *\nDisallow: /\n") as closed,
        PolicyServer("User-agent: *\nAllow: /\n") as open_,
        checker(redis_url) as check,
    ):
        assert check.check(f"{closed.origin}/x", "Bot", "crawl").reserved
        assert check.check(f"{open_.origin}/x", "Bot", "crawl").decision is Decision.ALLOWED
        assert closed.origin.rsplit(":", 1)[0] == open_.origin.rsplit(":", 1)[0]


def test_absence_is_cached_too(small_web: FixtureWeb, redis_url: str) -> None:
    url = small_web.url(3, "/")
    for _ in range(3):
        with checker(redis_url) as check:
            verdict = check.check(url, "GPTBot", "crawl")
            assert verdict.decision is Decision.ALLOWED
            assert "HTTP 404" in verdict.evidence[0].raw
    assert small_web.request_count(3, "/robots.txt") == 1
    assert small_web.request_count(3, "/ai.txt") == 1


def test_failure_is_cached_briefly_then_retried(small_web: FixtureWeb, redis_url: str) -> None:
    url = small_web.url(2, "/")
    settings = dict(failure_ttl=0.3)
    with checker(redis_url, cache=settings, memory_ttl=0) as check:
        first = check.check(url, "GPTBot", "crawl")
        assert first.reserved and first.source == "fetch"
        assert "HTTP 500" in first.evidence[0].raw
        assert check.check(url, "GPTBot", "crawl").source == "redis"
        assert small_web.request_count(2, "/robots.txt") == 1
        time.sleep(0.35)
        assert check.check(url, "GPTBot", "crawl").source == "fetch"
        assert small_web.request_count(2, "/robots.txt") == 2


# --- once per origin across processes -------------------------------------------------------


def test_policy_files_are_fetched_once_across_concurrent_checkers(
    redis_url: str,
) -> None:
    """Eight checkers (own memory each, like eight processes) ask at once: one fetch, the
    others wait on the Redis lock and read the result."""
    with PolicyServer("User-agent: *\nDisallow: /private\n", delay=0.3) as server:
        barrier = threading.Barrier(8)
        results: list[Verdict] = []

        def worker() -> None:
            with checker(redis_url) as check:
                barrier.wait()
                results.append(check.check(f"{server.origin}/private/x", "Bot", "crawl"))

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert len(results) == 8 and all(v.reserved for v in results)
        assert server.hits["/robots.txt"] == 1
        assert sorted(v.source for v in results).count("fetch") == 1


def test_threads_of_one_checker_share_one_load(redis_url: str) -> None:
    with (
        PolicyServer("User-agent: *\nAllow: /\n", delay=0.2) as server,
        checker(redis_url) as check,
    ):
        barrier = threading.Barrier(6)
        sources: list[str] = []

        def worker() -> None:
            barrier.wait()
            sources.append(check.check(f"{server.origin}/", "Bot", "crawl").source)

        threads = [threading.Thread(target=worker) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert server.hits["/robots.txt"] == 1
        assert sources.count("fetch") == 1 and len(sources) == 6


@pytest.mark.one_shell
async def test_async_checker_coalesces_concurrent_misses(redis_url: str) -> None:
    with PolicyServer("User-agent: *\nDisallow: /\n", delay=0.2) as server:
        async with AsyncChecker(redis_url=redis_url, allow_private=True, limits=FAST) as check:
            verdicts = await asyncio.gather(
                *(check.check(f"{server.origin}/{i}", "Bot", "crawl") for i in range(20))
            )
    assert all(v.reserved for v in verdicts)
    assert [v.source for v in verdicts].count("fetch") == 1
    assert server.hits["/robots.txt"] == 1


# --- RFC 9309 §2.4: never older than 24 h, except while unreachable ---------------------------


def test_rfc9309_expired_robots_is_refetched_not_served(redis_url: str) -> None:
    with PolicyServer("User-agent: *\nDisallow: /\n") as server:
        settings = dict(ttl=0.3)
        with checker(redis_url, cache=settings) as check:
            assert check.check(f"{server.origin}/", "Bot", "crawl").reserved
            server.robots = "User-agent: *\nAllow: /\n"
            time.sleep(0.35)
            verdict = check.check(f"{server.origin}/", "Bot", "crawl")
    assert verdict.decision is Decision.ALLOWED and verdict.source == "fetch"
    assert server.hits["/robots.txt"] == 2


def test_rfc9309_unreachable_origin_keeps_the_last_good_copy_with_evidence(
    redis_url: str,
) -> None:
    with PolicyServer("User-agent: *\nAllow: /\n") as server:
        settings = dict(ttl=0.3, failure_ttl=0.3)
        with checker(redis_url, cache=settings) as check:
            assert check.check(f"{server.origin}/", "Bot", "crawl").decision is Decision.ALLOWED
            server.status = 503
            time.sleep(0.35)
            stale = check.check(f"{server.origin}/", "Bot", "crawl")
            again = check.check(f"{server.origin}/", "Bot", "crawl")
        with checker(redis_url, cache=settings) as other_process:
            shared = other_process.check(f"{server.origin}/", "Bot", "crawl")
    assert stale.decision is Decision.ALLOWED and stale.stale
    assert stale.age is not None and stale.age >= 0.3
    note = [e for e in stale.evidence if e.signal == "cache"]
    assert len(note) == 1 and "RFC 9309 §2.4" in note[0].raw
    assert note[0].effect is Decision.UNSPECIFIED
    assert again.stale and again.source == "memory"
    assert shared.stale and shared.source == "redis" and shared.decision is Decision.ALLOWED
    assert server.hits["/robots.txt"] == 2


def test_rfc9309_stale_copy_is_dropped_after_max_stale(redis_url: str) -> None:
    with PolicyServer("User-agent: *\nAllow: /\n") as server:
        settings = dict(ttl=0.2, failure_ttl=0.2)
        with checker(redis_url, cache=settings, max_stale=0.3) as check:
            check.check(f"{server.origin}/", "Bot", "crawl")
            server.status = 503
            time.sleep(0.35)
            verdict = check.check(f"{server.origin}/", "Bot", "crawl")
    assert verdict.reserved and not verdict.stale
    assert "robots.txt unreachable" in verdict.evidence[0].raw


# --- batches ------------------------------------------------------------------------------


class CountingCache(ReservationCache):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[tuple[str, Any]] = []

    def get_policy_raw(self, origin: str, *, stale: bool = False) -> bytes | None:
        self.calls.append(("get", origin))
        return super().get_policy_raw(origin, stale=stale)

    def get_policies_raw(self, origins: Any, *, stale: bool = False) -> list[bytes | None]:
        self.calls.append(("mget", list(origins)))
        return super().get_policies_raw(origins, stale=stale)


@pytest.mark.one_shell
def test_check_many_reads_distinct_origins_in_one_mget(
    small_web: FixtureWeb, redis_url: str
) -> None:
    items = [
        (small_web.url(index, path), agent, purpose)
        for index in (0, 1, 3)
        for path in ("/", "/a/1.html")
        for agent in ("GPTBot", "*")
        for purpose in ("crawl", "train-ai")
    ]
    with checker(redis_url) as warm:
        expected = [warm.check(*item) for item in items]
    cache = CountingCache(connect(redis_url))
    with Checker(cache, allow_private=True, limits=FAST) as check:
        verdicts = check.check_many(items)
        again = check.check_many(items)
    origins = [small_web.base_url(i) for i in (0, 1, 3)]
    assert cache.calls == [("mget", origins)]
    assert [(v.url, v.agent, v.purpose, v.decision) for v in verdicts] == [
        (v.url, v.agent, v.purpose, v.decision) for v in expected
    ]
    assert {v.source for v in verdicts} == {"redis"}
    assert {v.source for v in again} == {"memory"}


def test_check_many_fetches_misses_and_accepts_mappings(
    small_web: FixtureWeb, redis_url: str
) -> None:
    with checker(redis_url) as check:
        verdicts = check.check_many(
            [
                {"url": small_web.url(0, "/"), "agent": "GPTBot", "purpose": "crawl"},
                {"url": small_web.url(4, "/")},
                (small_web.url(0, "/a/2.html"), "CCBot"),
            ]
        )
    assert [v.decision for v in verdicts] == [
        Decision.RESERVED,
        Decision.UNSPECIFIED,
        Decision.RESERVED,
    ]
    assert verdicts[1].agent == "*" and verdicts[1].purpose is Purpose.TRAIN_AI
    assert {v.source for v in verdicts} == {"fetch"}


def test_check_many_matches_check(small_web: FixtureWeb, redis_url: str) -> None:
    items = [(small_web.url(i, "/"), a, "train-ai") for i in range(5) for a in ("GPTBot", "*")]
    with checker(redis_url) as check:
        verdicts = check.check_many(items)
        single = [check.check(*item) for item in items]
    assert [v.decision for v in verdicts] == [v.decision for v in single]
    assert [v.evidence for v in verdicts] == [v.evidence for v in single]


# --- Redis down -----------------------------------------------------------------------------


def test_redis_down_is_a_clear_error(small_web: FixtureWeb) -> None:
    with checker(f"redis://127.0.0.1:{closed_port()}/0") as check:
        with pytest.raises(CacheUnavailable, match="cannot reach Redis"):
            check.check(small_web.url(4, "/"), "GPTBot")
        with pytest.raises(CacheUnavailable):
            check.check_many([(small_web.url(4, "/"), "GPTBot", "crawl")])
        with pytest.raises(CacheUnavailable):
            check.ping()
    assert small_web.request_count(4) == 0  # nothing fetched without a cache to share it


@pytest.mark.one_shell
def test_memory_keeps_answering_while_redis_is_down(small_web: FixtureWeb, redis_url: str) -> None:
    with checker(redis_url) as check:
        assert check.check(small_web.url(0, "/"), "GPTBot").source == "fetch"
        check.cache.client.close()
        check.cache = ReservationCache(connect(f"redis://127.0.0.1:{closed_port()}/0", check=False))
        verdict = check.check(small_web.url(0, "/a/2.html"), "GPTBot")
        assert verdict.source == "memory" and verdict.reserved
        with pytest.raises(CacheUnavailable):
            check.check(small_web.url(4, "/"), "GPTBot")


def test_redis_down_fail_closed_reserves_with_evidence(small_web: FixtureWeb) -> None:
    with checker(f"redis://127.0.0.1:{closed_port()}/0", fail_closed=True) as check:
        verdict = check.check(small_web.url(4, "/"), "GPTBot", "search")
        batch = check.check_many([(small_web.url(4, "/"), "*", p) for p in PURPOSES])
        page = check.check_response(small_web.url(4, "/"), 200, [], b"", "GPTBot", "train-ai")
    assert verdict.reserved and verdict.source == "fail-closed" and verdict.final
    assert "cache unavailable" in verdict.evidence[0].raw
    assert verdict.age is None
    assert all(v.reserved for v in batch) and page.reserved


# --- records and input --------------------------------------------------------------------


def test_record_holds_default_and_asked_agents(small_web: FixtureWeb, redis_url: str) -> None:
    with checker(redis_url) as check:
        checked = check.record(small_web.url(0, "/a/1.html"), ["GPTBot"])
    assert list(checked.record.decisions) == ["*", "GPTBot"]
    assert checked.record.decision("*", "crawl") is Decision.ALLOWED
    assert checked.record.decision("GPTBot", "crawl") is Decision.RESERVED
    assert checked.source == "fetch" and checked.to_json()["record"]["schema"].startswith(
        "reservation-record/"
    )


def test_invalid_input(redis_url: str) -> None:
    with checker(redis_url) as check:
        with pytest.raises(InvalidOrigin):
            check.check("ftp://example.com/", "GPTBot")
        with pytest.raises(InvalidOrigin):
            check.check("not a url", "GPTBot")
        with pytest.raises(ConfigError, match="unknown purpose"):
            check.check("https://example.com/", "GPTBot", "sell")
        with pytest.raises(ConfigError, match="agent"):
            check.check("https://example.com/", "  ")


def test_url_spellings_share_one_origin(small_web: FixtureWeb, redis_url: str) -> None:
    base = small_web.base_url(0)
    upper = base.replace("http://", "HTTP://").replace("fixture", "FIXTURE")
    with checker(redis_url) as check:
        first = check.check(f"{base}/a/1.html#frag", "GPTBot")
        second = check.check(f"{upper}/a/1.html?x=1", "GPTBot")
        bare = check.check(base, "GPTBot")
    assert first.source == "fetch" and second.source == "memory" and bare.source == "memory"
    assert first.reserved and second.reserved and bare.reserved


def test_memoized_answers_depend_on_the_path_and_query(redis_url: str) -> None:
    robots = "User-agent: *\nDisallow: /*?private\nDisallow: /secret\n"
    with PolicyServer(robots) as server, checker(redis_url) as check:
        for _ in range(2):  # the second round is answered from the memo
            assert check.check(f"{server.origin}/page", "Bot", "crawl").decision is Decision.ALLOWED
            assert check.check(f"{server.origin}/page?private", "Bot", "crawl").reserved
            assert check.check(f"{server.origin}/secret#x", "Bot", "crawl").reserved
            assert check.check(f"{server.origin}?private", "Bot", "crawl").reserved


def test_urls_matching_the_same_rules_share_cells_but_not_the_url(redis_url: str) -> None:
    robots = "User-agent: *\nDisallow: /private/\n"
    with PolicyServer(robots) as server, checker(redis_url) as check:
        first = check.check(f"{server.origin}/private/a", "Bot")
        second = check.check(f"{server.origin}/private/b?x=1", "Bot")
        other = check.check(f"{server.origin}/public", "Bot")
    assert (first.url, second.url) == (
        f"{server.origin}/private/a",
        f"{server.origin}/private/b?x=1",
    )
    assert first.reserved and second.reserved and not other.reserved
    assert second.decisions is first.decisions and second.evidence is first.evidence
    assert other.decisions is not first.decisions


def test_stale_note_is_on_new_urls_too(redis_url: str) -> None:
    with PolicyServer("User-agent: *\nAllow: /\n") as server:
        settings = dict(ttl=0.3, failure_ttl=0.3)
        with checker(redis_url, cache=settings) as check:
            fresh = check.check(f"{server.origin}/a", "Bot", "crawl")
            server.status = 503
            time.sleep(0.35)
            stale_seen = check.check(f"{server.origin}/a", "Bot", "crawl")
            stale_new = check.check(f"{server.origin}/b", "Bot", "crawl")
    assert not any(e.signal == "cache" for e in fresh.evidence)
    for verdict in (stale_seen, stale_new):
        assert verdict.stale and verdict.decision is Decision.ALLOWED
        assert [e.signal for e in verdict.evidence].count("cache") == 1


def test_memoized_answers_stay_within_memo_size(redis_url: str) -> None:
    robots = "User-agent: *\nDisallow: /private/\n"
    with PolicyServer(robots) as server, checker(redis_url, memo_size=100) as check:
        for i in range(350):
            verdict = check.check(f"{server.origin}/private/{i}", "Bot")
            assert verdict.reserved
            assert check.memoized <= 100
            assert not check.check(f"{server.origin}/public/{i}", "Bot").reserved
        assert check.memoized > 0
    with PolicyServer(robots) as server, checker(redis_url, memo_size=0) as check:
        for _ in range(2):
            assert check.check(f"{server.origin}/private/x", "Bot").reserved
        assert check.memoized == 0


def test_each_origins_memo_shrinks_as_origins_are_added(
    small_web: FixtureWeb, redis_url: str
) -> None:
    low, _high = MEMO_PER_ORIGIN
    memo_size = 2 * low  # one origin may keep 2 x 64 answers; two or more, 64 each
    with checker(redis_url, memo_size=memo_size) as check:
        for i in range(100):
            check.check(small_web.url(4, f"/a/{i}"), "GPTBot")
        assert check.memoized == 100  # under the share of the only origin
        for index in (0, 1, 3):
            check.check(small_web.url(index, "/"), "GPTBot")
        for i in range(100, 200):
            check.check(small_web.url(4, f"/a/{i}"), "GPTBot")
            assert check.memoized <= low + 3  # origin 4's share is now 64
    with pytest.raises(ConfigError):
        checker(redis_url, memo_size=-1)


# --- a policy server we can break ------------------------------------------------------------


class PolicyServer:
    """robots.txt on 127.0.0.1 that a test can change or break; counts requests per path."""

    def __init__(self, robots: str, *, delay: float = 0.0) -> None:
        self.robots = robots
        self.status = 200
        self.delay = delay
        self.hits: dict[str, int] = {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                with lock:
                    owner.hits[path] = owner.hits.get(path, 0) + 1
                if path == "/robots.txt" and owner.delay:
                    time.sleep(owner.delay)
                if path == "/robots.txt" and owner.status == 200:
                    body, status = owner.robots.encode(), 200
                elif path == "/robots.txt":
                    body, status = b"unavailable", owner.status
                else:
                    body, status = b"not found", 404
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> PolicyServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
