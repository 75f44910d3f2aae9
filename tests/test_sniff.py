"""WHATWG MIME Sniffing §7.1 HTML detection, shared by ai.txt and page parsing."""

from __future__ import annotations

import pytest

from reservation_crawler.signals.sniff import SNIFF_BYTES, looks_like_html


@pytest.mark.parametrize(
    "data",
    [
        b"<!DOCTYPE html><html>",
        b"\xef\xbb\xbf  \n<HTML lang=en>",
        "<html>",
        b"<!-- a comment first -->",
        b"\t<head>",
        b"<p>hello",
        b"<a href=x>",
        b"<title>Not found</title>",
        b"<meta charset=utf-8>",
    ],
)
def test_whatwg_html_patterns_are_html(data):
    assert looks_like_html(data)


@pytest.mark.parametrize(
    "data",
    [
        b"User-agent: *\nDisallow: /",
        b"<pre>",  # not an HTML pattern: needs a tag from the list
        b"<abbr>",  # "<a" must be followed by a terminator
        b"<?xml version='1.0'?><rsl/>",
        b"# Spawning AI\n<html>",  # markup later in the file does not count
        b"",
        b" " * SNIFF_BYTES + b"<html>",  # beyond the sniffed window
    ],
)
def test_other_content_is_not_html(data):
    assert not looks_like_html(data)
