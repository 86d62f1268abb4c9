"""Opt-in purging of bulk changes (``django_akamai.bulk``): ``update()``, ``bulk_create()`` and
``bulk_update()`` of a declared model record the old and the new state of every row they
change, as one set of purge intents in the caller's transaction. On SQLite, PostgreSQL and
MariaDB (``AKAMAI_TEST_DATABASE``; the Makefile's PIPELINE_TESTS). Counts only.
"""

from __future__ import annotations

import copy
import pickle
import re
import threading

import pytest
from django.db import connection, models, transaction
from django.db.models import F, Model, Value
from django.db.models.functions import Concat
from django.db.models.signals import post_init
from django.test.utils import CaptureQueriesContext

from django_akamai import bulk
from django_akamai.bulk import PurgingQuerySet, purging_bulk_changes
from django_akamai.exceptions import AkamaiConfigurationError
from django_akamai.models import PurgeIntent
from tests.testapp.models import Article, ArticleProxy, Note, Story

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "other"])

BASE = "https://www.example.com"


def url(path):
    return BASE + path


@pytest.fixture
def worker(akamai_emulator, settings):
    """Intents are recorded and stay (nothing is delivered from this process)."""
    settings.AKAMAI_DELIVERY = "worker"
    return akamai_emulator


@pytest.fixture
def stories(settings):
    """Three stories saved before Story is declared (their saves purge nothing)."""
    made = [Story.objects.create(slug=f"s{i}", title=f"T{i}") for i in range(3)]
    settings.AKAMAI_PURGE_MODELS = ["testapp.Story"]
    return made


def pending():
    return sorted(PurgeIntent.objects.values_list("value", flat=True))


def intent_inserts(queries):
    table = PurgeIntent._meta.db_table
    # SQLite's executemany is logged as "N times: INSERT ...".
    return [q for q in queries if re.match(r"(\d+ times: )?INSERT", q["sql"]) and table in q["sql"]]


# --- update() ------------------------------------------------------------------------------


def test_update_records_the_old_and_the_new_url_of_each_row_in_one_insert(worker, stories):
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        changed = Story.objects.filter(slug__in=["s0", "s1"]).update(
            slug=Concat(F("slug"), Value("-new"))
        )
        assert changed == 2
        # In the caller's transaction, as intents only: nothing sent yet.
        assert pending() == sorted(
            url(f"/stories/{slug}/") for slug in ("s0", "s0-new", "s1", "s1-new")
        )
    assert len(intent_inserts(queries.captured_queries)) == 1
    assert worker.counters["requests"] == 0
    assert sorted(Story.objects.values_list("slug", flat=True)) == ["s0-new", "s1-new", "s2"]


def test_nothing_is_sent_before_the_commit_and_all_of_it_after(akamai_emulator, stories):
    with transaction.atomic():
        Story.objects.filter(slug="s2").update(slug="moved")
        assert akamai_emulator.counters["requests"] == 0
    assert akamai_emulator.counters["requests"] == 1
    assert akamai_emulator.accepted_objects() == [url("/stories/s2/"), url("/stories/moved/")]


def test_an_update_on_another_database_waits_for_its_commit(akamai_emulator, settings):
    Story.objects.using("other").create(slug="elsewhere")
    settings.AKAMAI_PURGE_MODELS = ["testapp.Story"]
    with transaction.atomic(using="other"):
        Story.objects.using("other").update(slug="moved")
        assert akamai_emulator.counters["requests"] == 0
    assert akamai_emulator.accepted_objects() == [
        url("/stories/elsewhere/"),
        url("/stories/moved/"),
    ]
    assert Story.objects.count() == 0  # the default database was not touched


def test_a_rolled_back_update_purges_nothing(akamai_emulator, stories):
    with pytest.raises(ZeroDivisionError):
        with transaction.atomic():
            Story.objects.update(title="never")
            1 / 0  # noqa: B018
    assert PurgeIntent.objects.count() == 0
    assert akamai_emulator.counters["requests"] == 0
    assert not Story.objects.filter(title="never").exists()


def test_in_autocommit_mode_the_update_and_its_intents_commit_together(worker, stories):
    with CaptureQueriesContext(connection) as queries:
        assert Story.objects.filter(slug="s0").update(slug="auto") == 1
    assert pending() == [url("/stories/auto/"), url("/stories/s0/")]
    assert len(intent_inserts(queries.captured_queries)) == 1


def test_an_update_that_fails_records_nothing(worker, stories):
    with pytest.raises(Exception):  # noqa: B017 - the database's IntegrityError
        Story.objects.filter(slug="s0").update(slug="s1")  # unique
    assert PurgeIntent.objects.count() == 0


def test_rows_are_read_and_updated_a_chunk_at_a_time(worker, stories, monkeypatch):
    Story.objects.bulk_create([Story(slug=f"more{i}") for i in range(7)])  # purged too
    PurgeIntent.objects.all().delete()
    monkeypatch.setattr(bulk, "CHUNK_SIZE", 3)
    with CaptureQueriesContext(connection) as queries:
        assert Story.objects.update(views=F("views") + 1) == 10
    updates = [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 4  # ceil(10 / 3)
    assert set(Story.objects.values_list("views", flat=True)) == {1}
    assert len(pending()) == 10  # same URL before and after: each once
    assert len(intent_inserts(queries.captured_queries)) == 1


def test_a_values_queryset_and_deferred_fields_are_purged_whole(worker, stories):
    Story.objects.only("title").filter(slug="s0").update(title="x")
    Story.objects.filter(slug="s1").values("title").update(title="y")
    assert pending() == [url("/stories/s0/"), url("/stories/s1/")]


def test_tags_and_extra_urls_of_the_declaration_are_purged(worker, stories, settings):
    settings.AKAMAI_PURGE_MODELS = {
        "testapp.Story": {"urls": ["/stories/"], "tags": lambda s: [f"title-{s.title}"]}
    }
    Story.objects.filter(slug="s0").update(title="New")
    values = set(PurgeIntent.objects.values_list("object_type", "value"))
    assert values == {
        ("url", url("/stories/s0/")),
        ("url", url("/stories/")),
        ("tag", "title-T0"),
        ("tag", "title-New"),
    }


def test_a_model_not_declared_is_not_purged_and_not_read(worker, settings):
    Story.objects.create(slug="plain")
    settings.AKAMAI_PURGE_MODELS = ["testapp.Article"]
    with CaptureQueriesContext(connection) as queries:
        assert Story.objects.update(title="x") == 1
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["UPDATE"]
    assert PurgeIntent.objects.count() == 0


def test_queryset_delete_is_purged_already_by_the_delete_receivers(worker, stories):
    Story.objects.filter(slug__in=["s0", "s1"]).delete()
    assert pending() == [url("/stories/s0/"), url("/stories/s1/")]


def test_an_update_reads_the_new_state_only_for_an_expression(worker, stories):
    table = Story._meta.db_table
    with CaptureQueriesContext(connection) as by_value:
        assert Story.objects.filter(slug="s2").update(title="x") == 1
    with CaptureQueriesContext(connection) as by_expression:
        assert Story.objects.filter(slug__in=["s0", "s1"]).update(slug=F("slug")) == 2

    def on_stories(queries):
        # PostgreSQL streams the read through a server-side cursor: DECLARE ... SELECT.
        verbs = [q["sql"].split()[0] for q in queries.captured_queries if table in q["sql"]]
        return ["SELECT" if verb == "DECLARE" else verb for verb in verbs]

    # A value: the old rows, the UPDATE; the new state is the old row with the value set.
    assert on_stories(by_value) == ["SELECT", "UPDATE"]
    # An expression: the rows again after the UPDATE, as the database computed them.
    assert on_stories(by_expression) == ["SELECT", "UPDATE", "SELECT"]
    for queries in (by_value, by_expression):
        assert len(intent_inserts(queries.captured_queries)) == 1
    # Old and new URL the same: each recorded once.
    assert pending() == [url(f"/stories/s{i}/") for i in range(3)]


def test_the_rows_of_a_chunk_are_named_in_one_array_on_postgresql(worker, stories, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("pk__in elsewhere: no array parameter")
    monkeypatch.setattr(bulk, "CHUNK_SIZE", 2)
    stories[1].slug = "renamed"
    with CaptureQueriesContext(connection) as queries:
        assert Story.objects.update(views=F("views") + 1) == 3
        assert Story.objects.bulk_update([stories[1]], ["slug"]) == 1
    table = Story._meta.db_table
    by_key = [
        q["sql"] for q in queries.captured_queries if table in q["sql"] and "ANY(" in q["sql"]
    ]
    # update(): 2 UPDATEs and 2 reads of the new state; bulk_update(): 1 read of the old rows.
    assert [sql.split()[0] for sql in by_key] == ["UPDATE", "UPDATE", "SELECT", "SELECT", "SELECT"]
    assert set(Story.objects.values_list("views", flat=True)) == {1}
    assert pending() == sorted(url(f"/stories/{slug}/") for slug in ("s0", "s1", "s2", "renamed"))


def test_the_rows_read_for_the_purge_are_made_without_model_init(
    worker, stories, monkeypatch, settings
):
    made = []
    real_init = Model.__init__

    def counting_init(self, *args, **kwargs):
        made.append(type(self))
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(Model, "__init__", counting_init)
    seen = []

    def tags(story):
        seen.append((story.slug, story.title, story.views, story._state.adding, story._state.db))
        return [f"v{story.views}"]

    settings.AKAMAI_PURGE_MODELS = {"testapp.Story": {"tags": tags}}
    Story.objects.filter(slug__in=["s0", "s1"]).update(views=7)
    Story.objects.bulk_update([Story(pk=stories[2].pk, views=9)], ["views"])
    assert made.count(Story) == 1  # the object given to bulk_update(); none for the rows read
    # Each state is what the ORM would have made of the row: whole, loaded from this database.
    assert sorted(seen) == [
        ("s0", "T0", 0, False, "default"),
        ("s0", "T0", 7, False, "default"),
        ("s1", "T1", 0, False, "default"),
        ("s1", "T1", 7, False, "default"),
        ("s2", "T2", 0, False, "default"),
        ("s2", "T2", 9, False, "default"),
    ]
    tags_recorded = PurgeIntent.objects.filter(object_type="tag").values_list("value", flat=True)
    assert sorted(tags_recorded) == ["v0", "v7", "v9"]


def test_a_model_with_init_receivers_of_its_own_gets_the_orms_instances(worker, stories):
    loaded = []

    def remember(sender, instance, **kwargs):
        loaded.append(instance.slug)

    post_init.connect(remember, sender=Story, weak=False)
    try:
        Story.objects.filter(slug__in=["s0", "s1"]).update(title="x")
    finally:
        post_init.disconnect(remember, sender=Story)
    assert sorted(loaded) == ["s0", "s1"]  # the receiver saw every row read
    assert pending() == [url("/stories/s0/"), url("/stories/s1/")]


def test_a_field_whose_descriptor_transforms_what_is_set_gets_the_orms_instances(
    worker, settings, monkeypatch
):
    Story.objects.create(slug="quiet", title="lower")  # before Story is declared

    class Shouting:
        """A descriptor that changes the value set (as some third-party fields' do)."""

        def __get__(self, instance, owner):
            return self if instance is None else instance.__dict__["title"]

        def __set__(self, instance, value):
            instance.__dict__["title"] = value.upper()

    monkeypatch.setattr(Story, "title", Shouting())
    settings.AKAMAI_PURGE_MODELS = {"testapp.Story": {"tags": lambda s: [f"t-{s.title}"]}}
    Story.objects.filter(slug="quiet").update(views=1)
    tags = PurgeIntent.objects.filter(object_type="tag").values_list("value", flat=True)
    assert list(tags) == ["t-LOWER"]  # the instance the ORM makes, through the descriptor


def test_a_row_whose_url_cannot_be_made_is_kept_visible_and_the_others_purged(
    worker, stories, monkeypatch
):
    def get_absolute_url(self):
        if self.slug == "s1":
            raise ValueError("no page")
        return f"/stories/{self.slug}/"

    monkeypatch.setattr(Story, "get_absolute_url", get_absolute_url)
    assert Story.objects.update(title="x") == 3
    waiting = PurgeIntent.objects.filter(status="pending").values_list("value", flat=True)
    assert sorted(waiting) == [url("/stories/s0/"), url("/stories/s2/")]
    failed = PurgeIntent.objects.get(status="failed")  # its old and new state: one row
    assert "get_absolute_url()" in failed.value and "no page" in failed.error_detail


# --- bulk_create() and bulk_update() -----------------------------------------------------------


def test_bulk_create_purges_the_created_objects(worker, settings):
    settings.AKAMAI_PURGE_MODELS = {"testapp.Story": {"tags": lambda s: [f"story-{s.pk}"]}}
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        made = Story.objects.bulk_create([Story(slug=f"b{i}") for i in range(3)])
    assert len(intent_inserts(queries.captured_queries)) == 1
    expected = [url(f"/stories/b{i}/") for i in range(3)]
    if connection.features.can_return_rows_from_bulk_insert:  # the primary keys are known
        expected += [f"story-{obj.pk}" for obj in made]
    assert pending() == sorted(expected)


def test_an_upsert_purges_the_old_state_of_the_row_it_overwrites(worker, stories, settings):
    settings.AKAMAI_PURGE_MODELS = {"testapp.Story": {"tags": lambda s: [f"title-{s.title}"]}}
    # MySQL and MariaDB take no unique_fields: any unique column may conflict.
    target = ["slug"] if connection.features.supports_update_conflicts_with_target else None
    Story.objects.bulk_create(
        [Story(slug="s0", title="Upserted")],
        update_conflicts=True,
        update_fields=["title"],
        unique_fields=target,
    )
    assert Story.objects.get(slug="s0").title == "Upserted"
    assert set(PurgeIntent.objects.filter(object_type="tag").values_list("value", flat=True)) == {
        "title-T0",
        "title-Upserted",
    }


def test_bulk_update_purges_the_old_rows_and_the_new_state(worker, stories):
    # Objects that hold only what is updated: the rest of the new state is the stored row.
    objs = [Story(pk=stories[0].pk, slug="renamed-0"), Story(pk=stories[1].pk, slug="renamed-1")]
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        assert Story.objects.bulk_update(objs, ["slug"]) == 2
    assert pending() == sorted(
        url(f"/stories/{slug}/") for slug in ("s0", "renamed-0", "s1", "renamed-1")
    )
    assert len(intent_inserts(queries.captured_queries)) == 1
    selects = [q for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    story_selects = [q for q in selects if Story._meta.db_table in q["sql"]]
    assert len(story_selects) == 1  # the old rows; the new state needs no second read


def test_bulk_update_purges_the_state_stored_when_an_object_comes_twice(worker, stories):
    pk = stories[0].pk
    Story.objects.bulk_update([Story(pk=pk, slug="one"), Story(pk=pk, slug="two")], ["slug"])
    stored = Story.objects.get(pk=pk).slug
    assert pending() == sorted([url("/stories/s0/"), url(f"/stories/{stored}/")])


def test_bulk_update_with_an_expression_reads_the_new_state(worker, settings, stories):
    settings.AKAMAI_PURGE_MODELS = {"testapp.Story": {"tags": lambda s: [f"views-{s.views}"]}}
    stories[0].views = F("views") + 5
    Story.objects.bulk_update([stories[0]], ["views"])
    assert set(PurgeIntent.objects.filter(object_type="tag").values_list("value", flat=True)) == {
        "views-0",
        "views-5",
    }


def test_a_purge_that_cannot_be_planned_never_fails_the_change(worker, stories, settings):
    settings.AKAMAI_PURGE_MODELS = {"testapp.Story": {"tags": lambda s: [f"bad tag {s.slug}"]}}
    Story.objects.filter(slug="s0").update(title="still saved")
    assert Story.objects.get(slug="s0").title == "still saved"
    assert PurgeIntent.objects.filter(status="pending").count() == 1  # the URL
    assert PurgeIntent.objects.filter(status="failed").count() == 1  # the bad tag, visible


# --- purging_bulk_changes() ------------------------------------------------------------------


def test_the_block_makes_a_plain_manager_purge_and_stops_after_it(worker, settings):
    Article.objects.create(slug="a0")
    settings.AKAMAI_PURGE_MODELS = ["testapp.Article"]
    Article.objects.update(title="outside")  # a plain manager: Django's own update()
    assert PurgeIntent.objects.count() == 0
    with purging_bulk_changes(Article):
        Article.objects.filter(slug="a0").update(slug="a1")
        Article.objects.bulk_create([Article(slug="a2")])
        ArticleProxy.objects.filter(slug="a2").update(slug="a3")  # a declared proxy with it
    assert pending() == [url(f"/articles/a{i}/") for i in range(4)]
    PurgeIntent.objects.all().delete()
    Article.objects.update(title="after")
    assert type(Article.objects.all()) is type(Note.objects.all())  # the plain class again
    assert PurgeIntent.objects.count() == 0


def test_a_queryset_made_in_the_block_pickles_as_its_own_class(worker, settings):
    Article.objects.create(slug="a0")
    settings.AKAMAI_PURGE_MODELS = ["testapp.Article"]
    with purging_bulk_changes(Article):
        queryset = Article.objects.filter(slug="a0")
        restored = pickle.loads(pickle.dumps(queryset))
        assert type(copy.copy(queryset)) is type(queryset)
    assert type(restored) is type(Note.objects.all())
    assert [a.slug for a in restored] == ["a0"]


def test_the_block_without_models_covers_every_declared_model(worker, stories, settings):
    settings.AKAMAI_PURGE_MODELS = ["testapp.Article", "testapp.Story"]
    Article.objects.create(slug="a0")
    PurgeIntent.objects.all().delete()
    with purging_bulk_changes():
        Article.objects.update(title="x")
    assert pending() == [url("/articles/a0/")]


def test_the_block_purges_in_its_own_thread_only(worker, settings):
    Article.objects.create(slug="a0")
    settings.AKAMAI_PURGE_MODELS = ["testapp.Article"]
    inside, leave = threading.Event(), threading.Event()

    def block():
        with purging_bulk_changes(Article):
            inside.set()
            leave.wait(10)

    thread = threading.Thread(target=block)
    thread.start()
    try:
        assert inside.wait(10)
        Article.objects.update(title="not in the block")  # this thread: not purged
        assert PurgeIntent.objects.count() == 0
    finally:
        leave.set()
        thread.join(10)
    with purging_bulk_changes(Article), purging_bulk_changes(Article):  # nested
        Article.objects.update(slug="a1")
    assert pending() == [url("/articles/a0/"), url("/articles/a1/")]


def test_the_block_refuses_a_model_not_declared(settings):
    settings.AKAMAI_PURGE_MODELS = ["testapp.Article"]
    with pytest.raises(AkamaiConfigurationError, match="testapp.Note is not declared"):
        with purging_bulk_changes(Note):
            pass  # pragma: no cover


def test_a_manager_from_the_queryset_purges(worker, stories):
    manager = models.Manager.from_queryset(PurgingQuerySet)()
    manager.model = Story
    manager.filter(slug="s0").update(slug="via-manager")
    assert pending() == [url("/stories/s0/"), url("/stories/via-manager/")]


def test_djangos_own_errors_stand_and_nothing_is_recorded(worker, settings):
    article = Article.objects.create(slug="a0")
    settings.AKAMAI_PURGE_MODELS = ["testapp.Article"]
    with purging_bulk_changes(Article):
        with pytest.raises(ValueError, match="concrete fields"):
            Article.objects.bulk_update([article], ["categories"])
        with pytest.raises(TypeError, match="slice"):
            Article.objects.all()[:1].update(title="x")
    assert PurgeIntent.objects.count() == 0
