"""The emulator in its own process, and the three clients driven the same way.

The emulator runs as ``python -m django_akamai.emulator`` in a separate process, so that its
CPU time and the GIL are not shared with the client being measured; the harness reads its
counters and accepted purges over its introspection endpoints.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import threading
import time
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MAX_BODY_BYTES = 50_000


# --- the emulator ---------------------------------------------------------------------------


@dataclass
class EmulatorProcess:
    """``python -m django_akamai.emulator --port 0 ...`` and what it printed at start."""

    options: dict[str, Any] = field(default_factory=dict)
    base_url: str = ""
    credentials: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None

    def __enter__(self) -> EmulatorProcess:
        args = [sys.executable, "-m", "django_akamai.emulator", "--port", "0"]
        for name, value in self.options.items():
            args += [f"--{name.replace('_', '-')}", str(value)]
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert self.process.stdout is not None
        wanted = ("host", "client_token", "client_secret", "access_token")
        for line in self.process.stdout:
            match = re.match(r"\s*(\w+)\s*=\s*(\S+)", line)
            if "listening on" in line:
                self.base_url = line.rsplit(" ", 1)[1].strip()
            elif match and match.group(1) in wanted:
                self.credentials[match.group(1)] = match.group(2)
            if line.startswith("Press Ctrl-C"):
                break
        if not self.base_url or len(self.credentials) != len(wanted):
            self.__exit__()
            raise RuntimeError(f"the emulator did not start: {args}")
        # Keep reading its output so that it never blocks on a full pipe.
        threading.Thread(target=self.process.stdout.read, daemon=True).start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    @property
    def port(self) -> int:
        return int(urlsplit(self.base_url).port or 80)

    def _get(self, path: str) -> Any:
        with urlopen(self.base_url + path, timeout=60) as response:  # noqa: S310 (loopback)
            return json.loads(response.read())

    def counters(self) -> dict[str, Any]:
        return self._get("/emulator/counters")

    def purges(self) -> list[dict[str, Any]]:
        return self._get("/emulator/purges")

    def accepted_objects(self) -> list[Any]:
        return [obj for purge in self.purges() for obj in purge["objects"]]

    def reset(self) -> None:
        request = Request(self.base_url + "/emulator/reset", method="POST")  # noqa: S310
        with urlopen(request, timeout=10):  # noqa: S310 (loopback)
            pass


class AcceptanceWatch:
    """Notes when the emulator has accepted ``target`` objects, from another process
    (``acceptance_watch.py``) so that the watching takes no CPU or GIL from the client.

    Times are ``time.monotonic()``, one clock for every process on the machine.
    """

    def __init__(self, emulator: EmulatorProcess, target: int, interval: float = 0.02):
        self.emulator = emulator
        self.target = target
        self.interval = interval
        self.started = time.monotonic()
        self.reached_at: float | None = None
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> AcceptanceWatch:
        script = str(HERE / "acceptance_watch.py")
        arguments = [self.emulator.base_url, str(self.target), str(self.interval)]
        self._process = subprocess.Popen(
            [sys.executable, script, *arguments], stdout=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None
        if self._process.stdout.readline().strip() != "ready":
            raise RuntimeError("the acceptance watch did not start")
        self.started = time.monotonic()
        return self

    def __exit__(self, *_exc: Any) -> None:
        assert self._process is not None and self._process.stdout is not None
        if self.emulator.counters()["objects_accepted"] >= self.target:
            line = self._process.stdout.readline()  # within one interval of now
            self.reached_at = float(line)
        else:  # the client gave up: the target will never be reached
            self._process.terminate()
        self._process.wait(10)
        self._process.stdout.close()

    @property
    def seconds(self) -> float | None:
        return None if self.reached_at is None else self.reached_at - self.started


def outcome(emulator: EmulatorProcess, expected: list[Any]) -> dict[str, Any]:
    """What the emulator holds compared with what the client was asked to purge."""
    counters = emulator.counters()
    accepted = emulator.accepted_objects()
    seen: dict[Any, int] = {}
    for obj in accepted:
        seen[obj] = seen.get(obj, 0) + 1
    wanted = set(expected)
    return {
        "http_requests": counters["requests"],
        "accepted_requests": counters["accepted"],
        "bytes_received": counters["bytes_received"],
        "rate_limited_429": counters["rate_limited"],
        "faults_5xx": sum(counters["faults"].values()),
        "dropped": counters["dropped"],
        "refused": counters["refused"],
        "objects_accepted": len(accepted),
        "objects_lost": len(wanted - set(seen)),
        "objects_twice": sum(1 for obj, n in seen.items() if n > 1),
        "objects_unexpected": len(set(seen) - wanted),
    }


# --- the clients ------------------------------------------------------------------------------


def configure_django(**extra: Any) -> None:
    """Minimal settings: django-akamai reads its AKAMAI_* settings through django.conf."""
    from django.conf import settings

    if not settings.configured:
        settings.configure(USE_TZ=True, AKAMAI_HISTORY=False, **extra)
        import django

        django.setup()


def ours_request(emulator: EmulatorProcess, **kwargs: Any):
    """A ``PurgeRequest`` of this project pointed at the emulator (Fast Purge v3)."""
    configure_django()
    from django_akamai.purge import PurgeRequest

    c = emulator.credentials
    return PurgeRequest(
        host=c["host"],
        client_token=c["client_token"],
        client_secret=c["client_secret"],
        access_token=c["access_token"],
        **kwargs,
    )


def run_ours(
    emulator: EmulatorProcess,
    urls: list[str],
    purge_batch_size: int | None = None,
    *,
    time_add: bool = False,
    expected: list[str] | None = None,
) -> dict[str, Any]:
    """``add(urls)`` then ``purge_all()``; timed from ``purge_all()``, or from ``add()`` with
    ``time_add`` (then ``expected``, the canonical URLs, tells the watch what to wait for)."""
    pr = ours_request(emulator)
    if not time_add:
        pr.add(urls)
        expected = list(pr.urls)
    assert expected is not None
    error = None
    with AcceptanceWatch(emulator, len(expected)) as watch:
        try:
            if time_add:
                pr.add(urls)
            pr.purge_all(purge_batch_size=purge_batch_size)
        except Exception as exc:  # noqa: BLE001 (recorded, not hidden)
            error = f"{type(exc).__name__}: {exc}"
        returned = time.monotonic() - watch.started
    return {
        "client": "django-akamai (this project)",
        "completed": error is None and not pr.urls,
        "error": error,
        "seconds_returned": returned,
        "seconds_all_accepted": watch.seconds,
        "client_requests_sent": pr.transport.requests_sent,
        "client_429s": pr.transport.rate_limited,
        "client_retries": pr.transport.retries,
        **outcome(emulator, expected),
    }


def fastpurge_client_class(time_scale: float = 1.0, max_requests: int | None = None):
    """python-fastpurge's client, with its own timers divided by ``time_scale``.

    The emulator compresses Akamai's clock by ``time_scale`` (buckets refill that much
    faster); the peer's retry backoff and jitter are compressed by the same factor so that
    the run is the same race as against Akamai, only shorter. ``max_requests`` (its number of
    purges kept in flight until their estimatedSeconds pass) is raised only in the packing
    scenario, where it changes how long the run takes but not a single request body.
    """
    from fastpurge import FastPurgeClient

    attributes = {
        "RETRY_BACKOFF": FastPurgeClient.RETRY_BACKOFF / time_scale,
        "RETRY_BACKOFF_MAX": FastPurgeClient.RETRY_BACKOFF_MAX / time_scale,
        "RETRY_BACKOFF_JITTER": FastPurgeClient.RETRY_BACKOFF_JITTER / time_scale,
    }
    if max_requests is not None:
        attributes["MAX_REQUESTS"] = max_requests
    return type("BenchFastPurgeClient", (FastPurgeClient,), attributes)


def fastpurge_auth(emulator: EmulatorProcess) -> dict[str, Any]:
    c = emulator.credentials
    # python-fastpurge takes a bare host plus its documented scheme= and port= arguments;
    # that is all it needs to talk to the plain-http emulator on loopback.
    return {
        "host": urlsplit(c["host"]).hostname,
        "client_token": c["client_token"],
        "client_secret": c["client_secret"],
        "access_token": c["access_token"],
    }


def run_fastpurge(
    emulator: EmulatorProcess,
    urls: list[str],
    *,
    time_scale: float = 1.0,
    max_requests: int | None = None,
) -> dict[str, Any]:
    import logging

    # It logs every retried status at ERROR; keep the benchmark's output readable.
    logging.getLogger("fastpurge").setLevel(logging.CRITICAL)
    cls = fastpurge_client_class(time_scale, max_requests)
    error = None
    with AcceptanceWatch(emulator, len(urls)) as watch:
        client = cls(auth=fastpurge_auth(emulator), scheme="http", port=emulator.port)
        with client:
            future = client.purge_by_url(list(urls), purge_type="delete")
            try:
                future.result()
            except Exception as exc:  # noqa: BLE001 (recorded, not hidden)
                error = f"{type(exc).__name__}: {exc}"
            returned = time.monotonic() - watch.started
    result = outcome(emulator, urls)
    return {
        "client": "python-fastpurge 1.0.6",
        "completed": error is None and result["objects_lost"] == 0,
        "error": error,
        "seconds_returned": returned,
        "seconds_all_accepted": watch.seconds,
        **result,
    }


# --- the original django-akamai 2.0.0, imported under another name -----------------------------


def load_original(path: Path) -> types.ModuleType:
    """``django_akamai/purge.py`` of the original 2.0.0 as ``original_django_akamai.purge``."""
    source = path / "django_akamai" / "purge.py"
    if not source.is_file():
        raise FileNotFoundError(f"{source} is missing: the original could not be installed")
    package = types.ModuleType("original_django_akamai")
    package.__path__ = [str(source.parent)]
    sys.modules["original_django_akamai"] = package
    spec = importlib.util.spec_from_file_location("original_django_akamai.purge", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def try_original(emulator: EmulatorProcess, urls: list[str], path: Path) -> dict[str, Any]:
    """Run the original 2.0.0 as its README says; record what happens, as it happens."""
    result: dict[str, Any] = {"client": "django-akamai 2.0.0 (the original)", "steps": []}
    try:
        configure_django()
        module = load_original(path)
        from akamai.edgegrid import EdgeGridAuth

        c = emulator.credentials
        auth = EdgeGridAuth(
            client_token=c["client_token"],
            client_secret=c["client_secret"],
            access_token=c["access_token"],
        )
        host = urlsplit(c["host"]).netloc
    except Exception as exc:  # noqa: BLE001
        result["steps"].append(("import", f"{type(exc).__name__}: {exc}"))
        result["completed"] = False
        return result
    for step, call in (
        (
            "PurgeRequest(edgegrid_host=..., edgegrid_auth=...).add('<one URL>')",
            lambda: module.PurgeRequest(edgegrid_host=host, edgegrid_auth=auth).add(urls[0]),
        ),
        (
            "PurgeRequest(urls=[...100,000 URLs...]).purge_all()",
            lambda: module.PurgeRequest(
                urls=list(urls), edgegrid_host=host, edgegrid_auth=auth
            ).purge_all(),
        ),
    ):
        try:
            call()
            result["steps"].append((step, "ok"))
        except Exception as exc:  # noqa: BLE001
            result["steps"].append((step, f"{type(exc).__name__}: {exc}"))
    result["requests_reaching_the_emulator"] = emulator.counters()["requests"]
    result["completed"] = all(outcome_ == "ok" for _, outcome_ in result["steps"])
    return result


def original_batches(urls: list[str], max_request_size: int = 45_000) -> list[list[str]]:
    """The original 2.0.0's batching rule, re-stated: pop from the end, count raw bytes.

    Used only to show what its bodies would have been; it cannot send them on Python 3.
    """
    pending = list(urls)
    batches = []
    while pending:
        batch, size = [], 0
        while pending and size < max_request_size:
            url = pending.pop()
            batch.append(url)
            size += len(url.encode("utf-8"))
        batches.append(batch)
    return batches


def env_python() -> str:
    return os.environ.get("BENCH_PROJECT_PYTHON", sys.executable)
