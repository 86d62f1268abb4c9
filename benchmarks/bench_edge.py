"""Scenario "edge" (9): the emulator's own capacity, and commit -> fresh at the emulated edge.

    .venv/bin/python benchmarks/bench_edge.py [--seconds 10] [--json]
    (or as part of make bench: benchmarks/run.py --only edge)

1. **Capacity**: requests per second the emulator (its own process, rate limits off) answers:
   signed one-URL purges (EdgeGrid verified, validated, recorded) and unsigned introspection
   GETs, from 2 client processes of 4 threads each for a few seconds. The clients share this
   2-core machine with the emulator, so the figure is a floor of what the emulator can do,
   and the point of it: a benchmark that sends fewer requests a second than this is not
   limited by the emulator.
2. **Commit -> fresh at the edge**: ``item.save()`` at 50 and at 200 saves a second for a
   fixed time, from 4 threads, each save in its own transaction, with automatic purging
   (``AKAMAI_PURGE_MODELS``) and whatever delivery ``AKAMAI_DELIVERY`` selects by default
   (the pipeline's background thread), against the emulator with its edge, in real time
   (Akamai's 5 s). A URL is fresh at the edge from the moment the edge applied a purge that
   covers it and was accepted after the commit; the edge reports its clock
   (CLOCK_MONOTONIC, shared by the processes of one machine). Median and p99 of commit ->
   fresh, and of commit -> accepted (the client side alone), over every save.

SQLite in a temporary file (in ``/dev/shm`` where it exists) is the database.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from harness import EmulatorProcess  # noqa: E402

PUBLIC_HOST = "www.example.com"
RATES = (50, 200)
SAVERS = 4  # threads saving, each in its own transaction


# --- 1. capacity -----------------------------------------------------------------------------


def _client(base_url: str, creds: dict[str, str], signed: bool, seconds: float, out) -> None:
    import requests
    from akamai.edgegrid import EdgeGridAuth

    done = [0]
    stop_at = time.monotonic() + seconds

    def loop() -> None:
        with requests.Session() as session:
            if signed:
                session.auth = EdgeGridAuth(
                    creds["client_token"], creds["client_secret"], creds["access_token"]
                )
            n = 0
            while time.monotonic() < stop_at:
                if signed:
                    response = session.post(
                        base_url + "/ccu/v3/invalidate/url/production",
                        json={"objects": [f"https://{PUBLIC_HOST}/capacity/{n}"]},
                        timeout=30,
                    )
                    assert response.status_code == 201, response.text
                else:
                    session.get(base_url + "/emulator/counters", timeout=30).raise_for_status()
                n += 1
            done[0] += n

    threads = [threading.Thread(target=loop) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put(done[0])


def capacity(seconds: float = 4.0, processes: int = 2) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    with EmulatorProcess({"rate_limits": "off"}) as emu:
        for label, signed in (("signed_purges", True), ("introspection_gets", False)):
            queue: multiprocessing.Queue = multiprocessing.Queue()
            workers = [
                multiprocessing.Process(
                    target=_client, args=(emu.base_url, emu.credentials, signed, seconds, queue)
                )
                for _ in range(processes)
            ]
            started = time.perf_counter()
            for worker in workers:
                worker.start()
            total = sum(queue.get(timeout=seconds + 120) for _ in workers)
            for worker in workers:
                worker.join()
            elapsed = time.perf_counter() - started
            rows[label] = {
                "requests": total,
                "seconds": elapsed,
                "per_second": total / elapsed,
                "clients": f"{processes} processes x 4 threads",
            }
        rows["accepted_purges"] = emu.counters()["accepted"]
    return rows


# --- 2. commit -> fresh ---------------------------------------------------------------------


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
        AKAMAI_HISTORY=False,
        AKAMAI_PURGE_MODELS={"benchapp.Item": {}},
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0)


def _save_paced(
    items: list[Any], offset: int, start: float, interval: float, commits: dict[str, float]
) -> None:
    """Save every SAVERS-th item on one shared timeline, as a site's request threads would;
    record when each save's transaction had committed."""
    from django.db import connection

    for i in range(offset, len(items), SAVERS):
        pause = start + i * interval - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        items[i].save()  # autocommit: committed when save() returns
        commits[f"{PUBLIC_HOST}{items[i].get_absolute_url()}"] = time.monotonic()
    connection.close()


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def freshness(seconds: float = 10.0, rates: tuple[int, ...] = RATES) -> dict[str, Any]:
    """Runs in a fresh process (Django is configured once per process)."""
    options = {
        "rate_limits": "akamai",
        "edge_origin": "http://127.0.0.1:9",  # never asked: nothing is requested from the edge
        "edge_port": 0,
        "edge_host": PUBLIC_HOST,
    }
    # In memory-backed /dev/shm where there is one: the figure is the pipeline's, not fsync's.
    shm = Path("/dev/shm")
    where = str(shm) if shm.is_dir() else None
    with tempfile.TemporaryDirectory(dir=where) as tmp, EmulatorProcess(options) as emu:
        _configure_django(Path(tmp) / "bench.sqlite3", emu)
        from benchapp.models import Item

        from django_akamai import conf, delivery

        results: dict[str, Any] = {"delivery": conf.get_setting("AKAMAI_DELIVERY")}
        for rate in rates:
            emu.reset()
            count = int(rate * seconds)
            items = Item.objects.bulk_create(Item(slug=f"r{rate}-{i}") for i in range(count))
            commits: dict[str, float] = {}
            interval = 1.0 / rate
            start = time.monotonic()

            threads = [
                threading.Thread(target=_save_paced, args=(items, n, start, interval, commits))
                for n in range(SAVERS)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            sent_seconds = time.monotonic() - start
            delivery.wait_idle(timeout=120)
            deadline = time.monotonic() + 60
            fresh: dict[str, float] = {}
            accepted: dict[str, float] = {}
            while time.monotonic() < deadline:
                state = emu._get("/emulator/edge")
                for applied in state["applied"]:
                    for key in applied["keys"]:
                        committed = commits.get(key)
                        if committed is None or applied["acceptedAt"] < committed:
                            continue
                        fresh.setdefault(key, applied["appliedAt"] - committed)
                        accepted.setdefault(key, applied["acceptedAt"] - committed)
                if len(fresh) == len(commits):
                    break
                time.sleep(0.5)
            values = list(fresh.values())
            counters = emu.counters()
            results[f"{rate}/s"] = {
                "saves": count,
                "seconds_saving": sent_seconds,
                "achieved_rate": count / sent_seconds,
                "fresh": len(fresh),
                "never_fresh": count - len(fresh),
                "fresh_median": statistics.median(values) if values else None,
                "fresh_p99": _percentile(values, 0.99) if values else None,
                "accepted_median": statistics.median(accepted.values()) if accepted else None,
                "accepted_p99": _percentile(list(accepted.values()), 0.99) if accepted else None,
                "purge_requests": counters["accepted"],
                "rate_limited_429": counters["rate_limited"],
            }
        return results


def _freshness_in_subprocess(seconds: float) -> dict[str, Any]:
    import subprocess

    done = subprocess.run(
        [sys.executable, __file__, "--freshness-only", "--seconds", str(seconds), "--json"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if done.returncode != 0:
        return {"error": done.stderr.strip()[-2000:]}
    return json.loads(done.stdout)


def edge(seconds: float = 10.0) -> dict[str, Any]:
    """Both parts, for benchmarks/run.py."""
    return {"capacity": capacity(), "freshness": _freshness_in_subprocess(seconds)}


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def render(data: dict[str, Any]) -> list[str]:
    lines = [
        "Emulator capacity (its own process, rate limits off; clients on the same 2 cores):",
        "",
    ]
    lines += ["| requests | clients | answered | per second |", "| --- | --- | ---: | ---: |"]
    for key in ("signed_purges", "introspection_gets"):
        row = data["capacity"][key]
        lines.append(
            f"| {key.replace('_', ' ')} | {row['clients']} | {row['requests']:,} "
            f"| {row['per_second']:,.0f} |"
        )
    fresh = data["freshness"]
    lines += [""]
    if "error" in fresh:
        return lines + [f"Freshness run failed: {fresh['error'][-500:]}"]
    lines += [
        f"Commit -> fresh at the edge, real time (Akamai's 5 s), delivery "
        f"`{fresh['delivery']}`, one save per transaction:",
        "",
        "| saves/s (achieved) | saves | fresh | never fresh | fresh median (s) | fresh p99 (s) "
        "| accepted median (s) | accepted p99 (s) | purge requests | 429s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, row in fresh.items():
        if key == "delivery":
            continue
        lines.append(
            f"| {key} ({row['achieved_rate']:.0f}) | {row['saves']:,} | {row['fresh']:,} "
            f"| {row['never_fresh']:,} | {_fmt(row['fresh_median'])} | {_fmt(row['fresh_p99'])} "
            f"| {_fmt(row['accepted_median'])} | {_fmt(row['accepted_p99'])} "
            f"| {row['purge_requests']:,} | {row['rate_limited_429']:,} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of saves per rate")
    parser.add_argument("--json", action="store_true", help="print raw numbers as JSON")
    parser.add_argument("--freshness-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.freshness_only:
        data: dict[str, Any] = freshness(args.seconds)
        print(json.dumps(data))
        return
    data = edge(args.seconds)
    print(json.dumps(data, indent=2) if args.json else "\n".join(render(data)))


if __name__ == "__main__":
    main()
