"""Django's Tasks framework: Wagtail's purge task through django-tasks-db and its db_worker.

Real processes on a real database (an SQLite file, and PostgreSQL): a site process publishes
a page, which only enqueues Wagtail's purge task in the database; nothing reaches the emulator
until ``db_worker`` runs the task, and then the page's URL arrives once.
"""

from __future__ import annotations

import pytest

from tests.integrations.processes import Processes, emulator_env, task_database

WAGTAIL_TASK = "wagtail.contrib.frontend_cache.tasks.purge_urls_from_cache_task"


@pytest.fixture(params=["sqlite", "postgresql"])
def processes(request, tmp_path, akamai_emulator):
    with task_database(request.param, tmp_path) as db_env:
        procs = Processes({**db_env, **emulator_env(akamai_emulator)})
        procs.step("setup")
        yield procs


@pytest.mark.slow
def test_wagtail_purge_task_runs_in_db_worker(processes, akamai_emulator):
    processes.step("publish", "about")
    assert processes.task_counts() == {f"{WAGTAIL_TASK}:READY": 1}
    assert akamai_emulator.purges == []  # the publish only enqueued the task
    processes.db_worker_batch()
    assert processes.task_counts() == {f"{WAGTAIL_TASK}:SUCCESSFUL": 1}
    [purge] = akamai_emulator.purges
    assert list(purge.objects) == ["https://www.example.com/about/"]
