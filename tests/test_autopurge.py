"""Automatic purging on model changes (AKAMAI_PURGE_MODELS), against the emulator."""

import json
import logging

import pytest
from django.core import serializers
from django.db import connection, transaction
from django.db.models.signals import pre_delete, pre_save
from django.test.utils import CaptureQueriesContext

from django_akamai import autopurge, delivery
from django_akamai.exceptions import AkamaiConfigurationError, InvalidPurgeOptions
from django_akamai.models import PurgeIntent
from django_akamai.signals import purge_request
from tests.testapp.models import Article, ArticleProxy, Comment, Note, Page

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "other"])

BASE = "https://www.example.com"


def url(path):
    return BASE + path


@pytest.fixture
def declare(settings):
    """Set AKAMAI_PURGE_MODELS for one test (receivers follow the setting)."""

    def set_models(value, queue=None):
        if queue is not None:
            settings.AKAMAI_PURGE_MODELS_QUEUE = queue
        settings.AKAMAI_PURGE_MODELS = value

    yield set_models


def objects_by_request(emu):
    return [(p.type, list(p.objects)) for p in emu.purges]


# --- what a change purges --------------------------------------------------------------


def test_a_new_object_purges_its_url(akamai_emulator, declare):
    declare(["testapp.Article"])
    Article.objects.create(slug="hello")
    assert objects_by_request(akamai_emulator) == [("url", [url("/articles/hello/")])]


def test_a_changed_slug_purges_the_old_and_the_new_address(akamai_emulator, declare):
    article = Article.objects.create(slug="old")
    declare(["testapp.Article"])
    article.slug = "new"
    article.save()
    assert objects_by_request(akamai_emulator) == [
        ("url", [url("/articles/old/"), url("/articles/new/")])
    ]


def test_the_old_address_comes_from_what_the_instance_was_loaded_with(akamai_emulator, declare):
    Article.objects.create(slug="stored")
    declare(["testapp.Article"])
    loaded = Article.objects.get(slug="stored")
    loaded.slug = "renamed"
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        loaded.save()
    statements = [q["sql"] for q in queries.captured_queries]
    # The save's UPDATE and one INSERT of its intents (then delivery's own): no SELECT of the
    # old row.
    assert [sql.split()[0] for sql in statements if "testapp_article" in sql] == ["UPDATE"]
    assert sum("INSERT" in sql and "purgeintent" in sql for sql in statements) == 1
    assert akamai_emulator.accepted_objects() == [
        url("/articles/stored/"),
        url("/articles/renamed/"),
    ]
    loaded.slug = "again"  # the instance as last saved is what the row holds now
    loaded.save()
    assert akamai_emulator.accepted_objects()[2:] == [
        url("/articles/renamed/"),
        url("/articles/again/"),
    ]


def test_reread_takes_the_old_address_from_the_database_not_the_instance(akamai_emulator, declare):
    Article.objects.create(slug="stored")
    declare({"testapp.Article": {"reread": True}})
    stale = Article.objects.get(slug="stored")
    Article.objects.filter(pk=stale.pk).update(slug="moved")  # no signal: the row changed
    stale.slug = "renamed"
    stale.save()
    assert akamai_emulator.accepted_objects() == [
        url("/articles/moved/"),
        url("/articles/renamed/"),
    ]


def test_an_instance_loaded_with_deferred_fields_reads_the_old_row(akamai_emulator, declare):
    Article.objects.create(slug="stored", title="t")
    declare(["testapp.Article"])
    partial = Article.objects.only("id", "title").get(slug="stored")
    Article.objects.filter(pk=partial.pk).update(slug="moved")
    partial.slug = "renamed"
    partial.save()
    assert akamai_emulator.accepted_objects() == [
        url("/articles/moved/"),
        url("/articles/renamed/"),
    ]


def test_an_explicit_primary_key_overwriting_a_row_purges_the_old_address(akamai_emulator, declare):
    existing = Article.objects.create(slug="before")
    declare(["testapp.Article"])
    Article(pk=existing.pk, slug="after").save()
    assert akamai_emulator.accepted_objects() == [url("/articles/before/"), url("/articles/after/")]


def test_a_delete_purges_the_url_taken_before_the_row_went(akamai_emulator, declare):
    article = Article.objects.create(slug="gone")
    declare(["testapp.Article"])
    article.delete()
    assert akamai_emulator.accepted_objects() == [url("/articles/gone/")]


def test_extra_urls_and_tags(akamai_emulator, declare):
    declare(
        {
            "testapp.Article": {
                "urls": ["/articles/", "https://www.example.com/feed.xml"],
                "tags": lambda article: [f"article-{article.slug}", "articles"],
            }
        }
    )
    Article.objects.create(slug="tagged")
    assert objects_by_request(akamai_emulator) == [
        ("url", [url("/articles/tagged/"), url("/articles/"), url("/feed.xml")]),
        ("tag", ["article-tagged", "articles"]),
    ]


def test_callables_see_the_old_and_the_new_state(akamai_emulator, declare):
    article = Article.objects.create(slug="a", title="Sport")
    declare({"testapp.Article": {"urls": lambda a: [f"/sections/{a.title.lower()}/"]}})
    article.title = "Politics"
    article.save()
    assert akamai_emulator.accepted_objects() == [
        url("/articles/a/"),
        url("/sections/sport/"),
        url("/sections/politics/"),
    ]


def test_a_model_without_get_absolute_url_purges_its_tags(akamai_emulator, declare):
    declare({"testapp.Note": {"tags": lambda note: [f"note-{note.pk}"]}})
    note = Note.objects.create(text="x")
    assert objects_by_request(akamai_emulator) == [("tag", [f"note-{note.pk}"])]


def test_per_model_options(akamai_emulator, declare):
    declare({"testapp.Page": {"options": {"action": "invalidate", "network": "staging"}}})
    Page.objects.create(path="/p/")
    [purge] = akamai_emulator.purges
    assert (purge.action, purge.network, list(purge.objects)) == (
        "invalidate",
        "staging",
        [url("/p/")],
    )


def test_proxies_and_cascades(akamai_emulator, declare):
    declare(["testapp.Article", "testapp.Comment"])
    proxy = ArticleProxy.objects.create(slug="via-proxy")
    assert akamai_emulator.accepted_objects() == [url("/articles/via-proxy/")]
    akamai_emulator.reset()
    comments = [Comment.objects.create(article=proxy) for _ in range(3)]
    akamai_emulator.reset()
    Article.objects.get(pk=proxy.pk).delete()  # deletes the comments in cascade
    # One delete is one transaction: the article and its comments in one request.
    assert akamai_emulator.counters["requests"] == 1
    assert sorted(akamai_emulator.accepted_objects()) == sorted(
        [url("/articles/via-proxy/")]
        + [url(f"/articles/via-proxy/comments/{c.pk}/") for c in comments]
    )


def test_an_object_with_no_page_purges_nothing(akamai_emulator, declare, monkeypatch):
    declare(["testapp.Article"])
    monkeypatch.setattr(Article, "get_absolute_url", lambda self: "")
    Article.objects.create(slug="draft")
    assert akamai_emulator.counters["requests"] == 0


# --- commit safety and coalescing ------------------------------------------------------


def test_a_thousand_saves_in_one_transaction_are_one_request(akamai_emulator, declare):
    declare(["testapp.Article"])
    with transaction.atomic():
        for i in range(1000):
            Article.objects.create(slug=f"bulk-{i}")
        assert akamai_emulator.counters["requests"] == 0
    assert akamai_emulator.counters["requests"] == 1
    assert len(akamai_emulator.accepted_objects()) == 1000


def test_a_rolled_back_save_purges_nothing(akamai_emulator, declare):
    declare(["testapp.Article"])
    with pytest.raises(ZeroDivisionError):
        with transaction.atomic():
            Article.objects.create(slug="never")
            1 / 0  # noqa: B018
    assert akamai_emulator.counters["requests"] == 0
    assert not Article.objects.filter(slug="never").exists()


def test_saves_and_signals_merge(akamai_emulator, declare):
    declare(["testapp.Article"])
    with transaction.atomic():
        Article.objects.create(slug="saved")
        purge_request.send("/home/")
    assert akamai_emulator.counters["requests"] == 1
    assert akamai_emulator.accepted_objects() == [url("/articles/saved/"), url("/home/")]


def test_saves_on_another_database_wait_for_its_commit(akamai_emulator, declare):
    declare(["testapp.Article"])
    with transaction.atomic(using="other"):
        Article.objects.using("other").create(slug="elsewhere")
        assert akamai_emulator.counters["requests"] == 0
    assert akamai_emulator.accepted_objects() == [url("/articles/elsewhere/")]


# --- delivery ------------------------------------------------------------------------------


def test_saves_record_intents_in_autocommit_mode_too(akamai_emulator, declare, settings):
    settings.AKAMAI_DELIVERY = "worker"  # nothing sent from this process: the rows stay
    declare(["testapp.Article"])
    for i in range(3):
        Article.objects.create(slug=f"q{i}")  # autocommit: recorded at once
    assert sorted(PurgeIntent.objects.values_list("value", flat=True)) == [
        url(f"/articles/q{i}/") for i in range(3)
    ]
    assert akamai_emulator.counters["requests"] == 0
    # The queue key is accepted and changes nothing: AKAMAI_DELIVERY decides.
    declare({"testapp.Article": {"queue": True}}, queue=True)
    Article.objects.create(slug="queued")
    assert PurgeIntent.objects.filter(value=url("/articles/queued/")).exists()
    assert akamai_emulator.counters["requests"] == 0


def test_celery_delivery_publishes_one_deliver_task_per_commit(
    memory_app, akamai_emulator, declare, settings
):
    settings.AKAMAI_DELIVERY = "celery"
    declare(["testapp.Article", "testapp.Page"])
    with transaction.atomic():
        for i in range(100):
            Article.objects.create(slug=f"c{i}")
        Page.objects.create(path="/now/")
    assert delivery.wait_idle(10)
    with memory_app.connection() as connection:
        channel = connection.default_channel
        names = []
        while (message := channel.basic_get("celery")) is not None:
            names.append(message.headers["task"])
    assert names == ["django_akamai.tasks.deliver_intents"]
    assert PurgeIntent.objects.count() == 101
    assert akamai_emulator.counters["requests"] == 0


# --- what is not purged, and errors ---------------------------------------------------------


def test_undeclared_models_keep_djangos_fast_paths(declare):
    declare(["testapp.Article"])
    assert pre_delete.has_listeners(Article) and pre_save.has_listeners(ArticleProxy)
    assert not pre_delete.has_listeners(Note)  # fast deletes stay on
    assert set(autopurge.active_models()) == {Article, ArticleProxy}
    declare(None)
    assert not pre_delete.has_listeners(Article)
    assert autopurge.active_models() == {}


def test_fixture_loading_is_not_purged(akamai_emulator, declare):
    declare(["testapp.Article"])
    data = json.dumps(
        [{"model": "testapp.article", "pk": 7, "fields": {"slug": "fixture", "title": ""}}]
    )
    for obj in serializers.deserialize("json", data):
        obj.save()  # a raw save, as loaddata does
    assert Article.objects.filter(slug="fixture").exists()
    assert akamai_emulator.counters["requests"] == 0


def test_a_failed_purge_is_kept_pending_and_the_save_stands(
    akamai_emulator, declare, akamai_logs, settings
):
    declare(["testapp.Article"])
    settings.AKAMAI_MAX_RETRIES = 0
    akamai_emulator.configure(fail_rate=1.0)
    Article.objects.create(slug="kept")
    assert Article.objects.filter(slug="kept").exists()
    [intent] = PurgeIntent.objects.all()
    assert (intent.value, intent.status, intent.attempts) == (
        url("/articles/kept/"),
        "pending",
        1,
    )
    assert intent.http_status in (500, 503, 504) and intent.next_attempt_at > intent.created_at
    [record] = [r for r in akamai_logs.records if "backed off" in r.getMessage()]
    assert "www.example.com/articles/kept/" in record.getMessage()


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param({"get_absolute_url": lambda self: 1 / 0}, id="get_absolute_url raises"),
        pytest.param({"get_absolute_url": lambda self: "ftp://x/"}, id="bad URL"),
        pytest.param({"get_absolute_url": lambda self: "/rel/"}, id="no AKAMAI_BASE_URL"),
    ],
)
def test_a_purge_that_cannot_be_planned_never_fails_the_save(
    akamai_emulator, declare, akamai_logs, settings, monkeypatch, broken
):
    declare({"testapp.Article": {"urls": ["https://www.example.com/list/"]}})
    settings.AKAMAI_BASE_URL = None
    for name, value in broken.items():
        monkeypatch.setattr(Article, name, value)
    article = Article.objects.create(slug="saved")
    assert Article.objects.filter(pk=article.pk).exists()
    # What could be planned is still purged; what could not is logged and kept visible.
    assert akamai_emulator.accepted_objects() == ["https://www.example.com/list/"]
    [failed] = PurgeIntent.objects.filter(status="failed")
    assert f"testapp.Article pk={article.pk}" in failed.value
    assert failed.error_title == "could not be planned" and failed.error_detail
    [record] = [r for r in akamai_logs.records if r.levelno == logging.ERROR]
    assert f"testapp.Article pk={article.pk}" in record.getMessage()


@pytest.mark.parametrize(
    "value, message",
    [
        ({"testapp.Nope": {}}, "no such model"),
        ("testapp.Article", "must be a dict"),
        ({"testapp.Article": {"url": []}}, "unknown key"),
        ({"testapp.Article": {"options": {"type": "tag"}}}, "options may set"),
        ({"testapp.Article": {"urls": 5}}, "'urls' must be"),
        ({"testapp.Note": {}}, "has no get_absolute_url"),
        ({"testapp.Article": ["urls"]}, "expected a dict"),
    ],
)
def test_bad_declarations_are_refused_at_once(declare, value, message):
    with pytest.raises(AkamaiConfigurationError, match=message):
        declare(value)


def test_a_bad_option_value_is_refused_at_once(declare):
    with pytest.raises(InvalidPurgeOptions, match="network"):
        declare({"testapp.Article": {"options": {"network": "prod"}}})
