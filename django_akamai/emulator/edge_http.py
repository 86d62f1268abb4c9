"""The emulated edge's HTTP server, and Akamai's debug ``Pragma`` headers.

Every answer carries ``Date`` (on the edge's clock: when the served copy came from the
origin) and, when it was served from a copy, ``Age`` (seconds since then), so a verifier can
tell a copy older than a purge from a newer one. On request, as Akamai's edge servers do
(``AKAMAI_API.md`` §5), the ``Pragma`` values add:

================================  ===================================================
``akamai-x-cache-on``             ``X-Cache: TCP_HIT | TCP_MISS | TCP_REFRESH_HIT |
                                  TCP_REFRESH_MISS | TCP_REFRESH_FAIL_HIT from ...``
``akamai-x-get-cache-key``        ``X-Cache-Key`` (host + path + query)
``akamai-x-get-true-cache-key``   ``X-True-Cache-Key`` (the same: there is one tier)
``akamai-x-check-cacheable``      ``X-Check-Cacheable: YES | NO``
``akamai-x-get-request-id``       ``X-Akamai-Request-ID`` (hex, unique per edge)
``akamai-x-get-cache-tags``       ``X-Cache-Tags`` (when the object has tags)
================================  ===================================================

There is no parent tier, so ``akamai-x-cache-remote-on`` adds nothing. ``GET
/emulator/edge`` on the edge's port shows its state, as on the emulator's.
"""

from __future__ import annotations

import itertools
import json
import secrets
import socket
import socketserver
import threading
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .edge import Edge, EdgeResponse

GHOST = "from a127-0-0-1.deploy.akamaitechnologies.com (AkamaiGHost/emulator)"
# Served from a copy (not fetched or validated for this request): these carry an Age.
_FROM_COPY = frozenset({"TCP_HIT", "TCP_REFRESH_FAIL_HIT"})


class EdgeServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], edge: Edge) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.edge = edge
        # Request ids: hex, from a random start so two edges' ids do not collide.
        self.request_ids = itertools.count(secrets.randbits(32) << 8)
        super().__init__(address, EdgeRequestHandler)

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # no reverse DNS lookup
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)


def pragma_values(headers: list[tuple[str, str]]) -> frozenset[str]:
    """The lower-cased ``Pragma`` tokens of a request (several headers may carry them)."""
    joined = ",".join(v for k, v in headers if k.lower() == "pragma")
    return frozenset(token.strip().lower() for token in joined.split(",") if token.strip())


def debug_headers(
    edge: Edge, answer: EdgeResponse, pragma: frozenset[str], request_id: str
) -> list[tuple[str, str]]:
    """Date, Age and the answers to Akamai's debug ``Pragma`` values."""
    now = edge.clock()
    stored_at = answer.stored_at if answer.stored_at is not None else now
    out = [("Date", formatdate(edge.wall_time(stored_at), usegmt=True))]
    if answer.x_cache in _FROM_COPY or answer.x_cache == "TCP_REFRESH_HIT":
        out.append(("Age", str(max(0, int(now - stored_at)))))
    if "akamai-x-cache-on" in pragma:
        out.append(("X-Cache", f"{answer.x_cache} {GHOST}"))
    if "akamai-x-get-cache-key" in pragma:
        out.append(("X-Cache-Key", answer.key))
    if "akamai-x-get-true-cache-key" in pragma:
        out.append(("X-True-Cache-Key", answer.key))
    if "akamai-x-check-cacheable" in pragma:
        out.append(("X-Check-Cacheable", "YES" if answer.cacheable else "NO"))
    if "akamai-x-get-request-id" in pragma:
        out.append(("X-Akamai-Request-ID", request_id))
    if "akamai-x-get-cache-tags" in pragma and answer.tags:
        out.append(("X-Cache-Tags", ",".join(sorted(answer.tags))))
    return out


class EdgeRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AkamaiGHost/emulator"
    timeout = 120
    server: EdgeServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # an edge in a test or a demo has nothing useful to print per request

    def do_GET(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = list(self.headers.items())
        edge = self.server.edge
        if self.path == "/emulator/edge" and self.command == "GET":
            document = json.dumps(edge.as_json(), default=str).encode("utf-8")
            self._send(200, [("Content-Type", "application/json")], document)
            return
        request_id = f"{next(self.server.request_ids):x}"
        answer = edge.serve(self.command, self.path, headers, body)
        extra = debug_headers(edge, answer, pragma_values(headers), request_id)
        # The origin's Date and Age give way to the edge's, which count from the copy's time.
        kept = [(k, v) for k, v in answer.headers if k.lower() not in ("date", "age")]
        self._send(answer.status, [*kept, *extra], answer.body)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET  # noqa: N815

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response_only(status)
        if not any(name == "Date" for name, _ in headers):
            self.send_header("Date", formatdate(usegmt=True))
        for name, value in headers:
            if name.lower() not in ("content-length", "server"):
                self.send_header(name, value)
        self.send_header("Server", self.server_version)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


@dataclass
class RunningEdge:
    """An :class:`Edge` with its HTTP server thread."""

    edge: Edge
    server: EdgeServer
    thread: threading.Thread = field(repr=False)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_edge(edge: Edge, bind: str = "127.0.0.1", port: int = 0) -> RunningEdge:
    server = EdgeServer((bind, port), edge)
    host = f"[{bind}]" if ":" in bind else ("127.0.0.1" if bind in ("", "0.0.0.0") else bind)  # noqa: S104
    edge.base_url = f"http://{host}:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name=f"akamai-edge-{server.server_address[1]}",
        daemon=True,
    )
    thread.start()
    return RunningEdge(edge, server, thread)
