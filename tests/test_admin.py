"""The admin action, the "Purge URLs" page and the history admin, through Django's test
client and real HTTP to the emulator."""

import re

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from django_akamai.models import PurgeRecord
from tests.testapp.models import Article, Note, Page

pytestmark = pytest.mark.django_db

PURGE_URL = "/admin/django_akamai/purgepage/"
HISTORY_URL = "/admin/django_akamai/purgerecord/"


def staff(username, *codenames):
    user = User.objects.create_user(username, password="pw-for-tests", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


ARTICLE_PERMS = ("view_article", "change_article", "view_note", "change_note", "view_page")


@pytest.fixture
def purger():
    client = Client()
    client.force_login(staff("purger", "purge_cache", *ARTICLE_PERMS))
    return client


@pytest.fixture
def editor():
    """Staff who may edit articles but not purge."""
    client = Client()
    client.force_login(staff("editor", "delete_article", *ARTICLE_PERMS))
    return client


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def assert_no_secrets(emu, text):
    creds = emu.credentials
    for secret in (creds.client_secret, creds.access_token, creds.password):
        assert secret not in text


# --- the index link and the page's permission --------------------------------------------


def test_index_links_the_purge_page_only_for_users_who_may_purge(purger, editor):
    page = purger.get("/admin/").content.decode()
    assert f'href="{PURGE_URL}"' in page and "Purge URLs" in page
    page = editor.get("/admin/").content.decode()
    assert PURGE_URL not in page and "Purge URLs" not in page


def test_purge_page_needs_the_permission(purger, editor, client):
    assert purger.get(PURGE_URL).status_code == 200
    assert editor.get(PURGE_URL).status_code == 403
    assert (
        editor.post(
            PURGE_URL, {"urls": "/x", "action": "delete", "network": "production"}
        ).status_code
        == 403
    )
    anonymous = client.get(PURGE_URL)
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]


def test_superuser_may_purge():
    admin = User.objects.create_superuser("root", password="pw-for-tests")
    client = Client()
    client.force_login(admin)
    page = client.get(PURGE_URL)
    assert page.status_code == 200
    html = page.content.decode()
    # The frame shared with the status page: body class and breadcrumbs back to the app.
    assert re.search(r'<body class="[^"]*\bapp-django_akamai akamai-purge\b', html)
    assert 'href="/admin/django_akamai/"' in html


def test_purge_page_defaults_come_from_the_settings(purger, settings):
    settings.AKAMAI_PURGE_OPTIONS = {"action": "invalidate", "network": "staging"}
    form = purger.get(PURGE_URL).context["form"]
    assert form["action"].value() == "invalidate"
    assert form["network"].value() == "staging"


# --- the page purges --------------------------------------------------------------------


def test_page_purges_urls_tags_and_cpcodes(purger, akamai_emulator):
    emu = akamai_emulator
    response = purger.post(
        PURGE_URL,
        {
            "urls": "/news/\r\nhttps://www.example.com/sport/\r\n",
            "tags": "t1, t2",
            "cpcodes": "4711",
            "action": "invalidate",
            "network": "staging",
        },
        follow=True,
    )
    assert response.redirect_chain == [(PURGE_URL, 302)]
    by_type = {p.type: p for p in emu.purges}
    assert list(by_type["url"].objects) == [
        "https://www.example.com/news/",
        "https://www.example.com/sport/",
    ]
    assert list(by_type["tag"].objects) == ["t1", "t2"]
    assert list(by_type["cpcode"].objects) == [4711]
    assert {(p.action, p.network) for p in emu.purges} == {("invalidate", "staging")}
    texts = messages_of(response)
    assert len(texts) == 3
    url_message = next(t for t in texts if "URL(s)" in t)
    assert "Akamai accepted 2 URL(s) in 1 request(s) (invalidate, staging)" in url_message
    assert by_type["url"].purge_id in url_message
    assert "Estimated seconds: 5" in url_message
    assert {r.actor for r in PurgeRecord.objects.all()} == {"admin:purger"}


def test_page_names_bad_lines_and_sends_nothing(purger, akamai_emulator):
    response = purger.post(
        PURGE_URL,
        {
            "urls": "/fine\nnot a url\n/ok\nftp://x/",
            "tags": "bad*tag",
            "action": "delete",
            "network": "production",
        },
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["urls"][0].startswith("Line 2:")
    assert errors["urls"][1].startswith("Line 4:")
    assert errors["tags"][0].startswith("Line 1:")
    assert akamai_emulator.counters["requests"] == 0


def test_page_needs_something_to_purge(purger, akamai_emulator):
    response = purger.post(
        PURGE_URL, {"urls": "\n# only a comment\n", "action": "delete", "network": "production"}
    )
    assert "Enter at least one URL, cache tag or CP code." in response.content.decode()
    assert akamai_emulator.counters["requests"] == 0


def test_page_is_csrf_protected(akamai_emulator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff("careful", "purge_cache"))
    data = {"urls": "/csrf", "action": "delete", "network": "production"}
    assert client.post(PURGE_URL, data).status_code == 403
    assert akamai_emulator.counters["requests"] == 0
    token = re.search(
        r'name="csrfmiddlewaretoken" value="([^"]+)"', client.get(PURGE_URL).content.decode()
    ).group(1)
    response = client.post(PURGE_URL, {**data, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert akamai_emulator.accepted_objects() == ["https://www.example.com/csrf"]


def test_page_shows_akamai_refusal_and_keeps_what_was_not_purged(purger, akamai_emulator):
    emu = akamai_emulator
    emu.configure(allowed_hosts=["www.example.com"])
    response = purger.post(
        PURGE_URL,
        {
            "urls": "https://elsewhere.example.net/page",
            "tags": "fine",
            "action": "delete",
            "network": "production",
        },
    )
    assert response.status_code == 200
    texts = messages_of(response)
    refusal = next(t for t in texts if "refused" in t)
    assert "HTTP 403" in refusal and "supportId" in refusal
    assert any(t.startswith("Not purged: https://elsewhere.example.net/page") for t in texts)
    assert any("Akamai accepted 1 cache tag(s)" in t for t in texts)
    # The form comes back with just the URL that still needs purging.
    form = response.context["form"]
    assert form.initial["urls"] == "https://elsewhere.example.net/page"
    assert "tags" not in form.initial
    assert_no_secrets(emu, response.content.decode())


def test_page_error_never_shows_a_secret(purger, akamai_emulator, settings):
    settings.AKAMAI_CCU_CLIENT_SECRET = "a-wrong-secret-not-to-show="
    response = purger.post(PURGE_URL, {"urls": "/x", "action": "delete", "network": "production"})
    page = response.content.decode()
    assert "HTTP 401" in page
    assert "a-wrong-secret-not-to-show" not in page
    assert_no_secrets(akamai_emulator, page)


def test_page_reports_missing_credentials(purger, settings):
    response = purger.post(PURGE_URL, {"urls": "/x", "action": "delete", "network": "production"})
    assert response.status_code == 200
    [text] = messages_of(response)
    assert text.startswith("Nothing was purged: No Akamai credentials found.")


# --- the action ---------------------------------------------------------------------------


def action_choices(client, model):
    response = client.get(f"/admin/testapp/{model}/")
    form = response.context["action_form"]
    return [name for name, _ in form.fields["action"].choices]


def test_action_is_offered_only_with_the_permission(purger, editor):
    assert "purge_from_akamai" in action_choices(purger, "article")
    offered = action_choices(editor, "article")
    assert "delete_selected" in offered  # the editor sees actions, just not this one
    assert "purge_from_akamai" not in offered


def test_action_purges_the_selected_objects(purger, akamai_emulator):
    a, b, _ = (Article.objects.create(slug=s) for s in ("one", "two", "three"))
    response = purger.post(
        "/admin/testapp/article/",
        {"action": "purge_from_akamai", "_selected_action": [a.pk, b.pk]},
        follow=True,
    )
    [purge] = akamai_emulator.purges
    assert sorted(purge.objects) == [
        "https://www.example.com/articles/one/",
        "https://www.example.com/articles/two/",
    ]
    assert purge.action == "invalidate"  # ArticleAdmin.akamai_purge_options
    [text] = messages_of(response)
    assert "Akamai accepted 2 URL(s)" in text and purge.purge_id in text
    assert PurgeRecord.objects.get().actor == "admin:purger"


def test_action_with_absolute_urls(purger, akamai_emulator):
    page = Page.objects.create(path="/about/")
    purger.post(
        "/admin/testapp/page/", {"action": "purge_from_akamai", "_selected_action": [page.pk]}
    )
    assert akamai_emulator.accepted_objects() == ["https://www.example.com/about/"]


def test_forged_action_without_permission_is_not_run(editor, akamai_emulator):
    article = Article.objects.create(slug="forged")
    response = editor.post(
        "/admin/testapp/article/",
        {"action": "purge_from_akamai", "_selected_action": [article.pk]},
        follow=True,
    )
    assert akamai_emulator.counters["requests"] == 0
    assert "No action selected." in messages_of(response)


def test_action_on_a_model_without_urls_explains(purger, akamai_emulator):
    note = Note.objects.create(text="hi")
    response = purger.post(
        "/admin/testapp/note/",
        {"action": "purge_from_akamai", "_selected_action": [note.pk]},
        follow=True,
    )
    [text] = messages_of(response)
    assert text.startswith("Nothing was purged:") and "get_absolute_url()" in text
    assert akamai_emulator.counters["requests"] == 0


# --- the history admin -------------------------------------------------------------------


def test_history_is_read_only_and_searchable(purger, akamai_emulator):
    purger.post(PURGE_URL, {"urls": "/findme\n/other", "action": "delete", "network": "production"})
    purger.post(PURGE_URL, {"tags": "tagged", "action": "invalidate", "network": "staging"})
    url_record = PurgeRecord.objects.get(object_type="url")

    page = purger.get(HISTORY_URL)
    assert page.status_code == 200
    assert page.context["cl"].result_count == 2
    assert "/add/" not in page.content.decode()

    def found(query):
        return list(purger.get(HISTORY_URL, query).context["cl"].result_list)

    assert found({"q": "https://www.example.com/findme"}) == [url_record]
    assert found({"q": url_record.purge_id}) == [url_record]
    assert found({"network": "staging"}) != [url_record]
    assert found({"status__exact": "failed"}) == []
    assert found({"action": "delete"}) == [url_record]

    assert purger.get(HISTORY_URL + "add/").status_code == 403
    detail = purger.get(f"{HISTORY_URL}{url_record.pk}/change/")
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()
    assert purger.post(f"{HISTORY_URL}{url_record.pk}/delete/", {"post": "yes"}).status_code == 403
    assert PurgeRecord.objects.count() == 2


def test_history_hidden_from_staff_without_permissions(editor):
    assert editor.get(HISTORY_URL).status_code == 403
