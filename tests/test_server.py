"""The HTTP service: endpoints against the fixture web, input validation and caps, the address
guard, Redis down, the OpenAPI description, and ``reservation-crawler serve`` as a process."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from reservation_crawler.apps.server import ServiceLimits, create_app, openapi_schema
from reservation_crawler.cli import build_parser
from reservation_crawler.drivers.fetch import FetchLimits
from reservation_crawler.drivers.lookup import AsyncChecker
from reservation_crawler.errors import ConfigError
from reservation_crawler.testing import FixtureWeb, recipe

FAST = FetchLimits(timeout=0.5)
LIMITS = ServiceLimits(max_body_bytes=250_000, max_batch=50, max_url_length=300)


@pytest.fixture(scope="module")
def web() -> Iterator[FixtureWeb]:
    recipes = [
        recipe("robots-ai-block"),  # 0
        recipe("tdmrep-file"),  # 1
        recipe("plain"),  # 2
        recipe("robots-5xx"),  # 3
    ]
    with FixtureWeb.from_recipes(recipes, corpus=False) as fixture_web:
        yield fixture_web


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _client(checker: AsyncChecker, **kwargs: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(checker, limits=LIMITS, **kwargs)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        yield client
    await checker.aclose()


@pytest_asyncio.fixture
async def api(redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The service with --allow-private (the fixture web is on loopback)."""
    checker = AsyncChecker(redis_url=redis_url, allow_private=True, limits=FAST)
    async for client in _client(checker):
        yield client


@pytest_asyncio.fixture
async def guarded_api(redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The service as deployed: private addresses refused."""
    async for client in _client(AsyncChecker(redis_url=redis_url, limits=FAST)):
        yield client


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    return error


# --- endpoints -------------------------------------------------------------------------------


async def test_get_check_answers_from_the_fixture_web(
    api: httpx.AsyncClient, web: FixtureWeb
) -> None:
    truth = web.truth(0)["expected"][web.url(0, "/a/1.html")]
    for agent in ("GPTBot", "CCBot", "*"):
        for purpose in ("crawl", "train-ai", "ai-use", "search"):
            response = await api.get(
                "/v1/check",
                params={"url": web.url(0, "/a/1.html"), "agent": agent, "purpose": purpose},
            )
            assert response.status_code == 200
            verdict = response.json()
            assert verdict["agent"] == agent and verdict["purpose"] == purpose
            if verdict["final"] or truth[agent][purpose] != "reserved":
                assert verdict["decision"] == truth[agent][purpose], (agent, purpose, verdict)
    first = (await api.get("/v1/check", params={"url": web.url(2, "/")})).json()
    assert first["agent"] == "*" and first["purpose"] == "train-ai"
    assert first["decision"] == "unspecified" and first["source"] == "fetch"
    again = (await api.get("/v1/check", params={"url": web.url(2, "/b/1.html")})).json()
    assert again["source"] == "memory"


async def test_post_check_batch_in_order(api: httpx.AsyncClient, web: FixtureWeb) -> None:
    items = [
        {"url": web.url(0, "/"), "agent": "GPTBot", "purpose": "crawl"},
        {"url": web.url(1, "/a/1.html"), "agent": "CCBot"},
        {"url": web.url(2, "/")},
        {"url": web.url(3, "/"), "purpose": "search"},
    ]
    response = await api.post("/v1/check", json=items)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["url"] for r in results] == [i["url"] for i in items]
    assert [r["decision"] for r in results] == ["reserved", "reserved", "unspecified", "reserved"]
    assert results[1]["final"] is False  # tdmrep.json alone: a page header may lift it
    assert "HTTP 500" in results[3]["evidence"][0]["raw"]
    for item, result in zip(items, results, strict=True):
        single = (await api.get("/v1/check", params=item)).json()
        assert single["decision"] == result["decision"]
        assert single["evidence"] == result["evidence"]
    assert (await api.post("/v1/check", json=[])).json() == {"results": [], "errors": 0}


async def test_get_record(api: httpx.AsyncClient, web: FixtureWeb) -> None:
    response = await api.get(
        "/v1/record", params=[("url", web.url(0, "/a/1.html")), ("agent", "GPTBot")]
    )
    assert response.status_code == 200
    body = response.json()
    record = body["record"]
    assert record["schema"] == "reservation-record/1"
    assert record["url"] == web.url(0, "/a/1.html")
    assert set(record["decisions"]) == {"*", "GPTBot"}
    assert record["decisions"]["GPTBot"]["crawl"] == "reserved"
    assert record["decisions"]["*"]["crawl"] == "allowed"
    assert record["sources"]["robots.txt"]["outcome"] == "ok"
    assert body["source"] in {"fetch", "memory"} and body["stale"] is False


async def test_healthz(api: httpx.AsyncClient) -> None:
    response = await api.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok" and response.json()["redis"] == "reachable"


# --- Redis down ---------------------------------------------------------------------------------


async def test_redis_down_is_503_or_fail_closed(web: FixtureWeb) -> None:
    dead = f"redis://127.0.0.1:{closed_port()}/0"
    async for client in _client(AsyncChecker(redis_url=dead, allow_private=True)):
        health = await client.get("/healthz")
        assert health.status_code == 503 and health.json()["redis"] == "unreachable"
        assert_error(
            await client.get("/v1/check", params={"url": web.url(2, "/")}), 503, "cache-unavailable"
        )
    checker = AsyncChecker(redis_url=dead, allow_private=True, fail_closed=True)
    async for client in _client(checker):
        verdict = (await client.get("/v1/check", params={"url": web.url(2, "/")})).json()
        assert verdict["decision"] == "reserved" and verdict["source"] == "fail-closed"
        assert "cache unavailable" in verdict["evidence"][0]["raw"]


# --- validation and caps -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({}, 400, "missing-url"),
        ({"url": ""}, 400, "missing-url"),
        ({"url": "ftp://example.com/"}, 400, "invalid-url"),
        ({"url": "/relative"}, 400, "invalid-url"),
        ({"url": "https://example.com/" + "a" * 300}, 414, "url-too-long"),
        ({"url": "https://example.com/", "purpose": "resell"}, 400, "invalid-purpose"),
        ({"url": "https://example.com/", "agent": "Bad\x01Bot"}, 400, "invalid-agent"),
        ({"url": "https://example.com/", "agent": "x" * 129}, 400, "invalid-agent"),
        ([("url", "https://a.example/"), ("url", "https://b.example/")], 400, "repeated-parameter"),
    ],
)
async def test_get_check_validates_input(
    api: httpx.AsyncClient, params: Any, status: int, code: str
) -> None:
    assert_error(await api.get("/v1/check", params=params), status, code)


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        (b"{not json", {}, 400, "invalid-json"),
        (b'{"url": "https://example.com/"}', {}, 400, "invalid-batch"),
        (b"[" * 100_000 + b"]" * 100_000, {}, 400, "invalid-json"),
        (b"[]", {"content-type": "text/plain"}, 415, "unsupported-media-type"),
        (json.dumps([{"url": "https://e.com/"}] * 51).encode(), {}, 413, "batch-too-large"),
        (b"[" + b" " * 250_001 + b"]", {}, 413, "body-too-large"),
    ],
)
async def test_post_check_validates_input(
    api: httpx.AsyncClient, body: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    sent = {"content-type": "application/json", **headers}
    assert_error(await api.post("/v1/check", content=body, headers=sent), status, code)


async def test_batch_answers_each_item_a_bad_one_with_its_own_error(
    api: httpx.AsyncClient, web: FixtureWeb
) -> None:
    items: list[Any] = [
        {"url": web.url(0, "/"), "agent": "GPTBot"},
        {"url": "gopher://example.com/"},
        "https://example.com/",
        {"url": "https://example.com/", "agnet": "x"},
        {"url": "https://example.com/", "purpose": "x"},
        {"url": web.url(2, "/"), "agent": "GPTBot"},
    ]
    response = await api.post("/v1/check", json=items)
    assert response.status_code == 200, response.text
    body = response.json()
    results = body["results"]
    assert len(results) == len(items) and body["errors"] == 4
    assert results[0]["decision"] == "reserved" and results[5]["url"] == web.url(2, "/")
    codes = [r["error"]["code"] if "error" in r else None for r in results]
    assert codes == [None, "invalid-url", "invalid-item", "invalid-item", "invalid-purpose", None]
    for index in (1, 2, 3, 4):
        error = results[index]["error"]
        assert error["index"] == index and f"item {index}" in error["message"]


async def test_streamed_body_over_the_cap_is_refused(api: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"["
        for _ in range(300):
            yield b" " * 1000
        yield b"]"

    response = await api.post(
        "/v1/check", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_error(response, 413, "body-too-large")


async def test_unknown_paths_and_methods_are_json_errors(api: httpx.AsyncClient) -> None:
    assert_error(await api.get("/v2/check"), 404, "not-found")
    response = await api.delete("/v1/check")
    error = assert_error(response, 405, "method-not-allowed")
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert {"GET", "POST"} <= allowed  # RFC 9110 §15.5.6: the header, naming every method
    assert error["allow"] == response.headers["allow"]
    response = await api.post("/healthz")
    assert_error(response, 405, "method-not-allowed")
    assert "GET" in response.headers["allow"] and "POST" not in response.headers["allow"]


async def test_record_validates_agents(api: httpx.AsyncClient) -> None:
    params = [("url", "https://example.com/")] + [("agent", f"Bot{i}") for i in range(17)]
    assert_error(await api.get("/v1/record", params=params), 400, "too-many-agents")


# --- the address guard ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/",
        "http://s00002.fixture.localhost:{port}/",
        "http://localhost:{port}/",
        "http://[::1]:{port}/",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/",
    ],
)
async def test_private_targets_are_refused_without_allow_private(
    guarded_api: httpx.AsyncClient, web: FixtureWeb, target: str
) -> None:
    url = target.format(port=web.port)
    before = web.total_requests
    error = assert_error(
        await guarded_api.get("/v1/check", params={"url": url}), 403, "blocked-address"
    )
    assert "--allow-private" in error["message"]
    batch = await guarded_api.post("/v1/check", json=[{"url": url}])
    assert batch.status_code == 200
    assert batch.json()["results"][0]["error"]["code"] == "blocked-address"
    assert_error(await guarded_api.get("/v1/record", params={"url": url}), 403, "blocked-address")
    assert web.total_requests == before


def test_given_checker_decides_allow_private() -> None:
    checker = AsyncChecker(redis_url="redis://127.0.0.1:1/0", allow_private=True)
    with pytest.raises(ConfigError):
        create_app(checker, allow_private=False)
    create_app(checker)  # inherits allow_private=True


# --- OpenAPI ------------------------------------------------------------------------------------


async def test_openapi_describes_every_route(api: httpx.AsyncClient) -> None:
    response = await api.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"] == "3.1.0"
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    # The JSON API's routes; the web front's HTML pages are described in docs/web.md.
    app = create_app(AsyncChecker(redis_url="redis://127.0.0.1:1/0"), web=False)
    served = {
        (route.path, method)
        for route in app.routes
        for method in (route.methods or ())  # type: ignore[attr-defined]
        if method != "HEAD"
    }
    assert served == documented
    text = json.dumps(spec)
    for ref in set(re.findall(r'"\$ref": "#/components/schemas/(\w+)"', text)):
        assert ref in spec["components"]["schemas"]
    check_get = spec["paths"]["/v1/check"]["get"]
    assert {p["name"] for p in check_get["parameters"]} == {"url", "agent", "purpose"}
    batch = spec["paths"]["/v1/check"]["post"]["requestBody"]["content"]["application/json"]
    assert batch["schema"]["maxItems"] == LIMITS.max_batch
    assert openapi_schema(LIMITS) == spec


# --- the command --------------------------------------------------------------------------------


def test_serve_is_registered_with_its_options() -> None:
    parser = build_parser()
    args = parser.parse_args(["serve", "--port", "0", "--redis", "redis://x", "--allow-private"])
    assert (args.host, args.port, args.redis, args.allow_private) == (
        "127.0.0.1",
        0,
        "redis://x",
        True,
    )
    defaults = parser.parse_args(["serve"])
    assert (defaults.port, defaults.allow_private, defaults.fail_closed) == (8000, False, False)


def test_serve_subprocess_on_an_ephemeral_loopback_port(
    web: FixtureWeb, redis_url: str, tmp_path: Any
) -> None:
    command = [
        sys.executable,
        "-m",
        "reservation_crawler.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--redis",
        redis_url,
        "--allow-private",
    ]
    with subprocess.Popen(
        command,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        # The audit log is on by default, in the user data directory: here a temporary one.
        env={**os.environ, "PYTHONUNBUFFERED": "1", "XDG_DATA_HOME": str(tmp_path)},
    ) as process:
        try:
            assert process.stderr is not None
            ready, _, _ = select.select([process.stderr], [], [], 60)
            line = process.stderr.readline() if ready else ""
            match = re.search(r"listening on (http://127\.0\.0\.1:(\d+))", line)
            assert match, line
            with httpx.Client(base_url=match.group(1), timeout=30, trust_env=False) as client:
                assert client.get("/healthz").json()["status"] == "ok"
                verdict = client.get(
                    "/v1/check",
                    params={"url": web.url(0, "/"), "agent": "GPTBot", "purpose": "crawl"},
                ).json()
                assert verdict["decision"] == "reserved"
                assert verdict["evidence"][0]["raw"] == "Disallow: /"
                batch = client.post("/v1/check", json=[{"url": web.url(2, "/")}] * 3).json()
                assert [r["decision"] for r in batch["results"]] == ["unspecified"] * 3
                assert client.get("/openapi.json").json()["openapi"] == "3.1.0"
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    assert process.returncode == 0


def test_serve_reports_an_address_in_use() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "reservation_crawler.cli", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr


def test_serve_answers_keep_alive_requests_without_a_delayed_ack_stall(redis_url: str) -> None:
    """Each response's head and body go out together: with Nagle on (a listening socket whose
    proto is 0 gets no TCP_NODELAY from asyncio) every keep-alive request took 40+ ms."""
    command = [sys.executable, "-m", "reservation_crawler.cli", "serve", "--port", "0"]
    with subprocess.Popen(
        [*command, "--redis", redis_url],
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
                client.get("/openapi.json").raise_for_status()  # connected and warm
                took = []
                for _ in range(30):
                    started = time.perf_counter()
                    client.get("/openapi.json").raise_for_status()
                    took.append(time.perf_counter() - started)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    assert sorted(took)[len(took) // 2] < 0.03, f"median {sorted(took)[15] * 1000:.1f} ms"
