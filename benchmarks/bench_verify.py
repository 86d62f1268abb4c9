"""Scenario "verification" (10): each purge verified fresh at the emulated edge.

    .venv/bin/python benchmarks/bench_verify.py [--seconds 10] [--json]
    (or as part of make bench: benchmarks/run.py --only verification)

``item.save()`` at 50 and at 200 saves a second for a fixed time, from 4 threads, each save
its own transaction, with automatic purging (``AKAMAI_PURGE_MODELS``), the background
deliverer and ``AKAMAI_VERIFY`` (sample 10, margin 2 s, 50 requests a second), against the
emulator in its own process with its edge in front of an origin here, in real time (Akamai's
5 s). Every page is in the edge's cache before the saves (so a purge that does not take
leaves an old copy). Measured, per row:

* commit → verified fresh (per purge request, from its first intent's commit to the check
  that found its sample fresh): median and p99, also as a multiple of ``estimatedSeconds``;
* the share of checked URLs verified fresh; with the edge dropping the first two purges
  (``drop_next``), or 20 % of every purge it receives, the verifier's own included
  (``edge_drop_rate``, seeded), how many dropped purges were detected and repaired, and how
  many pages are still stale at the end (every page asked from the edge and compared with the
  origin's current version);
* what verification adds per 1,000 purged URLs: requests to the edge and purge requests (and
  objects) to the purge API;
* what it adds to a save: the median and p99 of ``save()`` with verification off and on.

SQLite in a temporary file (in ``/dev/shm`` where it exists) is the database.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.request import Request, urlopen

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from harness import EmulatorProcess  # noqa: E402

PUBLIC_HOST = "www.example.com"
SAVERS = 4
ESTIMATED = 5.0  # Akamai's estimatedSeconds, real time
VERIFY = {"SAMPLE": 10, "MARGIN": 2.0, "RATE": 50.0, "CONCURRENCY": 4}
#: (label, saves a second, verification on, first purges the edge drops, share it drops of
#: every purge, the verifier's second purges included)
ROWS = (
    ("off, 50/s", 50, False, 0, 0.0),
    ("on, 50/s", 50, True, 0, 0.0),
    ("on, 200/s", 200, True, 0, 0.0),
    ("on, 50/s, first 2 purges dropped", 50, True, 2, 0.0),
    ("on, 200/s, first 2 purges dropped", 200, True, 2, 0.0),
    ("on, 200/s, 20% of all purges dropped", 200, True, 0, 0.2),
    # Last as well as first: the first row also pays the process's warm-up in save().
    ("off, 200/s", 200, False, 0, 0.0),
)


class Origin:
    """Item pages whose body (and ETag) change with each save; cacheable for 10 minutes."""

    def __init__(self) -> None:
        self.versions: dict[str, int] = {}
        versions = self.versions

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                body = f"{self.path} version {versions.get(self.path, 0)}".encode()
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("ETag", etag)
                self.send_header("Cache-Control", "max-age=600")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def body(self, path: str) -> bytes:
        return f"{path} version {self.versions.get(path, 0)}".encode()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _post(emu: EmulatorProcess, path: str, **knobs: Any) -> None:
    request = Request(
        emu.base_url + path,
        data=json.dumps(knobs).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urlopen(request, timeout=10):  # noqa: S310 (loopback)
        pass


def _configure_django(database: Path, emu: EmulatorProcess) -> None:
    import django
    from django.conf import settings

    c = emu.credentials
    settings.configure(
        USE_TZ=True,
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "django_akamai",
            "benchapp",
        ],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(database),
                "OPTIONS": {"timeout": 30},
            }
        },
        AKAMAI_CCU_HOST=c["host"],
        AKAMAI_CCU_CLIENT_TOKEN=c["client_token"],
        AKAMAI_CCU_CLIENT_SECRET=c["client_secret"],
        AKAMAI_CCU_ACCESS_TOKEN=c["access_token"],
        AKAMAI_BASE_URL=f"https://{PUBLIC_HOST}",
        AKAMAI_PURGE_MODELS={"benchapp.Item": {}},
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0)


def _get(edge: str, path: str) -> bytes:
    request = Request(edge + path, headers={"Host": PUBLIC_HOST})
    with urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
        return response.read()


def _save_paced(
    items: list[Any],
    offset: int,
    start: float,
    interval: float,
    origin: Origin,
    save_seconds: list[float],
) -> None:
    from django.db import connection

    for i in range(offset, len(items), SAVERS):
        pause = start + i * interval - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        path = items[i].get_absolute_url()
        origin.versions[path] = origin.versions.get(path, 0) + 1  # the new content
        began = time.perf_counter()
        items[i].save()  # autocommit: committed when save() returns
        save_seconds.append(time.perf_counter() - began)
    connection.close()


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _row(
    emu: EmulatorProcess,
    origin: Origin,
    edge: str,
    label: str,
    rate: int,
    verify: bool,
    drop_first: int,
    drop: float,
    seconds: float,
) -> dict[str, Any]:
    from benchapp.models import Item
    from django.test.utils import override_settings

    from django_akamai import delivery
    from django_akamai.models import PurgeRecord
    from django_akamai.verification import worker

    emu.reset()
    _post(emu, "/emulator/knobs", edge_drop_rate=drop, seed=2026)
    PurgeRecord.objects.all().delete()
    count = int(rate * seconds)
    tag = hashlib.sha256(label.encode()).hexdigest()[:6]
    items = Item.objects.bulk_create(Item(slug=f"{tag}-{i}") for i in range(count))
    paths = [item.get_absolute_url() for item in items]
    for path in paths:  # every page cached at the edge before it changes
        _get(edge, path)
    time.sleep(2.0)  # the copies are older than any purge to come, by whole seconds
    if drop_first:
        _post(emu, "/emulator/edge/faults", drop_next=drop_first)

    the_verifier = worker.Verifier()
    worker.install(the_verifier)
    settings = {"AKAMAI_VERIFY": {"EDGE": edge, **VERIFY} if verify else None}
    save_seconds: list[float] = []
    with override_settings(**settings):
        interval = 1.0 / rate
        start = time.monotonic()
        threads = [
            threading.Thread(
                target=_save_paced, args=(items, n, start, interval, origin, save_seconds)
            )
            for n in range(SAVERS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        saving = time.monotonic() - start
        delivery.wait_idle(timeout=120)
        time.sleep(ESTIMATED + 1)  # every purge applied at the edge, verified or not
        deadline = time.monotonic() + 180
        while verify and time.monotonic() < deadline:
            if the_verifier.pending() == 0:
                break
            time.sleep(0.5)
    the_verifier.stop()
    worker.install(None)

    records = list(PurgeRecord.objects.exclude(actor=worker.VERIFY_ACTOR))
    again = list(PurgeRecord.objects.filter(actor=worker.VERIFY_ACTOR))
    latencies = [r.verify_latency for r in records if r.verify_latency is not None]
    fresh = sum(r.verified_fresh or 0 for r in records)
    stale = sum(r.verified_stale or 0 for r in records)
    unverifiable = sum(r.verified_unverifiable or 0 for r in records)
    state = emu._get("/emulator/edge")
    dropped_ids = {a["purgeId"] for a in state["applied"] if a["fault"] == "drop"}
    first_ids = {r.purge_id for r in records}
    dropped_first = [r for r in records if r.purge_id in dropped_ids]
    detected = sum(1 for r in dropped_first if r.verify_repurged)
    repaired = sum(1 for r in dropped_first if r.verify_repurged and not r.verified_stale)
    still_stale = sum(1 for path in paths if _get(edge, path) != origin.body(path))
    purged_urls = sum(r.object_count for r in records)
    per_thousand = 1000.0 / purged_urls if purged_urls else 0.0
    return {
        "saves": count,
        "achieved_rate": count / saving,
        "purge_requests": len(records),
        "purged_urls": purged_urls,
        "verified_requests": sum(1 for r in records if r.verify_state == "done"),
        "fresh": fresh,
        "stale": stale,
        "unverifiable": unverifiable,
        "share_fresh": fresh / (fresh + stale + unverifiable) if fresh + stale else None,
        "latency_median": statistics.median(latencies) if latencies else None,
        "latency_p99": _percentile(latencies, 0.99),
        "estimated_seconds": ESTIMATED,
        "dropped_purges": len(dropped_first),
        "dropped_detected": detected,
        "dropped_repaired": repaired,
        "dropped_second_purges": len(dropped_ids - first_ids),
        "pages_stale_at_end": still_stale,
        "edge_requests": the_verifier.counts["edge"],
        "repurge_requests": len(again),
        "repurged_urls": sum(r.object_count for r in again),
        "edge_requests_per_1000_urls": the_verifier.counts["edge"] * per_thousand,
        "purge_requests_per_1000_urls": len(again) * per_thousand,
        "save_median_ms": statistics.median(save_seconds) * 1000,
        "save_p99_ms": (_percentile(save_seconds, 0.99) or 0) * 1000,
    }


def verification(seconds: float = 10.0) -> dict[str, Any]:
    """Runs in a fresh process (Django is configured once per process)."""
    import logging

    logging.getLogger("django_akamai").setLevel(logging.ERROR)
    origin = Origin()
    port = _free_port()
    options = {
        "rate_limits": "akamai",
        "edge_origin": origin.url,
        "edge_port": port,
        "edge_host": PUBLIC_HOST,
    }
    edge = f"http://127.0.0.1:{port}"
    shm = Path("/dev/shm")
    where = str(shm) if shm.is_dir() else None
    with tempfile.TemporaryDirectory(dir=where) as tmp, EmulatorProcess(options) as emu:
        _configure_django(Path(tmp) / "bench.sqlite3", emu)
        results: dict[str, Any] = {"verify": VERIFY, "seconds": seconds}
        for label, rate, verify, drop_first, drop in ROWS:
            results[label] = _row(emu, origin, edge, label, rate, verify, drop_first, drop, seconds)
        return results


def _in_subprocess(seconds: float) -> dict[str, Any]:
    import subprocess

    done = subprocess.run(
        [sys.executable, __file__, "--in-process", "--seconds", str(seconds), "--json"],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if done.returncode != 0:
        return {"error": done.stderr.strip()[-2000:]}
    return json.loads(done.stdout)


def run(seconds: float = 10.0) -> dict[str, Any]:
    """For benchmarks/run.py."""
    return _in_subprocess(seconds)


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def render(data: dict[str, Any]) -> list[str]:
    if "error" in data:
        return [f"Verification run failed: {data['error'][-500:]}"]
    lines = [
        f"Verification at the emulated edge, real time (estimatedSeconds {ESTIMATED:g} s), "
        f"AKAMAI_VERIFY {data['verify']}, {data['seconds']:g} s of saves per row:",
        "",
        "| row | saves | purge requests | fresh share | commit → fresh median (s) | p99 (s) "
        "| median / estimated | dropped: detected / repaired | stale at end "
        "| edge GETs per 1k URLs | purge requests per 1k URLs | save median (ms) | save p99 (ms) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: |",
    ]
    for label, row in data.items():
        if not isinstance(row, dict) or "saves" not in row:
            continue
        share = row["share_fresh"]
        median = row["latency_median"]
        lines.append(
            f"| {label} | {row['saves']:,} | {row['purge_requests']:,} "
            f"| {'-' if share is None else f'{share:.1%}'} | {_fmt(median)} "
            f"| {_fmt(row['latency_p99'])} "
            f"| {_fmt(None if median is None else median / row['estimated_seconds'])} "
            f"| {row['dropped_purges']}: {row['dropped_detected']} / {row['dropped_repaired']} "
            f"| {row['pages_stale_at_end']} | {_fmt(row['edge_requests_per_1000_urls'], 1)} "
            f"| {_fmt(row['purge_requests_per_1000_urls'], 2)} | {_fmt(row['save_median_ms'])} "
            f"| {_fmt(row['save_p99_ms'])} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of saves per row")
    parser.add_argument("--json", action="store_true", help="print raw numbers as JSON")
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    data = verification(args.seconds) if args.in_process else run(args.seconds)
    print(json.dumps(data, indent=2) if args.json else "\n".join(render(data)))


if __name__ == "__main__":
    main()
