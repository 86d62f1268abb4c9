"""Settings of the Celery worker that the broker tests start in a subprocess.

The test settings, plus what the test process passes in environment variables: the emulator's
address and credentials, the broker, and short retry delays. Tasks carry only URLs, so the
worker never needs the test database.
"""

import os

from tests.settings import *  # noqa: F403

_env = os.environ

AKAMAI_CCU_HOST = _env["AKAMAI_TEST_CCU_HOST"]
AKAMAI_CCU_CLIENT_TOKEN = _env["AKAMAI_TEST_CCU_CLIENT_TOKEN"]
AKAMAI_CCU_CLIENT_SECRET = _env["AKAMAI_TEST_CCU_CLIENT_SECRET"]
AKAMAI_CCU_ACCESS_TOKEN = _env["AKAMAI_TEST_CCU_ACCESS_TOKEN"]
AKAMAI_CCU_API = "v3"
AKAMAI_HISTORY = False  # the worker has no tables to record to
AKAMAI_CELERY_RETRY_DELAY = float(_env.get("AKAMAI_TEST_RETRY_DELAY", "0.2"))
AKAMAI_CELERY_MAX_RETRIES = int(_env.get("AKAMAI_TEST_TASK_RETRIES", "3"))
AKAMAI_MAX_RETRIES = int(_env.get("AKAMAI_TEST_CLIENT_RETRIES", "0"))
AKAMAI_READ_TIMEOUT = float(_env.get("AKAMAI_TEST_READ_TIMEOUT", "5"))

CELERY_BROKER_URL = _env["AKAMAI_TEST_BROKER_URL"]
CELERY_RESULT_BACKEND = _env["AKAMAI_TEST_RESULT_BACKEND"]
CELERY_RESULT_EXPIRES = 600  # the tests read results within seconds; leave nothing behind
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# One message at a time: nothing waits unacknowledged in the worker's buffer.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
if "AKAMAI_TEST_VISIBILITY_TIMEOUT" in _env:
    # Redis redelivers an unacknowledged message (its worker died) after this many seconds.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": float(_env["AKAMAI_TEST_VISIBILITY_TIMEOUT"]),
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    }
