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
    "overrides, title",
    [
        ({"client_secret": "y" * 43 + "="}, "The signature does not match"),
        ({"body": POST_CASE["request"]["data"] + "x"}, "The signature does not match"),
        ({"path_and_query": "/testapi/v1/t4"}, "The signature does not match"),
        ({"method": "PUT"}, "The signature does not match"),
        ({"host": "evil.example.com"}, "The signature does not match"),
        ({"client_token": "akab-other"}, "Invalid authorization client_token"),
        ({"access_token": "akab-other"}, "Invalid authorization access_token"),
        ({"max_skew": 300.0}, "Invalid timestamp"),
        ({"authorization": None}, "Missing authorization"),
        ({"authorization": "Basic dXNlcjpwYXNz"}, "Invalid authorization header"),
        ({"authorization": UNSIGNED}, "Invalid authorization header"),
        (
            {"authorization": "EG1-HMAC-SHA256 client_token=a;signature=x"},
            "Invalid authorization header",
        ),
        (
            {
                "authorization": UNSIGNED.replace("20140321T19:34:21+0000", "yesterday")
                + "signature=x"
            },
            "Invalid timestamp",
        ),
    ],
)
def test_verify_refuses(overrides, title):
    with pytest.raises(ev.EdgeGridError) as info:
        verify_post(**overrides)
    assert info.value.title == title
    assert TESTDATA["client_secret"] not in str(info.value)


def test_nonce_is_refused_the_second_time_only_after_a_good_signature():
    nonces = ev.NonceCache()
    signed_at = ev.parse_timestamp(TESTDATA["timestamp"])
    with pytest.raises(ev.EdgeGridError):
        verify_post(client_secret="y" * 43 + "=", nonces=nonces, now=signed_at)
    verify_post(nonces=nonces, now=signed_at)  # the forged try did not burn the nonce
    with pytest.raises(ev.EdgeGridError, match="already used") as info:
        verify_post(nonces=nonces, now=signed_at + 10)
    assert info.value.title == "Invalid nonce"


def test_timestamp_window_is_five_minutes_either_side():
    signed_at = ev.parse_timestamp(TESTDATA["timestamp"])
    for now in (signed_at - 300, signed_at + 300):
        verify_post(now=now, max_skew=300.0)
    for now in (signed_at - 301, signed_at + 301):
        with pytest.raises(ev.EdgeGridError, match="more than 300s"):
            verify_post(now=now, max_skew=300.0)


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


def stale(emu):
    old = time.gmtime(time.time() - 600)
    return prepared(emu, timestamp=time.strftime("%Y%m%dT%H:%M:%S+0000", old))


def unsigned(emu):
    request = prepared(emu)
    del request.headers["Authorization"]
    return request


@pytest.mark.parametrize(
    "make, title",
    [
        (lambda emu: prepared(emu, client_secret="A" * 43 + "="), "The signature does not match"),
        (tampered_body, "The signature does not match"),
        (tampered_path, "The signature does not match"),
        (stale, "Invalid timestamp"),
        (
            lambda emu: prepared(emu, client_token="akab-wrong"),
            "Invalid authorization client_token",
        ),
        (
            lambda emu: prepared(emu, access_token="akab-wrong"),
            "Invalid authorization access_token",
        ),
        (unsigned, "Missing authorization"),
    ],
    ids=[
        "wrong-secret",
        "body-changed",
        "path-changed",
        "stale-timestamp",
        "wrong-client-token",
        "wrong-access-token",
        "no-header",
    ],
)
def test_tampered_requests_get_401(emu, make, title):
    response = send(make(emu))
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["title"] == title
    assert problem["httpStatus"] == 401
    assert problem["supportId"] and problem["describedBy"]
    c = emu.credentials
    assert c.client_secret not in response.text and c.access_token not in response.text
    assert emu.purges == []
    assert emu.counters["refused"] == {401: 1}


def test_reused_nonce_gets_401(emu):
    request = prepared(emu, nonce="fixed-nonce-1")
    assert send(request).status_code == 201
    again = send(request)
    assert again.status_code == 401
    assert again.json()["title"] == "Invalid nonce"
    assert len(emu.purges) == 1


def test_reset_forgets_nonces(emu):
    request = prepared(emu, nonce="fixed-nonce-2")
    assert send(request).status_code == 201
    emu.reset()
    assert send(request).status_code == 201


def test_nonce_cache_forgets_nonces_once_their_timestamp_is_too_old():
    nonces = ev.NonceCache()
    assert nonces.check_and_add("ct", "n1", expires_at=100.0, now=0.0)
    assert nonces.check_and_add("ct", "n2", expires_at=200.0, now=0.0)
    assert not nonces.check_and_add("ct", "n1", expires_at=100.0, now=50.0)
    assert nonces.check_and_add("other-client", "n1", expires_at=100.0, now=50.0)
    assert nonces.check_and_add("ct", "n3", expires_at=300.0, now=150.0)
    assert len(nonces) == 2  # n1 (both clients) expired and was dropped
    assert not nonces.check_and_add("ct", "n2", expires_at=200.0, now=150.0)
