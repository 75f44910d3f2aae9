"""A loopback HTTP server that answers each path exactly as a test scripts it.

Every response is written byte for byte (status line, headers, body, framing), so a test can
serve what a hostile or broken origin serves: labels no browser knows, lying Content-Length,
bodies cut mid-way. It binds 127.0.0.1 only; ``*.localhost`` names reach it.
"""

from __future__ import annotations

import socket
import threading
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


class HostileServer:
    """``routes``: path -> Scripted (or a callable of the request bytes); others get 404."""

    def __init__(self, routes: dict[str, Scripted | Callable[[bytes], bytes]]) -> None:
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
            else:
                raw = route(request)
            try:
                conn.sendall(raw)
            except OSError:
                return
