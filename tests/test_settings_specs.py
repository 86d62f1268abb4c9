"""One settings reader, every setting validated (issue 20; issue 21, finding 10).

Every ``AKAMAI_*`` setting has an entry in ``conf.SPECS``; ``conf.setting()`` reads through it
and the system checks report what it would refuse, naming the setting. A malformed value is
an ``AkamaiConfigurationError`` naming it at run time, never a bare ``ValueError`` or a value
silently taken as truthy.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from django_akamai import conf, delivery, switches
from django_akamai.delivery import worker as deliver
from django_akamai.exceptions import AkamaiConfigurationError
from tests.test_checks import GOOD_V3, akamai_messages

PACKAGE = Path(conf.__file__).resolve().parent


@pytest.fixture
def v3(settings):
    for name, value in GOOD_V3.items():
        setattr(settings, name, value)
    return settings


def test_every_setting_has_an_entry_and_its_default_fits_it():
    assert set(conf.SPECS) == set(conf.DEFAULTS)
    for name, default in conf.DEFAULTS.items():
        assert conf.setting_problem(name, default) is None, name


def test_every_setting_is_read_through_the_validated_reader():
    """Outside conf and the checks, ``get_setting`` (unvalidated) reads only settings that
    a function of their own validates whole (``Spec.more``); no bare int()/float()/bool()."""
    unvalidated = re.compile(r"get_setting\(\s*[\"'](AKAMAI_\w+)[\"']")
    bare = re.compile(r"\b(?:int|float|bool)\(\s*(?:conf\.)?(?:get_)?setting\(")
    for path in PACKAGE.rglob("*.py"):
        if path.name in ("conf.py", "checks.py") or "emulator" in path.parts:
            continue
        text = path.read_text()
        assert not bare.search(text), path
        for name in unvalidated.findall(text):
            assert conf.SPECS[name].more, f"{path}: {name} read without validation"


# What each kind of entry refuses, with the check that reports it.
BAD_VALUES = [
    ("AKAMAI_DELIVERY_DELAY", "soon", "django_akamai.E011"),
    ("AKAMAI_DELIVERY_DELAY", -1, "django_akamai.E011"),
    ("AKAMAI_DELIVERY_LEASE_SECONDS", 0, "django_akamai.E011"),
    ("AKAMAI_DELIVERY_LEASE_SECONDS", "ten", "django_akamai.E011"),
    ("AKAMAI_DELIVERY_RETRY_BACKOFF", None, "django_akamai.E011"),
    ("AKAMAI_DELIVERY_RETRY_BACKOFF_MAX", "5m", "django_akamai.E011"),
    ("AKAMAI_CELERY_RETRY_DELAY", [120], "django_akamai.E011"),
    ("AKAMAI_HISTORY", "no", "django_akamai.E009"),
    ("AKAMAI_HISTORY_MAX_OBJECTS", 2.5, "django_akamai.E009"),
    ("AKAMAI_COLLAPSE_THRESHOLD", "many", "django_akamai.E012"),
    ("AKAMAI_PURGE_ENABLED", "false", "django_akamai.E013"),
    ("AKAMAI_PURGE_ENABLED", None, "django_akamai.E013"),
    ("AKAMAI_PURGE_MODELS_QUEUE", "yes", "django_akamai.E013"),
    ("AKAMAI_CACHE_TAG_PREFIX", 7, "django_akamai.E013"),
    ("AKAMAI_CELERY_QUEUE", ["akamai"], "django_akamai.E013"),
    ("AKAMAI_CELERY_TASK_OPTIONS", "priority=5", "django_akamai.E013"),
    ("AKAMAI_TASKS_OPTIONS", [("priority", 5)], "django_akamai.E013"),
]


@pytest.mark.parametrize("name, value, check_id", BAD_VALUES)
def test_a_bad_value_is_a_check_error_naming_the_setting(v3, name, value, check_id):
    setattr(v3, name, value)
    messages = [m for m in akamai_messages() if m.id != "django_akamai.W007"]
    [message] = messages
    assert message.id == check_id
    assert message.msg.startswith(f"{name} is ") and "expected" in message.msg
    assert "Remove" in message.hint


@pytest.mark.parametrize("name, value, check_id", BAD_VALUES)
def test_a_bad_value_read_at_run_time_names_the_setting(v3, name, value, check_id):
    setattr(v3, name, value)
    with pytest.raises(AkamaiConfigurationError, match=f"^{name} is ") as caught:
        conf.setting(name)
    assert not isinstance(caught.value, ValueError)


def test_numbers_and_bools_come_back_as_their_type(v3):
    v3.AKAMAI_DELIVERY_DELAY = "0.5"  # from the environment
    v3.AKAMAI_DELIVERY_LEASE_SECONDS = None
    v3.AKAMAI_PURGE_ENABLED = 1
    assert conf.setting("AKAMAI_DELIVERY_DELAY") == 0.5
    assert conf.setting("AKAMAI_DELIVERY_LEASE_SECONDS") is None
    assert conf.setting("AKAMAI_PURGE_ENABLED") is True


def test_a_secret_setting_is_never_quoted():
    problem = conf.setting_problem("AKAMAI_CCU_CLIENT_SECRET", 1234567)
    assert problem == "is a int; expected a string or None" and "1234567" not in problem


def test_the_findings_settings_fail_where_they_are_used(v3, caplog):
    """``AKAMAI_DELIVERY_DELAY = "soon"`` made every kick fail with a bare ValueError, and a
    lease of 0 let every deliverer take every lease: both now name the setting."""
    v3.AKAMAI_DELIVERY_LEASE_SECONDS = 0
    with pytest.raises(AkamaiConfigurationError, match="AKAMAI_DELIVERY_LEASE_SECONDS is 0"):
        deliver.lease_seconds()
    v3.AKAMAI_DELIVERY_DELAY = "soon"
    caplog.set_level(logging.ERROR, logger="django_akamai")
    delivery.kick("default")  # never raises: the change is committed
    [record] = [r for r in caplog.records if r.name == "django_akamai"]
    assert isinstance(record.exc_info[1], AkamaiConfigurationError)
    assert "AKAMAI_DELIVERY_DELAY is 'soon'" in str(record.exc_info[1])
    v3.AKAMAI_PURGE_ENABLED = "false"  # truthy: purging was on, whatever it said
    with pytest.raises(AkamaiConfigurationError, match="AKAMAI_PURGE_ENABLED"):
        switches.purging_enabled()


def test_a_delivery_mode_of_the_wrong_type_is_e010_not_a_crash(v3):
    v3.AKAMAI_DELIVERY = ["worker"]
    [message] = akamai_messages()
    assert message.id == "django_akamai.E010"
    with pytest.raises(AkamaiConfigurationError, match="AKAMAI_DELIVERY"):
        delivery.mode()


def test_w007_the_compatibility_queue_settings_do_nothing(v3):
    v3.AKAMAI_PURGE_MODELS_QUEUE = False
    v3.AKAMAI_PURGE_MODELS = {"testapp.Article": {"queue": True}, "testapp.Page": {}}
    [message] = akamai_messages()
    assert message.id == "django_akamai.W007" and message.level == logging.WARNING
    assert "AKAMAI_PURGE_MODELS_QUEUE" in message.msg
    assert "AKAMAI_PURGE_MODELS['testapp.Article']['queue']" in message.msg
    assert "AKAMAI_DELIVERY" in message.hint
