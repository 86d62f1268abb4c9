"""Credentials: which API, from where, and clear errors that never show a secret."""

import pytest

from django_akamai.conf import normalise_api_host
from django_akamai.exceptions import (
    AkamaiConfigurationError,
    EdgercError,
    InvalidHostError,
    InvalidPurgeOptions,
    NoAkamaiPasswordProvidedException,
    NoAkamaiUsernameProvidedException,
)
from django_akamai.purge import PurgeRequest

SECRET = "zzSECRETzz0123456789abcdefghijklmnopqrstuvw="
ACCESS = "akab-ACCESS-TOKEN-xyz"
PASSWORD = "pa55-WORD-xyz"


def write_edgerc(path, section="CCU", **values):
    entries = {
        "host": "akab-rc.purge.akamaiapis.net",
        "client_token": "akab-rc-client",
        "client_secret": SECRET,
        "access_token": ACCESS,
        **values,
    }
    lines = [f"[{section}]"] + [f"{k} = {v}" for k, v in entries.items() if v is not None]
    path.write_text("\n".join(lines) + "\n")
    return path


def assert_no_secret(text):
    for secret in (SECRET, ACCESS, PASSWORD):
        assert secret not in text


def test_no_credentials_names_both_ways():
    with pytest.raises(NoAkamaiUsernameProvidedException) as info:
        PurgeRequest()
    message = str(info.value)
    assert "AKAMAI_CCU_HOST" in message and "AKAMAI_CCUAPI_USERNAME" in message
    assert ".edgerc" in message


def test_username_without_password(settings):
    with pytest.raises(NoAkamaiPasswordProvidedException, match="AKAMAI_CCUAPI_PASSWORD"):
        PurgeRequest(username="someone")
    settings.AKAMAI_CCUAPI_USERNAME = "from-settings"
    with pytest.raises(NoAkamaiPasswordProvidedException):
        PurgeRequest()


def test_v2_from_arguments_and_settings(settings):
    pr = PurgeRequest(username="u", password=PASSWORD)
    assert pr.api == "v2" and pr.username == "u"
    assert pr.ccu_base_url == "https://api.ccu.akamai.com"
    settings.AKAMAI_CCUAPI_USERNAME = "su"
    settings.AKAMAI_CCUAPI_PASSWORD = PASSWORD
    pr = PurgeRequest()
    assert pr.api == "v2" and pr.username == "su"
    assert PurgeRequest(username="arg-user").username == "arg-user"


def test_v3_from_settings_wins_over_edgerc(settings, isolated_home):
    write_edgerc(isolated_home / ".edgerc")
    settings.AKAMAI_CCU_HOST = "akab-settings.purge.akamaiapis.net"
    settings.AKAMAI_CCU_CLIENT_TOKEN = "ct"
    settings.AKAMAI_CCU_CLIENT_SECRET = SECRET
    settings.AKAMAI_CCU_ACCESS_TOKEN = ACCESS
    pr = PurgeRequest()
    assert pr.api == "v3"
    assert pr.ccu_base_url == "https://akab-settings.purge.akamaiapis.net"
    args = PurgeRequest(
        host="akab-args.purge.akamaiapis.net", client_token="a", client_secret="b", access_token="c"
    )
    assert args.ccu_base_url == "https://akab-args.purge.akamaiapis.net"


def test_v3_from_default_edgerc(isolated_home):
    write_edgerc(isolated_home / ".edgerc", host="akab-rc.purge.akamaiapis.net/")
    pr = PurgeRequest()
    assert pr.api == "v3"
    assert pr.ccu_base_url == "https://akab-rc.purge.akamaiapis.net"
    assert pr.credentials.source.endswith("[CCU]")


def test_edgerc_dash_keys_and_custom_section(settings, tmp_path):
    path = tmp_path / "rc"
    path.write_text(
        "[default]\nhost = x\n\n[purge]\nhost = akab-p.purge.akamaiapis.net\n"
        f"client-token = ct\nclient-secret = {SECRET}\naccess-token = {ACCESS}\n"
    )
    settings.AKAMAI_EDGERC_FILENAME = str(path)
    settings.AKAMAI_EDGERC_CCU_SECTION = "purge"
    assert PurgeRequest().ccu_base_url == "https://akab-p.purge.akamaiapis.net"


def test_settings_pick_v3_when_both_apis_are_configured(settings):
    settings.AKAMAI_CCUAPI_USERNAME = "u"
    settings.AKAMAI_CCUAPI_PASSWORD = PASSWORD
    settings.AKAMAI_CCU_HOST = "akab-s.purge.akamaiapis.net"
    settings.AKAMAI_CCU_CLIENT_TOKEN = "ct"
    settings.AKAMAI_CCU_CLIENT_SECRET = SECRET
    settings.AKAMAI_CCU_ACCESS_TOKEN = ACCESS
    assert PurgeRequest().api == "v3"
    settings.AKAMAI_CCU_API = "v2"
    assert PurgeRequest().api == "v2"
    assert PurgeRequest(api="v3").api == "v3"
    settings.AKAMAI_CCU_API = "v4"
    with pytest.raises(InvalidPurgeOptions, match="v4"):
        PurgeRequest()


def test_incomplete_v3_settings_name_the_missing_ones(settings):
    settings.AKAMAI_CCU_HOST = "akab-s.purge.akamaiapis.net"
    settings.AKAMAI_CCU_CLIENT_SECRET = SECRET
    with pytest.raises(AkamaiConfigurationError) as info:
        PurgeRequest()
    assert "AKAMAI_CCU_CLIENT_TOKEN" in str(info.value)
    assert "AKAMAI_CCU_ACCESS_TOKEN" in str(info.value)
    assert_no_secret(str(info.value))


@pytest.mark.parametrize(
    "case, fragment",
    [
        ("missing-file", "does not exist"),
        ("missing-section", "no section [CCU]"),
        ("missing-key", "'client_secret' key"),
        ("garbage", "Cannot parse"),
        ("bad-max-body", "max_body"),
        ("bad-host", "plain http"),
    ],
)
def test_edgerc_errors_name_file_and_section_never_the_secret(settings, tmp_path, case, fragment):
    path = tmp_path / "edgerc"
    if case == "missing-section":
        write_edgerc(path, section="default")
    elif case == "missing-key":
        write_edgerc(path, client_secret=None)
    elif case == "garbage":
        path.write_text(f"client_secret = {SECRET}\n[CCU\n")
    elif case == "bad-max-body":
        write_edgerc(path, max_body="lots")
    elif case == "bad-host":
        write_edgerc(path, host="http://akab-x.purge.akamaiapis.net")
    settings.AKAMAI_EDGERC_FILENAME = str(path)
    with pytest.raises(AkamaiConfigurationError) as info:
        PurgeRequest()
    message = str(info.value)
    assert fragment in message
    assert str(path) in message
    if case != "garbage":
        assert "[CCU]" in message
    assert_no_secret(message)
    if case != "bad-host":
        assert isinstance(info.value, EdgercError)


def test_unreadable_edgerc(settings, tmp_path):
    # A directory where the file should be: unreadable as an edgerc even for root.
    (tmp_path / "edgerc").mkdir()
    settings.AKAMAI_EDGERC_FILENAME = str(tmp_path / "edgerc")
    with pytest.raises(EdgercError, match="not readable"):
        PurgeRequest()


def test_explicit_edgerc_argument_overrides_settings(settings, tmp_path):
    path = write_edgerc(tmp_path / "mine", section="other", host="akab-o.purge.akamaiapis.net")
    pr = PurgeRequest(edgerc=str(path), edgerc_section="other")
    assert pr.ccu_base_url == "https://akab-o.purge.akamaiapis.net"


@pytest.mark.parametrize(
    "host, expected",
    [
        ("akab-x.purge.akamaiapis.net", "https://akab-x.purge.akamaiapis.net"),
        ("akab-x.purge.akamaiapis.net/", "https://akab-x.purge.akamaiapis.net"),
        ("https://akab-x.purge.akamaiapis.net/", "https://akab-x.purge.akamaiapis.net"),
        (" AKAB-X.purge.akamaiapis.net ", "https://akab-x.purge.akamaiapis.net"),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("http://localhost:8765/", "http://localhost:8765"),
        ("http://[::1]:8765", "http://[::1]:8765"),
    ],
)
def test_host_normalised(host, expected):
    assert normalise_api_host(host, "test") == expected


@pytest.mark.parametrize(
    "host, fragment",
    [
        ("http://akab-x.purge.akamaiapis.net", "plain http"),
        ("http://10.0.0.1:8765", "plain http"),
        ("ftp://akab-x.purge.akamaiapis.net", "ftp"),
        ("akab-x.purge.akamaiapis.net/ccu/v3", "path"),
        ("https://user:pw@akab-x.purge.akamaiapis.net", "credentials"),
        ("", "empty"),
    ],
)
def test_bad_hosts(host, fragment):
    with pytest.raises(InvalidHostError, match=fragment):
        normalise_api_host(host, "AKAMAI_CCU_HOST")


def test_plain_http_v2_base_url_refused_off_loopback():
    with pytest.raises(InvalidHostError, match="plain http"):
        PurgeRequest(username="u", password=PASSWORD, ccu_base_url="http://api.ccu.akamai.com")


def test_reprs_never_show_secrets(settings):
    v3 = PurgeRequest(
        host="akab-x.purge.akamaiapis.net",
        client_token="ct",
        client_secret=SECRET,
        access_token=ACCESS,
    )
    v2 = PurgeRequest(username="u", password=PASSWORD)
    for obj in (v3, v3.credentials, v2, v2.credentials):
        assert_no_secret(repr(obj))
        assert_no_secret(str(obj))


def test_refusals_survive_pickle_and_celery_json_with_their_attributes():
    import pickle

    from celery.backends.base import Backend

    from django_akamai.exceptions import PurgeRequestFailed, PurgeRetriesExhausted

    failed = PurgeRequestFailed(
        403,
        ["https://x.example/"],
        title="unauthorized arl",
        detail="no",
        support_id="S1",
        api="v3",
    )
    exhausted = PurgeRetriesExhausted("HTTP 503", ["/a"], status=503, api="v3")
    backend = Backend(app=__import__("celery").Celery(set_as_current=False), serializer="json")
    for original in (failed, exhausted):
        for copy in (
            pickle.loads(pickle.dumps(original)),
            backend.exception_to_python(backend.prepare_exception(original, "json")),
        ):
            assert type(copy) is type(original)
            assert str(copy) == str(original)
            assert (copy.status, copy.objects, copy.api) == (
                original.status,
                original.objects,
                original.api,
            )


def test_retry_backoff_first_retry_quick_then_exponential():
    import random

    from django_akamai.transport import RetryPolicy

    policy = RetryPolicy(backoff=1.0, backoff_max=8.0, rng=random.Random(3))
    delays = [[policy.backoff_for(attempt) for attempt in range(1, 7)] for _ in range(50)]
    assert all(0.0 <= d[0] <= 0.2 for d in delays)
    for attempt, ceiling in zip(range(1, 6), (1.0, 2.0, 4.0, 8.0, 8.0), strict=True):
        assert all(ceiling / 2 <= d[attempt] <= ceiling for d in delays)
