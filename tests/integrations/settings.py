"""The test settings plus Wagtail, its frontend cache with our backend, and django-tasks."""

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS, MIDDLEWARE

INSTALLED_APPS = [
    *INSTALLED_APPS,
    "wagtail.contrib.frontend_cache",
    "wagtail.contrib.redirects",
    # The Wagtail admin, for django-akamai's admin views (tests/integrations/test_wagtail_admin.py).
    "wagtail.admin",
    "wagtail.users",
    "wagtail.sites",
    "wagtail.documents",
    "wagtail.images",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_tasks",
    "django_tasks_db",
    "django_akamai.contrib.wagtail",
    "tests.integrations",
]
MIDDLEWARE = [*MIDDLEWARE]
ROOT_URLCONF = "tests.integrations.urls"
ALLOWED_HOSTS = ["*"]
WAGTAIL_SITE_NAME = "django-akamai tests"
WAGTAILADMIN_BASE_URL = "https://www.example.com"
WAGTAILFRONTENDCACHE = {
    "akamai": {"BACKEND": "django_akamai.contrib.wagtail.AkamaiBackend", "ACTION": "invalidate"}
}
# Wagtail's purge task runs in the committing process unless a test says otherwise.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
