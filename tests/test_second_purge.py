"""The second purge against races (AKAMAI_SECOND_PURGE_SECONDS): delayed purge intents,
delivered by the same deliverer, coalesced with whatever else is due, over real HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from django_akamai import funnel
from django_akamai.delivery.worker import deliver_pending
from django_akamai.models import PurgeIntent

pytestmark = pytest.mark.django_db(transaction=True)

A, B = "https://www.example.com/a", "https://www.example.com/b"


@pytest.fixture
def second(settings, akamai_emulator):
    settings.AKAMAI_SECOND_PURGE_SECONDS = 30
    settings.AKAMAI_DELIVERY = "worker"  # the test delivers, nothing behind its back
    return akamai_emulator


def fall_due(*values: str) -> None:
    """Time passes: the delayed intents of ``values`` are due now."""
    PurgeIntent.objects.filter(value__in=values).update(next_attempt_at=timezone.now())


def test_a_recorded_purge_is_recorded_again_due_later(second):
    with transaction.atomic():
        funnel.request_purge([A])
        funnel.request_purge([A])  # the same page saved twice: still one of each
    rows = list(PurgeIntent.objects.order_by("next_attempt_at"))
    assert [row.value for row in rows] == [A, A]
    assert rows[0].key != rows[1].key
    # Due 30 s after the latest save (the second pushed the one delayed intent later).
    assert rows[1].next_attempt_at - rows[0].next_attempt_at > timedelta(seconds=30)

    report = deliver_pending("default")
    assert (report.accepted, report.requests) == (1, 1)
    assert PurgeIntent.objects.filter(status="pending").count() == 1  # the second, not due
    assert report.next_attempt_at == rows[1].next_attempt_at


def test_the_second_purge_goes_out_with_whatever_else_is_due(second, settings):
    with transaction.atomic():
        funnel.request_purge([A])
    deliver_pending("default")
    settings.AKAMAI_SECOND_PURGE_SECONDS = None
    with transaction.atomic():
        funnel.request_purge([B])
    fall_due(A)

    report = deliver_pending("default")
    assert (report.accepted, report.requests) == (2, 1)  # coalesced: one request
    assert [list(p.objects) for p in second.purges] == [[A], [A, B]]
    assert PurgeIntent.objects.count() == 0


def test_an_immediate_purge_is_not_swallowed_by_a_delayed_one(second):
    with transaction.atomic():
        funnel.request_purge([A])
    deliver_pending("default")  # the first went out; its second is pending, due later
    with transaction.atomic():
        funnel.request_purge([A])  # changed again: must go out now, not in 30 s

    report = deliver_pending("default")
    assert report.accepted == 1
    assert len(second.purges) == 2


def test_suspend_purges_records_its_second_purge(second):
    with funnel.suspend_purges():
        funnel.request_purge([A])
    assert PurgeIntent.objects.filter(value=A).count() == 2


def test_off_by_default(settings, akamai_emulator):
    settings.AKAMAI_DELIVERY = "worker"
    with transaction.atomic():
        funnel.request_purge([A])
    assert PurgeIntent.objects.count() == 1
