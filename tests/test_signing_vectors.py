"""Akamai's EdgeGrid test vectors reproduced by the signing path PurgeRequest uses.

The vectors are Akamai's (Apache 2.0); see tests/data/conformance/README.md.
"""

import json
from pathlib import Path

import pytest
import requests

from django_akamai.conf import EdgeGridCredentials
from django_akamai.transport import FastPurgeTransport

DATA = Path(__file__).parent / "data" / "conformance"
TESTDATA = json.loads((DATA / "edgegrid-testdata.json").read_text())
CASES = json.loads((DATA / "edgegrid-testcases.json").read_text())


def transport():
    return FastPurgeTransport(
        EdgeGridCredentials(
            host=TESTDATA["base_url"].rstrip("/"),
            client_token=TESTDATA["client_token"],
            client_secret=TESTDATA["client_secret"],
            access_token=TESTDATA["access_token"],
            max_body=TESTDATA["max_body"],
            headers_to_sign=tuple(TESTDATA["headers_to_sign"]),
        )
    )


def prepared(case):
    request = case["request"]
    headers = {}
    for header in request.get("headers", []):
        headers.update(header)
    return requests.Request(
        request["method"],
        TESTDATA["base_url"].rstrip("/") + request["path"],
        headers=headers,
        data=request.get("data"),
    ).prepare()


@pytest.mark.parametrize(
    "case", [c for c in CASES if "failsWithMessage" not in c], ids=lambda c: c["testName"]
)
def test_vector_reproduced(case):
    auth = transport().session.auth
    header = auth.ah.make_auth_header(prepared(case), TESTDATA["timestamp"], TESTDATA["nonce"])
    assert header == case["expectedAuthorization"]


def test_every_vector_is_exercised():
    assert len(CASES) == 15
