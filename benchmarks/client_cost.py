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
    "stages",
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


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _timed(step, repeat: int) -> float:
    """Median CPU seconds of ``step()`` over ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        before = _cpu()
        step()
        times.append(_cpu() - before)
    return _median(times)


def stages(args: argparse.Namespace) -> dict[str, Any]:
    """CPU of each stage between a validated URL list and Akamai, and of the bare floor.

    Ours: packing (``count_fitting``), encoding (``encode_body``), signing (EdgeGrid's auth on
    a prepared request), each over the same 100,000 canonical URLs. The floor is what no
    client can avoid: ``json.dumps`` of the same bodies and an HMAC-SHA256 signature each;
    then the same plus packing by summed lengths and raw ``http.client`` POSTs of pre-signed
    bodies over one keep-alive connection.
    """
    import hashlib
    import hmac
    import http.client
    from urllib.parse import urlsplit

    import requests

    from django_akamai.conf import EdgeGridCredentials
    from django_akamai.packing import count_fitting, encode_body, envelope_size
    from django_akamai.transport import FastPurgeTransport

    _django(None)
    urls = inputs.canonical(inputs.make_urls(args.count))
    envelope = envelope_size()
    batches: list[list[str]] = []

    def pack() -> None:
        batches.clear()
        start = 0
        while start < len(urls):
            count = count_fitting(urls, envelope=envelope, max_objects=10_000, start=start)
            batches.append(urls[start : start + count])
            start += count

    bodies: list[bytes] = []

    def encode() -> None:
        bodies[:] = [encode_body({"objects": batch}) for batch in batches]

    c = _emulator(args).credentials
    credentials = EdgeGridCredentials(
        host=c["host"],
        client_token=c["client_token"],
        client_secret=c["client_secret"],
        access_token=c["access_token"],
    )
    auth = FastPurgeTransport.make_auth(credentials)
    path = "/ccu/v3/delete/url/production"
    headers = {"Content-Type": "application/json"}

    def prepared() -> list[requests.PreparedRequest]:
        return [
            requests.Request("POST", c["host"] + path, data=body, headers=headers).prepare()
            for body in bodies
        ]

    to_sign: list[requests.PreparedRequest] = []

    def sign() -> None:
        for request in to_sign:
            auth(request)

    key = hashlib.sha256(b"a client secret").digest()

    def floor_encode_sign() -> None:
        for batch in batches:
            body = json.dumps({"objects": batch}, separators=(",", ":")).encode()
            hmac.new(key, hashlib.sha256(body).digest(), hashlib.sha256).digest()

    def floor_pack() -> None:
        size, count = envelope, 0
        for url in urls:  # canonical URLs are ASCII without quotes: 2 quotes and a comma
            size += len(url) + 3
            count += 1
            if size > 50_000 or count > 10_000:
                size, count = envelope + len(url) + 2, 1

    where = urlsplit(c["host"])
    signed: list[requests.PreparedRequest] = []

    def floor_http() -> None:
        connection = http.client.HTTPConnection(where.hostname, where.port)
        for request in signed:
            connection.request("POST", path, body=request.body, headers=dict(request.headers))
            response = connection.getresponse()
            response.read()
            assert response.status == 201, response.status
        connection.close()

    repeat = args.repeat
    result: dict[str, Any] = {"task": "stages", "urls": len(urls), "repeat": repeat}
    result["pack_cpu_seconds"] = _timed(pack, repeat)
    result["requests"] = len(batches)
    result["encode_cpu_seconds"] = _timed(encode, repeat)
    sign_times = []
    for _ in range(repeat):
        to_sign[:] = prepared()
        sign_times.append(_timed(sign, 1))
    result["sign_cpu_seconds"] = _median(sign_times)
    result["floor_encode_sign_cpu_seconds"] = _timed(floor_encode_sign, repeat)
    result["floor_pack_cpu_seconds"] = _timed(floor_pack, repeat)
    http_times = []
    for _ in range(repeat):
        signed[:] = prepared()
        for request in signed:
            auth(request)
        http_times.append(_timed(floor_http, 1))
    result["floor_http_cpu_seconds"] = _median(http_times)
    return result


def run(args: argparse.Namespace) -> dict[str, Any]:
    task = args.task
    result: dict[str, Any] = {"task": task}
    if task == "stages":
        return stages(args)
    if task.startswith("send-"):
        _django(None)
        emu = _emulator(args)
        urls = inputs.make_urls(args.count)
        result["urls"] = len(urls)
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
            # Its in-flight limit only decides how long it waits between requests, not its CPU.
            cls = harness.fastpurge_client_class(max_requests=args.max_requests)
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
    parser.add_argument("--max-requests", dest="max_requests", type=int)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--db")
    parser.add_argument("--original")
    args = parser.parse_args()
    os.chdir(HERE.parent)
    print(json.dumps(run(args)))


if __name__ == "__main__":
    main()
