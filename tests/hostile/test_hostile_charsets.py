"""Charset labels no browser knows must not crash the page parser or hide a page's noai.

Issue #12 item 2: Python's codec registry accepts ``zlib``, ``bz2``, ``rot13``, ``utf-32``,
``cp037``..., which made the page parser crash (bytes-to-bytes codecs) or read the head as
garbage (noai lost). Only the WHATWG Encoding Standard's labels are read, as browsers do.
"""

from __future__ import annotations

import json

import pytest
from hostile_server import HostileServer, Scripted

from reservation_crawler.cli import main

pytestmark = pytest.mark.hostile

NOAI_PAGE = b'<html><head><meta name="robots" content="noai"><title>t</title></head><body>x</body>'
LABELS = ["zlib", "bz2", "rot13", "utf-32", "cp037", "utf8mb4", "iso-2022-kr"]


def _check(capsys, url: str) -> dict:
    assert main(["check", "--json", "--allow-private", "--timeout", "5", url]) == 0
    out = capsys.readouterr().out
    (record,) = [json.loads(line) for line in out.splitlines() if line.strip()]
    return record


@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize("where", ["header", "meta"])
def test_unknown_charset_label_is_a_finding_and_noai_still_reserves(capsys, label, where):
    if where == "header":
        content_type = f"text/html; charset={label}"
        body = NOAI_PAGE
    else:
        content_type = "text/html"
        body = f'<html><head><meta charset="{label}">'.encode("latin-1") + NOAI_PAGE[12:]
    routes = {"/page": Scripted(200, [("Content-Type", content_type)], body)}
    with HostileServer(routes) as server:
        record = _check(capsys, server.url("/page"))
    assert record["decisions"]["*"]["train-ai"] == "reserved", record
    codes = [f["code"] for f in record["findings"]]
    assert "page.unknown-charset" in codes
    message = next(f["message"] for f in record["findings"] if f["code"] == "page.unknown-charset")
    assert "read as UTF-8" in message and "\x00" not in message


@pytest.mark.parametrize(
    ("label", "body"),
    [
        ("latin1", NOAI_PAGE.replace(b"<title>t", b"<title>\xe9t\xe9")),
        ("shift_jis", NOAI_PAGE.replace(b"<title>t", "<title>日本".encode("shift_jis"))),
        ("utf-16le", NOAI_PAGE.decode().encode("utf-16le")),
    ],
)
def test_web_encodings_are_read(capsys, label, body):
    routes = {"/page": Scripted(200, [("Content-Type", f"text/html; charset={label}")], body)}
    with HostileServer(routes) as server:
        record = _check(capsys, server.url("/page"))
    assert record["decisions"]["*"]["train-ai"] == "reserved"
    assert "page.unknown-charset" not in [f["code"] for f in record["findings"]]


@pytest.mark.parametrize("label", ["a\x00b", "utf-\udc80", "\udcff", "x" * 5000])
def test_labels_http_cannot_carry_are_unknown_in_the_library(label):
    # A NUL or a lone surrogate cannot cross h11, but Scrapy's headers and library callers
    # can hand them over; parse_page must report them, not crash.
    from reservation_crawler.signals.page import parse_page

    page = parse_page(
        "http://a.example/", 200, [("Content-Type", f"text/html; charset={label}")], NOAI_PAGE
    )
    assert [d.token for d in page.robots_directives if d.applies_to("*")] == ["noai"]
    (finding,) = [f for f in page.findings if f.code == "page.unknown-charset"]
    assert "\x00" not in finding.message and len(finding.message) < 200
    finding.message.encode("utf-8")  # no lone surrogate in the message


def test_nul_bytes_in_a_meta_charset_make_the_body_binary(capsys):
    body = b'<html><head><meta charset="a\x00b">' + NOAI_PAGE[12:]
    routes = {"/page": Scripted(200, [("Content-Type", "text/html")], body)}
    with HostileServer(routes) as server:
        record = _check(capsys, server.url("/page"))
    assert "page.binary-body" in [f["code"] for f in record["findings"]]


def test_check_goes_on_after_a_hostile_page(capsys):
    routes = {
        "/bad": Scripted(200, [("Content-Type", "text/html; charset=zlib")], NOAI_PAGE),
        "/good": Scripted(200, [("Content-Type", "text/html")], NOAI_PAGE),
    }
    with HostileServer(routes) as server:
        argv = ["check", "--json", "--allow-private", server.url("/bad"), server.url("/good")]
        assert main(argv) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    assert [r["decisions"]["*"]["train-ai"] for r in records] == ["reserved", "reserved"]
