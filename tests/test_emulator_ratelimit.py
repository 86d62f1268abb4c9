"""The emulator's Fast Purge token buckets, asserted by counts (never by elapsed time)."""

import time

import pytest

from django_akamai.emulator.ratelimit import RateLimiter

# Small enough that nothing refills while a test runs.
FROZEN = 1e-9


def purge(session, emu, objects, object_type="url", **extra):
    return session.post(
        emu.base_url + f"/ccu/v3/invalidate/{object_type}/production",
        json={"objects": objects, **extra},
        timeout=10,
    )


def test_burst_past_the_request_bucket_gets_429s(emu, v3):
    emu.configure(time_scale=FROZEN)
    statuses = [purge(v3, emu, [f"https://www.example.com/{i}"]).status_code for i in range(110)]
    assert statuses.count(201) == 100
    assert statuses.count(429) == 10
    assert statuses[:100] == [201] * 100
    counters = emu.counters
    assert counters["rate_limited"] == 10 and counters["accepted"] == 100
    assert counters["requests"] == 110 and counters["refused"] == {}
    last = purge(v3, emu, ["https://www.example.com/last"])
    body = last.json()
    assert last.headers["Content-Type"] == "application/api-problem+json"
    assert body["title"] == "Rate Limit exceeded"
    assert body["httpStatus"] == 429
    assert body["rateLimit"] == 100
    assert body["rateLimitCurrentRequestSize"] == 1
    assert body["rateLimitRemaining"] == 0
    assert body["detail"] == ""
    assert body["supportId"]
    assert body["describedBy"] == "https://techdocs.akamai.com/purge-cache/reference/api-errors"
    assert last.headers["X-Ratelimit-Remaining"] == "0"
    # A full burst of 100 request tokens refills at 50/s (scaled by time_scale).
    refresh = float(last.headers["X-Ratelimit-Seconds-To-Refresh-Limit"])
    assert refresh == pytest.approx(100 / (50 * FROZEN), rel=1e-3)
    refresh_objects = float(last.headers["X-Ratelimit-Seconds-To-Refresh-Limit-Objects"])
    assert refresh_objects == pytest.approx(100 / (200 * FROZEN), rel=1e-3)
    assert last.headers["X-Ratelimit-Remaining-Objects"] == "9900"  # the URL tokens were kept
    assert "Retry-After" not in last.headers


@pytest.mark.parametrize(
    "object_type, make, size, title",
    [
        ("cpcode", lambda i: i + 1, 300, "CPCODE Rate Limit exceeded"),
        ("tag", lambda i: f"t{i}", 5_000, "TAG Rate Limit exceeded"),
    ],
)
def test_object_bucket_exhaustion(emu, v3, object_type, make, size, title):
    emu.configure(time_scale=FROZEN)
    first = purge(v3, emu, [make(i) for i in range(size - 50)], object_type)
    assert first.status_code == 201
    assert first.headers["X-Ratelimit-Remaining-Objects"] == "50"
    refused = purge(v3, emu, [make(i) for i in range(51)], object_type)
    assert refused.status_code == 429
    body = refused.json()
    assert body["title"] == title
    assert body["rateLimit"] == size
    assert body["rateLimitCurrentRequestSize"] == 51
    assert body["rateLimitRemaining"] == 50
    # A denied request takes nothing: neither object tokens nor its request token.
    assert refused.headers["X-Ratelimit-Remaining-Objects"] == "50"
    assert refused.headers["X-Ratelimit-Remaining"] == "99"
    exact = purge(v3, emu, [make(i) for i in range(50)], object_type)
    assert exact.status_code == 201
    assert exact.headers["X-Ratelimit-Remaining-Objects"] == "0"
    assert exact.headers["X-Ratelimit-Remaining"] == "98"
    assert emu.counters["rate_limited"] == 1
    assert len(emu.accepted_objects()) == size


def test_url_bucket_exhaustion(emu, v3):
    emu.configure(time_scale=FROZEN)
    for batch in range(4):  # 4 x 2,500 short paths: 10,000 URL tokens
        paths = [f"/{batch}/{i}" for i in range(2_500)]
        response = purge(v3, emu, paths, hostname="www.example.com")
        assert response.status_code == 201, response.text
    assert response.headers["X-Ratelimit-Remaining-Objects"] == "0"
    refused = purge(v3, emu, ["https://www.example.com/one-more"])
    assert refused.status_code == 429
    body = refused.json()
    assert body["title"] == "URL Rate Limit exceeded"
    assert (body["rateLimit"], body["rateLimitCurrentRequestSize"], body["rateLimitRemaining"]) == (
        10_000,
        1,
        0,
    )
    # Other object types have their own buckets.
    assert purge(v3, emu, ["tag-1"], "tag").status_code == 201


def test_refused_and_faulted_requests_take_no_tokens(emu, v3):
    emu.configure(time_scale=FROZEN)
    assert purge(v3, emu, ["https://www.example.com/a"]).headers["X-Ratelimit-Remaining"] == "99"
    for refused in (purge(v3, emu, []), purge(v3, emu, ["ftp://x/"]), purge(v3, emu, [1])):
        assert refused.status_code == 400
        assert refused.headers["X-Ratelimit-Remaining"] == "99"
        assert refused.headers["X-Ratelimit-Remaining-Objects"] == "9999"
    emu.configure(fail_rate=1.0, seed=3)
    faulted = purge(v3, emu, ["https://www.example.com/b"])
    assert faulted.status_code in (500, 503, 504)
    assert faulted.headers["X-Ratelimit-Remaining"] == "99"
    emu.configure(fail_rate=0.0)
    assert purge(v3, emu, ["https://www.example.com/c"]).headers["X-Ratelimit-Remaining"] == "98"


def test_a_wait_refills_the_bucket(emu, v3):
    emu.configure(time_scale=FROZEN)
    assert purge(v3, emu, list(range(1, 301)), "cpcode").status_code == 201
    assert purge(v3, emu, list(range(1, 11)), "cpcode").status_code == 429
    emu.configure(time_scale=1_000)  # CP codes now refill at 500 per second
    time.sleep(0.2)
    refilled = purge(v3, emu, list(range(1, 11)), "cpcode")
    assert refilled.status_code == 201
    assert refilled.headers["X-Ratelimit-Limit-Per-Second-Objects"] == "500.00"
    assert refilled.headers["X-Ratelimit-Limit-Per-Second"] == "50000.00"
    assert int(refilled.headers["X-Ratelimit-Remaining-Objects"]) > 0


def test_rate_limits_off(emu, v3):
    emu.configure(rate_limits="off", time_scale=FROZEN)
    statuses = {purge(v3, emu, [1, 2, 3], "cpcode").status_code for _ in range(120)}
    assert statuses == {201}
    response = purge(v3, emu, list(range(1, 400)), "cpcode")  # more than the bucket holds
    assert response.status_code == 201
    assert response.headers["X-Ratelimit-Remaining"] == "100"
    assert response.headers["X-Ratelimit-Remaining-Objects"] == "300"
    assert emu.counters["rate_limited"] == 0


def test_turning_limits_back_on_starts_with_full_buckets(emu, v3):
    emu.configure(rate_limits="off")
    emu.configure(rate_limits="akamai", time_scale=FROZEN)
    assert purge(v3, emu, list(range(1, 301)), "cpcode").status_code == 201


def test_reset_refills(emu, v3):
    emu.configure(time_scale=FROZEN)
    assert purge(v3, emu, list(range(1, 301)), "cpcode").status_code == 201
    emu.reset()
    assert purge(v3, emu, list(range(1, 301)), "cpcode").status_code == 201


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_limiter_refill_arithmetic_with_a_fake_clock():
    clock = FakeClock()
    limiter = RateLimiter(clock=clock)
    assert limiter.admit("url", 10_000).denial is None
    assert limiter.admit("url", 1).denial.title == "URL Rate Limit exceeded"
    clock.now = 1.0  # 200 URL tokens and 50 request tokens later
    outcome = limiter.admit("url", 200)
    assert outcome.denial is None
    assert outcome.headers["X-Ratelimit-Remaining-Objects"] == "0"
    assert outcome.headers["X-Ratelimit-Remaining"] == "99"  # refilled to 100, minus this one
    limiter.configure(time_scale=10)
    clock.now = 2.0
    assert limiter.peek("url")["X-Ratelimit-Remaining-Objects"] == "2000"
    clock.now = 1000.0
    assert limiter.peek("url")["X-Ratelimit-Remaining-Objects"] == "10000"  # never above size
