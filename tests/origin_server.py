"""A scripted origin on 127.0.0.1 for the tests of the emulated edge and of verification: pages
by path with an ETag of their body, conditional GETs answered with 304, and a switch to fail."""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Origin:
    """Pages by path: body, extra headers; answers conditional GETs; can be made to fail."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[bytes, dict[str, str]]] = {}
        self.failing = False
        self.requests: list[tuple[str, str, bool]] = []  # (method, path, conditional)
        origin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                conditional = "If-None-Match" in self.headers
                origin.requests.append((self.command, self.path, conditional))
                if origin.failing:
                    self._send(503, b"down", {})
                    return
                body, headers = origin.pages.get(self.path, (b"not found", {}))
                status = 200 if self.path in origin.pages else 404
                etag = '"' + hashlib.sha1(body).hexdigest()[:12] + '"'  # noqa: S324
                if status == 200 and self.headers.get("If-None-Match") == etag:
                    self._send(304, b"", {"ETag": etag})
                    return
                self._send(status, body, {"ETag": etag, **headers})

            do_POST = do_GET  # noqa: N815

            def _send(self, status, body, headers):
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def page(self, path: str, body: str, **headers: str) -> None:
        self.pages[path] = (body.encode(), {k.replace("_", "-"): v for k, v in headers.items()})

    def conditional_gets(self) -> int:
        return sum(1 for _, _, conditional in self.requests if conditional)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
