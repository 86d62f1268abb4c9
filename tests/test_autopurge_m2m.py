"""Automatic purging of many-to-many changes (m2m_changed), against the emulator.

``article.categories.add(c)`` saves neither model; a declared side is purged like a save,
through the same path (purge intents in the changing transaction).
"""

import pytest
from django.db import transaction

from django_akamai.models import PurgeIntent
from tests.testapp.models import Article, Category

pytestmark = pytest.mark.django_db(transaction=True)

BASE = "https://www.example.com"


def url(path):
    return BASE + path


@pytest.fixture
def declare(settings):
    def set_models(value):
        settings.AKAMAI_PURGE_MODELS = value

    return set_models


@pytest.fixture
def linked():
    """An article and two categories, created before anything is declared."""
    article = Article.objects.create(slug="a")
    news, sport = Category.objects.create(slug="news"), Category.objects.create(slug="sport")
    return article, news, sport


def test_add_purges_the_declared_article(akamai_emulator, declare, linked):
    article, news, _ = linked
    declare(["testapp.Article"])
    article.categories.add(news)
    assert akamai_emulator.accepted_objects() == [url("/articles/a/")]


def test_remove_clear_and_set_purge_like_a_save(akamai_emulator, declare, linked):
    article, news, sport = linked
    article.categories.add(news, sport)
    declare(["testapp.Article"])
    article.categories.remove(news)
    article.categories.clear()
    article.categories.set([news])
    # One purge for each change; set() from nothing is one add.
    assert akamai_emulator.accepted_objects() == [url("/articles/a/")] * 3


def test_a_change_that_links_nothing_purges_nothing(akamai_emulator, declare, linked):
    article, news, _ = linked
    article.categories.add(news)
    declare(["testapp.Article"])
    article.categories.add(news)  # already linked
    article.categories.remove()  # nothing named
    Article.objects.create(slug="b").categories.clear()  # nothing linked
    assert akamai_emulator.accepted_objects() == [url("/articles/b/")]  # only b's creation


def test_both_declared_sides_are_purged(akamai_emulator, declare, linked):
    article, news, sport = linked
    declare(["testapp.Article", "testapp.Category"])
    article.categories.add(news, sport)
    assert sorted(akamai_emulator.accepted_objects()) == [
        url("/articles/a/"),
        url("/categories/news/"),
        url("/categories/sport/"),
    ]


def test_the_reverse_side_purges_the_declared_articles(akamai_emulator, declare, linked):
    article, news, _ = linked
    other = Article.objects.create(slug="b")
    declare(["testapp.Article"])  # Category is not declared: only the articles
    news.articles.add(article, other)
    assert sorted(akamai_emulator.accepted_objects()) == [url("/articles/a/"), url("/articles/b/")]


def test_clear_from_the_reverse_side_purges_the_articles_it_unlinked(
    akamai_emulator, declare, linked
):
    article, news, sport = linked
    other = Article.objects.create(slug="b")
    article.categories.add(news)
    other.categories.add(sport)
    declare(["testapp.Article"])
    news.articles.clear()
    assert akamai_emulator.accepted_objects() == [url("/articles/a/")]


def test_urls_computed_from_the_relation_see_before_and_after(akamai_emulator, declare, linked):
    article, news, sport = linked
    article.categories.add(news)
    declare(
        {
            "testapp.Article": {
                "urls": lambda a: [c.get_absolute_url() for c in a.categories.all()],
            }
        }
    )
    article.categories.set([sport])  # removes news, then adds sport, in one transaction
    assert akamai_emulator.accepted_objects() == [
        url("/articles/a/"),
        url("/categories/news/"),  # removed: its page still listed the article
        url("/categories/sport/"),
    ]
    assert len(akamai_emulator.purges) == 1  # one transaction, one request


def test_inside_a_transaction_it_waits_for_the_commit(akamai_emulator, declare, linked):
    article, news, _ = linked
    declare(["testapp.Article"])
    with transaction.atomic():
        article.categories.add(news)
        assert PurgeIntent.objects.count() == 1
        assert akamai_emulator.accepted_objects() == []
    assert akamai_emulator.accepted_objects() == [url("/articles/a/")]


def test_rolled_back_change_purges_nothing(akamai_emulator, declare, linked):
    article, news, _ = linked
    declare(["testapp.Article"])
    with pytest.raises(RuntimeError), transaction.atomic():
        article.categories.add(news)
        raise RuntimeError("roll back")
    assert akamai_emulator.accepted_objects() == []
    assert PurgeIntent.objects.count() == 0


def test_undeclared_models_are_not_listened_to(akamai_emulator, declare, linked):
    from django.db.models.signals import m2m_changed

    article, news, _ = linked
    declare(None)
    assert not m2m_changed.has_listeners(Article.categories.through)
    article.categories.add(news)
    assert akamai_emulator.accepted_objects() == []
    declare(["testapp.Category"])  # one declared side is enough
    assert m2m_changed.has_listeners(Article.categories.through)
