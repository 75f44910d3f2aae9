"""Policy files whose framing or coding is unusual are read the same way whatever the framing
(#12 items 7 and 12): RFC 9309 §2.5 reads the first 500 KiB; RFC 1952 §2.2 gzip members."""

from __future__ import annotations

import gzip
import json

import pytest
from hostile_server import HostileServer, Scripted

from reservation_crawler.cli import main

pytestmark = pytest.mark.hostile

RULES = b"User-agent: GPTBot\nDisallow: /\n\nUser-agent: *\nAllow: /\n"


def _record(capsys, url: str) -> dict:
    assert main(["check", "--json", "--allow-private", "--agent", "GPTBot", url]) == 0
    return json.loads(capsys.readouterr().out)


def _lying_length(body: bytes, announced: int) -> Scripted:
    """Headers announcing ``announced`` bytes, then only ``body`` and a closed connection."""
    response = Scripted(200, [("Content-Type", "text/plain")], body, content_length=False)
    response.headers.append(("Content-Length", str(announced)))
    return response


@pytest.mark.parametrize("framing", ["content-length", "close-delimited"])
def test_rfc9309_an_over_cap_robots_txt_is_read_up_to_the_cap_whatever_the_framing(capsys, framing):
    body = RULES + b"# padding\n" * 70_000  # 700 KB, over the 600,000-byte robots.txt cap
    if framing == "content-length":
        response = _lying_length(body, 10**12)  # announces a terabyte
    else:
        response = Scripted(200, [("Content-Type", "text/plain")], body, content_length=False)
    with HostileServer({"/robots.txt": response}) as server:
        record = _record(capsys, server.url("/page"))
    robots = record["sources"]["robots.txt"]
    assert robots["outcome"] == "ok", robots
    assert record["decisions"]["GPTBot"]["crawl"] == "reserved"  # the rules were read
    assert record["decisions"]["*"]["crawl"] == "allowed"  # not a complete disallow
    assert "fetch.truncated" in [f["code"] for f in record["findings"]]


def test_a_multi_member_gzip_robots_txt_is_read_to_its_last_member(capsys):
    body = gzip.compress(b"User-agent: *\nAllow: /\n\n") + gzip.compress(
        b"User-agent: GPTBot\nDisallow: /\n"
    )
    headers = [("Content-Type", "text/plain"), ("Content-Encoding", "gzip")]
    with HostileServer({"/robots.txt": Scripted(200, headers, body)}) as server:
        record = _record(capsys, server.url("/page"))
    assert record["sources"]["robots.txt"]["outcome"] == "ok"
    assert record["decisions"]["GPTBot"]["crawl"] == "reserved"  # from the second member


def test_a_robots_txt_head_with_a_17k_header_line_is_unreachable_in_check_as_in_the_crawl(capsys):
    headers = [("Content-Type", "text/plain"), ("X-Padding", "p" * 17_000)]
    with HostileServer({"/robots.txt": Scripted(200, headers, RULES)}) as server:
        record = _record(capsys, server.url("/page"))
    robots = record["sources"]["robots.txt"]
    assert (robots["outcome"], robots["error"]) == ("unreachable", "reset")
    assert record["decisions"]["*"]["crawl"] == "reserved"  # RFC 9309 §2.3.1.4
