"""Answers that are not Akamai's JSON, from a real HTTP server on 127.0.0.1.

Akamai's status decides: a 201 whose body is empty, an HTML page, a JSON list, a corrupt
gzip or cut short is an acceptance (logged as a warning naming the request and what was odd,
recorded in the history, and the next batches go on); a refusal with such a body is still our
exception with Akamai's status. A TLS handshake with a plain-http server fails at once with
what to do, instead of being retried. The server here is a few lines of ``http.server``: it
answers what each test scripts, in order, and records what it was sent.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from django_akamai.exceptions import (
    InvalidHostError,
    PurgeIncomplete,
    PurgeRequestFailed,
    PurgeRetriesExhausted,
)
from django_akamai.models import PurgeRecord
from django_akamai.purge import PurgeRequest

ACCEPTED = json.dumps(
    {"httpStatus": 201, "detail": "Request accepted", "estimatedSeconds": 5, "purgeId": "p1"}
).encode()
CORRUPT_GZIP = gzip.compress(b'{"httpStatus": 201}')[:12] + b"\x00not gzip any more"


class Scripted(BaseHTTPRequestHandler):
    """Answers each request with the next scripted (status, headers, body, declared length)."""

    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802  (http.server's name)
        length = int(self.headers.get("Content-Length") or 0)
        self.server.received.append((self.command, self.path, self.rfile.read(length)))
        self._answer()

    def do_GET(self):  # noqa: N802
        self.server.received.append((self.command, self.path, b""))
        self._answer()

    def _answer(self):
        script = self.server.script
        status, headers, body, declared = script.pop(0) if script else (201, {}, ACCEPTED, None)
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body) if declared is None else declared))
        if declared is not None:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        if declared is not None:
            self.close_connection = True

    def log_message(self, *args):  # keep the test output quiet
        pass


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    httpd.daemon_threads = True
    httpd.script, httpd.received = [], []
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def odd(server, settings):
    """Settings pointing Fast Purge v3 at the scripted server; an empty script and record."""
    server.script.clear()
    server.received.clear()
    host = f"http://127.0.0.1:{server.server_address[1]}"
    settings.AKAMAI_CCU_API = "v3"
    settings.AKAMAI_CCU_HOST = host
    settings.AKAMAI_CCU_CLIENT_TOKEN = "akab-client-token"
    settings.AKAMAI_CCU_CLIENT_SECRET = "c2VjcmV0LXNlY3JldA=="
    settings.AKAMAI_CCU_ACCESS_TOKEN = "akab-access-token"
    settings.AKAMAI_CCUAPI_USERNAME = "user"
    settings.AKAMAI_CCUAPI_PASSWORD = "password"
    settings.AKAMAI_CCUAPI_BASE_URL = host
    settings.AKAMAI_RETRY_BACKOFF = 0.001
    settings.AKAMAI_RETRY_BACKOFF_MAX = 0.01
    server.host = host
    return server


def answer(status, body=b"", declared=None, **headers):
    return (status, {k.replace("_", "-"): v for k, v in headers.items()}, body, declared)


URLS = [f"https://www.example.com/{i}" for i in range(6)]

ODD_ACCEPTANCES = {
    "empty": (answer(201), "an empty body"),
    "html": (
        answer(201, b"<html><body>Accepted</body></html>", Content_Type="text/html"),
        "not JSON (text/html",
    ),
    "json-list": (answer(201, b'["accepted"]'), "a JSON list instead of an object"),
    "json-string": (answer(201, b'"ok"'), "a JSON str instead of an object"),
    "corrupt-gzip": (
        answer(201, CORRUPT_GZIP, Content_Encoding="gzip"),
        "cannot be decoded (Content-Encoding: gzip)",
    ),
    "cut-short": (answer(201, b'{"httpStatus": 2', declared=400), "broke off before its end"),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ODD_ACCEPTANCES)
def test_a_201_that_is_not_akamais_json_counts_as_accepted_and_the_rest_go_on(
    odd, kind, akamai_logs
):
    first, oddity = ODD_ACCEPTANCES[kind]
    odd.script[:] = [first]  # then the default: Akamai's JSON
    pr = PurgeRequest()
    pr.add(URLS)
    results = pr.purge_all(purge_batch_size=2)
    assert pr.urls == []
    assert [json.loads(body)["objects"] for _, _, body in odd.received] == [
        URLS[0:2],
        URLS[2:4],
        URLS[4:6],
    ]
    assert len(results) == 3 and results[1]["purgeId"] == "p1"
    assert results[0]["httpStatus"] == 201 and oddity in results[0]["warning"]
    [warning] = [r for r in akamai_logs.records if r.levelno == logging.WARNING]
    text = warning.getMessage()
    assert "POST /ccu/v3/delete/url/production (2 object(s)) with HTTP 201" in text
    assert oddity in text and "counted as accepted" in text
    records = list(PurgeRecord.objects.order_by("id"))
    assert [r.status for r in records] == ["accepted"] * 3
    assert oddity in records[0].error and records[0].http_status == 201
    assert records[1].error == "" and records[1].purge_id == "p1"


ODD_REFUSALS = {
    "html-403": (answer(403, b"<html>Forbidden</html>", Content_Type="text/html"), "Forbidden"),
    "empty-400": (answer(400), ""),
    "list-403": (answer(403, b'["no"]'), "['no']"),
    "corrupt-gzip-400": (
        answer(400, CORRUPT_GZIP, Content_Encoding="gzip"),
        "cannot be decoded",
    ),
    "cut-short-413": (answer(413, b'{"title": "too', declared=300), "broke off"),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ODD_REFUSALS)
def test_a_refusal_with_a_broken_body_is_still_our_exception_with_akamais_status(odd, kind):
    refusal, detail = ODD_REFUSALS[kind]
    odd.script[:] = [refusal]
    pr = PurgeRequest()
    pr.add(URLS)
    with pytest.raises(PurgeIncomplete) as info:
        pr.purge_all(purge_batch_size=3)
    [failure] = info.value.failures
    assert type(failure) is PurgeRequestFailed
    assert failure.status == refusal[0] and detail in failure.detail
    assert f"HTTP {refusal[0]}" in str(info.value)
    assert failure.objects == URLS[:3] and pr.urls == URLS[:3]  # kept; the rest accepted
    assert len(odd.received) == 2


def test_a_transient_status_with_a_broken_body_is_retried_then_named(odd, settings):
    settings.AKAMAI_MAX_RETRIES = 2
    settings.AKAMAI_HISTORY = False
    odd.script[:] = [answer(503, CORRUPT_GZIP, Content_Encoding="gzip")] * 3
    pr = PurgeRequest()
    pr.add(URLS[:2])
    with pytest.raises(PurgeRetriesExhausted) as info:
        pr.purge_all()
    assert info.value.status == 503 and "HTTP 503" in info.value.reason
    assert info.value.objects == URLS[:2] and len(odd.received) == 3


@pytest.mark.django_db(transaction=True)
def test_ccu_v2_accepts_an_odd_201_and_refuses_an_odd_status_answer(odd, settings):
    settings.AKAMAI_CCU_API = "v2"
    odd.script[:] = [answer(201, b"<html>ok</html>", Content_Type="text/html")]
    pr = PurgeRequest()
    pr.add(URLS[:1])
    [result] = pr.purge_all()
    assert "not JSON (text/html" in result["warning"]
    odd.script[:] = [answer(200, b"[]")]
    with pytest.raises(PurgeRequestFailed, match="unexpected answer.*GET /ccu/v2/purges/x"):
        pr.check_purge_status("/ccu/v2/purges/x")


def test_tls_to_a_plain_http_server_fails_at_once_saying_what_to_do(odd, settings):
    settings.AKAMAI_CCU_HOST = odd.host.replace("http://", "https://")
    settings.AKAMAI_HISTORY = False
    pr = PurgeRequest()
    pr.add(URLS[:2])
    with pytest.raises(PurgeIncomplete) as info:
        pr.purge_all(purge_batch_size=1)
    assert [f.status for f in info.value.failures] == [None, None]  # each batch, no retries
    assert f"set the API host to http://127.0.0.1:{odd.server_address[1]}" in str(info.value)
    assert pr.transport.requests_sent == 2 and pr.transport.retries == 0
    assert info.value.__context__ is None and info.value.failures[0].__context__ is None


@pytest.mark.parametrize("host", ["localhost:8765", "127.0.0.1:8765", "[::1]:8765"])
def test_a_loopback_host_without_a_scheme_is_refused_when_loaded(settings, host):
    settings.AKAMAI_CCU_HOST = host
    settings.AKAMAI_CCU_CLIENT_TOKEN = "akab-t"
    settings.AKAMAI_CCU_CLIENT_SECRET = "c2VjcmV0"
    settings.AKAMAI_CCU_ACCESS_TOKEN = "akab-a"
    settings.AKAMAI_CCU_API = "v3"
    with pytest.raises(InvalidHostError, match=re.escape(f"write http://{host}")):
        PurgeRequest()
