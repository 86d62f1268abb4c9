"""Settings of the processes the db_worker tests start: a site process and ``db_worker``.

The integration settings, on the database the test process names in the environment (an
SQLite file or a PostgreSQL database of this run's own), with django-tasks-db as the task
backend and the emulator's address and credentials. Tables are created without migrations
(``migrate --run-syncdb``), as the in-process tests do, so that Wagtail's hundred migrations
do not run for every database.
"""

import os

from tests.integrations.settings import *  # noqa: F403
from tests.process_database import shared_database

_env = os.environ

DATABASES = shared_database(
    _env["AKAMAI_TEST_DB_NAME"], postgresql=_env["AKAMAI_TEST_DB_ENGINE"] == "postgresql"
)


class _NoMigrations(dict):
    """Every app is "unmigrated": ``migrate --run-syncdb`` creates its tables directly."""

    def __contains__(self, item):
        return True

    def __getitem__(self, item):
        return None


MIGRATION_MODULES = _NoMigrations()

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

AKAMAI_CCU_HOST = _env["AKAMAI_TEST_CCU_HOST"]
AKAMAI_CCU_CLIENT_TOKEN = _env["AKAMAI_TEST_CCU_CLIENT_TOKEN"]
AKAMAI_CCU_CLIENT_SECRET = _env["AKAMAI_TEST_CCU_CLIENT_SECRET"]
AKAMAI_CCU_ACCESS_TOKEN = _env["AKAMAI_TEST_CCU_ACCESS_TOKEN"]
AKAMAI_CCU_API = "v3"
if "AKAMAI_TEST_DELIVERY" in _env:
    AKAMAI_DELIVERY = _env["AKAMAI_TEST_DELIVERY"]
