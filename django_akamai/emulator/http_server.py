"""The purge API's HTTP/1.1 plumbing: keep-alive connections, body framing, transient faults,
clean shutdown. The port serves the purge APIs (``purge_api.py``) and the control API
(``control_api.py``, paths under ``/emulator/``); the edge has its own (``edge_http.py``).

Per request, in this order: route (404/405), body framing (411; a body beyond
``DRAIN_LIMIT_BYTES`` is a 413 without reading it), read the body, then one fault draw (drop,
slow, 5xx, latency), then the purge API: the EdgeGrid gateway (400/401) before the purge API
(413, 415, 400, 403, 429, 201), so that, as at Akamai, an oversized body is first
authenticated (its signature covers at most its first 131,072 bytes). A faulted request has
not reached the service: it takes no rate-limit tokens, records no nonce and is not accepted.
"""

from __future__ import annotations

import json
import logging
import socket
import socketserver
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from . import control_api
from .faults import FaultInjector
from .knobs import Knobs
from .messages import Reply, Request, Route, routing_problem
from .problems import Problem
from .purge_api import PurgeService, route
from .state import EmulatorState
from .validation import MAX_BODY_BYTES

logger = logging.getLogger(__name__)

# Bodies up to this size are read (and authenticated) before the 413 for a body beyond the
# purge API's 50,000 bytes, so that the client, still sending, gets the answer instead of a
# connection reset; beyond it the 413 comes at once and the connection is closed.
DRAIN_LIMIT_BYTES = 8 * 1024 * 1024
_CHUNK = 64 * 1024
_FAULT_TITLES = {
    500: "Internal Server Error",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _signed_scheme(forwarded_proto: str | None) -> str:
    """The scheme the client signed: this server speaks plain HTTP, unless a TLS-terminating
    proxy in front of it (or a signer that only speaks https://) says otherwise."""
    proto = (forwarded_proto or "").strip().lower()
    return proto if proto in ("http", "https") else "http"


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # stop() closes the connections itself; joining threads could wait on a slow answer.
    block_on_close = False
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        service: PurgeService,
        faults: FaultInjector,
        knobs: Callable[[], Knobs],
        controls: control_api.EmulatorControls,
        stopping: threading.Event,
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.service = service
        self.faults = faults
        self.knobs = knobs
        self.controls = controls
        self.stopping = stopping
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, EmulatorRequestHandler)

    @property
    def state(self) -> EmulatorState:
        return self.service.state

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn) that can stall startup.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    @property
    def host_header(self) -> str:
        """The Host a client would send, for requests without one (HTTP/1.0)."""
        name = f"[{self.server_name}]" if ":" in self.server_name else self.server_name
        return f"{name}:{self.server_port}"

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Wake every handler blocked on an idle keep-alive connection so it can end."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class EmulatorRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AkamaiPurgeEmulator/1.0"
    # An idle keep-alive connection is closed after this many seconds.
    timeout = 120
    server: EmulatorHTTPServer

    def do_GET(self) -> None:  # noqa: N802  (http.server's naming)
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET  # noqa: N815

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm holds the
        # body back until the client's delayed ACK (about 40 ms per keep-alive request).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        # Request lines only (method, path, status): never headers, so never credentials.
        logger.debug("%s %s", self.address_string(), format % args)

    # --- the request ----------------------------------------------------------------------

    def _handle(self) -> None:
        try:
            self._process()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            # The client went away (typically: it timed out on a slow answer).
            self.close_connection = True
        except Exception:
            logger.exception("emulator failed on %s %s", self.command, self.path)
            self.close_connection = True
            try:
                self._reply(Reply.problem(Problem(500, "Emulator error", "See the emulator log")))
            except OSError:
                pass

    def _process(self) -> None:
        server = self.server
        method = self.command
        path = urlsplit(self.path).path
        if path.startswith(control_api.PREFIX):
            route_ = control_api.route(path)
        else:
            route_ = route(method, self.path)
        if route_.counted:
            server.state.count("requests")
        length = self._content_length(route_)
        if length is None:
            return
        problem = routing_problem(route_, method, self.path)
        if problem is None and length > DRAIN_LIMIT_BYTES:
            problem = Problem(
                413,
                "Request Entity Too Large",
                f"The body is {length} bytes; the limit is {MAX_BODY_BYTES} bytes",
            )
        if problem is not None:
            self._discard_body(length, route_)
            self._finish(route_, Reply.problem(problem, server.service.ratelimit_headers(route_)))
            return
        body = self.rfile.read(length) if length else b""
        if route_.counted:
            server.state.count("bytes_received", len(body))
        if not route_.counted:
            self._reply(control_api.handle(route_, method, body, server.controls))
            return
        if self._apply_faults(route_):
            return
        request = Request(
            method=method,
            target=self.path,
            headers=list(self.headers.items()),
            body=body,
            scheme=_signed_scheme(self.headers.get("X-Forwarded-Proto")),
            default_host=server.host_header,
        )
        self._finish(route_, server.service.handle(route_, request))

    def _content_length(self, route_: Route) -> int | None:
        """The body length, or None after refusing a body this server cannot frame."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            problem = Problem(
                411, "Length Required", "Send the body with a Content-Length", close=True
            )
        else:
            raw = self.headers.get("Content-Length") or "0"
            try:
                length = int(raw)
                if length >= 0:
                    return length
            except ValueError:
                pass
            problem = Problem(400, "Bad Request", f"Invalid Content-Length {raw!r}", close=True)
        self._finish(route_, Reply.problem(problem))
        return None

    def _discard_body(self, length: int, route_: Route) -> None:
        if length > DRAIN_LIMIT_BYTES:
            self.close_connection = True
            return
        remaining = length
        while remaining > 0:
            chunk = self.rfile.read(min(_CHUNK, remaining))
            if not chunk:
                self.close_connection = True
                break
            remaining -= len(chunk)
        if route_.counted:
            self.server.state.count("bytes_received", length - remaining)

    def _apply_faults(self, route_: Route) -> bool:
        """Apply this request's fault draw; True when it has been answered (or dropped)."""
        server = self.server
        decision = server.faults.decide()
        if decision.latency_seconds and server.stopping.wait(decision.latency_seconds):
            self._drop()
            return True
        if decision.drop:
            server.state.count("dropped")
            self._drop()
            return True
        if decision.slow:
            server.state.count("slowed")
            if server.stopping.wait(server.knobs().slow_seconds):
                self._drop()
                return True
            problem = Problem(
                504,
                "Gateway Timeout",
                "The emulator answered slowly on purpose (slow_rate); the purge was not accepted",
            )
            self._reply(Reply.problem(problem, server.service.ratelimit_headers(route_)))
            return True
        if decision.fail_status is not None:
            status = decision.fail_status
            server.state.count_fault(status)
            problem = Problem(
                status,
                _FAULT_TITLES[status],
                "A transient failure injected by the emulator (fail_rate); retry",
            )
            self._reply(Reply.problem(problem, server.service.ratelimit_headers(route_)))
            return True
        return False

    # --- answers --------------------------------------------------------------------------

    def _finish(self, route_: Route, reply: Reply) -> None:
        if route_.counted and reply.status >= 400:
            if reply.status == 429:
                self.server.state.count("rate_limited")
            else:
                self.server.state.count_refused(reply.status)
            body = reply.body if isinstance(reply.body, dict) else {}
            self.server.state.record_refusal(
                self.command, urlsplit(self.path).path, reply.status, body
            )
        self._reply(reply)

    def _drop(self) -> None:
        """Close the connection without a response, as a failing network path does."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _reply(self, reply: Reply) -> None:
        if reply.close:
            self.close_connection = True
        data = b"" if reply.body is None else json.dumps(reply.body).encode("utf-8")
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.wfile.flush()
