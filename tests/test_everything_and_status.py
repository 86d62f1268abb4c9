"""Purging everything (AKAMAI_CPCODES) from the command and the admin, and the admin's
"Akamai status" page, through Django's test client and real HTTP to the emulator."""

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from django_akamai import funnel, intents, status
from django_akamai.emulator.faults import FaultInjector
from django_akamai.models import PurgeIntent, PurgeRecord
from django_akamai.purge import PurgeRequest
from tests.rate_limits import refill_after_the_first_429

pytestmark = pytest.mark.django_db(transaction=True)

PURGE_URL = "/admin/django_akamai/purgepage/"
STATUS_URL = "/admin/django_akamai/statuspage/"


def client_for(username, *codenames):
    user = User.objects.create_user(username, password="pw-for-tests", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


# --- akamai_purge --everything ----------------------------------------------------------


def test_everything_purges_the_sites_cpcodes(akamai_emulator, settings):
    settings.AKAMAI_CPCODES = [12345, "67890"]
    out = StringIO()
    call_command("akamai_purge", "--everything", "--action", "invalidate", stdout=out)
    [purge] = akamai_emulator.purges
    assert (purge.type, purge.action, list(purge.objects)) == (
        "cpcode",
        "invalidate",
        [12345, 67890],
    )
    assert "Akamai accepted 2 CP code(s)" in out.getvalue()


def test_everything_without_cpcodes_says_what_to_set(akamai_emulator):
    with pytest.raises(CommandError, match="AKAMAI_CPCODES is not set") as raised:
        call_command("akamai_purge", "--everything", stdout=StringIO())
    assert raised.value.returncode == 2
    assert akamai_emulator.purges == []


def test_everything_with_a_bad_cpcode_sends_nothing(akamai_emulator, settings):
    settings.AKAMAI_CPCODES = ["not-a-number"]
    with pytest.raises(CommandError) as raised:
        call_command("akamai_purge", "--everything", stdout=StringIO())
    assert raised.value.returncode == 2
    assert akamai_emulator.purges == []


# --- the admin's "Purge everything" -----------------------------------------------------


def test_purge_everything_needs_its_own_permission(akamai_emulator, settings):
    settings.AKAMAI_CPCODES = [12345]
    purger = client_for("purger", "purge_cache")
    page = purger.get(PURGE_URL).content.decode()
    assert 'name="everything"' not in page
    form = {"everything": "on", "action": "delete", "network": "production"}
    assert purger.post(PURGE_URL, form).status_code == 403
    assert akamai_emulator.purges == []

    boss = client_for("boss", "purge_cache", "purge_everything")
    assert 'name="everything"' in boss.get(PURGE_URL).content.decode()
    response = boss.post(PURGE_URL, form, follow=True)
    assert response.redirect_chain == [(PURGE_URL, 302)]
    [purge] = akamai_emulator.purges
    assert (purge.type, list(purge.objects)) == ("cpcode", [12345])
    assert any("Akamai accepted 1 CP code(s)" in m for m in messages_of(response))


def test_purge_everything_without_cpcodes_explains(akamai_emulator):
    boss = client_for("boss", "purge_cache", "purge_everything")
    response = boss.post(
        PURGE_URL, {"everything": "on", "action": "delete", "network": "production"}
    )
    assert "AKAMAI_CPCODES is not set" in response.content.decode()
    assert akamai_emulator.purges == []


def test_the_permission_exists_after_migrate():
    assert Permission.objects.filter(
        content_type__app_label="django_akamai", codename="purge_everything"
    ).exists()


# --- the "Akamai status" page -----------------------------------------------------------


def test_status_page_needs_a_permission(akamai_emulator):
    editor = client_for("editor", "view_article")
    assert editor.get(STATUS_URL).status_code == 403
    assert STATUS_URL not in editor.get("/admin/").content.decode()
    for codename in ("purge_cache", "view_purgerecord"):
        viewer = client_for(f"viewer-{codename}", codename)
        page = viewer.get(STATUS_URL)
        assert page.status_code == 200
        assert re.search(r'<body class="[^"]*\bakamai-status\b', page.content.decode())
        assert f'href="{STATUS_URL}"' in viewer.get("/admin/").content.decode()


def card(page, name):
    match = re.search(rf'id="akamai-{name}"><span class="value">([^<]*)</span>', page)
    assert match, name
    return match.group(1).strip()


def seed_for(faults):
    """A seed under which the emulator's fault draws fail exactly these requests in turn."""
    for seed in range(100_000):
        injector = FaultInjector(fail_rate=0.5, seed=seed)
        if [injector.decide().fail_status is not None for _ in faults] == faults:
            return seed
    raise AssertionError("no seed found")


def test_the_history_counts_each_requests_429s_and_retries(akamai_emulator):
    emu = akamai_emulator
    emu.configure(rate_limits="akamai")
    with refill_after_the_first_429(emu):
        drain = PurgeRequest(options={"type": "cpcode"}, urls=range(1, 301))  # the whole bucket
        drain.purge_all()
        late = PurgeRequest(options={"type": "cpcode"}, urls=[999])
        late.purge_all()
    emu.configure(rate_limits="off", fail_rate=0.5, seed=seed_for([True, False]))
    PurgeRequest(urls=["/retried/"]).purge_all()  # a 5xx, then accepted
    drained, limited, retried = PurgeRecord.objects.order_by("id")
    assert (drained.rate_limited, drained.retries) == (0, 0)
    assert limited.rate_limited == late.transport.rate_limited >= 1
    assert (retried.rate_limited, retried.retries) == (0, 1)


def test_status_page_shows_the_backlog_and_the_last_day(akamai_emulator, settings):
    settings.AKAMAI_DELIVERY = "worker"
    PurgeRequest(urls=["/a/", "/b/"]).purge_all()
    PurgeRequest(urls=["/c/"]).purge_all()
    PurgeRecord.objects.filter(object_count=2).update(rate_limited=1, retries=1)
    PurgeRecord.objects.create(
        created_at=timezone.now() - timedelta(hours=30),  # older than a day: not counted
        api="v3",
        action="delete",
        network="production",
        object_type="url",
        object_count=7,
        status="accepted",
        rate_limited=9,
    )
    PurgeRecord.objects.create(
        created_at=timezone.now(),
        api="v3",
        action="delete",
        network="production",
        object_type="url",
        object_count=1,
        status="failed",
        http_status=403,
    )
    # The backlog: two pending (one backing off), one failed, the oldest an hour old.
    funnel.record(funnel.plan(["/p1/", "/p2/"]), using="default")
    PurgeIntent.objects.filter(value__endswith="/p1/").update(
        created_at=timezone.now() - timedelta(hours=1), attempts=2
    )
    intents.record_unplannable("x", "broken", using="default", object_type="url")

    page = client_for("viewer", "purge_cache").get(STATUS_URL).content.decode()
    assert card(page, "pending") == "2"
    assert card(page, "failed") == "1"
    assert card(page, "backing-off") == "1"
    assert card(page, "oldest").startswith("1\xa0hour")
    assert card(page, "requests") == "2"
    assert card(page, "objects") == "3"
    assert card(page, "refused") == "1"
    assert card(page, "429s") == "1"
    assert card(page, "retries") == "1"
    # The chart is inline SVG, 24 hours, no script and nothing loaded from elsewhere.
    svg = page[page.index('<svg id="akamai-chart"') :]
    svg = svg[: svg.index("</svg>")]
    assert svg.count('<g class="hour">') == 24
    assert svg.count('class="accepted"') == 1 and svg.count('class="failed"') == 1
    assert "2 accepted, 1 failed request(s), 3 object(s), 1 429(s), 1 retry" in svg
    assert "<script" not in page.split('id="content-main"')[1]
    assert not re.search(r"""(src|href)=["']https?://""", page)


def test_hours_are_counted_in_the_database():
    now = timezone.now()
    for hours_ago, count in ((0, 3), (5, 2), (23, 1), (24, 4)):
        PurgeRecord.objects.create(
            created_at=now - timedelta(hours=hours_ago),
            api="v3",
            action="delete",
            network="production",
            object_type="url",
            object_count=count,
            status="accepted",
        )
    current = status.pipeline_status(now)
    assert len(current.hours) == 24
    assert [h.objects for h in current.hours if h.objects] == [1, 2, 3]
    assert current.hours[-1].accepted == 1
    chart = status.hourly_chart(current.hours)
    assert chart["max"] == 1 and len(chart["bars"]) == 24


def test_nice_ceiling():
    assert [status._nice_ceiling(v) for v in (0, 1, 3, 7, 12, 99, 101)] == [
        1,
        1,
        5,
        10,
        20,
        100,
        200,
    ]
