"""A transaction's intents are written together, before it commits, and only those of the
savepoints that did not roll back (``django_akamai.intent_writes``). Runs on SQLite, and on
PostgreSQL and MariaDB with ``AKAMAI_TEST_DATABASE`` (the Makefile's PIPELINE_TESTS)."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_akamai import funnel, intent_writes
from django_akamai.intents import record
from django_akamai.models import PurgeIntent
from django_akamai.options import Plan, PurgeOptions
from tests.testapp.models import Article

pytestmark = pytest.mark.django_db(transaction=True)

BASE = "https://www.example.com"


class Rollback(Exception):
    pass


@pytest.fixture(autouse=True)
def worker_mode(settings):
    """Record only: nothing is delivered while the test looks at the table."""
    settings.AKAMAI_DELIVERY = "worker"


def put(*paths):
    record(funnel.plan(list(paths)), using="default", actor="test")


def stored():
    return sorted(PurgeIntent.objects.values_list("value", flat=True))


def intent_inserts(queries):
    return sum("INSERT" in q["sql"] and "purgeintent" in q["sql"] for q in queries)


def test_a_thousand_saves_in_one_transaction_write_their_intents_in_one_statement(settings):
    settings.AKAMAI_PURGE_MODELS = ["testapp.Article"]
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        for i in range(1000):
            Article.objects.create(slug=f"a-{i}")
    assert intent_inserts(queries) == 1
    assert stored() == sorted(f"{BASE}/articles/a-{i}/" for i in range(1000))


def test_nothing_is_written_before_the_commit_and_everything_with_it():
    with transaction.atomic():
        with CaptureQueriesContext(connection) as queries:
            put("/a", "/b")
        assert intent_inserts(queries) == 0
    assert stored() == [f"{BASE}/a", f"{BASE}/b"]


def test_a_rolled_back_transaction_writes_nothing_then_or_later():
    with pytest.raises(Rollback), transaction.atomic():
        put("/lost")
        raise Rollback
    with transaction.atomic():
        put("/kept")
    assert stored() == [f"{BASE}/kept"]


def test_a_rolled_back_savepoint_drops_its_intents_only():
    with transaction.atomic():
        put("/before")
        with pytest.raises(Rollback), transaction.atomic():
            put("/inside")
            raise Rollback
        put("/after")
    assert stored() == [f"{BASE}/after", f"{BASE}/before"]


def test_a_released_savepoint_inside_one_that_rolls_back_is_dropped_too():
    with transaction.atomic():
        put("/outer")
        with pytest.raises(Rollback), transaction.atomic():
            with transaction.atomic():
                put("/released")
            put("/middle")
            raise Rollback
    assert stored() == [f"{BASE}/outer"]


def test_intents_gathered_before_a_savepoint_survive_its_rollback_after_a_read():
    with transaction.atomic():
        put("/outer")
        with pytest.raises(Rollback), transaction.atomic():
            put("/inner")
            assert PurgeIntent.objects.count() == 2  # the transaction sees its own purges
            raise Rollback
        assert stored() == [f"{BASE}/outer"]
    assert stored() == [f"{BASE}/outer"]


def test_the_transaction_reads_its_own_intents_through_the_manager():
    with transaction.atomic():
        put("/a")
        assert PurgeIntent.objects.filter(value=f"{BASE}/a").exists()
        put("/b")
        assert list(PurgeIntent.objects.order_by("value").values_list("value", flat=True)) == [
            f"{BASE}/a",
            f"{BASE}/b",
        ]
    assert PurgeIntent.objects.count() == 2


def test_a_long_transaction_writes_in_bounded_batches_and_stays_atomic(monkeypatch):
    monkeypatch.setattr(intent_writes, "GATHER_ROWS", 10)
    with CaptureQueriesContext(connection) as queries:
        with pytest.raises(Rollback), transaction.atomic():
            for i in range(35):
                put(f"/p/{i}")
            raise Rollback
    assert intent_inserts(queries) == 3  # at 10, 20 and 30 rows; the last 5 never written
    assert stored() == []


def test_identical_intents_of_one_transaction_are_stored_once():
    with transaction.atomic():
        put("/same")
        put("/same", "/other")
    assert stored() == [f"{BASE}/other", f"{BASE}/same"]


def test_many_intents_keep_every_character_of_their_objects():
    # From COLUMNS_FROM rows PostgreSQL takes each column as one JSON array: quotes,
    # backslashes, control and non-ASCII characters, placeholders must come back as sent.
    odd = ["'", '"', "\\", "\\n", "%s", "%(x)s", "\x1f", "\x01", "é", "\u2028", "😀", ",{}"]
    values = [
        f"{BASE}/odd/{i}{odd[i % len(odd)]}" for i in range(max(intent_writes.COLUMNS_FROM, 60))
    ]
    actor = 'o\'ne\\ "actor" 😀'
    with transaction.atomic():  # a Plan as it stands: nothing normalised on the way
        record(Plan(PurgeOptions(), tuple(values)), using="default", actor=actor)
    assert stored() == sorted(values)
    assert set(PurgeIntent.objects.values_list("actor", flat=True)) == {actor}


def test_identical_intents_among_many_in_one_statement_are_stored_once():
    paths = [f"/many/{i}" for i in range(max(intent_writes.COLUMNS_FROM, 60))]
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        put(*paths)
        put(*paths[:10])
    with transaction.atomic():
        put(*paths)
    assert intent_inserts(queries) == 1
    assert stored() == sorted(f"{BASE}{path}" for path in paths)
    keys = PurgeIntent.objects.values_list("key", "pending_key", "failed_key")
    assert all(pending == key and failed is None for key, pending, failed in keys)


def test_the_table_itself_refuses_a_second_pending_or_failed_row_of_an_object_and_account():
    # The unique constraints, partial where the database allows (models.UniqueWhereSet):
    # a row whose key is NULL in them (claimed; pending in the failed one) never collides.
    row = {"key": "k" * 64, "account": "a", "object_type": "url", "action": "delete"}
    row |= {"network": "production", "value": "/v", "created_at": timezone.now()}
    for status in ("pending", "failed", "claimed", "claimed"):
        PurgeIntent.objects.create(status=status, **row)
    PurgeIntent.objects.create(status="pending", **{**row, "account": "b"})
    for status in ("pending", "failed"):
        with pytest.raises(IntegrityError), transaction.atomic():
            PurgeIntent.objects.create(status=status, **row)
    assert PurgeIntent.objects.count() == 5


def test_many_delayed_intents_are_due_later_by_the_database_clock():
    # The statement's times take parameters here (now + delay): they must meet their own.
    paths = [f"/later/{i}" for i in range(max(intent_writes.COLUMNS_FROM, 60))]
    with transaction.atomic():
        record(funnel.plan(paths), using="default", actor="test", delay=30)
    rows = PurgeIntent.objects.values_list("value", "created_at", "next_attempt_at")
    assert sorted(value for value, _, _ in rows) == sorted(f"{BASE}{path}" for path in paths)
    assert all(30 <= (due - created).total_seconds() < 31 for _, created, due in rows)


def test_on_postgresql_the_intents_and_the_commit_travel_as_one_query():
    if connection.vendor != "postgresql":
        pytest.skip("psycopg's client-side cursor on PostgreSQL only")
    committed = []
    with CaptureQueriesContext(connection) as queries:
        with transaction.atomic():
            put("/a", "/b")
            transaction.on_commit(lambda: committed.append(True))
    [insert] = [q["sql"] for q in queries if "purgeintent" in q["sql"]]
    assert insert.startswith("INSERT") and insert.endswith("; COMMIT")
    assert committed == [True]  # Django saw its commit through
    assert stored() == [f"{BASE}/a", f"{BASE}/b"]
    with transaction.atomic():  # and the connection goes on as usual
        put("/c")
    assert len(stored()) == 3


def test_intents_that_fail_at_the_commit_roll_the_whole_transaction_back():
    if connection.vendor != "postgresql":
        # SQLite does not enforce a column's length, MariaDB's INSERT IGNORE makes it a warning.
        pytest.skip("the INSERT that ends with the COMMIT is PostgreSQL's")
    bad = intent_writes.Row("k" * 64, "", "url", "invalidate", "n" * 40, f"{BASE}/x", "test")
    with pytest.raises(Exception), transaction.atomic():  # noqa: B017 (the backend's own error)
        Article.objects.create(slug="undone")
        intent_writes.gather([bad], "default", after_commit=lambda: None)
    assert not Article.objects.filter(slug="undone").exists()
    assert PurgeIntent.objects.count() == 0
    with transaction.atomic():
        put("/after")
    assert stored() == [f"{BASE}/after"]
