"""validate starts every report with a one-line verdict, labels generic examples, and says
"try http://" when TLS fails on a port other than 443 (issue 11 item 12)."""

from __future__ import annotations

import contextlib
import http.server
import io
import json
import threading
from collections.abc import Iterator

import pytest

from reservation_crawler.apps.validate import EXAMPLE_LABEL
from reservation_crawler.cli import main
from reservation_crawler.testing import FixtureWeb, every_variant

VARIANTS = {
    ("plain", "allow-all"),
    ("robots-ai-block", "one-bot"),
    ("robots-block-all", "star"),
    ("plain", "search-engine-group"),
}


def _run(argv: list[str]) -> tuple[int, str]:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(argv)
    return code, buffer.getvalue()


@pytest.fixture(scope="module")
def web() -> Iterator[FixtureWeb]:
    recipes = [r for r in every_variant(corpus=None) if (r.kind, r.variant) in VARIANTS]
    with FixtureWeb.from_recipes(recipes, corpus=False) as w:
        yield w


def _site(web: FixtureWeb, kind: str, variant: str) -> str:
    return web.url(
        next(i for i, r in enumerate(web.recipes) if (r.kind, r.variant) == (kind, variant))
    )


@pytest.mark.parametrize(("kind", "variant"), sorted(VARIANTS))
def test_the_verdict_agrees_with_the_matrix_and_the_counts(web, kind, variant):
    _, out = _run(["validate", "--json", "--allow-private", _site(web, kind, variant)])
    report = json.loads(out)
    assert next(iter(report)) in ("schema", "verdict")
    verdict = report["verdict"]
    rows = {row["agent"]: row["decisions"]["train-ai"] for row in report["pages"][0]["matrix"]}
    reserved = [agent for agent, d in rows.items() if agent != "*" and d == "reserved"]
    if rows["*"] == "reserved":
        assert verdict.startswith("No AI agent may train on this site")
    elif reserved:
        assert verdict.startswith(f"{reserved[0]}") and "may not train on this site" in verdict
    else:
        assert "may not train" not in verdict and "No AI agent" not in verdict
    errors, warnings = report["summary"]["error"], report["summary"]["warning"]
    if errors or warnings:
        assert verdict.endswith(
            f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
        )
    else:
        assert verdict.endswith("no errors or warnings")


def test_one_blocked_bot_is_named_in_the_verdict(web):
    url = _site(web, "robots-ai-block", "one-bot")
    _, out = _run(["validate", "--json", "--allow-private", url])
    report = json.loads(out)
    (blocked,) = [
        row["agent"]
        for row in report["pages"][0]["matrix"]
        if row["agent"] != "*" and row["decisions"]["train-ai"] == "reserved"
    ]
    assert report["verdict"] == (
        f"{blocked} may not train on this site (other agents: not reserved); no errors or warnings"
    )


def test_text_and_html_start_with_the_verdict_and_label_examples(web):
    url = _site(web, "plain", "search-engine-group")  # a finding with a generic example
    _, out = _run(["validate", "--json", "--allow-private", url])
    verdict = json.loads(out)["verdict"]
    _, text = _run(["validate", "--allow-private", url])
    assert " ".join(text.split("\n\n", 1)[0].split()) == verdict
    assert EXAMPLE_LABEL in text
    _, page = _run(["validate", "--html", "--allow-private", url])
    # The verdict first, then the fixes, then the matrix (the web page's template).
    assert page.index('<p class="verdict">') < page.index('id="findings-title"')
    assert page.index('id="findings-title"') < page.index('class="matrix"')
    assert f'<p>{EXAMPLE_LABEL}</p><pre class="example">' in page
    # The site's own lines stay in plain <pre> blocks, the generic ones only in .example.
    assert page.count('<pre class="example">') == len(json.loads(out)["findings"])


def test_tls_failure_on_a_non_443_port_says_try_http():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        code, text = _run(["validate", "--allow-private", "--timeout", "3", f"127.0.0.1:{port}"])
        _, out = _run(
            ["validate", "--json", "--allow-private", "--timeout", "3", f"127.0.0.1:{port}"]
        )
    finally:
        server.shutdown()
        server.server_close()
    assert code == 2
    assert f"try http://127.0.0.1:{port}/" in text.split("\n\n", 1)[0].replace("\n  ", " ")
    assert f"try http://127.0.0.1:{port}/" in json.loads(out)["verdict"]


class _Quiet(http.server.BaseHTTPRequestHandler):
    """A plain-HTTP server: a TLS ClientHello gets a 400 answer in clear text."""

    def log_message(self, *args: object) -> None:
        pass
