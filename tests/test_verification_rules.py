"""Verification's rules on their own: the verdicts, AKAMAI_VERIFY's options, the check."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks

from django_akamai.exceptions import AkamaiConfigurationError
from django_akamai.verification.judge import FRESH, STALE, UNVERIFIABLE, judge
from django_akamai.verification.options import parse, verify_options
from django_akamai.verification.probe import Answer
from django_akamai.verification.stats import percentile
from django_akamai.verification.worker import sample

URL = "https://www.example.com/a"


def answer(status=200, **headers):
    return Answer(status, {k.replace("_", "-").lower(): v for k, v in headers.items()})


def state(edge, **kwargs):
    kwargs.setdefault("since_purge", 6.0)
    return judge(URL, edge, **kwargs).state


@pytest.mark.parametrize("x_cache", ["TCP_MISS", "TCP_REFRESH_MISS", "TCP_REFRESH_HIT"])
def test_answered_by_the_origin_is_fresh(x_cache):
    assert state(answer(X_Cache=f"{x_cache} from a1 (AkamaiGHost)")) == FRESH


def test_a_copy_older_than_the_purge_is_stale():
    assert state(answer(X_Cache="TCP_HIT from a1", Age="7")) == STALE
    assert state(answer(X_Cache="TCP_MEM_HIT from a1", Age="5")) == FRESH


def test_without_age_the_date_says_how_old_the_copy_is():
    edge = answer(X_Cache="TCP_HIT", Date="Mon, 01 Jan 2024 00:00:00 GMT")
    assert state(edge, now=lambda: 1704067200.0 + 60) == STALE
    assert state(edge, now=lambda: 1704067200.0 + 2) == FRESH
    assert state(answer(X_Cache="TCP_HIT")) == UNVERIFIABLE


@pytest.mark.parametrize(
    "edge",
    [
        Answer(None, error="ConnectionRefusedError"),
        answer(503, X_Cache="TCP_MISS"),
        answer(),  # no debug headers: a property may restrict them
        answer(X_Cache="TCP_MISS", X_Check_Cacheable="NO"),
        answer(X_Cache="TCP_REFRESH_FAIL_HIT", Age="100"),
        answer(X_Cache="TCP_DENIED"),
    ],
)
def test_what_cannot_be_judged_is_unverifiable_never_stale(edge):
    assert state(edge) == UNVERIFIABLE


def test_the_origin_s_stamps_betray_a_re_cached_copy():
    copy = answer(X_Cache="TCP_HIT", Age="1", ETag='"old"')
    assert state(copy, origin=answer(ETag='"new"')) == STALE
    assert state(copy, origin=answer(304, ETag='"old"')) == FRESH
    assert state(copy, origin=answer(ETag='"old"')) == FRESH
    assert state(copy, origin=Answer(None, error="down")) == FRESH  # nothing contradicts it
    dated = answer(X_Cache="TCP_HIT", Age="1", Last_Modified="Mon, 01 Jan 2024 00:00:00 GMT")
    newer = answer(Last_Modified="Tue, 02 Jan 2024 00:00:00 GMT")
    assert state(dated, origin=newer, last_modified=False) == STALE


def test_a_last_modified_before_the_change_is_stale_unless_turned_off():
    copy = answer(X_Cache="TCP_HIT", Age="1", Last_Modified="Mon, 01 Jan 2024 00:00:00 GMT")
    changed = 1704067200.0 + 3600
    assert state(copy, changed_at=changed) == STALE
    assert state(copy, changed_at=changed, last_modified=False) == FRESH
    assert state(copy, changed_at=1704067200.0 + 0.5) == FRESH  # whole seconds: slack


def test_a_verdict_line_escapes_the_url():
    verdict = judge("https://www.example.com/\n<x>", answer(X_Cache="TCP_MISS"), since_purge=1)
    assert verdict.line().startswith("'https://www.example.com/\\n<x>' fresh")


def test_options_defaults_and_addresses():
    options = parse({"EDGE": "http://127.0.0.1:8766/"})
    assert options.edge == "http://127.0.0.1:8766"
    assert (options.sample, options.margin, options.rate, options.concurrency) == (10, 2.0, 10.0, 4)
    assert parse({"EDGE": "https://Edge.Example.NET"}).edge == "https://edge.example.net"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"EDGE": "http://edge.example.net"}, "plain http only goes to loopback"),
        ({"EDGE": "https://edge.example.net/path"}, "without a path"),
        ({"EDGE": 8766}, "must be an address"),
        ({"SAMPLE": 0}, "'SAMPLE' must be at least 1"),
        ({"SAMPLE": 2.5}, "whole number"),
        ({"RATE": "fast"}, "'RATE' must be a number"),
        ({"NETWORK": "prod"}, "'NETWORK' must be one of"),
        ({"EGDE": "https://x"}, "unknown key(s) 'EGDE'"),
        ({"TAG_URLS": "no.such.module.urls"}, "cannot be imported"),
        ({"REPURGE": "yes"}, "True or False"),
        ("on", "must be a dict"),
    ],
)
def test_bad_options_name_the_key(value, message):
    with pytest.raises(AkamaiConfigurationError, match="AKAMAI_VERIFY") as caught:
        parse(value)
    assert message in str(caught.value)


def test_off_unless_set(settings):
    settings.AKAMAI_VERIFY = None
    assert verify_options() is None


def ids(settings_value, settings, **more):
    settings.AKAMAI_VERIFY = settings_value
    for name, value in more.items():
        setattr(settings, name, value)
    return [m.id for m in run_checks() if m.id in ("django_akamai.W008", "django_akamai.E015")]


def test_check_warns_without_an_edge(settings):
    assert ids({"SAMPLE": 5}, settings) == ["django_akamai.W008"]
    assert ids({"EDGE": "https://edge.example.net"}, settings) == []
    assert ids(None, settings) == []


def test_check_names_malformed_settings(settings):
    assert ids({"SAMPLE": -1}, settings) == ["django_akamai.E015"]
    assert ids(None, settings, AKAMAI_SECOND_PURGE_SECONDS="ten") == ["django_akamai.E015"]
    assert ids(None, settings, AKAMAI_SECOND_PURGE_SECONDS=30) == []


def test_a_sample_spreads_over_the_list():
    urls = [f"u{n}" for n in range(100)]
    assert sample(urls, 4) == ["u0", "u25", "u50", "u75"]
    assert sample(["a", "b", "a"], 10) == ["a", "b"]


def test_percentile_nearest_rank():
    values = [float(n) for n in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 99)) == (50.0, 99.0)
    assert percentile([], 50) is None
