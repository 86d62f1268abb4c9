"""The :class:`Emulator`: starts and stops the purge API's server and the edge, wires them
together (each accepted purge reaches the edge), and is the Python control over both."""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from .credentials import EmulatorCredentials, generate_credentials, write_edgerc
from .edge import DEFAULT_ORIGIN_TIMEOUT_SECONDS, DEFAULT_TTL_SECONDS, Edge
from .edge_http import RunningEdge, start_edge
from .edgegrid_verify import NonceCache
from .faults import FaultInjector, Latency, PurgeFaults
from .http_server import EmulatorHTTPServer
from .knobs import KNOB_NAMES, Knobs
from .purge_api import PurgeService
from .ratelimit import RateLimiter
from .state import AcceptedPurge, EmulatorState


def _url_host(bind: str) -> str:
    # A wildcard bind is reachable on loopback; that is the address clients should use.
    if bind in ("", "0.0.0.0"):  # noqa: S104  (a comparison, not a bind)
        return "127.0.0.1"
    if bind == "::":
        return "[::1]"
    return f"[{bind}]" if ":" in bind else bind


class Emulator:
    """A local Akamai purge API for development and tests.

    ``with Emulator(port=0) as emu:`` serves on a free port of 127.0.0.1 in a daemon thread;
    point a client at ``emu.base_url`` with ``emu.credentials``, then inspect ``emu.purges``
    and ``emu.counters``. Behaviour knobs can be changed while it runs with
    :meth:`configure`.

    It behaves as Akamai documents (``AKAMAI_API.md`` §1 and §4), no more strictly:
    ``refuse_replayed_nonces=True`` adds a refusal Akamai is not known to make (a re-sent
    nonce), for clients that want to prove they re-sign every attempt.
    """

    def __init__(
        self,
        port: int = 0,
        *,
        rate_limits: str = "akamai",
        time_scale: float = 1.0,
        fail_rate: float = 0.0,
        latency_ms: Latency | str = 0,
        drop_rate: float = 0.0,
        slow_rate: float = 0.0,
        slow_seconds: float = 5.0,
        seed: int | None = None,
        allowed_hosts: Iterable[str] | str | None = None,
        v2_estimate_seconds: float = 2.0,
        refuse_replayed_nonces: bool = False,
        client_token: str | None = None,
        client_secret: str | None = None,
        access_token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        bind: str = "127.0.0.1",
        edge_origin: str | None = None,
        edge_port: int = 0,
        edge_host: str | None = None,
        edge_cp_codes: Iterable[int] = (),
        edge_default_ttl: float = DEFAULT_TTL_SECONDS,
        edge_origin_timeout: float = DEFAULT_ORIGIN_TIMEOUT_SECONDS,
        edge_drop_rate: float = 0.0,
        edge_recache_rate: float = 0.0,
    ) -> None:
        self._lock = threading.Lock()
        self._requested_port = port
        self.bind = bind
        self._initial_knobs = Knobs(
            rate_limits=rate_limits,
            time_scale=time_scale,
            fail_rate=fail_rate,
            latency_ms=latency_ms,  # type: ignore[arg-type]  # normalised by Knobs
            drop_rate=drop_rate,
            slow_rate=slow_rate,
            slow_seconds=slow_seconds,
            seed=seed,
            allowed_hosts=allowed_hosts,  # type: ignore[arg-type]
            v2_estimate_seconds=v2_estimate_seconds,
            refuse_replayed_nonces=refuse_replayed_nonces,
            edge_drop_rate=edge_drop_rate,
            edge_recache_rate=edge_recache_rate,
        )
        self._knobs = self._initial_knobs
        # Generated once: a restarted emulator keeps its credentials (its port may change).
        self._unbound_credentials = generate_credentials(
            "",
            client_token=client_token,
            client_secret=client_secret,
            access_token=access_token,
            username=username,
            password=password,
        )
        self._credentials: EmulatorCredentials | None = None
        self._state = EmulatorState()
        self._nonces = NonceCache()
        self._limiter = RateLimiter(
            enabled=self._knobs.rate_limits == "akamai", time_scale=self._knobs.time_scale
        )
        self._faults = FaultInjector(seed=self._knobs.seed)
        # The edge's faults live here, so that they hold across an edge's restarts.
        self._purge_faults = PurgeFaults(seed=self._knobs.seed)
        self._apply_fault_knobs(self._knobs)
        self._edge_options: dict[str, Any] | None = (
            None
            if edge_origin is None
            else {
                "origin": edge_origin,
                "port": edge_port,
                "public_host": edge_host,
                "cp_codes": tuple(edge_cp_codes),
                "default_ttl": edge_default_ttl,
                "origin_timeout": edge_origin_timeout,
            }
        )
        self._edge: RunningEdge | None = None
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> Emulator:
        """Bind (port 0 picks a free port) and serve in a daemon thread."""
        with self._lock:
            if self._server is not None:
                raise RuntimeError("the emulator is already running")
            self._stopping.clear()
            service = PurgeService(
                credentials=self._unbound_credentials,
                knobs=self._current_knobs,
                state=self._state,
                limiter=self._limiter,
                nonces=self._nonces,
                on_accept=self._purge_accepted,
            )
            server = EmulatorHTTPServer(
                (self.bind, self._requested_port),
                service=service,
                faults=self._faults,
                knobs=self._current_knobs,
                controls=self,
                stopping=self._stopping,
            )
            port = server.server_address[1]
            # The host (base URL) is known only once bound: port 0 means "any free port".
            base_url = f"http://{_url_host(self.bind)}:{port}"
            credentials = dataclasses.replace(self._unbound_credentials, host=base_url)
            self._credentials = service.credentials = credentials
            self._server = server
            self._thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"akamai-emulator-{port}",
                daemon=True,
            )
            self._thread.start()
        if self._edge_options is not None and self._edge is None:
            try:
                self.start_edge(**self._edge_options)
            except BaseException:
                self.stop()
                raise
        return self

    def stop(self) -> None:
        """Stop serving and close every connection; safe to call twice."""
        self.stop_edge()
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is None:
            return
        self._stopping.set()  # ends latency and slow_seconds waits at once
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    # --- where and who ------------------------------------------------------------------

    @property
    def port(self) -> int:
        server = self._require_server()
        return int(server.server_address[1])

    @property
    def base_url(self) -> str:
        return self.credentials.host

    @property
    def credentials(self) -> EmulatorCredentials:
        if self._credentials is None:
            raise RuntimeError("start the emulator first: its credentials name its port")
        return self._credentials

    def write_edgerc(self, path: str | os.PathLike[str], section: str = "CCU") -> Path:
        """Write (or update) ``[section]`` of an edgerc file with this emulator's host and
        EdgeGrid credentials, keeping every other section."""
        return write_edgerc(path, section, self.credentials)

    # --- what happened --------------------------------------------------------------------

    @property
    def purges(self) -> list[AcceptedPurge]:
        return self._state.purges()

    def accepted_objects(self) -> list[Any]:
        return self._state.accepted_objects()

    @property
    def counters(self) -> dict[str, Any]:
        return self._state.counters()

    @property
    def refusals(self) -> list[dict[str, Any]]:
        """The latest refused requests (method, path, status, title, detail), oldest first."""
        return self._state.refusals()

    def reset(self) -> None:
        """Forget purges, counters and nonces, refill the buckets, restart the fault draws
        (and forget the edge's faults asked for by count); empty the edge's cache too."""
        if self._edge is not None:
            self._edge.edge.reset()
        self._state.reset()
        self._nonces.clear()
        self._limiter.reset()
        self._faults.restart()
        self._purge_faults.restart()

    # --- the edge -------------------------------------------------------------------------

    def start_edge(
        self,
        origin: str,
        *,
        port: int = 0,
        public_host: str | None = None,
        cp_codes: Iterable[int] = (),
        default_ttl: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] | None = None,
        origin_timeout: float = DEFAULT_ORIGIN_TIMEOUT_SECONDS,
        forward_host: bool = False,
    ) -> Edge:
        """Serve an emulated edge (a caching proxy in front of ``origin``) that every purge
        this emulator accepts reaches ``estimatedSeconds`` later; see ``edge.py``.

        It caches under ``public_host`` (the host name your purges use), by default under
        the origin's own host; ``public_host="*"`` caches under each request's ``Host``.
        ``forward_host=True`` asks the origin with the incoming ``Host`` (Akamai's "Forward
        Host Header: Incoming Host Header"), for one origin serving several sites."""
        if self._edge is not None:
            raise RuntimeError("the edge is already running; stop_edge() first")
        edge = Edge(
            origin,
            public_host=public_host,
            cp_codes=cp_codes,
            default_ttl=default_ttl,
            clock=clock if clock is not None else time.monotonic,
            origin_timeout=origin_timeout,
            faults=self._purge_faults,
            forward_host=forward_host,
        )
        bind = self.bind if self.bind not in ("", "0.0.0.0", "::") else "127.0.0.1"  # noqa: S104
        self._edge = start_edge(edge, bind, port)
        return edge

    def stop_edge(self) -> None:
        running, self._edge = self._edge, None
        if running is not None:
            running.stop()

    @property
    def edge(self) -> Edge | None:
        """The running edge, or None."""
        return self._edge.edge if self._edge is not None else None

    def edge_json(self) -> dict[str, Any] | None:
        """The edge's state as ``GET /emulator/edge`` shows it, or None without an edge."""
        running = self._edge
        return running.edge.as_json() if running is not None else None

    def edge_faults(self, *, drop_next: int = 0, recache_next: int = 0) -> dict[str, Any]:
        """Make the edge ignore the next ``drop_next`` purges it receives (the API still
        answers 201), then re-cache the old copy right after the next ``recache_next``
        (a race); return the faults still to come and the rates
        (``configure(edge_drop_rate=..., edge_recache_rate=...)``). :meth:`reset` forgets
        the counts."""
        self._purge_faults.add(drop_next=drop_next, recache_next=recache_next)
        knobs = self._knobs
        return {
            **self._purge_faults.pending(),
            "edge_drop_rate": knobs.edge_drop_rate,
            "edge_recache_rate": knobs.edge_recache_rate,
        }

    def _purge_accepted(self, purge: AcceptedPurge, delay_seconds: float) -> None:
        running = self._edge
        if running is not None:
            running.edge.schedule(purge, delay_seconds)

    # --- behaviour --------------------------------------------------------------------------

    @property
    def knobs(self) -> Knobs:
        return self._knobs

    def configure(self, **changes: Any) -> None:
        """Change behaviour while running: rate_limits, time_scale, fail_rate, latency_ms,
        drop_rate, slow_rate, slow_seconds, seed, allowed_hosts, v2_estimate_seconds,
        refuse_replayed_nonces, edge_drop_rate, edge_recache_rate."""
        with self._lock:
            knobs = self._knobs.replace(**changes)
            self._knobs = knobs
            self._limiter.configure(
                enabled=knobs.rate_limits == "akamai", time_scale=knobs.time_scale
            )
            self._apply_fault_knobs(knobs)
            if "seed" in changes:
                self._faults.reseed(knobs.seed)
                self._purge_faults.reseed(knobs.seed)

    def restore_defaults(self) -> None:
        """Put every knob back to the value given to the constructor."""
        with self._lock:
            initial = self._initial_knobs
        self.configure(**{name: getattr(initial, name) for name in KNOB_NAMES})

    def _current_knobs(self) -> Knobs:
        return self._knobs

    def _apply_fault_knobs(self, knobs: Knobs) -> None:
        self._faults.fail_rate = knobs.fail_rate
        self._faults.drop_rate = knobs.drop_rate
        self._faults.slow_rate = knobs.slow_rate
        self._faults.latency_ms = knobs.latency_ms
        self._purge_faults.drop_rate = knobs.edge_drop_rate
        self._purge_faults.recache_rate = knobs.edge_recache_rate

    def _require_server(self) -> EmulatorHTTPServer:
        server = self._server
        if server is None:
            raise RuntimeError("the emulator is not running")
        return server

    def __repr__(self) -> str:
        where = self._credentials.host if self._credentials else "not started"
        return f"<Emulator {where}>"
