"""What the deliverer asks of the database, counted: statements for one intent, one commit per
accepted request (its intents and its history row together), no placeholder per id, and the
lease renewed by time rather than per request; on SQLite, PostgreSQL and MariaDB alike
(``AKAMAI_TEST_DATABASE``)."""

import re
import threading
from contextlib import contextmanager

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from django_akamai.delivery import worker
from django_akamai.delivery.worker import deliver_pending
from django_akamai.models import PurgeIntent, PurgeRecord
from django_akamai.sender import request_accepted
from django_akamai.signals import purge_request
from tests.test_history import HistoryElsewhere

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "other"])

CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")
#: Statements that deliver one intent: take the lease (with its buckets), claim, the history
#: row and the deletion (one transaction; one statement on PostgreSQL), release the lease
#: (with the buckets), and one look at what is pending once it is released. MariaDB returns
#: no rows from an UPDATE: the buckets are read apart, and a claim is a locking read and an
#: UPDATE by id.
ONE_INTENT = {"sqlite": 6, "postgresql": 5, "mysql": 8}


@pytest.fixture
def worker_mode(akamai_emulator, settings):
    settings.AKAMAI_DELIVERY = "worker"
    return akamai_emulator


def save(urls):
    with transaction.atomic():
        purge_request.send(urls)


def statements(captured):
    return [q["sql"] for q in captured if not q["sql"].upper().startswith(CONTROL)]


#: Statements that write: in autocommit mode, each is a transaction, a commit, of its own.
WRITES = ("INSERT", "UPDATE", "DELETE", "WITH")


@contextmanager
def counted():
    """What ``CaptureQueriesContext`` captures on this connection, and the commits made
    there: each COMMIT, and each statement that writes in autocommit mode."""
    commits = []

    def note(execute, sql, params, many, context):
        if connection.get_autocommit() and sql.lstrip().upper().startswith(WRITES):
            commits.append(sql)
        return execute(sql, params, many, context)

    with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(note):
        yield captured, commits
    commits.extend(q["sql"] for q in captured if q["sql"].upper() == "COMMIT")


def on(table, verb, sql):
    """Whether ``sql`` writes to ``table`` with ``verb`` (INSERT INTO, DELETE FROM, UPDATE),
    as a statement of its own or inside another's ``WITH`` (PostgreSQL's settlement)."""
    into = {"INSERT": "INTO ", "DELETE": "FROM "}.get(verb, "")
    return re.search(rf"\b{verb} {into}[`\"]?\w*{table}\b", sql, re.IGNORECASE) is not None


def test_one_intent_is_delivered_in_a_handful_of_statements(worker_mode):
    deliver_pending()  # the lease row exists from now on
    save("/one")
    with counted() as (captured, commits):
        report = deliver_pending()
    assert (report.accepted, report.requests) == (1, 1)
    assert len(statements(captured)) == ONE_INTENT[connection.vendor]
    assert len(commits) == 4  # the lease, the claim, the settlement, the release
    assert PurgeRecord.objects.count() == 1


def test_each_accepted_request_is_one_commit_with_its_history_row(worker_mode, settings):
    settings.AKAMAI_MAX_BODY_BYTES = 200  # a few URLs per request
    deliver_pending()  # the lease row exists from now on
    save([f"/page/{i}" for i in range(12)])
    with counted() as (captured, commits):
        report = deliver_pending()
    assert report.accepted == 12 and report.requests >= 3
    sql = statements(captured)
    assert len(commits) == report.requests + 3  # and the lease, the claim, the release
    assert len([s for s in sql if on("purgerecord", "INSERT", s)]) == report.requests
    assert len([s for s in sql if on("purgeintent", "DELETE", s)]) == report.requests
    # Taken and released: no renewal per request (the lease is far from expiring).
    assert len([s for s in sql if on("deliverylease", "UPDATE", s)]) == 2
    assert PurgeRecord.objects.count() == report.requests


def test_a_failed_deletion_rolls_its_history_row_back_and_the_intents_return(worker_mode):
    save(["/a", "/b"])
    failed = []

    def fail_the_deletion(execute, sql, params, many, context):
        if on("purgeintent", "DELETE", sql):  # each time: settling again fails too
            failed.append(sql)
            raise DatabaseError("injected: the deletion failed")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fail_the_deletion):
        with pytest.raises(DatabaseError, match="injected"):
            deliver_pending()
    assert failed
    # Accepted by Akamai, but not settled: no history row, and the intents wait again.
    assert worker_mode.counters["accepted"] == 1
    assert PurgeRecord.objects.count() == 0
    assert sorted(PurgeIntent.objects.values_list("status", flat=True)) == ["pending"] * 2
    report = deliver_pending()  # due as they were
    assert report.accepted == 2
    assert PurgeRecord.objects.count() == 1 and PurgeIntent.objects.count() == 0


def test_a_failed_history_row_never_undoes_the_settlement(worker_mode):
    save(["/a", "/b"])

    def fail_the_history(execute, sql, params, many, context):
        if on("purgerecord", "INSERT", sql):
            raise DatabaseError("injected: no history table")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fail_the_history):
        report = deliver_pending()
    assert (report.accepted, report.requests) == (2, 1)
    assert PurgeIntent.objects.count() == 0
    assert PurgeRecord.objects.count() == 0


def test_history_routed_elsewhere_is_written_there(worker_mode, settings):
    settings.DATABASE_ROUTERS = [f"{HistoryElsewhere.__module__}.HistoryElsewhere"]
    save(["/a", "/b"])
    assert deliver_pending().accepted == 2
    assert PurgeIntent.objects.count() == 0
    assert PurgeRecord.objects.using("other").count() == 1
    assert PurgeRecord.objects.using("default").count() == 0


def test_deleting_and_claiming_use_no_placeholder_per_id(worker_mode):
    save([f"/many/{i}" for i in range(600)])  # one request
    seen = []

    def keep(execute, sql, params, many, context):
        seen.append((sql, list(params or ())))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(keep):
        report = deliver_pending()
    assert (report.accepted, report.requests) == (600, 1)
    deletions = [params for sql, params in seen if on("purgeintent", "DELETE", sql)]
    claims = [params for sql, params in seen if on("purgeintent", "UPDATE", sql)]
    # One array, or the numbers; and on PostgreSQL the history row's values alongside.
    row = len(PurgeRecord._meta.concrete_fields) if connection.vendor == "postgresql" else 0
    assert len(deletions) == 1 and len(deletions[0]) <= 1 + row
    assert claims and all(len(params) < 10 for params in claims)


def long_round(monkeypatch, settings, count):
    """``count`` intents claimed four at a time, a few URLs per request."""
    monkeypatch.setattr(worker, "CLAIM_BATCH", 4)
    settings.AKAMAI_MAX_BODY_BYTES = 200
    save([f"/long/{i}" for i in range(count)])


def test_a_long_round_claims_ahead_and_leaves_nothing_claimed(worker_mode, settings, monkeypatch):
    deliver_pending()  # the lease row exists from now on
    long_round(monkeypatch, settings, 14)
    with CaptureQueriesContext(connection) as captured:
        report = deliver_pending()
    assert report.accepted == 14 and report.requests >= 4
    assert PurgeIntent.objects.count() == 0
    assert PurgeRecord.objects.count() == report.requests
    # Four claims (4, 4, 4, 2); after the first, each made ahead on another connection where
    # the database has more than one writer.
    claims_here = [s for s in statements(captured) if on("purgeintent", "UPDATE", s)]
    assert len(claims_here) == (4 if connection.vendor == "sqlite" else 1)


def test_a_stop_returns_what_was_claimed_ahead_to_pending(worker_mode, settings, monkeypatch):
    long_round(monkeypatch, settings, 14)
    stop = threading.Event()

    def stop_after_the_first(**kwargs):
        stop.set()

    request_accepted.connect(stop_after_the_first, dispatch_uid="test-stop-after-the-first")
    try:
        report = deliver_pending(stop=stop)
    finally:
        request_accepted.disconnect(dispatch_uid="test-stop-after-the-first")
    assert 1 <= report.accepted < 14
    left = list(PurgeIntent.objects.values_list("status", flat=True))
    assert left == ["pending"] * (14 - report.accepted)
    assert PurgeRecord.objects.count() == report.requests
    assert deliver_pending().accepted == 14 - report.accepted


def test_a_request_accepted_while_the_one_before_failed_to_settle_is_settled(worker_mode, settings):
    settings.AKAMAI_MAX_BODY_BYTES = 200  # a few URLs per request
    save([f"/page/{i}" for i in range(12)])
    failed = []

    def fail_the_first_settlement(execute, sql, params, many, context):
        if on("purgeintent", "DELETE", sql) and len(failed) < 2:  # both of its attempts
            failed.append(sql)
            raise DatabaseError("injected: the first deletion failed")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fail_the_first_settlement):
        with pytest.raises(DatabaseError, match="injected"):
            deliver_pending()
    # The second request was on its way meanwhile: accepted, and settled on the way out
    # rather than sent again; the first one's intents wait again, and nothing else was sent.
    assert worker_mode.counters["accepted"] == 2
    assert PurgeRecord.objects.count() == 1
    left = list(PurgeIntent.objects.values_list("status", flat=True))
    assert 0 < len(left) < 12 and set(left) == {"pending"}
    assert deliver_pending().accepted == len(left)
    assert PurgeIntent.objects.count() == 0
