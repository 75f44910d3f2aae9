"""Content sniffing shared by the parsers: is this body an HTML page?

WHATWG MIME Sniffing §7.1 ("rules for identifying an unknown MIME type"), the HTML patterns:
after leading whitespace, one of the tags below followed by a tag-terminating byte (space or
">"; we also accept the other whitespace bytes), or a comment opener. Used where a publisher's
file (ai.txt, a page served with an unknown type) may really be an HTML error page.
"""

from __future__ import annotations

SNIFF_BYTES = 1024  # the spec's resource header is at most 1445 bytes; 1 KiB is enough here

_WHITESPACE = b"\t\n\x0c\r "
_TERMINATORS = (b" ", b">", b"\t", b"\n", b"\r", b"\x0c")
_HTML_TAGS = tuple(
    tag.encode()
    for tag in (
        "<!doctype html",
        "<html",
        "<head",
        "<script",
        "<iframe",
        "<h1",
        "<div",
        "<font",
        "<table",
        "<a",
        "<style",
        "<title",
        "<b",
        "<body",
        "<br",
        "<p",
        "<meta",  # not in the spec's list, but a page that opens with <meta> is HTML
    )
)


def looks_like_html(data: bytes | str) -> bool:
    """True when the start of ``data`` is an HTML tag or comment (case-insensitive)."""
    head = data[:SNIFF_BYTES]
    if isinstance(head, str):
        head = head.encode("utf-8", "replace")
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip(_WHITESPACE).lower()
    if head.startswith(b"<!--"):
        return True
    for tag in _HTML_TAGS:
        if head.startswith(tag) and head[len(tag) : len(tag) + 1] in _TERMINATORS:
            return True
    return False
