"""A renamed page (a slug change, usually through publish) is purged like a moved one.

The page's old URLs and its live descendants' (with and without the trailing slash, on every
Site they appear on) and their new URLs reach the emulator once, after the commit; nothing on
a rollback. Wagtail's redirects app is installed, as on most sites: it purges the old URLs
without their slash again after the commit, so the tests that count requests deliver once
(``AKAMAI_DELIVERY = "worker"`` and ``deliver_pending()``), as a deliverer's window does.
"""

from __future__ import annotations

import pytest
from django.db import transaction

pytestmark = pytest.mark.django_db(transaction=True)

WWW = "https://www.example.com"
BLOG = "https://blog.example.org"
NEST = "https://journal.example.net"


@pytest.fixture
def deliver_once(settings, emulator_purges):
    """Record only; then deliver everything pending in one go and return the requests that
    arrived since the previous call (none arrive while only recording)."""
    from django_akamai.delivery.worker import deliver_pending

    settings.AKAMAI_DELIVERY = "worker"
    seen = [0]

    def deliver() -> list[dict]:
        assert len(emulator_purges()) == seen[0]  # nothing leaves before the deliverer runs
        deliver_pending()
        purges = emulator_purges()
        new, seen[0] = purges[seen[0] :], len(purges)
        return new

    return deliver


def rename(page, slug: str) -> None:
    """What an editor does: change the slug and publish."""
    page.slug = slug
    page.save_revision().publish()


def with_and_without_slash(*urls: str) -> list[str]:
    return [variant for url in urls for variant in (url, url.rstrip("/"))]


def test_renaming_a_page_purges_its_old_urls_and_its_new_one(site_tree, deliver_once):
    rename(site_tree.about, "about-us")
    [purge] = deliver_once()
    assert sorted(purge["objects"]) == sorted(
        [*with_and_without_slash(f"{WWW}/about/"), f"{WWW}/about-us/"]
    )
    assert purge["action"] == "invalidate"


def test_renaming_a_parent_purges_the_old_and_new_urls_of_its_subtree(site_tree, deliver_once):
    rename(site_tree.blog, "journal")
    [purge] = deliver_once()
    assert sorted(purge["objects"]) == sorted(
        [
            *with_and_without_slash(f"{WWW}/blog/", f"{WWW}/blog/feed/", f"{WWW}/blog/post/"),
            f"{WWW}/journal/",
            f"{WWW}/journal/feed/",
            f"{WWW}/journal/post/",
        ]
    )


def test_a_rename_in_a_transaction_goes_out_once_after_the_commit(site_tree, emulator_purges):
    with transaction.atomic():
        rename(site_tree.blog, "journal")
        assert emulator_purges() == []
    # The rename's purge and Wagtail's purge of the published page leave together; the
    # redirects app's purge (after the commit) may follow with URLs already purged.
    first, *later = emulator_purges()
    assert sorted(first["objects"]) == sorted(
        [
            *with_and_without_slash(f"{WWW}/blog/", f"{WWW}/blog/feed/", f"{WWW}/blog/post/"),
            f"{WWW}/journal/",
            f"{WWW}/journal/feed/",
            f"{WWW}/journal/post/",
        ]
    )
    assert {o for p in later for o in p["objects"]} <= set(first["objects"])


def test_a_rolled_back_rename_purges_nothing(site_tree, emulator_purges):
    from django_akamai.models import PurgeIntent

    with pytest.raises(RuntimeError), transaction.atomic():
        rename(site_tree.blog, "journal")
        raise RuntimeError("roll back")
    assert emulator_purges() == []
    assert not PurgeIntent.objects.exists()


def test_a_renamed_page_is_purged_on_every_site_it_appears_on(site_tree, deliver_once):
    """The blog is also the root of a Site of its own: its pages are served under both."""
    from wagtail.models import Site

    Site.objects.create(hostname="journal.example.net", port=443, root_page=site_tree.blog)
    rename(site_tree.post, "first-post")
    [purge] = deliver_once()
    assert sorted(purge["objects"]) == sorted(
        [
            *with_and_without_slash(f"{WWW}/blog/post/", f"{NEST}/post/"),
            f"{WWW}/blog/first-post/",
            f"{NEST}/first-post/",
        ]
    )


def test_renaming_a_site_root_changes_no_url_and_purges_none(site_tree, emulator_purges):
    """A Site's root page is served at ``/`` whatever its slug."""
    site_tree.other_home.slug = "brand-b"
    site_tree.other_home.save()
    assert emulator_purges() == []


def test_a_draft_with_a_new_slug_purges_nothing_until_it_is_published(site_tree, deliver_once):
    about = site_tree.about
    about.slug = "about-us"
    revision = about.save_revision()  # the live page keeps its slug
    assert deliver_once() == []
    revision.publish()
    [purge] = deliver_once()
    assert sorted(purge["objects"]) == sorted(
        [*with_and_without_slash(f"{WWW}/about/"), f"{WWW}/about-us/"]
    )


def test_a_save_that_does_not_write_the_slug_purges_nothing(site_tree, emulator_purges):
    about = site_tree.about
    about.slug = "about-us"
    about.title = "About us"
    about.save(update_fields=["title"])
    assert emulator_purges() == []


def test_a_rename_of_an_unpublished_parent_purges_its_live_children(site_tree, deliver_once):
    site_tree.blog.unpublish()
    deliver_once()  # the unpublish's own purge
    blog = type(site_tree.blog).objects.get(pk=site_tree.blog.pk)
    blog.slug = "journal"
    blog.save()
    [purge] = deliver_once()
    # The blog's own old URL without its slash comes from Wagtail's redirects app.
    assert sorted(purge["objects"]) == sorted(
        [*with_and_without_slash(f"{WWW}/blog/post/"), f"{WWW}/journal/post/", f"{WWW}/blog"]
    )


def test_a_rename_with_cache_tags_purges_the_subtree_tag(site_tree, deliver_once, settings):
    settings.WAGTAILFRONTENDCACHE = {
        "akamai": {"BACKEND": "django_akamai.contrib.wagtail.AkamaiBackend", "CACHE_TAGS": True}
    }
    rename(site_tree.blog, "journal")
    by_type = {p["type"]: sorted(p["objects"]) for p in deliver_once()}
    # The old pages' responses carry the tree tag; the new URLs (a cached 404) and the old
    # ones without the slash (a redirect, which carries no page tag) go as URLs. The
    # published page's own tag comes from Wagtail's purge of the publish.
    assert by_type == {
        "tag": sorted([f"wagtail.tree.{site_tree.blog.pk}", f"wagtail.page.{site_tree.blog.pk}"]),
        "url": sorted(
            [f"{WWW}/blog", f"{WWW}/blog/feed", f"{WWW}/blog/post"]
            + [f"{WWW}/journal/feed/", f"{WWW}/journal/post/", f"{WWW}/journal/"]
        ),
    }


def test_a_rename_runs_the_dependents_hook_as_a_move(site_tree, deliver_once):
    from wagtail import hooks

    from django_akamai.contrib.wagtail.signal_handlers import DEPENDENTS_HOOK

    seen = []

    def listings(page, dependents):
        seen.append((page.pk, dependents.event))
        dependents.add_url(f"{WWW}/sitemap.xml")

    with hooks.register_temporarily(DEPENDENTS_HOOK, listings):
        rename(site_tree.about, "about-us")
    assert seen == [(site_tree.about.pk, "moved"), (site_tree.about.pk, "published")]
    [purge] = deliver_once()
    assert f"{WWW}/sitemap.xml" in purge["objects"]


def test_a_renamed_page_is_fresh_at_the_emulated_edge(site_tree, akamai_edge, akamai_emulator):
    """The edge served /about/ from its cache; after the rename it asks the site again."""
    import requests

    akamai_emulator.configure(time_scale=50)  # Akamai's 5 s take 0.1 s
    debug = {"Pragma": "akamai-x-cache-on", "Host": "www.example.com"}
    for expected in ("TCP_MISS", "TCP_HIT"):
        response = requests.get(f"{akamai_edge.base_url}/about/", headers=debug, timeout=10)
        assert response.headers["X-Cache"].startswith(expected)
        assert "<h1>About</h1>" in response.text
    with transaction.atomic():
        rename(site_tree.about, "about-us")
    gone = akamai_edge.wait_until_fresh(f"{WWW}/about/", lambda body: b"<h1>About</h1>" not in body)
    assert gone.x_cache.startswith("TCP_REFRESH_MISS")  # invalidated, asked again: a 404 now
    # The rename's request, then the redirects app's (its old URL without the slash, after
    # the commit): two here, where each commit is delivered at once (in-memory SQLite). Both
    # were accepted before rename() returned; the edge applies each when it is due, so only
    # the first is sure to be applied by now.
    assert len(akamai_emulator.purges) == 2
    assert akamai_edge.counters["purges_applied"] >= 1
    fresh = requests.get(f"{akamai_edge.base_url}/about-us/", headers=debug, timeout=10)
    assert fresh.status_code == 200 and "<h1>About</h1>" in fresh.text
