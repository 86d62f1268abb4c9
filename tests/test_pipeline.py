"""The purge pipeline in one process: recording intents in the caller's transaction,
de-duplication, the lease, packing, backoff, refused-object isolation, akamai_worker --burst,
and the tag prefix applied once through every door; against the emulator over real HTTP.

Most tests set ``AKAMAI_DELIVERY = "worker"`` so that nothing is sent until the test runs the
deliverer itself (``deliver_pending``): counts at the emulator then depend on nothing else.
"""

import io
import json
import math
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_akamai import funnel, options
from django_akamai.delivery.lease import Lease
from django_akamai.delivery.worker import deliver_pending
from django_akamai.intents import intent_key, record
from django_akamai.models import DeliveryLease, PurgeIntent
from django_akamai.purge import PurgeRequest
from django_akamai.signals import purge_request, queue_purge_request
from django_akamai.tasks import PurgeRequestTask
from tests.reference import greedy_minimum
from tests.test_admin import PURGE_URL, staff
from tests.testapp.models import Article

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "other"])

BASE = "https://www.example.com"


class Rollback(Exception):
    pass


@pytest.fixture
def worker_mode(akamai_emulator, settings):
    """Record only; the test delivers with deliver_pending()."""
    settings.AKAMAI_DELIVERY = "worker"
    return akamai_emulator


def pending_values(using="default"):
    return sorted(
        PurgeIntent.objects.using(using).filter(status="pending").values_list("value", flat=True)
    )


# --- recording ------------------------------------------------------------------------------


def test_intents_are_rows_of_the_callers_transaction(worker_mode):
    with transaction.atomic():
        purge_request.send(["/a", "/b"])
        # Visible inside the transaction, as one more row of it.
        assert pending_values() == [f"{BASE}/a", f"{BASE}/b"]
        with pytest.raises(Rollback):
            with transaction.atomic():
                purge_request.send("/dropped")
                raise Rollback
        assert pending_values() == [f"{BASE}/a", f"{BASE}/b"]
    assert pending_values() == [f"{BASE}/a", f"{BASE}/b"]
    with pytest.raises(Rollback):
        with transaction.atomic():
            purge_request.send("/never")
            raise Rollback
    assert pending_values() == [f"{BASE}/a", f"{BASE}/b"]
    assert worker_mode.counters["requests"] == 0


def test_intents_go_to_the_database_of_the_transaction(worker_mode):
    with transaction.atomic(using="other"):
        purge_request.send(Article.objects.using("other").create(slug="elsewhere"))
    assert pending_values("other") == [f"{BASE}/articles/elsewhere/"]
    assert pending_values("default") == []
    assert deliver_pending("other").accepted == 1
    assert worker_mode.accepted_objects() == [f"{BASE}/articles/elsewhere/"]


def test_identical_pending_intents_are_stored_once(worker_mode):
    for _ in range(3):
        with transaction.atomic():
            purge_request.send(["/same", "/same"])
            purge_request.send("/same", action="invalidate")  # other options: its own row
    assert PurgeIntent.objects.count() == 2
    report = deliver_pending()
    assert (report.accepted, report.requests) == (2, 2)
    assert sorted((p.action, p.objects) for p in worker_mode.purges) == [
        ("delete", (f"{BASE}/same",)),
        ("invalidate", (f"{BASE}/same",)),
    ]


def test_a_change_committed_while_its_object_is_in_flight_is_not_swallowed(worker_mode):
    with transaction.atomic():
        purge_request.send("/page")
    # The deliverer claimed the intent (its request may already be answered) when the page
    # changes again: the new intent must be kept, not merged into the claimed one.
    PurgeIntent.objects.update(status="claimed", claimed_by="someone")
    with transaction.atomic():
        purge_request.send("/page")
    assert PurgeIntent.objects.filter(status="pending").count() == 1
    PurgeIntent.objects.filter(status="claimed").delete()  # that delivery finished
    assert deliver_pending().accepted == 1
    assert worker_mode.accepted_objects() == [f"{BASE}/page"]


def test_recording_costs_one_insert(worker_mode):
    the_plan = funnel.plan([f"/p/{i}" for i in range(50)])
    # Written once, just before the commit (intent_writes.gather).
    with CaptureQueriesContext(connection) as queries:
        with transaction.atomic():
            record(the_plan, using="default")
    statements = [q["sql"] for q in queries.captured_queries if q["sql"] not in ("BEGIN", "COMMIT")]
    assert len(statements) == 1


# --- delivering -----------------------------------------------------------------------------


def test_saves_in_separate_transactions_are_packed_into_the_fewest_requests(worker_mode, settings):
    settings.AKAMAI_PURGE_MODELS = ["testapp.Article"]
    slugs = [f"article-{i}-{'y' * (i % 30)}" for i in range(1500)]
    for slug in slugs:
        Article.objects.create(slug=slug)  # each save its own transaction
    urls = [f"{BASE}/articles/{slug}/" for slug in slugs]
    report = deliver_pending()
    body = len(json.dumps({"objects": urls}, separators=(",", ":")))
    assert report.ok and report.accepted == 1500
    assert worker_mode.counters["requests"] == greedy_minimum(urls) == math.ceil(body / 50_000)
    assert sorted(worker_mode.accepted_objects()) == sorted(urls)
    assert PurgeIntent.objects.count() == 0


def test_delivered_requests_are_in_the_purge_history(worker_mode):
    from django_akamai.models import PurgeRecord

    with transaction.atomic():
        purge_request.send("/a", actor="someone")
    deliver_pending()
    [row] = PurgeRecord.objects.all()
    assert (row.status, row.object_count, row.actor) == ("accepted", 1, "someone")


def test_one_refused_url_among_100_is_isolated_and_kept(worker_mode):
    worker_mode.configure(allowed_hosts=["www.example.com"])
    urls = [f"/ok/{i}" for i in range(100)]
    bad = "https://elsewhere.example.org/not-ours"
    with transaction.atomic():
        purge_request.send(urls[:37] + [bad] + urls[37:])
    report = deliver_pending()
    assert sorted(worker_mode.accepted_objects()) == sorted(BASE + u for u in urls)
    [refusal] = report.refused
    assert (refusal.object, refusal.status, refusal.title) == (bad, 403, "unauthorized arl")
    assert bad in refusal.detail and refusal.support_id
    [failed] = PurgeIntent.objects.all()
    assert (failed.value, failed.status, failed.http_status) == (bad, "failed", 403)
    assert failed.support_id == refusal.support_id
    # Halving isolates one bad object among n in about 2 log2(n) refused requests.
    assert worker_mode.counters["refused"][403] <= 2 * math.ceil(math.log2(101))
    # Never retried blindly.
    assert deliver_pending(burst=True).accepted == 0
    assert PurgeIntent.objects.get().status == "failed"


def test_transient_failures_back_off_in_the_table(worker_mode, settings):
    settings.AKAMAI_MAX_RETRIES = 0
    worker_mode.configure(fail_rate=1.0)
    with transaction.atomic():
        purge_request.send(["/a", "/b"])
    report = deliver_pending()
    assert (report.accepted, report.deferred) == (0, 2)
    intents = list(PurgeIntent.objects.all())
    assert {(i.status, i.attempts) for i in intents} == {("pending", 1)}
    assert all(i.next_attempt_at > timezone.now() and i.http_status for i in intents)
    assert report.next_attempt_at == min(i.next_attempt_at for i in intents)
    # Not due yet: a deliverer started later (a restart) leaves them alone...
    worker_mode.configure(fail_rate=0.0)
    before = worker_mode.counters["requests"]
    assert deliver_pending().accepted == 0
    assert worker_mode.counters["requests"] == before
    # ... until they are due (or a burst is asked for).
    PurgeIntent.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert deliver_pending().accepted == 2
    assert sorted(worker_mode.accepted_objects()) == [f"{BASE}/a", f"{BASE}/b"]


def test_bad_credentials_keep_intents_pending(worker_mode, settings):
    settings.AKAMAI_CCU_CLIENT_SECRET = "not-the-secret"
    with transaction.atomic():
        purge_request.send("/a")
    report = deliver_pending()
    assert report.config_error and "401" in report.config_error
    assert PurgeIntent.objects.get().status == "pending"


# --- the lease --------------------------------------------------------------------------------


def test_one_lease_holder_at_a_time_and_expiry_hands_it_over(worker_mode):
    a = Lease("v3 account", using="default", holder="a", seconds=60)
    b = Lease("v3 account", using="default", holder="b", seconds=60)
    assert a.acquire() and not b.acquire()
    assert a.renew() and not b.renew()
    later = timezone.now() + timedelta(seconds=61)  # a died: it stopped renewing
    assert b.acquire(now=later) and not a.renew(now=later)
    b.release()
    assert a.acquire()
    assert DeliveryLease.objects.count() == 1


def test_a_busy_lease_sends_nothing_and_a_dead_holders_claims_come_back(worker_mode):
    from django_akamai.conf import resolve_credentials
    from django_akamai.delivery.worker import account_name

    with transaction.atomic():
        purge_request.send(["/a", "/b"])
    name = account_name(resolve_credentials())
    dead = Lease(name, using="default", holder="dead", seconds=60)
    assert dead.acquire()
    PurgeIntent.objects.update(status="claimed", claimed_by="dead")  # then it was SIGKILLed
    assert deliver_pending().busy
    assert worker_mode.counters["requests"] == 0
    DeliveryLease.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    report = deliver_pending()
    assert (report.busy, report.accepted) == (False, 2)
    assert sorted(worker_mode.accepted_objects()) == [f"{BASE}/a", f"{BASE}/b"]


def test_the_lease_keeps_the_buckets_for_the_next_holder(worker_mode):
    # No refill (the headers say so): the stored URL bucket stays below full however long
    # saving the lease takes on a loaded machine (200 tokens a second would fill it in 5 ms).
    worker_mode.configure(time_scale=1e-9)
    with transaction.atomic():
        purge_request.send("/a")
    deliver_pending()
    state = DeliveryLease.objects.get().bucket_state
    assert state["requests"]["size"] == 100 and state["objects"]["url"]["remaining"] < 10_000


# --- manage.py akamai_worker --burst ------------------------------------------------------------


def worker(*args):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("akamai_worker", *args, stdout=out, stderr=err)
        code = 0
    except CommandError as exc:
        err.write(f"{exc}\n")
        code = exc.returncode
    return code, out.getvalue(), err.getvalue()


def test_burst_exits_0_when_everything_was_accepted(worker_mode):
    with transaction.atomic():
        purge_request.send(["/a", "/b"])
    code, out, err = worker("--burst")
    assert (code, err) == (0, "")
    assert "Delivered 2 purge intent(s) in 1 request(s)" in out


def test_burst_exits_1_naming_the_refused_object_with_akamais_reason(worker_mode):
    worker_mode.configure(allowed_hosts=["www.example.com"])
    with transaction.atomic():
        purge_request.send(["/a", "https://elsewhere.example.org/x"])
    code, out, err = worker("--burst")
    assert code == 1
    assert "https://elsewhere.example.org/x refused, HTTP 403: unauthorized arl" in err
    assert "supportId" in err
    assert worker_mode.accepted_objects() == [f"{BASE}/a"]


def test_burst_ignores_backoff_and_exits_1_while_akamai_is_down(worker_mode, settings):
    settings.AKAMAI_MAX_RETRIES = 0
    with transaction.atomic():
        purge_request.send("/a")
    PurgeIntent.objects.update(next_attempt_at=timezone.now() + timedelta(hours=1))
    worker_mode.configure(fail_rate=1.0)
    code, out, err = worker("--burst")
    assert code == 1 and "stay pending" in err
    assert PurgeIntent.objects.get().attempts == 1
    worker_mode.configure(fail_rate=0.0)
    assert worker("--burst")[0] == 0  # the backoff is ignored
    assert worker_mode.accepted_objects() == [f"{BASE}/a"]


def test_burst_exits_2_without_credentials(settings):
    settings.AKAMAI_DELIVERY = "worker"
    code, out, err = worker("--burst")
    assert code == 2 and "No Akamai credentials" in err


# --- the tag prefix is applied once, whatever the door ----------------------------------------


@pytest.fixture
def prefixed(akamai_emulator, settings, eager_celery):
    settings.AKAMAI_CACHE_TAG_PREFIX = "site1-"
    return akamai_emulator


def _purge_request_class():
    with PurgeRequest(options={"type": "tag"}) as pr:
        pr.add("x")
        pr.purge_all()


def _signal_now():
    purge_request.send("x", type="tag")


def _signal_in_transaction():
    with transaction.atomic():
        purge_request.send("x", type="tag")


def _queue_signal():
    queue_purge_request.send("x", type="tag")


def _queue_signal_in_transaction():
    with transaction.atomic():
        queue_purge_request.send("x", type="tag")


def _task_delay():
    PurgeRequestTask.delay("x", type="tag").get()


def _task_delay_on_commit():
    with transaction.atomic():
        PurgeRequestTask.delay_on_commit("x", type="tag")


def _autopurge(settings):
    settings.AKAMAI_PURGE_MODELS = {"testapp.Note": {"tags": ["x"]}}
    from tests.testapp.models import Note

    Note.objects.create(text="t")


def _command():
    call_command("akamai_purge", "--tag", "x", stdout=io.StringIO(), stderr=io.StringIO())


def _command_queue():
    call_command(
        "akamai_purge", "--queue", "--tag", "x", stdout=io.StringIO(), stderr=io.StringIO()
    )


def _admin_page():
    client = Client()
    client.force_login(staff("tagger", "purge_cache"))
    response = client.post(PURGE_URL, {"tags": "x", "action": "delete", "network": "production"})
    assert response.status_code == 302


DOORS = {
    "PurgeRequest.add": _purge_request_class,
    "purge_request": _signal_now,
    "purge_request in a transaction": _signal_in_transaction,
    "queue_purge_request": _queue_signal,
    "queue_purge_request in a transaction": _queue_signal_in_transaction,
    "PurgeRequestTask.delay": _task_delay,
    "PurgeRequestTask.delay_on_commit": _task_delay_on_commit,
    "AKAMAI_PURGE_MODELS": _autopurge,
    "akamai_purge --tag": _command,
    "akamai_purge --queue --tag": _command_queue,
    "admin Purge page": _admin_page,
}


@pytest.mark.parametrize("door", DOORS)
def test_the_tag_prefix_is_applied_once_through_every_door(prefixed, settings, door):
    function = DOORS[door]
    function(settings) if door == "AKAMAI_PURGE_MODELS" else function()
    assert prefixed.accepted_objects() == ["site1-x"]


def test_dry_run_prints_the_tag_prefixed_once(prefixed):
    out = io.StringIO()
    call_command("akamai_purge", "--dry-run", "--tag", "x", stdout=out)
    assert '{"objects":["site1-x"]}' in out.getvalue()


def test_intent_keys_are_fixed_width_whatever_the_url(worker_mode):
    long_url = "/" + "a" * 40_000
    with transaction.atomic():
        purge_request.send(long_url)
    intent = PurgeIntent.objects.get()
    parsed = options.parse(None)
    assert len(intent.key) == 64 and intent.key == intent_key(parsed, BASE + long_url)
