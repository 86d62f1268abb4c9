"""``AKAMAI_DELIVERY = "tasks"``: the pipeline's deliverer as a task of Django's Tasks framework.

In process with the immediate and dummy backends (the kick enqueues the task once per commit;
its arguments are only the database alias; it re-enqueues itself for intents that back off),
and with django-tasks-db: a site process commits a purge, which leaves a pending intent and a
queued task in the database and nothing at the emulator; ``db_worker`` then delivers it once.
"""

from __future__ import annotations

import django
import pytest
from django.db import transaction

from tests.integrations.processes import Processes, emulator_env, task_database

pytestmark = pytest.mark.django_db(transaction=True)

_FRAMEWORK = "django.tasks" if django.VERSION >= (6, 0) else "django_tasks"
IMMEDIATE = f"{_FRAMEWORK}.backends.immediate.ImmediateBackend"
DUMMY = f"{_FRAMEWORK}.backends.dummy.DummyBackend"
DELIVER_TASK = "django_akamai.contrib.django_tasks.deliver_intents"
URL = "https://www.example.com/tasks/"


def _signals():
    if django.VERSION >= (6, 0):
        from django.tasks import signals
    else:
        from django_tasks import signals
    return signals


@pytest.fixture
def enqueued():
    """Every task result enqueued, from any thread (backends are per thread; signals are not)."""
    results = []

    def record(sender, task_result, **kwargs):
        results.append(task_result)

    _signals().task_enqueued.connect(record)
    yield results
    _signals().task_enqueued.disconnect(record)


def _commit_purge(urls):
    from django_akamai.funnel import request_purge

    with transaction.atomic():
        request_purge(urls, options={"action": "invalidate"})


def _wait_for_the_kick():
    from django_akamai import delivery

    assert delivery.wait_idle(30)


@pytest.fixture
def tasks_mode(settings, akamai_emulator):
    settings.AKAMAI_DELIVERY = "tasks"
    settings.TASKS = {"default": {"BACKEND": IMMEDIATE}}
    return settings


def test_immediate_backend_delivers_once_after_the_commit(tasks_mode, akamai_emulator):
    runs = []

    def finished(sender, task_result, **kwargs):
        if task_result.task.module_path == DELIVER_TASK:
            runs.append(task_result.status)

    _signals().task_finished.connect(finished)
    try:
        _commit_purge([URL])
        _wait_for_the_kick()
    finally:
        _signals().task_finished.disconnect(finished)
    assert [str(s) for s in runs] == ["SUCCESSFUL"]
    [purge] = akamai_emulator.purges
    assert list(purge.objects) == [URL]


def test_the_task_carries_only_the_database_alias(tasks_mode, akamai_emulator, enqueued):
    tasks_mode.TASKS = {"default": {"BACKEND": DUMMY}}
    _commit_purge([URL])
    _wait_for_the_kick()
    [result] = enqueued
    assert result.task.module_path == DELIVER_TASK
    assert (list(result.args), dict(result.kwargs)) == (["default"], {})
    assert akamai_emulator.purges == []  # the dummy backend runs nothing


def test_the_task_reenqueues_itself_while_intents_back_off(tasks_mode, akamai_emulator, enqueued):
    from django_akamai.contrib.django_tasks import deliver_intents
    from django_akamai.models import PurgeIntent

    tasks_mode.TASKS = {"default": {"BACKEND": DUMMY}}
    _commit_purge([URL])
    _wait_for_the_kick()
    enqueued.clear()
    akamai_emulator.configure(fail_rate=1.0, seed=1)  # every request a transient 5xx
    deliver_intents.call("default")
    [intent] = PurgeIntent.objects.all()
    assert intent.attempts == 1 and intent.next_attempt_at is not None
    [retry] = enqueued
    # Not before the intent falls due (later only if this machine was slow to get here).
    assert retry.task.run_after is not None and retry.task.run_after >= intent.next_attempt_at
    assert akamai_emulator.purges == []

    # The worker runs the retry once it is due (here: made due), and it is delivered once.
    akamai_emulator.restore_defaults()
    PurgeIntent.objects.update(next_attempt_at=intent.created_at)
    enqueued.clear()
    deliver_intents.call("default")
    assert [list(p.objects) for p in akamai_emulator.purges] == [[URL]]
    assert not PurgeIntent.objects.exists()
    assert enqueued == []


def test_the_system_check_wants_a_tasks_framework(settings, monkeypatch):
    import importlib.util

    from django_akamai.checks import check_delivery

    settings.AKAMAI_DELIVERY = "tasks"
    assert check_delivery() == []
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "django_tasks" else find_spec(name, *a),
    )
    # Django 6.0+ has django.tasks; only Django 5.2 needs the backport.
    expected = [] if django.VERSION >= (6, 0) else ["django_akamai.E010"]
    assert [message.id for message in check_delivery()] == expected


# --- django-tasks-db and db_worker, in real processes ------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def tasks_processes(request, tmp_path, akamai_emulator):
    with task_database(request.param, tmp_path) as db_env:
        procs = Processes(
            {**db_env, **emulator_env(akamai_emulator), "AKAMAI_TEST_DELIVERY": "tasks"}
        )
        procs.step("setup")
        yield procs


@pytest.mark.slow
def test_db_worker_delivers_what_a_site_process_committed(tasks_processes, akamai_emulator):
    tasks_processes.step("purge", URL)
    # Durable before any worker runs: the intent and the task wait in the database.
    assert tasks_processes.task_counts() == {f"{DELIVER_TASK}:READY": 1}
    assert tasks_processes.pending_intents() == 1
    assert akamai_emulator.purges == []
    tasks_processes.db_worker_batch()
    assert tasks_processes.task_counts() == {f"{DELIVER_TASK}:SUCCESSFUL": 1}
    assert tasks_processes.pending_intents() == 0
    assert [list(p.objects) for p in akamai_emulator.purges] == [[URL]]


@pytest.mark.slow
def test_wagtail_publish_reaches_akamai_through_db_worker_only(tasks_processes, akamai_emulator):
    tasks_processes.step("publish", "about")
    assert akamai_emulator.purges == []
    for _ in range(3):  # Wagtail's purge task, then our deliverer
        tasks_processes.db_worker_batch()
        if not any(k.endswith(":READY") for k in tasks_processes.task_counts()):
            break
    assert [list(p.objects) for p in akamai_emulator.purges] == [["https://www.example.com/about/"]]
    assert tasks_processes.pending_intents() == 0
