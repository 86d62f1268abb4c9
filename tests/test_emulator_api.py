"""The emulator's Fast Purge v3 and CCU v2 endpoints over real HTTP: acceptances, refusals."""

import http.client
import json
import threading
import time

import pytest
import requests
from akamai.edgegrid import EdgeGridAuth

from django_akamai.emulator import AcceptedPurge, Emulator


@pytest.fixture
def v2(emu):
    with requests.Session() as session:
        session.auth = (emu.credentials.username, emu.credentials.password)
        yield session


def purge(session, emu, body, path="/ccu/v3/invalidate/url/production", **kwargs):
    kwargs.setdefault("timeout", 10)
    if isinstance(body, (bytes, str)):
        headers = kwargs.pop("headers", {"Content-Type": "application/json"})
        return session.post(emu.base_url + path, data=body, headers=headers, **kwargs)
    return session.post(emu.base_url + path, json=body, **kwargs)


# --- Fast Purge v3 acceptances ------------------------------------------------------------

OBJECTS = {
    "url": ["https://www.example.com/a", "http://cdn.example.org:8080/b?x=1"],
    "cpcode": [1234, 5678],
    "tag": ["article-1", "Ab9!#$%&'+-.^_`|~"],
}


@pytest.mark.parametrize("action", ["invalidate", "delete"])
@pytest.mark.parametrize("object_type", ["url", "cpcode", "tag"])
@pytest.mark.parametrize("network", ["production", "staging"])
def test_every_v3_endpoint_accepts_and_records(emu, v3, action, object_type, network):
    response = purge(
        v3, emu, {"objects": OBJECTS[object_type]}, f"/ccu/v3/{action}/{object_type}/{network}"
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["httpStatus"] == 201
    assert body["detail"] == "Request accepted"
    assert body["estimatedSeconds"] == 5
    [accepted] = emu.purges
    assert isinstance(accepted, AcceptedPurge)
    assert (accepted.api, accepted.action, accepted.type, accepted.network) == (
        "v3",
        action,
        object_type,
        network,
    )
    assert accepted.objects == tuple(OBJECTS[object_type])
    assert accepted.hostname is None
    assert accepted.purge_id == body["purgeId"] and accepted.support_id == body["supportId"]
    assert accepted.estimated_seconds == 5
    counters = emu.counters
    assert counters["accepted"] == 1 and counters["requests"] == 1
    assert counters["objects_accepted"] == 2
    assert counters["bytes_received"] == len(response.request.body)


def test_hostname_form_keeps_hostname_and_paths(emu, v3):
    body = {"hostname": "www.example.com", "objects": ["/a", "/b?page=2"]}
    assert purge(v3, emu, body).status_code == 201
    [accepted] = emu.purges
    assert accepted.hostname == "www.example.com"
    assert accepted.objects == ("/a", "/b?page=2")
    assert emu.accepted_objects() == ["/a", "/b?page=2"]


def test_accepted_objects_is_flat_and_in_order(emu, v3):
    purge(v3, emu, {"objects": ["https://a.example.com/1", "https://a.example.com/2"]})
    purge(v3, emu, {"objects": [7]}, "/ccu/v3/delete/cpcode/staging")
    purge(v3, emu, {"objects": ["https://a.example.com/3"]})
    assert emu.accepted_objects() == [
        "https://a.example.com/1",
        "https://a.example.com/2",
        7,
        "https://a.example.com/3",
    ]
    purges = emu.purges
    purges.clear()  # a copy
    assert len(emu.purges) == 3


def test_rate_limit_headers_on_every_v3_answer(emu, v3):
    accepted = purge(v3, emu, {"objects": ["https://www.example.com/a"]})
    refused = purge(v3, emu, {"objects": []})
    for response in (accepted, refused):
        headers = response.headers
        assert headers["X-Ratelimit-Limit"] == "100"
        assert headers["X-Ratelimit-Limit-Per-Second"] == "50.00"
        assert headers["X-Ratelimit-Limit-Objects"] == "10000"
        assert headers["X-Ratelimit-Limit-Per-Second-Objects"] == "200.00"
        assert "Retry-After" not in headers
    assert accepted.headers["X-Ratelimit-Remaining"] == "99"
    assert accepted.headers["X-Ratelimit-Remaining-Objects"] == "9999"
    tags = purge(v3, emu, {"objects": ["t"]}, "/ccu/v3/invalidate/tag/production")
    assert tags.headers["X-Ratelimit-Limit-Objects"] == "5000"
    assert tags.headers["X-Ratelimit-Limit-Per-Second-Objects"] == "8.33"
    cpcodes = purge(v3, emu, {"objects": [1]}, "/ccu/v3/invalidate/cpcode/production")
    assert cpcodes.headers["X-Ratelimit-Limit-Objects"] == "300"
    assert cpcodes.headers["X-Ratelimit-Limit-Per-Second-Objects"] == "0.50"


# --- CCU v2 -----------------------------------------------------------------------------


def test_v2_purge_defaults_status_and_queue(emu, v2):
    emu.configure(v2_estimate_seconds=0.2)
    response = v2.post(
        emu.base_url + "/ccu/v2/queues/default",
        json={"objects": ["https://www.example.com/a"]},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["httpStatus"] == 201 and body["detail"] == "Request accepted."
    assert body["progressUri"] == f"/ccu/v2/purges/{body['purgeId']}"
    assert body["estimatedSeconds"] == body["pingAfterSeconds"] == 1
    [accepted] = emu.purges
    assert (accepted.api, accepted.action, accepted.type, accepted.network) == (
        "v2",
        "remove",
        "arl",
        "production",
    )
    assert accepted.objects == ("https://www.example.com/a",)

    status = v2.get(emu.base_url + body["progressUri"], timeout=10).json()
    assert status["purgeStatus"] == "In-Progress"
    assert status["completionTime"] is None
    assert status["submittedBy"] == emu.credentials.username
    assert status["purgeId"] == body["purgeId"] and status["supportId"] == body["supportId"]
    queue = v2.get(emu.base_url + "/ccu/v2/queues/default", timeout=10).json()
    assert queue["httpStatus"] == 200 and queue["queueLength"] == 1

    deadline = time.monotonic() + 10
    while status["purgeStatus"] != "Done" and time.monotonic() < deadline:
        time.sleep(0.05)
        status = v2.get(emu.base_url + body["progressUri"], timeout=10).json()
    assert status["purgeStatus"] == "Done"
    assert status["completionTime"]
    queue = v2.get(emu.base_url + "/ccu/v2/queues/default", timeout=10).json()
    assert queue["queueLength"] == 0


def test_v2_time_scale_shortens_the_estimate(emu, v2):
    emu.configure(v2_estimate_seconds=1000, time_scale=1e9)
    response = v2.post(
        emu.base_url + "/ccu/v2/queues/default",
        json={"objects": [123], "type": "cpcode"},
        timeout=10,
    )
    status = v2.get(emu.base_url + response.json()["progressUri"], timeout=10).json()
    assert status["purgeStatus"] == "Done"


def test_v2_options_recorded_in_v2_words(emu, v2):
    emu.configure(v2_estimate_seconds=0)
    body = {"objects": ["123", 456], "action": "invalidate", "type": "cpcode", "domain": "staging"}
    response = v2.post(emu.base_url + "/ccu/v2/queues/default", json=body, timeout=10)
    assert response.status_code == 201
    [accepted] = emu.purges
    assert (accepted.action, accepted.type, accepted.network) == ("invalidate", "cpcode", "staging")
    assert accepted.objects == ("123", 456)
    status = v2.get(emu.base_url + response.json()["progressUri"], timeout=10).json()
    assert status["purgeStatus"] == "Done"


def test_v2_queue_holds_10000_objects_then_507(emu, v2):
    emu.configure(v2_estimate_seconds=3600)
    url = emu.base_url + "/ccu/v2/queues/default"
    for batch in range(50):
        objects = [f"https://www.example.com/{batch}/{i}" for i in range(200)]
        assert v2.post(url, json={"objects": objects}, timeout=10).status_code == 201
    assert v2.get(url, timeout=10).json()["queueLength"] == 10_000
    full = v2.post(url, json={"objects": ["https://www.example.com/one-more"]}, timeout=10)
    problem = problem_of(full, 507)
    assert "10000" in problem["detail"]
    assert len(emu.purges) == 50


def test_v2_refusals(emu, v2):
    url = emu.base_url + "/ccu/v2/queues/default"
    bad_auth = requests.post(
        url,
        json={"objects": ["https://a.example.com/"]},
        auth=(emu.credentials.username, "wrong"),
        timeout=10,
    )
    assert bad_auth.status_code == 401
    assert bad_auth.headers["WWW-Authenticate"].startswith("Basic ")
    assert emu.credentials.password not in bad_auth.text
    assert requests.get(url, timeout=10).status_code == 401
    assert (
        v2.post(
            url, json={"objects": ["https://a.example.com/"], "action": "delete"}, timeout=10
        ).status_code
        == 400
    )
    assert (
        v2.post(
            url, json={"objects": ["https://a.example.com/"], "domain": "prod"}, timeout=10
        ).status_code
        == 400
    )
    assert v2.post(url, json={"objects": ["/relative"]}, timeout=10).status_code == 400
    assert v2.post(url, json={"objects": ["x"], "type": "cpcode"}, timeout=10).status_code == 400
    unknown = v2.get(emu.base_url + "/ccu/v2/purges/no-such-id", timeout=10)
    assert unknown.status_code == 404
    assert unknown.headers["Content-Type"] == "application/api-problem+json"
    assert v2.get(emu.base_url + "/ccu/v2/queues/emergency", timeout=10).status_code == 404
    emu.configure(allowed_hosts=["www.example.com"])
    forbidden = v2.post(url, json={"objects": ["https://other.example.org/x"]}, timeout=10)
    assert forbidden.status_code == 403
    assert forbidden.json()["title"] == "unauthorized arl"
    assert emu.purges == []
    assert emu.counters["refused"] == {400: 4, 401: 2, 403: 1, 404: 2}


# --- refusals, each provoked once --------------------------------------------------------


def problem_of(response, status):
    """The purge API's own refusal: Akamai's api-problem+json shape."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/api-problem+json"
    problem = response.json()
    assert set(problem) >= {"title", "httpStatus", "detail", "supportId", "describedBy"}
    assert problem["describedBy"] == "https://techdocs.akamai.com/purge-cache/reference/api-errors"
    assert problem["httpStatus"] == status
    return problem


def test_413_for_a_body_over_50000_bytes_and_the_connection_survives(emu, v3):
    body = json.dumps({"objects": ["https://www.example.com/" + "a" * 50_000]})
    problem = problem_of(purge(v3, emu, body), 413)
    assert "50000" in problem["detail"]
    # The refused body was drained, so the same keep-alive connection carries the next one.
    assert purge(v3, emu, {"objects": ["https://www.example.com/ok"]}).status_code == 201
    assert emu.counters["refused"] == {413: 1}


def test_50000_bytes_exactly_is_accepted(emu, v3):
    prefix = '{"objects": ["https://www.example.com/'
    body = prefix + "a" * (50_000 - len(prefix) - 3) + '"]}'
    assert len(body.encode()) == 50_000
    assert purge(v3, emu, body).status_code == 201


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_415_for_other_content_types(emu, v3, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = purge(
        v3, emu, json.dumps({"objects": ["https://www.example.com/a"]}), headers=headers
    )
    problem_of(response, 415)


def test_json_with_charset_is_fine(emu, v3):
    response = purge(
        v3,
        emu,
        json.dumps({"objects": ["https://www.example.com/a"]}),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201


BAD_BODIES = [
    ("url", '{"objects": [', "malformed JSON"),
    ("url", b'{"objects": ["\xff"]}', "malformed JSON"),
    ("url", "[]", "malformed JSON"),
    ("url", {}, "missing objects"),
    ("url", {"objects": []}, "missing objects"),
    ("url", {"objects": "https://www.example.com/a"}, "invalid objects"),
    ("url", {"objects": ["https://www.example.com/a", 5]}, "invalid object type"),
    ("url", {"objects": ["ftp://www.example.com/a"]}, "bad URL"),
    ("url", {"objects": ["https://www.example.com/a b"]}, "bad URL"),
    ("url", {"objects": ["/a"]}, "bad URL"),
    ("url", {"objects": ["https://www.example.com/caf\u00e9"]}, "bad URL"),
    ("url", {"objects": ["https://b\u00fccher.example.de/a"]}, "bad URL"),
    ("url", {"hostname": "www.example.com", "objects": ["/caf\u00e9"]}, "bad URL"),
    ("url", {"objects": ["/L/512/6848/1h/www.example.com/caf\u00e9"]}, "bad URL"),
    ("url", {"objects": ["/L/512/6848/1h/bad_host/a"]}, "bad URL hostname"),
    ("url", {"objects": ["https://www.example.com/ok", "https://bad_host/a"]}, "bad URL hostname"),
    ("url", '{"objects": ' + "[" * 20_000 + "]" * 20_000 + "}", "malformed JSON"),
    ("url", {"objects": ["https:///a"]}, "bad URL hostname"),
    ("url", {"objects": ["https://exa_mple.com/a"]}, "bad URL hostname"),
    ("url", {"objects": ["https://-bad.example.com/a"]}, "bad URL hostname"),
    ("url", {"objects": ["https://www..example.com/a"]}, "bad URL hostname"),
    ("url", {"objects": ["https://www.example.com:99999/a"]}, "bad URL hostname"),
    ("url", {"objects": ["https://user@www.example.com/a"]}, "bad URL hostname"),
    ("url", {"hostname": "bad host", "objects": ["/a"]}, "bad URL hostname"),
    ("cpcode", {"objects": ["1234"]}, "invalid object type"),
    ("cpcode", {"objects": [True]}, "invalid object type"),
    ("cpcode", {"objects": [1.5]}, "invalid object type"),
    ("cpcode", {"objects": [0]}, "invalid CP code"),
    ("cpcode", {"objects": [-3]}, "invalid CP code"),
    ("cpcode", {"hostname": "www.example.com", "objects": [1]}, "invalid hostname"),
    ("tag", {"objects": [12]}, "invalid object type"),
    ("tag", {"objects": ["has space"]}, "invalid cache tag"),
    ("tag", {"objects": ["star*"]}, "invalid cache tag"),
    ("tag", {"objects": ["at@sign"]}, "invalid cache tag"),
    ("tag", {"objects": [""]}, "invalid cache tag"),
    ("tag", {"objects": ["t" * 129]}, "invalid cache tag"),
    ("tag", {"objects": ["news/world"]}, "invalid cache tag"),
    ("tag", {"objects": ["news\n"]}, "invalid cache tag"),
    # Every character of Akamai's table of disallowed tag characters (AKAMAI_API.md §1).
    *(("tag", {"objects": [f"a{c}b"]}, "invalid cache tag") for c in '<>*@\\{}:,"=()?;/[] '),
]


@pytest.mark.parametrize("object_type, body, title", BAD_BODIES)
def test_400_for_bad_bodies(emu, v3, object_type, body, title):
    emu.configure(time_scale=1e-9)  # buckets do not refill while the test runs
    before = purge(v3, emu, {"objects": ["https://www.example.com/warm-up"]})
    response = purge(v3, emu, body, f"/ccu/v3/invalidate/{object_type}/production")
    problem = problem_of(response, 400)
    assert problem["title"] == title
    # A refused request takes no tokens.
    assert response.headers["X-Ratelimit-Remaining"] == before.headers["X-Ratelimit-Remaining"]
    assert len(emu.purges) == 1
    assert emu.counters["refused"] == {400: 1}


def test_a_slash_in_one_tag_refuses_the_whole_request_naming_it(emu, v3):
    response = purge(
        v3, emu, {"objects": ["news", "news/world"]}, "/ccu/v3/invalidate/tag/production"
    )
    problem = problem_of(response, 400)
    assert problem["title"] == "invalid cache tag"
    assert "'news/world'" in problem["detail"] and "slash" in problem["detail"]
    assert emu.purges == []


def test_tag_of_128_characters_is_fine(emu, v3):
    response = purge(v3, emu, {"objects": ["t" * 128]}, "/ccu/v3/invalidate/tag/production")
    assert response.status_code == 201


def test_403_for_hosts_outside_allowed_hosts(emu, v3):
    emu.configure(allowed_hosts=["www.example.com", "IMG.example.com"])
    ok = {"objects": ["https://www.example.com/a", "https://img.example.com/b"]}
    assert purge(v3, emu, ok).status_code == 201
    problem = problem_of(
        purge(v3, emu, {"objects": ["https://www.example.com/a", "https://other.example.org/x"]}),
        403,
    )
    assert problem["title"] == "unauthorized arl"
    assert "https://other.example.org/x" in problem["detail"]
    assert "www.example.com/a" not in problem["detail"]
    hostname_form = {"hostname": "other.example.org", "objects": ["/x"]}
    assert purge(v3, emu, hostname_form).status_code == 403
    # Tags and CP codes are not host-bound.
    assert purge(v3, emu, {"objects": [5]}, "/ccu/v3/delete/cpcode/production").status_code == 201
    assert len(emu.purges) == 2


def test_401_without_signature_comes_from_the_gateway(emu):
    response = purge(requests, emu, {"objects": ["https://www.example.com/a"]})
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["title"] == "Not authorized" and problem["status"] == 401
    assert problem["type"].endswith("/pep-authn/deny")
    assert "httpStatus" not in problem and "supportId" not in problem
    assert "X-Ratelimit-Remaining" not in response.headers


@pytest.mark.parametrize("action", ["invalidate", "delete"])
@pytest.mark.parametrize("object_type", ["url", "cpcode", "tag"])
def test_network_is_optional_and_means_production(emu, v3, action, object_type):
    response = purge(v3, emu, {"objects": OBJECTS[object_type]}, f"/ccu/v3/{action}/{object_type}")
    assert response.status_code == 201, response.text
    [accepted] = emu.purges
    assert (accepted.action, accepted.type, accepted.network) == (action, object_type, "production")


ARLS = ["/L/512/6848/1h/www.example1.com/index.html", "/D/1/6848/1d/img.example.com/a.png?x=1"]


def test_arls_are_accepted_alone_and_mixed_with_urls(emu, v3):
    assert purge(v3, emu, {"objects": ARLS}).status_code == 201
    mixed = {"objects": [ARLS[0], "https://www.example.com/a"]}
    assert purge(v3, emu, mixed, "/ccu/v3/delete/url/staging").status_code == 201
    assert emu.accepted_objects() == [*ARLS, ARLS[0], "https://www.example.com/a"]


def test_arl_hosts_are_checked_against_allowed_hosts(emu, v3):
    emu.configure(allowed_hosts=["www.example1.com"])
    assert purge(v3, emu, {"objects": ARLS[:1]}).status_code == 201
    assert problem_of(purge(v3, emu, {"objects": ARLS}), 403)["title"] == "unauthorized arl"


def test_one_bad_object_refuses_the_whole_request(emu, v3):
    body = {"objects": [f"https://www.example.com/{i}" for i in range(50)] + ["https://x/\u00e9"]}
    assert problem_of(purge(v3, emu, body), 400)["title"] == "bad URL"
    assert emu.purges == [] and emu.counters["objects_accepted"] == 0


def test_413_comes_after_the_gateway(emu, v3):
    # The gateway authenticates first: an unsigned oversized body is a 401, a signed one a 413.
    body = json.dumps({"objects": ["https://www.example.com/" + "a" * 60_000]})
    assert purge(requests, emu, body).status_code == 401
    assert purge(v3, emu, body).status_code == 413


def test_rate_limit_status_reports_without_taking_tokens(emu, v3):
    emu.configure(time_scale=1e-9)  # buckets do not refill while the test runs
    purge(v3, emu, {"objects": ["https://www.example.com/a", "https://www.example.com/b"]})
    for object_type, limit in (("url", "10000"), ("cpcode", "300"), ("tag", "5000")):
        response = v3.post(
            emu.base_url + f"/ccu/v3/rate-limit-status/{object_type}", json={}, timeout=10
        )
        assert response.status_code == 201, response.text
        assert response.json()["httpStatus"] == 201 and response.json()["supportId"]
        assert response.headers["X-Ratelimit-Limit-Objects"] == limit
        assert response.headers["X-Ratelimit-Remaining"] == "99"
        assert "X-Ratelimit-Seconds-To-Refresh-Limit-Objects" in response.headers
    url_status = v3.post(emu.base_url + "/ccu/v3/rate-limit-status/url", json={}, timeout=10)
    assert url_status.headers["X-Ratelimit-Remaining-Objects"] == "9998"
    assert len(emu.purges) == 1
    unsigned = requests.post(emu.base_url + "/ccu/v3/rate-limit-status/url", json={}, timeout=10)
    assert unsigned.status_code == 401
    assert v3.get(emu.base_url + "/ccu/v3/rate-limit-status/url", timeout=10).status_code == 405
    assert v3.post(emu.base_url + "/ccu/v3/rate-limit-status/arl", timeout=10).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/ccu/v3/purge/url/production",
        "/ccu/v3/invalidate/arl/production",
        "/ccu/v3/invalidate/url/prod",
        "/ccu/v3/invalidate/url/production/extra",
        "/ccu/v3/invalidate/url/",
        "/ccu/v3/invalidate",
    ],
)
def test_404_for_unknown_paths(emu, v3, path):
    problem_of(purge(v3, emu, {"objects": ["https://www.example.com/a"]}, path), 404)
    assert emu.counters["refused"] == {404: 1}


def test_405_for_get_on_a_purge_path(emu, v3):
    response = v3.get(emu.base_url + "/ccu/v3/invalidate/url/production", timeout=10)
    problem_of(response, 405)
    assert response.headers["Allow"] == "POST"
    assert "X-Ratelimit-Remaining" in response.headers


def test_411_for_a_chunked_body(emu):
    # Framing is checked before authentication (edgegrid-python cannot sign a stream anyway).
    chunks = iter([b'{"objects": ', b'["https://www.example.com/a"]}'])
    response = requests.post(
        emu.base_url + "/ccu/v3/invalidate/url/production",
        data=chunks,
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    problem_of(response, 411)


# --- introspection, connections, lifecycle --------------------------------------------------


def test_introspection_endpoints_are_not_counted(emu, v3):
    purge(v3, emu, {"objects": ["https://www.example.com/a"]})
    purge(v3, emu, {"objects": []})
    listed = requests.get(emu.base_url + "/emulator/purges", timeout=10).json()
    assert [p["objects"] for p in listed] == [["https://www.example.com/a"]]
    assert listed[0]["api"] == "v3" and listed[0]["purgeId"] == emu.purges[0].purge_id
    counters = requests.get(emu.base_url + "/emulator/counters", timeout=10).json()
    assert counters["requests"] == 2 and counters["refused"] == {"400": 1}
    assert requests.get(emu.base_url + "/emulator/nothing", timeout=10).status_code == 404
    assert requests.post(emu.base_url + "/emulator/reset", timeout=10).json() == {"reset": True}
    assert emu.purges == []
    assert emu.counters == {
        "requests": 0,
        "accepted": 0,
        "objects_accepted": 0,
        "rate_limited": 0,
        "bytes_received": 0,
        "dropped": 0,
        "slowed": 0,
        "refused": {},
        "faults": {},
    }


def test_keep_alive_one_connection_many_requests(emu):
    host, port = emu.base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        sockets = set()
        for _ in range(3):
            connection.request("GET", "/emulator/counters")
            response = connection.getresponse()
            assert response.status == 200 and not response.will_close
            response.read()
            sockets.add(id(connection.sock))
        assert len(sockets) == 1
    finally:
        connection.close()


def test_concurrent_clients_all_recorded(emu):
    emu.configure(rate_limits="off")
    c = emu.credentials
    errors = []

    def client(n):
        try:
            with requests.Session() as session:
                session.auth = EdgeGridAuth(c.client_token, c.client_secret, c.access_token)
                for i in range(10):
                    body = {"objects": [f"https://www.example.com/{n}/{i}"]}
                    assert purge(session, emu, body).status_code == 201
        except Exception as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(emu.accepted_objects()) == 80
    assert emu.counters["requests"] == 80


def test_credentials_shape_and_repr():
    with Emulator(port=0, username="u", password="p4ss-word") as emu:
        c = emu.credentials
        assert c.host == emu.base_url == f"http://127.0.0.1:{emu.port}"
        assert c.client_token.startswith("akab-") and c.access_token.startswith("akab-")
        assert len(c.client_secret) == 44 and c.client_secret.endswith("=")
        assert (c.username, c.password) == ("u", "p4ss-word")
        text = repr(c)
        for secret in (c.client_secret, c.access_token, c.password):
            assert secret not in text
        assert c.client_token in text and c.host in text
        with pytest.raises(AttributeError):
            c.host = "x"


def test_given_credentials_are_used():
    with Emulator(
        port=0, client_token="akab-ct", client_secret="c2VjcmV0", access_token="akab-at"
    ) as emu:
        c = emu.credentials
        assert (c.client_token, c.client_secret, c.access_token) == (
            "akab-ct",
            "c2VjcmV0",
            "akab-at",
        )
        with requests.Session() as session:
            session.auth = EdgeGridAuth("akab-ct", "c2VjcmV0", "akab-at")
            assert purge(session, emu, {"objects": ["https://a.example.com/"]}).status_code == 201


def test_start_stop_restart_keeps_credentials():
    emu = Emulator(port=0)
    with pytest.raises(RuntimeError):
        emu.credentials  # noqa: B018
    emu.start()
    first = emu.credentials
    with pytest.raises(RuntimeError, match="already running"):
        emu.start()
    emu.stop()
    emu.stop()  # twice is fine
    assert not emu.running
    emu.start()
    try:
        assert emu.credentials.client_secret == first.client_secret
        assert requests.get(emu.base_url + "/emulator/counters", timeout=10).status_code == 200
    finally:
        emu.stop()


def test_stop_closes_idle_keep_alive_connections():
    emu = Emulator(port=0).start()
    with requests.Session() as session:
        assert session.get(emu.base_url + "/emulator/counters", timeout=10).status_code == 200
        thread = emu._thread
        emu.stop()
        assert not thread.is_alive()
        with pytest.raises(requests.ConnectionError):
            session.get(emu.base_url + "/emulator/counters", timeout=2)


def test_configure_validates():
    emu = Emulator(port=0)
    with pytest.raises(TypeError, match="unknown"):
        emu.configure(fail_rat=0.1)
    for bad in (
        {"fail_rate": 1.5},
        {"time_scale": 0},
        {"rate_limits": "on"},
        {"latency_ms": (50, 10)},
        {"seed": "x"},
        {"drop_rate": -0.1},
    ):
        with pytest.raises(ValueError):
            emu.configure(**bad)
    emu.configure(latency_ms="20-80", allowed_hosts="A.example.com, b.example.com")
    assert emu.knobs.latency_ms == (20.0, 80.0)
    assert emu.knobs.allowed_hosts == {"a.example.com", "b.example.com"}
    emu.restore_defaults()
    assert emu.knobs.allowed_hosts is None and emu.knobs.latency_ms == 0.0


def test_refusals_endpoint_says_why(emu, v3):
    purge(v3, emu, {"objects": ["https://www.example.com/caf\u00e9"]})
    purge(requests, emu, {"objects": ["https://www.example.com/a"]})
    listed = requests.get(emu.base_url + "/emulator/refusals", timeout=10).json()
    assert [(r["status"], r["title"]) for r in listed] == [
        (400, "bad URL"),
        (401, "Not authorized"),
    ]
    assert listed[0]["path"] == "/ccu/v3/invalidate/url/production"
    assert emu.refusals == listed
    assert requests.get(emu.base_url + "/emulator/edge", timeout=10).status_code == 404
    emu.reset()
    assert emu.refusals == []
