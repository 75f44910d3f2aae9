"""A small loopback web server for the registry tests: serves the files a test puts in it."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Site:
    """``files`` maps a path (with query) to (content type, body); anything else is a 404."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[str, bytes]] = {}
        files = self.files

        class Handler(BaseHTTPRequestHandler):
            def handle_one_request(self) -> None:
                # A TLS ClientHello (an https:// probe of this plain-HTTP port) is refused at
                # once, as real servers do, instead of waiting for a request line that never ends.
                if self.rfile.peek(1)[:1] == b"\x16":
                    self.close_connection = True
                    self.wfile.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                    return
                super().handle_one_request()

            def do_GET(self) -> None:
                found = files.get(self.path)
                if found is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                content_type, body = found
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def put(self, path: str, body: bytes | str, content_type: str = "text/html") -> None:
        self.files[path] = (content_type, body.encode() if isinstance(body, str) else body)

    def __enter__(self) -> Site:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
