"""The emulator's EdgeGrid verifier, against Akamai's published vectors and over real HTTP.

The vectors are Akamai's (Apache 2.0); see tests/data/conformance/README.md.
"""

import json
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from akamai.edgegrid import EdgeGridAuth

from django_akamai.emulator import edgegrid_verify as ev

DATA = Path(__file__).parent / "data" / "conformance"
TESTDATA = json.loads((DATA / "edgegrid-testdata.json").read_text())
CASES = json.loads((DATA / "edgegrid-testcases.json").read_text())
SIGNED = [case for case in CASES if "failsWithMessage" not in case]
FAILING = [case for case in CASES if "failsWithMessage" in case]
UNSIGNED = (
    f"EG1-HMAC-SHA256 client_token={TESTDATA['client_token']};"
    f"access_token={TESTDATA['access_token']};timestamp={TESTDATA['timestamp']};"
    f"nonce={TESTDATA['nonce']};"
)


def case_headers(case):
    pairs = []
    for header in case["request"].get("headers", []):
        pairs.extend(header.items())
    return pairs


def case_host(case):
    given = {name.lower(): value for name, value in case_headers(case)}
    return given.get("host") or urlsplit(TESTDATA["base_url"]).netloc


def case_args(case):
    request = case["request"]
    return dict(
        method=request["method"],
        scheme="https",
        host=case_host(case),
        path_and_query=request["path"],
        headers=case_headers(case),
        body=request.get("data"),
    )


# --- the vectors, as a pure function ------------------------------------------------------


def test_every_vector_is_used():
    assert len(CASES) == 15 and len(FAILING) == 1


@pytest.mark.parametrize("case", SIGNED, ids=lambda c: c["testName"])
def test_vector_signature_reproduced(case):
    signature = ev.compute_signature(
        **case_args(case),
        client_secret=TESTDATA["client_secret"],
        timestamp=TESTDATA["timestamp"],
        auth_header_without_signature=UNSIGNED,
        headers_to_sign=TESTDATA["headers_to_sign"],
        max_body=TESTDATA["max_body"],
    )
    assert UNSIGNED + "signature=" + signature == case["expectedAuthorization"]


@pytest.mark.parametrize("case", SIGNED, ids=lambda c: c["testName"])
def test_vector_data_to_sign_reproduced(case):
    data = ev.data_to_sign(
        **case_args(case),
        auth_header_without_signature="",
        headers_to_sign=TESTDATA["headers_to_sign"],
        max_body=TESTDATA["max_body"],
    )
    assert data == case["expectedDataToSign"]


@pytest.mark.parametrize("case", SIGNED, ids=lambda c: c["testName"])
def test_vector_verifies(case):
    auth = ev.verify(
        **case_args(case),
        authorization=case["expectedAuthorization"],
        client_token=TESTDATA["client_token"],
        client_secret=TESTDATA["client_secret"],
        access_token=TESTDATA["access_token"],
        headers_to_sign=TESTDATA["headers_to_sign"],
        max_body=TESTDATA["max_body"],
        max_skew=None,  # the vectors are signed in 2014
    )
    assert auth.nonce == TESTDATA["nonce"]
    assert auth.unsigned == UNSIGNED


@pytest.mark.parametrize("case", FAILING, ids=lambda c: c["testName"])
def test_vector_refused_with_its_message(case):
    with pytest.raises(ev.EdgeGridError) as info:
        ev.compute_signature(
            **case_args(case),
            client_secret=TESTDATA["client_secret"],
            timestamp=TESTDATA["timestamp"],
            auth_header_without_signature=UNSIGNED,
            headers_to_sign=TESTDATA["headers_to_sign"],
            max_body=TESTDATA["max_body"],
        )
    assert str(info.value) == case["failsWithMessage"]


def test_sign_key_and_content_hash_match_the_testdata():
    assert (
        ev.signing_key(TESTDATA["client_secret"], TESTDATA["timestamp"])
        == TESTDATA["sign_key_test"]
    )
    assert ev.content_hash("POST", "test_body") == TESTDATA["content_hash_test"]
    assert ev.content_hash("PUT", "test_body") == ""


# --- the verifier's refusals, as a pure function --------------------------------------------

POST_CASE = next(c for c in SIGNED if c["testName"] == "POST inside limit")


def verify_post(authorization=POST_CASE["expectedAuthorization"], **overrides):
    kwargs = dict(
        case_args(POST_CASE),
        authorization=authorization,
        client_token=TESTDATA["client_token"],
        client_secret=TESTDATA["client_secret"],
        access_token=TESTDATA["access_token"],
        headers_to_sign=TESTDATA["headers_to_sign"],
        max_body=TESTDATA["max_body"],
        max_skew=None,
    )
    kwargs.update(overrides)
    return ev.verify(**kwargs)


@pytest.mark.parametrize(
    "overrides, status, detail",
    [
        ({"client_secret": "y" * 43 + "="}, 401, "The signature does not match"),
        ({"body": POST_CASE["request"]["data"] + "x"}, 401, "The signature does not match"),
        ({"path_and_query": "/testapi/v1/t4"}, 401, "The signature does not match"),
        ({"method": "PUT"}, 401, "The signature does not match"),
        ({"host": "evil.example.com"}, 401, "The signature does not match"),
        ({"client_token": "akab-other"}, 400, "Invalid client token"),
        ({"access_token": "akab-other"}, 401, "Invalid access token"),
        ({"max_skew": 30.0}, 400, "Invalid timestamp"),
        ({"authorization": None}, 401, "The request has no Authorization header"),
        ({"authorization": "Basic dXNlcjpwYXNz"}, 401, "Invalid authorization header"),
        ({"authorization": UNSIGNED}, 401, "Invalid authorization header"),
        (
            {"authorization": "EG1-HMAC-SHA256 client_token=a;signature=x"},
            401,
            "Invalid authorization header",
        ),
        (
            {
                "authorization": UNSIGNED.replace("20140321T19:34:21+0000", "yesterday")
                + "signature=x"
            },
            400,
            "Invalid timestamp",
        ),
    ],
)
def test_verify_refuses(overrides, status, detail):
    with pytest.raises(ev.EdgeGridError) as info:
        verify_post(**overrides)
    error = info.value
    assert error.status == status and error.detail.startswith(detail)
    assert error.title == {400: "Bad request", 401: "Not authorized"}[status]
    assert error.kind == {400: "request-error", 401: "deny"}[status]
    assert TESTDATA["client_secret"] not in str(error)


def test_nonce_is_refused_the_second_time_only_after_a_good_signature():
    nonces = ev.NonceCache()
    signed_at = ev.parse_timestamp(TESTDATA["timestamp"])
    with pytest.raises(ev.EdgeGridError):
        verify_post(client_secret="y" * 43 + "=", nonces=nonces, now=signed_at)
    verify_post(nonces=nonces, now=signed_at)  # the forged try did not burn the nonce
    with pytest.raises(ev.EdgeGridError, match="not confirmed for Akamai") as info:
        verify_post(nonces=nonces, now=signed_at + 10)
    assert info.value.status == 401


def test_without_a_nonce_cache_a_replay_verifies():
    signed_at = ev.parse_timestamp(TESTDATA["timestamp"])
    for _ in range(3):
        verify_post(now=signed_at, max_skew=30.0)


def test_timestamp_window_is_30_seconds_either_side():
    signed_at = ev.parse_timestamp(TESTDATA["timestamp"])
    for now in (signed_at - 30, signed_at + 30):
        verify_post(now=now, max_skew=ev.DEFAULT_MAX_SKEW_SECONDS)
    for now in (signed_at - 31, signed_at + 31):
        with pytest.raises(ev.EdgeGridError, match="Invalid timestamp") as info:
            verify_post(now=now, max_skew=ev.DEFAULT_MAX_SKEW_SECONDS)
        assert info.value.status == 400


# --- over HTTP against the emulator --------------------------------------------------------

PURGE_PATH = "/ccu/v3/invalidate/url/production"
BODY = json.dumps({"objects": ["https://www.example.com/a"]})


def prepared(emu, path=PURGE_PATH, body=BODY, *, timestamp=None, nonce=None, **creds):
    c = emu.credentials
    auth = EdgeGridAuth(
        client_token=creds.get("client_token", c.client_token),
        client_secret=creds.get("client_secret", c.client_secret),
        access_token=creds.get("access_token", c.access_token),
    )
    request = requests.Request(
        "POST", emu.base_url + path, data=body, headers={"Content-Type": "application/json"}
    ).prepare()
    request.headers["Authorization"] = auth.ah.make_auth_header(
        request,
        timestamp or time.strftime("%Y%m%dT%H:%M:%S+0000", time.gmtime()),
        nonce or uuid.uuid4(),
    )
    return request


def send(request):
    with requests.Session() as session:
        return session.send(request, timeout=10)


def test_requests_signed_by_edgegrid_auth_are_accepted(emu):
    c = emu.credentials
    with requests.Session() as session:
        session.auth = EdgeGridAuth(c.client_token, c.client_secret, c.access_token)
        for i in range(3):
            response = session.post(
                emu.base_url + PURGE_PATH + "?ignored=1",
                json={"objects": [f"https://www.example.com/{i}"]},
                timeout=10,
            )
            assert response.status_code == 201, response.text
    assert emu.accepted_objects() == [f"https://www.example.com/{i}" for i in range(3)]


def tampered_body(emu):
    request = prepared(emu)
    request.body = request.body.replace("/a", "/b")  # same length, so Content-Length holds
    return request


def tampered_path(emu):
    request = prepared(emu)
    request.url = request.url.replace("/invalidate/", "/delete/")
    return request


def signed_seconds_ago(seconds):
    def make(emu):
        moment = time.gmtime(time.time() - seconds)
        return prepared(emu, timestamp=time.strftime("%Y%m%dT%H:%M:%S+0000", moment))

    return make


def unsigned(emu):
    request = prepared(emu)
    del request.headers["Authorization"]
    return request


@pytest.mark.parametrize(
    "make, status, detail",
    [
        (
            lambda emu: prepared(emu, client_secret="A" * 43 + "="),
            401,
            "The signature does not match",
        ),
        (tampered_body, 401, "The signature does not match"),
        (tampered_path, 401, "The signature does not match"),
        (signed_seconds_ago(60), 400, "Invalid timestamp"),
        (signed_seconds_ago(-60), 400, "Invalid timestamp"),
        (lambda emu: prepared(emu, client_token="akab-wrong"), 400, "Invalid client token"),
        (lambda emu: prepared(emu, access_token="akab-wrong"), 401, "Invalid access token"),
        (unsigned, 401, "The request has no Authorization header"),
    ],
    ids=[
        "wrong-secret",
        "body-changed",
        "path-changed",
        "timestamp-60s-old",
        "timestamp-60s-early",
        "unknown-client-token",
        "wrong-access-token",
        "no-header",
    ],
)
def test_gateway_refusals(emu, make, status, detail):
    response = send(make(emu))
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    kind = {400: "request-error", 401: "deny"}[status]
    assert problem["type"] == f"https://problems.purge.akamaiapis.net/-/pep-authn/{kind}"
    assert problem["title"] == {400: "Bad request", 401: "Not authorized"}[status]
    assert problem["status"] == status and problem["detail"] == detail
    assert problem["instance"].startswith(emu.base_url + "/ccu/v3/")
    assert problem["method"] == "POST"
    assert problem["requestId"] and problem["requestTime"]
    assert "httpStatus" not in problem and "supportId" not in problem
    c = emu.credentials
    assert c.client_secret not in response.text and c.access_token not in response.text
    assert emu.purges == []
    assert emu.counters["refused"] == {status: 1}


def test_timestamp_inside_the_window_is_accepted(emu):
    assert send(signed_seconds_ago(20)(emu)).status_code == 201
    assert send(signed_seconds_ago(-20)(emu)).status_code == 201


def test_reused_nonce_is_accepted_by_default(emu):
    # Akamai documents no refusal of a re-sent request: the emulator invents none.
    request = prepared(emu, nonce="fixed-nonce-1")
    assert send(request).status_code == 201
    assert send(request).status_code == 201
    assert len(emu.purges) == 2


def test_strict_mode_refuses_a_reused_nonce(emu):
    emu.configure(refuse_replayed_nonces=True)
    request = prepared(emu, nonce="fixed-nonce-1")
    assert send(request).status_code == 201
    again = send(request)
    assert again.status_code == 401
    assert again.json()["detail"] == ev.REPLAY_DETAIL
    assert "not confirmed for Akamai" in ev.REPLAY_DETAIL
    assert len(emu.purges) == 1


def test_reset_forgets_nonces(emu):
    emu.configure(refuse_replayed_nonces=True)
    request = prepared(emu, nonce="fixed-nonce-2")
    assert send(request).status_code == 201
    emu.reset()
    assert send(request).status_code == 201


def test_only_the_first_131072_body_bytes_are_hashed():
    body = "x" * 131_072
    signed_at = ev.parse_timestamp(TESTDATA["timestamp"])
    assert ev.content_hash("POST", body) == ev.content_hash("POST", body + "tail")
    assert ev.content_hash("POST", body) != ev.content_hash("POST", body[:-1])
    assert signed_at  # the hash is what the signature covers; see test_vector_* above


def test_nonce_cache_forgets_nonces_once_their_timestamp_is_too_old():
    nonces = ev.NonceCache()
    assert nonces.check_and_add("ct", "n1", expires_at=100.0, now=0.0)
    assert nonces.check_and_add("ct", "n2", expires_at=200.0, now=0.0)
    assert not nonces.check_and_add("ct", "n1", expires_at=100.0, now=50.0)
    assert nonces.check_and_add("other-client", "n1", expires_at=100.0, now=50.0)
    assert nonces.check_and_add("ct", "n3", expires_at=300.0, now=150.0)
    assert len(nonces) == 2  # n1 (both clients) expired and was dropped
    assert not nonces.check_and_add("ct", "n2", expires_at=200.0, now=150.0)
