"""A lean asyncio HTTP/1.1 server for the fixture web: keep-alive, GET and HEAD, Host routing.

Site ``i`` answers at ``s{i:05d}.fixture.localhost``; the server binds 127.0.0.1 only. The
request target may also be in absolute form (``GET http://s00001.fixture.localhost:PORT/``), so a
client without a resolver override can use the server as its HTTP proxy. Requests whose Host is
``127.0.0.1`` or ``localhost`` reach two admin paths: ``/_fixture/health`` and
``/_fixture/counts``.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from collections import OrderedDict
from collections.abc import Sequence

from reservation_crawler.testing.render import (
    FIXTURE_DOMAIN,
    GZIP_BOMB_SIZE,
    NOT_FOUND,
    RESET_MODE,
    TIMEOUT_MODE,
    Response,
    SiteRenderer,
    error_page,
    make_response,
    site_host,
)
from reservation_crawler.testing.sites import Recipe, RobotsCorpus

LOOPBACK = "127.0.0.1"
MAX_HEAD = 64 * 1024
_KEEP_ALIVE = b"Connection: keep-alive\r\n\r\n"
_CLOSE = b"Connection: close\r\n\r\n"
_SITE_HOST_LENGTH = len(site_host(0))
_SITE_SUFFIX = "." + FIXTURE_DOMAIN
_UNKNOWN_SITE = make_response(404, "text/plain; charset=utf-8", b"unknown fixture site\n")
_BAD_REQUEST = error_page(400)
_NOT_ALLOWED = make_response(
    405, "text/plain; charset=utf-8", b"GET and HEAD only\n", [("Allow", "GET, HEAD")]
)


def site_index(host: str) -> int | None:
    """``s00042.fixture.localhost[:port]`` -> 42; anything else -> None."""
    host = host.strip().lower()
    colon = host.rfind(":")
    if colon >= 0 and host[colon + 1 :].isdigit():
        host = host[:colon]
    if host.endswith(".") and len(host) == _SITE_HOST_LENGTH + 1:
        host = host[:-1]  # a fully qualified name with its root dot
    if len(host) != _SITE_HOST_LENGTH or host[0] != "s" or not host.endswith(_SITE_SUFFIX):
        return None
    digits = host[1 : host.index(".")]
    return int(digits) if digits.isdigit() else None


class FixtureServer:
    """Serves a list of recipes; counts requests per (site, path)."""

    def __init__(
        self,
        recipes: Sequence[Recipe],
        *,
        corpus: RobotsCorpus | None = None,
        slow_delay: float = 30.0,
        gzip_bomb_size: int = GZIP_BOMB_SIZE,
        cache_sites: int = 2048,
    ) -> None:
        self.recipes = list(recipes)  # shared with the renderer: replace_site() edits it
        self.corpus = corpus
        self.slow_delay = slow_delay
        self.gzip_bomb_size = gzip_bomb_size
        self.cache_sites = cache_sites
        self.counts: dict[tuple[int, str], int] = {}
        self.total_requests = 0
        self.port = 0
        self._renderer: SiteRenderer | None = None
        self._cache: OrderedDict[int, dict[str, Response]] = OrderedDict()
        self._connections: set[_Connection] = set()
        self._server: asyncio.Server | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    async def start(self, port: int = 0) -> int:
        self.loop = asyncio.get_running_loop()
        self._server = await self.loop.create_server(
            lambda: _Connection(self), LOOPBACK, port, backlog=4096, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._renderer = SiteRenderer(
            self.recipes, self.port, self.corpus, gzip_bomb_size=self.gzip_bomb_size
        )
        return self.port

    async def close(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for connection in list(self._connections):
            connection.abort()
        await self._server.wait_closed()
        self._server = None

    def replace_site(self, index: int, recipe: Recipe) -> None:
        """Serve ``recipe`` as site ``index`` from now on (a site that changed its signals)."""
        self.recipes[index] = recipe
        self._cache.pop(index, None)

    def site_routes(self, index: int) -> dict[str, Response]:
        routes = self._cache.get(index)
        if routes is not None:
            self._cache.move_to_end(index)
            return routes
        assert self._renderer is not None
        routes = self._renderer.render(index)
        self._cache[index] = routes
        if len(self._cache) > self.cache_sites:
            self._cache.popitem(last=False)
        return routes

    def route(self, host: str, target: str, user_agent: str = "") -> Response:
        """The response to a GET of ``target`` on ``host``; a resource refused to some agents
        (render.py's ``refuse-agent`` mode) gives its refusal to a matching ``user_agent``."""
        response = self._route(host, target)
        if response.refuse_to and response.refused and response.refuse_to in user_agent.lower():
            return response.refused
        return response

    def _route(self, host: str, target: str) -> Response:
        if target.startswith(("http://", "HTTP://")):
            rest = target[7:]
            slash = rest.find("/")
            host, target = (rest, "/") if slash < 0 else (rest[:slash], rest[slash:])
        path = target.split("?", 1)[0].split("#", 1)[0] or "/"
        index = site_index(host)
        self.total_requests += 1
        if index is None or index >= len(self.recipes):
            return self._admin(host, path)
        key = (index, path)
        self.counts[key] = self.counts.get(key, 0) + 1
        owner = index
        if path.startswith("/_fixture/"):
            # Redirect hops name the site whose resource they lead to (may be another host).
            parts = path.split("/")
            if len(parts) > 3 and parts[3].isdigit() and int(parts[3]) < len(self.recipes):
                owner = int(parts[3])
        return self.site_routes(owner).get(path, NOT_FOUND)

    def _admin(self, host: str, path: str) -> Response:
        bare = host.rsplit(":", 1)[0].strip().lower() if host.count(":") <= 1 else host
        if bare not in (LOOPBACK, "localhost", ""):
            return _UNKNOWN_SITE
        if path == "/_fixture/health":
            body = json.dumps({"status": "ok", "sites": len(self.recipes), "port": self.port})
            return make_response(200, "application/json", body.encode())
        if path == "/_fixture/counts":
            per_site: dict[str, dict[str, int]] = {}
            for (index, site_path), n in sorted(self.counts.items()):
                per_site.setdefault(site_host(index), {})[site_path] = n
            body = json.dumps({"total": self.total_requests, "sites": per_site})
            return make_response(200, "application/json", body.encode())
        return NOT_FOUND


class _Connection(asyncio.Protocol):
    """One client connection; requests are answered in order (a delayed one holds the rest)."""

    __slots__ = ("buffer", "closed", "server", "timer", "transport", "waiting")

    def __init__(self, server: FixtureServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiting = False
        self.closed = False
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server._connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.timer is not None:
            self.timer.cancel()
        self.server._connections.discard(self)

    def abort(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.waiting:
            self._process()

    def _process(self) -> None:
        while not self.waiting and not self.closed:
            if self.buffer[:1] == b"\x16":
                # A TLS ClientHello (an https:// client) on this plain-HTTP port: answered 400 at
                # once, as real plain-HTTP servers do, so the client's handshake fails fast.
                self._send(_BAD_REQUEST, False, False)
                return
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD:
                    self._send(_BAD_REQUEST, False, False)
                return
            head = bytes(self.buffer[:end])
            del self.buffer[: end + 4]
            lines = head.split(b"\r\n")
            parts = lines[0].split(b" ")
            if len(parts) != 3:
                self._send(_BAD_REQUEST, False, False)
                return
            method, target, version = parts
            host = b""
            agent = b""
            connection = b""
            body_length = 0
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"host":
                    host = value.strip()
                elif name == b"user-agent":
                    agent = value.strip()
                elif name == b"connection":
                    connection = value.strip().lower()
                elif name == b"content-length" and value.strip().isdigit():
                    body_length = int(value.strip())
            if body_length:
                del self.buffer[:body_length]  # request bodies are ignored
            if version == b"HTTP/1.1":
                keep_alive = b"close" not in connection
            else:
                keep_alive = b"keep-alive" in connection
            if method == b"GET" or method == b"HEAD":
                response = self.server.route(
                    host.decode("latin-1"), target.decode("latin-1"), agent.decode("latin-1")
                )
            else:
                response = _NOT_ALLOWED
            head_only = method == b"HEAD"
            if response.mode == TIMEOUT_MODE:
                self.waiting = True
                assert self.server.loop is not None
                self.timer = self.server.loop.call_later(
                    self.server.slow_delay, self._send_delayed, response, head_only, keep_alive
                )
                return
            self._send(response, head_only, keep_alive)
            if not keep_alive:
                return

    def _send_delayed(self, response: Response, head_only: bool, keep_alive: bool) -> None:
        self.timer = None
        self.waiting = False
        self._send(response, head_only, keep_alive)
        if keep_alive and not self.closed and self.buffer:
            self._process()

    def _send(self, response: Response, head_only: bool, keep_alive: bool) -> None:
        transport = self.transport
        if transport is None or self.closed:
            return
        if response.mode == RESET_MODE:
            # Headers and half the body, then an RST (SO_LINGER 0): a reset mid-response.
            partial = b"" if head_only else response.body[: len(response.body) // 2]
            transport.write(response.head + _KEEP_ALIVE + partial)
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.closed = True
            assert self.server.loop is not None
            self.server.loop.call_later(0.01, transport.abort)
            return
        tail = _KEEP_ALIVE if keep_alive else _CLOSE
        transport.write(response.head + tail if head_only else response.head + tail + response.body)
        if not keep_alive:
            self.closed = True
            transport.close()
