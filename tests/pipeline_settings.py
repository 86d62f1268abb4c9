"""Settings of the processes the pipeline tests start: a site that records purge intents,
``akamai_worker``, a Celery worker delivering them. They share one database on disk (SQLite
file or PostgreSQL), named by the environment, as a site and its workers would; the emulator's
address, its credentials and the broker come from the environment as in worker_settings.
"""

import os

from tests.process_database import shared_database, use_pymysql
from tests.worker_settings import *  # noqa: F403

_env = os.environ

if _env.get("AKAMAI_TEST_PG_NAME"):
    DATABASES = shared_database(_env["AKAMAI_TEST_PG_NAME"], vendor="postgresql")
elif _env.get("AKAMAI_TEST_MARIADB_NAME"):
    use_pymysql()
    DATABASES = shared_database(_env["AKAMAI_TEST_MARIADB_NAME"], vendor="mariadb")
else:
    DATABASES = shared_database(_env["AKAMAI_TEST_DB"], vendor="sqlite")
# The tables exist: record as a site would (a test may turn it off).
AKAMAI_HISTORY = _env.get("AKAMAI_TEST_HISTORY", "1") == "1"
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
    ("AKAMAI_TEST_SWEEP_SECONDS", "AKAMAI_DELIVERY_SWEEP_SECONDS"),
):
    if _name in _env:
        globals()[_setting] = float(_env[_name])

if _env.get("AKAMAI_TEST_CLOCK_SKEW"):
    # This process's clock is off by that many seconds (a host whose clock drifted): what
    # it judges by its own clock would be wrong; the intent table's times are the database's.
    import datetime as _datetime

    from django.utils import timezone as _timezone

    _skew = _datetime.timedelta(seconds=float(_env["AKAMAI_TEST_CLOCK_SKEW"]))
    _true_now = _timezone.now
    _timezone.now = lambda: _true_now() + _skew
