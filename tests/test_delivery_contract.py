"""The delivery contract, in one process against the emulator over real HTTP: the gateway's
refusals of the credentials are a setup problem that waits (never bisected, never failed),
task messages are checked like ``PurgeRequest.add()``, and a row that cannot be sent becomes
a failed intent while the round goes on.
"""

from __future__ import annotations

import pytest
from django.db import transaction

from django_akamai.delivery.worker import deliver_pending
from django_akamai.exceptions import InvalidPurgeObject, ObjectTooLarge
from django_akamai.models import PurgeIntent
from django_akamai.signals import purge_request
from django_akamai.tasks import purge_objects

pytestmark = pytest.mark.django_db(transaction=True)

BASE = "https://www.example.com"


@pytest.fixture
def worker_mode(akamai_emulator, settings):
    settings.AKAMAI_DELIVERY = "worker"
    return akamai_emulator


def statuses() -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in PurgeIntent.objects.values_list("status", flat=True):
        counts[status] = counts.get(status, 0) + 1
    return counts


@pytest.mark.parametrize(
    "setting, value, status",
    [
        # The gateway does not know this client: 400 "Invalid client token" (AKAMAI_API.md §4).
        ("AKAMAI_CCU_CLIENT_TOKEN", "akab-not-a-client-of-this-account", 400),
        # A wrong secret: the signature does not match, 401.
        ("AKAMAI_CCU_CLIENT_SECRET", "c2VjcmV0LXRoYXQtaXMtd3Jvbmc=", 401),
    ],
)
def test_a_gateway_refusal_keeps_every_intent_pending_and_is_not_bisected(
    worker_mode, settings, setting, value, status
):
    with transaction.atomic():
        purge_request.send(["/a", "/b", "/c"])
    setattr(settings, setting, value)
    report = deliver_pending()
    # One request, refused by the gateway: not split, no object blamed.
    assert worker_mode.counters["requests"] == 1
    assert report.refused == [] and report.accepted == 0
    assert report.config_error and str(status) in report.config_error
    assert statuses() == {"pending": 3}
    # The setup is fixed: everything goes out, with no manual retry.
    settings.AKAMAI_CCU_CLIENT_TOKEN = worker_mode.credentials.client_token
    settings.AKAMAI_CCU_CLIENT_SECRET = worker_mode.credentials.client_secret
    report = deliver_pending(burst=True)
    assert report.accepted == 3
    assert sorted(worker_mode.accepted_objects()) == [f"{BASE}/a", f"{BASE}/b", f"{BASE}/c"]
    assert statuses() == {}


@pytest.mark.parametrize(
    "message",
    [
        None,
        [{"a": 1}],
        ["not a url"],
        ["/relative"],
        [3],
        ["https://www.example.com/a b"],
        "https://www.example.com/" + "x" * 60_000,
    ],
)
def test_a_task_message_is_checked_like_add_before_anything_is_sent(
    memory_app, akamai_emulator, message
):
    outcome = purge_objects.apply(args=(message,))
    assert outcome.failed()
    assert isinstance(outcome.result, InvalidPurgeObject)
    assert akamai_emulator.counters["requests"] == 0


def test_a_bare_url_in_a_task_message_is_one_object(memory_app, akamai_emulator):
    # The original's delay(url) shape: one URL, not one object per character.
    outcome = purge_objects.apply(args=(f"{BASE}/one/",))
    assert outcome.successful() and outcome.get() == 1
    assert akamai_emulator.accepted_objects() == [f"{BASE}/one/"]


def test_an_object_that_cannot_fit_any_request_fails_alone(worker_mode):
    # A row recorded before every door checked sizes (an older version): the round goes on.
    too_long = f"{BASE}/" + "x" * 60_000
    with transaction.atomic():
        purge_request.send([f"/good/{i}" for i in range(40)])
    PurgeIntent.objects.create(
        key="k" * 64,
        object_type="url",
        action="delete",
        network="production",
        value=too_long,
        created_at=PurgeIntent.objects.first().created_at,
        next_attempt_at=PurgeIntent.objects.first().next_attempt_at,
    )
    report = deliver_pending()
    assert report.accepted == 40
    assert [r.object for r in report.refused] == [too_long]
    assert statuses() == {"failed": 1}
    with pytest.raises(ObjectTooLarge):
        purge_request.send(too_long)


@pytest.mark.parametrize(
    "status, detail, body, theirs",
    [
        (400, "Invalid client token", {}, False),  # the captured answer: no problem type
        (400, "Invalid timestamp", {"type": "https://problems.luna.akamaiapis.net/x"}, False),
        (
            400,
            "bad",
            {"type": "https://problems.luna.akamaiapis.net/-/pep-authn/request-error"},
            False,
        ),
        (401, "The signature does not match", {}, False),
        (400, "bad URL hostname", {"httpStatus": 400}, True),
        (403, "unauthorized arl", {"httpStatus": 403}, True),
        (413, "Request Entity Too Large", {}, True),
    ],
)
def test_only_a_refusal_of_the_objects_is_theirs(status, detail, body, theirs):
    from django_akamai.exceptions import PurgeRequestFailed
    from django_akamai.sender import refuses_objects

    error = PurgeRequestFailed(status, ["https://www.example.com/a"], "t", detail, "", "v3", body)
    assert refuses_objects(error) is theirs


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_an_oversized_url_from_automatic_purging_fails_alone_and_the_rest_is_delivered(
    worker_mode, settings
):
    from django.core.management import call_command

    from tests.testapp.models import Article

    # A model's extra URL (a callable of AKAMAI_PURGE_MODELS) that no request can hold.
    huge = "/" + "x" * 49_985

    def urls(article):
        return [huge] if article.slug == "huge" else []

    settings.AKAMAI_PURGE_MODELS = {"testapp.Article": {"urls": urls}}
    # Automatic purging plans each URL as add() does: the size check refuses this one when
    # it is recorded (a failed intent naming why), instead of wedging every later round.
    Article.objects.create(slug="huge")
    for i in range(40):
        Article.objects.create(slug=f"good-{i}")
    assert statuses() == {"failed": 1, "pending": 41}  # huge's own URL is fine
    [failed] = PurgeIntent.objects.filter(status="failed")
    assert "ObjectTooLarge" in failed.error_detail
    call_command("akamai_worker", "--burst")  # exits 0: everything it could send was accepted
    assert len(worker_mode.accepted_objects()) == 41
    assert statuses() == {"failed": 1}


def test_the_info_line_of_an_accepted_request_names_its_objects(akamai_emulator, caplog):
    from django_akamai.purge import PurgeRequest

    caplog.set_level("INFO", logger="django_akamai")
    with PurgeRequest() as request:
        request.add([f"/named/{i}" for i in range(7)])
        request.purge_all()
    [line] = [r.getMessage() for r in caplog.records if "accepted 7 object(s)" in r.getMessage()]
    assert f"'{BASE}/named/0'" in line and f"'{BASE}/named/4'" in line and "2 more" in line
