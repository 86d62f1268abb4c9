"""An independent client, python-fastpurge (PyPI ``fastpurge``), purges through the emulator.

fastpurge builds its base URL from ``scheme``, the edgerc ``host`` and ``port``
(``FastPurgeClient(auth=..., scheme="http", port=N)``, documented in its constructor), so it
reaches the plain-HTTP emulator without any adapter.
"""

import pytest

fastpurge = pytest.importorskip("fastpurge")


@pytest.fixture
def emu(akamai_emulator_server):
    server = akamai_emulator_server
    server.restore_defaults()
    # estimatedSeconds is Akamai's 5 s divided by time_scale (at least 1 s): fastpurge waits
    # that long before resolving each future.
    server.configure(time_scale=10)
    server.reset()
    yield server
    server.restore_defaults()
    server.reset()


def client_for(emu):
    c = emu.credentials
    auth = {
        "host": "127.0.0.1",
        "client_token": c.client_token,
        "client_secret": c.client_secret,
        "access_token": c.access_token,
    }
    return fastpurge.FastPurgeClient(auth=auth, scheme="http", port=emu.port)


def test_fastpurge_purges_urls_tags_and_cpcodes(emu):
    # Long enough to be split by fastpurge into several requests (its cap is 45,000 bytes).
    urls = [f"https://www.example.com/fastpurge/{i}/{'x' * 40}" for i in range(3_000)]
    with client_for(emu) as client:
        # All three in flight at once, so their estimated seconds overlap.
        futures = [
            client.purge_by_url(urls, purge_type="invalidate"),
            client.purge_by_tag(["tag-a", "tag-b"], network="staging"),
            client.purge_by_cpcode([1234]),
        ]
        url_results, tag_results, cp_results = (f.result(timeout=60) for f in futures)
    assert len(url_results) > 1
    assert all(r["httpStatus"] == 201 for r in url_results + tag_results + cp_results)

    by_type = {}
    for purge in emu.purges:
        by_type.setdefault((purge.type, purge.action, purge.network), []).extend(purge.objects)
    assert sorted(by_type[("url", "invalidate", "production")]) == sorted(urls)
    assert by_type[("tag", "delete", "staging")] == ["tag-a", "tag-b"]
    assert by_type[("cpcode", "delete", "production")] == [1234]
    assert {p.purge_id for p in emu.purges} == {
        r["purgeId"] for r in url_results + tag_results + cp_results
    }
    assert emu.counters["refused"] == {} and emu.counters["rate_limited"] == 0


def _retrying_client(emu):
    class Retrying(fastpurge.FastPurgeClient):
        MAX_RETRIES = 5  # its backoff doubles from 0.1 s: about 3 s of retries in all
        RETRY_BACKOFF = 0.1
        RETRY_BACKOFF_JITTER = 0.0

    c = emu.credentials
    auth = {
        "host": "127.0.0.1",
        "client_token": c.client_token,
        "client_secret": c.client_secret,
        "access_token": c.access_token,
    }
    return Retrying(auth=auth, scheme="http", port=emu.port)


def _after_first_429(emu, action):
    """Run ``action`` once the emulator has answered a 429 (a watcher thread)."""
    import threading

    def watch():
        while emu.counters["rate_limited"] == 0:
            threading.Event().wait(0.01)
        action()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def _drain_url_bucket(emu, v3):
    for start in range(0, 10_000, 1_000):
        objects = [f"https://www.example.com/drain/{i}" for i in range(start, start + 1_000)]
        response = v3.post(
            emu.base_url + "/ccu/v3/invalidate/url/production",
            json={"objects": objects},
            timeout=30,
        )
        assert response.status_code == 201


@pytest.mark.parametrize("strict", [False, True], ids=["akamai", "strict-mode"])
def test_fastpurge_retry_resends_the_same_signed_request(emu, v3, strict):
    # Its urllib3 Retry re-sends the prepared request: same nonce, same timestamp. Akamai
    # documents no refusal of that, so by default the re-sent request is accepted once the
    # bucket has tokens again; the strict mode (not confirmed for Akamai) refuses it (401).
    emu.configure(time_scale=1e-9, refuse_replayed_nonces=strict)  # no refill by itself
    _drain_url_bucket(emu, v3)
    accepted_before = emu.counters["accepted"]
    # Then tokens are plentiful, and estimatedSeconds (which fastpurge waits out) is 1 s.
    watcher = _after_first_429(emu, lambda: emu.configure(rate_limits="off", time_scale=5))
    with _retrying_client(emu) as client:
        future = client.purge_by_url(["https://www.example.com/retried"])
        if strict:
            with pytest.raises(fastpurge.FastPurgeError, match="401"):
                future.result(timeout=120)
        else:
            [answer] = future.result(timeout=120)
            assert answer["httpStatus"] == 201
    watcher.join(timeout=10)
    counters = emu.counters
    assert counters["rate_limited"] >= 1
    if strict:
        assert counters["accepted"] == accepted_before
        assert counters["refused"].get(401, 0) >= 1
        assert {r["detail"] for r in emu.refusals if r["status"] == 401} == {
            "Replayed nonce (emulator strict mode: not confirmed for Akamai)"
        }
    else:
        assert counters["accepted"] == accepted_before + 1
        assert counters["refused"] == {}
