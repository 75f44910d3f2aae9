"""What a fixture site serves: one route table (path -> response) per site, built from its recipe.

Bodies are rendered when a site is first requested (the server keeps an LRU of route tables), so
a web of 10,000 sites costs little memory. Shared large bodies (the gzip bomb, the robots.txt
padding) are built once.
"""

from __future__ import annotations

import html
import json
import random
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from http import HTTPStatus
from typing import Any

from reservation_crawler.testing.media import (
    JPEG_1X1,
    c2pa_jpeg,
    jpeg_with_xmp,
    training_mining,
    xmp_packet,
)
from reservation_crawler.testing.sites import (
    DEFAULT_RSL_DOCUMENT,
    HTML_PAGES,
    IMAGE_PATH,
    OFF_WEB_URL,
    PAGE_LINKS,
    Recipe,
    RobotsCorpus,
)

SERVER_NAME = "reservation-crawler-fixture-web"
FIXTURE_DOMAIN = "fixture.localhost"
TEXT_PLAIN = "text/plain; charset=utf-8"
TEXT_HTML = "text/html; charset=utf-8"
GZIP_BOMB_SIZE = 64 * 1024 * 1024  # decompressed; about 64 KiB on the wire
RESET_MODE = "reset"
TIMEOUT_MODE = "timeout"


CLOUDFLARE_PREAMBLE = """\
# As a condition of accessing this website, you agree to abide by the
# following content signals:
# (a)  If a content-signal = yes, you may collect content for the
#      corresponding use.
# (b)  If a content-signal = no, you may not collect content for the
#      corresponding use.
# (c)  If the website operator does not include a content signal for a
#      corresponding use, the website operator neither grants nor restricts
#      permission via content signal with respect to the corresponding use.
# ANY RESTRICTIONS EXPRESSED VIA CONTENT SIGNALS ARE EXPRESS RESERVATIONS OF
# RIGHTS UNDER ARTICLE 4 OF THE EUROPEAN UNION DIRECTIVE 2019/790 ON COPYRIGHT
# AND RELATED RIGHTS IN THE DIGITAL SINGLE MARKET.

# BEGIN Cloudflare Managed content
"""

TDM_POLICY = {
    "@context": ["http://www.w3.org/ns/odrl.jsonld", "http://www.w3.org/ns/tdmrep.jsonld"],
    "@type": "Offer",
    "profile": "http://www.w3.org/ns/tdmrep",
    "uid": "{origin}/policy/tdm.json",
    "assigner": {
        "uid": "{origin}",
        "vcard:fn": "Fixture publisher",
        "vcard:hasEmail": "mailto:rights@example.invalid",
    },
    "permission": [{"action": "tdm:mine", "duty": [{"action": "compensate"}]}],
}


def _image(spec: Mapping[str, Any] | None) -> bytes:
    """The site's JPEG, with the rights metadata its recipe gives (sites.py, kind "media")."""
    if not spec:
        return JPEG_1X1
    if "xmp" in spec:
        return jpeg_with_xmp(xmp_packet(spec["xmp"], form=spec.get("form", "element")))
    entries = {name: {"use": use} for name, use in spec["entries"].items()}
    return c2pa_jpeg(training_mining(spec["c2pa"], entries))


def rsl_xml(contents: Sequence[Mapping[str, Any]]) -> bytes:
    """An RSL 1.0 document from recipe data (sites.rsl_content / rsl_licence)."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<rsl xmlns="https://rslstandard.org/rsl">']
    for content in contents:
        server = content.get("server")
        attrs = f' url="{html.escape(content["url"])}"'
        if server:
            attrs += f' server="{html.escape(server)}"'
        lines.append(f"  <content{attrs}>")
        for licence in content["licenses"]:
            lines.append("    <license>")
            if licence.get("permits") is not None:
                lines.append(
                    f'      <permits type="usage">{",".join(licence["permits"])}</permits>'
                )
            if licence.get("users"):
                lines.append(f'      <permits type="user">{",".join(licence["users"])}</permits>')
            if licence.get("prohibits"):
                tokens = ",".join(licence["prohibits"])
                lines.append(f'      <prohibits type="usage">{tokens}</prohibits>')
            if licence.get("payment"):
                lines.append(f'      <payment type="{licence["payment"]}"/>')
            lines.append("    </license>")
        lines.append("  </content>")
    lines.append("</rsl>")
    return ("\n".join(lines) + "\n").encode()


SOFT_404 = """\
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Page not found</title></head>
<body><h1>Oops! We can't find that page.</h1>
<p>The page you are looking for may have moved. <a href="/">Back to the home page</a>.</p>
</body></html>
"""

MARKDOWN_AI_TXT = """\
# AI policy for {host}

This site's articles are written by people. Please respect the following.

## Training

- You may **not** use this content to train AI models.
- Summaries with a link back are welcome.

## Contact

- Email: ai@{host}
"""

KEY_VALUE_AI_TXT = """\
# ai.txt - AI usage policy for {host}
Site: {origin}
Training: disallow
Summarization: allow
Citation: encouraged
Contact: ai@{host}
"""


@dataclass(frozen=True, slots=True)
class Response:
    """One prepared HTTP response; ``mode`` "timeout" delays it, "reset" cuts it short."""

    status: int
    head: bytes  # status line and headers, each ending in CRLF, without Connection
    body: bytes
    mode: str = "normal"
    # A client whose User-Agent contains this (lower-case) gets ``refused`` instead.
    refuse_to: str = ""
    refused: Response | None = None


def make_response(
    status: int,
    content_type: str | None,
    body: bytes,
    headers: Sequence[tuple[str, str]] = (),
    mode: str = "normal",
    server: str = SERVER_NAME,
) -> Response:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}", f"Server: {server}"]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    lines.extend(f"{name}: {value}" for name, value in headers)
    lines.append(f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n").encode("latin-1")
    return Response(status, head, body, mode)


@lru_cache(maxsize=64)
def error_page(status: int) -> Response:
    """A small HTML page for an error status (shared by every site)."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    body = f"<!DOCTYPE html><html><head><title>{status} {phrase}</title></head>"
    body += f"<body><h1>{status} {phrase}</h1></body></html>\n"
    return make_response(status, TEXT_HTML, body.encode())


NOT_FOUND = error_page(404)


def site_host(index: int) -> str:
    return f"s{index:05d}.{FIXTURE_DOMAIN}"


def site_origin(index: int, port: int) -> str:
    return f"http://{site_host(index)}:{port}"


@lru_cache(maxsize=4)
def gzip_bomb(size: int = GZIP_BOMB_SIZE) -> bytes:
    """A single gzip member: an HTML head with no signal, then ``size`` bytes of spaces."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [compressor.compress(b"<!DOCTYPE html><html><head><title>bomb</title></head><body>")]
    chunk = b" " * (1 << 20)
    for _ in range(size >> 20):
        parts.append(compressor.compress(chunk))
    parts.append(compressor.flush())
    return b"".join(parts)


# Bytes that never form an ASCII letter, digit, ":" or "/", so no parser can find a rule in them.
_GARBAGE_ALPHABET = bytes([*range(0x00, 0x09), *range(0x0E, 0x20), *range(0x80, 0x100)])


def garbage(index: int, size: int = 4096) -> bytes:
    rng = random.Random(f"fixtureweb-garbage/{index}")
    return bytes(rng.choices(_GARBAGE_ALPHABET, k=size))


@lru_cache(maxsize=4)
def robots_padding(size: int) -> str:
    """A group for an agent nobody queries, long enough to take a file past ``size`` bytes."""
    lines = ["", "# Padding: a long group for an agent no test queries.", "User-agent: PaddingBot"]
    total = sum(len(line) + 1 for line in lines)
    n = 0
    while total < size:
        line = f"Disallow: /padding/{n:06d}/archive-of-old-pages/"
        lines.append(line)
        total += len(line) + 1
        n += 1
    return "\n".join(lines) + "\n"


class SiteRenderer:
    """Builds route tables for the sites of one web, on one port."""

    def __init__(
        self,
        recipes: Sequence[Recipe],
        port: int,
        corpus: RobotsCorpus | None = None,
        *,
        gzip_bomb_size: int = GZIP_BOMB_SIZE,
    ) -> None:
        self.recipes = recipes
        self.port = port
        self.corpus = corpus
        self.gzip_bomb_size = gzip_bomb_size

    def render(self, index: int) -> dict[str, Response]:
        recipe = self.recipes[index]
        params = recipe.params
        ctx = _Context(
            index=index,
            host=site_host(index),
            origin=site_origin(index, self.port),
            next_origin=site_origin((index + 1) % len(self.recipes), self.port),
        )
        routes: dict[str, Response] = {}
        self._serve_robots(params.get("robots"), recipe, ctx, routes)
        self._serve_aitxt(params.get("aitxt"), ctx, routes)
        self._serve_aitxt(params.get("aitxt_well_known"), ctx, routes, path="/.well-known/ai.txt")
        self._serve_tdmrep(params.get("tdmrep"), ctx, routes)
        for path in HTML_PAGES:
            headers = _page_headers(params, path, is_html=True, ctx=ctx)
            body = _html_page(recipe, ctx, path, _page_meta(params, path, ctx))
            self._serve(
                "page" + path.replace("/", "_").replace(".", "_"),
                path,
                TEXT_HTML,
                body.encode(),
                headers,
                (params.get("serve") or {}).get(path),
                ctx,
                routes,
            )
        self._serve(
            "image",
            IMAGE_PATH,
            "image/jpeg",
            _image(params.get("image_media")),
            _page_headers(params, IMAGE_PATH, is_html=False, ctx=ctx),
            (params.get("serve") or {}).get(IMAGE_PATH),
            ctx,
            routes,
        )
        licence = rsl_xml(params.get("rsl_document") or DEFAULT_RSL_DOCUMENT)
        routes["/license.xml"] = make_response(200, "application/rsl+xml", licence)
        if params.get("rsl_xml"):
            discovered = rsl_xml(params["rsl_xml"])
            routes["/rsl.xml"] = make_response(200, "application/rsl+xml", discovered)
        policy = json.dumps(_fill(TDM_POLICY, ctx), indent=2).encode()
        routes["/policy/tdm.json"] = make_response(200, "application/ld+json", policy)
        return routes

    # -- policy files

    def _serve_robots(
        self, spec: Mapping[str, Any] | None, recipe: Recipe, ctx: _Context, routes: dict
    ) -> None:
        if spec is None:
            return  # 404: no robots.txt
        serve = spec.get("serve") or {}
        if serve.get("mode") == "soft404" and spec.get("corpus") and self.corpus:
            body = self.corpus.body(spec["corpus"])  # a real HTML page served at /robots.txt
            self._serve("robots", "/robots.txt", TEXT_HTML, body, (), {}, ctx, routes)
            return
        self._serve(
            "robots",
            "/robots.txt",
            TEXT_PLAIN,
            self.robots_body(spec, recipe, ctx),
            (),
            serve,
            ctx,
            routes,
        )

    def robots_body(self, spec: Mapping[str, Any], recipe: Recipe, ctx: _Context) -> bytes:
        text: list[str] = []
        prefix = b""
        if spec.get("corpus") and self.corpus is not None:
            prefix = self.corpus.body(spec["corpus"])
            if prefix and not prefix.endswith((b"\n", b"\r")):
                prefix += b"\n"
            if spec.get("groups"):
                text.append("")
                text.append("# Appended by the fixture web:")
        else:
            text.append(f"# robots.txt of fixture site {ctx.host} ({recipe.kind}/{recipe.variant})")
        if spec.get("preamble") == "cloudflare":
            text.append(CLOUDFLARE_PREAMBLE)
        for verb, path in spec.get("orphan_rules") or ():
            text.append(f"{verb.capitalize()}: {path}")  # before any user-agent: in no group
        managed = spec.get("managed_groups")  # Cloudflare's block: its groups, then END
        for index, group in enumerate(spec.get("groups") or ()):
            if managed is not None and index == managed:
                text.append("# END Cloudflare Managed Content")
                text.append("")
            text.extend(_group_lines(group))
            text.append("")
        for url in spec.get("license") or ():
            text.append(f"License: {_fill(url, ctx)}")
        generated = ("\n".join(text) + "\n").replace("\n", spec.get("line_ending", "\n"))
        body = prefix + ("\ufeff" if spec.get("bom") else "").encode() + generated.encode()
        pad_to = spec.get("pad_to")
        if pad_to and len(body) < pad_to:
            body += robots_padding(pad_to - len(body)).encode()
        return body

    def _serve_aitxt(
        self,
        spec: Mapping[str, Any] | None,
        ctx: _Context,
        routes: dict,
        path: str = "/ai.txt",
    ) -> None:
        if spec is None:
            return
        dialect = spec.get("dialect", "spawning")
        if dialect == "markdown":
            text = MARKDOWN_AI_TXT.format(host=ctx.host)
        elif dialect == "key-value":
            text = KEY_VALUE_AI_TXT.format(host=ctx.host, origin=ctx.origin)
        else:
            lines = ["# Spawning AI", "# Prevent datasets from using the following file types"]
            if spec.get("stray_slash"):
                lines.append("/")
            for group in spec.get("groups") or ():
                agent_lines = [f"User-Agent: {a}" for a in group["agents"]]
                lines.extend(agent_lines)
                if spec.get("stray_slash"):
                    lines.append("/")
                lines.extend(f"{verb.capitalize()}: {path}" for verb, path in group["rules"])
                lines.append("")
            text = "\n".join(lines) + "\n"
        slug = "ai" if path == "/ai.txt" else "ai-well-known"
        serve = spec.get("serve") or {}
        self._serve(slug, path, TEXT_PLAIN, text.encode(), (), serve, ctx, routes)

    def _serve_tdmrep(self, spec: Mapping[str, Any] | None, ctx: _Context, routes: dict) -> None:
        if spec is None:
            return
        if "raw" in spec:
            body = str(spec["raw"]).encode()
        else:
            body = json.dumps(_fill(spec.get("rules") or [], ctx), indent=2).encode()
        self._serve(
            "tdmrep",
            "/.well-known/tdmrep.json",
            "application/json",
            body,
            (),
            spec.get("serve") or {},
            ctx,
            routes,
        )

    # -- serving behaviours

    def _serve(
        self,
        slug: str,
        path: str,
        content_type: str,
        body: bytes,
        headers: Sequence[tuple[str, str]],
        serve: Mapping[str, Any] | None,
        ctx: _Context,
        routes: dict[str, Response],
    ) -> None:
        serve = serve or {}
        mode = serve.get("mode", "normal")
        status = int(serve.get("status", 200))
        content_type = serve.get("content_type", content_type)
        extra = list(headers)
        if mode == "soft404":
            body, content_type, extra = SOFT_404.encode(), TEXT_HTML, []
        elif mode == "garbage":
            body = garbage(ctx.index)
            content_type = serve.get("content_type", "application/octet-stream")
            extra = []
        elif mode == "gzip-bomb":
            body = gzip_bomb(self.gzip_bomb_size)
            extra = [("Content-Encoding", "gzip")]
        elif mode in (RESET_MODE, TIMEOUT_MODE):
            extra = []  # a response that never fully arrives carries no signal
        if mode in _ACCESS_MODES:
            final = _ACCESS_MODES[mode](serve, ctx, make_response(200, content_type, body, extra))
        elif status != 200:
            final = error_page(status)
            if mode == TIMEOUT_MODE:
                final = Response(final.status, final.head, final.body, TIMEOUT_MODE)
        else:
            wire_mode = mode if mode in (RESET_MODE, TIMEOUT_MODE) else "normal"
            final = make_response(status, content_type, body, extra, wire_mode)

        base = f"/_fixture/redirect/{ctx.index:05d}/{slug}"
        if mode == "redirect-loop":
            a, b = (
                f"/_fixture/loop/{ctx.index:05d}/{slug}/a",
                f"/_fixture/loop/{ctx.index:05d}/{slug}/b",
            )
            routes[path] = _redirect(ctx.origin + a)
            routes[a] = _redirect(ctx.origin + b)
            routes[b] = _redirect(ctx.origin + a)
            return
        hops = int(serve.get("redirects", 0))
        if hops <= 0:
            routes[path] = final
            return
        hop_origin = ctx.next_origin if serve.get("redirect_host") == "other" else ctx.origin
        routes[path] = _redirect(f"{hop_origin}{base}/1")
        for hop in range(1, hops):
            routes[f"{base}/{hop}"] = _redirect(f"{hop_origin}{base}/{hop + 1}")
        routes[f"{base}/{hops}"] = final


# -- access outcomes: what an origin does instead of serving the resource (docs/fixture-web.md)

# Challenge pages as the bot-protection services serve them (the fingerprints docs/fetch.md
# documents): headers, and a body with the provider's markers.
CHALLENGES: Mapping[str, tuple[str, tuple[tuple[str, str], ...], str]] = {
    "cloudflare": (
        "cloudflare",
        (("cf-mitigated", "challenge"), ("cf-ray", "8f0000000000000-AMS")),
        "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
        "<script>window._cf_chl_opt={cvId:'3',cType:'managed'};</script></body></html>\n",
    ),
    "datadome": (
        "nginx",
        (("X-DataDome", "protected"), ("X-DD-B", "1")),
        '<html><body><script src="https://ct.captcha-delivery.com/c.js"></script></body></html>\n',
    ),
    "akamai": (
        "AkamaiGHost",
        (),
        "<HTML><HEAD><TITLE>Access Denied</TITLE></HEAD><BODY><H1>Access Denied</H1>You don't "
        "have permission to access this resource.<P>Reference&#32;&#35;18&#46;5f2e1d17&#46;"
        "1718409600&#46;3f9b21e<P>https&#58;&#47;&#47;errors&#46;edgesuite&#46;net</BODY></HTML>\n",
    ),
}
PAYMENT_PRICE = "USD 0.01"


def _challenge(serve: Mapping[str, Any], ctx: _Context, normal: Response) -> Response:
    server, headers, body = CHALLENGES[serve.get("provider", "cloudflare")]
    status = int(serve.get("status", 403))
    return make_response(status, TEXT_HTML, body.encode(), headers, server=server)


def _payment(serve: Mapping[str, Any], ctx: _Context, normal: Response) -> Response:
    headers = [("crawler-price", serve.get("price", PAYMENT_PRICE))]
    if serve.get("license"):
        link = _fill(serve["license"], ctx)
        headers.append(("Link", f'<{link}>; rel="license"; type="application/rsl+xml"'))
    body = b"Payment required to crawl this resource.\n"
    return make_response(402, "text/plain; charset=utf-8", body, headers)


def _refuse_agent(serve: Mapping[str, Any], ctx: _Context, normal: Response) -> Response:
    """The resource for everyone, but ``status`` (401/403) to a User-Agent containing
    ``agent`` (default: ours)."""
    agent = str(serve.get("agent", "reservation-crawler")).lower()
    refused = error_page(int(serve.get("status", 403)))
    return Response(normal.status, normal.head, normal.body, normal.mode, agent, refused)


_ACCESS_MODES: Mapping[str, Callable[[Mapping[str, Any], _Context, Response], Response]] = {
    "challenge": _challenge,
    "payment": _payment,
    "refuse-agent": _refuse_agent,
}


@dataclass(frozen=True, slots=True)
class _Context:
    index: int
    host: str
    origin: str
    next_origin: str


def _redirect(location: str, status: int = 301) -> Response:
    return make_response(status, TEXT_HTML, b"", [("Location", location)])


def _fill(value: Any, ctx: _Context) -> Any:
    """Replace the ``{origin}`` placeholder in strings, recursively."""
    if isinstance(value, str):
        return value.replace("{origin}", ctx.origin)
    if isinstance(value, list):
        return [_fill(v, ctx) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ctx) for k, v in value.items()}
    return value


def _group_lines(group: Mapping[str, Any]) -> list[str]:
    spelling = group.get("spelling") or {}  # e.g. {"user-agent": "Useragent"}: a typo
    user_agent = spelling.get("user-agent", "User-agent")
    lines = [f"{user_agent}: {agent}" for agent in group["agents"]]
    if group.get("content_signal") is not None:
        key = group.get("content_signal_key", "Content-Signal")
        lines.append(f"{key}: {group['content_signal']}")
    for path, preference in group.get("content_usage") or ():
        lines.append(
            f"Content-Usage: {path} {preference}" if path else f"Content-Usage: {preference}"
        )
    for verb, path in group.get("rules") or ():
        lines.append(f"{spelling.get(verb, verb.capitalize())}: {path}".rstrip())
    return lines


def selectors_for(path: str, *, is_html: bool) -> tuple[str, ...]:
    """Which ``headers`` / ``meta`` selectors of the params apply to ``path``."""
    return ("all", "html" if is_html else "image", path)


def _page_headers(
    params: Mapping[str, Any], path: str, *, is_html: bool, ctx: _Context
) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    table = params.get("headers") or {}
    for selector in selectors_for(path, is_html=is_html):
        for name, value in table.get(selector) or ():
            out.append((name, _fill(value, ctx)))
    if is_html and params.get("license_link_header"):
        link = f'<{ctx.origin}/license.xml>; rel="license"; type="application/rsl+xml"'
        out.append(("Link", link))
    return out


def _page_meta(params: Mapping[str, Any], path: str, ctx: _Context) -> list[tuple[str, str]]:
    table = params.get("meta") or {}
    out: list[tuple[str, str]] = []
    for selector in selectors_for(path, is_html=True):
        for name, content in table.get(selector) or ():
            out.append((name, _fill(content, ctx)))
    return out


def _html_page(recipe: Recipe, ctx: _Context, path: str, meta: Sequence[tuple[str, str]]) -> str:
    esc = html.escape
    head = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>Fixture site {ctx.host}: {esc(path)}</title>",
    ]
    head.extend(f'<meta name="{esc(name)}" content="{esc(content)}">' for name, content in meta)
    if recipe.params.get("license_link_element"):
        head.append(
            f'<link rel="license" type="application/rsl+xml" href="{ctx.origin}/license.xml">'
        )
    head.append("</head>")
    body = [
        "<body>",
        f"<h1>Fixture site {ctx.host}</h1>",
        f"<p>{esc(recipe.kind)} / {esc(recipe.variant)} &mdash; page {esc(path)}.</p>",
        "<ul>",
    ]
    body.extend(f'<li><a href="{link}">{link}</a></li>' for link in PAGE_LINKS[path])
    body.append("</ul>")
    if path in ("/", "/a/1.html"):
        body.append(f'<p><img src="{IMAGE_PATH}" alt="fixture image" width="1" height="1"></p>')
    if path == "/":
        body.append(f'<p><a href="{ctx.next_origin}/">another fixture site</a></p>')
        body.append(f'<p><a href="{OFF_WEB_URL}">off the fixture web</a></p>')
    body.extend(["</body>", "</html>", ""])
    return "\n".join(head + body)
