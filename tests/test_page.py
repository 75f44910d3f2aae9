"""Page signals: X-Robots-Tag / robots meta, TDMRep header + meta, usage headers, RSL links."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from reservation_crawler.apps import catalogue as catalogue_module
from reservation_crawler.model import findings as findings_module
from reservation_crawler.model.findings import Severity
from reservation_crawler.signals import page as page_module
from reservation_crawler.signals.page import MAX_HEAD_BYTES, parse_page
from reservation_crawler.signals.tdmrep import effective_tdm, parse_tdmrep_json

DATA = Path(__file__).parent / "data"
EXAMPLES = json.loads((DATA / "headers" / "header_and_meta_examples.json").read_text("utf-8"))[
    "examples"
]
USAGE = json.loads((DATA / "headers" / "usage_header_examples.json").read_text("utf-8"))

HTML = ("Content-Type", "text/html; charset=utf-8")
URL = "https://example.com/articles/one.html"


def codes(found) -> list[str]:
    return [f.code for f in found]


def html_page(head: str, body: str = "<p>text</p>") -> bytes:
    return f"<!DOCTYPE html><html><head>{head}</head><body>{body}</body></html>".encode()


def tokens(signals, agent: str = "*") -> set[str]:
    return {d.token for d in signals.robots_directives if d.applies_to(agent)}


def config_line_to_header(line: str) -> tuple[str, str]:
    """A header as configured in _headers, vercel.json ({"key", "value"}) or .htaccess."""
    line = line.strip()
    if line.startswith("{"):
        item = json.loads(line.rstrip(","))
        return item["key"], item["value"]
    if line.startswith("Header set "):
        name, _, value = line.removeprefix("Header set ").partition(" ")
        return name, value.strip().strip('"')
    name, _, value = line.partition(":")
    return name.strip(), value.strip()


# --- content type -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "body", "content_type", "is_html", "is_image"),
    [
        ([HTML], b"<html></html>", "text/html", True, False),
        (
            [("content-type", "Application/XHTML+XML")],
            b"<html/>",
            "application/xhtml+xml",
            True,
            False,
        ),
        ([("Content-Type", "image/png")], b"\x89PNG\r\n\x1a\n", "image/png", False, True),
        ([("Content-Type", "image/svg+xml")], b"<svg/>", "image/svg+xml", False, True),
        ([("Content-Type", "text/plain")], b"<html><head>", "text/plain", False, False),
        ([], b"\x89PNG\r\n\x1a\n....", None, False, True),  # sniffed
        (
            [("Content-Type", "application/octet-stream")],
            b"\xff\xd8\xff\xe0JFIF",
            "application/octet-stream",
            False,
            True,
        ),
        ([], b"RIFF\x00\x00\x00\x00WEBPVP8 ", None, False, True),
        ([], b"  \n<!doctype html><html>", None, True, False),  # sniffed (WHATWG §7.1)
        ([], b"<HEAD><meta name=robots content=noai>", None, True, False),
        ([], b"<htmlx>", None, False, False),
        ([], b"plain text", None, False, False),
        ([("Content-Type", "application/json")], b"<html>", "application/json", False, False),
    ],
)
def test_page_content_type_and_sniffing(headers, body, content_type, is_html, is_image):
    signals = parse_page(URL, 200, headers, body)
    assert (signals.content_type, signals.is_html, signals.is_image) == (
        content_type,
        is_html,
        is_image,
    )


def test_page_meta_is_not_read_from_non_html():
    signals = parse_page(
        URL, 200, [("Content-Type", "text/plain")], html_page('<meta name="robots" content="noai">')
    )
    assert signals.robots_directives == () and signals.head_bytes == 0


# --- X-Robots-Tag -------------------------------------------------------------------------------


XRT_LINES = [
    e["line"]
    for e in EXAMPLES
    if e["file_kind"] == "headers" and config_line_to_header(e["line"])[0].lower() == "x-robots-tag"
]


@pytest.mark.parametrize("line", XRT_LINES)
def test_page_real_x_robots_tag_lines(line):
    name, value = config_line_to_header(line)
    signals = parse_page(URL, 200, [HTML, (name, value)], b"")
    written = [t.strip().split(":")[0].lower() for t in value.split(",")]
    assert [d.token for d in signals.robots_directives] == written
    assert all(d.agent == "*" and d.source == "header" for d in signals.robots_directives)
    assert bool(signals.ai_reservations("*")) == ("noai" in written)
    assert signals.findings == ()


def test_page_x_robots_tag_directive_values_are_not_agents():
    # preisser-solutions: max-snippet:-1, max-image-preview:large ... all global.
    signals = parse_page(
        URL,
        200,
        [
            (
                "X-Robots-Tag",
                "index, follow, max-snippet:-1, unavailable_after: 25 Jun 2030 15:00:00 PST",
            )
        ],
        b"",
    )
    by_token = {d.token: d for d in signals.robots_directives}
    assert by_token["max-snippet"].value == "-1" and by_token["max-snippet"].agent == "*"
    assert by_token["unavailable_after"].value == "25 Jun 2030 15:00:00 PST"
    assert signals.findings == ()


def test_page_unavailable_after_with_rfc850_date_keeps_its_comma():
    signals = parse_page(
        URL,
        200,
        [("X-Robots-Tag", "unavailable_after: Wednesday, 25-Jun-2030 15:00:00 GMT, noai")],
        b"",
    )
    assert [(d.token, d.value) for d in signals.robots_directives] == [
        ("unavailable_after", "Wednesday, 25-Jun-2030 15:00:00 GMT"),
        ("noai", None),
    ]
    assert signals.findings == () and signals.ai_reservations("*")


@pytest.mark.parametrize("value", ["NoAI", "NOAI", " noai ", "noindex,NoAi"])
def test_page_tokens_are_case_insensitive(value):
    signals = parse_page(URL, 200, [("x-robots-tag", value)], b"")
    assert "noai" in tokens(signals)


def test_page_agent_scoped_header():
    signals = parse_page(URL, 200, [("X-Robots-Tag", "GPTBot: noai")], b"")
    [directive] = signals.robots_directives
    assert (directive.agent, directive.token, directive.raw) == ("GPTBot", "noai", "GPTBot: noai")
    assert signals.ai_reservations("GPTBot") and signals.ai_reservations("gptbot")
    assert not signals.ai_reservations("*") and not signals.ai_reservations("CCBot")


def test_page_agent_prefix_scopes_the_rest_of_the_value():
    # Google: "X-Robots-Tag: otherbot: noindex, nofollow" applies both to otherbot.
    signals = parse_page(
        URL, 200, [("X-Robots-Tag", "noimageai, otherbot: noindex, noai, CCBot: noai")], b""
    )
    assert [(d.agent, d.token) for d in signals.robots_directives] == [
        ("*", "noimageai"),
        ("otherbot", "noindex"),
        ("otherbot", "noai"),
        ("CCBot", "noai"),
    ]
    assert not signals.ai_reservations("*")
    assert [d.agent for d in signals.ai_reservations("OtherBot")] == ["otherbot"]


def test_page_headers_and_meta_accumulate():
    signals = parse_page(
        URL,
        200,
        [HTML, ("X-Robots-Tag", "noindex"), ("X-Robots-Tag", "GPTBot: noimageai")],
        html_page('<meta name="robots" content="nofollow"><meta name="robots" content="noai">'),
    )
    assert [(d.agent, d.token, d.source) for d in signals.robots_directives] == [
        ("*", "noindex", "header"),
        ("GPTBot", "noimageai", "header"),
        ("*", "nofollow", "meta"),
        ("*", "noai", "meta"),
    ]
    assert [d.location for d in signals.robots_directives][:2] == ["header x-robots-tag"] * 2


def test_page_noimageai_reserves_only_images():
    header = ("X-Robots-Tag", "noimageai")
    on_html = parse_page(URL, 200, [HTML, header], html_page(""))
    on_image = parse_page(URL, 200, [("Content-Type", "image/jpeg"), header], b"\xff\xd8\xff")
    assert "noimageai" in tokens(on_html) and on_html.ai_reservations("*") == ()
    assert [d.token for d in on_image.ai_reservations("*")] == ["noimageai"]


def test_page_malformed_entries_are_findings():
    signals = parse_page(URL, 200, [("X-Robots-Tag", ":, noai, bad agent: noindex, ;")], b"")
    assert [d.token for d in signals.robots_directives] == ["noai"]
    assert codes(signals.findings) == ["page.malformed-robots-directive"] * 3
    assert all(f.location == "header x-robots-tag" for f in signals.findings)


def test_page_unknown_directive_is_kept_and_reported():
    signals = parse_page(URL, 200, [("X-Robots-Tag", "other, noai")], b"")
    assert [d.token for d in signals.robots_directives] == ["other", "noai"]
    assert codes(signals.findings) == ["page.unknown-robots-token"]
    assert signals.findings[0].severity is Severity.INFO


@pytest.mark.parametrize(
    "value", ["no-ai", "no_ai", "no-imageai", "noai; noimageai", "noai noimageai"]
)
def test_page_misspelled_ai_tokens_are_warnings(value):
    signals = parse_page(URL, 200, [("X-Robots-Tag", value)], b"")
    assert signals.ai_reservations("*") == ()
    assert codes(signals.findings) == ["page.misspelled-ai-token"]
    assert signals.findings[0].severity is Severity.WARNING


# --- robots meta --------------------------------------------------------------------------------


META_ROBOTS = [e for e in EXAMPLES if e["file_kind"] == "meta" and 'name="robots"' in e["line"]]


@pytest.mark.parametrize("example", META_ROBOTS, ids=lambda e: e["repo"].rsplit("/", 1)[1])
def test_page_real_meta_robots(example):
    signals = parse_page(URL, 200, [HTML], html_page(example["line"]))
    assert all(
        d.source == "meta" and d.location == 'meta name="robots"' for d in signals.robots_directives
    )
    if example["template_source"]:
        # maxlamm.de's unrendered Hugo template: "{{ if .Params.noindex }}noindex, {{ end }}noai,
        # noimageai": "{{ end }}noai" is not the token noai, and we say so.
        assert "noimageai" in tokens(signals) and "noai" not in tokens(signals)
        assert "page.misspelled-ai-token" in codes(signals.findings)
    else:
        assert {"noai", "noimageai"} <= tokens(signals)
        assert [d.token for d in signals.ai_reservations("*")] == ["noai"]
        assert signals.findings == ()


def test_page_all_real_meta_elements_in_one_head():
    elements = "\n".join(
        e["line"] for e in EXAMPLES if e["file_kind"] == "meta" and not e["template_source"]
    )
    signals = parse_page(URL, 200, [HTML], html_page(elements))
    assert {"noai", "noimageai", "index", "follow", "noindex", "max-snippet"} <= tokens(signals)
    # tdm-reservation 1 (many sites) and 0 (xlr8harder) meet in one head: a conflict.
    assert signals.tdm_meta.reservation is None
    assert "tdmrep.conflicting-values" in codes(signals.findings)


@pytest.mark.parametrize(
    ("element", "agent"),
    [
        ('<meta name="GPTBot" content="noai">', "GPTBot"),
        ('<meta name="googlebot" content="noindex, noai">', "googlebot"),
        ('<meta name="ROBOTS" content="noai">', "*"),
        ('<meta name="CCBot" content="max-snippet:0, noai">', "CCBot"),
    ],
)
def test_page_meta_agent_scope(element, agent):
    signals = parse_page(URL, 200, [HTML], html_page(element))
    assert "noai" in {d.token for d in signals.robots_directives if d.agent == agent}


@pytest.mark.parametrize(
    "element",
    [
        '<meta name="description" content="none">',
        '<meta name="author" content="All">',
        '<meta name="rating" content="adult">',
        '<meta name="viewport" content="width=device-width">',
        '<meta name="og:title" content="noai">',
        '<meta name="ExampleBot" content="noai, please">',  # not a crawler we know
        '<meta property="robots" content="noai">',
    ],
)
def test_page_other_meta_are_not_robots_directives(element):
    signals = parse_page(URL, 200, [HTML], html_page(element))
    assert signals.robots_directives == () and signals.findings == ()


def test_page_meta_named_for_a_registry_agent_is_read_whatever_it_holds():
    # GPTBot is in the agents registry (data/agents.json): its tag is read, the entry that is
    # not a directive is reported instead of the whole tag being silently ignored.
    signals = parse_page(URL, 200, [HTML], html_page('<meta name="GPTBot" content="noai, please">'))
    assert [(d.agent, d.token) for d in signals.robots_directives] == [
        ("GPTBot", "noai"),
        ("GPTBot", "please"),
    ]
    assert [f.code for f in signals.findings] == ["page.unknown-robots-token"]


# --- what is read of the document ---------------------------------------------------------------


def test_page_stops_at_the_end_of_head():
    body = html_page(
        '<meta name="robots" content="noindex">', '<meta name="robots" content="noai">'
    )
    signals = parse_page(URL, 200, [HTML], body)
    assert tokens(signals) == {"noindex"}


def test_page_stops_at_an_implied_body():
    body = (
        b'<html><head><meta name="robots" content="noindex">'
        b'<div>x</div><meta name="robots" content="noai">'
    )
    assert tokens(parse_page(URL, 200, [HTML], body)) == {"noindex"}


def test_page_script_text_does_not_end_the_head():
    head = '<script>document.write("<body></head>")</script><meta name="robots" content="noai">'
    assert "noai" in tokens(parse_page(URL, 200, [HTML], html_page(head)))


def test_page_examines_only_the_head_of_a_large_page():
    body = html_page(
        '<meta name="robots" content="noai">', "<div><p>filler text</p></div>" * 400_000
    )
    start = time.perf_counter()
    signals = parse_page(URL, 200, [HTML], body)
    elapsed = time.perf_counter() - start
    assert len(body) > 10_000_000 and signals.head_bytes <= 4096
    assert "noai" in tokens(signals)
    assert elapsed < 0.1  # a full lxml.html parse of this body takes about 0.5 s


def test_page_head_longer_than_the_cap_is_truncated():
    style = "<style>" + "a{color:red}\n" * (MAX_HEAD_BYTES // 13 + 10) + "</style>"
    body = html_page(style + '<meta name="robots" content="noai">')
    signals = parse_page(URL, 200, [HTML], body)
    assert "noai" not in tokens(signals)
    assert codes(signals.findings) == ["page.head-truncated"]
    assert signals.head_bytes == MAX_HEAD_BYTES


def test_page_long_head_under_the_cap_is_read():
    style = "<style>" + "a{color:red}\n" * 20_000 + "</style>"
    signals = parse_page(URL, 200, [HTML], html_page(style + '<meta name="robots" content="noai">'))
    assert "noai" in tokens(signals) and signals.findings == ()


# --- encodings and garbage ----------------------------------------------------------------------


def test_page_declared_latin1_is_decoded():
    body = '<html><head><meta name="tdm-policy" content="https://e.com/politique-é"></head>'.encode(
        "latin-1"
    )
    signals = parse_page(URL, 200, [("Content-Type", "text/html; charset=ISO-8859-1")], body)
    assert signals.tdm_meta.policy == "https://e.com/politique-é" and signals.findings == ()


def test_page_meta_charset_prescan():
    body = '<html><head><meta charset="windows-1252"><meta name="tdm-policy" content="https://e.com/€">'
    signals = parse_page(URL, 200, [("Content-Type", "text/html")], body.encode("cp1252"))
    assert signals.tdm_meta.policy == "https://e.com/€"


def test_page_utf8_bom_and_utf16():
    head = '<meta name="robots" content="noai">'
    for body in (b"\xef\xbb\xbf" + html_page(head), html_page(head).decode().encode("utf-16")):
        assert "noai" in tokens(parse_page(URL, 200, [("Content-Type", "text/html")], body))


def test_page_broken_utf8_is_a_finding_not_an_exception():
    body = b'<html><head><title>caf\xe9</title><meta name="robots" content="noai"></head>'
    signals = parse_page(URL, 200, [HTML], body)
    assert "noai" in tokens(signals)
    assert codes(signals.findings) == ["page.decode-error"]


def test_page_unknown_charset_falls_back_to_utf8():
    signals = parse_page(
        URL,
        200,
        [("Content-Type", "text/html; charset=utf8mb4")],
        html_page('<meta name="robots" content="noai">'),
    )
    assert "noai" in tokens(signals)
    assert codes(signals.findings) == ["page.unknown-charset"]


def test_page_binary_labelled_html_is_a_finding():
    garbage = bytes(range(256)) * 64
    signals = parse_page(URL, 200, [HTML], garbage)
    assert codes(signals.findings) == ["page.binary-body"]
    assert signals.robots_directives == () and signals.is_html


def test_page_parser_failure_is_a_finding(monkeypatch):
    class Exploding:
        def __init__(self, **kwargs):
            pass

        def feed(self, data):
            raise etree.ParserError("document is empty")

        def close(self):
            return None

    monkeypatch.setattr(page_module.etree, "HTMLParser", Exploding)
    signals = parse_page(URL, 200, [HTML, ("X-Robots-Tag", "noai")], html_page(""))
    assert codes(signals.findings) == ["page.html-parse-error"]
    assert "noai" in tokens(signals)  # the headers are still read


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=3000),
    content_type=st.sampled_from(
        ["text/html", "text/html; charset=utf-16", "text/html; charset=x", None]
    ),
    header_value=st.text(max_size=60),
)
def test_page_never_raises_on_arbitrary_input(body, content_type, header_value):
    headers = [
        (name, header_value)
        for name in ("X-Robots-Tag", "Link", "tdm-reservation", "Content-Signal", "Content-Usage")
    ]
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    signals = parse_page(URL, 200, headers, body)
    assert isinstance(signals.findings, tuple)


@settings(max_examples=100, deadline=None)
@given(
    head=st.text(alphabet=st.sampled_from(list("<>/=\"' abmetanohircoslink,:;\n")), max_size=400)
)
def test_page_never_raises_on_html_like_noise(head):
    signals = parse_page(URL, 200, [HTML], html_page(head))
    assert signals.is_html


# --- TDMRep header and meta ---------------------------------------------------------------------


def test_tdmrep_spec_html_meta_example():
    body = (DATA / "tdmrep" / "spec" / "w3c-spec__html-meta-example.html").read_bytes()
    signals = parse_page(URL, 200, [("Content-Type", "text/html")], body)
    assert (signals.tdm_meta.reservation, signals.tdm_meta.policy) == (
        1,
        "https://provider.com/policies/policy.json",
    )
    assert signals.findings == ()
    effective = effective_tdm(None, signals.tdm_header, signals.tdm_meta)
    assert (effective.reservation, effective.reservation_layer) == (1, "meta")


def test_tdmrep_spec_http_header_example_on_an_image():
    text = (
        DATA / "tdmrep" / "spec" / "w3c-spec__http-header-example-1-reserved-no-policy.http"
    ).read_text()
    status_line, *lines = text.splitlines()
    headers = [tuple(p.strip() for p in line.split(":", 1)) for line in lines if line]
    signals = parse_page(
        "https://provider.com/cat.jpg", int(status_line.split()[1]), headers, b"\xff\xd8\xff"
    )
    assert signals.is_image and signals.content_type == "image/jpg"
    assert signals.tdm_header.reservation == 1 and signals.tdm_meta.reservation is None


def test_tdmrep_layer_order_through_a_page():
    # The real site-wide file of camoufly, then the page says 0 in a header and 1 in meta.
    tdm_file = parse_tdmrep_json(
        (
            DATA / "tdmrep" / "sites" / "ghsite__camoufly.camo-website~well-known_tdmrep.json"
        ).read_bytes()
    )
    rule = tdm_file.rule_for("https://camoufly.me/blog/post")
    signals = parse_page(
        "https://camoufly.me/blog/post",
        200,
        [HTML, ("TDM-Reservation", "0")],
        html_page('<meta name="tdm-reservation" content="1">'),
    )
    effective = effective_tdm(rule, signals.tdm_header, signals.tdm_meta)
    assert (effective.reservation, effective.reservation_layer) == (1, "meta")
    assert (effective.policy, effective.policy_layer) == ("https://camoufly.me/tdm-policy", "file")
    header_only = parse_page(
        "https://camoufly.me/blog/post", 200, [HTML, ("TDM-Reservation", "0")], html_page("")
    )
    header_tdm = effective_tdm(rule, header_only.tdm_header, header_only.tdm_meta)
    assert header_tdm.reservation_layer == "header"


def test_page_findings_include_the_nested_ones_once():
    signals = parse_page(
        URL,
        200,
        [
            HTML,
            ("tdm-reservation", "yes"),
            ("Content-Signal", "ai-train=allow"),
            ("Content-Usage", "Train-AI=n"),
        ],
        html_page('<meta name="tdm-policy" content="not-allowed">'),
    )
    nested = [
        *signals.tdm_header.findings,
        *signals.tdm_meta.findings,
        *(f for cs in signals.content_signal for f in cs.findings),
        *(f for cu in signals.content_usage for f in cu.findings),
    ]
    assert nested and sorted(codes(signals.findings)) == sorted(codes(nested))
    assert len(signals.findings) == len(nested)


# --- Content-Usage / Content-Signal headers -----------------------------------------------------


@pytest.mark.parametrize("example", USAGE["examples"], ids=lambda e: e["repo"].rsplit("/", 1)[1])
def test_page_real_usage_headers(example):
    name, value = config_line_to_header(example["line"])
    signals = parse_page(URL, 200, [HTML, (name, value)], b"")
    if name.lower() == "content-usage":
        [usage] = signals.content_usage
        assert dict(usage.values) == {"train-ai": False, "search": True}
        assert usage.location == "header content-usage"
    else:
        [signal] = signals.content_signal
        assert dict(signal.values) == {"ai-train": True, "search": True, "ai-input": True}
    assert signals.findings == ()


def test_page_aipref_attach_http_example():
    text = USAGE["aipref_attach_http_example"]["text"]
    head, _, body = text.partition("\n\n")
    headers = [tuple(p.strip() for p in line.split(":", 1)) for line in head.splitlines()[1:]]
    signals = parse_page(URL, 200, headers, body.encode())
    assert [dict(u.values) for u in signals.content_usage] == [{"train-ai": False}]
    assert not signals.is_html


def test_page_several_usage_headers_are_kept_in_order():
    signals = parse_page(
        URL, 200, [("Content-Signal", "search=yes"), ("content-signal", "ai-train=no")], b""
    )
    assert [dict(s.values) for s in signals.content_signal] == [
        {"search": True},
        {"ai-train": False},
    ]


# --- RSL licence discovery ----------------------------------------------------------------------


def test_page_rsl_link_header():
    signals = parse_page(
        URL,
        200,
        [("Link", '<https://example.com/license.xml>; rel="license"; type="application/rsl+xml"')],
        b"",
    )
    [link] = signals.licenses
    assert (link.url, link.media_type, link.source, link.is_rsl) == (
        "https://example.com/license.xml",
        "application/rsl+xml",
        "header",
        True,
    )
    assert link.location == "header link"


def test_page_link_header_with_several_values():
    value = (
        '</style.css>; rel=preload; as=style, <https://cdn.example.com/a,b.xml>; title="x, y"; '
        'rel="nofollow license"; type=application/rsl+xml, </terms>; rel=license'
    )
    signals = parse_page(URL, 200, [("Link", value), ("link", "</feed>; rel=alternate")], b"")
    assert [(link.url, link.is_rsl) for link in signals.licenses] == [
        ("https://cdn.example.com/a,b.xml", True),
        ("https://example.com/terms", False),
    ]
    assert signals.findings == ()


def test_page_malformed_link_header_is_a_finding():
    signals = parse_page(
        URL,
        200,
        [("Link", 'https://e.com/l.xml; rel=license, <https://e.com/ok.xml>; rel="license"')],
        b"",
    )
    assert [link.url for link in signals.licenses] == ["https://e.com/ok.xml"]
    assert codes(signals.findings) == ["page.malformed-link-header"]
    unterminated = parse_page(URL, 200, [("Link", "<https://e.com/l.xml; rel=license")], b"")
    assert codes(unterminated.findings) == ["page.malformed-link-header"]


def test_page_rsl_link_element_resolves_against_base():
    head = (
        '<base href="https://static.example.com/site/">'
        '<link rel="License" type="application/RSL+xml" href="license.xml">'
        '<link rel="license" href="https://creativecommons.org/licenses/by/4.0/">'
        '<link rel="stylesheet" href="main.css">'
    )
    signals = parse_page(
        URL, 200, [HTML], html_page(head, '<a rel="license" href="/body-licence">x</a>')
    )
    assert [(link.url, link.is_rsl, link.source) for link in signals.licenses] == [
        ("https://static.example.com/site/license.xml", True, "html"),
        ("https://creativecommons.org/licenses/by/4.0/", False, "html"),
    ]


# --- the finding catalogue ----------------------------------------------------------------------


def test_page_every_spec_is_documented_and_catalogued():
    catalogue = catalogue_module.catalogue()
    specs = [v for v in vars(page_module).values() if isinstance(v, findings_module.FindingSpec)]
    assert len(specs) >= 9
    for spec in specs:
        assert catalogue[spec.code] is spec
        assert spec.code.startswith("page.") and spec.source == "page"
        assert spec.title and spec.explanation and spec.fix and spec.example


def test_page_accepts_httpx_headers_and_mappings():
    for headers in (httpx.Headers([("X-Robots-Tag", "noai"), ("X-Robots-Tag", "noimageai")]),):
        assert tokens(parse_page(URL, 200, headers, None)) == {"noai", "noimageai"}
    assert tokens(parse_page(URL, 200, {"X-Robots-Tag": "noai"}, None)) == {"noai"}
    assert parse_page(URL, None, None, None).robots_directives == ()
