"""Automatic purges inside a transaction, or a ``suspend_purges()`` block, are planned together
when the transaction's intents are written (or the block ends), not one save at a time
(``funnel.record_each``), with every guarantee of a save's own purge. Runs on SQLite, and on
PostgreSQL and MariaDB with ``AKAMAI_TEST_DATABASE`` (the Makefile's PIPELINE_TESTS)."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from django_akamai import funnel, suspend_purges
from django_akamai.models import PurgeIntent
from tests.testapp.models import Article

pytestmark = pytest.mark.django_db(transaction=True)

BASE = "https://www.example.com"


class Rollback(Exception):
    pass


@pytest.fixture(autouse=True)
def worker_mode(settings):
    """Record only: nothing is delivered while the test looks at the table."""
    settings.AKAMAI_DELIVERY = "worker"


@pytest.fixture
def plans(monkeypatch):
    """Every call of ``funnel.plan`` (it still plans): the values each was given."""
    calls = []
    real = funnel.plan

    def counted(objects, *args, **kwargs):
        calls.append(list(objects) if isinstance(objects, (list, tuple)) else [objects])
        return real(objects, *args, **kwargs)

    monkeypatch.setattr(funnel, "plan", counted)
    return calls


def declare(settings, **extra):
    settings.AKAMAI_PURGE_MODELS = {"testapp.Article": extra}


def pending():
    return sorted(PurgeIntent.objects.filter(status="pending").values_list("value", flat=True))


def failed():
    return list(PurgeIntent.objects.filter(status="failed").values_list("value", flat=True))


def page(slug):
    return f"{BASE}/articles/{slug}/"


def bad_for(slug):
    """A ``urls`` declaration that gives the article ``slug`` a URL no purge can take."""
    return lambda article: ["ftp://www.example.com/x"] if article.slug == slug else []


def test_a_transactions_saves_are_planned_once_when_it_commits(settings, plans):
    declare(settings)
    with transaction.atomic():
        for i in range(200):
            Article.objects.create(slug=f"a-{i}")
        assert plans == []  # nothing planned, nothing written yet
    assert len(plans) == 1 and len(plans[0]) == 200
    assert pending() == sorted(page(f"a-{i}") for i in range(200))


def test_one_bad_value_in_a_transaction_is_kept_visible_and_the_others_are_purged(settings):
    declare(settings, urls=bad_for("bad"))
    with transaction.atomic():
        Article.objects.create(slug="good")
        bad = Article.objects.create(slug="bad")
        Article.objects.create(slug="other")
    assert pending() == [page("bad"), page("good"), page("other")]
    [value] = failed()
    assert f"testapp.Article pk={bad.pk}" in value and "ftp://" in value


def test_saves_in_a_savepoint_that_rolled_back_are_neither_planned_nor_recorded(settings):
    declare(settings, urls=bad_for("undone"))
    with transaction.atomic():
        Article.objects.create(slug="before")
        with pytest.raises(Rollback), transaction.atomic():
            Article.objects.create(slug="undone")
            raise Rollback
        Article.objects.create(slug="after")
    assert pending() == [page("after"), page("before")]
    assert failed() == []  # the bad value was never planned either


def test_a_rolled_back_transaction_plans_nothing(settings, plans):
    declare(settings)
    with pytest.raises(Rollback), transaction.atomic():
        Article.objects.create(slug="gone")
        raise Rollback
    assert plans == [] and PurgeIntent.objects.count() == 0


def test_the_transaction_reads_its_own_purges(settings):
    declare(settings)
    with transaction.atomic():
        Article.objects.create(slug="seen")
        assert PurgeIntent.objects.filter(value=page("seen")).exists()
        Article.objects.create(slug="later")
    assert pending() == [page("later"), page("seen")]


def test_an_article_saved_twice_is_stored_once_with_both_addresses(settings):
    declare(settings)
    with transaction.atomic():
        article = Article.objects.create(slug="first")
        article.slug = "second"
        article.save()
        article.save()
    assert pending() == [page("first"), page("second")]


def test_inside_suspend_purges_saves_are_planned_once_when_the_block_ends(settings, plans):
    declare(settings)
    with suspend_purges() as held:
        for i in range(50):
            Article.objects.create(slug=f"s-{i}")
        assert plans == [] and PurgeIntent.objects.count() == 0
        assert held.count == 50
    assert len(plans) == 1 and len(plans[0]) == 50
    assert pending() == sorted(page(f"s-{i}") for i in range(50))
    assert sorted(obj for p in held.purged for obj in p.objects) == pending()


def test_a_bad_value_inside_suspend_purges_is_kept_visible_when_the_block_ends(settings):
    declare(settings, urls=bad_for("bad"))
    with suspend_purges() as held:
        Article.objects.create(slug="good")
        bad = Article.objects.create(slug="bad")
        assert held.count == 3  # two pages and the bad URL, as given
        assert failed() == []
    assert pending() == [page("bad"), page("good")]
    [value] = failed()
    assert f"testapp.Article pk={bad.pk}" in value


def test_a_suspended_transaction_writes_its_intents_in_one_statement(settings):
    declare(settings)
    with CaptureQueriesContext(connection) as queries:
        with transaction.atomic(), suspend_purges():
            for i in range(300):
                Article.objects.create(slug=f"t-{i}")
    inserts = [q for q in queries if "INSERT" in q["sql"] and "purgeintent" in q["sql"]]
    assert len(inserts) == 1
    assert len(pending()) == 300
