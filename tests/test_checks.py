"""Each of django-akamai's system checks, provoked through ``manage.py check``'s machinery."""

import sys

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

GOOD_V3 = {
    "AKAMAI_CCU_HOST": "akab-host.purge.akamaiapis.net",
    "AKAMAI_CCU_CLIENT_TOKEN": "akab-client-token",
    "AKAMAI_CCU_CLIENT_SECRET": "very-secret-client-secret=",
    "AKAMAI_CCU_ACCESS_TOKEN": "akab-very-secret-access-token",
}
SECRETS = (GOOD_V3["AKAMAI_CCU_CLIENT_SECRET"], GOOD_V3["AKAMAI_CCU_ACCESS_TOKEN"])


def akamai_messages():
    return [m for m in checks.run_checks() if m.id and m.id.startswith("django_akamai.")]


def ids():
    return sorted(m.id for m in akamai_messages())


def write_edgerc(path, text):
    path.write_text(text)
    return str(path)


@pytest.fixture
def v3(settings):
    for name, value in GOOD_V3.items():
        setattr(settings, name, value)
    return settings


def test_a_good_configuration_passes(v3):
    assert akamai_messages() == []


def test_w001_no_credentials(settings):
    (message,) = akamai_messages()
    assert message.id == "django_akamai.W001"
    assert message.level == checks.WARNING
    assert "AKAMAI_CCU_HOST" in message.hint and "edgerc" in message.hint


def test_w002_both_apis_without_saying_which(v3):
    v3.AKAMAI_CCUAPI_USERNAME = "user"
    v3.AKAMAI_CCUAPI_PASSWORD = "v2-password-secret"
    (message,) = akamai_messages()
    assert message.id == "django_akamai.W002"
    assert "Fast Purge v3 is used" in message.msg
    assert "AKAMAI_CCU_API" in message.hint
    v3.AKAMAI_CCU_API = "v3"
    assert akamai_messages() == []


def test_e001_edgerc_missing(settings, tmp_path):
    settings.AKAMAI_EDGERC_FILENAME = str(tmp_path / "missing.edgerc")
    assert ids() == ["django_akamai.E001"]


def test_e001_is_a_warning_while_purging_is_off(settings, tmp_path):
    """The docs advise AKAMAI_PURGE_ENABLED = False where there are no credentials: a
    missing edgerc must not stop migrate and check there."""
    settings.AKAMAI_EDGERC_FILENAME = str(tmp_path / "missing.edgerc")
    settings.AKAMAI_PURGE_ENABLED = False
    (message,) = akamai_messages()
    assert (message.id, message.level) == ("django_akamai.E001", checks.WARNING)
    assert "missing.edgerc" in message.msg and "AKAMAI_PURGE_ENABLED = False" in message.msg
    call_command("check")  # a warning: does not raise SystemCheckError
    settings.AKAMAI_PURGE_ENABLED = True
    assert akamai_messages()[0].level == checks.ERROR


def test_e001_edgerc_not_parsable(settings, tmp_path):
    settings.AKAMAI_EDGERC_FILENAME = write_edgerc(tmp_path / "rc", "host = x\n")
    (message,) = akamai_messages()
    assert message.id == "django_akamai.E001"
    assert "MissingSectionHeaderError" in message.msg


def test_e001_default_edgerc_in_home_is_read(settings, isolated_home):
    (isolated_home / ".edgerc").write_text(
        "[CCU]\nhost = h.purge.akamaiapis.net\n"
        "client_token = t\nclient_secret = s\n"
        "access_token = a\nmax_body = lots\n"
    )
    (message,) = akamai_messages()
    assert message.id == "django_akamai.E001"
    assert "max_body" in message.msg


def test_e002_edgerc_section_missing(settings, tmp_path):
    settings.AKAMAI_EDGERC_FILENAME = write_edgerc(tmp_path / "rc", "[default]\nhost = x\n")
    (message,) = akamai_messages()
    assert message.id == "django_akamai.E002"
    assert "[CCU]" in message.msg and "default" in message.msg
    settings.AKAMAI_EDGERC_CCU_SECTION = "default"
    assert ids() == ["django_akamai.E003"]


def test_e003_edgerc_key_missing_never_shows_values(settings, tmp_path):
    settings.AKAMAI_EDGERC_FILENAME = write_edgerc(
        tmp_path / "rc",
        "[CCU]\nhost = akab-h.purge.akamaiapis.net\nclient-token = tok\n"
        f"access_token = {SECRETS[1]}\n",
    )
    (message,) = akamai_messages()
    assert message.id == "django_akamai.E003"
    assert "client_secret" in message.msg
    assert SECRETS[1] not in message.msg + message.hint


def test_a_good_edgerc_passes(settings, tmp_path):
    settings.AKAMAI_EDGERC_FILENAME = write_edgerc(
        tmp_path / "rc",
        "[CCU]\nhost = akab-h.purge.akamaiapis.net/\nclient_token = t\n"
        "client_secret = s\naccess_token = a\n",
    )
    assert akamai_messages() == []


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"AKAMAI_CCU_ACCESS_TOKEN": None}, "AKAMAI_CCU_ACCESS_TOKEN"),
        ({"AKAMAI_CCU_HOST": "akab-h.purge.akamaiapis.net/some/path"}, "path"),
        ({"AKAMAI_CCU_API": "v9"}, "AKAMAI_CCU_API"),
    ],
)
def test_e004_bad_credentials_settings(v3, changes, words):
    for name, value in changes.items():
        setattr(v3, name, value)
    (message,) = akamai_messages()
    assert message.id == "django_akamai.E004"
    assert words in message.msg
    for secret in SECRETS:
        assert secret not in message.msg


def test_e004_v2_username_without_password(settings):
    settings.AKAMAI_CCUAPI_USERNAME = "ccu-user"
    (message,) = akamai_messages()
    assert message.id == "django_akamai.E004"
    assert "password" in message.msg


@pytest.mark.parametrize(
    "options, word",
    [
        ({"network": "moon"}, "network"),
        ({"action": "obliterate"}, "action"),
        ({"type": "page"}, "type"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_e005_unknown_option(v3, options, word):
    v3.AKAMAI_PURGE_OPTIONS = options
    (message,) = akamai_messages()
    assert message.id == "django_akamai.E005"
    assert word in message.msg


def test_e005_unknown_option_on_an_admin(v3, monkeypatch):
    from tests.testapp.admin import ArticleAdmin

    monkeypatch.setattr(ArticleAdmin, "akamai_purge_options", {"network": "moon"})
    (message,) = akamai_messages()
    assert message.id == "django_akamai.E005"
    assert message.obj is ArticleAdmin


@pytest.mark.parametrize("setting", ["AKAMAI_CCU_HOST", "AKAMAI_CCUAPI_BASE_URL"])
def test_e006_plain_http_to_a_remote_host(v3, setting):
    setattr(v3, setting, "http://akab-h.purge.akamaiapis.net")
    if setting == "AKAMAI_CCUAPI_BASE_URL":
        v3.AKAMAI_CCUAPI_USERNAME, v3.AKAMAI_CCUAPI_PASSWORD = "u", "p"
        v3.AKAMAI_CCU_API = "v2"
    (message,) = akamai_messages()
    assert message.id == "django_akamai.E006"
    assert "https://akab-h.purge.akamaiapis.net" in message.hint


def test_e006_plain_http_in_the_edgerc(settings, tmp_path):
    settings.AKAMAI_EDGERC_FILENAME = write_edgerc(
        tmp_path / "rc",
        "[CCU]\nhost = http://10.1.2.3:8080\nclient_token = t\n"
        "client_secret = s\naccess_token = a\n",
    )
    assert ids() == ["django_akamai.E006"]


def test_plain_http_to_loopback_is_fine(v3):
    v3.AKAMAI_CCU_HOST = "http://127.0.0.1:8765"
    assert akamai_messages() == []


def test_e007_malformed_base_url(v3):
    v3.AKAMAI_BASE_URL = "www.example.com"
    (message,) = akamai_messages()
    assert message.id == "django_akamai.E007"


def test_w003_relative_urls_without_base_url(v3):
    v3.AKAMAI_BASE_URL = None
    messages = akamai_messages()
    assert {m.id for m in messages} == {"django_akamai.W003"}
    # Article returns paths; Page returns absolute URLs; Note has no get_absolute_url().
    assert [m.obj.__name__ for m in messages] == ["ArticleAdmin"]
    assert "AKAMAI_BASE_URL" in messages[0].hint


def test_w003_for_automatic_purging_of_paths(v3):
    v3.AKAMAI_BASE_URL = None
    v3.AKAMAI_PURGE_MODELS = {
        "testapp.Page": {"urls": ["/pages/"]},
        "testapp.Note": {"tags": ["notes"]},
    }
    messages = [m for m in akamai_messages() if m.obj not in _admins()]
    (message,) = messages  # Page's own URLs are absolute, its extra 'urls' are paths
    assert message.id == "django_akamai.W003"
    assert "testapp.Page" in message.msg and "'urls'" in message.msg


def _admins():
    from tests.testapp.admin import ArticleAdmin, NoteAdmin, PageAdmin

    return (ArticleAdmin, NoteAdmin, PageAdmin)


@pytest.mark.parametrize(
    "name, value",
    [("AKAMAI_CELERY_QUEUE", "purges"), ("AKAMAI_CELERY_TASK_OPTIONS", {"priority": 5})],
)
def test_e008_celery_queueing_without_celery(v3, monkeypatch, name, value):
    setattr(v3, name, value)
    assert akamai_messages() == []  # Celery is installed here
    monkeypatch.setitem(sys.modules, "celery", None)  # as if it were not
    (message,) = akamai_messages()
    assert message.id == "django_akamai.E008"
    assert name in message.msg and "django-akamai[celery]" in message.hint


def test_e008_not_for_the_compatibility_queue_settings(v3, monkeypatch):
    # They change nothing since AKAMAI_DELIVERY decides, so they need no Celery.
    v3.AKAMAI_PURGE_MODELS_QUEUE = True
    v3.AKAMAI_PURGE_MODELS = {"testapp.Article": {"queue": True}}
    monkeypatch.setitem(sys.modules, "celery", None)
    # Only the deprecation warning: no E008.
    assert [m.id for m in akamai_messages() if m.obj not in _admins()] == ["django_akamai.W007"]


@pytest.mark.parametrize(
    "name, value", [("AKAMAI_HISTORY_MAX_OBJECTS", -1), ("AKAMAI_HISTORY_RETENTION_DAYS", "ninety")]
)
def test_e009_history_settings(v3, name, value):
    setattr(v3, name, value)
    (message,) = akamai_messages()
    assert message.id == "django_akamai.E009"
    assert name in message.msg


def test_manage_py_check_fails_on_errors_and_passes_warnings(settings, capsys):
    call_command("check")  # only W001 here: a warning does not stop manage.py
    assert "django_akamai.W001" in capsys.readouterr().err
    settings.AKAMAI_CCU_HOST = "http://remote.example.net"
    with pytest.raises(SystemCheckError, match="django_akamai.E006"):
        call_command("check")


# --- W004: AKAMAI_* names django-akamai does not know --------------------------------------


@pytest.mark.parametrize(
    "name, nearest",
    [
        ("AKAMAI_PURGE_MODEL", "AKAMAI_PURGE_MODELS"),
        ("AKAMAI_CCU_HOTS", "AKAMAI_CCU_HOST"),
        ("AKAMAI_CCUAPI_PASWORD", "AKAMAI_CCUAPI_PASSWORD"),
        ("AKAMAI_BASE_URLS", "AKAMAI_BASE_URL"),
    ],
)
def test_w004_a_misspelt_setting_is_named_with_the_nearest_known_one(v3, name, nearest):
    setattr(v3, name, "something")
    [message] = akamai_messages()
    assert message.id == "django_akamai.W004"
    assert message.msg.startswith(f"{name} is not a django-akamai setting")
    assert f"Did you mean {nearest}?" in message.msg
    assert "SILENCED_SYSTEM_CHECKS" in message.hint


def test_w004_without_a_near_name_says_only_that_it_is_unknown(v3):
    v3.AKAMAI_ZZZZZZZZZZ = True  # far from every name (AKAMAI_ZZZ is near AKAMAI_VERIFY)
    [message] = akamai_messages()
    assert message.id == "django_akamai.W004" and "Did you mean" not in message.msg


def test_w004_knows_every_setting_in_the_defaults(v3):
    from django_akamai import conf

    for name, default in conf.DEFAULTS.items():
        setattr(v3, name, getattr(v3, name, default))
    assert "django_akamai.W004" not in ids()


@pytest.mark.parametrize(
    "host", ["h:notaport", "http:evil.com", "localhost:8765", "akab-x.purge.akamaiapis.net:0x50"]
)
def test_e004_an_api_host_that_cannot_work(v3, host):
    v3.AKAMAI_CCU_HOST = host
    assert ids() == ["django_akamai.E004"]
    [message] = akamai_messages()
    assert "AKAMAI_CCU_HOST" in message.msg


@pytest.mark.parametrize(
    "setting, value",
    [
        ("AKAMAI_CCU_ACCESS_TOKEN", GOOD_V3["AKAMAI_CCU_ACCESS_TOKEN"] + "\u200b"),
        ("AKAMAI_CCU_CLIENT_SECRET", "€" + GOOD_V3["AKAMAI_CCU_CLIENT_SECRET"]),
    ],
)
def test_e004_a_credential_with_invisible_or_non_ascii_characters(v3, setting, value):
    setattr(v3, setting, value)
    [message] = akamai_messages()
    assert message.id == "django_akamai.E004" and setting in message.msg
    assert not any(secret in message.msg for secret in SECRETS)


@pytest.mark.parametrize(
    "name, value",
    [
        ("AKAMAI_MAX_RETRIES", "eight"),
        ("AKAMAI_MAX_RETRIES", 2.5),
        ("AKAMAI_READ_TIMEOUT", 0),
        ("AKAMAI_CONNECT_TIMEOUT", None),
        ("AKAMAI_RETRY_DEADLINE", float("nan")),
        ("AKAMAI_MAX_BODY_BYTES", True),
        ("AKAMAI_CELERY_MAX_RETRIES", -1),
        ("AKAMAI_DELIVERY_EXIT_WAIT", "soon"),
    ],
)
def test_e011_numeric_settings_must_be_numbers_in_range(v3, name, value):
    setattr(v3, name, value)
    [message] = akamai_messages()
    assert message.id == "django_akamai.E011" and message.msg.startswith(f"{name} is ")
    assert "Remove" in message.hint


@pytest.mark.parametrize(
    "name, value", [("AKAMAI_MAX_RETRIES", "3"), ("AKAMAI_READ_TIMEOUT", "2.5")]
)
def test_numbers_read_from_the_environment_as_strings_still_work(v3, name, value):
    from django_akamai import conf

    setattr(v3, name, value)
    assert akamai_messages() == []
    assert conf.number_setting(name) == float(value)
