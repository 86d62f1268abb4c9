"""Inline delivery (an in-memory SQLite database: the committing thread delivers) reports
what it could not do as the background thread does (issue 21, finding 13).

The test database is in-memory SQLite, so a purge recorded in a transaction is delivered
inline right after the commit. With no credentials configured, that delivery cannot send: the
intent stays pending, and the error is logged, as the background thread logs it.
"""

from __future__ import annotations

import logging

import pytest
from django.db import transaction

from django_akamai.delivery import modes as delivery
from django_akamai.models import PurgeIntent
from django_akamai.signals import purge_request

URL = "https://www.example.com/inline/"


def stay_pending(records):
    return [
        (r.levelno, r.getMessage())
        for r in records
        if r.name == "django_akamai" and "stay pending" in r.getMessage()
    ]


@pytest.mark.django_db
def test_inline_delivery_logs_a_configuration_error(
    settings, akamai_logs, django_capture_on_commit_callbacks
):
    settings.AKAMAI_DELIVERY = "background"
    assert not getattr(settings, "AKAMAI_CCU_HOST", None)  # no credentials anywhere
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        purge_request.send([URL])
    assert list(PurgeIntent.objects.values_list("value", "status")) == [(URL, "pending")]
    [(level, message)] = stay_pending(akamai_logs.records)
    assert level == logging.ERROR and "No Akamai credentials found" in message

    # The background thread's own round over the same intent logs the very same line.
    akamai_logs.clear()
    thread = delivery._Background()
    try:
        thread._run("default", None)  # in this thread: it sees the in-memory database
    finally:
        thread.stop(5)
    assert stay_pending(akamai_logs.records) == [(level, message)]
