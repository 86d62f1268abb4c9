"""Two Wagtail Sites on two Akamai accounts: each purge reaches its own account's emulator.

The session's emulator is the default account (www.example.com); a second emulator started
here is ``brand-b`` (blog.example.org). Publish, rename, move across the Sites, unpublish and
delete go Wagtail signal → Wagtail's purge task → AkamaiBackend → the pipeline → the deliverer,
and each emulator's requests are counted: a URL on the wrong account is a wrong count.
"""

from __future__ import annotations

import pytest

from django_akamai.delivery.worker import deliver_pending
from django_akamai.emulator import Emulator

pytestmark = pytest.mark.django_db(transaction=True)

WWW = "https://www.example.com"
BLOG = "https://blog.example.org"
BACKEND = "django_akamai.contrib.wagtail.AkamaiBackend"


@pytest.fixture(scope="module")
def brand_b_server():
    with Emulator(port=0) as emu:
        yield emu


def account_settings(emu, hostnames):
    c = emu.credentials
    return {
        "brand-b": {
            "HOST": emu.base_url,
            "CLIENT_TOKEN": c.client_token,
            "CLIENT_SECRET": c.client_secret,
            "ACCESS_TOKEN": c.access_token,
            "HOSTNAMES": hostnames,
        }
    }


@pytest.fixture
def two_accounts(brand_b_server, akamai_emulator, settings):
    """brand-b named by the blog Site's backend entry (``ACCOUNT``); delivered by the test."""
    brand_b_server.restore_defaults()
    brand_b_server.reset()
    settings.AKAMAI_DELIVERY = "worker"
    settings.AKAMAI_ACCOUNTS = account_settings(brand_b_server, [])
    settings.WAGTAILFRONTENDCACHE = {
        "www": {"BACKEND": BACKEND, "HOSTNAMES": ["www.example.com"]},
        "blog": {"BACKEND": BACKEND, "HOSTNAMES": ["blog.example.org"], "ACCOUNT": "brand-b"},
    }
    yield akamai_emulator, brand_b_server
    brand_b_server.restore_defaults()
    brand_b_server.reset()


def deliver(default, brand_b):
    """Deliver everything pending (both accounts); what each emulator accepted, then reset."""
    report = deliver_pending()
    assert report.ok, report
    result = (
        sorted(map(str, default.accepted_objects())),
        sorted(map(str, brand_b.accepted_objects())),
    )
    default.reset()
    brand_b.reset()
    return result


def test_each_sites_purges_reach_its_own_account(site_tree, two_accounts):
    default, brand_b = two_accounts

    site_tree.about.save_revision().publish()
    site_tree.news.save_revision().publish()
    assert deliver(default, brand_b) == ([f"{WWW}/about/"], [f"{BLOG}/news/"])

    site_tree.news.slug = "latest"  # a rename on the brand-b Site
    site_tree.news.save_revision().publish()
    www, blog = deliver(default, brand_b)
    assert www == []
    assert blog == sorted([f"{BLOG}/latest/", f"{BLOG}/news/", f"{BLOG}/news"])

    site_tree.post.move(site_tree.other_home, pos="last-child")  # www → blog
    www, blog = deliver(default, brand_b)
    assert www == [f"{WWW}/blog/post", f"{WWW}/blog/post/"]
    assert blog == [f"{BLOG}/post/"]

    site_tree.about.unpublish()
    assert deliver(default, brand_b) == ([f"{WWW}/about/"], [])

    site_tree.post.refresh_from_db()
    site_tree.post.delete()
    assert deliver(default, brand_b) == ([], [f"{BLOG}/post/"])


def test_without_account_urls_go_to_the_account_of_their_host(
    site_tree, brand_b_server, two_accounts, settings
):
    default, brand_b = two_accounts
    settings.AKAMAI_ACCOUNTS = account_settings(brand_b_server, ["blog.example.org"])
    settings.WAGTAILFRONTENDCACHE = {"akamai": {"BACKEND": BACKEND}}
    site_tree.about.save_revision().publish()
    site_tree.news.save_revision().publish()
    assert deliver(default, brand_b) == ([f"{WWW}/about/"], [f"{BLOG}/news/"])


def test_an_unknown_account_fails_when_wagtail_builds_the_backend(settings, two_accounts):
    from django.core.exceptions import ImproperlyConfigured

    from django_akamai.contrib.wagtail import AkamaiBackend

    with pytest.raises(ImproperlyConfigured, match="ACCOUNT.*'brand-c'"):
        AkamaiBackend({"ACCOUNT": "brand-c"})
    assert AkamaiBackend({"ACCOUNT": "default"}).account == "default"


def test_each_site_is_fresh_at_its_own_accounts_edge(
    site_tree, two_accounts, akamai_edge, live_server
):
    """Each account's emulator has an edge in front of the site; a publish on each Site is
    purged on its own account and is then fresh at that account's edge, not the other's."""
    import requests

    default, brand_b = two_accounts
    default.configure(time_scale=50)  # Akamai's 5 s take 0.1 s
    brand_b.configure(time_scale=50)
    blog_edge = brand_b.start_edge(live_server.url, public_host="*", forward_host=True)
    try:
        for edge, url, title in (
            (akamai_edge, f"{WWW}/about/", "About"),
            (blog_edge, f"{BLOG}/news/", "News"),
        ):
            host = url.split("/")[2]
            for expected in ("TCP_MISS", "TCP_HIT"):
                path = "/" + url.split("/", 3)[3]
                got = requests.get(
                    edge.base_url + path,
                    headers={"Pragma": "akamai-x-cache-on", "Host": host},
                    timeout=10,
                )
                assert got.headers["X-Cache"].startswith(expected)
                assert f"<h1>{title}</h1>" in got.text
        for page, title in ((site_tree.about, "About us"), (site_tree.news, "Latest news")):
            page.title = title
            page.save_revision().publish()
        assert deliver_pending().ok  # both accounts (deliver() would reset the edges too)
        assert [str(o) for o in default.accepted_objects()] == [f"{WWW}/about/"]
        assert [str(o) for o in brand_b.accepted_objects()] == [f"{BLOG}/news/"]
        fresh_www = akamai_edge.wait_until_fresh(
            f"{WWW}/about/", lambda body: b"<h1>About us</h1>" in body
        )
        fresh_blog = blog_edge.wait_until_fresh(
            f"{BLOG}/news/", lambda body: b"<h1>Latest news</h1>" in body
        )
        # Served from the origin after the purge (a delete: MISS; an invalidate: REFRESH_MISS).
        assert "MISS" in fresh_www.x_cache and "MISS" in fresh_blog.x_cache
        # One purge reached each edge: neither account purged the other's Site.
        assert akamai_edge.counters["purges_applied"] == 1
        assert blog_edge.counters["purges_applied"] == 1
    finally:
        brand_b.stop_edge()
