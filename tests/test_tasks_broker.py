"""Real Celery workers on real brokers (Redis and RabbitMQ), tasks reaching the emulator.

Each broker gets one worker (a subprocess started from ``tests.celery_app``, the standard
Django layout) on a queue of its own; the SIGKILL test starts its own workers. Without a
reachable broker these tests skip, or fail when AKAMAI_TEST_REQUIRE_BROKER=1.
"""

import json
import os
import signal
from pathlib import Path

import pytest
from celery import _state
from celery.signals import before_task_publish
from django.db import transaction

from django_akamai.emulator.faults import FaultInjector
from django_akamai.exceptions import AkamaiError
from django_akamai.signals import queue_purge_request
from django_akamai.tasks import PurgeRequestTask, purge_objects
from django_akamai.testing import emulator_settings
from tests.brokers import (
    Worker,
    delete_queue,
    producer_app,
    require_broker,
    unique_queue,
    wait_for,
)
from tests.testapp.models import Article

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]

BASE = "https://www.example.com"
TIMEOUT = 20


@pytest.fixture(scope="module", params=["redis", "rabbitmq"])
def broker(request):
    return require_broker(request.param)


@pytest.fixture(scope="module")
def producer(broker):
    previous = _state.get_current_app()
    app = producer_app(broker)
    yield app
    app.close()
    previous.set_current()


@pytest.fixture(scope="module")
def worker(broker, producer, akamai_emulator_server, tmp_path_factory):
    queue = unique_queue()
    log = tmp_path_factory.mktemp(f"worker-{broker.name}") / "worker.log"
    running = Worker(broker, akamai_emulator_server, queue, log).start()
    yield running
    running.stop()
    delete_queue(broker, queue)


@pytest.fixture
def emu(akamai_emulator_server, worker, settings):
    """The emulator, reset, and this process's tasks routed to the module's worker."""
    settings.AKAMAI_CELERY_QUEUE = worker.queue
    akamai_emulator_server.restore_defaults()
    akamai_emulator_server.reset()
    yield akamai_emulator_server
    akamai_emulator_server.restore_defaults()


@pytest.fixture
def published():
    """Bodies of the task messages this process publishes during the test."""
    bodies = []

    def record(body=None, **kwargs):
        bodies.append(body)

    before_task_publish.connect(record, weak=False)
    yield bodies
    before_task_publish.disconnect(record)


SENDERS = {
    "url": (lambda: "/news/", [f"{BASE}/news/"]),
    "url list": (lambda: ["/a/", "/b/", "/a/"], [f"{BASE}/a/", f"{BASE}/b/"]),
    "instance": (lambda: Article.objects.get(slug="one"), [f"{BASE}/articles/one/"]),
    "queryset": (
        lambda: Article.objects.order_by("pk"),
        [f"{BASE}/articles/one/", f"{BASE}/articles/two/"],
    ),
}


@pytest.mark.parametrize("door", ["PurgeRequestTask.delay", "queue_purge_request"])
@pytest.mark.parametrize("kind", SENDERS)
def test_every_sender_kind_reaches_akamai_through_a_worker(emu, kind, door):
    Article.objects.create(slug="one")
    Article.objects.create(slug="two")
    make, expected = SENDERS[kind]
    if door == "PurgeRequestTask.delay":
        result = PurgeRequestTask.delay(make(), action="invalidate")
    else:
        [(_, result)] = queue_purge_request.send(make(), action="invalidate")
    assert result.get(timeout=TIMEOUT) == len(expected)
    [purge] = emu.purges
    assert list(purge.objects) == expected and purge.action == "invalidate"


def test_the_worker_found_the_task_by_autodiscovery(worker):
    # The worker's Celery app only calls app.autodiscover_tasks(): nothing imports ours.
    source = (Path(__file__).parent / "celery_app.py").read_text()
    assert "import django_akamai" not in source and "from django_akamai" not in source
    assert "autodiscover_tasks()" in source
    assert ". django_akamai.tasks.purge_objects" in worker.log


def test_no_secret_reaches_the_broker_or_the_worker_log(emu, worker, published):
    result = PurgeRequestTask.delay(["/secret-check/"])
    assert result.get(timeout=TIMEOUT) == 1
    creds = emu.credentials
    wire = json.dumps(published)
    task_id = result.results[0].id
    log = wait_for(lambda: worker.log if f"{task_id}] succeeded" in worker.log else None)
    for secret in (creds.client_secret, creds.access_token, creds.client_token):
        assert secret not in wire and secret not in log


def test_one_transaction_is_one_request(emu, published, settings):
    # Inside a transaction the queue signal records purge intents; the deliverer (here the
    # committing process's, the test database being in memory) sends them in one request.
    for name, value in emulator_settings(emu, "v3").items():
        setattr(settings, name, value)
    with transaction.atomic():
        for i in range(1000):
            queue_purge_request.send(f"/articles/{i}/")
        assert published == []
    assert published == []
    assert emu.counters["objects_accepted"] == 1000
    assert emu.counters["requests"] == 1


def test_a_rolled_back_transaction_queues_nothing(emu, published):
    with pytest.raises(ZeroDivisionError):
        with transaction.atomic():
            queue_purge_request.send("/never/")
            1 / 0  # noqa: B018
    # The worker runs tasks in order: once this one is done, anything before it was too.
    assert PurgeRequestTask.delay("/barrier/").get(timeout=TIMEOUT) == 1
    assert emu.accepted_objects() == [f"{BASE}/barrier/"]
    assert len(published) == 1


def test_a_large_purge_is_split_into_one_task_per_request(emu, published):
    urls = [f"{BASE}/large/{i}/{'x' * (i % 50)}" for i in range(5000)]
    result = PurgeRequestTask.delay(urls)
    assert len(published) == len(result.results) > 1
    assert result.get(timeout=TIMEOUT) == 5000
    assert emu.counters["requests"] == len(published)
    assert sorted(emu.accepted_objects()) == sorted(urls)


def test_transient_failures_retry_until_akamai_recovers(emu, worker):
    # The first try and the first retry fail, the second retry gets through: decided by the
    # seed, not by how soon this process turns the faults off while the worker retries.
    emu.configure(fail_rate=0.5, seed=_seed_for([True, True, False]))
    result = PurgeRequestTask.delay(["/flaky/1", "/flaky/2"])
    assert result.get(timeout=TIMEOUT) == 2
    assert sum(emu.counters["faults"].values()) == 2
    assert emu.accepted_objects() == [f"{BASE}/flaky/1", f"{BASE}/flaky/2"]
    assert "Retry in" in worker.log


def test_retries_stop_at_the_limit(emu):
    # The worker allows 3 task retries and no client-side retry (tests/worker_settings.py).
    emu.configure(fail_rate=1.0)
    result = PurgeRequestTask.delay("/down/")
    with pytest.raises(Exception, match="gave up after transient failures") as info:
        result.get(timeout=TIMEOUT)
    assert "www.example.com/down/" in str(info.value)
    assert emu.counters["requests"] == 4


def test_a_permanent_refusal_fails_the_task_with_akamais_detail(emu):
    emu.configure(allowed_hosts=["www.example.com"])
    result = PurgeRequestTask.delay("https://elsewhere.example.org/forbidden")
    # Celery rebuilds the client's exception from its JSON result as the nearest class it can
    # construct: AkamaiError, with the message whole (status, Akamai's title, detail, objects).
    with pytest.raises(AkamaiError) as info:
        result.get(timeout=TIMEOUT)
    for part in ("HTTP 403", "unauthorized arl", "supportId", "elsewhere.example.org/forbidden"):
        assert part in str(info.value)
    assert emu.counters["requests"] == 1


def _seed_for(faults: list[bool], rate: float = 0.5) -> int:
    """A seed under which the emulator's fault draws fail exactly these requests in turn."""
    for seed in range(100_000):
        injector = FaultInjector(fail_rate=rate, seed=seed)
        if [injector.decide().fail_status is not None for _ in faults] == faults:
            return seed
    raise AssertionError("no seed found")


def test_refused_objects_fail_while_unsent_ones_are_retried(emu, worker):
    # Four objects, one request each (30 kB apiece). The 2nd is refused (403) and the 3rd
    # meets a transient failure: the task fails with the refusal, and a new task purges the
    # 3rd and 4th.
    emu.configure(
        allowed_hosts=["www.example.com"],
        fail_rate=0.5,
        seed=_seed_for([False, False, True, False, False]),
    )
    fine = [f"{BASE}/{i}/{'f' * 30_000}" for i in range(3)]
    refused = f"https://elsewhere.example.org/{'r' * 30_000}"
    # Straight to the registered task: PurgeRequestTask would give each object its own task.
    result = purge_objects.apply_async(
        args=([fine[0], refused, fine[1], fine[2]],), queue=worker.queue
    )
    with pytest.raises(Exception, match="unauthorized arl"):
        result.get(timeout=TIMEOUT)
    wait_for(lambda: len(emu.accepted_objects()) == 3)
    assert emu.accepted_objects() == fine
    assert emu.counters["refused"] == {403: 1}
    assert emu.counters["requests"] == 5


# --- a worker killed mid-task -------------------------------------------------------------


def test_a_worker_killed_mid_task_loses_nothing(
    broker, producer, akamai_emulator_server, tmp_path, settings
):
    emu = akamai_emulator_server
    emu.restore_defaults()
    emu.reset()
    queue = unique_queue()
    settings.AKAMAI_CELERY_QUEUE = queue
    # Redis redelivers an unacknowledged message after its visibility timeout (2 s here);
    # RabbitMQ as soon as the dead worker's connection drops.
    env = {"AKAMAI_TEST_VISIBILITY_TIMEOUT": "2", "AKAMAI_TEST_READ_TIMEOUT": "30"}
    # The prefork pool (Celery's default): the task runs in a child process while the main
    # process acknowledges, so the acknowledgement timing is the one users get. (The solo
    # pool acknowledges only after the task, whatever acks_late says.)
    first = Worker(broker, emu, queue, tmp_path / "first.log", pool="prefork", **env).start()
    second = Worker(broker, emu, queue, tmp_path / "second.log", pool="prefork", **env)
    try:
        emu.configure(slow_rate=1.0, slow_seconds=5)  # hold the task in its HTTP request
        urls = [f"{BASE}/killed/{i}" for i in range(50)]
        result = PurgeRequestTask.delay(urls)
        wait_for(lambda: emu.counters["slowed"] >= 1)
        first.kill()
        assert first.process.returncode == -9
        emu.configure(slow_rate=0.0)
        assert emu.accepted_objects() == []
        second.start()
        assert result.get(timeout=30) == 50
        assert emu.accepted_objects() == urls
        assert result.results[0].id in second.log
    finally:
        first.kill()
        second.stop()
        emu.restore_defaults()
        delete_queue(broker, queue)


def _children(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in children.read_text().split()] if children.exists() else []


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_a_pool_process_killed_mid_task_loses_nothing(
    broker, producer, akamai_emulator_server, tmp_path, settings
):
    # Only the process running the task dies (as under the OOM killer); the worker survives,
    # and reject_on_worker_lost puts the message back instead of failing the task.
    emu = akamai_emulator_server
    emu.restore_defaults()
    emu.reset()
    queue = unique_queue()
    settings.AKAMAI_CELERY_QUEUE = queue
    worker = Worker(
        broker, emu, queue, tmp_path / "worker.log", pool="prefork", AKAMAI_TEST_READ_TIMEOUT="30"
    ).start()
    try:
        [child] = wait_for(lambda: _children(worker.process.pid))
        emu.configure(slow_rate=1.0, slow_seconds=5)
        urls = [f"{BASE}/oom/{i}" for i in range(20)]
        result = PurgeRequestTask.delay(urls)
        wait_for(lambda: emu.counters["slowed"] >= 1)
        os.kill(child, signal.SIGKILL)
        emu.configure(slow_rate=0.0)
        assert result.get(timeout=30) == 20
        assert emu.accepted_objects() == urls
        assert "WorkerLostError" in worker.log
    finally:
        worker.stop()
        emu.restore_defaults()
        delete_queue(broker, queue)


@pytest.mark.parametrize(
    "message",
    [None, [{"a": 1}], ["not a url"], ["/relative"], [3], ["https://www.example.com/a b"]],
)
def test_a_worker_refuses_a_malformed_task_message_before_sending(emu, settings, message):
    # The registered task's name is open to any app or an older deploy: its message is checked
    # as PurgeRequest.add() checks objects, in the worker, before anything is sent.
    result = purge_objects.apply_async(args=(message,), queue=settings.AKAMAI_CELERY_QUEUE)
    with pytest.raises(AkamaiError) as info:
        result.get(timeout=TIMEOUT)
    # The message names the object at fault, whatever class Celery rebuilt it as.
    assert repr(message[0] if isinstance(message, list) else message) in str(info.value)
    assert emu.counters["requests"] == 0


def test_a_worker_purges_a_bare_url_message_as_one_object(emu, settings):
    result = purge_objects.apply_async(args=(f"{BASE}/one/",), queue=settings.AKAMAI_CELERY_QUEUE)
    assert result.get(timeout=TIMEOUT) == 1
    assert emu.accepted_objects() == [f"{BASE}/one/"]
