"""The pytest fixtures in django_akamai.testing, as a user's test suite sees them."""

import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import requests
from akamai.edgegrid import EdgeGridAuth
from django.conf import settings as django_settings

from django_akamai import testing
from django_akamai.emulator import Emulator

ROOT = Path(__file__).resolve().parent.parent


def test_v3_fixture_points_the_settings_at_the_emulator(akamai_emulator, settings):
    emu = akamai_emulator
    c = emu.credentials
    assert settings.AKAMAI_CCU_HOST == emu.base_url == c.host
    assert settings.AKAMAI_CCU_CLIENT_TOKEN == c.client_token
    assert settings.AKAMAI_CCU_CLIENT_SECRET == c.client_secret
    assert settings.AKAMAI_CCU_ACCESS_TOKEN == c.access_token
    assert settings.AKAMAI_CCUAPI_USERNAME == c.username
    assert settings.AKAMAI_CCUAPI_PASSWORD == c.password
    assert settings.AKAMAI_CCUAPI_BASE_URL == emu.base_url
    assert settings.AKAMAI_CCU_API == "v3"
    assert emu.purges == [] and emu.counters["requests"] == 0


def test_v2_fixture(akamai_emulator_v2):
    assert django_settings.AKAMAI_CCU_API == "v2"
    assert django_settings.AKAMAI_CCUAPI_BASE_URL == akamai_emulator_v2.base_url


def test_both_fixtures_share_one_server(akamai_emulator_server, akamai_emulator):
    assert akamai_emulator is akamai_emulator_server


def test_a_test_changes_knobs_and_leaves_purges(akamai_emulator):
    emu = akamai_emulator
    c = emu.credentials
    with requests.Session() as session:
        session.auth = EdgeGridAuth(c.client_token, c.client_secret, c.access_token)
        response = session.post(
            emu.base_url + "/ccu/v3/invalidate/tag/production",
            json={"objects": ["left-behind"]},
            timeout=10,
        )
    assert response.status_code == 201
    emu.configure(fail_rate=1.0, rate_limits="off", allowed_hosts=["x.example.com"], seed=3)


def test_the_next_test_starts_clean(akamai_emulator):
    # Runs after the test above (pytest keeps file order): its knobs and purges are gone.
    emu = akamai_emulator
    assert emu.knobs == Emulator(port=0).knobs
    assert emu.purges == [] and emu.counters["accepted"] == 0


def test_cleanup_runs_even_when_the_test_fails():
    class FakeEmulator:
        def __init__(self):
            self.calls = []
            self.base_url = "http://127.0.0.1:9"
            self.credentials = SimpleNamespace(
                client_token="ct",
                client_secret="cs",
                access_token="at",
                username="u",
                password="p",
                host=self.base_url,
            )

        def restore_defaults(self):
            self.calls.append("restore")

        def reset(self):
            self.calls.append("reset")

    fake, fake_settings = FakeEmulator(), SimpleNamespace()
    steps = testing._prepared(fake, fake_settings, "v2")
    assert next(steps) is fake
    assert fake_settings.AKAMAI_CCU_API == "v2"
    assert fake.calls == ["restore", "reset"]
    try:
        steps.throw(AssertionError("the test failed"))
    except AssertionError:
        pass
    assert fake.calls == ["restore", "reset", "restore", "reset"]


def test_plugin_imports_without_django_settings():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    code = (
        "import sys, django_akamai.testing, django_akamai.emulator; "
        "assert 'django' not in sys.modules, 'the emulator and plugin must not need Django'"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_edge_fixture_serves_the_live_server_and_gets_fresh(akamai_edge, akamai_emulator):
    from django_akamai.purge import PurgeRequest
    from tests.testapp.models import Article

    akamai_emulator.configure(time_scale=50)  # Akamai's 5 s take 0.1 s
    Article.objects.create(slug="first")
    url = "https://www.example.com/tagged/articles/"
    debug = {"Pragma": "akamai-x-cache-on"}
    for expected in ("TCP_MISS", "TCP_HIT"):
        response = requests.get(
            akamai_edge.base_url + "/tagged/articles/", headers=debug, timeout=10
        )
        assert response.headers["X-Cache"].startswith(expected) and "first" in response.text
    Article.objects.create(slug="second")
    assert "second" not in akamai_edge.cached(url).body.decode()  # the edge still has the old
    PurgeRequest(urls=["/tagged/articles/"]).purge()
    fresh = akamai_edge.wait_until_fresh(url, lambda body: b"second" in body)
    # The original's default action is "remove" (Fast Purge delete): the copy was dropped.
    assert fresh.x_cache == "TCP_MISS"
    assert akamai_edge.counters["purges_applied"] == 1


def applied_purges(edge, count):
    """Wait (real time, bounded) until ``count`` purges have reached the edge; return them."""
    deadline = time.monotonic() + 30
    while len(edge.applied()) < count:
        assert time.monotonic() < deadline, f"{count} purge(s) never reached the edge"
        time.sleep(0.02)
    return edge.applied()


def test_edge_fixture_with_a_dropped_purge(akamai_edge, akamai_emulator):
    from django_akamai.purge import PurgeRequest
    from tests.testapp.models import Article

    akamai_emulator.configure(time_scale=50)
    Article.objects.create(slug="first")
    url = "https://www.example.com/tagged/articles/"
    requests.get(akamai_edge.base_url + "/tagged/articles/", timeout=10)
    Article.objects.create(slug="second")
    akamai_emulator.edge_faults(drop_next=1)  # from a test: the edge ignores the next purge
    PurgeRequest(urls=["/tagged/articles/"]).purge()
    assert akamai_emulator.counters["accepted"] == 1  # Akamai said 201
    [dropped] = applied_purges(akamai_edge, 1)  # its estimatedSeconds have passed
    assert dropped.fault == "drop"
    assert akamai_edge.state(url) == "fresh" and b"second" not in akamai_edge.cached(url).body
    PurgeRequest(urls=["/tagged/articles/"]).purge()  # purged again: it takes
    assert applied_purges(akamai_edge, 2)[1].fault == "apply"
    assert akamai_edge.state(url) == "absent"
    akamai_emulator.edge_faults(drop_next=5)
    akamai_emulator.configure(edge_recache_rate=1.0)


def test_edge_faults_do_not_outlive_their_test(akamai_emulator):
    # Runs after the test above: the faults it asked for are gone.
    assert akamai_emulator.edge_faults() == {
        "drop_next": 0,
        "recache_next": 0,
        "edge_drop_rate": 0.0,
        "edge_recache_rate": 0.0,
    }
