"""AkamaiBackend with a real Wagtail against the emulator, over real HTTP.

Every purge goes Wagtail signal → Wagtail's purge task (the immediate django-tasks backend)
→ AkamaiBackend → django-akamai's commit-safe door → the emulator. The assertions count what
the emulator accepted (``GET /emulator/purges``): once, after the commit, nothing on rollback.
"""

from __future__ import annotations

import pytest
from django.db import transaction

pytestmark = pytest.mark.django_db(transaction=True)

WWW = "https://www.example.com"
AKAMAI_APP = "django_akamai.contrib.wagtail"
BLOG = "https://blog.example.org"


def url_purges(purges):
    return [p for p in purges() if p["type"] == "url"]


def test_publish_purges_the_page_once_after_the_commit(site_tree, emulator_purges):
    about = site_tree.about
    about.title = "About us"
    with transaction.atomic():
        about.save_revision().publish()
        assert emulator_purges() == []  # nothing leaves before the commit
    [purge] = emulator_purges()
    assert purge["objects"] == [f"{WWW}/about/"]
    assert purge["action"] == "invalidate"
    assert purge["network"] == "production"


def test_a_publish_only_records_the_purge(site_tree, emulator_purges, settings):
    """The publish (Wagtail's own, not in a transaction) never talks to Akamai: it records a
    purge intent, and a deliverer sends it (here ``manage.py akamai_worker``'s job)."""
    from django_akamai.delivery.worker import deliver_pending
    from django_akamai.models import PurgeIntent

    settings.AKAMAI_DELIVERY = "worker"
    site_tree.about.save_revision().publish()
    assert emulator_purges() == []
    assert list(PurgeIntent.objects.values_list("value", flat=True)) == [f"{WWW}/about/"]
    deliver_pending()
    [purge] = emulator_purges()
    assert purge["objects"] == [f"{WWW}/about/"]
    assert not PurgeIntent.objects.exists()


def test_site_switches_apply_to_wagtail_purges(site_tree, emulator_purges, settings):
    from django_akamai import suspend_purges
    from django_akamai.models import PurgeIntent

    settings.AKAMAI_PURGE_ENABLED = False
    site_tree.about.save_revision().publish()
    assert emulator_purges() == [] and not PurgeIntent.objects.exists()

    settings.AKAMAI_PURGE_ENABLED = True
    with suspend_purges():  # a bulk job: everything once, at the end
        site_tree.about.save_revision().publish()
        site_tree.news.save_revision().publish()
        assert emulator_purges() == []
    [purge] = emulator_purges()
    assert sorted(purge["objects"]) == [f"{BLOG}/news/", f"{WWW}/about/"]


def test_publish_in_a_rolled_back_transaction_purges_nothing(site_tree, emulator_purges):
    with pytest.raises(RuntimeError), transaction.atomic():
        site_tree.about.save_revision().publish()
        raise RuntimeError("roll back")
    assert emulator_purges() == []


def test_cached_paths_are_purged_together(site_tree, emulator_purges):
    with transaction.atomic():
        site_tree.blog.save_revision().publish()
    [purge] = emulator_purges()
    assert sorted(purge["objects"]) == [f"{WWW}/blog/", f"{WWW}/blog/feed/"]


def test_unpublish_purges_the_page(site_tree, emulator_purges):
    with transaction.atomic():
        site_tree.post.unpublish()
    [purge] = emulator_purges()
    assert purge["objects"] == [f"{WWW}/blog/post/"]


def test_delete_purges_the_page_and_its_live_descendants(site_tree, emulator_purges):
    from wagtail.actions.delete_page import DeletePageAction

    DeletePageAction(site_tree.blog.specific).execute(skip_permission_checks=True)
    [purge] = emulator_purges()
    assert sorted(purge["objects"]) == [f"{WWW}/blog/", f"{WWW}/blog/feed/", f"{WWW}/blog/post/"]


def test_move_purges_old_and_new_urls_of_the_subtree(site_tree, emulator_purges, settings):
    from django_akamai.delivery.worker import deliver_pending

    # One delivery after the move, as a deliverer's window gives: Wagtail's redirects app
    # purges the old URLs without their slash again, after the move's commit; the identical
    # intents are stored once.
    settings.AKAMAI_DELIVERY = "worker"
    site_tree.blog.move(site_tree.about, pos="last-child")
    deliver_pending()
    [purge] = emulator_purges()
    assert sorted(purge["objects"]) == sorted(
        [
            f"{WWW}/blog/",
            f"{WWW}/blog/feed/",
            f"{WWW}/blog/post/",
            # Without the slash: where Django's APPEND_SLASH answered with a redirect.
            f"{WWW}/blog",
            f"{WWW}/blog/feed",
            f"{WWW}/blog/post",
            f"{WWW}/about/blog/",
            f"{WWW}/about/blog/feed/",
            f"{WWW}/about/blog/post/",
        ]
    )


def test_move_to_another_site_purges_both_hostnames(site_tree, emulator_purges):
    with transaction.atomic():
        site_tree.post.move(site_tree.other_home, pos="last-child")
        assert emulator_purges() == []
    [purge] = emulator_purges()
    assert sorted(purge["objects"]) == [f"{BLOG}/post/", f"{WWW}/blog/post", f"{WWW}/blog/post/"]


def test_reorder_among_siblings_purges_nothing(site_tree, emulator_purges):
    site_tree.about.move(site_tree.blog, pos="right")
    assert emulator_purges() == []


def test_two_sites_in_one_transaction_make_one_request(site_tree, emulator_purges):
    with transaction.atomic():
        site_tree.about.save_revision().publish()
        site_tree.news.save_revision().publish()
    [purge] = emulator_purges()
    assert sorted(purge["objects"]) == [f"{BLOG}/news/", f"{WWW}/about/"]


def test_hostnames_send_each_host_to_its_own_backend(site_tree, emulator_purges, settings):
    settings.WAGTAILFRONTENDCACHE = {
        "www": {
            "BACKEND": "django_akamai.contrib.wagtail.AkamaiBackend",
            "HOSTNAMES": ["www.example.com"],
            "NETWORK": "staging",
        },
        "blog": {
            "BACKEND": "django_akamai.contrib.wagtail.AkamaiBackend",
            "HOSTNAMES": ["blog.example.org"],
        },
    }
    with transaction.atomic():
        site_tree.about.save_revision().publish()
        site_tree.news.save_revision().publish()
    by_network = {p["network"]: p["objects"] for p in emulator_purges()}
    assert by_network == {"staging": [f"{WWW}/about/"], "production": [f"{BLOG}/news/"]}


def test_backend_settings_are_checked_when_wagtail_builds_the_backend():
    from django.core.exceptions import ImproperlyConfigured

    from django_akamai.contrib.wagtail import AkamaiBackend

    with pytest.raises(ImproperlyConfigured, match="CLIENT_SECRET.*AKAMAI_CCU_CLIENT_SECRET") as e:
        AkamaiBackend({"CLIENT_SECRET": "s3cr3t"})
    assert "s3cr3t" not in str(e.value) + repr(e.value.args)
    with pytest.raises(ImproperlyConfigured, match="Unknown action"):
        AkamaiBackend({"ACTION": "flush"})


def test_system_check_reports_a_bad_backend_setting(settings):
    from django.core import checks

    settings.WAGTAILFRONTENDCACHE = {
        "akamai": {"BACKEND": "django_akamai.contrib.wagtail.AkamaiBackend", "NETWROK": "staging"},
        "other": {"BACKEND": "wagtail.contrib.frontend_cache.backends.HTTPBackend"},
    }
    errors = [e for e in checks.run_checks() if e.id.startswith("django_akamai_wagtail.")]
    assert [e.id for e in errors] == ["django_akamai_wagtail.E001"]
    assert "'akamai'" in errors[0].msg and "NETWROK" in errors[0].msg


def test_system_check_warns_of_hostnames_that_match_no_site(site_tree, settings):
    from django.core import checks

    backend = "django_akamai.contrib.wagtail.AkamaiBackend"
    settings.WAGTAILFRONTENDCACHE = {
        # runserver's host without its port: Wagtail compares host:port.
        "local": {"BACKEND": backend, "HOSTNAMES": ["127.0.0.1", "localhost"]},
        "www": {"BACKEND": backend, "HOSTNAMES": ["www.example.com"]},
        "wildcard": {"BACKEND": backend, "HOSTNAMES": [".example.org"]},
        "all": {"BACKEND": backend},
    }
    [warning] = [e for e in checks.run_checks() if e.id.startswith("django_akamai_wagtail.")]
    assert (warning.id, warning.level) == ("django_akamai_wagtail.W001", checks.WARNING)
    assert warning.msg == (
        "WAGTAILFRONTENDCACHE['local']: HOSTNAMES ['127.0.0.1', 'localhost'] match none of "
        "the Wagtail Sites' hosts ['blog.example.org', 'www.example.com'], so this backend "
        "purges nothing."
    )
    assert "'127.0.0.1:8000'" in warning.hint


def test_hostnames_check_is_quiet_without_sites(settings, db):
    from django.core import checks

    settings.WAGTAILFRONTENDCACHE = {
        "akamai": {
            "BACKEND": "django_akamai.contrib.wagtail.AkamaiBackend",
            "HOSTNAMES": ["www.example.com"],
        }
    }
    assert not [e for e in checks.run_checks() if e.id.startswith("django_akamai_wagtail.")]


# --- cache tags --------------------------------------------------------------------------


@pytest.fixture
def tag_backend(settings):
    settings.WAGTAILFRONTENDCACHE = {
        "akamai": {
            "BACKEND": "django_akamai.contrib.wagtail.AkamaiBackend",
            "ACTION": "invalidate",
            "CACHE_TAGS": True,
        }
    }


def test_tagged_page_responses_carry_own_and_subtree_tags(site_tree, tag_backend, client, settings):
    settings.AKAMAI_CACHE_TAG_PREFIX = "site1."
    post = site_tree.post
    response = client.get("/blog/post/", HTTP_HOST="www.example.com", secure=True)
    assert response.status_code == 200
    tags = response["Edge-Cache-Tag"].split(",")
    assert tags == [
        f"site1.wagtail.page.{post.pk}",
        f"site1.wagtail.tree.{post.pk}",
        f"site1.wagtail.tree.{site_tree.blog.pk}",
        f"site1.wagtail.tree.{site_tree.home.pk}",
    ]
    feed = client.get("/blog/feed/", HTTP_HOST="www.example.com", secure=True)
    assert f"site1.wagtail.page.{site_tree.blog.pk}" in feed["Edge-Cache-Tag"].split(",")


def test_responses_are_not_tagged_without_cache_tags(site_tree, client):
    response = client.get("/blog/post/", HTTP_HOST="www.example.com", secure=True)
    assert response.status_code == 200
    assert "Edge-Cache-Tag" not in response


def test_publish_with_cache_tags_purges_the_page_tag(site_tree, tag_backend, emulator_purges):
    with transaction.atomic():
        site_tree.blog.save_revision().publish()
    by_type = {p["type"]: sorted(p["objects"]) for p in emulator_purges()}
    # The page's own URL becomes its tag; the feed path is not a page's URL and stays a URL
    # (it carries the page's tag too, so this is belt and braces, never a gap).
    assert by_type == {"tag": [f"wagtail.page.{site_tree.blog.pk}"], "url": [f"{WWW}/blog/feed/"]}


def test_purged_tags_carry_the_prefix_once(site_tree, tag_backend, emulator_purges, settings):
    settings.AKAMAI_CACHE_TAG_PREFIX = "site1."
    with transaction.atomic():
        site_tree.about.save_revision().publish()
    [purge] = emulator_purges()
    assert purge["objects"] == [f"site1.wagtail.page.{site_tree.about.pk}"]


def test_move_with_cache_tags_purges_the_subtree_tag_and_new_urls(
    site_tree, tag_backend, emulator_purges
):
    site_tree.blog.move(site_tree.about, pos="last-child")
    by_type = {p["type"]: sorted(p["objects"]) for p in emulator_purges()}
    # The old pages' responses carry the tree tag; the redirects without the slash do not.
    assert by_type == {
        "tag": [f"wagtail.tree.{site_tree.blog.pk}"],
        "url": sorted(
            [f"{WWW}/about/blog/", f"{WWW}/about/blog/feed/", f"{WWW}/about/blog/post/"]
            + [f"{WWW}/blog", f"{WWW}/blog/feed", f"{WWW}/blog/post"]
        ),
    }


def test_cache_tags_need_the_app(monkeypatch):
    from django.apps import apps
    from django.core.exceptions import ImproperlyConfigured

    from django_akamai.contrib.wagtail import AkamaiBackend

    # Not by editing INSTALLED_APPS: reloading the apps runs every ready() again, which
    # Wagtail's redirects app (its API router) refuses.
    installed = apps.is_installed
    monkeypatch.setattr(apps, "is_installed", lambda n: n != AKAMAI_APP and installed(n))
    with pytest.raises(ImproperlyConfigured, match="INSTALLED_APPS"):
        AkamaiBackend({"CACHE_TAGS": True})


# --- the dependents hook -------------------------------------------------------------------


def test_dependents_hook_adds_urls_tags_and_pages(site_tree, emulator_purges):
    from wagtail import hooks

    from django_akamai.contrib.wagtail.signal_handlers import DEPENDENTS_HOOK

    seen = []

    def listings(page, dependents):
        seen.append((page.pk, dependents.event))
        if page.pk == site_tree.post.pk:
            dependents.add_page(page.get_parent())
            dependents.add_url(f"{WWW}/sitemap.xml")
            dependents.add_tag("blog-listing")

    with hooks.register_temporarily(DEPENDENTS_HOOK, listings), transaction.atomic():
        site_tree.post.save_revision().publish()
    assert seen == [(site_tree.post.pk, "published")]
    by_type = {p["type"]: sorted(p["objects"]) for p in emulator_purges()}
    assert by_type == {
        "url": sorted(
            [f"{WWW}/blog/post/", f"{WWW}/blog/", f"{WWW}/blog/feed/", f"{WWW}/sitemap.xml"]
        ),
        "tag": ["blog-listing"],
    }


def test_purging_off_makes_a_publish_purge_nothing(site_tree, emulator_purges, settings, caplog):
    from django_akamai.models import PurgeIntent

    settings.AKAMAI_PURGE_ENABLED = False
    caplog.set_level("INFO", logger="django_akamai")
    with transaction.atomic():
        site_tree.about.save_revision().publish()
    assert emulator_purges() == []
    assert PurgeIntent.objects.count() == 0
    assert any("AKAMAI_PURGE_ENABLED = False" in r.getMessage() for r in caplog.records)


def test_publishes_inside_suspend_purges_go_out_once_at_the_end(site_tree, emulator_purges):
    from django_akamai import suspend_purges

    with suspend_purges():
        site_tree.about.save_revision().publish()
        site_tree.post.save_revision().publish()
        assert emulator_purges() == []
    [purge] = emulator_purges()
    assert sorted(purge["objects"]) == [f"{WWW}/about/", f"{WWW}/blog/post/"]
