"""The web front over HTTP (no browser): CSRF, the address guard and rate limit on the forms,
escaping, headers, the static report's template, host variants and spec links. The pages in a
real browser: tests/test_web_browser.py."""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from lxml import html as lxml_html
from registry_site import Site

from reservation_crawler.apps.server import create_app
from reservation_crawler.apps.validate import ReportFinding, validate
from reservation_crawler.apps.web import CSRF_COOKIE, RateLimit
from reservation_crawler.apps.web.render import render_report_html
from reservation_crawler.apps.web.view import host_variants, spec_links
from reservation_crawler.cli import main
from reservation_crawler.model.findings import Severity
from reservation_crawler.testing import AGENTS, FixtureWeb, recipe
from reservation_crawler.testing.sites import MARKUP, markup_in_robots

BROKEN, HOSTILE = 0, 1


@pytest.fixture(scope="module")
def web() -> Iterator[FixtureWeb]:
    recipes = [recipe("tdmrep-broken", "string-value"), markup_in_robots()]
    with FixtureWeb.from_recipes(recipes, corpus=False) as fixture_web:
        yield fixture_web


@contextlib.asynccontextmanager
async def _client(redis_url: str, **kwargs: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(redis_url=redis_url, web_secret="test-secret", **kwargs)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client
    finally:
        checker = app.state.service.checker
        if checker is not None:
            await checker.aclose()
        registry_api = getattr(app.state, "registry_api", None)
        if registry_api is not None:
            registry_api.close()


@pytest_asyncio.fixture
async def client(redis_url: str, tmp_path: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(
        redis_url, allow_private=True, registry=str(tmp_path / "registry.sqlite3")
    ) as c:
        yield c


def _token(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, "no CSRF field on the page"
    return match.group(1)


FORM = {
    "kind": "sha256",
    "sha256": "ab" * 32,
    "purpose": "train-ai",
    "agent": "*",
    "contact": "me@example.com",
}


async def test_a_form_without_a_valid_csrf_token_is_refused(client: httpx.AsyncClient) -> None:
    page = await client.get("/register")
    token = _token(page.text)
    assert client.cookies.get(CSRF_COOKIE)
    assert "samesite=strict" in page.headers["set-cookie"].lower()
    missing = await client.post("/register", data=FORM)
    forged = await client.post("/register", data={**FORM, "csrf": token + "x"})
    assert missing.status_code == forged.status_code == 403
    assert "CSRF" in missing.text
    # Another browser's token does not fit this browser's cookie.
    other = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    async with other:
        await other.get("/register")
        stolen = await other.post("/register", data={**FORM, "csrf": token})
        assert stolen.status_code == 403
    made = await client.post("/register", data={**FORM, "csrf": token})
    assert made.status_code == 201 and "ab" * 32 in made.text
    assert made.headers["cache-control"] == "no-store"  # the secret is shown once
    # JSON and multipart bodies are not forms this front reads.
    wrong = await client.post("/register", json={**FORM, "csrf": token})
    assert wrong.status_code == 415


async def test_the_check_form_goes_through_the_address_guard(redis_url: str) -> None:
    async with _client(redis_url, allow_private=False) as c:
        blocked = await c.get("/", params={"site": "http://127.0.0.1:9/"})
        assert blocked.status_code == 403
        assert "private, loopback or link-local" in blocked.text
        assert 'role="alert"' in blocked.text and "verdict-title" not in blocked.text
        bad = await c.get("/", params={"site": "ftp://example.com/"})
        assert bad.status_code == 400 and "invalid URL" in bad.text
        agent = await c.get("/", params={"site": "example.com", "agents": "Mozilla/5.0 (X11)"})
        assert agent.status_code == 400
        many = await c.get("/", params={"site": "example.com", "agents": "A " * 17})
        assert many.status_code == 400 and "at most 16" in many.text


async def test_the_check_form_is_rate_limited(redis_url: str) -> None:
    async with _client(redis_url, allow_private=False) as c:
        answers = [
            (await c.get("/", params={"site": "http://127.0.0.1:9/"})).status_code
            for _ in range(21)
        ]
        assert answers == [403] * 20 + [429]
        limited = await c.get("/", params={"site": "http://127.0.0.1:9/"})
        assert int(limited.headers["retry-after"]) > 0 and "Too many requests" in limited.text


def test_rate_limit_window() -> None:
    now = [0.0]
    limit = RateLimit(2, window=10, clock=lambda: now[0])
    assert [limit.retry_after("a"), limit.retry_after("a"), limit.retry_after("a")] == [0, 0, 10]
    assert limit.retry_after("b") == 0  # per client
    now[0] = 10.5
    assert limit.retry_after("a") == 0


async def test_pages_carry_security_headers_and_escape_publisher_text(
    client: httpx.AsyncClient, web: FixtureWeb
) -> None:
    page = await client.get("/", params={"site": web.base_url(HOSTILE)})
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert MARKUP not in page.text
    document = lxml_html.fromstring(page.text)
    assert [s.get("src") for s in document.xpath("//script")] == ["/static/app.js"]
    line = document.get_element_by_id("file-robots-txt-L2")
    assert line.xpath("string(.//code)") == f"Disallow: /{MARKUP}"
    # The permalink repeats the query, escaped.
    assert document.get_element_by_id("permalink").get("href").startswith("/?site=http%3A")
    for path in ("/static/style.css", "/static/app.js"):
        assert (await client.get(path)).status_code == 200


async def test_without_a_registry_or_audit_log_the_pages_say_so(redis_url: str) -> None:
    async with _client(redis_url) as c:
        register = await c.get("/register")
        assert "keeps no registry" in register.text
        sent = await c.post("/register", data={**FORM, "csrf": _token(register.text)})
        assert sent.status_code == 404
        audit = await c.get("/audit")
        assert "keeps no audit log" in audit.text


def test_validate_html_is_the_web_report_with_files_and_no_script(web: FixtureWeb) -> None:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        status = main(["validate", "--html", "--allow-private", web.base_url(BROKEN)])
    assert status == 1
    page = buffer.getvalue()
    document = lxml_html.fromstring(page)
    assert not document.xpath("//script") and document.xpath("//style")
    assert not document.xpath("//link[@rel='stylesheet']")  # self-contained
    line = document.get_element_by_id("file-tdmrep-json-L2")
    assert line.get("class") == "marked error"
    assert "tdmrep.invalid-reservation" in line.text_content()
    first = document.xpath("//article[contains(@class, 'finding')]")[0]
    assert first.xpath(".//a[@href='#file-tdmrep-json-L2']")
    # The JSON report does not carry the files (kept only for the page).
    report = validate(web.base_url(BROKEN), allow_private=True)
    assert "files" not in report.to_json()
    assert render_report_html(report).count('class="marked') == 0


def test_host_variants() -> None:
    assert host_variants("https://example.com/a?b") == [
        "https://example.com/a?b",
        "http://example.com/a?b",
        "https://www.example.com/a?b",
        "http://www.example.com/a?b",
    ]
    assert host_variants("http://www.example.com:8080/")[2] == "http://example.com:8080/"
    assert host_variants("http://127.0.0.1:8080/") == [
        "http://127.0.0.1:8080/",
        "https://127.0.0.1:8080/",
    ]
    assert len(host_variants("http://[::1]/")) == 2


def test_spec_links_cite_the_sections_the_explanation_names() -> None:
    def finding(source: str, explanation: str) -> ReportFinding:
        return ReportFinding("x.y", Severity.WARNING, source, "t", explanation, "", "", ())

    cited = spec_links(finding("robots.txt", "As RFC 9309 §2.2.1 says, and TDMRep §4."))
    assert [(link.label, link.url) for link in cited] == [
        ("RFC 9309 §2.2.1", "https://www.rfc-editor.org/rfc/rfc9309.html#section-2.2.1"),
        (
            "TDMRep §4",
            "https://www.w3.org/community/reports/tdmrep/CG-FINAL-tdmrep-20240510/",
        ),
    ]
    (plain,) = spec_links(finding("content-signal", "no citation"))
    assert plain.url == "https://contentsignals.org/"
    assert spec_links(finding("nobody-knows", "no citation")) == ()


def test_the_markup_site_keeps_its_ground_truth(web: FixtureWeb) -> None:
    truth = web.truth(HOSTILE)
    argv = ["check", "--json", "--allow-private", *truth["expected"]]
    for agent in AGENTS:
        argv += ["--agent", agent]
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(argv) == 0
    records = {r["url"]: r for r in map(json.loads, buffer.getvalue().splitlines())}
    compared = 0
    for url, per_agent in truth["expected"].items():
        for agent, cells in per_agent.items():
            for purpose, want in cells.items():
                if want is not None:
                    assert records[url]["decisions"][agent][purpose] == want, (url, agent)
                    compared += 1
    assert compared > 20


async def test_serve_without_the_web_front(redis_url: str) -> None:
    async with _client(redis_url, web=False) as c:
        assert (await c.get("/")).status_code == 404
        assert (await c.get("/register")).status_code == 404
        assert (await c.get("/healthz")).status_code == 200


def test_templates_and_static_files_are_package_data() -> None:
    """A non-editable install ships every template and static file (pyproject package-data)."""
    import fnmatch
    import tomllib
    from pathlib import Path

    root = Path(__file__).parents[1]
    package = root / "src" / "reservation_crawler"
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    globs = config["tool"]["setuptools"]["package-data"]["reservation_crawler"]
    files = [
        p.relative_to(package).as_posix()
        for folder in ("templates", "static")
        for p in (package / "apps" / "web" / folder).iterdir()
    ]
    assert len(files) >= 10
    for name in files:
        assert any(fnmatch.fnmatch(name, glob) for glob in globs), name


async def test_a_refused_registration_marks_its_field(client: httpx.AsyncClient) -> None:
    token = _token((await client.get("/register")).text)
    bad = await client.post("/register", data={**FORM, "sha256": "12", "csrf": token})
    assert bad.status_code == 400 and "64 hexadecimal digits" in bad.text
    document = lxml_html.fromstring(bad.text)
    assert document.get_element_by_id("sha256").get("aria-invalid") == "true"
    assert document.get_element_by_id("target").get("aria-invalid") is None
    assert document.get_element_by_id("sha256").get("value") == "12"  # kept for correcting


async def test_an_html_page_served_as_robots_txt_is_shown_as_text(
    client: httpx.AsyncClient,
) -> None:
    hostile = "<!DOCTYPE html><html><body><script>alert(1)</script><img src=x onerror=alert(2)>"
    with Site() as site:
        site.put("/robots.txt", hostile, "text/html")
        page = await client.get("/", params={"site": site.origin})
    assert page.status_code == 200
    assert "robots.html-body" in page.text and "<script>alert" not in page.text
    document = lxml_html.fromstring(page.text)
    assert [s.get("src") for s in document.xpath("//script")] == ["/static/app.js"]
    assert not document.xpath("//img")
    line = document.get_element_by_id("file-robots-txt-L1")
    assert line.xpath("string(.//code)") == hostile
