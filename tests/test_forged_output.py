"""Akamai's text cannot forge output (issue 21, finding 9).

A refusal whose title, detail and supportId hold CR, LF, ESC and other control characters
must not start a new line, move the cursor or colour a terminal anywhere the app shows it: log
records, ``akamai_purge`` and ``akamai_worker --burst`` on stderr (real processes), exceptions
and the admin. One helper decides (``exceptions.shown``); ordinary text stays readable.
"""

from __future__ import annotations

import json
import re
import subprocess
from types import SimpleNamespace

import pytest

from django_akamai.admin import PurgeIntentAdmin, PurgeRecordAdmin
from django_akamai.delivery.worker import Refusal
from django_akamai.exceptions import (
    PurgeIncomplete,
    PurgeRequestFailed,
    PurgeRetriesExhausted,
    shown,
)
from django_akamai.models import PurgeIntent, PurgeRecord
from django_akamai.purge import PurgeRequest
from tests.pipeline_processes import Pipeline, SharedDatabase, migrate
from tests.test_command_terminal import ROOT, command, command_env
from tests.test_odd_answers import answer, odd, server  # noqa: F401  (fixtures)

FORGED = "CRITICAL django_akamai: the database was wiped"
# What a hostile (or broken) answer carries: a line break, then a fake log line; a terminal
# escape that erases the line; a Unicode line separator; a right-to-left override.
DETAIL = f"Forbidden.\r\n{FORGED}\n\x1b[2K\x1b[1G{FORGED}\u2028{FORGED}\u202e"
TITLE = f"Forbidden\n{FORGED}"
SUPPORT_ID = f"17\r{FORGED}"
URL = "https://www.example.com/forged/"


def refusal_body() -> bytes:
    return json.dumps(
        {"type": "about:blank", "title": TITLE, "detail": DETAIL, "supportId": SUPPORT_ID}
    ).encode()


def forged_lines(text: str) -> list[str]:
    """Lines of ``text`` that begin with the forged text (after any terminal escapes)."""
    return [
        line
        for line in re.split(r"[\r\n\u2028\u2029\x0b\x0c\x1c-\x1e\x85]", text)
        if re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", line).startswith("CRITICAL")
    ]


def assert_clean(text: str) -> None:
    assert not forged_lines(text), text
    assert "\x1b" not in text and "\u2028" not in text and "\u202e" not in text


# --- the one helper ----------------------------------------------------------------------


def test_shown_escapes_control_characters_and_keeps_text_readable():
    assert shown("Invalid URL: https://www.exämple.com/ (see docs)") == (
        "Invalid URL: https://www.exämple.com/ (see docs)"
    )
    assert shown("a\r\nb\tc\x1b[2Kd\x00e\u2028f\u202eg\u200bh") == (
        "a\\r\\nb\\tc\\x1b[2Kd\\x00e\\u2028f\\u202eg\\u200bh"
    )
    # The backslash too, so an escape shown cannot be confused with one Akamai wrote.
    assert shown("C:\\n") == "C:\\\\n"
    assert shown(None) == "None" and shown(17) == "17"


def test_exceptions_and_refusals_show_akamais_text_escaped():
    failed = PurgeRequestFailed(403, [URL], TITLE, DETAIL, SUPPORT_ID, api="v3")
    exhausted = PurgeRetriesExhausted(f"HTTP 503 {TITLE}", [URL])
    texts = [
        str(failed),
        str(exhausted),
        str(PurgeIncomplete([failed, exhausted])),
        str(Refusal(URL, "url", 403, TITLE, DETAIL, SUPPORT_ID)),
    ]
    for text in texts:
        assert_clean(text)
        assert "\n" not in text.replace("\n  - ", "")  # PurgeIncomplete's own list only
    assert "detail: Forbidden.\\r\\nCRITICAL" in str(failed)
    assert f"supportId: 17\\r{FORGED}" in str(failed)
    # The attributes keep Akamai's text as it came, for code that reads them.
    assert failed.detail == DETAIL


# --- in-process: the log records ---------------------------------------------------------


def test_a_refusal_forges_no_log_record(odd, akamai_logs, settings):  # noqa: F811
    settings.AKAMAI_HISTORY = False
    odd.script.append(answer(403, refusal_body()))
    pr = PurgeRequest(urls=[URL])
    with pytest.raises(PurgeIncomplete) as caught:
        pr.purge_all()
    assert_clean(str(caught.value))
    records = [r for r in akamai_logs.records if r.name.startswith("django_akamai")]
    assert records  # the refusal is logged...
    for record in records:
        message = record.getMessage()
        assert "\n" not in message and "\r" not in message  # ... on one line each
        assert_clean(message)


@pytest.mark.django_db
def test_the_admin_shows_akamais_text_escaped():
    intent = PurgeIntent(error_title=TITLE, error_detail=DETAIL, support_id=SUPPORT_ID)
    record = PurgeRecord(error=DETAIL, support_id=SUPPORT_ID)
    intents = PurgeIntentAdmin(PurgeIntent, None)
    records = PurgeRecordAdmin(PurgeRecord, None)
    shown_texts = [
        intents.shown_error_title(intent),
        intents.shown_error_detail(intent),
        intents.shown_support_id(intent),
        records.shown_error(record),
        records.shown_support_id(record),
    ]
    for text in shown_texts:
        assert_clean(text)
        assert "\n" not in text and "\r" not in text
    assert "shown_error_detail" in intents.fields and "error_detail" not in intents.fields


# --- real processes: stderr of the commands ----------------------------------------------


def scripted_akamai(server) -> SimpleNamespace:  # noqa: F811
    """The scripted server in the shape the process helpers expect of an emulator."""
    host, port = server.server_address[:2]
    base_url = f"http://{host}:{port}"
    credentials = SimpleNamespace(
        host=base_url,
        client_token="akab-client-token",
        client_secret="c2VjcmV0LXNlY3JldA==",
        access_token="akab-access-token",
    )
    return SimpleNamespace(base_url=base_url, credentials=credentials)


def test_akamai_purge_prints_no_forged_line(server):  # noqa: F811
    server.script[:] = [answer(403, refusal_body()) for _ in range(3)]
    try:
        done = subprocess.run(
            command(URL),
            cwd=ROOT,
            env=command_env(scripted_akamai(server)),
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        server.script.clear()
    assert done.returncode == 1, done.stderr
    assert "HTTP 403" in done.stderr and "Forbidden.\\r\\nCRITICAL" in done.stderr
    assert_clean(done.stdout + done.stderr)


def test_akamai_worker_burst_prints_no_forged_line(server, tmp_path):  # noqa: F811
    fake = scripted_akamai(server)
    db = SharedDatabase("sqlite", tmp_path)
    migrate(db.settings, fake)
    pipeline = Pipeline(db, fake, tmp_path)
    try:
        assert pipeline.site("urls", URL) == [URL]
        server.script[:] = [answer(403, refusal_body()) for _ in range(3)]
        done = pipeline.burst()
    finally:
        pipeline.close()
        server.script.clear()
    assert done.returncode == 1, done.stderr
    assert "Refused: " in done.stderr and "Forbidden.\\r\\nCRITICAL" in done.stderr
    assert_clean(done.stdout + done.stderr)
    assert pipeline.intents()["failed"] == 1
