"""The Celery task without an external broker: the messages it sends (kombu's in-memory
transport, JSON as on a real broker) and the task's own logic run in-process by Celery's
``apply()`` against the emulator over real HTTP. Real workers: tests/test_tasks_broker.py."""

import json

import pytest
from celery.signals import task_retry
from django.db import transaction

from django_akamai import sender as events
from django_akamai.exceptions import (
    AkamaiError,
    InvalidURL,
    ObjectTooLarge,
    PurgeRetriesExhausted,
)
from django_akamai.models import PurgeIntent
from django_akamai.purge import PurgeRequest
from django_akamai.signals import purge_request, queue_purge_request
from django_akamai.tasks import PurgeRequestTask, PurgeResults, purge_objects
from django_akamai.transport import forget_accounts
from tests.rate_limits import refill_after_the_first_429
from tests.reference import greedy_minimum
from tests.testapp.models import Article

pytestmark = pytest.mark.django_db(transaction=True)

BASE = "https://www.example.com"


def published(app, queue="celery"):
    """Every message waiting in ``queue``, decoded from the JSON on the wire."""
    messages = []
    with app.connection() as connection:
        channel = connection.default_channel
        while (message := channel.basic_get(queue)) is not None:
            assert message.content_type == "application/json"
            args, kwargs, _embed = json.loads(message.body)
            messages.append(
                {
                    "args": args,
                    "kwargs": kwargs,
                    "headers": message.headers,
                    "properties": message.properties,
                    "raw": message.body,
                }
            )
    return messages


# --- what goes on the wire ---------------------------------------------------------------


SENDERS = {
    "url": (lambda: "/news/", [f"{BASE}/news/"]),
    "url list": (
        lambda: ["/a/", "https://www.example.com/b/", "/a/"],
        [f"{BASE}/a/", f"{BASE}/b/"],
    ),
    "instance": (lambda: Article.objects.get(slug="one"), [f"{BASE}/articles/one/"]),
    "queryset": (
        lambda: Article.objects.order_by("pk"),
        [f"{BASE}/articles/one/", f"{BASE}/articles/two/"],
    ),
}


@pytest.mark.parametrize("door", ["delay", "signal"])
@pytest.mark.parametrize("kind", SENDERS)
def test_messages_carry_urls_and_options_only(memory_app, akamai_emulator, kind, door):
    Article.objects.create(slug="one")
    Article.objects.create(slug="two")
    make, expected = SENDERS[kind]
    if door == "delay":
        result = PurgeRequestTask.delay(make(), action="invalidate", network="staging")
    else:
        [(_, result)] = queue_purge_request.send(make(), action="invalidate", network="staging")
    assert isinstance(result, PurgeResults) and len(result.results) == 1
    [message] = published(memory_app)
    assert message["headers"]["task"] == "django_akamai.tasks.purge_objects"
    assert message["args"] == [expected]
    assert message["kwargs"]["options"] == {
        "action": "invalidate",
        "type": "url",
        "network": "staging",
    }
    creds = akamai_emulator.credentials
    wire = message["raw"] + json.dumps(message["headers"]).encode()
    for secret in (creds.client_secret, creds.access_token, creds.client_token, creds.password):
        assert secret.encode() not in wire
    assert akamai_emulator.counters["requests"] == 0  # queued, not sent


def test_a_large_purge_is_one_task_per_request(memory_app, akamai_emulator):
    urls = [f"{BASE}/section-{i % 7}/{'x' * (i % 90)}/{i}" for i in range(4000)]
    results = PurgeRequestTask.delay(urls)
    messages = published(memory_app)
    assert len(messages) == len(results.results) == greedy_minimum(urls) > 1
    assert [url for m in messages for url in m["args"][0]] == urls
    for message in messages:
        body = json.dumps({"objects": message["args"][0]}, separators=(",", ":"))
        assert len(body.encode()) <= 50_000


def test_ccu_v2_tasks_hold_200_objects(memory_app, akamai_emulator_v2):
    PurgeRequestTask.delay([f"/p{i}" for i in range(450)])
    assert [len(m["args"][0]) for m in published(memory_app)] == [200, 200, 50]


def test_queue_and_task_options_come_from_the_settings(memory_app, akamai_emulator, settings):
    settings.AKAMAI_CELERY_QUEUE = "purges"
    settings.AKAMAI_CELERY_TASK_OPTIONS = {"priority": 7, "expires": 600}
    PurgeRequestTask.delay("/a")
    PurgeRequestTask.apply_async(("/b",), countdown=30, priority=1)
    assert published(memory_app, "celery") == []
    first, second = published(memory_app, "purges")
    assert first["properties"]["priority"] == 7 and first["headers"]["expires"]
    assert second["properties"]["priority"] == 1 and second["headers"]["eta"]


def test_bad_arguments_raise_before_anything_is_queued(memory_app, akamai_emulator):
    with pytest.raises(TypeError, match="netwrok"):
        PurgeRequestTask.delay("/a", netwrok="staging")
    with pytest.raises(InvalidURL):
        PurgeRequestTask.delay(["/fine", "javascript:alert(1)"])
    with pytest.raises(ObjectTooLarge):
        PurgeRequestTask.delay("/" + "x" * 60_000)
    with pytest.raises(TypeError):
        PurgeRequestTask.apply_async(("/a", "/b"))
    assert published(memory_app) == []


def test_nothing_to_purge_queues_nothing(memory_app, akamai_emulator):
    result = PurgeRequestTask.delay(Article.objects.none())
    assert result.results == [] and result.get() == 0
    assert published(memory_app) == []


# --- commit safety of the queue ---------------------------------------------------------


def test_queue_signal_waits_for_the_commit_and_merges(memory_app, akamai_emulator):
    # Inside a transaction every door records purge intents; after the commit they are
    # delivered together, whatever door they came through.
    with transaction.atomic():
        for i in range(1000):
            queue_purge_request.send(f"/articles/{i}/")
        PurgeRequestTask.delay_on_commit(["/articles/1/", "/extra/"])
        purge_request.send("/synchronous/")
        assert PurgeIntent.objects.count() == 1002
        assert akamai_emulator.counters["requests"] == 0
    assert published(memory_app) == []
    assert akamai_emulator.counters["requests"] == 1
    assert len(akamai_emulator.accepted_objects()) == 1002
    assert PurgeIntent.objects.count() == 0


def test_queue_signal_sends_nothing_on_rollback(memory_app, akamai_emulator):
    with pytest.raises(ZeroDivisionError):
        with transaction.atomic():
            queue_purge_request.send("/a")
            PurgeRequestTask.delay_on_commit("/b")
            1 / 0  # noqa: B018
    assert published(memory_app) == []


def test_delay_on_commit_outside_a_transaction_queues_at_once(memory_app, akamai_emulator):
    result = PurgeRequestTask.delay_on_commit("/a")
    assert len(result.results) == 1 and len(published(memory_app)) == 1


def test_delay_itself_is_immediate_like_celerys(memory_app, akamai_emulator):
    with transaction.atomic():
        PurgeRequestTask.delay("/a")
        assert len(published(memory_app)) == 1


# --- the task itself, run by Celery in-process against the emulator ---------------------


def test_the_task_returns_the_number_purged(memory_app, akamai_emulator):
    outcome = purge_objects.apply(
        args=([f"{BASE}/a", f"{BASE}/b"],), kwargs={"options": {"action": "invalidate"}}
    )
    assert outcome.successful() and outcome.get() == 2
    [purge] = akamai_emulator.purges
    assert purge.action == "invalidate" and list(purge.objects) == [f"{BASE}/a", f"{BASE}/b"]


def test_eager_celery_runs_every_sender_kind_end_to_end(memory_app, akamai_emulator):
    memory_app.conf.task_always_eager = True
    Article.objects.create(slug="one")
    assert PurgeRequestTask.delay(Article.objects.all()).get() == 1
    assert PurgeRequestTask.delay([f"/p{i}" for i in range(3000)]).get() == 3000
    assert len(akamai_emulator.accepted_objects()) == 3001


@pytest.fixture
def retries_seen():
    seen = []

    def record(sender=None, request=None, reason=None, **kwargs):
        seen.append(getattr(reason, "exc", reason))  # a Retry wraps the task's exception

    task_retry.connect(record, weak=False)
    yield seen
    task_retry.disconnect(record)


def test_a_retry_does_not_resend_what_akamai_accepted(
    memory_app, akamai_emulator, settings, retries_seen
):
    emu = akamai_emulator
    settings.AKAMAI_MAX_RETRIES = 0  # the client gives up at once; the task retries
    settings.AKAMAI_MAX_BODY_BYTES = 300  # several requests in one task
    urls = [f"{BASE}/page-{i}" for i in range(20)]

    def fail_after_first(**kwargs):
        if emu.counters["accepted"] == 1:
            emu.configure(fail_rate=1.0)  # Akamai breaks once the first request is accepted

    def heal(**kwargs):
        emu.configure(fail_rate=0.0)  # ...and heals before the retry runs

    events.request_accepted.connect(fail_after_first, weak=False)
    task_retry.connect(heal, weak=False)
    try:
        outcome = purge_objects.apply(args=(urls,))
    finally:
        events.request_accepted.disconnect(fail_after_first)
        task_retry.disconnect(heal)
    assert outcome.successful() and outcome.get() == 20
    assert len(retries_seen) == 1 and isinstance(retries_seen[0], PurgeRetriesExhausted)
    assert emu.accepted_objects() == urls  # each exactly once, in order
    assert sum(emu.counters["faults"].values()) == 1


def test_rate_limits_are_waited_out_not_failures(
    memory_app, akamai_emulator, settings, retries_seen
):
    emu = akamai_emulator
    settings.AKAMAI_MAX_RETRIES = 0
    settings.AKAMAI_CELERY_MAX_RETRIES = 0  # any failure would fail the task
    # No refill until the task's first try has met the empty bucket, however slow this is.
    with refill_after_the_first_429(emu):
        drain = PurgeRequest()
        drain.add(f"/drain-{i}" for i in range(10_000))  # empties the URL bucket
        drain.purge_all()
        forget_accounts()  # the task runs in a worker process that has seen no headers
        outcome = purge_objects.apply(args=([f"{BASE}/after-{i}" for i in range(2_000)],))
    assert outcome.successful() and outcome.get() == 2_000
    assert emu.counters["rate_limited"] >= 1
    assert retries_seen == []


def test_transient_failures_retry_up_to_the_limit(
    memory_app, akamai_emulator, settings, retries_seen
):
    settings.AKAMAI_MAX_RETRIES = 0
    settings.AKAMAI_CELERY_MAX_RETRIES = 2
    akamai_emulator.configure(fail_rate=1.0)
    outcome = purge_objects.apply(args=([f"{BASE}/a"],))
    assert outcome.failed()
    assert isinstance(outcome.result, PurgeRetriesExhausted)
    assert "www.example.com/a" in str(outcome.result)
    assert len(retries_seen) == 2
    assert akamai_emulator.counters["requests"] == 3


def test_a_task_that_finally_fails_names_every_object_not_purged(
    memory_app, akamai_emulator, settings, retries_seen
):
    settings.AKAMAI_MAX_RETRIES = 0
    settings.AKAMAI_CELERY_MAX_RETRIES = 1
    settings.AKAMAI_MAX_BODY_BYTES = 300  # several bodies for 24 URLs
    akamai_emulator.configure(fail_rate=1.0)
    objects = [f"{BASE}/unnamed-{i}" for i in range(24)]
    outcome = purge_objects.apply(args=(objects,))
    assert outcome.failed()
    assert isinstance(outcome.result, PurgeRetriesExhausted)
    assert outcome.result.objects == objects
    assert len(retries_seen) == 1
    assert akamai_emulator.counters["requests"] == 2  # the first body, once per try


def test_a_permanent_refusal_fails_at_once(memory_app, akamai_emulator, retries_seen):
    akamai_emulator.configure(allowed_hosts=["www.example.com"])
    outcome = purge_objects.apply(args=(["https://elsewhere.example.org/x"],))
    assert outcome.failed()
    # The client's exception (PurgeIncomplete) as Celery stores it: its nearest picklable
    # class, with the whole message: status, Akamai's title and detail, the objects.
    error = outcome.result
    assert isinstance(error, AkamaiError)
    for part in ("HTTP 403", "unauthorized arl", "supportId", "elsewhere.example.org/x"):
        assert part in str(error)
    assert retries_seen == []
    assert akamai_emulator.counters["requests"] == 1


def test_the_task_is_safe_against_lost_workers():
    assert purge_objects.acks_late is True
    assert purge_objects.reject_on_worker_lost is True
    assert purge_objects.name == "django_akamai.tasks.purge_objects"
    assert PurgeRequestTask.name == purge_objects.name
