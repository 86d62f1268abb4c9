"""Operators' view of the pipeline: the purge intents admin (list, filter, retry, discard,
permission-guarded), ``akamai_worker --status`` and the system checks on intents."""

import io
from datetime import timedelta

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.utils import timezone

from django_akamai.delivery.worker import deliver_pending
from django_akamai.models import PurgeIntent
from django_akamai.signals import purge_request
from tests.test_admin import messages_of, staff

pytestmark = pytest.mark.django_db(transaction=True)

BASE = "https://www.example.com"
INTENTS_URL = "/admin/django_akamai/purgeintent/"
BAD = "https://elsewhere.example.org/not-ours"


@pytest.fixture
def refused(akamai_emulator, settings):
    """One delivered URL and one Akamai refused (kept as failed), one still pending."""
    settings.AKAMAI_DELIVERY = "worker"
    akamai_emulator.configure(allowed_hosts=["www.example.com"])
    with transaction.atomic():
        purge_request.send(["/ok", BAD])
    deliver_pending()
    with transaction.atomic():
        purge_request.send("/waiting")
    return akamai_emulator


@pytest.fixture
def purger():
    client = Client()
    client.force_login(staff("purger", "purge_cache"))
    return client


def test_the_list_shows_failed_intents_with_akamais_reason_and_filters(refused, purger):
    page = purger.get(INTENTS_URL).content.decode()
    assert BAD in page and "unauthorized arl" in page and f"{BASE}/waiting" in page
    failed_only = purger.get(INTENTS_URL, {"status__exact": "failed"}).content.decode()
    assert BAD in failed_only and f"{BASE}/waiting" not in failed_only


def test_retry_sends_a_failed_intent_again_once_the_cause_is_fixed(refused, purger):
    refused.configure(allowed_hosts=None)  # e.g. the host was added to the API client
    failed = PurgeIntent.objects.get(status="failed")
    response = purger.post(
        INTENTS_URL, {"action": "retry_intents", "_selected_action": [failed.pk]}, follow=True
    )
    assert any("1 failed intent(s) will be delivered again" in m for m in messages_of(response))
    assert PurgeIntent.objects.get(value=BAD).status == "pending"
    assert deliver_pending().accepted == 2  # the retried one and the one waiting
    assert BAD in refused.accepted_objects()


def test_discard_deletes_failed_intents_only(refused, purger):
    ids = list(PurgeIntent.objects.values_list("pk", flat=True))
    response = purger.post(
        INTENTS_URL, {"action": "discard_intents", "_selected_action": ids}, follow=True
    )
    assert any("1 failed intent(s) discarded. 1 skipped" in m for m in messages_of(response))
    assert list(PurgeIntent.objects.values_list("value", flat=True)) == [f"{BASE}/waiting"]


def test_staff_without_the_permission_can_neither_see_nor_act(refused):
    editor = Client()
    editor.force_login(staff("editor"))
    assert editor.get(INTENTS_URL).status_code == 403
    failed = PurgeIntent.objects.get(status="failed")
    editor.post(INTENTS_URL, {"action": "discard_intents", "_selected_action": [failed.pk]})
    assert PurgeIntent.objects.filter(pk=failed.pk).exists()


def test_intents_cannot_be_added_or_edited(refused, purger):
    assert purger.get(INTENTS_URL + "add/").status_code == 403
    failed = PurgeIntent.objects.get(status="failed")
    page = purger.get(f"{INTENTS_URL}{failed.pk}/change/").content.decode()
    assert "unauthorized arl" in page and 'name="_save"' not in page


def test_status_prints_the_counts_and_the_oldest_age(refused):
    PurgeIntent.objects.filter(status="pending").update(
        created_at=timezone.now() - timedelta(seconds=90)
    )
    out = io.StringIO()
    call_command("akamai_worker", "--status", "--database", "default", stdout=out)
    line = out.getvalue().strip()
    assert line.startswith("default: pending 1, being delivered 0, failed 1, oldest waiting 9")


def test_deploy_checks_warn_about_stale_and_failed_intents(refused):
    ids = {m.id for m in run_checks(include_deployment_checks=True)}
    assert "django_akamai.W006" in ids and "django_akamai.W005" not in ids
    PurgeIntent.objects.filter(status="pending").update(
        created_at=timezone.now() - timedelta(hours=1)
    )
    [stale] = [m for m in run_checks(include_deployment_checks=True) if m.id.endswith("W005")]
    assert "the oldest for 60 minutes" in stale.msg and "akamai_worker" in stale.hint
    assert "django_akamai.W005" not in {m.id for m in run_checks()}  # --deploy only


@pytest.mark.parametrize("value", ["threads", None])
def test_an_unknown_delivery_mode_is_an_error(settings, value):
    settings.AKAMAI_DELIVERY = value
    [error] = [m for m in run_checks() if m.id == "django_akamai.E010"]
    assert repr(value) in error.msg
