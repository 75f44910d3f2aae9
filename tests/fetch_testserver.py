"""A loopback HTTP server with misbehaving routes, for tests/test_fetch.py only.

Every route is a path; ``*.localhost`` names all reach it (the fetcher resolves them to
127.0.0.1), and the Host header it saw is echoed by ``/echo``. It binds 127.0.0.1 only.
"""

from __future__ import annotations

import functools
import gzip
import json
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

BOMB_PLAIN_SIZE = 10_000_000
GZIP_BOMB = gzip.compress(b"\0" * BOMB_PLAIN_SIZE, compresslevel=9)
SMALL_TEXT = b"User-agent: *\nDisallow: /private/\n" * 20


def _varied_text(size: int) -> bytes:
    """Text that compresses like real content (a few times, not hundreds)."""
    lines = []
    total = 0
    state = 12345
    while total < size:
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        line = f"Disallow: /section-{state % 99991}/item-{state % 7919}.html?ref={state:x}\n"
        lines.append(line)
        total += len(line)
    return "".join(lines).encode()[:size]


VARIED_TEXT = _varied_text(3_000_000)
GZIP_VARIED = gzip.compress(VARIED_TEXT, compresslevel=6)


class FetchTestServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.port: int = self.server_address[1]
        self.lock = threading.Lock()
        self.connections = 0  # TCP connections accepted
        self.requests: list[tuple[str, str]] = []  # (Host header, path)
        self.in_flight = 0
        self.max_in_flight = 0
        self.bytes_sent: dict[str, int] = {}
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def start(self) -> FetchTestServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def url(self, path: str, host: str = "a.localhost") -> str:
        return f"http://{host}:{self.port}{path}"

    def process_request(self, request: socket.socket, client_address: object) -> None:
        with self.lock:
            self.connections += 1
        super().process_request(request, client_address)

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # resets and abandoned trickles are the point of several routes


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FetchTestServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        with self.server.lock:
            self.server.requests.append((self.headers.get("Host", ""), parts.path))
            self.server.in_flight += 1
            self.server.max_in_flight = max(self.server.max_in_flight, self.server.in_flight)
        try:
            route = _ROUTES.get(parts.path)
            if route is None:
                for prefix, handler in _PREFIX_ROUTES:
                    if parts.path.startswith(prefix):
                        route = handler
                        break
            if route is None:
                self.send(404, b"not found")
            else:
                route(self, parts.path, query)
        finally:
            with self.server.lock:
                self.server.in_flight -= 1

    def send(
        self,
        status: int,
        body: bytes = b"",
        content_type: str | None = "text/plain; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location: str, status: int = 302) -> None:
        self.send(status, b"moved", headers={"Location": location})

    def reset(self) -> None:
        """Close with an RST instead of a FIN."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()


Route = Callable[[_Handler, str, dict[str, str]], None]


def _status(h: _Handler, path: str, q: dict[str, str]) -> None:
    code = int(path.rsplit("/", 1)[1])
    h.send(code, f"status {code}".encode())


def _echo(h: _Handler, path: str, q: dict[str, str]) -> None:
    body = json.dumps(
        {
            "host": h.headers.get("Host"),
            "headers": [[k, v] for k, v in h.headers.items()],
            "client_port": h.client_address[1],
        }
    ).encode()
    h.send(200, body, content_type="application/json")


def _chain(h: _Handler, path: str, q: dict[str, str]) -> None:
    left = int(path.rsplit("/", 1)[1])
    if left == 0:
        h.send(200, b"end of chain")
    else:
        h.redirect(f"/chain/{left - 1}", status=int(q.get("status", "302")))


def _loop(h: _Handler, path: str, q: dict[str, str]) -> None:
    h.redirect("/loop/b" if path == "/loop/a" else "/loop/a")


def _self(h: _Handler, path: str, q: dict[str, str]) -> None:
    h.redirect("/self")


def _redirect_to(h: _Handler, path: str, q: dict[str, str]) -> None:
    h.redirect(q["url"])


def _relative(h: _Handler, path: str, q: dict[str, str]) -> None:
    if path == "/rel/dir/start":
        h.redirect("../target?x=1")
    else:
        h.send(200, b"relative target " + path.encode())


def _cross(h: _Handler, path: str, q: dict[str, str]) -> None:
    h.redirect(f"http://b.localhost:{h.server.port}/echo")


def _no_location(h: _Handler, path: str, q: dict[str, str]) -> None:
    h.send(302, b"redirect without location")


def _sleep(h: _Handler, path: str, q: dict[str, str]) -> None:
    time.sleep(float(q.get("s", "3")))
    h.send(200, b"slept")


def _trickle_body(h: _Handler, path: str, q: dict[str, str]) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "text/plain")
    h.send_header("Content-Length", "100000")
    h.end_headers()
    _trickle(h, b"x" * 100000, float(q.get("every", "0.3")))


def _trickle_headers(h: _Handler, path: str, q: dict[str, str]) -> None:
    head = b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-Slow-%d: y\r\n" % i for i in range(1000))
    _trickle(h, head, float(q.get("every", "0.3")))


def _trickle(h: _Handler, data: bytes, every: float) -> None:
    try:
        for i in range(min(len(data), 200)):  # ~60 s at most, even if nobody hangs up
            h.wfile.write(data[i : i + 1])
            h.wfile.flush()
            time.sleep(every)
    except OSError:
        pass
    h.close_connection = True


def _reset(h: _Handler, path: str, q: dict[str, str]) -> None:
    h.reset()


def _reset_mid_body(h: _Handler, path: str, q: dict[str, str]) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "text/plain")
    h.send_header("Content-Length", "1000")
    h.end_headers()
    h.wfile.write(b"partial body")
    h.wfile.flush()
    time.sleep(0.1)
    h.reset()


def _close_mid_body(h: _Handler, path: str, q: dict[str, str]) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "text/plain")
    h.send_header("Content-Length", "1000")
    h.end_headers()
    h.wfile.write(b"partial body")
    h.wfile.flush()
    h.close_connection = True


def _garbage(h: _Handler, path: str, q: dict[str, str]) -> None:
    h.wfile.write(b"HELLO THIS IS NOT HTTP\r\n\r\n")
    h.wfile.flush()
    h.close_connection = True


def _huge(h: _Handler, path: str, q: dict[str, str]) -> None:
    """Streams ``n`` bytes (chunked, or with ``cl`` as the announced Content-Length)."""
    total = int(q.get("n", "50000000"))
    h.send_response(200)
    h.send_header("Content-Type", "text/plain")
    if "cl" in q:
        h.send_header("Content-Length", q["cl"])
    else:
        h.send_header("Transfer-Encoding", "chunked")
    h.end_headers()
    block = b"a" * 65536
    sent = 0
    try:
        while sent < total:
            piece = block[: total - sent]
            if "cl" in q:
                h.wfile.write(piece)
            else:
                h.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            sent += len(piece)
        if "cl" not in q:
            h.wfile.write(b"0\r\n\r\n")
    except OSError:
        pass
    with h.server.lock:
        h.server.bytes_sent[path] = sent
    h.close_connection = True


def _encoded(h: _Handler, path: str, q: dict[str, str]) -> None:
    name = path.rsplit("/", 1)[1]
    if name == "gzip":
        body, coding = gzip.compress(SMALL_TEXT), "gzip"
    elif name == "x-gzip":
        body, coding = gzip.compress(SMALL_TEXT), "x-gzip"
    elif name == "deflate":
        body, coding = zlib.compress(SMALL_TEXT), "deflate"
    elif name == "deflate-raw":
        compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        body, coding = compressor.compress(SMALL_TEXT) + compressor.flush(), "deflate"
    elif name == "br":
        import brotli

        body, coding = brotli.compress(SMALL_TEXT), "br"
    elif name == "br-bomb":
        body, coding = _brotli_bomb(), "br"
    elif name == "gzip-bomb":
        body, coding = GZIP_BOMB, "gzip"
    elif name == "gzip-multi":  # two gzip members, as `cat a.gz b.gz` makes (RFC 1952 §2.2)
        body, coding = gzip.compress(SMALL_TEXT) + gzip.compress(b"second member\n"), "gzip"
    elif name == "gzip-varied":
        body, coding = GZIP_VARIED, "gzip"
    elif name == "corrupt-gzip":
        body, coding = b"this is not gzip at all", "gzip"
    elif name == "zstd":
        body, coding = b"(pretend zstd)", "zstd"
    else:
        body, coding = SMALL_TEXT, "identity"
    h.send(200, body, headers={"Content-Encoding": coding})


@functools.cache
def _brotli_bomb() -> bytes:
    import brotli

    return brotli.compress(b"\0" * BOMB_PLAIN_SIZE)


def _content_type(h: _Handler, path: str, q: dict[str, str]) -> None:
    value = q.get("t")
    h.send(200, b"{}", content_type=value)


def _two_types(h: _Handler, path: str, q: dict[str, str]) -> None:
    """Two Content-Type fields (invalid, RFC 9110 §8.3; browsers read the last one)."""
    h.send_response(200)
    h.send_header("Content-Type", "text/plain")
    h.send_header("Content-Type", "text/html")
    h.send_header("Content-Length", "2")
    h.end_headers()
    h.wfile.write(b"{}")


def _two_codings(h: _Handler, path: str, q: dict[str, str]) -> None:
    """Content-Encoding as two fields, gzip then identity: one list, gzip (RFC 9110 §5.3)."""
    body = gzip.compress(SMALL_TEXT)
    h.send_response(200)
    h.send_header("Content-Type", "text/plain")
    h.send_header("Content-Encoding", "gzip")
    h.send_header("Content-Encoding", "identity")
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


def _gzip_tail(h: _Handler, path: str, q: dict[str, str]) -> None:
    """A small gzip member followed by megabytes the decoder ignores (not a bomb: no output)."""
    h.send_response(200)
    h.send_header("Content-Type", "text/plain")
    h.send_header("Content-Encoding", "gzip")
    h.send_header("Transfer-Encoding", "chunked")
    h.end_headers()
    pieces = [gzip.compress(SMALL_TEXT)] + [b"\0" * 65536] * int(q.get("blocks", "160"))
    try:
        for piece in pieces:
            h.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        h.wfile.write(b"0\r\n\r\n")
    except OSError:
        pass
    h.close_connection = True


def _long_header(h: _Handler, path: str, q: dict[str, str]) -> None:
    """A response whose X-Padding header line is ``n`` bytes long."""
    h.send(200, b"long header", headers={"X-Padding": "p" * int(q.get("n", "17000"))})


def _cookie(h: _Handler, path: str, q: dict[str, str]) -> None:
    h.send(200, b"cookie set", headers={"Set-Cookie": "session=secret; Path=/"})


def _headers(h: _Handler, path: str, q: dict[str, str]) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "text/html")
    h.send_header("X-Robots-Tag", "noai")
    h.send_header("X-Robots-Tag", "GPTBot: noimageai")
    h.send_header("tdm-reservation", "1")
    h.send_header("Content-Length", "2")
    h.end_headers()
    h.wfile.write(b"ok")


def _robots(h: _Handler, path: str, q: dict[str, str]) -> None:
    host = h.headers.get("Host", "").split(":")[0]
    if host.startswith("slow"):
        time.sleep(0.4)
    if host.startswith("big"):
        h.send(200, b"User-agent: *\n" + b"Disallow: /x\n" * 100_000)
    elif host.startswith("html"):  # a soft 404 / home page served as robots.txt
        h.send(200, b"<html><body>Welcome</body></html>", content_type="text/html")
    elif host.startswith("challenge"):  # a Cloudflare challenge served with 200 as robots.txt
        _send_as(
            h,
            200,
            "cloudflare",
            {"cf-mitigated": "challenge"},
            ACCESS_BODIES["cf-body-200"],
            "text/html",
        )
    elif host.startswith("notype"):
        h.send(200, b"User-agent: *\nDisallow: /private/\n", content_type=None)
    else:
        h.send(200, f"User-agent: *\nDisallow: /private/\n# {host}\n".encode())


def _aitxt(h: _Handler, path: str, q: dict[str, str]) -> None:
    host = h.headers.get("Host", "").split(":")[0]
    if host.startswith("slow"):
        time.sleep(0.4)
    h.send(404, b"<html>no ai.txt</html>", content_type="text/html")


def _tdmrep(h: _Handler, path: str, q: dict[str, str]) -> None:
    host = h.headers.get("Host", "").split(":")[0]
    if host.startswith("slow"):
        time.sleep(0.4)
    h.send(200, b'[{"location": "/", "tdm-reservation": 1}]', content_type="application/json")


# Challenge, block and payment responses (docs/fetch.md, "Access outcomes"): (status, server,
# headers, body). Server replaces BaseHTTPRequestHandler's own Server header.
_CF_PAGE = b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body></body></html>"
ACCESS_BODIES: dict[str, bytes] = {
    "cf-mitigated": _CF_PAGE,
    "cf-body-200": b"<html><body><script>window._cf_chl_opt={cType:'managed'};</script>"
    b"</body></html>",
    "cf-server": b"<html><head><title>Attention Required! | Cloudflare</title></head></html>",
    "cf-jsd": b'<html><body>news<script src="/cdn-cgi/challenge-platform/scripts/jsd/main.js">'
    b"</script></body></html>",
    "datadome": b'<html><script src="https://ct.captcha-delivery.com/c.js"></script></html>',
    "akamai": b"<HTML><BODY><H1>Access Denied</H1>Reference&#32;&#35;18&#46;5f2e1d17</BODY></HTML>",
    "pay": b"Payment required.\n",
}
_ACCESS: dict[str, tuple[int, str, dict[str, str]]] = {
    "cf-mitigated": (403, "cloudflare", {"cf-mitigated": "challenge"}),
    "cf-body-200": (200, "nginx", {}),
    "cf-server": (503, "cloudflare", {}),
    "cf-jsd": (200, "cloudflare", {}),
    "datadome": (403, "nginx", {"X-DataDome": "protected"}),
    "akamai": (403, "AkamaiGHost", {}),
    "pay": (
        402,
        "cloudflare",
        {"crawler-price": "USD 0.01", "Link": '<https://example.com/license.xml>; rel="license"'},
    ),
}


def _access(h: _Handler, path: str, q: dict[str, str]) -> None:
    name = path.rsplit("/", 1)[-1]
    status, server, headers = _ACCESS[name]
    _send_as(
        h, status, server, headers, ACCESS_BODIES[name], "text/html" if name != "pay" else None
    )


def _send_as(
    h: _Handler,
    status: int,
    server: str,
    headers: dict[str, str],
    body: bytes,
    content_type: str | None,
) -> None:
    h.send_response_only(status)
    h.send_header("Server", server)
    h.send_header("Date", h.date_time_string())
    h.send_header("Content-Type", content_type or "text/plain; charset=utf-8")
    for name, value in headers.items():
        h.send_header(name, value)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


_ROUTES: dict[str, Route] = {
    "/echo": _echo,
    "/to": _redirect_to,
    "/self": _self,
    "/cross": _cross,
    "/noloc": _no_location,
    "/sleep": _sleep,
    "/trickle-body": _trickle_body,
    "/trickle-headers": _trickle_headers,
    "/long-header": _long_header,
    "/reset": _reset,
    "/reset-mid-body": _reset_mid_body,
    "/close-mid-body": _close_mid_body,
    "/garbage": _garbage,
    "/ctype": _content_type,
    "/cookie": _cookie,
    "/two-types": _two_types,
    "/two-codings": _two_codings,
    "/gzip-tail": _gzip_tail,
    "/headers": _headers,
    "/robots.txt": _robots,
    "/ai.txt": _aitxt,
    "/.well-known/tdmrep.json": _tdmrep,
}
_PREFIX_ROUTES: tuple[tuple[str, Route], ...] = (
    ("/status/", _status),
    ("/chain/", _chain),
    ("/loop/", _loop),
    ("/rel/", _relative),
    ("/huge", _huge),
    ("/enc/", _encoded),
    ("/access/", _access),
)
