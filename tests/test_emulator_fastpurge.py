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
