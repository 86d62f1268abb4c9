"""What purging on save costs a save, and how many API requests (or tasks) saves make.

    .venv/bin/python benchmarks/bench_signals.py [--saves 1000] [--rounds 5] [--json]

1. Time per save (median and 90th percentile, microseconds) of ``item.save()`` in autocommit,
   against the same save without purging: with automatic purging (``AKAMAI_PURGE_MODELS``)
   sync and queued, with ``purge_request.send(item)`` and with ``queue_purge_request.send``
   after the save. Then the same saves inside one transaction (the purge waits for the
   commit; the commit's own time is reported apart).
2. Requests to Akamai (sync) and tasks published (queued) for 1,000 saves (creates) in one
   transaction, and in 1,000 transactions; and for 1,000 slug changes in one transaction
   (each purges its old URL and its new one: 2,000 URLs, more than one request can carry).

The emulator runs in its own process (rate limits off); queued purges go to Redis DB 15 (or
RabbitMQ) on a queue of their own, with no worker, and the queue is deleted at the end. The
database is SQLite in a temporary file. Variants alternate in rounds so drift hits all alike.
Sync purges here cross loopback only, so their cost is a floor: over the internet a request
to Akamai takes tens to hundreds of milliseconds, which a sync save would wait for.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from harness import EmulatorProcess  # noqa: E402

BROKERS = ("redis://127.0.0.1:6379/15", "amqp://guest:guest@127.0.0.1:5672//")


def configure(database: Path, emulator: EmulatorProcess, queue: str) -> None:
    import django
    from django.conf import settings

    c = emulator.credentials
    settings.configure(
        USE_TZ=True,
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "django_akamai",
            "benchapp",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(database)}},
        AKAMAI_CCU_HOST=c["host"],
        AKAMAI_CCU_CLIENT_TOKEN=c["client_token"],
        AKAMAI_CCU_CLIENT_SECRET=c["client_secret"],
        AKAMAI_CCU_ACCESS_TOKEN=c["access_token"],
        AKAMAI_BASE_URL="https://www.example.com",
        AKAMAI_HISTORY=False,  # its cost is benchmarks/bench_history.py's subject
        AKAMAI_CELERY_QUEUE=queue,
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0)


def find_broker() -> str | None:
    from kombu import Connection

    for url in BROKERS:
        try:
            with Connection(url, connect_timeout=2) as connection:
                connection.ensure_connection(max_retries=1, timeout=3)
                return url
        except Exception:  # noqa: S112 (try the next broker)
            continue
    return None


class Publishes:
    """Counts task messages published by this process."""

    def __init__(self) -> None:
        from celery.signals import before_task_publish

        self.count = 0
        before_task_publish.connect(self._seen, weak=False)

    def _seen(self, **kwargs: Any) -> None:
        self.count += 1


# --- the variants -------------------------------------------------------------------------


def variants(queued: bool) -> dict[str, dict[str, Any]]:
    """name -> settings to apply and the function run after each save (or None)."""
    from django_akamai import signals

    rows: dict[str, dict[str, Any]] = {
        "plain save": {"settings": {}, "after": None},
        "autopurge, sync": {"settings": {"AKAMAI_PURGE_MODELS": ["benchapp.Item"]}, "after": None},
        "purge_request.send": {"settings": {}, "after": signals.purge_request.send},
    }
    if queued:
        rows["autopurge, queued"] = {
            "settings": {"AKAMAI_PURGE_MODELS": {"benchapp.Item": {"queue": True}}},
            "after": None,
        }
        rows["queue_purge_request.send"] = {
            "settings": {},
            "after": signals.queue_purge_request.send,
        }
    return rows


def timed_saves(items: list[Any], after, in_transaction: bool) -> tuple[list[float], float]:
    """Microseconds of each save (plus its signal), and of the commit (0 in autocommit)."""
    from django.db import transaction

    times = []

    def run() -> None:
        for item in items:
            item.slug = f"s-{uuid.uuid4().hex[:10]}"
            start = time.perf_counter_ns()
            item.save()
            if after is not None:
                after(item)
            times.append((time.perf_counter_ns() - start) / 1000)

    if not in_transaction:
        run()
        return times, 0.0
    atomic = transaction.atomic()
    atomic.__enter__()
    try:
        run()
    finally:
        start = time.perf_counter_ns()
        atomic.__exit__(None, None, None)  # the commit, and the purge it sends
        commit = (time.perf_counter_ns() - start) / 1000
    return times, commit


def per_save(saves: int, rounds: int, queued: bool) -> dict[str, Any]:
    from benchapp.models import Item
    from django.test.utils import override_settings

    rows = variants(queued)
    batch = max(1, saves // rounds)
    results: dict[str, Any] = {}
    for mode in ("autocommit", "one transaction"):
        timings: dict[str, list[float]] = {name: [] for name in rows}
        commits: dict[str, list[float]] = {name: [] for name in rows}
        for round_number in range(rounds):
            names = list(rows)
            shift = round_number % len(names)
            for name in names[shift:] + names[:shift]:  # rotate the order every round
                items = Item.objects.bulk_create(Item(slug=f"i{i}") for i in range(batch))
                with override_settings(**rows[name]["settings"]):
                    times, commit = timed_saves(
                        items, rows[name]["after"], mode == "one transaction"
                    )
                timings[name].extend(times)
                commits[name].append(commit)
        plain = statistics.median(timings["plain save"])
        for name, times in timings.items():
            median = statistics.median(times)
            results[f"{mode}: {name}"] = {
                "saves": len(times),
                "median_us": round(median, 1),
                "p90_us": round(statistics.quantiles(times, n=10)[-1], 1),
                "added_median_us": round(median - plain, 1),
                "commit_ms": (
                    round(statistics.median(commits[name]) / 1000, 2)
                    if mode == "one transaction"
                    else None
                ),
            }
    return results


def request_counts(
    emulator: EmulatorProcess, queued: bool, publishes: Publishes | None, saves: int = 1000
) -> dict[str, Any]:
    """API requests (sync) or tasks (queued) for ``saves`` creates, and for renames."""
    from benchapp.models import Item
    from django.db import transaction
    from django.test.utils import override_settings

    # Short URLs, such as https://www.example.com/items/12345/n678/ (42 bytes).
    def create(i: int) -> None:
        Item.objects.create(slug=f"n{i}")

    renamed: list[Any] = []

    def rename(i: int) -> None:
        # A changed slug purges the old URL and the new one: 2 URLs a save.
        item = renamed[i]
        item.slug = f"m{i}"
        item.save()

    from django_akamai import delivery

    counts: dict[str, Any] = {}
    modes = [("sync", {"benchapp.Item": {}})]
    if queued:
        modes.append(("queued", {"benchapp.Item": {"queue": True}}))
    shapes = [
        ("creates", create, "in one transaction"),
        ("creates", create, "in a transaction each"),
        ("slug changes", rename, "in one transaction"),
    ]
    for label, declared in modes:
        for what, save, shape in shapes:
            renamed[:] = Item.objects.bulk_create(Item(slug=f"r{i}") for i in range(saves))
            delivery.wait_idle(60)  # what earlier variants recorded is not counted here
            emulator.reset()
            published_before = publishes.count if publishes else 0
            with override_settings(AKAMAI_PURGE_MODELS=declared):
                if shape == "in one transaction":
                    with transaction.atomic():
                        for i in range(saves):
                            save(i)
                else:
                    for i in range(saves):
                        with transaction.atomic():
                            save(i)
            key = f"{saves} {what} {shape}, {label}"
            if label == "sync":
                delivery.wait_idle(60)  # the background deliverer sends after the commits
                counters = emulator.counters()
                counts[key] = {
                    "api_requests": counters["requests"],
                    "objects_purged": counters["objects_accepted"],
                }
            else:
                counts[key] = {"tasks_published": publishes.count - published_before}
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=1000, help="timed saves per variant")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()

    queue = f"akamai-bench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp, EmulatorProcess({"rate_limits": "off"}) as emu:
        configure(Path(tmp) / "bench.sqlite3", emu, queue)
        broker = find_broker()
        publishes = None
        app = None
        if broker:
            from celery import Celery

            app = Celery("akamai-bench", broker=broker, set_as_current=True)
            app.conf.broker_connection_retry_on_startup = True
            publishes = Publishes()
        try:
            results = {
                "broker": broker.split("@")[-1] if broker else None,
                "per_save": per_save(args.saves, args.rounds, broker is not None),
                "requests": request_counts(emu, broker is not None, publishes),
            }
        finally:
            if app is not None:
                with app.connection() as connection:
                    connection.default_channel.queue_delete(queue)
                if broker and broker.startswith("redis"):
                    import redis

                    client = redis.Redis.from_url(broker)  # the queue's list and bindings
                    keys = list(client.scan_iter(match=f"*{queue}*"))
                    if keys:
                        client.delete(*keys)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "signals.json").write_text(json.dumps(results, indent=2) + "\n")
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"Per save, microseconds (broker: {results['broker'] or 'none: queued rows skipped'})")
    print(f"{'variant':<48} {'median':>9} {'p90':>9} {'added':>9} {'commit ms':>10}")
    for name, row in results["per_save"].items():
        commit = "" if row["commit_ms"] is None else f"{row['commit_ms']:.2f}"
        print(
            f"{name:<48} {row['median_us']:>9.1f} {row['p90_us']:>9.1f} "
            f"{row['added_median_us']:>9.1f} {commit:>10}"
        )
    print()
    print("Requests and tasks")
    for name, row in results["requests"].items():
        print(f"{name:<48} " + ", ".join(f"{k}={v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
