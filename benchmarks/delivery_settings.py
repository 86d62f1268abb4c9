"""Django settings of ``bench_delivery.py``'s processes (the driver, deliverers and savers).

Everything that differs between runs comes from the environment the driver sets: the
database (``BENCH_DB``, JSON), the emulator's address and credentials, ``AKAMAI_DELIVERY`` and
whether ``benchapp.Item`` is purged automatically. A child process cannot see the driver's
settings, so the environment is the one way in.
"""

import json
import os

_env = os.environ

SECRET_KEY = "bench-delivery"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django_akamai",
    "benchapp",
]
DATABASES = {"default": json.loads(_env.get("BENCH_DB", '{"ENGINE": "django.db.backends.dummy"}'))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    # MariaDB through PyMySQL (the test extra), standing in for mysqlclient, which needs a
    # compiler and the client headers to install.
    import pymysql

    pymysql.install_as_MySQLdb()
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

AKAMAI_CCU_API = "v3"
AKAMAI_CCU_HOST = _env.get("BENCH_CCU_HOST", "")
AKAMAI_CCU_CLIENT_TOKEN = _env.get("BENCH_CCU_CLIENT_TOKEN", "")
AKAMAI_CCU_CLIENT_SECRET = _env.get("BENCH_CCU_CLIENT_SECRET", "")
AKAMAI_CCU_ACCESS_TOKEN = _env.get("BENCH_CCU_ACCESS_TOKEN", "")
AKAMAI_BASE_URL = "https://www.example.com"
AKAMAI_DELIVERY = _env.get("BENCH_DELIVERY", "worker")
AKAMAI_PURGE_MODELS = ["benchapp.Item"] if _env.get("BENCH_AUTOPURGE") == "1" else []
AKAMAI_DELIVERY_EXIT_WAIT = float(_env.get("BENCH_EXIT_WAIT", "10"))
AKAMAI_RETRY_BACKOFF = float(_env.get("BENCH_RETRY_BACKOFF", "0.5"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    # Retries and backed-off intents are logged at WARNING by design; the bench counts them.
    "loggers": {"django_akamai": {"handlers": ["stderr"], "level": "ERROR"}},
}
