"""Each AKAMAI_DELIVERY mode with real processes sharing a database on disk, as a site and its
deliverers do: a short-lived site process saving with automatic purging, ``akamai_worker``
until SIGTERM, and a real Celery worker on a real broker. Counts at the emulator only.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.brokers import Worker, delete_queue, require_broker, unique_queue, wait_for
from tests.reference import greedy_minimum

ROOT = Path(__file__).resolve().parent.parent
BASE = "https://www.example.com"
SAVES = 100
URLS = [f"{BASE}/articles/a{i}-{'z' * (i % 20)}/" for i in range(SAVES)]

# A site process: each save its own transaction (autocommit), then the process exits.
SAVE_ARTICLES = f"""
from tests.testapp.models import Article
for i in range({SAVES}):
    Article.objects.create(slug=f"a{{i}}-{{'z' * (i % 20)}}")
"""


def environment(emu, db: Path, delivery: str, **extra: str) -> dict[str, str]:
    creds = emu.credentials
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "tests.pipeline_settings",
        "AKAMAI_TEST_DB": str(db),
        "AKAMAI_TEST_DELIVERY": delivery,
        "AKAMAI_TEST_BROKER_URL": "memory://",
        "AKAMAI_TEST_RESULT_BACKEND": "cache+memory://",
        "AKAMAI_TEST_CCU_HOST": emu.base_url,
        "AKAMAI_TEST_CCU_CLIENT_TOKEN": creds.client_token,
        "AKAMAI_TEST_CCU_CLIENT_SECRET": creds.client_secret,
        "AKAMAI_TEST_CCU_ACCESS_TOKEN": creds.access_token,
        **extra,
    }


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    program = "import django\ndjango.setup()\n" + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", program],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def rows(db: Path, table: str) -> int:
    with sqlite3.connect(db) as connection:
        return connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@pytest.fixture(scope="module")
def migrated(tmp_path_factory, akamai_emulator_server):
    """A migrated database file, copied for each test."""
    path = tmp_path_factory.mktemp("pipeline-db") / "template.sqlite3"
    env = environment(akamai_emulator_server, path, "worker")
    done = subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--run-syncdb", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return path


@pytest.fixture
def db(migrated, tmp_path):
    path = tmp_path / "site.sqlite3"
    shutil.copy(migrated, path)
    return path


def test_background_a_short_lived_process_delivers_before_it_exits(emu, db):
    done = run_python(SAVE_ARTICLES, environment(emu, db, "background"))
    assert done.returncode == 0, done.stderr
    # Every save's purge is accepted by the time the process has exited; none is left.
    assert sorted(emu.accepted_objects()) == sorted(URLS)
    assert rows(db, "django_akamai_purgeintent") == 0
    # Each request is in the purge history, written by the delivering thread.
    assert rows(db, "django_akamai_purgerecord") == emu.counters["requests"]


def test_worker_mode_sends_nothing_from_the_site_and_akamai_worker_packs_it_all(emu, db):
    done = run_python(SAVE_ARTICLES, environment(emu, db, "worker"))
    assert done.returncode == 0, done.stderr
    assert emu.counters["requests"] == 0
    assert rows(db, "django_akamai_purgeintent") == SAVES
    worker = subprocess.Popen(
        [sys.executable, "-m", "django", "akamai_worker", "--interval", "0.05"],
        cwd=ROOT,
        env=environment(emu, db, "worker"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: emu.counters["objects_accepted"] == SAVES, timeout=60)
        wait_for(lambda: rows(db, "django_akamai_purgeintent") == 0, timeout=30)
    finally:
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err
    assert "akamai_worker stopped" in out
    # 100 saves in 100 transactions: the fewest requests their bodies fit in, not 100.
    assert emu.counters["requests"] == greedy_minimum(URLS)
    assert sorted(emu.accepted_objects()) == sorted(URLS)


def test_burst_in_its_own_process_exits_0_then_1_for_a_refusal(emu, db):
    env = environment(emu, db, "worker")
    run = [sys.executable, "-m", "django", "akamai_worker", "--burst"]
    assert run_python(SAVE_ARTICLES, env).returncode == 0
    done = subprocess.run(run, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert emu.counters["requests"] == greedy_minimum(URLS)
    emu.configure(allowed_hosts=["www.example.com"])
    record = "from django_akamai.signals import purge_request\n"
    record += "from django.db import transaction\n"
    record += "with transaction.atomic():\n"
    record += "    purge_request.send(['/fine/', 'https://elsewhere.example.org/x'])\n"
    assert run_python(record, env).returncode == 0
    done = subprocess.run(run, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "https://elsewhere.example.org/x refused, HTTP 403" in done.stderr
    assert f"{BASE}/fine/" in emu.accepted_objects()


@pytest.mark.broker
@pytest.mark.parametrize("broker_name", ["redis", "rabbitmq"])
def test_celery_mode_a_real_worker_delivers(emu, db, tmp_path, broker_name):
    broker = require_broker(broker_name)
    queue = unique_queue()
    shared = {
        "DJANGO_SETTINGS_MODULE": "tests.pipeline_settings",
        "AKAMAI_TEST_DB": str(db),
        "AKAMAI_TEST_DELIVERY": "celery",
        "AKAMAI_TEST_CELERY_QUEUE": queue,
    }
    worker = Worker(broker, emu, queue, tmp_path / "worker.log", **shared).start()
    try:
        env = environment(
            emu,
            db,
            "celery",
            AKAMAI_TEST_BROKER_URL=broker.url,
            AKAMAI_TEST_RESULT_BACKEND=broker.result_backend,
            AKAMAI_TEST_CELERY_QUEUE=queue,
        )
        # The site's Celery app, laid out as a project's (proj/__init__.py imports it).
        done = run_python("import tests.celery_app\n" + SAVE_ARTICLES, env)
        assert done.returncode == 0, done.stderr
        wait_for(lambda: emu.counters["objects_accepted"] >= SAVES, timeout=60)
        wait_for(lambda: rows(db, "django_akamai_purgeintent") == 0, timeout=30)
        assert sorted(emu.accepted_objects()) == sorted(URLS)
        assert "deliver_intents" in worker.log
    finally:
        worker.stop()
        delete_queue(broker, queue)
