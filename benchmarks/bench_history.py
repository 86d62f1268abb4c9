"""What the purge history costs a purge: the same purge with ``AKAMAI_HISTORY`` on and off.

    .venv/bin/python benchmarks/bench_history.py [--urls 20000] [--repeat 5]
                                                 [--latency-ms 0,25,100]

The emulator runs in its own process (rate limits off, so only the client's own work and the
loopback round trips are timed); the history goes to an on-disk SQLite database, migrated
first. Runs alternate on/off so drift hits both alike. Reported: the median wall time of
``purge_all()`` each way and the difference per request, at each emulated network latency,
and the time of one history write alone (the receiver, for a request-sized batch). On bare
loopback a request takes a few milliseconds, far less than over the internet, so the
relative cost at latency 0 is the worst case. Results also go to
``benchmarks/results/history.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from harness import EmulatorProcess  # noqa: E402
from inputs import make_urls  # noqa: E402


def configure(database: Path) -> None:
    import django
    from django.conf import settings

    settings.configure(
        USE_TZ=True,
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "django_akamai"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(database)}},
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def emulator_settings(emulator: EmulatorProcess) -> dict[str, str]:
    c = emulator.credentials
    return {
        "AKAMAI_CCU_HOST": c["host"],
        "AKAMAI_CCU_CLIENT_TOKEN": c["client_token"],
        "AKAMAI_CCU_CLIENT_SECRET": c["client_secret"],
        "AKAMAI_CCU_ACCESS_TOKEN": c["access_token"],
    }


def timed_purge(urls: list[str], history: bool) -> tuple[float, int]:
    from django.test.utils import override_settings

    from django_akamai.purge import PurgeRequest

    with override_settings(AKAMAI_HISTORY=history):
        pr = PurgeRequest(actor="benchmark")
        pr.add(urls)
        started = time.perf_counter()
        pr.purge_all()
        elapsed = time.perf_counter() - started
        pr.transport.close()
    return elapsed, pr.transport.requests_sent


def record_alone(batch: list[str], times: int) -> list[float]:
    """Seconds for the history receiver to write one request-sized record, ``times`` times."""
    from django_akamai.history import record_accepted
    from django_akamai.options import PurgeOptions

    result = {"httpStatus": 201, "purgeId": "p" * 36, "supportId": "s" * 28, "estimatedSeconds": 5}
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        record_accepted(
            None, api="v3", options=PurgeOptions(), objects=batch, actor="benchmark", result=result
        )
        samples.append(time.perf_counter() - started)
    return samples


def measure(urls: list[str], latency_ms: float, repeat: int) -> dict[str, Any]:
    """Median purge_all() time with the history on and off, against one emulator."""
    from django.test.utils import override_settings

    from django_akamai.models import PurgeRecord

    options: dict[str, Any] = {"rate_limits": "off"}
    if latency_ms:
        options["latency_ms"] = latency_ms
    with EmulatorProcess(options) as emulator, override_settings(**emulator_settings(emulator)):
        timed_purge(urls[:2000], True)  # warm up: connections, imports, SQLite pages
        runs: dict[bool, list[float]] = {True: [], False: []}
        requests = 0
        for i in range(repeat):
            for history in (True, False) if i % 2 == 0 else (False, True):
                emulator.reset()
                before = PurgeRecord.objects.count()
                elapsed, requests = timed_purge(urls, history)
                written = PurgeRecord.objects.count() - before
                assert written == (requests if history else 0), (written, requests)
                runs[history].append(elapsed)
    on, off = statistics.median(runs[True]), statistics.median(runs[False])
    return {
        "emulator_latency_ms": latency_ms,
        "requests_per_purge": requests,
        "median_s_history_on": round(on, 4),
        "median_s_history_off": round(off, 4),
        "overhead_ms_per_request": round((on - off) / requests * 1000, 3),
        "overhead_percent": round((on - off) / off * 100, 2),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--urls", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--latency-ms",
        default="0,25,100",
        help="emulator latencies per request to try, comma-separated "
        "(0: bare loopback, the worst case for the history)",
    )
    args = parser.parse_args(argv)
    latencies = [float(value) for value in args.latency_ms.split(",") if value.strip()]

    urls = make_urls(args.urls)
    with tempfile.TemporaryDirectory() as tmp:
        configure(Path(tmp) / "history.sqlite3")
        rows = [measure(urls, latency, args.repeat) for latency in latencies]
        per_record = max(1, args.urls // max(1, rows[0]["requests_per_purge"]))
        writes = record_alone(urls[:per_record], 200)

    report = {
        "urls": args.urls,
        "repeat": args.repeat,
        "database": "SQLite on disk (journal_mode=delete, synchronous=full)",
        "record_write_ms_median": round(statistics.median(writes) * 1000, 3),
        "record_write_ms_p95": round(sorted(writes)[int(len(writes) * 0.95)] * 1000, 3),
        "objects_per_record": per_record,
        "runs": rows,
    }
    print(
        f"{args.urls} URLs, {rows[0]['requests_per_purge']} requests per purge, "
        f"median of {args.repeat} runs each way"
    )
    print(
        f"one history write alone ({per_record} objects): median "
        f"{report['record_write_ms_median']} ms, p95 {report['record_write_ms_p95']} ms"
    )
    header = ("latency ms", "history on s", "history off s", "ms/request", "overhead %")
    print("  ".join(f"{h:>13}" for h in header))
    for row in rows:
        values = (
            row["emulator_latency_ms"],
            row["median_s_history_on"],
            row["median_s_history_off"],
            row["overhead_ms_per_request"],
            row["overhead_percent"],
        )
        print("  ".join(f"{v:>13}" for v in values))
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / "history.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
