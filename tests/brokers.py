"""Real brokers and real Celery workers for the tests.

``require_broker(name)`` is the one place that decides what happens when a broker is not
reachable: the test is skipped with the reason, or fails when ``AKAMAI_TEST_REQUIRE_BROKER=1``
(CI). ``Worker`` runs ``celery worker`` in a subprocess against the emulator.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Redis database 15 is the tests' own; RabbitMQ's default guest account on localhost.
REDIS_URL = os.environ.get("AKAMAI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
RABBITMQ_URL = os.environ.get("AKAMAI_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")


@dataclass(frozen=True)
class Broker:
    name: str
    url: str
    result_backend: str


BROKERS = {
    "redis": Broker("redis", REDIS_URL, REDIS_URL),
    # rpc:// sends results back over the broker to the process that sent the task.
    "rabbitmq": Broker("rabbitmq", RABBITMQ_URL, "rpc://"),
}

_reachable: dict[str, str | None] = {}


def _problem(broker: Broker) -> str | None:
    """Why the broker cannot be used, or None."""
    from kombu import Connection

    try:
        with Connection(broker.url, connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, timeout=3)
            connection.default_channel  # noqa: B018  (opens a channel: the login works)
    except Exception as exc:
        where = broker.url.split("@")[-1]  # no password in a skip reason
        return f"{broker.name} broker at {where} is not reachable: {type(exc).__name__}: {exc}"
    return None


def require_broker(name: str) -> Broker:
    """The broker ``name``, or skip the test (fail it when AKAMAI_TEST_REQUIRE_BROKER=1)."""
    broker = BROKERS[name]
    if name not in _reachable:
        _reachable[name] = _problem(broker)
    problem = _reachable[name]
    if problem:
        if os.environ.get("AKAMAI_TEST_REQUIRE_BROKER") == "1":
            pytest.fail(f"{problem} (AKAMAI_TEST_REQUIRE_BROKER=1)", pytrace=False)
        pytest.skip(problem)
    return broker


def unique_queue() -> str:
    """A queue no other test, run or leftover message uses."""
    return f"akamai-test-{uuid.uuid4().hex[:12]}"


def delete_queue(broker: Broker, queue: str) -> None:
    """Remove a test queue and, on Redis, kombu's bookkeeping keys for it."""
    from kombu import Connection

    try:
        with Connection(broker.url, connect_timeout=2) as connection:
            connection.default_channel.queue_delete(queue)
        if broker.name == "redis":
            import redis

            client = redis.Redis.from_url(broker.url)
            keys = list(client.scan_iter(match=f"*{queue}*"))
            if keys:
                client.delete(*keys)
    except Exception:  # cleanup only: an already-missing queue is fine
        pass


class Worker:
    """``celery -A tests.celery_app worker`` on one queue, in its own process group."""

    def __init__(
        self,
        broker: Broker,
        emulator,
        queue: str,
        log_path: Path,
        *,
        pool: str = "solo",
        **env: str,
    ):
        self.broker = broker
        self.pool = pool
        self.queue = queue
        self.log_path = log_path
        creds = emulator.credentials
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "tests.worker_settings",
            "AKAMAI_TEST_BROKER_URL": broker.url,
            "AKAMAI_TEST_RESULT_BACKEND": broker.result_backend,
            "AKAMAI_TEST_CCU_HOST": emulator.base_url,
            "AKAMAI_TEST_CCU_CLIENT_TOKEN": creds.client_token,
            "AKAMAI_TEST_CCU_CLIENT_SECRET": creds.client_secret,
            "AKAMAI_TEST_CCU_ACCESS_TOKEN": creds.access_token,
            **env,
        }
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> Worker:
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tests.celery_app",
                "worker",
                f"--pool={self.pool}",
                "--concurrency=1",
                "--queues",
                self.queue,
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                f"{self.queue}-{uuid.uuid4().hex[:6]}@%h",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # its own process group: kill() takes every process
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.log[offset:]:
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"the Celery worker did not start:\n{self.log[offset:]}")

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL the whole worker: no warm shutdown, no acknowledgement."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def producer_app(broker: Broker):
    """A Celery app for the test process (the side that sends tasks), made current."""
    from celery import Celery

    app = Celery(
        "akamai-test-producer",
        broker=broker.url,
        backend=broker.result_backend,
        set_as_current=True,
    )
    app.conf.broker_connection_retry_on_startup = True
    return app


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.02):
    """Poll until ``predicate()`` is true; return its value or fail the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {predicate}")
