"""One client-cost measurement in a fresh process; prints one JSON line.

CPU is this process's user + system time (every thread) spent in the measured step; memory is
the peak resident set during the step above the resident set just before it (the interpreter,
the imports and the input list are the baseline). The emulator runs in another process, so
none of its work is counted.

    python benchmarks/client_cost.py TASK [--emulator URL --client-token ... ] [--db PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import harness  # noqa: E402
import inputs  # noqa: E402

TASKS = (
    "send-ours",
    "send-fastpurge",
    "queryset-prepare",
    "queryset-ours",
    "queryset-plain",
    "queryset-original",
)
ROWS = 100_000


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Measure:
    def __enter__(self) -> Measure:
        try:  # Linux: "5" resets the peak resident set (VmHWM) to the current one.
            Path("/proc/self/clear_refs").write_text("5")
            self.peak_reset = True
        except OSError:
            self.peak_reset = False
        self.rss_before = _status_kib("VmRSS")
        self.cpu_before = _cpu()
        self.wall_before = time.perf_counter()
        return self

    def mark(self) -> dict[str, float]:
        """CPU and peak memory so far, for a first phase of the measured step."""
        return {
            "cpu_seconds": _cpu() - self.cpu_before,
            "peak_mib_above_baseline": (_status_kib("VmHWM") - self.rss_before) / 1024,
        }

    def __exit__(self, *_exc: Any) -> None:
        self.cpu = _cpu() - self.cpu_before
        self.wall = time.perf_counter() - self.wall_before
        self.peak_above_baseline_mib = (_status_kib("VmHWM") - self.rss_before) / 1024


def _django(db: str | None) -> None:
    extra: dict[str, Any] = {"AKAMAI_BASE_URL": "https://www.example.com"}
    if db:
        extra["INSTALLED_APPS"] = ["benchapp"]
        extra["DATABASES"] = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": db}}
    harness.configure_django(**extra)


def _emulator(args: argparse.Namespace) -> harness.EmulatorProcess:
    emu = harness.EmulatorProcess(base_url=args.emulator)
    emu.credentials = {
        "host": args.emulator,
        "client_token": args.client_token,
        "client_secret": args.client_secret,
        "access_token": args.access_token,
    }
    return emu


def run(args: argparse.Namespace) -> dict[str, Any]:
    task = args.task
    result: dict[str, Any] = {"task": task}
    if task.startswith("send-"):
        _django(None)
        emu = _emulator(args)
        urls = inputs.make_urls(args.count)
        if task == "send-fastpurge":
            # It has no normalising of its own: hand it the URLs already as Akamai needs them
            # (raw unicode hosts are refused with 400, which it retries into a failure).
            urls = inputs.canonical(urls)
        if task == "send-ours":
            from django_akamai.purge import PurgeRequest

            c = emu.credentials
            with Measure() as m:
                pr = PurgeRequest(
                    host=c["host"],
                    client_token=c["client_token"],
                    client_secret=c["client_secret"],
                    access_token=c["access_token"],
                )
                pr.add(urls)
                added = m.mark()
                pr.purge_all()
            result["requests"] = pr.transport.requests_sent
            # add() alone: resolving and validating; the rest is packing, signing, sending.
            result["add"] = added
            result["send_cpu_seconds"] = m.cpu - added["cpu_seconds"]
        else:
            import logging

            logging.getLogger("fastpurge").setLevel(logging.CRITICAL)
            cls = harness.fastpurge_client_class()
            with Measure() as m:
                with cls(auth=harness.fastpurge_auth(emu), scheme="http", port=emu.port) as fp:
                    fp.purge_by_url(urls, purge_type="delete").result()
    else:
        _django(args.db)
        from benchapp.models import Item
        from django.db import connection

        if task == "queryset-prepare":
            with connection.schema_editor() as editor:
                editor.create_model(Item)
            Item.objects.bulk_create(
                [Item(slug=f"item-{i}-{'x' * (i % 40)}") for i in range(ROWS)], batch_size=5000
            )
            return {"task": task, "rows": Item.objects.count()}
        queryset = Item.objects.all()
        if task == "queryset-ours":
            from django_akamai.purge import PurgeRequest

            pr = PurgeRequest(
                host="https://akab-bench.purge.akamaiapis.net",
                client_token="akab-bench",
                client_secret="bench",
                access_token="akab-bench",
            )
            with Measure() as m:
                pr.add(queryset)
            result["urls"] = len(pr.urls)
        elif task == "queryset-plain":
            with Measure() as m:
                urls = [item.get_absolute_url() for item in queryset]
            result["urls"] = len(urls)
        else:
            module = harness.load_original(Path(args.original))
            pr = module.PurgeRequest(
                edgegrid_host="akab-bench.purge.akamaiapis.net", edgegrid_auth=object()
            )
            with Measure() as m:
                try:
                    pr.add(queryset)
                except Exception as exc:  # noqa: BLE001 (recorded as the outcome)
                    result["error"] = f"{type(exc).__name__}: {exc}"
            result["urls"] = len(pr.urls)
    result.update(
        cpu_seconds=m.cpu,
        wall_seconds=m.wall,
        peak_mib_above_baseline=m.peak_above_baseline_mib,
        peak_reset=m.peak_reset,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("task", choices=TASKS)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--emulator")
    parser.add_argument("--client-token", dest="client_token")
    parser.add_argument("--client-secret", dest="client_secret")
    parser.add_argument("--access-token", dest="access_token")
    parser.add_argument("--db")
    parser.add_argument("--original")
    args = parser.parse_args()
    os.chdir(HERE.parent)
    print(json.dumps(run(args)))


if __name__ == "__main__":
    main()
