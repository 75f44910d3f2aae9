"""check and validate give the same findings about a fetched file (issue 12 item 14).

robots.wrong-media-type and robots.control-only-token come from the origin policy, so a check
record (and so the Checker and the crawl) carries them, and validate presents the same ones.
"""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from reservation_crawler.cli import main
from reservation_crawler.testing import FixtureWeb, every_variant

FILE_CODES = {"robots.wrong-media-type", "robots.control-only-token"}


def _run(argv: list[str]) -> tuple[int, str]:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(argv)
    return code, buffer.getvalue()


@pytest.fixture(scope="module")
def web():
    wanted = {
        ("robots-wrong-type", "text-html"),
        ("content-signal-robots", "cloudflare-managed"),
        ("plain", ""),
    }
    recipes = [
        r for r in every_variant(corpus=None) if (r.kind, r.variant) in wanted or r.kind == "plain"
    ]
    with FixtureWeb.from_recipes(recipes, corpus=False) as w:
        yield w


def _codes(findings) -> set[str]:
    return {f["code"] for f in findings} & FILE_CODES


@pytest.mark.parametrize(
    ("variant", "code"),
    [("text-html", "robots.wrong-media-type"), ("cloudflare-managed", "robots.control-only-token")],
)
def test_check_and_validate_report_the_same_file_findings(web, variant, code):
    site = next(i for i, r in enumerate(web.recipes) if r.variant == variant)
    code_check, out = _run(
        ["check", "--json", "--allow-private", "--agent", "GPTBot", web.url(site)]
    )
    assert code_check == 0
    record = json.loads(out)
    _, out = _run(["validate", "--json", "--allow-private", web.url(site)])
    report = json.loads(out)
    assert code in _codes(record["findings"])
    assert _codes(record["findings"]) == _codes(report["findings"])
    shown = next(f for f in report["findings"] if f["code"] == code)
    assert len(shown["occurrences"]) == 1  # once, not once from the policy and once from validate


def test_a_plain_site_has_no_file_findings(web):
    site = next(i for i, r in enumerate(web.recipes) if r.kind == "plain")
    _, out = _run(["check", "--json", "--allow-private", web.url(site)])
    assert _codes(json.loads(out)["findings"]) == set()
