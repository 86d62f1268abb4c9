"""The intent table's floor (``models.IntentQuerySet``), on whichever database the run uses:
SQLite, PostgreSQL or MariaDB (``AKAMAI_TEST_DATABASE``; ``make test`` runs this file on all
three). Identical intents stored once, claims that never overlap, accounts that never cross,
the database's clock whatever the host's says, one holder per process, bounded failed rows.
Against the emulator over real HTTP; counts only.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from django_akamai import funnel, intents
from django_akamai.conf import resolve_credentials
from django_akamai.delivery.lease import Lease, account_name, default_account, process_holder_id
from django_akamai.delivery.worker import deliver_pending
from django_akamai.emulator import Emulator
from django_akamai.intents import record
from django_akamai.models import DeliveryLease, PurgeIntent
from django_akamai.signals import purge_request
from django_akamai.testing import emulator_settings

pytestmark = pytest.mark.django_db(transaction=True)

BASE = "https://www.example.com"


@pytest.fixture
def worker_mode(akamai_emulator, settings):
    """Record only; the test delivers with deliver_pending()."""
    settings.AKAMAI_DELIVERY = "worker"
    return akamai_emulator


@pytest.fixture
def second_account():
    """Another Akamai account: an emulator of its own, with its own credentials."""
    with Emulator(port=0) as emu:
        yield emu


def use_account(settings, emu):
    for name, value in emulator_settings(emu, "v3").items():
        setattr(settings, name, value)


def save(objects):
    """A change committed with its purge: the intents are recorded in its transaction."""
    with transaction.atomic():
        purge_request.send(objects)


def statuses():
    return sorted(PurgeIntent.objects.values_list("status", flat=True))


def skew_clock(monkeypatch, seconds):
    """This process's clock off by ``seconds`` (a host whose clock drifted)."""
    true_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: true_now() + timedelta(seconds=seconds))


# --- stored once --------------------------------------------------------------------------


def test_21_saves_of_one_object_leave_one_pending_row(worker_mode):
    for _ in range(21):
        save("/same")
    assert PurgeIntent.objects.filter(status="pending").count() == 1
    assert deliver_pending().accepted == 1
    assert worker_mode.accepted_objects() == [f"{BASE}/same"]


def test_a_claimed_intent_recorded_again_goes_back_once(worker_mode):
    save(["/a", "/b"])
    table = PurgeIntent.objects.for_account(default_account())
    claimed = table.claim("me", 100)
    assert sorted(c.value for c in claimed) == [f"{BASE}/a", f"{BASE}/b"]
    save("/a")  # the page changed while its purge was in flight
    assert statuses() == ["claimed", "claimed", "pending"]
    table.back_to_pending([c.pk for c in claimed])  # that round broke off
    # The newer intent covers the returned one: one pending row per object.
    assert sorted(PurgeIntent.objects.values_list("value", "status")) == [
        (f"{BASE}/a", "pending"),
        (f"{BASE}/b", "pending"),
    ]


def test_claims_do_not_overlap_and_take_the_limit(worker_mode):
    save([f"/p/{i}" for i in range(30)])
    table = PurgeIntent.objects.for_account(default_account())
    first, second = table.claim("one", 20), table.claim("two", 20)
    assert (len(first), len(second)) == (20, 10)
    assert not {c.pk for c in first} & {c.pk for c in second}
    assert table.claim("three", 20) == []
    assert sorted(table.claimed_by("two")) == sorted(c.pk for c in second)


def test_concurrent_claimers_never_take_the_same_intent(worker_mode):
    """Four claimers at once, each on its own connection, until nothing is left."""
    import threading

    from django.db import connections

    if connection.vendor == "sqlite":
        pytest.skip("in-memory SQLite shares one cache between threads; the process tests run it")
    record(funnel.plan([f"/c/{i}" for i in range(2000)]), using="default")
    table = PurgeIntent.objects.for_account(default_account(), unstamped=True)
    taken: dict[str, list[int]] = {}
    start = threading.Barrier(4)

    def claimer(name):
        try:
            start.wait()
            mine = taken.setdefault(name, [])
            while batch := table.claim(name, 37):
                mine.extend(c.pk for c in batch)
                table.settle(c.pk for c in batch)  # as a deliverer does once accepted
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claimer, args=(f"c{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [pk for pks in taken.values() for pk in pks]
    assert len(every) == len(set(every)) == 2000
    assert PurgeIntent.objects.count() == 0


# --- accounts -----------------------------------------------------------------------------


def test_identical_objects_on_two_accounts_are_two_intents(worker_mode):
    the_plan = funnel.plan(["/same"])
    record(the_plan, using="default", account="v3 one")
    record(the_plan, using="default", account="v3 one")
    record(the_plan, using="default", account="v3 two")
    assert sorted(PurgeIntent.objects.values_list("account", flat=True)) == ["v3 one", "v3 two"]


def test_record_stamps_the_account_of_the_configured_credentials(worker_mode, settings):
    save("/a")
    assert PurgeIntent.objects.get().account == account_name(resolve_credentials())
    assert PurgeIntent.objects.get().account.startswith("v3 http://127.0.0.1:")


def test_two_deliverers_on_two_accounts_send_only_their_own(worker_mode, second_account, settings):
    mine = [f"/mine/{i}" for i in range(30)]
    theirs = [f"/theirs/{i}" for i in range(30)]
    save(mine)  # recorded with the first account's credentials
    use_account(settings, second_account)
    save(theirs)
    # The second account's deliverer: only its own rows, sent on its own account.
    assert deliver_pending().accepted == 30
    assert sorted(second_account.accepted_objects()) == sorted(BASE + u for u in theirs)
    assert worker_mode.accepted_objects() == []
    use_account(settings, worker_mode)
    assert deliver_pending().accepted == 30
    assert sorted(worker_mode.accepted_objects()) == sorted(BASE + u for u in mine)
    assert len(second_account.accepted_objects()) == 30  # nothing crossed over


def test_an_account_returns_only_its_own_orphans(worker_mode, second_account, settings):
    save(["/a", "/b"])
    mine = default_account()
    use_account(settings, second_account)
    save(["/c", "/d"])
    theirs = default_account()
    # A live deliverer of the second account has its rows in flight.
    assert len(PurgeIntent.objects.for_account(theirs).claim("their-holder", 100)) == 2
    # The first account's deliverer (another holder) returns none of them.
    assert PurgeIntent.objects.for_account(mine, unstamped=True).return_orphans("mine") == 0
    assert PurgeIntent.objects.filter(status="claimed").count() == 2
    assert PurgeIntent.objects.for_account(theirs).return_orphans("new-holder") == 2
    assert statuses() == ["pending"] * 4


def test_intents_recorded_without_credentials_go_to_the_default_deliverer(
    worker_mode, second_account, settings
):
    for name in ("AKAMAI_CCU_HOST", "AKAMAI_CCU_CLIENT_TOKEN"):
        setattr(settings, name, None)
    save(["/a", "/b"])  # a web process without credentials
    assert list(PurgeIntent.objects.values_list("account", flat=True)) == ["", ""]
    use_account(settings, worker_mode)
    assert deliver_pending().accepted == 2
    assert sorted(worker_mode.accepted_objects()) == [f"{BASE}/a", f"{BASE}/b"]


def test_claiming_an_unstamped_intent_makes_it_the_claimers(worker_mode):
    record(funnel.plan(["/a"]), using="default", account="")
    PurgeIntent.objects.for_account("v3 x", unstamped=True).claim("h", 10)
    assert PurgeIntent.objects.get().account == "v3 x"
    # So another account's deliverer never returns it as its orphan.
    assert PurgeIntent.objects.for_account("v3 y", unstamped=True).return_orphans("k") == 0


# --- the database's clock -----------------------------------------------------------------


@pytest.mark.parametrize("seconds", [-600, 600])
def test_a_skewed_host_delivers_fresh_intents(worker_mode, monkeypatch, seconds):
    skew_clock(monkeypatch, seconds)
    save([f"/p/{i}" for i in range(20)])
    assert deliver_pending().accepted == 20
    assert len(worker_mode.accepted_objects()) == 20


def test_a_host_ahead_does_not_take_a_live_lease(worker_mode, monkeypatch):
    save(["/a", "/b"])
    live = Lease(default_account(), using="default", holder="live", seconds=60)
    assert live.acquire()
    skew_clock(monkeypatch, 600)  # its clock says the live lease expired long ago
    assert deliver_pending().busy
    assert worker_mode.counters["requests"] == 0
    assert statuses() == ["pending", "pending"]


def test_backoff_is_counted_from_the_database_clock(worker_mode, monkeypatch, settings):
    settings.AKAMAI_MAX_RETRIES = 0
    settings.AKAMAI_DELIVERY_RETRY_BACKOFF = 30
    worker_mode.configure(fail_rate=1.0)
    skew_clock(monkeypatch, -600)
    save("/a")
    assert deliver_pending().deferred == 1
    wait = PurgeIntent.objects.seconds_until_due()
    assert wait is not None and 0 < wait <= 30  # not 600 s more, nor due at once
    worker_mode.configure(fail_rate=0.0)
    assert deliver_pending().accepted == 0  # backing off, whatever this host's clock says


# --- one holder per process -----------------------------------------------------------------


def test_the_process_holder_retakes_its_own_unreleased_lease(worker_mode):
    save(["/a", "/b"])
    # A round of this process broke off (a database outage) without releasing its lease.
    assert Lease(default_account(), using="default", holder=process_holder_id()).acquire()
    report = deliver_pending()
    assert (report.busy, report.accepted) == (False, 2)
    assert DeliveryLease.objects.get().holder == ""


def test_the_process_holder_is_one_id_for_the_process(worker_mode):
    assert process_holder_id() == process_holder_id()


# --- bounded failed rows --------------------------------------------------------------------


def test_a_refused_object_refused_again_stays_one_row_counting_attempts(worker_mode):
    worker_mode.configure(allowed_hosts=["www.example.com"])
    bad = "https://elsewhere.example.org/not-ours"
    for _ in range(3):
        save([bad, "/ok"])
        assert len(deliver_pending().refused) == 1
    [failed] = PurgeIntent.objects.all()
    assert (failed.value, failed.status, failed.attempts, failed.http_status) == (
        bad,
        "failed",
        3,
        403,
    )


def test_200_unplannable_saves_leave_one_failed_row(worker_mode):
    for i in range(200):
        intents.record_unplannable("x", f"broken {i}", using="default", object_type="url")
    [failed] = PurgeIntent.objects.all()
    assert (failed.status, failed.attempts, failed.error_detail) == ("failed", 200, "broken 199")


def test_prune_failed_deletes_old_failed_intents_only(worker_mode):
    intents.record_unplannable("old", "broken", using="default", object_type="url")
    intents.record_unplannable("new", "broken", using="default", object_type="url")
    save("/pending")
    PurgeIntent.objects.filter(value__contains="old").update(
        created_at=timezone.now() - timedelta(days=40)
    )
    PurgeIntent.objects.filter(status="pending").update(
        created_at=timezone.now() - timedelta(days=40)
    )
    assert PurgeIntent.objects.prune_failed(timedelta(days=30)) == 1
    assert sorted(PurgeIntent.objects.values_list("status", flat=True)) == ["failed", "pending"]


def test_prune_history_prunes_failed_intents_by_their_retention(worker_mode, settings):
    settings.AKAMAI_FAILED_INTENT_RETENTION_DAYS = 7
    intents.record_unplannable("old", "broken", using="default", object_type="url")
    PurgeIntent.objects.update(created_at=timezone.now() - timedelta(days=8))
    intents.record_unplannable("new", "broken", using="default", object_type="url")
    out = io.StringIO()
    call_command("akamai_prune_history", stdout=out)
    assert "1 failed purge intent(s) older than 7 day(s) deleted." in out.getvalue()
    assert PurgeIntent.objects.count() == 1


def test_the_database_is_the_one_asked_for():
    """So a run with AKAMAI_TEST_DATABASE=mariadb really ran on MariaDB."""
    import os

    expected = os.environ.get("AKAMAI_TEST_DATABASE") or "sqlite"
    assert {"sqlite": "sqlite", "postgresql": "postgresql", "mariadb": "mysql"}[
        expected
    ] == connection.vendor


# --- the migration --------------------------------------------------------------------------


def test_the_migration_keeps_pending_intents_and_merges_failed_ones():
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    before, after = (
        [("django_akamai", "0003_site_switches")],
        [("django_akamai", "0004_intent_account")],
    )
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps.get_model("django_akamai", "PurgeIntent")
        now = timezone.now()
        common = {"object_type": "url", "action": "delete", "network": "production"}
        old.objects.create(key="k1", value="/p", status="pending", created_at=now, **common)
        for attempts in (1, 2):
            old.objects.create(
                key="k2", value="/f", status="failed", attempts=attempts, created_at=now, **common
            )
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(after)
    try:
        rows = sorted(
            PurgeIntent.objects.values_list(
                "key", "status", "pending_key", "failed_key", "attempts"
            )
        )
    finally:  # the later migrations too: the next tests need every table as it is now
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert rows == [("k1", "pending", "k1", None, 0), ("k2", "failed", None, "k2", 3)]


def test_a_plan_larger_than_one_statement_may_be_is_recorded_whole():
    # 60,000 URLs of 320 characters: about 19 MB of rows, more than MySQL's and MariaDB's
    # default max_allowed_packet (16 MiB) in one INSERT.
    tail = "x" * 280
    urls = [f"/big/{i:05d}/{tail}" for i in range(60_000)]
    with transaction.atomic():
        assert funnel.record(funnel.plan(urls), using="default") == 60_000
    assert PurgeIntent.objects.filter(status="pending").count() == 60_000
