"""A loopback TCP proxy to a Redis server that can be stalled: it stops forwarding (both ways)
until resumed, as a Redis stuck in a long command or a dead network path would look."""

from __future__ import annotations

import contextlib
import socket
import threading
from urllib.parse import parse_qs, urlsplit


class StallProxy:
    def __init__(self, redis_url: str) -> None:
        parts = urlsplit(redis_url)
        if parts.scheme == "unix":
            self._target: tuple[int, object] = (socket.AF_UNIX, parts.path)
            self.db = parse_qs(parts.query).get("db", ["0"])[0]
        else:
            self._target = (socket.AF_INET, (parts.hostname or "127.0.0.1", parts.port or 6379))
            self.db = parts.path.lstrip("/") or "0"
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self.running = threading.Event()
        self.running.set()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, **query: float) -> str:
        options = "".join(f"&{k}={v}" for k, v in query.items())
        return f"redis://127.0.0.1:{self.port}/{self.db}?" + options.lstrip("&")

    def stall(self) -> None:
        self.running.clear()

    def resume(self) -> None:
        self.running.set()

    def close(self) -> None:
        self._closed = True
        self.running.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            family, address = self._target
            upstream = socket.socket(family, socket.SOCK_STREAM)
            upstream.connect(address)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                self.running.wait()
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
