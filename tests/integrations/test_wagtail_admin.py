"""django-akamai in the Wagtail admin, through Django's test client and the emulator.

The purge history, the purge intents (retry, discard), the status and "Purge from CDN" are
Wagtail admin views behind the ``purge_cache`` permission; a publish whose page has a failed
or stuck purge tells the editor. Purges go through the real pipeline to the emulator.
"""

from __future__ import annotations

import html
import re

import pytest
from django.db import transaction

pytestmark = pytest.mark.django_db(transaction=True)

WWW = "https://www.example.com"
BLOG = "https://blog.example.org"


def user_with(*perms: str, username: str = "editor"):
    from django.contrib.auth.models import Permission, User

    user = User.objects.create_user(username, password="pw")
    for perm in ("wagtailadmin.access_admin", *perms):
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


@pytest.fixture
def admin_client(client, db):
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_superuser("admin", "admin@example.com", "pw"))
    return client


def url(name: str, *args) -> str:
    from django.urls import reverse

    return reverse(f"django_akamai_wagtail:{name}", args=args)


def messages_of(response) -> list[str]:
    """The messages shown, as text (Wagtail renders them as HTML, with their buttons)."""
    if not response.context:
        return []
    shown = []
    for message in response.context["messages"]:
        text = re.sub(r'<span class="buttons">.*?</span>', "", str(message), flags=re.S)
        shown.append(" ".join(html.unescape(re.sub(r"<[^>]+>", "", text)).split()))
    return shown


def test_the_views_need_the_permission(site_tree, client):
    client.force_login(user_with())
    home = client.get("/admin/")
    assert home.status_code == 200
    assert url("status") not in home.content.decode()  # no Akamai menu
    for name in ("status", "history", "intents"):
        response = client.get(url(name), follow=True)
        assert response.redirect_chain[-1][0] == "/admin/"
        assert "permission" in " ".join(messages_of(response))
    page = client.get(url("purge_page", site_tree.about.pk))
    assert page.status_code == 302
    assert client.post(url("intents_act"), {"action": "retry_all"}).status_code == 302


def test_view_purgerecord_reads_history_and_status_but_purges_nothing(site_tree, client):
    client.force_login(user_with("django_akamai.view_purgerecord"))
    menu = client.get("/admin/").content.decode()
    assert url("history") in menu and url("status") in menu
    assert url("intents") not in menu
    assert client.get(url("history")).status_code == 200
    assert client.get(url("status")).status_code == 200
    assert client.get(url("intents")).status_code == 302


def test_purge_cache_opens_everything(site_tree, client):
    client.force_login(user_with("django_akamai.purge_cache"))
    menu = client.get("/admin/").content.decode()
    assert all(url(name) in menu for name in ("status", "history", "intents"))
    for name in ("status", "history", "intents"):
        assert client.get(url(name)).status_code == 200


def test_wagtail_group_editor_offers_the_permissions(admin_client):
    from django.contrib.auth.models import Permission

    page = html.unescape(admin_client.get("/admin/groups/new/").content.decode())
    assert "<h3>Purge record</h3>" in page and "Can purge Akamai's cache" in page
    for codename in ("purge_cache", "view_purgerecord"):
        pk = Permission.objects.get(content_type__app_label="django_akamai", codename=codename).pk
        assert f'name="permissions" value="{pk}"' in page


def test_history_lists_what_akamai_accepted(site_tree, admin_client, emulator_purges):
    with transaction.atomic():
        site_tree.about.save_revision().publish()
    [purge] = emulator_purges()
    page = admin_client.get(url("history")).content.decode()
    assert f"{WWW}/about/" in page and purge["purgeId"] in page and "wagtail" in page
    refused = admin_client.get(url("history"), {"status": "failed"}).content.decode()
    assert purge["purgeId"] not in refused
    searched = admin_client.get(url("history"), {"objects_text": "/about/"}).content.decode()
    assert purge["purgeId"] in searched


def test_failed_intents_are_shown_retried_and_discarded(
    site_tree, admin_client, akamai_emulator, emulator_purges
):
    from django_akamai.models import PurgeIntent

    akamai_emulator.configure(allowed_hosts=["www.example.com"])
    with transaction.atomic():
        site_tree.news.save_revision().publish()  # blog.example.org: refused
        site_tree.other_home.save_revision().publish()
    failed = list(PurgeIntent.objects.filter(status=PurgeIntent.FAILED).order_by("value"))
    assert [i.value for i in failed] == [f"{BLOG}/", f"{BLOG}/news/"]
    page = admin_client.get(url("intents")).content.decode()
    assert f"{BLOG}/news/" in page and "403" in page
    assert "&#x27;" in page  # Akamai's text, repr-style (quoted), escaped

    discard = admin_client.post(
        url("intents_act"), {"action": "discard", "ids": [failed[0].pk]}, follow=True
    )
    assert "1 failed purge(s) discarded." in messages_of(discard)
    assert list(PurgeIntent.objects.values_list("value", flat=True)) == [f"{BLOG}/news/"]

    akamai_emulator.configure(allowed_hosts=None)
    retry = admin_client.post(url("intents_act"), {"action": "retry_all"}, follow=True)
    assert "1 failed purge(s) will be delivered again." in messages_of(retry)
    assert not PurgeIntent.objects.exists()
    assert emulator_purges()[-1]["objects"] == [f"{BLOG}/news/"]


def test_status_shows_the_backlog_and_the_day(site_tree, admin_client, akamai_emulator):
    akamai_emulator.configure(allowed_hosts=["www.example.com"])
    with transaction.atomic():
        site_tree.about.save_revision().publish()
        site_tree.news.save_revision().publish()
    page = admin_client.get(url("status"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="akamai-failed"><span class="value">1</span>' in html
    assert 'id="akamai-requests"><span class="value">1</span>' in html
    assert "<svg" in html and "retry or discard" in html


def test_purge_from_cdn_purges_a_page_or_its_subtree(site_tree, admin_client, emulator_purges):
    from django_akamai.models import PurgeRecord

    confirm = admin_client.get(url("purge_page", site_tree.blog.pk))
    assert confirm.status_code == 200
    assert "This page and its 1 live descendant(s)" in confirm.content.decode()

    done = admin_client.post(url("purge_page", site_tree.about.pk), {"scope": "page"}, follow=True)
    assert messages_of(done) == ["Purge of 'About' recorded: Akamai gets it within seconds."]
    assert emulator_purges()[-1]["objects"] == [f"{WWW}/about/"]

    admin_client.post(url("purge_page", site_tree.blog.pk), {"scope": "subtree"})
    assert sorted(emulator_purges()[-1]["objects"]) == [
        f"{WWW}/blog/",
        f"{WWW}/blog/feed/",
        f"{WWW}/blog/post/",
    ]
    assert set(PurgeRecord.objects.values_list("actor", flat=True)) == {"wagtail:admin"}
    # Back where the editor came from, never to another site.
    elsewhere = admin_client.post(
        url("purge_page", site_tree.about.pk), {"scope": "page", "next": "https://evil.example/"}
    )
    assert elsewhere["Location"] == f"/admin/pages/{site_tree.home.pk}/"


def test_purge_from_cdn_is_offered_to_those_who_may(site_tree, admin_client):
    from django.contrib.auth.models import User

    from django_akamai.contrib.wagtail.wagtail_hooks import (
        page_header_buttons,
        page_listing_buttons,
    )

    about = site_tree.about
    admin = User.objects.get(username="admin")
    [button] = page_header_buttons(about, admin, "edit")
    assert button.label == "Purge from CDN" and button.url == url("purge_page", about.pk)
    [listed] = page_listing_buttons(about, admin, next_url="/admin/pages/")
    assert listed.url == url("purge_page", about.pk) + "?next=%2Fadmin%2Fpages%2F"
    assert list(page_header_buttons(about, user_with(), "edit")) == []
    assert list(page_header_buttons(site_tree.root, admin, "edit")) == []  # the tree's root
    edit = admin_client.get(f"/admin/pages/{about.pk}/edit/").content.decode()
    assert url("purge_page", about.pk) in edit


PUBLISH_FORM = {
    "title": "About us",
    "slug": "about",
    "action-publish": "action-publish",
    "comments-TOTAL_FORMS": "0",
    "comments-INITIAL_FORMS": "0",
    "comments-MIN_NUM_FORMS": "0",
    "comments-MAX_NUM_FORMS": "1000",
}


def publish_in_admin(client, page):
    """What an editor's click on "Publish" sends."""
    return client.post(f"/admin/pages/{page.pk}/edit/", PUBLISH_FORM, follow=True)


def test_publishing_a_page_whose_purge_failed_warns_the_editor(
    site_tree, admin_client, akamai_emulator, settings
):
    from django_akamai.models import PurgeIntent

    akamai_emulator.configure(allowed_hosts=["blog.example.org"])
    with transaction.atomic():
        site_tree.about.save_revision().publish()
    assert PurgeIntent.objects.filter(status=PurgeIntent.FAILED).count() == 1
    # The publish's own purge leaves after the editor's page is back, as a deliverer's
    # window does on a site (here: only when a deliverer runs).
    settings.AKAMAI_DELIVERY = "worker"
    response = publish_in_admin(admin_client, site_tree.about)
    shown = " ".join(messages_of(response))
    assert "'About us' has been published." in shown
    assert (
        "Akamai refused 1 purge(s) of this page, not retried yet (403 'unauthorized arl' "
        "'The credentials are not authorized to purge: https://www.example.com/about/')"
    ) in shown
    assert url("intents") in response.content.decode()  # the "Purge intents" button


def test_publishing_a_page_whose_purge_is_stuck_warns_the_editor(site_tree, admin_client, settings):
    from datetime import timedelta

    from django.utils import timezone

    from django_akamai.models import PurgeIntent

    settings.AKAMAI_DELIVERY = "worker"  # and no worker runs: nothing is delivered
    with transaction.atomic():
        site_tree.about.save_revision().publish()
    PurgeIntent.objects.update(created_at=timezone.now() - timedelta(minutes=11))
    shown = " ".join(messages_of(publish_in_admin(admin_client, site_tree.about)))
    assert "1 purge(s) of this page have been waiting for 11" in shown
    assert "(Akamai's last answer: no answer yet)" in shown


def test_publishing_a_page_with_no_trouble_says_nothing_more(site_tree, admin_client):
    shown = messages_of(publish_in_admin(admin_client, site_tree.about))
    assert shown == ["Page 'About us' has been published."]


def test_status_shows_verification_at_the_edge_when_it_is_on(site_tree, admin_client, settings):
    assert 'id="akamai-verification"' not in admin_client.get(url("status")).content.decode()
    settings.AKAMAI_VERIFY = {"EDGE": "http://127.0.0.1:8766"}
    html = admin_client.get(url("status")).content.decode()
    assert 'id="akamai-verification"' in html and 'id="akamai-verified-stale"' in html
    assert "Verified at the edge" in html
