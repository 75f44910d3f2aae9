"""A loopback HTTP server that answers each path exactly as a test scripts it.

Every response is written byte for byte (status line, headers, body, framing), so a test can
serve what a hostile or broken origin serves: labels no browser knows, lying Content-Length,
bodies cut mid-way. It binds 127.0.0.1 only; ``*.localhost`` names reach it.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Scripted:
    """One response: status, header pairs as sent, body; ``hang`` seconds before closing."""

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    content_length: bool = True  # send Content-Length (else close-delimited)

    def raw(self) -> bytes:
        lines = [f"HTTP/1.1 {self.status} X"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        if self.content_length:
            lines.append(f"Content-Length: {len(self.body)}")
        lines.append("Connection: close")
        head = "\r\n".join(lines) + "\r\n\r\n"
        return head.encode("latin-1", "surrogateescape") + self.body


@dataclass
class Cut:
    """A response whose body stops after ``sent`` bytes: the connection then hangs for ``hang``
    seconds (``reset`` False) or is reset (RST). ``announce`` is the Content-Length sent."""

    response: Scripted
    sent: int
    announce: int | None = None
    hang: float = 0.0
    reset: bool = False

    def head(self) -> bytes:
        lines = [f"HTTP/1.1 {self.response.status} X"]
        lines += [f"{name}: {value}" for name, value in self.response.headers]
        if self.announce is not None:
            lines.append(f"Content-Length: {self.announce}")
        lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "surrogateescape")


class HostileServer:
    """``routes``: path -> Scripted, Cut (or a callable of the request bytes); others get 404."""

    def __init__(self, routes: dict[str, Scripted | Cut | Callable[[bytes], bytes]]) -> None:
        self.routes = routes
        self.requests: list[str] = []
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                request += chunk
            path = request.split(b" ", 2)[1].decode("latin-1")
            self.requests.append(path)
            route = self.routes.get(path.split("?", 1)[0])
            if route is None:
                raw = Scripted(404, [("Content-Type", "text/plain")], b"not here\n").raw()
            elif isinstance(route, Scripted):
                raw = route.raw()
            elif isinstance(route, Cut):
                self._cut(conn, route)
                return
            else:
                raw = route(request)
            try:
                conn.sendall(raw)
            except OSError:
                return

    def _cut(self, conn: socket.socket, cut: Cut) -> None:
        try:
            conn.sendall(cut.head() + cut.response.body[: cut.sent])
            deadline = time.monotonic() + cut.hang
            while not self._stop.is_set() and time.monotonic() < deadline:
                time.sleep(0.05)
            if cut.reset:  # SO_LINGER 0: close() sends RST instead of FIN
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            return


def dead_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SilentServer:
    """Accepts connections on loopback and never answers (a host that hangs)."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._sock.close()
        for conn in self.accepted:
            conn.close()
