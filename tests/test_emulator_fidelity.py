"""The fidelity table: each behaviour AKAMAI_API.md §1/§4 documents, seen by four clients.

Clients: edgegrid-python's ``EdgeGridAuth`` on a ``requests`` session written here (it can
sign any request, also with a shifted timestamp or a re-sent nonce), python-fastpurge (PyPI
``fastpurge``; only what its API can send), Akamai's Node signer (npm ``akamai-edgegrid``,
installed by the ``node_edgegrid`` fixture; skipped where node or the npm registry is
missing) and django-akamai's own ``PurgeRequest``. A row a client cannot express (a raw
body, a replay) is not generated for it and shows as "n/a" in the table.

Every run writes the observed table to ``test-artifacts/fidelity-table.md``.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from akamai.edgegrid import EdgeGridAuth
from akamai.edgegrid import edgegrid as edgegrid_module

from django_akamai.emulator.problems import DESCRIBED_BY

ROOT = Path(__file__).resolve().parent.parent
NODE_CLIENT = Path(__file__).with_name("edgegrid_node_client.js")
URL_PATH = "/ccu/v3/invalidate/url/production"
API_PROBLEM = "application/api-problem+json"
GATEWAY_PROBLEM = "application/problem+json"
FROZEN = 1e-9  # a time_scale at which no bucket refills while a test runs


def describe(status: int, title: str | None, detail: str | None) -> str:
    words = [w for w in (title, detail) if w]
    return f"{status} " + ": ".join(words) if words else str(status)


@dataclass(frozen=True)
class Expect:
    status: int
    title: str | None = None  # the body's title (refusals)
    detail: str | None = None  # the body's detail

    def __str__(self) -> str:
        return describe(self.status, self.title, self.detail)


@dataclass(frozen=True)
class Case:
    id: str
    what: str
    expect: tuple[Expect, ...]  # one per send (a replay sends twice)
    objects: tuple[Any, ...] | None = ("https://www.example.com/fidelity",)
    raw_body: str | None = None  # sent instead of {"objects": ...}
    hostname: str | None = None
    path: str = URL_PATH
    timestamp_offset: float = 0.0
    client_token: str | None = None
    client_secret: str | None = None
    repeat: int = 1
    knobs: dict[str, Any] = field(default_factory=dict)
    drain: tuple[str, int] | None = None  # (object type, tokens) taken before the request
    ours: tuple[Expect, ...] | None = None  # django-akamai's outcome, where it differs

    @property
    def body(self) -> str:
        if self.raw_body is not None:
            return self.raw_body
        document: dict[str, Any] = {"objects": list(self.objects or ())}
        if self.hostname:
            document = {"hostname": self.hostname, **document}
        return json.dumps(document)


ACCEPTED = Expect(201, detail="Request accepted")
BAD_URL = Expect(400, "bad URL")
BAD_HOST = Expect(400, "bad URL hostname")
BAD_TIMESTAMP = Expect(400, "Bad request", "Invalid timestamp")
NO_MATCH = Expect(401, "Not authorized", "The signature does not match")
ARL = "/L/512/6848/1h/www.example1.com/index.html"

CASES = [
    Case("url", "a URL purge", (ACCEPTED,)),
    Case(
        "no-network",
        "network left out of the path (production)",
        (ACCEPTED,),
        path="/ccu/v3/invalidate/url",
    ),
    Case(
        "hostname-paths",
        "hostname + paths form",
        (ACCEPTED,),
        objects=("/a", "/b?x=1"),
        hostname="www.example.com",
    ),
    Case("arl", "an ARL alone", (ACCEPTED,), objects=(ARL,)),
    Case(
        "arl-mixed",
        "an ARL mixed with a URL",
        (ACCEPTED,),
        objects=(ARL, "https://www.example.com/a"),
    ),
    Case(
        "non-ascii",
        "a URL with a non-ASCII character",
        (BAD_URL,),
        objects=("https://www.example.com/caf\u00e9",),
        ours=(ACCEPTED,),  # django-akamai percent-encodes before sending
    ),
    Case(
        "bad-hostname",
        "a URL with a bad hostname",
        (BAD_HOST,),
        objects=("https://exa_mple.com/a",),
    ),
    Case(
        "one-bad-object",
        "one bad object among 20 good ones",
        (BAD_URL,),
        objects=tuple(f"https://www.example.com/{i}" for i in range(20))
        + ("https://x.example.com/\u00e9",),
        ours=(ACCEPTED,),
    ),
    Case(
        "deep-json",
        "JSON nested 20,000 deep",
        (Expect(400, "malformed JSON"),),
        raw_body='{"objects": ' + "[" * 20_000 + "]" * 20_000 + "}",
    ),
    Case(
        "timestamp-20s-old",
        "signed 20 s ago (inside the window)",
        (ACCEPTED,),
        timestamp_offset=-20,
    ),
    Case("timestamp-60s-old", "signed 60 s ago", (BAD_TIMESTAMP,), timestamp_offset=-60),
    Case("timestamp-60s-ahead", "signed 60 s in the future", (BAD_TIMESTAMP,), timestamp_offset=60),
    Case(
        "wrong-secret",
        "signed with a wrong client secret",
        (NO_MATCH,),
        client_secret="A" * 43 + "=",
    ),
    Case(
        "unknown-client-token",
        "an unknown client token",
        (Expect(400, "Bad request", "Invalid client token"),),
        client_token="akab-unknown-client-token-0000",
    ),
    Case("replay", "the same signed request sent twice", (ACCEPTED, ACCEPTED), repeat=2),
    Case(
        "replay-strict",
        "the same, strict mode (not confirmed for Akamai)",
        (ACCEPTED, Expect(401, "Not authorized")),
        repeat=2,
        knobs={"refuse_replayed_nonces": True},
    ),
    Case(
        "429-url",
        "URL bucket short",
        (Expect(429, "URL Rate Limit exceeded", ""),),
        knobs={"time_scale": FROZEN},
        drain=("url", 10_000),
    ),
    Case(
        "429-tag",
        "tag bucket short",
        (Expect(429, "TAG Rate Limit exceeded", ""),),
        objects=("t1",),
        path="/ccu/v3/invalidate/tag/production",
        knobs={"time_scale": FROZEN},
        drain=("tag", 5_000),
    ),
    Case(
        "429-cpcode",
        "CP code bucket short",
        (Expect(429, "CPCODE Rate Limit exceeded", ""),),
        objects=(1234,),
        path="/ccu/v3/invalidate/cpcode/production",
        knobs={"time_scale": FROZEN},
        drain=("cpcode", 300),
    ),
    Case(
        "rate-limit-status",
        "POST /ccu/v3/rate-limit-status/url",
        (Expect(201),),
        raw_body="{}",
        path="/ccu/v3/rate-limit-status/url",
    ),
    Case(
        "body-over-131072",
        "a 140,000-byte body (signature over its first 131,072 bytes)",
        (Expect(413),),
        raw_body=json.dumps({"objects": ["https://www.example.com/" + "a" * 140_000]}),
    ),
]


# --- the clients ----------------------------------------------------------------------------


@dataclass
class Seen:
    status: int
    title: str | None
    detail: str | None
    content_type: str = ""
    body: Any = None


def seen_from_http(status: int, content_type: str, text: str) -> Seen:
    try:
        body = json.loads(text)
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    return Seen(status, body.get("title"), body.get("detail"), content_type, body)


def shifted_timestamp(offset: float) -> str:
    return time.strftime("%Y%m%dT%H:%M:%S+0000", time.gmtime(time.time() + offset))


def credentials(emu, case: Case) -> dict[str, str]:
    c = emu.credentials
    return {
        "client_token": case.client_token or c.client_token,
        "client_secret": case.client_secret or c.client_secret,
        "access_token": c.access_token,
    }


def run_edgegrid_python(emu, case: Case, monkeypatch) -> list[Seen]:
    creds = credentials(emu, case)
    auth = EdgeGridAuth(**creds)
    prepared = requests.Request(
        "POST",
        emu.base_url + case.path,
        data=case.body.encode(),
        headers={"Content-Type": "application/json"},
    ).prepare()
    prepared.headers["Authorization"] = auth.ah.make_auth_header(
        prepared, shifted_timestamp(case.timestamp_offset), edgegrid_module.new_nonce()
    )
    out = []
    with requests.Session() as session:
        for _ in range(case.repeat):
            response = session.send(prepared, timeout=30)
            out.append(
                seen_from_http(
                    response.status_code, response.headers.get("Content-Type", ""), response.text
                )
            )
    return out


def _purge_call(case: Case) -> tuple[str, str, str]:
    _, _, _, action, object_type, *network = case.path.split("/")
    return action, object_type, (network[0] if network else "")


def fastpurge_supports(case: Case) -> str | None:
    if case.raw_body is not None or case.hostname or case.repeat > 1:
        return "its API sends only {objects} bodies, signed afresh"
    if not case.path.startswith("/ccu/v3/invalidate/") or not _purge_call(case)[2]:
        return "it always names the network"
    return None


def run_fastpurge(emu, case: Case, monkeypatch) -> list[Seen]:
    fastpurge = pytest.importorskip("fastpurge")
    if case.timestamp_offset:
        monkeypatch.setattr(
            edgegrid_module, "eg_timestamp", lambda: shifted_timestamp(case.timestamp_offset)
        )

    class OneTry(fastpurge.FastPurgeClient):
        MAX_RETRIES = 0  # report the first answer instead of retrying it

    action, object_type, network = _purge_call(case)
    client = OneTry(
        auth={"host": "127.0.0.1", **credentials(emu, case)}, scheme="http", port=emu.port
    )
    with client:
        future = client.purge_objects(
            object_type, list(case.objects or ()), purge_type=action, network=network
        )
        try:
            [answer] = future.result(timeout=60)
        except fastpurge.FastPurgeError:
            # fastpurge keeps only "too many N error responses": the emulator says what it was.
            refusal = emu.refusals[-1]
            return [Seen(refusal["status"], refusal["title"], refusal["detail"])]
    return [Seen(answer["httpStatus"], answer.get("title"), answer.get("detail"))]


def run_node(emu, case: Case, monkeypatch, modules: Path) -> list[Seen]:
    spec = {
        "host": emu.base_url.removeprefix("http://"),
        **credentials(emu, case),
        "path": case.path,
        "body": case.body,
        "timestamp_offset": case.timestamp_offset,
        "repeat": case.repeat,
    }
    done = subprocess.run(
        ["node", str(NODE_CLIENT), str(modules)],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [
        seen_from_http(r["status"], r["headers"].get("content-type", ""), r["body"])
        for r in json.loads(done.stdout)
    ]


def ours_supports(case: Case) -> str | None:
    if case.raw_body is not None or case.hostname or case.repeat > 1:
        return "it builds and signs its own bodies"
    if any(isinstance(o, str) and o.startswith("/L/") for o in case.objects or ()):
        return "it takes site URLs, not ARLs"
    if not _purge_call(case)[2]:
        return "it always names the network"
    return None


def run_ours(emu, case: Case, monkeypatch, settings) -> list[Seen]:
    from django_akamai.exceptions import AkamaiError, PurgeRequestFailed, PurgeRetriesExhausted
    from django_akamai.purge import PurgeRequest

    if case.drain:
        # It waits out a 429 for tokens; with the buckets frozen it gives up at the deadline.
        settings.AKAMAI_RETRY_DEADLINE = 0.5
    if case.timestamp_offset:
        monkeypatch.setattr(
            edgegrid_module, "eg_timestamp", lambda: shifted_timestamp(case.timestamp_offset)
        )
    action, object_type, network = _purge_call(case)
    try:
        request = PurgeRequest(
            host=emu.base_url,
            **credentials(emu, case),
            api="v3",
            options={"action": action, "type": object_type, "network": network},
        )
        request.add(list(case.objects or ()))
    except AkamaiError:
        return [Seen(0, "refused before sending", None)]
    try:
        answer = request.purge()
    except PurgeRetriesExhausted as exhausted:  # a kind of PurgeRequestFailed: first
        refusal = emu.refusals[-1]
        return [Seen(exhausted.status or 0, refusal["title"], refusal["detail"])]
    except PurgeRequestFailed as failed:
        return [Seen(failed.status, failed.title, failed.detail)]
    return [Seen(answer["httpStatus"], answer.get("title"), answer.get("detail"))]


CLIENTS = ("edgegrid-python", "python-fastpurge", "node akamai-edgegrid", "django-akamai")
SUPPORTS = {
    "edgegrid-python": lambda case: None,
    "python-fastpurge": fastpurge_supports,
    "node akamai-edgegrid": lambda case: None,
    "django-akamai": ours_supports,
}


# --- node and npm ---------------------------------------------------------------------------


def _require_tools() -> bool:
    return os.environ.get("AKAMAI_TEST_REQUIRE_BROKER") == "1"


@pytest.fixture(scope="session")
def node_edgegrid() -> Path:
    """node_modules holding npm's ``akamai-edgegrid``, installed once into ``.cache/``.

    Skipped when node or npm is not installed (they are not dependencies of this project).
    When node is installed but npm cannot install the package (registry unreachable), the
    test is skipped too, except under AKAMAI_TEST_REQUIRE_BROKER=1 (CI), where that is a
    failure: CI has node and network, so a failed install there is a real problem.
    """
    import fcntl
    import shutil

    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm not installed: Akamai's Node signer is not exercised")
    prefix = Path(os.environ.get("AKAMAI_TEST_NODE_CACHE", ROOT / ".cache" / "node-edgegrid"))
    modules = prefix / "node_modules"
    prefix.mkdir(parents=True, exist_ok=True)
    # Several test runs may start at once: one installs, the others wait for it.
    with open(prefix / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (modules / "akamai-edgegrid" / "package.json").exists():
            done = subprocess.run(
                [
                    "npm",
                    "install",
                    "--prefix",
                    str(prefix),
                    "--no-audit",
                    "--no-fund",
                    "akamai-edgegrid@^4",
                ],
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            if done.returncode != 0:
                message = f"npm install akamai-edgegrid failed: {done.stderr.strip()[-500:]}"
                if _require_tools():
                    pytest.fail(message)
                pytest.skip(message)
    return modules


# --- the table ------------------------------------------------------------------------------

OBSERVED: dict[tuple[str, str], str] = {}


@pytest.fixture(scope="module", autouse=True)
def write_table():
    yield
    lines = [
        "| case | expected (Akamai) | " + " | ".join(CLIENTS) + " |",
        "| --- | --- | " + " | ".join("---" for _ in CLIENTS) + " |",
    ]
    for case in CASES:
        expected = " then ".join(str(e) for e in case.expect)
        cells = []
        for client in CLIENTS:
            reason = SUPPORTS[client](case)
            cells.append(
                OBSERVED.get((case.id, client), f"n/a ({reason})" if reason else "not run")
            )
        lines.append(f"| {case.id}: {case.what} | {expected} | " + " | ".join(cells) + " |")
    out = ROOT / "test-artifacts"
    out.mkdir(exist_ok=True)
    (out / "fidelity-table.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def params():
    for case in CASES:
        for client in CLIENTS:
            if SUPPORTS[client](case) is None:
                yield pytest.param(case, client, id=f"{case.id}-{client.split()[0]}")


def drain(emu, object_type: str, tokens: int) -> None:
    """Take ``tokens`` object tokens with signed requests (the buckets are frozen)."""
    c = emu.credentials
    make = {
        "url": lambda i: f"https://www.example.com/drain/{i}",
        "tag": "d{}".format,
        "cpcode": lambda i: i + 1,
    }[object_type]
    with requests.Session() as session:
        session.auth = EdgeGridAuth(c.client_token, c.client_secret, c.access_token)
        start = 0
        while start < tokens:
            count = min(tokens - start, 1_000)
            response = session.post(
                emu.base_url + f"/ccu/v3/invalidate/{object_type}/production",
                json={"objects": [make(start + i) for i in range(count)]},
                timeout=30,
            )
            assert response.status_code == 201, response.text
            start += count


@pytest.mark.parametrize("case, client", list(params()))
def test_fidelity(emu, case, client, monkeypatch, request):
    if client == "python-fastpurge" and "time_scale" not in case.knobs:
        # fastpurge resolves a purge once its estimatedSeconds have passed: 1 s, not 5.
        emu.configure(time_scale=5)
    if case.knobs:
        emu.configure(**case.knobs)
    if case.drain:
        drain(emu, *case.drain)
    purges_before = len(emu.purges)
    if client == "edgegrid-python":
        seen = run_edgegrid_python(emu, case, monkeypatch)
    elif client == "python-fastpurge":
        seen = run_fastpurge(emu, case, monkeypatch)
    elif client == "node akamai-edgegrid":
        seen = run_node(emu, case, monkeypatch, request.getfixturevalue("node_edgegrid"))
    else:
        seen = run_ours(emu, case, monkeypatch, request.getfixturevalue("settings"))
    OBSERVED[(case.id, client)] = " then ".join(describe(s.status, s.title, s.detail) for s in seen)
    expected = case.ours if client == "django-akamai" and case.ours else case.expect
    assert [s.status for s in seen] == [e.status for e in expected]
    for got, want in zip(seen, expected, strict=True):
        if want.title is not None:
            assert got.title == want.title
        if want.detail is not None:
            assert got.detail == want.detail
        if got.content_type:  # raw HTTP clients see the media type
            if got.status in (400, 401) and got.body.get("type", "").endswith(
                ("/pep-authn/request-error", "/pep-authn/deny")
            ):
                assert got.content_type == GATEWAY_PROBLEM
                assert "httpStatus" not in got.body and got.body["status"] == got.status
            elif got.status >= 400:
                assert got.content_type == API_PROBLEM
                assert got.body["describedBy"] == DESCRIBED_BY
    accepted = sum(1 for s in seen if s.status == 201) if "rate-limit-status" not in case.id else 0
    # One bad object refuses the whole request: only accepted requests are recorded.
    assert len(emu.purges) - purges_before == accepted
