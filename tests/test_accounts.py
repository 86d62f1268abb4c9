"""Several Akamai accounts (``AKAMAI_ACCOUNTS``): every door routes each object to its
account, the deliverer delivers every account under its own lease, and the history names it.

Two emulators are two accounts: the session's (the default account, through the
``akamai_emulator`` fixture) and a second one started here (``brand-b``). Each test counts
what each emulator received, so an object sent on the wrong account shows as a wrong count.
"""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from django_akamai import conf, funnel
from django_akamai.delivery.lease import account_identity, account_name
from django_akamai.delivery.worker import deliver_pending
from django_akamai.emulator import Emulator
from django_akamai.exceptions import AkamaiConfigurationError
from django_akamai.models import DeliveryLease, PurgeIntent, PurgeRecord
from django_akamai.purge import PurgeRequest
from django_akamai.signals import purge_request
from django_akamai.tasks import PurgeRequestTask, purge_objects
from tests.testapp.models import Article

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "other"])

A = "https://www.example.com"
B = "https://www.brand-b.com"


@pytest.fixture(scope="module")
def brand_b_server():
    with Emulator(port=0) as emu:
        yield emu


@pytest.fixture
def brand_b(brand_b_server, akamai_emulator, settings):
    """A second account, ``brand-b``, on a second emulator; its host and tokens in settings."""
    emu = brand_b_server
    emu.restore_defaults()
    emu.reset()
    c = emu.credentials
    settings.AKAMAI_ACCOUNTS = {
        "brand-b": {
            "HOST": emu.base_url,
            "CLIENT_TOKEN": c.client_token,
            "CLIENT_SECRET": c.client_secret,
            "ACCESS_TOKEN": c.access_token,
            "HOSTNAMES": ["www.brand-b.com"],
        }
    }
    yield emu
    emu.restore_defaults()
    emu.reset()


@pytest.fixture
def worker_mode(brand_b, settings):
    """Record only; the test delivers with deliver_pending()."""
    settings.AKAMAI_DELIVERY = "worker"
    return brand_b


def objects_of(emu):
    return sorted(map(str, emu.accepted_objects()))


# --- the setting ----------------------------------------------------------------------------


def test_an_account_from_an_edgerc_section_named_after_it(
    brand_b_server, akamai_emulator, settings, tmp_path
):
    path = brand_b_server.write_edgerc(tmp_path / ".edgerc", section="brand-b")
    settings.AKAMAI_ACCOUNTS = {"brand-b": {"EDGERC_FILENAME": str(path), "HOSTNAMES": []}}
    credentials = conf.resolve_credentials(account="brand-b")
    assert credentials.host == brand_b_server.base_url
    assert account_identity("brand-b") == account_name(credentials)
    assert account_identity(None) == account_name(conf.resolve_credentials())
    assert account_identity("brand-b") != account_identity(None)


def test_routing_by_host_and_by_name(brand_b):
    the_plan = funnel.plan([f"{A}/a", f"{B}/b", f"{B}/c", f"{A}/d"])
    routed = {p.account: p.objects for p in funnel.route(the_plan)}
    assert routed == {"default": (f"{A}/a", f"{A}/d"), "brand-b": (f"{B}/b", f"{B}/c")}
    # Routing again changes nothing; a named account takes everything.
    assert funnel.route(funnel.route(the_plan)) == funnel.route(the_plan)
    [forced] = funnel.route(funnel.plan([f"{A}/a", f"{B}/b"], account="brand-b"))
    assert forced.account == "brand-b" and len(forced) == 2
    [tags] = funnel.route(funnel.plan(["news"], {"type": "tag"}))
    assert tags.account == "default"


def test_a_port_in_hostnames_matches_that_port_only(brand_b, settings):
    settings.AKAMAI_ACCOUNTS["brand-b"]["HOSTNAMES"] = ["127.0.0.1:8001", "www.brand-b.com"]
    assert conf.account_for_url("http://127.0.0.1:8001/x") == "brand-b"
    assert conf.account_for_url("http://127.0.0.1:8000/x") is None
    assert conf.account_for_url("https://WWW.Brand-B.com:8443/x") == "brand-b"


def test_an_unknown_account_is_refused_before_anything_is_sent(brand_b, akamai_emulator):
    with pytest.raises(AkamaiConfigurationError, match="'brand-c'.*'default', 'brand-b'"):
        purge_request.send(["news"], type="tag", account="brand-c")
    with pytest.raises(AkamaiConfigurationError, match="brand-c"):
        PurgeRequest(account="brand-c")
    with pytest.raises(AkamaiConfigurationError, match="brand-c"):
        PurgeRequestTask.delay("/a", account="brand-c")
    assert akamai_emulator.counters["requests"] == brand_b.counters["requests"] == 0


def test_arguments_and_a_named_account_do_not_mix(brand_b):
    with pytest.raises(AkamaiConfigurationError, match="host"):
        PurgeRequest(account="brand-b", host="https://elsewhere.example")


# --- sending now ----------------------------------------------------------------------------


def test_urls_purged_now_land_on_the_account_of_their_host(brand_b, akamai_emulator):
    purge_request.send([f"{A}/a", f"{B}/b", f"{B}/c", "/d"])
    assert objects_of(akamai_emulator) == [f"{A}/a", f"{A}/d"]
    assert objects_of(brand_b) == [f"{B}/b", f"{B}/c"]
    assert akamai_emulator.counters["requests"] == brand_b.counters["requests"] == 1
    accounts = sorted(PurgeRecord.objects.values_list("account", "object_count"))
    assert accounts == [("", 2), ("brand-b", 2)]


def test_tags_and_cp_codes_take_an_explicit_account(brand_b, akamai_emulator):
    purge_request.send(["news"], type="tag", account="brand-b")
    purge_request.send([1234], type="cpcode", account="brand-b")
    purge_request.send(["sport"], type="tag")
    assert objects_of(brand_b) == ["1234", "news"]
    assert objects_of(akamai_emulator) == ["sport"]


def test_purge_request_sends_on_its_account(brand_b, akamai_emulator):
    with PurgeRequest(account="brand-b", options={"type": "tag"}) as pr:
        assert pr.account == "brand-b"
        pr.add(["news", "sport"])
        pr.purge_all()
    assert objects_of(brand_b) == ["news", "sport"]
    assert akamai_emulator.counters["requests"] == 0
    assert PurgeRecord.objects.get().account == "brand-b"


# --- recording and delivering --------------------------------------------------------------


def test_a_deliverer_delivers_every_account_each_on_its_own(worker_mode, akamai_emulator):
    with transaction.atomic():
        purge_request.send([f"{A}/a", f"{B}/b"])
        purge_request.send(["news"], type="tag", account="brand-b")
        purge_request.send(["sport"], type="tag")
    identities = dict(PurgeIntent.objects.values_list("value", "account"))
    assert identities == {
        f"{A}/a": account_identity(None),
        f"{B}/b": account_identity("brand-b"),
        "news": account_identity("brand-b"),
        "sport": account_identity(None),
    }
    assert akamai_emulator.counters["requests"] == worker_mode.counters["requests"] == 0

    report = deliver_pending()
    assert report.ok and report.accepted == 4
    assert objects_of(akamai_emulator) == [f"{A}/a", "sport"]
    assert objects_of(worker_mode) == [f"{B}/b", "news"]
    assert not PurgeIntent.objects.exists()
    # Each account under its own lease, and named in the history.
    assert sorted(DeliveryLease.objects.values_list("name", flat=True)) == sorted(
        [account_identity(None), account_identity("brand-b")]
    )
    assert sorted(PurgeRecord.objects.values_list("account", flat=True)) == [
        "",
        "",
        "brand-b",
        "brand-b",
    ]


def test_one_account_can_be_delivered_alone(worker_mode, akamai_emulator):
    with transaction.atomic():
        purge_request.send([f"{A}/a", f"{B}/b"])
    assert deliver_pending(account="brand-b").accepted == 1
    assert objects_of(worker_mode) == [f"{B}/b"]
    assert akamai_emulator.counters["requests"] == 0
    assert deliver_pending(account="default").accepted == 1
    assert objects_of(akamai_emulator) == [f"{A}/a"]


def test_a_removed_account_stalls_no_other(worker_mode, akamai_emulator, settings):
    with transaction.atomic():
        purge_request.send([f"{B}/b1", f"{B}/b2"])
    settings.AKAMAI_ACCOUNTS = None  # brand-b removed: its intents have no deliverer here
    with transaction.atomic():
        purge_request.send([f"{A}/a"])
    report = deliver_pending()
    assert report.accepted == 1 and not report.busy
    assert objects_of(akamai_emulator) == [f"{A}/a"]
    assert worker_mode.counters["requests"] == 0
    assert PurgeIntent.objects.filter(status="pending").count() == 2


def test_an_account_whose_credentials_fail_stalls_no_other(worker_mode, akamai_emulator, settings):
    with transaction.atomic():
        purge_request.send([f"{A}/a", f"{B}/b"])
    settings.AKAMAI_ACCOUNTS["brand-b"]["CLIENT_TOKEN"] = None  # now incomplete
    report = deliver_pending()
    assert report.accepted == 1
    assert "brand-b" in report.config_error and "CLIENT_TOKEN" in report.config_error
    assert objects_of(akamai_emulator) == [f"{A}/a"]
    assert PurgeIntent.objects.get().value == f"{B}/b"


def test_committed_purges_are_delivered_to_both_accounts(brand_b, akamai_emulator):
    """Background mode (delivered right after the commit here: an in-memory database)."""
    with transaction.atomic():
        Article.objects.create(slug="x")
        purge_request.send([f"{A}/a", f"{B}/b"])
        purge_request.send(["news"], type="tag", account="brand-b")
    assert objects_of(akamai_emulator) == [f"{A}/a"]
    assert objects_of(brand_b) == [f"{B}/b", "news"]
    assert not PurgeIntent.objects.exists()


def test_suspended_purges_keep_their_accounts(worker_mode, akamai_emulator):
    with funnel.suspend_purges():
        purge_request.send([f"{A}/a", f"{B}/b"])
        purge_request.send(["news"], type="tag", account="brand-b")
        with PurgeRequest(account="brand-b", options={"type": "tag"}) as pr:
            pr.add(["sport"])
            pr.purge_all()
    assert PurgeIntent.objects.filter(account=account_identity("brand-b")).count() == 3
    assert deliver_pending().accepted == 4
    assert objects_of(worker_mode) == [f"{B}/b", "news", "sport"]
    assert objects_of(akamai_emulator) == [f"{A}/a"]


def test_automatic_purging_takes_the_models_account(worker_mode, akamai_emulator, settings):
    settings.AKAMAI_PURGE_MODELS = {"testapp.Article": {"account": "brand-b", "tags": ["news"]}}
    Article.objects.create(slug="x")
    assert deliver_pending().accepted == 2
    assert objects_of(worker_mode) == [f"{A}/articles/x/", "news"]
    assert akamai_emulator.counters["requests"] == 0


def test_automatic_purging_refuses_an_unknown_account(brand_b, settings):
    from django_akamai import autopurge

    with pytest.raises(AkamaiConfigurationError, match=r"testapp.Article.*brand-c"):
        autopurge.load({"testapp.Article": {"account": "brand-c"}})


# --- the Celery task and the command -------------------------------------------------------


def test_the_task_sends_each_accounts_part_on_it(memory_app, brand_b, akamai_emulator):
    memory_app.conf.task_always_eager = True
    assert PurgeRequestTask.delay([f"{A}/a", f"{B}/b", f"{B}/c"]).get() == 3
    assert PurgeRequestTask.delay(["news"], type="tag", account="brand-b").get() == 1
    assert objects_of(akamai_emulator) == [f"{A}/a"]
    assert objects_of(brand_b) == [f"{B}/b", f"{B}/c", "news"]


def test_a_task_message_names_its_account(memory_app, brand_b, akamai_emulator):
    outcome = purge_objects.apply(
        args=(["news"],), kwargs={"options": {"type": "tag"}, "account": "brand-b"}
    )
    assert outcome.successful() and outcome.get() == 1
    assert objects_of(brand_b) == ["news"]
    # A message of an older deploy (no account) purges on the default account.
    assert purge_objects.apply(args=([f"{A}/a"],)).get() == 1
    assert objects_of(akamai_emulator) == [f"{A}/a"]
    failed = purge_objects.apply(args=(["news"],), kwargs={"account": "brand-c"})
    assert isinstance(failed.result, AkamaiConfigurationError)


def test_the_command_routes_urls_and_takes_account(brand_b, akamai_emulator):
    out = io.StringIO()
    call_command("akamai_purge", f"{A}/a", f"{B}/b", stdout=out)
    call_command("akamai_purge", "--tag", "news", "--account", "brand-b", stdout=out)
    assert objects_of(akamai_emulator) == [f"{A}/a"]
    assert objects_of(brand_b) == [f"{B}/b", "news"]
    with pytest.raises(CommandError, match="brand-c") as raised:
        call_command("akamai_purge", "--tag", "x", "--account", "brand-c", stdout=out)
    assert raised.value.returncode == 2


def test_the_commands_dry_run_names_the_account(brand_b):
    out = io.StringIO()
    call_command("akamai_purge", f"{A}/a", f"{B}/b", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "on account 'default'" in text and "on account 'brand-b'" in text
    assert brand_b.base_url in text
    assert brand_b.counters["requests"] == 0


# --- the checks ----------------------------------------------------------------------------


def e014(settings_value, settings):
    from django_akamai.checks import check_accounts

    settings.AKAMAI_ACCOUNTS = settings_value
    return [m for m in check_accounts() if m.id in ("django_akamai.E014", "django_akamai.E006")]


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ({"brand b": {}}, ["'brand b'", "name"]),
        ({"default": {}}, ["'default'", "default account"]),
        ({"b": {"HOSTNAMES": "www.b.com"}}, ["AKAMAI_ACCOUNTS['b']['HOSTNAMES']"]),
        ({"b": {"HOSTNAMES": ["https://www.b.com/"]}}, ["['HOSTNAMES']", "without a scheme"]),
        ({"b": {"HOST_NAMES": []}}, ["AKAMAI_ACCOUNTS['b']", "HOST_NAMES", "known"]),
        (
            {"b": {"HOSTNAMES": ["x.com"]}, "c": {"HOSTNAMES": ["X.com"]}},
            ["['c']['HOSTNAMES']", "'x.com'", "AKAMAI_ACCOUNTS['b']"],
        ),
        ({"b": {"CLIENT_SECRET": 3}}, ["AKAMAI_ACCOUNTS['b']['CLIENT_SECRET']", "int"]),
        (["b"], ["AKAMAI_ACCOUNTS", "dict"]),
    ],
)
def test_a_malformed_setting_is_named_by_the_check(value, words, settings):
    [message] = e014(value, settings)
    assert message.id == "django_akamai.E014"
    for word in words:
        assert word in message.msg


def test_each_accounts_credentials_are_checked_never_quoted(settings, tmp_path):
    secret = "s3cr3t-value-that-must-not-show"
    messages = e014(
        {
            "b": {"HOST": "https://akab-x.purge.akamaiapis.net", "CLIENT_SECRET": secret},
            "c": {"EDGERC_FILENAME": str(tmp_path / "missing"), "HOSTNAMES": ["c.com"]},
            "d": {
                "HOST": "http://purge.example.com",
                "CLIENT_TOKEN": "t",
                "CLIENT_SECRET": "cw==",
                "ACCESS_TOKEN": "a",
            },
        },
        settings,
    )
    text = "\n".join(m.msg for m in messages)
    assert len(messages) == 3
    assert "AKAMAI_ACCOUNTS['b']" in text and "CLIENT_TOKEN" in text
    assert "AKAMAI_ACCOUNTS['c']" in text and "[c]" in text  # the section: the account's name
    assert "plain http" in text
    assert secret not in text


def test_with_purging_off_the_accounts_problems_are_warnings(settings, tmp_path):
    settings.AKAMAI_PURGE_ENABLED = False
    [message] = e014({"c": {"EDGERC_FILENAME": str(tmp_path / "missing")}}, settings)
    assert message.level < 40  # a warning


def test_good_accounts_pass_the_checks(brand_b):
    from django_akamai.checks import check_accounts

    assert check_accounts() == []


# --- akamai_worker ---------------------------------------------------------------------------


def test_akamai_worker_burst_delivers_every_account(worker_mode, akamai_emulator):
    with transaction.atomic():
        purge_request.send([f"{A}/a", f"{B}/b", f"{B}/c"])
    out = io.StringIO()
    call_command("akamai_worker", "--burst", stdout=out)
    assert "Delivered 3 purge intent(s) in 2 request(s)." in out.getvalue()
    assert objects_of(akamai_emulator) == [f"{A}/a"]
    assert objects_of(worker_mode) == [f"{B}/b", f"{B}/c"]


def test_akamai_worker_status_counts_each_account(worker_mode, settings):
    with transaction.atomic():
        purge_request.send([f"{A}/a", f"{B}/b", f"{B}/c"])
    removed = account_identity("brand-b")
    # brand-b removed; brand-c's credentials are incomplete: neither names brand-b's rows.
    settings.AKAMAI_ACCOUNTS = {"brand-c": {"HOST": "https://akab-c.purge.akamaiapis.net"}}
    out = io.StringIO()
    call_command("akamai_worker", "--status", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("default: pending 3,")
    assert "  account default: pending 1, being delivered 0, failed 0" in lines
    assert (
        f"  account {removed} (no configured account): pending 2, being delivered 0, failed 0"
        in lines
    )


# --- the admin -------------------------------------------------------------------------------


def test_the_admins_purge_page_sends_each_url_on_the_account_of_its_host(brand_b, akamai_emulator):
    from django.test import Client

    from tests.test_admin import PURGE_URL, staff

    client = Client()
    client.force_login(staff("purger", "purge_cache"))
    response = client.post(
        PURGE_URL,
        {"urls": f"{A}/a\n{B}/b\n{B}/c", "action": "delete", "network": "production"},
    )
    assert response.status_code == 302
    assert objects_of(akamai_emulator) == [f"{A}/a"]
    assert objects_of(brand_b) == [f"{B}/b", f"{B}/c"]
    assert sorted(PurgeRecord.objects.values_list("account", "actor")) == [
        ("", "admin:purger"),
        ("brand-b", "admin:purger"),
    ]


def test_an_accounts_secrets_are_hidden_on_the_debug_page(brand_b):
    from django.views.debug import SafeExceptionReporterFilter

    shown = SafeExceptionReporterFilter().get_safe_settings()["AKAMAI_ACCOUNTS"]["brand-b"]
    secrets = (brand_b.credentials.client_secret, brand_b.credentials.access_token)
    assert not any(secret in repr(shown) for secret in secrets)
    assert shown["HOSTNAMES"] == ["www.brand-b.com"]


def test_the_celery_deliverer_delivers_every_account(memory_app, worker_mode, akamai_emulator):
    from django_akamai.tasks import deliver_intents

    with transaction.atomic():
        purge_request.send([f"{A}/a", f"{B}/b"])
    result = deliver_intents.apply().get()
    assert result["accepted"] == 2 and result["requests"] == 2
    assert objects_of(akamai_emulator) == [f"{A}/a"]
    assert objects_of(worker_mode) == [f"{B}/b"]
