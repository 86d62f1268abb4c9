"""The intent table with real processes whose clocks disagree, and two accounts on one
database, on the database ``AKAMAI_TEST_DATABASE`` names (``make test`` runs all three).

A site process records with the true clock; a deliverer whose ``timezone.now`` runs ten
minutes behind must still find the intents due, and one ten minutes ahead must not take a
live holder's lease: leases, backoff and "due" are judged by the database's clock. Two
deliverers with different credentials on one database (a site and its staging) each deliver
only the intents recorded for their own account. Counts only.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections import Counter

import pytest

from django_akamai.emulator import Emulator
from tests.pipeline_processes import (
    PATIENCE,
    ROOT,
    Pipeline,
    wait_for,
)

pytestmark = pytest.mark.slow

TEN_MINUTES = 600


def django_snippet(pipeline: Pipeline, code: str, emu=None, **env: str) -> dict:
    """Run ``code`` in a process with the pipeline's settings (against ``emu``); the JSON
    it prints last."""
    program = "import django, json\ndjango.setup()\n" + textwrap.dedent(code)
    environment = Pipeline(pipeline.db, emu or pipeline.emu, pipeline.log_dir).env(**env)
    done = subprocess.run(
        [sys.executable, "-c", program],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=PATIENCE,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


DELIVER_ONCE = """
from django_akamai.delivery.worker import deliver_pending
report = deliver_pending()
print(json.dumps({"busy": report.busy, "accepted": report.accepted}))
"""


def test_a_deliverer_ten_minutes_behind_delivers_fresh_intents(pipeline, emulator):
    worker = pipeline.worker(AKAMAI_TEST_CLOCK_SKEW=str(-TEN_MINUTES))
    urls = pipeline.site("saves", "20")
    wait_for(lambda: pipeline.delivered(urls), what="the late-clocked worker to deliver")
    assert pipeline.stop(worker) == 0
    assert Counter(emulator.accepted_objects()) == Counter(urls)


def test_a_deliverer_ten_minutes_ahead_leaves_a_live_lease_alone(pipeline, emulator):
    urls = pipeline.site("saves", "20")
    # A live holder (its clock true) has the account's lease for two minutes.
    taken = django_snippet(
        pipeline,
        """
        from django_akamai.delivery.lease import Lease, default_account
        lease = Lease(default_account(), using="default", holder="live", seconds=120)
        print(json.dumps({"taken": lease.acquire()}))
        """,
    )
    assert taken == {"taken": True}
    ahead = django_snippet(pipeline, DELIVER_ONCE, AKAMAI_TEST_CLOCK_SKEW=str(TEN_MINUTES))
    assert ahead == {"busy": True, "accepted": 0}
    assert emulator.counters["requests"] == 0
    assert pipeline.intents() == {"pending": len(urls)}


def test_two_accounts_on_one_database_never_cross(pipeline, emulator):
    with Emulator(port=0) as staging:
        site_urls = pipeline.site("saves", "30")
        (pipeline.log_dir / "staging").mkdir()
        staging_env = Pipeline(pipeline.db, staging, pipeline.log_dir / "staging")
        staging_urls = staging_env.site("saves", "30", "--start", "100")
        # Both deliverers at once, each with its own credentials.
        workers = [pipeline.worker(), staging_env.worker()]
        pipeline.workers.append(workers[1])
        wait_for(
            lambda: (
                set(site_urls) <= set(emulator.accepted_objects())
                and set(staging_urls) <= set(staging.accepted_objects())
                and not pipeline.intents()
            ),
            what="each account's deliverer to deliver its own",
        )
        assert [pipeline.stop(worker) for worker in workers] == [0, 0]
        assert Counter(emulator.accepted_objects()) == Counter(site_urls)
        assert Counter(staging.accepted_objects()) == Counter(staging_urls)
