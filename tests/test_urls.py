"""One validation of URLs and hosts (core/urls.py) seen through every path a user takes: the
commands (``cli.main`` and a real process), the library (Checker, Fetcher) and the service.
Bad input: exit 2 / HTTP 400 ``invalid-url`` and the same message everywhere, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from reservation_crawler.apps.server import create_app
from reservation_crawler.cli import main
from reservation_crawler.core.urls import origin_of, target_url
from reservation_crawler.drivers.fetch import Fetcher, FetchLimits
from reservation_crawler.drivers.lookup import AsyncChecker, Checker
from reservation_crawler.errors import InvalidOrigin

FAST = FetchLimits(timeout=0.5)

# Bad input -> what is wrong with it (the message after "invalid URL '<input>': ").
BAD = {
    "http://": "the host is empty",
    "http://a b/": "the host contains a space",
    "http://a:99999/": "the port 99999 is out of range (1-65535)",
    "http://a:x/": "the port 'x' is not a number",
    "ftp://a/": "the scheme 'ftp' is not supported (http or https)",
    "http://user:pw@a/": "user information ('user@') is not accepted",
    "http://a%2Fb/": "the host contains '/'",
    "http://a..b/": "the host has an empty label",
    "http://[::1/": "the IPv6 address has no closing ']'",
    "": "it is empty",
}


def message(given: str) -> str:
    return f"invalid URL {given!r}: {BAD[given]}"


# --- the function ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "url"),
    [
        ("example.com", "https://example.com/"),
        ("EXAMPLE.com:8443/path", "https://example.com:8443/path"),
        ("  example.com/a?b=1#frag ", "https://example.com/a?b=1"),
        ("https://example.com:443", "https://example.com/"),
        ("HTTP://Example.COM:80/X", "http://example.com/X"),
        ("bücher.example", "https://xn--bcher-kva.example/"),  # IDNA 2008, punycode
        ("http://[::1]:8080/", "http://[::1]:8080/"),
        ("[::1]", "https://[::1]/"),
        ("http://a/b c", "http://a/b%20c"),
        ("localhost:8080", "https://localhost:8080/"),
    ],
)
def test_target_url_normalises(given: str, url: str) -> None:
    assert target_url(given) == url


@pytest.mark.parametrize("given", list(BAD))
def test_target_url_names_what_is_wrong(given: str) -> None:
    with pytest.raises(InvalidOrigin) as raised:
        target_url(given)
    assert str(raised.value) == message(given)


def test_bare_host_takes_the_scheme_asked_for() -> None:
    assert target_url("example.com", scheme="http") == "http://example.com/"
    assert origin_of("http://[::1]:8080/x") == "http://[::1]:8080"


# --- the commands ---------------------------------------------------------------------------

# Each command with the bad input in the place of a URL (robots takes it as FILE).
COMMANDS = {
    "check": lambda url: ["check", url],
    "validate": lambda url: ["validate", url],
    "crawl": lambda url: ["crawl", url, "--no-redis"],
    "robots": lambda url: ["robots", url, "/"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("given", [g for g in BAD if "://" in g])
def test_every_command_exit_2_and_one_message(
    command: str, given: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(COMMANDS[command](given)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"reservation-crawler {command}: {message(given)}\n"


@pytest.mark.parametrize("command", ["check", "validate", "crawl"])
def test_an_empty_target_is_exit_2_too(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(COMMANDS[command]("")) == 2
    assert capsys.readouterr().err == f"reservation-crawler {command}: {message('')}\n"


@pytest.mark.parametrize(
    ("given", "url"),
    [
        ("localhost:9/path", "https://localhost:9/path"),  # a bare host, as validate and crawl
        ("LOCALHOST:8443/path", "https://localhost:8443/path"),
        ("bücher.localhost", "https://xn--bcher-kva.localhost/"),
        ("http://[::1]:8080/", "http://[::1]:8080/"),
    ],
)
def test_check_accepts_a_bare_host_and_records_the_normalised_url(
    given: str, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Loopback names, refused by the address guard: nothing leaves the machine.
    assert main(["check", given, "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["url"] == url
    assert record["origin"] == origin_of(url)


def test_a_bad_crawl_target_in_a_file_is_skipped_with_what_is_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from reservation_crawler.scrapy.targets import read_targets

    listed = tmp_path / "targets.txt"
    listed.write_text("example.com\nhttp://a:99999/\n", encoding="utf-8")
    targets = read_targets(files=[listed])
    assert list(targets.by_origin) == ["https://example.com"]
    assert targets.problems == [message("http://a:99999/")]


@pytest.mark.parametrize("command", ["check", "validate", "crawl", "robots"])
def test_no_traceback_from_a_real_process(command: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "reservation_crawler.cli", *COMMANDS[command]("http://a b/")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr == f"reservation-crawler {command}: {message('http://a b/')}\n"


# --- the library ----------------------------------------------------------------------------


@pytest.mark.parametrize("given", list(BAD))
def test_checker_raises_the_same_message(given: str, redis_url: str) -> None:
    with (
        Checker(redis_url=redis_url, limits=FAST) as checker,
        pytest.raises(InvalidOrigin) as raised,
    ):
        checker.check(given, "GPTBot")
    assert str(raised.value) == message(given)


def test_checker_accepts_a_bare_host(redis_url: str) -> None:
    with Checker(redis_url=redis_url, limits=FAST) as checker:
        verdict = checker.check("localhost:9/x", "GPTBot")
        record = checker.record("localhost:9/x", ["GPTBot"])
    assert verdict.url == "localhost:9/x"  # echoed as given
    assert record.record.origin == "https://localhost:9"  # https:// assumed, as on the command line


@pytest.mark.parametrize("given", [g for g in BAD if "://" in g])
def test_fetcher_answers_invalid_url_with_the_same_message(given: str) -> None:
    with Fetcher(limits=FAST) as fetcher:
        result = fetcher.fetch(given)
    assert result.error == "invalid-url" and result.status is None
    assert result.error_detail == message(given)


# --- the service ----------------------------------------------------------------------------


@pytest_asyncio.fixture
async def api(redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    checker = AsyncChecker(redis_url=redis_url, limits=FAST)
    transport = httpx.ASGITransport(app=create_app(checker))
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        yield client
    await checker.aclose()


@pytest.mark.parametrize("path", ["/v1/check", "/v1/record"])
@pytest.mark.parametrize("given", [g for g in BAD if g])
async def test_service_400_invalid_url_naming_the_field(
    api: httpx.AsyncClient, path: str, given: str
) -> None:
    response = await api.get(path, params={"url": given})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid-url" and error["field"] == "url"
    assert error["message"] == f"query 'url': {message(given)}"


async def test_service_batch_item_names_the_field(api: httpx.AsyncClient) -> None:
    response = await api.post("/v1/check", json=[{"url": "http://a:x/"}])
    error: dict[str, Any] = response.json()["results"][0]["error"]
    assert error == {
        "code": "invalid-url",
        "message": f"item 0 'url': {message('http://a:x/')}",
        "index": 0,
        "field": "url",
    }


async def test_service_accepts_a_bare_host(api: httpx.AsyncClient) -> None:
    # Accepted as https://localhost:9/, then refused by the guard, not as a bad URL.
    response = await api.get("/v1/check", params={"url": "localhost:9"})
    assert response.status_code == 403 and response.json()["error"]["code"] == "blocked-address"


# --- the Scrapy middleware ------------------------------------------------------------------


async def test_middleware_drops_a_request_with_user_information(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from scrapy import Request
    from scrapy.exceptions import IgnoreRequest

    from reservation_crawler.scrapy.middleware import ReservationMiddleware

    middleware = ReservationMiddleware(agent="GPTBot", redis_url=redis_url)
    with pytest.raises(IgnoreRequest, match="InvalidOrigin"):
        await middleware.process_request(Request("http://user:pw@a/"))
    warned = [r for r in caplog.records if message("http://user:pw@a/") in r.getMessage()]
    assert warned and warned[0].exc_info is None  # said once, without a traceback
