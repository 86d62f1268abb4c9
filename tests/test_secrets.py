"""The CCU v2 password, the EdgeGrid client secret and the access token never show: not in
logs at DEBUG (ours, edgegrid-python's, urllib3's), exception strings, reprs or tracebacks,
task messages on the broker, a real worker's log and result, the admin's pages, the command's
output, or ``manage.py check``.

The emulator here has credentials of its own, each holding ``MARK`` (which nothing else
holds), so that even part of a secret is caught; a wrong secret and a wrong password, used to
provoke refusals, hold it too. Every scenario also asserts that it produced what it is
searched for (the refusal, the log lines, the message), so a search can't pass on empty text.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import pickle
import sys
import traceback
from typing import Any

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import transaction
from django.test import Client, RequestFactory
from django.views.debug import ExceptionReporter, technical_500_response

from django_akamai.emulator import Emulator
from django_akamai.exceptions import (
    AkamaiConfigurationError,
    AkamaiError,
    EdgercError,
    InvalidHostError,
    PurgeIncomplete,
    PurgeRetriesExhausted,
)
from django_akamai.models import PurgeIntent, PurgeRecord
from django_akamai.purge import PurgeRequest
from django_akamai.signals import purge_request, queue_purge_request
from django_akamai.tasks import PurgeRequestTask
from django_akamai.testing import emulator_settings
from tests.brokers import Worker, delete_queue, require_broker, unique_queue, wait_for
from tests.test_admin import HISTORY_URL, PURGE_URL, messages_of, staff
from tests.test_command import run
from tests.test_tasks import published
from tests.test_tasks_broker import producer  # noqa: F401  (a fixture, used by name)
from tests.testapp.models import Article

pytestmark = pytest.mark.django_db(transaction=True)

MARK = "zQx9LEAK"
CLIENT_SECRET = f"cs+{MARK}+client/secret0f3a9c1d="
ACCESS_TOKEN = f"akab-{MARK}-access-token-7b21e4"
PASSWORD = f"pw-{MARK}-ccu-v2-password-5e8d"
WRONG_SECRET = f"cs+{MARK}+WRONG/secret91cc2b7e="
WRONG_PASSWORD = f"pw-{MARK}-WRONG-password-44aa"
# Secrets with characters that used to escape: € (not Latin-1: requests' Basic auth raised a
# UnicodeEncodeError holding the password), invisible ones (a zero-width space or a word
# joiner made http.client raise with the whole Authorization header).
EURO_PASSWORD = f"pw-€-{MARK}-ccu-v2"
WRONG_EURO_PASSWORD = f"pw-€-{MARK}-WRONG"
INVISIBLE_TOKEN = f"akab-{MARK}\u200b-access-token"
INVISIBLE_SECRET = f"cs+{MARK}\u2060+client/secret="
EURO_SECRET = f"cs+{MARK}€+client/secret="
SECRETS = (
    CLIENT_SECRET,
    ACCESS_TOKEN,
    PASSWORD,
    WRONG_SECRET,
    WRONG_PASSWORD,
    EURO_PASSWORD,
    WRONG_EURO_PASSWORD,
    INVISIBLE_TOKEN,
    INVISIBLE_SECRET,
    EURO_SECRET,
)
# Not secret, and allowed to show: they must not hold MARK.
CLIENT_TOKEN = "akab-client-token-may-show-3c5d"
USERNAME = "ccu-user-may-show"


def leaks(text: str) -> list[str]:
    """Every secret (or part of one, or a Basic auth header) found in ``text``."""
    found = [secret for secret in SECRETS if secret in text]
    found += [
        f"Basic {password}"
        for password in (PASSWORD, WRONG_PASSWORD, EURO_PASSWORD, WRONG_EURO_PASSWORD)
        if base64.b64encode(f"{USERNAME}:{password}".encode()).decode() in text
    ]
    return found + ([MARK] if MARK in text else [])


def test_the_detector_finds_what_it_looks_for():
    assert leaks(f"x{CLIENT_SECRET[:12]}") == [MARK]
    basic = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    assert leaks(f"Authorization: Basic {basic}") == [f"Basic {PASSWORD}"]
    assert leaks(f"{CLIENT_TOKEN} {USERNAME} refused") == []


def emulator_with(password: str):
    """An emulator whose credentials are ours, with this CCU v2 password."""
    return Emulator(
        port=0,
        client_token=CLIENT_TOKEN,
        client_secret=CLIENT_SECRET,
        access_token=ACCESS_TOKEN,
        username=USERNAME,
        password=password,
    )


def pointed_at(emu, settings, api: str):
    """``emu``, reset, with the settings pointing at it (both APIs' credentials set)."""
    emu.restore_defaults()
    emu.reset()
    for name, value in emulator_settings(emu, api).items():
        setattr(settings, name, value)
    yield emu
    emu.restore_defaults()


@pytest.fixture(scope="module")
def secret_emulator():
    with emulator_with(PASSWORD) as emu:
        yield emu


@pytest.fixture
def secret_emu(secret_emulator, settings):
    """That emulator, with Fast Purge v3 selected."""
    yield from pointed_at(secret_emulator, settings, "v3")


def refused(settings, api: str) -> None:
    """Make the next purges on ``api`` fail authentication: a wrong secret or password."""
    settings.AKAMAI_CCU_API = api
    if api == "v3":
        settings.AKAMAI_CCU_CLIENT_SECRET = WRONG_SECRET
    else:
        settings.AKAMAI_CCUAPI_PASSWORD = WRONG_PASSWORD


def failed_purge(**kwargs) -> BaseException:
    """Purge one URL, expecting a failure; return the exception."""
    request = PurgeRequest(**kwargs)
    request.add("/secret-test/")
    with pytest.raises(AkamaiError) as info:
        request.purge_all()
    return info.value


def everything_about(exc: BaseException, seen: set[int] | None = None) -> str:
    """What a log, a page or a crash report can show of an exception: its str, repr, args,
    attributes, traceback and pickle, and the same of its failures, cause and context (even
    a suppressed one)."""
    seen = set() if seen is None else seen
    if id(exc) in seen:
        return ""
    seen.add(id(exc))
    parts = [str(exc), repr(exc), repr(exc.args), repr(vars(exc))]
    parts.append("".join(traceback.format_exception(exc)))
    try:
        parts.append(pickle.dumps(exc).decode("utf-8", "replace"))
    except Exception as error:  # noqa: BLE001  (unpicklable is fine; saying why must be safe)
        parts.append(repr(error))
    for nested in (*getattr(exc, "failures", ()), exc.__cause__, exc.__context__):
        if isinstance(nested, BaseException):
            parts.append(everything_about(nested, seen))
    return "\n".join(parts)


# --- logs at DEBUG -------------------------------------------------------------------------


def test_debug_logs_never_show_a_secret(secret_emu, settings, caplog):
    caplog.set_level(logging.DEBUG)  # the root logger: ours, edgegrid-python's, urllib3's
    request = PurgeRequest()
    request.add("/accepted/")
    request.purge_all()

    settings.AKAMAI_MAX_RETRIES = 1
    secret_emu.configure(fail_rate=1.0)
    assert isinstance(failed_purge(), PurgeRetriesExhausted)  # a WARNING per retry
    secret_emu.configure(fail_rate=0.0)

    refused(settings, "v3")
    assert failed_purge().failures[0].status == 401  # logged at ERROR by purge_all()
    with transaction.atomic():  # refused when delivered: logged with its traceback
        purge_request.send("/after-commit/")
    refused(settings, "v2")
    assert failed_purge().failures[0].status == 401

    names = {record.name for record in caplog.records}
    assert {"django_akamai", "akamai.edgegrid.edgegrid", "urllib3.connectionpool"} <= names
    assert "signed authorization header" in caplog.text
    assert "Akamai refused a purge request (not its objects)" in caplog.text
    assert "Traceback" in caplog.text
    assert leaks(caplog.text) == []
    # Handlers that serialise the record (JSON logs, error trackers) see its arguments too.
    assert leaks("\n".join(repr(vars(record)) for record in caplog.records)) == []


# --- exception strings, reprs and tracebacks -----------------------------------------------


def test_refusals_and_failures_never_show_a_secret(secret_emu, settings):
    settings.AKAMAI_MAX_RETRIES = 0
    secret_emu.configure(fail_rate=1.0)
    unreachable = failed_purge()
    secret_emu.configure(fail_rate=0.0)
    refused(settings, "v3")
    v3 = failed_purge()
    refused(settings, "v2")
    v2 = failed_purge()
    with pytest.raises(AkamaiError) as signal_failure:
        purge_request.send("/signal/")

    assert isinstance(unreachable, PurgeRetriesExhausted)
    for exc in (v3, v2, signal_failure.value):
        assert isinstance(exc, PurgeIncomplete) and exc.failures[0].status == 401
        assert "HTTP 401" in str(exc)
    for exc in (unreachable, v3, v2, signal_failure.value):
        assert leaks(everything_about(exc)) == []


def test_requests_and_credentials_reprs_never_show_a_secret(secret_emu, settings):
    shown = []
    for api in ("v3", "v2"):
        settings.AKAMAI_CCU_API = api
        request = PurgeRequest()
        request.add("/a")
        shown += [repr(request), str(request), repr(request.credentials)]
    assert CLIENT_TOKEN in shown[2] and USERNAME in shown[5]
    assert leaks("\n".join(shown)) == []


def test_configuration_errors_never_show_a_secret(settings, tmp_path):
    edgerc = tmp_path / "edgerc"
    edgerc.write_text(f"client_secret = {CLIENT_SECRET}\n[CCU]\naccess_token = {ACCESS_TOKEN}\n")
    unparsable = pytest.raises(EdgercError, PurgeRequest, edgerc=str(edgerc)).value
    both_apis = pytest.raises(
        AkamaiError,
        PurgeRequest,
        username=USERNAME,
        password=PASSWORD,
        host="akab-h.purge.akamaiapis.net",
        client_secret=CLIENT_SECRET,
    ).value
    settings.AKAMAI_CCU_CLIENT_SECRET = CLIENT_SECRET  # incomplete: no host, no client token
    settings.AKAMAI_CCU_ACCESS_TOKEN = ACCESS_TOKEN
    incomplete = pytest.raises(AkamaiError, PurgeRequest).value
    settings.AKAMAI_CCU_HOST = "http://akab-remote.purge.akamaiapis.net"
    settings.AKAMAI_CCU_CLIENT_TOKEN = CLIENT_TOKEN
    plain_http = pytest.raises(InvalidHostError, PurgeRequest).value
    for exc, says in [
        (unparsable, "MissingSectionHeaderError"),
        (both_apis, "api='v3'"),
        (incomplete, "missing AKAMAI_CCU_HOST"),
        (plain_http, "plain http"),
    ]:
        assert says in str(exc)
        assert leaks(everything_about(exc)) == []


V2_BASE_URL_WITH_PASSWORD = (
    f"https://{USERNAME}:{PASSWORD}@api.ccu.akamai.com/ccu/v2/queues/default"
)


def test_a_password_in_the_v2_base_url_is_not_echoed(settings):
    settings.AKAMAI_CCUAPI_USERNAME, settings.AKAMAI_CCUAPI_PASSWORD = USERNAME, PASSWORD
    settings.AKAMAI_CCUAPI_BASE_URL = V2_BASE_URL_WITH_PASSWORD
    with pytest.raises(InvalidHostError) as info:
        PurgeRequest()
    assert leaks(everything_about(info.value)) == []


def test_a_percent_sign_in_an_edgerc_secret_is_a_plain_character(settings, tmp_path):
    # Read without configparser interpolation: nothing to fail on, nothing quoted.
    edgerc = tmp_path / "edgerc"
    edgerc.write_text(
        f"[CCU]\nhost = akab-h.purge.akamaiapis.net\nclient_token = t\n"
        f"client_secret = cs%{CLIENT_SECRET}\naccess_token = {ACCESS_TOKEN}\n"
    )
    settings.AKAMAI_EDGERC_FILENAME = str(edgerc)
    request = PurgeRequest()
    assert request.credentials.client_secret.reveal() == f"cs%{CLIENT_SECRET}"
    assert leaks(repr(request) + repr(request.credentials)) == []


# --- task messages on the broker -------------------------------------------------------------


def test_task_messages_carry_no_secret(secret_emu, memory_app, settings):
    settings.AKAMAI_DELIVERY = "worker"  # keep the intent to look at
    published(memory_app)  # start from an empty queue
    PurgeRequestTask.delay(["/delay/"], action="invalidate")
    queue_purge_request.send("/signal/", network="staging")
    with transaction.atomic():  # recorded as a purge intent, not a task message
        PurgeRequestTask.delay_on_commit(Article.objects.create(slug="committed"))
    [intent] = PurgeIntent.objects.all()
    assert leaks(repr(vars(intent))) == []
    assert run("--queue", "--tag", "queued-tag", "/command/")[0] == 0
    messages = published(memory_app)
    assert len(messages) == 4  # delay, signal, the command's URLs and its tags
    for message in messages:
        wire = (
            message["raw"]
            + json.dumps([message["headers"], message["properties"]], default=str).encode()
        )
        assert leaks(wire.decode()) == []
    assert secret_emu.counters["requests"] == 0


# --- the admin's pages -----------------------------------------------------------------------


@pytest.mark.parametrize("api", ["v3", "v2"])
def test_admin_pages_after_a_failed_purge_never_show_a_secret(secret_emu, settings, api):
    purger = Client()
    purger.force_login(staff("purger", "purge_cache", "view_article", "change_article"))
    refused(settings, api)
    article = Article.objects.create(slug="refused")
    posted = purger.post(
        PURGE_URL,
        {
            "urls": "/refused/",
            "tags": "" if api == "v2" else "t",
            "action": "delete",
            "network": "production",
        },
    )
    assert posted.status_code == 200
    assert any("HTTP 401" in text for text in messages_of(posted))
    action = purger.post(
        "/admin/testapp/article/",
        {"action": "purge_from_akamai", "_selected_action": [article.pk]},
        follow=True,
    )
    assert any("HTTP 401" in text for text in messages_of(action))
    records = list(PurgeRecord.objects.all())
    assert records and {r.status for r in records} == {"failed"}
    pages = [posted, action, purger.get(PURGE_URL), purger.get(HISTORY_URL)]
    pages += [purger.get(f"{HISTORY_URL}{record.pk}/change/") for record in records]
    assert all(page.status_code == 200 for page in pages)
    assert "refused the purge request with HTTP 401" in pages[-1].content.decode()
    for page in pages:
        assert leaks(page.content.decode()) == []


# --- the command's output --------------------------------------------------------------------


@pytest.mark.parametrize("api", ["v3", "v2"])
def test_command_output_never_shows_a_secret(secret_emu, settings, api):
    settings.AKAMAI_CCU_API = api
    outputs = [run("--dry-run", "-v", "3", "/dry/"), run("-v", "3", "/accepted/")]
    refused(settings, api)
    outputs.append(run("-v", "3", "/refused/", "--cpcode", "12345"))
    assert [code for code, _, _ in outputs] == [0, 0, 1]
    assert "HTTP 401" in outputs[-1][2]
    for _, out, err in outputs:
        assert leaks(out + err) == []


# --- manage.py check -------------------------------------------------------------------------


def check_output() -> tuple[str, list[str]]:
    """What ``manage.py check`` prints (errors raise with the report), and the check ids."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("check", stdout=out, stderr=err)
        report = ""
    except SystemCheckError as exc:
        report = str(exc)
    ids = [m.id for m in run_checks() if (m.id or "").startswith("django_akamai.")]
    return out.getvalue() + err.getvalue() + report, ids


V3_SECRETS = {"AKAMAI_CCU_CLIENT_SECRET": CLIENT_SECRET, "AKAMAI_CCU_ACCESS_TOKEN": ACCESS_TOKEN}
V3_SETTINGS = {
    "AKAMAI_CCU_HOST": "akab-h.purge.akamaiapis.net",
    "AKAMAI_CCU_CLIENT_TOKEN": CLIENT_TOKEN,
    **V3_SECRETS,
}
V2_SETTINGS = {"AKAMAI_CCUAPI_USERNAME": USERNAME, "AKAMAI_CCUAPI_PASSWORD": PASSWORD}
EDGERC = (
    f"[CCU]\nhost = akab-h.purge.akamaiapis.net\nclient_secret = {CLIENT_SECRET}\n"
    f"access_token = {ACCESS_TOKEN}\n"
)


@pytest.mark.parametrize(
    "settings_given, edgerc, expected",
    [
        pytest.param(V3_SECRETS, None, "django_akamai.E004", id="v3-incomplete"),
        pytest.param(
            {**V3_SETTINGS, "AKAMAI_CCU_HOST": "http://akab-h.purge.akamaiapis.net"},
            None,
            "django_akamai.E006",
            id="v3-plain-http",
        ),
        pytest.param({**V3_SETTINGS, **V2_SETTINGS}, None, "django_akamai.W002", id="both-apis"),
        pytest.param(
            {
                **V2_SETTINGS,
                "AKAMAI_CCU_API": "v2",
                "AKAMAI_CCUAPI_BASE_URL": "http://api.ccu.akamai.com",
            },
            None,
            "django_akamai.E006",
            id="v2-plain-http",
        ),
        pytest.param({}, EDGERC, "django_akamai.E003", id="edgerc-no-client-token"),
        pytest.param(
            {},
            EDGERC + f"client_token = {CLIENT_TOKEN}\nmax_body = {CLIENT_SECRET}\n",
            "django_akamai.E001",
            id="edgerc-secret-as-max-body",
        ),
        pytest.param(
            {},
            f"client_secret = {CLIENT_SECRET}\n" + EDGERC,
            "django_akamai.E001",
            id="edgerc-secret-before-any-section",
        ),
        pytest.param(
            {}, EDGERC.replace("[CCU]", "[other]"), "django_akamai.E002", id="edgerc-other-section"
        ),
        pytest.param(
            {
                **V2_SETTINGS,
                "AKAMAI_CCU_API": "v2",
                "AKAMAI_CCUAPI_BASE_URL": V2_BASE_URL_WITH_PASSWORD,
            },
            None,
            "django_akamai.E004",
            id="v2-password-in-base-url",
        ),
    ],
)
def test_manage_py_check_never_shows_a_secret(settings, tmp_path, settings_given, edgerc, expected):
    for name, value in settings_given.items():
        setattr(settings, name, value)
    if edgerc is not None:
        (tmp_path / "edgerc").write_text(edgerc)
        settings.AKAMAI_EDGERC_FILENAME = str(tmp_path / "edgerc")
    text, ids = check_output()
    assert ids == [expected] and expected in text
    assert leaks(text) == []


# --- secrets with non-ASCII and invisible characters, and Django's error pages ---------------


@pytest.fixture(scope="module")
def euro_emulator():
    """An emulator whose CCU v2 password is not Latin-1."""
    with emulator_with(EURO_PASSWORD) as emu:
        yield emu


@pytest.fixture
def euro_emu(euro_emulator, settings):
    """That emulator, with CCU v2 selected."""
    yield from pointed_at(euro_emulator, settings, "v2")


def test_a_password_that_is_not_latin1_is_sent_and_accepted(euro_emu):
    request = PurgeRequest()
    request.add("/euro/")
    [result] = request.purge_all()
    assert result["httpStatus"] == 201
    assert euro_emu.accepted_objects() == ["https://www.example.com/euro/"]


def _edgerc_with_a_wrapped_token(tmp_path) -> str:
    path = tmp_path / "wrapped.edgerc"
    path.write_text(
        f"[CCU]\nhost = akab-h.purge.akamaiapis.net\nclient_token = {CLIENT_TOKEN}\n"
        f"client_secret = {CLIENT_SECRET}\naccess_token = {ACCESS_TOKEN[:9]}\n"
        f"    {ACCESS_TOKEN[9:]}\n"
    )
    return str(path)


# Each: a label, the settings that make it fail (on top of the € emulator's CCU v2 ones), and
# what the error must say instead of the secret.
HOSTILE = {
    "v2-wrong-euro-password": ({"AKAMAI_CCUAPI_PASSWORD": WRONG_EURO_PASSWORD}, "HTTP 401"),
    "v2-invisible-password": (
        {"AKAMAI_CCUAPI_PASSWORD": EURO_PASSWORD + "\u200b"},
        "AKAMAI_CCUAPI_PASSWORD contains an invisible or control character (U+200B",
    ),
    "v2-unreachable": ({"AKAMAI_MAX_RETRIES": 1, "FAIL": True}, "gave up after transient"),
    "v3-invisible-access-token": (
        {"AKAMAI_CCU_API": "v3", "AKAMAI_CCU_ACCESS_TOKEN": INVISIBLE_TOKEN},
        "AKAMAI_CCU_ACCESS_TOKEN (settings) contains an invisible",
    ),
    "v3-invisible-client-secret": (
        {"AKAMAI_CCU_API": "v3", "AKAMAI_CCU_CLIENT_SECRET": INVISIBLE_SECRET},
        "AKAMAI_CCU_CLIENT_SECRET (settings) contains an invisible",
    ),
    "v3-euro-client-secret": (
        {"AKAMAI_CCU_API": "v3", "AKAMAI_CCU_CLIENT_SECRET": EURO_SECRET},
        "contains a character outside ASCII",
    ),
    "v3-wrong-secret": ({"AKAMAI_CCU_API": "v3", "AKAMAI_CCU_CLIENT_SECRET": WRONG_SECRET}, "401"),
    "v3-edgerc-wrapped-token": ({"EDGERC": True}, "spans more than one line"),
}


def provoke(label: str, emu, settings, tmp_path) -> tuple[Any, BaseException, Any]:
    """Run a purge the way a view would, under the row's settings; return ``sys.exc_info()``."""
    configure_hostile(label, emu, settings, tmp_path)
    return failure_of(purge_view)


def purge_view() -> None:
    """What a view does; it holds no secret itself (its settings do)."""
    request = PurgeRequest()
    request.add(["/hostile/a", "/hostile/b"])
    request.purge_all()


def failure_of(view) -> tuple[Any, BaseException, Any]:
    """``sys.exc_info()`` of ``view()``: the traceback starts here, where no secret is."""
    try:
        view()
    except AkamaiError:
        return sys.exc_info()
    raise AssertionError("the purge did not fail")


def configure_hostile(label: str, emu, settings, tmp_path) -> None:
    overrides, _ = HOSTILE[label]
    for name, value in overrides.items():
        if name == "FAIL":
            emu.configure(fail_rate=1.0)
        elif name == "EDGERC":
            for setting in ("AKAMAI_CCU_HOST", "AKAMAI_CCU_CLIENT_TOKEN"):
                setattr(settings, setting, None)
            settings.AKAMAI_CCU_CLIENT_SECRET = settings.AKAMAI_CCU_ACCESS_TOKEN = None
            settings.AKAMAI_CCUAPI_USERNAME = settings.AKAMAI_CCUAPI_PASSWORD = None
            settings.AKAMAI_CCU_API = "v3"
            settings.AKAMAI_EDGERC_FILENAME = _edgerc_with_a_wrapped_token(tmp_path)
        else:
            setattr(settings, name, value)


@pytest.mark.parametrize("label", HOSTILE)
def test_hostile_secrets_never_show_anywhere(label, euro_emu, settings, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)  # ours, edgegrid-python's, urllib3's
    exc_type, exc, tb = provoke(label, euro_emu, settings, tmp_path)
    says = HOSTILE[label][1]
    assert says in str(exc), str(exc)
    request = RequestFactory().get("/purge/")
    settings.DEBUG = True  # the page a developer sees: every frame's local variables
    debug_page = technical_500_response(request, exc_type, exc, tb).content.decode()
    assert "Local vars" in debug_page and says.split(" (")[0] in html_unescape(debug_page)
    settings.DEBUG = False  # what AdminEmailHandler mails: sensitive_variables applies
    reporter = ExceptionReporter(request, exc_type, exc, tb)
    mailed = reporter.get_traceback_html() + reporter.get_traceback_text()
    for text in (everything_about(exc), debug_page, mailed, caplog.text):
        assert leaks(text) == [], label
    assert leaks("\n".join(repr(vars(record)) for record in caplog.records)) == []
    if isinstance(exc, AkamaiConfigurationError):
        assert euro_emu.counters["requests"] == 0  # refused where loaded, before any request


def test_the_debug_page_would_show_a_secret_in_a_local_variable(euro_emu):
    """The searches above can fail: a secret held in a plain local shows on the page."""

    def careless_view() -> None:
        password = EURO_PASSWORD  # noqa: F841  (what the page shows)
        raise AkamaiError("failed")

    try:
        careless_view()
    except AkamaiError:
        page = technical_500_response(RequestFactory().get("/"), *sys.exc_info()).content
    assert leaks(page.decode()) != []


def html_unescape(text: str) -> str:
    import html

    return html.unescape(text)


# --- a real worker on a real broker (last: it makes its producer app current) ----------------


@pytest.fixture(scope="module")
def broker():
    """Redis only: its queue and result keys can be read raw."""
    return require_broker("redis")


@pytest.mark.broker
@pytest.mark.usefixtures("producer")
@pytest.mark.parametrize(
    "env, says",
    [
        pytest.param({"AKAMAI_TEST_CCU_CLIENT_SECRET": WRONG_SECRET}, "HTTP 401", id="wrong"),
        pytest.param(
            {"AKAMAI_TEST_CCU_ACCESS_TOKEN": INVISIBLE_TOKEN},
            "AKAMAI_CCU_ACCESS_TOKEN (settings) contains an invisible",
            id="invisible-access-token",
        ),
        pytest.param(
            {"AKAMAI_TEST_CCU_CLIENT_SECRET": EURO_SECRET},
            "outside ASCII",
            id="euro-client-secret",
        ),
    ],
)
def test_a_real_worker_with_a_bad_secret_leaks_nothing(
    broker, secret_emu, settings, tmp_path, env, says
):
    import redis

    raw = redis.Redis.from_url(broker.url)
    queue = settings.AKAMAI_CELERY_QUEUE = unique_queue()
    worker = Worker(broker, secret_emu, queue, tmp_path / "worker.log", **env)
    try:
        result = PurgeRequestTask.delay(["/worker/"])
        [stored] = raw.lrange(queue, 0, -1)  # the message as the broker holds it
        envelope = json.loads(stored)
        body = base64.b64decode(envelope["body"])
        assert json.loads(body)[0] == [["https://www.example.com/worker/"]]
        worker.start()
        with pytest.raises(AkamaiError) as info:
            result.get(timeout=20)
        assert says in str(info.value)
        task_id = result.results[0].id
        log = wait_for(lambda: worker.log if f"{task_id}] raised" in worker.log else None)
        meta = raw.get(f"celery-task-meta-{task_id}")
        assert says.encode() in meta
        for text in (stored, body, meta, log, everything_about(info.value)):
            assert leaks(text if isinstance(text, str) else text.decode()) == []
    finally:
        worker.stop()
        delete_queue(broker, queue)


def test_a_signing_error_that_quotes_the_header_is_not_passed_on(secret_emu, settings, caplog):
    """Defence in depth: credentials that bypassed the checks (set on the session by hand)
    make http.client raise with the whole Authorization header; that exception is dropped."""
    from akamai.edgegrid import EdgeGridAuth

    caplog.set_level(logging.DEBUG)
    settings.AKAMAI_HISTORY = False
    request = PurgeRequest()
    request.transport.session.auth = EdgeGridAuth(CLIENT_TOKEN, CLIENT_SECRET, INVISIBLE_TOKEN)
    request.add("/bypassed/")
    exc_type, exc, tb = failure_of(request.purge_all)
    [failure] = exc.failures
    assert failure.title == "request not sent" and "UnicodeEncodeError" in failure.detail
    assert request.transport.retries == 0 and request.urls == ["https://www.example.com/bypassed/"]
    page = technical_500_response(RequestFactory().get("/"), exc_type, exc, tb).content.decode()
    for text in (everything_about(exc), everything_about(failure), page, caplog.text):
        assert leaks(text) == []
