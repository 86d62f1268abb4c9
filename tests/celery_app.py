"""The test worker's Celery app, laid out as in Celery's "First steps with Django" guide.

It names nothing of django_akamai: ``autodiscover_tasks()`` must find ``django_akamai.tasks``
through ``INSTALLED_APPS``, as it would in a user's project.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.worker_settings")

app = Celery("akamai_tests")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
