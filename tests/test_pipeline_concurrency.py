"""Four deliverer processes at once, on SQLite, PostgreSQL and MariaDB: never the same intent
sent twice, never past Akamai's buckets.

A backlog of 12,000 intents (more than the URL bucket holds, so pacing matters) and a site
committing 200 more saves while four ``manage.py akamai_worker`` processes run against one
account of the emulator (Akamai's buckets, time scale 50). Counts at the emulator: every URL
accepted exactly once (a second copy would mean two deliverers sent it), no 429. The
PostgreSQL and MariaDB databases are this run's own (pid and a uuid in their names); without
the server the test is skipped, and fails when AKAMAI_TEST_REQUIRE_BROKER=1.
"""

from collections import Counter

import pytest

from django_akamai.emulator import Emulator
from tests.pipeline_processes import (
    Pipeline,
    SharedDatabase,
    migrate,
    require_database,
    wait_for,
)

pytestmark = pytest.mark.slow

BACKLOG = 12_000
SAVES = 200
DELIVERERS = 4


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "mariadb"])
def template_db(request, tmp_path_factory):
    require_database(request.param)
    db = SharedDatabase(request.param, tmp_path_factory.mktemp(f"concurrency-{request.param}"))
    try:
        with Emulator(port=0) as emu:  # only for the settings' credentials
            migrate(db.settings, emu)
        yield db
    finally:
        db.drop()


@pytest.fixture
def emulator():
    with Emulator(port=0, rate_limits="akamai", time_scale=50) as emu:
        yield emu


@pytest.fixture
def pipeline(template_db, emulator, tmp_path):
    db = template_db.copy_to(tmp_path)
    pipe = Pipeline(db, emulator, tmp_path)
    try:
        yield pipe
    finally:
        pipe.close()
        db.drop()


def test_four_deliverers_send_each_intent_once_inside_the_buckets(pipeline, emulator):
    backlog = pipeline.site("bulk", str(BACKLOG))
    assert pipeline.intents() == {"pending": BACKLOG}
    workers = [pipeline.worker("--interval", "0.2") for _ in range(DELIVERERS)]
    saved = pipeline.site("saves", str(SAVES))  # committed while the deliverers run
    urls = backlog + saved
    wait_for(lambda: pipeline.delivered(urls), what="four deliverers to deliver everything")
    assert [pipeline.stop(worker) for worker in workers] == [0] * DELIVERERS
    received = Counter(emulator.accepted_objects())
    assert set(received) == set(urls)
    assert [url for url, times in received.items() if times > 1] == []
    assert emulator.counters["rate_limited"] == 0
    assert pipeline.intents() == {}
