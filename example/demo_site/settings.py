"""A small site behind Akamai. The demo points the AKAMAI_* settings at the emulator."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "example-only-not-secret"
DEBUG = True
ALLOWED_HOSTS = ["*"]
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django_akamai",
    "blog",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Edge-Cache-Tag on the responses of views that call add_cache_tags().
    "django_akamai.cache_tags.CacheTagMiddleware",
]
ROOT_URLCONF = "demo_site.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
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
# The demo keeps nothing: an in-memory database, migrated at start.
# make demo runs in memory; DEMO_DATABASE (a file) is for trying the admin by hand, with the
# emulator's .edgerc and automatic purging of posts (the end of make demo says how).
DEMO_DATABASE = os.environ.get("DEMO_DATABASE")
DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": DEMO_DATABASE or ":memory:"}
}
if DEMO_DATABASE:
    AKAMAI_EDGERC_FILENAME = str(BASE_DIR / ".edgerc")
    AKAMAI_PURGE_MODELS = {"blog.Post": {"urls": ["/posts/"]}}

# The public site whose pages Akamai caches; get_absolute_url() paths are joined to it.
AKAMAI_BASE_URL = "https://www.example.com"
AKAMAI_PURGE_OPTIONS = {"action": "invalidate"}

# Queued purges run in-process in the demo (no broker needed); a real site runs a worker.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The demo gets the emulator's credentials when it starts it, not from these settings.
SILENCED_SYSTEM_CHECKS = ["django_akamai.W001"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django_akamai": {"handlers": ["console"], "level": "INFO"}},
}
