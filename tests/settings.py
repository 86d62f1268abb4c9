"""Settings for the test suite; the emulator fixtures point the AKAMAI_* settings at it.

The databases are SQLite in memory, or PostgreSQL or MariaDB when ``AKAMAI_TEST_DATABASE``
says so (``tests.process_database``): databases of this run's own, made and dropped by
pytest-django.
"""

import os

from tests.process_database import database, selected_vendor, use_pymysql

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_akamai",
    "tests.testapp",
]
DATABASE_VENDOR = selected_vendor()
if DATABASE_VENDOR == "sqlite":
    # No statement cache: the live server's request threads share the in-memory database's
    # connection with the test, and Python 3.10's sqlite3 cache is not thread-safe (a
    # KeyError on every later statement once two threads raced on it).
    _SQLITE = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
    DATABASES = {
        "default": {**_SQLITE, "OPTIONS": {"cached_statements": 0}},
        "other": {**_SQLITE, "OPTIONS": {"cached_statements": 0}},
    }
else:
    use_pymysql()
    # Unique per run: two test runs at once never share a database.
    _name = f"akamai_test_{os.getpid()}"
    DATABASES = {
        "default": database(DATABASE_VENDOR, _name),
        "other": database(DATABASE_VENDOR, f"{_name}_other"),
    }
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_akamai.cache_tags.CacheTagMiddleware",
]
ROOT_URLCONF = "tests.urls"
# The browser tests' live server serves the admin's CSS from here (staticfiles).
STATIC_URL = "/static/"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [__import__("pathlib").Path(__file__).parent / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
AKAMAI_BASE_URL = "https://www.example.com"
# Short waits so retry paths run quickly against the emulator's faults.
AKAMAI_RETRY_BACKOFF = 0.01
AKAMAI_RETRY_BACKOFF_MAX = 0.2
AKAMAI_READ_TIMEOUT = 2.0
AKAMAI_CONNECT_TIMEOUT = 2.0
