"""The purge history: a record per request sent, accepted or refused, against the emulator."""

import io
import logging
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from django_akamai import history
from django_akamai.exceptions import PurgeRequestFailed
from django_akamai.history import bounded_objects
from django_akamai.models import PurgeRecord
from django_akamai.purge import PurgeRequest
from tests.testapp.models import Article

pytestmark = pytest.mark.django_db


def test_an_accepted_request_is_recorded(akamai_emulator):
    pr = PurgeRequest(options={"action": "invalidate", "network": "staging"}, actor="task")
    pr.add(["/a", "/b"])
    result = pr.purge()
    record = PurgeRecord.objects.get()
    assert record.status == "accepted"
    assert record.http_status == 201
    assert (record.api, record.action, record.network, record.object_type) == (
        "v3",
        "invalidate",
        "staging",
        "url",
    )
    assert record.object_count == 2
    assert record.object_list == ["https://www.example.com/a", "https://www.example.com/b"]
    assert not record.objects_truncated
    assert record.purge_id == result["purgeId"] == akamai_emulator.purges[0].purge_id
    assert record.support_id == result["supportId"]
    assert record.estimated_seconds == result["estimatedSeconds"]
    assert record.actor == "task"
    assert record.error == ""
    assert timezone.now() - record.created_at < timedelta(minutes=1)


def test_each_request_of_a_large_purge_gets_a_record(akamai_emulator):
    pr = PurgeRequest()
    pr.add([f"/{i}/" + "p" * 200 for i in range(800)])
    results = pr.purge_all()
    assert len(results) > 1
    records = PurgeRecord.objects.order_by("id")
    assert [r.purge_id for r in records] == [r["purgeId"] for r in results]
    assert sum(r.object_count for r in records) == 800


def test_a_refused_request_is_recorded_with_akamai_reason(akamai_emulator):
    akamai_emulator.configure(allowed_hosts=["www.example.com"])
    pr = PurgeRequest(actor="admin:alice")
    pr.add("https://not-ours.example.net/x")
    with pytest.raises(PurgeRequestFailed) as caught:
        pr.purge()
    record = PurgeRecord.objects.get()
    assert record.status == "failed"
    assert record.http_status == 403
    assert record.purge_id == ""
    assert record.support_id == caught.value.support_id != ""
    assert caught.value.detail in record.error
    assert record.object_list == ["https://not-ours.example.net/x"]
    assert record.actor == "admin:alice"


def test_a_bad_signature_is_recorded_without_the_secret(akamai_emulator, settings):
    settings.AKAMAI_CCU_CLIENT_SECRET = "wrong-secret-that-must-not-leak="
    pr = PurgeRequest()
    pr.add("/x")
    with pytest.raises(PurgeRequestFailed):
        pr.purge()
    record = PurgeRecord.objects.get()
    assert record.http_status == 401
    text = " ".join(str(getattr(record, f.name)) for f in PurgeRecord._meta.fields)
    assert "wrong-secret-that-must-not-leak" not in text
    assert akamai_emulator.credentials.access_token not in text


def test_ccu_v2_requests_are_recorded(akamai_emulator_v2):
    pr = PurgeRequest()
    pr.add(Article(slug="old"))
    pr.purge()
    record = PurgeRecord.objects.get()
    assert record.api == "v2"
    assert record.purge_id == akamai_emulator_v2.purges[0].purge_id


def test_tags_and_cpcodes_are_recorded(akamai_emulator):
    PurgeRequest(options={"type": "tag"}, urls=["t1", "t2"]).purge()
    PurgeRequest(options={"type": "cpcode"}, urls=[123]).purge()
    assert sorted((r.object_type, r.objects_text) for r in PurgeRecord.objects.all()) == [
        ("cpcode", "123"),
        ("tag", "t1\nt2"),
    ]


def test_the_setting_turns_it_off(akamai_emulator, settings):
    settings.AKAMAI_HISTORY = False
    PurgeRequest(urls=["/off"]).purge()
    assert akamai_emulator.counters["accepted"] == 1
    assert PurgeRecord.objects.count() == 0


def test_objects_kept_are_bounded(akamai_emulator, settings):
    settings.AKAMAI_HISTORY_MAX_OBJECTS = 3
    PurgeRequest(urls=[f"/{i}" for i in range(10)]).purge()
    record = PurgeRecord.objects.get()
    assert record.object_count == 10
    assert len(record.object_list) == 3
    assert record.objects_truncated


def test_bounded_objects():
    assert bounded_objects(["a", "b", "c"], None) == ("a\nb\nc", False)
    assert bounded_objects(["a", "b", "c"], 3) == ("a\nb\nc", False)
    assert bounded_objects(["a", "b", "c"], 2) == ("a\nb", True)
    assert bounded_objects([1, 2], 0) == ("", True)


def test_a_missing_table_never_fails_the_purge_nor_the_callers_transaction(
    akamai_emulator, caplog, monkeypatch
):
    monkeypatch.setattr(history, "_warned", False)
    caplog.set_level(logging.WARNING, logger="django_akamai.history")
    with transaction.atomic():
        with connection.cursor() as cursor:  # as if migrations had not run
            cursor.execute("ALTER TABLE django_akamai_purgerecord RENAME TO purgerecord_away")
        try:
            article = Article.objects.create(slug="kept")
            result = PurgeRequest(urls=[article]).purge()
            assert result["httpStatus"] == 201
            # The failed INSERT rolled back only its savepoint: this transaction still works.
            assert Article.objects.filter(slug="kept").exists()
        finally:
            with connection.cursor() as cursor:
                cursor.execute("ALTER TABLE purgerecord_away RENAME TO django_akamai_purgerecord")
    assert akamai_emulator.accepted_objects() == ["https://www.example.com/articles/kept/"]
    assert Article.objects.filter(slug="kept").exists()
    assert "Purge history not recorded" in caplog.text and "migrate" in caplog.text


def test_an_unexpected_recording_error_is_logged_not_raised(akamai_emulator, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise ValueError("disk on fire")

    monkeypatch.setattr(PurgeRecord, "save", broken)
    monkeypatch.setattr(history, "_warned", False)
    caplog.set_level(logging.DEBUG, logger="django_akamai.history")
    for path in ("/still-purged", "/again"):
        assert PurgeRequest(urls=[path]).purge()["httpStatus"] == 201
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # once, not on every purge
    assert "ValueError: disk on fire" in warnings[0].getMessage()
    assert akamai_emulator.counters["accepted"] == 2


# --- pruning --------------------------------------------------------------------------------


def make_record(days_old, **fields):
    defaults = {
        "created_at": timezone.now() - timedelta(days=days_old),
        "api": "v3",
        "action": "delete",
        "network": "production",
        "object_type": "url",
        "object_count": 1,
        "objects_text": f"https://www.example.com/{days_old}",
        "status": "accepted",
    }
    return PurgeRecord.objects.create(**{**defaults, **fields})


def prune(*args):
    out = io.StringIO()
    call_command("akamai_prune_history", *args, stdout=out)
    return out.getvalue()


def test_prune_uses_the_retention_setting(settings):
    settings.AKAMAI_HISTORY_RETENTION_DAYS = 30
    keep = [make_record(0), make_record(29)]
    make_record(31), make_record(400)
    assert "2 purge record(s) older than 30 day(s) deleted." in prune()
    assert sorted(r.pk for r in PurgeRecord.objects.all()) == sorted(r.pk for r in keep)


def test_prune_days_option_and_dry_run(settings):
    make_record(1), make_record(10), make_record(100)
    assert "2 purge record(s) older than 5 day(s) would be deleted (dry run)." in prune(
        "--days", "5", "--dry-run"
    )
    assert PurgeRecord.objects.count() == 3
    prune("--days", "5")
    assert PurgeRecord.objects.count() == 1


def test_prune_with_no_retention_keeps_everything(settings):
    settings.AKAMAI_HISTORY_RETENTION_DAYS = None
    make_record(1000)
    assert "kept forever" in prune()
    assert PurgeRecord.objects.count() == 1


# --- where records are written --------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_recorded_in_autocommit_mode(akamai_emulator):
    assert not connection.in_atomic_block
    PurgeRequest(urls=["/autocommit"]).purge()
    assert PurgeRecord.objects.get().objects_text == "https://www.example.com/autocommit"


class HistoryElsewhere:
    """A router that keeps the history in the 'other' database."""

    def db_for_write(self, model, **hints):
        return "other" if model is PurgeRecord else None

    db_for_read = db_for_write

    def allow_migrate(self, db, app_label, **hints):
        return None


@pytest.mark.django_db(databases=["default", "other"])
def test_records_follow_the_database_routers(akamai_emulator, settings):
    settings.DATABASE_ROUTERS = [f"{__name__}.HistoryElsewhere"]
    with transaction.atomic(using="default"):
        PurgeRequest(urls=["/routed"]).purge()
    assert PurgeRecord.objects.using("other").count() == 1
    assert PurgeRecord.objects.using("default").count() == 0
    make_record(400)  # routed too
    assert "1 purge record(s) older than 90 day(s) deleted." in prune()
    assert PurgeRecord.objects.using("other").count() == 1
