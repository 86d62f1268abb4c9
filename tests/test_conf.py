"""Credentials: which API, from where, and clear errors that never show a secret."""

import pytest

from django_akamai.exceptions import (
    AkamaiConfigurationError,
    EdgercError,
    InvalidHostError,
    InvalidPurgeOptions,
    NoAkamaiPasswordProvidedException,
    NoAkamaiUsernameProvidedException,
)
from django_akamai.hosts import normalise_api_host
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
        ("h:notaport", "'notaport', which is not a number"),
        ("akab-x.purge.akamaiapis.net:99999", "'99999', which is not a number"),
        ("http:evil.com", "http: without '//'"),
        ("https:evil.com", "https: without '//'"),
        ("HTTP:evil.com:80", "http: without '//'"),
        ("localhost:8765", "write http://localhost:8765"),
        ("127.0.0.1:8765", "write http://127.0.0.1:8765"),
        ("akab x.purge.akamaiapis.net", "not a host name"),
        ("akab-€.purge.akamaiapis.net", "not a host name"),
        ("https://u:p/w@akab-x.purge.akamaiapis.net", "credentials"),
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


def test_bad_host_messages_never_echo_a_password():
    for host in ("https://u:pw-SECRET@h:notaport", "u:pw-SECRET@akab-x", "https://u:pw-SECRET/x@h"):
        with pytest.raises(InvalidHostError) as info:
            normalise_api_host(host, "AKAMAI_CCU_HOST")
        assert "pw-SECRET" not in str(info.value) + repr(info.value.args)


@pytest.mark.parametrize(
    "setting, value",
    [
        ("AKAMAI_CCU_HOST", "h:notaport"),
        ("AKAMAI_CCU_HOST", "http:evil.com"),
        ("AKAMAI_CCU_HOST", "localhost:8765"),
    ],
)
def test_bad_hosts_are_refused_when_the_credentials_are_loaded(settings, setting, value):
    settings.AKAMAI_CCU_HOST = "akab-x.purge.akamaiapis.net"
    settings.AKAMAI_CCU_CLIENT_TOKEN = "akab-ct"
    settings.AKAMAI_CCU_CLIENT_SECRET = SECRET
    settings.AKAMAI_CCU_ACCESS_TOKEN = ACCESS
    setattr(settings, setting, value)
    with pytest.raises(InvalidHostError, match=setting):
        PurgeRequest()


# --- the characters a credential may hold ------------------------------------------------------

V3_ARGS = {
    "host": "akab-x.purge.akamaiapis.net",
    "client_token": "akab-client-token",
    "client_secret": SECRET,
    "access_token": ACCESS,
}


@pytest.mark.parametrize(
    "key, value, fragment",
    [
        ("client_secret", SECRET + "\u200b", "U+200B ZERO WIDTH SPACE"),
        ("client_secret", SECRET[:5] + "€" + SECRET[5:], "outside ASCII"),
        ("client_secret", SECRET + " x", "U+0020 SPACE"),
        ("access_token", ACCESS + "\u200b", "U+200B ZERO WIDTH SPACE"),
        ("access_token", ACCESS + ";nonce=x", "the character ';'"),
        ("access_token", ACCESS + "\n  continued", "more than one line"),
        ("access_token", ACCESS + "\ufeff", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
        ("client_token", "akab-é-client", "outside ASCII"),
        ("client_token", 12345, "is a int, not a string"),
    ],
)
def test_credentials_with_characters_akamai_never_issues_are_refused_naming_the_argument(
    key, value, fragment
):
    with pytest.raises(AkamaiConfigurationError) as info:
        PurgeRequest(**{**V3_ARGS, key: value})
    message = str(info.value)
    assert f"{key}= (arguments)" in message and fragment in message
    assert_no_secret(message + repr(info.value.args))


@pytest.mark.parametrize(
    "setting, value, fragment",
    [
        ("AKAMAI_CCU_CLIENT_SECRET", SECRET + "\u200b", "U+200B"),
        ("AKAMAI_CCU_ACCESS_TOKEN", "\u2060" + ACCESS, "U+2060 WORD JOINER"),
        ("AKAMAI_CCUAPI_PASSWORD", PASSWORD + "\u200b", "U+200B"),
        ("AKAMAI_CCUAPI_PASSWORD", PASSWORD + "\x00", "U+0000"),
        ("AKAMAI_CCUAPI_USERNAME", "user:name", "':'"),
    ],
)
def test_credentials_settings_with_invisible_characters_name_the_setting(
    settings, setting, value, fragment
):
    if setting.startswith("AKAMAI_CCUAPI"):
        settings.AKAMAI_CCUAPI_USERNAME, settings.AKAMAI_CCUAPI_PASSWORD = "user", PASSWORD
        settings.AKAMAI_CCU_API = "v2"
    else:
        for key, name in (
            ("host", "AKAMAI_CCU_HOST"),
            ("client_token", "AKAMAI_CCU_CLIENT_TOKEN"),
            ("client_secret", "AKAMAI_CCU_CLIENT_SECRET"),
            ("access_token", "AKAMAI_CCU_ACCESS_TOKEN"),
        ):
            setattr(settings, name, V3_ARGS[key])
    setattr(settings, setting, value)
    with pytest.raises(AkamaiConfigurationError) as info:
        PurgeRequest()
    assert setting in str(info.value) and fragment in str(info.value)
    assert_no_secret(str(info.value) + repr(info.value.args))


def test_a_non_latin1_password_is_valid_and_sent_as_utf8():
    from django_akamai.transport.ccu_v2 import BasicAuth

    request = PurgeRequest(username="u", password="pa55-€-WORD")
    auth = request.transport.session.auth
    assert isinstance(auth, BasicAuth) and "pa55" not in repr(auth)
    import base64

    prepared = auth(__import__("requests").Request("GET", "https://x.example/").prepare())
    header = prepared.headers["Authorization"]
    assert base64.b64decode(header.split()[1]) == "u:pa55-€-WORD".encode()


def test_an_edgerc_value_wrapped_onto_a_continuation_line_names_file_and_section(tmp_path):
    rc = tmp_path / "edgerc"
    rc.write_text(
        "[CCU]\nhost = akab-rc.purge.akamaiapis.net\nclient_token = akab-rc-client\n"
        f"client_secret = {SECRET}\naccess_token = {ACCESS[:8]}\n  {ACCESS[8:]}\n"
    )
    with pytest.raises(AkamaiConfigurationError) as info:
        PurgeRequest(edgerc=str(rc))
    message = str(info.value)
    assert f"edgerc file {rc} [CCU]" in message and "'access_token' key" in message
    assert "more than one line" in message
    assert ACCESS[8:] not in message + repr(info.value.args)


def test_secret_holder_hides_and_refuses_pickling():
    import copy
    import pickle

    from django_akamai.conf import Secret, hide

    secret = hide(SECRET)
    assert isinstance(secret, Secret) and hide(secret) is secret and hide(None) is None
    for text in (repr(secret), str(secret), f"{secret}", repr({"s": secret}), repr([secret])):
        assert SECRET not in text
    assert secret.reveal() == SECRET and secret == Secret(SECRET) and secret != Secret("x")
    assert copy.deepcopy(secret) is secret
    with pytest.raises(TypeError, match="not pickled"):
        pickle.dumps(secret)
    creds = PurgeRequest(**V3_ARGS).credentials
    assert isinstance(creds.client_secret, Secret) and isinstance(creds.access_token, Secret)
    assert creds.client_token == "akab-client-token"  # not a secret: names the API client
