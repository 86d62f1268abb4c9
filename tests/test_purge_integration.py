"""PurgeRequest over real HTTP on 127.0.0.1 against the emulator (requests + edgegrid-python)."""

import logging
import random

import pytest

from django_akamai.exceptions import (
    PurgeIncomplete,
    PurgeRequestFailed,
    PurgeRetriesExhausted,
    StatusNotAvailable,
)
from django_akamai.purge import PurgeRequest
from django_akamai.transport import forget_accounts
from tests.rate_limits import refill_after_the_first_429
from tests.reference import greedy_minimum


def mixed_urls(n, seed=7):
    rng = random.Random(seed)
    words = ["news", "sport", "café", "übersicht", "2026", "a-long-slug-with-words", "x"]
    urls = []
    for i in range(n):
        path = "/".join(rng.choice(words) for _ in range(rng.randint(1, 30)))
        query = f"?page={rng.randint(1, 99)}&ref=feed" if rng.random() < 0.3 else ""
        urls.append(f"https://www.example.com/{i}/{path}{query}"[: rng.randint(30, 300)])
    return urls


# --- the original README's usage, on CCU v2 ------------------------------------------------


def test_original_readme_example_on_v2(akamai_emulator):
    emu = akamai_emulator
    creds = emu.credentials
    pr = PurgeRequest(username=creds.username, password=creds.password, ccu_base_url=emu.base_url)
    pr.add("http://www.example.com/url-1.html")
    pr.add("http://www.example.com/url-2.html")
    req = pr.purge()
    assert req["httpStatus"] == 201
    assert pr.last_result == req
    assert pr.last_response.status_code == 201
    assert pr.urls == []
    [purge] = emu.purges
    assert purge.api == "v2"
    assert list(purge.objects) == [
        "http://www.example.com/url-1.html",
        "http://www.example.com/url-2.html",
    ]
    assert (purge.action, purge.type, purge.network) == ("remove", "arl", "production")

    status = pr.check_purge_status(req["progressUri"])
    assert status["purgeId"] == req["purgeId"]
    assert status["purgeStatus"] in ("In-Progress", "Done")
    assert "queueLength" in pr.check_queue_length()


def test_v2_status_goes_to_done(akamai_emulator_v2):
    emu = akamai_emulator_v2
    emu.configure(v2_estimate_seconds=0.0)
    pr = PurgeRequest()
    assert pr.api == "v2"
    pr.add("/done")
    result = pr.purge()
    status = pr.check_purge_status(emu.base_url + result["progressUri"])
    assert status["purgeStatus"] == "Done"


def test_v2_sends_at_most_200_objects_a_request(akamai_emulator_v2):
    emu = akamai_emulator_v2
    pr = PurgeRequest()
    pr.add(f"/page-{i}" for i in range(450))
    results = pr.purge_all()
    assert len(results) == 3
    assert [len(p.objects) for p in emu.purges] == [200, 200, 50]
    assert pr.urls == []


def test_v2_invalidate_staging_cpcode(akamai_emulator_v2):
    pr = PurgeRequest(options={"action": "invalidate", "type": "cpcode", "domain": "staging"})
    pr.add([123, 456])
    pr.purge()
    [purge] = akamai_emulator_v2.purges
    assert (purge.action, purge.type, purge.network) == ("invalidate", "cpcode", "staging")
    assert list(purge.objects) == [123, 456]


# --- the same flows on Fast Purge v3 --------------------------------------------------------


def test_same_flow_on_v3(akamai_emulator):
    emu = akamai_emulator
    pr = PurgeRequest()
    assert pr.api == "v3"
    pr.add("http://www.example.com/url-1.html")
    pr.add("/url-2.html")
    result = pr.purge()
    assert result["httpStatus"] == 201 and result["purgeId"]
    assert pr.urls == []
    [purge] = emu.purges
    assert (purge.api, purge.action, purge.type, purge.network) == (
        "v3",
        "delete",
        "url",
        "production",
    )
    assert list(purge.objects) == [
        "http://www.example.com/url-1.html",
        "https://www.example.com/url-2.html",
    ]
    assert purge.purge_id == result["purgeId"]
    with pytest.raises(StatusNotAvailable, match="estimatedSeconds"):
        pr.check_purge_status("/ccu/v2/purges/x")
    with pytest.raises(StatusNotAvailable):
        pr.check_queue_length()


@pytest.mark.parametrize("action", ["invalidate", "delete"])
@pytest.mark.parametrize("network", ["production", "staging"])
@pytest.mark.parametrize(
    "object_type, objects", [("url", ["/a"]), ("cpcode", [1234]), ("tag", ["article-1"])]
)
def test_v3_every_endpoint(akamai_emulator, action, network, object_type, objects):
    pr = PurgeRequest(options={"action": action, "type": object_type, "network": network})
    pr.add(objects)
    pr.purge()
    [purge] = akamai_emulator.purges
    assert (purge.action, purge.type, purge.network) == (action, object_type, network)
    assert len(purge.objects) == 1


def test_v3_packs_100k_urls_into_the_greedy_minimum(akamai_emulator):
    emu = akamai_emulator
    emu.configure(rate_limits="off")
    urls = mixed_urls(100_000)
    pr = PurgeRequest()
    pr.add(urls)
    expected = list(dict.fromkeys(pr.urls))
    assert len(expected) == len(pr.urls)
    results = pr.purge_all()
    assert pr.urls == []
    assert len(results) == greedy_minimum(expected)
    assert emu.counters["requests"] == len(results)
    assert emu.accepted_objects() == expected, "every object once, in order"


def test_purge_sends_one_request_full(akamai_emulator):
    pr = PurgeRequest()
    pr.add(mixed_urls(2_000))
    total = len(pr.urls)
    pr.purge()
    sent = len(akamai_emulator.purges[0].objects)
    assert 0 < sent < total
    assert len(pr.urls) == total - sent
    assert greedy_minimum(akamai_emulator.purges[0].objects) == 1


# --- faults, rate limits and refusals -----------------------------------------------------


def test_transient_faults_are_retried_and_nothing_is_lost(akamai_emulator, akamai_logs):
    emu = akamai_emulator
    emu.configure(rate_limits="off", fail_rate=0.3, drop_rate=0.1, seed=11)
    urls = mixed_urls(5_000, seed=3)
    pr = PurgeRequest()
    pr.add(urls)
    expected = list(pr.urls)
    pr.purge_all()
    assert pr.urls == []
    accepted = emu.accepted_objects()
    assert set(accepted) == set(expected)
    counters = emu.counters
    assert sum(counters["faults"].values()) + counters["dropped"] > 0
    retries = [r for r in akamai_logs.records if r.levelno == logging.WARNING]
    assert len(retries) == pr.transport.retries > 0


def test_slow_answers_time_out_and_are_retried(akamai_emulator, settings):
    settings.AKAMAI_READ_TIMEOUT = 0.3
    emu = akamai_emulator
    emu.configure(slow_rate=0.5, slow_seconds=1.0, seed=5)
    pr = PurgeRequest()
    pr.add([f"/slow-{i}" for i in range(6)])
    pr.purge_all(purge_batch_size=1)
    assert pr.urls == []
    assert set(emu.accepted_objects()) == {f"https://www.example.com/slow-{i}" for i in range(6)}
    assert emu.counters["slowed"] > 0


def test_retries_exhausted_keeps_the_objects(akamai_emulator, settings):
    settings.AKAMAI_MAX_RETRIES = 2
    akamai_emulator.configure(fail_rate=1.0, seed=1)
    pr = PurgeRequest()
    pr.add(["/a", "/b"])
    with pytest.raises(PurgeRetriesExhausted) as info:
        pr.purge_all()
    assert info.value.objects == ["https://www.example.com/a", "https://www.example.com/b"]
    assert pr.urls == info.value.objects
    assert akamai_emulator.counters["requests"] == 3
    assert akamai_emulator.purges == []


def test_retries_exhausted_names_every_object_left_unpurged(akamai_emulator, settings):
    settings.AKAMAI_MAX_RETRIES = 1
    akamai_emulator.configure(fail_rate=1.0, seed=1)
    pr = PurgeRequest()
    pr.add([f"/left-{i}" for i in range(24)])
    with pytest.raises(PurgeRetriesExhausted) as info:
        pr.purge_all(purge_batch_size=11)  # the first of three bodies meets the failures
    expected = [f"https://www.example.com/left-{i}" for i in range(24)]
    assert info.value.objects == expected
    assert pr.urls == expected
    assert akamai_emulator.counters["requests"] == 2  # one body, tried twice
    assert akamai_emulator.purges == []


def test_rate_limit_429_is_waited_out_not_raised(akamai_emulator):
    emu = akamai_emulator
    emu.configure(rate_limits="akamai")
    # No refill until the late client has met the empty bucket, however slow this is.
    with refill_after_the_first_429(emu):
        drain = PurgeRequest()
        drain.add(f"/drain-{i}" for i in range(10_000))
        drain.purge_all()
        assert emu.counters["rate_limited"] == 0  # the drain took the bucket exactly
        # A second client in a fresh process (no headers seen) meets an empty bucket.
        forget_accounts()
        late = PurgeRequest()
        late.add(f"/late-{i}" for i in range(500))
        late.purge_all()
    assert late.urls == []
    assert emu.counters["rate_limited"] >= 1
    assert late.transport.rate_limited == emu.counters["rate_limited"]
    assert len(emu.accepted_objects()) == 10_000 + 500


def test_requests_of_one_account_share_the_session_and_the_bucket_view(akamai_emulator):
    emu = akamai_emulator
    emu.configure(rate_limits="akamai", time_scale=2)
    drain = PurgeRequest()
    drain.add(f"/drain-{i}" for i in range(10_000))
    drain.purge_all()
    # A later purge in the same process knows the bucket is almost empty and waits for it,
    # over the same keep-alive connections, instead of learning it through a 429.
    late = PurgeRequest()
    late.add(f"/late-{i}" for i in range(500))
    late.purge_all()
    assert late.transport.session is drain.transport.session
    assert late.transport.pacer is drain.transport.pacer
    assert emu.counters["rate_limited"] == late.transport.rate_limited == 0
    assert late.transport.requests_sent == 1
    assert len(emu.accepted_objects()) == 10_000 + 500
    late.transport.close()  # a shared session stays open for the next caller
    again = PurgeRequest(urls=["/again"])
    again.purge_all()
    assert again.transport.session is drain.transport.session
    assert len(emu.accepted_objects()) == 10_501


def test_other_credentials_get_their_own_session(akamai_emulator, settings):
    first = PurgeRequest()
    settings.AKAMAI_CCU_CLIENT_TOKEN = "akab-another-client"
    other = PurgeRequest()
    assert other.transport.session is not first.transport.session
    assert other.transport.pacer is not first.transport.pacer


def test_pacing_keeps_429s_rare_on_a_large_purge(akamai_emulator):
    emu = akamai_emulator
    emu.configure(rate_limits="akamai", time_scale=100)
    pr = PurgeRequest()
    pr.add(f"/paced/{i}/{'x' * (i % 200)}" for i in range(30_000))
    pr.purge_all()
    assert pr.urls == []
    assert len(emu.accepted_objects()) == 30_000
    assert emu.counters["rate_limited"] <= 2


def test_tags_are_capped_at_their_bucket(akamai_emulator):
    emu = akamai_emulator
    emu.configure(rate_limits="akamai", time_scale=1000)
    pr = PurgeRequest(options={"type": "tag"})
    pr.add(f"t{i}" for i in range(12_000))  # short tags: 12,000 fit in 50 KB, the bucket is 5,000
    pr.purge_all()
    assert max(len(p.objects) for p in emu.purges) <= 5_000
    assert len(emu.accepted_objects()) == 12_000


def test_permanent_refusal_raises_with_akamai_detail_and_keeps_objects(akamai_emulator):
    akamai_emulator.configure(allowed_hosts=["www.example.com"])
    pr = PurgeRequest()
    pr.add(["https://other.example.org/x", "/y"])
    with pytest.raises(PurgeRequestFailed) as info:
        pr.purge()
    error = info.value
    assert error.status == 403
    assert error.title == "unauthorized arl"
    assert "other.example.org" in error.detail
    assert error.support_id
    assert error.objects == ["https://other.example.org/x", "https://www.example.com/y"]
    assert (
        "403" in str(error) and "unauthorized arl" in str(error) and error.support_id in str(error)
    )
    assert pr.urls == error.objects


def test_purge_all_sends_the_other_batches_and_lists_every_failure(akamai_emulator):
    emu = akamai_emulator
    emu.configure(allowed_hosts=["www.example.com"])
    pr = PurgeRequest()
    pr.add(["/1", "/2", "https://bad.example.org/3", "/4", "/5", "https://bad.example.org/6", "/7"])
    with pytest.raises(PurgeIncomplete) as info:
        pr.purge_all(purge_batch_size=2)
    # Batches of two: [1, 2] accepted, [3, 4] and [5, 6] refused (one bad host each), [7].
    failed = [
        "https://bad.example.org/3",
        "https://www.example.com/4",
        "https://www.example.com/5",
        "https://bad.example.org/6",
    ]
    assert info.value.failed_objects == failed
    assert pr.urls == failed, "refused objects stay queued, in order"
    assert emu.accepted_objects() == [
        "https://www.example.com/1",
        "https://www.example.com/2",
        "https://www.example.com/7",
    ]
    assert len(info.value.results) == 2
    for url in failed:
        assert url in str(info.value)


def test_wrong_secret_is_a_401_without_the_secret(akamai_emulator):
    creds = akamai_emulator.credentials
    wrong = "WRONG" + creds.client_secret[5:]
    pr = PurgeRequest(
        host=creds.host,
        client_token=creds.client_token,
        client_secret=wrong,
        access_token=creds.access_token,
    )
    pr.add("/a")
    with pytest.raises(PurgeRequestFailed) as info:
        pr.purge()
    assert info.value.status == 401
    for secret in (wrong, creds.client_secret, creds.access_token):
        assert secret not in str(info.value) and secret not in repr(info.value)
    assert pr.urls == ["https://www.example.com/a"]


def test_logs_one_info_line_per_accepted_request_and_no_secret(akamai_emulator, akamai_logs):
    emu = akamai_emulator
    emu.configure(fail_rate=0.5, seed=2)
    pr = PurgeRequest()
    pr.add([f"/log-{i}" for i in range(3)])
    results = pr.purge_all(purge_batch_size=1)
    infos = [
        r for r in akamai_logs.records if r.levelno == logging.INFO and r.name == "django_akamai"
    ]
    assert len(infos) == 3
    for record, result in zip(infos, results, strict=True):
        assert result["purgeId"] in record.getMessage()
        assert result["supportId"] in record.getMessage()
    text = "\n".join(r.getMessage() for r in akamai_logs.records)
    creds = emu.credentials
    for secret in (creds.client_secret, creds.access_token, creds.password):
        assert secret not in text
    assert "access_token=<redacted>" in text, "edgegrid's DEBUG line was seen and redacted"


def test_v2_password_never_logged_or_shown(akamai_emulator, akamai_logs):
    creds = akamai_emulator.credentials
    pr = PurgeRequest(
        username=creds.username, password="not-" + creds.password, ccu_base_url=creds.host
    )
    pr.add("/a")
    with pytest.raises(PurgeRequestFailed) as info:
        pr.purge()
    assert info.value.status == 401
    text = "\n".join(r.getMessage() for r in akamai_logs.records) + str(info.value) + repr(pr)
    assert creds.password not in text


def test_user_agent_names_the_app(akamai_emulator):
    pr = PurgeRequest()
    pr.add("/ua")
    pr.purge()
    assert pr.last_response.request.headers["User-Agent"].startswith("django-akamai/")
