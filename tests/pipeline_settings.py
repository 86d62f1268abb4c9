"""Settings of the processes the pipeline tests start: a site that records purge intents,
``akamai_worker``, a Celery worker delivering them. They share one database on disk (SQLite
file or PostgreSQL), named by the environment, as a site and its workers would; the emulator's
address, its credentials and the broker come from the environment as in worker_settings.
"""

import os

from tests.process_database import shared_database
from tests.worker_settings import *  # noqa: F403

_env = os.environ

_pg_name = _env.get("AKAMAI_TEST_PG_NAME")
DATABASES = shared_database(_pg_name or _env["AKAMAI_TEST_DB"], postgresql=bool(_pg_name))
AKAMAI_HISTORY = True  # the tables exist: record as a site would
AKAMAI_DELIVERY = _env.get("AKAMAI_TEST_DELIVERY", "background")
AKAMAI_PURGE_MODELS = ["testapp.Article"]
AKAMAI_RETRY_DEADLINE = float(_env.get("AKAMAI_TEST_RETRY_DEADLINE", "5"))
AKAMAI_DELIVERY_RETRY_BACKOFF = float(_env.get("AKAMAI_TEST_DELIVERY_BACKOFF", "0.2"))
AKAMAI_DELIVERY_RETRY_BACKOFF_MAX = 1.0
AKAMAI_CELERY_QUEUE = _env.get("AKAMAI_TEST_CELERY_QUEUE") or None
# The fault and concurrency tests (tests/test_pipeline_faults.py, test_pipeline_concurrency.py)
# drive the delivery's timers: a short lease, so a killed deliverer is taken over quickly.
for _name, _setting in (
    ("AKAMAI_TEST_LEASE_SECONDS", "AKAMAI_DELIVERY_LEASE_SECONDS"),
    ("AKAMAI_TEST_DELIVERY_DELAY", "AKAMAI_DELIVERY_DELAY"),
    ("AKAMAI_TEST_EXIT_WAIT", "AKAMAI_DELIVERY_EXIT_WAIT"),
):
    if _name in _env:
        globals()[_setting] = float(_env[_name])
