"""The commands exit with 2 on a configuration problem, as documented (issue 21, finding 10).

Django exits with 1 on failed system checks (``SystemCheckError``), which a cron job or a
supervisor takes for "try again later". ``akamai_worker``, ``akamai_purge`` and
``akamai_prune_history`` exit with 2 instead, naming the setting: when a system check fails,
and when a setting is found bad while running (``--skip-checks``). Real processes, on a
migrated SQLite file, against the emulator.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.pipeline_processes import ROOT, Pipeline, SharedDatabase, base_env, manage, migrate

EXIT_BAD_CONFIGURATION = 2


@pytest.fixture
def pipeline(akamai_emulator, tmp_path):
    db = SharedDatabase("sqlite", tmp_path)
    migrate(db.settings, akamai_emulator)
    pipe = Pipeline(db, akamai_emulator, tmp_path)
    yield pipe
    pipe.close()


def run(pipeline, *args, **overrides):
    env = {
        **base_env(pipeline.db.settings, pipeline.emu),
        "DJANGO_SETTINGS_MODULE": "tests.exit_settings",
        "AKAMAI_TEST_OVERRIDES": json.dumps(overrides),
    }
    return subprocess.run(
        manage(*args), cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def assert_configuration_problem(done, *named):
    assert done.returncode == EXIT_BAD_CONFIGURATION, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    for text in named:
        assert text in done.stderr, done.stderr


# --- a system check fails: 2, not Django's 1 ---------------------------------------------


@pytest.mark.parametrize(
    "args",
    [("akamai_worker", "--burst"), ("akamai_worker",), ("akamai_worker", "--status")],
    ids=["burst", "until-stopped", "status"],
)
def test_worker_exits_2_when_a_check_fails(pipeline, args):
    done = run(pipeline, *args, AKAMAI_DELIVERY_DELAY="soon")
    assert_configuration_problem(done, "AKAMAI_DELIVERY_DELAY is 'soon'", "django_akamai.E011")
    assert pipeline.emu.counters["requests"] == 0


def test_worker_exits_2_on_a_lease_of_zero(pipeline):
    pipeline.site("urls", "https://www.example.com/lease/")
    done = run(pipeline, "akamai_worker", "--burst", AKAMAI_DELIVERY_LEASE_SECONDS=0)
    assert_configuration_problem(done, "AKAMAI_DELIVERY_LEASE_SECONDS is 0")
    assert pipeline.intents() == {"pending": 1}


def test_purge_exits_2_when_a_check_fails(pipeline):
    done = run(pipeline, "akamai_purge", "https://www.example.com/a", AKAMAI_PURGE_ENABLED="false")
    assert_configuration_problem(done, "AKAMAI_PURGE_ENABLED is 'false'", "django_akamai.E013")
    assert pipeline.emu.counters["requests"] == 0


def test_prune_history_exits_2_when_a_check_fails(pipeline):
    done = run(pipeline, "akamai_prune_history", AKAMAI_HISTORY_RETENTION_DAYS="ninety")
    assert_configuration_problem(done, "AKAMAI_HISTORY_RETENTION_DAYS", "django_akamai.E009")


def test_prune_history_exits_2_on_negative_days(pipeline):
    done = run(pipeline, "akamai_prune_history", "--days", "-1")
    assert_configuration_problem(done, "--days must be a number of days >= 0")


def test_a_warning_does_not_stop_a_command(pipeline):
    # W007 (a no-op setting) is a warning: the command runs and says so on stderr.
    done = run(pipeline, "akamai_worker", "--status", AKAMAI_PURGE_MODELS_QUEUE=True)
    assert done.returncode == 0, done.stderr
    assert "django_akamai.W007" in done.stderr and "pending 0" in done.stdout


# --- a setting found bad while running (the checks skipped): 2 as well --------------------


def test_worker_burst_exits_2_on_a_bad_setting_at_run_time(pipeline):
    pipeline.site("urls", "https://www.example.com/run-time/")
    done = run(
        pipeline,
        "akamai_worker",
        "--burst",
        "--skip-checks",
        AKAMAI_DELIVERY_RETRY_BACKOFF="later",
        AKAMAI_DELIVERY_LEASE_SECONDS=0,
    )
    assert_configuration_problem(done, "AKAMAI_DELIVERY_LEASE_SECONDS is 0; expected a number")
    assert pipeline.intents() == {"pending": 1}


def test_prune_history_exits_2_on_a_bad_retention_at_run_time(pipeline):
    done = run(
        pipeline, "akamai_prune_history", "--skip-checks", AKAMAI_HISTORY_RETENTION_DAYS=[90]
    )
    assert_configuration_problem(done, "AKAMAI_HISTORY_RETENTION_DAYS is [90]")
