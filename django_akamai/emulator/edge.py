"""The emulated edge's cache: what it stores, and how accepted purges reach it.

``edge_http.py`` puts HTTP (and Akamai's debug ``Pragma`` headers) in front of it. What it
does, as an Akamai edge server does for one property (simplified):

* caches ``GET`` (and answers ``HEAD`` from the same entry) per cache key, host + path +
  query (the scheme is not part of the key). The host is the property's public host name
  (``public_host``, ``--edge-host``) and by default the origin's own host, so that a site
  served as ``http://127.0.0.1:8000`` and purged under that name is purged here too;
  ``public_host="*"`` takes each request's ``Host`` instead. It honours ``Cache-Control``
  (``s-maxage`` over ``max-age``; ``no-store``, ``no-cache`` and ``private`` are not cached)
  and a default TTL otherwise; responses with ``Set-Cookie`` and statuses other than
  200/203/301/404/410 are not cached; other methods go to the origin uncached;
* remembers each response's ``Edge-Cache-Tag`` tags;
* applies every purge the emulator accepts for the production network, ``estimatedSeconds``
  after acceptance (Akamai's 5 s divided by ``time_scale``): by URL (full URL, hostname +
  path, or ARL), by cache tag, or by CP code when the CP code is one of the edge's
  (``cp_codes``; an edge without CP codes ignores CP code purges);
* ``invalidate`` marks the copy stale: the next request revalidates with a conditional GET
  (``If-None-Match`` / ``If-Modified-Since``); a 304 refreshes the copy, a 200 replaces it,
  and if the origin fails (5xx or unreachable) the stale copy is served, as Akamai does;
  ``delete`` drops the copy;
* can be told to misbehave toward a purge (``faults.PurgeFaults``): ignore it, or re-cache
  the old copy right after applying it (a race); the copy then looks new (``Date``, ``Age``)
  and only its content or its own ``ETag``/``Last-Modified`` betray it.

Time: purges fall due on the edge's clock (``time.monotonic`` unless a test passes a
:class:`ManualClock`) and are applied lazily, whenever the edge is asked anything; no timer
thread decides, so a test that advances a manual clock sees exact states. ``Date`` and
``Age`` are on that clock too (:meth:`Edge.wall_time`).
"""

from __future__ import annotations

import heapq
import http.client
import itertools
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .faults import APPLY, DROP, RECACHE, PurgeFaults
from .state import AcceptedPurge

DEFAULT_TTL_SECONDS = 600.0
# Long enough for a development server's first, cold render of a heavy page (a Wagtail home
# page took more than 10 s), short enough that a hung origin is noticed.
DEFAULT_ORIGIN_TIMEOUT_SECONDS = 60.0
# public_host: cache under each request's Host instead of one public host name.
REQUEST_HOST = "*"
CACHEABLE_STATUSES = frozenset({200, 203, 301, 404, 410})
# Hop-by-hop headers (RFC 9110 §7.6.1) are not forwarded in either direction.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "proxy-connection",
    }
)
_ARL = re.compile(r"/[LD]/\d+/\d+/[^/]+/(?P<host>[^/?#]+)(?P<path>[/?#].*)?\Z")
_MAX_AGE = re.compile(r"(?:^|,)\s*(s-maxage|max-age)\s*=\s*\"?(\d+)", re.IGNORECASE)


class ManualClock:
    """A clock a test moves by hand: ``clock.advance(5)``."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


@dataclass
class CachedObject:
    key: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    tags: frozenset[str]
    stored_at: float
    expires_at: float
    stale: bool = False  # invalidated by a purge: revalidate before serving

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)


@dataclass(frozen=True)
class AppliedPurge:
    """A purge as the edge applied it: when it was accepted, when it took effect, what it hit."""

    purge_id: str
    action: str
    type: str
    objects: tuple[Any, ...]
    accepted_at: float  # edge clock
    applied_at: float  # edge clock
    keys: tuple[str, ...]  # the cache keys it covers (URL purges), whether cached or not
    hit: int  # cached objects it invalidated or dropped
    fault: str = APPLY  # APPLY, or the fault injected: DROP (ignored) or RECACHE (race)


@dataclass(frozen=True)
class EdgeResponse:
    """One answer of the edge, with what Akamai's debug headers report about it."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    x_cache: str  # TCP_HIT, TCP_MISS, TCP_REFRESH_HIT, TCP_REFRESH_MISS, TCP_REFRESH_FAIL_HIT
    key: str  # the cache key
    tags: frozenset[str]
    cacheable: bool  # whether the edge keeps (or kept) this response
    stored_at: float | None  # edge clock: when the served copy came from the origin


@dataclass(frozen=True)
class Freshness:
    """What :meth:`Edge.wait_until_fresh` saw."""

    url: str
    seconds: float
    x_cache: str
    requests: int
    body: bytes


def cache_key(host: str, path_and_query: str) -> str:
    """Akamai's default cache key, simplified: lower-cased host, then path and query."""
    host = host.lower().rstrip(".")
    if host.endswith(":80") or host.endswith(":443"):
        host = host.rsplit(":", 1)[0]
    return host + (path_and_query or "/")


def _url_key(obj: str, hostname: str | None) -> str | None:
    if hostname is not None and obj.startswith("/"):
        return cache_key(hostname, obj)
    arl = _ARL.match(obj)
    if arl is not None:
        return cache_key(arl["host"], arl["path"] or "/")
    parts = urlsplit(obj)
    if not parts.netloc:
        return None
    path = parts.path or "/"
    return cache_key(parts.netloc, path + (f"?{parts.query}" if parts.query else ""))


def _ttl(headers: Iterable[tuple[str, str]], default: float) -> float | None:
    """Seconds to cache for, or None when the response must not be cached."""
    control = ", ".join(v for k, v in headers if k.lower() == "cache-control").lower()
    if any(word in control for word in ("no-store", "no-cache", "private")):
        return None
    ages = dict((m.group(1).lower(), int(m.group(2))) for m in _MAX_AGE.finditer(control))
    if "s-maxage" in ages:
        return float(ages["s-maxage"])
    if "max-age" in ages:
        return float(ages["max-age"])
    return default


def _tags(headers: Iterable[tuple[str, str]]) -> frozenset[str]:
    values = (v for k, v in headers if k.lower() == "edge-cache-tag")
    return frozenset(tag.strip() for value in values for tag in value.split(",") if tag.strip())


class Edge:
    """The cache and the purge schedule; :class:`EdgeServer` puts HTTP in front of it."""

    def __init__(
        self,
        origin: str,
        *,
        public_host: str | None = None,
        cp_codes: Iterable[int] = (),
        default_ttl: float = DEFAULT_TTL_SECONDS,
        network: str = "production",
        clock: Callable[[], float] = time.monotonic,
        origin_timeout: float = DEFAULT_ORIGIN_TIMEOUT_SECONDS,
        faults: PurgeFaults | None = None,
        forward_host: bool = False,
    ) -> None:
        parts = urlsplit(origin if "://" in origin else f"http://{origin}")
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"the edge's origin must be an http://host:port URL, not {origin!r}")
        if isinstance(origin_timeout, bool) or not origin_timeout > 0:
            raise ValueError(
                f"origin_timeout must be a number of seconds > 0, not {origin_timeout!r}"
            )
        self.origin = f"http://{parts.netloc}"
        self.origin_host = parts.hostname
        self.origin_port = parts.port or 80
        self.public_host = public_host
        # The host part of every cache key (None: each request's Host). By default the
        # origin's: what a site served directly from it names in its purges.
        self.cache_host: str | None = (
            None if public_host == REQUEST_HOST else (public_host or parts.netloc)
        )
        self.faults = faults if faults is not None else PurgeFaults()
        self.cp_codes = frozenset(int(code) for code in cp_codes)
        self.default_ttl = float(default_ttl)
        self.network = network
        self.clock = clock
        self.origin_timeout = float(origin_timeout)
        # Akamai's "Forward Host Header": the origin's own name (False), or the incoming Host
        # (True: one origin serving several sites, e.g. Wagtail Sites told apart by host).
        self.forward_host = forward_host
        # Date headers are on the edge's clock: wall time when the clock read 0.
        self._epoch = time.time() - clock()
        self.base_url = ""  # set by edge_http.start_edge once bound
        self._lock = threading.RLock()
        self._objects: dict[str, CachedObject] = {}
        # A heap by due time: (due, sequence, purge, accepted at, fault decided on acceptance).
        self._pending: list[tuple[float, int, AcceptedPurge, float, str]] = []
        self._sequence = itertools.count()
        self._applied: list[AppliedPurge] = []
        self._counts: Counter[str] = Counter()

    # --- purges -------------------------------------------------------------------------

    def schedule(self, purge: AcceptedPurge, delay_seconds: float) -> None:
        """Apply ``purge`` ``delay_seconds`` from now (edge clock); called on acceptance."""
        if purge.network != self.network:
            return
        fault = self.faults.decide()  # on acceptance, in arrival order: reproducible
        now = self.clock()
        with self._lock:
            entry = (now + delay_seconds, next(self._sequence), purge, now, fault)
            heapq.heappush(self._pending, entry)
        self.apply_due()

    def apply_due(self) -> int:
        """Apply every purge whose time has come; return how many were applied."""
        applied = 0
        with self._lock:
            now = self.clock()
            while self._pending and self._pending[0][0] <= now:
                due, _, purge, accepted_at, fault = heapq.heappop(self._pending)
                self._apply(purge, accepted_at, due, fault)
                applied += 1
        return applied

    def _apply(self, purge: AcceptedPurge, accepted_at: float, due: float, fault: str) -> None:
        keys: tuple[str, ...] = ()
        if purge.type in ("url", "arl"):
            keys = tuple(
                key
                for obj in purge.objects
                if isinstance(obj, str) and (key := _url_key(obj, purge.hostname)) is not None
            )
            targets = [self._objects[k] for k in keys if k in self._objects]
        elif purge.type == "tag":
            wanted = set(purge.objects)
            targets = [o for o in self._objects.values() if o.tags & wanted]
        else:  # cpcode
            codes = {int(code) for code in purge.objects}
            targets = list(self._objects.values()) if codes & self.cp_codes else []
        if fault == DROP:
            # Accepted with a 201 by the API, never carried out here.
            self._counts["purges_dropped"] += 1
            targets = []
        drop = purge.action in ("delete", "remove")
        for obj in targets:
            if drop:
                del self._objects[obj.key]
            else:
                obj.stale = True
        if fault == RECACHE:
            # The race: a request that read the old data before the commit refills the cache
            # right after the purge. The old copy is back, stored when the purge took effect.
            for obj in targets:
                ttl = _ttl(obj.headers, self.default_ttl) or self.default_ttl
                self._objects[obj.key] = CachedObject(
                    obj.key, obj.status, obj.headers, obj.body, obj.tags, due, due + ttl
                )
            self._counts["purges_recached"] += 1
            self._counts["objects_recached"] += len(targets)
        self._counts["purges_applied"] += 1
        self._counts["objects_deleted" if drop else "objects_invalidated"] += len(targets)
        self._applied.append(
            AppliedPurge(
                purge.purge_id,
                purge.action,
                purge.type,
                purge.objects,
                accepted_at,
                due,
                keys,
                len(targets),
                fault,
            )
        )

    # --- what happened --------------------------------------------------------------------

    def applied(self) -> list[AppliedPurge]:
        self.apply_due()
        with self._lock:
            return list(self._applied)

    def pending(self) -> int:
        self.apply_due()
        with self._lock:
            return len(self._pending)

    def cached(self, url: str) -> CachedObject | None:
        """The edge's copy of ``url`` (a full URL), if any."""
        self.apply_due()
        key = _url_key(url, None)
        with self._lock:
            return self._objects.get(key) if key else None

    def state(self, url: str) -> str:
        """``"absent"``, ``"fresh"``, ``"stale"`` (invalidated) or ``"expired"`` (TTL)."""
        obj = self.cached(url)
        if obj is None:
            return "absent"
        if obj.stale:
            return "stale"
        return "expired" if obj.expires_at <= self.clock() else "fresh"

    @property
    def counters(self) -> dict[str, int]:
        self.apply_due()
        with self._lock:
            names = (
                "requests",
                "hits",
                "misses",
                "refresh_hits",
                "refresh_misses",
                "refresh_fail_hits",
                "origin_requests",
                "origin_errors",
                "passed",
                "purges_applied",
                "objects_invalidated",
                "objects_deleted",
                "purges_dropped",
                "purges_recached",
                "objects_recached",
            )
            counts = {name: self._counts[name] for name in names}
            counts["cached_objects"] = len(self._objects)
            counts["pending_purges"] = len(self._pending)
            return counts

    def as_json(self) -> dict[str, Any]:
        with self._lock:
            objects = [
                {
                    "key": o.key,
                    "status": o.status,
                    "tags": sorted(o.tags),
                    "stale": o.stale,
                    "ttl_left": round(o.expires_at - self.clock(), 3),
                }
                for o in self._objects.values()
            ]
        applied = [
            {
                "purgeId": a.purge_id,
                "action": a.action,
                "type": a.type,
                "objects": list(a.objects),
                "keys": list(a.keys),
                "acceptedAt": a.accepted_at,
                "appliedAt": a.applied_at,
                "hit": a.hit,
                "fault": a.fault,
            }
            for a in self.applied()
        ]
        pending = self.faults.pending()
        return {
            "origin": self.origin,
            "publicHost": self.public_host,
            "cacheHost": self.cache_host,
            "originTimeout": self.origin_timeout,
            "clock": self.clock(),
            "faults": {
                "dropRate": self.faults.drop_rate,
                "recacheRate": self.faults.recache_rate,
                "dropNext": pending["drop_next"],
                "recacheNext": pending["recache_next"],
            },
            "counters": self.counters,
            "objects": objects,
            "applied": applied,
        }

    def reset(self) -> None:
        """Empty the cache, forget pending and applied purges and the counters."""
        with self._lock:
            self._objects.clear()
            self._pending.clear()
            self._applied.clear()
            self._counts.clear()

    # --- serving ------------------------------------------------------------------------

    def wall_time(self, moment: float) -> float:
        """The wall-clock time (``time.time()`` scale) of an edge-clock ``moment``."""
        return self._epoch + moment

    def key_for(self, host_header: str | None, path_and_query: str) -> str:
        host = self.cache_host or host_header or self.base_url.removeprefix("http://")
        return cache_key(host, path_and_query)

    def serve(
        self, method: str, path: str, headers: list[tuple[str, str]], body: bytes
    ) -> EdgeResponse:
        """The edge's answer to one request."""
        self.apply_due()
        host = next((v for k, v in headers if k.lower() == "host"), None)
        key = self.key_for(host, path)
        with self._lock:
            self._counts["requests"] += 1
        if method not in ("GET", "HEAD"):
            with self._lock:
                self._counts["passed"] += 1
            status, out, data = self._fetch(method, path, headers, body)
            return EdgeResponse(status, out, data, "TCP_MISS", key, _tags(out), False, None)
        with self._lock:
            cached = self._objects.get(key)
            usable = cached is not None and not cached.stale and cached.expires_at > self.clock()
            if usable:
                self._counts["hits"] += 1
        if usable:
            assert cached is not None
            return _from_cache(cached, "TCP_HIT")
        if cached is None:
            status, out, data = self._fetch("GET", path, headers, b"")
            stored = self._store(key, status, out, data)
            with self._lock:
                self._counts["misses"] += 1
            return _fetched(status, out, data, "TCP_MISS", key, stored)
        return self._revalidate(key, cached, path, headers)

    def _revalidate(
        self, key: str, cached: CachedObject, path: str, headers: list[tuple[str, str]]
    ) -> EdgeResponse:
        conditional = [(k, v) for k, v in headers if k.lower() not in ("if-none-match",)]
        conditional = [(k, v) for k, v in conditional if k.lower() != "if-modified-since"]
        etag, modified = cached.header("ETag"), cached.header("Last-Modified")
        if etag:
            conditional.append(("If-None-Match", etag))
        if modified:
            conditional.append(("If-Modified-Since", modified))
        status, out, data = self._fetch("GET", path, conditional, b"")
        if status == 304:
            ttl = _ttl(cached.headers, self.default_ttl) or 0.0
            with self._lock:
                cached.stale = False
                cached.stored_at = self.clock()
                cached.expires_at = cached.stored_at + ttl
                self._counts["refresh_hits"] += 1
            return _from_cache(cached, "TCP_REFRESH_HIT")
        if status >= 500:
            # Akamai serves the stale copy when the origin fails to revalidate it.
            with self._lock:
                self._counts["refresh_fail_hits"] += 1
            return _from_cache(cached, "TCP_REFRESH_FAIL_HIT")
        stored = self._store(key, status, out, data)
        with self._lock:
            self._counts["refresh_misses"] += 1
        return _fetched(status, out, data, "TCP_REFRESH_MISS", key, stored)

    def _store(
        self, key: str, status: int, headers: list[tuple[str, str]], body: bytes
    ) -> CachedObject | None:
        """Keep the origin's answer if it is cacheable (and return the copy), else forget it."""
        ttl = _ttl(headers, self.default_ttl)
        cacheable = (
            status in CACHEABLE_STATUSES
            and ttl is not None
            and ttl > 0
            and not any(k.lower() == "set-cookie" for k, _ in headers)
        )
        with self._lock:
            if not cacheable:
                self._objects.pop(key, None)
                return None
            now = self.clock()
            assert ttl is not None
            stored = CachedObject(key, status, headers, body, _tags(headers), now, now + ttl)
            self._objects[key] = stored
            return stored

    def _fetch(
        self, method: str, path: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """One request to the origin; an unreachable origin is a 502."""
        forwarded = [
            (k, v)
            for k, v in headers
            if k.lower() not in _HOP_BY_HOP
            and k.lower() not in ("content-length", "pragma", "host")
        ]
        with self._lock:
            self._counts["origin_requests"] += 1
        connection = http.client.HTTPConnection(
            self.origin_host, self.origin_port, timeout=self.origin_timeout
        )
        try:
            connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in forwarded:
                connection.putheader(name, value)
            # By default the origin is asked under its own name (Akamai's "origin hostname"
            # choice), so a Django origin needs no ALLOWED_HOSTS entry for the public name.
            incoming = next((v for k, v in headers if k.lower() == "host"), None)
            if self.forward_host and incoming:
                connection.putheader("Host", incoming)
            else:
                connection.putheader("Host", self.origin.removeprefix("http://"))
            connection.putheader("Via", "1.1 akamai-edge-emulator")
            if body or method in ("POST", "PUT", "PATCH"):
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body or None)
            response = connection.getresponse()
            data = response.read()
            out = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
            return response.status, out, data
        except (OSError, http.client.HTTPException):
            with self._lock:
                self._counts["origin_errors"] += 1
            return 502, [("Content-Type", "text/plain")], b"origin unreachable"
        finally:
            connection.close()

    # --- for people and tests -------------------------------------------------------------

    def wait_until_fresh(
        self,
        url: str,
        is_fresh: Callable[[bytes], bool],
        *,
        timeout: float = 60.0,
        poll: float = 0.05,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Freshness:
        """GET ``url`` through the edge until ``is_fresh(body)``; say how long it took.

        ``url`` is the public URL (``https://www.example.com/a``); it is requested from this
        edge with that Host. Raises ``TimeoutError`` after ``timeout`` seconds (real time).
        """
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        started = time.monotonic()
        requests = 0
        while True:
            requests += 1
            answer = self.serve(
                "GET", path, [("Host", parts.netloc), ("Pragma", "akamai-x-cache-on")], b""
            )
            elapsed = time.monotonic() - started
            if answer.status < 500 and is_fresh(answer.body):
                return Freshness(url, elapsed, answer.x_cache, requests, answer.body)
            if elapsed > timeout:
                raise TimeoutError(f"{url} was not fresh at the edge after {timeout:.0f}s")
            sleep(poll)


def _from_cache(cached: CachedObject, x_cache: str) -> EdgeResponse:
    return EdgeResponse(
        cached.status,
        cached.headers,
        cached.body,
        x_cache,
        cached.key,
        cached.tags,
        True,
        cached.stored_at,
    )


def _fetched(
    status: int,
    headers: list[tuple[str, str]],
    body: bytes,
    x_cache: str,
    key: str,
    stored: CachedObject | None,
) -> EdgeResponse:
    stored_at = stored.stored_at if stored is not None else None
    return EdgeResponse(
        status, headers, body, x_cache, key, _tags(headers), stored is not None, stored_at
    )
