"""One HTTP exchange of the verifier: a GET of a public URL through the edge (or the origin).

``fetch(url, via=...)`` connects to ``via`` (the ``EDGE`` or ``ORIGIN`` address) instead of
resolving the URL's host, and still sends the URL's own ``Host`` (and, over TLS, its name in
SNI, so the certificate is checked for the public name, as a browser would). Plain http only
to loopback hosts. Nothing here decides what an answer means (that is ``judge``); nothing here
raises for the network: an unreachable host is an :class:`Answer` with ``status`` None.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..hosts import is_loopback

__all__ = ["DEBUG_PRAGMA", "Answer", "fetch"]

#: Akamai's debug values (AKAMAI_API.md §5): cache status, the parent tier's, whether the
#: object is cacheable, the cache key and the request id (to quote to Akamai's support).
DEBUG_PRAGMA = (
    "akamai-x-cache-on, akamai-x-cache-remote-on, akamai-x-check-cacheable, "
    "akamai-x-get-cache-key, akamai-x-get-request-id"
)
#: A page is read to its end (so the connection could be reused) but never kept past this.
MAX_BODY_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Answer:
    """What one request got: the status (None when nothing answered) and the headers."""

    status: int | None
    headers: Mapping[str, str] = field(default_factory=dict)  # names lower-cased
    error: str = ""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def _connection(url_parts: Any, via: str | None, timeout: float) -> http.client.HTTPConnection:
    target = urlsplit(via) if via else url_parts
    scheme = target.scheme
    host = url_parts.hostname or ""
    port = target.port or (443 if scheme == "https" else 80)
    connect_to = (target.hostname, port)
    connection: http.client.HTTPConnection
    if scheme == "https":
        # The URL's name for SNI and the certificate; the socket goes to `via`.
        connection = http.client.HTTPSConnection(
            host, port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        return socket.create_connection(connect_to, *args, **kwargs)

    connection._create_connection = create_connection  # type: ignore[attr-defined]
    return connection


def fetch(
    url: str,
    *,
    via: str | None = None,
    timeout: float = 10.0,
    headers: Mapping[str, str] | None = None,
) -> Answer:
    """GET ``url`` from ``via`` (default: the URL's own host) with the URL's ``Host``."""
    try:
        parts = urlsplit(url)
        target = urlsplit(via) if via else parts
        target_host = target.hostname
    except ValueError as exc:
        return Answer(None, error=f"not a URL: {exc}")
    if parts.scheme not in ("http", "https") or not parts.hostname or not target_host:
        return Answer(None, error="not an http(s) URL")
    if target.scheme == "http" and not is_loopback(target_host):
        return Answer(None, error=f"plain http to {target_host!r} is not used (loopback only)")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection = _connection(parts, via, timeout)
    try:
        connection.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        # The URL's own Host (without userinfo): the edge's cache key and the site's name.
        connection.putheader("Host", parts.netloc.rpartition("@")[2])
        connection.putheader("User-Agent", "django-akamai-verify")
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        response.read(MAX_BODY_BYTES)
        received = {name.lower(): value for name, value in response.getheaders()}
        return Answer(response.status, received)
    except (OSError, http.client.HTTPException) as exc:
        return Answer(None, error=f"{type(exc).__name__}: {exc}")
    finally:
        connection.close()
