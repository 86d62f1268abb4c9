"""Command line: ``python -m django_akamai.emulator`` and ``manage.py akamai_emulator``.

Both share these options and this run loop: start, print where and with which credentials
(a local development tool printing its own generated credentials once, at start; nothing is
logged per request), optionally write an edgerc section, serve until Ctrl-C or SIGTERM,
then stop cleanly with exit status 0.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .controller import Emulator
from .edge import DEFAULT_ORIGIN_TIMEOUT_SECONDS, REQUEST_HOST
from .faults import parse_latency

DEFAULT_PORT = 8765
_EMULATOR_OPTIONS = (
    "bind",
    "port",
    "rate_limits",
    "time_scale",
    "fail_rate",
    "latency_ms",
    "drop_rate",
    "slow_rate",
    "slow_seconds",
    "seed",
    "allowed_hosts",
    "v2_estimate_seconds",
    "refuse_replayed_nonces",
    "client_token",
    "client_secret",
    "access_token",
    "username",
    "password",
    "edge_origin",
    "edge_port",
    "edge_host",
    "edge_cp_codes",
    "edge_default_ttl",
    "edge_origin_timeout",
    "edge_drop_rate",
    "edge_recache_rate",
)
DEFAULT_EDGE_PORT = 8766


class StartupError(RuntimeError):
    """The emulator could not start (port taken, edgerc not writable)."""


def _latency(value: str) -> Any:
    try:
        return parse_latency(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r}: {exc}; use e.g. 50 or 20-80")


def _probability(value: str) -> float:
    number = float(value)
    if not 0 <= number <= 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not between 0 and 1")
    return number


def _boolean(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"{value!r} is not true or false")


def _positive(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not greater than 0")
    return number


def _non_negative(value: str) -> float:
    number = float(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is negative")
    return number


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The emulator's options, for argparse and for Django's management command alike."""
    where = parser.add_argument_group("where")
    where.add_argument("--bind", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    where.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port ({DEFAULT_PORT}; 0 = any free)"
    )
    where.add_argument("--edgerc", metavar="PATH", help="write an edgerc section for the emulator")
    where.add_argument("--section", default="CCU", help="edgerc section to write (CCU)")

    creds = parser.add_argument_group("credentials (generated when not given)")
    creds.add_argument("--client-token", dest="client_token")
    creds.add_argument("--client-secret", dest="client_secret")
    creds.add_argument("--access-token", dest="access_token")
    creds.add_argument("--username", help="CCU v2 Basic-auth username")
    creds.add_argument("--password", help="CCU v2 Basic-auth password")

    behaviour = parser.add_argument_group("behaviour")
    behaviour.add_argument(
        "--rate-limits",
        dest="rate_limits",
        choices=("akamai", "off"),
        default="akamai",
        help="Akamai's token buckets, or none (akamai)",
    )
    behaviour.add_argument(
        "--time-scale",
        dest="time_scale",
        type=_positive,
        default=1.0,
        help="multiply rate-limit refills and divide estimates by N (1)",
    )
    behaviour.add_argument(
        "--allowed-hosts",
        dest="allowed_hosts",
        metavar="HOST[,HOST...]",
        help="purgeable hosts; others get 403 'unauthorized arl' (all hosts)",
    )
    behaviour.add_argument(
        "--v2-estimate-seconds",
        dest="v2_estimate_seconds",
        type=_non_negative,
        default=2.0,
        help="seconds a CCU v2 purge stays In-Progress (2)",
    )
    behaviour.add_argument(
        "--refuse-replayed-nonces",
        dest="refuse_replayed_nonces",
        nargs="?",
        const=True,
        default=None,
        type=_boolean,
        metavar="BOOL",
        help="strict mode, NOT confirmed for Akamai: answer 401 to a request whose EdgeGrid "
        "nonce was already used inside the 30 s timestamp window (off)",
    )

    edge = parser.add_argument_group("the emulated edge (a caching proxy purged by this emulator)")
    edge.add_argument(
        "--edge-origin",
        dest="edge_origin",
        metavar="URL",
        help="serve an edge in front of this origin, e.g. http://127.0.0.1:8000 (no edge)",
    )
    edge.add_argument(
        "--edge-port",
        dest="edge_port",
        type=int,
        default=DEFAULT_EDGE_PORT,
        help=f"the edge's port ({DEFAULT_EDGE_PORT}; 0 = any free)",
    )
    edge.add_argument(
        "--edge-host",
        dest="edge_host",
        metavar="HOST",
        help="the host name the edge caches under, as your purges name it, e.g. "
        f"www.example.com; {REQUEST_HOST!r} = each request's Host (the origin's host, e.g. "
        "127.0.0.1:8000)",
    )
    edge.add_argument(
        "--edge-cpcode",
        dest="edge_cp_codes",
        type=int,
        action="append",
        metavar="CPCODE",
        help="a CP code of the edge's content; a purge of it empties the edge (repeatable)",
    )
    edge.add_argument(
        "--edge-default-ttl",
        dest="edge_default_ttl",
        type=_non_negative,
        default=600.0,
        help="seconds to cache a response without max-age/s-maxage (600)",
    )
    edge.add_argument(
        "--edge-origin-timeout",
        dest="edge_origin_timeout",
        type=_positive,
        default=DEFAULT_ORIGIN_TIMEOUT_SECONDS,
        metavar="S",
        help="seconds to wait for the origin before answering 502 "
        f"({DEFAULT_ORIGIN_TIMEOUT_SECONDS:g})",
    )

    faults = parser.add_argument_group("faults (seeded, reproducible)")
    faults.add_argument(
        "--fail-rate",
        dest="fail_rate",
        type=_probability,
        default=0.0,
        help="share of requests answered 500/503/504 (0)",
    )
    faults.add_argument(
        "--latency-ms",
        dest="latency_ms",
        type=_latency,
        default=0.0,
        help="added latency: 50, or a range 20-80 (0)",
    )
    faults.add_argument(
        "--drop-rate",
        dest="drop_rate",
        type=_probability,
        default=0.0,
        help="share of connections closed without an answer (0)",
    )
    faults.add_argument(
        "--slow-rate",
        dest="slow_rate",
        type=_probability,
        default=0.0,
        help="share of requests answered after --slow-seconds, not accepted (0)",
    )
    faults.add_argument(
        "--slow-seconds",
        dest="slow_seconds",
        type=_non_negative,
        default=5.0,
        help="delay of a slow answer (5)",
    )
    faults.add_argument(
        "--edge-drop-rate",
        dest="edge_drop_rate",
        type=_probability,
        default=0.0,
        help="share of accepted purges the edge ignores: 201, yet the old copy stays (0)",
    )
    faults.add_argument(
        "--edge-recache-rate",
        dest="edge_recache_rate",
        type=_probability,
        default=0.0,
        help="share of accepted purges after which the edge re-caches the old copy, as a "
        "request racing the purge would (0)",
    )
    faults.add_argument("--seed", type=int, help="random seed for the faults")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m django_akamai.emulator",
        description="A local Akamai Fast Purge v3 + CCU v2 server for development and tests.",
    )
    add_arguments(parser)
    return parser


def emulator_from_options(options: Mapping[str, Any]) -> Emulator:
    kwargs = {name: options[name] for name in _EMULATOR_OPTIONS if options.get(name) is not None}
    return Emulator(**kwargs)


def describe(emu: Emulator, edgerc: Path | None = None, section: str = "CCU") -> list[str]:
    creds = emu.credentials
    lines = [
        f"Akamai purge emulator listening on {emu.base_url}",
        "",
        "Fast Purge v3 (EdgeGrid) credentials:",
        f"  host          = {creds.host}",
        f"  client_token  = {creds.client_token}",
        f"  client_secret = {creds.client_secret}",
        f"  access_token  = {creds.access_token}",
        "CCU v2 (Basic auth):",
        f"  base URL      = {creds.host}",
        f"  username      = {creds.username}",
        f"  password      = {creds.password}",
    ]
    if edgerc is not None:
        lines.append(f"Wrote section [{section}] of {edgerc}")
    edge = emu.edge
    if edge is not None:
        if edge.cache_host is None:
            caching = [
                "  caches under each request's Host (--edge-host *): a purge reaches a page",
                "    when it names the page under the Host it was requested with",
            ]
        else:
            how = "--edge-host" if edge.public_host else "the origin's; --edge-host to change"
            caching = [
                f"  caches under host {edge.cache_host} ({how}): a purge reaches a page",
                f"    when it names it under that host, e.g. http://{edge.cache_host}/page/",
            ]
        lines += [
            "",
            # Not "listening on": scripts read the emulator's URL from that line.
            f"Edge (caching proxy) at {edge.base_url} in front of {edge.origin}",
            *caching,
            "  debug: curl -H 'Pragma: akamai-x-cache-on, akamai-x-get-cache-key' "
            f"{edge.base_url}/",
            f"  state: GET {edge.base_url}/emulator/edge",
        ]
    lines += [
        "",
        "Introspection: GET /emulator/purges, GET /emulator/counters, GET /emulator/refusals,",
        "               GET /emulator/knobs; POST /emulator/reset, POST /emulator/knobs,",
        "               POST /emulator/edge/faults",
        "Press Ctrl-C to stop.",
    ]
    return lines


def serve(options: Mapping[str, Any], write: Callable[[str], None]) -> int:
    """Run until SIGINT/SIGTERM; return the exit status."""
    emu = emulator_from_options(options)
    stop = threading.Event()
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, lambda *_: stop.set())
    try:
        try:
            emu.start()
        except OSError as exc:
            raise StartupError(f"cannot listen on {emu.bind}:{options.get('port')}: {exc}")
        edgerc = options.get("edgerc")
        section = options.get("section") or "CCU"
        try:
            written = emu.write_edgerc(edgerc, section) if edgerc else None
        except OSError as exc:
            raise StartupError(f"cannot write {edgerc}: {exc}")
        for line in describe(emu, written, section):
            write(line)
        # A timed wait keeps the main thread responsive to signals on every platform.
        while not stop.wait(0.2):
            pass
    finally:
        emu.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    write("Emulator stopped.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    options = vars(parser.parse_args(argv))
    try:
        return serve(options, lambda line: print(line, flush=True))
    except StartupError as exc:
        print(f"akamai emulator: {exc}", file=sys.stderr)
        return 1
