"""Edge-Cache-Tag on responses: views, templates, decorator, middleware, limits, prefix."""

import logging

import pytest

from django_akamai.cache_tags import model_tag, object_tags, tags_from
from django_akamai.exceptions import InvalidTag
from django_akamai.purge import PurgeRequest
from tests import tagging_views
from tests.testapp.models import Article

pytestmark = pytest.mark.django_db


def header_tags(response):
    return response["Edge-Cache-Tag"].split(",")


@pytest.fixture
def three():
    return [Article.objects.create(slug=s) for s in ("one", "two", "three")]


def test_list_page_carries_exactly_its_objects_tags_and_the_list_tag(client, three):
    response = client.get("/tagged/articles/")
    assert response.status_code == 200
    assert header_tags(response) == ["testapp.article"] + [f"testapp.article.{a.pk}" for a in three]


def test_detail_page_from_decorator_with_callable(client, three):
    response = client.get("/tagged/articles/two/")
    assert header_tags(response) == ["homepage", f"testapp.article.{three[1].pk}"]


def test_embedding_page_tagged_explicitly(client, three):
    response = client.get("/tagged/embed/three/")
    assert header_tags(response) == [f"testapp.article.{three[2].pk}", "sidebar"]


def test_class_based_view_and_template_rendered_later(client, three):
    response = client.get("/tagged/cbv/one/")
    assert header_tags(response) == ["cbv", f"testapp.article.{three[0].pk}"]


def test_streaming_response_is_tagged(client):
    response = client.get("/tagged/stream/")
    assert response.streaming
    assert header_tags(response) == ["stream"]
    assert b"".join(response.streaming_content) == b"ab"


def test_django_cache_hits_keep_the_header(client):
    first = client.get("/tagged/cached/")
    second = client.get("/tagged/cached/")
    assert second.content == first.content, "the second answer came from Django's cache"
    assert tagging_views.CALLS["cached"] == 1
    assert header_tags(second) == ["cached-page"]


def test_at_most_128_tags_invalid_ones_dropped_with_warnings(client, caplog):
    caplog.set_level(logging.WARNING, logger="django_akamai")
    response = client.get("/tagged/many/")
    tags = header_tags(response)
    assert tags == [f"t{i}" for i in range(128)]
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "'bad tag'" in messages
    assert "t128" in messages and "t199" in messages


def test_prefix_applies_to_responses_and_purges_alike(client, settings, three, akamai_emulator):
    settings.AKAMAI_CACHE_TAG_PREFIX = "site1-"
    response = client.get("/tagged/embed/one/")
    assert header_tags(response) == [f"site1-testapp.article.{three[0].pk}", "site1-sidebar"]
    pr = PurgeRequest(options={"type": "tag"})
    pr.add([three[0], "sidebar"])
    pr.purge()
    assert akamai_emulator.accepted_objects() == header_tags(response)


def test_no_tags_no_header(client, three):
    response = client.get("/admin/login/")
    assert "Edge-Cache-Tag" not in response


def test_get_cache_tags_convention_wins():
    class Thing:
        def get_cache_tags(self):
            return ["thing-7", "things"]

    assert object_tags(Thing()) == ["thing-7", "things"]
    assert tags_from(Thing(), "x", Article) == ["thing-7", "things", "x", "testapp.article"]
    assert model_tag(Article) == "testapp.article"


def test_unsaved_object_has_no_default_tag():
    with pytest.raises(InvalidTag, match="not a saved model instance"):
        object_tags(Article(slug="new"))


def test_purge_by_tag_from_objects_and_querysets(akamai_emulator, three):
    pr = PurgeRequest(options={"type": "tag", "action": "invalidate"})
    pr.add(Article.objects.order_by("pk"))
    pr.add("homepage")
    pr.purge_all()
    [purge] = akamai_emulator.purges
    assert purge.type == "tag"
    # A QuerySet brings its model's list tag first, as on the response side (tags_from).
    assert list(purge.objects) == ["testapp.article"] + [
        f"testapp.article.{a.pk}" for a in three
    ] + ["homepage"]


def test_invalid_tag_refused_before_sending_and_named(akamai_emulator):
    pr = PurgeRequest(options={"type": "tag"})
    with pytest.raises(InvalidTag, match="'no spaces please'"):
        pr.add(["fine", "no spaces please"])
    assert pr.urls == []
    assert akamai_emulator.counters["requests"] == 0


# --- automatic purging by tag (AKAMAI_PURGE_MODELS cache_tags) ------------------------------


@pytest.mark.django_db(transaction=True)
def test_saving_one_shown_object_purges_exactly_its_tags_once_after_commit(
    client, settings, akamai_emulator
):
    from django.db import transaction

    settings.AKAMAI_PURGE_MODELS = {"testapp.Article": {"cache_tags": True}}
    shown = [Article.objects.create(slug=s) for s in ("one", "two", "three")]
    page_tags = header_tags(client.get("/tagged/articles/"))
    assert page_tags == ["testapp.article"] + [f"testapp.article.{a.pk}" for a in shown]
    akamai_emulator.reset()

    with transaction.atomic():
        shown[1].title = "changed"
        shown[1].save()
        shown[1].save()
        assert akamai_emulator.purges == [], "nothing goes out before the commit"
    [purge] = akamai_emulator.purges
    assert purge.type == "tag"
    assert list(purge.objects) == [f"testapp.article.{shown[1].pk}", "testapp.article"]
    assert set(purge.objects) <= set(page_tags), "only tags the page carried"


@pytest.mark.django_db(transaction=True)
def test_deleting_an_object_purges_its_tag_and_the_list_tag(settings, akamai_emulator):
    settings.AKAMAI_PURGE_MODELS = {"testapp.Article": {"cache_tags": True}}
    article = Article.objects.create(slug="gone")
    pk = article.pk
    akamai_emulator.reset()
    article.delete()
    [purge] = akamai_emulator.purges
    assert (purge.type, list(purge.objects)) == (
        "tag",
        [f"testapp.article.{pk}", "testapp.article"],
    )


@pytest.mark.django_db(transaction=True)
def test_tag_purges_through_both_signals(eager_celery, akamai_emulator):
    from django_akamai.signals import purge_request, queue_purge_request

    article = Article.objects.create(slug="sig")
    purge_request.send(article, type="tag")
    queue_purge_request.send(Article.objects.filter(pk=article.pk), type="tag", action="invalidate")
    assert [(p.type, p.action, list(p.objects)) for p in akamai_emulator.purges] == [
        ("tag", "delete", [f"testapp.article.{article.pk}"]),
        ("tag", "invalidate", ["testapp.article", f"testapp.article.{article.pk}"]),
    ]


@pytest.mark.django_db(transaction=True)
def test_tag_purges_through_the_task_and_the_command(eager_celery, akamai_emulator):
    from django.core.management import call_command

    from django_akamai.tasks import PurgeRequestTask

    article = Article.objects.create(slug="cmd")
    assert PurgeRequestTask.delay([article, "homepage"], type="tag").get() == 2
    call_command("akamai_purge", "--tag", "blog.article", "--tag", "homepage", "--quiet")
    assert [list(p.objects) for p in akamai_emulator.purges] == [
        [f"testapp.article.{article.pk}", "homepage"],
        ["blog.article", "homepage"],
    ]
    assert {p.type for p in akamai_emulator.purges} == {"tag"}


@pytest.mark.parametrize("tag", ["news\n", "news/world", "news\r\n", "\nnews"])
def test_a_tag_is_checked_to_its_end_and_a_slash_is_refused(tag):
    # "$" matched before a final newline, and Akamai's table of disallowed characters
    # lists "/" (AKAMAI_API.md §1): both are refused before anything is sent or recorded.
    from django_akamai.exceptions import InvalidTag
    from django_akamai.normalise.tags import validate_tag

    with pytest.raises(InvalidTag, match="characters Akamai does not allow"):
        validate_tag(tag)
