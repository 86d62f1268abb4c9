"""The site switches (django_akamai.switches): AKAMAI_PURGE_ENABLED and suspend_purges().

Every door is tried against the emulator: with purging off nothing is recorded, queued or
sent and each skipped purge is one INFO line; inside suspend_purges() everything is
collected and purged once at the end, through the pipeline.
"""

import logging
import subprocess
import sys
import threading
from io import StringIO

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.db import transaction
from django.test import Client

from django_akamai import funnel, suspend_purges
from django_akamai import switches as gate
from django_akamai.delivery import worker as deliver
from django_akamai.models import PurgeIntent, PurgeRecord
from django_akamai.purge import PurgeRequest
from django_akamai.signals import purge_request, queue_purge_request
from django_akamai.tasks import PurgeRequestTask
from tests.testapp.models import Article

pytestmark = pytest.mark.django_db(transaction=True)

BASE = "https://www.example.com"


def url(path):
    return BASE + path


def skipped_lines(caplog):
    """The records of skipped purges; none may carry a traceback."""
    lines = [r for r in caplog.records if "AKAMAI_PURGE_ENABLED = False" in r.getMessage()]
    assert all(r.levelno == logging.INFO and not r.exc_info for r in lines)
    return [r.getMessage() for r in lines]


@pytest.fixture
def off(settings, akamai_logs):
    settings.AKAMAI_PURGE_ENABLED = False
    return akamai_logs


@pytest.fixture
def no_credentials(settings):
    for name in (
        "AKAMAI_CCU_HOST",
        "AKAMAI_CCU_CLIENT_TOKEN",
        "AKAMAI_CCU_CLIENT_SECRET",
        "AKAMAI_CCU_ACCESS_TOKEN",
        "AKAMAI_CCUAPI_USERNAME",
        "AKAMAI_CCUAPI_PASSWORD",
    ):
        setattr(settings, name, None)


def test_purging_is_on_by_default():
    assert gate.purging_enabled()


# --- AKAMAI_PURGE_ENABLED = False -------------------------------------------------------


def test_off_purge_request_sends_nothing_and_says_so_once(akamai_emulator, off):
    with PurgeRequest() as pr:
        pr.add(["/a/", "/b/"])
        assert pr.purge_all() == []
        assert pr.held_by == gate.DISABLED
        assert pr.urls == []
        pr.add("/c/")
        assert pr.purge() is None
    assert akamai_emulator.purges == []
    assert PurgeRecord.objects.count() == 0
    lines = skipped_lines(off)
    assert len(lines) == 2
    assert "2 URL(s)" in lines[0] and url("/a/") in lines[0]


def test_off_purge_request_needs_no_credentials(no_credentials, off):
    pr = PurgeRequest(urls=["/a/"])
    assert pr.purge_all() == []
    assert len(skipped_lines(off)) == 1


def test_on_without_credentials_still_refuses(no_credentials):
    from django_akamai.exceptions import AkamaiConfigurationError

    with pytest.raises(AkamaiConfigurationError):
        PurgeRequest()


def test_off_signals_record_and_send_nothing(akamai_emulator, off, memory_app):
    purge_request.send("/now/")
    queue_purge_request.send("/queued/")
    with transaction.atomic():
        purge_request.send("/in-a-transaction/")
        queue_purge_request.send("/queued-in-a-transaction/")
    assert PurgeIntent.objects.count() == 0
    assert akamai_emulator.purges == []
    assert len(skipped_lines(off)) == 4


def test_off_task_queues_nothing(akamai_emulator, off, memory_app):
    assert PurgeRequestTask.delay("/a/").get() == 0
    with transaction.atomic():
        assert PurgeRequestTask.delay_on_commit("/b/") is None
    with memory_app.connection() as connection:
        assert connection.default_channel.basic_get("celery") is None
    assert PurgeIntent.objects.count() == 0
    assert len(skipped_lines(off)) == 2


def test_off_saves_record_nothing_and_log_no_traceback(no_credentials, off, settings):
    settings.AKAMAI_PURGE_MODELS = ["testapp.Article"]
    article = Article.objects.create(slug="a")
    article.slug = "b"
    article.save()
    article.delete()
    assert PurgeIntent.objects.count() == 0
    assert len(skipped_lines(off)) == 3
    assert not [r for r in off.records if r.levelno >= logging.WARNING or r.exc_info]


def test_off_the_command_sends_nothing_and_exits_zero(akamai_emulator, off):
    out = StringIO()
    call_command("akamai_purge", "/a/", "--tag", "t", stdout=out)
    assert "Purging is off (AKAMAI_PURGE_ENABLED = False): 1 URL(s) not sent." in out.getvalue()
    assert "1 cache tag(s) not sent" in out.getvalue()
    assert akamai_emulator.purges == []


def test_off_the_admin_page_and_action_send_nothing(akamai_emulator, off):
    user = User.objects.create_user("p", password="pw-for-tests", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["purge_cache", "view_article", "change_article"])
    )
    client = Client()
    client.force_login(user)
    response = client.post(
        "/admin/django_akamai/purgepage/",
        {"urls": "/a/", "action": "delete", "network": "production"},
        follow=True,
    )
    assert any("Purging is off" in str(m) for m in response.context["messages"])
    Article.objects.create(slug="x")
    response = client.post(
        "/admin/testapp/article/",
        {"action": "purge_from_akamai", "_selected_action": [a.pk for a in Article.objects.all()]},
        follow=True,
    )
    assert any("Purging is off" in str(m) for m in response.context["messages"])
    assert akamai_emulator.purges == []


def test_off_the_deliverer_leaves_pending_intents_alone(akamai_emulator, off, settings):
    settings.AKAMAI_PURGE_ENABLED = True
    settings.AKAMAI_DELIVERY = "worker"
    funnel.record(funnel.plan("/a/"), using="default")
    settings.AKAMAI_PURGE_ENABLED = False
    report = deliver.deliver_pending("default")
    assert report.accepted == 0 and report.next_attempt_at is None
    assert PurgeIntent.objects.filter(status="pending").count() == 1
    assert akamai_emulator.purges == []


# --- suspend_purges() -------------------------------------------------------------------


def test_importing_the_package_loads_nothing_else():
    code = (
        "import sys, django_akamai; "
        "assert [m for m in sys.modules if m.startswith('django_akamai.')] == [], sys.modules; "
        "from django_akamai import suspend_purges; "
        "assert callable(suspend_purges)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_door_is_collected_and_purged_once_at_the_end(akamai_emulator, settings, memory_app):
    settings.AKAMAI_PURGE_MODELS = ["testapp.Article"]
    with suspend_purges() as held:
        Article.objects.create(slug="saved")
        purge_request.send("/signal/")
        with transaction.atomic():
            purge_request.send("/in-a-transaction/")
        PurgeRequestTask.delay("/task/")
        with PurgeRequest() as pr:
            pr.add(["/direct/", "/signal/"])
            assert pr.purge_all() == [] and pr.held_by == gate.SUSPENDED
        call_command("akamai_purge", "/command/", stdout=StringIO())
        assert akamai_emulator.purges == []
        assert PurgeIntent.objects.count() == 0
        with memory_app.connection() as connection:
            assert connection.default_channel.basic_get("celery") is None
    assert held.count == 6 and not held.collapsed
    [purge] = akamai_emulator.purges  # one request for everything
    assert sorted(purge.objects) == sorted(
        url(p)
        for p in (
            "/articles/saved/",
            "/signal/",
            "/in-a-transaction/",
            "/task/",
            "/direct/",
            "/command/",
        )
    )


def test_blocks_nest_and_only_the_outermost_purges(akamai_emulator):
    with suspend_purges() as outer:
        purge_request.send("/a/")
        with suspend_purges() as inner:
            purge_request.send("/b/")
        assert inner.count == 1 and inner.purged == []
        assert akamai_emulator.purges == []
    assert outer.count == 2
    assert akamai_emulator.accepted_objects() == [url("/a/"), url("/b/")]


def test_other_threads_are_not_suspended(akamai_emulator):
    with suspend_purges():
        thread = threading.Thread(target=purge_request.send, args=("/other-thread/",))
        thread.start()
        thread.join()
        assert akamai_emulator.accepted_objects() == [url("/other-thread/")]
        purge_request.send("/mine/")
        assert len(akamai_emulator.purges) == 1
    assert akamai_emulator.accepted_objects() == [url("/other-thread/"), url("/mine/")]


def test_works_as_a_decorator(akamai_emulator):
    @suspend_purges()
    def bulk(sent_before):
        for n in range(3):
            purge_request.send(f"/{n}/")
        assert len(akamai_emulator.purges) == sent_before

    bulk(0)
    bulk(1)
    assert [len(p.objects) for p in akamai_emulator.purges] == [3, 3]


def test_above_the_threshold_the_cpcodes_are_purged_instead(akamai_emulator, settings):
    settings.AKAMAI_COLLAPSE_THRESHOLD = 3
    settings.AKAMAI_CPCODES = [12345, "67890"]
    with suspend_purges() as held:
        purge_request.send([f"/{n}/" for n in range(4)], action="invalidate")
    assert held.collapsed
    [purge] = akamai_emulator.purges
    assert (purge.type, purge.action, list(purge.objects)) == (
        "cpcode",
        "invalidate",
        [12345, 67890],
    )


def test_at_the_threshold_the_objects_are_purged(akamai_emulator, settings):
    settings.AKAMAI_COLLAPSE_THRESHOLD = 3
    settings.AKAMAI_CPCODES = [12345]
    with suspend_purges() as held:
        purge_request.send(["/1/", "/2/", "/3/", "/1/"])  # 3 distinct objects
    assert not held.collapsed
    assert akamai_emulator.accepted_objects() == [url("/1/"), url("/2/"), url("/3/")]


def test_above_the_threshold_without_cpcodes_warns_and_purges_everything(
    akamai_emulator, settings, akamai_logs
):
    settings.AKAMAI_COLLAPSE_THRESHOLD = 1
    with suspend_purges() as held:
        purge_request.send(["/1/", "/2/"])
    assert not held.collapsed
    assert akamai_emulator.accepted_objects() == [url("/1/"), url("/2/")]
    [warning] = [r for r in akamai_logs.records if r.levelno == logging.WARNING]
    assert "AKAMAI_CPCODES is not set" in warning.getMessage()


def test_a_block_inside_a_transaction_records_in_it(akamai_emulator):
    with pytest.raises(RuntimeError), transaction.atomic():
        with suspend_purges():
            purge_request.send("/rolled-back/")
        assert PurgeIntent.objects.count() == 1
        raise RuntimeError("roll back")
    assert PurgeIntent.objects.count() == 0
    assert akamai_emulator.purges == []


def test_a_block_that_raises_still_purges_what_it_collected(akamai_emulator):
    with pytest.raises(RuntimeError), suspend_purges():
        purge_request.send("/saved-before-the-error/")
        raise RuntimeError("import failed half way")
    assert akamai_emulator.accepted_objects() == [url("/saved-before-the-error/")]


def test_purging_off_wins_over_suspension(akamai_emulator, off):
    with suspend_purges() as held:
        purge_request.send("/a/")
    assert held.count == 0
    assert akamai_emulator.purges == []
    assert len(skipped_lines(off)) == 1


# --- system checks ----------------------------------------------------------------------


def akamai_check_ids():
    from django.core import checks

    return sorted(m.id for m in checks.run_checks() if (m.id or "").startswith("django_akamai."))


def test_no_credentials_is_no_warning_when_purging_is_off(no_credentials, settings):
    assert akamai_check_ids() == ["django_akamai.W001"]
    settings.AKAMAI_PURGE_ENABLED = False
    assert akamai_check_ids() == []


@pytest.mark.parametrize(
    "name, value",
    [
        ("AKAMAI_CPCODES", ["12a"]),
        ("AKAMAI_CPCODES", [0]),
        ("AKAMAI_COLLAPSE_THRESHOLD", "many"),
        ("AKAMAI_COLLAPSE_THRESHOLD", -1),
    ],
)
def test_e012_bad_cpcodes_or_threshold(akamai_emulator, settings, name, value):
    assert akamai_check_ids() == []
    setattr(settings, name, value)
    assert akamai_check_ids() == ["django_akamai.E012"]
