"""The original's signals: every sender kind, the option keywords, the Celery import guard."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.db import transaction

from django_akamai import signals
from django_akamai.exceptions import NoBaseURLConfigured, UnsupportedPurgeObject
from django_akamai.signals import purge_request
from tests.testapp.models import Article, Note, Page

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent
BASE = "https://www.example.com"


@pytest.fixture
def articles():
    return [Article.objects.create(slug=slug) for slug in ("one", "two", "three")]


SENDERS = {
    "url": (lambda arts: "https://www.example.com/news/", [f"{BASE}/news/"]),
    "url list": (lambda arts: ["/a/", "/b/", "/a/"], [f"{BASE}/a/", f"{BASE}/b/"]),
    "instance": (lambda arts: arts[0], [f"{BASE}/articles/one/"]),
    "queryset": (
        lambda arts: Article.objects.order_by("pk"),
        [f"{BASE}/articles/{s}/" for s in ("one", "two", "three")],
    ),
    "mixed list": (
        lambda arts: [arts[1], "/x/", Article.objects.filter(slug="three")],
        [f"{BASE}/articles/two/", f"{BASE}/x/", f"{BASE}/articles/three/"],
    ),
}


@pytest.mark.parametrize("kind", SENDERS)
def test_every_sender_kind_purges_now(akamai_emulator, articles, kind):
    make, expected = SENDERS[kind]
    [(receiver, results)] = purge_request.send(make(articles))
    assert receiver is signals.purge_now
    assert len(results) == 1 and results[0]["purgeId"]
    [purge] = akamai_emulator.purges
    assert list(purge.objects) == expected
    assert (purge.action, purge.type, purge.network) == ("delete", "url", "production")


@pytest.mark.parametrize("kind", SENDERS)
def test_every_sender_kind_waits_for_the_commit(akamai_emulator, articles, kind):
    make, expected = SENDERS[kind]
    with transaction.atomic():
        assert purge_request.send(make(articles)) == [(signals.purge_now, None)]
        assert akamai_emulator.purges == []
    assert akamai_emulator.accepted_objects() == expected


def test_keywords_choose_action_network_and_type(akamai_emulator, articles):
    purge_request.send(articles[0], action="invalidate", network="staging")
    purge_request.send(["news", "article-1"], type="tag")
    purge_request.send([1234, "5678"], type="cpcode", action="invalidate")
    purge_request.send("/old/", options={"action": "invalidate", "domain": "staging"})
    shapes = [(p.action, p.network, p.type, list(p.objects)) for p in akamai_emulator.purges]
    assert shapes == [
        ("invalidate", "staging", "url", [f"{BASE}/articles/one/"]),
        ("delete", "production", "tag", ["news", "article-1"]),
        ("invalidate", "production", "cpcode", [1234, 5678]),
        ("invalidate", "staging", "url", [f"{BASE}/old/"]),
    ]


def test_default_options_come_from_the_settings(akamai_emulator, settings):
    settings.AKAMAI_PURGE_OPTIONS = {"action": "invalidate"}
    purge_request.send("/a")
    [purge] = akamai_emulator.purges
    assert purge.action == "invalidate"


def test_the_original_v2_api(akamai_emulator_v2, articles):
    purge_request.send(Page.objects.create(path="/page/"))
    purge_request.send(articles[0], action="invalidate", domain="staging")
    shapes = [
        (p.api, p.action, p.type, p.network, list(p.objects)) for p in akamai_emulator_v2.purges
    ]
    assert shapes == [
        ("v2", "remove", "arl", "production", [f"{BASE}/page/"]),
        ("v2", "invalidate", "arl", "staging", [f"{BASE}/articles/one/"]),
    ]


def test_a_misspelt_keyword_raises_and_sends_nothing(akamai_emulator):
    with pytest.raises(TypeError, match="netwrok"):
        purge_request.send("/a", netwrok="staging")
    assert akamai_emulator.counters["requests"] == 0


def test_bad_senders_raise_before_anything_is_sent(akamai_emulator, settings):
    note = Note.objects.create(text="no url")
    with pytest.raises(UnsupportedPurgeObject, match="get_absolute_url") as info:
        purge_request.send(note)
    assert isinstance(info.value, TypeError)  # as in the original
    with pytest.raises(TypeError):
        purge_request.send(object())
    settings.AKAMAI_BASE_URL = None
    with transaction.atomic():
        with pytest.raises(NoBaseURLConfigured):
            purge_request.send("/relative")
    assert akamai_emulator.counters["requests"] == 0


def test_an_empty_queryset_sends_nothing(akamai_emulator):
    [(_, results)] = purge_request.send(Article.objects.none())
    assert results == []
    with transaction.atomic():
        purge_request.send([])
    assert akamai_emulator.counters["requests"] == 0


def test_other_receivers_still_get_the_sender(akamai_emulator):
    seen = []

    def spy(sender, **kwargs):
        seen.append(sender)

    purge_request.connect(spy)
    try:
        purge_request.send(["/a"])
    finally:
        purge_request.disconnect(spy)
    assert seen == [["/a"]]


def _import_signals(prelude: str) -> subprocess.CompletedProcess:
    code = prelude + textwrap.dedent("""
        import django
        django.setup()
        import django_akamai.signals as s
        print("queue:", hasattr(s, "queue_purge_request"), "purge:", hasattr(s, "purge_request"))
    """)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_queue_purge_request_exists_with_celery():
    assert hasattr(signals, "queue_purge_request")
    done = _import_signals("")
    assert done.stdout.strip() == "queue: True purge: True", done.stderr


def test_queue_purge_request_is_absent_without_celery():
    # None in sys.modules makes "import celery" raise ImportError.
    done = _import_signals("import sys; sys.modules['celery'] = None\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "queue: False purge: True"


def test_the_guard_catches_only_import_errors():
    prelude = textwrap.dedent("""
        import sys
        class Broken:
            def find_spec(self, name, path=None, target=None):
                if name == "celery":
                    raise RuntimeError("celery is broken in an unexpected way")
        sys.meta_path.insert(0, Broken())
    """)
    done = _import_signals(prelude)
    assert done.returncode != 0
    assert "RuntimeError: celery is broken in an unexpected way" in done.stderr
