"""How long the transport waits after a 429: from the refusal's X-Ratelimit headers first.

A pure-logic test of ``HttpTransport.request``: the session is a stand-in that answers from a
script (no network), the clock advances only when the transport sleeps, so every wait is
exactly the one the transport computed.
"""

from __future__ import annotations

import pytest
import requests

from django_akamai.conf import EdgeGridCredentials
from django_akamai.transport import FastPurgeTransport, RetryPolicy

CREDENTIALS = EdgeGridCredentials(
    host="https://akab-test.purge.akamaiapis.net",
    client_token="akab-client",
    client_secret="secret",
    access_token="akab-access",
)

#: A 429 whose headers say the URL bucket is empty and refills at 200 tokens a second.
EMPTY_BUCKET = {
    "X-Ratelimit-Limit": "100",
    "X-Ratelimit-Limit-Per-Second": "1.00",
    "X-Ratelimit-Remaining": "50",
    "X-Ratelimit-Limit-Objects": "10000",
    "X-Ratelimit-Limit-Per-Second-Objects": "200.00",
    "X-Ratelimit-Remaining-Objects": "0",
}


def _response(status: int, headers: dict[str, str]) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers)
    response._content = b'{"httpStatus": 201}' if status < 300 else b'{"title": "limited"}'
    return response


class ScriptedSession:
    """A session (and its transport adapter) answering each send() from a script."""

    headers: dict[str, str] = {}
    auth = None

    def __init__(self, answers: list[requests.Response]):
        self.answers = list(answers)
        self.sent = 0

    def merge_environment_settings(self, *_args):
        return {}

    def get_adapter(self, _url):
        return self

    def send(self, _prepared, **_kwargs):
        self.sent += 1
        return self.answers.pop(0)


class FakeTime:
    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _send(answers: list[requests.Response], objects: int) -> tuple[FakeTime, ScriptedSession]:
    time = FakeTime()
    session = ScriptedSession(answers)
    transport = FastPurgeTransport(
        CREDENTIALS,
        session=session,
        clock=time.clock,
        sleep=time.sleep,
        retry=RetryPolicy(max_retries=0, backoff_max=30.0),
    )
    transport.request(
        "POST",
        "/ccu/v3/delete/url/production",
        body=b"{}",
        objects=["x"] * objects,
        object_type="url",
    )
    assert transport.rate_limited == len(answers) - 1
    return time, session


def test_429_waits_as_long_as_its_headers_say():
    time, session = _send([_response(429, EMPTY_BUCKET), _response(201, {})], objects=10)
    # 10 tokens at 200 a second, plus the pacer's 2 % of slack; not a blind 100 ms.
    assert time.sleeps == [pytest.approx(10 / 200 * 1.02)]
    assert session.sent == 2


def test_retry_after_counts_when_the_headers_say_nothing():
    time, _ = _send([_response(429, {"Retry-After": "2"}), _response(201, {})], objects=1)
    assert time.sleeps == [2.0]


def test_429_without_usable_headers_backs_off_harder_each_time():
    answers = [_response(429, {}), _response(429, {}), _response(429, {}), _response(201, {})]
    time, _ = _send(answers, objects=1)
    assert time.sleeps == [pytest.approx(0.1), pytest.approx(0.2), pytest.approx(0.4)]


def test_restoring_an_older_snapshot_keeps_the_fresher_view():
    import time as real_time

    from django_akamai.transport.pacing import RateLimitPacer

    now = [1000.0]
    pacer = RateLimitPacer(clock=lambda: now[0])
    pacer.observe(EMPTY_BUCKET, "url")  # just now: the URL bucket is empty
    stale = {
        "objects": {
            "url": {"size": 10_000, "rate": 200, "remaining": 10_000, "at": real_time.time() - 60}
        }
    }
    pacer.restore(stale)
    assert pacer.delay("url", 10) == pytest.approx(10 / 200 * 1.02)
    now[0] += 1.0  # a second later (200 tokens back), another process's newer view arrives
    fresh = dict(stale, objects={"url": dict(stale["objects"]["url"], at=real_time.time())})
    pacer.restore(fresh)
    assert pacer.delay("url", 1_000) == 0
