"""``manage.py akamai_purge`` end to end against the emulator, in-process (call_command)."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from django_akamai.models import PurgeRecord

pytestmark = pytest.mark.django_db


def run(*args, stdin=None):
    """Run the command; return (exit status, stdout, stderr) as manage.py would."""
    out, err = io.StringIO(), io.StringIO()
    kwargs = {"stdout": out, "stderr": err}
    if stdin is not None:
        kwargs["stdin"] = io.StringIO(stdin)
    try:
        call_command("akamai_purge", *args, **kwargs)
        code = 0
    except CommandError as exc:
        err.write(f"CommandError: {exc}\n")
        code = exc.returncode
    return code, out.getvalue(), err.getvalue()


def bodies(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


# --- where the objects come from ------------------------------------------------------------


def test_urls_as_arguments(akamai_emulator):
    emu = akamai_emulator
    code, out, err = run("/news/", "https://www.example.com/sport/")
    assert code == 0, err
    assert emu.accepted_objects() == [
        "https://www.example.com/news/",
        "https://www.example.com/sport/",
    ]
    [purge] = emu.purges
    assert (purge.action, purge.type, purge.network) == ("delete", "url", "production")
    assert "Akamai accepted 2 URL(s) in 1 request(s) (delete, production)." in out
    assert f"purgeId: {purge.purge_id}" in out
    assert f"Estimated seconds: {purge.estimated_seconds:g}" in out


def test_file_with_comments_blank_lines_action_and_network(akamai_emulator, tmp_path):
    emu = akamai_emulator
    listing = tmp_path / "urls.txt"
    listing.write_text("# what changed today\n/a\n\n   /b  \nhttps://www.example.com/c?x=1\n")
    code, out, err = run("--file", str(listing), "--action", "invalidate", "--network", "staging")
    assert code == 0, err
    [purge] = emu.purges
    assert (purge.action, purge.network) == ("invalidate", "staging")
    assert list(purge.objects) == [
        "https://www.example.com/a",
        "https://www.example.com/b",
        "https://www.example.com/c?x=1",
    ]


def test_stdin_with_a_dash_argument(akamai_emulator):
    code, out, err = run("-", stdin="/one\n/two\n")
    assert code == 0, err
    assert akamai_emulator.accepted_objects() == [
        "https://www.example.com/one",
        "https://www.example.com/two",
    ]


def test_stdin_with_file_dash_read_once(akamai_emulator):
    code, out, err = run("--file", "-", "-", stdin="/only-once\n")
    assert code == 0, err
    assert akamai_emulator.accepted_objects() == ["https://www.example.com/only-once"]
    assert akamai_emulator.counters["requests"] == 1


def test_tags_and_cpcodes_go_in_their_own_requests(akamai_emulator):
    emu = akamai_emulator
    code, out, err = run(
        "--tag", "news", "--tag", "sport", "--tag", "weather", "--cpcode", "12345", "/page"
    )
    assert code == 0, err
    by_type = {p.type: list(p.objects) for p in emu.purges}
    assert by_type == {
        "url": ["https://www.example.com/page"],
        "tag": ["news", "sport", "weather"],
        "cpcode": [12345],
    }
    assert "Akamai accepted 3 cache tag(s) in 1 request(s)" in out
    assert "Akamai accepted 1 CP code(s) in 1 request(s)" in out


def test_type_tag_reads_tags_from_a_file(akamai_emulator, tmp_path):
    listing = tmp_path / "tags.txt"
    listing.write_text("product-1 product-2\nproduct-3\n")
    code, out, err = run("--type", "tag", "--file", str(listing))
    assert code == 0, err
    [purge] = akamai_emulator.purges
    assert purge.type == "tag"
    assert list(purge.objects) == ["product-1", "product-2", "product-3"]


def test_history_records_the_command_as_actor(akamai_emulator):
    code, out, err = run("/history")
    assert code == 0, err
    [record] = PurgeRecord.objects.all()
    assert record.actor.startswith("command")
    assert record.objects_text == "https://www.example.com/history"
    assert record.purge_id == akamai_emulator.purges[0].purge_id


# --- dry run -------------------------------------------------------------------------------


def test_dry_run_prints_the_bodies_and_sends_nothing(akamai_emulator):
    emu = akamai_emulator
    urls = [f"https://www.example.com/{i}/" + "x" * 150 for i in range(1000)]
    code, out, err = run("--dry-run", *urls)
    assert code == 0, err
    assert emu.counters["requests"] == 0
    sent = bodies(out)
    assert len(sent) > 1
    assert [obj for body in sent for obj in body["objects"]] == urls
    body_lines = [line for line in out.splitlines() if line.startswith("{")]
    assert all(len(line.encode()) <= 50_000 for line in body_lines)
    assert f"Dry run: {len(sent)} request(s) for 1000 object(s) would be sent" in out
    assert out.count(f"POST {emu.base_url}/ccu/v3/delete/url/production") == len(sent)

    # The plan is what a real run sends.
    code, out, err = run(*urls)
    assert code == 0, err
    assert emu.counters["requests"] == len(sent)
    assert [list(p.objects) for p in emu.purges] == [body["objects"] for body in sent]


def test_dry_run_without_credentials_plans_for_fast_purge(settings):
    settings.AKAMAI_CCU_HOST = None
    code, out, err = run("--dry-run", "/x")
    assert code == 0, err
    assert "No credentials configured" in err
    assert bodies(out) == [{"objects": ["https://www.example.com/x"]}]


# --- output ---------------------------------------------------------------------------------


def test_plain_progress_lines_when_not_a_terminal(akamai_emulator):
    urls = [f"https://www.example.com/{i}/" + "y" * 200 for i in range(600)]
    code, out, err = run(*urls)
    assert code == 0, err
    requests = akamai_emulator.counters["requests"]
    assert requests > 1
    lines = [line for line in out.splitlines() if line.startswith("Request ")]
    assert len(lines) == requests
    assert lines[-1].startswith(f"Request {requests}: accepted")
    assert "[600/600]" in lines[-1]
    assert "\r" not in out + err  # no bar redraws in a log file


def test_quiet_has_no_progress_but_a_summary(akamai_emulator):
    code, out, err = run("--quiet", "/q")
    assert code == 0, err
    assert "Request 1" not in out
    assert "Akamai accepted 1 URL(s)" in out


def test_verbosity_zero_prints_nothing_on_success(akamai_emulator):
    code, out, err = run("-v", "0", "/silent")
    assert code == 0, err
    assert out == "" and err == ""
    assert akamai_emulator.accepted_objects() == ["https://www.example.com/silent"]


# --- exit codes -----------------------------------------------------------------------------


def test_refused_objects_exit_1_with_akamai_reason(akamai_emulator):
    emu = akamai_emulator
    emu.configure(allowed_hosts=["www.example.com"])
    code, out, err = run("https://other.example.org/secret-page", "--tag", "fine")
    assert code == 1
    assert [p.type for p in emu.purges] == ["tag"]  # the tag request still went through
    assert "Akamai accepted 1 cache tag(s)" in out
    assert "1 URL(s) refused, HTTP 403" in err
    assert "https://other.example.org/secret-page" in err.split("Not purged (URLs):")[1]
    assert "supportId" in err
    assert "CommandError: 1 object(s) not purged." in err
    creds = emu.credentials
    for secret in (creds.client_secret, creds.access_token):
        assert secret not in out + err


def test_bad_line_in_a_file_names_the_line_and_sends_nothing(akamai_emulator, tmp_path):
    listing = tmp_path / "urls.txt"
    listing.write_text("/fine\n/also-fine\nhttps://www.exa mple.com/broken\nftp://x/y\n")
    code, out, err = run("--file", str(listing))
    assert code == 2
    assert f"{listing}, line 3:" in err
    assert f"{listing}, line 4:" in err
    assert "only http and https" in err
    assert akamai_emulator.counters["requests"] == 0


def test_bad_argument_and_tag_are_named(akamai_emulator):
    code, out, err = run("/ok", "not a url", "--tag", "bad tag*")
    assert code == 2
    assert "argument 2:" in err
    assert "--tag value 1:" in err
    assert akamai_emulator.counters["requests"] == 0


def test_non_utf8_line_is_named(akamai_emulator, tmp_path):
    listing = tmp_path / "latin1.txt"
    listing.write_bytes(b"/ok\n/caf\xe9\n")
    code, out, err = run("--file", str(listing))
    assert code == 2
    assert f"{listing}, line 2: not UTF-8 text." in err


def test_nothing_to_purge_is_exit_2(akamai_emulator):
    code, out, err = run()
    assert code == 2
    assert "Nothing to purge" in err


def test_missing_file_is_exit_2(akamai_emulator, tmp_path):
    code, out, err = run("--file", str(tmp_path / "nope.txt"))
    assert code == 2
    assert "Cannot read" in err and "nope.txt" in err


def test_no_credentials_is_exit_2(settings):
    settings.AKAMAI_CCU_HOST = None
    code, out, err = run("/x")
    assert code == 2
    assert "No Akamai credentials found" in err


def test_tags_on_ccu_v2_are_refused_before_sending(akamai_emulator_v2):
    code, out, err = run("--tag", "news")
    assert code == 2
    assert "CCU v2 cannot purge cache tags" in err
    assert akamai_emulator_v2.counters["requests"] == 0


def test_ccu_v2_purge_and_dry_run(akamai_emulator_v2):
    emu = akamai_emulator_v2
    code, out, err = run("--dry-run", "/v2")
    assert code == 0, err
    assert bodies(out) == [
        {
            "objects": ["https://www.example.com/v2"],
            "action": "remove",
            "type": "arl",
            "domain": "production",
        }
    ]
    assert f"POST {emu.base_url}/ccu/v2/queues/default" in out
    code, out, err = run("/v2")
    assert code == 0, err
    assert [p.api for p in emu.purges] == ["v2"]


# --- --queue --------------------------------------------------------------------------------


@pytest.fixture
def eager_celery():
    """Celery running tasks in-process (the broker path is tested with the tasks)."""
    celery = pytest.importorskip("celery")
    app = celery.current_app._get_current_object()
    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


def test_queue_sends_through_the_celery_task(akamai_emulator, eager_celery):
    urls = [f"https://www.example.com/{i}/" + "q" * 200 for i in range(500)]
    code, out, err = run("--queue", "--action", "invalidate", *urls, "--tag", "queued")
    assert code == 0, err
    url_purges = [p for p in akamai_emulator.purges if p.type == "url"]
    assert len(url_purges) > 1  # one task per Akamai request
    assert [obj for p in url_purges for obj in p.objects] == urls
    assert {p.action for p in akamai_emulator.purges} == {"invalidate"}
    assert f"Queued 500 URL(s) in {len(url_purges)} task(s):" in out
    assert "Queued 1 cache tag(s) in 1 task(s):" in out
    [actor] = {r.actor for r in PurgeRecord.objects.all()}
    assert actor.startswith("command")


def test_akamai_unreachable_lists_refused_and_unsent(akamai_emulator, settings):
    settings.AKAMAI_MAX_RETRIES = 1
    akamai_emulator.configure(fail_rate=1.0)  # every request answers 5xx
    urls = [f"https://www.example.com/{i}/" + "u" * 200 for i in range(600)]
    code, out, err = run(*urls)
    assert code == 1
    assert akamai_emulator.accepted_objects() == []
    listed = err.split("Not purged (URLs):")[1].split("CommandError")[0].split()
    assert listed == urls  # nothing lost: the refused batch, then what was never sent
    assert "not sent: an earlier request could not get through" in err
    assert "CommandError: 600 object(s) not purged." in err


def test_queue_without_celery_is_exit_2(akamai_emulator, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "django_akamai.tasks", None)  # as if Celery were missing
    code, out, err = run("--queue", "/x")
    assert code == 2
    assert "--queue needs Celery" in err
    assert akamai_emulator.counters["requests"] == 0
