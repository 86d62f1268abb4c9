"""Faults around the purge pipeline, each with real processes: a site that commits saves
(``tests.pipeline_site``), a deliverer (``manage.py akamai_worker``), the emulator over real
HTTP, an SQLite file they all share. Each test: every accepted object delivered at least
once, a refused one kept and named, nothing lost. Counts only; the waits are bounded
generously (``pipeline_processes.PATIENCE``) and time is driven by short delivery timers
(``tests.pipeline_settings``) and the emulator's knobs.
"""

import json
import signal
import socket
import subprocess
import sys

import pytest

from django_akamai.emulator import Emulator
from tests import brokers
from tests.pipeline_processes import (
    ROOT,
    _pg_admin,
    wait_for,
)

pytestmark = pytest.mark.slow


def test_akamai_unreachable_during_300_saves_then_back(pipeline, emulator):
    port, credentials = emulator.port, emulator.credentials
    emulator.stop()  # connection refused from now on
    worker = pipeline.worker()
    urls = pipeline.site("saves", "300")
    assert len(set(urls)) == 300
    # The worker met the outage: the intents are backed off in the table, none lost.
    wait_for(
        lambda: (
            pipeline.db.query("SELECT COUNT(*) FROM django_akamai_purgeintent WHERE attempts > 0")[
                0
            ][0]
            == 300
        ),
        what="the worker to back the intents off",
    )
    assert pipeline.intents()["failed"] == 0
    with Emulator(
        port=port,
        client_token=credentials.client_token,
        client_secret=credentials.client_secret,
        access_token=credentials.access_token,
    ) as back:
        wait_for(lambda: pipeline.delivered(urls, back), what="delivery once Akamai is back")
        assert set(back.accepted_objects()) == set(urls)
    assert pipeline.intents() == {}
    assert pipeline.stop(worker) == 0


def test_a_deliverer_killed_mid_request_is_taken_over(pipeline, emulator):
    # Every answer hangs (and is then not accepted), so the first deliverer is mid-request.
    emulator.configure(slow_rate=1.0, slow_seconds=60)
    urls = [f"https://www.example.com/killed/{i}" for i in range(100)]
    pipeline.site("urls", *urls)
    first = pipeline.worker(AKAMAI_TEST_LEASE_SECONDS="1", AKAMAI_TEST_READ_TIMEOUT="60")
    wait_for(lambda: emulator.counters["slowed"] >= 1, what="a request in flight")
    assert pipeline.intents()["claimed"] == 100
    first.kill()  # SIGKILL: no clean-up, the lease and the claims stay behind
    first.wait()
    emulator.configure(slow_rate=0.0)
    # A second deliverer waits for the dead one's lease to expire, returns its claimed
    # intents to pending and delivers them.
    done = pipeline.burst(AKAMAI_TEST_LEASE_SECONDS="1")
    assert done.returncode == 0, done.stderr
    assert set(urls) <= set(emulator.accepted_objects())
    assert pipeline.intents() == {}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_broker_down_at_commit_then_a_real_worker_delivers(pipeline, emulator, tmp_path):
    broker = brokers.require_broker("redis")
    queue = brokers.unique_queue()
    down = f"redis://127.0.0.1:{_closed_port()}/15"
    celery = {"AKAMAI_TEST_DELIVERY": "celery", "AKAMAI_TEST_CELERY_QUEUE": queue}
    urls = pipeline.site(
        "saves",
        "50",
        AKAMAI_TEST_BROKER_URL=down,
        AKAMAI_TEST_RESULT_BACKEND=down,
        AKAMAI_TEST_EXIT_WAIT="5",
        **celery,
    )
    # Every save committed although no task could be published; the purges wait in the table.
    assert pipeline.intents() == {"pending": 50}
    assert emulator.counters["requests"] == 0
    worker = brokers.Worker(
        broker,
        emulator,
        queue,
        tmp_path / "celery.log",
        DJANGO_SETTINGS_MODULE="tests.pipeline_settings",
        AKAMAI_TEST_DELIVERY="celery",
        **pipeline.db.settings,
    ).start()
    try:
        # The broker is back: the next commit's kick delivers the earlier ones too.
        urls += pipeline.site(
            "saves",
            "1",
            "--start",
            "50",
            AKAMAI_TEST_BROKER_URL=broker.url,
            AKAMAI_TEST_RESULT_BACKEND=broker.result_backend,
            **celery,
        )
        wait_for(lambda: pipeline.delivered(urls), what="the Celery worker's delivery")
    finally:
        worker.stop()
        brokers.delete_queue(broker, queue)
    assert set(emulator.accepted_objects()) == set(urls)
    assert pipeline.intents() == {}


def test_an_earlier_on_commit_hook_raising_loses_nothing(pipeline, emulator):
    # Another app's hook runs first and raises: Django skips the hooks after it, so no kick.
    urls = pipeline.site("saves", "20", "--raising-hook", AKAMAI_TEST_DELIVERY="background")
    assert pipeline.intents() == {"pending": 20}
    assert emulator.counters["requests"] == 0
    done = pipeline.burst()
    assert done.returncode == 0, done.stderr
    assert sorted(emulator.accepted_objects()) == sorted(urls)
    assert pipeline.intents() == {}


def test_one_refused_url_among_100(pipeline, emulator):
    emulator.configure(allowed_hosts=["www.example.com"])
    refused = "https://not-ours.example.org/refused"
    good = [f"https://www.example.com/ok/{i}" for i in range(99)]
    pipeline.site("urls", *good[:50], refused, *good[50:])
    done = pipeline.burst()
    assert done.returncode == 1  # something was refused
    assert refused in done.stderr and "403" in done.stderr
    assert sorted(emulator.accepted_objects()) == sorted(good)
    assert pipeline.intents() == {"failed": 1}
    [(value, status, title, detail)] = pipeline.failed()
    assert (value, status) == (refused, 403)
    assert title and refused in detail


# --- a bound on delivery: no further save anywhere ------------------------------------------
# A web process in background mode that served a request sweeps every
# AKAMAI_DELIVERY_SWEEP_SECONDS (0.2 here): what nobody kicked is still delivered.

SWEEP = {"AKAMAI_TEST_SWEEP_SECONDS": "0.2"}


def test_a_skipped_kick_is_delivered_by_a_sibling_web_process(pipeline, emulator):
    # Another app's on-commit hook raised first: Django skipped ours, so nothing was kicked.
    urls = pipeline.site("saves", "20", "--raising-hook", AKAMAI_TEST_DELIVERY="background")
    assert pipeline.intents() == {"pending": 20}
    pipeline.serve(**SWEEP)
    wait_for(lambda: pipeline.intents() == {}, what="the sweep to deliver")
    assert sorted(emulator.accepted_objects()) == sorted(urls)


def test_a_web_process_killed_in_its_gathering_window_is_covered_by_a_sibling(pipeline, emulator):
    # The committing process gathers for 60 s before it delivers, and is killed meanwhile.
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.pipeline_site", "saves", "50", "--then-wait"],
        cwd=ROOT,
        env=pipeline.env(AKAMAI_TEST_DELIVERY="background", AKAMAI_TEST_DELIVERY_DELAY="60"),
        stdout=subprocess.PIPE,
        text=True,
    )
    urls = json.loads(process.stdout.readline())
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert pipeline.intents() == {"pending": 50}
    assert emulator.counters["requests"] == 0
    pipeline.serve(**SWEEP)
    wait_for(lambda: pipeline.intents() == {}, what="the sweep to deliver")
    assert sorted(emulator.accepted_objects()) == sorted(urls)


def test_fixed_credentials_and_a_restart_deliver_at_once(pipeline, emulator):
    urls = pipeline.site("saves", "10", AKAMAI_TEST_DELIVERY="worker")
    wrong = pipeline.serve(AKAMAI_TEST_CCU_CLIENT_TOKEN="akab-wrong-client-token", **SWEEP)
    # The gateway refuses the client token (400 "Invalid client token"): a setup problem,
    # so the intents stay pending, unblamed, not backed off.
    wait_for(
        lambda: (
            pipeline.db.query(
                "SELECT COUNT(*) FROM django_akamai_purgeintent "
                "WHERE status = 'pending' AND http_status = 400"
            )[0][0]
            == 10
        ),
        what="the refused attempt to be settled",
    )
    assert emulator.accepted_objects() == []
    pipeline.stop(wrong)
    rows = pipeline.db.query("SELECT status, attempts, claimed_by FROM django_akamai_purgeintent")
    assert sorted(set(rows)) == [("pending", 0, "")]
    # The site is restarted with the right credentials: delivered, with no save anywhere.
    pipeline.serve(**SWEEP)
    wait_for(lambda: pipeline.intents() == {}, what="delivery after the restart")
    assert sorted(emulator.accepted_objects()) == sorted(urls)


def test_the_delivery_thread_goes_on_after_a_database_outage_mid_round(pipeline, emulator):
    if pipeline.db.vendor != "postgresql":
        pytest.skip(
            "the outage is PostgreSQL's ALTER DATABASE ... ALLOW_CONNECTIONS; make test runs "
            "this file on PostgreSQL too"
        )
    name = pipeline.db.name
    urls = pipeline.site("saves", "200", AKAMAI_TEST_DELIVERY="worker")
    emulator.configure(latency_ms=1500)  # the round's first request is in flight a while
    serving = pipeline.serve(**SWEEP)
    wait_for(lambda: emulator.counters["requests"] >= 1, what="the round's first request")
    # The database goes away under the round: its connections are cut and no new one is
    # accepted, so the round can neither settle, nor return its claims, nor release its lease.
    _pg_admin(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
    try:
        _pg_admin(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        )
        log = pipeline.log_dir / "serve-0.log"
        wait_for(lambda: "they stay pending" in log.read_text(), what="the round to fail")
    finally:
        _pg_admin(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
    emulator.configure(latency_ms=0)
    # The same process (one holder for its life) takes its own lease again and returns the
    # broken round's claims; what is saved afterwards goes out too, with no lease to expire.
    urls += pipeline.site("saves", "20", "--start", "200", AKAMAI_TEST_DELIVERY="worker")
    wait_for(lambda: pipeline.intents() == {}, what="delivery after the outage")
    assert set(emulator.accepted_objects()) == set(urls)
    assert serving.poll() is None  # the web process lived through it
